"""Variational families: densities against scipy, closed forms, draws, flows' Jacobians."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from credo.vi.families import FactoredGaussian, FullRank, LowRank, MeanField, Mixture
from credo.vi.flows import Flow, rational_quadratic_spline
from credo.vi.pathfinder import _History, lbfgs_inverse_hessian

D = 3
LOC = np.array([0.5, -1.0, 2.0])
TRIL = np.array([[1.2, 0.0, 0.0], [0.4, 0.7, 0.0], [-0.3, 0.5, 0.9]])
FACTOR = np.array([[0.8, 0.1], [-0.5, 0.3], [0.2, -0.6]])
DIAG = np.array([0.5, 0.9, 0.4])


def _lowrank_cov():
    return FACTOR @ FACTOR.T + np.diag(DIAG**2)


def _factored():
    # alpha, beta, gamma with a positive definite diag(alpha) + beta gamma beta^T
    alpha = np.array([0.7, 1.3, 0.9])
    beta = np.array([[1.0, 0.2], [0.3, -0.4], [0.0, 0.8]])
    gamma = np.array([[0.5, 0.1], [0.1, 0.3]])
    return FactoredGaussian.from_factors(jnp.asarray(LOC), jnp.asarray(alpha), jnp.asarray(beta),
                                         jnp.asarray(gamma)), np.diag(alpha) + beta @ gamma @ beta.T


def gaussians():
    """(family, covariance) pairs with mean LOC."""
    yield MeanField(jnp.asarray(LOC), jnp.asarray(DIAG)), np.diag(DIAG**2)
    yield FullRank(jnp.asarray(LOC), jnp.asarray(TRIL)), TRIL @ TRIL.T
    yield LowRank(jnp.asarray(LOC), jnp.asarray(FACTOR), jnp.asarray(DIAG)), _lowrank_cov()
    yield _factored()


@pytest.mark.parametrize("q, cov", list(gaussians()), ids=["meanfield", "fullrank", "lowrank",
                                                           "factored"])
class TestGaussians:
    def test_log_prob_matches_scipy(self, q, cov):
        x = np.random.default_rng(0).normal(size=(7, D)) * 2
        expected = stats.multivariate_normal(LOC, cov).logpdf(x)
        np.testing.assert_allclose(q.log_prob(jnp.asarray(x)), expected, rtol=1e-10, atol=1e-10)
        # batch shapes: a single point and a (2, 7, D) stack
        np.testing.assert_allclose(q.log_prob(jnp.asarray(x[0])), expected[0], rtol=1e-10)
        assert q.log_prob(jnp.asarray(np.stack([x, x]))).shape == (2, 7)

    def test_closed_forms(self, q, cov):
        np.testing.assert_allclose(q.entropy(), stats.multivariate_normal(LOC, cov).entropy(),
                                   rtol=1e-10)
        np.testing.assert_allclose(q.covariance(), cov, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(q.mean, LOC)
        assert q.dim == D

    def test_sample_moments_within_mc_error(self, q, cov):
        n = 20000
        x = np.asarray(q.sample(jax.random.PRNGKey(1), n))
        assert x.shape == (n, D)
        se = np.sqrt(np.diag(cov) / n)
        assert np.all(np.abs(x.mean(0) - LOC) < 4 * se)
        # covariance entries: se of a sample covariance is about sqrt((s_ii s_jj + s_ij^2) / n)
        emp = np.cov(x.T)
        se_cov = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / n)
        assert np.all(np.abs(emp - cov) < 4 * se_cov)

    def test_sample_and_log_prob_agree(self, q, cov):
        x, lq = q.sample_and_log_prob(jax.random.PRNGKey(2), 5)
        np.testing.assert_allclose(lq, q.log_prob(x), rtol=1e-10)


def test_positive_scales_stay_positive_under_any_parameters():
    q = MeanField(jnp.zeros(2), jnp.ones(2))
    q = eqx.tree_at(lambda m: m.raw_scale, q, jnp.array([-50.0, 30.0]))
    assert np.all(np.asarray(q.scale) > 0)
    f = FullRank(jnp.zeros(2))
    f = eqx.tree_at(lambda m: m.raw_tril, f, jnp.array([[-40.0, 3.0], [2.0, -1.0]]))
    tril = np.asarray(f.scale_tril)
    assert np.all(np.diag(tril) > 0) and tril[0, 1] == 0


def test_mixture_density_and_stratified_draws():
    comps = [MeanField(jnp.array([-2.0, 0.0]), jnp.array([0.5, 1.0])),
             MeanField(jnp.array([3.0, 1.0]), jnp.array([1.0, 0.3]))]
    mix = Mixture.stack(comps)
    x = jnp.asarray(np.random.default_rng(3).normal(size=(6, 2)))
    expected = np.logaddexp(comps[0].log_prob(x), comps[1].log_prob(x)) - np.log(2)
    np.testing.assert_allclose(mix.log_prob(x), expected, rtol=1e-10)
    draws = np.asarray(mix.sample(jax.random.PRNGKey(0), 11))
    assert draws.shape == (11, 2)
    assert np.sum(draws[:, 0] < 0.5) == 6  # stratified: 6 from the first, 5 from the second
    np.testing.assert_allclose(mix.mean, [0.5, 0.5])


def test_lbfgs_inverse_hessian_matches_the_bfgs_recursion():
    """The compact form equals J inverse-BFGS updates of diag(alpha), with empty slots ignored."""
    rng = np.random.default_rng(4)
    d, size = 5, 4
    a = rng.normal(size=(d, d))
    hess = a @ a.T + d * np.eye(d)
    s = rng.normal(size=(3, d))
    y = s @ hess  # curvature pairs of a quadratic
    alpha = rng.uniform(0.5, 2.0, d)
    hist = _History(jnp.asarray(np.vstack([np.zeros((1, d)), s])),
                    jnp.asarray(np.vstack([np.zeros((1, d)), y])),
                    jnp.asarray([0.0, 1.0, 1.0, 1.0]), jnp.asarray(alpha))
    al, beta, gamma = lbfgs_inverse_hessian(hist)
    assert beta.shape == (d, 2 * size) and gamma.shape == (2 * size, 2 * size)
    h = np.diag(alpha)
    for si, yi in zip(s, y):
        rho = 1.0 / (yi @ si)
        v = np.eye(d) - rho * np.outer(yi, si)
        h = v.T @ h @ v + rho * np.outer(si, si)
    np.testing.assert_allclose(np.diag(al) + beta @ gamma @ beta.T, h, rtol=1e-9, atol=1e-12)


# -- flows ------------------------------------------------------------------------------------
def _perturbed(flow, scale=0.5):
    """Move every parameter off its identity initialisation (numpy noise: cheap to run)."""
    rng = np.random.default_rng(0)
    params, static = eqx.partition(flow, eqx.is_inexact_array)
    params = jax.tree.map(lambda x: jnp.asarray(np.asarray(x) + scale * rng.normal(size=x.shape)),
                          params)
    return eqx.combine(params, static)


@pytest.mark.parametrize("dim, coupling", [(1, "spline"), (3, "affine")])
def test_flow_is_invertible_and_log_det_matches_jacobian(dim, coupling):
    flow = _perturbed(Flow.realnvp(dim, jax.random.PRNGKey(1), depth=2, hidden=8,
                                   coupling=coupling, loc=jnp.arange(dim) * 0.5,
                                   scale_tril=jnp.full(dim, 1.5)))
    z = 2.0 * jax.random.normal(jax.random.PRNGKey(2), (6, dim))

    @eqx.filter_jit
    def check(flow, z):
        x, log_det = flow.forward(z)
        z_back, inv_log_det = flow.inverse(x)
        jac = jax.vmap(jax.jacfwd(lambda v: flow.forward(v[None])[0][0]))(z)
        return log_det, z_back, inv_log_det, jac

    log_det, z_back, inv_log_det, jac = check(flow, z)
    np.testing.assert_allclose(z_back, z, atol=1e-9)
    np.testing.assert_allclose(inv_log_det, -log_det, atol=1e-9)
    np.testing.assert_allclose(log_det, jnp.linalg.slogdet(jac)[1], atol=1e-9)


def test_flow_starts_at_its_gaussian():
    flow = Flow.realnvp(2, jax.random.PRNGKey(0), loc=jnp.array([1.0, -1.0]),
                        scale_tril=jnp.array([2.0, 0.5]))
    x = jnp.asarray(np.random.default_rng(0).normal(size=(5, 2)))
    expected = stats.multivariate_normal([1.0, -1.0], np.diag([4.0, 0.25])).logpdf(x)
    np.testing.assert_allclose(eqx.filter_jit(lambda f, v: f.log_prob(v))(flow, x), expected,
                               rtol=1e-10)


def test_spline_is_monotone_identity_outside_and_inverts():
    rng = np.random.default_rng(5)
    w, h, d = (jnp.asarray(rng.normal(size=k)) for k in (8, 8, 7))
    x = jnp.linspace(-7.0, 7.0, 301)
    spline = jax.jit(rational_quadratic_spline, static_argnames=("bound", "inverse"))
    y, log_det = spline(x, w, h, d, bound=5.0)
    assert np.all(np.diff(np.asarray(y)) > 0)
    outside = np.abs(np.asarray(x)) >= 5
    np.testing.assert_allclose(np.asarray(y)[outside], np.asarray(x)[outside])
    np.testing.assert_allclose(np.asarray(log_det)[outside], 0.0)
    back, inv = spline(y, w, h, d, bound=5.0, inverse=True)
    np.testing.assert_allclose(back, x, atol=1e-9)
    np.testing.assert_allclose(inv, -log_det, atol=1e-9)
