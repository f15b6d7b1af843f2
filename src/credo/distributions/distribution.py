"""The :class:`Distribution` base class, shape wrappers and improper/degenerate laws.

Every distribution is a JAX pytree: its array parameters are the leaves and
everything else (shapes, flags) is static, so instances can be passed into and
returned from ``jax.jit``/``jax.vmap``. Parameters are stored broadcast to
``batch_shape + (their event shape)`` so that a ``vmap`` over the leading axis
of every leaf maps over the leading batch axis.
"""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import CredoError
from . import constraints
from ._util import as_float, is_concrete, sum_rightmost
from credo.errors import DistributionError

__all__ = [
    "Distribution",
    "Independent",
    "MaskedDistribution",
    "Delta",
    "Flat",
    "HalfFlat",
    "ImproperUniform",
    "ImproperDistributionError",
    "initial_value",
]


class ImproperDistributionError(CredoError, NotImplementedError):
    """Raised when sampling from an improper distribution (it has no sampler)."""


class Distribution:
    """Base class of probability distributions over arrays.

    A value of the distribution has shape ``batch_shape + event_shape``;
    ``log_prob`` sums over the event dimensions and returns an array of shape
    ``sample_shape + batch_shape``.

    Parameters
    ----------
    batch_shape, event_shape : tuple of int
    validate_args : bool or None, default None
        Check parameters against ``arg_constraints`` and raise
        :class:`~credo.DistributionError` naming the offender. The check only
        sees concrete (non-traced) values, so it costs nothing inside compiled
        code; None (the default) checks them whenever they are concrete, as
        NumPyro does outside ``jit``. False skips the check.

    Attributes
    ----------
    arg_constraints : dict
        Parameter name -> :class:`~credo.distributions.constraints.Constraint`.
    support : Constraint
        The set of values with positive density.
    has_rsample : bool
        True when ``sample`` is reparameterized, so gradients flow through it.
    has_enumerate_support : bool
        True when ``enumerate_support`` lists a finite support.
    """

    arg_constraints: dict = {}
    support = None
    has_rsample = False
    has_enumerate_support = False
    # out-of-support values get -inf from ``log_prob``; off for real-line supports
    _guard_support = True
    # Eager ``sample`` runs ``_sample`` op by op instead of as one jitted program.
    # For samplers built around JAX's rejection kernels (gamma, Poisson,
    # binomial), each of which jax.random compiles on its own and caches by
    # shape: those kernels take seconds to compile, and a fused program per
    # distribution class would compile them again for every class.
    _sample_eagerly = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        jax.tree_util.register_pytree_node(cls, cls.tree_flatten, cls.tree_unflatten)

    def __init__(self, batch_shape=(), event_shape=(), *, validate_args=None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        self._validate_args = validate_args
        if validate_args is not False:
            self._validate_params()

    # -- pytree protocol -------------------------------------------------
    def _pytree_data(self):
        """Names of the attributes that are pytree children (array leaves)."""
        return tuple(self.arg_constraints)

    def tree_flatten(self):
        names = self._pytree_data()
        children = tuple(getattr(self, n) for n in names)
        static = tuple(sorted((k, v) for k, v in vars(self).items() if k not in names))
        return children, (names, static)

    @classmethod
    def tree_unflatten(cls, aux, children):
        names, static = aux
        self = object.__new__(cls)
        vars(self).update(static)
        vars(self).update(zip(names, children))
        self._refresh_batch_shape()
        return self

    def _refresh_batch_shape(self):
        # Inside vmap the leaves lose their mapped axis, so the static batch
        # shape is recomputed from the parameters whenever they are arrays.
        shapes = []
        for name, c in self.arg_constraints.items():
            shape = getattr(getattr(self, name, None), "shape", None)
            if shape is None:
                return
            shapes.append(tuple(shape)[: max(len(shape) - c.event_dim, 0)])
        if shapes:
            try:
                self._batch_shape = tuple(jnp.broadcast_shapes(*shapes))
            except ValueError:
                pass

    # -- validation ------------------------------------------------------
    def _checked_params(self):
        """Names of the parameters the user passed (those ``validate_args`` checks)."""
        return tuple(self.arg_constraints)

    def _validate_params(self):
        for name in self._checked_params():
            self._check_param(name, getattr(self, name), self.arg_constraints[name])
        self._validate_extra()

    def _check_param(self, name, value, constraint):
        if not is_concrete(value):
            return
        # Inside a jit trace even constants' jnp operations are staged; evaluate the check now.
        with jax.ensure_compile_time_eval():
            ok = constraint.check(value)
        if is_concrete(ok) and not bool(np.all(np.asarray(ok))):
            raise DistributionError(
                f"{type(self).__name__}: parameter {name!r} must satisfy {constraint!r}, "
                f"got {np.asarray(value)!r}")

    def _validate_extra(self):
        """Hook for checks that involve several parameters."""

    # -- shapes ----------------------------------------------------------
    @property
    def batch_shape(self):
        """Shape of independent, non-identical copies of the distribution."""
        return self._batch_shape

    @property
    def event_shape(self):
        """Shape of a single draw."""
        return self._event_shape

    def shape(self, sample_shape=()):
        """``sample_shape + batch_shape + event_shape``."""
        return tuple(sample_shape) + tuple(self.batch_shape) + tuple(self.event_shape)

    # -- probability -----------------------------------------------------
    def log_prob(self, value):
        """Log density (or mass) of ``value``, shape ``sample_shape + batch_shape``."""
        return _jit_log_prob(self, jnp.asarray(value))

    def _log_density(self, value):
        """Traced body of ``log_prob``; wrappers override this."""
        if not self._guard_support:
            return self._log_prob(value)
        return self._guarded_log_prob(value)

    def _log_prob(self, value):
        """Log density at ``value``, which may be assumed inside the support."""
        raise NotImplementedError

    def _guarded_log_prob(self, value):
        # Evaluate at a feasible point where the value is out of support, so that
        # neither the result nor its gradient turns into NaN, then mask with -inf.
        shape = jnp.broadcast_shapes(value.shape, self.batch_shape + self.event_shape)
        value = jnp.broadcast_to(value, shape)
        ok = self.support.check(value)
        ok_full = ok.reshape(ok.shape + (1,) * self.support.event_dim)
        safe = jnp.where(ok_full, value, self.support.feasible_like(value))
        return jnp.where(ok, self._log_prob(safe), -jnp.inf)

    def sample(self, key, sample_shape=()):
        """Draw an array of shape ``sample_shape + batch_shape + event_shape``."""
        sample_shape = (sample_shape,) if np.ndim(sample_shape) == 0 else sample_shape
        sample_shape = tuple(int(n) for n in sample_shape)
        if self._sample_eagerly:
            return self._sample(key, sample_shape)
        return _jit_sample(self, key, sample_shape)

    def _sample(self, key, sample_shape):
        """Traced body of ``sample``."""
        raise NotImplementedError(f"{type(self).__name__} has no sampler")

    def rsample(self, key, sample_shape=()):
        """Reparameterized draw (same as ``sample`` where ``has_rsample``)."""
        if not self.has_rsample:
            raise NotImplementedError(f"{type(self).__name__} has no reparameterized sampler")
        return self.sample(key, sample_shape)

    def enumerate_support(self, expand=True):
        """All support points, shape ``(n,) + batch_shape + event_shape`` (or with 1s if not ``expand``)."""
        raise NotImplementedError(f"{type(self).__name__} does not have a finite support")

    @property
    def mean(self):
        """Mean, shape ``batch_shape + event_shape`` (nan/inf where undefined/infinite)."""
        raise NotImplementedError

    @property
    def variance(self):
        """Elementwise variance, shape ``batch_shape + event_shape``."""
        raise NotImplementedError

    @property
    def stddev(self):
        """Elementwise standard deviation."""
        return jnp.sqrt(self.variance)

    # -- shape manipulation ----------------------------------------------
    def expand(self, batch_shape):
        """The same distribution broadcast to a larger ``batch_shape``."""
        batch_shape = tuple(batch_shape)
        if batch_shape == tuple(self.batch_shape):
            return self
        if tuple(jnp.broadcast_shapes(self.batch_shape, batch_shape)) != batch_shape:
            raise DistributionError(f"cannot expand batch shape {self.batch_shape} to {batch_shape}")
        return self._expand(batch_shape)

    def _expand(self, batch_shape):
        new = copy.copy(self)
        for name, c in self.arg_constraints.items():
            value = getattr(self, name)
            event = value.shape[value.ndim - c.event_dim:] if c.event_dim else ()
            setattr(new, name, jnp.broadcast_to(value, batch_shape + tuple(event)))
        new._batch_shape = batch_shape
        return new

    def to_event(self, reinterpreted_batch_ndims=None):
        """Treat the rightmost batch dimensions (all by default) as event dimensions."""
        n = len(self.batch_shape) if reinterpreted_batch_ndims is None else reinterpreted_batch_ndims
        return self if n == 0 else Independent(self, n)

    def mask(self, mask):
        """Distribution whose ``log_prob`` is 0 wherever ``mask`` (over batch) is False."""
        if mask is True:
            return self
        return MaskedDistribution(self, mask)

    def __repr__(self):
        return (f"{type(self).__name__}(batch_shape={self.batch_shape}, "
                f"event_shape={self.event_shape})")


class Independent(Distribution):
    """Reinterpret the rightmost ``reinterpreted_batch_ndims`` batch dims of ``base_dist`` as event dims.

    ``log_prob`` sums the base log density over those dimensions.
    """

    arg_constraints = {}

    def __init__(self, base_dist, reinterpreted_batch_ndims, *, validate_args=None):
        n = int(reinterpreted_batch_ndims)
        if not 0 <= n <= len(base_dist.batch_shape):
            raise DistributionError(f"reinterpreted_batch_ndims={n} exceeds the batch rank of {base_dist}")
        self.base_dist = base_dist
        self.reinterpreted_batch_ndims = n
        super().__init__(validate_args=validate_args)

    def _pytree_data(self):
        return ("base_dist",)

    @property
    def batch_shape(self):
        shape = self.base_dist.batch_shape
        return shape[: len(shape) - self.reinterpreted_batch_ndims]

    @property
    def event_shape(self):
        shape = self.base_dist.batch_shape
        return shape[len(shape) - self.reinterpreted_batch_ndims:] + self.base_dist.event_shape

    @property
    def support(self):
        return constraints.independent(self.base_dist.support, self.reinterpreted_batch_ndims)

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def _sample_eagerly(self):
        return self.base_dist._sample_eagerly

    def _log_density(self, value):
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def _sample(self, key, sample_shape):
        return self.base_dist.sample(key, sample_shape)

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def variance(self):
        return self.base_dist.variance

    def _expand(self, batch_shape):
        inner = self.base_dist.batch_shape[len(self.batch_shape):]
        return Independent(self.base_dist.expand(batch_shape + inner), self.reinterpreted_batch_ndims)


class MaskedDistribution(Distribution):
    """``base_dist`` whose ``log_prob`` is zeroed where the boolean ``mask`` is False.

    ``mask`` broadcasts against ``base_dist.batch_shape``; the result's batch
    shape is their broadcast. Sampling is unaffected.
    """

    arg_constraints = {}

    def __init__(self, base_dist, mask, *, validate_args=None):
        self.base_dist = base_dist
        self._mask = mask if isinstance(mask, bool) else jnp.asarray(mask, dtype=bool)
        jnp.broadcast_shapes(jnp.shape(self._mask), base_dist.batch_shape)
        super().__init__(validate_args=validate_args)

    def _pytree_data(self):
        return ("base_dist",) if isinstance(self._mask, bool) else ("base_dist", "_mask")

    @property
    def batch_shape(self):
        return tuple(jnp.broadcast_shapes(jnp.shape(self._mask), self.base_dist.batch_shape))

    @property
    def event_shape(self):
        return self.base_dist.event_shape

    @property
    def support(self):
        return self.base_dist.support

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def _sample_eagerly(self):
        return self.base_dist._sample_eagerly

    @property
    def has_enumerate_support(self):
        return self.base_dist.has_enumerate_support

    def _log_density(self, value):
        lp = self.base_dist.log_prob(value)
        shape = jnp.broadcast_shapes(lp.shape, self.batch_shape)
        return jnp.where(self._mask, jnp.broadcast_to(lp, shape), 0.0)

    def _sample(self, key, sample_shape):
        return self.base_dist.expand(self.batch_shape).sample(key, sample_shape)

    def enumerate_support(self, expand=True):
        return self.base_dist.expand(self.batch_shape).enumerate_support(expand)

    @property
    def mean(self):
        return self.base_dist.expand(self.batch_shape).mean

    @property
    def variance(self):
        return self.base_dist.expand(self.batch_shape).variance

    def _expand(self, batch_shape):
        mask = self._mask if isinstance(self._mask, bool) else jnp.broadcast_to(self._mask, batch_shape)
        return MaskedDistribution(self.base_dist.expand(batch_shape), mask)


class Delta(Distribution):
    """Point mass at ``v``: ``log p(x) = log_density`` if ``x == v`` else ``-inf``.

    Parameters
    ----------
    v : array, shape ``batch_shape + event_shape``
    log_density : array, broadcastable to ``batch_shape``
    event_dim : int
        How many rightmost dimensions of ``v`` form one event.
    """

    has_rsample = True

    def __init__(self, v=0.0, log_density=0.0, event_dim=0, *, validate_args=None):
        v, log_density = as_float(v, log_density)
        if event_dim > v.ndim:
            raise DistributionError(f"event_dim={event_dim} exceeds the rank of v")
        batch_shape = v.shape[: v.ndim - event_dim]
        self.v = v
        self.log_density = jnp.broadcast_to(log_density, batch_shape)
        self.event_dim = int(event_dim)
        super().__init__(batch_shape, v.shape[v.ndim - event_dim:], validate_args=validate_args)

    @property
    def arg_constraints(self):
        return {"v": constraints.independent(constraints.real, self.event_dim),
                "log_density": constraints.real}

    @property
    def support(self):
        return constraints.independent(constraints.real, self.event_dim)

    def _log_density(self, value):
        hit = value == self.v
        if self.event_dim:
            hit = jnp.all(hit, axis=tuple(range(-self.event_dim, 0)))
        return jnp.where(hit, self.log_density, -jnp.inf)

    def _sample(self, key, sample_shape):
        return jnp.broadcast_to(self.v, self.shape(sample_shape))

    @property
    def mean(self):
        return self.v

    @property
    def variance(self):
        return jnp.zeros_like(self.v)


class Flat(Distribution):
    """Improper uniform density on the real line: ``log p(x) = 0``.

    It has no sampler (``sample`` raises :class:`ImproperDistributionError`);
    to initialise a sampler use :func:`initial_value`, which draws in
    unconstrained space and maps onto the support.
    """

    support = constraints.real
    _guard_support = False

    def __init__(self, batch_shape=(), *, validate_args=None):
        super().__init__(batch_shape, validate_args=validate_args)

    def _log_prob(self, value):
        return jnp.zeros(jnp.broadcast_shapes(value.shape, self.batch_shape), dtype=as_float(value)[0].dtype)

    def _sample(self, key, sample_shape):
        raise ImproperDistributionError(
            f"{type(self).__name__} is improper and cannot be sampled; "
            "use credo.distributions.initial_value for initialisation")

    @property
    def mean(self):
        return jnp.full(self.batch_shape, jnp.nan)

    @property
    def variance(self):
        return jnp.full(self.batch_shape, jnp.nan)


class HalfFlat(Flat):
    """Improper uniform density on the positive reals: ``log p(x) = 0`` for ``x > 0``, else ``-inf``."""

    support = constraints.positive
    _guard_support = True


class ImproperUniform(Distribution):
    r"""Improper flat density on a constrained support: ``log p(x) = 0`` on ``support``.

    The density is the constant 1 (with respect to Lebesgue measure on the
    support's free coordinates) wherever ``support.check(x)`` holds and 0
    elsewhere:

    .. math::

        \log p(x) = \begin{cases} 0 & x \in \mathcal{S} \\
                                   -\infty & x \notin \mathcal{S} \end{cases}

    It integrates to infinity, so it is a law for declaring a parameter's
    support, not a prior by itself: add the actual (unnormalised) density with
    ``credo.factor``. This is Stan's ``ordered[K] mu; mu ~ normal(0, 2);``::

        mu = credo.sample("mu", dist.ImproperUniform(constraints.ordered_vector, (), (K,)))
        credo.factor("mu_prior", dist.Normal(0.0, 2.0).log_prob(mu).sum())

    Samplers work in unconstrained space through ``biject_to(support)`` and add
    the Jacobian of that transform, so the posterior is the one Stan defines.
    Same signature and semantics as NumPyro's
    ``numpyro.distributions.ImproperUniform``.

    Parameters
    ----------
    support : Constraint
        The set of values with positive density, e.g.
        ``constraints.ordered_vector`` or ``constraints.positive``. It is held
        as static (non-pytree) data, so its bounds should be concrete.
    batch_shape : tuple of int, default ()
        Shape of independent copies.
    event_shape : tuple of int, default ()
        Shape of one draw. It needs at least ``support.event_dim`` dimensions;
        extra leading event dimensions are reinterpreted, so ``support``
        becomes ``constraints.independent(support, len(event_shape) -
        support.event_dim)`` (as in NumPyro). When ``len(event_shape) ==
        support.event_dim`` the ``support`` attribute is the given constraint.
    validate_args : bool or None, default None

    Notes
    -----
    ``log_prob(value)`` for ``value`` of shape ``sample_shape + batch_shape +
    event_shape`` (its leading dimensions broadcast with ``batch_shape``) is an
    array of zeros of shape ``sample_shape + batch_shape`` with ``-inf`` where
    the value is outside the support. ``sample`` raises
    :class:`ImproperDistributionError`; :func:`initial_value` gives a starting
    point (``Uniform(-2, 2)`` in unconstrained space mapped onto the support).
    ``mean`` and ``variance`` are nan.

    References
    ----------
    NumPyro, ``numpyro.distributions.distribution.ImproperUniform``;
    Stan Reference Manual, "Constrained parameters" (a parameter with no
    sampling statement has an improper uniform prior on its declared support).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from credo import distributions as dist
    >>> from credo.distributions import constraints
    >>> d = dist.ImproperUniform(constraints.ordered_vector, (), (2,))
    >>> d.log_prob(jnp.array([[0.0, 1.0], [1.0, 0.0]])).tolist()
    [0.0, -inf]
    """

    arg_constraints = {}

    def __init__(self, support, batch_shape=(), event_shape=(), *, validate_args=None):
        batch_shape = tuple(int(n) for n in np.atleast_1d(batch_shape))
        event_shape = tuple(int(n) for n in np.atleast_1d(event_shape))
        extra = len(event_shape) - support.event_dim
        if extra < 0:
            raise DistributionError(
                f"ImproperUniform: support {support!r} has event_dim {support.event_dim}, "
                f"but event_shape {event_shape} has only {len(event_shape)} dimensions")
        self.support = constraints.independent(support, extra)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def _log_prob(self, value):
        batch = value.shape[: value.ndim - len(self.event_shape)]
        shape = jnp.broadcast_shapes(batch, self.batch_shape)
        return jnp.zeros(shape, dtype=as_float(value)[0].dtype)

    def _sample(self, key, sample_shape):
        raise ImproperDistributionError(
            f"ImproperUniform on {self.support!r} is improper and cannot be sampled; "
            "use credo.distributions.initial_value for initialisation")

    @property
    def mean(self):
        return jnp.full(self.batch_shape + self.event_shape, jnp.nan)

    @property
    def variance(self):
        return jnp.full(self.batch_shape + self.event_shape, jnp.nan)

    def __repr__(self):
        return (f"ImproperUniform(support={self.support!r}, batch_shape={self.batch_shape}, "
                f"event_shape={self.event_shape})")


# Eager calls run one compiled program per (distribution structure, shapes)
# instead of dispatching and compiling every primitive separately; inside an
# outer jit these calls are simply inlined.
_jit_log_prob = jax.jit(lambda d, value: d._log_density(value))
_jit_sample = jax.jit(lambda d, key, sample_shape: d._sample(key, sample_shape), static_argnums=2)


def initial_value(distribution, key, sample_shape=(), radius=2.0):
    """A point of the support for initialising samplers, also for improper laws.

    Draws ``Uniform(-radius, radius)`` in unconstrained space and maps it
    through ``biject_to(distribution.support)``.

    Returns
    -------
    array, shape ``sample_shape + batch_shape + event_shape``
    """
    from .transforms import biject_to

    transform = biject_to(distribution.support)
    shape = transform.inverse_shape(distribution.shape(sample_shape))
    return transform(jax.random.uniform(key, shape, minval=-radius, maxval=radius))
