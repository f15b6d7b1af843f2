"""Evidence as the junction tree takes it: one-hot and soft likelihoods, batches, and the errors they raise.

Small pure helpers of :class:`~credo.exact.junction_tree.JunctionTree`,
kept apart from the query facade so that it holds the query logic only.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from credo.errors import ImpossibleEvidenceError
from credo.exact.clique_tree import read_only

__all__ = ["rescaled", "one_hot", "rows_copy", "looks_like_evidence", "is_batch", "impossible", "shift_rows"]

#: One-hot rows per number of states, shared by every engine (read-only, so no caller can change another's).
_ONE_HOT_ROWS: dict[int, np.ndarray] = {}


def rescaled(soft: Mapping) -> tuple[dict, np.ndarray]:
    r"""Soft-evidence likelihoods divided by their row maxima, and :math:`\sum_v \ln \max` per row.

    A likelihood is scale-free: only ratios between states matter for the
    posterior, and the scale adds :math:`\ln c` to :math:`\ln P(e)`. Tiny
    (subnormal) likelihoods would otherwise lose their mantissa in the
    collect products. An all-zero row keeps its zeros, so it still reads as
    impossible evidence.

    Returns
    -------
    soft : dict
        ``{variable: (rows or 1, states)}`` with each non-zero row's maximum 1.
    log_scale : numpy.ndarray
        Shape ``(rows or 1,)``: to be added to the ln P(e) of each row.
    """
    scaled = {}
    log_scale = np.zeros(1)
    for v, lik in soft.items():
        peak = lik.max(axis=-1, keepdims=True)
        safe = np.where(peak > 0, peak, 1.0)
        scaled[v] = lik / safe
        log_scale = log_scale + np.log(safe[:, 0])
    return scaled, log_scale


def one_hot(states: int, indices: np.ndarray) -> np.ndarray:
    """Rows of the ``states x states`` identity at ``indices``, a row of ones where an index is -1.

    Parameters
    ----------
    states : int
    indices : numpy.ndarray of int
        State indices, -1 where unobserved.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(indices), states)``; a fresh array (fancy indexing
        copies), gathered from a shared read-only table.
    """
    rows = _ONE_HOT_ROWS.get(states)
    if rows is None:  # the k one-hot rows, then a row of ones, which index -1 picks
        rows = _ONE_HOT_ROWS.setdefault(states, read_only(np.vstack([np.eye(states), np.ones((1, states))])))
    return rows[indices]


def rows_copy(values: np.ndarray, rows: int) -> np.ndarray:
    """A writable copy of ``values`` (shape (1,) or (rows,)) with shape (rows,)."""
    return values.copy() if values.shape == (rows,) else np.broadcast_to(values, (rows,)).copy()


def looks_like_evidence(targets) -> bool:
    """A mapping, a DataFrame or a list of mappings, where a variable or a list of variables belongs."""
    if isinstance(targets, Mapping) or hasattr(targets, "columns"):
        return True
    return isinstance(targets, (list, tuple)) and any(isinstance(t, Mapping) or t is None for t in targets)


def is_batch(evidence) -> bool:
    """Whether ``evidence`` is a batch of rows (a list or tuple of mappings, or a DataFrame), not one mapping.

    Parameters
    ----------
    evidence : mapping, list of mappings, pandas.DataFrame or None

    Returns
    -------
    bool
    """
    return hasattr(evidence, "columns") or (isinstance(evidence, (list, tuple)))


def impossible(rows: np.ndarray, indices: Mapping | None, model) -> ImpossibleEvidenceError:
    """The error for impossible evidence in batch ``rows``, naming the first row's evidence; ``.rows`` lists them."""
    rows = [int(r) for r in rows]
    first = {}
    if indices:
        first = {v: model.states(v)[int(i[rows[0]])] for v, i in indices.items() if i[rows[0]] >= 0}
    error = ImpossibleEvidenceError(first, f"the evidence of rows {rows[:20]}{' ...' if len(rows) > 20 else ''} "
                                           f"has probability zero under the model (first: {first})")
    error.rows = rows
    return error


def shift_rows(error: ImpossibleEvidenceError, start: int, model, indices) -> ImpossibleEvidenceError:
    """Re-raise a chunk's error with row numbers of the whole batch."""
    rows = [r + start for r in getattr(error, "rows", [])]
    return impossible(np.array(rows), indices, model) if rows else error
