"""Explicit elimination orders given to the graph functions and to EliminationOrder are checked: an
unknown node is an UnknownVariableError, a repeated or missing one a ModelError naming it (issue 19,
item 8). Before, triangulate raised a bare KeyError from deep inside, and a repeated node read as
"not (or no longer) in the graph"; EliminationOrder took any tuple."""

from __future__ import annotations

import pytest

import credo
from credo.errors import ModelError, UnknownVariableError
from credo.graphs import elimination as graph_orders
from credo.graphs.elimination import EliminationOrder, induced_width, order_cost, triangulate

CLINIC = credo.examples.clinic()


def test_elimination_order_objects_and_graph_functions_check_their_orders():
    with pytest.raises(ModelError, match=r"\['a'\] more than once"):
        EliminationOrder(("a", "b", "a"), 1, 4, "explicit")
    graph = CLINIC.moralize()
    order = credo.elimination_order(CLINIC).order
    assert triangulate(graph, order)[1] and induced_width(graph, order) == order_cost(graph, order).induced_width
    with pytest.raises(UnknownVariableError, match="'Fluu'"):
        triangulate(graph, order[:-1] + ("Fluu",))  # a KeyError from deep inside before
    for function in (triangulate, induced_width, order_cost):
        with pytest.raises(ModelError, match=r"\['Fever'\] more than once"):
            function(graph, order + order[:1])
    with pytest.raises(ModelError, match="misses"):
        triangulate(graph, order[:-1])
    with pytest.raises(ModelError, match="sequence of variables"):
        graph_orders.check_order(3, ["a"])
