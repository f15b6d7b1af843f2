"""A model's structure: its latent sites, their stochastic children, and its distributions' parts.

What the site-by-site methods need to read from a model, in one public place:
:class:`ModelStructure` (a model bound to its data, its latent sites and each
one's stochastic children), :func:`unwrap` (a site's base distribution seen
through the ``Independent`` and mask wrappers), :func:`parameter` and
:func:`likelihood_weight` (a child's parameter and the weight of its log
likelihood, broadcast to the base distribution's batch shape),
:func:`tolerance` (the numerical tolerance of the structure probes) and
:func:`observed_values` (the values of a trace's observed sites) and
:func:`transform_of` (the bijection from unconstrained space onto a site's
support). The
conjugacy analysis (:mod:`credo.ppl.conjugacy`), Gibbs
(:mod:`credo.mcmc.gibbs`) and CAVI (:mod:`credo.vi.cavi`) all build on these.

Examples
--------
>>> import credo.ppl as ppl
>>> from credo.ppl.examples import flu_prevalence
>>> s = ppl.ModelStructure(flu_prevalence, {"n": 100, "y": 12})
>>> s.latent, s.children["theta"]
(('theta',), ('y',))
>>> {k: int(v) for k, v in s.observed.items()}
{'y': 12}
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from credo import distributions as dist
from credo.errors import ModelError

from ._model import BoundModel, _Initialize, prototype_trace, transform_of
from .handlers import seed, substitute, trace
from .runtime import Site, Trace
from .scan import Stacked

__all__ = ["ModelStructure", "Unwrapped", "unwrap", "distribution_name", "parameter",
           "likelihood_weight", "tolerance", "observed_values", "transform_of"]


class Unwrapped(NamedTuple):
    """A distribution seen through its shape wrappers (see :func:`unwrap`).

    Attributes
    ----------
    base : Distribution
        The innermost distribution (neither ``Independent`` nor masked).
    masks : list of (array, int)
        ``(mask, dims)`` per mask wrapper met on the way: a boolean mask
        aligned to the base's batch shape less its ``dims`` rightmost
        dimensions (the ones an ``Independent`` further in sums over).
    reinterpreted_dims : int
        Batch dimensions of the base that ``Independent`` wrappers sum over.
    """

    base: object
    masks: list
    reinterpreted_dims: int


def unwrap(fn) -> Unwrapped:
    """``fn``'s base distribution, masks and reinterpreted dimensions, looking through wrappers.

    Parameters
    ----------
    fn : Distribution

    Returns
    -------
    Unwrapped
        A named tuple ``(base, masks, reinterpreted_dims)``. A mask that is
        the constant ``True`` masks nothing and is left out.
    """
    found, seen = [], 0
    while True:
        if isinstance(fn, dist.Independent):
            seen += fn.reinterpreted_batch_ndims
            fn = fn.base_dist
        elif isinstance(fn, Stacked):  # a site of credo.scan: the step's distribution, parameters stacked
            fn = fn.base
        elif isinstance(fn, dist.MaskedDistribution):
            # the one place outside credo.distributions that reads the mask wrapper's array
            if not isinstance(fn._mask, bool) or fn._mask is False:
                found.append((fn._mask, seen))
            fn = fn.base_dist
        else:
            return Unwrapped(fn, [(m, seen - before) for m, before in found], seen)


def distribution_name(fn) -> str:
    """Class name of ``fn``'s base distribution (:func:`unwrap`), e.g. ``"Normal"``."""
    return type(unwrap(fn).base).__name__


def _parameter_shape(base, name: str) -> tuple:
    event = base.arg_constraints[name].event_dim
    value = getattr(base, name)
    return tuple(base.batch_shape) + tuple(jnp.shape(value)[jnp.ndim(value) - event:] if event else ())


def parameter(base, name: str):
    """Parameter ``name`` of distribution ``base`` broadcast to its full shape.

    Returns
    -------
    array, shape ``base.batch_shape + event part of the parameter``
        A scalar ``loc`` of a Normal with batch shape ``(3,)`` comes back
        with shape ``(3,)``; a Dirichlet's ``concentration`` keeps its event
        dimension.
    """
    return jnp.broadcast_to(getattr(base, name), _parameter_shape(base, name))


