"""Greedy elimination orders, induced width and triangulation.

The cost of variable elimination (and the size of a junction tree's cliques)
is set by the elimination order: eliminating a node connects all its remaining
neighbours (the *fill-in*), and the largest such neighbourhood, less one, is
the order's *induced width*. Finding the best order is NP-hard; the greedy
heuristics here are the standard ones (Koller & Friedman 2009, sec. 9.4.3).
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass
from typing import Callable, Hashable, Iterable, Mapping, Sequence

import networkx as nx
import numpy as np

from credo.errors import ModelError, UnknownVariableError

__all__ = ["HEURISTICS", "EliminationOrder", "greedy_order", "random_greedy_order", "order_cost", "induced_width",
           "triangulate", "check_order", "interaction_graph"]

Adjacency = dict[Hashable, set]


def interaction_graph(variables: Iterable, scopes: Iterable[Sequence]) -> nx.Graph:
    """Graph on ``variables`` joining every pair that shares a scope (the moral graph of a BN's CPDs)."""
    graph = nx.Graph()
    graph.add_nodes_from(variables)
    for scope in scopes:
        scope = tuple(scope)
        graph.add_edges_from((a, b) for i, a in enumerate(scope) for b in scope[i + 1:])
    return graph


def _fill_edges(adjacency: Adjacency, node) -> list[tuple]:
    neighbours = list(adjacency[node])
    return [
        (a, b)
        for i, a in enumerate(neighbours)
        for b in neighbours[i + 1:]
        if b not in adjacency[a]
    ]


def _min_degree(adjacency: Adjacency, node, log_card: Mapping) -> float:
    return len(adjacency[node])


def _min_fill(adjacency: Adjacency, node, log_card: Mapping) -> float:
    return len(_fill_edges(adjacency, node))


def _weighted_min_fill(adjacency: Adjacency, node, log_card: Mapping) -> float:
    # Each fill edge weighs the product of its endpoints' cardinalities.
    return sum(math.exp(log_card[a] + log_card[b]) for a, b in _fill_edges(adjacency, node))


def _min_weight(adjacency: Adjacency, node, log_card: Mapping) -> float:
    # Log of the size of the table created by eliminating the node.
    return log_card[node] + sum(log_card[n] for n in adjacency[node])


#: Greedy scores: lower is eliminated first.
HEURISTICS: dict[str, Callable] = {
    "min-degree": _min_degree,
    "min-fill": _min_fill,
    "weighted-min-fill": _weighted_min_fill,
    "min-weight": _min_weight,
}

# Which nodes' scores can change when a node is eliminated: its neighbours for
# degree/weight, and also their neighbours for the fill-based scores.
_REACH = {"min-degree": 1, "min-fill": 2, "weighted-min-fill": 2, "min-weight": 1}


@dataclass(frozen=True)
class EliminationOrder:
    """An elimination order and what it costs.

    Attributes
    ----------
    order : tuple
        Variables in the order they are eliminated.
    induced_width : int
        Size of the largest clique created, less one (treewidth upper bound).
    max_clique_states : int
        Number of entries of the largest table the order creates.
    heuristic : str
        The heuristic that produced it.
    total_states : int
        Sum over the eliminations of the entries of the table each creates
        (variable and neighbours): the work of variable elimination, up to the
        number of tables multiplied per step.
    """

    order: tuple
    induced_width: int
    max_clique_states: int
    heuristic: str
    total_states: int = 0

    def __post_init__(self):
        object.__setattr__(self, "order", check_order(self.order))

    def __iter__(self):
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)


def _names(values: Iterable, limit: int = 20) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:limit])
    return "[" + shown + (f", ... ({len(values) - limit} more)" if len(values) > limit else "") + "]"


def check_order(order: Iterable, variables: Iterable | None = None, cover: Iterable | None = None) -> tuple:
    """An explicit elimination ``order`` as a tuple, refused when it cannot be what was meant.

    Parameters
    ----------
    order : iterable
        Variables in the order they are to be eliminated (a string is a
        heuristic name, not an order: the callers tell the two apart first).
    variables : iterable, optional
        The variables of the model (or nodes of the graph) the order is for.
    cover : iterable, optional
        Variables the order must contain (for a junction tree: all of them).

    Raises
    ------
    UnknownVariableError
        For the first name that is not among ``variables`` (with "did you mean").
    ModelError
        Naming every repeated variable, or every variable of ``cover`` the order misses.
    """
    if isinstance(order, (str, bytes)) or not isinstance(order, Iterable):
        raise ModelError(f"an elimination order is a sequence of variables (or a heuristic name), got {order!r}")
    order = tuple(order)
    if variables is not None:
        known = variables if isinstance(variables, (set, frozenset, dict)) else list(variables)
        lookup = set(known)
        for v in order:
            try:
                found = v in lookup
            except TypeError:  # an unhashable "name"
                found = False
            if not found:
                raise UnknownVariableError(v, known)
    seen, repeated = set(), []
    for v in order:
        try:
            if v in seen and v not in repeated:
                repeated.append(v)
            seen.add(v)
        except TypeError:
            raise ModelError(f"the elimination order names {v!r}, which is not a variable name") from None
    if repeated:
        raise ModelError(f"the elimination order names {_names(repeated)} more than once; each variable is "
                         f"eliminated once")
    if cover is not None:
        missing = [v for v in cover if v not in seen]
        if missing:
            raise ModelError(f"the elimination order misses {len(missing)} variable(s) {_names(missing)}: it "
                             f"must list every variable of the model once")
    return order


