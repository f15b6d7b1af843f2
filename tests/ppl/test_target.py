"""credo.ppl.Target: the one model-to-target adapter that MCMC and VI share."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import credo.ppl as ppl
from credo import distributions as dist
from credo.errors import ModelError
from credo.ppl.examples import flu_prevalence

FLU = {"n": 100, "y": 12}


def _regression(x, y):
    beta = ppl.sample("beta", dist.Normal(0.0, 1.0).expand((2,)).to_event(1))
    sd = ppl.sample("sd", dist.HalfNormal(1.0))
    ppl.deterministic("beta_sum", jnp.sum(beta))
    with ppl.plate("N", x.shape[0]):
        ppl.sample("y", dist.Normal(x @ beta, sd), obs=y)


def _data(n=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    return {"x": x, "y": x @ np.array([1.0, -1.0]) + rng.normal(size=n)}


def test_a_model_target_reads_its_layout_from_the_model():
    t = ppl.as_target(flu_prevalence, FLU)
    assert t.dim == 1 and t.names == ("theta",) and t.output_shapes == {"theta": ()}
    assert not t.is_function and isinstance(t.source, ppl.LogDensity)
    assert {k: int(v) for k, v in t.observed.items()} == {"y": 12}
    # Beta(1, 1) prior, Binomial(100, theta) likelihood, logit map: at theta = 1/2 the log joint
    # is log C(100, 12) + 100 log(1/2) + log|d sigmoid/du|(0) = ... + log(1/4)
    from scipy.special import gammaln
    expected = gammaln(101) - gammaln(13) - gammaln(89) + 100 * np.log(0.5) + np.log(0.25)
    assert float(t.log_p(jnp.zeros(1))) == pytest.approx(expected, rel=1e-12)
    assert float(t.logdensity(jnp.zeros(1), t.data)) == float(t.log_p(jnp.zeros(1)))
    assert float(t.constrain(jnp.zeros(1), t.data)["theta"]) == 0.5
    assert float(t.constrain_fn(jnp.zeros(1))["theta"]) == 0.5


def test_array_data_are_arguments_and_leaves():
    a = ppl.as_target(_regression, _data(seed=0))
    b = ppl.as_target(_regression, _data(seed=1))
    c = ppl.as_target(_regression, _data(n=6))
    assert sorted(a.data) == ["x", "y"]
    assert a == b and hash(a) == hash(b) and a != c  # compared by structure, not by data values
    # the VI modules differ only in their array leaves: one compiled program serves both
    assert eqx.tree_equal(jax.tree_util.tree_structure(a.log_p), jax.tree_util.tree_structure(b.log_p))
    flat = jnp.array([0.3, -0.2, 0.1])
    np.testing.assert_array_equal(a.logdensity(flat, b.data), b.log_p(flat))
    assert float(a.log_p(flat)) != float(b.log_p(flat))


def test_outputs_and_constrain_batch_in_site_order():
    t = ppl.as_target(_regression, _data())
    assert list(t.output_shapes) == ["beta", "sd", "beta_sum"]
    assert t.output_shapes == {"beta": (2,), "sd": (), "beta_sum": ()}
    flat = jnp.array([[1.0, 2.0, 0.0], [-1.0, 0.5, np.log(2.0)]])
    out = t.constrain_batch(flat)
    assert list(out) == ["beta", "sd", "beta_sum"]
    np.testing.assert_allclose(out["sd"], [1.0, 2.0], rtol=1e-12)
    np.testing.assert_allclose(out["beta_sum"], [3.0, -0.5], rtol=1e-12)


def test_init_is_the_models_init_and_unconstrain_inverts_constrain():
    t = ppl.as_target(_regression, _data())
    ld = ppl.logdensity(_regression, _data())
    key = jax.random.PRNGKey(4)
    np.testing.assert_array_equal(t.init(key), ld.init(key, "uniform"))
    np.testing.assert_array_equal(t.init(key, "median"), ld.init(key, "median"))
    flat = jnp.array([0.1, 0.2, 0.3])
    values = t.constrain(flat, t.data)
    np.testing.assert_allclose(t.unconstrain(values), flat, rtol=1e-12)


def test_a_plain_log_density():
    def fn(x):
        return -0.5 * jnp.sum(x ** 2)

    t = ppl.as_target(fn, dim=3)
    assert t.is_function and t.source is None and t.output_shapes == {"x": (3,)} and t.observed == {}
    x0 = t.init(jax.random.PRNGKey(0))
    assert x0.shape == (3,) and bool(jnp.all(jnp.abs(x0) <= 2.0))
    np.testing.assert_array_equal(x0, jax.random.uniform(jax.random.PRNGKey(0), (3,), minval=-2.0, maxval=2.0))
    assert float(t.log_p(jnp.ones(3))) == -1.5 == float(t.logdensity(jnp.ones(3), {}))
    np.testing.assert_array_equal(t.constrain_batch(jnp.ones((2, 3)))["x"], np.ones((2, 3)))
    # recognised by an init array when data does not give its argument
    assert ppl.as_target(fn, init=np.zeros(4)).dim == 4
    assert ppl.as_target(t) is t


def test_one_set_of_messages():
    fn = lambda x: -jnp.sum(x ** 2)  # noqa: E731
    with pytest.raises(ModelError, match="plain log density takes no data"):
        ppl.as_target(fn, {"a": 1.0}, dim=2)
    with pytest.raises(ModelError, match="dim must be positive"):
        ppl.as_target(fn, dim=0)
    with pytest.raises(ModelError, match="needs a model"):
        ppl.as_target(fn, dim=2).init(jax.random.PRNGKey(0), "prior")
    with pytest.raises(ModelError, match="init=<dict> needs a model"):
        ppl.as_target(fn, dim=2).unconstrain({"x": 1.0})
    with pytest.raises(TypeError, match="model function or a log density"):
        ppl.as_target(3)
    with pytest.raises(ModelError, match="no latent variables to approximate"):
        ppl.require_latents(0, "approximate")
    ppl.require_latents(1)


def test_initial_positions():
    t = ppl.as_target(flu_prevalence, FLU)
    key = jax.random.PRNGKey(2)
    three = ppl.initial_positions(t, key, 3, "uniform")
    one = ppl.initial_positions(t, key, 1, "uniform")
    assert three.shape == (3, 1)
    np.testing.assert_array_equal(one[0], three[0])  # chain 0's start does not depend on the count
    given = ppl.initial_positions(t, key, 2, {"theta": 0.5})
    np.testing.assert_allclose(given, np.zeros((2, 1)), atol=1e-12)
    with pytest.raises(ModelError, match="expected"):
        ppl.initial_positions(t, key, 2, np.zeros(3))
    half = ppl.as_target(lambda x: jnp.where(x[0] > 0, -x[0], -jnp.inf), dim=1)
    assert bool(jnp.all(ppl.initial_positions(half, key, 4, "uniform") > 0))  # redrawn until finite
    with pytest.raises(ModelError, match="not finite"):
        ppl.initial_positions(half, key, 1, np.array([-1.0]))


def _subsampled(x, y, batch_size=None):
    mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
    with ppl.plate("N", x.shape[0], subsample_size=batch_size) as idx:
        ppl.sample("y", dist.Normal(mu + x[idx], 1.0), obs=y[idx])


def test_minibatch_target_evaluates_one_batch_unbiasedly():
    x, y = np.arange(8.0), np.linspace(-1.0, 1.0, 8)
    ld = ppl.logdensity(_subsampled, {"x": x, "y": y, "batch_size": 4}, seed=0)
    rows = np.array([1, 3, 5, 7])
    batch = {"x": jnp.asarray(x[rows]), "y": jnp.asarray(y[rows])}
    t, log_p_batch = ppl.minibatch_target(ld, batch)
    mu = 0.3
    # N / B = 2 times the batch's log likelihood, plus the prior
    expected = (jax.scipy.stats.norm.logpdf(mu)
                + 2.0 * jnp.sum(jax.scipy.stats.norm.logpdf(y[rows], mu + x[rows], 1.0)))
    assert float(t.log_p(jnp.array([mu]))) == pytest.approx(float(expected), rel=1e-12)
    assert float(log_p_batch(jnp.array([mu]), batch)) == float(t.log_p(jnp.array([mu])))
    key = jax.random.PRNGKey(5)
    np.testing.assert_array_equal(t.init(key), ppl.target.UniformStart(1)(key))
