"""The MCMC host loop: multi-chain runs of any algorithm, ``credo.nuts`` and ``credo.hmc``.

The algorithms live in :mod:`credo.mcmc.algorithms` and the compiled chunk
programs in :mod:`credo.mcmc.chunks`; this module runs the programs chunk by
chunk and assembles the :class:`~credo.mcmc.Posterior`.

One compiled program does everything: a ``lax.scan`` over a chunk of
iterations whose body steps every chain (``vmap``) and, during warmup,
updates the adaptation (step size by dual averaging, mass matrix from
regularized Welford estimates in Stan's slow windows). Warmup and sampling
differ only in a per-iteration schedule that is an *input* of the program, so
it compiles once per model shape, and new data of the same shapes reuse it.
The host runs the program chunk by chunk, moves each chunk's draws to host
memory, updates the progress bar, and on Ctrl-C returns every draw made so far.

"""

from __future__ import annotations

import dataclasses
import functools
import signal
import sys
import threading
import time
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ArgumentError

from . import _checks, rng
from .algorithms import HMC, NUTS, Algorithm
from .chunks import (
    Schedule,
    _chunk_jit,
    _chunk_unsynchronized,
    _chunk_unsynchronized_vectorized,
    _chunk,
    _iteration,
    _parallel_chunk,
    _placeholder_states,
    _state_shapes,
    build_schedule,
)
from .posterior import GradEvals, Posterior, SamplerWarning
from credo.ppl import as_target, initial_positions, require_latents
from .trajectory import MAX_SUPPORTED_TREE_DEPTH

__all__ = ["nuts", "hmc", "run", "sample", "Algorithm", "NUTS", "HMC", "Schedule"]

CHAIN_METHODS = ("vectorized", "sequential", "parallel")


# -- host loop ------------------------------------------------------------------------------
@dataclasses.dataclass
class _Collected:
    draws: list = dataclasses.field(default_factory=list)
    stats: list = dataclasses.field(default_factory=list)
    warmup_stats: list = dataclasses.field(default_factory=list)
    warmup_draws: list = dataclasses.field(default_factory=list)


def _progress_bar(total, progress, desc):
    # a tqdm bar on a terminal, a few plain lines in a log file (no carriage returns)
    if not progress:
        return None
    from credo._progress import progress_bar

    return progress_bar(total, desc, "it")


class _StopOnInterrupt:
    """Ctrl-C (SIGINT) during a run asks it to stop after the chunk in progress.

    For the length of the run the handler only records the request; the run
    checks it between chunks. A ``KeyboardInterrupt`` raised inside JAX's
    tracing, XLA's compilation or a running program can leave XLA's threads in
    a state that crashes the interpreter at exit (SIGSEGV), so none is raised
    there. A second Ctrl-C hands the signal to the previous handler at once
    (Python's default raises ``KeyboardInterrupt``, which then propagates out of
    the run). The previous handler is restored when the run ends. Only the main
    thread can install a handler; elsewhere nothing is installed (no signal
    reaches other threads). Entered while another one is active (``credo.nuts``
    around :func:`sample`), it is that one.
    """

    def __init__(self):
        self.requested = False  # first Ctrl-C: stop between chunks
        self.forced = False     # second Ctrl-C: passed on, the run is abandoned
        self._previous = None
        self._installed = False

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            outer = getattr(previous, "__self__", None)
            if isinstance(outer, _StopOnInterrupt):
                return outer  # nested: the outer run's request; nothing to install or restore
            if previous is not None and previous is not signal.SIG_IGN:
                self._previous = previous
                signal.signal(signal.SIGINT, self._handle)
                self._installed = True
        return self

    def _restore(self):
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handle(self, signum, frame):
        if not self.requested:
            self.requested = True
            print("\nInterrupted: the run stops after the chunk in progress "
                  "(press Ctrl-C again to abort it now)", file=sys.stderr, flush=True)
            return
        self.forced = True
        previous = self._previous
        self._restore()
        if callable(previous):
            previous(signum, frame)  # Python's default_int_handler raises KeyboardInterrupt
        else:  # SIG_DFL: the default action, as without credo
            signal.raise_signal(signum)

    def __exit__(self, *exc):
        self._restore()
        return False


