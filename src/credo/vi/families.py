r"""Gaussian variational families on the flat unconstrained space.

Every family is an :class:`equinox.Module` whose array fields are the
variational parameters, so ``jax.grad``/``equinox.filter_grad`` of any
function of the family returns a family-shaped gradient that optax can use.
They share the :class:`Family` interface:

``sample(key, n)``
    ``n`` draws, shape ``(n, dim)``, a differentiable function of the
    parameters (the reparameterization :math:`x = \mu + S\varepsilon`,
    :math:`\varepsilon \sim N(0, I)`).
``log_prob(x)``
    :math:`\log q(x)` for ``x`` of shape ``(..., dim)``.
``mean``, ``entropy()``, ``covariance()``
    Closed forms.

Positive quantities are stored unconstrained and mapped through
:func:`jax.nn.softplus`, so an unconstrained optimiser cannot leave the family.

References
----------
Kucukelbir, A., Tran, D., Ranganath, R., Gelman, A., & Blei, D. M. (2017).
Automatic differentiation variational inference. *JMLR* 18(14).

Ong, V. M.-H., Nott, D. J., & Smith, M. S. (2018). Gaussian variational
approximation with a factor covariance structure. *Journal of Computational
and Graphical Statistics* 27(3).

Examples
--------
>>> import jax, jax.numpy as jnp
>>> from credo.vi.families import MeanField
>>> q = MeanField(jnp.zeros(2), jnp.ones(2))
>>> q.sample(jax.random.PRNGKey(0), 5).shape
(5, 2)
>>> round(float(q.entropy()), 4)  # log(2 pi e)
2.8379
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular

__all__ = ["Family", "MeanField", "FullRank", "LowRank", "FactoredGaussian", "Mixture",
           "inverse_softplus", "raw_tril", "tril_from_raw"]

_LOG_2PI = math.log(2.0 * math.pi)


def inverse_softplus(y):
    r"""Inverse of softplus: :math:`\log(e^y - 1)`, computed stably for large ``y``."""
    y = jnp.asarray(y)
    return y + jnp.log(-jnp.expm1(-y))


def raw_tril(scale_tril, dim: int, dtype=None):
    """Unconstrained storage of a Cholesky factor: strict lower part, diagonal through
    :func:`inverse_softplus`. A float or vector ``scale_tril`` means a diagonal factor."""
    tril = jnp.asarray(scale_tril, dtype)
    if tril.ndim < 2:
        tril = jnp.diag(jnp.broadcast_to(tril, (dim,)))
    return jnp.tril(tril, -1) + jnp.diag(inverse_softplus(jnp.diag(tril)))


def tril_from_raw(raw):
    """Inverse of :func:`raw_tril`: lower triangular with a positive diagonal."""
    return jnp.tril(raw, -1) + jnp.diag(jax.nn.softplus(jnp.diag(raw)))


class Family(eqx.Module):
    """Interface of a variational family on :math:`\\mathbb{R}^d`.

    Subclasses implement :meth:`sample` and :meth:`log_prob`; Gaussian ones
    also :attr:`mean`, :meth:`entropy` and :meth:`covariance`.

    Attributes
    ----------
    reparameterized : bool
        ``True`` when :meth:`sample` is a differentiable function of the
        parameters (pathwise gradients apply); score-function gradients
        (:func:`credo.vi.objectives.elbo_score`) only need :meth:`log_prob`.
    """

    reparameterized = True

    @property
    def dim(self) -> int:
        """Dimension :math:`d` of the space."""
        raise NotImplementedError

    def sample(self, key, n: int):
        """``n`` draws, shape ``(n, dim)``."""
        raise NotImplementedError

    def log_prob(self, x):
        """Log density at ``x`` of shape ``(..., dim)``; returns shape ``(...)``."""
        raise NotImplementedError

    def sample_and_log_prob(self, key, n: int):
        """``(draws, log q(draws))``; flows override this with a single forward pass."""
        x = self.sample(key, n)
        return x, self.log_prob(x)

    @property
    def mean(self):
        """Mean of :math:`q`, shape ``(dim,)``."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form mean")

    def entropy(self):
        """Differential entropy :math:`-E_q[\\log q]` (closed form)."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form entropy")

    def covariance(self):
        """Covariance matrix, shape ``(dim, dim)``."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form covariance")


