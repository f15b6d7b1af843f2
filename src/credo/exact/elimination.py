"""Variable elimination: sum-product for marginals and ln P(e), max-product for MPE.

Tables are contracted one bucket at a time (Zhang & Poole 1994; Dechter 1996).
Sum-product runs in linear space with a running log-scale: every
intermediate table is divided by its maximum and the logarithm of that
maximum is accumulated, so ln P(e) of large networks neither underflows nor
loses precision. If the evidence's probability still comes out as zero, the
query is repeated in log space to tell a true zero (raise
:class:`~credo.ImpossibleEvidenceError`) from an underflow. Max-product runs
in log space throughout.

Every query is planned before any table is built: the tables each pass
(ln P(e), one per target, the joint) multiplies, after evidence and barren
nodes are removed, and the bucket each variable of the order empties. The
plan gives the largest table and the peak memory, checked against one limit
(:func:`credo.exact._budget.check_memory`, the junction tree's and the
contraction's): a query that would not fit raises
:class:`~credo.errors.ContractionTooLargeError` before allocating.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Hashable, Iterable, Mapping, Sequence

import networkx as nx
import numpy as np

from credo.errors import ImpossibleEvidenceError, ModelError
from credo.exact._budget import ITEMSIZE, check_memory
from credo.exact.result import MPEResult, QueryResult
from credo.factors import DiscreteFactor
from credo.factors.discrete import align, contract
from credo.graphs.ancestry import ancestral_set
from credo.graphs.elimination import check_order, greedy_order
from credo.models.base import DiscreteModel

__all__ = ["variable_elimination", "mpe", "log_partition", "elimination_order", "relevant_variables",
           "interaction_graph"]

Table = tuple[np.ndarray, tuple]  # (array, labels), one axis per label


# --------------------------------------------------------------------- setup
def relevant_variables(model: DiscreteModel, keep: Iterable) -> set | None:
    """Variables whose factors can affect a query on ``keep`` (ancestral set for a BN).

    Barren nodes, those with no query or evidence variable among their
    descendants, sum out to one in a Bayesian network, so only the ancestors
    of the query and evidence variables matter. Nodes whose rows do not sum
    to one exactly (rounded published tables) are kept with their ancestors,
    so results equal the sum over the tables as written. Returns None for
    undirected models, where every factor matters for the normalizing constant.
    """
    if not model.is_directed:
        return None
    return ancestral_set(model.parents, list(keep) + list(model.inexact_variables))


def interaction_graph(variables: Iterable, scopes: Iterable[Sequence]) -> nx.Graph:
    """Graph on ``variables`` joining every pair that shares a scope."""
    graph = nx.Graph()
    graph.add_nodes_from(variables)
    for scope in scopes:
        graph.add_edges_from((a, b) for i, a in enumerate(scope) for b in scope[i + 1:])
    return graph


def likelihood_factors(model: DiscreteModel, soft_evidence: Mapping | None) -> list[DiscreteFactor]:
    """Soft evidence as one unary factor per variable: Pearl's virtual evidence, an observed
    child whose CPT column is the likelihood, multiplied into the joint (Pearl 1988, sec. 2.2.2)."""
    return [DiscreteFactor([v], lik[0], {v: model.states(v)})
            for v, lik in model.check_soft_evidence(soft_evidence).items()]


class ReducedFactors:
    """The model's factors restricted to the evidence, once per query.

    Each table is scaled to a maximum of one (its log-scale kept aside), so
    later products start from well-conditioned numbers. Construction only
    slices (views, no copies) and checks that no factor is zero on the
    evidence; the scaled copies are made on first use (:meth:`table`), after
    the caller has checked that the plan fits in memory.
    """

    def __init__(self, model: DiscreteModel, evidence: Mapping, soft_evidence: Mapping | None = None):
        self.model = model
        self.evidence = evidence
        likelihoods = likelihood_factors(model, soft_evidence)
        self.soft = [f.variables[0] for f in likelihoods]
        self.labels: list[tuple] = []
        self.scopes: list[frozenset] = []
        self.log_scales: list[float] = []
        self._views: list[np.ndarray] = []
        self._tops: list[float] = []
        self._scaled: dict[int, Table] = {}
        for position, factor in enumerate(list(model.factors) + likelihoods):
            index = tuple(model.state_index(v, evidence[v]) if v in evidence else slice(None)
                          for v in factor.variables)
            array = factor.values[index]  # basic indexing: a view
            top = float(array.max()) if array.size else 0.0
            if not top > 0:
                raise ImpossibleEvidenceError(
                    evidence, f"the evidence {dict(evidence)} is impossible: it gives probability zero to "
                              f"every entry of the factor over {factor.variables}"
                              + (" (a soft-evidence likelihood)" if position >= len(model.factors) else ""))
            self._views.append(array)
            self._tops.append(top)
            self.labels.append(tuple(v for v in factor.variables if v not in evidence))
            self.scopes.append(frozenset(factor.variables))
            self.log_scales.append(float(np.log(top)))

    def table(self, i: int) -> Table:
        """Factor ``i`` sliced at the evidence and scaled to maximum one (copied once, then cached)."""
        if i not in self._scaled:
            self._scaled[i] = (self._views[i] / self._tops[i], self.labels[i])
        return self._scaled[i]

    @property
    def tables(self) -> list[Table]:
        return [self.table(i) for i in range(len(self._views))]

    def entries(self, i: int) -> int:
        """Entries of the reduced table ``i`` (known without building it)."""
        return int(self._views[i].size)

    def chosen(self, keep: Iterable) -> list[int]:
        """Indices of the tables that matter for a query on ``keep``."""
        relevant = relevant_variables(self.model, list(keep) + list(self.evidence) + list(self.soft))
        return [i for i, scope in enumerate(self.scopes) if relevant is None or scope <= relevant]

    def select(self, keep: Iterable) -> tuple[list[Table], float]:
        """Tables that matter for a query on ``keep``, and their summed log-scale."""
        chosen = self.chosen(keep)
        return [self.table(i) for i in chosen], float(sum(self.log_scales[i] for i in chosen))


# --------------------------------------------------------------- planning
#: Per semiring: (table-sized temporaries of the union, of the output) one elimination step holds at once.
#: Linear sum-product: einsum's intermediates (at most the union) and the output with its rescaled copy;
#: log space: the aligned sum, its shifted copy and exp; max-product: the aligned sum, then max and argmax.
_STEP_COPIES = {"sum": (1, 2), "logsum": (3, 2), "max": (2, 2)}


@dataclass
class _Pass:
    """One elimination, planned from the scopes alone: which tables, which steps, what they cost.

    ``steps``: per eliminated variable, the ids of the tables in its bucket
    (inputs ``0..n-1`` in ``ids`` order, then one new id per step).
    ``largest``: entries of the largest table a step forms (the bucket's
    union, the eliminated variable included); ``peak``: entries alive at the
    worst moment besides the input tables; ``width``: induced width.
    """

    keep: tuple
    ids: list
    steps: list
    largest: int
    peak: int
    width: int
    semiring: str
    missing: list


def _plan(scopes: Sequence[tuple], keep: tuple, order: Sequence, cardinality: Mapping, semiring: str,
          ids: list | None = None) -> _Pass:
    """Bucket elimination of ``order`` (restricted to the scopes' variables not kept), simulated on labels.

    The same bookkeeping as the numeric run, which then follows ``steps``;
    ``missing`` lists the variables that must be summed out but that
    ``order`` does not name.
    """
    kept = set(keep)
    to_eliminate = {v for scope in scopes for v in scope} - kept
    restricted = [v for v in order if v in to_eliminate]
    missing = sorted(to_eliminate - set(restricted), key=str) if len(restricted) != len(to_eliminate) else []
    union_copies, output_copies = _STEP_COPIES[semiring]
    live = dict(enumerate(tuple(s) for s in scopes))
    holding: dict[Hashable, set] = {}
    for i, scope in live.items():
        for v in scope:
            holding.setdefault(v, set()).add(i)
    made: dict[int, int] = {}   # entries of the intermediate tables still alive
    alive = retained = peak = 0
    largest, width, next_id, steps = 1, 0, len(live), []
    for var in restricted:
        bucket = sorted(holding.pop(var, ()))
        if not bucket:
            continue
        union = tuple(dict.fromkeys(v for i in bucket for v in live[i]))
        out = tuple(v for v in union if v != var)
        for i in bucket:
            for v in live.pop(i):
                if v != var:
                    holding[v].discard(i)
        size = math.prod(cardinality[v] for v in union)
        size_out = size // cardinality[var]
        largest, width = max(largest, size), max(width, len(union) - 1)
        peak = max(peak, alive + retained + union_copies * size + output_copies * size_out)
        alive += size_out - sum(made.pop(i, 0) for i in bucket)
        if semiring == "max":
            retained += size_out  # the argmax table, kept for the traceback
        made[next_id] = size_out
        live[next_id] = out
        for v in out:
            holding[v].add(next_id)
        steps.append((var, tuple(bucket)))
        next_id += 1
    final = math.prod(cardinality[v] for v in keep)  # the table over keep, its normalized copy, the joint factor
    peak = max(peak, alive + retained + 3 * final)
    largest = max(largest, final)
    return _Pass(tuple(keep), list(range(len(scopes))) if ids is None else ids, steps, largest, peak, width,
                 semiring, missing)


def _refuse_missing(passes: Sequence[_Pass], model: DiscreteModel) -> None:
    missing = {v for p in passes for v in p.missing}
    if missing:
        rank = {v: i for i, v in enumerate(model.variables)}
        names = sorted(missing, key=lambda v: rank.get(v, len(rank)))
        shown = ", ".join(map(repr, names[:20])) + (f", ... ({len(names) - 20} more)" if len(names) > 20 else "")
        raise ModelError(f"the elimination order misses {len(names)} variable(s) that the query sums out: "
                         f"[{shown}]; an explicit order names every unobserved variable (barren ones, with no "
                         f"target or evidence below them, may be left out)")


def _check_passes(what: str, passes: Sequence[_Pass], inputs: int, heuristic: str,
                  memory_limit: int | None) -> None:
    """Refuse the plan if its input tables plus the worst pass's peak exceed the memory limit.

    Passes run one after the other, each freeing its tables, so the peak is
    the inputs' (kept throughout) plus the largest pass's.
    """
    if not passes:
        return
    worst = max(passes, key=lambda p: p.peak)
    largest = max(p.largest for p in passes)
    width = max(p.width for p in passes)
    check_memory(f"{what} ({heuristic} order, induced width {width})", ITEMSIZE * (inputs + worst.peak),
                 largest, memory_limit)


def _describe(model: DiscreteModel, keep: tuple) -> str:
    if not keep:
        return "ln P(e)" if model.is_directed else "ln Z"
    if len(keep) == 1:
        return f"the marginal of {keep[0]!r}"
    return f"the joint of {len(keep)} targets"


def elimination_order(model: DiscreteModel, heuristic: str = "min-fill", evidence: Mapping | None = None):
    """Greedy elimination order of the model's interaction graph, observed variables left out.

    Returns an :class:`~credo.graphs.EliminationOrder` with the induced width.
    """
    evidence = model.check_evidence(evidence)
    free = [v for v in model.variables if v not in evidence]
    graph = interaction_graph(free, ([v for v in f.variables if v not in evidence] for f in model.factors))
    return greedy_order(graph, {v: model.cardinality(v) for v in free}, heuristic)


def _global_order(model: DiscreteModel, evidence: Mapping, elimination_order_or_heuristic) -> tuple[list, str]:
    """One order for the whole evidence-reduced model, reused (restricted) for each target, and its name.

    Restricting an order to a subset of the variables never increases its
    induced width on the corresponding subgraph, and computing it once saves
    a greedy search per target. An explicit order is checked first: an
    unknown name is an :class:`~credo.errors.UnknownVariableError`, a
    repeated one a :class:`~credo.errors.ModelError`.
    """
    if isinstance(elimination_order_or_heuristic, str):
        return list(elimination_order(model, elimination_order_or_heuristic, evidence).order), \
            elimination_order_or_heuristic
    return list(check_order(elimination_order_or_heuristic, model.variables)), "explicit"


# --------------------------------------------------------------- semirings
def _union(tables: Sequence[Table]) -> tuple:
    return tuple(dict.fromkeys(v for _, scope in tables for v in scope))


def _sum_product(tables: Sequence[Table], var) -> tuple[Table, float]:
    union = _union(tables)
    kept = tuple(v for v in union if v != var)
    out = contract(tables, kept)
    top = float(out.max()) if out.size else 0.0
    if top > 0:
        return (out / top, kept), float(np.log(top))
    return (out, kept), 0.0


def _log_sum_exp(tables: Sequence[Table], var) -> tuple[Table, float]:
    union = _union(tables)
    total = sum(align(a, s, union) for a, s in tables)
    axis = union.index(var)
    top = np.max(total, axis=axis, keepdims=True)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(total - safe), axis=axis)) + np.squeeze(safe, axis)
    return (out, union[:axis] + union[axis + 1:]), 0.0


def _max_sum(tables: Sequence[Table], var) -> tuple[Table, np.ndarray]:
    union = _union(tables)
    total = sum(align(a, s, union) for a, s in tables)
    full = np.broadcast_to(total, total.shape)
    axis = union.index(var)
    return (np.max(full, axis=axis), union[:axis] + union[axis + 1:]), np.argmax(full, axis=axis)


def _eliminate(tables: list[Table], plan: _Pass, step, on_step=None) -> tuple[list[Table], float]:
    """Bucket elimination along ``plan.steps`` with a semiring ``step``; returns leftover tables and log-scale."""
    live = dict(enumerate(tables))
    log_scale, next_id = 0.0, len(live)
    for var, bucket in plan.steps:
        new, extra = step([live.pop(i) for i in bucket], var)
        if on_step is not None:
            on_step(var, new[1], extra)
        else:
            log_scale += extra
        live[next_id] = new
        next_id += 1
    return list(live.values()), log_scale


# ------------------------------------------------------------------ queries
def _connected_ids(reduced: ReducedFactors, ids: Sequence[int], keep: Iterable) -> list[int]:
    """Of the tables ``ids``, those joined to ``keep`` through shared (unobserved) variables.

    The product of the other tables does not depend on ``keep``: it only
    rescales the table over ``keep``, so a normalized posterior can leave
    them out. Evidence cuts a network into many such pieces.
    """
    holding: dict[Hashable, list[int]] = {}
    for i in ids:
        for v in reduced.labels[i]:
            holding.setdefault(v, []).append(i)
    reached, frontier, chosen = set(keep), list(keep), set()
    while frontier:
        for i in holding.get(frontier.pop(), ()):
            if i not in chosen:
                chosen.add(i)
                for v in reduced.labels[i]:
                    if v not in reached:
                        reached.add(v)
                        frontier.append(v)
    return sorted(chosen)


def _plan_pass(reduced: ReducedFactors, keep: tuple, order: Sequence, cardinality: Mapping,
               connected_only: bool = False, semiring: str = "sum") -> _Pass:
    """The plan of one query on ``keep``: its tables (relevant, optionally connected to ``keep``) and steps.

    With ``connected_only`` the tables not connected to ``keep`` are left out:
    the table over ``keep`` is then right only up to a constant factor.
    """
    ids = reduced.chosen(keep)
    if connected_only:
        ids = _connected_ids(reduced, ids, keep)
    return _plan([reduced.labels[i] for i in ids], keep, order, cardinality, semiring, ids)


def _joint_over(reduced: ReducedFactors, plan: _Pass, log_space: bool) -> tuple[np.ndarray, float]:
    """Unnormalized table over ``plan.keep`` given the evidence: returns (table, log-scale)."""
    keep = plan.keep
    tables = [reduced.table(i) for i in plan.ids]
    log_scale = float(sum(reduced.log_scales[i] for i in plan.ids))
    if log_space:
        tables = [(np.log(a, where=a > 0, out=np.full(a.shape, -np.inf)), s) for a, s in tables]
    left, extra = _eliminate(tables, plan, _log_sum_exp if log_space else _sum_product)
    log_scale += extra
    if not log_space:
        return contract(left + [(np.ones(()), ())], keep), log_scale
    total = sum((align(a, s, keep) for a, s in left), np.zeros((1,) * len(keep)))
    shape = tuple(reduced.model.cardinality(v) for v in keep)
    return np.broadcast_to(total, shape).copy(), log_scale


def _normalized(reduced: ReducedFactors, plan: _Pass, heuristic: str = "explicit",
                memory_limit: int | None = None) -> tuple[np.ndarray, float]:
    """Posterior table over ``plan.keep`` and ln of its normalizing constant (ln P(e) for a BN).

    With a ``connected_only`` plan (see :func:`_plan_pass`) the posterior is
    the same but the normalizing constant covers only the tables connected to
    ``keep``. The linear-space plan has been checked by the caller; the
    log-space rerun (after an underflow) is checked here, before it allocates.
    """
    table, log_scale = _joint_over(reduced, plan, log_space=False)
    total = table.sum()
    if total > 0 and np.isfinite(total):
        return table / total, float(np.log(total) + log_scale)
    # Either a true zero or an underflow of the linear-space path: decide in log space.
    cardinality = {v: reduced.model.cardinality(v) for v in reduced.model.variables}
    in_log = _plan([reduced.labels[i] for i in plan.ids], plan.keep, [var for var, _ in plan.steps],
                   cardinality, "logsum", plan.ids)
    inputs = sum(a.size for a, _ in reduced._scaled.values()) + sum(reduced.entries(i) for i in plan.ids)
    _check_passes(f"variable elimination in log space of {_describe(reduced.model, plan.keep)}", [in_log], inputs,
                  heuristic, memory_limit)
    log_table, log_scale = _joint_over(reduced, in_log, log_space=True)
    top = np.max(log_table) if log_table.size else -np.inf
    if not np.isfinite(top):
        raise ImpossibleEvidenceError(reduced.evidence)
    weights = np.exp(log_table - top)
    total = weights.sum()
    return weights / total, float(top + np.log(total) + log_scale)


def _cardinalities(model: DiscreteModel) -> dict:
    return {v: model.cardinality(v) for v in model.variables}


def _input_entries(reduced: ReducedFactors, passes: Iterable[_Pass]) -> int:
    """Entries of the scaled input tables the passes use (each copied once)."""
    return sum(reduced.entries(i) for i in set().union(*(p.ids for p in passes)))


def variable_elimination(
    model: DiscreteModel,
    targets: Sequence | None = None,
    evidence: Mapping | None = None,
    joint: bool = False,
    elimination_order: str | Sequence = "min-fill",
    soft_evidence: Mapping | None = None,
    memory_limit: int | None = None,
) -> QueryResult:
    r"""Posterior marginals and :math:`\ln P(e)` by variable elimination.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork or FactorGraph
    targets : sequence, optional
        Query variables; default every non-evidence variable.
    evidence : mapping, optional
        ``{variable: state}``.
    joint : bool
        Also return the joint posterior of ``targets`` as a DiscreteFactor.
    elimination_order : str or sequence
        A heuristic name (``"min-fill"``, ``"min-degree"``, ``"weighted-min-fill"``,
        ``"min-weight"``) or an explicit order. An explicit order names every
        unobserved variable the query sums out, the targets included when
        ln P(e) or several marginals are computed (barren nodes may be left
        out; evidence variables in it are skipped); an unknown name raises
        :class:`~credo.errors.UnknownVariableError`, a repeated or missing one
        :class:`~credo.errors.ModelError`.
    soft_evidence : mapping, optional
        ``{variable: likelihood}``: a non-negative vector over the variable's
        states (model order) multiplied into the joint, as if from an observed
        child whose CPT column is the likelihood (virtual evidence; Pearl 1988).
        ``.log_evidence`` is then :math:`\ln \sum_x P(x, e) \prod_v L_v(x_v)`.
    memory_limit : int, optional
        Bytes the query may use; default 80% of the available memory.

    Returns
    -------
    QueryResult
        ``.marginals[var][state]`` and ``.log_evidence`` (for a Markov network,
        :math:`\ln Z` restricted to the evidence).

    Raises
    ------
    ContractionTooLargeError
        Before any table is built, if the planned eliminations (after the
        evidence is applied and barren nodes removed; the joint's final table
        included) would need more memory than allowed.
    """
    evidence = model.check_evidence(evidence)
    if targets is None:
        targets = [v for v in model.variables if v not in evidence]
    elif isinstance(targets, (str, bytes)) or not isinstance(targets, Iterable):
        targets = [targets]
    targets = list(dict.fromkeys(targets))
    for v in targets:
        model.state_index(v, model.states(v)[0])  # validates the name
    free = [v for v in targets if v not in evidence]
    order, heuristic = _global_order(model, evidence, elimination_order)
    reduced = ReducedFactors(model, evidence, soft_evidence)
    cardinality = _cardinalities(model)
    # P(no evidence) = 1 for a Bayesian network; don't let rounded tables say otherwise.
    prior = model.is_directed and not evidence and not reduced.soft
    evidence_plan = None if prior else _plan_pass(reduced, (), order, cardinality)
    target_plans = {v: _plan_pass(reduced, (v,), order, cardinality, connected_only=True) for v in free}
    joint_plan = _plan_pass(reduced, tuple(free), order, cardinality, connected_only=True) \
        if joint and free else None
    passes = [p for p in [evidence_plan, *target_plans.values(), joint_plan] if p is not None]
    _refuse_missing(passes, model)
    worst = max(passes, key=lambda p: p.peak, default=None)
    if worst is not None:
        _check_passes(f"variable elimination of {_describe(model, worst.keep)}", passes,
                      _input_entries(reduced, passes), heuristic, memory_limit)
    log_evidence = 0.0 if prior else _normalized(reduced, evidence_plan, heuristic, memory_limit)[1]
    marginals = {}
    for v in targets:
        if v in evidence:
            marginals[v] = {s: float(s == evidence[v]) for s in model.states(v)}
            continue
        table, _ = _normalized(reduced, target_plans[v], heuristic, memory_limit)
        marginals[v] = dict(zip(model.states(v), map(float, table)))
    joint_factor = None
    if joint_plan is not None:
        table, _ = _normalized(reduced, joint_plan, heuristic, memory_limit)
        joint_factor = DiscreteFactor(free, table, {v: model.states(v) for v in free})
    return QueryResult(marginals=marginals, log_evidence=log_evidence, evidence=evidence,
                       joint=joint_factor, method="ve")


def log_partition(model: DiscreteModel, evidence: Mapping | None = None,
                  elimination_order: str | Sequence = "min-fill", soft_evidence: Mapping | None = None,
                  memory_limit: int | None = None) -> float:
    r""":math:`\ln \sum_{x \sim e} \prod_f \phi_f(x_f)`: ln Z for a Markov network, ln P(e) for a Bayesian network.

    The elimination is planned first (after the evidence is applied): one
    that would need more than ``memory_limit`` bytes (default 80% of the
    available memory) raises :class:`~credo.errors.ContractionTooLargeError`
    before any table is built.
    """
    evidence = model.check_evidence(evidence)
    order, heuristic = _global_order(model, evidence, elimination_order)
    reduced = ReducedFactors(model, evidence, soft_evidence)
    plan = _plan_pass(reduced, (), order, _cardinalities(model))
    _refuse_missing([plan], model)
    _check_passes(f"variable elimination of {_describe(model, ())}", [plan], _input_entries(reduced, [plan]),
                  heuristic, memory_limit)
    return _normalized(reduced, plan, heuristic, memory_limit)[1]


def mpe(model: DiscreteModel, evidence: Mapping | None = None,
        elimination_order: str | Sequence = "min-fill", soft_evidence: Mapping | None = None,
        memory_limit: int | None = None) -> MPEResult:
    r"""Most probable explanation :math:`\arg\max_x P(x, e)` by max-product elimination.

    The elimination is planned first (after the evidence is applied; the
    argmax tables it keeps for the traceback included): one that would need
    more than ``memory_limit`` bytes (default 80% of the available memory)
    raises :class:`~credo.errors.ContractionTooLargeError` before any table
    is built. An explicit ``elimination_order`` names every unobserved variable.

    Returns
    -------
    MPEResult
        ``.assignment`` (every variable, evidence included) and ``.log_joint``
        :math:`= \ln \max_x P(x, e)` (unnormalized log potential for a Markov network);
        with ``soft_evidence`` (see :func:`variable_elimination`) the likelihoods
        are factors of the maximized product.
    """
    evidence = model.check_evidence(evidence)
    order, heuristic = _global_order(model, evidence, elimination_order)
    factors = list(model.factors) + likelihood_factors(model, soft_evidence)
    labels = [tuple(v for v in f.variables if v not in evidence) for f in factors]
    plan = _plan(labels, (), order, _cardinalities(model), "max")
    _refuse_missing([plan], model)
    inputs = sum(math.prod(model.cardinality(v) for v in scope) for scope in labels)
    _check_passes("the MPE by max-product elimination", [plan], inputs, heuristic, memory_limit)
    tables = []
    with np.errstate(divide="ignore"):
        for factor, scope in zip(factors, labels):
            index = tuple(model.state_index(v, evidence[v]) if v in evidence else slice(None)
                          for v in factor.variables)
            tables.append((np.log(factor.values[index]), scope))
    trace: list = []
    left, _ = _eliminate(tables, plan, _max_sum, on_step=lambda var, scope, arg: trace.append((var, scope, arg)))
    log_joint = float(sum(float(a) for a, _ in left))
    if not np.isfinite(log_joint):
        raise ImpossibleEvidenceError(evidence)
    index = {}
    for var, scope, argmax in reversed(trace):
        index[var] = int(argmax[tuple(index[v] for v in scope)])
    assignment = {v: evidence[v] if v in evidence else model.states(v)[index[v]] for v in model.variables}
    return MPEResult(assignment=assignment, log_joint=log_joint, evidence=evidence)