class _GroupRun(NamedTuple):
    """What :func:`_run_chunks` returns for one group of chains."""

    carry: tuple        # (states, tunings) after the last chunk run
    collected: "_Collected"
    interrupted: bool
    timing: dict


def _run_chunks(chunk_fn, target, algorithm, carry, keys, schedule: Schedule, chunk_size, data,
                progress, desc, save_warmup, stop: _StopOnInterrupt):
    collected, interrupted = _Collected(), False
    total = int(schedule.active.sum())
    bar = _progress_bar(total, progress, desc)
    timing = {"first_chunk": 0.0, "chunks": []}
    divergent_so_far = 0
    try:
        for start in range(0, len(schedule.iteration), chunk_size):
            if stop.requested:
                interrupted = True
                break
            xs = Schedule(*(a[start:start + chunk_size] for a in schedule))
            began = time.perf_counter()
            carry, (draws, stats) = chunk_fn(target, algorithm, carry, keys, xs, data)
            draws, stats = jax.device_get((draws, stats))
            elapsed = time.perf_counter() - began
            if start == 0:
                timing["first_chunk"] = elapsed
            else:
                timing["chunks"].append(elapsed)
            warm, samp = xs.warmup & xs.active, ~xs.warmup & xs.active
            if warm.any():
                collected.warmup_stats.append(jax.tree.map(lambda a: a[warm], stats))
                if save_warmup:
                    collected.warmup_draws.append(jax.tree.map(lambda a: a[warm], draws))
            if samp.any():
                collected.draws.append(jax.tree.map(lambda a: a[samp], draws))
                collected.stats.append(jax.tree.map(lambda a: a[samp], stats))
                divergent_so_far += int(stats["is_divergent"][samp].sum())
            if bar is not None:  # postfix first: a plain progress line shows the values at its update
                phase = "warmup" if xs.warmup[xs.active].all() else "sampling"
                postfix = {"phase": phase, "divergences": divergent_so_far}
                if "step_size" in stats:
                    postfix["step_size"] = f"{float(np.mean(stats['step_size'][xs.active][-1])):.3g}"
                bar.set_postfix(postfix)
                bar.update(int(xs.active.sum()))
    except KeyboardInterrupt:
        if stop.forced:  # a second Ctrl-C: abandon the run
            raise
        interrupted = True  # raised by other means (e.g. no handler off the main thread)
    finally:
        if bar is not None:
            bar.close()
    return _GroupRun(carry, collected, interrupted, timing)


def _stack(parts: list, chains: int, template) -> dict:
    """Concatenate chunk outputs ``(iterations, chains, ...)`` to ``(chains, iterations, ...)``.

    No parts: empty arrays ``(chains, 0, *shape)`` of ``template()``'s ``{name: (shape, dtype)}``.
    """
    if not parts:
        return {k: np.zeros((chains, 0) + tuple(shape), dtype=dtype)
                for k, (shape, dtype) in template().items()}
    joined = {k: np.concatenate([p[k] for p in parts], axis=0) for k in parts[0]}
    return {k: np.swapaxes(v, 0, 1) for k, v in joined.items()}


#: Default chunks hold ``_BASE_CHUNK * 2**k`` iterations, the smallest such size that
#: splits a run into at most 20 chunks. Chunk length is a shape of the compiled
#: program, so runs of different lengths (up to 1280 iterations, all in chunks
#: of 64) reuse one program instead of compiling their own.
_BASE_CHUNK = 64


def _choose_chunk_size(total: int, chunk_size: int | None) -> int:
    if chunk_size is not None:
        return int(chunk_size)
    size = _BASE_CHUNK
    while size * 20 < total:
        size *= 2
    return size


