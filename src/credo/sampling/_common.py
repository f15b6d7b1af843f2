"""Shared pieces of the discrete samplers: warnings, query set-up, compiled networks, error bars."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from credo.errors import ArgumentError, CredoError, ImpossibleEvidenceError, ModelError
from credo import graphs
from credo.factors.budget import ITEMSIZE, check_memory
from credo.models.base import DiscreteModel

__all__ = ["SamplingWarning", "SamplingError", "Query", "prepare_query", "CompiledNetwork",
           "needed_variables", "proportion_standard_error", "check_impossible_exactly", "as_generator"]


class SamplingWarning(UserWarning):
    """A sampler's estimates (or their standard errors) are likely to be unreliable.

    Raised as a warning, not an error: likelihood weighting whose effective
    sample size collapsed, or Gibbs sampling on a model with zero
    probabilities (deterministic relations) that can make the chain reducible.
    """


class SamplingError(CredoError, RuntimeError):
    """A sampler produced no usable sample although the evidence is possible.

    For example rejection sampling accepted no draw because :math:`P(e)` is
    positive but far smaller than ``1 / num_samples``. Use more samples or
    another method (likelihood weighting, Gibbs).
    """


def as_generator(seed) -> np.random.Generator:
    """``numpy.random.default_rng(seed)``, passing a Generator through unchanged."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def check_count(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int of at least ``minimum`` (booleans and fractions refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ArgumentError(name, f"must be an integer >= {minimum}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Query:
    """A validated query: canonical evidence, its state indices, and the target list."""

    evidence: dict          # {variable: canonical state name}
    evidence_index: dict    # {variable: state index}
    targets: list           # every target, evidence variables included
    free_targets: list      # the targets that are not observed


def prepare_query(model: DiscreteModel, targets, evidence: Mapping | None) -> Query:
    """Validate ``targets`` and ``evidence`` as the exact engines do (same typed errors)."""
    evidence = model.check_evidence(evidence)
    evidence_index = {v: model.state_index(v, s) for v, s in evidence.items()}
    if targets is None:
        targets = [v for v in model.variables if v not in evidence]
    elif isinstance(targets, (str, bytes)) or not isinstance(targets, Iterable):
        targets = [targets]
    targets = list(dict.fromkeys(targets))
    for v in targets:
        model.states(v)  # UnknownVariableError names the culprit
    return Query(evidence, evidence_index, targets, [v for v in targets if v not in evidence])


def needed_variables(model, query: Query) -> set:
    """The query's free targets and evidence variables with all their ancestors, in a Bayesian network.

    The other (barren) nodes sum out of :math:`P(x_{targets}, e)`, so a
    sampler never needs to draw them.
    """
    return graphs.ancestral_set(model.parents, query.free_targets + list(query.evidence))


class CompiledNetwork:
    """A Bayesian network (or its ancestral part) as flat numpy arrays for vectorized sampling.

    Variables are numbered ``0..V-1`` in topological order. For variable ``i``
    with parents ``pa(i)`` the row of its CPT for a batch of parent states
    ``x[:, pa(i)]`` is ``flat = x[:, pa(i)] @ strides[i]``.

    Attributes
    ----------
    variables : list
        Names, parents first.
    parents : list of ndarray of int
        Parent positions of each variable.
    strides : list of ndarray of int
        Row-major strides that turn parent states into a CPT row number.
    tables : list of ndarray, shape (rows, k)
        The CPT as given (used for likelihood weights).
    cumulative : list of ndarray, shape (rows, k)
        Cumulative rows scaled so that each row ends exactly at 1.0 (used to
        draw): with ``u ~ U[0, 1)`` the state ``sum(u >= cumulative[row])``
        has probability ``table[row] / table[row].sum()``, and a state of
        probability zero is never drawn.
    """

    def __init__(self, model, variables: Iterable | None = None):
        keep = set(model.variables if variables is None else variables)
        self.variables = [v for v in model.topological_order if v in keep]
        position = {v: i for i, v in enumerate(self.variables)}
        self.position = position
        self.cardinality = np.array([model.cardinality(v) for v in self.variables], dtype=np.int64)
        self.parents, self.strides, self.tables, self.cumulative = [], [], [], []
        for v in self.variables:
            cpd = model.cpd(v)
            shape = cpd.table.shape
            self.parents.append(np.array([position[p] for p in cpd.parents], dtype=np.int64))
            strides = np.ones(len(cpd.parents), dtype=np.int64)
            for j in range(len(cpd.parents) - 2, -1, -1):
                strides[j] = strides[j + 1] * shape[j + 1]
            self.strides.append(strides)
            table = np.ascontiguousarray(cpd.table.reshape(-1, shape[-1]), dtype=np.float64)
            self.tables.append(table)
            self.cumulative.append(cumulative_rows(table))

    def rows(self, i: int, x: np.ndarray) -> np.ndarray:
        """CPT row number of variable ``i`` for every row of the state array ``x`` (n, V)."""
        if len(self.parents[i]) == 0:
            return np.zeros(len(x), dtype=np.int64)
        return x[:, self.parents[i]] @ self.strides[i]


