"""The dependency graph of a model, found by tracing it with JAX.

:func:`model_graph` runs the model once under :func:`jax.make_jaxpr` as a
function of the values of all its sample, param and deterministic sites, with
every site's value replaced by that function's input. The jaxpr then says,
exactly and without finite differences, which site values each site's
distribution parameters (and each deterministic value, each factor) are
computed from: an edge ``parent -> child`` for each. Because deterministic
sites are inputs too, a site computed from ``theta = deterministic(...)``
depends on ``theta``, not on what ``theta`` was computed from.

Limitation: the model must be traceable, i.e. must not branch in Python on
the values of its random variables.
"""

from __future__ import annotations

import itertools
from typing import Iterable

import jax
import jax.numpy as jnp
import networkx as nx
from jax.extend.core import ClosedJaxpr, Jaxpr, Literal

from credo.graphs import dseparation

from ._model import BoundModel, prototype_trace
from .structure import distribution_name
from .runtime import Handler, Site, Trace, at_step

__all__ = ["render", "ModelGraph", "model_graph"]

_INPUT_TYPES = ("sample", "param", "deterministic")
_NODE_TYPES = ("sample", "param", "deterministic", "factor")


class ModelGraph:
    """A model's sites as a DAG, with its plates.

    Attributes
    ----------
    graph : networkx.DiGraph
        Edges ``parent -> child``. Node attributes: ``type`` (``"sample"``,
        ``"deterministic"``, ``"factor"``, ``"param"``), ``observed`` (factor
        sites count as observed evidence), ``distribution`` (class name or
        None), ``plates`` (plate names, outermost first), ``shape``,
        ``deterministic``; on an expanded graph also ``site`` and ``index``.
    plates : dict of str -> int
        Plate name -> size.
    site_graph : networkx.DiGraph
        The per-site graph (``graph`` itself unless plates were expanded);
        drawings use it.
    """

    def __init__(self, graph: nx.DiGraph, plates: dict, site_graph: nx.DiGraph | None = None):
        self.graph = graph
        self.plates = dict(plates)
        self.site_graph = graph if site_graph is None else site_graph

    def is_d_separated(self, x, y, given=()) -> bool:
        """Whether node sets ``x`` and ``y`` are d-separated given ``given``.

        See :func:`credo.graphs.dseparation.is_d_separated`.
        """
        return dseparation.is_d_separated(self.graph, x, y, given)

    def markov_blanket(self, node) -> set:
        """Parents, children and children's other parents of ``node``."""
        return dseparation.markov_blanket(self.graph, node)

    def explain_dependence(self, x, y, given=()):
        """An active trail between ``x`` and ``y`` given ``given``, or None when d-separated."""
        return dseparation.explain_dependence(self.graph, x, y, given)

    def to_dot(self) -> str:
        """Graphviz source of the plate diagram."""
        from .draw import to_dot

        return to_dot(self.site_graph, self.plates)

    def render(self, path=None, **kwargs):
        """Draw the plate diagram with matplotlib; save to ``path`` (format by extension).

        Returns
        -------
        matplotlib.figure.Figure
        """
        from .draw import render

        return render(self.site_graph, self.plates, path, **kwargs)

    def __repr__(self):
        return (f"ModelGraph({self.graph.number_of_nodes()} nodes, "
                f"{self.graph.number_of_edges()} edges, plates={self.plates})")


