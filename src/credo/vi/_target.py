"""What variational inference needs from a model: a log density of one flat vector.

:func:`as_target` accepts a model function (with its data), a compiled
:class:`~credo.ppl.LogDensity`, or a plain log-density function of a flat
vector with ``dim=``. Data are baked into the closure (VI compiles one
program per fit).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import jax
import numpy as np

from credo.errors import ModelError

__all__ = ["VITarget", "as_target"]


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

    @functools.cached_property
    def _constrain_batch(self):
        return jax.jit(jax.vmap(self.constrain))

    def constrain_batch(self, flat) -> dict:
        """Constrained values of draws ``flat`` (shape ``(n, dim)``) as numpy arrays ``(n, *shape)``."""
        out = self._constrain_batch(flat)  # jit returns dicts with sorted keys: restore site order
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
        return VITarget(dim=dim, log_p=model, constrain=lambda flat: {"x": flat},
                        init=lambda key: jax.random.uniform(key, (dim,), minval=-2.0, maxval=2.0),
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
    return VITarget(dim=ld.dim, log_p=ld.fn, constrain=ld.constrain,
                    init=lambda key: ld.init(key, "uniform"), output_shapes=shapes,
                    observed=observed, logdensity=ld)
