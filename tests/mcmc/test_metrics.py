"""Gaussian Euclidean metrics: kinetic energy, velocity, momentum law, U-turn criterion."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from credo.mcmc.metrics import Metric, as_metric, gaussian_euclidean, is_turning_velocities

DENSE = np.array([[2.0, 0.6, 0.1], [0.6, 1.0, -0.3], [0.1, -0.3, 0.5]])
DIAG = np.array([2.0, 0.5, 0.1])


@pytest.mark.parametrize("imm", [DIAG, DENSE], ids=["diag", "dense"])
def test_kinetic_energy_and_gradient(imm):
    metric = gaussian_euclidean(jnp.asarray(imm))
    matrix = np.diag(imm) if imm.ndim == 1 else imm
    p = jnp.array([0.3, -1.2, 0.7])
    np.testing.assert_allclose(metric.kinetic_energy(p), 0.5 * p @ matrix @ p, rtol=1e-12)
    np.testing.assert_allclose(metric.kinetic_energy_grad(p), matrix @ p, rtol=1e-12)
    np.testing.assert_allclose(metric.kinetic_energy_grad(p), jax.grad(metric.kinetic_energy)(p),
                               rtol=1e-12)


@pytest.mark.parametrize("imm", [DIAG, DENSE], ids=["diag", "dense"])
def test_momentum_covariance_is_the_mass_matrix(imm):
    metric = gaussian_euclidean(jnp.asarray(imm))
    keys = jax.random.split(jax.random.PRNGKey(0), 200_000)
    p = jax.vmap(lambda k: metric.sample_momentum(k, jnp.zeros(3)))(keys)
    assert p.shape == (200_000, 3) and p.dtype == jnp.float64
    mass = np.linalg.inv(np.diag(imm) if imm.ndim == 1 else imm)
    cov = np.cov(np.asarray(p).T)
    # sd of a sample covariance entry: sqrt((M_ii M_jj + M_ij^2) / n)
    sd = np.sqrt((np.outer(np.diag(mass), np.diag(mass)) + mass ** 2) / p.shape[0])
    assert np.all(np.abs(cov - mass) < 4 * sd)
    assert np.all(np.abs(np.asarray(p).mean(0)) < 4 * np.sqrt(np.diag(mass) / p.shape[0]))


def test_precomputed_cholesky_and_metric_passthrough():
    chol = np.linalg.cholesky(DENSE)
    key = jax.random.PRNGKey(1)
    a = gaussian_euclidean(jnp.asarray(DENSE)).sample_momentum(key, jnp.zeros(3))
    b = gaussian_euclidean(jnp.asarray(DENSE), cholesky=jnp.asarray(chol)).sample_momentum(
        key, jnp.zeros(3))
    np.testing.assert_allclose(a, b, rtol=1e-12)
    metric = gaussian_euclidean(jnp.asarray(DIAG))
    assert as_metric(metric) is metric
    assert isinstance(as_metric(jnp.asarray(DIAG)), Metric)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        gaussian_euclidean(jnp.ones((2, 2, 2)))


def test_metric_works_in_float32():
    metric = gaussian_euclidean(jnp.ones(2, jnp.float32))
    p = metric.sample_momentum(jax.random.PRNGKey(0), jnp.zeros(2, jnp.float32))
    assert p.dtype == jnp.float32


def test_u_turn_criterion_on_hand_built_momenta():
    right = jnp.array([1.0, 0.0])
    # going straight: not turning
    assert not is_turning_velocities(right, right, 5 * right)
    # the right end has come back against the summed momentum: turning
    assert is_turning_velocities(right, jnp.array([-1.0, 0.2]), jnp.array([0.5, 0.3]))
    # the left end points against the sum: turning (the criterion is symmetric)
    assert is_turning_velocities(jnp.array([-1.0, 0.0]), right, jnp.array([0.5, 0.0]))
    # orthogonal counts as turning (Stan continues only while both dots are > 0)
    assert is_turning_velocities(right, jnp.array([0.0, 1.0]), jnp.array([0.0, 1.0]))
    # the metric decides through the velocities M^-1 p: the same momenta turn or not
    p_left, p_right, p_sum = jnp.array([1.0, 0.0]), jnp.array([0.3, 1.0]), jnp.array([1.0, -0.2])
    assert not gaussian_euclidean(jnp.array([1.0, 1.0])).is_turning(p_left, p_right, p_sum)
    assert gaussian_euclidean(jnp.array([1.0, 10.0])).is_turning(p_left, p_right, p_sum)
