"""Bijective transforms from unconstrained space onto constraint sets.

Every transform maps ``x`` (in ``domain``) to ``y = forward(x)`` (in
``codomain``). ``log_abs_det_jacobian(x, y)`` is the forward-direction
``log |det dy/dx|`` summed over the domain's event dimensions; for transforms
that change the dimension (stick-breaking, correlation Cholesky, ...) it is the
Jacobian with respect to the free coordinates of ``y``. :func:`biject_to`
returns the transform a sampler uses to move between ``R^n`` and a support.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from . import constraints
from ._util import sum_rightmost, tril_to_vec, vec_to_tril
from credo.errors import DistributionError

__all__ = [
    "Transform",
    "IdentityTransform",
    "ExpTransform",
    "AffineTransform",
    "SigmoidTransform",
    "StickBreakingTransform",
    "OrderedTransform",
    "PositiveOrderedTransform",
    "CorrCholeskyTransform",
    "LowerCholeskyTransform",
    "PositiveDefiniteTransform",
    "ComposeTransform",
    "IndependentTransform",
    "biject_to",
    "cpcs_to_corr_cholesky",
]


class Transform:
    """A bijection ``domain -> codomain``; call it (or ``forward``) to apply it."""

    domain = constraints.real
    codomain = constraints.real

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):
        raise NotImplementedError

    def inverse(self, y):
        raise NotImplementedError

    def log_abs_det_jacobian(self, x, y):
        """``log |det J|`` of ``forward`` at ``x`` (``y = forward(x)``), shape ``x.shape[:-domain.event_dim]``."""
        raise NotImplementedError

    def forward_shape(self, shape):
        """Shape of ``forward(x)`` for ``x`` of shape ``shape``."""
        return tuple(shape)

    def inverse_shape(self, shape):
        """Shape of ``inverse(y)`` for ``y`` of shape ``shape``."""
        return tuple(shape)

    @property
    def inv(self):
        """The inverse bijection ``codomain -> domain``."""
        return _InverseTransform(self)

    def __repr__(self):
        return f"{type(self).__name__}()"


class _InverseTransform(Transform):
    def __init__(self, base):
        self.base = base
        self.domain, self.codomain = base.codomain, base.domain

    def forward(self, x):
        return self.base.inverse(x)

    def inverse(self, y):
        return self.base.forward(y)

    def log_abs_det_jacobian(self, x, y):
        return -self.base.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self.base.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self.base.forward_shape(shape)

    @property
    def inv(self):
        return self.base


class IdentityTransform(Transform):
    """``y = x``."""

    def forward(self, x):
        return x

    def inverse(self, y):
        return y

    def log_abs_det_jacobian(self, x, y):
        return jnp.zeros_like(x)


class ExpTransform(Transform):
    """``y = exp(x)``, onto the positive reals."""

    codomain = constraints.positive

    def forward(self, x):
        return jnp.exp(x)

    def inverse(self, y):
        return jnp.log(y)

    def log_abs_det_jacobian(self, x, y):
        return x


class AffineTransform(Transform):
    """``y = loc + scale * x`` elementwise (``scale != 0``)."""

    def __init__(self, loc, scale, domain=constraints.real):
        self.loc, self.scale = loc, scale
        self.domain = domain
        self.codomain = _affine_image(domain, loc, scale)

    def forward(self, x):
        return self.loc + self.scale * x

    def inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        return jnp.broadcast_to(jnp.log(jnp.abs(self.scale)), jnp.shape(x))

    def __repr__(self):
        return f"AffineTransform(loc={self.loc}, scale={self.scale})"


def _affine_image(domain, loc, scale):
    if isinstance(domain, constraints._GreaterThan) and isinstance(scale, (int, float)):
        bound = loc + scale * domain.lower_bound
        return constraints.greater_than(bound) if scale > 0 else constraints.less_than(bound)
    if isinstance(domain, constraints._Interval):
        a, b = loc + scale * domain.lower_bound, loc + scale * domain.upper_bound
        return constraints.interval(jnp.minimum(a, b), jnp.maximum(a, b))
    return constraints.real


class SigmoidTransform(Transform):
    """``y = 1 / (1 + exp(-x))``, onto the unit interval."""

    codomain = constraints.unit_interval

    def forward(self, x):
        return jax.nn.sigmoid(x)

    def inverse(self, y):
        return jnp.log(y) - jnp.log1p(-y)

    def log_abs_det_jacobian(self, x, y):
        return -jax.nn.softplus(x) - jax.nn.softplus(-x)


class StickBreakingTransform(Transform):
    """Stan's stick-breaking map ``R^(K-1) -> simplex in R^K``.

    ``z_k = sigmoid(x_k - log(K - k))`` (1-based ``k``) breaks off a fraction of
    the remaining stick, so ``x = 0`` maps to the uniform simplex point.
    """

    domain = constraints.real_vector
    codomain = constraints.simplex

    @staticmethod
    def _offset(n):
        return jnp.log(jnp.arange(n, 0, -1, dtype=float))

    def forward(self, x):
        u = x - self._offset(x.shape[-1]).astype(x.dtype)
        log_z = -jax.nn.softplus(-u)
        log_rest = jnp.cumsum(-jax.nn.softplus(u), axis=-1)  # log prod_{j<=k} (1 - z_j)
        log_before = jnp.concatenate([jnp.zeros_like(u[..., :1]), log_rest[..., :-1]], -1)
        return jnp.concatenate([jnp.exp(log_before + log_z), jnp.exp(log_rest[..., -1:])], -1)

    def inverse(self, y):
        # z_k / (1 - z_k) = y_k / (stick left after k); summing the tail avoids 1 - cumsum cancellation
        rest = jnp.flip(jnp.cumsum(jnp.flip(y, -1), axis=-1), -1)[..., 1:]
        logit_z = jnp.log(y[..., :-1]) - jnp.log(rest)
        return logit_z + self._offset(y.shape[-1] - 1).astype(y.dtype)

    def log_abs_det_jacobian(self, x, y):
        u = x - self._offset(x.shape[-1]).astype(x.dtype)
        log_1mz = -jax.nn.softplus(u)
        log_before = jnp.cumsum(log_1mz, axis=-1) - log_1mz
        return jnp.sum(-jax.nn.softplus(-u) + log_1mz + log_before, axis=-1)

    def forward_shape(self, shape):
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        return tuple(shape[:-1]) + (shape[-1] - 1,)


class OrderedTransform(Transform):
    """``y_0 = x_0``, ``y_k = y_(k-1) + exp(x_k)``: onto increasing vectors."""

    domain = constraints.real_vector
    codomain = constraints.ordered_vector

    def forward(self, x):
        steps = jnp.concatenate([x[..., :1], jnp.exp(x[..., 1:])], axis=-1)
        return jnp.cumsum(steps, axis=-1)

    def inverse(self, y):
        return jnp.concatenate([y[..., :1], jnp.log(jnp.diff(y, axis=-1))], axis=-1)

    def log_abs_det_jacobian(self, x, y):
        return jnp.sum(x[..., 1:], axis=-1)


class PositiveOrderedTransform(Transform):
    """``y = cumsum(exp(x))`` (Stan's positive_ordered): onto positive increasing vectors."""

    domain = constraints.real_vector
    codomain = constraints.positive_ordered_vector

    def forward(self, x):
        return jnp.cumsum(jnp.exp(x), axis=-1)

    def inverse(self, y):
        return jnp.log(jnp.diff(y, axis=-1, prepend=0.0))

    def log_abs_det_jacobian(self, x, y):
        return jnp.sum(x, axis=-1)


def _log1m_tanh_sq(x):
    """``log(1 - tanh(x)^2)`` without cancellation for large ``|x|``."""
    return 2 * (math.log(2.0) - jnp.abs(x) - jax.nn.softplus(-2 * jnp.abs(x)))


def _exclusive_cumsum(x, axis=-1):
    return jnp.cumsum(x, axis=axis) - x


def cpcs_to_corr_cholesky(z, log1m_z2):
    """Cholesky factor of a correlation matrix from canonical partial correlations.

    Parameters
    ----------
    z : array, shape ``(..., K(K-1)/2)``
        Partial correlations in ``(-1, 1)``, row-major over the strict lower triangle.
    log1m_z2 : array, same shape
        ``log(1 - z^2)``, passed in so callers can compute it without cancellation.

    Returns
    -------
    array, shape ``(..., K, K)``
    """
    z = vec_to_tril(z, diagonal=False)
    # 1 - sum_{k<j} L[i, k]^2 = prod_{k<j} (1 - z[i, k]^2); at j = i it is L[i, i]^2
    log_rem = _exclusive_cumsum(vec_to_tril(log1m_z2, diagonal=False))
    eye = jnp.eye(z.shape[-1], dtype=z.dtype)
    return jnp.tril((z + eye) * jnp.exp(0.5 * log_rem))


class CorrCholeskyTransform(Transform):
    """Stan's map from ``R^(K(K-1)/2)`` to Cholesky factors of correlation matrices.

    ``z = tanh(x)`` are canonical partial correlations laid out row-major in the
    strict lower triangle; ``L[i, j] = z[i, j] * sqrt(1 - sum_{k<j} L[i, k]^2)``
    and the diagonal takes the rest of each unit-norm row.
    """

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky

    def forward(self, x):
        return cpcs_to_corr_cholesky(jnp.tanh(x), _log1m_tanh_sq(x))

    def inverse(self, y):
        rem = 1 - _exclusive_cumsum(y * y)
        z = tril_to_vec(y / jnp.sqrt(jnp.where(rem > 0, rem, 1.0)), diagonal=False)
        return jnp.arctanh(z)

    def log_abs_det_jacobian(self, x, y):
        log1m_z2 = _log1m_tanh_sq(x)
        log_rem = tril_to_vec(_exclusive_cumsum(vec_to_tril(log1m_z2, diagonal=False)), diagonal=False)
        return jnp.sum(log1m_z2 + 0.5 * log_rem, axis=-1)

    def forward_shape(self, shape):
        k = int(round((1 + np.sqrt(1 + 8 * shape[-1])) / 2))
        return tuple(shape[:-1]) + (k, k)

    def inverse_shape(self, shape):
        k = shape[-1]
        return tuple(shape[:-2]) + (k * (k - 1) // 2,)


class LowerCholeskyTransform(Transform):
    """``R^(K(K+1)/2) ->`` lower-triangular matrices with positive diagonal.

    Entries fill the lower triangle row-major; the diagonal ones are exponentiated.
    """

    domain = constraints.real_vector
    codomain = constraints.lower_cholesky

    def forward(self, x):
        m = vec_to_tril(x)
        diag = jnp.diagonal(m, axis1=-2, axis2=-1)
        return jnp.tril(m, -1) + _diag_embed(jnp.exp(diag))

    def inverse(self, y):
        diag = jnp.diagonal(y, axis1=-2, axis2=-1)
        return tril_to_vec(jnp.tril(y, -1) + _diag_embed(jnp.log(diag)))

    def log_abs_det_jacobian(self, x, y):
        return jnp.sum(jnp.log(jnp.diagonal(y, axis1=-2, axis2=-1)), axis=-1)

    def forward_shape(self, shape):
        k = int(round((np.sqrt(1 + 8 * shape[-1]) - 1) / 2))
        return tuple(shape[:-1]) + (k, k)

    def inverse_shape(self, shape):
        k = shape[-1]
        return tuple(shape[:-2]) + (k * (k + 1) // 2,)


def _diag_embed(d):
    return d[..., :, None] * jnp.eye(d.shape[-1], dtype=d.dtype)


class PositiveDefiniteTransform(LowerCholeskyTransform):
    """``x -> L -> L L^T`` with ``L`` from :class:`LowerCholeskyTransform`.

    The Jacobian is taken with respect to the lower-triangular entries of the
    (symmetric) output and includes the ``L -> L L^T`` factor
    ``2^K prod_i L_ii^(K - i + 1)``.
    """

    codomain = constraints.positive_definite

    def forward(self, x):
        chol = super().forward(x)
        return chol @ jnp.swapaxes(chol, -1, -2)

    def inverse(self, y):
        return super().inverse(jnp.linalg.cholesky(y))

    def log_abs_det_jacobian(self, x, y):
        log_diag = jnp.diagonal(vec_to_tril(x), axis1=-2, axis2=-1)
        k = log_diag.shape[-1]
        powers = jnp.arange(k + 1, 1, -1, dtype=x.dtype)  # 1 (exp) + (K - i) (L L^T), 0-based i
        return k * math.log(2.0) + jnp.sum(powers * log_diag, axis=-1)


class IndependentTransform(Transform):
    """``base`` with ``reinterpreted_batch_ndims`` more dimensions treated as one event."""

    def __init__(self, base, reinterpreted_batch_ndims):
        self.base = base
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        self.domain = constraints.independent(base.domain, reinterpreted_batch_ndims)
        self.codomain = constraints.independent(base.codomain, reinterpreted_batch_ndims)

    def forward(self, x):
        return self.base.forward(x)

    def inverse(self, y):
        return self.base.inverse(y)

    def log_abs_det_jacobian(self, x, y):
        return sum_rightmost(self.base.log_abs_det_jacobian(x, y), self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base.inverse_shape(shape)

    def __repr__(self):
        return f"IndependentTransform({self.base!r}, {self.reinterpreted_batch_ndims})"


class ComposeTransform(Transform):
    """Apply ``parts`` in order: ``forward = parts[-1] o ... o parts[0]``."""

    def __init__(self, parts):
        self.parts = list(parts)
        if not self.parts:
            raise DistributionError("ComposeTransform needs at least one part")
        self.domain = _event_dim_like(self.parts[0].domain, self._domain_event_dim())
        self.codomain = _event_dim_like(self.parts[-1].codomain, self._codomain_event_dim())

    def _domain_event_dim(self):
        dim = self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            dim = max(dim + part.domain.event_dim - part.codomain.event_dim, part.domain.event_dim)
        return dim

    def _codomain_event_dim(self):
        dim = self.parts[0].domain.event_dim
        for part in self.parts:
            dim = max(dim + part.codomain.event_dim - part.domain.event_dim, part.codomain.event_dim)
        return dim

    def forward(self, x):
        for part in self.parts:
            x = part.forward(x)
        return x

    def inverse(self, y):
        for part in reversed(self.parts):
            y = part.inverse(y)
        return y

    def log_abs_det_jacobian(self, x, y):
        batch_ndim = jnp.ndim(x) - self.domain.event_dim
        total = 0.0
        for part in self.parts:
            x_next = part.forward(x)
            ladj = part.log_abs_det_jacobian(x, x_next)
            total = total + sum_rightmost(ladj, jnp.ndim(ladj) - batch_ndim)
            x = x_next
        return total

    def forward_shape(self, shape):
        for part in self.parts:
            shape = part.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return shape

    def __repr__(self):
        return f"ComposeTransform({self.parts!r})"


def _event_dim_like(constraint, event_dim):
    return constraints.independent(constraint, max(event_dim - constraint.event_dim, 0))


class _Registry:
    """Constraint type -> factory of the bijection from unconstrained space."""

    def __init__(self):
        self._factories = {}

    def register(self, constraint_type, factory=None):
        """Register ``factory(constraint) -> Transform`` (usable as a decorator)."""
        if factory is None:
            return lambda f: self.register(constraint_type, f)
        self._factories[constraint_type] = factory
        return factory

    def __call__(self, constraint):
        for cls in type(constraint).__mro__:
            if cls in self._factories:
                return self._factories[cls](constraint)
        raise NotImplementedError(f"no bijection to unconstrained space for {constraint!r}")


biject_to = _Registry()
biject_to.__doc__ = """Transform from unconstrained real space onto ``constraint``.

Call ``biject_to(constraint)``; extend with ``biject_to.register(ConstraintType, factory)``.
"""

biject_to.register(constraints._Real, lambda c: IdentityTransform())
biject_to.register(constraints._RealVector, lambda c: IndependentTransform(IdentityTransform(), 1))
biject_to.register(constraints._Positive, lambda c: ExpTransform())
biject_to.register(constraints._Nonnegative, lambda c: ExpTransform())
biject_to.register(constraints._UnitInterval, lambda c: SigmoidTransform())
biject_to.register(constraints._Simplex, lambda c: StickBreakingTransform())
biject_to.register(constraints._OrderedVector, lambda c: OrderedTransform())
biject_to.register(constraints._PositiveOrderedVector, lambda c: PositiveOrderedTransform())
biject_to.register(constraints._CorrCholesky, lambda c: CorrCholeskyTransform())
biject_to.register(constraints._LowerCholesky, lambda c: LowerCholeskyTransform())
biject_to.register(constraints._PositiveDefinite, lambda c: PositiveDefiniteTransform())


@biject_to.register(constraints._GreaterThan)
def _greater_than(c):
    return ComposeTransform([ExpTransform(), AffineTransform(c.lower_bound, 1.0, constraints.positive)])


@biject_to.register(constraints._LessThan)
def _less_than(c):
    return ComposeTransform([ExpTransform(), AffineTransform(c.upper_bound, -1.0, constraints.positive)])


@biject_to.register(constraints._Interval)
def _interval(c):
    width = c.upper_bound - c.lower_bound
    return ComposeTransform([SigmoidTransform(),
                             AffineTransform(c.lower_bound, width, constraints.unit_interval)])


@biject_to.register(constraints._Independent)
def _independent(c):
    return IndependentTransform(biject_to(c.base_constraint), c.reinterpreted_batch_ndims)
