"""Multi-chain HMC and NUTS runs with Stan's windowed warmup: ``credo.nuts`` and ``credo.hmc``.

One compiled program does everything: a ``lax.scan`` over a chunk of
iterations whose body steps every chain (``vmap``) and, during warmup,
updates the adaptation (step size by dual averaging, mass matrix from
regularized Welford estimates in Stan's slow windows). Warmup and sampling
differ only in a per-iteration schedule that is an *input* of the program, so
it compiles once per model shape, and new data of the same shapes reuse it.
The host runs the program chunk by chunk, moves each chunk's draws to host
memory, updates the progress bar, and on Ctrl-C returns every draw made so far.

Vectorized NUTS chains do not wait for each other: a plain ``vmap`` of a NUTS
step lasts as long as the longest of the chains' trajectories, so every
iteration costs the *maximum* over chains of their leapfrog steps. Inside a
chunk the chains here share one loop that makes one leapfrog step of every
chain per turn, and a chain whose trajectory has ended starts its next
iteration at once (:func:`_chunk_unsynchronized`), so a chunk costs about the
maximum over chains of their *total* steps: 1.2 to 1.7 times fewer turns on
the posteriordb models, with the same random numbers per chain and iteration.
"""

from __future__ import annotations

import dataclasses
import functools
import signal
import sys
import threading
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ArgumentError

from . import _checks, adaptation, hmc as hmc_kernel, nuts as nuts_kernel, rng
from .posterior import GradEvals, Posterior
from .target import as_target, initial_positions, require_latents
from .trajectory import MAX_SUPPORTED_TREE_DEPTH

__all__ = ["nuts", "hmc", "run", "sample", "Algorithm", "NUTS", "HMC", "Schedule"]

CHAIN_METHODS = ("vectorized", "sequential", "parallel")


class Schedule(NamedTuple):
    """Per-iteration flags, shape ``(iterations,)`` each (the program's input, not its code)."""

    iteration: np.ndarray
    active: np.ndarray       # False for padding at the end of the last chunk
    warmup: np.ndarray
    slow: np.ndarray         # accumulate the draw into the mass-matrix estimate
    window_end: np.ndarray   # set the mass matrix from the estimate after this step
    search: np.ndarray       # re-initialise the step size (heuristic) before this step
    last_warmup: np.ndarray  # switch to the averaged step size after this step


