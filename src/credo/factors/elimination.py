"""Bucket elimination over a list of factors: the sum-product, log-sum-exp and max-sum engine.

Tables are contracted one bucket at a time (Zhang & Poole 1994; Dechter 1996).
Sum-product runs in linear space with a running log-scale: every
intermediate table is divided by its maximum and the logarithm of that
maximum is accumulated, so a log partition function of many factors neither
underflows nor loses precision. If the total still comes out as zero, the
pass is repeated in log space to tell a true zero (raise
:class:`~credo.ImpossibleEvidenceError`) from an underflow. Max-sum runs in
log space throughout.

Every pass is planned from the scopes alone before any table is built (the
bucket each variable of the order empties, the largest table, the peak
memory) and checked against one limit (:func:`credo.factors.budget.check_memory`).

This module knows factors, cardinalities and evidence, never a model: the
models' own ``log_partition`` and :mod:`credo.exact.elimination` (which adds
barren-node pruning, soft evidence and the query API) both run on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Hashable, Iterable, Mapping, Sequence

import numpy as np

from credo.errors import ImpossibleEvidenceError, ModelError
from credo.factors.budget import ITEMSIZE, check_memory
from credo.factors.discrete import DiscreteFactor, align, contract, state_index
from credo.graphs.elimination import check_order, greedy_order, interaction_graph

__all__ = ["Table", "ReducedFactors", "EliminationPass", "plan_elimination", "plan_query", "refuse_missing",
           "check_passes", "eliminate", "sum_product_step", "log_sum_exp_step", "max_sum_step", "normalized",
           "input_entries", "greedy_elimination_order", "resolve_order", "log_partition"]

Table = tuple[np.ndarray, tuple]  # (array, labels), one axis per label


class ReducedFactors:
    """Factors restricted to the evidence, once per query.

    Each table is scaled to a maximum of one (its log-scale kept aside), so
    later products start from well-conditioned numbers. Construction only
    slices (views, no copies) and checks that no factor is zero on the
    evidence; the scaled copies are made on first use (:meth:`table`), after
    the caller has checked that the plan fits in memory.

    Parameters
    ----------
    factors : sequence of DiscreteFactor
    evidence : mapping
        ``{variable: state name}``, already validated.
    cardinality : mapping
        ``{variable: number of states}`` for every variable, in the model's order
        (the order ties are broken in).
    likelihoods : sequence of DiscreteFactor, optional
        Soft-evidence likelihoods, multiplied in after ``factors``.
    relevant : callable, optional
        ``relevant(variables) -> set or None``: the variables whose factors can
        affect a query on ``variables`` (None: all of them).
    """

    def __init__(self, factors: Sequence[DiscreteFactor], evidence: Mapping, cardinality: Mapping,
                 likelihoods: Sequence[DiscreteFactor] = (), relevant: Callable | None = None):
        self.evidence = evidence
        self.cardinality = cardinality
        self.soft = [f.variables[0] for f in likelihoods]
        self._relevant = relevant
        self.labels: list[tuple] = []
        self.scopes: list[frozenset] = []
        self.log_scales: list[float] = []
        self._views: list[np.ndarray] = []
        self._tops: list[float] = []
        self._scaled: dict[int, Table] = {}
        factors = list(factors)
        positions: dict = {}  # each observed state's position, looked up once per variable
        for position, factor in enumerate(factors + list(likelihoods)):
            for v in factor.variables:
                if v in evidence and v not in positions:
                    positions[v] = state_index(v, evidence[v], factor.states(v))
            index = tuple(positions[v] if v in evidence else slice(None) for v in factor.variables)
            array = factor.values[index]  # basic indexing: a view
            top = float(array.max()) if array.size else 0.0
            if not top > 0:
                raise ImpossibleEvidenceError(
                    evidence, f"the evidence {dict(evidence)} is impossible: it gives probability zero to "
                              f"every entry of the factor over {factor.variables}"
                              + (" (a soft-evidence likelihood)" if position >= len(factors) else ""))
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

    def scaled_entries(self) -> int:
        """Entries of the scaled copies made so far."""
        return sum(a.size for a, _ in self._scaled.values())

    def chosen(self, keep: Iterable) -> list[int]:
        """Indices of the tables that matter for a query on ``keep``."""
        relevant = None if self._relevant is None else \
            self._relevant(list(keep) + list(self.evidence) + list(self.soft))
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
class EliminationPass:
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


def plan_elimination(scopes: Sequence[tuple], keep: tuple, order: Sequence, cardinality: Mapping, semiring: str,
          ids: list | None = None) -> EliminationPass:
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
    return EliminationPass(tuple(keep), list(range(len(scopes))) if ids is None else ids, steps, largest, peak, width,
                 semiring, missing)


def refuse_missing(passes: Sequence[EliminationPass], variables: Iterable) -> None:
    """Refuse an explicit order that does not name every variable a pass sums out (``variables`` ranks them)."""
    missing = {v for p in passes for v in p.missing}
    if missing:
        rank = {v: i for i, v in enumerate(variables)}
        names = sorted(missing, key=lambda v: rank.get(v, len(rank)))
        shown = ", ".join(map(repr, names[:20])) + (f", ... ({len(names) - 20} more)" if len(names) > 20 else "")
        raise ModelError(f"the elimination order misses {len(names)} variable(s) that the query sums out: "
                         f"[{shown}]; an explicit order names every unobserved variable (barren ones, with no "
                         f"target or evidence below them, may be left out)")


def check_passes(what: str, passes: Sequence[EliminationPass], inputs: int, heuristic: str,
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


# --------------------------------------------------------------- semirings
def _union(tables: Sequence[Table]) -> tuple:
    return tuple(dict.fromkeys(v for _, scope in tables for v in scope))


def sum_product_step(tables: Sequence[Table], var) -> tuple[Table, float]:
    union = _union(tables)
    kept = tuple(v for v in union if v != var)
    out = contract(tables, kept)
    top = float(out.max()) if out.size else 0.0
    if top > 0:
        return (out / top, kept), float(np.log(top))
    return (out, kept), 0.0


def log_sum_exp_step(tables: Sequence[Table], var) -> tuple[Table, float]:
    union = _union(tables)
    total = sum(align(a, s, union) for a, s in tables)
    axis = union.index(var)
    top = np.max(total, axis=axis, keepdims=True)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(total - safe), axis=axis)) + np.squeeze(safe, axis)
    return (out, union[:axis] + union[axis + 1:]), 0.0


def max_sum_step(tables: Sequence[Table], var) -> tuple[Table, np.ndarray]:
    union = _union(tables)
    total = sum(align(a, s, union) for a, s in tables)
    full = np.broadcast_to(total, total.shape)
    axis = union.index(var)
    return (np.max(full, axis=axis), union[:axis] + union[axis + 1:]), np.argmax(full, axis=axis)


def eliminate(tables: list[Table], plan: EliminationPass, step, on_step=None) -> tuple[list[Table], float]:
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


# ------------------------------------------------------------------ passes
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


def plan_query(reduced: ReducedFactors, keep: tuple, order: Sequence,
               connected_only: bool = False, semiring: str = "sum") -> EliminationPass:
    """The plan of one query on ``keep``: its tables (relevant, optionally connected to ``keep``) and steps.

    With ``connected_only`` the tables not connected to ``keep`` are left out:
    the table over ``keep`` is then right only up to a constant factor.
    """
    ids = reduced.chosen(keep)
    if connected_only:
        ids = _connected_ids(reduced, ids, keep)
    return plan_elimination([reduced.labels[i] for i in ids], keep, order, reduced.cardinality, semiring, ids)


def _joint_over(reduced: ReducedFactors, plan: EliminationPass, log_space: bool) -> tuple[np.ndarray, float]:
    """Unnormalized table over ``plan.keep`` given the evidence: returns (table, log-scale)."""
    keep = plan.keep
    tables = [reduced.table(i) for i in plan.ids]
    log_scale = float(sum(reduced.log_scales[i] for i in plan.ids))
    if log_space:
        tables = [(np.log(a, where=a > 0, out=np.full(a.shape, -np.inf)), s) for a, s in tables]
    left, extra = eliminate(tables, plan, log_sum_exp_step if log_space else sum_product_step)
    log_scale += extra
    if not log_space:
        return contract(left + [(np.ones(()), ())], keep), log_scale
    total = sum((align(a, s, keep) for a, s in left), np.zeros((1,) * len(keep)))
    shape = tuple(reduced.cardinality[v] for v in keep)
    return np.broadcast_to(total, shape).copy(), log_scale


def normalized(reduced: ReducedFactors, plan: EliminationPass, what: str, heuristic: str = "explicit",
               memory_limit: int | None = None) -> tuple[np.ndarray, float]:
    """Posterior table over ``plan.keep`` and ln of its normalizing constant (ln P(e) for a BN).

    With a ``connected_only`` plan (see :func:`plan_query`) the posterior is
    the same but the normalizing constant covers only the tables connected to
    ``keep``. The linear-space plan has been checked by the caller; the
    log-space rerun (after an underflow) is checked here, before it allocates.
    """
    table, log_scale = _joint_over(reduced, plan, log_space=False)
    total = table.sum()
    if total > 0 and np.isfinite(total):
        return table / total, float(np.log(total) + log_scale)
    # Either a true zero or an underflow of the linear-space path: decide in log space.
    in_log = plan_elimination([reduced.labels[i] for i in plan.ids], plan.keep, [var for var, _ in plan.steps],
                              reduced.cardinality, "logsum", plan.ids)
    inputs = reduced.scaled_entries() + sum(reduced.entries(i) for i in plan.ids)
    check_passes(f"variable elimination in log space of {what}", [in_log], inputs, heuristic, memory_limit)
    log_table, log_scale = _joint_over(reduced, in_log, log_space=True)
    top = np.max(log_table) if log_table.size else -np.inf
    if not np.isfinite(top):
        raise ImpossibleEvidenceError(reduced.evidence)
    weights = np.exp(log_table - top)
    total = weights.sum()
    return weights / total, float(top + np.log(total) + log_scale)


def input_entries(reduced: ReducedFactors, passes: Iterable[EliminationPass]) -> int:
    """Entries of the scaled input tables the passes use (each copied once)."""
    return sum(reduced.entries(i) for i in set().union(*(p.ids for p in passes)))


# ------------------------------------------------------------------ orders
def greedy_elimination_order(factors: Iterable[DiscreteFactor], cardinality: Mapping, evidence: Mapping,
                             heuristic: str = "min-fill"):
    """Greedy elimination order of the factors' interaction graph, observed variables left out.

    Returns an :class:`~credo.graphs.EliminationOrder` with the induced width;
    ties are broken in ``cardinality``'s order.
    """
    free = [v for v in cardinality if v not in evidence]
    graph = interaction_graph(free, ([v for v in f.variables if v not in evidence] for f in factors))
    return greedy_order(graph, {v: cardinality[v] for v in free}, heuristic)


def resolve_order(factors: Iterable[DiscreteFactor], cardinality: Mapping, evidence: Mapping,
                  order_or_heuristic) -> tuple[list, str]:
    """One order for the whole evidence-reduced product, reused (restricted) for each pass, and its name.

    Restricting an order to a subset of the variables never increases its
    induced width on the corresponding subgraph, and computing it once saves
    a greedy search per target. An explicit order is checked first: an
    unknown name is an :class:`~credo.errors.UnknownVariableError`, a
    repeated one a :class:`~credo.errors.ModelError`.
    """
    if isinstance(order_or_heuristic, str):
        return list(greedy_elimination_order(factors, cardinality, evidence, order_or_heuristic).order), \
            order_or_heuristic
    return list(check_order(order_or_heuristic, cardinality)), "explicit"


def log_partition(factors: Sequence[DiscreteFactor], cardinality: Mapping, evidence: Mapping | None = None,
                  order: str | Sequence = "min-fill", memory_limit: int | None = None, what: str = "ln Z",
                  likelihoods: Sequence[DiscreteFactor] = (), relevant: Callable | None = None) -> float:
    r""":math:`\ln \sum_{x \sim e} \prod_f \phi_f(x_f) \prod_v L_v(x_v)` by sum-product elimination.

    Parameters
    ----------
    factors : sequence of DiscreteFactor
    cardinality : mapping
        ``{variable: number of states}`` for every variable (its order breaks ties).
    evidence : mapping, optional
        ``{variable: state name}``, already validated.
    order : str or sequence
        A heuristic name or an explicit order (see :func:`resolve_order`).
    memory_limit : int, optional
        Bytes the pass may use; default 80% of the available memory.
    what : str
        What is computed, for the refusal's message.
    likelihoods, relevant
        As in :class:`ReducedFactors`.

    Raises
    ------
    ContractionTooLargeError
        Before any table is built, if the planned elimination would not fit.
    ImpossibleEvidenceError
        If the sum is zero.
    """
    evidence = dict(evidence or {})
    order, heuristic = resolve_order(factors, cardinality, evidence, order)
    reduced = ReducedFactors(factors, evidence, cardinality, likelihoods, relevant)
    plan = plan_query(reduced, (), order)
    refuse_missing([plan], cardinality)
    check_passes(f"variable elimination of {what}", [plan], input_entries(reduced, [plan]), heuristic, memory_limit)
    return normalized(reduced, plan, what, heuristic, memory_limit)[1]
