"""Compile a model and its data into a log density on flat unconstrained space.

:func:`logdensity` returns a :class:`LogDensity`, the object samplers and
optimisers work with: a function of one flat vector, plus the maps between
that vector and the model's named, constrained values.

Examples
--------
>>> import jax
>>> import credo.ppl as ppl
>>> from credo.ppl.examples import flu_prevalence
>>> ld = ppl.logdensity(flu_prevalence)
>>> ld.dim, ld.names
(1, ('theta',))
>>> x0 = ld.init(jax.random.PRNGKey(0))
>>> value, grad = jax.value_and_grad(ld.fn)(x0)
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ArgumentError, ModelError

from ._model import INIT_STRATEGIES, BoundModel, _Initialize, is_free, prototype_trace, transform_of
from .enumeration import Enumerate, EnumerationPlan, enumerable_sites, plan_enumeration
from .handlers import seed, substitute, trace
from .runtime import Handler, Site, Trace, as_key, at_step
from .structure import distribution_name, observed_values  # distribution_name stays importable from here

__all__ = ["LogDensity", "SiteInfo", "logdensity"]

#: Starting points tried before a model's init gives up (here, in Gibbs and in the samplers).
MAX_INIT_TRIES = 100


@dataclasses.dataclass(frozen=True)
class SiteInfo:
    """Static description of one site of a compiled model.

    Attributes
    ----------
    name : str
    type : {"sample", "param", "deterministic"}
    shape : tuple of int
        Shape of the constrained value.
    observed : bool
    distribution : str or None
        Class name of the site's distribution (``sample`` sites).
    event_shape : tuple of int
    constraint : Constraint or None
        Support of a sample site, constraint of a param.
    unconstrained_shape : tuple of int or None
        Shape in unconstrained space (free sites only).
    offset, size : int or None
        The site's block ``flat[offset:offset + size]`` (free sites only).
    plates : tuple of str
    enumerated : bool
        A discrete latent site summed out of the density (not in the flat
        vector), or a deterministic site that depends on one.
    """

    name: str
    type: str
    shape: tuple
    observed: bool = False
    distribution: str | None = None
    event_shape: tuple = ()
    constraint: object = None
    unconstrained_shape: tuple | None = None
    offset: int | None = None
    size: int | None = None
    plates: tuple = ()
    enumerated: bool = False

    @property
    def slice(self) -> slice | None:
        """The site's block of the flat vector (free sites only)."""
        return None if self.offset is None else slice(self.offset, self.offset + self.size)


class _Unconstrained(Handler):
    """Set free sites from unconstrained values and record ``log|det J|`` of the map."""

    def __init__(self, fn, values: dict):
        super().__init__(fn)
        self.values = values

    def process_message(self, msg: Site) -> None:
        if not (is_free(msg) and msg.value is None):
            return
        if msg.name not in self.values:
            raise ModelError(f"site {msg.name!r} did not appear when the model was compiled; "
                             "the model's sites must not depend on the values of its variables")
        u = at_step(msg, self.values[msg.name])
        transform = transform_of(msg)
        msg.value = transform(u)
        if msg.type == "sample":  # params are point estimates: no change of measure
            # kept per batch element so that array scales weigh it like the log prob
            msg.log_abs_det_jacobian = transform.log_abs_det_jacobian(u, msg.value)


class _Minibatch(Handler):
    """Give each subsampled plate the rows of a minibatch: full size, indices ``0 .. B - 1``."""

    def __init__(self, fn, plates: dict):
        super().__init__(fn)
        self.plates = plates

    def process_message(self, msg: Site) -> None:
        if msg.type == "plate" and msg.name in self.plates:
            size, batch = self.plates[msg.name]
            msg.kwargs["size"], msg.kwargs["subsample_size"] = size, batch
            msg.value = jnp.arange(batch)


