"""The continuous Bernoulli distribution against numerical integration of its density."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from credo import distributions as dist
from credo.distributions import continuous_bernoulli as cb


def _density(logit):
    """The unnormalised density lambda^x (1-lambda)^(1-x) in float64 (independent of credo)."""
    lam = 1.0 / (1.0 + np.exp(-logit))
    return lambda x: lam**x * (1.0 - lam) ** (1.0 - x)


@pytest.mark.parametrize("logit", [-6.0, -0.4, -0.05, 0.0, 0.004, 0.2, 1.3, 9.0])
def test_log_prob_mean_and_variance_match_quadrature(logit):
    f = _density(logit)
    z = integrate.quad(f, 0.0, 1.0)[0]
    m = integrate.quad(lambda x: x * f(x), 0.0, 1.0)[0] / z
    v = integrate.quad(lambda x: (x - m) ** 2 * f(x), 0.0, 1.0)[0] / z
    d = dist.ContinuousBernoulli(logits=logit)
    x = np.linspace(0.0, 1.0, 7)
    np.testing.assert_allclose(np.exp(np.asarray(d.log_prob(x), float)), f(x) / z, rtol=2e-5)
    assert float(d.mean) == pytest.approx(m, abs=2e-6)
    assert float(d.variance) == pytest.approx(v, rel=1e-4)


def test_probs_and_logits_agree_and_draws_have_the_mean():
    a, b = dist.ContinuousBernoulli(probs=0.8), dist.ContinuousBernoulli(logits=np.log(4.0))
    assert float(a.log_prob(0.3)) == pytest.approx(float(b.log_prob(0.3)), rel=1e-5)
    draws = np.asarray(b.sample(jax.random.PRNGKey(0), (20000,)))
    assert 0.0 <= draws.min() and draws.max() <= 1.0
    assert draws.mean() == pytest.approx(float(b.mean), abs=0.01)  # sd/sqrt(n) ~ 0.002
    assert float(b.log_prob(1.5)) == -np.inf


def test_gradients_are_finite_at_one_half():
    g = jax.grad(lambda e: cb.log_prob(0.3, e) + cb.mean(e) + cb.variance(e)
                 + cb.icdf(0.4, e))(jnp.float32(0.0))
    assert np.isfinite(float(g))
