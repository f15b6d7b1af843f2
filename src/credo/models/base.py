"""What every discrete graphical model shares: variables, states, factors."""

from __future__ import annotations

from typing import Hashable, Mapping

import networkx as nx
import numpy as np

from credo.errors import ModelError, UnknownVariableError
from credo.factors import DiscreteFactor, position_index, state_index
from credo.graphs.elimination import interaction_graph

__all__ = ["DiscreteModel"]


class DiscreteModel:
    """Base of :class:`BayesianNetwork`, :class:`MarkovNetwork` and :class:`FactorGraph`.

    A discrete model is a set of variables with named states and a list of
    factors whose product is the (unnormalized) joint distribution. Inference
    engines only rely on this interface.
    """

    #: True when the factors are conditional distributions, so the product is
    #: normalized and barren nodes can be pruned before inference.
    is_directed: bool = False

    def __init__(self, state_names: Mapping[Hashable, tuple], name: str | None = None):
        self._state_names = {v: tuple(s) for v, s in state_names.items()}
        self.name = name

    # ---------------------------------------------------------------- states
    @property
    def variables(self) -> tuple:
        """Variable names in model order (file order for models read from a file)."""
        return tuple(self._state_names)

    def states(self, variable) -> tuple:
        """State names of ``variable``, in table order."""
        self._check_variable(variable)
        return self._state_names[variable]

    def cardinality(self, variable) -> int:
        return len(self.states(variable))

    @property
    def state_names(self) -> dict:
        return dict(self._state_names)

    def _check_variable(self, variable) -> None:
        if variable not in self._state_names:
            raise UnknownVariableError(variable, self._state_names)

    def state_index(self, variable, state) -> int:
        """Position of ``state`` in ``states(variable)``; typed errors name the culprit."""
        self._check_variable(variable)
        return state_index(variable, state, self._state_names[variable])

    def state_at(self, variable, position) -> Hashable:
        """The name of the state at ``position`` of ``variable`` (the explicit by-position lookup)."""
        self._check_variable(variable)
        states = self._state_names[variable]
        return states[position_index(variable, position, states)]

    def states_from_indices(self, evidence):
        """Evidence given by state *positions*, turned into evidence by state names.

        Parameters
        ----------
        evidence : mapping, list of mappings or pandas.DataFrame
            ``{variable: position}`` (or a batch of such rows; -1, None or NaN
            mark an unobserved value in a batch), e.g. the output of
            ``model.sample(..., as_indices=True)``.

        Returns
        -------
        The same kind of object with every position replaced by its state name.

        Raises
        ------
        UnknownVariableError, UnknownStateError
            A name that is not a variable, or a position out of range.
        """
        if isinstance(evidence, Mapping):
            return {v: self.state_at(v, i) for v, i in evidence.items()}
        if hasattr(evidence, "columns"):  # a pandas DataFrame
            rows, indices = self.data_indices(evidence, positions=True)
            import pandas as pd

            return pd.DataFrame({v: np.asarray(self._state_names[v] + (None,), dtype=object)[i]
                                 for v, i in indices.items()}, index=evidence.index)
        if isinstance(evidence, (str, bytes)) or not hasattr(evidence, "__iter__"):
            raise ModelError(f"evidence by position must be a mapping {{variable: position}}, a list of them "
                             f"or a DataFrame, not a {type(evidence).__name__}")
        out = []
        for r, case in enumerate(evidence):
            if case is not None and not isinstance(case, Mapping):
                raise ModelError(f"row {r} of the evidence is a {type(case).__name__}, not a mapping")
            out.append({v: self.state_at(v, i) for v, i in (case or {}).items() if not is_missing(i)})
        return out

    def check_evidence(self, evidence: Mapping | None) -> dict:
        """Evidence with each state replaced by its canonical name (validated).

        A value is a state name (see :func:`credo.factors.state_index`): with
        states ``("1", "2", "3")``, ``1`` means ``"1"`` and ``0`` is an error.
        Evidence by position goes through :meth:`states_from_indices`. A
        value of None or NaN means unobserved, as in a batch row (so
        ``df.iloc[i].to_dict()`` is valid evidence).
        """
        if isinstance(evidence, str):
            raise ModelError(f"evidence must be a mapping {{variable: state}} such as {{'Cough': 'yes'}}, not the "
                             f"string {evidence[:80]!r}")
        if evidence is not None and not isinstance(evidence, Mapping):
            raise ModelError(f"evidence must be a mapping {{variable: state}}, not a {type(evidence).__name__}; "
                             f"for many rows at once pass a list of mappings or a DataFrame to the junction "
                             f"tree (credo.query(..., method='jt') or credo.JunctionTree(model).query)")
        evidence = {v: s for v, s in (evidence or {}).items() if not is_missing(s)}  # as in a batch: unobserved
        canonical = {}
        for v, s in evidence.items():
            index = self.state_index(v, s)  # validates before the lookup below
            canonical[v] = self._state_names[v][index]
        return canonical

    def data_indices(self, data, positions: bool = False) -> tuple[int, dict]:
        """State indices of a table of cases: ``(rows, {variable: int array (rows,), -1 where missing})``.

        Parameters
        ----------
        data : pandas.DataFrame or sequence of mappings
            One case per row, columns (keys) named by variables, states by
            name (matched as in :func:`credo.factors.state_index`; a float
            such as ``2.0``, which a missing value forces on an integer
            column, is read as ``2``); None/NaN marks a missing value. Only
            the variables that appear get an entry.
        positions : bool
            Read the values as state positions ``0 .. k-1`` instead of names
            (-1 also marks a missing value).

        Raises
        ------
        UnknownVariableError, UnknownStateError
            Naming the culprit.
        ModelError
            A DataFrame with repeated columns, or a row that is not a mapping.
        """
        if hasattr(data, "columns"):  # a pandas DataFrame
            import pandas as pd

            repeated = data.columns[data.columns.duplicated()].unique().tolist()
            if repeated:
                raise ModelError(f"the data have repeated columns {repeated}")
            out = {}
            for column in data.columns:
                self._check_variable(column)
                codes, uniques = pd.factorize(data[column], use_na_sentinel=True)
                lookup = np.array([self._row_state_index(column, u, positions) for u in uniques] + [-1],
                                  dtype=np.intp)
                out[column] = lookup[codes]
            return len(data), out
        data = list(data)
        rows = len(data)
        out: dict = {}
        cache: dict = {}
        for r, case in enumerate(data):
            if case is not None and not isinstance(case, Mapping):
                raise ModelError(f"row {r} of the data is a {type(case).__name__}, not a mapping "
                                 f"{{variable: state}}")
            for v, s in (case or {}).items():
                if is_missing(s):
                    continue
                if v not in out:
                    self._check_variable(v)
                    out[v] = np.full(rows, -1, dtype=np.intp)
                key = (v, s, type(s))
                if key not in cache:
                    cache[key] = self._row_state_index(v, s, positions)
                out[v][r] = cache[key]
        return rows, out

    def _row_state_index(self, variable, state, positions: bool = False) -> int:
        # Integer values read into a float column (NaN forces float) come back as 1.0, 2.0, ...
        if isinstance(state, (float, np.floating)) and float(state).is_integer():
            if positions:
                state = int(state)
            else:
                try:
                    return self.state_index(variable, state)
                except KeyError:
                    return self.state_index(variable, int(state))
        if positions:
            if isinstance(state, (int, np.integer)) and not isinstance(state, bool) and state == -1:
                return -1
            self._check_variable(variable)
            return position_index(variable, state, self._state_names[variable])
        return self.state_index(variable, state)

    def check_soft_evidence(self, soft_evidence: Mapping | None, rows: int | None = None) -> dict:
        """Soft (virtual) evidence as ``{variable: array (1 or rows, states)}``, validated.

        Each likelihood is a non-negative, finite vector over the variable's
        states in model order, multiplied into the joint as if from an
        observed child whose CPT column is the likelihood. With ``rows``, a
        likelihood may also have shape ``(rows, states)``: one per evidence row.
        """
        if soft_evidence is not None and not isinstance(soft_evidence, Mapping):
            raise ModelError(f"soft evidence must be a mapping {{variable: likelihood}}, "
                             f"not a {type(soft_evidence).__name__}")
        out = {}
        for v, vector in (soft_evidence or {}).items():
            k = self.cardinality(v)  # validates the name
            lik = self._likelihood_array(v, vector)
            if lik.shape not in ((k,), (1, k)) and not (rows is not None and lik.shape == (rows, k)):
                wanted = f"{k} entries" + (f" (or shape ({rows}, {k}))" if rows is not None and rows > 1 else "")
                raise ModelError(f"soft evidence on {v!r} needs {wanted}, got shape {lik.shape}")
            if not np.isfinite(lik).all() or (lik < 0).any():
                raise ModelError(f"soft evidence on {v!r} must be non-negative and finite")
            out[v] = lik.reshape(-1, k)
        return out

    def _likelihood_array(self, variable, vector) -> np.ndarray:
        """A likelihood as a float array; a mapping ``{state: weight}`` is read by state name (unlisted: 0)."""
        states = self._state_names[variable]
        if isinstance(vector, Mapping):
            lik = np.zeros(len(states))
            for state, weight in vector.items():
                lik[state_index(variable, state, states)] = self._weight(variable, weight)
            return lik
        if isinstance(vector, (str, bytes)):
            raise ModelError(f"soft evidence on {variable!r} is a likelihood, a vector of {len(states)} "
                             f"non-negative weights over {list(states)} or a mapping {{state: weight}}, not the "
                             f"string {vector!r}; hard evidence goes in evidence={{{variable!r}: {vector!r}}}")
        try:
            return np.asarray(vector, dtype=np.float64)
        except (TypeError, ValueError):
            raise ModelError(f"soft evidence on {variable!r} must be numbers: a vector of {len(states)} "
                             f"weights over {list(states)} or a mapping {{state: weight}}; got "
                             f"{str(vector)[:80]}") from None

    @staticmethod
    def _weight(variable, weight) -> float:
        try:
            return float(weight)
        except (TypeError, ValueError):
            raise ModelError(f"soft evidence on {variable!r}: the weight {weight!r} is not a number") from None

    # --------------------------------------------------------------- factors
    @property
    def factors(self) -> list[DiscreteFactor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def interaction_graph(self) -> nx.Graph:
        """Undirected graph joining variables that share a factor (the moral graph for a BN)."""
        return interaction_graph(self.variables, (f.variables for f in self.factors))

    def log_potential(self, assignment: Mapping) -> float:
        """Sum of the log factors at a full assignment (``-inf`` where a factor is zero)."""
        missing = [v for v in self.variables if v not in assignment]
        if missing:
            raise ModelError(f"a full assignment is needed; missing {missing[:10]}")
        index = {v: self.state_index(v, assignment[v]) for v in self.variables}
        total = 0.0
        for factor in self.factors:
            value = factor.values[tuple(index[v] for v in factor.variables)]
            if value <= 0:
                return -np.inf
            total += np.log(value)
        return float(total)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"{type(self).__name__}{label} ({len(self.variables)} variables, {len(self.factors)} factors)"


def is_missing(value) -> bool:
    """None or NaN: an unobserved value in a row of data."""
    return value is None or (isinstance(value, (float, np.floating)) and np.isnan(value))
