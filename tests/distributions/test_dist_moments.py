"""Sample moments against analytic ones, within 5 Monte Carlo standard errors.

Seeds are fixed, so these tests are deterministic; the 5-SE band keeps them
meaningful (a wrong sampler fails) without being brittle.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
from scipy.special import iv

from credo import distributions as dist

N = 20_000
KEY = jax.random.PRNGKey(20240601)
draw = lambda d, key: d.sample(key, (N,))  # noqa: E731


def assert_moments(x, mean, var, check_var=True):
    """Sample mean (and variance) of ``x`` (axis 0) within 5 standard errors of the truth."""
    x = np.asarray(x, dtype=float)
    se_mean = np.sqrt(var / len(x))
    assert np.all(np.abs(x.mean(0) - mean) <= 5 * se_mean), (x.mean(0), mean)
    if check_var:
        dev2 = (x - x.mean(0)) ** 2
        se_var = dev2.std(0) / np.sqrt(len(x))
        assert np.all(np.abs(dev2.mean(0) - var) <= 5 * se_var), (dev2.mean(0), var)


A = np.array
# name -> (distribution, scipy frozen distribution with the same parameters, check variance?)
CASES = {
    "Normal": lambda: (dist.Normal(A([0.0, 3.0]), A([1.0, 0.5])), st.norm(A([0.0, 3.0]), A([1.0, 0.5]))),
    "HalfNormal": lambda: (dist.HalfNormal(A([1.0, 2.5])), st.halfnorm(scale=A([1.0, 2.5]))),
    "StudentT": lambda: (dist.StudentT(A([6.0, 30.0]), A([1.0, -2.0]), A([2.0, 0.5])),
                         st.t(A([6.0, 30.0]), A([1.0, -2.0]), A([2.0, 0.5]))),
    "Laplace": lambda: (dist.Laplace(A([0.0, 2.0]), A([1.0, 3.0])), st.laplace(A([0.0, 2.0]), A([1.0, 3.0]))),
    "Logistic": lambda: (dist.Logistic(A([0.0, 2.0]), A([1.0, 0.3])), st.logistic(A([0.0, 2.0]), A([1.0, 0.3]))),
    "LogNormal": lambda: (dist.LogNormal(A([0.0, 1.0]), A([0.5, 0.25])),
                          st.lognorm(A([0.5, 0.25]), scale=np.exp(A([0.0, 1.0])))),
    "Exponential": lambda: (dist.Exponential(A([0.5, 4.0])), st.expon(scale=1 / A([0.5, 4.0]))),
    "Gamma": lambda: (dist.Gamma(A([0.5, 4.0]), A([1.0, 2.0])), st.gamma(A([0.5, 4.0]), scale=1 / A([1.0, 2.0]))),
    "InverseGamma": lambda: (dist.InverseGamma(A([6.0, 9.0]), A([1.0, 3.0])),
                             st.invgamma(A([6.0, 9.0]), scale=A([1.0, 3.0]))),
    "Beta": lambda: (dist.Beta(A([0.5, 2.0]), A([0.5, 5.0])), st.beta(A([0.5, 2.0]), A([0.5, 5.0]))),
    "Uniform": lambda: (dist.Uniform(A([-1.0, 2.0]), A([1.0, 2.5])), st.uniform(A([-1.0, 2.0]), A([2.0, 0.5]))),
    "Weibull": lambda: (dist.Weibull(A([1.0, 2.0]), A([0.8, 3.0])),
                        st.weibull_min(A([0.8, 3.0]), scale=A([1.0, 2.0]))),
    "Bernoulli": lambda: (dist.Bernoulli(probs=A([0.1, 0.7])), st.bernoulli(A([0.1, 0.7]))),
    "Binomial": lambda: (dist.Binomial(A([10.0, 1e6]), probs=A([0.3, 0.4])), st.binom(A([10, 1e6]), A([0.3, 0.4]))),
    "Poisson": lambda: (dist.Poisson(A([0.5, 1e3])), st.poisson(A([0.5, 1e3]))),
    "NegativeBinomial": lambda: (dist.NegativeBinomial(A([2.0, 0.5]), probs=A([0.3, 0.7])),
                                 st.nbinom(A([2.0, 0.5]), 1 - A([0.3, 0.7]))),
    "NegativeBinomial2": lambda: (dist.NegativeBinomial2(A([3.0, 50.0]), A([2.0, 5.0])),
                                  st.nbinom(A([2.0, 5.0]), A([2.0, 5.0]) / A([5.0, 55.0]))),
    "Geometric": lambda: (dist.Geometric(logits=A([-1.5, 2.0])),
                          st.geom(1 / (1 + np.exp(-A([-1.5, 2.0]))), loc=-1)),
    "DiscreteUniform": lambda: (dist.DiscreteUniform(A([-2.0, 0.0]), A([5.0, 1.0])),
                                st.randint(A([-2, 0]), A([6, 2]))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_moments(name):
    d, ref = CASES[name]()
    np.testing.assert_allclose(d.mean, ref.mean(), rtol=1e-9)
    np.testing.assert_allclose(d.variance, ref.var(), rtol=1e-9)
    x = draw(d, KEY)
    assert x.shape == (N,) + d.batch_shape
    assert np.all(np.asarray(d.support.check(x)))
    assert jnp.issubdtype(x.dtype, jnp.integer) == d.support.is_discrete
    assert_moments(x, ref.mean(), ref.var())


@pytest.mark.parametrize("make, ref", [
    (lambda: dist.Cauchy(A([0.0, 5.0]), A([1.0, 0.1])), st.cauchy(A([0.0, 5.0]), A([1.0, 0.1]))),
    (lambda: dist.HalfCauchy(A([1.0, 3.0])), st.halfcauchy(scale=A([1.0, 3.0]))),
    (lambda: dist.StudentT(A([1.5, 2.5]), 0.0, 1.0), st.t(A([1.5, 2.5]))),
])
def test_heavy_tailed_quantiles(make, ref):
    # no finite variance: compare the fractions below the quartiles (binomial SE)
    x = np.asarray(draw(make(), KEY))
    for q in (0.25, 0.5, 0.75):
        frac = (x <= ref.ppf(q)).mean(0)
        assert np.all(np.abs(frac - q) <= 5 * np.sqrt(q * (1 - q) / N))


def test_von_mises_circular_moments():
    loc, kappa = A([0.5, -3.0, 0.0]), A([2.0, 50.0, 1e-3])
    d = dist.VonMises(loc, kappa)
    x = np.asarray(draw(d, KEY))
    assert np.all((x >= -np.pi) & (x <= np.pi))
    c = np.cos(x - loc)
    r1 = iv(1, kappa) / iv(0, kappa)
    var_c = (1 + iv(2, kappa) / iv(0, kappa)) / 2 - r1**2
    assert_moments(c, r1, var_c, check_var=False)
    assert_moments(np.sin(x - loc), 0.0, (1 - iv(2, kappa) / iv(0, kappa)) / 2, check_var=False)
    np.testing.assert_allclose(d.variance, 1 - r1, rtol=1e-9)


def test_multivariate_normal_moments():
    cov = A([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])
    d = dist.MultivariateNormal(A([1.0, -1.0, 0.0]), covariance_matrix=cov)
    x = np.asarray(draw(d, KEY))
    assert_moments(x, A([1.0, -1.0, 0.0]), np.diag(cov))
    # the covariance of coordinates 0 and 1 through the product's mean
    prod = (x[:, 0] - 1.0) * (x[:, 1] + 1.0)
    assert_moments(prod, cov[0, 1], cov[0, 0] * cov[1, 1] + cov[0, 1] ** 2, check_var=False)


def test_dirichlet_moments():
    alpha = A([[0.3, 1.0, 4.0], [2.0, 2.0, 2.0]])
    d = dist.Dirichlet(alpha)
    x = np.asarray(draw(d, KEY))
    assert np.all(np.asarray(d.support.check(x)))
    assert_moments(x[:, 0], st.dirichlet(alpha[0]).mean(), st.dirichlet(alpha[0]).var(), check_var=False)
    assert_moments(x[:, 0], np.asarray(d.mean)[0], np.asarray(d.variance)[0])
    np.testing.assert_allclose(d.variance[0], st.dirichlet(alpha[0]).var(), rtol=1e-9)


def test_multinomial_moments():
    p = A([0.2, 0.5, 0.3])
    d = dist.Multinomial(A([12.0, 7.0]), probs=p)
    x = np.asarray(draw(d, KEY))
    assert x.shape == (N, 2, 3) and np.all(x.sum(-1) == A([12, 7]))
    assert_moments(x, np.asarray(d.mean), np.asarray(d.variance))
    np.testing.assert_allclose(d.mean, A([12.0, 7.0])[:, None] * p)


def test_categorical_frequencies():
    probs = A([[0.1, 0.6, 0.3], [0.5, 0.0, 0.5]])
    x = np.asarray(draw(dist.Categorical(probs=probs), KEY))
    onehot = x[..., None] == np.arange(3)
    assert_moments(onehot, probs, probs * (1 - probs), check_var=False)
    assert not np.any(x[:, 1] == 1)


@pytest.mark.parametrize("eta", [0.5, 1.0, 4.0])
def test_lkj_correlation_marginals(eta):
    # each off-diagonal correlation of LKJ(eta) in dimension d is 2 Beta(a, a) - 1, a = eta - 1 + d/2
    d = 4
    chol = np.asarray(draw(dist.LKJCholesky(d, eta), KEY))
    assert np.all(np.asarray(dist.constraints.corr_cholesky.check(chol)))
    corr = chol @ np.swapaxes(chol, -1, -2)
    rows, cols = np.tril_indices(d, -1)
    a = eta - 1 + d / 2
    assert_moments(corr[:, rows, cols], 0.0, 1 / (2 * a + 1))


def test_mixture_moments():
    mix = dist.MixtureSameFamily(dist.Categorical(probs=A([0.3, 0.7])),
                                 dist.Normal(A([-2.0, 1.0]), A([0.5, 1.5])))
    x = np.asarray(draw(mix, KEY))
    assert_moments(x, mix.mean, mix.variance)
    # law of total variance by hand
    m = 0.3 * -2.0 + 0.7 * 1.0
    np.testing.assert_allclose(mix.variance, 0.3 * (0.25 + 4.0) + 0.7 * (2.25 + 1.0) - m**2)
    other = dist.Mixture(dist.Categorical(probs=A([0.5, 0.5])),
                         [dist.Exponential(1.0), dist.Normal(2.0, 0.5)])
    assert_moments(np.asarray(draw(other, KEY)), other.mean, other.variance)
    np.testing.assert_allclose(other.mean, 0.5 * 1.0 + 0.5 * 2.0)
    np.testing.assert_allclose(other.variance, 0.5 * (1.0 + 1.0) + 0.5 * (0.25 + 4.0) - 1.5**2)