def likelihood_weight(site: Site, base, masks, extra_dims: int, shape):
    """A child site's likelihood weight (its masks times its scale) broadcast to ``shape``.

    ``site.log_prob`` is weighted over the site's batch shape, the base
    distribution's batch shape less the ``extra_dims`` that ``Independent``
    sums over; those get trailing singleton axes.

    Parameters
    ----------
    site : Site
        The child's trace record (its ``mask`` and plate ``scale``).
    base, masks, extra_dims
        :func:`unwrap` of ``site.fn``.
    shape : tuple of int
        Shape of the parameter the weight multiplies.
    """
    batch = tuple(base.batch_shape)
    outer = batch[: len(batch) - extra_dims]
    w = jnp.ones(outer, dtype=jnp.result_type(float))
    if site.mask is not None:
        w = w * jnp.broadcast_to(site.mask, outer)
    if site.scale is not None:
        w = w * site.scale
    w = jnp.reshape(w, outer + (1,) * extra_dims)
    for mask, below in masks:
        w = w * jnp.reshape(mask, jnp.shape(mask) + (1,) * below)
    w = jnp.broadcast_to(w, batch)
    w = jnp.reshape(w, batch + (1,) * (len(shape) - len(batch)))
    return jnp.broadcast_to(w, shape)


def tolerance(dtype) -> float:
    """Tolerance of the numerical structure checks in ``dtype``: ``10 * sqrt(eps)``.

    Loose enough for the rounding of a Jacobian computed by forward-mode
    differentiation, tight enough that no real dependence passes as none.
    """
    return float(np.sqrt(np.finfo(dtype).eps)) * 10.0


def observed_values(tr: Trace) -> dict:
    """Values of the observed sample sites of trace ``tr``, by name, as numpy arrays.

    The one definition of a model's observed data (for ArviZ export), used by
    :class:`~credo.ppl.LogDensity`, :class:`ModelStructure` and so by every
    sampler: a site is observed by a data key of its name or by ``obs=`` in
    the model (data passed as a model argument included).
    """
    return {s.name: np.asarray(s.value) for s in tr.sites("sample") if s.is_observed}


class ModelStructure:
    """A model bound to its data, with its latent sites and their stochastic children.

    Shared by the conjugacy analysis and by samplers that update one site at a
    time (:func:`credo.mcmc.gibbs.gibbs`).

    Parameters
    ----------
    model : callable
    data : dict, optional
        As for :func:`credo.ppl.logdensity`.

    Attributes
    ----------
    bound : BoundModel
    prototype : Trace
        One run with prior draws; fixes names, shapes and plates.
    latent : tuple of str
        Latent sample sites in model order.
    children : dict of str -> tuple of str
        Stochastic children of each latent site: the sample and factor sites
        whose distribution (or value) is computed from it, looking through
        deterministic sites.
    graph : networkx.DiGraph
        The model graph (:func:`credo.ppl.model_graph`).
    observed : dict of str -> ndarray
        Values of the observed sample sites (:func:`observed_values`).

    Raises
    ------
    ModelError
        For models with ``param`` sites or subsampled plates.
    """

    def __init__(self, model, data: dict | None = None):
        from .graph import model_graph

        self.model = model
        self.bound = BoundModel(model, data)
        self.prototype = prototype_trace(self.bound)
        params = [s.name for s in self.prototype.sites("param")]
        if params:
            raise ModelError(f"param sites {params} are point estimates; sample them, or fix them "
                             "through the model's arguments, to use this sampler")
        subsampled = [s.name for s in self.prototype.sites("plate")
                      if s.kwargs["subsample_size"] != s.kwargs["size"]]
        if subsampled:
            raise ModelError(f"plates {subsampled} subsample; site-by-site samplers need the full data")
        self.latent = tuple(s.name for s in self.prototype.latent_sites())
        self.graph = model_graph(model, data).graph
        self.children = {s: self._stochastic_children(s) for s in self.latent}
        self.observed = observed_values(self.prototype)

    def _stochastic_children(self, name: str) -> tuple:
        found, stack, seen = [], list(self.graph.successors(name)), set()
        while stack:
            node = stack.pop(0)
            if node in seen:
                continue
            seen.add(node)
            if self.graph.nodes[node]["type"] == "deterministic":
                stack.extend(self.graph.successors(node))
            else:
                found.append(node)
        order = list(self.prototype)
        return tuple(sorted(found, key=order.index))

    def site(self, name: str) -> Site:
        """The prototype record of site ``name``."""
        return self.prototype[name]

    def trace_at(self, values: dict) -> Trace:
        """Run the model with the latent sites set to ``values`` (constrained); jittable."""
        return trace(substitute(self.bound, values)).get_trace()

    def random_values(self, key, strategy: str = "prior") -> dict:
        """Values of all latent sites drawn by ``strategy`` (see :class:`credo.ppl.logdensity`'s ``init``)."""
        tr = trace(seed(_Initialize(self.bound, key, strategy), key)).get_trace()
        return {n: tr[n].value for n in self.latent}

    def is_discrete(self, name: str) -> bool:
        """Whether latent site ``name`` has a discrete support."""
        return bool(self.prototype[name].fn.support.is_discrete)
