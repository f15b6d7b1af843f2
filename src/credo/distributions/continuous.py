"""Univariate continuous distributions (Stan/NumPyro parameterizations).

Parameters broadcast against each other; ``batch_shape`` is their broadcast
shape and ``event_shape`` is ``()``. All samplers except VonMises are
reparameterized, so gradients flow from a draw to the parameters.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.special import gammaln, i0e, i1e, xlog1py, xlogy

from . import constraints
from ._util import log_beta, log_gamma_half_ratio, promote, sample_beta, sample_log_gamma
from .distribution import Distribution

__all__ = [
    "Normal",
    "HalfNormal",
    "Cauchy",
    "HalfCauchy",
    "StudentT",
    "Laplace",
    "Logistic",
    "LogNormal",
    "Exponential",
    "Gamma",
    "InverseGamma",
    "Beta",
    "Uniform",
    "Weibull",
    "VonMises",
]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_LOG_2 = math.log(2.0)


class _Scalar(Distribution):
    """Shared constructor: store ``arg_constraints`` parameters, promoted and broadcast."""

    has_rsample = True

    def __init__(self, *params, validate_args=None):
        values = promote(*params)
        for name, value in zip(self.arg_constraints, values):
            setattr(self, name, value)
        super().__init__(values[0].shape, validate_args=validate_args)

    @property
    def _dtype(self):
        return getattr(self, next(iter(self.arg_constraints))).dtype

    def _std_draw(self, sampler, key, sample_shape, **kwargs):
        return sampler(key, shape=self.shape(sample_shape), dtype=self._dtype, **kwargs)


class _LocScale(_Scalar):
    """``x = loc + scale * z`` with ``z`` from a standard symmetric family on the real line."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    _guard_support = False

    def __init__(self, loc=0.0, scale=1.0, *, validate_args=None):
        super().__init__(loc, scale, validate_args=validate_args)

    def _log_prob(self, value):
        return self._std_log_prob((value - self.loc) / self.scale) - jnp.log(self.scale)

    def _sample(self, key, sample_shape):
        return self.loc + self.scale * self._std_sample(key, sample_shape)


class Normal(_LocScale):
    """Normal law; ``log p(x) = -((x - loc) / scale)^2 / 2 - log(scale) - log(2 pi) / 2``.

    Parameters
    ----------
    loc, scale : array_like
        Mean and standard deviation (``scale > 0``).
    """

    @staticmethod
    def _std_log_prob(z):
        return -0.5 * z * z - _HALF_LOG_2PI

    def _std_sample(self, key, sample_shape):
        return self._std_draw(jax.random.normal, key, sample_shape)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return self.scale**2


class Cauchy(_LocScale):
    """Cauchy law; ``log p(x) = -log(pi scale) - log(1 + ((x - loc) / scale)^2)``.

    Parameters
    ----------
    loc, scale : array_like
        Median and half width at half maximum (``scale > 0``).
    """

    @staticmethod
    def _std_log_prob(z):
        return -math.log(math.pi) - jnp.log1p(z * z)

    def _std_sample(self, key, sample_shape):
        return self._std_draw(jax.random.cauchy, key, sample_shape)

    @property
    def mean(self):
        return jnp.full(self.batch_shape, jnp.nan, self._dtype)

    @property
    def variance(self):
        return jnp.full(self.batch_shape, jnp.inf, self._dtype)


class Laplace(_LocScale):
    """Laplace (double exponential) law; ``log p(x) = -log(2 scale) - |x - loc| / scale``."""

    @staticmethod
    def _std_log_prob(z):
        return -_LOG_2 - jnp.abs(z)

    def _std_sample(self, key, sample_shape):
        return self._std_draw(jax.random.laplace, key, sample_shape)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale**2


class Logistic(_LocScale):
    """Logistic law; with ``z = (x - loc) / scale``, ``log p(x) = -z - 2 log(1 + e^-z) - log(scale)``."""

    @staticmethod
    def _std_log_prob(z):
        return -z - 2 * jax.nn.softplus(-z)

    def _std_sample(self, key, sample_shape):
        return self._std_draw(jax.random.logistic, key, sample_shape)

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return (math.pi**2 / 3) * self.scale**2