def _standard_normal_logpdf(z):
    return -0.5 * jnp.sum(z**2, axis=-1) - 0.5 * z.shape[-1] * _LOG_2PI


class MeanField(Family):
    r"""Fully factorised Gaussian :math:`q(x) = \prod_i N(x_i \mid \mu_i, \sigma_i^2)`.

    :math:`\sigma = \operatorname{softplus}(\rho)`; the entropy is
    :math:`\tfrac d2 (1 + \log 2\pi) + \sum_i \log \sigma_i`.

    Parameters
    ----------
    loc : array, shape ``(d,)``
    scale : float or array, shape ``(d,)``
        Initial standard deviations (positive).
    """

    loc: jax.Array
    raw_scale: jax.Array

    def __init__(self, loc, scale=1.0):
        self.loc = jnp.asarray(loc)
        self.raw_scale = inverse_softplus(jnp.broadcast_to(jnp.asarray(scale, self.loc.dtype),
                                                           self.loc.shape))

    @property
    def dim(self) -> int:
        return self.loc.shape[-1]

    @property
    def scale(self):
        """Standard deviations :math:`\\sigma`, shape ``(d,)``."""
        return jax.nn.softplus(self.raw_scale)

    def sample(self, key, n: int):
        eps = jax.random.normal(key, (n, self.dim), self.loc.dtype)
        return self.loc + self.scale * eps

    def log_prob(self, x):
        z = (x - self.loc) / self.scale
        return _standard_normal_logpdf(z) - jnp.sum(jnp.log(self.scale))

    @property
    def mean(self):
        return self.loc

    def entropy(self):
        return 0.5 * self.dim * (1.0 + _LOG_2PI) + jnp.sum(jnp.log(self.scale))

    def covariance(self):
        return jnp.diag(self.scale**2)


class FullRank(Family):
    r"""Gaussian with dense covariance :math:`\Sigma = L L^\top`.

    :math:`L` is lower triangular with a positive diagonal: the strictly lower
    part is free and the diagonal is :math:`\operatorname{softplus}` of a free
    vector. Draws are :math:`\mu + L\varepsilon`; the entropy is
    :math:`\tfrac d2(1 + \log 2\pi) + \sum_i \log L_{ii}`.

    Parameters
    ----------
    loc : array, shape ``(d,)``
    scale_tril : array, shape ``(d, d)``, optional
        Initial Cholesky factor (default identity); a float or vector gives a
        diagonal one.
    """

    loc: jax.Array
    raw_tril: jax.Array

    def __init__(self, loc, scale_tril=1.0):
        self.loc = jnp.asarray(loc)
        d = self.loc.shape[-1]
        self.raw_tril = raw_tril(scale_tril, d, self.loc.dtype)

    @property
    def dim(self) -> int:
        return self.loc.shape[-1]

    @property
    def scale_tril(self):
        """Cholesky factor :math:`L` of the covariance, shape ``(d, d)``."""
        return tril_from_raw(self.raw_tril)

    def sample(self, key, n: int):
        eps = jax.random.normal(key, (n, self.dim), self.loc.dtype)
        return self.loc + eps @ self.scale_tril.T

    def log_prob(self, x):
        tril = self.scale_tril
        diff = jnp.asarray(x) - self.loc
        flat = diff.reshape(-1, self.dim)
        z = solve_triangular(tril, flat.T, lower=True).T.reshape(diff.shape)
        return _standard_normal_logpdf(z) - jnp.sum(jnp.log(jnp.diag(tril)))

    @property
    def mean(self):
        return self.loc

    def entropy(self):
        return 0.5 * self.dim * (1.0 + _LOG_2PI) + jnp.sum(jnp.log(jnp.diag(self.scale_tril)))

    def covariance(self):
        tril = self.scale_tril
        return tril @ tril.T


