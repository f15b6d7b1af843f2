"""Result objects of discrete queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from credo.factors import DiscreteFactor

if TYPE_CHECKING:
    import pandas

__all__ = ["QueryResult", "MPEResult"]


def _format_probability_table(marginals: dict) -> str:
    width = max((len(str(v)) for v in marginals), default=8)
    lines = []
    for v, dist in marginals.items():
        cells = "  ".join(f"{s}={p:.6f}" for s, p in dist.items())
        lines.append(f"  {str(v):<{width}}  {cells}")
    return "\n".join(lines)


@dataclass(frozen=True)
class QueryResult:
    """Posterior marginals given evidence.

    Attributes
    ----------
    marginals : dict
        ``{variable: {state: probability}}``, states in model order.
    log_evidence : float
        :math:`\\ln P(e)` for a Bayesian network; for a Markov network the log
        partition function restricted to the evidence.
    evidence : dict
        The evidence the query conditioned on (canonical state names).
    joint : DiscreteFactor or None
        Joint posterior of the targets, when asked for.
    method : str
        The algorithm that produced the result.
    standard_errors : dict or None
        Monte Carlo standard errors ``{variable: {state: se}}`` for sampling methods.
    info : dict
        Method-specific diagnostics.
    """

    marginals: dict
    log_evidence: float
    evidence: dict = field(default_factory=dict)
    joint: DiscreteFactor | None = None
    method: str = "ve"
    standard_errors: dict | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def factor(self, variable) -> DiscreteFactor:
        """The marginal of ``variable`` as a one-variable factor."""
        dist = self.marginals[variable]
        return DiscreteFactor([variable], list(dist.values()), {variable: list(dist)})

    def probability(self, variable, state) -> float:
        return self.marginals[variable][state]

    def map_states(self) -> dict:
        """Most probable state of each variable (marginal MAP, not MPE)."""
        return {v: max(d, key=d.get) for v, d in self.marginals.items()}

    def to_dict(self) -> dict:
        """JSON-ready ``{"log_evidence": float, "marginals": {var: {state: p}}}`` (keys as strings)."""
        return {
            "log_evidence": float(self.log_evidence),
            "marginals": {str(v): {str(s): float(p) for s, p in d.items()} for v, d in self.marginals.items()},
        }

    def to_frame(self) -> "pandas.DataFrame":
        """Long table with columns variable, state, probability."""
        import pandas as pd  # deferred: keeps `import credo` (and the CLI) quick

        rows = [(v, s, p) for v, d in self.marginals.items() for s, p in d.items()]
        return pd.DataFrame(rows, columns=["variable", "state", "probability"])

    def __str__(self) -> str:
        given = ", ".join(f"{k}={v}" for k, v in self.evidence.items()) or "none"
        return (f"Query ({self.method}) given {given}\n  ln P(e) = {self.log_evidence:.6f}\n"
                f"{_format_probability_table(self.marginals)}")


def _json_state(state):
    if isinstance(state, np.generic):
        state = state.item()
    return state if isinstance(state, (str, int)) else str(state)


@dataclass(frozen=True)
class MPEResult:
    """Most probable explanation.

    Attributes
    ----------
    assignment : dict
        ``{variable: state}`` for every variable, evidence included.
    log_joint : float
        :math:`\\ln \\max_x P(x, e)`.
    """

    assignment: dict
    log_joint: float
    evidence: dict = field(default_factory=dict)

    def __iter__(self):
        # Unpacks as ``assignment, log_joint = credo.mpe(...)``.
        return iter((self.assignment, self.log_joint))

    def to_dict(self) -> dict:
        return {"log_joint": float(self.log_joint),
                "assignment": {str(v): _json_state(s) for v, s in self.assignment.items()}}

    def __str__(self) -> str:
        lines = [f"MPE  ln P(x, e) = {self.log_joint:.6f}"]
        width = max((len(str(v)) for v in self.assignment), default=8)
        lines += [f"  {str(v):<{width}}  {s}{'  (evidence)' if v in self.evidence else ''}"
                  for v, s in self.assignment.items()]
        return "\n".join(lines)

