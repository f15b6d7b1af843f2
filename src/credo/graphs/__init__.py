"""Graph algorithms: ancestral sets, d-separation, moralization, elimination orders, triangulation."""

from credo.graphs.ancestry import ancestral_set
from credo.graphs.dseparation import (
    OpenPath,
    PathStep,
    active_trail_nodes,
    check_acyclic,
    explain_dependence,
    is_d_separated,
    markov_blanket,
    moral_graph,
)
from credo.graphs.elimination import (
    HEURISTICS,
    EliminationOrder,
    greedy_order,
    induced_width,
    interaction_graph,
    triangulate,
)

__all__ = [
    "ancestral_set",
    "OpenPath",
    "PathStep",
    "active_trail_nodes",
    "check_acyclic",
    "explain_dependence",
    "is_d_separated",
    "markov_blanket",
    "moral_graph",
    "HEURISTICS",
    "EliminationOrder",
    "greedy_order",
    "induced_width",
    "interaction_graph",
    "triangulate",
]
