"""Discrete distributions.

Families with a success probability accept exactly one of ``probs=`` or
``logits=``; the log mass is computed from the one given, so ``probs`` of
exactly 0 or 1 and large ``|logits|`` are both exact. Draws are integer arrays.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln, xlogy

from . import constraints
from ._util import (as_float, broadcast_params, int_dtype, is_concrete, log_beta,
                    logits_to_probs, probs_to_logits, promote, sample_log_gamma)
from .distribution import Distribution
from credo.errors import DistributionError

__all__ = [
    "Bernoulli",
    "Binomial",
    "Categorical",
    "Multinomial",
    "Poisson",
    "NegativeBinomial",
    "NegativeBinomial2",
    "Geometric",
    "DiscreteUniform",
]


def _xmul(k, log_v):
    """``k * log_v`` with ``0 * log(0) = 0``."""
    return jnp.where(k == 0, 0.0, k * log_v)


def _enumerate(values, dist, expand):
    """Support points ``values`` (shape ``(n,)``) laid out as ``(n,) + batch_shape``."""
    values = values.reshape((-1,) + (1,) * len(dist.batch_shape))
    return jnp.broadcast_to(values, values.shape[:1] + dist.batch_shape) if expand else values


def _uniform_concrete(name, x):
    """The single concrete value of ``x`` (needed to size an enumerated support)."""
    if not is_concrete(x):
        raise DistributionError(f"enumerate_support needs a concrete (non-traced) {name}")
    values = np.unique(np.asarray(x))
    if values.size != 1:
        raise DistributionError(f"enumerate_support needs the same {name} across the batch")
    return values.item()


def _gamma_poisson(key, concentration, scale, shape):
    """Poisson draws whose rate is ``scale * Gamma(concentration, 1)``."""
    k_gamma, k_poisson = jax.random.split(key)
    rate = jnp.exp(sample_log_gamma(k_gamma, concentration, shape)) * scale
    return jax.random.poisson(k_poisson, rate, shape, dtype=int_dtype())


def _neg_binomial_log_prob(k, total_count, log_p, log_1mp):
    # lgamma(k + r) - lgamma(r) - lgamma(k + 1), written to stay exact at k = 0
    log_coef = -jnp.log(k + total_count) - log_beta(total_count, k + 1.0)
    return log_coef + _xmul(k, log_p) + total_count * log_1mp


class _ProbsLogits(Distribution):
    """Shared handling of the ``probs=``/``logits=`` alternatives.

    Both are stored (as pytree leaves); ``_given`` records which one the user
    passed, because only that one is validated and used for the exact log mass.
    """

    _binary = True

    def _resolve(self, probs, logits):
        if (probs is None) == (logits is None):
            raise DistributionError(f"{type(self).__name__}: pass exactly one of probs= or logits=")
        self._given = "probs" if probs is not None else "logits"
        if probs is not None:
            (probs,) = as_float(probs)
            return probs, probs_to_logits(probs, self._binary)
        (logits,) = as_float(logits)
        if not self._binary:
            logits = jax.nn.log_softmax(logits, axis=-1)
        return logits_to_probs(logits, self._binary), logits

    def _checked_params(self):
        unused = {"probs", "logits"} - {self._given}
        return tuple(n for n in self.arg_constraints if n not in unused)

    def _log_p_and_log_1mp(self):
        if self._given == "probs":
            return jnp.log(self.probs), jnp.log1p(-self.probs)
        return -jax.nn.softplus(-self.logits), -jax.nn.softplus(self.logits)


class Bernoulli(_ProbsLogits):
    """Bernoulli law on {0, 1}; ``log p(k) = k log p + (1 - k) log(1 - p)``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.logit}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, *, validate_args=None):
        self.probs, self.logits = promote(*self._resolve(probs, logits))
        super().__init__(self.probs.shape, validate_args=validate_args)

    def _log_prob(self, value):
        log_p, log_1mp = self._log_p_and_log_1mp()
        return _xmul(value, log_p) + _xmul(1 - value, log_1mp)

    def _sample(self, key, sample_shape):
        return jax.random.bernoulli(key, self.probs, self.shape(sample_shape)).astype(int_dtype())

    def enumerate_support(self, expand=True):
        return _enumerate(jnp.arange(2, dtype=int_dtype()), self, expand)

    def support_log_prob(self):
        """``log p(k)`` for ``k = 0, 1``, shape ``(2,) + batch_shape`` (no value broadcast, no support check)."""
        log_p, log_1mp = self._log_p_and_log_1mp()
        return jnp.stack([log_1mp, log_p])

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)