def render(model, data: dict | None = None, path=None, **kwargs):
    """Draw ``model``'s plate diagram (matplotlib only, no Graphviz) and save it to ``path``.

    Plates are boxes labelled with their size, observed sites are shaded and
    deterministic sites drawn as diamonds. The format follows ``path``'s
    extension (``.png``, ``.svg``, ``.pdf``). For Graphviz text use
    ``model_graph(model, data).to_dot()``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    return model_graph(model, data).render(path, **kwargs)


def model_graph(model, data: dict | None = None, *, expand_plates: bool = False) -> ModelGraph:
    """The dependency graph of ``model`` with ``data``.

    Parameters
    ----------
    model : callable
    data : dict, optional
        As for :func:`credo.ppl.logdensity`.
    expand_plates : bool
        Unroll plated sites into one node per plate element, ``y[0]``,
        ``y[1]``, ... (``y[i,j]`` under two plates): an element depends on the
        same-index element of a parent in the same plate and on every element
        of the parent's other plates. Use it for d-separation between
        elements.

    Returns
    -------
    ModelGraph
    """
    bound = BoundModel(model, data)
    proto = prototype_trace(bound)
    sites = _site_graph(proto, _dependencies(bound, proto))
    plates = {s.name: s.kwargs["size"] for s in proto.sites("plate")}
    if not expand_plates:
        return ModelGraph(sites, plates)
    return ModelGraph(_expand(sites, proto), plates, site_graph=sites)


# --------------------------------------------------------------------------- dependencies


class _Probe(Handler):
    """Replace site values by ``inputs`` and collect what each site is computed from."""

    def __init__(self, fn, inputs: dict, plate_indices: dict, outputs: list):
        super().__init__(fn)
        self.inputs, self.plate_indices, self.outputs = inputs, plate_indices, outputs

    def process_message(self, msg: Site) -> None:
        if msg.step is None:
            self._collect(msg)
        if msg.type == "plate":
            msg.value = self.plate_indices[msg.name]
        if msg.type in _INPUT_TYPES:
            msg.value = at_step(msg, self.inputs[msg.name])

    def postprocess_message(self, msg: Site) -> None:
        # A site inside credo.scan is collected once, stacked, when the scan ends: its values are the
        # scan's outputs, so (loops being followed coarsely) it depends on every input of the scan.
        if msg.kwargs.get("stacked"):
            self._collect(msg)

    def _collect(self, msg: Site) -> None:
        if msg.type == "sample":
            self.outputs.extend((msg.name, leaf) for leaf in jax.tree_util.tree_leaves(msg.fn))
        elif msg.type in ("deterministic", "factor"):
            self.outputs.append((msg.name, msg.value))


def _dependencies(bound: BoundModel, proto: Trace) -> dict:
    """Site name -> names of the sites its parameters (or value) are computed from."""
    names = [n for n, s in proto.items() if s.type in _INPUT_TYPES]
    indices = {s.name: s.value for s in proto.sites("plate")}
    owners = []

    def run(*values):
        outputs = []
        _Probe(bound, dict(zip(names, values)), indices, outputs)()
        owners[:] = [name for name, _ in outputs]
        return [jnp.asarray(v) for _, v in outputs]

    closed = jax.make_jaxpr(run)(*(jnp.asarray(proto[n].value) for n in names))
    out_deps = _jaxpr_dependencies(closed.jaxpr, [frozenset([n]) for n in names])
    deps = {n: set() for n, s in proto.items() if s.type in _NODE_TYPES}
    for owner, d in zip(owners, out_deps):
        deps[owner] |= d - {owner}
    return deps


def _jaxpr_dependencies(jaxpr: Jaxpr, in_deps: list) -> list:
    """For each output of ``jaxpr``, the union of the labels of the inputs it depends on.

    Calls of inner jaxprs (``jit``, ``custom_jvp``, ...) are followed so that
    outputs of a jitted helper depend only on the inputs they use; other
    higher-order primitives (loops, conditionals) count every output as
    depending on every input.
    """
    env = dict(zip(jaxpr.invars, in_deps))

    def read(var):
        return frozenset() if isinstance(var, Literal) else env.get(var, frozenset())

    for eqn in jaxpr.eqns:
        ins = [read(v) for v in eqn.invars]
        inner = _inner_jaxpr(eqn)
        if inner is not None:
            outs = _jaxpr_dependencies(inner, ins)
        else:
            union = frozenset().union(*ins)
            outs = [union] * len(eqn.outvars)
        env.update(zip(eqn.outvars, outs))
    return [read(v) for v in jaxpr.outvars]


def _inner_jaxpr(eqn) -> Jaxpr | None:
    """The jaxpr an equation calls with its inputs one-to-one, if there is exactly one."""
    found = []
    for value in eqn.params.values():
        inner = value.jaxpr if isinstance(value, ClosedJaxpr) else value
        if (isinstance(inner, Jaxpr) and len(inner.invars) == len(eqn.invars)
                and len(inner.outvars) == len(eqn.outvars)):
            found.append(inner)
    return found[0] if len(found) == 1 else None


# --------------------------------------------------------------------------- graphs


def _site_graph(proto: Trace, deps: dict) -> nx.DiGraph:
    graph = nx.DiGraph()
    for name in deps:
        site = proto[name]
        graph.add_node(name, **_node_attributes(site))
    for child, parents in deps.items():
        graph.add_edges_from((parent, child) for parent in parents if parent in graph)
    return graph


def _node_attributes(site: Site) -> dict:
    return {
        "type": site.type,
        "observed": site.is_observed or site.type == "factor",
        "distribution": distribution_name(site.fn) if site.type == "sample" else None,
        "plates": site.plate_names,
        "shape": tuple(jnp.shape(site.value)),
        "deterministic": site.type == "deterministic",
    }


def _expand(sites: nx.DiGraph, proto: Trace) -> nx.DiGraph:
    """One node per plate element (see :func:`model_graph`)."""
    extents = {n: {f.name: f.subsample_size for f in proto[n].plates} for n in sites}
    graph = nx.DiGraph()
    for name, attrs in sites.nodes(data=True):
        for index in _indices(extents[name]):
            graph.add_node(_element(name, index), **attrs, site=name,
                           index=tuple(index.values()))
    for parent, child in sites.edges:
        for index in _indices(extents[child]):
            # shared plates pin the parent's index; its other plates range fully
            fixed = {p: i for p, i in index.items() if p in extents[parent]}
            free = {p: n for p, n in extents[parent].items() if p not in fixed}
            for rest in _indices(free):
                parent_index = {p: fixed.get(p, rest.get(p)) for p in extents[parent]}
                graph.add_edge(_element(parent, parent_index), _element(child, index))
    return graph


def _indices(extents: dict) -> Iterable[dict]:
    """Every ``{plate: index}`` combination, plates in the given order."""
    for combo in itertools.product(*(range(n) for n in extents.values())):
        yield dict(zip(extents, combo))


def _element(name: str, index: dict) -> str:
    return f"{name}[{','.join(map(str, index.values()))}]" if index else name
