"""Constraints: the supports of distributions and the domains of parameters.

A constraint answers ``check(value)`` with a boolean array of shape
``value.shape[:value.ndim - event_dim]`` and can produce a point inside itself
(``feasible_like``), which distributions use to keep gradients finite when a
value is out of support. :func:`credo.distributions.transforms.biject_to` maps
each continuous constraint to a bijection from unconstrained space.
"""

from __future__ import annotations

import re

import jax.numpy as jnp

__all__ = [
    "Constraint",
    "real",
    "real_vector",
    "positive",
    "nonnegative",
    "unit_interval",
    "interval",
    "greater_than",
    "less_than",
    "simplex",
    "ordered_vector",
    "positive_ordered_vector",
    "corr_cholesky",
    "lower_cholesky",
    "positive_definite",
    "integer",
    "nonnegative_integer",
    "positive_integer",
    "boolean",
    "integer_interval",
    "multinomial",
    "independent",
]

_TOL = 1e-6


class Constraint:
    """A region of the space a (possibly vector or matrix) value lives in.

    Attributes
    ----------
    event_dim : int
        Number of rightmost dimensions that form one constrained value.
    is_discrete : bool
        True for integer-valued sets (no bijection to real space exists).
    """

    event_dim = 0
    is_discrete = False

    def check(self, value):
        """Boolean array of shape ``value.shape[:ndim - event_dim]``: value lies in the set."""
        raise NotImplementedError

    def feasible_like(self, prototype):
        """A point of the set with the shape and dtype of ``prototype``."""
        return jnp.zeros_like(prototype)

    def __repr__(self):
        # _PositiveDefinite -> positive_definite, the public name of the instance
        return re.sub(r"(?<!^)(?=[A-Z])", "_", type(self).__name__.lstrip("_")).lower()


class _Real(Constraint):
    def check(self, value):
        return (value == value) & (jnp.abs(value) != jnp.inf)


class _RealVector(_Real):
    event_dim = 1

    def check(self, value):
        return jnp.all(super().check(value), axis=-1)


class _Logit(Constraint):
    """A log-odds: any value but NaN (-inf and +inf are the probabilities 0 and 1)."""

    def check(self, value):
        return value == value


class _LogitVector(Constraint):
    """Unnormalized log-probabilities: no NaN or +inf, and not every entry -inf (some state is possible)."""

    event_dim = 1

    def check(self, value):
        return jnp.all((value == value) & (value != jnp.inf), axis=-1) & jnp.any(value > -jnp.inf, axis=-1)


class _GreaterThan(Constraint):
    def __init__(self, lower_bound, closed=False):
        self.lower_bound = lower_bound
        self.closed = closed

    def check(self, value):
        return value >= self.lower_bound if self.closed else value > self.lower_bound

    def feasible_like(self, prototype):
        return jnp.broadcast_to(self.lower_bound + 1.0, jnp.shape(prototype)).astype(prototype.dtype)

    def __repr__(self):
        return f"greater_than({self.lower_bound})"


class _Positive(_GreaterThan):
    def __init__(self):
        super().__init__(0.0)

    __repr__ = Constraint.__repr__


class _Nonnegative(_GreaterThan):
    def __init__(self):
        super().__init__(0.0, closed=True)

    __repr__ = Constraint.__repr__


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return value < self.upper_bound

    def feasible_like(self, prototype):
        return jnp.broadcast_to(self.upper_bound - 1.0, jnp.shape(prototype)).astype(prototype.dtype)

    def __repr__(self):
        return f"less_than({self.upper_bound})"


class _Interval(Constraint):
    """Closed interval ``[lower_bound, upper_bound]``."""

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, value):
        return (value >= self.lower_bound) & (value <= self.upper_bound)

    def feasible_like(self, prototype):
        mid = (self.lower_bound + self.upper_bound) / 2
        return jnp.broadcast_to(mid, jnp.shape(prototype)).astype(prototype.dtype)

    def __repr__(self):
        return f"interval({self.lower_bound}, {self.upper_bound})"


class _UnitInterval(_Interval):
    def __init__(self):
        super().__init__(0.0, 1.0)

    __repr__ = Constraint.__repr__


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        return jnp.all(value >= 0, axis=-1) & (jnp.abs(jnp.sum(value, -1) - 1) < _TOL)

    def feasible_like(self, prototype):
        return jnp.full_like(prototype, 1.0 / prototype.shape[-1])


class _OrderedVector(Constraint):
    event_dim = 1

    def check(self, value):
        return jnp.all(value[..., 1:] > value[..., :-1], axis=-1)

    def feasible_like(self, prototype):
        return jnp.broadcast_to(jnp.arange(prototype.shape[-1], dtype=prototype.dtype),
                                prototype.shape)


