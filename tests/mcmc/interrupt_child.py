"""Ctrl-C at chosen moments of ``credo.nuts`` runs, in a fresh process (run by test_interrupt.py).

``python interrupt_child.py compile PROGRESS`` (``0`` or ``1``) sends this process a
real SIGINT while XLA compiles the first chunk's program (the second compile of the
chunk: the first is its random numbers' program; before the fix, a
``KeyboardInterrupt`` there crashed the interpreter at exit with SIGSEGV in
4 of 6 trials), prints one line ``REPORT {json}`` and exits.
``python interrupt_child.py phases`` sends one after the second chunk (warmup),
after the third (sampling), with and without progress bar, and two after the
second, and prints its ``REPORT`` line. Chunks hold 64 iterations: a run of 128
warmup and 128 draws is four chunks (warmup, warmup, draws, draws).
"""

import importlib
import json
import os
import signal
import sys
import threading


def main(mode: str, progress: bool) -> dict:
    import jax
    import numpy as np

    import credo
    from credo.mcmc import runner
    from credo.ppl.examples import flu_prevalence

    state = {"chunk": 0, "kills": {}, "in_compile": 0, "compiling": False, "landed": None}

    def sigint():
        os.kill(os.getpid(), signal.SIGINT)

    # A SIGINT that arrives while XLA compiles (inside C++) the first chunk's program.
    compiler = importlib.import_module("jax._src.compiler")
    real_compile = getattr(compiler, "backend_compile_and_load", None)

    def compile_then_interrupt(*args, **kwargs):
        if state["in_compile"] > 0:
            state["in_compile"] -= 1
        if state["in_compile"] == 0 and state.pop("armed", False):

            def fire():
                state["landed"] = "compile" if state["compiling"] else "after compile"
                sigint()

            threading.Timer(0.05, fire).start()
        state["compiling"] = True
        try:
            return real_compile(*args, **kwargs)
        finally:
            state["compiling"] = False

    if real_compile is not None:
        compiler.backend_compile_and_load = compile_then_interrupt

    real_chunk_function = runner._chunk_function

    def chunk_function(*args):
        fn = real_chunk_function(*args)

        def chunk(*chunk_args):
            state["chunk"] += 1
            if state["chunk"] == 1 and state.pop("kill_in_compile", False):
                if real_compile is None:  # another JAX: a timer while the chunk traces/compiles
                    threading.Timer(0.5, sigint).start()
                    state["landed"] = "timer"
                else:
                    state["in_compile"] = 2  # the chunk program: the second compile
                    state["armed"] = True
            out = fn(*chunk_args)
            jax.block_until_ready(out)
            state["in_compile"] = 0
            for _ in range(state["kills"].get(state["chunk"], 0)):
                sigint()  # Ctrl-C just after this chunk: the next one must not start
            return out

        return chunk

    runner._chunk_function = chunk_function
    settings = dict(chains=2, warmup=128, draws=128, seed=0)

    def run(progress, **plan):
        state.update({"chunk": 0, "kills": {}, **plan})
        post = credo.nuts(flu_prevalence, {"n": 100, "y": 12}, progress=progress, **settings)
        summary = {"interrupted": bool(post.interrupted), "chunks": state["chunk"],
                   "draws": list(post.draws["theta"].shape),
                   "stats": {k: list(v.shape) for k, v in post.stats.items()},
                   "warmup_stats": {k: list(v.shape) for k, v in post.warmup_stats.items()},
                   "step_size": list(np.shape(post.step_size))}
        return summary, post

    report = {}
    if mode == "compile":  # then exit at once: the crash came at interpreter exit
        report["compile"], _ = run(progress, kill_in_compile=True)
        report["landed"] = state["landed"]
        return report
    for progress in (False, True):
        report[f"warmup {progress}"], _ = run(progress, kills={2: 1})
        report[f"sampling {progress}"], cut = run(progress, kills={3: 1})
    report["whole"], whole = run(False)
    report["prefix_identical"] = bool(np.array_equal(cut.draws["theta"], whole.draws["theta"][:, :64])
                                      and np.array_equal(cut.stats["lp"], whole.stats["lp"][:, :64]))
    try:
        run(False, kills={2: 2})
        report["twice"] = "returned"
    except KeyboardInterrupt:
        report["twice"] = "KeyboardInterrupt"
    report["twice_chunks"] = state["chunk"]
    report["handler_restored"] = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    return report


if __name__ == "__main__":
    print("REPORT " + json.dumps(main(sys.argv[1], sys.argv[2:] == ["1"])), flush=True)
