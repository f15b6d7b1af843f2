"""Drawing Bayesian networks, Markov networks and factor graphs with matplotlib.

Only matplotlib's object-oriented API is used: a new drawing gets its own
:class:`matplotlib.figure.Figure` on an Agg canvas, so nothing here selects a
backend, opens a window or touches pyplot's global state. matplotlib is
imported inside the functions, keeping ``import credo`` free of it.

Geometry is done in data units that map to one inch at full scale. Node sizes
follow their labels, so edges can be clipped exactly at the node outlines
(ellipses for variables, squares for factors) instead of at a guessed radius.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping

import networkx as nx

from credo.errors import ModelError, UnknownVariableError

__all__ = ["draw_network", "layout", "LAYOUTS"]

#: Layout names accepted by :func:`layout` and :func:`draw_network`.
LAYOUTS = ("auto", "layered", "grid", "spring")

# Style. Observed nodes are shaded, as in the plate-notation convention of
# the background article; the open path is drawn in a colour that survives
# grayscale printing as a thicker line.
_NODE_FACE = "#ffffff"
_OBSERVED_FACE = "#b8b8b8"
_EDGE_COLOR = "#404040"
_HIGHLIGHT = "#d62728"
_FACTOR_FACE = "#303030"

_FONT_SIZE = 10.0  # points, at scale 1
_CHAR_WIDTH = 0.6 * _FONT_SIZE / 72  # inches per character, a typical sans-serif average
_NODE_HEIGHT = 0.42  # inches (the ellipse's full height)
_FACTOR_SIZE = 0.16  # inches (side of a factor square)
_H_GAP = 0.35  # inches between neighbouring nodes of a layer
_V_GAP = 1.0  # inches between layers
_MARGIN = 0.15  # inches around the drawing
_MAX_SIZE = (11.0, 9.0)  # inches; larger drawings are scaled down, fonts included

_GRID_NAME = re.compile(r"^x_(\d+)_(\d+)$")


# --------------------------------------------------------------------------- inputs


def _graph_of(model) -> nx.Graph:
    """The graph to draw: a model's ``graph`` or a networkx graph itself."""
    if isinstance(model, nx.Graph):
        return model
    graph = getattr(model, "graph", None)
    if not isinstance(graph, nx.Graph):
        raise ModelError(f"cannot draw a {type(model).__name__}; expected a credo model or a networkx graph")
    return graph


def _is_factor(graph: nx.Graph, node) -> bool:
    # FactorGraph marks its factor nodes bipartite=1 (variables are bipartite=0).
    return graph.nodes[node].get("bipartite") == 1


def _node_list(graph: nx.Graph, nodes) -> list:
    """``nodes`` (one node, an iterable, or an OpenPath) as a list, each checked to be in ``graph``."""
    nodes = getattr(nodes, "nodes", nodes)  # an OpenPath carries its trail in .nodes
    # A tuple can itself be a node (a factor graph's ("factor", i)), so
    # membership wins over iterability, as in credo.graphs.
    if isinstance(nodes, str) or not isinstance(nodes, Iterable) or nodes in graph:
        nodes = [nodes]
    nodes = list(nodes)
    for node in nodes:
        if node not in graph:
            raise UnknownVariableError(node, [n for n in graph.nodes if not _is_factor(graph, n)])
    return nodes


def _path_edges(graph: nx.Graph, nodes: list) -> set:
    """Unordered pairs of consecutive path nodes, each checked to be an edge of ``graph``."""
    pairs = set()
    for a, b in zip(nodes, nodes[1:]):
        if not (graph.has_edge(a, b) or (graph.is_directed() and graph.has_edge(b, a))):
            raise ModelError(f"highlight_path steps from {a!r} to {b!r}, which are not adjacent")
        pairs.add(frozenset((a, b)))
    return pairs


def _label(node, evidence: Mapping) -> str:
    if node in evidence and evidence[node] is not None:
        return f"{node} = {evidence[node]}"
    return str(node)


