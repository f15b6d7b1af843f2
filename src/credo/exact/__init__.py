"""Exact inference on discrete models."""

from credo.exact.result import MPEResult, QueryResult
from credo.exact.belief_propagation import belief_propagation, max_product
from credo.exact.elimination import log_partition, mpe, variable_elimination
from credo.exact.junction_tree import BatchMPEResult, BatchQueryResult, JunctionTree, junction_tree_query

__all__ = [
    "BatchMPEResult",
    "QueryResult",
    "MPEResult",
    "BatchQueryResult",
    "JunctionTree",
    "variable_elimination",
    "junction_tree_query",
    "belief_propagation",
    "max_product",
    "mpe",
    "log_partition",
]
