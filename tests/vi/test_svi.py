"""Minibatch SVI through subsampled plates: unbiased gradients, exact-posterior agreement,
batch-shaped device arrays, determinism."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import credo.ppl as ppl
from credo import distributions as dist
from credo.errors import ModelError
from credo.vi.advi import advi
from credo.vi.families import FullRank
from credo.vi.objectives import elbo_reparam
from credo.vi.svi import MinibatchStream, prepare_target

SIGMA, PRIOR_SD, N, B = 1.0, 10.0, 2000, 100
_rng = np.random.default_rng(3)
X = np.column_stack([np.ones(N), _rng.normal(1.0, 1.0, N)])  # uncentred: correlated posterior
Y = X @ np.array([0.5, -1.0]) + SIGMA * _rng.normal(size=N)


def regression(x, y, batch_size=None):
    beta = ppl.sample("beta", dist.Normal(0.0, PRIOR_SD).expand((2,)).to_event(1))
    with ppl.plate("N", x.shape[0], subsample_size=batch_size) as idx:
        ppl.sample("y", dist.Normal(x[idx] @ beta, SIGMA), obs=y[idx])


def exact_posterior():
    precision = X.T @ X / SIGMA**2 + np.eye(2) / PRIOR_SD**2
    cov = np.linalg.inv(precision)
    return cov @ X.T @ Y / SIGMA**2, cov


def full_log_joint(beta):
    return (jnp.sum(jax.scipy.stats.norm.logpdf(beta, 0.0, PRIOR_SD))
            + jnp.sum(jax.scipy.stats.norm.logpdf(Y, X @ beta, SIGMA)))


@pytest.fixture(scope="module")
def minibatch():
    return prepare_target(regression, {"x": X, "y": Y, "batch_size": B}, dim=None,
                          key=jax.random.PRNGKey(1))


def test_stream_epochs_are_permutations_and_deterministic():
    stream = MinibatchStream({"y": Y}, N, B, jax.random.PRNGKey(0))
    epoch = np.concatenate([stream.indices(s) for s in range(N // B)])
    np.testing.assert_array_equal(np.sort(epoch), np.arange(N))  # every row once per epoch
    again = MinibatchStream({"y": Y}, N, B, jax.random.PRNGKey(0))
    np.testing.assert_array_equal(again.chunk(35, 10)["y"],
                                  np.stack([Y[stream.indices(s)] for s in range(35, 45)]))
    other = MinibatchStream({"y": Y}, N, B, jax.random.PRNGKey(1))
    assert not np.array_equal(other.indices(0), stream.indices(0))


def test_minibatch_log_density_is_scaled_and_an_epoch_averages_to_the_full_data(minibatch):
    target, stream, log_p_batch = minibatch
    assert stream.rows.keys() == {"x", "y"} and (stream.size, stream.batch_size) == (N, B)
    beta = jnp.array([0.3, -0.7])
    idx = stream.indices(4)
    expected = (jnp.sum(jax.scipy.stats.norm.logpdf(beta, 0.0, PRIOR_SD))
                + N / B * jnp.sum(jax.scipy.stats.norm.logpdf(Y[idx], X[idx] @ beta, SIGMA)))
    np.testing.assert_allclose(log_p_batch(beta, stream.batch(4)), expected, rtol=1e-12)
    per_batch = [log_p_batch(beta, stream.batch(s)) for s in range(N // B)]
    np.testing.assert_allclose(np.mean(per_batch), full_log_joint(beta), rtol=1e-12)


def test_minibatch_elbo_gradient_is_unbiased(minibatch):
    """Mean of minibatch ELBO gradients = the full-data ELBO gradient, within 4 MC standard errors."""
    _, stream, log_p_batch = minibatch
    q = FullRank(jnp.array([0.4, -0.9]), jnp.array([[0.05, 0.0], [-0.03, 0.04]]))
    params, static = eqx.partition(q, eqx.is_inexact_array)
    key = jax.random.PRNGKey(5)  # the same reparameterization draws for every batch

    def grad(log_p):
        g = jax.grad(lambda p: elbo_reparam(eqx.combine(p, static), log_p, key, num_particles=4))
        return jnp.concatenate([jnp.ravel(leaf) for leaf in jax.tree.leaves(g(params))])

    batch_grad = jax.jit(jax.vmap(lambda batch: grad(lambda x: log_p_batch(x, batch))))
    full = np.asarray(grad(full_log_joint))
    # the first batch of 400 epochs: independent uniform subsets without replacement
    batches = [stream.batch(e * (N // B)) for e in range(400)]
    draws = np.asarray(batch_grad(jax.tree.map(lambda *b: np.stack(b), *batches)))
    mcse = draws.std(axis=0, ddof=1) / np.sqrt(len(draws))
    free = np.ones_like(full, dtype=bool)
    free[3] = False  # the upper-triangular entry of scale_tril: no gradient at all
    np.testing.assert_array_equal(draws[:, 3], 0.0)
    z = (draws.mean(axis=0) - full)[free] / mcse[free]
    assert np.all(np.abs(z) < 4), z
    # not vacuous: single minibatch gradients are far from the full-data one
    assert np.all(np.abs(draws[0] - full)[free] > 3 * mcse[free])


def test_minibatch_fit_matches_exact_posterior_and_device_arrays_have_batch_shape():
    seen = []

    def recording(x, y, batch_size=None):
        if isinstance(x, jax.core.Tracer):
            seen.append(x.shape)
        regression(x, y, batch_size)

    ld = ppl.logdensity(recording, {"x": X, "y": Y, "batch_size": B}, seed=0)
    # a decaying step size (Robbins-Monro) so the iterates settle despite minibatch noise
    optimizer = optax.adam(optax.exponential_decay(0.1, transition_steps=4000, decay_rate=0.01))
    fit = functools.partial(advi, ld, family="fullrank", tolerance=0, optimizer=optimizer,
                            precondition=None, progress=False, seed=0)
    approx = fit(steps=4000)
    assert approx.info["minibatch"] == {"size": N, "batch_size": B, "rows": ["x", "y"]}
    assert seen and set(seen) == {(B, 2)}  # only batches ever reach compiled code
    mean, cov = exact_posterior()
    sd = np.sqrt(np.diag(cov))
    q_cov = np.asarray(approx.q.covariance())
    # observed over seeds 0-2: |mean error| < 0.035 sd, sds within 6%, correlation within 0.03
    assert np.all(np.abs(np.asarray(approx.q.loc) - mean) < 0.15 * sd), (approx.q.loc, mean, sd)
    np.testing.assert_allclose(np.sqrt(np.diag(q_cov)), sd, rtol=0.12)
    corr = q_cov[0, 1] / np.sqrt(q_cov[0, 0] * q_cov[1, 1])
    assert abs(corr - cov[0, 1] / (sd[0] * sd[1])) < 0.06
    assert approx.sample(10, seed=1)["beta"].shape == (10, 2)
    np.testing.assert_array_equal(fit(steps=300).elbo_history, approx.elbo_history[:300])


def test_subsampling_errors():
    def two_plates(x, y):
        beta = ppl.sample("beta", dist.Normal(0.0, 1.0))
        with ppl.plate("A", 10, subsample_size=5) as i:
            ppl.sample("ya", dist.Normal(beta, 1.0), obs=y[i])
        with ppl.plate("B", 10, subsample_size=5) as j:
            ppl.sample("yb", dist.Normal(beta, 1.0), obs=x[j])

    with pytest.raises(ModelError, match="one subsampled plate"):
        advi(two_plates, {"x": np.zeros(10), "y": np.zeros(10)}, progress=False)

    def fixed_size(y):
        beta = ppl.sample("beta", dist.Normal(0.0, 1.0))
        with ppl.plate("N", 10, subsample_size=5):
            ppl.sample("y", dist.Normal(beta, 1.0), obs=y)

    with pytest.raises(ModelError, match="no array data has 10 rows"):
        advi(fixed_size, {"y": np.zeros(5)}, progress=False)
