"""NUTS side by side: credo against NumPyro and BlackJAX on the same log densities.

Every peer samples the *same* jitted log density (credo's compiled model, as
NumPyro's ``potential_fn`` and BlackJAX's ``logdensity_fn``), from the same
initial points, with the same warmup, draws, chains, target acceptance (0.8)
and maximum tree depth (10), chains vectorized with ``vmap``. So the table
compares samplers and their adaptation, not model front ends.

Per model and peer:

- compile: first run minus the fastest hot run with a new key (same shapes);
  NumPyro runs through its functional API so that it compiles once (see
  :func:`_numpyro_program`);
- sampling: wall time of the fastest of ``--rounds`` hot runs (warmup +
  draws), the peers' rounds alternating so that a busy machine slows all
  of them alike;
- min ESS: smallest bulk ESS over every constrained scalar (credo.diagnostics);
- ESS/s: min ESS / hot wall time; also the median over rounds of each
  round's min ESS / wall (each round is a new seed, so this damps one
  seed's luck on the worst-mixing parameter) and the rounds' min-ESS range;
- grads/draw: leapfrog steps per draw in the sampling phase;
- turns/draw: leapfrog steps of the vectorized loop per draw. A vmapped NUTS
  step waits for the slowest chain at every draw (sum over draws of the
  largest step count among chains); credo's chains do not wait for each
  other (the largest over chains of their total steps). "credo-lockstep" is
  credo with its chains waiting, as under a plain vmap, to show that part;
- floor: one value-and-gradient of all chains at once (vmap), timed inside a
  compiled loop, x the turns of the whole run (warmup included); and hot wall
  time / floor.

Writes ``bench/results/mcmc.json`` and prints a markdown table. Install the
peers with ``pip install -e .[bench]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)  # a benchmark script, not the library

import credo  # noqa: E402
from credo.diagnostics import ess_bulk  # noqa: E402
from credo.examples import POSTERIORDB_NAMES, load_posteriordb  # noqa: E402
from credo.examples import flu_prevalence  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _models(names):
    out = {"flu_prevalence": (flu_prevalence, {"n": 100, "y": 12})}
    for name in POSTERIORDB_NAMES:
        out[name] = load_posteriordb(name)
    return {k: v for k, v in out.items() if not names or k in names}


def _min_ess(ld, unconstrained):
    """Min bulk ESS over constrained scalars of draws ``(chains, draws, dim)``."""
    constrain = jax.jit(jax.vmap(jax.vmap(ld.constrain)))
    values = constrain(jnp.asarray(unconstrained))
    return _min_ess_of(values)


def _min_ess_of(draws: dict) -> float:
    worst = np.inf
    for v in draws.values():
        v = np.asarray(v)
        flat = v.reshape(v.shape[0], v.shape[1], -1)
        for i in range(flat.shape[2]):
            if np.ptp(flat[:, :, i]) > 0:
                worst = min(worst, float(ess_bulk(flat[:, :, i])))
    return worst


def _grad_time(ld, init, reps=500):
    """Seconds per value-and-gradient of all chains at once (vmap), inside a compiled loop.

    Timed in a ``fori_loop`` rather than call by call from Python, where the
    dispatch (tens of microseconds) would outweigh a cheap density's gradient.
    Each evaluation's point depends on the previous gradient (by a negligible
    amount), so XLA can neither hoist nor merge them.
    """
    value_and_grad = jax.vmap(jax.value_and_grad(ld.fn))

    @jax.jit
    def loop(x):
        def body(_, x):
            value, grad = value_and_grad(x)
            return x + 1e-30 * (grad + value[:, None])
        return jax.lax.fori_loop(0, reps, body, x)

    jax.block_until_ready(loop(init))
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        jax.block_until_ready(loop(init))
        best = min(best, time.perf_counter() - start)
    return best / reps


def _timed(run, *args):
    start = time.perf_counter()
    out = run(*args)
    jax.block_until_ready(out)
    return out, time.perf_counter() - start


# -- the three samplers ---------------------------------------------------------------------
def _numpyro_program(ld, args):
    """NumPyro's NUTS through its functional API (``numpyro.infer.hmc.hmc``), one jitted program.

    ``MCMC.run`` recompiles on every call, so its sampling time cannot be told
    from its compile time. ``init_kernel`` and ``sample_kernel`` are what
    ``MCMC`` runs inside (the kernel adapts step size and mass matrix while its
    iteration count is below ``num_warmup``, with Stan's windows), so scanning
    them under ``jit(vmap(...))`` is NumPyro's own vectorized sampler, compiled
    once and timed hot like the others.
    """
    from numpyro.infer.hmc import hmc

    init_kernel, sample_kernel = hmc(potential_fn=lambda x: -ld.fn(x), algo="NUTS")

    def one_chain(key, position):
        key_init, _ = jax.random.split(key)
        state = init_kernel(position, num_warmup=args.warmup, target_accept_prob=0.8,
                            max_tree_depth=10, rng_key=key_init)

        def body(state, _):
            state = sample_kernel(state)
            return state, (state.z, state.num_steps, state.diverging)

        _, (z, steps, divergent) = jax.lax.scan(body, state, None, length=args.warmup + args.draws)
        return z[args.warmup:], steps, divergent[args.warmup:]

    return jax.jit(jax.vmap(one_chain))


def _blackjax_program(ld, args):
    import blackjax

    def one_chain(key, position):
        key_warm, key_draw = jax.random.split(key)
        warmup = blackjax.window_adaptation(blackjax.nuts, ld.fn, target_acceptance_rate=0.8)
        (state, params), warm = warmup.run(key_warm, position, num_steps=args.warmup)
        step = blackjax.nuts(ld.fn, **params).step

        def body(state, key):
            state, info = step(key, state)
            return state, (state.position, info.num_integration_steps, info.is_divergent)

        _, (z, steps, divergent) = jax.lax.scan(body, state, jax.random.split(key_draw, args.draws))
        return z, jnp.concatenate([warm.info.num_integration_steps, steps]), divergent

    return jax.jit(jax.vmap(one_chain))


def _program_runner(build):
    """A peer whose whole run is one jitted ``program(keys, init)``: compile once, then hot runs."""

    def prepare(ld, init, args, seed):
        program = build(ld, args)
        keys = lambda s: jax.random.split(jax.random.PRNGKey(s), args.chains)  # noqa: E731
        _, first = _timed(program, keys(seed + 1000), init)

        def hot(round_):
            (positions, steps, divergent), wall = _timed(program, keys(seed + round_), init)
            return dict(wall=wall, min_ess=_min_ess(ld, positions), all_steps=np.asarray(steps),
                        divergences=int(np.sum(divergent)))

        return first, hot

    return prepare


def _prepare_credo(model, data, lockstep=False):
    """``credo.nuts`` as shipped; with ``lockstep``, its chains wait for each other (plain vmap)."""
    from credo.mcmc import runner

    def run(**kw):
        if not lockstep:
            return credo.nuts(model, data, **kw)
        target = runner.as_target(model, data, init=kw["init"])
        return runner.sample(target, runner.NUTS(), lockstep=True, **kw)

    def prepare(ld, init, args, seed):
        kw = dict(chains=args.chains, warmup=args.warmup, draws=args.draws, progress=False,
                  init=np.asarray(init))
        start = time.perf_counter()
        run(seed=seed + 1000, **kw)
        first = time.perf_counter() - start

        def hot(round_):
            start = time.perf_counter()
            post = run(seed=seed + round_, **kw)
            wall = time.perf_counter() - start
            all_steps = np.concatenate([post.warmup_stats["num_integration_steps"],
                                        post.stats["num_integration_steps"]], axis=1)
            return dict(wall=wall, min_ess=_min_ess_of(post.draws), all_steps=all_steps,
                        divergences=int(post.divergences.sum()))

        return first, hot

    return prepare


def bench_model(name, model, data, args):
    """Compile every peer, then ``args.rounds`` rounds of hot runs, peers alternating.

    Alternating rounds spread a busy machine's load over all peers alike; a
    peer's figures come from its fastest round (the one least disturbed), with
    the min ESS and steps of that same run.
    """
    ld = credo.logdensity(model, data)
    keys = jax.random.split(jax.random.PRNGKey(args.seed), args.chains)
    init = jnp.stack([ld.init(k) for k in keys])
    grad_time = _grad_time(ld, init)
    peers = {"credo": _prepare_credo(model, data),
             "credo-lockstep": _prepare_credo(model, data, lockstep=True),
             "numpyro": _program_runner(_numpyro_program),
             "blackjax": _program_runner(_blackjax_program)}
    prepared, rows, runs = {}, {}, {}
    for peer, prepare in peers.items():
        if args.peers and peer not in args.peers:
            continue
        try:
            prepared[peer] = prepare(ld, init, args, args.seed)
        except Exception as err:  # a peer failing must not hide the others
            rows[peer] = {"error": f"{type(err).__name__}: {err}"[:300]}
    for round_ in range(args.rounds):
        for peer, (_, hot) in prepared.items():
            runs.setdefault(peer, []).append(hot(round_))
    for peer, (first, _) in prepared.items():
        best = min(runs[peer], key=lambda r: r["wall"])
        all_steps = np.asarray(best["all_steps"])  # (chains, warmup + draws)
        steps = all_steps[:, args.warmup:]

        def turns_of(steps):
            # a vmapped NUTS step waits for the slowest chain every iteration; credo's
            # unsynchronized chains only for the slowest chain's total
            return steps.sum(axis=1).max() if peer == "credo" else steps.max(axis=0).sum()

        turns = turns_of(steps)
        floor = grad_time * float(turns_of(all_steps))  # the whole run, warmup included
        rows[peer] = {
            "compile_s": max(0.0, first - best["wall"]), "wall_s": best["wall"], "first_run_s": first,
            "walls_s": [r["wall"] for r in runs[peer]],
            "min_ess_rounds": [r["min_ess"] for r in runs[peer]],
            # each round is a new seed: the median damps one seed's luck on the worst parameter
            "ess_per_s_median": float(np.median([r["min_ess"] / r["wall"] for r in runs[peer]])),
            "min_ess": best["min_ess"], "ess_per_s": best["min_ess"] / best["wall"],
            "grads_per_draw": float(steps.mean()), "turns_per_draw": float(turns) / steps.shape[1],
            "divergences": best["divergences"],
            "floor_s": floor, "grad_s": grad_time}
    return rows


def _table(results, args):
    lines = [f"NUTS, {args.chains} chains x {args.draws} draws after {args.warmup} warmup, "
             f"vectorized; machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
             f"jax {jax.__version__}", "",
             "| model | peer | compile s | wall s | min ESS | min ESS/s | credo / peer ESS/s | "
             "min ESS over rounds | credo / peer, median over rounds | grads/draw | turns/draw | div |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for model, rows in results.items():
        mine = rows.get("credo", {}).get("ess_per_s")
        mine_median = rows.get("credo", {}).get("ess_per_s_median")
        for peer, r in rows.items():
            if "error" in r:
                lines.append(f"| {model} | {peer} | error: {r['error'][:60]} | | | | | | | | | |")
                continue
            ratio = (f"{mine / r['ess_per_s']:.2f}" if mine and peer != "credo"
                     and np.isfinite(r["ess_per_s"]) else "")
            ratio_median = (f"{mine_median / r['ess_per_s_median']:.2f}"
                            if mine_median and peer != "credo" else "")
            spread = "-".join(f"{e:.0f}" for e in (min(r["min_ess_rounds"]),
                                                    max(r["min_ess_rounds"])))
            lines.append(f"| {model} | {peer} | {r['compile_s']:.1f} | {r['wall_s']:.2f} | "
                         f"{r['min_ess']:.0f} | {r['ess_per_s']:.0f} | {ratio} | "
                         f"{spread} | {ratio_median} | "
                         f"{r['grads_per_draw']:.1f} | {r['turns_per_draw']:.1f} | "
                         f"{r['divergences']} |")
    lines += ["", "| model | peer | wall / gradient floor (warmup + sampling) |", "|---|---|---|"]
    for model, rows in results.items():
        for peer, r in rows.items():
            if "error" not in r:
                lines.append(f"| {model} | {peer} | {r['wall_s'] / max(r['floor_s'], 1e-12):.2f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None)
    parser.add_argument("--peers", nargs="*", default=None)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3, help="hot runs per peer, alternating")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "mcmc.json"))
    args = parser.parse_args(argv)
    results = {}
    for name, (model, data) in _models(args.models).items():
        results[name] = bench_model(name, model, data, args)
        print(name, json.dumps({p: {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
                                for p, r in results[name].items()}), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"settings": vars(args), "results": results}, indent=1))
    print(_table(results, args))


if __name__ == "__main__":
    main()
