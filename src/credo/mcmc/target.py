"""What a sampler needs from a model: a log density of a flat vector, data as arguments.

The samplers see only this: ``logdensity(flat, data)``, ``constrain(flat,
data)`` and a way to draw initial points. A :class:`Target` is hashable by
its static part (the model, non-array data, array shapes), so compiled
programs keyed on it are reused for new data of the same shapes.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ModelError
from credo.ppl._model import required_arguments
from credo.ppl.logdensity import MAX_INIT_TRIES

from . import rng

__all__ = ["Target", "as_target", "initial_positions", "require_latents"]


class Target:
    """A differentiable log density on R^dim, with named constrained outputs.

    Attributes
    ----------
    dim : int
    data : dict of str -> array
        Array data passed to :meth:`logdensity` as arguments (not baked in).
    observed : dict of str -> ndarray
        Observed sites, for export.
    output_shapes : dict of str -> tuple
        Names and shapes of :meth:`constrain`'s values.
    """

    def __init__(self, *, static, dim, data, logdensity, constrain, output_shapes, init,
                 observed=None, names=None, unconstrain=None):
        self._static = static
        self.dim = int(dim)
        self.data = data
        self._logdensity = logdensity
        self._constrain = constrain
        self._init = init
        self.output_shapes = output_shapes
        self.observed = observed or {}
        self.names = names
        self._unconstrain = unconstrain

    def logdensity(self, flat, data):
        """Log density at ``flat`` (shape ``(dim,)``) given array ``data``, a scalar."""
        return self._logdensity(flat, data)

    def constrain(self, flat, data) -> dict:
        """Named values on the constrained scale at ``flat``."""
        return self._constrain(flat, data)

    @property
    def is_function(self) -> bool:
        """A plain log density of a flat vector (not a model)."""
        return self._static[0] == "function"

    def init(self, key, strategy) -> jax.Array:
        """One initial point, shape ``(dim,)``."""
        return self._init(key, strategy)

    def unconstrain(self, values: dict) -> jax.Array:
        """Flat vector, shape ``(dim,)``, of constrained per-site ``values``."""
        if self._unconstrain is None:
            raise ModelError("init=<dict> needs a model; pass an array for a plain log density")
        return self._unconstrain(values)

    def __hash__(self):
        return hash(self._static)

    def __eq__(self, other):
        return isinstance(other, Target) and self._static == other._static


def _from_logdensity_object(ld) -> Target:
    shapes = {n: s.shape for n, s in ld.sites.items()
              if s.offset is not None or s.type == "deterministic"}
    observed = dict(ld.observed)
    return Target(static=("model",) + ld.static_key, dim=ld.dim, data=dict(ld.data),
                  logdensity=ld.fn_with, constrain=ld.constrain_with, output_shapes=shapes,
                  init=lambda key, strategy: ld.init(key, strategy), observed=observed,
                  names=ld.names, unconstrain=ld.unconstrain)


def _from_function(fn, dim: int) -> Target:
    def init(key, strategy):
        if strategy != "uniform":
            raise ModelError(f"init strategy {strategy!r} needs a model; a plain log density "
                             "starts from Uniform(-2, 2) or from init=<array>")
        return jax.random.uniform(key, (dim,), minval=-2.0, maxval=2.0)

    return Target(static=("function", fn, dim), dim=dim, data={},
                  logdensity=lambda flat, data: fn(flat),
                  constrain=lambda flat, data: {"x": flat}, output_shapes={"x": (dim,)},
                  init=init)


def as_target(model, data=None, *, dim=None, init=None) -> Target:
    """Wrap a model function, a :class:`~credo.ppl.LogDensity` or a plain log density.

    A plain function of one flat vector is recognised by ``dim=`` or by an
    ``init`` array; its draws are returned under the name ``"x"``.
    """
    from credo.ppl import LogDensity, logdensity

    if isinstance(model, Target):
        return model
    if isinstance(model, LogDensity):
        return _from_logdensity_object(model)
    if dim is None and init is not None and not isinstance(init, (str, dict)) \
            and any(name not in (data or {}) for name in required_arguments(model)):
        dim = int(np.shape(init)[-1])
    if dim is not None:
        if data:
            raise ModelError("data= applies to models; a plain log density takes no data")
        return _from_function(model, int(dim))
    if not callable(model):
        raise TypeError(f"expected a model function or a log density, got {type(model).__name__}")
    return _from_logdensity_object(logdensity(model, data))


def require_latents(dim: int) -> None:
    """Raise if a model has nothing to sample (``dim`` unconstrained coordinates)."""
    if dim == 0:
        raise ModelError("the model has no latent variables to sample (every site is observed); "
                         "simulate it with credo.prior_predictive instead")


def initial_positions(target: Target, key, chains: int, init) -> jnp.ndarray:
    """Starting points, shape ``(chains, dim)``, each with a finite log density and gradient.

    ``init`` is a strategy name (``"uniform"``, ``"median"``, ``"prior"``),
    a dict of constrained values per site, or an array of shape ``(dim,)`` or
    ``(chains, dim)``.

    Raises
    ------
    ModelError
        If a given starting point (or, for a plain log density, every one of
        100 uniform draws) has a non-finite log density or gradient: a
        sampler started there would return garbage without saying so.
    """
    if isinstance(init, str):
        keys = rng.split_by_index(key, chains)  # chain c's start does not depend on ``chains``
        if target.is_function:
            return _finite_uniform_starts(target, keys, init)
        return jnp.stack([target.init(k, init) for k in keys])  # models search for finite points themselves
    if isinstance(init, dict):
        positions = jnp.broadcast_to(target.unconstrain(init), (chains, target.dim))
    else:
        init = jnp.asarray(init, dtype=float)
        if init.shape == (target.dim,):
            positions = jnp.broadcast_to(init, (chains, target.dim))
        elif init.shape == (chains, target.dim):
            positions = init
        else:
            raise ModelError(f"init has shape {init.shape}; expected ({target.dim},) or "
                             f"({chains}, {target.dim})")
    finite, value = _finite_at(target, positions)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ModelError(f"the log density or its gradient is not finite at the given init of chain(s) "
                         f"{bad.tolist()} (log density {value[bad].tolist()}); start inside the support")
    return positions


def _finite_uniform_starts(target: Target, keys, strategy: str) -> jnp.ndarray:
    """A plain log density's starts: Uniform(-2, 2) draws, redrawn (up to 100 times) where not finite."""
    positions = jnp.stack([target.init(k, strategy) for k in keys])
    for attempt in range(1, MAX_INIT_TRIES + 1):
        finite, value = _finite_at(target, positions)
        if finite.all():
            return positions
        redrawn = jnp.stack([target.init(jax.random.fold_in(k, attempt), strategy) for k in keys])
        positions = jnp.where(finite[:, None], positions, redrawn)
    raise ModelError(f"no initial point with a finite log density and gradient found in {MAX_INIT_TRIES} "
                     f"Uniform(-2, 2) draws (last log densities {value.tolist()}); pass init=<array>")


def _finite_at(target: Target, positions) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of ``positions`` (chains, dim) have a finite log density and gradient, and the values."""
    value, grad = _value_and_grad(target, positions, target.data)
    value, grad = np.asarray(value), np.asarray(grad)
    return np.isfinite(value) & np.isfinite(grad).all(axis=-1), value


@functools.partial(jax.jit, static_argnums=0)
def _value_and_grad(target: Target, positions, data):
    return jax.vmap(jax.value_and_grad(target.logdensity), in_axes=(0, None))(positions, data)