def _node_size(graph: nx.Graph, node, label: str) -> tuple[float, float]:
    """(width, height) in inches at scale 1: an ellipse around the label, or a factor square."""
    if _is_factor(graph, node):
        return _FACTOR_SIZE, _FACTOR_SIZE
    # An ellipse holds a w x h text box when its axes are sqrt(2) times larger;
    # labels are one line, so stretching only the width is enough.
    width = max(_NODE_HEIGHT, 1.2 * _CHAR_WIDTH * len(label) + 0.25)
    return width, _NODE_HEIGHT


# --------------------------------------------------------------------------- layouts


def _layered(graph: nx.DiGraph, sizes: Mapping) -> dict:
    """Nodes by topological generation (roots on top), each layer centred.

    Within a layer nodes are sorted by the mean position of their parents
    (the barycenter heuristic of Sugiyama et al. 1981), which removes most
    edge crossings of small networks; ties keep the graph's node order.
    """
    order = {node: i for i, node in enumerate(graph.nodes)}
    positions: dict = {}
    for depth, generation in enumerate(nx.topological_generations(graph)):
        def barycenter(node):
            parents = [positions[p][0] for p in graph.predecessors(node)]
            return (sum(parents) / len(parents) if parents else 0.0, order[node])

        layer = sorted(generation, key=barycenter if depth else order.__getitem__)
        widths = [sizes[n][0] for n in layer]
        total = sum(widths) + _H_GAP * (len(layer) - 1)
        x = -total / 2
        for node, width in zip(layer, widths):
            positions[node] = (x + width / 2, -depth * _V_GAP)
            x += width + _H_GAP
    return positions


def _grid_cells(graph: nx.Graph) -> dict | None:
    """``{node: (row, col)}`` when every variable is named ``x_r_c`` (as in ``MarkovNetwork.ising``).

    Factor nodes (of a factor graph) are not named that way and are left out.
    """
    cells = {}
    for node in graph.nodes:
        if _is_factor(graph, node):
            continue
        match = _GRID_NAME.match(node) if isinstance(node, str) else None
        if match is None:
            return None
        cells[node] = (int(match[1]), int(match[2]))
    return cells or None


def _grid(graph: nx.Graph, sizes: Mapping) -> dict:
    cells = _grid_cells(graph)
    if cells is None:
        raise ModelError("the grid layout needs every variable named 'x_<row>_<col>'")
    step_x = max(sizes[n][0] for n in cells) + _H_GAP
    step_y = max(sizes[n][1] for n in cells) + _H_GAP
    positions = {node: (c * step_x, -r * step_y) for node, (r, c) in cells.items()}
    for node in graph.nodes:
        if node in positions:
            continue
        # A factor sits between its variables; a one-variable factor beside
        # its variable, up and to the right, clear of the grid's edges.
        around = [positions[v] for v in graph.neighbors(node) if v in positions]
        if not around:
            raise ModelError(f"factor {node!r} has no variable to be placed by")
        x = sum(p[0] for p in around) / len(around)
        y = sum(p[1] for p in around) / len(around)
        if len(around) == 1:
            x, y = x + 0.3 * step_x, y + 0.3 * step_y
        positions[node] = (x, y)
    return positions


