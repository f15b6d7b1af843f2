"""log_prob against scipy.stats over parameter grids, including extreme values."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
from scipy.special import expit

from credo import distributions as dist

# jit so each check compiles once instead of op by op (also exercises the pytree path)
log_prob = jax.jit(lambda d, x: d.log_prob(x))

Z = np.array([-30.0, -3.0, -0.5, 0.0, 0.7, 2.0, 25.0])  # standardized offsets


def _check(make, reference, params, xs, rtol=1e-6, atol=1e-8):
    """Evaluate ``make(*params).log_prob(xs)`` in one batched call and compare.

    ``params`` is a list of parameter tuples; ``xs(*p)`` gives the values for one tuple.
    """
    cols = [np.array(c, dtype=float)[:, None] for c in zip(*params)]
    values = np.stack([np.asarray(xs(*p), dtype=float) for p in params])
    ours = np.asarray(log_prob(make(*cols), values))
    ref = np.stack([reference(*p).logpdf(v) if hasattr(reference(*p), "logpdf")
                    else reference(*p).logpmf(v) for p, v in zip(params, values)])
    assert not np.isnan(ours).any()
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol)


LOC_SCALE = [(l, s) for l in (-1e3, 0.0, 2.5) for s in (1e-8, 1e-3, 1.0, 1e4)]
SCALES = [(s,) for s in (1e-8, 1e-3, 1.0, 7.5, 1e6)]


def _loc_scale_xs(loc, scale):
    return loc + scale * Z


def _half_xs(scale):
    return scale * np.abs(Z) + np.array([0, 0, 0, 0, 0, 0, 0.0])


@pytest.mark.parametrize("make, reference", [
    (dist.Normal, st.norm),
    (dist.Cauchy, st.cauchy),
    (dist.Laplace, st.laplace),
    (dist.Logistic, st.logistic),
])
def test_location_scale(make, reference):
    _check(make, reference, LOC_SCALE, _loc_scale_xs)


@pytest.mark.parametrize("make, reference", [
    (dist.HalfNormal, lambda s: st.halfnorm(scale=s)),
    (dist.HalfCauchy, lambda s: st.halfcauchy(scale=s)),
])
def test_half_families(make, reference):
    _check(make, reference, SCALES, _half_xs)


def test_half_families_negative_values_are_impossible():
    for d in (dist.HalfNormal(2.0), dist.HalfCauchy(2.0), dist.Exponential(1.5)):
        assert np.asarray(d.log_prob(jnp.array([-1e-9, -3.0]))).tolist() == [-np.inf, -np.inf]


@pytest.mark.parametrize("df", [0.5, 1.0, 3.0, 30.0, 1e3, 1e6, 1e10])
def test_student_t(df):
    params = [(df, l, s) for l, s in LOC_SCALE]
    _check(dist.StudentT, st.t, params, lambda d, l, s: l + s * Z)


def test_lognormal():
    params = [(m, s) for m in (-5.0, 0.0, 3.0) for s in (1e-3, 0.5, 1.0, 4.0)]
    _check(dist.LogNormal, lambda m, s: st.lognorm(s=s, scale=np.exp(m)), params,
           lambda m, s: np.exp(m + s * Z[1:-1]).tolist() + [1e-300, 1e300])


def test_exponential():
    params = [(r,) for r in (1e-8, 1e-3, 1.0, 50.0, 1e8)]
    _check(dist.Exponential, lambda r: st.expon(scale=1 / r), params,
           lambda r: np.array([0.0, 1e-3, 0.5, 1.0, 10.0]) / r)


GAMMA_PARAMS = [(a, b) for a in (1e-3, 0.5, 1.0, 2.5, 1e3, 1e6) for b in (1e-3, 1.0, 1e3)]


def _gamma_xs(a, b):
    return (a / b) * np.array([1e-3, 0.1, 0.9, 1.0, 1.1, 3.0])


def test_gamma():
    _check(dist.Gamma, lambda a, b: st.gamma(a, scale=1 / b), GAMMA_PARAMS, _gamma_xs)


def test_inverse_gamma():
    _check(dist.InverseGamma, lambda a, b: st.invgamma(a, scale=b), GAMMA_PARAMS,
           lambda a, b: (b / a) * np.array([1e-3, 0.1, 0.9, 1.0, 1.1, 3.0]))


def test_beta():
    conc = (1e-3, 0.5, 1.0, 3.0, 1e4, 1e6)
    params = [(a, b) for a in conc for b in conc]
    _check(dist.Beta, st.beta, params,
           lambda a, b: [1e-12, 1e-3, 0.25, a / (a + b), 0.5, 0.999, 1 - 1e-12], atol=1e-7)


def test_beta_endpoints_and_outside():
    d = dist.Beta(jnp.array([1.0, 2.0, 0.5]), jnp.array([1.0, 1.0, 3.0]))
    lp = np.asarray(d.log_prob(jnp.array([[0.0], [1.0], [-0.1], [1.1]])))
    np.testing.assert_allclose(lp[0], [0.0, -np.inf, np.inf])
    np.testing.assert_allclose(lp[1], [0.0, np.log(2.0), -np.inf])
    assert np.all(lp[2:] == -np.inf)


def test_uniform():
    params = [(-3.0, 2.0), (0.0, 1e-8), (1e6, 1e6 + 1.0)]
    _check(dist.Uniform, lambda a, b: st.uniform(a, b - a), params,
           lambda a, b: [a - 1.0, a, (a + b) / 2, b, b + 1.0])


def test_weibull():
    params = [(s, k) for s in (1e-3, 1.0, 50.0) for k in (0.3, 1.0, 2.0, 20.0)]
    _check(dist.Weibull, lambda s, k: st.weibull_min(k, scale=s), params,
           lambda s, k: s * np.array([1e-4, 0.3, 1.0, 1.5, 3.0]))


def test_von_mises():
    params = [(m, k) for m in (-2.0, 0.0, 1.0) for k in (1e-8, 0.1, 1.0, 10.0, 1e3, 1e5)]
    xs = lambda m, k: np.linspace(-np.pi, np.pi, 9)  # noqa: E731
    _check(dist.VonMises, lambda m, k: st.vonmises(k, loc=m), params, xs, rtol=1e-6, atol=1e-7)
    assert float(dist.VonMises(0.0, 1.0).log_prob(4.0)) == -np.inf


BIN_P = (0.0, 1e-6, 0.3, 0.5, 0.999, 1.0)


def test_bernoulli_probs_and_logits():
    params = [(p,) for p in BIN_P]
    xs = lambda p: [0.0, 1.0, -1.0, 0.5, 2.0]  # noqa: E731
    _check(lambda p: dist.Bernoulli(probs=p), st.bernoulli, params, xs)
    logits = [(l,) for l in (-20.0, -3.0, 0.0, 2.0, 20.0)]
    _check(lambda l: dist.Bernoulli(logits=l), lambda l: st.bernoulli(expit(l)), logits, xs)
    # beyond where expit rounds to 1, the logits form stays exact: log p(0) = -softplus(l)
    lp = dist.Bernoulli(logits=jnp.array([-40.0, 40.0])).log_prob(jnp.array([[1.0], [0.0]]))
    np.testing.assert_allclose(lp, [[-40.0, -np.exp(-40.0)], [-np.exp(-40.0), -40.0]], rtol=1e-12)


def test_binomial():
    params = [(n, p) for n in (1.0, 10.0, 1e6) for p in BIN_P]

    def xs(n, p):
        sd = np.sqrt(max(n * p * (1 - p), 1.0))
        k = np.round(n * p + sd * np.array([-3.0, 0.0, 2.0])).clip(0, n)
        return np.concatenate([k, [0.0, n, -1.0, n + 1, 0.5]])

    _check(lambda n, p: dist.Binomial(n, probs=p), st.binom, params, xs)
    logit_params = [(n, l) for n in (3.0, 1e6) for l in (-20.0, -0.5, 4.0)]
    _check(lambda n, l: dist.Binomial(n, logits=l), lambda n, l: st.binom(n, expit(l)),
           logit_params, lambda n, l: xs(n, expit(l)))


def test_poisson():
    params = [(r,) for r in (0.0, 1e-8, 0.5, 7.0, 1e3, 1e6)]

    def xs(r):
        k = np.round(r + np.sqrt(max(r, 1.0)) * np.array([-3.0, 0.0, 3.0])).clip(0)
        return np.concatenate([k, [0.0, 1.0, -1.0, 2.5]])

    _check(dist.Poisson, st.poisson, params, xs)


def test_negative_binomial():
    params = [(r, p) for r in (1e-3, 0.7, 5.0, 1e4) for p in (1e-6, 0.2, 0.5, 0.95)]
    xs = lambda r, p: [0.0, 1.0, 3.0, 40.0, 1e4, -1.0, 0.5]  # noqa: E731
    _check(lambda r, p: dist.NegativeBinomial(r, probs=p), lambda r, p: st.nbinom(r, 1 - p),
           params, xs)
    _check(lambda r, p: dist.NegativeBinomial(r, logits=np.log(p) - np.log1p(-p)),
           lambda r, p: st.nbinom(r, 1 - p), params, xs)


def test_negative_binomial2():
    params = [(m, c) for m in (1e-3, 0.5, 20.0, 1e5) for c in (1e-2, 1.0, 30.0, 1e8)]
    _check(dist.NegativeBinomial2, lambda m, c: st.nbinom(c, c / (m + c)), params,
           lambda m, c: [0.0, 1.0, 5.0, np.round(m), 3 * np.round(m) + 1, -2.0])


def test_geometric():
    params = [(p,) for p in (1e-6, 0.1, 0.5, 0.9, 1.0)]
    xs = lambda p: [0.0, 1.0, 4.0, 1e3, -1.0, 1.5]  # noqa: E731
    _check(lambda p: dist.Geometric(probs=p), lambda p: st.geom(p, loc=-1), params, xs)
    _check(lambda p: dist.Geometric(logits=np.log(p) - np.log1p(-p)),
           lambda p: st.geom(p, loc=-1), params[:-1], xs)


def test_discrete_uniform():
    params = [(0.0, 0.0), (-3.0, 4.0), (10.0, 1e6)]
    _check(dist.DiscreteUniform, lambda a, b: st.randint(a, b + 1), params,
           lambda a, b: [a - 1, a, np.floor((a + b) / 2), b, b + 1, a + 0.5])


def test_categorical():
    probs = np.array([[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]])
    values = np.array([[0, 1, 2, 3, -1, 1.5]] * 2).T  # (6, 2)
    with np.errstate(divide="ignore"):
        log_probs = np.log(probs)
    expected = np.where((values >= 0) & (values <= 2) & (values == np.floor(values)),
                        np.take_along_axis(log_probs.T, values.clip(0, 2).astype(int), 0),
                        -np.inf)
    for d in (dist.Categorical(probs=probs), dist.Categorical(logits=log_probs + 3.0)):
        np.testing.assert_allclose(log_prob(d, values), expected, rtol=1e-12)