def sample(target, algorithm: Algorithm, *, chains: int = 4, warmup: int = 1000,
           draws: int = 1000, seed=0, init="uniform", chain_method: str = "vectorized",
           progress: bool = True, chunk_size: int | None = None,
           save_warmup: bool = False, lockstep: bool = False) -> Posterior:
    """Run ``algorithm`` on ``target`` (a :class:`~credo.ppl.Target`): the generic runner.

    :func:`nuts`, :func:`hmc`, :func:`credo.mh` and :func:`credo.gibbs` are
    thin wrappers that pick the algorithm. See :func:`nuts` for the arguments.
    ``lockstep=True`` makes vectorized NUTS chains wait for each other after
    every iteration, as a plain ``vmap`` does (same random numbers, more leapfrog
    steps computed; for comparisons).
    """
    checked = _checks.run_arguments(chains=chains, warmup=warmup, draws=draws,
                                    chain_method=chain_method, chunk_size=chunk_size,
                                    methods=CHAIN_METHODS)
    chains, warmup, draws = checked["chains"], checked["warmup"], checked["draws"]
    key_init, chain_keys = chain_streams(seed, chains)
    with _StopOnInterrupt() as stop:  # Ctrl-C from here on stops the run between chunks
        positions = _initial_positions(target, key_init, chains, init)
        chunk = _choose_chunk_size(warmup + draws, checked["chunk_size"])
        schedule = build_schedule(warmup, draws, chunk,
                                  adapt_mass=algorithm.uses_mass_windows and warmup > 0)
        # placeholder states: iteration 0 recomputes them from the positions inside the program
        states = _placeholder_states(algorithm, positions)
        tuning = jax.tree.map(lambda a: jnp.broadcast_to(a, (chains,) + jnp.shape(a)),
                              algorithm.init_tuning(target.dim, positions.dtype))
        data_arrays = {k: jnp.asarray(v) for k, v in target.data.items()}

        groups = _chain_groups(chains, chain_method)
        outputs = []
        for group in groups:
            if outputs and (outputs[-1].interrupted or stop.requested):
                break  # a sequential run keeps the chains begun before the stop
            carry = (states, tuning) if len(groups) == 1 else jax.tree.map(lambda a: a[group],
                                                                            (states, tuning))
            chunk_fn = _chunk_function(chain_method, len(group), algorithm, lockstep)
            desc = f"{algorithm.name.upper()} " + (f"chain {group[0]}" if len(groups) > 1
                                                    else f"{chains} chains")
            outputs.append(_run_chunks(chunk_fn, target, algorithm, carry, chain_keys[group],
                                       schedule, chunk, data_arrays, progress, desc, save_warmup,
                                       stop))
    interrupted = len(outputs) < len(groups) or any(o.interrupted for o in outputs)
    stat_template = functools.partial(_stat_shapes, target, algorithm,
                                      jnp.dtype(positions.dtype).name)
    return _assemble(target, algorithm, outputs, groups, progress, interrupted=interrupted,
                     stat_template=stat_template, save_warmup=save_warmup)


def chain_streams(seed, chains: int):
    """``(key_init, chain_keys)``: the keys of a run's initial points and of each chain.

    ``chain_keys[c]`` (shape ``(chains, 2)``) drives chain ``c`` (its iteration
    ``t`` uses ``fold_in(chain_keys[c], t)``); ``key_init`` gives chain ``c``'s
    start as row ``c`` of a split. Neither depends on ``chains``, the chain
    method or the chunk size: chain ``c`` of every run with the same seed has
    the same random streams. ``seed`` is an int of any size or a PRNG key
    (:func:`credo.mcmc.rng.key_from_seed`).
    """
    key_init, key_chains = jax.random.split(rng.key_from_seed(seed))
    return key_init, rng.split_by_index(key_chains, chains)


@functools.lru_cache(maxsize=64)
def _stat_shapes(target, algorithm, dtype_name: str) -> dict:
    """``{name: (shape, dtype)}`` of one chain's per-iteration statistics, without running.

    For the empty statistics of a run with no warmup, no draws or an early
    interrupt, so that every key is there whatever happened.
    """
    dtype = jnp.dtype(dtype_name)
    dim = target.dim
    data = {k: jax.ShapeDtypeStruct(np.shape(v), jnp.asarray(v).dtype)
            for k, v in target.data.items()}
    state = _state_shapes(algorithm, dim, dtype)
    tuning = jax.eval_shape(lambda: algorithm.init_tuning(dim, dtype))
    x = Schedule(*(jax.ShapeDtypeStruct((), jnp.int32 if name == "iteration" else bool)
                   for name in Schedule._fields))
    key = jax.ShapeDtypeStruct((2,), jnp.uint32)

    def stats(state, tuning, key, x, data):
        _, _, (_, stats) = _iteration(target, algorithm, data)(state, tuning, key, x)
        return stats

    shapes = jax.eval_shape(stats, state, tuning, key, x, data)
    return {k: (tuple(v.shape), v.dtype) for k, v in shapes.items()}


