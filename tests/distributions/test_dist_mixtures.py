"""Mixture log densities against a manual log-sum-exp, and sampling shapes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.special import logsumexp

from credo import distributions as dist

KEY = jax.random.PRNGKey(11)


def test_mixture_same_family_scalar_components():
    w = jnp.array([[0.2, 0.8], [0.6, 0.4]])
    comps = dist.Normal(jnp.array([[-1.0, 2.0], [0.0, 5.0]]), jnp.array([[0.5, 1.0], [2.0, 0.1]]))
    mix = dist.MixtureSameFamily(dist.Categorical(probs=w), comps)
    assert mix.batch_shape == (2,) and mix.event_shape == ()
    x = jnp.linspace(-3, 6, 7)[:, None]
    manual = logsumexp(jnp.log(w) + comps.log_prob(x[..., None]), axis=-1)
    np.testing.assert_allclose(jax.jit(lambda m, v: m.log_prob(v))(mix, x), manual, rtol=1e-12)
    assert mix.sample(KEY, (5,)).shape == (5, 2)


def test_mixture_same_family_vector_components():
    locs = jnp.array([[0.0, 0.0], [3.0, -1.0], [-2.0, 4.0]])
    comps = dist.MultivariateNormal(locs, scale_tril=jnp.eye(2) * jnp.array([1.0, 0.5, 2.0])[:, None, None])
    w = jnp.array([0.5, 0.3, 0.2])
    mix = dist.MixtureSameFamily(dist.Categorical(probs=w), comps)
    assert mix.batch_shape == () and mix.event_shape == (2,)
    x = jnp.array([[0.1, 0.2], [3.0, -1.0], [10.0, 10.0]])
    manual = logsumexp(jnp.log(w) + comps.log_prob(x[:, None, :]), axis=-1)
    np.testing.assert_allclose(mix.log_prob(x), manual, rtol=1e-12)
    draws = mix.sample(KEY, (4,))
    assert draws.shape == (4, 2)
    np.testing.assert_allclose(mix.mean, w @ locs, rtol=1e-12)
    assert mix.expand((3,)).batch_shape == (3,)


def test_mixture_of_different_families():
    w = jnp.array([0.3, 0.7])
    comps = [dist.Normal(0.0, 1.0), dist.StudentT(3.0, 2.0, 0.5)]
    mix = dist.Mixture(dist.Categorical(probs=w), comps)
    x = jnp.array([-2.0, 0.0, 1.9, 25.0])
    manual = logsumexp(jnp.log(w) + jnp.stack([c.log_prob(x) for c in comps], -1), axis=-1)
    np.testing.assert_allclose(jax.jit(lambda m, v: m.log_prob(v))(mix, x), manual, rtol=1e-12)
    sampled = dist.Mixture(dist.Categorical(probs=w), [dist.Normal(0.0, 1.0), dist.Laplace(5.0, 1.0)])
    assert sampled.expand((2,)).sample(KEY, (3,)).shape == (3, 2)


def test_mixture_with_disjoint_supports_has_no_nan():
    mix = dist.Mixture(dist.Categorical(probs=jnp.array([0.5, 0.5])),
                       [dist.Exponential(1.0), dist.Uniform(-2.0, -1.0)])
    lp = np.asarray(mix.log_prob(jnp.array([-1.5, 1.0, -5.0])))
    np.testing.assert_allclose(lp, [np.log(0.5), np.log(0.5) - 1.0, -np.inf])


def test_mixture_argument_checks():
    with pytest.raises(ValueError, match="Categorical"):
        dist.MixtureSameFamily(dist.Bernoulli(probs=0.5), dist.Normal(jnp.zeros(2), 1.0))
    with pytest.raises(ValueError, match="components"):
        dist.MixtureSameFamily(dist.Categorical(probs=jnp.ones(3) / 3), dist.Normal(jnp.zeros(2), 1.0))
    with pytest.raises(ValueError, match="event_shape"):
        dist.Mixture(dist.Categorical(probs=jnp.ones(2) / 2),
                     [dist.Normal(0.0, 1.0), dist.Dirichlet(jnp.ones(2))])
