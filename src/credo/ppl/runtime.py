"""The effect-handler runtime: site messages, the handler stack and traces.

A model is a plain Python function that calls the primitives of
:mod:`credo.ppl.primitives`. Each primitive call builds a :class:`Site`
message and passes it through the stack of active handlers
(:func:`apply_stack`), innermost first; the handlers may read or rewrite it
(record it, give it a value, a random key, a scale, ...).

The stack is **not** a module-level mutable global. It lives in a
:class:`contextvars.ContextVar` holding an *immutable tuple* of handlers:
entering a handler sets the variable to a longer tuple, leaving it sets it
back to the shorter one. Each thread (and each ``asyncio`` task) has its own
context, so concurrent model runs never see each other's handlers.

JAX transformations are safe with this design because ``jax.jit``,
``jax.vmap`` and ``jax.grad`` trace the Python function synchronously, in the
caller's thread and context: the handlers active while the function body is
traced are exactly those it sees. Apply handlers *inside* the function you
``jit`` (as :class:`credo.ppl.LogDensity` does); a jitted function that
calls a model under handlers installed *outside* it would keep, from its
compile cache, whatever handlers were active when it was first traced.
"""

from __future__ import annotations

import contextvars
import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp

from credo.errors import CredoError, ModelError
from credo.random import as_key, site_key  # re-exported: this module was their first home

__all__ = [
    "Site",
    "PlateFrame",
    "ScanStep",
    "at_step",
    "step_key",
    "Trace",
    "Handler",
    "MissingKeyError",
    "apply_stack",
    "site_key",
    "as_key",
]

_STACK: contextvars.ContextVar[tuple] = contextvars.ContextVar("credo_ppl_handlers", default=())


class MissingKeyError(CredoError, RuntimeError):
    """A random choice was needed but no :func:`credo.ppl.seed` handler supplied a key.

    credo keeps no hidden global random state: run the model under
    ``seed(model, key)``, or give the site a value with ``substitute``/``condition``.
    """


@dataclasses.dataclass(frozen=True)
class PlateFrame:
    """One enclosing plate of a site.

    Attributes
    ----------
    name : str
    size : int
        Full size of the plate.
    subsample_size : int
        Number of elements actually present (``size`` without subsampling).
    dim : int
        Negative batch dimension the plate occupies.
    """

    name: str
    size: int
    subsample_size: int
    dim: int


@dataclasses.dataclass(frozen=True)
class ScanStep:
    """Where a site inside :func:`credo.scan` runs: which scan, which step.

    Attributes
    ----------
    scan : str
        The scan's name.
    index : int or traced int
        The step, ``0 .. length - 1``.
    length : int
    """

    scan: str
    index: Any
    length: int


def at_step(msg: "Site", value):
    """The part of a handler's ``value`` for site ``msg``: its step's slice inside a scan.

    Handlers that hold values by site name (data, substitutions, unconstrained
    coordinates) hold, for a site inside :func:`credo.scan`, the whole series
    with a leading time axis; each step reads its own row.
    """
    return value if msg.step is None else jnp.asarray(value)[msg.step.index]


def step_key(key, msg: "Site"):
    """The key of site ``msg`` from a base ``key``: one per site name, and one per step inside a scan."""
    key = site_key(key, msg.name)
    return key if msg.step is None else jax.random.fold_in(key, msg.step.index)


@dataclasses.dataclass(eq=False)
class Site:
    """A primitive call travelling through the handler stack (and its trace record).

    Attributes
    ----------
    name : str
    type : {"sample", "deterministic", "factor", "param", "plate"}
    fn : Distribution or None
        The site's distribution (``sample`` sites only).
    value : array or None
        The value; ``None`` until a handler or the default behaviour supplies it.
    is_observed : bool
        True when the value is data (``obs=`` or :func:`~credo.ppl.condition`).
    plates : tuple of PlateFrame
        Enclosing plates, outermost first.
    scale : float or array or None
        Multiplier of the log probability (``None`` means 1).
    mask : bool array or None
        Where False, the log probability counts as 0.
    log_abs_det_jacobian : array or None
        Set by :class:`credo.ppl.LogDensity` for sites mapped from unconstrained space.
    kwargs : dict
        Type-specific settings: ``constraint`` and ``init_value`` of a ``param``,
        ``size``/``subsample_size``/``dim`` of a ``plate``, ``sample_shape``.
    key : PRNG key or None
        Key supplied by :func:`~credo.ppl.seed` for this site.
    stop : bool
        Set by :func:`~credo.ppl.block` to hide the site from outer handlers.
    step : ScanStep or None
        Set for one step of a site inside :func:`credo.scan`: the handlers see
        every step, and the trace records the stacked site the scan emits.
    """

    name: str
    type: str
    fn: Any = None
    value: Any = None
    is_observed: bool = False
    plates: tuple = ()
    scale: Any = None
    mask: Any = None
    log_abs_det_jacobian: Any = None
    kwargs: dict = dataclasses.field(default_factory=dict)
    key: Any = dataclasses.field(default=None, repr=False)
    stop: bool = dataclasses.field(default=False, repr=False)
    step: Any = dataclasses.field(default=None, repr=False)

    @property
    def plate_names(self) -> tuple:
        """Names of the enclosing plates, outermost first."""
        return tuple(f.name for f in self.plates)

    @property
    def log_prob(self):
        """Scaled and masked log density of the value, shape ``batch_shape`` (None for other types).

        For a ``factor`` site this is the log weight itself.
        """
        lp = self.unscaled_log_prob
        return lp if lp is None or self.scale is None else lp * self.scale

    @property
    def unscaled_log_prob(self):
        """Masked log density of the value without the scale (the plate ratios), or None for other types."""
        if self.type == "sample":
            lp = self.fn.log_prob(self.value)
        elif self.type == "factor":
            lp = jnp.asarray(self.value)
        else:
            return None
        return lp if self.mask is None else jnp.where(self.mask, lp, 0.0)

    @property
    def summed_elsewhere(self) -> bool:
        """Whether the site's log probability is already inside another term (a scan's forward sum)."""
        return self.kwargs.get("summed_in") is not None