class Binomial(_ProbsLogits):
    """Binomial law; ``log p(k) = log C(n, k) + k log p + (n - k) log(1 - p)``, ``n = total_count``."""

    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.logit}
    has_enumerate_support = True

    _sample_eagerly = True  # jax.random kernels compile once per shape, not per class

    def __init__(self, total_count=1, probs=None, logits=None, *, validate_args=None):
        probs, logits = self._resolve(probs, logits)
        self.total_count, self.probs, self.logits = promote(total_count, probs, logits)
        super().__init__(self.probs.shape, validate_args=validate_args)

    @property
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    def _log_prob(self, value):
        n = self.total_count
        log_p, log_1mp = self._log_p_and_log_1mp()
        # log C(n, k) via betaln stays accurate for n ~ 1e6 where gammaln differences do not
        log_coef = -jnp.log1p(n) - log_beta(n - value + 1, value + 1.0)
        return log_coef + _xmul(value, log_p) + _xmul(n - value, log_1mp)

    def _sample(self, key, sample_shape):
        shape = self.shape(sample_shape)
        draw = jax.random.binomial(key, self.total_count, self.probs, shape, self.probs.dtype)
        return draw.astype(int_dtype())

    def enumerate_support(self, expand=True):
        n = int(_uniform_concrete("total_count", self.total_count))
        return _enumerate(jnp.arange(n + 1, dtype=int_dtype()), self, expand)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)