class LogDensity:
    """A model's log joint density as a function of one flat unconstrained vector.

    Built by :func:`logdensity`. The flat vector holds the latent sample
    sites and the param sites, each mapped to unconstrained space by
    ``biject_to(support)`` (``biject_to(constraint)`` for params), in
    contiguous blocks in trace order, row-major within a site.

    Attributes
    ----------
    dim : int
        Length of the flat vector.
    names : tuple of str
        The free sites, in flat order.
    sites : dict of str -> SiteInfo
        Every sample, param and deterministic site, in trace order.
    plates : dict of str -> int
        Plate name -> size.
    observed : dict of str -> ndarray
        Values of the observed sample sites.
    subsampled : dict of str -> tuple of int
        Plates that subsample: name -> ``(size, subsample_size)``.
    enumeration : EnumerationPlan or None
        How the discrete latent sites are summed out of the density (None
        when the model has none); ``print(ld.enumeration)`` shows the summed
        sites, the elimination order, the largest table and the cost.
    """

    def __init__(self, model, data: dict | None = None, *, seed=None, memory_limit: int | None = None):
        self._model = BoundModel(model, data)
        self._key = None if seed is None else as_key(seed)
        proto = prototype_trace(self._model, self._key)
        _check_compilable(proto, self._key, self._model.observations)
        check_observed_shapes(proto, self._model)
        self.enumeration: EnumerationPlan | None = plan_enumeration(self._enumerated_run(proto), proto,
                                                                    memory_limit)
        self.sites = _site_infos(proto, self.enumeration)
        self._outputs = tuple(n for n, s in self.sites.items()
                              if not s.enumerated and (s.offset is not None or s.type == "deterministic"))
        self.names = tuple(n for n, s in self.sites.items() if s.offset is not None)
        self.dim = sum(self.sites[n].size for n in self.names)
        self.plates = {s.name: s.kwargs["size"] for s in proto.sites("plate")}
        self.subsampled = {s.name: (s.kwargs["size"], s.kwargs["subsample_size"])
                           for s in proto.sites("plate")
                           if s.kwargs["subsample_size"] != s.kwargs["size"]}
        self.observed = observed_values(proto)

    # -- the density ---------------------------------------------------------------------
    def fn(self, flat):
        """Log joint density at ``flat`` (shape ``(dim,)``), a scalar.

        Sum of the (plate-scaled, masked) log probabilities of all sample
        sites, observed and latent, at the constrained values, plus factor
        sites, plus ``log|det J|`` of the maps from unconstrained space.
        Params contribute no density (they are point estimates). Jittable and
        differentiable.
        """
        tr = self._run(flat)
        return self._density(tr)

    __call__ = fn

    def _density(self, tr: Trace):
        summed = tr.log_density() if self.enumeration is None else self.enumeration.log_density(tr)
        return summed + _log_jacobian(tr)

    def _enumerated_run(self, proto: Trace):
        """``run(sites)``: the model with its continuous values from ``proto`` and ``sites`` enumerated."""
        discrete = {s.name for s in enumerable_sites(proto)}
        values = {s.name: s.value for s in proto.sites("sample", "param")
                  if is_free(s) and s.name not in discrete}

        def run(handler: Enumerate):
            handler.fn = substitute(self._model, values)
            return trace(seed(handler, self._key if self._key is not None else 0)).get_trace()

        return run

    def _run(self, flat, data: dict | None = None, minibatch: bool = False) -> Trace:
        bound = self._rebound(data) if data else self._model
        if minibatch:
            bound = _Minibatch(bound, self.subsampled)
        if self.enumeration is not None:
            bound = self.enumeration.handler(bound)
        model = _Unconstrained(bound, self.unflatten(flat))
        if self._key is not None:  # only plate subsampling needs keys here
            model = seed(model, self._key)
        return trace(model).get_trace()

    # -- data as arguments -----------------------------------------------------------------
    @property
    def data(self) -> dict:
        """The array-valued data (numeric arrays with at least one dimension), by name.

        These are the inputs :meth:`fn_with` and :meth:`constrain_with` take as
        arguments, so a jitted sampler can be reused on new data of the same
        shapes without recompiling. Scalars (sizes, counts) stay fixed.
        """
        merged = {**self._model.kwargs, **self._model.observations}
        return {k: v for k, v in merged.items() if _is_array_data(v)}

    def _rebound(self, data: dict) -> BoundModel:
        unknown = set(data) - set(self.data)
        if unknown:
            raise ModelError(f"{sorted(unknown)} are not array data of this model "
                             f"(array data: {sorted(self.data)})")
        merged = {**self._model.kwargs, **self._model.observations, **data}
        return BoundModel(self._model.model, merged)

    def fn_with(self, flat, data: dict):
        """:meth:`fn` with the array data replaced by ``data`` (same names and shapes).

        Parameters
        ----------
        flat : array, shape ``(dim,)``
        data : dict of str -> array
            A subset of :attr:`data`; missing names keep their bound values.
        """
        tr = self._run(flat, data)
        return self._density(tr)

    def fn_minibatch(self, flat, batch: dict):
        r"""Unbiased estimate of :meth:`fn` from one minibatch of the subsampled plates' rows.

        Parameters
        ----------
        flat : array, shape ``(dim,)``
        batch : dict of str -> array
            Array data replaced by their rows in the minibatch, shape
            ``(subsample_size, ...)``.

        Every subsampled plate then holds the rows ``0 .. subsample_size - 1``
        of those arrays (its indices), keeps its full ``size`` whatever the
        model computes from the batch's length, and scales the log
        probability of the sites inside by ``size / subsample_size``. For rows
        drawn uniformly without replacement,
        :math:`E\,[\frac{N}{B}\sum_{i\in\text{batch}}\log p(y_i\mid x)] = \sum_{i=1}^N\log p(y_i\mid x)`
        (Hoffman et al. 2013, stochastic variational inference).
        """
        tr = self._run(flat, batch, minibatch=True)
        return self._density(tr)

    def constrain_minibatch(self, flat, batch: dict) -> dict:
        """:meth:`constrain` on a minibatch (see :meth:`fn_minibatch`)."""
        tr = self._run(flat, batch, minibatch=True)
        return {n: tr[n].value for n in self._outputs if n in tr}

    def constrain_with(self, flat, data: dict) -> dict:
        """:meth:`constrain` with the array data replaced by ``data``."""
        tr = self._run(flat, data)
        return {n: tr[n].value for n in self._outputs if n in tr}

    @property
    def static_key(self):
        """A hashable key equal for two compilations that differ only in array data values.

        ``(model, fixed non-array data, shapes and dtypes of the array data, the enumeration
        plan's signature, seed)``:
        samplers use it to reuse compiled programs across datasets of one shape.
        """
        merged = {**self._model.kwargs, **self._model.observations}
        fixed = tuple(sorted((k, _hashable(v)) for k, v in merged.items() if not _is_array_data(v)))
        shapes = tuple(sorted((k, tuple(np.shape(v)), str(np.asarray(v).dtype))
                              for k, v in self.data.items()))
        seed_bytes = None if self._key is None else tuple(np.asarray(jax.random.key_data(self._key)).ravel().tolist())
        enumeration = None if self.enumeration is None else self.enumeration.signature
        return (self._model.model, fixed, shapes, enumeration, seed_bytes)  # the seed last (see target._structure)

    # -- layout ----------------------------------------------------------------------------
    def unflatten(self, flat) -> dict:
        """Split ``flat`` (shape ``(dim,)``) into unconstrained values per free site."""
        flat = jnp.asarray(flat)
        if flat.shape != (self.dim,):
            raise ArgumentError("flat", f"expected a flat vector of shape ({self.dim},), got {flat.shape}")
        return {n: flat[self.sites[n].slice].reshape(self.sites[n].unconstrained_shape)
                for n in self.names}

    def flatten(self, unconstrained: dict):
        """Inverse of :meth:`unflatten`: concatenate per-site unconstrained values, shape ``(dim,)``."""
        missing = [n for n in self.names if n not in unconstrained]
        if missing:
            raise ModelError(f"missing values for sites {missing}")
        parts = [jnp.reshape(unconstrained[n], (-1,)) for n in self.names]
        return jnp.concatenate(parts) if parts else jnp.zeros((0,))

    def constrain(self, flat) -> dict:
        """Constrained values of the free and deterministic sites at ``flat`` (shape ``(dim,)``).

        Summed-out discrete sites, and deterministic sites that depend on them,
        are left out (:func:`credo.infer_discrete` draws them).
        """
        return self.constrain_with(flat, {})

    def unconstrain(self, values: dict):
        """Flat vector (shape ``(dim,)``) of constrained per-site ``values``.

        Runs the model so that supports depending on other sites are resolved.
        """
        missing = [n for n in self.names if n not in values]
        if missing:
            raise ModelError(f"missing values for sites {missing}")
        model = substitute(self._model, values)
        tr = trace(seed(model, self._key if self._key is not None else 0)).get_trace()
        return self._flat_from_trace(tr)

    def _flat_from_trace(self, tr: Trace):
        return self.flatten({n: transform_of(tr[n]).inv(tr[n].value) for n in self.names})

    # -- initialisation --------------------------------------------------------------------
    def init(self, key, strategy: str = "uniform"):
        """An initial point with a finite log density and gradient, shape ``(dim,)``.

        Parameters
        ----------
        key : int or PRNG key
        strategy : {"uniform", "median", "prior"}
            ``"uniform"``: Uniform(-2, 2) in unconstrained space. ``"prior"``:
            a prior draw; ``"median"``: the median of many prior draws; both
            mapped to unconstrained space (improper priors use ``"uniform"``).
            Params start at their ``init_value``. Up to 100 keys are tried.

        Raises
        ------
        ModelError
            If no finite point is found. The message names the sites whose log
            density is -inf or NaN at the first candidate and why (see
            :func:`~credo.ppl.explain_nonfinite`); NaN observations, or ones
            outside a fixed support, are reported at once without searching.
        """
        key = as_key(key)
        if strategy not in INIT_STRATEGIES:
            raise ArgumentError("init", f"unknown init strategy {strategy!r}; use one of {INIT_STRATEGIES}")
        first = None
        for attempt in range(MAX_INIT_TRIES):
            flat, value, grad = _init_candidate(_Structure(self), strategy,
                                                jax.random.fold_in(key, attempt), self.data)
            if np.isfinite(value) and np.all(np.isfinite(grad)):
                return flat
            if first is None:
                from .checks import _culprits

                first = _culprits(self, flat)
                # bad observed values (NaN, outside the support) fail at every start
                if first and all(data for _, data in first):
                    raise ModelError("the log density is not finite whatever the starting point: "
                                     + "; ".join(text for text, _ in first))
        why = "; ".join(text for text, _ in first) if first else ""
        raise ModelError(f"no initial point with a finite log density and gradient found in "
                         f"{MAX_INIT_TRIES} tries with strategy {strategy!r}"
                         + (f"; at the first candidate, {why}" if why else ""))

    def __repr__(self):
        return f"LogDensity(dim={self.dim}, names={self.names})"