def _spring(graph: nx.Graph, sizes: Mapping) -> dict:
    # A fixed seed: the same model always gets the same picture.
    raw = nx.spring_layout(graph, seed=0)
    lengths = sorted(math.dist(raw[u], raw[v]) for u, v in graph.edges)
    if not lengths:
        lengths = [2.0 / math.sqrt(max(len(raw), 1))]  # no edges: spring_layout's natural spacing
    # Stretch until a typical (median) edge is 1.3 node spacings (widest
    # label plus gap) long: the nodes clear each other and the line between
    # them stays visible, without spreading a small graph over a large sheet.
    variables = [n for n in graph.nodes if not _is_factor(graph, n)] or list(graph.nodes)
    step = max(sizes[n][0] for n in variables) + _H_GAP
    factor = 1.3 * step / max(lengths[len(lengths) // 2], 1e-9)
    return {node: (float(x) * factor, float(y) * factor) for node, (x, y) in raw.items()}


def _positions(graph: nx.Graph, sizes: Mapping, kind) -> dict:
    if isinstance(kind, Mapping):
        missing = [n for n in graph.nodes if n not in kind]
        if missing:
            raise ModelError(f"the given layout has no position for {missing[:10]}")
        return {n: (float(kind[n][0]), float(kind[n][1])) for n in graph.nodes}
    if kind not in LAYOUTS:
        raise ModelError(f"unknown layout {kind!r}; choose one of {LAYOUTS} or pass {{node: (x, y)}}")
    if kind == "auto":
        if graph.is_directed() and nx.is_directed_acyclic_graph(graph):
            kind = "layered"
        else:
            kind = "grid" if _grid_cells(graph) is not None else "spring"
    if kind == "layered":
        if not (graph.is_directed() and nx.is_directed_acyclic_graph(graph)):
            raise ModelError("the layered layout needs a directed acyclic graph")
        return _layered(graph, sizes)
    return _grid(graph, sizes) if kind == "grid" else _spring(graph, sizes)


def layout(model, kind="auto") -> dict:
    """Node positions as :func:`draw_network` computes them.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork, FactorGraph or networkx graph
    kind : {"auto", "layered", "grid", "spring"}
        ``"auto"``: layered for a DAG, grid when every node is named
        ``x_<row>_<col>`` (Ising models), spring otherwise.

    Returns
    -------
    dict
        ``{node: (x, y)}`` in inches at full scale; roots and row 0 on top.
    """
    graph = _graph_of(model)
    sizes = {n: _node_size(graph, n, str(n)) for n in graph.nodes}
    return _positions(graph, sizes, kind)


# --------------------------------------------------------------------------- drawing


def _boundary(center, size, toward, is_factor: bool) -> tuple[float, float]:
    """Where the ray from ``center`` to ``toward`` leaves the node's outline."""
    (x, y), (tx, ty) = center, toward
    dx, dy = tx - x, ty - y
    if dx == 0 and dy == 0:
        return x, y
    a, b = size[0] / 2, size[1] / 2
    if is_factor:
        t = min(a / abs(dx) if dx else math.inf, b / abs(dy) if dy else math.inf)
    else:
        t = 1.0 / math.sqrt((dx / a) ** 2 + (dy / b) ** 2)
    return x + t * dx, y + t * dy


def draw_network(
    model,
    path: str | os.PathLike | None = None,
    evidence: Mapping | Iterable | None = None,
    ax=None,
    highlight_path=None,
    *,
    layout: str | Mapping = "auto",
    title: str | None = None,
    dpi: int = 150,
):
    """Draw a model's graph with matplotlib.

    A Bayesian network is drawn as a layered DAG: nodes placed by topological
    generation (``networkx.topological_generations``), roots on top, each
    layer spread horizontally. A Markov network is drawn undirected: on its
    grid when every variable is named ``x_<row>_<col>`` (as
    :meth:`~credo.MarkovNetwork.ising` names them), otherwise with a seeded
    spring layout. A factor graph shows its factors as small black squares.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork, FactorGraph or networkx graph
    path : str or path-like, optional
        Save the figure there (format from the extension, e.g. ``.png``, ``.svg``).
    evidence : mapping or iterable, optional
        Observed nodes, drawn shaded: ``{variable: state}`` (the state is
        shown in the node) or just the variables.
    ax : matplotlib.axes.Axes, optional
        Draw into these axes; by default a new figure (on an Agg canvas, so
        no window opens and pyplot is left alone) is sized to the graph.
    highlight_path : OpenPath or sequence of nodes, optional
        A trail, e.g. from :meth:`~credo.BayesianNetwork.explain_dependence`:
        its nodes get a coloured outline and the edges between consecutive
        nodes are drawn thick in the same colour.
    layout : {"auto", "layered", "grid", "spring"} or mapping, keyword-only
        Or ``{node: (x, y)}`` in inches.
    title : str, optional, keyword-only
    dpi : int, keyword-only
        Resolution when saving to a raster format.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    UnknownVariableError
        An evidence or path node is not in the graph.
    ModelError
        Consecutive path nodes are not adjacent, or the layout does not fit the graph.

    Examples
    --------
    >>> import credo
    >>> from credo.viz import draw_network
    >>> bn = credo.examples.clinic()
    >>> trail = bn.explain_dependence("Cold", "Flu", given=["Cough"])
    >>> fig = draw_network(bn, evidence={"Cough": "yes"}, highlight_path=trail)
    """
    from matplotlib.patches import Ellipse, FancyArrowPatch, Rectangle

    graph = _graph_of(model)
    if evidence is None:
        evidence = {}
    elif not isinstance(evidence, Mapping):
        evidence = dict.fromkeys(_node_list(graph, evidence))
    else:
        _node_list(graph, list(evidence))
    trail = _node_list(graph, highlight_path) if highlight_path is not None else []
    trail_nodes, trail_edges = set(trail), _path_edges(graph, trail)

    labels = {n: "" if _is_factor(graph, n) else _label(n, evidence) for n in graph.nodes}
    sizes = {n: _node_size(graph, n, labels[n]) for n in graph.nodes}
    pos = _positions(graph, sizes, layout)

    # Extent of the drawing in inches at full scale.
    if pos:
        left = min(pos[n][0] - sizes[n][0] / 2 for n in pos) - _MARGIN
        right = max(pos[n][0] + sizes[n][0] / 2 for n in pos) + _MARGIN
        bottom = min(pos[n][1] - sizes[n][1] / 2 for n in pos) - _MARGIN
        top = max(pos[n][1] + sizes[n][1] / 2 for n in pos) + _MARGIN
    else:
        left, right, bottom, top = -0.5, 0.5, -0.5, 0.5
    extent_w, extent_h = right - left, top - bottom
    title_h = 0.35 if title else 0.0

    if ax is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        scale = min(1.0, _MAX_SIZE[0] / extent_w, _MAX_SIZE[1] / (extent_h + title_h))
        fig = Figure(figsize=(extent_w * scale, (extent_h + title_h) * scale))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, extent_h / (extent_h + title_h)))
    else:
        fig = ax.figure
        # Fit fonts and line widths to the axes the caller gave us.
        box = ax.get_position()
        fig_w, fig_h = fig.get_size_inches()
        scale = min(box.width * fig_w / extent_w, box.height * fig_h / extent_h)
    scale = max(scale, 0.05)
    font = max(_FONT_SIZE * scale, 4.0)

    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=font * 1.2, y=1 - 0.08 * title_h / (extent_h + title_h))

    directed = graph.is_directed()
    for u, v in graph.edges:
        hot = frozenset((u, v)) in trail_edges
        start = _boundary(pos[u], sizes[u], pos[v], _is_factor(graph, u))
        end = _boundary(pos[v], sizes[v], pos[u], _is_factor(graph, v))
        ax.add_patch(FancyArrowPatch(
            start, end,
            arrowstyle="-|>" if directed else "-",
            mutation_scale=14 * scale,
            shrinkA=0, shrinkB=0,
            linewidth=(2.8 if hot else 1.2) * scale,
            color=_HIGHLIGHT if hot else _EDGE_COLOR,
            zorder=2 if hot else 1,
        ))

    for node in graph.nodes:
        (x, y), (w, h) = pos[node], sizes[node]
        hot = node in trail_nodes
        edge_kw = dict(edgecolor=_HIGHLIGHT if hot else _EDGE_COLOR, linewidth=(2.8 if hot else 1.2) * scale)
        if _is_factor(graph, node):
            ax.add_patch(Rectangle((x - w / 2, y - h / 2), w, h, facecolor=_FACTOR_FACE, zorder=3, **edge_kw))
            continue
        face = _OBSERVED_FACE if node in evidence else _NODE_FACE
        ax.add_patch(Ellipse((x, y), w, h, facecolor=face, zorder=3, **edge_kw))
        ax.text(x, y, labels[node], ha="center", va="center", fontsize=font, zorder=4)

    if path is not None:
        fig.savefig(path, dpi=dpi)
    return fig
