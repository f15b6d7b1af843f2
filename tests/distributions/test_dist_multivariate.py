"""MultivariateNormal, Dirichlet, Multinomial and LKJCholesky densities."""

import jax
import numpy as np
import pytest
import scipy.stats as st
from scipy.special import roots_legendre

from credo import distributions as dist

log_prob = jax.jit(lambda d, x: d.log_prob(x))


def _covariances():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 3, 3))
    cov = a @ np.swapaxes(a, -1, -2) + np.array([1e-2, 5.0])[:, None, None] * np.eye(3)
    return rng.normal(size=(2, 3)), cov


@pytest.mark.parametrize("param", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_mvn_parameterizations_match_scipy(param):
    loc, cov = _covariances()
    matrix = {"covariance_matrix": cov, "precision_matrix": np.linalg.inv(cov),
              "scale_tril": np.linalg.cholesky(cov)}[param]
    d = dist.MultivariateNormal(loc, **{param: matrix})
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    x = np.random.default_rng(1).normal(size=(4, 2, 3)) * 3
    expected = np.stack([st.multivariate_normal(loc[i], cov[i]).logpdf(x[:, i]) for i in range(2)], -1)
    np.testing.assert_allclose(log_prob(d, x), expected, rtol=1e-9)
    np.testing.assert_allclose(d.covariance_matrix, cov, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d.precision_matrix, np.linalg.inv(cov), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(d.variance, np.diagonal(cov, axis1=-2, axis2=-1), rtol=1e-9)


def test_mvn_broadcasts_scalar_loc_and_shared_matrix():
    _, cov = _covariances()
    d = dist.MultivariateNormal(0.0, covariance_matrix=cov[0])
    assert d.batch_shape == () and d.event_shape == (3,)
    d2 = dist.MultivariateNormal(np.zeros((5, 3)), scale_tril=np.linalg.cholesky(cov[0]))
    assert d2.batch_shape == (5,)
    x = np.ones(3)
    np.testing.assert_allclose(d2.log_prob(x), np.full(5, st.multivariate_normal(np.zeros(3), cov[0]).logpdf(x)))


def test_mvn_requires_exactly_one_matrix():
    with pytest.raises(ValueError, match="exactly one"):
        dist.MultivariateNormal(np.zeros(2))
    with pytest.raises(ValueError, match="exactly one"):
        dist.MultivariateNormal(np.zeros(2), covariance_matrix=np.eye(2), scale_tril=np.eye(2))


@pytest.mark.parametrize("alpha", [[0.5, 1.0, 2.0], [1e-3, 1e-3, 1e-3], [1e4, 1.0, 1e6], [1.0, 1.0]])
def test_dirichlet_matches_scipy(alpha):
    alpha = np.array(alpha)
    x = st.dirichlet(np.ones_like(alpha)).rvs(size=6, random_state=3)
    expected = np.array([st.dirichlet(alpha).logpdf(v) for v in x])
    np.testing.assert_allclose(log_prob(dist.Dirichlet(alpha), x), expected, rtol=1e-9)


def test_dirichlet_out_of_support_and_batching():
    d = dist.Dirichlet(np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]))
    assert d.batch_shape == (2,) and d.event_shape == (3,)
    bad = np.array([[0.5, 0.6, -0.1], [0.2, 0.2, 0.2]])
    assert np.all(np.asarray(d.log_prob(bad)) == -np.inf)


@pytest.mark.parametrize("n, p", [(10, [0.2, 0.3, 0.5]), (1e6, [1e-6, 0.5, 0.5 - 1e-6]),
                                  (3, [0.0, 1.0, 0.0])])
def test_multinomial_matches_scipy(n, p):
    p = np.array(p)
    x = st.multinomial(n, np.array([0.3, 0.3, 0.4])).rvs(size=5, random_state=4).astype(float)
    x = np.concatenate([x, [[n, 0, 0], [0, n, 0]]])
    expected = st.multinomial(n, p).logpmf(x)
    for d in (dist.Multinomial(n, probs=p), dist.Multinomial(n, logits=np.log(p) - 2.0)):
        np.testing.assert_allclose(log_prob(d, x), expected, rtol=1e-9, atol=1e-9)


def test_multinomial_out_of_support():
    d = dist.Multinomial(4, probs=np.array([0.5, 0.5]))
    lp = np.asarray(d.log_prob(np.array([[1.0, 2.0], [5.0, -1.0], [1.5, 2.5]])))
    assert np.all(lp == -np.inf)


def _chol2(r):
    r = np.asarray(r)
    out = np.zeros(r.shape + (2, 2))
    out[..., 0, 0] = 1
    out[..., 1, 0] = r
    out[..., 1, 1] = np.sqrt(1 - r**2)
    return out


@pytest.mark.parametrize("eta", [0.3, 1.0, 2.5, 50.0])
def test_lkj_dimension_two_is_a_scaled_beta(eta):
    # the single correlation r of an LKJ(eta) 2x2 matrix is 2 Beta(eta, eta) - 1; L[1, 0] = r
    r = np.linspace(-0.99, 0.99, 13)
    expected = st.beta(eta, eta).logpdf((r + 1) / 2) - np.log(2)
    np.testing.assert_allclose(log_prob(dist.LKJCholesky(2, eta), _chol2(r)), expected, rtol=1e-9)


@pytest.mark.parametrize("eta", [1.0, 2.5, 3.0])
def test_lkj_dimension_three_integrates_to_one(eta):
    # Integrate over the partial correlations z = sin(theta): L10 = z0, L20 = z1,
    # L21 = z2 sqrt(1 - z1^2); d(L10, L20, L21) = cos(t0) cos(t1)^2 cos(t2) dt.
    nodes, weights = roots_legendre(40)
    t = nodes * np.pi / 2
    w = weights * np.pi / 2
    t0, t1, t2 = np.meshgrid(t, t, t, indexing="ij")
    z0, z1, z2 = np.sin(t0), np.sin(t1), np.sin(t2)
    chol = np.zeros(t0.shape + (3, 3))
    chol[..., 0, 0] = 1
    chol[..., 1, 0], chol[..., 1, 1] = z0, np.cos(t0)
    chol[..., 2, 0], chol[..., 2, 1] = z1, z2 * np.cos(t1)
    chol[..., 2, 2] = np.cos(t1) * np.cos(t2)
    density = np.exp(np.asarray(log_prob(dist.LKJCholesky(3, eta), chol)))
    jac = np.cos(t0) * np.cos(t1) ** 2 * np.cos(t2)
    total = np.einsum("ijk,i,j,k->", density * jac, w, w, w)
    np.testing.assert_allclose(total, 1.0, rtol=1e-8)


def test_lkj_uniform_normalizer_and_batch():
    # for eta = 1 in dimension 3 the density of the correlation matrix is 1 / (pi^2 / 2)
    d = dist.LKJCholesky(3, np.array([1.0, 2.0]))
    assert d.batch_shape == (2,) and d.event_shape == (3, 3)
    eye = np.eye(3)
    np.testing.assert_allclose(d.log_prob(eye)[0], -np.log(np.pi**2 / 2), rtol=1e-12)
    not_corr = 2 * np.eye(3)
    assert np.all(np.asarray(d.log_prob(not_corr)) == -np.inf)
