"""Sum-product and max-product belief propagation on factor graphs.

On trees and polytrees the messages converge after two sweeps and the
beliefs are the exact marginals (Pearl 1988). On graphs with cycles the same
updates ("loopy BP") give approximate marginals whose fixed points are the
stationary points of the Bethe free energy (Yedidia, Freeman & Weiss 2005);
the Bethe estimate of ln Z is reported beside them. Loopy BP may not
converge: the result says so rather than looping forever.

Messages are kept normalized to sum one (so they neither overflow nor
underflow); damping mixes each new message with the old one, and the
residual schedule (Elidan, McGraw & Koller 2006) updates the message that
changed most first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Mapping, Sequence

import numpy as np

from credo.errors import ImpossibleEvidenceError, ModelError
from credo.factors.budget import ITEMSIZE, check_memory
from credo.exact.elimination import reduce_model
from credo.factors.elimination import ReducedFactors
from credo.exact.result import MPEResult, QueryResult
from credo.factors.discrete import align
from credo.models.base import DiscreteModel

__all__ = ["belief_propagation", "max_product", "SCHEDULES"]

SCHEDULES = ("flooding", "residual")

Edge = tuple[int, Hashable]  # (factor index, variable)


@dataclass
class _Graph:
    """A factor graph over the free (unobserved) variables, tables scaled to max 1."""

    tables: list[np.ndarray]
    scopes: list[tuple]
    neighbours: dict[Hashable, list[int]]  # variable -> factor indices
    cardinality: dict[Hashable, int]
    log_scale: float

    @property
    def edges(self) -> list[Edge]:
        return [(f, v) for f, scope in enumerate(self.scopes) for v in scope]


#: Factor-sized arrays an update holds besides the table: the product with the incoming messages and its next step.
_PRODUCT_COPIES = 2


def _check_factor_graph(model: DiscreteModel, reduced: ReducedFactors, ids: Sequence[int],
                        memory_limit: int | None) -> None:
    """Refuse, before copying any table, a factor graph whose tables (and a factor's product) would not fit."""
    if not ids:
        return
    sizes = [reduced.entries(i) for i in ids]
    biggest = ids[max(range(len(ids)), key=sizes.__getitem__)]
    messages = sum(2 * model.cardinality(v) for i in ids for v in reduced.labels[i])
    scope = list(reduced.labels[biggest])
    named = ", ".join(map(repr, scope[:8])) + (f", ... ({len(scope) - 8} more)" if len(scope) > 8 else "")
    check_memory(f"belief propagation's factor graph of {len(ids)} factors (largest over {len(scope)} "
                 f"variables [{named}])", ITEMSIZE * (sum(sizes) + _PRODUCT_COPIES * max(sizes) + messages),
                 max(sizes), memory_limit,
                 advice="Belief propagation multiplies every factor's whole table: give a larger memory_limit if "
                        "the memory is there, observe some of the factor's variables, or split the factor.")


def _factor_graph(model: DiscreteModel, evidence: Mapping, memory_limit: int | None = None) -> _Graph:
    reduced = reduce_model(model, evidence)
    _check_factor_graph(model, reduced, reduced.chosen(model.variables), memory_limit)
    tables, log_scale = reduced.select(model.variables)
    free = [v for v in model.variables if v not in evidence]
    neighbours: dict = {v: [] for v in free}
    for f, (_, scope) in enumerate(tables):
        for v in scope:
            neighbours[v].append(f)
    return _Graph([t for t, _ in tables], [s for _, s in tables], neighbours,
                  {v: model.cardinality(v) for v in free}, log_scale)


def _reduce(array: np.ndarray, axes: tuple, semiring: str) -> np.ndarray:
    return array.sum(axis=axes) if semiring == "sum" else array.max(axis=axes)


class _Messages:
    """Factor-to-variable and variable-to-factor messages, normalized to sum one."""

    def __init__(self, graph: _Graph, semiring: str):
        self.graph = graph
        self.semiring = semiring
        self.to_var = {(f, v): np.full(graph.cardinality[v], 1.0 / graph.cardinality[v]) for f, v in graph.edges}
        self.to_factor = dict(self.to_var)

    def factor_to_var(self, f: int, v) -> np.ndarray:
        """Sum (or max) over the factor's other variables of table * incoming messages."""
        scope = self.graph.scopes[f]
        product = self.graph.tables[f]
        for u in scope:
            if u != v:
                product = product * align(self.to_factor[(f, u)], (u,), scope)
        out = _reduce(product, tuple(i for i, u in enumerate(scope) if u != v), self.semiring)
        return _normalized(out, v)

    def var_to_factor(self, v, f: int) -> np.ndarray:
        out = np.ones(self.graph.cardinality[v])
        for g in self.graph.neighbours[v]:
            if g != f:
                out = out * self.to_var[(g, v)]
        return _normalized(out, v)

    def belief(self, v) -> np.ndarray:
        out = np.ones(self.graph.cardinality[v])
        for g in self.graph.neighbours[v]:
            out = out * self.to_var[(g, v)]
        return _normalized(out, v)

    def factor_belief(self, f: int) -> np.ndarray:
        scope = self.graph.scopes[f]
        product = self.graph.tables[f]
        for u in scope:
            product = product * align(self.to_factor[(f, u)], (u,), scope)
        total = product.sum()
        if not total > 0:
            raise ImpossibleEvidenceError(message=f"belief propagation found no consistent state of {scope}")
        return product / total


def _normalized(message: np.ndarray, variable) -> np.ndarray:
    total = message.sum()
    if not total > 0 or not np.isfinite(total):
        raise ImpossibleEvidenceError(
            message=f"belief propagation: every state of {variable!r} has zero weight (impossible evidence "
                    f"or contradictory potentials)")
    return message / total


def _update(messages: _Messages, f: int, v, damping: float) -> float:
    """Recompute the message f -> v (and v's outgoing messages); return its change."""
    new = messages.factor_to_var(f, v)
    old = messages.to_var[(f, v)]
    if damping:
        new = (1.0 - damping) * new + damping * old
    messages.to_var[(f, v)] = new
    for g in messages.graph.neighbours[v]:
        if g != f:
            messages.to_factor[(g, v)] = messages.var_to_factor(v, g)
    return float(np.max(np.abs(new - old)))


def _flooding(messages: _Messages, max_iterations: int, tolerance: float, damping: float) -> tuple[bool, int, float]:
    graph = messages.graph
    delta = np.inf
    for iteration in range(1, max_iterations + 1):
        fresh = {(f, v): messages.factor_to_var(f, v) for f, v in graph.edges}
        delta = 0.0
        for edge, new in fresh.items():
            old = messages.to_var[edge]
            if damping:
                new = (1.0 - damping) * new + damping * old
            delta = max(delta, float(np.max(np.abs(new - old))))
            messages.to_var[edge] = new
        for f, v in graph.edges:
            messages.to_factor[(f, v)] = messages.var_to_factor(v, f)
        if delta < tolerance:
            return True, iteration, delta
    return False, max_iterations, delta


def _residual(messages: _Messages, max_iterations: int, tolerance: float, damping: float) -> tuple[bool, int, float]:
    """Update the largest-residual message first; an iteration is |edges| single updates."""
    graph = messages.graph
    edges = graph.edges
    residual = {e: float(np.max(np.abs(messages.factor_to_var(*e) - messages.to_var[e]))) for e in edges}
    budget = max_iterations * max(len(edges), 1)
    for update in range(1, budget + 1):
        edge = max(residual, key=residual.get) if residual else None
        if edge is None or residual[edge] < tolerance:
            return True, -(-update // max(len(edges), 1)), residual[edge] if edge else 0.0
        f, v = edge
        _update(messages, f, v, damping)
        residual[edge] = 0.0
        # Messages out of the factors that just received a new message from v may change.
        for g in graph.neighbours[v]:
            if g == f:
                continue
            for u in graph.scopes[g]:
                if u != v:
                    e = (g, u)
                    residual[e] = float(np.max(np.abs(messages.factor_to_var(g, u) - messages.to_var[e])))
    return False, max_iterations, max(residual.values())


def _run(model, evidence, semiring, schedule, max_iterations, tolerance, damping, memory_limit=None):
    if schedule not in SCHEDULES:
        raise ModelError(f"unknown schedule {schedule!r}; choose one of {SCHEDULES}")
    if not 0.0 <= damping < 1.0:
        raise ModelError(f"damping must lie in [0, 1), got {damping}")
    evidence = model.check_evidence(evidence)
    graph = _factor_graph(model, evidence, memory_limit)
    messages = _Messages(graph, semiring)
    sweep = _flooding if schedule == "flooding" else _residual
    converged, iterations, delta = sweep(messages, max_iterations, tolerance, damping)
    return evidence, graph, messages, {"converged": converged, "iterations": iterations,
                                       "max_message_change": delta, "schedule": schedule, "damping": damping}


def _bethe_log_partition(graph: _Graph, messages: _Messages, beliefs: dict) -> float:
    r""":math:`\ln Z_{Bethe} = \sum_f \mathbb{E}_{b_f}[\ln \phi_f - \ln b_f] + \sum_v (d_v - 1) \mathbb{E}_{b_v}[\ln b_v]`."""
    total = graph.log_scale
    with np.errstate(divide="ignore", invalid="ignore"):
        for f, table in enumerate(graph.tables):
            b = messages.factor_belief(f)
            mask = b > 0
            total += float(np.sum(b[mask] * (np.log(table[mask]) - np.log(b[mask]))))
        for v, b in beliefs.items():
            mask = b > 0
            total += (len(graph.neighbours[v]) - 1) * float(np.sum(b[mask] * np.log(b[mask])))
    return total


def belief_propagation(
    model: DiscreteModel,
    targets: Sequence | None = None,
    evidence: Mapping | None = None,
    max_iterations: int = 200,
    tolerance: float = 1e-10,
    damping: float = 0.0,
    schedule: str = "flooding",
    memory_limit: int | None = None,
) -> QueryResult:
    """Posterior marginals by sum-product belief propagation.

    Exact on trees and polytrees; approximate (loopy BP) otherwise.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork or FactorGraph
    targets, evidence
        As in :func:`credo.query`.
    max_iterations : int
        Sweeps over all messages before giving up.
    tolerance : float
        Converged when no message entry changes by more than this in a sweep.
    damping : float in [0, 1)
        New message = (1 - damping) * update + damping * old.
    schedule : {"flooding", "residual"}
    memory_limit : int, optional
        Bytes the factor graph may take (the evidence-reduced tables, copied,
        and a factor's product with its messages); default 80% of the
        available memory. More raises :class:`~credo.errors.ContractionTooLargeError`
        before any table is copied.

    Returns
    -------
    QueryResult
        ``method="bp"``; ``log_evidence`` is the Bethe estimate of ln Z(e)
        (exact on trees); ``info`` has ``converged``, ``iterations``,
        ``max_message_change``, ``schedule``, ``damping``.
    """
    evidence, graph, messages, info = _run(model, evidence, "sum", schedule, max_iterations, tolerance, damping,
                                           memory_limit)
    beliefs = {v: messages.belief(v) for v in graph.neighbours}
    log_z = _bethe_log_partition(graph, messages, beliefs)
    if targets is None:
        targets = [v for v in model.variables if v not in evidence]
    elif isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence):
        targets = [targets]
    marginals = {}
    for v in targets:
        if v in evidence:
            marginals[v] = {s: float(s == evidence[v]) for s in model.states(v)}
        else:
            model.state_index(v, model.states(v)[0])
            marginals[v] = dict(zip(model.states(v), map(float, beliefs[v])))
    return QueryResult(marginals=marginals, log_evidence=log_z, evidence=evidence, method="bp", info=info)


def max_product(
    model: DiscreteModel,
    evidence: Mapping | None = None,
    max_iterations: int = 200,
    tolerance: float = 1e-10,
    damping: float = 0.0,
    schedule: str = "flooding",
    memory_limit: int | None = None,
) -> MPEResult:
    """MPE by max-product belief propagation (exact on trees with a unique maximum).

    Each variable takes the state of largest max-marginal; ``log_joint`` is
    the model's log potential at that assignment, so it is always a valid
    lower bound on the true maximum. ``memory_limit`` as for :func:`belief_propagation`.
    """
    evidence, graph, messages, info = _run(model, evidence, "max", schedule, max_iterations, tolerance, damping,
                                           memory_limit)
    assignment = {}
    for v in model.variables:
        if v in evidence:
            assignment[v] = evidence[v]
        else:
            assignment[v] = model.states(v)[int(np.argmax(messages.belief(v)))]
    log_joint = model.log_potential(assignment)
    return MPEResult(assignment=assignment, log_joint=log_joint, evidence=evidence)
