r"""Rejection sampling: forward samples, keeping those that agree with the evidence.

Draws :math:`x^{(1..n)} \sim P(x)` by ancestral sampling and keeps the
:math:`n_a` draws with :math:`x_E = e`; they are exact draws from
:math:`P(x \mid e)` (Koller & Friedman 2009, §12.1.2). The marginal estimate
is the accepted frequency,

.. math:: \hat p_s = \frac{1}{n_a} \sum_{a} [x^{(a)}_i = s], \qquad
          \mathrm{se}(\hat p_s) = \sqrt{\hat p_s (1 - \hat p_s) / n_a}

(the binomial standard error given the number accepted; for rare states the
Agresti-Coull version, which stays honest when a state was seen a handful of
times or never, Agresti & Coull 1998). The expected
:math:`n_a` is :math:`n P(e)`, so the method suits evidence that is not rare.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from credo.sampling._common import (
    SamplingError,
    as_generator,
    check_impossible_exactly,
    one_hot,
    prepare_forward_sampling,
    proportion_standard_error,
)
from credo.sampling.forward import BATCH_SIZE, ancestral_draws, batches
from credo.sampling.result import SampledQueryResult

__all__ = ["rejection_sampling"]


def rejection_sampling(model, targets: Sequence | None = None, evidence: Mapping | None = None,
                       num_samples: int = 100_000, seed=None, batch_size: int = BATCH_SIZE,
                       memory_limit: int | None = None) -> SampledQueryResult:
    r"""Posterior marginals by rejection sampling.

    Parameters
    ----------
    model : BayesianNetwork
    targets : variable or sequence of variables, optional
        Default: every variable not in the evidence.
    evidence : mapping, optional
        ``{variable: state}``.
    num_samples : int
        Forward draws to make (the number accepted is about ``num_samples * P(e)``).
    seed : int or numpy.random.Generator, optional
    batch_size : int
        Draws per vectorized pass (memory bound; the result depends on it only
        through the order in which random numbers are used).
    memory_limit : int, optional
        Bytes the compiled CPTs and one batch of draws may take; default 80%
        of the available memory. More raises
        :class:`~credo.errors.ContractionTooLargeError` before compiling.

    Returns
    -------
    SampledQueryResult
        ``.standard_errors`` are binomial, :math:`\sqrt{\hat p (1-\hat p)/n_a}`,
        with the Agresti-Coull adjustment for rare states
        (:math:`\hat p \to (n_a \hat p + 2)/(n_a + 4)`, see
        :func:`~credo.sampling._common.proportion_standard_error`);
        ``.effective_sample_size`` is :math:`n_a`; ``.log_evidence`` is
        :math:`\ln(n_a / n)`; ``.info`` holds ``accepted``, ``acceptance_rate``
        and ``log_evidence_se``.

    Raises
    ------
    ImpossibleEvidenceError
        If :math:`P(e) = 0`: found up front when an observed state has
        probability zero in every row of its CPT, otherwise confirmed by exact
        elimination when no draw is accepted.
    SamplingError
        If no draw was accepted although :math:`P(e) > 0` (rare evidence).
    UnknownVariableError, UnknownStateError
        For unknown targets or evidence.

    References
    ----------
    Koller, D. & Friedman, N. (2009). *Probabilistic Graphical Models*, §12.1.
    Agresti, A. & Coull, B. A. (1998). Approximate is better than "exact" for interval
    estimation of binomial proportions. *The American Statistician* 52(2).

    Examples
    --------
    >>> import credo
    >>> r = credo.query(credo.examples.sprinkler(), ["Rain"], {"WetGrass": "yes"},
    ...                 method="rejection", num_samples=20_000, seed=1)
    >>> abs(r.marginals["Rain"]["yes"] - 0.708) < 4 * r.standard_errors["Rain"]["yes"]
    True
    """
    query, network, num_samples, batch_size = prepare_forward_sampling(
        model, "rejection", targets, evidence, num_samples, batch_size, memory_limit)

    rng = as_generator(seed)
    evidence_positions = np.array([network.position[v] for v in query.evidence_index], dtype=np.int64)
    evidence_states = np.array(list(query.evidence_index.values()), dtype=np.int64)
    counts = {v: np.zeros(model.cardinality(v)) for v in query.free_targets}
    accepted = 0
    for size in batches(num_samples, batch_size):
        x, _ = ancestral_draws(network, size, rng)
        if len(evidence_positions):
            x = x[np.all(x[:, evidence_positions] == evidence_states, axis=1)]
        accepted += len(x)
        for v in query.free_targets:
            counts[v] += np.bincount(x[:, network.position[v]], minlength=len(counts[v]))

    if accepted == 0:
        log_evidence = check_impossible_exactly(model, query.evidence)  # raises ImpossibleEvidenceError
        rate = "" if log_evidence is None else f" (P(e) = {np.exp(log_evidence):.3g})"
        raise SamplingError(f"rejection sampling accepted none of {num_samples} draws for the evidence "
                            f"{query.evidence}{rate}; use more samples, method='lw' or method='gibbs'")

    marginals, errors = {}, {}
    for v in query.targets:
        if v in query.evidence:
            marginals[v] = one_hot(model, v, query.evidence[v])
            errors[v] = dict.fromkeys(model.states(v), 0.0)
            continue
        p = counts[v] / accepted
        se = proportion_standard_error(p * (1 - p) / accepted, p, accepted)
        marginals[v] = dict(zip(model.states(v), map(float, p)))
        errors[v] = dict(zip(model.states(v), map(float, se)))
    rate = accepted / num_samples
    info = {"accepted": accepted, "acceptance_rate": rate,
            "log_evidence_se": float(np.sqrt((1 - rate) / accepted))}
    return SampledQueryResult(marginals=marginals, log_evidence=float(np.log(rate)), evidence=query.evidence,
                              method="rejection", standard_errors=errors, info=info,
                              num_samples=num_samples, effective_sample_size=float(accepted), seed=seed)
