r"""Likelihood weighting: forward samples with the evidence clamped, weighted by its likelihood.

Evidence variables are set to their observed states instead of drawn; every
other variable is drawn from its CPT given its (drawn or clamped) parents,
and each sample carries the weight

.. math:: w = \prod_{i \in E} P(x_i = e_i \mid \mathrm{pa}_i),

so that :math:`E_q[w\,f(x)] = P(e)\,E[f(x) \mid e]` (Koller & Friedman 2009,
§12.2). Marginals are self-normalized importance-sampling estimates,

.. math:: \hat p_s = \frac{\sum_j w_j [x^{(j)}_i = s]}{\sum_j w_j}, \qquad
          \mathrm{se}(\hat p_s)^2 = \frac{\sum_j w_j^2 ([x^{(j)}_i = s] - \hat p_s)^2}{(\sum_j w_j)^2}

(the delta-method variance of a ratio estimator), and Kish's effective
sample size :math:`(\sum_j w_j)^2 / \sum_j w_j^2` measures how many
equally-weighted samples they are worth. When a few weights dominate, the
effective sample size collapses and so does the reliability of both the
estimate and its standard error: a :class:`SamplingWarning` says so.
"""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence

import numpy as np

from credo.errors import ImpossibleEvidenceError, describe_evidence
from credo.sampling._common import (
    SamplingError,
    SamplingWarning,
    as_generator,
    check_impossible_exactly,
    one_hot,
    prepare_forward_sampling,
    proportion_standard_error,
    user_stacklevel,
)
from credo.sampling.forward import BATCH_SIZE, ancestral_draws, batches
from credo.sampling.result import SampledQueryResult

__all__ = ["likelihood_weighting", "MIN_ESS", "MIN_ESS_FRACTION"]

#: Warn when Kish's effective sample size is below this many samples ...
MIN_ESS = 100
#: ... or below this fraction of the samples drawn.
MIN_ESS_FRACTION = 0.01


class _WeightedCounts:
    """Running sums of w, w^2, w [x=s] and w^2 [x=s], rescaled as the largest log-weight grows."""

    def __init__(self, cardinalities: dict):
        self.log_scale = -np.inf
        self.sum_w = 0.0
        self.sum_w2 = 0.0
        self.by_state = {v: np.zeros(k) for v, k in cardinalities.items()}
        self.by_state2 = {v: np.zeros(k) for v, k in cardinalities.items()}

    def add(self, log_weights: np.ndarray, columns: dict) -> None:
        top = float(np.max(log_weights)) if len(log_weights) else -np.inf
        if top == -np.inf:
            return
        if top > self.log_scale:
            shrink = np.exp(self.log_scale - top) if np.isfinite(self.log_scale) else 0.0
            self.sum_w *= shrink
            self.sum_w2 *= shrink ** 2
            for v in self.by_state:
                self.by_state[v] *= shrink
                self.by_state2[v] *= shrink ** 2
            self.log_scale = top
        w = np.exp(log_weights - self.log_scale)
        w2 = w * w
        self.sum_w += float(w.sum())
        self.sum_w2 += float(w2.sum())
        for v, column in columns.items():
            k = len(self.by_state[v])
            self.by_state[v] += np.bincount(column, weights=w, minlength=k)
            self.by_state2[v] += np.bincount(column, weights=w2, minlength=k)