class LowRank(Family):
    r"""Gaussian with factor covariance :math:`\Sigma = F F^\top + \operatorname{diag}(D^2)`.

    :math:`F` is ``(d, r)`` and :math:`D = \operatorname{softplus}(\rho) > 0`.
    Draws are :math:`\mu + F\varepsilon_1 + D \odot \varepsilon_2`. The density
    uses the Woodbury identity and the matrix determinant lemma with the
    :math:`r \times r` capacitance :math:`C = I_r + F^\top D^{-2} F`:

    .. math::

        \log|\Sigma| = 2\sum_i \log D_i + \log|C|, \qquad
        \Sigma^{-1} = D^{-2} - D^{-2} F C^{-1} F^\top D^{-2},

    so evaluation costs :math:`O(d r^2)` (Ong, Nott & Smith 2018).

    Parameters
    ----------
    loc : array, shape ``(d,)``
    cov_factor : array, shape ``(d, r)``
        Initial factor. It must not be exactly zero (the ELBO's gradient in
        :math:`F` vanishes there): :func:`credo.vi.advi` starts it small and random.
    scale : float or array, shape ``(d,)``
        Initial :math:`D`.
    """

    loc: jax.Array
    cov_factor: jax.Array
    raw_diag: jax.Array

    def __init__(self, loc, cov_factor, scale=1.0):
        self.loc = jnp.asarray(loc)
        self.cov_factor = jnp.asarray(cov_factor, self.loc.dtype)
        self.raw_diag = inverse_softplus(jnp.broadcast_to(jnp.asarray(scale, self.loc.dtype),
                                                          self.loc.shape))

    @property
    def dim(self) -> int:
        return self.loc.shape[-1]

    @property
    def rank(self) -> int:
        return self.cov_factor.shape[-1]

    @property
    def diag_scale(self):
        """:math:`D`, shape ``(d,)``."""
        return jax.nn.softplus(self.raw_diag)

    def sample(self, key, n: int):
        k1, k2 = jax.random.split(key)
        e1 = jax.random.normal(k1, (n, self.rank), self.loc.dtype)
        e2 = jax.random.normal(k2, (n, self.dim), self.loc.dtype)
        return self.loc + e1 @ self.cov_factor.T + self.diag_scale * e2

    def _capacitance_cholesky(self):
        dinv_f = self.cov_factor / self.diag_scale[:, None]
        cap = jnp.eye(self.rank, dtype=self.loc.dtype) + dinv_f.T @ dinv_f
        return dinv_f, jnp.linalg.cholesky(cap)

    def log_prob(self, x):
        d = self.diag_scale
        dinv_f, chol = self._capacitance_cholesky()
        w = (jnp.asarray(x) - self.loc) / d                       # D^{-1}(x - mu)
        proj = w @ dinv_f                                          # (..., r)
        v = solve_triangular(chol, proj.reshape(-1, self.rank).T, lower=True).T
        v = v.reshape(proj.shape)
        maha = jnp.sum(w**2, axis=-1) - jnp.sum(v**2, axis=-1)
        logdet = 2.0 * jnp.sum(jnp.log(d)) + 2.0 * jnp.sum(jnp.log(jnp.diag(chol)))
        return -0.5 * (maha + logdet + self.dim * _LOG_2PI)

    @property
    def mean(self):
        return self.loc

    def entropy(self):
        _, chol = self._capacitance_cholesky()
        logdet = 2.0 * jnp.sum(jnp.log(self.diag_scale)) + 2.0 * jnp.sum(jnp.log(jnp.diag(chol)))
        return 0.5 * (self.dim * (1.0 + _LOG_2PI) + logdet)

    def covariance(self):
        return self.cov_factor @ self.cov_factor.T + jnp.diag(self.diag_scale**2)


