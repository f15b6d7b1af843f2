"""Plain-Python references for testing the NUTS pieces.

* :func:`recursive_first_turn`: the leaf at which Stan's recursive subtree
  builder first finds a U-turn in a given sequence of momenta.
* :func:`recursive_trajectory`: Stan's recursive NUTS trajectory (the
  deterministic part: steps, depth, why it stopped, ends, acceptance
  statistic) for given doubling directions, leapfrog by leapfrog.
* :func:`batch_means_mcse` and :func:`assert_moments`: Monte Carlo standard
  errors from batch means, for checks within a few MCSE.

Stan's ``base_nuts.hpp`` is the model, with the extra checks of Stan >= 2.21
between sibling subtrees, the trajectory-level ones using the actual boundary
states of the two merged parts.
"""

from __future__ import annotations

import numpy as np


def _turning(v_a, v_b, rho):
    return float(np.dot(v_a, rho)) <= 0 or float(np.dot(v_b, rho)) <= 0


def _merge_turning(first, second):
    """Stan's three checks; each part is ``(rho, p_inner, v_inner, v_outer)``."""
    rho_a, p_a_in, v_a_in, v_a_out = first
    rho_b, p_b_in, v_b_in, v_b_out = second
    return (_turning(v_a_out, v_b_out, rho_a + rho_b)
            or _turning(v_a_out, v_b_in, rho_a + p_b_in)
            or _turning(v_a_in, v_b_out, p_a_in + rho_b))


def recursive_first_turn(momenta, velocities=None):
    """First leaf (0-based) completing a turning sibling pair in a subtree of ``len(momenta)`` leaves.

    ``len(momenta)`` must be a power of two; ``None`` if no pair turns.
    Velocities default to the momenta (identity metric).
    """
    momenta = [np.asarray(p, float) for p in momenta]
    velocities = momenta if velocities is None else [np.asarray(v, float) for v in velocities]

    def build(lo, hi):
        """Returns (first turning leaf or None, rho) for leaves [lo, hi)."""
        if hi - lo == 1:
            return None, momenta[lo]
        mid = (lo + hi) // 2
        first, rho_a = build(lo, mid)
        if first is not None:
            return first, None
        first, rho_b = build(mid, hi)
        if first is not None:
            return first, None
        turning = _merge_turning((rho_a, momenta[mid - 1], velocities[mid - 1], velocities[lo]),
                                 (rho_b, momenta[mid], velocities[mid], velocities[hi - 1]))
        return (hi - 1 if turning else None), rho_a + rho_b

    return build(0, len(momenta))[0]


class _Point:
    def __init__(self, state, velocity):
        self.state, self.v = state, np.asarray(velocity)
        self.p = np.asarray(state.momentum)


def recursive_trajectory(leapfrog, initial, step_size, directions, max_tree_depth,
                         divergence_threshold=1000.0):
    """Stan's recursive NUTS trajectory for the given doubling directions.

    ``leapfrog(state, signed_step_size) -> (state, velocity, energy)`` makes
    one step (states are :class:`~credo.mcmc.integrators.IntegratorState`);
    ``initial`` is ``(state, velocity, energy)`` of the starting point.
    Returns a dict with ``num_steps``, ``depth``, ``num_expansions``,
    ``is_turning``, ``is_diverging``, ``acceptance_rate``, ``leftmost`` and
    ``rightmost`` positions.
    """
    state0, velocity0, h0 = initial
    h0 = float(h0)
    stats = {"steps": 0, "accept": 0.0, "divergent": False}

    def leaf(state, sign):
        state, velocity, energy = leapfrog(state, sign * step_size)
        stats["steps"] += 1
        delta = float(energy) - h0
        if np.isnan(delta):
            delta = np.inf
        stats["accept"] += min(1.0, float(np.exp(-delta)))
        if delta > divergence_threshold:
            stats["divergent"] = True
        return _Point(state, velocity)

    def build(start, depth, sign):
        """Returns (valid, end point, rho, first point, last point)."""
        if depth == 0:
            point = leaf(start.state, sign)
            return not stats["divergent"], point, point.p, point, point
        ok, end, rho_a, first_a, last_a = build(start, depth - 1, sign)
        if not ok:
            return False, end, None, None, None
        ok, end, rho_b, first_b, last_b = build(end, depth - 1, sign)
        if not ok:
            return False, end, None, None, None
        turning = _merge_turning((rho_a, last_a.p, last_a.v, first_a.v),
                                 (rho_b, first_b.p, first_b.v, last_b.v))
        return not turning, end, rho_a + rho_b, first_a, last_b

    start = _Point(state0, velocity0)
    left = right = start
    rho = start.p
    depth, turning, failed = 0, False, False
    for k in range(max_tree_depth):
        go_right = bool(directions[k])
        near, far = (right, left) if go_right else (left, right)
        ok, end, rho_s, first, last = build(near, k, 1.0 if go_right else -1.0)
        if not ok:
            turning, failed = not stats["divergent"], True
            break
        depth += 1
        merged_turning = _merge_turning((rho, near.p, near.v, far.v), (rho_s, first.p, first.v, last.v))
        rho = rho + rho_s
        if go_right:
            right = last
        else:
            left = last
        if merged_turning:
            turning = True
            break
    return {"num_steps": stats["steps"], "depth": depth, "num_expansions": depth + failed,
            "is_turning": turning, "is_diverging": stats["divergent"],
            "acceptance_rate": stats["accept"] / stats["steps"],
            "leftmost": np.asarray(left.state.position), "rightmost": np.asarray(right.state.position)}


def batch_means_mcse(x, num_batches=40):
    """MCSE of the mean of each column of ``x`` (chains, draws, ...) from batch means.

    Each chain is cut into ``num_batches`` consecutive batches; the standard
    deviation of the pooled batch means over ``sqrt(total batches)`` is the
    standard error of the grand mean.
    """
    x = np.asarray(x, float)
    chains, draws = x.shape[:2]
    size = draws // num_batches
    means = x[:, :size * num_batches].reshape(chains, num_batches, size, *x.shape[2:]).mean(2)
    means = means.reshape(chains * num_batches, *x.shape[2:])
    return means.std(axis=0, ddof=1) / np.sqrt(chains * num_batches)


def assert_moments(draws, mean, var, z=4.0):
    """Per coordinate, mean and variance within ``z`` MCSE of the truth.

    ``draws`` has shape (chains, draws, d); the MCSE of the variance is that
    of the mean of ``(x - mean_hat)**2``.
    """
    draws = np.asarray(draws, float)
    flat = draws.reshape(-1, draws.shape[-1])
    mean_hat = flat.mean(0)
    sq = (draws - mean_hat) ** 2
    var_hat = sq.reshape(-1, draws.shape[-1]).mean(0)
    mean_err = np.abs(mean_hat - mean) / batch_means_mcse(draws)
    var_err = np.abs(var_hat - var) / batch_means_mcse(sq)
    assert np.all(mean_err < z), f"mean errors (in MCSE): {mean_err}"
    assert np.all(var_err < z), f"variance errors (in MCSE): {var_err}"
