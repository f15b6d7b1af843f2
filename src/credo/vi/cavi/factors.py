r"""The closed-form factors :math:`q_s` of coordinate-ascent variational inference.

Each factor is an exponential family :math:`q(x) \propto \exp(\eta^\top t(x))`
in the family of its site's conjugate prior. A factor's *state* is a tuple of
its ordinary parameters; :meth:`~Factor.mean_params` gives the expected
sufficient statistics :math:`\mu = E_q[t(x)]` and :meth:`~Factor.from_natural`
turns natural parameters :math:`\eta` back into a state. The coordinate update
of :func:`credo.vi.cavi.cavi` is :math:`\eta_s = \nabla_{\mu_s} E_q[\log p(x, y)]`
(Blei, Kucukelbir & McAuliffe 2017, sec. 4.2): the expected log joint is
linear in each factor's mean parameters exactly when the model is
conditionally conjugate, and then its gradient is the factor's optimal
natural parameter.

=============  ==========================  ==============================
family         sufficient statistics t(x)  state
=============  ==========================  ==============================
Normal         x, x**2 (elementwise)       loc, scale
MVN            x, x x^T (flattened site)   loc (d,), covariance (d, d)
Gamma          log x, x                    concentration, rate
Beta           log x, log(1 - x)           concentration1, concentration0
Dirichlet      log x                       concentration (..., K)
Categorical    one-hot(x)                  probs (..., K) over the support
=============  ==========================  ==============================

References
----------
Bishop, C. M. (2006). *Pattern Recognition and Machine Learning*, ch. 10 and
appendix B (the families, their moments and entropies).

Blei, D. M., Kucukelbir, A. and McAuliffe, J. D. (2017). Variational
inference: a review for statisticians. *JASA* 112(518), 859-877.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import digamma, gammaln, xlogy

from credo import distributions as dist

__all__ = ["Factor", "NormalFactor", "MVNFactor", "GammaFactor", "BetaFactor",
           "DirichletFactor", "CategoricalFactor"]

_LOG_2PI_E = math.log(2 * math.pi) + 1.0


@dataclasses.dataclass(frozen=True)
class Factor:
    """One factor of the mean-field approximation: a family on one site of ``shape``.

    Methods are pure functions of a ``state`` tuple (jittable). ``moments``
    returns what the expected log densities read: ``mean`` (the plug-in value
    for parameters linear in the site), ``log`` (the plug-in value for
    parameters that enter through their logarithm, ``exp E[log x]``), and the
    family's own expectations (``var``, ``cov``, ``Elog``, ``Elog1m``).
    """

    shape: tuple
    name = "factor"

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def init_state(self, value, prior):
        """A state centred on ``value`` with the spread of the ``prior`` (a credo distribution)."""
        raise NotImplementedError

    def mean_params(self, state):
        raise NotImplementedError

    def moments(self, mp) -> dict:
        raise NotImplementedError

    def from_natural(self, eta):
        raise NotImplementedError

    def entropy(self, state):
        raise NotImplementedError

    def distribution(self, state):
        raise NotImplementedError

    def sample(self, state, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws, shape ``(n, *shape)``, by numpy on the host.

        Closed-form factors need no compiled sampler (JAX's Gamma sampler alone
        takes seconds to compile); ``rng`` is seeded from the caller's key.
        """
        raise NotImplementedError

    def log_prob(self, state, x):
        """``log q(x)`` summed over the site, for draws ``x`` of shape ``(n, *shape)``."""
        lp = self.distribution(state).log_prob(self._event_view(x))
        return jnp.reshape(lp, (x.shape[0], -1)).sum(-1)

    def _event_view(self, x):
        return x

    def random_state(self, rng: np.random.Generator, dtype):
        """A random valid state (for the conjugacy check)."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class NormalFactor(Factor):
    """Independent Normal elements: ``q(x) = prod_i Normal(x_i | loc_i, scale_i)``."""

    name = "Normal"

    def init_state(self, value, prior):
        scale = jnp.sqrt(jnp.broadcast_to(prior.variance, self.shape))
        return jnp.asarray(value, scale.dtype), scale

    def mean_params(self, state):
        loc, scale = state
        return loc, scale ** 2 + loc ** 2

    def moments(self, mp):
        m, s = mp
        return {"mean": m, "log": m, "var": s - m ** 2}

    def from_natural(self, eta):
        precision = -2.0 * eta[1]
        return eta[0] / precision, jax.lax.rsqrt(precision)

    def entropy(self, state):
        return jnp.sum(0.5 * _LOG_2PI_E + jnp.log(state[1]))

    def distribution(self, state):
        return dist.Normal(*state)

    def sample(self, state, rng, n):
        loc, scale = (np.asarray(v) for v in state)
        return loc + scale * rng.standard_normal((n,) + self.shape)

    def random_state(self, rng, dtype):
        return (jnp.asarray(rng.normal(size=self.shape), dtype),
                jnp.asarray(rng.uniform(0.5, 2.0, size=self.shape), dtype))


@dataclasses.dataclass(frozen=True)
class MVNFactor(Factor):
    """A multivariate Normal over the site's flattened elements (coupled coefficients)."""

    name = "MultivariateNormal"

    def init_state(self, value, prior):
        if isinstance(prior, dist.MultivariateNormal):
            cov = prior.covariance_matrix
        else:
            cov = jnp.diag(jnp.reshape(jnp.broadcast_to(prior.variance, self.shape), (-1,)))
        return jnp.reshape(jnp.asarray(value, cov.dtype), (-1,)), cov

    def mean_params(self, state):
        loc, cov = state
        return loc, cov + jnp.outer(loc, loc)

    def moments(self, mp):
        m, s = mp
        cov = s - jnp.outer(m, m)
        mean = jnp.reshape(m, self.shape)
        return {"mean": mean, "log": mean, "var": jnp.reshape(jnp.diagonal(cov), self.shape),
                "flat_mean": m, "cov": cov}

    def from_natural(self, eta):
        # E log p = eta_1 . x + <eta_2, x x^T>: precision -(eta_2 + eta_2^T)
        precision = -(eta[1] + eta[1].T)
        chol = jnp.linalg.cholesky(precision)
        eye = jnp.eye(self.size, dtype=precision.dtype)
        cov = jax.scipy.linalg.cho_solve((chol, True), eye)
        return cov @ eta[0], 0.5 * (cov + cov.T)

    def entropy(self, state):
        _, logdet = jnp.linalg.slogdet(state[1])
        return 0.5 * (self.size * _LOG_2PI_E + logdet)

    def distribution(self, state):
        return dist.MultivariateNormal(state[0], covariance_matrix=state[1])

    def _event_view(self, x):
        return jnp.reshape(x, (x.shape[0], self.size))

    def sample(self, state, rng, n):
        loc, cov = (np.asarray(v) for v in state)
        draws = loc + rng.standard_normal((n, self.size)) @ np.linalg.cholesky(cov).T
        return draws.reshape((n,) + self.shape)

    def random_state(self, rng, dtype):
        a = rng.normal(size=(self.size, self.size))
        return (jnp.asarray(rng.normal(size=self.size), dtype),
                jnp.asarray(a @ a.T / self.size + np.eye(self.size), dtype))


