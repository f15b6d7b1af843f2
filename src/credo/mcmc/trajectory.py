"""Iterative NUTS trajectories: U-turn checkpoints and the single-loop doubling scheme.

NUTS (Hoffman & Gelman 2014) doubles a trajectory in random directions; the
``k``-th doubling integrates a subtree of ``2**k`` leapfrog steps. Recursive
implementations check the no-U-turn criterion whenever two sibling subtrees
merge. Here a subtree is built one leaf at a time and those checks are
replayed from a fixed-size *checkpoint* array (as in NumPyro's iterative NUTS,
Phan et al. 2019): leaf ``n`` (0-based within its subtree) completes the
sibling pairs of sizes ``2, 4, ..., 2**t``, where ``t`` is the number of
trailing one bits of ``n``, and the leaves those pairs need are still stored.

Every merge of two adjacent segments ``A`` then ``B`` applies Stan's three
checks (Stan >= 2.21, after the "NUTS misses U-turns" discussion): the
criterion over the union with its two outer ends, over ``A`` extended by
``B``'s first state, and over ``B`` extended by ``A``'s last state. The same
checks merge a finished subtree into the trajectory.

Momentum sums ``rho`` include every state of a segment, ends included, and the
criterion is ``v_l . rho > 0 and v_r . rho > 0`` with ``v = M^{-1} p``
(Stan's ``compute_criterion``; Betancourt 2017, sec. A.4.2).

Performance. A transition is one ``lax.while_loop`` whose body makes exactly
one leapfrog step (one gradient evaluation) and folds the new leaf into the
subtree, merging the subtree into the trajectory when it is complete. On
XLA:CPU every kernel launched in a loop body costs a fixed overhead that
dwarfs the arithmetic of a cheap gradient, so the loop state is packed into
one ``(rows, d)`` array of vectors and one array of scalars, each rebuilt
by a single gather from a table of precomputed rules; the checkpoints are one
``(rows, 5, d)`` array; dot products are batched; the merge checks run only
when a subtree is complete; and the per-step random numbers come from an
unrolled Threefry hash instead of JAX's rolled one. Under ``vmap`` the loop
runs the chains in lockstep without re-selecting its whole carry after every
step (:func:`credo.mcmc.lockstep.while_loop_lockstep`), which otherwise copies the checkpoints
of every chain at every step.

References
----------
.. [1] Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn sampler. *JMLR* 15.
.. [2] Betancourt, M. (2017). A conceptual introduction to Hamiltonian Monte
   Carlo. arXiv:1701.02434.
.. [3] Phan, D., Pradhan, N. and Jankowiak, M. (2019). Composable effects for
   flexible and accelerated probabilistic programming in NumPyro.
   arXiv:1912.11554.
.. [4] Stan Development Team. *Stan Reference Manual*, "Hamiltonian Monte
   Carlo"; ``stan/mcmc/hmc/nuts/base_nuts.hpp``.
.. [5] Salmon, J. K. et al. (2011). Parallel random numbers: as easy as 1, 2,
   3. *SC'11*.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from credo.errors import ArgumentError

from . import rng
from .integrators import IntegratorState
from .lockstep import while_loop_lockstep
from .uturn import (
    CK_MOMENTUM,
    CK_VELOCITY,
    Segment,
    _dots,
    _merge_criteria,
    checkpoint_index,
    init_checkpoints,
    is_turning_merged,
    num_completed_subtrees,
    record_leaf,
    subtree_is_turning,
)
from .rng import threefry2x32
from .metrics import Metric
from .proposal import (
    Proposal,
    acceptance_probability,
    biased_transition_probability,
    energy_error,
    uniform_transition_probability,
)

__all__ = [
    "TrajectoryResult",
    "transition_words",
    "TrajectoryState",
    "trajectory_init",
    "trajectory_step",
    "trajectory_done",
    "trajectory_result",
    "run_trajectory",
    "build_trajectory",
    "MAX_SUPPORTED_TREE_DEPTH",
]

#: The doubling directions are the bits of one 32-bit random word.
MAX_SUPPORTED_TREE_DEPTH = 30


# -- random numbers ------------------------------------------------------------------------
def _to_uniform(word, dtype):
    """A uint32 word to a float of ``dtype`` on a regular grid in ``[0, 1)``."""
    if jnp.finfo(dtype).nmant >= 32:
        return word.astype(dtype) * jnp.asarray(2.0 ** -32, dtype)
    return lax.shift_right_logical(word, jnp.uint32(8)).astype(dtype) * jnp.asarray(2.0 ** -24, dtype)


def _step_uniforms(seed, index, dtype):
    """Two ``Uniform(0, 1)`` draws for leapfrog step ``index`` of a transition.

    ``seed`` is a ``(2,)`` uint32 pair drawn once per transition from the
    caller's key; step ``index`` hashes the counter ``(index, 0)``.
    """
    w0, w1 = threefry2x32(seed, (index.astype(jnp.uint32), jnp.uint32(0)))
    return _to_uniform(w0, dtype), _to_uniform(w1, dtype)


# -- the trajectory ------------------------------------------------------------------------
# The loop state is a ``(rows, d)`` array of vectors and a ``(rows,)`` array of the
# scalars that always move with them (zero where a row has none). Rows: the
# subtree's edge (the last state integrated) and the trajectory's two ends
# (position x, momentum p, gradient g, velocity v; the log density rides with x),
# the subtree's and the trajectory's momentum sums (with their log weights) and
# candidates (log density with x, energy with g), and the running sum of
# acceptance probabilities (a scalar only).
_ROWS = ("edge_x", "edge_p", "edge_g", "edge_v", "sub_rho", "sub_x", "sub_g",
         "left_x", "left_p", "left_g", "left_v", "right_x", "right_p", "right_g", "right_v",
         "traj_rho", "traj_x", "traj_g", "stats")
# New rows a step can produce: the leaf (log density with x, energy with g), the
# updated sums, an empty subtree (zero sum, log weight -inf) and the updated stats.
_CANDIDATES = ("leaf_x", "leaf_p", "leaf_g", "leaf_v", "new_sub_rho", "new_traj_rho", "empty",
               "new_stats")
# Flags that decide, after each step, where every row of the new state comes from.
_FLAGS = ("active", "right", "next_right", "ended", "valid", "take_leaf", "take_subtree")
# Integer state: leaf index within the subtree, index k of the subtree (2**k
# leaves), leapfrog steps, merged doublings, and three flags.
_COUNTERS = ("leaf", "expansion", "num_steps", "depth", "is_turning", "is_diverging", "done")
# rows from an end of the trajectory to the same row of the other end (left_* -> right_*)
_END_STRIDE = _ROWS.index("right_x") - _ROWS.index("left_x")
_C = {name: i for i, name in enumerate(_COUNTERS)}


def _rules(f) -> dict:
    """Source (old row or candidate) of every row of the new state, for the flags ``f``."""
    if not f["active"]:
        return {name: name for name in _ROWS}  # a finished trajectory keeps its state
    to_left = f["valid"] and not f["right"]
    to_right = f["valid"] and f["right"]
    # the next step starts from the new leaf, unless a finished subtree hands over
    # to a new one that grows from the other end of the trajectory
    from_leaf = not f["ended"] or f["next_right"] == f["right"]
    other_end = "right_" if f["next_right"] else "left_"
    rows = {"sub_rho": "empty" if f["ended"] else "new_sub_rho",
            "traj_rho": "new_traj_rho" if f["valid"] else "traj_rho",
            "stats": "new_stats"}
    for x in "xpgv":
        rows["edge_" + x] = "leaf_" + x if from_leaf else other_end + x
        rows["left_" + x] = "leaf_" + x if to_left else "left_" + x
        rows["right_" + x] = "leaf_" + x if to_right else "right_" + x
    for x in "xg":
        # uniform progressive sampling inside the subtree, biased when merging it
        sub = "leaf_" + x if f["take_leaf"] else "sub_" + x
        rows["sub_" + x] = sub
        rows["traj_" + x] = sub if f["take_subtree"] else "traj_" + x
    return rows


def _source_table():
    """``table[code, i]``: source of row ``i`` when bit ``j`` of ``code`` is flag ``_FLAGS[j]``.

    The rules are plain Python, tabulated once here; a step then rebuilds
    its whole state with one gather (:func:`_rebuild`).
    """
    index = {name: i for i, name in enumerate(_ROWS + _CANDIDATES)}
    table = np.zeros((2 ** len(_FLAGS), len(_ROWS)), np.int32)
    for code in range(table.shape[0]):
        rules = _rules({flag: bool(code >> i & 1) for i, flag in enumerate(_FLAGS)})
        table[code] = [index[rules[name]] for name in _ROWS]
    return table


_SOURCE_TABLE = _source_table()


def _rebuild(state, candidates, flags: dict):
    """The new packed state: rows gathered from ``[state; candidates]``.

    ``state`` and ``candidates`` are ``(vectors, scalars)`` pairs; both halves
    use the same source indices. Each gather is a single XLA:CPU kernel, where
    a ``where`` per row would be one kernel each, and each kernel launch costs
    more than its arithmetic.
    """
    code = sum(flags[name].astype(jnp.int32) << i for i, name in enumerate(_FLAGS))
    rows = jnp.asarray(_SOURCE_TABLE)[code]
    return tuple(jnp.concatenate([old, new])[rows] for old, new in zip(state, candidates))


class _Rows:
    """Name-based access to a packed ``(vectors, scalars)`` pair."""

    def __init__(self, names, packed):
        self._index = {name: i for i, name in enumerate(names)}
        self._vectors, self._scalars = packed

    def row(self, name):
        return self._index[name]

    def vec(self, name):
        return self._vectors[self._index[name]]

    def scalar(self, name):
        return self._scalars[self._index[name]]


def _pack(names, rows: dict):
    """``{name: (vector, scalar)}`` as a ``(vectors, scalars)`` pair, in ``names`` order."""
    vectors, scalars = zip(*(rows[name] for name in names))
    return jnp.stack(vectors), jnp.stack([jnp.asarray(x) for x in scalars])


class TrajectoryResult(NamedTuple):
    """Outcome of one NUTS trajectory.

    Attributes
    ----------
    proposal : Proposal
        The multinomially sampled state (the next chain state).
    leftmost, rightmost : IntegratorState
        Ends of the accepted trajectory (a rejected last subtree excluded).
    is_turning, is_diverging : bool arrays
        Why the trajectory stopped (neither: it reached ``max_tree_depth``).
    num_expansions : int array
        Subtrees started, the rejected last one included.
    num_steps : int array
        Leapfrog steps (= gradient evaluations), rejected subtree included.
    depth : int array
        Doublings merged into the trajectory (Stan's ``treedepth__``).
    acceptance_rate : Array, shape ()
        Mean of ``min(1, exp(H0 - H))`` over every leapfrog step (Stan's
        ``accept_stat__``, the dual averaging statistic).
    """

    proposal: Proposal
    leftmost: IntegratorState
    rightmost: IntegratorState
    is_turning: jax.Array
    is_diverging: jax.Array
    num_expansions: jax.Array
    num_steps: jax.Array
    depth: jax.Array
    acceptance_rate: jax.Array


def transition_words(key):
    """The random words of one trajectory: ``(directions, seed)``.

    Bit ``k`` of ``directions`` (uint32) is the direction of doubling ``k``
    (1: forward in time); ``seed`` ((2,) uint32) keys the per-step uniforms.
    """
    words = rng.bits(key, 3)
    return words[0], words[1:]


class TrajectoryState(NamedTuple):
    """A NUTS trajectory under construction: the carry of its leapfrog loop.

    Built by :func:`trajectory_init`, advanced one leapfrog step at a time by
    :func:`trajectory_step` until :func:`trajectory_done`, and read by
    :func:`trajectory_result`. Exposing the loop body lets a runner advance
    several chains' trajectories together, one step each, and start a
    chain's next transition as soon as its trajectory ends instead of
    waiting for the longest one (see ``credo.mcmc.runner``).

    Attributes
    ----------
    vectors : Array, shape (rows, d)
    scalars : Array, shape (rows,)
        The packed rows of ``_ROWS``.
    checkpoints : Array, shape (max_tree_depth, 5, d)
    counters : int32 Array, shape (7,)
        ``_COUNTERS``.
    directions : uint32 Array, shape ()
        Bit ``k`` is the direction of doubling ``k``.
    seed : uint32 Array, shape (2,)
        Keys the per-step uniforms.
    step_size : Array, shape ()
    initial_energy : Array, shape ()
        ``H`` at the start, for the energy errors.
    """

    vectors: jax.Array
    scalars: jax.Array
    checkpoints: jax.Array
    counters: jax.Array
    directions: jax.Array
    seed: jax.Array
    step_size: jax.Array
    initial_energy: jax.Array


def _check_depth(max_tree_depth) -> int:
    max_tree_depth = int(max_tree_depth)
    if not 1 <= max_tree_depth <= MAX_SUPPORTED_TREE_DEPTH:
        raise ArgumentError("max_tree_depth", f"must be in [1, {MAX_SUPPORTED_TREE_DEPTH}], "
                                              f"got {max_tree_depth}")
    return max_tree_depth


def _going_right(directions, expansion):
    shift = jnp.minimum(expansion, 31).astype(jnp.uint32)
    return (lax.shift_right_logical(directions, shift) & 1) == 1


def trajectory_init(words, metric: Metric, initial_state: IntegratorState, step_size,
                    max_tree_depth: int = 10) -> TrajectoryState:
    """A trajectory of the single state ``initial_state`` (position with fresh momentum).

    Parameters
    ----------
    words : tuple
        ``(directions, seed)`` from :func:`transition_words`: the doubling
        directions and the seed of the per-step uniforms.
    metric : Metric
    initial_state : IntegratorState
    step_size : Array, shape ()
        Positive.
    max_tree_depth : int
        Static, in ``[1, 30]``.
    """
    max_tree_depth = _check_depth(max_tree_depth)
    dtype = initial_state.position.dtype
    directions, seed = words
    z0 = initial_state
    x0, p0, g0 = z0.position, z0.momentum, z0.logdensity_grad
    v0 = metric.kinetic_energy_grad(p0)
    initial_energy = -z0.logdensity + metric.kinetic_energy(p0)
    ld0 = jnp.asarray(z0.logdensity, dtype)
    zeros, zero, empty = jnp.zeros_like(v0), jnp.zeros((), dtype), jnp.asarray(-jnp.inf, dtype)
    vectors, scalars = _pack(_ROWS, dict(
        edge_x=(x0, ld0), edge_p=(p0, zero), edge_g=(g0, zero), edge_v=(v0, zero),
        sub_rho=(zeros, empty), sub_x=(x0, ld0), sub_g=(g0, initial_energy),
        left_x=(x0, ld0), left_p=(p0, zero), left_g=(g0, zero), left_v=(v0, zero),
        right_x=(x0, ld0), right_p=(p0, zero), right_g=(g0, zero), right_v=(v0, zero),
        traj_rho=(p0, zero), traj_x=(x0, ld0), traj_g=(g0, initial_energy),
        stats=(zeros, zero)))
    return TrajectoryState(vectors, scalars, init_checkpoints(max_tree_depth, x0.shape[0], dtype),
                           jnp.zeros(len(_COUNTERS), jnp.int32), directions, seed,
                           jnp.asarray(step_size, dtype), jnp.asarray(initial_energy, dtype))


def trajectory_done(state: TrajectoryState):
    """Whether the trajectory has ended (U-turn, divergence or maximum depth); bool, shape ()."""
    return state.counters[_C["done"]] != 0


def trajectory_step(state: TrajectoryState, step: Callable, metric: Metric,
                    max_tree_depth: int = 10, divergence_threshold: float = 1000.0,
                    batched: bool = False) -> TrajectoryState:
    """One leapfrog step of the trajectory, folded in; an ended trajectory is left unchanged.

    The step starts from the edge of the current subtree. The new leaf
    enters the subtree's candidate by uniform progressive sampling, is
    checkpointed, and completes the U-turn checks of its sibling pairs. A
    complete subtree is merged into the trajectory (biased progressive
    sampling, Stan's three checks) and the next doubling starts from the
    trajectory's end in the next direction. The trajectory ends at a
    divergent leaf or a turning pair inside a subtree (the subtree is then
    discarded, as in Stan), at a U-turn of the merged trajectory, or after
    ``max_tree_depth`` doublings.

    Parameters
    ----------
    state : TrajectoryState
    step : callable
        ``(IntegratorState, signed_step_size) -> IntegratorState``.
    metric : Metric
    max_tree_depth : int
        Static, as given to :func:`trajectory_init`.
    divergence_threshold : float
    batched : bool
        Static: the step runs under ``vmap``, where every member computes
        every branch anyway, so the merge checks are batched with the others
        instead of skipped by a ``lax.cond``.
    """
    vectors, scalars, checkpoints, counters = state[:4]
    seed, step_size, initial_energy = state.seed, state.step_size, state.initial_energy
    dtype = vectors.dtype
    a = _Rows(_ROWS, (vectors, scalars))
    leaf, expansion = counters[_C["leaf"]], counters[_C["expansion"]]
    num_steps, depth = counters[_C["num_steps"]], counters[_C["depth"]]
    # under vmap, finished chains still run the body (see lockstep.while_loop_lockstep)
    active = counters[_C["done"]] == 0
    right = _going_right(state.directions, expansion)
    u_leaf, u_merge = _step_uniforms(seed, num_steps, dtype)

    # one leapfrog step from the subtree's edge: the new leaf
    z = step(IntegratorState(a.vec("edge_x"), a.vec("edge_p"), a.scalar("edge_x"),
                             a.vec("edge_g")),
             jnp.where(right, step_size, -step_size))
    v = metric.kinetic_energy_grad(z.momentum)
    energy = -z.logdensity + metric.kinetic_energy(z.momentum)
    delta = energy_error(initial_energy, energy)
    diverging = delta > divergence_threshold

    # uniform progressive sampling inside the subtree
    old_sub_logw = a.scalar("sub_rho")
    take_leaf = u_leaf < uniform_transition_probability(old_sub_logw, -delta)
    sub_logw = jnp.logaddexp(old_sub_logw, -delta)
    sub_rho = a.vec("sub_rho") + z.momentum

    # U-turns inside the subtree
    checkpoints = record_leaf(checkpoints, leaf, z.momentum, v, a.vec("sub_rho"),
                              a.vec("edge_p"), a.vec("edge_v"))
    complete = leaf + 1 == lax.shift_left(jnp.int32(1), expansion)

    # Stan's checks for merging a complete subtree into the trajectory, and the
    # criterion of the pair (previous leaf, this leaf) that odd leaves complete
    # (larger pairs need the checkpoints)
    def merge_criteria():
        near = a.row("left_p") + jnp.where(right, _END_STRIDE, 0)
        far = a.row("left_p") + jnp.where(right, 0, _END_STRIDE)
        first_leaf = checkpoints[0]  # leaf 0 is the only one stored in row 0
        return _merge_criteria(
            Segment(a.vec("traj_rho"), vectors[near], vectors[near + 2], vectors[far + 2]),
            Segment(sub_rho, first_leaf[CK_MOMENTUM], first_leaf[CK_VELOCITY], v))

    pair_sum = a.vec("edge_p") + z.momentum
    pair_criteria = [(a.vec("edge_v"), pair_sum), (v, pair_sum)]
    if batched:
        # every member computes everything anyway: one reduction for all the dots
        dots = _dots(merge_criteria() + pair_criteria)
        merged_turning, pair_turning = jnp.any(dots[:6] <= 0), jnp.any(dots[6:] <= 0)
    else:
        # alone, skip the merge checks until the subtree is complete
        pair_turning = jnp.any(_dots(pair_criteria) <= 0)
        merged_turning = lax.cond(complete, lambda: jnp.any(_dots(merge_criteria()) <= 0),
                                  lambda: jnp.asarray(False))
    turning = (((leaf & 1) == 1) & pair_turning) | subtree_is_turning(
        checkpoints, leaf, v, sub_rho, smallest=2)
    failed = turning | diverging
    valid = complete & ~failed
    ended = complete | failed
    traj_logw = a.scalar("traj_rho")
    take_subtree = valid & (u_merge < biased_transition_probability(traj_logw, sub_logw))
    new_depth = depth + valid.astype(jnp.int32)
    done = failed | (valid & (merged_turning | (new_depth >= max_tree_depth)))

    zeros, zero = jnp.zeros_like(v), jnp.zeros((), dtype)
    candidates = _pack(_CANDIDATES, dict(
        leaf_x=(z.position, z.logdensity), leaf_p=(z.momentum, zero),
        leaf_g=(z.logdensity_grad, energy), leaf_v=(v, zero),
        new_sub_rho=(sub_rho, sub_logw),
        new_traj_rho=(a.vec("traj_rho") + sub_rho, jnp.logaddexp(traj_logw, sub_logw)),
        empty=(zeros, jnp.asarray(-jnp.inf, dtype)),
        new_stats=(zeros, a.scalar("stats") + acceptance_probability(delta))))
    vectors, scalars = _rebuild((vectors, scalars), candidates, dict(
        active=active, right=right, next_right=_going_right(state.directions, expansion + 1),
        ended=ended, valid=valid, take_leaf=take_leaf, take_subtree=take_subtree))
    new_counters = jnp.stack([
        jnp.where(ended, 0, leaf + 1), expansion + ended.astype(jnp.int32), num_steps + 1,
        # a divergent leaf stops the subtree before its U-turn checks, as in Stan
        new_depth, ((turning & ~diverging) | (valid & merged_turning)).astype(jnp.int32),
        diverging.astype(jnp.int32), done.astype(jnp.int32)])
    return state._replace(vectors=vectors, scalars=scalars, checkpoints=checkpoints,
                          counters=jnp.where(active, new_counters, counters))


def trajectory_result(state: TrajectoryState) -> TrajectoryResult:
    """The outcome of an ended trajectory."""
    a = _Rows(_ROWS, (state.vectors, state.scalars))
    counters = state.counters
    num_steps = counters[_C["num_steps"]]
    return TrajectoryResult(
        proposal=Proposal(a.vec("traj_x"), a.scalar("traj_x"), a.vec("traj_g"),
                          a.scalar("traj_g"), a.scalar("traj_rho")),
        leftmost=IntegratorState(a.vec("left_x"), a.vec("left_p"), a.scalar("left_x"),
                                 a.vec("left_g")),
        rightmost=IntegratorState(a.vec("right_x"), a.vec("right_p"), a.scalar("right_x"),
                                  a.vec("right_g")),
        is_turning=counters[_C["is_turning"]] == 1,
        is_diverging=counters[_C["is_diverging"]] == 1,
        num_expansions=counters[_C["expansion"]], num_steps=num_steps,
        depth=counters[_C["depth"]], acceptance_rate=a.scalar("stats") / num_steps)


def run_trajectory(state: TrajectoryState, step: Callable, metric: Metric,
                   max_tree_depth: int = 10,
                   divergence_threshold: float = 1000.0) -> TrajectoryState:
    """:func:`trajectory_step` until :func:`trajectory_done`, in one ``while_loop``.

    The only loop over a trajectory's leapfrog steps: :func:`build_trajectory`
    and the NUTS kernel (:func:`credo.mcmc.nuts.build_kernel`) both run it.
    Under ``vmap`` the chains run in lockstep until the longest trajectory
    ends, and the batched body batches the merge checks.
    """
    max_tree_depth = _check_depth(max_tree_depth)

    def body(s, batched=False):
        return trajectory_step(s, step, metric, max_tree_depth, divergence_threshold, batched)

    return while_loop_lockstep(lambda s: ~trajectory_done(s), body, state,
                               lambda s: body(s, batched=True))


def build_trajectory(key, step: Callable, metric: Metric, initial_state: IntegratorState,
                     step_size, max_tree_depth: int = 10,
                     divergence_threshold: float = 1000.0) -> TrajectoryResult:
    """Run one NUTS trajectory: doublings and leapfrog steps in a single ``while_loop``.

    :func:`trajectory_init`, then :func:`run_trajectory`, then
    :func:`trajectory_result`.

    Parameters
    ----------
    key : PRNG key
    step : callable
        ``(IntegratorState, signed_step_size) -> IntegratorState``.
    metric : Metric
    initial_state : IntegratorState
        Position with freshly drawn momentum.
    step_size : Array, shape ()
        Positive.
    max_tree_depth : int
        Static, in ``[1, 30]``; at most ``2**max_tree_depth - 1`` steps.
    divergence_threshold : float

    Returns
    -------
    TrajectoryResult
    """
    max_tree_depth = _check_depth(max_tree_depth)
    state = trajectory_init(transition_words(key), metric, initial_state, step_size,
                            max_tree_depth)
    return trajectory_result(run_trajectory(state, step, metric, max_tree_depth,
                                            divergence_threshold))
