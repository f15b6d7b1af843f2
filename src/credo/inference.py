"""The front door of discrete inference: ``credo.query``, ``credo.mpe``, ``credo.elimination_order``."""

from __future__ import annotations

from typing import Mapping, Sequence

from credo.errors import ModelError
from credo.exact import elimination as _ve
from credo.exact.belief_propagation import belief_propagation
from credo.exact.contraction import contraction_query
from credo.exact.junction_tree import _is_batch, junction_tree_query
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
    **options,
) -> QueryResult:
    r"""Posterior marginals of ``targets`` given ``evidence``.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork or FactorGraph
    targets : variable or sequence of variables, optional
        Default: every variable not in the evidence.
    evidence : mapping, list of mappings or pandas.DataFrame, optional
        ``{variable: state}``; states by name (or by position for models
        whose states are integers). A list of mappings or a DataFrame (one row
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
    if soft_evidence and method not in SOFT_EVIDENCE_METHODS:
        raise ModelError(f"soft evidence is supported by method='jt' and 've' (and 'auto'), not {method!r}")
    if soft_evidence:
        options["soft_evidence"] = soft_evidence
    if method in SAMPLING_METHODS:
        from credo.sampling import sample_query  # deferred: keeps `import credo` (and the CLI) quick

        return sample_query(model, targets=targets, evidence=evidence, method=method,
                            num_samples=num_samples, seed=seed, **options)
    if num_samples is not None or seed is not None:
        raise TypeError(f"num_samples and seed apply only to the sampling methods {list(SAMPLING_METHODS)}, "
                        f"not to method={method!r}")
    if method == "auto":
        # A joint over targets, or an explicit (partial) elimination order, is a VE request.
        explicit_order = not isinstance(options.get("elimination_order", "min-fill"), str)
        method = "ve" if (options.get("joint") or explicit_order) and not _is_batch(evidence) else "jt"
    if method not in METHODS:
        raise ModelError(f"unknown query method {method!r}; choose one of "
                         f"{sorted(METHODS) + list(SAMPLING_METHODS)} or 'auto'")
    return METHODS[method](model, targets=targets, evidence=evidence, **options)


def mpe(model: DiscreteModel, evidence: Mapping | None = None, elimination_order: str | Sequence = "min-fill",
        soft_evidence: Mapping | None = None) -> MPEResult:
    """Most probable explanation: ``(assignment, log_joint)`` by max-product elimination.

    ``soft_evidence`` (``{variable: likelihood}``, as in :func:`query`) multiplies
    each likelihood into the maximized product.
    """
    return _ve.mpe(model, evidence, elimination_order, soft_evidence=soft_evidence)


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