class StudentT(_LocScale):
    """Student's t law with ``df`` degrees of freedom, location ``loc`` and scale ``scale``.

    ``log p(x) = lgamma((df+1)/2) - lgamma(df/2) - log(pi df)/2 - log(scale) - (df+1)/2 log(1 + z^2/df)``.
    """

    arg_constraints = {"df": constraints.positive, "loc": constraints.real,
                       "scale": constraints.positive}

    _sample_eagerly = True  # jax.random kernels compile once per shape, not per class

    def __init__(self, df, loc=0.0, scale=1.0, *, validate_args=None):
        _Scalar.__init__(self, df, loc, scale, validate_args=validate_args)

    def _std_log_prob(self, z):
        df = self.df
        # lgamma((df+1)/2) - lgamma(df/2) cancels badly for large df; use the stable ratio
        norm = log_gamma_half_ratio(0.5 * df) - 0.5 * jnp.log(math.pi * df)
        return norm - 0.5 * (df + 1) * jnp.log1p(z * z / df)

    def _std_sample(self, key, sample_shape):
        k_norm, k_gamma = jax.random.split(key)
        half_df = 0.5 * self.df
        # z / sqrt(chi2_df / df) with chi2_df / df = Gamma(df/2, 1) / (df/2)
        log_scale = 0.5 * (jnp.log(half_df) - sample_log_gamma(k_gamma, half_df, self.shape(sample_shape)))
        return self._std_draw(jax.random.normal, k_norm, sample_shape) * jnp.exp(log_scale)

    @property
    def mean(self):
        return jnp.where(self.df > 1, self.loc, jnp.nan)

    @property
    def variance(self):
        var = self.scale**2 * self.df / jnp.where(self.df > 2, self.df - 2, 1.0)
        return jnp.where(self.df > 2, var, jnp.where(self.df > 1, jnp.inf, jnp.nan))


class _Half(_Scalar):
    """``|x|`` for ``x`` from a zero-centred ``_LocScale`` family ``_base`` with scale ``scale``."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    _base = None

    def __init__(self, scale=1.0, *, validate_args=None):
        super().__init__(scale, validate_args=validate_args)

    def _log_prob(self, value):
        return _LOG_2 + self._base._std_log_prob(value / self.scale) - jnp.log(self.scale)

    def _sample(self, key, sample_shape):
        return self.scale * jnp.abs(self._base._std_sample(self, key, sample_shape))


class HalfNormal(_Half):
    """Half-normal law; ``log p(x) = log 2 + log Normal(x | 0, scale)`` for ``x >= 0``."""

    _base = Normal

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self):
        return self.scale**2 * (1 - 2 / math.pi)


class HalfCauchy(_Half):
    """Half-Cauchy law; ``log p(x) = log 2 + log Cauchy(x | 0, scale)`` for ``x >= 0``."""

    _base = Cauchy

    @property
    def mean(self):
        return jnp.full(self.batch_shape, jnp.inf, self._dtype)

    @property
    def variance(self):
        return jnp.full(self.batch_shape, jnp.inf, self._dtype)


class LogNormal(_Scalar):
    """``exp`` of a Normal(loc, scale) variable; ``log p(x) = log Normal(log x | loc, scale) - log x``."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive

    def __init__(self, loc=0.0, scale=1.0, *, validate_args=None):
        super().__init__(loc, scale, validate_args=validate_args)

    def _log_prob(self, value):
        log_x = jnp.log(value)
        z = (log_x - self.loc) / self.scale
        return Normal._std_log_prob(z) - jnp.log(self.scale) - log_x

    def _sample(self, key, sample_shape):
        return jnp.exp(self.loc + self.scale * self._std_draw(jax.random.normal, key, sample_shape))

    @property
    def mean(self):
        return jnp.exp(self.loc + 0.5 * self.scale**2)

    @property
    def variance(self):
        s2 = self.scale**2
        return jnp.expm1(s2) * jnp.exp(2 * self.loc + s2)


