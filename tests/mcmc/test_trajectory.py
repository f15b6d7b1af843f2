"""The iterative NUTS trajectory against Stan's recursive construction."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from credo.mcmc import integrators, metrics, trajectory
from credo.mcmc.trajectory import build_trajectory, transition_words
from credo.mcmc.uturn import (Segment, checkpoint_index, init_checkpoints, is_turning_merged,
                              num_completed_subtrees, record_leaf, subtree_is_turning)
from tests.mcmc.nuts_reference import recursive_first_turn, recursive_trajectory


def test_checkpoint_bookkeeping():
    leaves = jnp.arange(16)
    assert checkpoint_index(leaves).tolist() == [bin(n).count("1") for n in range(16)]
    trailing = [len(bin(n)) - len(bin(n).rstrip("1")) for n in range(16)]
    assert num_completed_subtrees(leaves).tolist() == trailing


@jax.jit
def _record_and_check(checkpoints, leaf, p, v, sum_before, prev_p, prev_v):
    checkpoints = record_leaf(checkpoints, leaf, p, v, sum_before, prev_p, prev_v)
    return checkpoints, subtree_is_turning(checkpoints, leaf, v, sum_before + p)


def _iterative_first_turn(momenta, velocities):
    d = momenta.shape[1]
    checkpoints = init_checkpoints(int(np.log2(len(momenta))) + 1, d, jnp.float64)
    total = prev_p = prev_v = np.zeros(d)
    for n, (p, v) in enumerate(zip(momenta, velocities)):
        checkpoints, turning = _record_and_check(checkpoints, n, p, v, total, prev_p, prev_v)
        if turning:
            return n
        total, prev_p, prev_v = total + p, p, v
    return None


def _rotating_momenta(num, rate, rng, d=3):
    """Momenta turning in a plane at ``rate`` radians per leaf, with noise (some U-turn late)."""
    angles = rate * np.arange(num) + 0.3 * rng.normal(size=num)
    p = np.zeros((num, d))
    p[:, 0], p[:, 1] = np.cos(angles), np.sin(angles)
    p[:, 2:] = 0.2 * rng.normal(size=(num, d - 2))
    return p


@pytest.mark.parametrize("rate", [0.02, 0.1, 0.3, 1.0])
def test_subtree_checks_match_recursive_stan(rate):
    rng = np.random.default_rng(int(rate * 100))
    scale = np.array([1.0, 0.5, 2.0])  # a diagonal metric: v = scale * p
    found = set()
    for _ in range(8):
        p = _rotating_momenta(64, rate, rng)
        v = scale * p
        expected = recursive_first_turn(p, v)
        assert _iterative_first_turn(p, v) == expected
        found.add(expected is None)
    if rate >= 0.1:
        assert False in found  # the cases exercise U-turns


def test_merge_checks_are_symmetric_and_catch_inner_turns():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = Segment(*rng.normal(size=(4, 3)))
        b = Segment(*rng.normal(size=(4, 3)))
        assert bool(is_turning_merged(a, b)) == bool(is_turning_merged(b, a))
    # straight motion: no U-turn
    one = np.array([1.0, 0.0])
    straight = Segment(3 * one, one, one, one)
    assert not is_turning_merged(straight, straight)
    # the union keeps going, but the second half starts by reversing the first half's
    # direction: only Stan's extra check "first + second's first state" catches it
    first = Segment(np.array([1.0, 0.0]), np.array([1.0, 0.0]), np.array([1.0, 0.0]),
                    np.array([1.0, 0.0]))
    second = Segment(np.array([2.0, 0.0]), np.array([-1.5, 0.0]), np.array([-1.5, 0.0]),
                     np.array([1.0, 0.0]))
    whole = first.momentum_sum + second.momentum_sum
    assert np.dot(first.outer_velocity, whole) > 0 and np.dot(second.outer_velocity, whole) > 0
    assert is_turning_merged(first, second)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_step_uniforms_are_uniform(dtype):
    seed = jnp.array([5, 7], jnp.uint32)
    u = jax.vmap(lambda i: jnp.stack(trajectory._step_uniforms(seed, i, dtype)))(jnp.arange(8192))
    assert u.dtype == dtype
    assert float(u.min()) >= 0.0 and float(u.max()) < 1.0
    np.testing.assert_allclose(np.asarray(u).mean(0), 0.5, atol=0.015)
    assert abs(np.corrcoef(np.asarray(u).T)[0, 1]) < 0.04


# -- whole trajectories ------------------------------------------------------------------------
def _gaussian_target(x):
    return -0.5 * x @ _PRECISION @ x


_COV = 0.8 ** np.abs(np.subtract.outer(np.arange(5), np.arange(5))) * np.outer(
    np.linspace(0.5, 2, 5), np.linspace(0.5, 2, 5))
_PRECISION = jnp.asarray(np.linalg.inv(_COV))


def _funnel(x):
    v, rest = x[0], x[1:]
    return -v ** 2 / 18.0 - 0.5 * jnp.sum(rest ** 2) * jnp.exp(-v) - 0.5 * rest.shape[0] * v


CASES = {
    # name: (logdensity, dim, inverse mass matrix, step size, max depth, x0)
    "gaussian-diag": (_gaussian_target, 5, np.linspace(0.5, 2, 5) ** 2, 0.3, 10, 0.5),
    "gaussian-dense": (_gaussian_target, 5, _COV, 0.5, 10, 0.5),
    "gaussian-large-step": (_gaussian_target, 5, np.ones(5), 1.1, 10, 0.5),
    "funnel": (_funnel, 6, np.ones(6), 0.8, 10, -2.0),
}


def _leapfrog(logdensity):
    """One step with its velocity and energy, jitted once per target: ``(z, eps, imm)``."""
    def leapfrog(z, eps, imm):
        metric = metrics.gaussian_euclidean(imm)
        z = integrators.velocity_verlet(logdensity, metric.kinetic_energy_grad)(z, eps)
        return (z, metric.kinetic_energy_grad(z.momentum),
                -z.logdensity + metric.kinetic_energy(z.momentum))
    return jax.jit(leapfrog)


def _run(logdensity, max_depth):
    def run(key, z, step_size, imm):
        metric = metrics.gaussian_euclidean(imm)
        step = integrators.velocity_verlet(logdensity, metric.kinetic_energy_grad)
        return build_trajectory(key, step, metric, z, step_size, max_depth)
    return jax.jit(run)


_LEAPFROGS = {f: _leapfrog(f) for f in (_gaussian_target, _funnel)}
_RUNS = {f: _run(f, 10) for f in (_gaussian_target, _funnel)}


@jax.jit(static_argnums=(0, 3))
def _initial_state(logdensity, imm, key, dim, x0):
    key_x, key_p = jax.random.split(key)
    position = jnp.full(dim, x0) + 0.3 * jax.random.normal(key_x, (dim,))
    value, grad = jax.value_and_grad(logdensity)(position)
    momentum = metrics.gaussian_euclidean(imm).sample_momentum(key_p, position)
    return integrators.IntegratorState(position, momentum, value, grad)


@pytest.mark.parametrize("name", sorted(CASES))
def test_trajectory_matches_recursive_stan(name):
    logdensity, dim, imm, step_size, max_depth, x0 = CASES[name]
    imm = jnp.asarray(imm)
    metric = metrics.gaussian_euclidean(imm)
    run, leapfrog = _RUNS[logdensity], _LEAPFROGS[logdensity]
    outcomes = set()
    for seed in range(8):
        key_p, key_t = jax.random.split(jax.random.PRNGKey(seed))
        z0 = _initial_state(logdensity, imm, key_p, dim, x0)
        directions = int(transition_words(key_t)[0])
        bits = [(directions >> k) & 1 for k in range(max_depth)]
        initial = (z0, metric.kinetic_energy_grad(z0.momentum),
                   -z0.logdensity + metric.kinetic_energy(z0.momentum))
        ref = recursive_trajectory(lambda z, eps: leapfrog(z, eps, imm), initial, step_size, bits,
                                   max_depth)
        got = run(key_t, z0, step_size, imm)
        assert int(got.num_steps) == ref["num_steps"]
        assert int(got.depth) == ref["depth"]
        assert bool(got.is_turning) == ref["is_turning"]
        assert bool(got.is_diverging) == ref["is_diverging"]
        assert int(got.num_expansions) == ref["num_expansions"]
        np.testing.assert_allclose(float(got.acceptance_rate), ref["acceptance_rate"], rtol=1e-9,
                                   atol=1e-12)
        np.testing.assert_allclose(got.leftmost.position, ref["leftmost"], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(got.rightmost.position, ref["rightmost"], rtol=1e-9, atol=1e-9)
        outcomes.add((ref["is_turning"], ref["is_diverging"], ref["depth"] == max_depth))
    if name == "funnel":
        assert any(div for _, div, _ in outcomes)
    if name.startswith("gaussian"):
        assert any(turn for turn, _, _ in outcomes)


def test_vmapped_trajectories_equal_single_ones():
    """Under vmap the loop runs in lockstep; finished chains must not move."""
    logdensity, dim, imm, step_size, _, x0 = CASES["funnel"]
    imm = jnp.asarray(imm)
    keys = jax.random.split(jax.random.PRNGKey(3), 8)
    states = [_initial_state(logdensity, imm, k, dim, x0) for k in keys]
    batch = jax.tree.map(lambda *a: jnp.stack(a), *states)
    run = _RUNS[logdensity]
    batched = jax.jit(jax.vmap(run, in_axes=(0, 0, None, None)))(keys, batch, step_size, imm)
    steps = []
    for i in range(8):
        ref = run(keys[i], states[i], step_size, imm)
        steps.append(int(ref.num_steps))
        for got, want in zip(jax.tree.leaves(jax.tree.map(lambda a: a[i], batched)),
                             jax.tree.leaves(ref)):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-10, atol=1e-12)
    assert len(set(steps)) > 1  # the chains did finish at different steps


def test_max_tree_depth_is_validated():
    metric = metrics.gaussian_euclidean(jnp.ones(2))
    step = integrators.velocity_verlet(lambda x: -0.5 * x @ x, metric.kinetic_energy_grad)
    z0 = integrators.IntegratorState(jnp.zeros(2), jnp.ones(2), jnp.zeros(()), jnp.zeros(2))
    for bad in (0, 31):
        with pytest.raises(ValueError, match="max_tree_depth"):
            build_trajectory(jax.random.PRNGKey(0), step, metric, z0, 0.1, bad)