class Trace(dict):
    """Record of one model run: site name -> :class:`Site`, in execution order."""

    def add(self, site: Site) -> None:
        if site.name in self:
            raise ModelError(f"site name {site.name!r} is used twice in one model run; "
                             "site names must be unique")
        self[site.name] = site

    def sites(self, *types: str) -> list:
        """The sites of the given types (all when none given), in order."""
        return [s for s in self.values() if not types or s.type in types]

    def latent_sites(self) -> list:
        """Unobserved ``sample`` sites, in order."""
        return [s for s in self.values() if s.type == "sample" and not s.is_observed]

    def log_density(self):
        """Sum of the log probabilities of every sample and factor site (a scalar).

        Sites a scan has summed into its forward factor (``summed_elsewhere``) count there only.
        """
        total = 0.0
        for site in self.sites("sample", "factor"):
            if not site.summed_elsewhere:
                total = total + jnp.sum(site.log_prob)
        return total


class Handler:
    """Base class of effect handlers.

    A handler wraps a model ``fn``: calling the handler runs ``fn`` with the
    handler on the stack. It can also be used as a context manager around
    model code. Subclasses override :meth:`process_message` (before the site
    gets its default value; innermost handler first) and
    :meth:`postprocess_message` (after it).

    Parameters
    ----------
    fn : callable, optional
        The model (or model wrapped in other handlers).
    """

    def __init__(self, fn: Callable | None = None):
        self.fn = fn

    def __enter__(self):
        _STACK.set(_STACK.get() + (self,))
        return self

    def __exit__(self, *exc):
        stack = _STACK.get()
        # Handlers leave in reverse order of entry; anything else means a
        # generator or context manager was abandoned half-way.
        if not stack or stack[-1] is not self:
            raise RuntimeError("credo.ppl handler stack is out of order")
        _STACK.set(stack[:-1])
        return False

    def _frame(self) -> Handler:
        """The object to push for one call; stateful handlers return a fresh copy."""
        return self

    def __call__(self, *args, **kwargs):
        if self.fn is None:
            raise TypeError(f"{type(self).__name__} was created without a model to call")
        with self._frame():
            return self.fn(*args, **kwargs)

    def process_message(self, msg: Site) -> None:
        """Inspect or modify ``msg`` before its default value is computed."""

    def postprocess_message(self, msg: Site) -> None:
        """Inspect or modify ``msg`` after its value is known."""


def apply_stack(msg: Site) -> Site:
    """Send ``msg`` through the active handlers, innermost first, and give it a value.

    A handler that sets ``msg.stop`` hides the site from the handlers outside it.
    """
    stack = _STACK.get()
    if msg.kwargs.get("stacked"):  # a scan's finished site: already processed step by step, only recorded
        for handler in stack:
            handler.postprocess_message(msg)
        return msg
    seen = 0
    for handler in reversed(stack):
        seen += 1
        handler.process_message(msg)
        if msg.stop:
            break
    _default_value(msg)
    for handler in stack[len(stack) - seen:]:
        handler.postprocess_message(msg)
    return msg


def _default_value(msg: Site) -> None:
    if msg.type == "sample" and msg.value is None:
        msg.value = msg.fn.sample(_require_key(msg), msg.kwargs.get("sample_shape", ()))
    elif msg.type == "param" and msg.value is None:
        init = msg.kwargs["init_value"]
        msg.value = init(_require_key(msg)) if callable(init) else jnp.asarray(init)
    elif msg.type == "plate":
        _default_plate(msg)


def _default_plate(msg: Site) -> None:
    size, subsample_size = msg.kwargs["size"], msg.kwargs["subsample_size"]
    if msg.value is None:
        if subsample_size == size:
            msg.value = jnp.arange(size)
        else:
            key = _require_key(msg)
            msg.value = jax.random.permutation(key, size)[:subsample_size]
    # Allocate the dimension only now, when the enclosing plates have added
    # their frames, so the trace records the resolved dim.
    occupied = {f.dim for f in msg.plates}
    dim = msg.kwargs["dim"]
    if dim is None:
        dim = -1
        while dim in occupied:
            dim -= 1
    elif dim >= 0 or dim in occupied:
        raise ModelError(f"plate {msg.name!r}: dim={dim} must be negative and not used by an "
                         f"enclosing plate (used: {sorted(occupied)})")
    msg.kwargs["dim"] = dim


def _require_key(msg: Site):
    if msg.key is None:
        raise MissingKeyError(
            f"{msg.type} site {msg.name!r} needs a random draw but no key was given: run the "
            "model under credo.ppl.seed(model, key), or give the site a value with "
            "substitute/condition (credo has no hidden global random state)")
    return msg.key
