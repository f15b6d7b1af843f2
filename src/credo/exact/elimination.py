"""Variable elimination over a discrete model: marginals and ln P(e) by sum-product, the MPE by max-sum.

The engine (bucket elimination in linear space with a running log-scale,
the log-space rerun after an underflow, max-sum with traceback, and the
plan every pass is checked against before it allocates) is
:mod:`credo.factors.elimination`, which knows factors only. This module adds
what a model brings: validated evidence, barren-node pruning (a Bayesian
network's ancestral set), soft evidence as likelihood factors, one
elimination order per query, and the query's result objects.

Every query is planned before any table is built: the tables each pass
(ln P(e), one per target, the joint) multiplies, after evidence and barren
nodes are removed, and the bucket each variable of the order empties. The
plan gives the largest table and the peak memory, checked against one limit
(:func:`credo.factors.budget.check_memory`, the junction tree's and the
contraction's): a query that would not fit raises
:class:`~credo.errors.ContractionTooLargeError` before allocating.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np

from credo.errors import ImpossibleEvidenceError
from credo.exact.result import MPEResult, QueryResult
from credo.factors import DiscreteFactor
from credo.factors import elimination as engine
from credo.factors.elimination import ReducedFactors
from credo.graphs.ancestry import ancestral_set
from credo.graphs.elimination import interaction_graph
from credo.models.base import DiscreteModel

__all__ = ["variable_elimination", "mpe", "log_partition", "elimination_order", "relevant_variables",
           "interaction_graph", "reduce_model"]


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


def likelihood_factors(model: DiscreteModel, soft_evidence: Mapping | None) -> list[DiscreteFactor]:
    """Soft evidence as one unary factor per variable: Pearl's virtual evidence, an observed
    child whose CPT column is the likelihood, multiplied into the joint (Pearl 1988, sec. 2.2.2)."""
    return [DiscreteFactor([v], lik[0], {v: model.states(v)})
            for v, lik in model.check_soft_evidence(soft_evidence).items()]


def _cardinalities(model: DiscreteModel) -> dict:
    return {v: model.cardinality(v) for v in model.variables}


def reduce_model(model: DiscreteModel, evidence: Mapping, soft_evidence: Mapping | None = None) -> ReducedFactors:
    """The model's factors (and soft-evidence likelihoods) restricted to validated ``evidence``,
    with barren-node pruning for a Bayesian network."""
    return ReducedFactors(model.factors, evidence, _cardinalities(model), likelihood_factors(model, soft_evidence),
                          relevant=None if not model.is_directed else lambda keep: relevant_variables(model, keep))


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
    return engine.greedy_elimination_order(model.factors, _cardinalities(model), evidence, heuristic)


# ------------------------------------------------------------------ queries
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
    order, heuristic = engine.resolve_order(model.factors, _cardinalities(model), evidence, elimination_order)
    reduced = reduce_model(model, evidence, soft_evidence)
    # P(no evidence) = 1 for a Bayesian network; don't let rounded tables say otherwise.
    prior = model.is_directed and not evidence and not reduced.soft
    evidence_plan = None if prior else engine.plan_query(reduced, (), order)
    target_plans = {v: engine.plan_query(reduced, (v,), order, connected_only=True) for v in free}
    joint_plan = engine.plan_query(reduced, tuple(free), order, connected_only=True) \
        if joint and free else None
    passes = [p for p in [evidence_plan, *target_plans.values(), joint_plan] if p is not None]
    engine.refuse_missing(passes, model.variables)
    worst = max(passes, key=lambda p: p.peak, default=None)
    if worst is not None:
        engine.check_passes(f"variable elimination of {_describe(model, worst.keep)}", passes,
                            engine.input_entries(reduced, passes), heuristic, memory_limit)
    log_evidence = 0.0 if prior else \
        engine.normalized(reduced, evidence_plan, _describe(model, ()), heuristic, memory_limit)[1]
    marginals = {}
    for v in targets:
        if v in evidence:
            marginals[v] = {s: float(s == evidence[v]) for s in model.states(v)}
            continue
        table, _ = engine.normalized(reduced, target_plans[v], _describe(model, (v,)), heuristic, memory_limit)
        marginals[v] = dict(zip(model.states(v), map(float, table)))
    joint_factor = None
    if joint_plan is not None:
        table, _ = engine.normalized(reduced, joint_plan, _describe(model, joint_plan.keep), heuristic,
                                     memory_limit)
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
    relevant = None if not model.is_directed else lambda keep: relevant_variables(model, keep)
    return engine.log_partition(model.factors, _cardinalities(model), evidence, elimination_order, memory_limit,
                                _describe(model, ()), likelihood_factors(model, soft_evidence), relevant)


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
    order, heuristic = engine.resolve_order(model.factors, _cardinalities(model), evidence, elimination_order)
    factors = list(model.factors) + likelihood_factors(model, soft_evidence)
    labels = [tuple(v for v in f.variables if v not in evidence) for f in factors]
    plan = engine.plan_elimination(labels, (), order, _cardinalities(model), "max")
    engine.refuse_missing([plan], model.variables)
    inputs = sum(math.prod(model.cardinality(v) for v in scope) for scope in labels)
    engine.check_passes("the MPE by max-product elimination", [plan], inputs, heuristic, memory_limit)
    tables = []
    with np.errstate(divide="ignore"):
        for factor, scope in zip(factors, labels):
            index = tuple(model.state_index(v, evidence[v]) if v in evidence else slice(None)
                          for v in factor.variables)
            tables.append((np.log(factor.values[index]), scope))
    trace: list = []
    left, _ = engine.eliminate(tables, plan, engine.max_sum_step, on_step=lambda var, scope, arg: trace.append((var, scope, arg)))
    log_joint = float(sum(float(a) for a, _ in left))
    if not np.isfinite(log_joint):
        raise ImpossibleEvidenceError(evidence)
    index = {}
    for var, scope, argmax in reversed(trace):
        index[var] = int(argmax[tuple(index[v] for v in scope)])
    assignment = {v: evidence[v] if v in evidence else model.states(v)[index[v]] for v in model.variables}
    return MPEResult(assignment=assignment, log_joint=log_joint, evidence=evidence)
