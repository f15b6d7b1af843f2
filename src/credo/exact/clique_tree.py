r"""The clique tree of a discrete model: its structure and the plan of every propagation.

The model's interaction (moral) graph is triangulated with a greedy
elimination order; the maximal cliques of the chordal graph are joined into a
tree by a maximum-weight spanning tree on separator sizes, which has the
running-intersection property (Jensen & Jensen 1994). Each factor is
multiplied into one clique that holds its scope, once, at compile time.

Nothing here depends on the evidence: :class:`CliqueTree` holds the rooted
tree, the clique tables and a :class:`Plan` (how each message is summed and
laid out, where each variable's evidence enters and its marginal leaves),
which the passes of :mod:`credo.exact.propagation` read and
:mod:`credo.exact.jt_jax` turns into a JAX function (through
:class:`JaxPlan`). The query facade is :class:`~credo.exact.junction_tree.JunctionTree`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Hashable, Mapping, NamedTuple, Sequence

import networkx as nx
import numpy as np

from credo.errors import ModelError
from credo.factors.budget import check_memory
from credo.factors.discrete import align
from credo.graphs.ancestry import ancestral_set
from credo.graphs.elimination import check_order, greedy_order, interaction_graph, triangulate
from credo.models.base import DiscreteModel

__all__ = ["CliqueTree", "Plan", "JaxPlan", "reducer", "permutation", "read_only"]


class JaxPlan(NamedTuple):
    """The evidence-independent plan of a collect pass, as :mod:`credo.exact.jt_jax` reads it.

    Attributes
    ----------
    cliques : list of tuple
        Variables of each clique, in axis order.
    shapes : list of tuple
        Shape of each clique table (without the batch axis).
    cardinalities : dict
        Number of states of every variable.
    assigned : list of list of int
        Per clique, the positions in ``model.factors`` of the factors multiplied into it.
    postorder : list of int
        Cliques children first, the root last.
    root : int
        The clique the collect pass ends in.
    children : list of list of int
        Children of each clique in the rooted tree.
    up_axes : dict
        Per non-root clique, the axes (batch axis 0) summed out of its message to its parent.
    to_parent : dict
        Per non-root clique, ``(permutation, shape)`` laying its message into the parent's axis order.
    home : dict
        Per variable, the clique its likelihood is multiplied into.
    lik_shape : dict
        Per variable, the shape its ``(rows, states)`` likelihood is reshaped to there.
    """

    cliques: list
    shapes: list
    cardinalities: dict
    assigned: list
    postorder: list
    root: int
    children: list
    up_axes: dict
    to_parent: dict
    home: dict
    lik_shape: dict


class CliqueTree:
    r"""A rooted clique tree of a discrete model with its clique tables and propagation plan.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork or FactorGraph
    heuristic : str or sequence
        Greedy elimination heuristic used to triangulate, or an explicit
        elimination order of all variables.
    memory_limit : int, optional
        Bytes the clique tables may take (default 80% of the available
        memory); a triangulation that needs more raises
        :class:`~credo.errors.ContractionTooLargeError` before any table is
        allocated.

    Attributes
    ----------
    cliques : list of tuple
        Variables of each clique (axis order).
    separators : list of tuple
        ``(child, parent, variables)`` for every tree edge.
    root : int
        The clique messages are collected to (the largest).
    parent, children, preorder, postorder
        The rooted tree (``parent[root] == -1``).
    shapes : list of tuple
        Clique table shapes.
    cards : dict
        Number of states per variable.
    potentials, log_potentials : list of numpy.ndarray
        Clique tables scaled to maximum 1 (batch axis of 1 first), linear and log.
    log_constant : float
        Sum of the logarithms of those scales.
    up_axes, down_axes : dict
        Per tree edge (keyed by the child), the axes summed going up and down.
    plan : Plan
        The full (uninstantiated) plan.
    entries : int
        Total number of clique table entries.
    """

    def __init__(self, model: DiscreteModel, heuristic: str | Sequence = "min-fill",
                 memory_limit: int | None = None):
        self.model = model
        self.heuristic = heuristic if isinstance(heuristic, str) else "explicit"
        variables = model.variables
        if not variables:
            raise ModelError(f"{model!r} has no variables: there is nothing to infer")
        self.rank = {v: i for i, v in enumerate(variables)}
        self.cards = {v: model.cardinality(v) for v in variables}
        chordal, order, cliques = self._triangulate(heuristic)
        _check_clique_memory(cliques, self.cards, memory_limit, self.heuristic)
        self._orient(_clique_tree_edges(chordal, order, cliques), cliques)
        self.cliques = [self._axis_order(i, cliques) for i in range(len(cliques))]
        self.shapes = [tuple(self.cards[v] for v in c) for c in self.cliques]
        self._build_messages()
        self._build_potentials()
        self._build_variable_plan()
        self.plan = Plan(self.potentials, self.up_plan, self.down_plan, self.to_parent, self.to_child,
                         self.home, self.lik_shape, self.marg_plan)

    def _triangulate(self, heuristic) -> tuple[nx.Graph, tuple, list[frozenset]]:
        model = self.model
        graph = interaction_graph(model.variables, (f.variables for f in model.factors))
        if isinstance(heuristic, str):
            order = greedy_order(graph, self.cards, heuristic).order
        else:
            order = check_order(heuristic, model.variables, cover=model.variables)
        chordal, cliques = triangulate(graph, order)
        return chordal, order, cliques

    def _orient(self, edges: list[tuple[int, int]], cliques: list[frozenset]) -> None:
        """Root the clique tree at the largest clique; components are joined by empty separators."""
        tree = nx.Graph(edges)
        tree.add_nodes_from(range(len(cliques)))
        size = [int(np.prod([self.cards[v] for v in c])) for c in cliques]
        # The largest clique is the root: it is never summed into an upward message.
        root = max(range(len(cliques)), key=lambda i: (size[i], -i))
        for component in sorted(nx.connected_components(tree), key=min):
            if root not in component:
                tree.add_edge(root, min(component))  # empty separator: a scalar message
        self.root = root
        self.parent = [-1] * len(cliques)
        self.preorder = [root]
        for a, b in nx.bfs_edges(tree, root):
            self.parent[b] = a
            self.preorder.append(b)
        self.postorder = self.preorder[::-1]
        self.children = [[] for _ in cliques]
        for i in self.preorder[1:]:
            self.children[self.parent[i]].append(i)

    def _axis_order(self, i: int, cliques: list[frozenset]) -> tuple:
        """Axis order of clique ``i``: variables grouped by the separators they belong to, parent's first.

        Variables in the same separators become adjacent axes, which every
        product and sum then treats as one merged axis; numpy is several
        times slower on interleaved small axes than on a few large ones.
        """
        p = self.parent[i]
        separators = ([cliques[p]] if p >= 0 else []) + [cliques[c] for c in self.children[i]]
        return tuple(sorted(cliques[i], key=lambda v: (tuple(v not in s for s in separators), self.rank[v])))

    def _build_messages(self) -> None:
        """Per tree edge (indexed by the child): how to sum each side to the separator and lay it into the other.

        A message is kept in the axis order of the clique that computed it and
        transposed (it is small) into the receiver's order.
        """
        self.up_plan, self.down_plan, self.to_parent, self.to_child = self.edge_plans(self.cliques)
        self.up_axes, self.down_axes = {}, {}
        self.separators = []
        for c in self.preorder[1:]:
            p = self.parent[c]
            child, parent = self.cliques[c], self.cliques[p]
            sep = set(child) & set(parent)
            self.separators.append((c, p, tuple(v for v in child if v in sep)))
            self.up_axes[c] = tuple(1 + a for a, v in enumerate(child) if v not in sep)
            self.down_axes[c] = tuple(1 + a for a, v in enumerate(parent) if v not in sep)

    def edge_plans(self, cliques: Sequence[tuple]) -> tuple[dict, dict, dict, dict]:
        """``(up_plan, down_plan, to_parent, to_child)`` of this tree with clique variables ``cliques``."""
        up_plan, down_plan, to_parent, to_child = {}, {}, {}, {}
        for c in self.preorder[1:]:
            p = self.parent[c]
            child, parent = cliques[c], cliques[p]
            sep = set(child) & set(parent)
            in_child = tuple(v for v in child if v in sep)
            in_parent = tuple(v for v in parent if v in sep)
            up_plan[c] = reducer(self.clique_shape(child), [v in sep for v in child])
            down_plan[c] = reducer(self.clique_shape(parent), [v in sep for v in parent])
            to_parent[c] = (permutation(in_child, in_parent), self.broadcast_shape(parent, sep))
            to_child[c] = (permutation(in_parent, in_child), self.broadcast_shape(child, sep))
        return up_plan, down_plan, to_parent, to_child

    def clique_shape(self, clique: Sequence) -> tuple:
        return tuple(self.cards[v] for v in clique)

    def broadcast_shape(self, clique: tuple, kept) -> tuple:
        return (-1,) + tuple(self.cards[v] if v in kept else 1 for v in clique)

    def _build_potentials(self) -> None:
        """Multiply each factor into the smallest clique holding its scope, scaled to max 1.

        The product is formed in log space and kept there too (for MPE and the
        log-space fallback), so entries far below a clique's maximum are not
        lost to underflow before a query starts.
        """
        sets = [frozenset(c) for c in self.cliques]
        size = [int(np.prod(s)) for s in self.shapes]
        holders: dict = {}
        for i, clique in enumerate(self.cliques):
            for v in clique:
                holders.setdefault(v, []).append(i)
        assigned: list[list] = [[] for _ in self.cliques]
        self.assigned: list[list[int]] = [[] for _ in self.cliques]  # factor positions, for jt_jax
        for position, factor in enumerate(self.model.factors):
            scope = frozenset(factor.variables)
            candidates = holders[factor.variables[0]] if factor.variables else range(len(sets))
            home = min((i for i in candidates if scope <= sets[i]), key=lambda i: (size[i], i), default=None)
            if home is None:  # pragma: no cover - triangulation guarantees a home
                raise ModelError(f"no clique holds the scope {factor.variables}")
            assigned[home].append(factor)
            self.assigned[home].append(position)
        self.potentials, self.log_potentials, self.log_constant = [], [], 0.0
        for clique, shape, factors in zip(self.cliques, self.shapes, assigned):
            log_table = np.zeros(shape)
            for factor in factors:
                log_table = log_table + align(factor.log_values, factor.variables, clique)
            log_table = np.broadcast_to(log_table, shape)
            top = float(log_table.max()) if log_table.size else -np.inf
            if np.isfinite(top):
                log_table = log_table - top
                self.log_constant += top
            # Leading batch axis of 1 on every table.
            self.log_potentials.append(np.ascontiguousarray(log_table)[None])
            self.potentials.append(np.exp(self.log_potentials[-1]))

    def _build_variable_plan(self) -> None:
        """Home clique of each variable (smallest holding it): evidence enters and marginals leave there."""
        self.home, self.lik_shape, self.marg_plan = self.variable_plans(self.cliques)
        self.entries = sum(int(np.prod(s)) for s in self.shapes)
        self.state_rank = {v: {s: i for i, s in enumerate(self.model.states(v))} for v in self.model.variables}

    def variable_plans(self, cliques: Sequence[tuple]) -> tuple[dict, dict, dict]:
        """``(home, lik_shape, marg_plan)`` of every variable in ``cliques``."""
        size = [math.prod(self.clique_shape(c)) for c in cliques]
        home, lik_shape, marg_plan = {}, {}, {}
        for i, clique in enumerate(cliques):
            for v in clique:
                if v not in home or (size[i], i) < (size[home[v]], home[v]):
                    home[v] = i
                    lik_shape[v] = self.broadcast_shape(clique, (v,))
                    marg_plan[v] = reducer(self.clique_shape(clique), [u == v for u in clique])
        return home, lik_shape, marg_plan

    def instantiated(self, observed: frozenset) -> Plan:
        """The plan with ``observed`` (hard evidence in every row) dropped from the cliques.

        Clamping an observed variable shrinks every clique that holds it by
        its number of states, instead of multiplying a one-hot likelihood
        into the full table (Koller & Friedman 2009, sec. 10.3.1, on evidence
        reduction). The cliques that hold observed variables (``gathered``)
        get their tables per batch from :meth:`gather`; the plan itself holds
        no table of its own.

        Parameters
        ----------
        observed : frozenset
            Variables observed in every row.

        Returns
        -------
        Plan
        """
        cliques = [tuple(v for v in c if v not in observed) for c in self.cliques]
        gathered = tuple(i for i, c in enumerate(self.cliques) if not observed.isdisjoint(c))
        return Plan(self.potentials, *self.edge_plans(cliques), *self.variable_plans(cliques), gathered=gathered)

    def gather(self, plan: Plan, indices: Mapping[Hashable, np.ndarray]) -> Plan:
        """``plan`` with each gathered clique's table indexed at every row's observed states (rows first).

        Parameters
        ----------
        plan : Plan
            From :meth:`instantiated`.
        indices : mapping
            ``{variable: state index per row}`` of the clamped variables.

        Returns
        -------
        Plan
        """
        potentials = list(plan.potentials)
        for i in plan.gathered:
            clique = self.cliques[i]
            picked = self.potentials[i][0][tuple(indices[v] if v in indices else slice(None) for v in clique)]
            # numpy puts the row axis where adjacent index arrays were, or first if they are apart
            axes = [a for a, v in enumerate(clique) if v in indices]
            row_axis = axes[0] if axes[-1] - axes[0] == len(axes) - 1 else 0
            potentials[i] = np.moveaxis(picked, row_axis, 0) if row_axis else picked
        return dataclasses.replace(plan, potentials=potentials)

    def marked(self, cliques) -> list[bool]:
        """Per clique, whether it is one of ``cliques`` or an ancestor of one (toward the root).

        Parameters
        ----------
        cliques : iterable of int

        Returns
        -------
        list of bool
        """
        marked = ancestral_set(self._parent_of, cliques)
        return [i in marked for i in range(len(self.cliques))]

    def _parent_of(self, i: int) -> tuple:
        """Parent of clique ``i`` as :func:`~credo.graphs.ancestral_set` reads it: none for the root."""
        parent = self.parent[i]
        return () if parent < 0 else (parent,)

    def jax_plan(self) -> JaxPlan:
        """The plan :func:`credo.exact.jt_jax.log_likelihood_fn` reads.

        Returns
        -------
        JaxPlan
        """
        return JaxPlan(self.cliques, self.shapes, self.cards, self.assigned, self.postorder, self.root,
                       self.children, self.up_axes, self.to_parent, self.home, self.lik_shape)


@dataclass(frozen=True)
class Plan:
    """What the linear-space passes read: the clique tables and how messages and marginals are formed.

    The full plan covers every variable. An *instantiated* plan drops the
    variables observed in every row of a batch from the cliques; its
    potentials are then the full tables indexed at each row's observed
    states, shape ``(rows, *reduced clique shape)``, and ``gathered`` lists
    the cliques whose tables those are.

    Attributes
    ----------
    potentials : list of numpy.ndarray
        Linear-space clique tables, batch axis first.
    up_plan, down_plan : dict
        Per tree edge (keyed by the child clique), the :func:`reducer` plan
        that sums the child (up) or the parent (down) to the separator.
    to_parent, to_child : dict
        Per tree edge, ``(permutation, shape)`` laying a separator message
        into the parent's (child's) axis order.
    home : dict
        Per variable, the clique its evidence enters and its marginal leaves.
    lik_shape : dict
        Per variable, the shape its likelihood is reshaped to in its home clique.
    marg_plan : dict
        Per variable, the :func:`reducer` plan of its marginal from its home clique.
    gathered : tuple of int
        Cliques whose tables are per-row (instantiated plans only).
    """

    potentials: list
    up_plan: dict
    down_plan: dict
    to_parent: dict
    to_child: dict
    home: dict
    lik_shape: dict
    marg_plan: dict
    gathered: tuple = ()


#: Vectors of ones the reducer plans share (read-only, so no caller can change another's).
_ONES: dict[int, np.ndarray] = {}


def read_only(array: np.ndarray) -> np.ndarray:
    """``array``, marked read-only: tables shared between engines must not be written through."""
    array.flags.writeable = False
    return array




def reducer(shape: tuple, kept: Sequence[bool]) -> tuple[tuple, tuple]:
    """Plan to sum a batch-first table of clique ``shape`` over the axes not ``kept``.

    Adjacent axes with the same fate are merged; each run of summed axes,
    from the last, becomes a product with a vector of ones (BLAS gemv), which
    beats ``ndarray.sum`` over interleaved small axes by up to 20x.
    Returns ``(steps, output shape)`` for :func:`credo.exact.propagation.reduce`.
    """
    runs: list[list] = []
    for n, keep in zip(shape, kept):
        if runs and runs[-1][1] == keep:
            runs[-1][0] *= n
        else:
            runs.append([n, keep])
    steps, post = [], 1
    for n, keep in reversed(runs):
        if keep:
            post *= n
        else:
            steps.append((_ONES.setdefault(n, read_only(np.ones(n))), n, post))
    return tuple(steps), (-1,) + tuple(n for n, keep in zip(shape, kept) if keep)




def permutation(source: tuple, target: tuple) -> tuple | None:
    """Axis permutation (batch axis first) taking a table over ``source`` to ``target`` order; None if equal."""
    if source == target:
        return None
    return (0,) + tuple(1 + source.index(v) for v in target)




def _clique_tree_edges(chordal: nx.Graph, order: Sequence, cliques: list[frozenset]) -> list[tuple[int, int]]:
    """Edges of a clique tree of ``cliques`` (indices), from the elimination tree of ``order``.

    Eliminating ``x`` creates the candidate clique ``{x} + later neighbours``,
    whose parent is the candidate of the first-eliminated later neighbour:
    this elimination tree has the running-intersection property. A candidate
    that is not maximal is contained in a tree neighbour (by running
    intersection, in the first node on the path to any clique containing it),
    so contracting it into that neighbour keeps the property. The result is a
    maximum-weight spanning tree of the clique graph, since every junction tree
    has the same total separator size; building it costs O(fill-in), not the
    O(cliques^2) of the pairwise clique graph around hubs (Blair & Peyton 1993;
    Koller & Friedman 2009, sec. 10.4.1).
    """
    position = {v: i for i, v in enumerate(order)}
    candidate, adjacency = {}, {x: set() for x in order}
    for x in order:
        later = [u for u in chordal[x] if position[u] > position[x]]
        candidate[x] = frozenset(later) | {x}
        if later:
            parent = min(later, key=position.__getitem__)
            adjacency[x].add(parent)
            adjacency[parent].add(x)
    index = {c: i for i, c in enumerate(cliques)}
    for x in order:
        if candidate[x] in index:
            continue
        # Sets iterate in hash order; pick by position so the tree is reproducible.
        target = min((n for n in adjacency[x] if candidate[x] <= candidate[n]), key=position.__getitem__)
        for n in adjacency.pop(x):
            adjacency[n].discard(x)
            if n != target:
                adjacency[n].add(target)
                adjacency[target].add(n)
    return sorted((index[candidate[a]], index[candidate[b]]) for a in adjacency for b in adjacency[a]
                  if position[a] < position[b])




#: Clique-sized float64 arrays a compiled tree keeps: potentials, log potentials, prior pass, beliefs.
_TABLES_PER_CLIQUE = 4


def _check_clique_memory(cliques: Sequence[frozenset], cards: Mapping, memory_limit: int | None,
                         heuristic: str) -> None:
    """Refuse (typed error) a triangulation whose clique tables would not fit, before allocating them."""
    sizes = [math.prod(cards[v] for v in c) for c in cliques]
    check_memory(f"a junction tree of {len(sizes)} cliques ({heuristic} triangulation)",
                 _TABLES_PER_CLIQUE * 8 * sum(sizes), max(sizes), memory_limit)
