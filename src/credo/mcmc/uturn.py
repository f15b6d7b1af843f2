"""NUTS's U-turn checks over a fixed-size checkpoint array (the iterative trajectory's memory).

Leaf ``n`` (0-based within its subtree) completes the sibling pairs of sizes
``2, 4, ..., 2**t``, where ``t`` is the number of trailing one bits of ``n``;
the checkpoints keep the leaves those pairs need, and every merge of two
adjacent segments applies Stan's three checks. The trajectory loop that uses
them is :mod:`credo.mcmc.trajectory`, whose docstring has the full account.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax


__all__ = ["CK_MOMENTUM", "CK_VELOCITY", "CK_SUM_BEFORE", "CK_PREV_MOMENTUM", "CK_PREV_VELOCITY",
           "Segment", "init_checkpoints", "checkpoint_index", "num_completed_subtrees",
           "record_leaf", "is_turning_merged", "subtree_is_turning"]


# -- checkpoints ---------------------------------------------------------------------------
# Layout of one checkpoint row, shape (5, d): the stored leaf's momentum and
# velocity, the subtree's momentum sum *before* it, and the momentum and
# velocity of the leaf integrated just before it (the last state of the
# preceding sibling, needed by Stan's extra checks).
CK_MOMENTUM, CK_VELOCITY, CK_SUM_BEFORE, CK_PREV_MOMENTUM, CK_PREV_VELOCITY = range(5)


def init_checkpoints(rows: int, dim: int, dtype):
    """Zero checkpoints, shape ``(rows, 5, d)``; a subtree of depth ``k`` needs ``k + 1`` rows.

    Leaf ``n`` is stored in row ``popcount(n)``. A sibling pair of size
    ``2**j`` finishing at leaf ``n`` starts at the leaf stored in row
    ``popcount(n) - j``, and its second half at the one in the next row;
    rows from ``popcount(n)`` up are free after the checks at ``n``, so
    nothing still needed is overwritten. See the ``CK_*`` constants for the
    layout of a row.
    """
    return jnp.zeros((max(int(rows), 1), 5, dim), dtype)


def checkpoint_index(leaf):
    """Row of leaf ``leaf`` (0-based within its subtree): the number of one bits of ``leaf``."""
    return lax.population_count(jnp.asarray(leaf, jnp.int32))


def num_completed_subtrees(leaf):
    """How many sibling pairs leaf ``leaf`` completes: its number of trailing one bits."""
    leaf = jnp.asarray(leaf, jnp.int32)
    return lax.population_count((~leaf & (leaf + 1)) - 1)


def record_leaf(checkpoints, leaf, momentum, velocity, sum_before, previous_momentum,
                previous_velocity):
    """Store leaf ``leaf`` in row :func:`checkpoint_index` ``(leaf)`` (in place under jit).

    Parameters
    ----------
    checkpoints : Array, shape (rows, 5, d)
    leaf : int array
    momentum, velocity : Array, shape (d,)
        Of the leaf.
    sum_before : Array, shape (d,)
        Subtree momentum sum over the leaves before this one.
    previous_momentum, previous_velocity : Array, shape (d,)
        Of the state integrated just before the leaf.
    """
    row = jnp.stack([momentum, velocity, sum_before, previous_momentum, previous_velocity])
    zero = jnp.zeros((), jnp.int32)
    return lax.dynamic_update_slice(checkpoints, row[None], (checkpoint_index(leaf), zero, zero))


# -- U-turn checks -------------------------------------------------------------------------
class Segment(NamedTuple):
    """What a U-turn check across two adjacent segments needs from each.

    Attributes
    ----------
    momentum_sum : Array, shape (d,)
        Sum of momenta over the segment.
    inner_momentum, inner_velocity : Array, shape (d,)
        At the end that touches the other segment.
    outer_velocity : Array, shape (d,)
        At the far end.
    """

    momentum_sum: jax.Array
    inner_momentum: jax.Array
    inner_velocity: jax.Array
    outer_velocity: jax.Array


def _merge_criteria(first: Segment, second: Segment):
    """The ``(velocity, momentum sum)`` pairs of Stan's three checks for ``first + second``."""
    whole = first.momentum_sum + second.momentum_sum
    first_extended = first.momentum_sum + second.inner_momentum
    second_extended = first.inner_momentum + second.momentum_sum
    return [(first.outer_velocity, whole), (second.outer_velocity, whole),
            (first.outer_velocity, first_extended), (second.inner_velocity, first_extended),
            (first.inner_velocity, second_extended), (second.outer_velocity, second_extended)]


