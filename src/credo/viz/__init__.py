"""Pictures of models, drawn with matplotlib alone (no Graphviz).

matplotlib is imported only when a drawing function runs, so ``import
credo.viz`` stays cheap and never changes pyplot's global state.
"""

from credo.viz.graphs import draw_network, layout
from credo.viz.traces import plot_trace

__all__ = ["draw_network", "layout", "plot_trace"]