class Exponential(_Scalar):
    """Exponential law with ``rate``; ``log p(x) = log(rate) - rate x`` for ``x >= 0``."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative

    def __init__(self, rate=1.0, *, validate_args=None):
        super().__init__(rate, validate_args=validate_args)

    def _log_prob(self, value):
        return jnp.log(self.rate) - self.rate * value

    def _sample(self, key, sample_shape):
        return self._std_draw(jax.random.exponential, key, sample_shape) / self.rate

    @property
    def mean(self):
        return 1 / self.rate

    @property
    def variance(self):
        return self.rate**-2


class Gamma(_Scalar):
    """Gamma law (shape ``concentration``, inverse scale ``rate``).

    ``log p(x) = a log(b) - lgamma(a) + (a - 1) log(x) - b x`` with ``a = concentration``, ``b = rate``.
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive

    _sample_eagerly = True  # jax.random kernels compile once per shape, not per class

    def __init__(self, concentration, rate=1.0, *, validate_args=None):
        super().__init__(concentration, rate, validate_args=validate_args)

    def _log_prob(self, value):
        a, b = self.concentration, self.rate
        return xlogy(a, b) - gammaln(a) + xlogy(a - 1, value) - b * value

    def _log_standard_gamma(self, key, sample_shape):
        return sample_log_gamma(key, self.concentration, self.shape(sample_shape))

    def _sample(self, key, sample_shape):
        return jnp.exp(self._log_standard_gamma(key, sample_shape)) / self.rate

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def variance(self):
        return self.concentration / self.rate**2


class InverseGamma(Gamma):
    """``1 / X`` for ``X ~ Gamma(concentration, rate)``; ``rate`` is the scale of the result.

    ``log p(x) = a log(b) - lgamma(a) - (a + 1) log(x) - b / x``.
    """

    def _log_prob(self, value):
        a, b = self.concentration, self.rate
        return xlogy(a, b) - gammaln(a) - (a + 1) * jnp.log(value) - b / value

    def _sample(self, key, sample_shape):
        return self.rate * jnp.exp(-self._log_standard_gamma(key, sample_shape))

    @property
    def mean(self):
        a = self.concentration
        return jnp.where(a > 1, self.rate / jnp.where(a > 1, a - 1, 1.0), jnp.inf)

    @property
    def variance(self):
        a = self.concentration
        am1 = jnp.where(a > 2, a - 1, 2.0)
        return jnp.where(a > 2, self.rate**2 / (am1**2 * (am1 - 1)), jnp.inf)


class Beta(_Scalar):
    """Beta law on [0, 1]; ``log p(x) = (a-1) log x + (b-1) log(1-x) - log B(a, b)``.

    Parameters
    ----------
    concentration1, concentration0 : array_like
        ``a`` (weight of 1) and ``b`` (weight of 0), both positive.
    """

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval

    _sample_eagerly = True  # jax.random kernels compile once per shape, not per class

    def __init__(self, concentration1, concentration0, *, validate_args=None):
        super().__init__(concentration1, concentration0, validate_args=validate_args)

    def _log_prob(self, value):
        a, b = self.concentration1, self.concentration0
        return xlogy(a - 1, value) + xlog1py(b - 1, -value) - log_beta(a, b)

    def _sample(self, key, sample_shape):
        return sample_beta(key, self.concentration1, self.concentration0, self.shape(sample_shape))

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        total = a + b
        return a * b / (total**2 * (total + 1))


class Uniform(_Scalar):
    """Uniform law on ``[low, high]``; ``log p(x) = -log(high - low)``."""

    arg_constraints = {"low": constraints.real, "high": constraints.real}

    def __init__(self, low=0.0, high=1.0, *, validate_args=None):
        super().__init__(low, high, validate_args=validate_args)

    def _validate_extra(self):
        self._check_param("high", self.high - self.low, constraints.positive)

    @property
    def support(self):
        return constraints.interval(self.low, self.high)

    def _log_prob(self, value):
        return -jnp.log(self.high - self.low) + jnp.zeros_like(value)

    def _sample(self, key, sample_shape):
        u = self._std_draw(jax.random.uniform, key, sample_shape)
        return self.low + (self.high - self.low) * u

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12