class _Structure:
    """A :class:`LogDensity` compared by a static key (default :attr:`LogDensity.static_key`):
    a static jit argument, or a static field of an equinox module, under which densities that
    differ only in array data values share one compiled program.

    The one such key of the package: :func:`_init_candidate` uses it here and
    :mod:`credo.ppl.target` for the log joints it hands to variational inference.
    """

    def __init__(self, ld: LogDensity, key=None):
        self.ld, self._key = ld, ld.static_key if key is None else key

    @property
    def key(self):
        """The hashable key this structure is compared by."""
        return self._key

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, _Structure) and self._key == other._key


@functools.partial(jax.jit, static_argnums=(0, 1))
def _init_candidate(structure: _Structure, strategy: str, key, data: dict):
    # Jitted rather than run eagerly: an eager run of a model with a lax.scan
    # (garch, HMMs) compiles the scan on every call, ~0.15 s per chain.
    ld = structure.ld
    model = _Initialize(ld._rebound(data) if data else ld._model, key, strategy)
    tr = trace(seed(model, ld._key if ld._key is not None else key)).get_trace()
    flat = ld._flat_from_trace(tr)
    value, grad = jax.value_and_grad(ld.fn_with)(flat, data)
    return flat, value, grad


def _is_array_data(value) -> bool:
    return (isinstance(value, (np.ndarray, jax.Array)) and np.ndim(value) >= 1
            and np.issubdtype(np.asarray(value).dtype if isinstance(value, np.ndarray) else value.dtype,
                              np.number))


