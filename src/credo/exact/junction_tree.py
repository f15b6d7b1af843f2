r"""Junction tree (clique tree) inference: compile once, answer many queries.

The model's interaction (moral) graph is triangulated with a greedy
elimination order; the maximal cliques of the chordal graph are joined into a
tree by a maximum-weight spanning tree on separator sizes, which has the
running-intersection property (Jensen & Jensen 1994). Each factor is
multiplied into one clique that holds its scope, once, at compile time.

Evidence never changes the compiled plan: it enters as one likelihood vector
per observed variable, multiplied into the variable's home clique (one-hot
for hard evidence, any non-negative vector for soft/virtual evidence). Every
query is one collect pass to a root and one distribute pass back (Hugin
propagation: Jensen, Lauritzen & Olesen 1990; see also Lauritzen &
Spiegelhalter 1988, Shafer & Shenoy 1990, Koller & Friedman 2009 ch. 10),
with a leading batch axis, so a table of evidence rows is answered in one
vectorized pass.

Numerics: every collect message is divided by its maximum and the logarithm
of that maximum is accumulated, so :math:`\ln P(e)` of large networks never
underflows. Rows whose evidence probability still comes out as zero (or
whose beliefs overflow) are redone in log space, to tell an impossible
evidence (:class:`~credo.ImpossibleEvidenceError`) from an underflow.
Collect messages of subtrees without evidence are computed once at compile
time and reused.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Hashable, Iterable, Mapping, Sequence

import networkx as nx
import numpy as np

from credo.errors import ImpossibleEvidenceError, ModelError
from credo.exact._budget import check_memory
from credo.exact.elimination import interaction_graph, variable_elimination
from credo.exact.result import BatchMPEResult, BatchQueryResult, MPEResult, QueryResult
from credo.factors import DiscreteFactor
from credo.factors.discrete import align
from credo.graphs.ancestry import ancestral_set
from credo.graphs.elimination import check_order, greedy_order, triangulate
from credo.models.base import DiscreteModel

__all__ = ["JunctionTree", "BatchQueryResult", "BatchMPEResult", "junction_tree_query", "cached_engine", "is_batch"]

#: Rows of a batch are processed in chunks holding at most this many clique
#: entries (all cliques, all rows of the chunk), about 512 MiB in float64 for
#: the collected and the calibrated beliefs together.
_CHUNK_ENTRIES = 1 << 25
#: Instantiated plans (one per set of always-observed variables) a JunctionTree keeps;
#: they hold message plans only, no tables.
_MAX_INSTANTIATIONS = 32


# ------------------------------------------------------------------ helpers
def _log(array: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(array)


def _logsumexp(array: np.ndarray, axis: tuple) -> np.ndarray:
    """``log(sum(exp(array)))`` over ``axis``, ``-inf`` (not NaN) where every entry is ``-inf``."""
    top = np.max(array, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(array - top), axis=axis, keepdims=True)) + top
    return np.squeeze(out, axis=axis)


def _log_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator - denominator`` in log space with ``-inf - -inf = -inf`` (Hugin's 0/0 = 0)."""
    with np.errstate(invalid="ignore"):
        out = numerator - denominator
    return np.where(np.isneginf(denominator), -np.inf, out)


@dataclass
class _Calibration:
    """Beliefs of one pass: collected (before distribute) and calibrated tables, batch-first.

    ``collected[i]`` is clique ``i``'s potential times its likelihoods and the
    messages from its children; ``up[i]`` the (scaled) message to its parent;
    ``beliefs[i]`` the calibrated, normalized table (None where not needed).
    """

    collected: list
    up: list
    log_evidence: np.ndarray
    beliefs: list | None = None


