"""Immutable discrete factors over named variables."""

from __future__ import annotations

from typing import Hashable, Iterable, Mapping, Sequence

import numpy as np

from credo.errors import ModelError, UnknownStateError, UnknownVariableError

__all__ = ["DiscreteFactor", "state_index", "position_index", "contract", "align"]


def state_index(variable: Hashable, state, states: Sequence) -> int:
    """Position of the state named ``state`` among ``states``.

    A value is always a state *name*, never a position: it matches a state
    equal to it, or else a state whose ``str`` equals ``str(state)`` (so the
    integer ``1`` and the string ``"1"`` both find a state named ``"1"``, and
    ``"1"`` finds the integer state ``1`` of a UAI model). With states
    ``("1", "2", "3")`` the value ``0`` is therefore an error, not the first
    state. Positions are taken only where an API says so
    (``credo.query(..., evidence_index=...)``,
    :meth:`~credo.models.base.DiscreteModel.states_from_indices`).

    Raises
    ------
    UnknownStateError
        Naming the variable, the value and the valid states.
    """
    for i, s in enumerate(states):
        if s == state and type(s) is type(state):
            return i
    text = str(state)
    for i, s in enumerate(states):
        if str(s) == text:
            return i
    raise UnknownStateError(variable, state, states)


def position_index(variable: Hashable, position, states: Sequence) -> int:
    """``position`` checked as an index into ``states`` (the explicit, by-position form of evidence).

    Raises
    ------
    UnknownStateError
        ``position`` is not an integer in ``[0, len(states))``.
    """
    if isinstance(position, (bool, np.bool_)) or not isinstance(position, (int, np.integer)) \
            or not 0 <= position < len(states):
        raise UnknownStateError(variable, position, [f"position {i} ({s!r})" for i, s in enumerate(states)])
    return int(position)


def align(array: np.ndarray, labels: Sequence[Hashable], union: Sequence[Hashable]) -> np.ndarray:
    """View of ``array`` (axes ``labels``) broadcastable against the axis order ``union``."""
    labels = tuple(labels)
    present = [v for v in union if v in labels]
    moved = np.transpose(array, [labels.index(v) for v in present])
    return moved.reshape([array.shape[labels.index(v)] if v in labels else 1 for v in union])


#: Above this many operands einsum's path search costs more than it saves.
_MAX_EINSUM_OPERANDS = 16


def _merge_same_scope(operands):
    """Multiply together operands over the same set of labels (e.g. a hub's many evidence tables)."""
    groups: dict[frozenset, list] = {}
    for array, labels in operands:
        groups.setdefault(frozenset(labels), []).append((array, tuple(labels)))
    merged = []
    for group in groups.values():
        array, labels = group[0]
        for other, other_labels in group[1:]:
            array = array * align(other, other_labels, labels)
        merged.append((array, labels))
    return merged


def _einsum(operands, keep) -> np.ndarray:
    index: dict[Hashable, int] = {}
    args: list = []
    size = 1
    for array, labels in operands:
        args.append(array)
        args.append([index.setdefault(v, len(index)) for v in labels])
        size = max(size, array.size)
    for v in keep:
        index.setdefault(v, len(index))
    if len(index) > 52:
        raise ModelError(f"contraction over {len(index)} variables at once exceeds einsum's limit of 52")
    args.append([index[v] for v in keep])
    optimize = "greedy" if len(operands) > 2 and size > 4096 else False
    return np.einsum(*args, optimize=optimize)


def contract(operands: Sequence[tuple[np.ndarray, Sequence[Hashable]]], keep: Sequence[Hashable]) -> np.ndarray:
    """Sum-product contraction of arrays labelled by variables.

    ``result[keep] = sum over the other variables of prod_k operands[k]``.
    Labels are mapped to small integers per call, so any hashables work.
    Few operands go to one ``einsum``; many are folded left to right,
    summing each label out as soon as no later operand needs it, which keeps
    chains of thousands of tables linear.

    Parameters
    ----------
    operands : sequence of (array, labels)
        Each array has one axis per label, in label order.
    keep : sequence
        Labels of the output axes, in order.
    """
    keep = tuple(keep)
    operands = _merge_same_scope(operands) if len(operands) > 2 else list(operands)
    num_labels = len({v for _, labels in operands for v in labels} | set(keep))
    if len(operands) <= _MAX_EINSUM_OPERANDS and num_labels <= 52:
        return _einsum(operands, keep)
    later = [set(keep)]
    for _, labels in reversed(operands[1:]):
        later.append(later[-1] | set(labels))
    later.reverse()  # later[i]: labels needed after operand i has been folded in
    acc, acc_labels = operands[0]
    for (array, labels), needed in zip(operands[1:] + [(np.ones(()), ())], later):
        union = tuple(dict.fromkeys(tuple(acc_labels) + tuple(labels)))
        out = tuple(v for v in union if v in needed)
        acc, acc_labels = _einsum([(acc, acc_labels), (array, labels)], out), out
    return np.transpose(acc, [acc_labels.index(v) for v in keep]) if keep else acc


