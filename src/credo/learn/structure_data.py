"""A network to fit from a bare structure: states read off the data, tables to be learned.

pgmpy's users write ``BayesianNetwork([("A", "B")])`` and then fit it to a
DataFrame; credo's estimators accept such a structure-only
:class:`~credo.BayesianNetwork`, a :class:`networkx.DiGraph` or a list of
edges, and learn each variable's states from the values the data show.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import networkx as nx
import numpy as np

from credo.errors import ArgumentError, ModelError
from credo.factors import TabularCPD
from credo.models import BayesianNetwork
from credo.models.base import is_missing

__all__ = ["as_network", "states_from_data", "table_rows"]


def table_rows(data, purpose: str):
    """``data`` as a DataFrame or a list of rows (one mapping is one row), refused when it has none.

    Parameters
    ----------
    purpose : str
        Who needs the rows, for the message (``"EM"``, ``"maximum likelihood"``).

    Raises
    ------
    ArgumentError
        ``data`` is not a table of cases, or has no rows.
    """
    if isinstance(data, Mapping):
        data = [data]
    elif not hasattr(data, "columns"):
        if data is None or isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
            raise ArgumentError("data", "must be a pandas DataFrame or a list of {variable: state} "
                                        f"rows, got {type(data).__name__}")
        data = list(data)
    if len(data) == 0:
        raise ArgumentError("data", f"has no rows: {purpose} needs at least one case to learn from")
    return data


def as_network(structure, data) -> BayesianNetwork:
    """``structure`` as a BayesianNetwork with CPDs (uniform when learned from ``data``'s states).

    Parameters
    ----------
    structure : BayesianNetwork, networkx.DiGraph or sequence of (parent, child)
        A network with CPDs is returned as it is: its states are the model's.
        Otherwise the nodes' states are those that ``data`` shows.
    data : pandas.DataFrame or sequence of mappings

    Raises
    ------
    ModelError
        A node has no column in the data or no observed value, or the
        structure is not one of the accepted kinds.
    """
    if isinstance(structure, BayesianNetwork):
        if not structure.is_structure_only:
            return structure
        nodes, name = structure.variables, structure.name
        parents = {v: structure.parents_in_graph(v) for v in nodes}
    else:
        if isinstance(structure, nx.DiGraph):
            graph = structure
        elif isinstance(structure, (list, tuple)):
            graph = BayesianNetwork(edges=structure).graph
        else:
            raise ModelError(f"expected a BayesianNetwork, a networkx.DiGraph or a list of (parent, child) edges, "
                             f"not a {type(structure).__name__}")
        nodes, name = tuple(graph.nodes), None
        order = {v: i for i, v in enumerate(nodes)}
        parents = {v: tuple(sorted(graph.predecessors(v), key=order.__getitem__)) for v in nodes}
    states = states_from_data(data, nodes)
    cpds = []
    for v in nodes:
        shape = tuple(len(states[p]) for p in parents[v]) + (len(states[v]),)
        cpds.append(TabularCPD(v, states[v], np.full(shape, 1.0 / len(states[v])), parents[v]))
    return BayesianNetwork(cpds=cpds, name=name)


def states_from_data(data, variables) -> dict:
    """``{variable: tuple of states}``: a categorical column's categories, else its sorted distinct values.

    Missing values (None, NaN) are not states. Numbers are sorted as numbers,
    anything else by its ``str``.
    """
    columns = _columns(data)
    out = {}
    for v in variables:
        if v not in columns:
            raise ModelError(f"the data have no column {v!r}, so its states cannot be learned; columns: "
                             f"{list(columns)[:20]}")
        column = columns[v]
        categories = getattr(getattr(column, "cat", None), "categories", None)
        if categories is not None:
            values = [_plain(c) for c in categories]
        else:
            values = sorted({_plain(x) for x in column if not is_missing(x)}, key=_sort_key)
        if not values:
            raise ModelError(f"the data show no value of {v!r}, so its states cannot be learned")
        out[v] = tuple(values)
    return out


def _columns(data) -> Mapping:
    if hasattr(data, "columns"):
        return {c: data[c] for c in data.columns}
    columns: dict = {}
    for r, row in enumerate(data):
        if not isinstance(row, Mapping):
            raise ModelError(f"row {r} of the data is a {type(row).__name__}, not a mapping {{variable: state}}")
        for v, x in row.items():
            columns.setdefault(v, []).append(x)
    return columns


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _sort_key(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))