def _hashable(value):
    try:
        hash(value)
        return value
    except TypeError:
        arr = np.asarray(value)
        return (arr.dtype.str, arr.shape, arr.tobytes())


def logdensity(model, data: dict | None = None, *, seed=None, memory_limit: int | None = None) -> LogDensity:
    """Compile ``model`` with ``data`` into a :class:`LogDensity`.

    Parameters
    ----------
    model : callable
        A model function.
    data : dict, optional
        Keys naming arguments of ``model`` are passed to it; other keys
        observe the sample site of that name (or fix a plate's subsample indices).
    seed : int or PRNG key, optional
        Needed only by models with subsampled plates: fixes the subsample.
    memory_limit : int, optional
        Bytes one evaluation of a model with discrete latent sites may use
        for their exact sum (default 80% of the available memory).

    Discrete latent sites with a finite support are summed out exactly
    (:mod:`credo.ppl.enumeration`); :attr:`LogDensity.enumeration` reports how.

    Raises
    ------
    ModelError
        If a discrete latent site cannot be summed out (infinite support, a
        batch dimension outside a plate, ...), naming it, or a plate
        subsamples without a seed.
    ContractionTooLargeError
        If summing the discrete latent sites out would need more memory than allowed.
    """
    return LogDensity(model, data, seed=seed, memory_limit=memory_limit)


