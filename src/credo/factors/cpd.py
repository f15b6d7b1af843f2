"""Conditional probability tables."""

from __future__ import annotations

from typing import Hashable, Mapping, Sequence

import copy

import numpy as np

from credo.errors import CPDError
from credo.factors.discrete import DiscreteFactor

__all__ = ["TabularCPD", "NoisyOrCPD", "ROW_SUM_TOLERANCE"]

#: Rows of a CPT must sum to one within this absolute tolerance.
ROW_SUM_TOLERANCE = 1e-6


class TabularCPD:
    r"""A conditional probability table :math:`P(X \mid \mathrm{pa}(X))`.

    Parameters
    ----------
    variable : hashable
        The child variable :math:`X`.
    states : sequence
        State names of ``variable`` in table order.
    table : array_like
        Shape ``(*parent_cardinalities, len(states))``: one row per parent
        configuration (first parent varying slowest), each row a distribution
        over ``states``. A 2-D array ``(prod(parent_cardinalities), len(states))``
        is reshaped. For a root node a vector of length ``len(states)``.
    parents : sequence, optional
        Parent variables, in the order of the table's leading axes.
    parent_states : mapping, optional
        ``{parent: states}``. A :class:`~credo.BayesianNetwork` fills it from
        the parents' own CPDs, so it is only needed for a CPD used alone.

    Examples
    --------
    >>> cough = TabularCPD("Cough", ["yes", "no"],
    ...                    [[[0.9, 0.1], [0.6, 0.4]],    # Cold=yes, Flu=yes/no
    ...                     [[0.7, 0.3], [0.05, 0.95]]],  # Cold=no,  Flu=yes/no
    ...                    parents=["Cold", "Flu"])
    """

    __slots__ = ("_variable", "_states", "_table", "_parents", "_parent_states")

    def __init__(
        self,
        variable: Hashable,
        states: Sequence,
        table,
        parents: Sequence[Hashable] = (),
        parent_states: Mapping[Hashable, Sequence] | None = None,
    ):
        self._variable = variable
        self._states = tuple(states)
        self._parents = tuple(parents)
        if len(set(self._states)) != len(self._states):
            raise CPDError(variable, f"repeated state names {self._states}")
        if variable in self._parents or len(set(self._parents)) != len(self._parents):
            raise CPDError(variable, f"invalid parent list {self._parents}")
        try:
            table = np.array(table, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise CPDError(variable, f"table is not numeric: {exc}") from None
        self._parent_states = None
        self._table = table
        if parent_states is not None:
            if not isinstance(parent_states, Mapping):
                raise CPDError(variable, f"parent_states must be a mapping {{parent: states}}, "
                                         f"not a {type(parent_states).__name__}")
            lacking = [p for p in self._parents if p not in parent_states]
            if lacking:
                raise CPDError(variable, f"parent_states lacks the states of {lacking}")
            strangers = [p for p in parent_states if p not in self._parents]
            if strangers:
                raise CPDError(variable, f"parent_states names {strangers}, which are not among the "
                                         f"parents {list(self._parents)}")
            declared = {p: tuple(parent_states[p]) for p in self._parents}
            for p, names in declared.items():
                if len(set(names)) != len(names):
                    raise CPDError(variable, f"parent_states of {p!r} repeats a state: {list(names)}")
            self._bind(declared)
        else:
            self._check_values(table)
        table.flags.writeable = False

    # --------------------------------------------------------------- binding
    def _bind(self, parent_states: dict) -> None:
        cards = tuple(len(parent_states[p]) for p in self._parents)
        shape = cards + (len(self._states),)
        table = self._table
        if table.shape != shape:
            if table.ndim == 2 and table.shape == (int(np.prod(cards, dtype=np.int64)), len(self._states)):
                table = table.reshape(shape)
            elif table.size == int(np.prod(shape, dtype=np.int64)) and table.ndim == 1 and not cards:
                table = table.reshape(shape)
            else:
                parents = ", ".join(f"{p}:{k}" for p, k in zip(self._parents, cards))
                raise CPDError(
                    self._variable,
                    f"table has shape {table.shape} but parents ({parents}) and {len(self._states)} states "
                    f"need shape {shape}",
                )
        self._check_values(table)
        self._table = table
        self._parent_states = parent_states

    def _check_values(self, table: np.ndarray) -> None:
        if table.ndim == 0 or table.shape[-1] != len(self._states):
            raise CPDError(self._variable, f"last axis of the table has length "
                                           f"{table.shape[-1] if table.ndim else 0}, expected {len(self._states)} states")
        if not np.all(np.isfinite(table)) or (table < 0).any():
            raise CPDError(self._variable, "table has negative, infinite or NaN entries")
        sums = np.atleast_1d(table.sum(axis=-1))
        bad = np.flatnonzero(np.abs(sums.reshape(-1) - 1.0) > ROW_SUM_TOLERANCE)
        if bad.size:
            where = tuple(int(i) for i in np.unravel_index(bad[0], sums.shape))
            label = f"row {where}" if table.ndim > 1 else "the table"
            raise CPDError(
                self._variable,
                f"{label} sums to {sums[where]:.9g}, not 1 (tolerance {ROW_SUM_TOLERANCE:g}); "
                f"{len(bad)} bad row(s) in all",
            )

    def bind(self, parent_states: Mapping[Hashable, Sequence]) -> "TabularCPD":
        """A copy whose parents' states are ``parent_states`` (and the table shape checked).

        When the CPD was built with its own ``parent_states``, each parent's
        declared states must be the same names as ``parent_states`` gives,
        possibly in another order: the table's axes are then permuted into the
        given order, so a row keeps meaning the parent state it was written for.

        Raises
        ------
        CPDError
            A parent's declared states are not a permutation of its states,
            naming the CPD, the parent and both lists.
        """
        given = {p: tuple(parent_states[p]) for p in self._parents}
        if self._parent_states is None:
            bound = copy.copy(self)
            bound._bind(given)
            return bound
        table = self._table
        for axis, p in enumerate(self._parents):
            declared, actual = self._parent_states[p], given[p]
            if declared == actual:
                continue
            if sorted(map(str, declared)) != sorted(map(str, actual)) or len(declared) != len(actual):
                raise CPDError(self._variable, f"parent_states gives {p!r} the states {list(declared)}, but "
                                               f"{p!r} has the states {list(actual)}")
            position = {str(s): i for i, s in enumerate(declared)}
            table = np.take(table, [position[str(s)] for s in actual], axis=axis)
        bound = copy.copy(self)
        table = np.ascontiguousarray(table)
        table.flags.writeable = False
        bound._table = table
        bound._parent_states = given
        return bound

    @property
    def is_bound(self) -> bool:
        return self._parent_states is not None or not self._parents

    # ----------------------------------------------------------------- views
    @property
    def variable(self):
        return self._variable

    @property
    def states(self) -> tuple:
        return self._states

    @property
    def parents(self) -> tuple:
        return self._parents

    @property
    def parent_states(self) -> dict:
        return dict(self._parent_states or {})

    @property
    def table(self) -> np.ndarray:
        """Shape ``(*parent_cardinalities, len(states))``, rows summing to one."""
        return self._table

    @property
    def cardinality(self) -> int:
        return len(self._states)

    def row_sum_error(self) -> float:
        """Largest deviation of a row sum from one."""
        return float(np.max(np.abs(self._table.sum(axis=-1) - 1.0)))

    def num_parameters(self) -> int:
        """Free parameters: ``(k - 1) * prod(parent cardinalities)``."""
        return (len(self._states) - 1) * int(np.prod(self._table.shape[:-1], dtype=np.int64))

    def to_factor(self) -> DiscreteFactor:
        """The table as a factor over ``(*parents, variable)``."""
        if not self.is_bound:
            raise CPDError(self._variable, "parent states are unknown; add the CPD to a BayesianNetwork first")
        names = dict(self._parent_states or {})
        names[self._variable] = self._states
        return DiscreteFactor(self._parents + (self._variable,), self._table, names)

    def __repr__(self) -> str:
        given = f" | {', '.join(map(str, self._parents))}" if self._parents else ""
        return f"TabularCPD(P({self._variable}{given}), states={list(self._states)})"



class NoisyOrCPD(TabularCPD):
    r"""A noisy-OR conditional distribution of a binary effect given binary causes.

    Each active cause :math:`i` independently triggers the effect with
    probability :math:`p_i`, and a leak triggers it with probability
    :math:`\lambda` when no cause does:
    :math:`P(\text{absent} \mid pa) = (1 - \lambda) \prod_{i\,\text{active}} (1 - p_i)`
    (Pearl 1988, sec. 4.3.2). A cause is active in its first state, the effect
    present in its first state.

    It needs ``len(parents)`` numbers (plus one for the leak) instead of the
    :math:`2^{n}` rows of a full table, and :meth:`num_parameters` counts those.

    Parameters
    ----------
    variable : hashable
    parents : sequence
        Binary causes.
    link_probs : sequence of float
        :math:`p_i`, one per parent.
    leak : float or None
        :math:`\lambda`; None for no leak term (the effect never occurs
        without a cause), which then has no leak parameter.
    states : pair
        The effect's states, present first.
    """

    __slots__ = ("_link_probs", "_leak")

    def __init__(self, variable, parents: Sequence, link_probs: Sequence[float], leak: float | None = None,
                 states: Sequence = ("yes", "no")):
        link_probs = np.asarray(link_probs, dtype=np.float64).reshape(-1)
        parents = tuple(parents)
        if len(link_probs) != len(parents):
            raise CPDError(variable, f"{len(link_probs)} link probabilities for {len(parents)} parents")
        if len(tuple(states)) != 2:
            raise CPDError(variable, "a noisy-OR effect must have exactly two states")
        probs = np.append(link_probs, 0.0 if leak is None else leak)
        if not np.all((probs >= 0) & (probs <= 1)):
            raise CPDError(variable, "noisy-OR link and leak probabilities must lie in [0, 1]")
        # Active parent state is index 0, so the cause "fires" along that axis.
        absent = np.full((2,) * len(parents), 1.0 - (0.0 if leak is None else leak))
        for axis, p in enumerate(link_probs):
            shape = [1] * len(parents)
            shape[axis] = 2
            absent = absent * np.array([1.0 - p, 1.0]).reshape(shape)
        table = np.stack([1.0 - absent, absent], axis=-1)
        super().__init__(variable, states, table, parents)
        self._link_probs = link_probs
        self._leak = leak

    def _bind(self, parent_states: dict) -> None:
        non_binary = [p for p in self._parents if len(parent_states[p]) != 2]
        if non_binary:
            raise CPDError(self._variable, f"noisy-OR causes must be binary; {non_binary} are not")
        super()._bind(parent_states)

    @property
    def link_probs(self) -> np.ndarray:
        return self._link_probs

    @property
    def leak(self) -> float | None:
        return self._leak

    def num_parameters(self) -> int:
        return len(self._parents) + (self._leak is not None)

    def __repr__(self) -> str:
        return f"NoisyOrCPD(P({self._variable} | {', '.join(map(str, self._parents))}), leak={self._leak})"