def _initial_positions(target, key, chains, init):
    _refuse_pathfinder(init)
    return initial_positions(target, key, chains, init)


def _refuse_pathfinder(init):
    # MCMC and VI are peers (neither imports the other): the string is resolved above both
    if isinstance(init, str) and init == "pathfinder":
        raise ArgumentError("init", "init='pathfinder' is resolved by credo.nuts / credo.hmc "
                                    "(credo.workflow); here pass the points of "
                                    "credo.vi.pathfinder_init as an array, or an initialiser "
                                    "init(model, data, chains, key) -> (chains, dim) array")


def run(model, data=None, *, algorithm: str = "nuts", chains: int = 4, warmup: int = 1000,
        draws: int = 1000, seed=0, target_accept: float = 0.8, dense_mass: bool = False,
        max_tree_depth: int = 10, num_steps: int = 0, step_size=None, adapt_mass: bool = True,
        chain_method: str = "vectorized", progress: bool = True, init="uniform",
        dim: int | None = None, chunk_size: int | None = None, save_warmup: bool = False,
        divergence_threshold: float = 1000.0) -> Posterior:
    """Run HMC or NUTS on a model or log density; see :func:`nuts` for the arguments."""
    # every argument is checked before anything is traced, compiled or fitted
    _checks.run_arguments(chains=chains, warmup=warmup, draws=draws, chain_method=chain_method,
                          chunk_size=chunk_size, methods=CHAIN_METHODS)
    algorithm = _checks.choice("algorithm", algorithm, ("nuts", "hmc"))
    target_accept = _checks.probability("target_accept", target_accept)
    max_tree_depth = _checks.integer("max_tree_depth", max_tree_depth, minimum=1,
                                     maximum=MAX_SUPPORTED_TREE_DEPTH)
    if algorithm == "hmc":
        num_steps = _checks.integer("num_steps", num_steps, minimum=1)
    if step_size is not None:
        step_size = _checks.positive("step_size", step_size)
    divergence_threshold = _checks.positive("divergence_threshold", divergence_threshold)
    _refuse_pathfinder(init)
    with _StopOnInterrupt():  # Ctrl-C while the model compiles also stops the run cleanly
        if callable(init):  # an initialiser (e.g. Pathfinder's, passed in by credo.workflow)
            init = np.asarray(init(model, data, int(chains), rng.key_from_seed(seed)))
        target = as_target(model, data, dim=dim, init=None if isinstance(init, str) else init)
        require_latents(target.dim, summed=target.summed)
        settings = dict(target_accept=target_accept, dense_mass=bool(dense_mass),
                        initial_step_size=1.0 if step_size is None else step_size,
                        adapt_step_size=step_size is None, adapt_mass=bool(adapt_mass),
                        divergence_threshold=divergence_threshold)
        algo = (HMC(num_steps=num_steps, **settings) if algorithm == "hmc" else
                NUTS(max_tree_depth=max_tree_depth, **settings))
        return sample(target, algo, chains=chains, warmup=warmup, draws=draws, seed=seed,
                      init=init, chain_method=chain_method, progress=progress,
                      chunk_size=chunk_size, save_warmup=save_warmup)


def _chain_groups(chains: int, chain_method: str) -> list:
    if chain_method == "sequential":
        return [np.array([c]) for c in range(chains)]
    return [np.arange(chains)]


def _chunk_function(chain_method: str, chains: int, algorithm: Algorithm, lockstep: bool):
    devices = jax.devices()
    per_device = chains
    if chain_method == "parallel":
        num = max(d for d in range(1, len(devices) + 1) if chains % d == 0)
        per_device = chains // num
    unsynchronized = algorithm.steps_one_at_a_time and per_device > 1 and not lockstep
    if chain_method != "parallel":
        return _chunk_unsynchronized_vectorized if unsynchronized else _chunk_jit
    return _parallel_chunk(tuple(devices[:num]), _chunk_unsynchronized if unsynchronized else _chunk)


