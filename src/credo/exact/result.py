"""Result objects of discrete queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from credo.factors import DiscreteFactor

if TYPE_CHECKING:
    import pandas

__all__ = ["QueryResult", "MPEResult", "BatchQueryResult", "BatchMPEResult"]


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


@dataclass(frozen=True)
class BatchQueryResult:
    """Posterior marginals of many evidence rows at once.

    Attributes
    ----------
    marginals : dict
        ``{variable: ndarray of shape (rows, states)}``, states in the order of
        ``model.states(variable)``. Observed variables come out one-hot.
    log_evidence : ndarray of shape (rows,)
        :math:`\\ln P(e_r)` of each row (log partition function restricted to
        the evidence for a Markov network).
    states : dict
        ``{variable: tuple of states}``, the column order of each marginal.
    method : str
    """

    marginals: dict
    log_evidence: np.ndarray
    states: dict = field(default_factory=dict)
    method: str = "jt"

    def __len__(self) -> int:
        return len(self.log_evidence)

    def row(self, index: int) -> QueryResult:
        """Row ``index`` as a :class:`~credo.QueryResult` (every variable, evidence included)."""
        marginals = {v: dict(zip(self.states[v], map(float, m[index]))) for v, m in self.marginals.items()}
        return QueryResult(marginals=marginals, log_evidence=float(self.log_evidence[index]), method=self.method)

    def map_states(self) -> "pandas.DataFrame":
        """Each row's most probable state of each variable (marginal MAP, not MPE), by name."""
        import pandas as pd

        return pd.DataFrame({v: np.asarray(self.states[v], dtype=object)[np.argmax(m, axis=1)]
                             for v, m in self.marginals.items()})

    def to_frame(self, long: bool = False) -> "pandas.DataFrame":
        """The marginals as a table.

        Parameters
        ----------
        long : bool
            False: one row per evidence row, columns ``(variable, state)`` (a
            two-level column index) and ``("log_evidence", "")``. True: columns
            row, variable, state, probability, one line per row and state.
        """
        import pandas as pd

        if long:
            parts = [pd.DataFrame({"row": np.repeat(np.arange(len(self)), len(self.states[v])),
                                   "variable": v, "state": np.tile(np.asarray(self.states[v], dtype=object), len(self)),
                                   "probability": np.asarray(m).reshape(-1)})
                     for v, m in self.marginals.items()]
            return pd.concat(parts, ignore_index=True) if parts else \
                pd.DataFrame(columns=["row", "variable", "state", "probability"])
        columns = {(v, s): m[:, k] for v, m in self.marginals.items() for k, s in enumerate(self.states[v])}
        columns[("log_evidence", "")] = self.log_evidence
        frame = pd.DataFrame(columns)
        frame.columns = pd.MultiIndex.from_tuples(list(columns), names=["variable", "state"])
        return frame


@dataclass(frozen=True)
class BatchMPEResult:
    r"""The most probable explanation of each of many evidence rows.

    Attributes
    ----------
    indices : dict
        ``{variable: int array (rows,)}``, the chosen state's position in ``states[variable]``.
    log_joint : ndarray of shape (rows,)
        :math:`\ln \max_x P(x, e_r)` of each row.
    states : dict
        ``{variable: tuple of states}``.
    """

    indices: dict
    log_joint: np.ndarray
    states: dict

    def __len__(self) -> int:
        return len(self.log_joint)

    def row(self, index: int) -> MPEResult:
        """Row ``index`` as an :class:`~credo.MPEResult`."""
        assignment = {v: self.states[v][int(i[index])] for v, i in self.indices.items()}
        return MPEResult(assignment=assignment, log_joint=float(self.log_joint[index]))

    def to_frame(self) -> "pandas.DataFrame":
        """One row per evidence row: each variable's chosen state by name, and ``log_joint``."""
        import pandas as pd

        columns = {v: np.asarray(self.states[v], dtype=object)[i] for v, i in self.indices.items()}
        columns["log_joint"] = self.log_joint
        return pd.DataFrame(columns)