def cumulative_rows(table: np.ndarray) -> np.ndarray:
    """Row-wise cumulative sums divided by the row total, so each row ends at exactly 1.0.

    Rows that are all zero stay all zero (they are never used by a sampler
    that only visits states of positive probability).
    """
    cumulative = np.cumsum(table, axis=-1)
    total = cumulative[..., -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(total > 0, cumulative / np.where(total > 0, total, 1.0), 0.0)
    scaled[..., -1] = np.where(total[..., 0] > 0, 1.0, 0.0)
    return scaled


def draw_from_cumulative(cumulative: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw: ``cumulative`` (..., k) rows ending at 1.0, ``u`` (...) in [0, 1)."""
    return (u[..., None] >= cumulative).sum(axis=-1)


def proportion_standard_error(variance: np.ndarray, estimate: np.ndarray, n_eff: float) -> np.ndarray:
    r"""Standard errors of estimated probabilities: :math:`\sqrt{\max(v, \tilde p (1 - \tilde p) / (n + 4))}`.

    ``variance`` is the method's own variance estimate :math:`v`; the second
    term is the Agresti-Coull binomial variance of ``n_eff`` independent draws
    with :math:`\tilde p = (\hat p\, n + 2) / (n + 4)` (Agresti & Coull 1998).
    It matters only for rare states: the plug-in binomial error
    :math:`\sqrt{\hat p(1-\hat p)/n}` is too small when a state was seen a
    handful of times and exactly zero when it was never (or always) seen,
    whereas a probability estimated from :math:`n` draws is only known to
    about :math:`1/n`. For common states the two agree to :math:`O(1/n)`.

    Parameters
    ----------
    variance, estimate : ndarray, shape (k,)
    n_eff : float or ndarray, shape (k,)
        Independent-draw equivalent of the sample (accepted draws, Kish ESS,
        or retained Gibbs draws).
    """
    estimate = np.clip(estimate, 0.0, 1.0)
    adjusted = (estimate * n_eff + 2.0) / (n_eff + 4.0)
    binomial = adjusted * (1.0 - adjusted) / (n_eff + 4.0)
    return np.sqrt(np.maximum(np.maximum(variance, 0.0), binomial))


def check_impossible_exactly(model, evidence: dict) -> float | None:
    """``ln P(e)`` by exact elimination over the evidence's ancestors; raises if P(e) = 0.

    Used after a sampler found no sample consistent with the evidence, to tell
    impossible evidence (:class:`~credo.ImpossibleEvidenceError`) from merely
    rare evidence. Returns None when the exact computation is out of reach
    (memory), in which case the caller decides.
    """
    from credo.exact.elimination import log_partition

    try:
        return log_partition(model, evidence)
    except MemoryError:  # pragma: no cover - a model too large for exact inference
        return None


#: Table-sized temporaries while one CPT's cumulative rows are made (cumsum, division, where).
_CUMULATIVE_COPIES = 3


def check_network_memory(model, variables: Sequence, what: str, memory_limit: int | None, rows: int = 0,
                         copies: int = 1, advice: str | None = None) -> None:
    """Refuse, before compiling, what a sampler would need: the cumulative copy of every CPT of
    ``variables`` (plus the temporaries of the largest) and ``copies`` arrays of ``rows`` int64 states
    over them.

    Raises :class:`~credo.errors.ContractionTooLargeError`, as the exact engines do, with one limit.
    """
    sizes = [int(model.cpd(v).table.size) for v in variables]
    largest_cpt = max(sizes, default=1)
    states = int(rows) * len(variables)
    needed = ITEMSIZE * (sum(sizes) + _CUMULATIVE_COPIES * largest_cpt + copies * states)
    check_memory(what, needed, max(largest_cpt, states), memory_limit, advice)


#: State arrays of one batch alive at once: the draws, CPT rows and cumulative rows looked up, a filtered copy.
_BATCH_COPIES = 3


def zero_column_evidence(network: CompiledNetwork, evidence_index: dict) -> list:
    """Evidence variables whose observed state has probability zero in every row of their CPT."""
    culprits = []
    for v, s in evidence_index.items():
        i = network.position.get(v)
        if i is not None and not np.any(network.tables[i][:, s] > 0):
            culprits.append(v)
    return culprits


def prepare_forward_sampling(model, method: str, targets, evidence, num_samples, batch_size,
                             memory_limit: int | None = None):
    """Validate arguments and compile the evidence's ancestral network for forward sampling.

    Shared by rejection sampling and likelihood weighting. The compiled CPTs
    and one batch of draws are checked against the memory limit first (see
    :func:`check_network_memory`).

    Returns
    -------
    query, network, num_samples, batch_size
    """
    require_directed(model, method)
    num_samples = check_count("num_samples", num_samples)
    batch_size = check_count("batch_size", batch_size)
    query = prepare_query(model, targets, evidence)
    keep = needed_variables(model, query)
    check_network_memory(model, [v for v in model.variables if v in keep],
                         f"the {method} sampler ({len(keep)} variables, batches of {min(batch_size, num_samples)} draws)",
                         memory_limit, min(batch_size, num_samples), _BATCH_COPIES,
                         advice="Use a smaller batch_size (draws per vectorized pass), or give a larger "
                                "memory_limit if the memory is there.")
    network = CompiledNetwork(model, keep)
    raise_if_structurally_impossible(network, query.evidence, query.evidence_index)
    return query, network, num_samples, batch_size


def raise_if_structurally_impossible(network: CompiledNetwork, evidence: dict, evidence_index: dict) -> None:
    """Cheap exact test: an observed state that no parent configuration can produce."""
    culprits = zero_column_evidence(network, evidence_index)
    if culprits:
        named = ", ".join(f"{v}={evidence[v]!r}" for v in culprits)
        raise ImpossibleEvidenceError(
            evidence, f"the evidence {evidence} is impossible: {named} has probability zero "
                      f"for every configuration of its parents")


def require_directed(model, method: str) -> None:
    if not getattr(model, "is_directed", False):
        raise ModelError(f"{method} sampling needs a BayesianNetwork (it samples along the arrows); "
                         f"got {type(model).__name__}. Use method='gibbs' for undirected models.")


def one_hot(model, variable, state) -> dict:
    return {s: float(s == state) for s in model.states(variable)}


def names_of(values: Sequence, limit: int = 5) -> str:
    values = list(values)
    shown = ", ".join(map(repr, values[:limit]))
    return shown + (f", ... ({len(values) - limit} more)" if len(values) > limit else "")


def user_stacklevel() -> int:
    """``stacklevel`` for ``warnings.warn`` that points at the first caller outside credo."""
    import sys

    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("credo."):
        frame = frame.f_back
        level += 1
    return level
