"""Undirected discrete models: Markov random fields and factor graphs."""

from __future__ import annotations

from typing import Hashable, Iterable, Mapping, Sequence

import networkx as nx
import numpy as np

from credo.errors import ModelError
from credo.factors import DiscreteFactor
from credo.factors.elimination import log_partition
from credo.models.base import DiscreteModel

__all__ = ["MarkovNetwork", "FactorGraph"]


def _collect_states(factors: Sequence[DiscreteFactor], variables: Sequence | None) -> dict:
    states: dict = {}
    for factor in factors:
        if not isinstance(factor, DiscreteFactor):
            raise ModelError(f"expected DiscreteFactor potentials, got {type(factor).__name__}")
        for v in factor.variables:
            known = states.setdefault(v, factor.states(v))
            if known != factor.states(v):
                raise ModelError(f"variable {v!r} has states {known} in one factor and {factor.states(v)} in another")
    if variables is None:
        return states
    variables = list(variables)
    stray = [v for v in states if v not in set(variables)]
    if stray:
        raise ModelError(f"factors mention variables not in the variable list: {stray[:10]}")
    missing = [v for v in variables if v not in states]
    if missing:
        raise ModelError(f"variables {missing[:10]} appear in no factor; give them a (uniform) factor "
                         f"so their states are known")
    return {v: states[v] for v in variables}


class _UndirectedModel(DiscreteModel):
    """Shared body of MarkovNetwork and FactorGraph: a product of potentials."""

    def __init__(self, factors: Iterable[DiscreteFactor], variables: Sequence[Hashable] | None = None,
                 name: str | None = None):
        factors = list(factors)
        super().__init__(_collect_states(factors, variables), name)
        self._factors = factors

    @property
    def factors(self) -> list[DiscreteFactor]:
        return list(self._factors)

    def log_partition(self, evidence: Mapping | None = None, memory_limit: int | None = None) -> float:
        r"""Exact :math:`\ln Z = \ln \sum_x \prod_f \phi_f(x_f)` by variable elimination.

        With ``evidence`` the sum runs over the assignments that agree with it.
        The elimination is planned first: one that would need more than
        ``memory_limit`` bytes (default 80% of the available memory) raises
        :class:`~credo.errors.ContractionTooLargeError` before allocating.
        """
        return log_partition(self.factors, {v: self.cardinality(v) for v in self.variables},
                             self.check_evidence(evidence), memory_limit=memory_limit, what="ln Z")

    def log_prob(self, assignment: Mapping) -> float:
        r""":math:`\ln p(x) = \sum_f \ln \phi_f(x_f) - \ln Z` (computes Z exactly)."""
        return self.log_potential(assignment) - self.log_partition()


class MarkovNetwork(_UndirectedModel):
    r"""A Markov random field :math:`p(x) = \frac{1}{Z} \prod_c \phi_c(x_c)`.

    Parameters
    ----------
    factors : iterable of DiscreteFactor
        Potentials over cliques (any non-negative tables).
    variables : sequence, optional
        Variable order (default: order of first appearance in ``factors``).
    name : str, optional
    """

    @property
    def graph(self) -> nx.Graph:
        """Markov graph: an edge joins variables that share a potential."""
        return self.interaction_graph()

    def markov_blanket(self, variable) -> set:
        """Neighbours of ``variable`` in the Markov graph."""
        self._check_variable(variable)
        return set(self.graph.neighbors(variable))

    def to_factor_graph(self) -> "FactorGraph":
        return FactorGraph(self._factors, self.variables, self.name)

    @classmethod
    def ising(cls, rows: int, cols: int, coupling: float = 1.0, field=0.0, name: str | None = None) -> "MarkovNetwork":
        r"""The Ising model on a ``rows x cols`` grid.

        :math:`p(x) \propto \exp(J \sum_{i \sim j} x_i x_j + \sum_i h_i x_i)` with
        spins :math:`x_i \in \{-1, +1\}` (states in that order), 4-neighbour
        grid edges, variables ``"x_r_c"`` listed row-major.

        Parameters
        ----------
        rows, cols : int
        coupling : float
            :math:`J`; positive is ferromagnetic.
        field : float or array of shape (rows, cols)
            :math:`h`.
        """
        if rows < 1 or cols < 1:
            raise ModelError(f"an Ising grid needs positive dimensions, got {rows}x{cols}")
        field = np.broadcast_to(np.asarray(field, dtype=np.float64), (rows, cols)) if np.ndim(field) == 0 \
            else np.asarray(field, dtype=np.float64)
        if field.shape != (rows, cols):
            raise ModelError(f"field must be a scalar or have shape ({rows}, {cols}), got {field.shape}")
        spins = np.array([-1.0, 1.0])
        names = [[f"x_{r}_{c}" for c in range(cols)] for r in range(rows)]
        states = {n: (-1, 1) for row in names for n in row}
        factors = []
        for r in range(rows):
            for c in range(cols):
                v = names[r][c]
                factors.append(DiscreteFactor([v], np.exp(field[r, c] * spins), states))
        pair = np.exp(coupling * np.outer(spins, spins))
        for r in range(rows):
            for c in range(cols):
                if c + 1 < cols:
                    factors.append(DiscreteFactor([names[r][c], names[r][c + 1]], pair, states))
                if r + 1 < rows:
                    factors.append(DiscreteFactor([names[r][c], names[r + 1][c]], pair, states))
        order = [n for row in names for n in row]
        return cls(factors, variables=order, name=name or f"ising_{rows}x{cols}")


class FactorGraph(_UndirectedModel):
    r"""A factor graph: variables and factors as the two sides of a bipartite graph.

    Represents the same distribution as a :class:`MarkovNetwork` with the same
    factors, :math:`p(x) \propto \prod_f \phi_f(x_f)`, but keeps factors as
    nodes (``("factor", i)``), which is the structure belief propagation uses.
    """

    @property
    def graph(self) -> nx.Graph:
        """Bipartite graph; factor nodes are ``("factor", i)`` tuples with attribute ``bipartite=1``."""
        graph = nx.Graph()
        graph.add_nodes_from(self.variables, bipartite=0)
        for i, factor in enumerate(self._factors):
            graph.add_node(("factor", i), bipartite=1)
            graph.add_edges_from((("factor", i), v) for v in factor.variables)
        return graph

    def to_markov_network(self) -> MarkovNetwork:
        return MarkovNetwork(self._factors, self.variables, self.name)