def _dots(pairs):
    """``[v . rho for v, rho in pairs]`` as one batched reduction (one kernel, not one per dot)."""
    velocities, sums = zip(*pairs)
    return jnp.sum(jnp.stack(velocities) * jnp.stack(sums), axis=-1)


def is_turning_merged(first: Segment, second: Segment):
    """Stan's three U-turn checks for the union of two adjacent segments.

    With ``rho_A``, ``rho_B`` the momentum sums, the union is turning when
    any of these fails the criterion of
    :func:`~credo.mcmc.metrics.is_turning_velocities`:
    ``(v_A.outer, v_B.outer, rho_A + rho_B)``,
    ``(v_A.outer, v_B.inner, rho_A + p_B.inner)``,
    ``(v_A.inner, v_B.outer, p_A.inner + rho_B)``. Symmetric in the two
    segments, so it does not depend on the direction of integration.

    Returns
    -------
    Array, shape (), bool
    """
    return jnp.any(_dots(_merge_criteria(first, second)) <= 0)


def _pair_is_turning(checkpoints, row, velocity, momentum_sum):
    """Checks for the sibling pair whose halves start at the leaves stored in ``row``, ``row + 1``."""
    d = checkpoints.shape[-1]
    zero = jnp.zeros((), jnp.int32)
    start, mid = lax.dynamic_slice(checkpoints, (row, zero, zero), (2, 5, d))
    first = Segment(momentum_sum=mid[CK_SUM_BEFORE] - start[CK_SUM_BEFORE],
                    inner_momentum=mid[CK_PREV_MOMENTUM], inner_velocity=mid[CK_PREV_VELOCITY],
                    outer_velocity=start[CK_VELOCITY])
    second = Segment(momentum_sum=momentum_sum - mid[CK_SUM_BEFORE],
                     inner_momentum=mid[CK_MOMENTUM], inner_velocity=mid[CK_VELOCITY],
                     outer_velocity=velocity)
    return is_turning_merged(first, second)


def subtree_is_turning(checkpoints, leaf, velocity, momentum_sum, smallest: int = 1):
    """Whether any sibling pair completed by leaf ``leaf`` is turning.

    Call after :func:`record_leaf` for that leaf. The pairs are checked from
    the smallest to the largest, stopping at the first turning one; a leaf
    completes one pair on average, and none for even ``leaf``.

    Parameters
    ----------
    checkpoints : Array, shape (rows, 5, d)
    leaf : int array
        0-based index of the leaf within its subtree.
    velocity : Array, shape (d,)
        ``M^{-1} p`` of the leaf.
    momentum_sum : Array, shape (d,)
        Subtree momentum sum up to and including the leaf.
    smallest : int
        Check only pairs of ``2**smallest`` leaves or more (the NUTS loop
        checks the pair of two leaves, which needs no checkpoint, on its own).

    Returns
    -------
    Array, shape (), bool
    """
    top = checkpoint_index(leaf) - smallest
    bottom = checkpoint_index(leaf) - num_completed_subtrees(leaf)

    def cond(carry):
        row, turning = carry
        return (row >= bottom) & ~turning

    def body(carry):
        row, _ = carry
        return row - 1, _pair_is_turning(checkpoints, row, velocity, momentum_sum)

    _, turning = lax.while_loop(cond, body, (top, jnp.asarray(False)))
    return turning