@dataclasses.dataclass(frozen=True)
class GammaFactor(Factor):
    """Independent Gamma elements (precisions, rates)."""

    name = "Gamma"

    def init_state(self, value, prior):
        a = getattr(prior, "concentration", 1.0)  # an Exponential prior is a Gamma(1, rate)
        a = jnp.broadcast_to(jnp.asarray(a, jnp.result_type(float)), self.shape)
        return a, a / value

    def mean_params(self, state):
        a, b = state
        return digamma(a) - jnp.log(b), a / b

    def moments(self, mp):
        return {"mean": mp[1], "log": jnp.exp(mp[0]), "Elog": mp[0]}

    def from_natural(self, eta):
        return eta[0] + 1.0, -eta[1]

    def entropy(self, state):
        a, b = state
        return jnp.sum(a - jnp.log(b) + gammaln(a) + (1.0 - a) * digamma(a))

    def distribution(self, state):
        return dist.Gamma(*state)

    def sample(self, state, rng, n):
        a, b = (np.asarray(v) for v in state)
        return rng.standard_gamma(a, (n,) + self.shape) / b

    def random_state(self, rng, dtype):
        return (jnp.asarray(rng.uniform(1.0, 4.0, size=self.shape), dtype),
                jnp.asarray(rng.uniform(0.5, 2.0, size=self.shape), dtype))