class _PositiveOrderedVector(_OrderedVector):
    def check(self, value):
        return super().check(value) & jnp.all(value > 0, axis=-1)

    def feasible_like(self, prototype):
        return super().feasible_like(prototype) + 1


def _is_lower_triangular(value):
    return jnp.all(jnp.triu(value, 1) == 0, axis=(-2, -1))


def _identity_like(prototype):
    return jnp.broadcast_to(jnp.eye(prototype.shape[-1], dtype=prototype.dtype), prototype.shape)


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        diag = jnp.diagonal(value, axis1=-2, axis2=-1)
        return _is_lower_triangular(value) & jnp.all(diag > 0, axis=-1)

    feasible_like = staticmethod(_identity_like)


class _CorrCholesky(_LowerCholesky):
    def check(self, value):
        unit_rows = jnp.all(jnp.abs(jnp.linalg.norm(value, axis=-1) - 1) < _TOL, axis=-1)
        return super().check(value) & unit_rows


class _PositiveDefinite(Constraint):
    event_dim = 2

    def check(self, value):
        symmetric = jnp.all(jnp.abs(value - jnp.swapaxes(value, -1, -2)) < _TOL, axis=(-2, -1))
        return symmetric & jnp.all(jnp.linalg.eigvalsh(value) > 0, axis=-1)

    feasible_like = staticmethod(_identity_like)


class _IntegerInterval(Constraint):
    """Integers in ``[lower_bound, upper_bound]`` (either bound may be infinite)."""

    is_discrete = True

    def __init__(self, lower_bound=-jnp.inf, upper_bound=jnp.inf):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, value):
        return (value == jnp.floor(value)) & (value >= self.lower_bound) & (value <= self.upper_bound)

    def feasible_like(self, prototype):
        start = jnp.where(jnp.isfinite(self.lower_bound), self.lower_bound,
                          jnp.minimum(self.upper_bound, 0))
        return jnp.broadcast_to(start, jnp.shape(prototype)).astype(prototype.dtype)

    def __repr__(self):
        return f"integer_interval({self.lower_bound}, {self.upper_bound})"


class _Integer(_IntegerInterval):
    __repr__ = Constraint.__repr__


class _NonnegativeInteger(_IntegerInterval):
    def __init__(self):
        super().__init__(0)

    __repr__ = Constraint.__repr__


class _PositiveInteger(_IntegerInterval):
    def __init__(self):
        super().__init__(1)

    __repr__ = Constraint.__repr__


class _Boolean(_IntegerInterval):
    def __init__(self):
        super().__init__(0, 1)

    __repr__ = Constraint.__repr__


class _Multinomial(Constraint):
    """Nonnegative integer vectors summing to ``upper_bound``."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        counts = jnp.all((value >= 0) & (value == jnp.floor(value)), axis=-1)
        return counts & (jnp.sum(value, -1) == self.upper_bound)

    def feasible_like(self, prototype):
        first = jnp.arange(prototype.shape[-1]) == 0
        total = jnp.asarray(self.upper_bound)[..., None]
        return jnp.broadcast_to(jnp.where(first, total, 0), prototype.shape).astype(prototype.dtype)

    def __repr__(self):
        return f"multinomial({self.upper_bound})"


class _Independent(Constraint):
    """``base_constraint`` with ``reinterpreted_batch_ndims`` more dimensions treated as event."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        self.event_dim = base_constraint.event_dim + reinterpreted_batch_ndims
        self.is_discrete = base_constraint.is_discrete

    def check(self, value):
        ok = self.base_constraint.check(value)
        n = self.reinterpreted_batch_ndims
        return ok if n == 0 else jnp.all(ok, axis=tuple(range(-n, 0)))

    def feasible_like(self, prototype):
        return self.base_constraint.feasible_like(prototype)

    def __repr__(self):
        return f"independent({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


def independent(base_constraint, reinterpreted_batch_ndims):
    """``base_constraint`` applied to every element of the rightmost dimensions."""
    if reinterpreted_batch_ndims == 0:
        return base_constraint
    return _Independent(base_constraint, reinterpreted_batch_ndims)


real = _Real()
real_vector = _RealVector()
logit = _Logit()
logit_vector = _LogitVector()
positive = _Positive()
nonnegative = _Nonnegative()
unit_interval = _UnitInterval()
simplex = _Simplex()
ordered_vector = _OrderedVector()
positive_ordered_vector = _PositiveOrderedVector()
lower_cholesky = _LowerCholesky()
corr_cholesky = _CorrCholesky()
positive_definite = _PositiveDefinite()
integer = _Integer()
nonnegative_integer = _NonnegativeInteger()
positive_integer = _PositiveInteger()
boolean = _Boolean()

interval = _Interval
greater_than = _GreaterThan
less_than = _LessThan
integer_interval = _IntegerInterval
multinomial = _Multinomial
