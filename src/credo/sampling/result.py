"""The result of an approximate (sampling) query: marginals with Monte Carlo standard errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from credo.exact.result import QueryResult

if TYPE_CHECKING:
    import pandas

__all__ = ["SampledQueryResult"]


@dataclass(frozen=True)
class SampledQueryResult(QueryResult):
    """Posterior marginals estimated by sampling, with their Monte Carlo standard errors.

    A :class:`~credo.QueryResult` (same ``.marginals[var][state]``,
    ``.probability``, ``.map_states``, ``.to_frame``, ...) with the sampling
    details added. Evidence variables asked for as targets get their one-hot
    marginal with standard error 0, as in the exact engines.

    Attributes
    ----------
    marginals : dict
        ``{variable: {state: estimated probability}}``, states in model order.
    standard_errors : dict
        ``{variable: {state: se}}``: the Monte Carlo standard error of each
        estimate (how each method computes it is documented with the method).
        An estimate within a few standard errors of the truth is the normal
        case; four standard errors is a generous bound.
    log_evidence : float
        An estimate of :math:`\\ln P(e)` where the method gives one (rejection:
        the log acceptance rate; likelihood weighting: the log mean weight),
        NaN for Gibbs sampling.
    num_samples : int
        Draws made: forward draws for rejection and likelihood weighting,
        ``num_chains * draws_per_chain`` retained draws for Gibbs.
    effective_sample_size : float
        Rejection: the number of accepted draws. Likelihood weighting: Kish's
        :math:`(\\sum w)^2 / \\sum w^2`. Gibbs: the smallest, over the target
        states, of :math:`\\hat p (1 - \\hat p) / \\mathrm{se}^2`, the number of
        independent exact posterior draws that would give the same error.
    method : str
        ``"rejection"``, ``"lw"`` or ``"gibbs"``.
    seed : int, numpy.random.Generator or None
        The seed the sampler was given (the same seed gives the same result).
    info : dict
        Method-specific diagnostics (acceptance rate, chain counts, R-hat, ...).
    """

    num_samples: int = 0
    effective_sample_size: float = float("nan")
    seed: Any = None

    def standard_error(self, variable, state) -> float:
        """Monte Carlo standard error of ``marginals[variable][state]``."""
        return self.standard_errors[variable][state]

    def to_dict(self) -> dict:
        """JSON-ready dict: ``log_evidence``, ``marginals`` and ``standard_errors`` (string keys)."""
        data = super().to_dict()
        data["standard_errors"] = {str(v): {str(s): float(e) for s, e in d.items()}
                                   for v, d in self.standard_errors.items()}
        data["num_samples"] = int(self.num_samples)
        data["effective_sample_size"] = float(self.effective_sample_size)
        data["method"] = self.method
        return data

    def to_frame(self) -> "pandas.DataFrame":
        """Long table with columns variable, state, probability, standard_error."""
        frame = super().to_frame()
        frame["standard_error"] = [self.standard_errors[v][s] for v, d in self.marginals.items() for s in d]
        return frame

    def __str__(self) -> str:
        given = ", ".join(f"{k}={v}" for k, v in self.evidence.items()) or "none"
        width = max((len(str(v)) for v in self.marginals), default=8)
        lines = [f"Query ({self.method}, {self.num_samples} samples, ESS {self.effective_sample_size:.0f}) "
                 f"given {given}"]
        if np.isfinite(self.log_evidence):
            lines.append(f"  ln P(e) ~ {self.log_evidence:.6f}")
        for v, dist in self.marginals.items():
            cells = "  ".join(f"{s}={p:.4f}+-{self.standard_errors[v][s]:.4f}" for s, p in dist.items())
            lines.append(f"  {str(v):<{width}}  {cells}")
        return "\n".join(lines)
