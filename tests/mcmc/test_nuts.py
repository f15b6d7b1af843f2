"""NUTS: invariance on Gaussians, divergences on Neal's funnel, tree depth cap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from credo.mcmc import hmc, nuts
from tests.mcmc.nuts_reference import assert_moments
from tests.mcmc.samplers import (
    ar1_covariance,
    gaussian,
    gaussian_or_funnel,
    gaussian_params,
    per_chain,
    run_chains,
    switch_params,
)

CHAINS, DRAWS = 4, 1000


def _gaussian_10d(cov, step_size, imm, seed):
    x0 = jax.random.normal(jax.random.PRNGKey(seed), (CHAINS, 10))
    return run_chains(jax.random.PRNGKey(seed + 1), x0, switch_params(cov),
                      per_chain(step_size, CHAINS), per_chain(imm, CHAINS),
                      target=gaussian_or_funnel, num_draws=DRAWS)


@pytest.mark.parametrize("case", ["standard", "correlated", "large-step"])
def test_gaussian_10d(case):
    if case == "correlated":
        cov = ar1_covariance(10, 0.7, scales=np.linspace(0.5, 3.0, 10))
        step_size, imm = 0.25, np.diag(cov)
    else:
        cov, imm = np.eye(10), np.ones(10)
        # a step size far above the adapted one stresses the multinomial weights
        step_size = 1.3 if case == "large-step" else 0.6
    draws, info = _gaussian_10d(cov, step_size, imm, seed={"standard": 0, "correlated": 10,
                                                           "large-step": 20}[case])
    assert_moments(draws, np.zeros(10), np.diag(cov))
    accept = float(info.acceptance_rate.mean())
    assert (0.3 < accept < 0.8) if case == "large-step" else accept > 0.8
    assert not bool(info.is_divergent.any())
    depth, steps = np.asarray(info.tree_depth), np.asarray(info.num_integration_steps)
    # a trajectory of depth k has 2**k - 1 steps, plus those of a rejected last subtree
    assert np.all(steps >= 2 ** depth - 1) and np.all(steps <= 2 ** (depth + 1) - 1)
    assert np.all(np.asarray(info.is_turning))


def test_correlated_2d_with_dense_metric():
    cov = ar1_covariance(2, 0.95, scales=[1.0, 3.0])
    x0 = jax.random.normal(jax.random.PRNGKey(5), (CHAINS, 2))
    draws, info = run_chains(jax.random.PRNGKey(6), x0, gaussian_params(cov),
                             per_chain(0.9, CHAINS), per_chain(jnp.asarray(cov), CHAINS),
                             target=gaussian, num_draws=DRAWS)
    assert_moments(draws, np.zeros(2), np.diag(cov))
    np.testing.assert_allclose(np.corrcoef(np.asarray(draws).reshape(-1, 2).T)[0, 1], 0.95,
                               atol=0.01)
    assert 0.7 < float(info.acceptance_rate.mean()) < 1.0


def test_funnel_reports_divergences():
    x0 = jnp.concatenate([jnp.full((CHAINS, 1), -1.0),
                          0.3 * jax.random.normal(jax.random.PRNGKey(7), (CHAINS, 9))], axis=1)
    draws, info = run_chains(jax.random.PRNGKey(8), x0, switch_params(None),
                             per_chain(0.5, CHAINS), per_chain(jnp.ones(10), CHAINS),
                             target=gaussian_or_funnel, num_draws=DRAWS)
    divergent = np.asarray(info.is_divergent)
    assert 0 < divergent.mean() < 0.5
    assert np.all(np.isfinite(np.asarray(draws)))
    # The funnel's curvature, not the step size alone, makes them: the same step on a
    # standard Gaussian of the same dimension (the same compiled program) has none.
    # (Where they happen varies: a trajectory from the wide mouth diverges too when it
    # dives toward the neck, where the force on v grows like exp(-v).)
    _, gauss_info = run_chains(jax.random.PRNGKey(8), x0, switch_params(np.eye(10)),
                               per_chain(0.5, CHAINS), per_chain(jnp.ones(10), CHAINS),
                               target=gaussian_or_funnel, num_draws=DRAWS)
    assert not np.asarray(gauss_info.is_divergent).any()


def test_tree_depth_is_capped():
    kernel = jax.jit(nuts.build_kernel(), static_argnums=(2,), static_argnames=("max_tree_depth",))
    logdensity = lambda x: -0.5 * jnp.sum(x ** 2)  # noqa: E731
    state = hmc.init(jnp.ones(3), logdensity)
    # a tiny step size would need thousands of steps to make a U-turn
    new, info = kernel(jax.random.PRNGKey(0), state, logdensity, 1e-3, jnp.ones(3),
                       max_tree_depth=4)
    assert int(info.tree_depth) == 4
    assert int(info.num_integration_steps) == 15
    assert int(info.num_trajectory_expansions) == 4
    assert not bool(info.is_turning) and not bool(info.is_divergent)
    assert float(info.acceptance_rate) > 0.999
    left, right = info.trajectory_leftmost_state, info.trajectory_rightmost_state
    # 15 steps of 1e-3 in all, forward and backward: the ends are 0.015 time units apart
    np.testing.assert_allclose(right.position - left.position, 15e-3 * info.momentum, atol=1e-3)
    assert new.position.shape == (3,)
    with pytest.raises(ValueError, match="max_tree_depth"):
        kernel(jax.random.PRNGKey(0), state, logdensity, 0.1, jnp.ones(3), max_tree_depth=0)


@pytest.mark.parametrize("dense", [False, True])
def test_transition_one_step_at_a_time_equals_the_kernel(dense):
    # transition_init / transition_step / transition_finish are the kernel cut
    # into its leapfrog steps (what the runner interleaves across chains)
    cov = jnp.array([[1.0, 0.6, 0.0], [0.6, 2.0, 0.3], [0.0, 0.3, 0.5]])
    precision = jnp.linalg.inv(cov)

    def logdensity(x):
        return -0.5 * x @ precision @ x

    imm = cov if dense else jnp.diag(cov)
    state = hmc.init(jnp.array([0.3, -1.0, 0.5]), logdensity)
    kernel = nuts.build_kernel()

    def by_steps(key):
        noise = nuts.transition_noise(key, state.position)
        transition = nuts.transition_init(noise, state, 0.4, imm, max_tree_depth=6)
        transition = jax.lax.while_loop(
            lambda t: ~nuts.transition_done(t),
            lambda t: nuts.transition_step(t, logdensity, imm, max_tree_depth=6), transition)
        return nuts.transition_finish(transition)

    for seed in range(5):
        key = jax.random.PRNGKey(seed)
        expected_state, expected_info = jax.jit(
            lambda k: kernel(k, state, logdensity, 0.4, imm, max_tree_depth=6))(key)
        got_state, got_info = jax.jit(by_steps)(key)
        assert int(got_info.num_integration_steps) == int(expected_info.num_integration_steps)
        assert int(got_info.tree_depth) == int(expected_info.tree_depth)
        np.testing.assert_allclose(got_state.position, expected_state.position, rtol=1e-5)
        np.testing.assert_allclose(got_info.momentum, expected_info.momentum, rtol=1e-5)
        np.testing.assert_allclose(got_info.acceptance_rate, expected_info.acceptance_rate,
                                   rtol=1e-5)
