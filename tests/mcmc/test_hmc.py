"""Static HMC: invariance on Gaussians, Metropolis correction, divergences."""

import jax
import jax.numpy as jnp
import numpy as np

from credo.mcmc import hmc
from tests.mcmc.nuts_reference import assert_moments
from tests.mcmc.samplers import ar1_covariance, gaussian, gaussian_params, per_chain, run_chains

CHAINS, DRAWS = 4, 1500


def test_init_caches_logdensity_and_gradient():
    state = hmc.init(jnp.array([1.0, -2.0]), lambda x: -0.5 * jnp.sum(x ** 2))
    np.testing.assert_allclose(state.logdensity, -2.5)
    np.testing.assert_allclose(state.logdensity_grad, [-1.0, 2.0])


def test_standard_normal():
    # (2-D with a dense identity metric: it shares its compilation with the test below)
    x0 = jax.random.normal(jax.random.PRNGKey(1), (CHAINS, 2))
    draws, info = run_chains(jax.random.PRNGKey(2), x0, gaussian_params(np.eye(2)),
                             per_chain(0.15, CHAINS), per_chain(jnp.eye(2), CHAINS),
                             target=gaussian, num_draws=DRAWS, algorithm="hmc", num_steps=10)
    assert_moments(draws, np.zeros(2), np.ones(2))
    assert 0.9 < float(info.acceptance_rate.mean()) <= 1.0
    assert float(info.is_accepted.mean()) > 0.9
    assert not bool(info.is_divergent.any())
    assert np.all(np.asarray(info.num_integration_steps) == 10)


def test_correlated_2d_with_dense_metric():
    cov = ar1_covariance(2, 0.95, scales=[1.0, 3.0])
    x0 = jax.random.normal(jax.random.PRNGKey(3), (CHAINS, 2))
    draws, info = run_chains(jax.random.PRNGKey(4), x0, gaussian_params(cov),
                             per_chain(0.15, CHAINS), per_chain(jnp.asarray(cov), CHAINS),
                             target=gaussian, num_draws=DRAWS, algorithm="hmc", num_steps=10)
    assert_moments(draws, np.zeros(2), np.diag(cov))
    np.testing.assert_allclose(np.corrcoef(np.asarray(draws).reshape(-1, 2).T)[0, 1], 0.95,
                               atol=0.01)


def test_divergent_transition_is_rejected_and_flagged():
    kernel = jax.jit(hmc.build_kernel(), static_argnums=(2,))
    logdensity = lambda x: -0.5 * jnp.sum(x ** 2)  # noqa: E731
    state = hmc.init(jnp.array([0.5, -0.5]), logdensity)
    # leapfrog is unstable for step sizes above 2 on a unit Gaussian
    new, info = kernel(jax.random.PRNGKey(0), state, logdensity, 5.0, jnp.ones(2), 20)
    assert bool(info.is_divergent) and not bool(info.is_accepted)
    assert float(info.acceptance_rate) == 0.0
    np.testing.assert_array_equal(new.position, state.position)
    # the number of steps may be traced
    steps = jax.jit(lambda n: kernel(jax.random.PRNGKey(1), state, logdensity, 0.1,
                                     jnp.ones(2), n)[1].num_integration_steps)
    assert int(steps(7)) == 7


def test_proposal_outside_the_support_is_rejected():
    def logdensity(x):  # half-normal on x > 0
        return jnp.where(x[0] > 0, -0.5 * x[0] ** 2, -jnp.inf)

    kernel = jax.jit(hmc.build_kernel(), static_argnums=(2,))
    state = hmc.init(jnp.array([0.05]), logdensity)
    accepted = []
    for seed in range(20):
        new, info = kernel(jax.random.PRNGKey(seed), state, logdensity, 0.5, jnp.ones(1), 4)
        assert np.isfinite(float(new.logdensity)) and float(new.position[0]) > 0
        accepted.append(bool(info.is_accepted))
    assert not all(accepted)
