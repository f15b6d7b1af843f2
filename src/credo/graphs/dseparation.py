"""D-separation, active trails, Markov blankets and moralization.

Two node sets X and Y are *d-separated* by Z in a DAG when every trail between
them is blocked: it passes a chain or fork whose middle node is in Z, or a
collider that is not in Z and has no descendant in Z. D-separation implies
conditional independence in every distribution that factorizes over the DAG.

The queries use the linear-time reachability ("Bayes-ball") algorithm
(Koller & Friedman 2009, *Probabilistic Graphical Models*, Alg. 3.1;
Shachter 1998, "Bayes-Ball: The Rational Pastime").

Wherever a node set is expected, a single node may be given instead: a string,
any non-iterable hashable, or any value that is itself a node of the graph.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Hashable, Literal

import networkx as nx

from credo.errors import CycleError, ModelError, UnknownVariableError
from credo.graphs.ancestry import ancestral_set

__all__ = [
    "OpenPath",
    "PathStep",
    "active_trail_nodes",
    "check_acyclic",
    "explain_dependence",
    "is_d_separated",
    "markov_blanket",
    "moral_graph",
]

# Direction in which the "ball" arrives at a node: _UP from one of its
# children, _DOWN from one of its parents (Koller & Friedman's "up"/"down").
_UP = "up"
_DOWN = "down"

State = tuple[Hashable, str]


@dataclass(frozen=True)
class PathStep:
    """Why one interior node of an active trail lets information through.

    Attributes
    ----------
    node : hashable
        The interior node.
    kind : {"chain", "fork", "collider"}
        How the trail's two edges meet at ``node``.
    reason : str
        A plain-language sentence explaining why the node does not block.
    """

    node: Hashable
    kind: Literal["chain", "fork", "collider"]
    reason: str

    def to_dict(self) -> dict:
        return {"node": self.node, "kind": self.kind, "reason": self.reason}


@dataclass(frozen=True)
class OpenPath:
    """An active trail, the witness that two node sets are d-connected.

    Attributes
    ----------
    nodes : tuple
        The trail, endpoints included; no node repeats.
    steps : tuple of PathStep
        One per interior node, in trail order.
    arrows : tuple of str
        One per edge, ``"->"`` or ``"<-"`` as read along ``nodes``.
    """

    nodes: tuple
    steps: tuple[PathStep, ...]
    arrows: tuple[str, ...] = ()

    def __str__(self) -> str:
        arrows = self.arrows or ("--",) * (len(self.nodes) - 1)
        parts = [str(self.nodes[0])]
        for arrow, node in zip(arrows, self.nodes[1:]):
            parts += [arrow, str(node)]
        return " ".join(parts)

    def to_dict(self) -> dict:
        """Return a JSON-friendly dictionary (lists, strings and the node names)."""
        return {
            "nodes": list(self.nodes),
            "arrows": list(self.arrows),
            "steps": [step.to_dict() for step in self.steps],
        }


# --------------------------------------------------------------------------- validation


def _require_digraph(graph) -> None:
    if not isinstance(graph, nx.DiGraph):
        hint = "; pass its .graph, or call the model's own method" if isinstance(getattr(graph, "graph", None),
                                                                                 nx.DiGraph) else ""
        raise ModelError(f"expected a directed graph (networkx.DiGraph), got {type(graph).__name__}{hint}")


def check_acyclic(graph: nx.DiGraph) -> None:
    """Raise if ``graph`` is not a directed acyclic graph.

    Parameters
    ----------
    graph : networkx.DiGraph

    Raises
    ------
    CycleError
        Naming the nodes of one directed cycle.
    ModelError
        If ``graph`` is not directed.
    """
    _require_digraph(graph)
    # A linear-time topological sort settles the common (acyclic) case;
    # networkx's find_cycle is much slower, so it only runs to name a cycle.
    if nx.is_directed_acyclic_graph(graph):
        return
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    raise CycleError([edge[0] for edge in cycle])


def _is_single_node(graph: nx.DiGraph, nodes) -> bool:
    # A tuple (or frozenset) can itself be a node name, so membership wins
    # over iterability; ``in`` on a networkx graph is False for unhashables.
    if isinstance(nodes, str) or nodes in graph:
        return True
    return not isinstance(nodes, Iterable)


def _node_tuple(graph: nx.DiGraph, nodes) -> tuple:
    """Normalize a node or iterable of nodes, keeping input order for determinism."""
    if nodes is None:
        return ()
    items = (nodes,) if _is_single_node(graph, nodes) else tuple(dict.fromkeys(nodes))
    for node in items:
        if node not in graph:
            raise UnknownVariableError(node, graph.nodes)
    return items


def _check_disjoint(**sets: tuple) -> None:
    for (name_a, a), (name_b, b) in combinations(sets.items(), 2):
        common = set(a) & set(b)
        if common:
            node = next(n for n in a if n in common)
            raise ModelError(f"node {node!r} is in both {name_a} and {name_b}; they must be disjoint")


def _prepare(graph: nx.DiGraph, **sets) -> list[tuple]:
    check_acyclic(graph)
    tuples = {name: _node_tuple(graph, nodes) for name, nodes in sets.items()}
    _check_disjoint(**tuples)
    return list(tuples.values())


# --------------------------------------------------------------------------- reachability


def _moves(graph: nx.DiGraph, state: State, observed: set, opened: set):
    """States the ball can pass to next (Koller & Friedman 2009, Alg. 3.1, phase 2).

    ``opened`` holds Z and its ancestors: exactly the colliders that some
    observed node at or below them activates.
    """
    node, direction = state
    if node not in observed:
        if direction == _UP:
            yield from ((parent, _UP) for parent in graph.predecessors(node))
        yield from ((child, _DOWN) for child in graph.successors(node))
    if direction == _DOWN and node in opened:
        yield from ((parent, _UP) for parent in graph.predecessors(node))


def _search(graph: nx.DiGraph, sources: tuple, observed: set, targets: set = frozenset()):
    """Breadth-first Bayes-ball from ``sources``.

    Returns the predecessor map of every visited (node, direction) state and
    the first state found on a target node (or None). Breadth-first order makes
    the recorded trails shortest, which is what keeps them simple paths.
    """
    opened = ancestral_set(graph.predecessors, observed)
    came_from: dict[State, State | None] = {}
    queue = deque()
    for source in sources:
        # Starting "up" lets the ball leave the source along any edge.
        came_from[(source, _UP)] = None
        queue.append((source, _UP))
    while queue:
        state = queue.popleft()
        for nxt in _moves(graph, state, observed, opened):
            if nxt in came_from:
                continue
            came_from[nxt] = state
            if nxt[0] in targets:
                return came_from, nxt
            queue.append(nxt)
    return came_from, None


# --------------------------------------------------------------------------- public queries


def is_d_separated(graph: nx.DiGraph, x, y, given=()) -> bool:
    """Whether node set ``x`` is d-separated from ``y`` given ``given``.

    X and Y are d-separated by Z when no trail between them is active given Z
    (Koller & Friedman 2009, Def. 3.7). Runs in O(V + E) (their Alg. 3.1).

    Parameters
    ----------
    graph : networkx.DiGraph
        A DAG.
    x, y, given : node or iterable of nodes
        Pairwise disjoint node sets; ``given`` is the observed set Z.

    Returns
    -------
    bool

    Raises
    ------
    UnknownVariableError
        If a node is not in the graph.
    ModelError
        If the sets overlap.
    CycleError
        If the graph has a directed cycle.
    """
    xs, ys, zs = _prepare(graph, x=x, y=y, given=given)
    _, hit = _search(graph, xs, set(zs), set(ys))
    return hit is None


def active_trail_nodes(graph: nx.DiGraph, x, given=()) -> set:
    """Nodes reachable from ``x`` by a trail that is active given ``given``.

    Includes the nodes of ``x`` themselves (as pgmpy does) and never includes
    an observed node. Equivalently: the unobserved nodes not d-separated from
    ``x`` given Z (Koller & Friedman 2009, Alg. 3.1; Shachter 1998).

    Parameters
    ----------
    graph : networkx.DiGraph
        A DAG.
    x, given : node or iterable of nodes
        Disjoint node sets.

    Returns
    -------
    set
    """
    xs, zs = _prepare(graph, x=x, given=given)
    observed = set(zs)
    came_from, _ = _search(graph, xs, observed)
    return {node for node, _ in came_from if node not in observed}


def explain_dependence(graph: nx.DiGraph, x, y, given=()) -> OpenPath | None:
    """One shortest active trail from ``x`` to ``y`` given ``given``, if any.

    Parameters
    ----------
    graph : networkx.DiGraph
        A DAG.
    x, y, given : node or iterable of nodes
        Pairwise disjoint node sets.

    Returns
    -------
    OpenPath or None
        None when ``x`` and ``y`` are d-separated given ``given``; otherwise a
        simple trail from a node of ``x`` to a node of ``y`` whose every
        interior node is explained by a :class:`PathStep`.

    Notes
    -----
    The trail is a shortest path in Bayes-ball's (node, direction) state
    space. Such a path never repeats a node: a state that revisits a node can
    do nothing the first visit could not, so the loop between them could be
    cut out, contradicting minimality.
    """
    xs, ys, zs = _prepare(graph, x=x, y=y, given=given)
    observed = set(zs)
    came_from, hit = _search(graph, xs, observed, set(ys))
    if hit is None:
        return None
    states = _unwind(came_from, hit)
    nodes = tuple(node for node, _ in states)
    # Arriving at a node "down" means the edge points into it from the previous one.
    arrows = tuple("->" if d == _DOWN else "<-" for _, d in states[1:])
    steps = tuple(
        _explain_step(graph, nodes[i - 1 : i + 2], arrows[i - 1 : i + 1], observed)
        for i in range(1, len(nodes) - 1)
    )
    return OpenPath(nodes=nodes, steps=steps, arrows=arrows)


def _unwind(came_from: dict, state: State) -> list[State]:
    states = []
    while state is not None:
        states.append(state)
        state = came_from[state]
    return states[::-1]


def _explain_step(graph: nx.DiGraph, triple: tuple, arrows: tuple, observed: set) -> PathStep:
    prev, node, nxt = triple
    text = f"{prev} {arrows[0]} {node} {arrows[1]} {nxt}"
    if arrows == ("->", "<-"):
        if node in observed:
            why = f"{node} is observed, which opens it (explaining away)"
        else:
            why = f"its descendant {_observed_descendant(graph, node, observed)} is observed, which opens it"
        return PathStep(node, "collider", f"collider {text}: {why}")
    if arrows == ("<-", "->"):
        return PathStep(node, "fork", f"fork {text}: the common cause {node} is not observed")
    return PathStep(node, "chain", f"chain {text}: {node} is not observed, so information flows")


def _observed_descendant(graph: nx.DiGraph, node, observed: set):
    """The nearest observed descendant of ``node`` (breadth-first, so the closest one)."""
    seen = {node}
    queue = deque([node])
    while queue:
        for child in graph.successors(queue.popleft()):
            if child in observed:
                return child
            if child not in seen:
                seen.add(child)
                queue.append(child)
    raise AssertionError(f"collider {node!r} has no observed descendant")  # pragma: no cover


# --------------------------------------------------------------------------- local structure


def markov_blanket(graph: nx.DiGraph, node) -> set:
    """The Markov blanket of ``node``: its parents, children and children's other parents.

    Given its blanket, a node is independent of every other node
    (Koller & Friedman 2009, Def. 3.13 / Pearl 1988). Runs in time linear in
    the size of the node's neighbourhood; acyclicity is not re-checked.

    Parameters
    ----------
    graph : networkx.DiGraph
    node : hashable

    Returns
    -------
    set
    """
    _require_digraph(graph)
    if node not in graph:
        raise UnknownVariableError(node, graph.nodes)
    blanket = set(graph.predecessors(node))
    for child in graph.successors(node):
        blanket.add(child)
        blanket.update(graph.predecessors(child))
    blanket.discard(node)
    return blanket


def moral_graph(graph: nx.DiGraph) -> nx.Graph:
    """The moral graph: connect every pair of co-parents, then drop directions.

    Keeps every node (isolated ones included) with its attributes
    (Koller & Friedman 2009, Def. 4.16).

    Parameters
    ----------
    graph : networkx.DiGraph
        A DAG.

    Returns
    -------
    networkx.Graph
    """
    check_acyclic(graph)
    moral = nx.Graph()
    moral.add_nodes_from(graph.nodes(data=True))
    moral.add_edges_from(graph.edges())
    for node in graph.nodes:
        moral.add_edges_from(combinations(graph.predecessors(node), 2))
    return moral