class Weibull(_Scalar):
    """Weibull law; with ``k = concentration``, ``log p(x) = log(k/scale) + (k-1) log(x/scale) - (x/scale)^k``."""

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive

    def __init__(self, scale, concentration, *, validate_args=None):
        super().__init__(scale, concentration, validate_args=validate_args)

    def _log_prob(self, value):
        k, z = self.concentration, value / self.scale
        return jnp.log(k / self.scale) + xlogy(k - 1, z) - z**k

    def _sample(self, key, sample_shape):
        e = self._std_draw(jax.random.exponential, key, sample_shape)
        return self.scale * e ** (1 / self.concentration)

    @property
    def mean(self):
        return self.scale * jnp.exp(gammaln(1 + 1 / self.concentration))

    @property
    def variance(self):
        k = self.concentration
        return self.scale**2 * (jnp.exp(gammaln(1 + 2 / k)) - jnp.exp(2 * gammaln(1 + 1 / k)))


class VonMises(_Scalar):
    """Von Mises (circular normal) law on ``[-pi, pi]``.

    ``log p(x) = concentration cos(x - loc) - log(2 pi I0(concentration))``.
    ``mean`` is the circular mean ``loc`` and ``variance`` the circular variance
    ``1 - I1(k) / I0(k)``. Sampling uses Best & Fisher's rejection scheme and is
    not reparameterized.
    """

    arg_constraints = {"loc": constraints.real, "concentration": constraints.nonnegative}
    support = constraints.interval(-math.pi, math.pi)
    has_rsample = False

    def __init__(self, loc, concentration, *, validate_args=None):
        super().__init__(loc, concentration, validate_args=validate_args)

    def _log_prob(self, value):
        k = self.concentration
        # i0e(k) = exp(-k) I0(k) keeps large concentrations finite
        return k * (jnp.cos(value - self.loc) - 1) - math.log(2 * math.pi) - jnp.log(i0e(k))

    def _sample(self, key, sample_shape):
        shape = self.shape(sample_shape)
        kappa = jnp.broadcast_to(self.concentration, shape)
        theta = _von_mises_centered(key, kappa, self._dtype)
        return jnp.remainder(theta + self.loc + math.pi, 2 * math.pi) - math.pi

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        k = self.concentration
        return 1 - i1e(k) / i0e(k)


def _von_mises_centered(key, kappa, dtype):
    """Best & Fisher (1979) rejection sampler for VonMises(0, kappa), elementwise."""
    kappa = jnp.maximum(kappa, 1e-12)  # kappa -> 0 is the uniform law; avoid 0/0 below
    s = jnp.sqrt(1 + 4 * kappa**2)
    tau = 1 + s
    # rho = (tau - sqrt(2 tau)) / (2 kappa), rewritten without cancellation for small kappa
    rho = 2 * kappa * tau / ((s + 1) * (tau + jnp.sqrt(2 * tau)))
    r = (1 + rho**2) / (2 * rho)

    def cond(state):
        return ~jnp.all(state[1])

    def body(state):
        key, done, theta = state
        key, k1, k2, k3 = jax.random.split(key, 4)
        u1, u2, u3 = (jax.random.uniform(k, kappa.shape, dtype) for k in (k1, k2, k3))
        z = jnp.cos(math.pi * u1)
        f = (1 + r * z) / (r + z)
        c = kappa * (r - f)
        accept = (c * (2 - c) - u2 > 0) | (jnp.log(c / u2) + 1 - c >= 0)
        new = jnp.sign(u3 - 0.5) * jnp.arccos(jnp.clip(f, -1, 1))
        take = accept & ~done
        return key, done | accept, jnp.where(take, new, theta)

    init = (key, jnp.zeros(kappa.shape, bool), jnp.zeros(kappa.shape, dtype))
    return lax.while_loop(cond, body, init)[2]
