"""Shapes, pytree/jit/vmap/grad behaviour, validation, improper laws and enumeration."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import credo
from jax.scipy.special import logsumexp

from credo import distributions as dist

KEY = jax.random.PRNGKey(3)
log_prob = jax.jit(lambda d, x: d.log_prob(x))


def test_all_names_exported():
    for name in dist.__all__:
        assert hasattr(dist, name), name


@pytest.mark.parametrize("make, x", [
    (lambda: dist.Normal(jnp.arange(3.0), 2.0), jnp.array([0.5, 1.0, -1.0])),
    (lambda: dist.Gamma(jnp.array([1.0, 2.0, 3.0]), 2.0), jnp.array([0.5, 1.0, 3.0])),
    (lambda: dist.Categorical(logits=jnp.log(jnp.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]]))),
     jnp.array([1, 0, 1])),
    (lambda: dist.MultivariateNormal(jnp.zeros((3, 2)), scale_tril=jnp.eye(2) * 2.0), jnp.ones((3, 2))),
    (lambda: dist.Dirichlet(jnp.ones((3, 4))), jnp.full((3, 4), 0.25)),
    (lambda: dist.Binomial(10, probs=jnp.array([0.1, 0.5, 0.9])), jnp.array([1, 5, 9])),
])
def test_jit_and_vmap_over_log_prob(make, x):
    d = make()
    eager = d.log_prob(x)
    np.testing.assert_allclose(log_prob(d, x), eager, rtol=1e-12)
    # vmap over the distribution itself: each leaf is mapped along its batch axis
    np.testing.assert_allclose(jax.vmap(lambda di, xi: di.log_prob(xi))(d, x), eager, rtol=1e-12)


def test_distributions_can_be_returned_from_jit():
    d = jax.jit(lambda loc: dist.Normal(loc, 1.0).expand((2, 3)).to_event(1))(jnp.zeros(3))
    assert isinstance(d, dist.Independent) and d.batch_shape == (2,) and d.event_shape == (3,)
    np.testing.assert_allclose(d.log_prob(jnp.zeros(3)), np.full(2, -1.5 * np.log(2 * np.pi)))


def test_vmap_recomputes_batch_shape():
    d = dist.Normal(jnp.zeros((4, 3)), 1.0)
    shapes = []
    jax.vmap(lambda di: shapes.append(di.batch_shape) or di.log_prob(0.0))(d)
    assert shapes == [(3,)]


def test_grad_through_normal_sample():
    eps = jax.random.normal(KEY, (5,))

    def f(loc, scale):
        return jnp.sum(dist.Normal(loc, scale).sample(KEY, (5,)))

    g_loc, g_scale = jax.grad(f, argnums=(0, 1))(0.3, 2.0)
    np.testing.assert_allclose(g_loc, 5.0)
    np.testing.assert_allclose(g_scale, jnp.sum(eps), rtol=1e-12)


def test_gamma_implicit_reparameterization_gradient():
    # d/da E[x] = 1 / rate, estimated by the mean pathwise gradient within 5 standard errors
    a, n = 1.7, 20_000
    per_draw = np.asarray(jax.jit(jax.jacfwd(lambda a: dist.Gamma(a, 2.0).sample(KEY, (n,))))(a))
    assert abs(per_draw.mean() - 0.5) < 5 * per_draw.std() / np.sqrt(n)


def test_out_of_support_gradients_are_finite():
    def lp(a, x):
        return dist.Beta(a, 2.0).log_prob(x)

    g = jax.grad(lp)(1.5, -0.5)
    assert float(lp(1.5, -0.5)) == -np.inf and np.isfinite(g)
    g = jax.grad(lambda r: dist.Poisson(r).log_prob(-1.0))(2.0)
    assert np.isfinite(g)


def test_expand():
    d = dist.Normal(jnp.array([0.0, 1.0]), 1.0).expand((3, 2))
    assert d.batch_shape == (3, 2) and d.loc.shape == (3, 2)
    assert d.sample(KEY, (4,)).shape == (4, 3, 2)
    assert d.log_prob(0.0).shape == (3, 2)
    mvn = dist.MultivariateNormal(jnp.zeros(2), covariance_matrix=jnp.eye(2)).expand((5,))
    assert mvn.batch_shape == (5,) and mvn.event_shape == (2,) and mvn.log_prob(jnp.zeros(2)).shape == (5,)
    cat = dist.Categorical(probs=jnp.array([0.3, 0.7])).expand((4,))
    assert cat.batch_shape == (4,) and cat.probs.shape == (4, 2)
    with pytest.raises(ValueError):
        d.expand((4,))


def test_to_event_and_independent():
    base = dist.Normal(jnp.zeros((3, 2)), 1.0)
    d = base.to_event(1)
    assert d.batch_shape == (3,) and d.event_shape == (2,)
    x = jnp.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(d.log_prob(x), base.log_prob(x).sum(-1))
    full = base.to_event()
    assert full.batch_shape == () and full.event_shape == (3, 2)
    assert full.support.event_dim == 2
    expanded = d.expand((4, 3))
    assert expanded.batch_shape == (4, 3) and expanded.event_shape == (2,)
    with pytest.raises(ValueError):
        base.to_event(3)


def test_mask():
    d = dist.Normal(jnp.zeros(3), 1.0)
    mask = jnp.array([True, False, True])
    lp = d.mask(mask).log_prob(jnp.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(lp, [d.log_prob(1.0)[0], 0.0, d.log_prob(3.0)[0]])
    assert d.mask(True) is d
    np.testing.assert_allclose(d.mask(False).log_prob(jnp.ones(3)), np.zeros(3))
    # masking out an impossible value yields 0, not NaN, and the mask broadcasts the batch
    masked = dist.Exponential(1.0).mask(jnp.array([False, True]))
    assert masked.batch_shape == (2,)
    np.testing.assert_allclose(masked.log_prob(jnp.array([-1.0, 1.0])), [0.0, -1.0])
    assert jax.jit(lambda m, x: m.log_prob(x))(masked, jnp.ones(2)).shape == (2,)


@pytest.mark.parametrize("build, name", [
    (lambda: dist.Normal(0.0, -1.0, validate_args=True), "scale"),
    (lambda: dist.Beta(1.0, jnp.array([1.0, 0.0]), validate_args=True), "concentration0"),
    (lambda: dist.Bernoulli(probs=1.5, validate_args=True), "probs"),
    (lambda: dist.Binomial(2.5, probs=0.5, validate_args=True), "total_count"),
    (lambda: dist.Uniform(1.0, 0.0, validate_args=True), "high"),
    (lambda: dist.Dirichlet(jnp.array([1.0, -1.0]), validate_args=True), "concentration"),
    (lambda: dist.Categorical(probs=jnp.array([0.5, 0.6]), validate_args=True), "probs"),
    (lambda: dist.MultivariateNormal(jnp.zeros(2), covariance_matrix=jnp.array([[1.0, 2.0], [2.0, 1.0]]),
                                     validate_args=True), "covariance_matrix"),
    (lambda: dist.LKJCholesky(3, 0.0, validate_args=True), "concentration"),
])
def test_validate_args_raises_naming_the_parameter(build, name):
    with pytest.raises(ValueError, match=repr(name)):
        build()


def test_validation_is_on_for_concrete_values_and_skipped_under_tracing():
    """Issue 21: Normal(0, 0).log_prob(1) was a silent NaN; concrete parameters are now checked."""
    for scale in (0.0, -1.0, jnp.nan):
        with pytest.raises(credo.DistributionError, match="'scale'"):
            dist.Normal(0.0, scale)
    assert np.isnan(dist.Normal(0.0, -1.0, validate_args=False).log_prob(0.0))  # opted out
    out = jax.jit(lambda s: dist.Normal(0.0, s, validate_args=True).log_prob(0.0))(-1.0)
    assert out.shape == ()
    dist.Bernoulli(logits=3.0, validate_args=True)
    # zero probabilities are valid: -inf logits, +-inf binary log-odds
    dist.Categorical(logits=jnp.array([0.0, -jnp.inf]))
    dist.Bernoulli(logits=jnp.array([-jnp.inf, jnp.inf]))
    with pytest.raises(credo.DistributionError, match="'logits'"):
        dist.Categorical(logits=jnp.array([-jnp.inf, -jnp.inf]))


def test_probs_logits_exclusive():
    with pytest.raises(ValueError, match="exactly one"):
        dist.Bernoulli()
    with pytest.raises(ValueError, match="exactly one"):
        dist.Categorical(probs=jnp.ones(2) / 2, logits=jnp.zeros(2))
    d = dist.Categorical(logits=jnp.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(d.probs, jax.nn.softmax(jnp.array([1.0, 2.0, 3.0])))


def test_improper_flat_and_half_flat():
    flat = dist.Flat()
    np.testing.assert_allclose(flat.log_prob(jnp.array([-1e9, 0.0, 3.0])), np.zeros(3))
    half = dist.HalfFlat().expand((2, 3)).to_event(1)
    assert half.batch_shape == (2,) and half.event_shape == (3,)
    lp = half.log_prob(jnp.array([[1.0, 2.0, 3.0], [1.0, -2.0, 3.0]]))
    np.testing.assert_allclose(lp, [0.0, -np.inf])
    for d in (flat, half):
        with pytest.raises(dist.ImproperDistributionError, match="improper"):
            d.sample(KEY)
        with pytest.raises(NotImplementedError):
            d.sample(KEY)
    init = dist.initial_value(half, KEY, (4,))
    assert init.shape == (4, 2, 3) and np.all(np.asarray(init) > 0)


@pytest.mark.parametrize("d", [
    dist.Flat(), dist.HalfFlat(), dist.Dirichlet(jnp.ones(3)), dist.LKJCholesky(3, 2.0),
    dist.Uniform(-1.0, jnp.array([0.0, 5.0])), dist.MultivariateNormal(jnp.zeros(2), scale_tril=jnp.eye(2)),
], ids=lambda d: type(d).__name__)
def test_initial_value_lies_in_support(d):
    x = dist.initial_value(d, KEY, (3,))
    assert x.shape == d.shape((3,))
    assert np.all(np.isfinite(np.asarray(d.log_prob(x))))


@pytest.mark.parametrize("d, n", [
    (dist.Bernoulli(probs=jnp.array([0.2, 0.9])), 2),
    (dist.Categorical(probs=jnp.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])), 3),
    (dist.Binomial(4, probs=jnp.array([0.2, 0.6])), 5),
    (dist.DiscreteUniform(-1, 2), 4),
], ids=lambda v: type(v).__name__ if isinstance(v, dist.Distribution) else str(v))
def test_enumerate_support_sums_to_one(d, n):
    values = d.enumerate_support()
    assert d.has_enumerate_support and values.shape == (n,) + d.batch_shape
    assert d.enumerate_support(expand=False).shape == (n,) + (1,) * len(d.batch_shape)
    np.testing.assert_allclose(logsumexp(d.log_prob(values), axis=0), np.zeros(d.batch_shape), atol=1e-12)


def test_enumerate_support_needs_uniform_total_count():
    with pytest.raises(ValueError, match="total_count"):
        dist.Binomial(jnp.array([2.0, 3.0]), probs=0.5).enumerate_support()


def test_delta():
    d = dist.Delta(jnp.array([1.0, 2.0]), log_density=0.5)
    np.testing.assert_allclose(d.log_prob(jnp.array([1.0, 3.0])), [0.5, -np.inf])
    v = dist.Delta(jnp.ones((2, 3)), event_dim=1)
    assert v.batch_shape == (2,) and v.event_shape == (3,)
    np.testing.assert_allclose(v.log_prob(jnp.array([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0]])), [0.0, -np.inf])
    assert v.sample(KEY, (4,)).shape == (4, 2, 3)
    assert jax.grad(lambda m: dist.Delta(m).sample(KEY))(2.0) == 1.0


def test_out_of_support_is_minus_inf_not_nan():
    cases = [
        (dist.Poisson(3.0), [-1.0, 0.5, 2.5]),
        (dist.Binomial(5, logits=0.3), [-1.0, 6.0, 2.5]),
        (dist.Geometric(probs=0.3), [-2.0, 1.5]),
        (dist.Uniform(0.0, 1.0), [-0.1, 1.1]),
        (dist.LogNormal(0.0, 1.0), [-1.0, 0.0]),
        (dist.Gamma(2.0, 1.0), [-1.0, 0.0]),
        (dist.InverseGamma(2.0, 1.0), [-1.0, 0.0]),
        (dist.Weibull(1.0, 2.0), [-1.0]),
        (dist.VonMises(0.0, 1.0), [-4.0, 4.0]),
        (dist.Categorical(probs=jnp.array([0.5, 0.5])), [-1.0, 2.0, 0.5]),
        (dist.NegativeBinomial2(2.0, 3.0), [-1.0, 0.5]),
        (dist.DiscreteUniform(0, 3), [-1.0, 4.0, 1.5]),
    ]
    for d, xs in cases:
        out = np.asarray(d.log_prob(jnp.array(xs)))
        assert np.all(out == -np.inf), (type(d).__name__, out)


def test_validation_of_constants_inside_jit_does_not_touch_tracers():
    """A distribution built from constants inside a jitted function (cavi.md did this) validates them
    at trace time instead of converting a staged check to numpy."""
    out = jax.jit(lambda x: dist.Dirichlet(jnp.ones(3)).log_prob(x))(jnp.ones(3) / 3)
    assert np.isfinite(out)