def _adjacency(graph: nx.Graph) -> Adjacency:
    return {n: set(graph.neighbors(n)) - {n} for n in graph.nodes}


def _eliminate(adjacency: Adjacency, node) -> set:
    neighbours = adjacency.pop(node)
    for n in neighbours:
        adjacency[n].discard(node)
        adjacency[n] |= neighbours - {n}
    return neighbours


class _FillTracker:
    """Adjacency plus, per node, the number of edges among its neighbours.

    ``fill(w) = d(w) (d(w) - 1) / 2 - edges_among_neighbours(w)``, kept up to
    date with set intersections on each edge change, so scoring a hub with
    thousands of neighbours costs O(1) instead of O(d^2).
    """

    def __init__(self, adjacency: Adjacency):
        self.adjacency = adjacency
        self.inner = {w: sum(len(adjacency[a] & nbrs) for a in nbrs) // 2 for w, nbrs in adjacency.items()}

    def fill(self, node) -> int:
        d = len(self.adjacency[node])
        return d * (d - 1) // 2 - self.inner[node]

    def eliminate(self, node) -> tuple[set, set]:
        """Connect the neighbours of ``node`` and remove it; returns (neighbours, touched nodes)."""
        adjacency, inner = self.adjacency, self.inner
        neighbours = adjacency[node]
        touched = set(neighbours)
        for a, b in _fill_edges(adjacency, node):
            common = adjacency[a] & adjacency[b]
            for w in common:
                inner[w] += 1
            touched |= common
            inner[a] += len(common)
            inner[b] += len(common)
            adjacency[a].add(b)
            adjacency[b].add(a)
        for w in neighbours:
            inner[w] -= len(adjacency[w] & neighbours)
            adjacency[w].discard(node)
        del adjacency[node], inner[node]
        return neighbours, touched


def greedy_order(
    graph: nx.Graph,
    cardinality: Mapping[Hashable, int] | None = None,
    heuristic: str = "min-fill",
    nodes: Iterable | None = None,
    rng: np.random.Generator | None = None,
    noise: float = 0.0,
) -> EliminationOrder:
    """Greedy elimination order of an undirected (e.g. moral) graph.

    Parameters
    ----------
    graph : networkx.Graph
        Interaction graph: an edge joins two variables that share a factor.
    cardinality : mapping, optional
        Number of states per node (default 2), used by weighted heuristics
        and to report the largest table.
    heuristic : {"min-fill", "min-degree", "weighted-min-fill", "min-weight"}
    nodes : iterable, optional
        Eliminate only these nodes (the others stay, as query variables do);
        default all nodes.
    rng : numpy.random.Generator, optional
        Break ties at random instead of by node order, and multiply each
        score by ``1 + noise * U(0, 1)``: one trial of a randomized greedy
        search (see :func:`random_greedy_order`).
    noise : float
        Relative score perturbation, used only with ``rng``.

    Returns
    -------
    EliminationOrder
        Without ``rng``, ties are broken by the graph's node order, so results
        are deterministic.
    """
    if heuristic not in HEURISTICS:
        raise ModelError(f"unknown elimination heuristic {heuristic!r}; choose one of {sorted(HEURISTICS)}")
    cardinality = cardinality or {}
    log_card = {n: math.log(max(int(cardinality.get(n, 2)), 1)) for n in graph.nodes}
    tracker = _FillTracker(_adjacency(graph))
    adjacency = tracker.adjacency
    rank = {n: i for i, n in enumerate(graph.nodes)}
    to_eliminate = set(graph.nodes) if nodes is None else set(nodes)
    unknown = to_eliminate - set(rank)
    if unknown:
        raise ModelError(f"cannot eliminate nodes absent from the graph: {sorted(map(str, unknown))}")

    if heuristic == "min-fill":
        def exact_score(n):
            return tracker.fill(n)
    else:
        score_of = HEURISTICS[heuristic]

        def exact_score(n):
            return score_of(adjacency, n, log_card)

    if rng is None:
        score = exact_score
    else:
        # Fresh random ranks make ties fall at random; the noise lets a
        # slightly worse node go first, which greedy search alone never tries.
        rank = {n: r for n, r in zip(graph.nodes, rng.permutation(len(rank)))}

        def score(n):
            return exact_score(n) * (1.0 + noise * rng.random())

    # A heap with lazy deletion: stale entries are skipped when popped.
    current = {n: score(n) for n in to_eliminate}
    heap = [(s, rank[n], n) for n, s in current.items()]
    heapq.heapify(heap)
    order, width, largest, total = [], 0, 1, 0
    while heap:
        s, _, node = heapq.heappop(heap)
        if node not in current or current[node] != s:
            continue
        del current[node]
        width = max(width, len(adjacency[node]))
        clique = round(math.exp(log_card[node] + sum(log_card[n] for n in adjacency[node])))
        largest = max(largest, clique)
        total += clique
        neighbours, touched = tracker.eliminate(node)
        if _REACH[heuristic] == 2 and heuristic != "min-fill":
            for n in neighbours:
                touched |= adjacency[n]
        for n in touched:
            if n in current:
                new = score(n)
                if new != current[n]:
                    current[n] = new
                    heapq.heappush(heap, (new, rank[n], n))
        order.append(node)
    return EliminationOrder(tuple(order), width, largest, heuristic, total)


def random_greedy_order(
    graph: nx.Graph,
    cardinality: Mapping[Hashable, int] | None = None,
    trials: int = 64,
    seed: int | np.random.Generator | None = 0,
    heuristics: Sequence[str] = ("min-fill", "weighted-min-fill", "min-weight"),
    noise: float = 0.3,
    time_limit: float | None = None,
) -> EliminationOrder:
    """Best of many randomized greedy elimination orders, by total table size.

    Each heuristic first runs once as plain greedy, so the result is never
    worse than the best of them; the remaining trials cycle through the
    heuristics with random tie-breaking and scores perturbed by up to
    ``noise`` (relative). The order minimizing ``(total_states,
    max_clique_states)`` wins. Cheap (one greedy pass per trial) and often
    much better than one greedy pass on large, irregular graphs (Kask,
    Gelfand, Otten & Dechter 2011, "Pushing the power of stochastic greedy
    ordering schemes for inference in graphical models", AAAI).

    Parameters
    ----------
    graph, cardinality : as for :func:`greedy_order`
    trials : int
        Greedy passes in all (at least one per heuristic).
    seed : int or numpy.random.Generator, optional
    heuristics : sequence of str
    noise : float
    time_limit : float, optional
        Stop starting new trials after this many seconds.

    Returns
    -------
    EliminationOrder
        ``heuristic`` reads ``"random-greedy(<winning heuristic>)"``.
    """
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    best = None
    for trial in range(max(trials, len(heuristics))):
        if time_limit is not None and trial >= len(heuristics) and time.perf_counter() - start > time_limit:
            break
        heuristic = heuristics[trial % len(heuristics)]
        randomized = trial >= len(heuristics)
        found = greedy_order(graph, cardinality, heuristic, rng=rng if randomized else None, noise=noise)
        if best is None or (found.total_states, found.max_clique_states) < (best.total_states, best.max_clique_states):
            best = found
    return EliminationOrder(best.order, best.induced_width, best.max_clique_states,
                            f"random-greedy({best.heuristic})", best.total_states)


def order_cost(graph: nx.Graph, order: Iterable, cardinality: Mapping[Hashable, int] | None = None,
               heuristic: str = "explicit") -> EliminationOrder:
    """Induced width, largest table and total table size of an explicit elimination ``order``."""
    cardinality = cardinality or {}
    order = check_order(order, graph.nodes)
    adjacency = _adjacency(graph)
    width, largest, total, done = 0, 1, 0, []
    for node in order:
        width = max(width, len(adjacency[node]))
        clique = math.prod(int(cardinality.get(n, 2)) for n in adjacency[node] | {node})
        largest, total = max(largest, clique), total + clique
        _eliminate(adjacency, node)
        done.append(node)
    return EliminationOrder(tuple(done), width, largest, heuristic, total)


def induced_width(graph: nx.Graph, order: Iterable) -> int:
    """Induced width of ``graph`` under an explicit elimination ``order``."""
    order = check_order(order, graph.nodes)
    adjacency = _adjacency(graph)
    width = 0
    for node in order:
        width = max(width, len(adjacency[node]))
        _eliminate(adjacency, node)
    return width


def triangulate(graph: nx.Graph, order: Iterable) -> tuple[nx.Graph, list[frozenset]]:
    """Chordal supergraph of ``graph`` from an elimination order, and its maximal cliques.

    Returns
    -------
    chordal : networkx.Graph
        ``graph`` plus the fill-in edges.
    cliques : list of frozenset
        The maximal cliques, in the order elimination creates them.
    """
    order = check_order(order, graph.nodes, cover=graph.nodes)
    adjacency = _adjacency(graph)
    chordal = nx.Graph(graph)
    candidates: list[frozenset] = []
    for node in order:
        neighbours = adjacency[node]
        chordal.add_edges_from(_fill_edges(adjacency, node))
        candidates.append(frozenset(neighbours | {node}))
        _eliminate(adjacency, node)
    if adjacency:
        raise ModelError(f"the order leaves nodes uneliminated: {sorted(map(str, adjacency))[:10]}")
    cliques = [c for c in candidates if not any(c < other for other in candidates)]
    unique = list(dict.fromkeys(cliques))
    return chordal, unique