@dataclass(frozen=True)
class _Plan:
    """What the linear-space passes read: the clique tables and how messages and marginals are formed.

    The full plan covers every variable. An *instantiated* plan drops the
    variables observed in every row of a batch from the cliques; its
    potentials are then the full tables indexed at each row's observed
    states, shape ``(rows, *reduced clique shape)``, and ``gathered`` lists
    the cliques whose tables those are.
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


class JunctionTree:
    r"""A compiled junction tree of a discrete model, for repeated exact queries.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork or FactorGraph
    heuristic : str or sequence
        Greedy elimination heuristic (``"min-fill"``, ``"min-degree"``,
        ``"weighted-min-fill"``, ``"min-weight"``) used to triangulate, or an
        explicit elimination order of all variables.
    memory_limit : int, optional
        Bytes the clique tables may take; default 80% of the available
        memory. A triangulation that needs more raises
        :class:`~credo.errors.ContractionTooLargeError` before any table is
        allocated.

    Attributes
    ----------
    cliques : list of tuple
        Variables of each clique (model order within a clique).
    separators : list of tuple
        ``(child, parent, variables)`` for every tree edge.
    treewidth : int
        Largest clique size less one (of this triangulation).
    max_clique_states : int
        Entries of the largest clique table.
    root : int
        The clique messages are collected to.

    Notes
    -----
    Cost per query is linear in the total size of the clique tables; the
    compiled plan (clique tables, message schedule, axes to sum) does not
    depend on the evidence. References: Lauritzen & Spiegelhalter (1988);
    Shafer & Shenoy (1990); Jensen, Lauritzen & Olesen (1990) for the Hugin
    update used here; Koller & Friedman (2009), ch. 10.

    Examples
    --------
    >>> import credo
    >>> from credo.exact.junction_tree import JunctionTree
    >>> engine = JunctionTree(credo.examples.clinic())
    >>> round(engine.query(evidence={"Cough": "yes"}).marginals["Flu"]["yes"], 3)
    0.211
    >>> batch = engine.query(["Flu"], [{"Cough": "yes"}, {"Cough": "no"}])
    >>> batch.marginals["Flu"].shape
    (2, 2)
    """

    def __init__(self, model: DiscreteModel, heuristic: str | Sequence = "min-fill",
                 memory_limit: int | None = None):
        self.model = model
        self.heuristic = heuristic if isinstance(heuristic, str) else "explicit"
        variables = model.variables
        if not variables:
            raise ModelError(f"{model!r} has no variables: there is nothing to infer")
        self._rank = {v: i for i, v in enumerate(variables)}
        self._cards = {v: model.cardinality(v) for v in variables}
        chordal, order, cliques = self._triangulate(heuristic)
        _check_clique_memory(cliques, self._cards, memory_limit, self.heuristic)
        self._orient(_clique_tree_edges(chordal, order, cliques), cliques)
        self.cliques = [self._axis_order(i, cliques) for i in range(len(cliques))]
        self._shapes = [tuple(self._cards[v] for v in c) for c in self.cliques]
        self._build_messages()
        self._build_potentials()
        self._build_variable_plan()
        self._plan = _Plan(self._potentials, self._up_plan, self._down_plan, self._to_parent, self._to_child,
                           self._home, self._lik_shape, self._marg_plan)
        self._instantiations: dict = {}
        self._prior, self._prior_up_log, self._prior_beliefs = None, {}, None
        self._prior = self._collect({}, dirty=None)  # evidence-free messages, reused by every query
        self._prior_log_scale = float(sum(self._prior_up_log.values()))

    # ------------------------------------------------------------ compile
    def _triangulate(self, heuristic) -> tuple[nx.Graph, tuple, list[frozenset]]:
        model = self.model
        graph = interaction_graph(model.variables, (f.variables for f in model.factors))
        if isinstance(heuristic, str):
            order = greedy_order(graph, self._cards, heuristic).order
        else:
            order = check_order(heuristic, model.variables, cover=model.variables)
        chordal, cliques = triangulate(graph, order)
        return chordal, order, cliques

    def _orient(self, edges: list[tuple[int, int]], cliques: list[frozenset]) -> None:
        """Root the clique tree at the largest clique; components are joined by empty separators."""
        tree = nx.Graph(edges)
        tree.add_nodes_from(range(len(cliques)))
        size = [int(np.prod([self._cards[v] for v in c])) for c in cliques]
        # The largest clique is the root: it is never summed into an upward message.
        root = max(range(len(cliques)), key=lambda i: (size[i], -i))
        for component in sorted(nx.connected_components(tree), key=min):
            if root not in component:
                tree.add_edge(root, min(component))  # empty separator: a scalar message
        self.root = root
        self._parent = [-1] * len(cliques)
        self._preorder = [root]
        for a, b in nx.bfs_edges(tree, root):
            self._parent[b] = a
            self._preorder.append(b)
        self._postorder = self._preorder[::-1]
        self._children = [[] for _ in cliques]
        for i in self._preorder[1:]:
            self._children[self._parent[i]].append(i)

    def _axis_order(self, i: int, cliques: list[frozenset]) -> tuple:
        """Axis order of clique ``i``: variables grouped by the separators they belong to, parent's first.

        Variables in the same separators become adjacent axes, which every
        product and sum then treats as one merged axis; numpy is several
        times slower on interleaved small axes than on a few large ones.
        """
        p = self._parent[i]
        separators = ([cliques[p]] if p >= 0 else []) + [cliques[c] for c in self._children[i]]
        return tuple(sorted(cliques[i], key=lambda v: (tuple(v not in s for s in separators), self._rank[v])))

    def _build_messages(self) -> None:
        """Per tree edge (indexed by the child): how to sum each side to the separator and lay it into the other.

        A message is kept in the axis order of the clique that computed it and
        transposed (it is small) into the receiver's order.
        """
        self._up_plan, self._down_plan, self._to_parent, self._to_child = self._edge_plans(self.cliques)
        self._up_axes, self._down_axes = {}, {}
        self.separators = []
        for c in self._preorder[1:]:
            p = self._parent[c]
            child, parent = self.cliques[c], self.cliques[p]
            sep = set(child) & set(parent)
            self.separators.append((c, p, tuple(v for v in child if v in sep)))
            self._up_axes[c] = tuple(1 + a for a, v in enumerate(child) if v not in sep)
            self._down_axes[c] = tuple(1 + a for a, v in enumerate(parent) if v not in sep)

    def _edge_plans(self, cliques: Sequence[tuple]) -> tuple[dict, dict, dict, dict]:
        """``(up_plan, down_plan, to_parent, to_child)`` of this tree with clique variables ``cliques``."""
        up_plan, down_plan, to_parent, to_child = {}, {}, {}, {}
        for c in self._preorder[1:]:
            p = self._parent[c]
            child, parent = cliques[c], cliques[p]
            sep = set(child) & set(parent)
            in_child = tuple(v for v in child if v in sep)
            in_parent = tuple(v for v in parent if v in sep)
            up_plan[c] = _reducer(self._clique_shape(child), [v in sep for v in child])
            down_plan[c] = _reducer(self._clique_shape(parent), [v in sep for v in parent])
            to_parent[c] = (_permutation(in_child, in_parent), self._broadcast_shape(parent, sep))
            to_child[c] = (_permutation(in_parent, in_child), self._broadcast_shape(child, sep))
        return up_plan, down_plan, to_parent, to_child

    def _clique_shape(self, clique: Sequence) -> tuple:
        return tuple(self._cards[v] for v in clique)

    def _broadcast_shape(self, clique: tuple, kept) -> tuple:
        return (-1,) + tuple(self._cards[v] if v in kept else 1 for v in clique)

    def _build_potentials(self) -> None:
        """Multiply each factor into the smallest clique holding its scope, scaled to max 1.

        The product is formed in log space and kept there too (for MPE and the
        log-space fallback), so entries far below a clique's maximum are not
        lost to underflow before a query starts.
        """
        sets = [frozenset(c) for c in self.cliques]
        size = [int(np.prod(s)) for s in self._shapes]
        holders: dict = {}
        for i, clique in enumerate(self.cliques):
            for v in clique:
                holders.setdefault(v, []).append(i)
        assigned: list[list] = [[] for _ in self.cliques]
        self._assigned: list[list[int]] = [[] for _ in self.cliques]  # factor positions, for jt_jax
        for position, factor in enumerate(self.model.factors):
            scope = frozenset(factor.variables)
            candidates = holders[factor.variables[0]] if factor.variables else range(len(sets))
            home = min((i for i in candidates if scope <= sets[i]), key=lambda i: (size[i], i), default=None)
            if home is None:  # pragma: no cover - triangulation guarantees a home
                raise ModelError(f"no clique holds the scope {factor.variables}")
            assigned[home].append(factor)
            self._assigned[home].append(position)
        self._potentials, self._log_potentials, self._log_constant = [], [], 0.0
        for clique, shape, factors in zip(self.cliques, self._shapes, assigned):
            log_table = np.zeros(shape)
            for factor in factors:
                log_table = log_table + align(factor.log_values, factor.variables, clique)
            log_table = np.broadcast_to(log_table, shape)
            top = float(log_table.max()) if log_table.size else -np.inf
            if np.isfinite(top):
                log_table = log_table - top
                self._log_constant += top
            # Leading batch axis of 1 on every table.
            self._log_potentials.append(np.ascontiguousarray(log_table)[None])
            self._potentials.append(np.exp(self._log_potentials[-1]))

    def _build_variable_plan(self) -> None:
        """Home clique of each variable (smallest holding it): evidence enters and marginals leave there."""
        self._home, self._lik_shape, self._marg_plan = self._variable_plans(self.cliques)
        self._entries = sum(int(np.prod(s)) for s in self._shapes)
        self._state_rank = {v: {s: i for i, s in enumerate(self.model.states(v))} for v in self.model.variables}

    def _variable_plans(self, cliques: Sequence[tuple]) -> tuple[dict, dict, dict]:
        """``(home, lik_shape, marg_plan)`` of every variable in ``cliques``."""
        size = [math.prod(self._clique_shape(c)) for c in cliques]
        home, lik_shape, marg_plan = {}, {}, {}
        for i, clique in enumerate(cliques):
            for v in clique:
                if v not in home or (size[i], i) < (size[home[v]], home[v]):
                    home[v] = i
                    lik_shape[v] = self._broadcast_shape(clique, (v,))
                    marg_plan[v] = _reducer(self._clique_shape(clique), [u == v for u in clique])
        return home, lik_shape, marg_plan

    # ------------------------------------------------------------ reporting
    @property
    def treewidth(self) -> int:
        return max(len(c) for c in self.cliques) - 1

    @property
    def max_clique_states(self) -> int:
        return max(int(np.prod(s)) for s in self._shapes)

    def __repr__(self) -> str:
        return (f"JunctionTree({self.model!r}: {len(self.cliques)} cliques, treewidth {self.treewidth}, "
                f"largest clique {self.max_clique_states} states)")

    # ------------------------------------------------------------ sum-product, linear space
    def _dirty(self, likelihood_cliques: Iterable[int]) -> list[bool]:
        """Cliques whose collect message depends on the evidence: holders and their ancestors."""
        return self._marked(likelihood_cliques)

    def _marked(self, cliques: Iterable[int]) -> list[bool]:
        """Per clique, whether it is one of ``cliques`` or an ancestor of one in the rooted tree."""
        marked = ancestral_set(self._tree_parent, cliques)
        return [i in marked for i in range(len(self.cliques))]

    def _tree_parent(self, i: int) -> tuple:
        """Parent of clique ``i`` as :func:`~credo.graphs.ancestral_set` reads it: none for the root."""
        parent = self._parent[i]
        return () if parent < 0 else (parent,)

    def _collect(self, likelihoods: Mapping[int, list], dirty: list[bool] | None,
                 plan: _Plan | None = None) -> _Calibration:
        """Collect pass in linear space with every message scaled to max 1.

        ``likelihoods[i]``: arrays broadcastable against clique ``i`` (batch
        first). ``dirty=None`` computes every clique (the prior pass);
        otherwise clean cliques reuse the prior pass (so a plan's clean cliques
        must be those of the full plan).
        """
        plan = plan or self._plan
        if dirty is None:
            collected, up = [None] * len(self.cliques), [None] * len(self.cliques)
            log_evidence = np.full(1, self._log_constant)
            dirty = [True] * len(self.cliques)
        else:
            prior = self._prior
            collected, up = list(prior.collected), list(prior.up)
            log_evidence = np.full(1, self._log_constant + self._prior_log_scale)
        potentials, children, to_parent = plan.potentials, self._children, plan.to_parent
        with np.errstate(divide="ignore", invalid="ignore"):
            for i in self._postorder:
                if not dirty[i]:
                    continue
                table = potentials[i]
                for lik in likelihoods.get(i, ()):
                    table = table * lik
                for c in children[i]:
                    table = table * _place(up[c], *to_parent[c])
                collected[i] = table
                if i == self.root:
                    total = table.reshape(table.shape[0], -1).sum(axis=1)
                    log_evidence = log_evidence + np.log(total)
                    break
                message = _reduce(table, plan.up_plan[i])
                top = message.reshape(message.shape[0], -1).max(axis=1)
                if self._prior is not None:
                    log_evidence = log_evidence - self._prior_up_log[i]
                log_evidence = log_evidence + np.log(top)
                up[i] = message / np.where(top > 0, top, 1.0).reshape((-1,) + (1,) * (message.ndim - 1))
                if self._prior is None:
                    self._prior_up_log[i] = float(np.log(top[0])) if top[0] > 0 else 0.0
        return _Calibration(collected, up, log_evidence)

    def _distribute(self, calibration: _Calibration, needed: list[bool] | None,
                    plan: _Plan | None = None) -> None:
        """Hugin distribute pass: ``belief_i = collected_i * (sum of parent belief over the separator) / up_i``.

        The root belief is normalized, and the Hugin update keeps every belief
        summing to one. ``0/0`` is taken as 0: where the upward message is
        zero, the child's collected table is zero too.
        """
        plan = plan or self._plan
        collected, up = calibration.collected, calibration.up
        root_table = collected[self.root]
        total = root_table.reshape(root_table.shape[0], -1).sum(axis=1)
        beliefs = [None] * len(self.cliques)
        with np.errstate(divide="ignore", invalid="ignore"):
            beliefs[self.root] = root_table / total.reshape((-1,) + (1,) * (root_table.ndim - 1))
            for i in self._preorder[1:]:
                if needed is not None and not needed[i]:
                    continue
                permutation, shape = plan.to_child[i]
                message = _reduce(beliefs[self._parent[i]], plan.down_plan[i])
                if permutation is not None:
                    message = message.transpose(permutation)
                message = message / np.where(up[i] > 0, up[i], 1.0)
                beliefs[i] = collected[i] * message.reshape(shape)
        calibration.beliefs = beliefs

    def _needed(self, targets: Iterable, plan: _Plan | None = None) -> list[bool] | None:
        """Cliques the distribute pass must reach: the targets' homes and their ancestors."""
        homes = {(plan or self._plan).home[v] for v in targets}
        if len(homes) == len(self.cliques):
            return None
        return self._marked(homes)

    def _marginals(self, beliefs: list, targets: Sequence, rows: int,
                   plan: _Plan | None = None) -> tuple[dict, np.ndarray]:
        """Normalized marginals ``{v: (rows, k)}`` and which rows came out finite (a positive, finite total)."""
        plan = plan or self._plan
        out, totals = {}, []
        with np.errstate(divide="ignore", invalid="ignore"):
            for v in targets:
                table = _reduce(beliefs[plan.home[v]], plan.marg_plan[v])
                total = table.sum(axis=1, keepdims=True)
                totals.append(total)
                table = table / total
                out[v] = np.broadcast_to(table, (rows, table.shape[1])) if table.shape[0] != rows else table
        if not totals:
            return out, np.ones(rows, dtype=bool)
        if any(t.shape != totals[0].shape for t in totals):
            totals = np.broadcast_arrays(*totals)
        totals = np.concatenate(totals, axis=1)
        finite = (np.isfinite(totals) & (totals > 0)).all(axis=1)
        return out, finite if finite.shape == (rows,) else np.broadcast_to(finite, (rows,))

    # ------------------------------------------------------------ sum-/max-product, log space
    def _collect_log(self, log_likelihoods: Mapping[int, list], reduce) -> _Calibration:
        """Collect pass in log space with ``reduce`` = log-sum-exp (marginals) or max (MPE)."""
        collected, up = [None] * len(self.cliques), [None] * len(self.cliques)
        potentials = self._log_potentials
        for i in self._postorder:
            table = potentials[i]
            for lik in log_likelihoods.get(i, ()):
                table = table + lik
            for c in self._children[i]:
                table = table + _place(up[c], *self._to_parent[c])
            collected[i] = table
            if i != self.root:
                up[i] = reduce(table, self._up_axes[i])
        root = collected[self.root]
        top = reduce(root.reshape(root.shape[0], -1), (1,))
        return _Calibration(collected, up, top + self._log_constant)

    def _distribute_log(self, calibration: _Calibration, needed) -> None:
        collected, up = calibration.collected, calibration.up
        beliefs = [None] * len(self.cliques)
        root = collected[self.root]
        beliefs[self.root] = root - calibration.log_evidence.reshape((-1,) + (1,) * (root.ndim - 1)) \
            + self._log_constant
        for i in self._preorder[1:]:
            if needed is not None and not needed[i]:
                continue
            permutation, shape = self._to_child[i]
            message = _logsumexp(beliefs[self._parent[i]], self._down_axes[i])
            if permutation is not None:
                message = message.transpose(permutation)
            beliefs[i] = collected[i] + _log_divide(message, up[i]).reshape(shape)
        calibration.beliefs = [None if b is None else np.exp(b) for b in beliefs]

    # ------------------------------------------------------------ evidence
    def _one_hot(self, variable, indices: np.ndarray) -> np.ndarray:
        """Likelihood rows of ``variable`` (rows, states): one-hot where observed (index >= 0), ones elsewhere."""
        k = self._cards[variable]
        rows = _ONE_HOT_ROWS.get(k)
        if rows is None:  # the k one-hot rows, then a row of ones, which index -1 picks
            rows = _ONE_HOT_ROWS.setdefault(k, _read_only(np.vstack([np.eye(k), np.ones((1, k))])))
        return rows[indices]

    def _likelihoods(self, hard: Mapping[Hashable, np.ndarray], soft: Mapping,
                     plan: _Plan | None = None) -> dict[int, list]:
        """Per clique, the likelihood arrays of its variables reshaped to broadcast (batch first)."""
        plan = plan or self._plan
        per_clique: dict[int, list] = {}
        for v, lik in list(hard.items()) + list(soft.items()):
            per_clique.setdefault(plan.home[v], []).append(lik.reshape(plan.lik_shape[v]))
        return per_clique

    # ------------------------------------------------------------ the pass
    def _run(self, hard: Mapping, soft: Mapping, targets: Sequence, rows: int,
             hard_indices: Mapping | None = None) -> tuple[dict, np.ndarray]:
        """Marginals of ``targets`` (rows, k) and ln P(e) (rows,) for likelihood arrays of ``rows`` rows."""
        likelihoods = self._likelihoods(hard, soft)
        needed = self._needed(targets)
        if not likelihoods:
            calibration = self._prior_calibration()
        else:
            calibration = self._collect(likelihoods, self._dirty(likelihoods))
            if targets:
                self._distribute(calibration, needed)
        log_evidence = _rows_copy(calibration.log_evidence, rows)
        marginals, finite = self._marginals(calibration.beliefs, targets, rows)
        bad = ~(np.isfinite(log_evidence) & finite)
        if bad.any():
            marginals, log_evidence = self._redo_in_log_space(hard, soft, targets, rows, bad, needed, marginals,
                                                              log_evidence, hard_indices)
        return marginals, log_evidence

    def _instantiated(self, observed: frozenset) -> _Plan:
        """The plan with ``observed`` (hard evidence in every row) dropped from the cliques; cached.

        Clamping an observed variable shrinks every clique that holds it by
        its number of states, instead of multiplying a one-hot likelihood
        into the full table (Koller & Friedman 2009, sec. 10.3.1, on evidence
        reduction). The cliques that hold observed variables (``gathered``)
        get their tables per batch from :meth:`_gather`; the plan itself holds
        no table of its own.
        """
        plan = self._instantiations.get(observed)
        if plan is not None:
            return plan
        cliques = [tuple(v for v in c if v not in observed) for c in self.cliques]
        gathered = tuple(i for i, c in enumerate(self.cliques) if not observed.isdisjoint(c))
        plan = _Plan(self._potentials, *self._edge_plans(cliques), *self._variable_plans(cliques), gathered=gathered)
        if len(self._instantiations) >= _MAX_INSTANTIATIONS:
            self._instantiations.pop(next(iter(self._instantiations)))
        self._instantiations[observed] = plan
        return plan

    def _gather(self, plan: _Plan, indices: Mapping[Hashable, np.ndarray]) -> _Plan:
        """``plan`` with each gathered clique's table indexed at every row's observed states (rows first)."""
        potentials = list(plan.potentials)
        for i in plan.gathered:
            clique = self.cliques[i]
            picked = self._potentials[i][0][tuple(indices[v] if v in indices else slice(None) for v in clique)]
            # numpy puts the row axis where adjacent index arrays were, or first if they are apart
            axes = [a for a, v in enumerate(clique) if v in indices]
            row_axis = axes[0] if axes[-1] - axes[0] == len(axes) - 1 else 0
            potentials[i] = np.moveaxis(picked, row_axis, 0) if row_axis else picked
        return dataclasses.replace(plan, potentials=potentials)

    def _run_instantiated(self, observed: Mapping[Hashable, np.ndarray], hard: Mapping, soft: Mapping,
                          targets: Sequence, rows: int, hard_indices: Mapping) -> tuple[dict, np.ndarray]:
        """:meth:`_run` with the variables in ``observed`` (state indices, every row observed) clamped."""
        plan = self._gather(self._instantiated(frozenset(observed)), observed)
        likelihoods = self._likelihoods(hard, soft, plan)
        free = [v for v in targets if v not in observed]
        calibration = self._collect(likelihoods, self._dirty(list(likelihoods) + list(plan.gathered)), plan)
        if free:
            self._distribute(calibration, self._needed(free, plan), plan)
        log_evidence = np.broadcast_to(calibration.log_evidence, (rows,)).copy()
        marginals, finite = self._marginals(calibration.beliefs, free, rows, plan)
        for v in targets:
            if v in observed:
                marginals[v] = self._one_hot(v, observed[v])
        bad = ~(np.isfinite(log_evidence) & finite)
        if bad.any():
            every = {**hard, **{v: self._one_hot(v, i) for v, i in observed.items()}}
            marginals, log_evidence = self._redo_in_log_space(every, soft, targets, rows, bad, self._needed(targets),
                                                              marginals, log_evidence, hard_indices)
        return marginals, log_evidence

    def _prior_calibration(self) -> _Calibration:
        if self._prior_beliefs is None:
            self._distribute(self._prior, None)
            self._prior_beliefs = self._prior.beliefs
        return _Calibration(self._prior.collected, self._prior.up, self._prior.log_evidence, self._prior_beliefs)

    def _redo_in_log_space(self, hard, soft, targets, rows, bad, needed, marginals, log_evidence, hard_indices):
        """Rows whose linear-space pass gave P(e) = 0 or non-finite beliefs, redone in log space."""
        index = np.flatnonzero(bad)

        def pick(lik):
            return lik[index] if lik.shape[0] == rows else lik

        log_liks = self._likelihoods({v: _log(pick(a)) for v, a in hard.items()},
                                     {v: _log(pick(a)) for v, a in soft.items()})
        calibration = self._collect_log(log_liks, _logsumexp)
        impossible = ~np.isfinite(np.broadcast_to(calibration.log_evidence, (len(index),)))
        if impossible.any():
            raise _impossible(index[impossible], hard_indices, self.model)
        self._distribute_log(calibration, needed)
        fixed, _ = self._marginals(calibration.beliefs, targets, len(index))
        marginals = {v: np.array(m) for v, m in marginals.items()}
        for v in targets:
            marginals[v][index] = fixed[v]
        log_evidence[index] = calibration.log_evidence
        return marginals, log_evidence

    # ------------------------------------------------------------ public API
    def query(self, targets: Sequence | None = None, evidence=None,
              soft_evidence: Mapping | None = None) -> QueryResult | BatchQueryResult:
        r"""Posterior marginals and :math:`\ln P(e)`, for one evidence or a batch.

        The arguments come in the order of :func:`credo.query` (targets, then
        evidence); evidence passed first, the order of credo 0.1, is refused
        with a :class:`~credo.ModelError` that says so.

        Parameters
        ----------
        targets : variable or sequence of variables, optional
            Variables whose marginals to return. Default: every unobserved
            variable for one evidence, every variable for a batch.
        evidence : mapping, list of mappings or pandas.DataFrame, optional
            One ``{variable: state}`` (returns a QueryResult), or a batch: a
            list of such mappings or a DataFrame with one row per case, one
            column per observed variable, states by name and NaN/None where
            unobserved (returns a :class:`BatchQueryResult`).
        soft_evidence : mapping, optional
            ``{variable: likelihood}``, a non-negative vector of shape
            ``(states,)`` (or ``(rows, states)`` in a batch) multiplied into
            the joint: virtual evidence, as if from an observed child whose
            CPT column is the likelihood.

        Returns
        -------
        QueryResult or BatchQueryResult

        Raises
        ------
        ImpossibleEvidenceError
            If P(e) = 0 (for a batch, naming the rows).
        UnknownVariableError, UnknownStateError
        """
        if _looks_like_evidence(targets):
            raise ModelError("JunctionTree.query takes (targets, evidence), in the order of credo.query; the "
                             "first argument looks like evidence (credo 0.1 took evidence first): write "
                             "engine.query(evidence=...) or engine.query(targets, evidence)")
        if is_batch(evidence):
            return self._query_batch(evidence, targets, soft_evidence)
        return self._query_single(evidence, targets, soft_evidence)

    def _query_single(self, evidence, targets, soft_evidence) -> QueryResult:
        model = self.model
        evidence = model.check_evidence(evidence)
        targets = self._targets(targets, [v for v in model.variables if v not in evidence])
        rank = self._state_rank  # check_evidence made every state its canonical name
        indices = {v: np.array([rank[v][s]]) for v, s in evidence.items()}
        hard = {v: self._one_hot(v, i) for v, i in indices.items()}
        soft, soft_scale = _rescaled(self.model.check_soft_evidence(soft_evidence, 1) if soft_evidence else {})
        free = [v for v in targets if v not in evidence]
        try:
            arrays, log_evidence = self._run(hard, soft, free, 1, indices)
        except ImpossibleEvidenceError:
            raise ImpossibleEvidenceError(evidence) from None
        log_evidence = log_evidence + soft_scale
        marginals = {}
        for v in targets:
            if v in evidence:
                marginals[v] = {s: float(s == evidence[v]) for s in model.states(v)}
            else:
                marginals[v] = dict(zip(model.states(v), arrays[v][0].tolist()))
        value = 0.0 if model.is_directed and not evidence and not soft else float(log_evidence[0])
        return QueryResult(marginals=marginals, log_evidence=value, evidence=evidence, method="jt")

    def _query_batch(self, evidence, targets, soft_evidence) -> BatchQueryResult:
        rows, indices = self._batch_indices(evidence)
        targets = self._targets(targets, list(self.model.variables))
        soft, soft_scale = _rescaled(self.model.check_soft_evidence(soft_evidence, rows))
        if rows == 0:
            empty = {v: np.zeros((0, self._cards[v])) for v in targets}
            return BatchQueryResult(empty, np.zeros(0), {v: self.model.states(v) for v in targets})
        marginals, log_evidence = self._batch_distinct(rows, indices, targets, soft)
        log_evidence = log_evidence + soft_scale
        if self.model.is_directed:
            # P(no evidence) = 1 for a Bayesian network; don't let rounded tables say otherwise.
            unobserved = np.ones(rows, dtype=bool)
            for i in indices.values():
                unobserved &= i < 0
            if not soft:
                log_evidence[unobserved] = 0.0
        return BatchQueryResult(marginals, log_evidence, {v: self.model.states(v) for v in targets})

    def _batch_distinct(self, rows: int, indices: Mapping, targets: Sequence, soft: Mapping):
        """:meth:`_batch_rows` on the distinct evidence rows only, expanded back to all ``rows``."""
        if not indices or any(a.shape[0] == rows and rows > 1 for a in soft.values()):
            return self._batch_rows(rows, indices, targets, soft)
        matrix = np.stack(list(indices.values()), axis=1)
        distinct, first, inverse = np.unique(matrix, axis=0, return_index=True, return_inverse=True)
        if len(distinct) > 0.9 * rows:
            return self._batch_rows(rows, indices, targets, soft)
        inverse = inverse.reshape(-1)
        try:
            marginals, log_evidence = self._batch_rows(
                len(distinct), {v: distinct[:, k] for k, v in enumerate(indices)}, targets, soft)
        except ImpossibleEvidenceError as error:
            bad = np.flatnonzero(np.isin(inverse, getattr(error, "rows", [])))
            raise _impossible(bad, indices, self.model) from None
        return {v: m[inverse] for v, m in marginals.items()}, log_evidence[inverse]

    def _batch_rows(self, rows: int, indices: Mapping, targets: Sequence, soft: Mapping):
        """Marginals ``{v: (rows, k)}`` and ln P(e) ``(rows,)`` of a batch, in chunks that fit in memory.

        Variables observed in every row of a chunk are clamped
        (:meth:`_run_instantiated`); the others enter as likelihoods.
        """
        chunk = max(1, _CHUNK_ENTRIES // (2 * self._entries))
        parts = []
        for start in range(0, rows, chunk):
            stop = min(rows, start + chunk)
            part_indices = {v: i[start:stop] for v, i in indices.items()}
            part_soft = {v: (a[start:stop] if a.shape[0] == rows else a) for v, a in soft.items()}
            clamped = {v: i for v, i in part_indices.items() if v not in part_soft and (i >= 0).all()}
            hard = {v: self._one_hot(v, i) for v, i in part_indices.items() if v not in clamped}
            try:
                if clamped:
                    parts.append(self._run_instantiated(clamped, hard, part_soft, targets, stop - start,
                                                        part_indices))
                else:
                    parts.append(self._run(hard, part_soft, targets, stop - start, part_indices))
            except ImpossibleEvidenceError as error:
                raise _shift_rows(error, start, self.model, indices) from None
        marginals = {v: np.concatenate([np.asarray(m[v]) for m, _ in parts]) for v in targets}
        return marginals, np.concatenate([le for _, le in parts])

    def _targets(self, targets, default: list) -> list:
        if targets is None:
            return default
        if isinstance(targets, (str, bytes)) or not isinstance(targets, Iterable):
            targets = [targets]
        targets = list(dict.fromkeys(targets))
        for v in targets:
            self.model.states(v)  # validates the name
        return targets

    def _batch_indices(self, evidence) -> tuple[int, dict]:
        """Number of rows and ``{variable: state index per row, -1 where unobserved}``."""
        if isinstance(evidence, Mapping):  # pragma: no cover - routed to the single path
            evidence = [evidence]
        return self.model.data_indices(evidence)

    def log_evidence(self, evidence=None, soft_evidence: Mapping | None = None):
        r""":math:`\ln P(e)` only (one collect pass): a float, or an array for a batch."""
        result = self.query([], evidence=evidence, soft_evidence=soft_evidence)
        return result.log_evidence

    def joint(self, variables: Sequence, evidence: Mapping | None = None,
              soft_evidence: Mapping | None = None) -> DiscreteFactor:
        """Posterior joint of ``variables`` that share a clique, as a DiscreteFactor over them in the given order.

        Raises
        ------
        ModelError
            If no clique holds all of ``variables`` (use
            ``credo.query(..., joint=True)`` for arbitrary sets).
        """
        variables = self._targets(variables, [])
        evidence = self.model.check_evidence(evidence)
        want = set(variables)
        holders = [i for i, c in enumerate(self.cliques) if want <= set(c)]
        if not holders:
            raise ModelError(f"no clique of this junction tree holds all of {variables}; "
                             f"use credo.query(model, targets, evidence, joint=True) instead")
        home = min(holders, key=lambda i: (int(np.prod(self._shapes[i])), i))
        indices = {v: np.array([self.model.state_index(v, s)]) for v, s in evidence.items()}
        hard = {v: self._one_hot(v, i) for v, i in indices.items()}
        soft, _ = _rescaled(self.model.check_soft_evidence(soft_evidence, 1))
        likelihoods = self._likelihoods(hard, soft)
        needed = self._marked([home])
        calibration = self._collect(likelihoods, self._dirty(likelihoods)) if likelihoods else \
            self._prior_calibration()
        if calibration.beliefs is None:
            self._distribute(calibration, needed)
        if not np.isfinite(calibration.log_evidence).all():
            raise ImpossibleEvidenceError(evidence)
        clique = self.cliques[home]
        table = calibration.beliefs[home][0]
        table = table.sum(axis=tuple(a for a, v in enumerate(clique) if v not in want))
        kept = tuple(v for v in clique if v in want)
        table = np.transpose(table / table.sum(), [kept.index(v) for v in variables])
        return DiscreteFactor(variables, table, {v: self.model.states(v) for v in variables})

    def log_likelihood_fn(self):
        r"""A jittable JAX function ``f(log_tables, likelihoods) -> (rows,)`` of :math:`\ln P(e_r)`.

        ``log_tables`` are the log factor tables in ``model.factors`` order (for
        a BN, log CPTs shaped like ``factor.values``); ``likelihoods`` maps
        observed variables to ``(rows, states)`` likelihood arrays (one-hot for
        hard evidence). Differentiable: ``jax.grad`` of the summed result with
        respect to ``log_tables`` gives the expected counts EM needs. Runs in
        the dtype of its inputs: enable ``jax_enable_x64`` for agreement with
        the numpy engine to 1e-6 and beyond, else it computes in float32.
        See :mod:`credo.exact.jt_jax`.
        """
        from credo.exact.jt_jax import log_likelihood_fn

        return log_likelihood_fn(self)

    def mpe(self, evidence=None, soft_evidence: Mapping | None = None) -> MPEResult | BatchMPEResult:
        r"""Most probable explanation by max-product calibration in log space.

        The collect pass keeps each clique's max-marginal given its subtree;
        decoding walks the tree from the root, maximizing each clique's table
        with its separator fixed to the states already chosen, so ties are
        broken consistently (first state in model order).

        Parameters
        ----------
        evidence : mapping, list of mappings or pandas.DataFrame, optional
            One ``{variable: state}``, or a batch of rows as in :meth:`query`
            (None/NaN where unobserved).
        soft_evidence : mapping, optional
            ``{variable: likelihood}``, ``(states,)`` or ``(rows, states)``.

        Returns
        -------
        MPEResult or BatchMPEResult
            ``.assignment`` of every variable and ``.log_joint`` :math:`= \ln \max_x P(x, e)`;
            for a batch, one of each per row.

        Raises
        ------
        ImpossibleEvidenceError
            If some evidence has probability zero (for a batch, naming the rows).
        """
        if is_batch(evidence):
            return self._mpe_batch(evidence, soft_evidence)
        model = self.model
        evidence = model.check_evidence(evidence)
        indices = {v: np.array([model.state_index(v, s)]) for v, s in evidence.items()}
        soft = model.check_soft_evidence(soft_evidence, 1)
        try:
            chosen, log_joint = self._max_product(indices, soft, 1)
        except ImpossibleEvidenceError:
            raise ImpossibleEvidenceError(evidence) from None
        assignment = {v: evidence[v] if v in evidence else model.states(v)[chosen[v][0]] for v in model.variables}
        return MPEResult(assignment=assignment, log_joint=float(log_joint[0]), evidence=evidence)

    def _mpe_batch(self, evidence, soft_evidence) -> BatchMPEResult:
        rows, indices = self._batch_indices(evidence)
        soft = self.model.check_soft_evidence(soft_evidence, rows)
        chunk = max(1, _CHUNK_ENTRIES // (2 * self._entries))
        chosen = {v: np.zeros(rows, dtype=np.intp) for v in self.model.variables}
        log_joint = np.zeros(rows)
        for start in range(0, rows, chunk):
            stop = min(rows, start + chunk)
            part_soft = {v: (a[start:stop] if a.shape[0] == rows else a) for v, a in soft.items()}
            try:
                part, value = self._max_product({v: i[start:stop] for v, i in indices.items()}, part_soft,
                                                stop - start)
            except ImpossibleEvidenceError as error:
                raise _shift_rows(error, start, self.model, indices) from None
            for v, picked in part.items():
                chosen[v][start:stop] = picked
            log_joint[start:stop] = value
        return BatchMPEResult(chosen, log_joint, {v: self.model.states(v) for v in self.model.variables})

    def _max_product(self, indices: Mapping, soft: Mapping, rows: int) -> tuple[dict, np.ndarray]:
        """Max-product collect and decoding: ``({variable: state index (rows,)}, ln max_x P(x, e) (rows,))``."""
        hard = {v: _log(self._one_hot(v, i)) for v, i in indices.items()}
        soft, soft_scale = _rescaled(soft)
        soft = {v: _log(a) for v, a in soft.items()}
        calibration = self._collect_log(self._likelihoods(hard, soft), _max_reduce)
        log_joint = np.broadcast_to(calibration.log_evidence + soft_scale, (rows,)).copy()
        bad = ~np.isfinite(log_joint)
        if bad.any():
            raise _impossible(np.flatnonzero(bad), indices, self.model)
        every_row = np.arange(rows)
        chosen: dict = {}
        for i in self._preorder:
            clique = self.cliques[i]
            table = np.broadcast_to(calibration.collected[i], (rows, *self._shapes[i]))
            free = [v for v in clique if v not in chosen]
            if not free:
                continue
            # rows and the states already chosen are advanced indices, broadcast to (rows,) in front
            index = (every_row,) + tuple(chosen[v] if v in chosen else slice(None) for v in clique)
            sub = table[index].reshape(rows, -1)
            best = np.unravel_index(np.argmax(sub, axis=1), [self._cards[v] for v in free])
            chosen.update(zip(free, best))
        return chosen, log_joint


def _rescaled(soft: Mapping) -> tuple[dict, np.ndarray]:
    r"""Soft-evidence likelihoods divided by their row maxima, and :math:`\sum_v \ln \max` per row.

    A likelihood is scale-free: only ratios between states matter for the
    posterior, and the scale adds :math:`\ln c` to :math:`\ln P(e)`. Tiny
    (subnormal) likelihoods would otherwise lose their mantissa in the
    collect products. An all-zero row keeps its zeros, so it still reads as
    impossible evidence.

    Returns
    -------
    soft : dict
        ``{variable: (rows or 1, states)}`` with each non-zero row's maximum 1.
    log_scale : numpy.ndarray
        Shape ``(rows or 1,)``: to be added to the ln P(e) of each row.
    """
    scaled = {}
    log_scale = np.zeros(1)
    for v, lik in soft.items():
        peak = lik.max(axis=-1, keepdims=True)
        safe = np.where(peak > 0, peak, 1.0)
        scaled[v] = lik / safe
        log_scale = log_scale + np.log(safe[:, 0])
    return scaled, log_scale


#: Process-wide tables shared by every engine (read-only, so no caller can change another's).
_ONES: dict[int, np.ndarray] = {}
_ONE_HOT_ROWS: dict[int, np.ndarray] = {}


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _reducer(shape: tuple, kept: Sequence[bool]) -> tuple[tuple, tuple]:
    """Plan to sum a batch-first table of clique ``shape`` over the axes not ``kept``.

    Adjacent axes with the same fate are merged; each run of summed axes,
    from the last, becomes a product with a vector of ones (BLAS gemv), which
    beats ``ndarray.sum`` over interleaved small axes by up to 20x.
    Returns ``(steps, output shape)`` for :func:`_reduce`.
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
            steps.append((_ONES.setdefault(n, _read_only(np.ones(n))), n, post))
    return tuple(steps), (-1,) + tuple(n for n, keep in zip(shape, kept) if keep)


def _reduce(table: np.ndarray, plan: tuple) -> np.ndarray:
    """Sum ``table`` (batch first) as planned by :func:`_reducer`."""
    steps, out = plan
    for ones, n, post in steps:
        table = table.reshape(-1, n) @ ones if post == 1 else ones @ table.reshape(-1, n, post)
    return table.reshape(out)


def _rows_copy(values: np.ndarray, rows: int) -> np.ndarray:
    """A writable copy of ``values`` (shape (1,) or (rows,)) with shape (rows,)."""
    return values.copy() if values.shape == (rows,) else np.broadcast_to(values, (rows,)).copy()


def _permutation(source: tuple, target: tuple) -> tuple | None:
    """Axis permutation (batch axis first) taking a table over ``source`` to ``target`` order; None if equal."""
    if source == target:
        return None
    return (0,) + tuple(1 + source.index(v) for v in target)


def _place(message: np.ndarray, permutation: tuple | None, shape: tuple) -> np.ndarray:
    """A separator message laid out to broadcast against a clique table."""
    if permutation is not None:
        message = message.transpose(permutation)
    return message.reshape(shape)


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


def _max_reduce(array: np.ndarray, axis: tuple) -> np.ndarray:
    return np.max(array, axis=axis)


def _looks_like_evidence(targets) -> bool:
    """A mapping, a DataFrame or a list of mappings, where a variable or a list of variables belongs."""
    if isinstance(targets, Mapping) or hasattr(targets, "columns"):
        return True
    return isinstance(targets, (list, tuple)) and any(isinstance(t, Mapping) or t is None for t in targets)


def is_batch(evidence) -> bool:
    """Whether ``evidence`` is a batch of rows (a list or tuple of mappings, or a DataFrame), not one mapping.

    Parameters
    ----------
    evidence : mapping, list of mappings, pandas.DataFrame or None

    Returns
    -------
    bool
    """
    return hasattr(evidence, "columns") or (isinstance(evidence, (list, tuple)))


def _impossible(rows: np.ndarray, indices: Mapping | None, model) -> ImpossibleEvidenceError:
    rows = [int(r) for r in rows]
    first = {}
    if indices:
        first = {v: model.states(v)[int(i[rows[0]])] for v, i in indices.items() if i[rows[0]] >= 0}
    error = ImpossibleEvidenceError(first, f"the evidence of rows {rows[:20]}{' ...' if len(rows) > 20 else ''} "
                                           f"has probability zero under the model (first: {first})")
    error.rows = rows
    return error


def _shift_rows(error: ImpossibleEvidenceError, start: int, model, indices) -> ImpossibleEvidenceError:
    """Re-raise a chunk's error with row numbers of the whole batch."""
    rows = [r + start for r in getattr(error, "rows", [])]
    return _impossible(np.array(rows), indices, model) if rows else error


#: Clique-sized float64 arrays a compiled tree keeps: potentials, log potentials, prior pass, beliefs.
_TABLES_PER_CLIQUE = 4


def _check_clique_memory(cliques: Sequence[frozenset], cards: Mapping, memory_limit: int | None,
                         heuristic: str) -> None:
    """Refuse (typed error) a triangulation whose clique tables would not fit, before allocating them."""
    sizes = [math.prod(cards[v] for v in c) for c in cliques]
    check_memory(f"a junction tree of {len(sizes)} cliques ({heuristic} triangulation)",
                 _TABLES_PER_CLIQUE * 8 * sum(sizes), max(sizes), memory_limit)


# ------------------------------------------------------------------ the "jt" method
#: Attribute of a model that holds its compiled engines, one per heuristic.
_ENGINE_ATTRIBUTE = "_credo_junction_trees"


def cached_engine(model: DiscreteModel, heuristic: str | Sequence = "min-fill") -> JunctionTree:
    """The compiled :class:`JunctionTree` of ``model`` for ``heuristic``, compiled on first use.

    One engine per (model, heuristic name) is stored on the model itself;
    an explicit elimination order (a sequence) always compiles a new one.

    The engine refers to its model, so a cache keyed by the model (even a
    weak one) would keep every queried model alive; on the model, the two
    form a cycle that the garbage collector frees with the model.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork or FactorGraph
    heuristic : str or sequence
        As for :class:`JunctionTree`.

    Returns
    -------
    JunctionTree
    """
    if not isinstance(heuristic, str):
        return JunctionTree(model, heuristic)
    engines = getattr(model, _ENGINE_ATTRIBUTE, None)
    if engines is None:
        engines = {}
        try:
            setattr(model, _ENGINE_ATTRIBUTE, engines)
        except AttributeError:  # a model class with slots: no cache
            return JunctionTree(model, heuristic)
    if heuristic not in engines:
        engines[heuristic] = JunctionTree(model, heuristic)
    return engines[heuristic]


def junction_tree_query(
    model: DiscreteModel,
    targets: Sequence | None = None,
    evidence: Mapping | None = None,
    joint: bool = False,
    elimination_order: str | Sequence = "min-fill",
    soft_evidence: Mapping | None = None,
    memory_limit: int | None = None,
) -> QueryResult:
    r"""Posterior marginals and :math:`\ln P(e)` by junction tree propagation.

    Same parameters and result as :func:`~credo.exact.variable_elimination`;
    the compiled :class:`JunctionTree` is cached per model and heuristic, so
    repeated queries on one model pay the compilation once.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork or FactorGraph
    targets : sequence, optional
        Query variables; default every non-evidence variable.
    evidence : mapping, list of mappings or pandas.DataFrame, optional
        ``{variable: state}``; a list or DataFrame is a batch of evidence rows,
        answered in one vectorized pass (see :meth:`JunctionTree.query`).
    joint : bool
        Also return the joint posterior of ``targets`` (from a clique when one
        holds them all, else by variable elimination); single evidence only.
    elimination_order : str or sequence
        Heuristic name or explicit order used to triangulate.
    soft_evidence : mapping, optional
        ``{variable: likelihood}`` (see :meth:`JunctionTree.query`).

    Returns
    -------
    QueryResult, or BatchQueryResult for a batch
    """
    # an explicit memory limit gets its own engine: the cached one was checked against the default
    engine = cached_engine(model, elimination_order) if memory_limit is None else \
        JunctionTree(model, elimination_order, memory_limit=memory_limit)
    if is_batch(evidence):
        if joint:
            raise ModelError("joint=True takes one evidence dict, not a batch of rows")
        return engine.query(targets, evidence=evidence, soft_evidence=soft_evidence)
    result = engine.query(targets, evidence=evidence, soft_evidence=soft_evidence)
    if not joint:
        return result
    free = [v for v in result.marginals if v not in result.evidence]
    if not free:
        return result
    try:
        factor = engine.joint(free, result.evidence, soft_evidence=soft_evidence)
    except ModelError:
        factor = variable_elimination(model, free, result.evidence, joint=True,
                                      elimination_order=elimination_order, soft_evidence=soft_evidence).joint
    return QueryResult(marginals=result.marginals, log_evidence=result.log_evidence, evidence=result.evidence,
                       joint=factor, method="jt")
