"""The front door of discrete inference: ``credo.query``, ``credo.mpe``, ``credo.elimination_order``."""

from __future__ import annotations

from typing import Mapping, Sequence

import functools
import inspect

from credo.errors import ModelError, UnknownKeywordError, suggestion
from credo.exact import elimination as _ve
from credo.exact.belief_propagation import belief_propagation
from credo.exact.contraction import contraction_query
from credo.exact.junction_tree import JunctionTree, cached_engine, is_batch, junction_tree_query
from credo.exact.result import MPEResult, QueryResult
from credo.graphs.elimination import EliminationOrder
from credo.models.base import DiscreteModel

__all__ = ["query", "mpe", "elimination_order", "METHODS", "SAMPLING_METHODS"]

#: Query methods and the functions behind them.
METHODS = {"ve": _ve.variable_elimination, "jt": junction_tree_query, "bp": belief_propagation,
           "contract": contraction_query}
#: Approximate methods, dispatched to ``credo.sampling`` (imported on first use).
SAMPLING_METHODS = ("gibbs", "lw", "rejection")
#: Methods that take ``soft_evidence``.
SOFT_EVIDENCE_METHODS = ("auto", "jt", "ve")


def query(
    model: DiscreteModel,
    targets: Sequence | None = None,
    evidence: Mapping | None = None,
    method: str = "auto",
    num_samples: int | None = None,
    seed=None,
    soft_evidence: Mapping | None = None,
    evidence_index=None,
    **options,
) -> QueryResult:
    r"""Posterior marginals of ``targets`` given ``evidence``.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork or FactorGraph
    targets : variable or sequence of variables, optional
        Default: every variable not in the evidence.
    evidence : mapping, list of mappings or pandas.DataFrame, optional
        ``{variable: state}``; a value is always a state *name*, matched
        exactly or by ``str`` (with states ``("1", "2", "3")``, ``1`` and
        ``"1"`` name the first state and ``0`` is an error; positions go in
        ``evidence_index``). A list of mappings or a DataFrame (one row
        per case, missing = unobserved) is a batch: the junction tree answers
        it in one vectorized pass and returns a
        :class:`~credo.exact.junction_tree.BatchQueryResult` (``method="auto"``
        or ``"jt"``).
    method : {"auto", "jt", "ve", "bp", "contract", "gibbs", "lw", "rejection"}
        ``"auto"`` uses the junction tree (one calibration gives every
        marginal; the compiled tree is cached per model) unless a joint over
        several targets or an explicit elimination order is given, which
        variable elimination handles directly. ``"contract"`` contracts the
        model as a tensor network and takes every marginal from the gradient
        of ln Z (:mod:`credo.exact.contraction`; cost checked first). ``"bp"`` is (loopy) belief propagation, exact on trees and
        approximate otherwise. ``"gibbs"``, ``"lw"`` (likelihood weighting) and
        ``"rejection"`` sample (see :mod:`credo.sampling`); undirected models
        support only ``"gibbs"``.
    num_samples : int, optional
        Sampling methods only: how many samples (default: the sampler's).
    seed : int or numpy.random.Generator, optional
        Sampling methods only: the same seed gives the same result.
    soft_evidence : mapping, optional
        ``{variable: likelihood}``, soft (virtual) evidence: a non-negative
        vector over the variable's states, in the order of
        ``model.states(variable)``, multiplied into the joint as if from an
        observed child whose CPT column is the likelihood. ``"jt"`` and
        ``"ve"`` (so ``"auto"``) support it; ``.log_evidence`` is then
        :math:`\ln \sum_x P(x, e) \prod_v L_v(x_v)`.
    evidence_index : mapping, list of mappings or pandas.DataFrame, optional
        Evidence by state *position* ``{variable: 0 .. k-1}`` (or a batch of
        such rows), e.g. from ``model.sample(..., as_indices=True)``; it is
        turned into names with :meth:`DiscreteModel.states_from_indices` and
        joins ``evidence`` (a variable may not be in both).
    **options
        Passed to the method (``joint=True``, ``elimination_order="min-fill"``, ...).

    Returns
    -------
    QueryResult
        ``.marginals[var][state]``, ``.log_evidence`` (ln P(e)); for sampling
        methods a :class:`~credo.sampling.SampledQueryResult`, which adds
        ``.standard_errors[var][state]``.

    Raises
    ------
    ImpossibleEvidenceError
        If P(e) = 0.
    UnknownVariableError, UnknownStateError
        Naming the culprit and listing the valid choices.
    TypeError
        If ``num_samples`` or ``seed`` is given to an exact method.
    ModelError
        If ``soft_evidence`` is malformed (wrong length, negative) or given to
        a method other than ``"jt"`` and ``"ve"``.

    Examples
    --------
    >>> import credo
    >>> clinic = credo.examples.clinic()
    >>> round(credo.query(clinic, ["Flu"], {"Cough": "yes"}).marginals["Flu"]["yes"], 3)
    0.211
    """
    evidence = _with_positions(model, evidence, evidence_index)
    if soft_evidence and method not in SOFT_EVIDENCE_METHODS:
        raise ModelError(f"soft evidence is supported by method='jt' and 've' (and 'auto'), not {method!r}")
    if soft_evidence:
        options["soft_evidence"] = soft_evidence
    if method in SAMPLING_METHODS:
        from credo.sampling import SAMPLING_METHODS as samplers  # deferred: keeps `import credo` quick
        from credo.sampling import sample_query

        _check_options(samplers[method], options, method)
        return sample_query(model, targets=targets, evidence=evidence, method=method,
                            num_samples=num_samples, seed=seed, **options)
    if num_samples is not None or seed is not None:
        raise UnknownKeywordError("num_samples/seed", f"num_samples and seed apply only to the sampling methods "
                                                      f"{list(SAMPLING_METHODS)}, not to method={method!r}")
    if method == "auto":
        # A joint over targets, or an explicit (partial) elimination order, is a VE request.
        explicit_order = not isinstance(options.get("elimination_order", "min-fill"), str)
        method = "ve" if (options.get("joint") or explicit_order) and not is_batch(evidence) else "jt"
    if method not in METHODS:
        raise ModelError(f"unknown query method {method!r}; choose one of "
                         f"{sorted(METHODS) + list(SAMPLING_METHODS)} or 'auto'")
    _check_options(METHODS[method], options, method)
    return METHODS[method](model, targets=targets, evidence=evidence, **options)