def build_schedule(num_warmup: int, num_draws: int, chunk_size: int, *, adapt_mass: bool) -> Schedule:
    """Stan's windowed warmup as per-iteration flags, padded to whole chunks.

    Iterations ``[0, num_warmup)`` adapt; the step size is searched at the start
    and after each mass-matrix update (Stan's ``init_stepsize``).
    """
    total = num_warmup + num_draws
    padded = max(chunk_size, -(-total // chunk_size) * chunk_size)
    it = np.arange(padded)
    flags = {name: np.zeros(padded, bool) for name in ("slow", "window_end", "search", "last_warmup")}
    if num_warmup > 0:
        stages = adaptation.warmup_schedule(num_warmup)
        if adapt_mass:
            flags["slow"][:num_warmup] = stages["is_slow_window"]
            flags["window_end"][:num_warmup] = stages["is_slow_window"] & stages["is_window_end"]
        flags["last_warmup"][num_warmup - 1] = True
    flags["search"][0] = True
    ends = np.nonzero(flags["window_end"])[0]
    flags["search"][ends[ends + 1 < num_warmup] + 1] = True
    return Schedule(iteration=it.astype(np.int32), active=it < total, warmup=it < num_warmup, **flags)


# -- algorithms -----------------------------------------------------------------------------
class Algorithm:
    """How a chain moves and adapts; the runner is generic over these.

    An algorithm is a frozen dataclass (hashable by value, so equal settings
    reuse a compiled program) with pure methods:

    - ``init_state(position, fn) -> state`` and ``position(state) -> flat``;
    - ``init_tuning(dim, dtype) -> tuning``: the adapted parameters (step
      size, mass matrix, proposal scale, ...) as a pytree;
    - ``prepare(tuning, key, state, fn, x) -> tuning``: before a step (e.g.
      Stan's step-size search at the start of a window);
    - ``step(key, state, fn, tuning) -> (state, info)``;
    - ``adapt(tuning, state, info, x) -> tuning``: after a warmup step;
    - ``stats(state, info, tuning) -> dict`` of per-draw scalars, with at least
      ``lp``, ``is_divergent`` and ``num_integration_steps`` (gradient evaluations).
    """

    name = "mcmc"
    uses_mass_windows = False
    # whether the algorithm offers start / advance / is_done / finish (see NUTS)
    steps_one_at_a_time = False

    def prepare(self, tuning, key, state, fn, x):
        return tuning

    def final_tuning(self, tuning):
        """The adapted values reported on the Posterior: ``(step_size, inverse_mass_matrix)``."""
        return tuning.step_size, tuning.inverse_mass_matrix


class AdaptState(NamedTuple):
    """Per-chain warmup state; ``step_size`` and ``inverse_mass_matrix`` drive the next step."""

    step_size: jax.Array
    inverse_mass_matrix: jax.Array
    dual_averaging: object
    welford: object
    target_accept: jax.Array  # a value, not a constant of the compiled program


@dataclasses.dataclass(frozen=True)
class NUTS(Algorithm):
    """Multinomial NUTS with Stan's windowed adaptation (see :func:`nuts`)."""

    max_tree_depth: int = 10
    # Read only outside the compiled program (init_tuning), so they are left out of the
    # hash: runs that differ in them alone share one program.
    target_accept: float = dataclasses.field(default=0.8, compare=False)
    dense_mass: bool = False
    initial_step_size: float = dataclasses.field(default=1.0, compare=False)
    adapt_step_size: bool = True
    adapt_mass: bool = True
    divergence_threshold: float = 1000.0

    name = "nuts"

    @property
    def uses_mass_windows(self):
        return self.adapt_mass

    def init_state(self, position, fn):
        return hmc_kernel.init(position, fn)

    def position(self, state):
        return state.position

    def init_tuning(self, dim, dtype):
        da_init, _ = adaptation.dual_averaging()
        w_init, _, _ = adaptation.welford(self.dense_mass)
        imm = jnp.eye(dim, dtype=dtype) if self.dense_mass else jnp.ones(dim, dtype=dtype)
        step_size = jnp.asarray(self.initial_step_size, dtype=dtype)
        return AdaptState(step_size, imm, da_init(step_size), w_init(dim),
                          jnp.asarray(self.target_accept, dtype=dtype))

    def prepare(self, tuning, key, state, fn, x):
        if not self.adapt_step_size:
            return tuning
        return jax.lax.cond(x.search & x.warmup, lambda t: self._restart(t, key, state, fn),
                            lambda t: t, tuning)

    def _restart(self, tuning, key, state, fn):
        da_init, _ = adaptation.dual_averaging()  # init does not depend on the target
        step_size = adaptation.find_reasonable_step_size(key, state, fn, tuning.inverse_mass_matrix,
                                                         tuning.step_size)
        return tuning._replace(step_size=step_size, dual_averaging=da_init(step_size))

    def _kernel(self):
        return nuts_kernel.build_kernel(divergence_threshold=self.divergence_threshold)

    def step(self, key, state, fn, tuning):
        return self._kernel()(key, state, fn, tuning.step_size, tuning.inverse_mass_matrix,
                              max_tree_depth=self.max_tree_depth)

    # ``step`` cut into its leapfrog steps, for chains that do not wait for each other
    # (see :func:`_chunk_unsynchronized`); the same random numbers as ``step``.
    steps_one_at_a_time = True

    def noise(self, key, position):
        """The random numbers ``step(key, ...)`` uses, drawn ahead of the step."""
        return nuts_kernel.transition_noise(key, position)

    def start(self, noise, state, fn, tuning):
        return nuts_kernel.transition_init(noise, state, tuning.step_size,
                                           tuning.inverse_mass_matrix, self.max_tree_depth)

    def advance(self, transition, fn, tuning):
        """One leapfrog step of every chain's transition (called under ``vmap``)."""
        return nuts_kernel.transition_step(transition, fn, tuning.inverse_mass_matrix,
                                           self.max_tree_depth, self.divergence_threshold,
                                           batched=True)

    def is_done(self, transition):
        return nuts_kernel.transition_done(transition)

    def finish(self, transition):
        return nuts_kernel.transition_finish(transition)

    def adapt(self, tuning, state, info, x):
        _, da_update = adaptation.dual_averaging(tuning.target_accept)
        w_init, w_update, w_covariance = adaptation.welford(self.dense_mass)
        step_size, da = tuning.step_size, tuning.dual_averaging
        if self.adapt_step_size:
            da = da_update(da, info.acceptance_rate)
            step_size = jnp.where(x.last_warmup, jnp.exp(da.log_step_size_avg),
                                  jnp.exp(da.log_step_size))
        welford, imm = tuning.welford, tuning.inverse_mass_matrix
        if self.adapt_mass:
            updated = w_update(welford, state.position)
            welford = jax.tree.map(lambda new, old: jnp.where(x.slow, new, old), updated, welford)
            imm = jnp.where(x.window_end, w_covariance(welford), imm)
            fresh = w_init(state.position.shape[0])
            welford = jax.tree.map(lambda f, cur: jnp.where(x.window_end, f, cur), fresh, welford)
        return AdaptState(step_size, imm, da, welford, tuning.target_accept)

    def stats(self, state, info, tuning):
        out = {"lp": state.logdensity, "acceptance_rate": info.acceptance_rate,
               "step_size": tuning.step_size, "energy": info.energy,
               "num_integration_steps": jnp.asarray(info.num_integration_steps, jnp.int32),
               "is_divergent": info.is_divergent}
        out.update(self._extra_stats(info))
        return out

    def _extra_stats(self, info):
        return {"tree_depth": jnp.asarray(info.tree_depth, jnp.int32)}


@dataclasses.dataclass(frozen=True)
class HMC(NUTS):
    """Static HMC: ``num_steps`` leapfrog steps, same adaptation as :class:`NUTS`."""

    num_steps: int = 16

    name = "hmc"
    steps_one_at_a_time = False  # every chain makes num_steps steps: nothing to wait for

    def _kernel(self):
        return hmc_kernel.build_kernel(divergence_threshold=self.divergence_threshold)

    def step(self, key, state, fn, tuning):
        return self._kernel()(key, state, fn, tuning.step_size, tuning.inverse_mass_matrix,
                              self.num_steps)

    def _extra_stats(self, info):
        return {}


# -- one iteration of one chain -------------------------------------------------------------
def _iteration_keys(chain_key, iteration):
    """A chain's keys for one iteration: ``(for the step-size search, for the step)``.

    Shared by both chunk programs, so that they draw the same random numbers.
    """
    return rng.split(rng.fold_in(chain_key, iteration))


def _iteration(target, algorithm: Algorithm, data):
    """``(state, tuning, chain_key, x) -> (state, tuning, outputs)`` for one chain."""

    def fn(flat):
        return target.logdensity(flat, data)

    def step(state, tuning, chain_key, x):
        key_prepare, key_step = _iteration_keys(chain_key, x.iteration)
        state = jax.lax.cond(x.iteration == 0,
                             lambda s: algorithm.init_state(algorithm.position(s), fn),
                             lambda s: s, state)
        tuning = algorithm.prepare(tuning, key_prepare, state, fn, x)
        used = tuning
        state, info = algorithm.step(key_step, state, fn, tuning)
        tuning = jax.lax.cond(x.warmup, lambda t: algorithm.adapt(t, state, info, x),
                              lambda t: t, tuning)
        stats = algorithm.stats(state, info, used)
        return state, tuning, (target.constrain(algorithm.position(state), data), stats)

    return step


def _chunk(target, algorithm: Algorithm, carry, keys, xs: Schedule, data):
    """Run ``len(xs)`` iterations of every chain; outputs stacked ``(iterations, chains, ...)``."""
    step = _iteration(target, algorithm, data)
    vstep = jax.vmap(step, in_axes=(0, 0, 0, None))

    def body(carry, x):
        def active(c):
            s, t, out = vstep(*c, keys, x)
            return (s, t), out

        def idle(c):
            _, _, out = jax.eval_shape(vstep, *c, keys, x)
            return c, jax.tree.map(lambda o: jnp.zeros(o.shape, o.dtype), out)

        return jax.lax.cond(x.active, active, idle, carry)

    return jax.lax.scan(body, carry, xs)


def _where_chains(mask, new, old):
    """Per chain (leading axis), ``new`` where ``mask`` else ``old``, over whole pytrees."""
    return jax.tree.map(lambda a, b: jnp.where(mask.reshape((-1,) + (1,) * (a.ndim - 1)), a, b),
                        new, old)


def _chunk_randomness(algorithm: Algorithm, keys, iterations, positions):
    """Every iteration's random numbers for :func:`_chunk_unsynchronized`, ahead of the loop.

    The keys are :func:`_iteration`'s (:func:`_iteration_keys`). Returns
    ``(key_prepare, noise)``, leading axes ``(iterations, chains)``.
    """
    per_chain = jax.vmap(_iteration_keys, in_axes=(0, None), out_axes=1)
    key_prepare, key_step = jax.vmap(per_chain, in_axes=(None, 0), out_axes=1)(keys, iterations)
    noise = jax.vmap(lambda k: jax.vmap(algorithm.noise)(k, positions))(key_step)
    return key_prepare, noise


# Its own program, independent of the model: it is shared by every model of the same
# dimension and chunk shape, and XLA:CPU compiles the Threefry rounds slowly.
_chunk_randomness_jit = jax.jit(_chunk_randomness, static_argnums=0)


def _chunk_unsynchronized(target, algorithm: Algorithm, carry, keys, xs: Schedule, data,
                          randomness=None):
    """:func:`_chunk` without making the chains wait for each other after every iteration.

    Under ``vmap`` a NUTS iteration lasts as long as the longest of the
    chains' trajectories: the others idle (their steps are computed and
    discarded), so a chunk costs ``sum over iterations of max over chains``
    leapfrog steps. Here one loop makes one leapfrog step of every chain per
    turn, and a chain whose trajectory has ended finishes its iteration
    (adaptation, outputs) and starts its next one in the same turn. A chunk
    then costs about ``max over chains of sum over iterations``: 1.2 to 1.6
    times fewer turns on the posteriordb models. Each chain's random numbers
    and operations are those of :func:`_chunk`; XLA rounds the two programs
    differently in the last bit, so the draws agree to round-off at first and
    may part later (docs/mcmc.md, "Randomness and reproducibility").

    The iteration-level work runs only in turns where some chain finishes,
    and Stan's step-size search only where some chain needs it.
    """
    def fn(flat):
        return target.logdensity(flat, data)

    n = xs.iteration.shape[0]
    num_active = jnp.sum(xs.active.astype(jnp.int32))  # active iterations come first
    chains = keys.shape[0]
    lanes = jnp.arange(chains)
    states, tunings = carry

    def schedule_at(index):
        return jax.tree.map(lambda a: a[jnp.minimum(index, n - 1)], xs)

    if randomness is None:
        randomness = _chunk_randomness(algorithm, keys, xs.iteration,
                                       jax.vmap(algorithm.position)(states))
    key_prepare, noise = randomness

    def begin(states, tunings, index, mask):
        """Prepare and start the iteration ``index`` of the chains in ``mask``."""
        row = jnp.minimum(index, n - 1)
        x = jax.vmap(schedule_at)(index)
        prepare = jax.vmap(lambda t, k, s, x: algorithm.prepare(t, k, s, fn, x))
        searching = mask & x.search & x.warmup
        tunings = jax.lax.cond(
            jnp.any(searching),
            lambda t: _where_chains(searching, prepare(t, key_prepare[row, lanes], states, x), t),
            lambda t: t, tunings)
        own_noise = jax.tree.map(lambda a: a[row, lanes], noise)
        transitions = jax.vmap(lambda z, s, t: algorithm.start(z, s, fn, t))(own_noise, states,
                                                                           tunings)
        return tunings, transitions

    def finish(loop_state, finishing):
        states, tunings, transitions, index, started, positions, stats = loop_state
        new_states, infos = jax.vmap(algorithm.finish)(transitions)
        recording = finishing & started
        x = jax.vmap(schedule_at)(index)
        adapt = jax.vmap(lambda t, s, i, x: jax.lax.cond(
            x.warmup, lambda t: algorithm.adapt(t, s, i, x), lambda t: t, t))
        adapted = adapt(tunings, new_states, infos, x)
        new_stats = jax.vmap(algorithm.stats)(new_states, infos, tunings)
        rows = jnp.where(recording, index, n)  # row n is scratch, dropped at the end
        positions = positions.at[rows, lanes].set(jax.vmap(algorithm.position)(new_states))
        stats = jax.tree.map(lambda buf, v: buf.at[rows, lanes].set(v), stats, new_stats)
        states = _where_chains(recording, new_states, states)
        tunings = _where_chains(recording, adapted, tunings)
        index = index + recording.astype(index.dtype)
        restarting = finishing & (index < num_active)
        begun_tunings, begun = begin(states, tunings, index, restarting)
        tunings = _where_chains(restarting, begun_tunings, tunings)
        transitions = _where_chains(restarting, begun, transitions)
        return states, tunings, transitions, index, started | restarting, positions, stats

    def turn(loop_state):
        states, tunings, transitions, index, started, positions, stats = loop_state
        transitions = jax.vmap(lambda tr, t: algorithm.advance(tr, fn, t))(transitions, tunings)
        # a chain not started yet (the chunk's first turn) "finishes" its placeholder
        finishing = (jax.vmap(algorithm.is_done)(transitions) | ~started) & (index < num_active)
        loop_state = (states, tunings, transitions, index, started, positions, stats)
        return jax.lax.cond(jnp.any(finishing), lambda c: finish(c, finishing), lambda c: c,
                            loop_state)

    states = jax.lax.cond(
        xs.iteration[0] == 0,
        lambda s: jax.vmap(lambda st: algorithm.init_state(algorithm.position(st), fn))(s),
        lambda s: s, states)
    # Placeholder transitions of the right structure (no step-size search): the first turn
    # begins every chain inside ``finish``, so that ``begin`` (a gradient and the search's
    # loop) is compiled once rather than twice.
    transitions = jax.vmap(lambda z, s, t: algorithm.start(z, s, fn, t))(
        jax.tree.map(lambda a: a[0], noise), states, tunings)
    positions = jnp.zeros((n + 1,) + jnp.shape(jax.vmap(algorithm.position)(states)),
                          jax.vmap(algorithm.position)(states).dtype)
    stat_shapes = jax.eval_shape(
        lambda: jax.vmap(algorithm.stats)(*jax.vmap(algorithm.finish)(transitions), tunings))
    stats = jax.tree.map(lambda s: jnp.zeros((n + 1,) + s.shape, s.dtype), stat_shapes)
    index, started = jnp.zeros(chains, jnp.int32), jnp.zeros(chains, bool)
    loop_state = jax.lax.while_loop(lambda c: jnp.any(c[3] < num_active), turn,
                                    (states, tunings, transitions, index, started, positions,
                                     stats))
    states, tunings, _, _, _, positions, stats = loop_state
    constrain = jax.vmap(jax.vmap(lambda p: target.constrain(p, data)))
    outputs = (constrain(positions[:n]), jax.tree.map(lambda a: a[:n], stats))
    return (states, tunings), outputs


_chunk_jit = jax.jit(_chunk, static_argnums=(0, 1))
_chunk_unsynchronized_jit = jax.jit(_chunk_unsynchronized, static_argnums=(0, 1))


def _chunk_unsynchronized_vectorized(target, algorithm, carry, keys, xs: Schedule, data):
    """:func:`_chunk_unsynchronized` with its random numbers from their own program."""
    positions = _position_of(algorithm, carry[0])
    randomness = _chunk_randomness_jit(algorithm, keys, xs.iteration, positions)
    return _chunk_unsynchronized_jit(target, algorithm, carry, keys, xs, data, randomness)


@functools.lru_cache(maxsize=16)
def _parallel_chunk(devices: tuple, chunk):
    """The jitted ``chunk`` with its chains sharded over ``devices``.

    Cached, so that every run on the same devices reuses one jitted function
    (and its compiled programs) instead of compiling afresh.
    """
    from jax.sharding import PartitionSpec as P

    mesh = jax.sharding.Mesh(np.array(devices), ("chain",))

    def run(target, algorithm, carry, keys, xs, data):
        inner = jax.shard_map(lambda c, k, x, d: chunk(target, algorithm, c, k, x, d), mesh=mesh,
                              in_specs=(P("chain"), P("chain"), P(), P()),
                              out_specs=(P("chain"), P(None, "chain")), check_vma=False)
        return inner(carry, keys, xs, data)

    return jax.jit(run, static_argnums=(0, 1))


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
    return carry, collected, interrupted, timing


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
    """Run ``algorithm`` on ``target`` (a :class:`~credo.mcmc.target.Target`): the generic runner.

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
            if outputs and (outputs[-1][2] or stop.requested):
                break  # a sequential run keeps the chains begun before the stop
            carry = (states, tuning) if len(groups) == 1 else jax.tree.map(lambda a: a[group],
                                                                            (states, tuning))
            chunk_fn = _chunk_function(chain_method, len(group), algorithm, lockstep)
            desc = f"{algorithm.name.upper()} " + (f"chain {group[0]}" if len(groups) > 1
                                                    else f"{chains} chains")
            outputs.append(_run_chunks(chunk_fn, target, algorithm, carry, chain_keys[group],
                                       schedule, chunk, data_arrays, progress, desc, save_warmup,
                                       stop))
    interrupted = len(outputs) < len(groups) or any(o[2] for o in outputs)
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
        return _iteration(target, algorithm, data)(state, tuning, key, x)[2][1]

    shapes = jax.eval_shape(stats, state, tuning, key, x, data)
    return {k: (tuple(v.shape), v.dtype) for k, v in shapes.items()}


@functools.lru_cache(maxsize=64)
def _state_shapes(algorithm, dim: int, dtype):
    return jax.eval_shape(lambda p: algorithm.init_state(p, lambda x: jnp.sum(x)),
                          jax.ShapeDtypeStruct((dim,), dtype))


def _placeholder_states(algorithm, positions):
    """States of the right structure, one per row of ``positions`` (chains, dim).

    Their log density and gradient are zeros, filled in at iteration 0 inside
    the compiled chunk; built without tracing, once per structure.
    """
    chains, dim = positions.shape
    shapes = _state_shapes(algorithm, dim, jnp.dtype(positions.dtype))
    state = jax.tree.map(lambda s: jnp.zeros((chains,) + s.shape, s.dtype), shapes)
    return _with_position(algorithm, state, jnp.asarray(positions))


@functools.lru_cache(maxsize=64)
def _position_leaf(algorithm, treedef) -> int:
    """Which leaf of a state with structure ``treedef`` is ``algorithm.position``'s."""
    return algorithm.position(jax.tree.unflatten(treedef, list(range(treedef.num_leaves))))


def _position_of(algorithm, state):
    """``algorithm.position(state)`` without tracing (also for batched states): a leaf lookup.

    Called on the host between chunks, where an eager ``vmap`` would cost a
    trace per call.
    """
    leaves, treedef = jax.tree.flatten(state)
    return leaves[_position_leaf(algorithm, treedef)]


def _with_position(algorithm, state, position):
    leaves, treedef = jax.tree.flatten(state)
    leaves[_position_leaf(algorithm, treedef)] = position
    return jax.tree.unflatten(treedef, leaves)


def _initial_positions(target, key, chains, init):
    if isinstance(init, str) and init == "pathfinder":
        raise ArgumentError("init", "init='pathfinder' is resolved by credo.nuts / credo.hmc; pass "
                            "the points from credo.vi.pathfinder_init to runner.sample as an array")
    return initial_positions(target, key, chains, init)


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
    with _StopOnInterrupt():  # Ctrl-C while the model compiles also stops the run cleanly
        if isinstance(init, str) and init == "pathfinder":
            from credo.vi import pathfinder_init

            init = np.asarray(pathfinder_init(model, data, num_chains=int(chains),
                                              seed=rng.key_from_seed(seed)))
        target = as_target(model, data, dim=dim, init=None if isinstance(init, str) else init)
        require_latents(target.dim)
        settings = dict(target_accept=target_accept, dense_mass=bool(dense_mass),
                        initial_step_size=1.0 if step_size is None else step_size,
                        adapt_step_size=step_size is None, adapt_mass=bool(adapt_mass),
                        divergence_threshold=divergence_threshold, max_tree_depth=max_tree_depth)
        algo = HMC(num_steps=num_steps, **settings) if algorithm == "hmc" else NUTS(**settings)
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
    for (carry, collected, _, timing), group in zip(outputs, groups):
        n = len(group)
        parts.append(dict(adapt=carry[1], timing=timing,
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
        max_tree_depth=getattr(algorithm, "max_tree_depth", None) if algorithm.name == "nuts" else None,
        timing=timing, warmup_draws=warm_draws, warmup_stats=warmup_stats)
    if progress:
        print(posterior.report())
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
        Show a progress bar and print the summary and warnings at the end.
    init : {"uniform", "median", "prior", "pathfinder"}, dict or array
        Initial points: a strategy (Uniform(-2, 2) in unconstrained space by
        default), constrained values per site, or flat unconstrained arrays of
        shape ``(dim,)`` or ``(chains, dim)``.
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