@dataclasses.dataclass(frozen=True)
class BetaFactor(Factor):
    """Independent Beta elements (probabilities)."""

    name = "Beta"

    def init_state(self, value, prior):
        total = jnp.broadcast_to(prior.concentration1 + prior.concentration0, self.shape)
        return total * value, total * (1.0 - value)

    def mean_params(self, state):
        a, b = state
        total = digamma(a + b)
        return digamma(a) - total, digamma(b) - total

    def moments(self, mp):
        # "mean" is deliberately exp E[log x]: no conjugate child reads E[x], and a
        # child that does is then caught by the linearity check
        return {"mean": jnp.exp(mp[0]), "log": jnp.exp(mp[0]), "log1m": -jnp.expm1(mp[1]),
                "Elog": mp[0], "Elog1m": mp[1]}

    def from_natural(self, eta):
        return eta[0] + 1.0, eta[1] + 1.0

    def entropy(self, state):
        a, b = state
        log_beta = gammaln(a) + gammaln(b) - gammaln(a + b)
        return jnp.sum(log_beta - (a - 1) * digamma(a) - (b - 1) * digamma(b)
                       + (a + b - 2) * digamma(a + b))

    def distribution(self, state):
        return dist.Beta(*state)

    def sample(self, state, rng, n):
        a, b = (np.asarray(v) for v in state)
        return rng.beta(a, b, (n,) + self.shape)

    def random_state(self, rng, dtype):
        return (jnp.asarray(rng.uniform(1.0, 5.0, size=self.shape), dtype),
                jnp.asarray(rng.uniform(1.0, 5.0, size=self.shape), dtype))


@dataclasses.dataclass(frozen=True)
class DirichletFactor(Factor):
    """Dirichlet rows over the last axis of the site (mixture weights)."""

    name = "Dirichlet"

    def init_state(self, value, prior):
        total = jnp.sum(jnp.broadcast_to(prior.concentration, self.shape), -1, keepdims=True)
        return (total * value,)

    def mean_params(self, state):
        (a,) = state
        return (digamma(a) - digamma(jnp.sum(a, -1, keepdims=True)),)

    def moments(self, mp):
        geo = jnp.exp(mp[0])  # unnormalised: only its logarithm is read
        return {"mean": geo, "log": geo, "Elog": mp[0]}

    def from_natural(self, eta):
        return (eta[0] + 1.0,)

    def entropy(self, state):
        (a,) = state
        total = jnp.sum(a, -1)
        k = a.shape[-1]
        log_beta = jnp.sum(gammaln(a), -1) - gammaln(total)
        return jnp.sum(log_beta + (total - k) * digamma(total) - jnp.sum((a - 1) * digamma(a), -1))

    def distribution(self, state):
        return dist.Dirichlet(*state)

    def sample(self, state, rng, n):
        g = rng.standard_gamma(np.asarray(state[0]), (n,) + self.shape)
        return g / g.sum(-1, keepdims=True)

    def random_state(self, rng, dtype):
        return (jnp.asarray(rng.uniform(0.5, 4.0, size=self.shape), dtype),)


@dataclasses.dataclass(frozen=True)
class CategoricalFactor(Factor):
    """Independent categorical elements over a finite support (responsibilities)."""

    support: tuple = ()
    name = "Categorical"

    def init_state(self, value, prior):
        k = len(self.support)
        return (jnp.full(self.shape + (k,), 1.0 / k, jnp.result_type(float)),)

    def mean_params(self, state):
        return state

    def moments(self, mp):
        return {"probs": mp[0]}

    def from_natural(self, eta):
        return (jax.nn.softmax(eta[0], axis=-1),)

    def entropy(self, state):
        return -jnp.sum(xlogy(state[0], state[0]))

    def distribution(self, state):
        return dist.Categorical(probs=state[0])

    def sample(self, state, rng, n):
        probs = np.asarray(state[0], dtype=float)
        cdf = np.cumsum(probs, -1)
        u = rng.random((n,) + self.shape + (1,)) * cdf[..., -1:]
        index = np.minimum((u > cdf).sum(-1), len(self.support) - 1)
        return np.asarray(self.support)[index]

    def log_prob(self, state, x):
        index = jnp.searchsorted(jnp.asarray(self.support), x)
        lp = self.distribution(state).log_prob(index)
        return jnp.reshape(lp, (x.shape[0], -1)).sum(-1)

    def random_state(self, rng, dtype):
        p = rng.dirichlet(np.ones(len(self.support)), size=self.shape)
        return (jnp.asarray(p, dtype),)