class Categorical(_ProbsLogits):
    """Categorical law on {0, ..., K-1}; ``log p(k) = log probs[k]``.

    Parameters
    ----------
    probs : array_like, shape ``batch_shape + (K,)``, on the simplex
    logits : array_like, shape ``batch_shape + (K,)``, unnormalized log-probabilities
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.logit_vector}
    has_enumerate_support = True
    _binary = False

    def __init__(self, probs=None, logits=None, *, validate_args=None):
        self.probs, self.logits = self._resolve(probs, logits)
        super().__init__(self.probs.shape[:-1], validate_args=validate_args)

    @property
    def num_categories(self):
        return self.probs.shape[-1]

    @property
    def support(self):
        return constraints.integer_interval(0, self.num_categories - 1)

    def _log_prob(self, value):
        logits = jnp.broadcast_to(self.logits, value.shape + (self.num_categories,))
        index = value.astype(jnp.int32)[..., None]
        return jnp.take_along_axis(logits, index, axis=-1)[..., 0]

    def _sample(self, key, sample_shape):
        shape = self.shape(sample_shape)
        return jax.random.categorical(key, self.logits, shape=shape).astype(int_dtype())

    def enumerate_support(self, expand=True):
        return _enumerate(jnp.arange(self.num_categories, dtype=int_dtype()), self, expand)

    def support_log_prob(self):
        """``log p(k)`` for ``k = 0 .. K-1``, shape ``(K,) + batch_shape``: the log probabilities
        themselves, moved to the front (no value broadcast, no support check)."""
        return jnp.moveaxis(jnp.broadcast_to(self.logits, self.batch_shape + (self.num_categories,)), -1, 0)

    @property
    def mean(self):
        return jnp.full(self.batch_shape, jnp.nan, self.probs.dtype)

    @property
    def variance(self):
        return jnp.full(self.batch_shape, jnp.nan, self.probs.dtype)


class Multinomial(_ProbsLogits):
    """Multinomial counts of ``total_count`` categorical draws.

    ``log p(x) = lgamma(n + 1) - sum(lgamma(x + 1)) + sum(x log probs)``; ``event_shape = (K,)``.
    """

    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.simplex, "logits": constraints.logit_vector}
    _binary = False

    _sample_eagerly = True  # jax.random kernels compile once per shape, not per class

    def __init__(self, total_count=1, probs=None, logits=None, *, validate_args=None):
        probs, logits = self._resolve(probs, logits)
        batch_shape, (self.total_count, self.probs, self.logits) = broadcast_params(
            (total_count, 0), (probs, 1), (logits, 1))
        super().__init__(batch_shape, self.probs.shape[-1:], validate_args=validate_args)

    @property
    def support(self):
        return constraints.multinomial(self.total_count)

    def _log_prob(self, value):
        n = self.total_count
        return gammaln(n + 1) - jnp.sum(gammaln(value + 1.0) - _xmul(value, self.logits), -1)

    def _sample(self, key, sample_shape):
        shape = self.shape(sample_shape)
        draw = jax.random.multinomial(key, self.total_count, self.probs, shape=shape)
        return draw.astype(int_dtype())

    @property
    def mean(self):
        return self.total_count[..., None] * self.probs

    @property
    def variance(self):
        return self.total_count[..., None] * self.probs * (1 - self.probs)


class Poisson(Distribution):
    """Poisson law; ``log p(k) = k log(rate) - rate - lgamma(k + 1)``."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    _sample_eagerly = True  # jax.random kernels compile once per shape, not per class

    def __init__(self, rate, *, validate_args=None):
        (self.rate,) = as_float(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    def _log_prob(self, value):
        # integer counts would make xlogy's derivative rule produce float0 tangents
        value = jnp.asarray(value, self.rate.dtype)
        return xlogy(value, self.rate) - self.rate - gammaln(value + 1.0)

    def _sample(self, key, sample_shape):
        return jax.random.poisson(key, self.rate, self.shape(sample_shape), dtype=int_dtype())

    @property
    def mean(self):
        return self.rate

    @property
    def variance(self):
        return self.rate


class NegativeBinomial(_ProbsLogits):
    """Number of successes (probability ``probs``) before ``total_count`` failures.

    ``log p(k) = log C(k + r - 1, k) + k log p + r log(1 - p)`` with ``r = total_count``
    (NumPyro/PyTorch convention; equals ``scipy.stats.nbinom(r, 1 - p)``).
    Equivalently a Poisson whose rate is ``Gamma(r, (1 - p) / p)``.
    """

    arg_constraints = {"total_count": constraints.positive,
                       "probs": constraints.unit_interval, "logits": constraints.logit}
    support = constraints.nonnegative_integer

    _sample_eagerly = True  # jax.random kernels compile once per shape, not per class

    def __init__(self, total_count, probs=None, logits=None, *, validate_args=None):
        probs, logits = self._resolve(probs, logits)
        self.total_count, self.probs, self.logits = promote(total_count, probs, logits)
        super().__init__(self.probs.shape, validate_args=validate_args)

    def _log_prob(self, value):
        return _neg_binomial_log_prob(value, self.total_count, *self._log_p_and_log_1mp())

    def _sample(self, key, sample_shape):
        return _gamma_poisson(key, self.total_count, jnp.exp(self.logits), self.shape(sample_shape))

    @property
    def mean(self):
        return self.total_count * jnp.exp(self.logits)

    @property
    def variance(self):
        return self.mean / (1 - self.probs)


class NegativeBinomial2(Distribution):
    """Stan's ``neg_binomial_2``: mean ``mean`` and variance ``mean + mean^2 / concentration``.

    ``log p(k) = log C(k + phi - 1, k) + k log(mu / (mu + phi)) + phi log(phi / (mu + phi))``.
    """

    arg_constraints = {"mean": constraints.nonnegative, "concentration": constraints.positive}
    support = constraints.nonnegative_integer
    mean = None  # a plain attribute here: the parameter is the distribution's mean

    _sample_eagerly = True  # jax.random kernels compile once per shape, not per class

    def __init__(self, mean, concentration, *, validate_args=None):
        self.mean, self.concentration = promote(mean, concentration)
        super().__init__(self.mean.shape, validate_args=validate_args)

    def _log_prob(self, value):
        mu, phi = self.mean, self.concentration
        log_p = jnp.log(mu) - jnp.log(mu + phi)
        return _neg_binomial_log_prob(value, phi, log_p, -jnp.log1p(mu / phi))

    def _sample(self, key, sample_shape):
        scale = self.mean / self.concentration
        return _gamma_poisson(key, self.concentration, scale, self.shape(sample_shape))

    @property
    def variance(self):
        return self.mean + self.mean**2 / self.concentration


class Geometric(_ProbsLogits):
    """Number of failures before the first success; ``log p(k) = k log(1 - p) + log p``, k = 0, 1, ..."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.logit}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, *, validate_args=None):
        self.probs, self.logits = promote(*self._resolve(probs, logits))
        super().__init__(self.probs.shape, validate_args=validate_args)

    def _log_prob(self, value):
        log_p, log_1mp = self._log_p_and_log_1mp()
        return _xmul(value, log_1mp) + log_p

    def _sample(self, key, sample_shape):
        _, log_1mp = self._log_p_and_log_1mp()
        tiny = jnp.finfo(self.probs.dtype).tiny
        u = jax.random.uniform(key, self.shape(sample_shape), self.probs.dtype, minval=tiny)
        return jnp.floor(jnp.log(u) / log_1mp).astype(int_dtype())

    @property
    def mean(self):
        return jnp.exp(-self.logits)

    @property
    def variance(self):
        return jnp.exp(-self.logits) / self.probs


class DiscreteUniform(Distribution):
    """Uniform law on the integers ``low, ..., high`` (inclusive); ``log p(k) = -log(high - low + 1)``."""

    arg_constraints = {"low": constraints.integer, "high": constraints.integer}
    has_enumerate_support = True

    def __init__(self, low=0, high=1, *, validate_args=None):
        self.low, self.high = promote(low, high)
        super().__init__(self.low.shape, validate_args=validate_args)

    def _validate_extra(self):
        self._check_param("high", self.high - self.low, constraints.nonnegative)

    @property
    def support(self):
        return constraints.integer_interval(self.low, self.high)

    def _log_prob(self, value):
        return -jnp.log(self.high - self.low + 1) + jnp.zeros_like(value, dtype=self.low.dtype)

    def _sample(self, key, sample_shape):
        u = jax.random.uniform(key, self.shape(sample_shape), self.low.dtype)
        draw = jnp.minimum(self.low + jnp.floor(u * (self.high - self.low + 1)), self.high)
        return draw.astype(int_dtype())

    def enumerate_support(self, expand=True):
        low = _uniform_concrete("low", self.low)
        high = _uniform_concrete("high", self.high)
        return _enumerate(jnp.arange(int(low), int(high) + 1, dtype=int_dtype()), self, expand)

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def variance(self):
        return ((self.high - self.low + 1) ** 2 - 1) / 12
