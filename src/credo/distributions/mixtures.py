"""Finite mixtures: ``log p(x) = logsumexp_k(log w_k + log p_k(x))``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from .discrete import Categorical
from .distribution import Distribution
from credo.errors import DistributionError

__all__ = ["MixtureSameFamily", "Mixture"]


class _MixtureBase(Distribution):
    """Mixture logic over a component axis placed just before the event dims.

    Subclasses provide the components' log densities, draws, means and
    variances stacked along that axis (size ``K``).
    """

    arg_constraints = {}

    def _init_mixing(self, mixing_distribution, num_components):
        if not isinstance(mixing_distribution, Categorical):
            raise DistributionError("the mixing distribution must be a Categorical")
        if mixing_distribution.num_categories != num_components:
            raise DistributionError(f"the mixing distribution has {mixing_distribution.num_categories} "
                             f"categories but there are {num_components} components")
        self.mixing_distribution = mixing_distribution

    @property
    def _component_axis(self):
        return -1 - len(self.event_shape)

    def _weights(self, log=False):
        """Mixing (log-)weights shaped ``batch_shape + (K,) + (1,) * event_ndim``."""
        mix = self.mixing_distribution.expand(self.batch_shape)
        w = mix.logits if log else mix.probs
        return w.reshape(w.shape + (1,) * len(self.event_shape))

    def _log_density(self, value):
        component_lp = self._component_log_probs(value)  # (..., batch, K)
        return logsumexp(component_lp + self.mixing_distribution.logits, axis=-1)

    def _sample(self, key, sample_shape):
        k_comp, k_mix = jax.random.split(key)
        draws = self._component_samples(k_comp, sample_shape)
        index = self.mixing_distribution.expand(self.batch_shape).sample(k_mix, sample_shape)
        index = index.reshape(index.shape + (1,) * (len(self.event_shape) + 1))
        return jnp.take_along_axis(draws, index, axis=self._component_axis).squeeze(self._component_axis)

    @property
    def mean(self):
        return jnp.sum(self._weights() * self._component_means(), axis=self._component_axis)

    @property
    def variance(self):
        # law of total variance: E[var_k] + E[mean_k^2] - mean^2
        w, means = self._weights(), self._component_means()
        second = jnp.sum(w * (self._component_variances() + means**2), axis=self._component_axis)
        return second - self.mean**2


class MixtureSameFamily(_MixtureBase):
    """Mixture of the ``K`` components along the last batch axis of one distribution.

    Parameters
    ----------
    mixing_distribution : Categorical
        Weights over ``K`` components, batch shape broadcastable to ``batch_shape``.
    component_distribution : Distribution
        Batch shape ``batch_shape + (K,)``.
    """

    def __init__(self, mixing_distribution, component_distribution, *, validate_args=None):
        if len(component_distribution.batch_shape) < 1:
            raise DistributionError("component_distribution needs a batch axis of components")
        self._init_mixing(mixing_distribution, component_distribution.batch_shape[-1])
        self.component_distribution = component_distribution
        super().__init__(validate_args=validate_args)

    def _pytree_data(self):
        return ("mixing_distribution", "component_distribution")

    @property
    def batch_shape(self):
        return tuple(jnp.broadcast_shapes(self.mixing_distribution.batch_shape,
                                          self.component_distribution.batch_shape[:-1]))

    @property
    def event_shape(self):
        return self.component_distribution.event_shape

    @property
    def support(self):
        return self.component_distribution.support

    def _expanded_components(self):
        num = self.component_distribution.batch_shape[-1]
        return self.component_distribution.expand(self.batch_shape + (num,))

    def _component_log_probs(self, value):
        return self.component_distribution.log_prob(jnp.expand_dims(value, self._component_axis))

    def _component_samples(self, key, sample_shape):
        return self._expanded_components().sample(key, sample_shape)

    def _component_means(self):
        return self._expanded_components().mean

    def _component_variances(self):
        return self._expanded_components().variance

    def _expand(self, batch_shape):
        num = self.component_distribution.batch_shape[-1]
        return MixtureSameFamily(self.mixing_distribution.expand(batch_shape),
                                 self.component_distribution.expand(batch_shape + (num,)))


class Mixture(_MixtureBase):
    """Mixture of a list of distributions with a common event shape.

    Parameters
    ----------
    mixing_distribution : Categorical
        Weights over the ``K = len(components)`` components.
    components : sequence of Distribution
        Batch shapes broadcastable to each other and to the mixing batch shape.
    """

    def __init__(self, mixing_distribution, components, *, validate_args=None):
        components = list(components)
        if not components:
            raise DistributionError("Mixture needs at least one component")
        if len({tuple(c.event_shape) for c in components}) != 1:
            raise DistributionError("Mixture components must share one event_shape")
        self._init_mixing(mixing_distribution, len(components))
        self.components = components
        super().__init__(validate_args=validate_args)

    def _pytree_data(self):
        return ("mixing_distribution", "components")

    @property
    def batch_shape(self):
        shapes = [c.batch_shape for c in self.components]
        return tuple(jnp.broadcast_shapes(self.mixing_distribution.batch_shape, *shapes))

    @property
    def event_shape(self):
        return self.components[0].event_shape

    @property
    def support(self):
        return self.components[0].support

    def _stack(self, arrays):
        return jnp.stack(jnp.broadcast_arrays(*arrays), axis=self._component_axis)

    def _component_log_probs(self, value):
        return jnp.stack(jnp.broadcast_arrays(*(c.log_prob(value) for c in self.components)), -1)

    def _component_samples(self, key, sample_shape):
        keys = jax.random.split(key, len(self.components))
        return self._stack([c.expand(self.batch_shape).sample(k, sample_shape)
                            for c, k in zip(self.components, keys)])

    def _component_means(self):
        return self._stack([c.expand(self.batch_shape).mean for c in self.components])

    def _component_variances(self):
        return self._stack([c.expand(self.batch_shape).variance for c in self.components])

    def _expand(self, batch_shape):
        return Mixture(self.mixing_distribution.expand(batch_shape),
                       [c.expand(batch_shape) for c in self.components])