def _assemble(target, algorithm, outputs, groups, progress, *, interrupted, stat_template,
              save_warmup):
    """One :class:`Posterior` from the chain groups' outputs.

    Every statistic of ``algorithm.stats`` is in ``stats`` and ``warmup_stats``,
    as ``(chains, 0)`` arrays where none was made (no warmup, no draws, an
    early interrupt). Chains of an interrupted sequential run differ in length:
    each field keeps the prefix every chain has.
    """
    dtype = jnp.dtype(jnp.result_type(float))

    def draw_template():
        return {k: (tuple(v), dtype) for k, v in target.output_shapes.items()}

    parts = []
    for run, group in zip(outputs, groups):
        n, collected = len(group), run.collected
        _, tunings = run.carry
        parts.append(dict(adapt=tunings, timing=run.timing,
                          draws=_stack(collected.draws, n, draw_template),
                          stats=_stack(collected.stats, n, stat_template),
                          warmup_stats=_stack(collected.warmup_stats, n, stat_template),
                          warmup_draws=(_stack(collected.warmup_draws, n, draw_template)
                                        if save_warmup else {})))

    def cat(field, length_of):
        kept = min(length_of(p) for p in parts)
        return {k: np.concatenate([p[field][k][:, :kept] for p in parts]) for k in parts[0][field]}

    def sampled(p):
        return next(iter(p["stats"].values())).shape[1]

    def warmed(p):
        return next(iter(p["warmup_stats"].values())).shape[1]

    draws_out, stats_out = cat("draws", sampled), cat("stats", sampled)
    warmup_stats = cat("warmup_stats", warmed)
    warm_draws = cat("warmup_draws", warmed) if save_warmup else None
    tuning = jax.tree.map(lambda *a: np.concatenate(a), *[p["adapt"] for p in parts])
    step_size, inverse_mass_matrix = algorithm.final_tuning(tuning)
    chunk_times = [t for p in parts for t in p["timing"]["chunks"]]
    steady = float(np.median(chunk_times)) if chunk_times else 0.0
    first = parts[0]["timing"]["first_chunk"]
    timing = {"compile_estimate": max(0.0, first - steady),
              "total": sum(p["timing"]["first_chunk"] + sum(p["timing"]["chunks"]) for p in parts)}
    # gradient evaluations made: every warmup iteration run, the sampling iterations kept
    grad_evals = GradEvals(
        warmup=int(sum(np.sum(p["warmup_stats"].get("num_integration_steps", 0)) for p in parts)),
        sampling=int(np.sum(stats_out.get("num_integration_steps", 0))))
    posterior = Posterior(
        draws_out, stats_out, num_grad_evals=grad_evals, step_size=step_size,
        inverse_mass_matrix=inverse_mass_matrix, observed=target.observed,
        interrupted=interrupted, algorithm=algorithm.name,
        max_tree_depth=algorithm.max_tree_depth,
        timing=timing, warmup_draws=warm_draws, warmup_stats=warmup_stats)
    if progress:
        # the summary is the caller's to print (posterior.report()); problems are warnings
        for message in posterior.warnings:
            warnings.warn(message, SamplerWarning, stacklevel=2)
    return posterior


