"""Ancestral closure: a set of nodes and every ancestor of them, in one sweep."""

from __future__ import annotations

from typing import Callable, Hashable, Iterable

__all__ = ["ancestral_set"]


def ancestral_set(parents_of: Callable[[Hashable], Iterable[Hashable]], nodes: Iterable[Hashable]) -> set:
    """``nodes`` and all their ancestors.

    One depth-first sweep from all of ``nodes`` at once, visiting every
    ancestor once (not once per node it is an ancestor of), so the cost is
    linear in the size of the ancestral subgraph.

    Parameters
    ----------
    parents_of : callable
        ``parents_of(node)`` gives the node's parents, e.g.
        ``model.parents``, ``graph.predecessors`` of a :class:`networkx.DiGraph`,
        or the parent of a clique in a rooted tree (none at the root).
    nodes : iterable
        The starting nodes; they are part of the result.

    Returns
    -------
    set
        ``nodes`` together with every node reachable from them through
        ``parents_of``.

    Examples
    --------
    >>> from credo.graphs import ancestral_set
    >>> parents = {"a": [], "b": ["a"], "c": ["b"], "d": []}
    >>> sorted(ancestral_set(parents.__getitem__, ["c"]))
    ['a', 'b', 'c']
    """
    seen = set(nodes)
    stack = list(seen)
    while stack:
        for parent in parents_of(stack.pop()):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen
