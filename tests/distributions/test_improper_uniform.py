"""ImproperUniform: a flat, improper density on a constrained support (NumPyro's signature)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import credo
import credo.ppl as ppl
from credo import distributions as dist
from credo.distributions import constraints
from credo.errors import DistributionError


def test_scalar_support_log_prob():
    d = dist.ImproperUniform(constraints.positive, (), ())
    assert d.support is constraints.positive
    assert d.batch_shape == () and d.event_shape == ()
    lp = d.log_prob(2.5)
    assert lp.shape == () and float(lp) == 0.0
    assert float(d.log_prob(-1.0)) == -np.inf
    # a sample_shape of values gives a log density per value
    np.testing.assert_array_equal(d.log_prob(jnp.array([1.0, -1.0, 3.0])), [0.0, -np.inf, 0.0])


def test_batch_shape_broadcasts_with_value():
    d = dist.ImproperUniform(constraints.interval(0.0, 1.0), (3,), ())
    assert d.batch_shape == (3,)
    np.testing.assert_array_equal(d.log_prob(jnp.array([0.5, 1.5, 0.2])), [0.0, -np.inf, 0.0])
    # a scalar value broadcasts to batch_shape
    assert d.log_prob(0.5).shape == (3,)
    # sample_shape + batch_shape
    assert d.log_prob(jnp.full((4, 3), 0.5)).shape == (4, 3)
    assert d.log_prob(jnp.full((4, 1), 0.5)).shape == (4, 3)


def test_event_support_reduces_event_dims():
    d = dist.ImproperUniform(constraints.ordered_vector, (), (3,))
    assert d.support is constraints.ordered_vector
    assert d.batch_shape == () and d.event_shape == (3,)
    assert d.log_prob(jnp.array([-1.0, 0.0, 2.0])).shape == ()
    assert float(d.log_prob(jnp.array([-1.0, 0.0, 2.0]))) == 0.0
    assert float(d.log_prob(jnp.array([0.0, -1.0, 2.0]))) == -np.inf
    values = jnp.array([[-1.0, 0.0, 2.0], [2.0, 1.0, 0.0]])
    np.testing.assert_array_equal(d.log_prob(values), [0.0, -np.inf])

    b = dist.ImproperUniform(constraints.simplex, (2,), (3,))
    p = jnp.array([[0.2, 0.3, 0.5], [0.5, 0.6, -0.1]])
    np.testing.assert_array_equal(b.log_prob(p), [0.0, -np.inf])
    assert b.log_prob(jnp.broadcast_to(p[0], (5, 2, 3))).shape == (5, 2)


def test_extra_event_dims_reinterpret_the_support():
    # as NumPyro: event_shape may have more dims than the support; the support is made independent
    d = dist.ImproperUniform(constraints.positive, (2,), (3,))
    assert d.support.event_dim == 1
    np.testing.assert_array_equal(d.log_prob(jnp.array([[1.0, 2.0, 3.0], [1.0, -2.0, 3.0]])),
                                  [0.0, -np.inf])
    with pytest.raises(DistributionError, match="event_dim"):
        dist.ImproperUniform(constraints.ordered_vector, (2,), ())


def test_sample_raises_and_initial_value_is_in_support():
    d = dist.ImproperUniform(constraints.ordered_vector, (4,), (3,))
    with pytest.raises(dist.ImproperDistributionError):
        d.sample(jax.random.PRNGKey(0))
    x = dist.initial_value(d, jax.random.PRNGKey(0), (2,))
    assert x.shape == (2, 4, 3)
    assert bool(jnp.all(d.support.check(x)))
    assert bool(jnp.all(jnp.isnan(d.mean))) and d.mean.shape == (4, 3)


def test_pytree_jit_vmap_and_expand_keep_shapes():
    d = dist.ImproperUniform(constraints.positive, (4,), ())
    leaves, _ = jax.tree_util.tree_flatten(d)
    assert leaves == []
    out = jax.jit(lambda d: d)(d)
    assert isinstance(out, dist.ImproperUniform)
    assert out.batch_shape == (4,) and out.support is constraints.positive
    lp = jax.jit(lambda d, x: d.log_prob(x))(d, jnp.ones(4))
    np.testing.assert_array_equal(lp, np.zeros(4))
    lp = jax.vmap(lambda x: d.log_prob(x))(jnp.ones((5, 4)))
    assert lp.shape == (5, 4)
    e = dist.ImproperUniform(constraints.ordered_vector, (), (2,)).expand((3,))
    assert e.batch_shape == (3,) and e.event_shape == (2,)
    assert e.log_prob(jnp.array([0.0, 1.0])).shape == (3,)
    e2 = e.expand((4, 3))
    assert e2.batch_shape == (4, 3) and e2.log_prob(jnp.array([0.0, 1.0])).shape == (4, 3)


def test_broadcasts_inside_plate():
    def model(x):
        with ppl.plate("N", 3):
            ppl.sample("x", dist.ImproperUniform(constraints.ordered_vector, (), (2,)), obs=x)

    x = jnp.array([[0.0, 1.0], [1.0, 0.0], [-2.0, 5.0]])
    tr = ppl.trace(ppl.seed(model, 0)).get_trace(x)
    site = tr["x"]
    assert site.fn.batch_shape == (3,) and site.fn.event_shape == (2,)
    np.testing.assert_array_equal(site.fn.log_prob(x), [0.0, -np.inf, 0.0])


def _ordered_normal(K=2, scale=1.0):
    def model():
        mu = ppl.sample("mu", dist.ImproperUniform(constraints.ordered_vector, (), (K,)))
        ppl.factor("mu_prior", dist.Normal(0.0, scale).log_prob(mu).sum())
    return model


def test_logdensity_initialises_and_matches_stan_target():
    ld = ppl.logdensity(_ordered_normal(3, 2.0))
    assert ld.dim == 3
    z = ld.init(jax.random.PRNGKey(0))
    assert z.shape == (3,) and bool(jnp.all(jnp.isfinite(z)))
    assert np.isfinite(float(ld(z)))
    # Stan's target: normal log density at mu = ordered(z) plus the ordered transform's log Jacobian
    t = dist.biject_to(constraints.ordered_vector)
    mu = t(z)
    expected = dist.Normal(0.0, 2.0).log_prob(mu).sum() + t.log_abs_det_jacobian(z, mu)
    np.testing.assert_allclose(float(ld(z)), float(expected), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_nuts_ordered_normal_gives_order_statistics():
    # two iid N(0, 1) conditioned on mu[0] < mu[1]: the order statistics, means -+1/sqrt(pi)
    post = credo.nuts(_ordered_normal(2, 1.0), data={}, chains=2, warmup=500, draws=1000,
                      seed=0, progress=False)
    mu = np.asarray(post.draws["mu"])
    assert mu.shape == (2, 1000, 2)
    assert np.all(mu[..., 0] < mu[..., 1])
    table = credo.diagnostics.summary({"mu": mu})
    expected = np.array([-1.0, 1.0]) / np.sqrt(np.pi)
    means = table["mean"].to_numpy()
    mcse = table["mcse_mean"].to_numpy()
    assert np.all(np.abs(means - expected) < 4 * mcse), (means, mcse)
