r"""The continuous Bernoulli distribution (Loaiza-Ganem & Cunningham 2019).

.. math::

    p(x \mid \eta) = C(\eta)\,\lambda^x (1 - \lambda)^{1 - x}, \qquad x \in [0, 1],
    \quad \lambda = \operatorname{sigmoid}(\eta), \quad C(\eta) = \frac{\eta}{\tanh(\eta / 2)}.

At :math:`\eta = 0` (:math:`\lambda = 1/2`, the uniform law) the closed forms of
the normaliser, the mean and the inverse CDF are 0/0; below :data:`TAYLOR_BELOW`
they are replaced by their Taylor series, through the one guard :func:`_near_zero`.

References
----------
Loaiza-Ganem, G., & Cunningham, J. P. (2019). The continuous Bernoulli: fixing
a pervasive error in variational autoencoders. *NeurIPS*.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from . import constraints
from ._util import as_float, logits_to_probs, probs_to_logits, promote
from .distribution import Distribution
from credo.errors import DistributionError

__all__ = ["ContinuousBernoulli", "log_prob", "mean", "variance", "icdf", "TAYLOR_BELOW"]

#: Below this :math:`|\eta|` the closed forms are 0/0 (or lose all digits): use Taylor series.
TAYLOR_BELOW = 1e-2
#: The variance's closed form cancels two terms of size :math:`1/\eta^2`: its series takes
#: over earlier (float32 keeps ~1e-5 relative accuracy above this; the series' next term is
#: below 1e-7 here).
_VARIANCE_TAYLOR_BELOW = 0.3
_LOG_2 = math.log(2.0)


def _near_zero(eta, exact, series, threshold=TAYLOR_BELOW):
    """``series(eta)`` where ``|eta| < threshold``, else ``exact(eta)``.

    ``exact`` is evaluated at 1 where the series is used, so that neither the
    value nor its gradient becomes NaN at ``eta = 0`` (a ``where`` alone would
    still differentiate through the 0/0 branch).
    """
    small = jnp.abs(eta) < threshold
    safe = jnp.where(small, 1.0, eta)
    return jnp.where(small, series(eta), exact(safe))


def log_normalizer(eta):
    r""":math:`\log C(\eta) = \log(\eta / \tanh(\eta/2))` (:math:`\log 2` at 0)."""
    return _near_zero(eta, lambda e: jnp.log(jnp.abs(e)) - jnp.log(jnp.abs(jnp.tanh(e / 2))),
                      lambda e: _LOG_2 + e**2 / 12 - 7 * e**4 / 1440)


def log_prob(x, logits):
    r"""Log density, elementwise (``x`` and ``logits`` broadcast).

    .. math::

        \log p(x \mid \eta) = x\eta - \operatorname{softplus}(\eta) + \log\frac{\eta}{\tanh(\eta/2)}.
    """
    return x * logits - jax.nn.softplus(logits) + log_normalizer(logits)


def mean(logits):
    r"""Mean :math:`\operatorname{sigmoid}(\eta)/\tanh(\eta/2) - 1/\eta` (:math:`1/2 + \eta/12` near 0)."""
    return _near_zero(logits, lambda e: jax.nn.sigmoid(e) / jnp.tanh(e / 2) - 1.0 / e,
                      lambda e: 0.5 + e / 12)


def variance(logits):
    r"""Variance :math:`1/\eta^2 - 1/(4\sinh^2(\eta/2))` (:math:`1/12 - \eta^2/240 + \eta^4/6048` near 0)."""
    return _near_zero(logits, lambda e: 1.0 / e**2 - 0.25 / jnp.sinh(e / 2) ** 2,
                      lambda e: 1.0 / 12 - e**2 / 240 + e**4 / 6048, _VARIANCE_TAYLOR_BELOW)


def icdf(u, logits):
    r"""Inverse CDF :math:`x = \log(1 + u(e^\eta - 1)) / \eta` (:math:`u` near 0): maps
    Uniform(0, 1) draws ``u`` to draws of the law, differentiably in :math:`\eta`."""
    return _near_zero(logits, lambda e: jnp.log1p(u * jnp.expm1(e)) / e, lambda e: u + 0 * e)


class ContinuousBernoulli(Distribution):
    """Continuous Bernoulli law on [0, 1] (see the module notes); pass ``probs`` or ``logits``.

    Parameters
    ----------
    probs : array_like, optional
        :math:`\\lambda \\in (0, 1)`.
    logits : array_like, optional
        :math:`\\eta = \\operatorname{logit}\\lambda`.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.logit}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, probs=None, logits=None, *, validate_args=None):
        if (probs is None) == (logits is None):
            raise DistributionError("ContinuousBernoulli: pass exactly one of probs= or logits=")
        self._given = "probs" if probs is not None else "logits"
        if probs is not None:
            (probs,) = as_float(probs)
            logits = probs_to_logits(probs)
        else:
            (logits,) = as_float(logits)
            probs = logits_to_probs(logits)
        self.probs, self.logits = promote(probs, logits)
        super().__init__(self.probs.shape, validate_args=validate_args)

    def _checked_params(self):
        return (self._given,)

    def _log_prob(self, value):
        return log_prob(value, self.logits)

    def _sample(self, key, sample_shape):
        u = jax.random.uniform(key, self.shape(sample_shape), self.logits.dtype)
        return icdf(u, self.logits)

    @property
    def mean(self):
        return mean(self.logits)

    @property
    def variance(self):
        return variance(self.logits)
