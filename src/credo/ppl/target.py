"""What every inference method needs from a model: a log density of one flat vector.

:func:`as_target` turns a model function (with its data), a compiled
:class:`~credo.ppl.LogDensity` or a plain log density of a flat vector (with
``dim=``) into one :class:`Target`: the dimension, the log density with its
Jacobians, the map to named constrained values, the observed data, the
output shapes and a default initial point. MCMC (:func:`credo.nuts`,
:func:`credo.mh`, :func:`credo.gibbs`) and variational inference
(:func:`credo.advi`, :func:`credo.pathfinder`) all read this one object.

One way to bind data: a model's array data are not baked into its log
density, they are arguments. MCMC calls :meth:`Target.logdensity` with them
(``logdensity(flat, data)``), and a target is hashed by its static part (the
model, its non-array data, the shapes and dtypes of its arrays), so programs
compiled for one target serve every equal one. Variational inference reads
:attr:`Target.log_p` and :attr:`Target.constrain_fn`, equinox modules that
carry the arrays as pytree leaves next to that same static part, so a
jitted function taking them as arguments compiles once per structure.

Examples
--------
>>> import jax.numpy as jnp
>>> import credo.ppl as ppl
>>> from credo.ppl.examples import flu_prevalence
>>> t = ppl.as_target(flu_prevalence, {"n": 100, "y": 12})
>>> t.dim, t.names, t.output_shapes
(1, ('theta',), {'theta': ()})
>>> bool(jnp.isfinite(t.log_p(jnp.zeros(1))))
True
>>> ppl.as_target(lambda x: -0.5 * jnp.sum(x ** 2), dim=3).output_shapes
{'x': (3,)}
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ModelError
from credo.random import split_by_index

from ._model import required_arguments
from .logdensity import MAX_INIT_TRIES, LogDensity, _Structure, logdensity

__all__ = ["Target", "as_target", "minibatch_target", "initial_positions", "require_latents",
           "LogJoint", "Constrain", "UniformStart", "MAX_INIT_TRIES"]


def _structure(ld: LogDensity, minibatch: bool = False) -> _Structure:
    """``ld`` compared by its structure: model, fixed non-array data, shapes and dtypes of the
    array data (:attr:`~credo.ppl.LogDensity.static_key`), and ``minibatch``.

    The log density's seed (the last element of ``static_key``) only fixes the
    subsample of a subsampling plate; it is part of the key only then, and not
    for ``minibatch`` evaluations (:meth:`~credo.ppl.LogDensity.fn_minibatch`),
    which set the plate's indices themselves. Compiled programs traced with one
    structure serve every equal one: they take the array data as arguments.
    """
    key = ld.static_key
    return _Structure(ld, (key if ld.subsampled and not minibatch else key[:-1]) + (minibatch,))


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


class UniformStart(eqx.Module):
    """``key -> Uniform(-2, 2)^dim``: the default initial point where no model says better.

    The start of a plain log density (which has no supports to respect) and
    of a minibatch target (whose model's ``init`` would evaluate the full
    data). Uniform(-2, 2) on the unconstrained scale is Stan's default.
    """

    dim: int = eqx.field(static=True)

    def __call__(self, key):
        return jax.random.uniform(key, (self.dim,), minval=-2.0, maxval=2.0)


def _as_x(flat) -> dict:
    return {"x": flat}


@eqx.filter_jit
def _constrain_many(constrain, flat):
    # module level, so that targets of one structure share the compiled program
    return jax.vmap(constrain)(flat)


class Target:
    """A differentiable log density on R^dim, with named constrained outputs.

    Built by :func:`as_target` (or, for samplers with their own layout such
    as Gibbs, from the keyword arguments below).

    Parameters
    ----------
    static : hashable
        What the target is compared and hashed by.
    dim : int
    data : dict of str -> array
        Array data passed to :meth:`logdensity` and :meth:`constrain`.
    logdensity : callable
        ``(flat, data) -> scalar``.
    constrain : callable
        ``(flat, data) -> dict``.
    output_shapes : dict of str -> tuple
    init : callable
        ``(key, strategy) -> (dim,)``.
    observed : dict, optional
    names : tuple of str, optional
    unconstrain : callable, optional
        ``values -> (dim,)``.
    source : LogDensity, optional
    log_p, constrain_fn : callable, optional
        The one-argument forms (default: ``logdensity`` and ``constrain``
        with :attr:`data` bound).

    Attributes
    ----------
    dim : int
        Length of the flat vector.
    data : dict of str -> array
        Array data, passed as arguments (not baked in).
    observed : dict of str -> ndarray
        Observed sites, for export.
    output_shapes : dict of str -> tuple
        Names and shapes of :meth:`constrain`'s values, in model order.
    names : tuple of str or None
        The free sites of a model, in flat order.
    source : LogDensity or None
        The compiled model, when there is one.
    log_p : callable
        ``(dim,) -> scalar``, jittable and differentiable: the log density
        with the data bound (a :class:`LogJoint` for a model).
    constrain_fn : callable
        ``(dim,) -> dict`` of constrained values (a :class:`Constrain` for a model).
    """

    def __init__(self, *, static, dim, data, logdensity, constrain, output_shapes, init,
                 observed=None, names=None, unconstrain=None, source=None, log_p=None,
                 constrain_fn=None):
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
        self.source = source
        enumeration = getattr(source, "enumeration", None)
        #: Discrete latent sites the log density sums out (not coordinates of the flat vector).
        self.summed = () if enumeration is None else enumeration.names
        self.log_p = log_p if log_p is not None else functools.partial(_bound, logdensity, data)
        self.constrain_fn = (constrain_fn if constrain_fn is not None
                             else functools.partial(_bound, constrain, data))

    def logdensity(self, flat, data):
        """Log density at ``flat`` (shape ``(dim,)``) given array ``data``, a scalar."""
        return self._logdensity(flat, data)

    def constrain(self, flat, data) -> dict:
        """Named values on the constrained scale at ``flat``."""
        return self._constrain(flat, data)

    def constrain_batch(self, flat) -> dict:
        """Constrained values of draws ``flat`` (shape ``(n, dim)``) as numpy arrays ``(n, *shape)``."""
        out = _constrain_many(self.constrain_fn, flat)  # dicts come back with sorted keys: restore site order
        return {k: np.asarray(out[k]) for k in self.output_shapes if k in out}

    @property
    def is_function(self) -> bool:
        """A plain log density of a flat vector (not a model)."""
        return self._static[0] == "function"

    def init(self, key, strategy: str = "uniform") -> jax.Array:
        """One initial point, shape ``(dim,)``.

        Parameters
        ----------
        key : PRNG key
        strategy : {"uniform", "median", "prior"}
            See :meth:`LogDensity.init <credo.ppl.LogDensity.init>`; a plain
            log density knows only ``"uniform"``.
        """
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

    def __repr__(self):
        return f"Target(dim={self.dim}, outputs={list(self.output_shapes)})"


def _bound(fn, data, flat):
    return fn(flat, data)


def _output_shapes(ld: LogDensity) -> dict:
    return {n: s.shape for n, s in ld.sites.items()
            if not s.enumerated and (s.offset is not None or s.type == "deterministic")}


def _model_target(ld: LogDensity, data: dict, *, minibatch: bool = False, init=None) -> Target:
    structure = _structure(ld, minibatch)
    static = ("model",) + structure.key  # one identity for MCMC's programs and VI's modules
    return Target(static=static, dim=ld.dim, data=data,
                  logdensity=ld.fn_minibatch if minibatch else ld.fn_with,
                  constrain=ld.constrain_minibatch if minibatch else ld.constrain_with,
                  output_shapes=_output_shapes(ld),
                  init=init if init is not None else ld.init, observed=dict(ld.observed),
                  names=ld.names, unconstrain=ld.unconstrain, source=ld,
                  log_p=LogJoint(structure, data, minibatch),
                  constrain_fn=Constrain(structure, data, minibatch))


def _function_target(fn, dim: int) -> Target:
    start = UniformStart(dim)

    def init(key, strategy="uniform"):
        if strategy != "uniform":
            raise ModelError(f"init strategy {strategy!r} needs a model; a plain log density "
                             "starts from Uniform(-2, 2) or from init=<array>")
        return start(key)

    return Target(static=("function", fn, dim), dim=dim, data={},
                  logdensity=lambda flat, data: fn(flat),
                  constrain=lambda flat, data: _as_x(flat), output_shapes={"x": (dim,)},
                  init=init, log_p=fn, constrain_fn=_as_x)


def as_target(model, data=None, *, dim=None, init=None) -> Target:
    """Wrap a model function, a :class:`~credo.ppl.LogDensity` or a plain log density.

    Parameters
    ----------
    model : callable, LogDensity or Target
        A target is returned unchanged.
    data : dict, optional
        As for :func:`credo.ppl.logdensity`; models only.
    dim : int, optional
        Marks ``model`` as a plain log density of one flat vector of this
        length; its draws are named ``"x"``.
    init : array, optional
        A plain function whose required arguments ``data`` does not give is
        recognised by an initial array too (its last axis is ``dim``).

    Raises
    ------
    ModelError
        For ``data`` with a plain log density, or ``dim < 1``.
    TypeError
        If ``model`` is not callable.
    """
    if isinstance(model, Target):
        return model
    if isinstance(model, LogDensity):
        return _model_target(model, dict(model.data))
    if dim is None and init is not None and not isinstance(init, (str, dict)) \
            and any(name not in (data or {}) for name in required_arguments(model)):
        dim = int(np.shape(init)[-1])
    if dim is not None:
        if data:
            raise ModelError("data= applies to models; a plain log density takes no data")
        dim = int(dim)
        if dim < 1:
            raise ModelError(f"dim must be positive, got {dim}")
        return _function_target(model, dim)
    if not callable(model):
        raise TypeError(f"expected a model function or a log density, got {type(model).__name__}")
    ld = logdensity(model, data)
    return _model_target(ld, dict(ld.data))


def minibatch_target(ld: LogDensity, batch: dict) -> tuple[Target, LogJoint]:
    """The target of a subsampled model on one minibatch, and its minibatch log joint.

    Parameters
    ----------
    ld : LogDensity
        A model with a subsampled plate.
    batch : dict of str -> array
        The plate's rows of one minibatch, shape ``(subsample_size, ...)``,
        by data name; the other array data stay whole.

    Returns
    -------
    target : Target
        Evaluates ``batch`` (an unbiased but noisy estimate of the log
        joint, :meth:`~credo.ppl.LogDensity.fn_minibatch`); starts from
        :class:`UniformStart`, because the model's own ``init`` would
        evaluate the full data under jit, which host arrays do not allow.
    log_p_batch : LogJoint
        ``(flat, batch) -> scalar`` for any minibatch of those rows.
    """
    # the arrays that are not rows of the plate are arguments too (see LogJoint)
    others = {k: v for k, v in ld.data.items() if k not in batch}
    start = UniformStart(ld.dim)
    target = _model_target(ld, {**others, **batch}, minibatch=True,
                           init=lambda key, strategy="uniform": start(key))
    return target, LogJoint(_structure(ld, minibatch=True), others, minibatch=True)


def require_latents(dim: int, task: str = "sample", summed: tuple = ()) -> None:
    """Raise if a model has nothing to infer (``dim`` unconstrained coordinates).

    Parameters
    ----------
    dim : int
    task : str
        What the caller would do with them (``"sample"``, ``"approximate"``),
        for the message.
    summed : tuple of str
        Discrete latent sites the log density sums out (:attr:`Target.summed`).
    """
    if dim == 0 and summed:
        raise ModelError(f"every latent site of the model is discrete ({', '.join(map(repr, summed))}) and is "
                         f"summed out of the density exactly, so there is nothing continuous to {task}: its exact "
                         "posterior is credo.discrete_marginals(model, {}, data) (credo.infer_discrete draws "
                         "from it), or sample it with credo.gibbs")
    if dim == 0:
        raise ModelError(f"the model has no latent variables to {task} (every site is observed); "
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
        keys = split_by_index(key, chains)  # chain c's start does not depend on ``chains``
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
