"""The compiled chunk programs of the MCMC runner: ``lax.scan`` or one shared loop over chains.

A chunk runs ``len(xs)`` iterations of every chain, stepping each with an
:class:`~credo.mcmc.algorithms.Algorithm` and, during warmup, adapting it. The
per-iteration :class:`Schedule` is an *input* of the program, so warmup and
sampling share one compiled program per model shape.

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

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import adaptation, rng
from .algorithms import Algorithm

__all__ = ["Schedule", "build_schedule"]


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


class _LoopState(NamedTuple):
    """The carry of :func:`_chunk_unsynchronized`'s loop, every field per chain."""

    states: object
    tunings: object
    transitions: object   # each chain's transition in progress
    index: jax.Array      # the chunk row of the iteration each chain is in
    started: jax.Array    # whether the chain has begun an iteration in this chunk
    positions: jax.Array  # (rows + 1, chains, dim): row ``rows`` is scratch
    stats: dict


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

    def finish(loop_state: _LoopState, finishing):
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
        return _LoopState(states, tunings, transitions, index, started | restarting, positions,
                          stats)

    def turn(loop_state: _LoopState):
        transitions = jax.vmap(lambda tr, t: algorithm.advance(tr, fn, t))(
            loop_state.transitions, loop_state.tunings)
        # a chain not started yet (the chunk's first turn) "finishes" its placeholder
        finishing = ((jax.vmap(algorithm.is_done)(transitions) | ~loop_state.started)
                     & (loop_state.index < num_active))
        loop_state = loop_state._replace(transitions=transitions)
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
    loop_state = jax.lax.while_loop(lambda c: jnp.any(c.index < num_active), turn,
                                    _LoopState(states, tunings, transitions, index, started,
                                               positions, stats))
    states, tunings, positions, stats = (loop_state.states, loop_state.tunings,
                                         loop_state.positions, loop_state.stats)
    constrain = jax.vmap(jax.vmap(lambda p: target.constrain(p, data)))
    outputs = (constrain(positions[:n]), jax.tree.map(lambda a: a[:n], stats))
    return (states, tunings), outputs


_chunk_jit = jax.jit(_chunk, static_argnums=(0, 1))
_chunk_unsynchronized_jit = jax.jit(_chunk_unsynchronized, static_argnums=(0, 1))


def _chunk_unsynchronized_vectorized(target, algorithm, carry, keys, xs: Schedule, data):
    """:func:`_chunk_unsynchronized` with its random numbers from their own program."""
    states, _ = carry
    positions = _position_of(algorithm, states)
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