def likelihood_weighting(model, targets: Sequence | None = None, evidence: Mapping | None = None,
                         num_samples: int = 100_000, seed=None, batch_size: int = BATCH_SIZE,
                         memory_limit: int | None = None) -> SampledQueryResult:
    r"""Posterior marginals by likelihood weighting.

    Parameters
    ----------
    model : BayesianNetwork
    targets : variable or sequence of variables, optional
        Default: every variable not in the evidence.
    evidence : mapping, optional
        ``{variable: state}``.
    num_samples : int
        Weighted draws to make.
    seed : int or numpy.random.Generator, optional
    batch_size : int
        Draws per vectorized pass.
    memory_limit : int, optional
        Bytes the compiled CPTs and one batch of draws may take; default 80%
        of the available memory. More raises
        :class:`~credo.errors.ContractionTooLargeError` before compiling.

    Returns
    -------
    SampledQueryResult
        ``.standard_errors``: the delta-method standard errors above, but at
        least the Agresti-Coull binomial error of ESS independent draws (which
        matters only for rare states, see
        :func:`~credo.sampling._common.proportion_standard_error`);
        ``.effective_sample_size``: Kish's ESS; ``.log_evidence``:
        :math:`\ln \frac{1}{n}\sum_j w_j`, an unbiased estimate of
        :math:`P(e)` on the log scale; ``.info``: ``log_evidence_se``
        (delta method, :math:`\sqrt{1/\mathrm{ESS} - 1/n}`) and ``ess_fraction``.

    Warns
    -----
    SamplingWarning
        When the ESS is below ``max(MIN_ESS, MIN_ESS_FRACTION * num_samples)``:
        the weights are dominated by a few samples (evidence far from what the
        prior predicts, typically on many or deep evidence variables).

    Raises
    ------
    ImpossibleEvidenceError
        If :math:`P(e) = 0` (an observed state impossible for every parent
        configuration, or every weight zero and exact elimination agrees).
    SamplingError
        If every weight is zero although :math:`P(e) > 0`.
    UnknownVariableError, UnknownStateError

    References
    ----------
    Koller, D. & Friedman, N. (2009). *Probabilistic Graphical Models*, §12.2.
    Kish, L. (1965). *Survey Sampling*. Wiley.

    Examples
    --------
    >>> import credo
    >>> r = credo.query(credo.examples.sprinkler(), ["Rain"], {"WetGrass": "yes"},
    ...                 method="lw", num_samples=20_000, seed=1)
    >>> abs(r.marginals["Rain"]["yes"] - 0.708) < 4 * r.standard_errors["Rain"]["yes"]
    True
    """
    query, network, num_samples, batch_size = prepare_forward_sampling(
        model, "likelihood-weighting", targets, evidence, num_samples, batch_size, memory_limit)

    rng = as_generator(seed)
    clamp = {network.position[v]: s for v, s in query.evidence_index.items()}
    sums = _WeightedCounts({v: model.cardinality(v) for v in query.free_targets})
    for size in batches(num_samples, batch_size):
        x, log_weights = ancestral_draws(network, size, rng, clamp)
        if log_weights is None:
            log_weights = np.zeros(size)
        sums.add(log_weights, {v: x[:, network.position[v]] for v in query.free_targets})

    if sums.sum_w == 0:
        log_evidence = check_impossible_exactly(model, query.evidence)
        if log_evidence is not None and not np.isfinite(log_evidence):  # pragma: no cover - raised above
            raise ImpossibleEvidenceError(query.evidence)
        where = "" if log_evidence is None else f" (P(e) = {np.exp(log_evidence):.3g})"
        raise SamplingError(f"likelihood weighting gave weight zero to all {num_samples} samples for the "
                            f"evidence {describe_evidence(query.evidence)}{where}; use more samples or method='gibbs'")

    ess = sums.sum_w ** 2 / sums.sum_w2
    threshold = max(MIN_ESS, MIN_ESS_FRACTION * num_samples)
    if ess < threshold:
        warnings.warn(
            f"likelihood weighting's effective sample size collapsed to {ess:.1f} of {num_samples} samples "
            f"for the evidence {describe_evidence(query.evidence)}; a few weights dominate, so the marginals and their "
            f"standard errors are unreliable. Use more samples or method='gibbs'.",
            SamplingWarning, stacklevel=user_stacklevel())

    marginals, errors = {}, {}
    for v in query.targets:
        if v in query.evidence:
            marginals[v] = one_hot(model, v, query.evidence[v])
            errors[v] = dict.fromkeys(model.states(v), 0.0)
            continue
        p = sums.by_state[v] / sums.sum_w
        variance = (sums.by_state2[v] * (1 - 2 * p) + p ** 2 * sums.sum_w2) / sums.sum_w ** 2
        se = proportion_standard_error(variance, p, ess)
        marginals[v] = dict(zip(model.states(v), map(float, p)))
        errors[v] = dict(zip(model.states(v), map(float, se)))
    log_evidence = sums.log_scale + np.log(sums.sum_w) - np.log(num_samples)
    info = {"ess_fraction": ess / num_samples,
            "log_evidence_se": float(np.sqrt(max(1.0 / ess - 1.0 / num_samples, 0.0)))}
    return SampledQueryResult(marginals=marginals, log_evidence=float(log_evidence), evidence=query.evidence,
                              method="lw", standard_errors=errors, info=info,
                              num_samples=num_samples, effective_sample_size=float(ess), seed=seed)

