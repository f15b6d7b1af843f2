"""Discrete Bayesian networks: a DAG with one conditional probability table per node."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import networkx as nx
import numpy as np

from credo.errors import ArgumentError, CPDError, ModelError, UnknownVariableError
from credo.factors import DiscreteFactor, TabularCPD
from credo.graphs import dseparation
from credo.models.base import DiscreteModel

if TYPE_CHECKING:
    import pandas

__all__ = ["BayesianNetwork", "EXACT_ROW_SUM"]

#: Rows closer than this to summing to one are treated as exactly normalized.
EXACT_ROW_SUM = 1e-12


def _as_generator(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


class BayesianNetwork(DiscreteModel):
    r"""A discrete Bayesian network :math:`P(x) = \prod_i P(x_i \mid \mathrm{pa}(x_i))`.

    Parameters
    ----------
    edges : iterable of (parent, child), optional
        The DAG. When given it must agree with the CPDs' parent lists; when
        omitted the edges are read off the CPDs.
    cpds : iterable of TabularCPD
        One CPD per node. Parents' states come from the parents' own CPDs.
    name : str, optional

    Raises
    ------
    CycleError
        The graph has a directed cycle (the cycle is named).
    CPDError
        A table has the wrong shape, negative entries, or rows that do not sum
        to one within 1e-6 (the node and row are named).
    ModelError
        A parent has no CPD, a node has two CPDs, or edges and CPDs disagree.

    Examples
    --------
    >>> rain = TabularCPD("Rain", ["yes", "no"], [0.2, 0.8])
    >>> wet = TabularCPD("Wet", ["yes", "no"], [[0.9, 0.1], [0.1, 0.9]], parents=["Rain"])
    >>> bn = BayesianNetwork([("Rain", "Wet")], [rain, wet])
    >>> bn.num_parameters()
    3
    """

    is_directed = True

    def __init__(self, edges: Iterable[tuple] | None = None, cpds: Iterable[TabularCPD] = (), name: str | None = None,
                 nodes: Iterable | None = None):
        cpds = list(cpds)
        self._structure_only = not cpds
        if not cpds:
            self._init_structure(edges, nodes, name)
            return
        if nodes is not None:
            extra = [v for v in nodes if v not in {c.variable for c in cpds if isinstance(c, TabularCPD)}]
            if extra:
                raise ModelError(f"nodes {extra[:10]} have no CPD; give every node a CPD, or give no CPDs at "
                                 f"all for a structure to fit with credo.learn.fit_mle")
        by_node: dict = {}
        for cpd in cpds:
            if not isinstance(cpd, TabularCPD):
                raise ModelError(f"expected TabularCPD objects, got {type(cpd).__name__}")
            if cpd.variable in by_node:
                raise ModelError(f"node {cpd.variable!r} has two CPDs")
            by_node[cpd.variable] = cpd
        graph = nx.DiGraph()
        graph.add_nodes_from(by_node)
        for cpd in cpds:
            for parent in cpd.parents:
                if parent not in by_node:
                    raise ModelError(f"node {cpd.variable!r} has parent {parent!r}, which has no CPD "
                                     f"(unknown parent)")
                graph.add_edge(parent, cpd.variable)
        if edges is not None:
            _check_edges_match(graph, list(edges))
        dseparation.check_acyclic(graph)
        super().__init__({v: cpd.states for v, cpd in by_node.items()}, name)
        self._cpds = {v: cpd.bind({p: by_node[p].states for p in cpd.parents}) for v, cpd in by_node.items()}
        self._graph = nx.freeze(graph)
        self._factors = [cpd.to_factor() for cpd in self._cpds.values()]
        self._inexact = frozenset(v for v, cpd in self._cpds.items() if cpd.row_sum_error() > EXACT_ROW_SUM)
        position = {v: i for i, v in enumerate(by_node)}
        self._topological = tuple(nx.lexicographical_topological_sort(graph, key=position.__getitem__))

    def _init_structure(self, edges, nodes, name) -> None:
        """A network of nodes and edges without CPDs (states and tables to be learned from data)."""
        graph = nx.DiGraph()
        graph.add_nodes_from(nodes or ())
        for edge in list(edges or ()):
            if not isinstance(edge, (tuple, list)) or len(edge) != 2:
                raise ModelError(f"an edge must be a (parent, child) pair, got {edge!r}")
            graph.add_edge(*edge)
        if not graph.number_of_nodes():
            raise ModelError("a BayesianNetwork needs CPDs, or edges (and nodes) for a structure to fit with "
                             "credo.learn.fit_mle(structure, data)")
        dseparation.check_acyclic(graph)
        super().__init__({}, name)
        self._nodes = tuple(graph.nodes)
        self._cpds = {}
        self._graph = nx.freeze(graph)
        self._factors = []
        self._inexact = frozenset()
        position = {v: i for i, v in enumerate(self._nodes)}
        self._topological = tuple(nx.lexicographical_topological_sort(graph, key=position.__getitem__))

    @property
    def is_structure_only(self) -> bool:
        """True for a network built from edges alone: it has no states or CPDs until fitted."""
        return self._structure_only

    def _unfitted(self) -> ModelError:
        label = f"the network {self.name!r}" if self.name else "this network"
        return ModelError(f"{label} is a structure without CPDs (nodes "
                          f"{list(self._nodes)[:10]}{' ...' if len(self._nodes) > 10 else ''}); learn them from "
                          f"data first: credo.learn.fit_mle(network, data) or credo.learn.fit_em(network, data)")

    @property
    def variables(self) -> tuple:
        return self._nodes if self._structure_only else super().variables

    def _check_variable(self, variable) -> None:
        if self._structure_only:
            if variable not in self._graph:
                raise UnknownVariableError(variable, self._nodes)
            raise self._unfitted()
        super()._check_variable(variable)

    def parents_in_graph(self, variable) -> tuple:
        """Parents of ``variable`` in the graph (model order), fitted or not."""
        if variable not in self._graph:
            raise UnknownVariableError(variable, self.variables)
        if not self._structure_only:
            return self.parents(variable)
        order = {v: i for i, v in enumerate(self._nodes)}
        return tuple(sorted(self._graph.predecessors(variable), key=order.__getitem__))

    # ---------------------------------------------------------------- graph
    @property
    def graph(self) -> nx.DiGraph:
        """The DAG (a frozen networkx graph)."""
        return self._graph

    @property
    def edges(self) -> list[tuple]:
        return list(self._graph.edges)

    def parents(self, variable) -> tuple:
        """Parents of ``variable`` in its CPD's axis order."""
        return self.cpd(variable).parents

    def children(self, variable) -> tuple:
        self._check_variable(variable)
        return tuple(self._graph.successors(variable))

    def cpd(self, variable) -> TabularCPD:
        self._check_variable(variable)
        return self._cpds[variable]

    @property
    def cpds(self) -> list[TabularCPD]:
        if self._structure_only:
            raise self._unfitted()
        return list(self._cpds.values())

    @property
    def factors(self) -> list[DiscreteFactor]:
        if self._structure_only:
            raise self._unfitted()
        return list(self._factors)

    @property
    def topological_order(self) -> tuple:
        """Variables ordered parents-first (ties in model order)."""
        return self._topological

    @property
    def inexact_variables(self) -> frozenset:
        """Variables whose CPT rows sum to one only within the validation tolerance, not exactly.

        Published networks often round their tables (rows summing to 1 +- 3e-7).
        Inference multiplies the tables exactly as given, so such a node cannot
        be pruned as barren: its rows do not sum out to one.
        """
        return self._inexact

    def num_parameters(self) -> int:
        """Number of free parameters: :math:`\\sum_i (k_i - 1) \\prod_{p \\in pa(i)} k_p`."""
        if self._structure_only:
            raise self._unfitted()
        return sum(cpd.num_parameters() for cpd in self._cpds.values())

    def markov_blanket(self, variable) -> set:
        """Parents, children and the children's other parents of ``variable``."""
        return dseparation.markov_blanket(self._graph, variable)

    def moralize(self) -> nx.Graph:
        """The moral graph: parents of a common child married, directions dropped."""
        return dseparation.moral_graph(self._graph)

    def to_markov_network(self):
        """The same distribution as a :class:`MarkovNetwork` whose potentials are the CPDs."""
        from credo.models.markov_network import MarkovNetwork

        return MarkovNetwork(self._factors, variables=self.variables, name=self.name)

    # ---------------------------------------------------------- d-separation
    def is_d_separated(self, x, y, given: Iterable = ()) -> bool:
        """Whether node set ``x`` is d-separated from ``y`` given ``given``."""
        return dseparation.is_d_separated(self._graph, x, y, given)

    def active_trail_nodes(self, x, given: Iterable = ()) -> set:
        """Nodes reachable from ``x`` by an active trail given ``given``."""
        return dseparation.active_trail_nodes(self._graph, x, given)

    def explain_dependence(self, x, y, given: Iterable = ()):
        """One open trail from ``x`` to ``y`` given ``given``, with why each node lets it through; None if separated."""
        return dseparation.explain_dependence(self._graph, x, y, given)

    # ----------------------------------------------------------- densities
    def log_prob(self, assignment: Mapping) -> float:
        """:math:`\\ln P(x)` of a full assignment ``{variable: state}``."""
        return self.log_potential(assignment)

    def sample(self, num_samples: int, seed=None, as_indices: bool = False) -> "pandas.DataFrame":
        """Ancestral (forward) sampling.

        Parameters
        ----------
        num_samples : int
        seed : int or numpy.random.Generator
            Same seed, same draws.
        as_indices : bool
            Return state indices (int columns) instead of state names.

        Returns
        -------
        pandas.DataFrame
            One row per draw, one column per variable (model order).
        """
        import pandas as pd  # deferred: pandas is only needed for sampling output

        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 0:
            raise ArgumentError("num_samples", f"must be a non-negative integer, got {num_samples!r}")
        rng = _as_generator(seed)
        drawn: dict = {}
        for v in self._topological:
            cpd = self._cpds[v]
            rows = cpd.table[tuple(drawn[p] for p in cpd.parents)] if cpd.parents else np.broadcast_to(
                cpd.table, (num_samples, cpd.cardinality))
            cumulative = np.cumsum(rows, axis=-1)
            u = rng.random(num_samples)[:, None] * cumulative[:, -1:]
            drawn[v] = np.minimum((u >= cumulative).sum(axis=-1), cpd.cardinality - 1)
        columns = {}
        for v in self.variables:
            columns[v] = drawn[v] if as_indices else np.asarray(self._state_names[v], dtype=object)[drawn[v]]
        return pd.DataFrame(columns)

    def __repr__(self) -> str:
        if not self._structure_only:
            return super().__repr__()
        label = f" {self.name!r}" if self.name else ""
        return (f"BayesianNetwork{label} (structure: {len(self._nodes)} nodes, {self._graph.number_of_edges()} "
                f"edges, no CPDs)")

    # ------------------------------------------------------------- editing
    def with_cpds(self, cpds: Sequence[TabularCPD]) -> "BayesianNetwork":
        """A new network where the given CPDs replace those of their variables."""
        replaced = {c.variable: c for c in cpds}
        if self._structure_only:
            missing = [v for v in self._nodes if v not in replaced]
            if missing:
                raise ModelError(f"a structure-only network needs a CPD for every node; missing {missing[:10]}")
            return BayesianNetwork(self.edges, [replaced[v] for v in self._nodes], self.name)
        for v in replaced:
            self._check_variable(v)
        return BayesianNetwork(None, [replaced.get(v, self._cpds[v]) for v in self.variables], self.name)


def _check_edges_match(graph: nx.DiGraph, edges: list[tuple]) -> None:
    for edge in edges:
        if len(edge) != 2:
            raise ModelError(f"an edge must be a (parent, child) pair, got {edge!r}")
        parent, child = edge
        for node in edge:
            if node not in graph:
                raise UnknownVariableError(node, graph.nodes)
        if not graph.has_edge(parent, child):
            raise CPDError(child, f"edge {parent!r} -> {child!r} is in the graph but {parent!r} is not "
                                  f"among the CPD's parents {tuple(graph.predecessors(child))}")
    given = set(map(tuple, edges))
    for parent, child in graph.edges:
        if (parent, child) not in given:
            raise CPDError(child, f"the CPD lists parent {parent!r} but the edge {parent!r} -> {child!r} "
                                  f"is not in the graph")