def nuts(model, data=None, *, chains: int = 4, warmup: int = 1000, draws: int = 1000, seed=0,
         target_accept: float = 0.8, dense_mass: bool = False, max_tree_depth: int = 10,
         chain_method: str = "vectorized", progress: bool = True, init="uniform",
         step_size=None, dim: int | None = None, chunk_size: int | None = None,
         save_warmup: bool = False) -> Posterior:
    """Sample with the No-U-Turn Sampler after Stan's windowed warmup.

    Multinomial NUTS (Hoffman & Gelman 2014; Betancourt 2017) with dual-averaging
    step size adaptation toward ``target_accept`` and a diagonal (or dense)
    mass matrix estimated in Stan's doubling slow windows (75 / 25, 50, ... / 50).

    Parameters
    ----------
    model : callable or LogDensity
        A credo model function (data via ``data``), a compiled
        :class:`~credo.ppl.LogDensity`, or a plain log density of one flat
        vector (then pass ``dim=`` or an ``init`` array; draws are named ``"x"``).
    data : dict, optional
        The model's data. Array data are inputs of the compiled program: a
        second run on new data of the same shapes does not recompile.
    chains, warmup, draws : int
        ``draws`` per chain are kept after ``warmup`` adaptation iterations
        (integers: ``chains >= 1``, ``warmup, draws >= 0``).
    seed : int or PRNG key
        Any int (its value mod ``2**64`` is the key, higher bits folded in; see
        :func:`credo.mcmc.rng.key_from_seed`) or a JAX key. Chain ``c``'s
        iteration ``t`` uses ``fold_in(key_c, t)``, and ``key_c`` and chain
        ``c``'s start depend only on the seed and ``c``. The same seed, settings,
        ``chain_method`` and ``chains`` give bit-identical results for any
        ``chunk_size``; other chain methods use the same random numbers but
        round differently, so their chains drift apart (see docs/mcmc.md,
        "Randomness and reproducibility").
    target_accept : float
        Dual averaging target for the mean acceptance statistic.
    dense_mass : bool
        Estimate a dense mass matrix instead of a diagonal one.
    max_tree_depth : int
        Trajectories stop at ``2**max_tree_depth`` leapfrog steps (1 to 30).
    chain_method : {"vectorized", "sequential", "parallel"}
        Chains batched on one device, each starting its next iteration as
        soon as its own trajectory ends (not waiting for the longest one, as a
        plain ``vmap`` would); one chain after another; or chains sharded over
        the available JAX devices (``XLA_FLAGS=--xla_force_host_platform_device_count=N``).
    progress : bool
        Show a progress bar, and issue the run's problems (R-hat, ESS,
        divergences, ...) as :class:`~credo.mcmc.posterior.SamplerWarning`
        at the end; ``print(posterior.report())`` shows the summary table.
    init : {"uniform", "median", "prior", "pathfinder"}, dict, array or callable
        Initial points: a strategy (Uniform(-2, 2) in unconstrained space by
        default), constrained values per site, flat unconstrained arrays of
        shape ``(dim,)`` or ``(chains, dim)``, or an initialiser
        ``init(model, data, chains, key) -> (chains, dim)``. ``"pathfinder"``
        (Pathfinder's draws, :func:`credo.vi.pathfinder_init`) is resolved by
        :func:`credo.nuts` and :func:`credo.hmc` (:mod:`credo.workflow`);
        :func:`credo.mcmc.runner.nuts` refuses it, as MCMC does not import VI.
    step_size : float, optional
        A fixed step size (no step size adaptation), finite and > 0.
    chunk_size : int, optional
        Iterations per compiled chunk (default: 64, doubled until the run has at
        most 20 chunks; runs whose chunks are the same size share a compiled program).
    save_warmup : bool
        Keep warmup draws in ``Posterior.warmup_draws``.

    Returns
    -------
    Posterior
        Ctrl-C stops the run after the chunk in progress (compiling it
        included) and returns what was made, with ``interrupted=True``; a
        second Ctrl-C raises ``KeyboardInterrupt`` at once. ``stats`` and
        ``warmup_stats`` always hold every statistic, ``(chains, 0)`` where
        there are none.

    Raises
    ------
    credo.ArgumentError
        For a bad argument value (``chains=0``, ``draws=50.5``, ``target_accept=1``, ...).
    """
    return run(model, data, algorithm="nuts", chains=chains, warmup=warmup, draws=draws, seed=seed,
               target_accept=target_accept, dense_mass=dense_mass, max_tree_depth=max_tree_depth,
               chain_method=chain_method, progress=progress, init=init, step_size=step_size,
               dim=dim, chunk_size=chunk_size, save_warmup=save_warmup)


def hmc(model, data=None, *, num_steps: int = 16, step_size=None, chains: int = 4,
        warmup: int = 1000, draws: int = 1000, seed=0, target_accept: float = 0.8,
        dense_mass: bool = False, chain_method: str = "vectorized", progress: bool = True,
        init="uniform", dim: int | None = None, chunk_size: int | None = None,
        save_warmup: bool = False) -> Posterior:
    """Sample with static HMC: ``num_steps`` leapfrog steps per draw, Metropolis corrected.

    Same arguments and warmup as :func:`nuts` (Neal 2011); ``step_size=None``
    adapts it by dual averaging, a number fixes it. The mass matrix is adapted
    in either case.
    """
    return run(model, data, algorithm="hmc", chains=chains, warmup=warmup, draws=draws, seed=seed,
               target_accept=target_accept, dense_mass=dense_mass, num_steps=num_steps,
               chain_method=chain_method, progress=progress, init=init, step_size=step_size,
               dim=dim, chunk_size=chunk_size, save_warmup=save_warmup)
