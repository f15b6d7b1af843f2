"""What variational inference needs from a model: a log density of one flat vector.

:func:`as_target` accepts a model function (with its data), a compiled
:class:`~credo.ppl.LogDensity`, or a plain log-density function of a flat
vector with ``dim=``. A model's array data are not baked into its log
density: :class:`LogJoint` carries them as array leaves next to a static
part compared by the model's structure (:attr:`LogDensity.static_key
<credo.ppl.LogDensity.static_key>`), so the compiled programs of a fit
(which take ``log_p`` as an argument) are reused by every later fit of the
same model with data of the same shapes and dtypes, whatever the data
values or the seed.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import equinox as eqx
import jax
import numpy as np

from credo.errors import ModelError

__all__ = ["VITarget", "as_target", "LogJoint"]


class _Structure:
    """A :class:`~credo.ppl.LogDensity` compared by its structure: model, fixed non-array data,
    shapes and dtypes of the array data (:attr:`~credo.ppl.LogDensity.static_key`).

    The log density's seed (the last element of ``static_key``) only fixes the
    subsample of a subsampling plate; it is part of the key only then, and not
    for ``minibatch`` evaluations (:meth:`~credo.ppl.LogDensity.fn_minibatch`),
    which set the plate's indices themselves. Compiled programs traced with one
    :class:`_Structure` serve every equal one: they take the array data as arguments.
    """

    def __init__(self, ld, minibatch: bool = False):
        key = ld.static_key
        self.ld = ld
        self._key = (key if ld.subsampled and not minibatch else key[:-1]) + (minibatch,)

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, _Structure) and self._key == other._key


class LogJoint(eqx.Module):
    """A model's log joint on unconstrained space with its array data as pytree leaves.

    ``LogJoint(flat)`` (or ``LogJoint(flat, batch)`` with a minibatch of rows
    that replace those arrays) is the log density, Jacobians included. Two
    instances of the same model with data of the same shapes differ only in
    their array leaves, so a jitted function that takes one as an argument
    (``eqx.filter_jit``) compiles once for both.
    """

    structure: _Structure = eqx.field(static=True)
    data: dict
    minibatch: bool = eqx.field(static=True, default=False)

    def __call__(self, flat, batch=None):
        data = self.data if batch is None else {**self.data, **batch}
        ld = self.structure.ld
        return ld.fn_minibatch(flat, data) if self.minibatch else ld.fn_with(flat, data)


class Constrain(eqx.Module):
    """:meth:`LogDensity.constrain <credo.ppl.LogDensity.constrain>` with the data as leaves
    (see :class:`LogJoint`)."""

    structure: _Structure = eqx.field(static=True)
    data: dict
    minibatch: bool = eqx.field(static=True, default=False)

    def __call__(self, flat):
        ld = self.structure.ld
        return (ld.constrain_minibatch(flat, self.data) if self.minibatch
                else ld.constrain_with(flat, self.data))


class _Uniform(eqx.Module):
    """``key -> Uniform(-2, 2)^dim``: the initial point of a plain log density."""

    dim: int = eqx.field(static=True)

    def __call__(self, key):
        return jax.random.uniform(key, (self.dim,), minval=-2.0, maxval=2.0)


def _as_x(flat) -> dict:
    return {"x": flat}


@eqx.filter_jit
def _constrain_many(constrain, flat):
    # module level, so that targets of one structure share the compiled program
    return jax.vmap(constrain)(flat)


@dataclasses.dataclass(frozen=True, eq=False)
class VITarget:
    """A log density on R^dim with named constrained outputs.

    Attributes
    ----------
    dim : int
    log_p : callable
        ``(dim,) -> scalar``, jittable and differentiable: the model's log
        joint in unconstrained space, Jacobians included.
    constrain : callable
        ``(dim,) -> dict`` of constrained values (latent and deterministic sites).
    init : callable
        ``key -> (dim,)``, an initial point.
    output_shapes : dict of str -> tuple
    observed : dict of str -> ndarray
        Observed data, for ArviZ export.
    logdensity : LogDensity or None
        The compiled model, when there is one.
    """

    dim: int
    log_p: Callable
    constrain: Callable
    init: Callable
    output_shapes: dict
    observed: dict = dataclasses.field(default_factory=dict)
    logdensity: object = None

    def constrain_batch(self, flat) -> dict:
        """Constrained values of draws ``flat`` (shape ``(n, dim)``) as numpy arrays ``(n, *shape)``."""
        out = _constrain_many(self.constrain, flat)  # dicts come back with sorted keys: restore site order
        return {k: np.asarray(out[k]) for k in self.output_shapes if k in out}


def _observed_values(ld) -> dict:
    """Values of the observed sample sites (observed data may come as model arguments)."""
    names = [n for n, s in ld.sites.items() if s.type == "sample" and s.observed]
    if not names:
        return {}
    tr = ld._run(jax.numpy.zeros(ld.dim))
    return {n: np.asarray(tr[n].value) for n in names if n in tr}


def as_target(model, data=None, *, dim=None) -> VITarget:
    """Wrap a model function, a :class:`~credo.ppl.LogDensity` or a plain log density.

    A plain function of one flat vector needs ``dim=``; its draws are named ``"x"``.
    """
    from credo.ppl import LogDensity, logdensity

    if isinstance(model, VITarget):
        return model
    if dim is not None:
        if data:
            raise ModelError("data= applies to models; a plain log density takes no data")
        dim = int(dim)
        if dim < 1:
            raise ModelError(f"dim must be positive, got {dim}")
        return VITarget(dim=dim, log_p=model, constrain=_as_x, init=_Uniform(dim),
                        output_shapes={"x": (dim,)})
    if isinstance(model, LogDensity):
        ld = model
    elif callable(model):
        ld = logdensity(model, data)
    else:
        raise TypeError(f"expected a model function or a log density, got {type(model).__name__}")
    if ld.dim == 0:
        raise ModelError("the model has no latent variables to approximate")
    shapes = {n: s.shape for n, s in ld.sites.items()
              if s.offset is not None or s.type == "deterministic"}
    observed = _observed_values(ld)
    structure, data = _Structure(ld), dict(ld.data)
    return VITarget(dim=ld.dim, log_p=LogJoint(structure, data),
                    constrain=Constrain(structure, data),
                    init=functools.partial(_init_uniform, ld), output_shapes=shapes,
                    observed=observed, logdensity=ld)


def _init_uniform(ld, key):
    return ld.init(key, "uniform")