def _check_compilable(tr: Trace, key, observations: dict) -> None:
    subsampled = [s.name for s in tr.sites("plate")
                  if s.kwargs["subsample_size"] != s.kwargs["size"] and s.name not in observations]
    if subsampled and key is None:
        raise ModelError(f"plates {subsampled} subsample: pass seed= to logdensity to fix the "
                         "subsample, or give the indices in data under the plate's name")


def check_observed_shapes(tr: Trace, bound: BoundModel) -> None:
    """Raise a ModelError naming the site if an observed value's shape does not fit its site.

    The value must broadcast to ``batch_shape + event_shape`` of the site's
    distribution (its plates included) without growing it: observations of
    length 47 in a plate of 50 fail here, and so does a column vector
    ``(50, 1)`` against a plate of 50, which would otherwise broadcast
    silently to a ``(50, 50)`` log likelihood.
    """
    for site in tr.sites("sample"):
        if not site.is_observed:
            continue
        expected = tuple(site.fn.batch_shape) + tuple(site.fn.event_shape)
        observed = tuple(np.shape(site.value))
        try:
            fits = tuple(jnp.broadcast_shapes(observed, expected)) == expected
        except ValueError:
            fits = False
        if fits:
            continue
        plates = ", ".join(f"{f.name!r} of size {f.subsample_size} at dim {f.dim}" for f in site.plates)
        key = bound.data_key_of(site)
        source = f" (data key {key!r})" if key is not None else ""
        raise ModelError(f"observed site {site.name!r}: the observed values{source} have shape "
                         f"{observed}, but the site expects shape {expected}"
                         + (f" from its plates ({plates})" if plates else "")
                         + f" and its {distribution_name(site.fn)} distribution; pass values of "
                         "that shape (a transposed matrix or a vector of the wrong length?)")


def _site_infos(tr: Trace, enumeration: EnumerationPlan | None = None) -> dict:
    summed = set() if enumeration is None else set(enumeration.names) | set(enumeration.deterministics)
    infos, offset = {}, 0
    for site in tr.sites("sample", "param", "deterministic"):
        shape = tuple(jnp.shape(site.value))
        info = dict(name=site.name, type=site.type, shape=shape, observed=site.is_observed,
                    plates=site.plate_names, enumerated=site.name in summed)
        if site.type == "sample":
            info.update(distribution=distribution_name(site.fn),
                        event_shape=tuple(site.fn.event_shape), constraint=site.fn.support)
        elif site.type == "param":
            info.update(constraint=site.kwargs["constraint"])
        if is_free(site) and site.name not in summed:
            ushape = tuple(transform_of(site).inverse_shape(shape))
            size = math.prod(ushape)
            info.update(unconstrained_shape=ushape, offset=offset, size=size)
            offset += size
        infos[site.name] = SiteInfo(**info)
    return infos


def _log_jacobian(tr: Trace):
    total = 0.0
    for site in tr.latent_sites():
        if site.log_abs_det_jacobian is not None:
            ladj = site.log_abs_det_jacobian
            total = total + jnp.sum(ladj if site.scale is None else ladj * site.scale)
    return total
