"""ELBO estimators on a conjugate Gaussian model, where the ELBO and the evidence are exact.

Model: ``theta ~ N(MU0, TAU0^2)``, ``y_i ~ N(theta, SIGMA^2)``. For a Gaussian
``q = N(m, s^2)`` the ELBO has a closed form, so estimators are checked for
unbiasedness within Monte Carlo error (fixed seeds).
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from credo.vi.families import FullRank, MeanField
from credo.vi.objectives import (elbo_analytic_kl, elbo_reparam, elbo_reparam_entropy, elbo_score,
                                 iwae_bound, kl_gaussian)

MU0, TAU0, SIGMA = 1.0, 2.0, 1.5
Y = np.array([0.3, 2.1, 1.4, -0.5, 3.2, 1.1])


def log_joint(x):
    theta = x[0]
    return (jax.scipy.stats.norm.logpdf(theta, MU0, TAU0)
            + jnp.sum(jax.scipy.stats.norm.logpdf(jnp.asarray(Y), theta, SIGMA)))


def log_likelihood(x):
    return jnp.sum(jax.scipy.stats.norm.logpdf(jnp.asarray(Y), x[0], SIGMA))


def exact_elbo(m, s):
    """E_q[log p(y, theta)] + H[q] for q = N(m, s^2)."""
    lik = np.sum(-0.5 * np.log(2 * np.pi * SIGMA**2) - ((Y - m) ** 2 + s**2) / (2 * SIGMA**2))
    prior = -0.5 * np.log(2 * np.pi * TAU0**2) - ((m - MU0) ** 2 + s**2) / (2 * TAU0**2)
    return lik + prior + 0.5 * np.log(2 * np.pi * np.e * s**2)


def log_evidence():
    n = len(Y)
    cov = SIGMA**2 * np.eye(n) + TAU0**2 * np.ones((n, n))
    return stats.multivariate_normal(np.full(n, MU0), cov).logpdf(Y)


def posterior():
    precision = 1 / TAU0**2 + len(Y) / SIGMA**2
    mean = (MU0 / TAU0**2 + Y.sum() / SIGMA**2) / precision
    return mean, 1 / math.sqrt(precision)


M, S = 0.4, 0.9  # a q away from the posterior


def _replicates(fn, num=400, seed=0):
    keys = jax.random.split(jax.random.PRNGKey(seed), num)
    return np.asarray(jax.jit(jax.vmap(fn))(keys))


def _flat_grad(q_grad):
    return jnp.concatenate([jnp.ravel(x) for x in jax.tree.leaves(q_grad)])


@pytest.mark.parametrize("estimator", [elbo_reparam, elbo_reparam_entropy,
                                       lambda q, lp, k, n: elbo_reparam(q, lp, k, n,
                                                                        stick_the_landing=True)],
                         ids=["reparam", "entropy", "stl"])
def test_reparam_estimators_are_unbiased(estimator):
    q = MeanField(jnp.array([M]), jnp.array([S]))
    values = _replicates(lambda k: estimator(q, log_joint, k, 4))
    se = values.std(ddof=1) / math.sqrt(len(values))
    assert abs(values.mean() - exact_elbo(M, S)) < 4 * se


def test_elbo_is_exact_at_the_posterior():
    mean, sd = posterior()
    q = MeanField(jnp.array([mean]), jnp.array([sd]))
    assert abs(exact_elbo(mean, sd) - log_evidence()) < 1e-10
    values = _replicates(lambda k: elbo_reparam(q, log_joint, k, 1), num=20)
    np.testing.assert_allclose(values, log_evidence(), atol=1e-9)  # zero-variance estimator


def test_gradients_agree_in_expectation():
    """Pathwise, STL and score-function gradients all estimate the exact ELBO gradient."""
    q = MeanField(jnp.array([M]), jnp.array([S]))
    exact = np.asarray(_flat_grad(jax.grad(_closed_form_elbo)(q)))
    names = ("reparam", "stl", "score")

    def all_three(key):
        return jnp.stack([
            _flat_grad(eqx.filter_grad(lambda q: elbo_reparam(q, log_joint, key, 4))(q)),
            _flat_grad(eqx.filter_grad(lambda q: elbo_reparam(q, log_joint, key, 4,
                                                              stick_the_landing=True))(q)),
            _flat_grad(eqx.filter_grad(lambda q: elbo_score(q, log_joint, key, 4))(q))])

    grads = _replicates(all_three, num=2000)          # (2000, 3, 2)
    means = grads.mean(0)
    ses = grads.std(0, ddof=1) / math.sqrt(len(grads))
    for name, mean, se in zip(names, means, ses):
        assert np.all(np.abs(mean - exact) < 4 * se), (name, mean, exact, se)
    # and with each other, within their combined standard errors
    assert np.all(np.abs(means[2] - means[0]) < 4 * np.hypot(ses[2], ses[0]))


def _closed_form_elbo(q):
    m, s = q.loc[0], q.scale[0]
    y = jnp.asarray(Y)
    lik = jnp.sum(-0.5 * jnp.log(2 * jnp.pi * SIGMA**2) - ((y - m) ** 2 + s**2) / (2 * SIGMA**2))
    prior = -0.5 * jnp.log(2 * jnp.pi * TAU0**2) - ((m - MU0) ** 2 + s**2) / (2 * TAU0**2)
    return lik + prior + 0.5 * jnp.log(2 * jnp.pi * jnp.e * s**2)


class Categorical(eqx.Module):
    """A family on {0, ..., K-1} with logits: its draws are integers, not differentiable."""

    logits: jax.Array

    def sample(self, key, n):
        return jax.random.categorical(key, self.logits, shape=(n,))

    def log_prob(self, x):
        return jax.nn.log_softmax(self.logits)[x]


def test_score_function_works_for_a_non_reparameterizable_family():
    log_target = jnp.log(jnp.array([0.1, 0.2, 0.3, 0.4]))
    q = Categorical(jnp.array([0.5, -0.2, 0.1, 0.0]))

    def exact(q):
        probs = jax.nn.softmax(q.logits)
        return jnp.sum(probs * (log_target - jnp.log(probs)))

    def log_p(k):
        return log_target[k]

    exact_grad = np.asarray(jax.grad(exact)(q).logits)

    def estimates(key):
        # the leave-one-out baseline, and a fixed one supplied by the caller
        value, grad = eqx.filter_value_and_grad(lambda q: elbo_score(q, log_p, key, 8))(q)
        fixed = eqx.filter_grad(lambda q: elbo_score(q, log_p, key, 8, baseline=-1.3))(q)
        return jnp.concatenate([value[None], grad.logits, fixed.logits])

    out = _replicates(estimates, num=3000)
    values = out[:, 0]
    for grads in (out[:, 1:5], out[:, 5:]):
        mean, se = grads.mean(0), grads.std(0, ddof=1) / math.sqrt(len(grads))
        assert np.all(np.abs(mean - exact_grad) < 4 * se), (mean, exact_grad)
    assert abs(values.mean() - float(exact(q))) < 4 * values.std() / math.sqrt(len(values))


def test_leave_one_out_baseline_reduces_variance():
    q = MeanField(jnp.array([M]), jnp.array([S]))
    spread = {}
    for baseline in ("leave-one-out", None):
        grads = _replicates(lambda k: _flat_grad(eqx.filter_grad(
            lambda q: elbo_score(q, log_joint, k, 8, baseline=baseline))(q)), num=1000)
        spread[baseline] = grads.std(0)
    assert np.all(spread["leave-one-out"] < spread[None])
    with pytest.raises(ValueError, match="num_particles >= 2"):
        elbo_score(q, log_joint, jax.random.PRNGKey(0), 1)


def test_kl_gaussian_closed_form():
    q = FullRank(jnp.array([0.5, -1.0]), jnp.array([[1.0, 0.0], [0.3, 0.6]]))
    p = FullRank(jnp.array([0.0, 0.2]), jnp.array([[2.0, 0.0], [-0.5, 1.1]]))
    cq, cp = np.asarray(q.covariance()), np.asarray(p.covariance())
    diff = np.array([0.0, 0.2]) - np.array([0.5, -1.0])
    expected = 0.5 * (np.trace(np.linalg.solve(cp, cq)) + diff @ np.linalg.solve(cp, diff) - 2
                      + np.log(np.linalg.det(cp) / np.linalg.det(cq)))
    np.testing.assert_allclose(kl_gaussian(q, p), expected, rtol=1e-10)
    np.testing.assert_allclose(kl_gaussian(q, q), 0.0, atol=1e-12)
    # a (loc, scale) prior, and the diagonal shortcut for a mean-field q
    mf = MeanField(jnp.array([0.5, -1.0]), jnp.array([0.7, 1.3]))
    dense = FullRank(jnp.array([0.5, -1.0]), jnp.array([0.7, 1.3]))
    np.testing.assert_allclose(kl_gaussian(mf, (0.0, 2.0)), kl_gaussian(dense, (0.0, 2.0)),
                               rtol=1e-10)
    np.testing.assert_allclose(kl_gaussian(mf, (0.0, 2.0)),
                               kl_gaussian(mf, MeanField(jnp.zeros(2), jnp.full(2, 2.0))),
                               rtol=1e-10)


def test_analytic_kl_elbo_is_unbiased():
    q = MeanField(jnp.array([M]), jnp.array([S]))
    analytic = _replicates(lambda k: elbo_analytic_kl(q, log_likelihood, (MU0, TAU0), k, 4))
    se = analytic.std(ddof=1) / math.sqrt(len(analytic))
    assert abs(analytic.mean() - exact_elbo(M, S)) < 4 * se


def test_iwae_bound_rises_with_k_towards_the_evidence():
    q = MeanField(jnp.array([M]), jnp.array([1.3 * S]))
    log_z = log_evidence()
    stats_by_k = {}
    for k, num in ((1, 2000), (5, 2000), (50, 400), (2000, 50)):
        values = _replicates(lambda key, k=k: iwae_bound(q, log_joint, key, k), num=num, seed=k)
        stats_by_k[k] = (values.mean(), values.std(ddof=1) / math.sqrt(len(values)))
    mean1, se1 = stats_by_k[1]
    assert abs(mean1 - exact_elbo(M, 1.3 * S)) < 4 * se1  # K = 1 is the ELBO
    for small, large in ((1, 5), (5, 50)):
        (m_s, se_s), (m_l, se_l) = stats_by_k[small], stats_by_k[large]
        assert m_l - m_s > 4 * math.hypot(se_s, se_l)
    mean_big, se_big = stats_by_k[2000]
    assert mean_big < log_z + 4 * se_big
    assert log_z - mean_big < 0.01 and log_z - mean1 > 1.0
