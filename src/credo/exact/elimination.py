"""Variable elimination: sum-product for marginals and ln P(e), max-product for MPE.

Tables are contracted one bucket at a time (Zhang & Poole 1994; Dechter 1996).
Sum-product runs in linear space with a running log-scale: every
intermediate table is divided by its maximum and the logarithm of that
maximum is accumulated, so ln P(e) of large networks neither underflows nor
loses precision. If the evidence's probability still comes out as zero, the
query is repeated in log space to tell a true zero (raise
:class:`~credo.ImpossibleEvidenceError`) from an underflow. Max-product runs
in log space throughout.
"""

from __future__ import annotations

from typing import Hashable, Iterable, Mapping, Sequence

import networkx as nx
import numpy as np

from credo.errors import ImpossibleEvidenceError, ModelError
from credo.exact.result import MPEResult, QueryResult
from credo.factors import DiscreteFactor
from credo.factors.discrete import align, contract
from credo.graphs.elimination import greedy_order
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
    relevant = set()
    frontier = list(keep) + list(model.inexact_variables)
    while frontier:
        v = frontier.pop()
        if v not in relevant:
            relevant.add(v)
            frontier.extend(model.parents(v))
    return relevant


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
    later products start from well-conditioned numbers.
    """

    def __init__(self, model: DiscreteModel, evidence: Mapping, soft_evidence: Mapping | None = None):
        self.model = model
        self.evidence = evidence
        likelihoods = likelihood_factors(model, soft_evidence)
        self.soft = [f.variables[0] for f in likelihoods]
        self.tables: list[Table] = []
        self.scopes: list[frozenset] = []
        self.log_scales: list[float] = []
        for position, factor in enumerate(list(model.factors) + likelihoods):
            index = tuple(model.state_index(v, evidence[v]) if v in evidence else slice(None)
                          for v in factor.variables)
            array = factor.values[index]
            labels = tuple(v for v in factor.variables if v not in evidence)
            top = float(array.max()) if array.size else 0.0
            if not top > 0:
                raise ImpossibleEvidenceError(
                    evidence, f"the evidence {dict(evidence)} is impossible: it gives probability zero to "
                              f"every entry of the factor over {factor.variables}"
                              + (" (a soft-evidence likelihood)" if position >= len(model.factors) else ""))
            self.tables.append((array / top, labels))
            self.scopes.append(frozenset(factor.variables))
            self.log_scales.append(float(np.log(top)))

    def select(self, keep: Iterable) -> tuple[list[Table], float]:
        """Tables that matter for a query on ``keep``, and their summed log-scale."""
        relevant = relevant_variables(self.model, list(keep) + list(self.evidence) + list(self.soft))
        chosen = [i for i, scope in enumerate(self.scopes) if relevant is None or scope <= relevant]
        return [self.tables[i] for i in chosen], float(sum(self.log_scales[i] for i in chosen))


def _restricted_order(order: Sequence, tables: Sequence[Table], keep: Iterable) -> list:
    """``order`` restricted to the variables of ``tables`` that are not kept."""
    to_eliminate = {v for _, scope in tables for v in scope} - set(keep)
    restricted = [v for v in order if v in to_eliminate]
    if len(restricted) != len(to_eliminate):
        missing = to_eliminate - set(restricted)
        raise ModelError(f"the elimination order misses variables {sorted(map(str, missing))[:10]}")
    return restricted


def elimination_order(model: DiscreteModel, heuristic: str = "min-fill", evidence: Mapping | None = None):
    """Greedy elimination order of the model's interaction graph, observed variables left out.

    Returns an :class:`~credo.graphs.EliminationOrder` with the induced width.
    """
    evidence = model.check_evidence(evidence)
    free = [v for v in model.variables if v not in evidence]
    graph = interaction_graph(free, ([v for v in f.variables if v not in evidence] for f in model.factors))
    return greedy_order(graph, {v: model.cardinality(v) for v in free}, heuristic)


def _global_order(model: DiscreteModel, evidence: Mapping, elimination_order_or_heuristic) -> list:
    """One order for the whole evidence-reduced model, reused (restricted) for each target.

    Restricting an order to a subset of the variables never increases its
    induced width on the corresponding subgraph, and computing it once saves
    a greedy search per target.
    """
    if isinstance(elimination_order_or_heuristic, str):
        return list(elimination_order(model, elimination_order_or_heuristic, evidence).order)
    return list(elimination_order_or_heuristic)


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


def _eliminate(tables: list[Table], order: Sequence, step, on_step=None) -> tuple[list[Table], float]:
    """Bucket elimination of ``order`` with a semiring ``step``; returns leftover tables and log-scale."""
    live = dict(enumerate(tables))
    holding: dict[Hashable, set] = {}
    for i, (_, scope) in live.items():
        for v in scope:
            holding.setdefault(v, set()).add(i)
    log_scale, next_id = 0.0, len(live)
    for var in order:
        ids = sorted(holding.pop(var, ()))
        if not ids:
            continue
        bucket = [live.pop(i) for i in ids]
        for _, scope in bucket:
            for v in scope:
                if v != var:
                    holding[v].difference_update(ids)
        new, extra = step(bucket, var)
        if on_step is not None:
            on_step(var, new[1], extra)
        else:
            log_scale += extra
        live[next_id] = new
        for v in new[1]:
            holding[v].add(next_id)
        next_id += 1
    return list(live.values()), log_scale


# ------------------------------------------------------------------ queries
def _connected_to(tables: Sequence[Table], keep: Iterable) -> list[Table]:
    """The tables joined to ``keep`` through shared (unobserved) variables.

    The product of the other tables does not depend on ``keep``: it only
    rescales the table over ``keep``, so a normalized posterior can leave
    them out. Evidence cuts a network into many such pieces.
    """
    holding: dict[Hashable, list[int]] = {}
    for i, (_, scope) in enumerate(tables):
        for v in scope:
            holding.setdefault(v, []).append(i)
    reached, frontier, chosen = set(keep), list(keep), set()
    while frontier:
        for i in holding.get(frontier.pop(), ()):
            if i not in chosen:
                chosen.add(i)
                for v in tables[i][1]:
                    if v not in reached:
                        reached.add(v)
                        frontier.append(v)
    return [tables[i] for i in sorted(chosen)]


def _joint_over(reduced: ReducedFactors, keep: tuple, order: Sequence, log_space: bool,
                connected_only: bool = False) -> tuple[np.ndarray, float]:
    """Unnormalized table over ``keep`` given the evidence: returns (table, log-scale).

    With ``connected_only`` the tables not connected to ``keep`` are left out:
    the table is then right only up to a constant factor.
    """
    tables, log_scale = reduced.select(keep)
    if connected_only:
        tables = _connected_to(tables, keep)
    if log_space:
        tables = [(np.log(a, where=a > 0, out=np.full(a.shape, -np.inf)), s) for a, s in tables]
    left, extra = _eliminate(tables, _restricted_order(order, tables, keep),
                             _log_sum_exp if log_space else _sum_product)
    log_scale += extra
    if not log_space:
        return contract(left + [(np.ones(()), ())], keep), log_scale
    total = sum((align(a, s, keep) for a, s in left), np.zeros((1,) * len(keep)))
    shape = tuple(reduced.model.cardinality(v) for v in keep)
    return np.broadcast_to(total, shape).copy(), log_scale


def _normalized(reduced: ReducedFactors, keep: tuple, order: Sequence,
                connected_only: bool = False) -> tuple[np.ndarray, float]:
    """Posterior table over ``keep`` and ln of its normalizing constant (ln P(e) for a BN).

    With ``connected_only`` (see :func:`_joint_over`) the posterior is the
    same but the normalizing constant covers only the tables connected to ``keep``.
    """
    table, log_scale = _joint_over(reduced, keep, order, log_space=False, connected_only=connected_only)
    total = table.sum()
    if total > 0 and np.isfinite(total):
        return table / total, float(np.log(total) + log_scale)
    # Either a true zero or an underflow of the linear-space path: decide in log space.
    log_table, log_scale = _joint_over(reduced, keep, order, log_space=True, connected_only=connected_only)
    top = np.max(log_table) if log_table.size else -np.inf
    if not np.isfinite(top):
        raise ImpossibleEvidenceError(reduced.evidence)
    weights = np.exp(log_table - top)
    total = weights.sum()
    return weights / total, float(top + np.log(total) + log_scale)


def variable_elimination(
    model: DiscreteModel,
    targets: Sequence | None = None,
    evidence: Mapping | None = None,
    joint: bool = False,
    elimination_order: str | Sequence = "min-fill",
    soft_evidence: Mapping | None = None,
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
        ``"min-weight"``) or an explicit order.
    soft_evidence : mapping, optional
        ``{variable: likelihood}``: a non-negative vector over the variable's
        states (model order) multiplied into the joint, as if from an observed
        child whose CPT column is the likelihood (virtual evidence; Pearl 1988).
        ``.log_evidence`` is then :math:`\ln \sum_x P(x, e) \prod_v L_v(x_v)`.

    Returns
    -------
    QueryResult
        ``.marginals[var][state]`` and ``.log_evidence`` (for a Markov network,
        :math:`\ln Z` restricted to the evidence).
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
    order = _global_order(model, evidence, elimination_order)
    reduced = ReducedFactors(model, evidence, soft_evidence)
    # P(no evidence) = 1 for a Bayesian network; don't let rounded tables say otherwise.
    log_evidence = 0.0 if model.is_directed and not evidence and not reduced.soft \
        else _normalized(reduced, (), order)[1]
    marginals = {}
    for v in targets:
        if v in evidence:
            marginals[v] = {s: float(s == evidence[v]) for s in model.states(v)}
            continue
        table, _ = _normalized(reduced, (v,), order, connected_only=True)
        marginals[v] = dict(zip(model.states(v), map(float, table)))
    joint_factor = None
    if joint and free:
        table, _ = _normalized(reduced, tuple(free), order, connected_only=True)
        joint_factor = DiscreteFactor(free, table, {v: model.states(v) for v in free})
    return QueryResult(marginals=marginals, log_evidence=log_evidence, evidence=evidence,
                       joint=joint_factor, method="ve")


def log_partition(model: DiscreteModel, evidence: Mapping | None = None,
                  elimination_order: str | Sequence = "min-fill", soft_evidence: Mapping | None = None) -> float:
    r""":math:`\ln \sum_{x \sim e} \prod_f \phi_f(x_f)`: ln Z for a Markov network, ln P(e) for a Bayesian network."""
    evidence = model.check_evidence(evidence)
    order = _global_order(model, evidence, elimination_order)
    return _normalized(ReducedFactors(model, evidence, soft_evidence), (), order)[1]


def mpe(model: DiscreteModel, evidence: Mapping | None = None,
        elimination_order: str | Sequence = "min-fill", soft_evidence: Mapping | None = None) -> MPEResult:
    r"""Most probable explanation :math:`\arg\max_x P(x, e)` by max-product elimination.

    Returns
    -------
    MPEResult
        ``.assignment`` (every variable, evidence included) and ``.log_joint``
        :math:`= \ln \max_x P(x, e)` (unnormalized log potential for a Markov network);
        with ``soft_evidence`` (see :func:`variable_elimination`) the likelihoods
        are factors of the maximized product.
    """
    evidence = model.check_evidence(evidence)
    tables = []
    for factor in list(model.factors) + likelihood_factors(model, soft_evidence):
        reduced = factor.reduce(evidence) if evidence else factor
        tables.append((reduced.log_values, reduced.variables))
    order = _restricted_order(_global_order(model, evidence, elimination_order), tables, ())
    trace: list = []
    left, _ = _eliminate(tables, order, _max_sum, on_step=lambda var, scope, arg: trace.append((var, scope, arg)))
    log_joint = float(sum(float(a) for a, _ in left))
    if not np.isfinite(log_joint):
        raise ImpossibleEvidenceError(evidence)
    index = {}
    for var, scope, argmax in reversed(trace):
        index[var] = int(argmax[tuple(index[v] for v in scope)])
    assignment = {v: evidence[v] if v in evidence else model.states(v)[index[v]] for v in model.variables}
    return MPEResult(assignment=assignment, log_joint=log_joint, evidence=evidence)