class FactoredGaussian(Family):
    r"""Gaussian :math:`N(\mu, \Sigma)` with :math:`\Sigma = \operatorname{diag}(\alpha) + \beta\gamma\beta^\top`.

    The form of the L-BFGS inverse Hessian used by Pathfinder (Zhang et al.
    2022, Algorithm 4), stored as the square root factor

    .. math::

        \Sigma = S S^\top, \qquad
        S = \operatorname{diag}(\sqrt\alpha)\,\bigl(I + Q(L - I)Q^\top\bigr),

    where :math:`QR = \operatorname{diag}(\alpha)^{-1/2}\beta` is a thin QR
    decomposition and :math:`L L^\top = I + R\gamma R^\top`. Because
    :math:`Q` has orthonormal columns, :math:`S^{-1} = (I + Q(L^{-1} - I)Q^\top)
    \operatorname{diag}(\alpha)^{-1/2}` and :math:`\log|S| = \tfrac12\sum\log\alpha_i
    + \log|L|`; everything costs :math:`O(d k^2)` with :math:`k` the rank of
    :math:`\beta`. Use :meth:`from_factors`; not meant to be optimised.

    Attributes
    ----------
    loc : array, shape ``(d,)``
    sqrt_alpha : array, shape ``(d,)``
    q : array, shape ``(d, k)``
    chol : array, shape ``(k, k)``
        Lower triangular :math:`L`.
    """

    loc: jax.Array
    sqrt_alpha: jax.Array
    q: jax.Array
    chol: jax.Array

    def __init__(self, loc, sqrt_alpha, q, chol):
        self.loc, self.sqrt_alpha, self.q, self.chol = loc, sqrt_alpha, q, chol

    @classmethod
    def from_factors(cls, loc, alpha, beta, gamma):
        r"""Build from :math:`(\mu, \alpha, \beta, \gamma)`; :math:`\Sigma` must be positive definite."""
        sqrt_alpha = jnp.sqrt(alpha)
        q, r = jnp.linalg.qr(beta / sqrt_alpha[:, None])
        inner = jnp.eye(r.shape[0], dtype=r.dtype) + r @ gamma @ r.T
        return cls(loc, sqrt_alpha, q, jnp.linalg.cholesky(0.5 * (inner + inner.T)))

    @property
    def dim(self) -> int:
        return self.loc.shape[-1]

    def _apply_scale(self, u):
        # rows of u -> rows of S u
        qu = u @ self.q
        return self.sqrt_alpha * (u + (qu @ (self.chol - jnp.eye(self.chol.shape[0],
                                                                dtype=u.dtype)).T) @ self.q.T)

    def sample(self, key, n: int):
        u = jax.random.normal(key, (n, self.dim), self.loc.dtype)
        return self.loc + self._apply_scale(u)

    def log_prob(self, x):
        w = (jnp.asarray(x) - self.loc) / self.sqrt_alpha
        qw = w @ self.q
        flat = qw.reshape(-1, qw.shape[-1])
        linv_qw = solve_triangular(self.chol, flat.T, lower=True).T.reshape(qw.shape)
        u = w + (linv_qw - qw) @ self.q.T
        return _standard_normal_logpdf(u) - self._log_det_scale()

    def _log_det_scale(self):
        return jnp.sum(jnp.log(self.sqrt_alpha)) + jnp.sum(jnp.log(jnp.abs(jnp.diag(self.chol))))

    @property
    def mean(self):
        return self.loc

    def entropy(self):
        return 0.5 * self.dim * (1.0 + _LOG_2PI) + self._log_det_scale()

    def covariance(self):
        s = self._apply_scale(jnp.eye(self.dim, dtype=self.loc.dtype)).T  # columns S e_i
        return s @ s.T


class Mixture(Family):
    r"""Equal-weight mixture :math:`q(x) = \tfrac1K\sum_k q_k(x)` of same-type components.

    ``components`` is one family whose array leaves carry a leading axis of
    length :math:`K` (build it with :meth:`stack`). Used for multi-path
    Pathfinder, where it is the proposal of the importance resampling: draws
    are stratified (``n / K`` from each component, the remainder spread over
    the first ones) and weighted against the mixture density (the balance
    heuristic of multiple importance sampling).
    """

    components: Family
    num_components: int = eqx.field(static=True)

    def __init__(self, components: Family, num_components: int):
        self.components = components
        self.num_components = int(num_components)

    @classmethod
    def stack(cls, families) -> "Mixture":
        """A mixture of the families in the list ``families`` (all of one type and shape)."""
        families = list(families)
        stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *families)
        return cls(stacked, len(families))

    def component(self, k: int) -> Family:
        """The ``k``-th component."""
        return jax.tree.map(lambda a: a[k], self.components)

    @property
    def dim(self) -> int:
        return self.component(0).dim

    def sample(self, key, n: int):
        size = self.num_components
        counts = [n // size + (k < n % size) for k in range(size)]
        keys = jax.random.split(key, size)
        per = eqx.filter_vmap(lambda c, k: c.sample(k, counts[0]))(self.components, keys)
        return jnp.concatenate([per[k, :c] for k, c in enumerate(counts) if c > 0], axis=0)

    def log_prob(self, x):
        lps = eqx.filter_vmap(lambda c: c.log_prob(x))(self.components)
        return jax.scipy.special.logsumexp(lps, axis=0) - math.log(self.num_components)

    @property
    def mean(self):
        return jnp.mean(eqx.filter_vmap(lambda c: c.mean)(self.components), axis=0)