#: Parameters of the engines that credo.query fills itself.
_FILLED = {"model", "targets", "evidence", "method", "num_samples", "seed"}


@functools.lru_cache(maxsize=None)
def _accepted_keywords(function) -> tuple:
    """The keywords ``function`` takes beyond those credo.query fills (read once per engine)."""
    return tuple(name for name, p in inspect.signature(function).parameters.items()
                 if name not in _FILLED and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))


def _check_options(function, options: Mapping, method: str) -> None:
    """Refuse a keyword that ``function`` (the engine behind ``method``) does not take, naming those it does."""
    if not options:  # the common call: nothing to check, and no signature to read on the hot path
        return
    accepted = list(_accepted_keywords(function))
    for name in options:
        if name not in accepted:
            front = ["targets", "evidence", "method", "num_samples", "seed", "soft_evidence", "evidence_index"]
            raise UnknownKeywordError(name, f"credo.query(method={method!r}) takes no keyword {name!r}"
                                      f"{suggestion(name, front + accepted)}; it takes {front} and, for this "
                                      f"method, {accepted}")


def mpe(model: DiscreteModel, evidence: Mapping | None = None, elimination_order: str | Sequence = "min-fill",
        soft_evidence: Mapping | None = None, evidence_index: Mapping | None = None,
        memory_limit: int | None = None) -> MPEResult:
    """Most probable explanation: ``(assignment, log_joint)`` by max-product elimination.

    ``evidence`` gives states by name and ``evidence_index`` by position, as
    in :func:`query`; a batch (list of mappings or DataFrame) gives a
    :class:`~credo.BatchMPEResult`, one explanation per row. ``soft_evidence`` (``{variable: likelihood}``, as in
    :func:`query`) multiplies each likelihood into the maximized product.
    """
    evidence = _with_positions(model, evidence, evidence_index)
    if is_batch(evidence):  # many rows: one compiled junction tree answers them all
        if not isinstance(elimination_order, str):
            raise ModelError("a batch of evidence takes a heuristic name as elimination_order, not an order")
        engine = cached_engine(model, elimination_order) if memory_limit is None else \
            JunctionTree(model, elimination_order, memory_limit=memory_limit)
        return engine.mpe(evidence, soft_evidence=soft_evidence)
    return _ve.mpe(model, evidence, elimination_order, soft_evidence=soft_evidence, memory_limit=memory_limit)


def _with_positions(model: DiscreteModel, evidence, evidence_index):
    """``evidence`` joined with ``evidence_index`` turned into state names (a batch with a batch, row by row)."""
    if evidence_index is None:
        return evidence
    if not isinstance(model, DiscreteModel):
        raise ModelError(f"expected a discrete model, got {type(model).__name__}")
    named = model.states_from_indices(evidence_index)
    if evidence is None or (isinstance(evidence, Mapping) and not evidence):
        return named
    if isinstance(evidence, Mapping) and isinstance(named, Mapping):
        both = sorted(set(evidence) & set(named), key=str)
        if both:
            raise ModelError(f"{both} are given in both evidence and evidence_index")
        return {**evidence, **named}
    raise ModelError("give a batch of evidence either by name (evidence=) or by position (evidence_index=), "
                     "not both")


def elimination_order(model: DiscreteModel, heuristic: str = "min-fill", evidence: Mapping | None = None) -> EliminationOrder:
    """Greedy elimination order of a model's interaction (moral) graph, with its induced width.

    Parameters
    ----------
    heuristic : {"min-fill", "min-degree", "weighted-min-fill", "min-weight"}
    evidence : mapping, optional
        Observed variables are left out of the graph.

    Examples
    --------
    >>> import credo
    >>> credo.elimination_order(credo.examples.clinic(), "min-fill").induced_width
    2
    """
    return _ve.elimination_order(model, heuristic, evidence)