def _freeze(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=np.float64, copy=True)
    array.flags.writeable = False
    return array


class DiscreteFactor:
    r"""A non-negative table :math:`\phi(x_1, \dots, x_n)` over discrete variables.

    Factors are immutable: every operation returns a new factor. Values are kept
    in linear space; :attr:`log_values` and :meth:`from_log_values` give the
    log-space view used where products of many small numbers would underflow
    (max-product elimination, partition functions).

    Parameters
    ----------
    variables : sequence of hashable
        Variable names, one per axis of ``values``.
    values : array_like
        Non-negative entries, of shape ``cardinality`` (or flat, C order, when
        ``cardinality`` is given).
    state_names : mapping, optional
        ``{variable: [state, ...]}``; missing variables get states ``0..k-1``.
    cardinality : sequence of int, optional
        Needed only when ``values`` is flat.

    Examples
    --------
    >>> f = DiscreteFactor(["rain"], [0.2, 0.8], {"rain": ["yes", "no"]})
    >>> f.value(rain="yes")
    0.2
    """

    __slots__ = ("_variables", "_values", "_state_names")

    def __init__(
        self,
        variables: Sequence[Hashable],
        values,
        state_names: Mapping[Hashable, Sequence] | None = None,
        cardinality: Sequence[int] | None = None,
    ):
        variables = tuple(variables)
        if len(set(variables)) != len(variables):
            raise ModelError(f"a factor lists a variable twice: {variables}")
        values = np.asarray(values, dtype=np.float64)
        if cardinality is not None:
            cardinality = tuple(int(c) for c in cardinality)
            if values.size != int(np.prod(cardinality, dtype=np.int64)):
                raise ModelError(
                    f"factor over {variables}: {values.size} values do not fill cardinality {cardinality}"
                )
            values = values.reshape(cardinality)
        if values.ndim != len(variables):
            raise ModelError(f"factor over {variables} needs a {len(variables)}-d table, got shape {values.shape}")
        if not np.isfinite(values).all() or (values < 0).any():
            bad = np.flatnonzero(~np.isfinite(values.reshape(-1)) | (values.reshape(-1) < 0))
            where = tuple(int(i) for i in np.unravel_index(bad[0], values.shape))
            raise ModelError(f"factor over {variables} has {bad.size} negative, infinite or NaN entries "
                             f"(the first at {where}: {values[where]!r}); potentials must be finite and >= 0")
        names = {}
        state_names = state_names or {}
        for v, k in zip(variables, values.shape):
            states = tuple(state_names[v]) if v in state_names else tuple(range(k))
            if len(states) != k:
                raise ModelError(f"variable {v!r} has {len(states)} state names but {k} table entries along its axis")
            if len(set(states)) != k:
                raise ModelError(f"variable {v!r} has repeated state names: {states}")
            names[v] = states
        self._variables = variables
        self._values = _freeze(values)
        self._state_names = names

    # ------------------------------------------------------------------ views
    @classmethod
    def from_log_values(cls, variables, log_values, state_names=None) -> "DiscreteFactor":
        """Build a factor from log-potentials, shifting by the max to avoid overflow.

        The shift changes the factor by a constant, so use it for normalized
        quantities, or keep the shift yourself.
        """
        log_values = np.asarray(log_values, dtype=np.float64)
        top = np.max(log_values) if log_values.size else 0.0
        shift = top if np.isfinite(top) else 0.0
        return cls(variables, np.exp(log_values - shift), state_names)

    @property
    def variables(self) -> tuple:
        """Variable names, one per axis."""
        return self._variables

    @property
    def values(self) -> np.ndarray:
        """The table, shape :attr:`cardinality` (read-only array)."""
        return self._values

    @property
    def log_values(self) -> np.ndarray:
        """Natural log of the table (``-inf`` where a value is zero)."""
        with np.errstate(divide="ignore"):
            return np.log(self._values)

    @property
    def cardinality(self) -> tuple[int, ...]:
        return self._values.shape

    @property
    def state_names(self) -> dict:
        """``{variable: tuple of states}`` in table order."""
        return dict(self._state_names)

    def states(self, variable) -> tuple:
        self._check_variables([variable])
        return self._state_names[variable]

    def _check_variables(self, variables: Iterable) -> None:
        for v in variables:
            if v not in self._state_names:
                raise UnknownVariableError(v, self._variables)

    def _index(self, variable, state) -> int:
        return state_index(variable, state, self._state_names[variable])

    def value(self, assignment: Mapping | None = None, **kwargs) -> float:
        """The entry at a full assignment ``{variable: state}``."""
        assignment = dict(assignment or {}, **kwargs)
        self._check_variables(assignment)
        missing = [v for v in self._variables if v not in assignment]
        if missing:
            raise ModelError(f"assignment misses variables {missing}")
        idx = tuple(self._index(v, assignment[v]) for v in self._variables)
        return float(self._values[idx])

    # ------------------------------------------------------------ operations
    def product(self, other: "DiscreteFactor") -> "DiscreteFactor":
        r""":math:`(\phi \cdot \psi)(x \cup y) = \phi(x)\,\psi(y)`; shared variables must agree on states."""
        for v in set(self._variables) & set(other._variables):
            if self._state_names[v] != other._state_names[v]:
                raise ModelError(f"variable {v!r} has states {self._state_names[v]} in one factor and "
                                 f"{other._state_names[v]} in the other")
        variables = self._variables + tuple(v for v in other._variables if v not in self._state_names)
        values = contract([(self._values, self._variables), (other._values, other._variables)], variables)
        return DiscreteFactor(variables, values, {**other._state_names, **self._state_names})

    __mul__ = product

    def marginalize(self, variables: Iterable) -> "DiscreteFactor":
        """Sum out ``variables``."""
        return self._reduce_axes(variables, np.sum)

    def maximize(self, variables: Iterable) -> "DiscreteFactor":
        """Max out ``variables`` (max-product)."""
        return self._reduce_axes(variables, np.max)

    def _reduce_axes(self, variables, op) -> "DiscreteFactor":
        variables = list(variables)
        self._check_variables(variables)
        axes = tuple(self._variables.index(v) for v in variables)
        kept = tuple(v for v in self._variables if v not in variables)
        return DiscreteFactor(kept, op(self._values, axis=axes), {v: self._state_names[v] for v in kept})

    def reduce(self, evidence: Mapping) -> "DiscreteFactor":
        """Condition on ``{variable: state}``: keep the matching slice and drop the variables.

        Variables not in the factor are ignored, so the whole evidence of a
        query can be passed to every factor.
        """
        index = []
        kept = []
        for v in self._variables:
            if v in evidence:
                index.append(self._index(v, evidence[v]))
            else:
                index.append(slice(None))
                kept.append(v)
        return DiscreteFactor(kept, self._values[tuple(index)], {v: self._state_names[v] for v in kept})

    def normalize(self) -> "DiscreteFactor":
        """Scale so the entries sum to one.

        Raises
        ------
        ModelError
            If every entry is zero.
        """
        total = self._values.sum()
        if not total > 0:
            raise ModelError(f"factor over {self._variables} sums to zero and cannot be normalized")
        return DiscreteFactor(self._variables, self._values / total, self._state_names)

    def transpose(self, variables: Sequence) -> "DiscreteFactor":
        """The same factor with axes in the order ``variables``."""
        variables = tuple(variables)
        if set(variables) != set(self._variables) or len(variables) != len(self._variables):
            raise ModelError(f"transpose needs a permutation of {self._variables}, got {variables}")
        axes = [self._variables.index(v) for v in variables]
        return DiscreteFactor(variables, np.transpose(self._values, axes), self._state_names)

    def to_dict(self) -> dict:
        """``{state: value}`` for a one-variable factor, ``{(states...): value}`` otherwise."""
        names = [self._state_names[v] for v in self._variables]
        if len(names) == 1:
            return {s: float(p) for s, p in zip(names[0], self._values)}
        out = {}
        for idx in np.ndindex(*self.cardinality):
            out[tuple(n[i] for n, i in zip(names, idx))] = float(self._values[idx])
        return out

    def allclose(self, other: "DiscreteFactor", rtol: float = 1e-9, atol: float = 1e-12) -> bool:
        """Same scope and states (in any axis order) and values within tolerance."""
        if set(self._variables) != set(other._variables):
            return False
        if any(self._state_names[v] != other._state_names[v] for v in self._variables):
            return False
        return bool(np.allclose(self._values, other.transpose(self._variables)._values, rtol=rtol, atol=atol))

    def __repr__(self) -> str:
        scope = ", ".join(f"{v}:{k}" for v, k in zip(self._variables, self.cardinality))
        return f"DiscreteFactor({scope})"
