"""Plate diagrams: Graphviz source text, and drawings made with matplotlib alone.

Node styles (both outputs): latent sample sites are ellipses, observed ones
are shaded, deterministic sites are dashed diamonds, factors small black
squares and params plain boxes. Plates are labelled boxes ``name (size)``.

Plates nest by the order sites enter them, which gives a tree of *groups*
(one per distinct plate path). The matplotlib layout gives every group its
own band of columns, laid out in depth-first order, so that a plate's box
encloses exactly its members; rows are topological generations.
"""

from __future__ import annotations

import dataclasses
import re

import networkx as nx

__all__ = ["to_dot", "render"]


@dataclasses.dataclass
class _Group:
    """Sites sharing one plate path, with the groups nested inside it."""

    path: tuple
    nodes: list = dataclasses.field(default_factory=list)
    children: dict = dataclasses.field(default_factory=dict)

    def walk(self):
        """This group and its descendants, depth first."""
        yield self
        for child in self.children.values():
            yield from child.walk()

    def height(self) -> int:
        """Nesting levels below this group (0 for a leaf)."""
        return max((1 + c.height() for c in self.children.values()), default=0)


def _plate_tree(graph: nx.DiGraph) -> _Group:
    root = _Group(())
    for node, plates in graph.nodes(data="plates"):
        group = root
        for depth, name in enumerate(plates or ()):
            group = group.children.setdefault(name, _Group(tuple(plates[: depth + 1])))
        group.nodes.append(node)
    return root


# --------------------------------------------------------------------------- Graphviz


_DOT_STYLE = {
    "sample": 'shape=ellipse',
    "deterministic": 'shape=diamond, style=dashed',
    "factor": 'shape=square, style=filled, fillcolor=black, label="", width=0.15',
    "param": 'shape=box',
}


def to_dot(graph: nx.DiGraph, plates: dict) -> str:
    """Graphviz ``digraph`` source of the plate diagram of ``graph``.

    Parameters
    ----------
    graph : networkx.DiGraph
        A site graph from :func:`credo.ppl.model_graph`.
    plates : dict of str -> int

    Returns
    -------
    str
        Plates are ``subgraph cluster_<name>`` blocks labelled ``name (size)``.
    """
    lines = ["digraph model {", "  node [fontname=Helvetica];"]
    _dot_group(graph, plates, _plate_tree(graph), lines, "  ")
    lines += [f"  {_quote(a)} -> {_quote(b)};" for a, b in graph.edges]
    lines.append("}")
    return "\n".join(lines)


def _dot_group(graph, plates, group: _Group, lines: list, indent: str) -> None:
    for node in group.nodes:
        lines.append(f"{indent}{_quote(node)} [{_dot_node_style(graph.nodes[node])}];")
    for name, child in group.children.items():
        cluster = "cluster_" + "_".join(re.sub(r"\W", "_", p) for p in child.path)
        lines.append(f"{indent}subgraph {cluster} {{")
        lines.append(f'{indent}  label="{name} ({plates.get(name, "?")})"; labeljust=r; labelloc=b;')
        _dot_group(graph, plates, child, lines, indent + "  ")
        lines.append(f"{indent}}}")


def _dot_node_style(attrs: dict) -> str:
    style = _DOT_STYLE[attrs["type"]]
    if attrs["observed"] and attrs["type"] == "sample":
        style += ", style=filled, fillcolor=lightgray"
    return style


def _quote(name) -> str:
    return '"' + str(name).replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- matplotlib

_ROW = 1.1      # vertical distance between generations (inches)
_MARGIN = 0.12  # extra box padding per nesting level (inches)
_HEIGHT = 0.45  # node height (inches)


def _node_width(node) -> float:
    return max(0.55, 0.075 * len(str(node)) + 0.25)


def _layout(graph: nx.DiGraph, root: _Group):
    """Node -> (x, y) in inches, plus the column spacing used."""
    rows = {n: r for r, gen in enumerate(nx.topological_generations(graph)) for n in gen}
    step = max((_node_width(n) for n in graph), default=1.0) + 0.35
    pos, cursor = {}, 0.0

    def place(group: _Group, cursor: float) -> float:
        gap = _MARGIN * (group.height() + 2) if group.path else 0.0
        cursor += gap
        columns = {}
        for node in group.nodes:
            col = columns.setdefault(rows[node], 0)
            columns[rows[node]] += 1
            pos[node] = (cursor + col * step, -rows[node] * _ROW)
        cursor += max(columns.values(), default=0) * step
        for child in group.children.values():
            cursor = place(child, cursor)
        return cursor + gap

    place(root, cursor)
    return pos, step


def render(graph: nx.DiGraph, plates: dict, path=None, *, dpi: int = 150):
    """Draw the plate diagram of ``graph`` with matplotlib (no Graphviz needed).

    Parameters
    ----------
    graph : networkx.DiGraph
        A site graph from :func:`credo.ppl.model_graph`.
    plates : dict of str -> int
    path : str or path-like, optional
        Where to save; the extension picks the format (``.png``, ``.svg``, ``.pdf``, ...).
    dpi : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    root = _plate_tree(graph)
    pos, step = _layout(graph, root)
    fig = Figure()
    ax = fig.add_axes((0, 0, 1, 1))
    patches = {node: _draw_node(ax, node, graph.nodes[node], pos[node]) for node in graph}
    for group in list(root.walk())[1:]:
        _draw_plate(ax, group, plates, pos)
    for a, b in graph.edges:
        _draw_edge(ax, patches[a], patches[b], pos[a], pos[b])
    _fit(fig, ax, pos)
    if path is not None:
        fig.savefig(path, dpi=dpi, bbox_inches="tight", pad_inches=0.1)
    return fig


def _draw_node(ax, node, attrs: dict, xy):
    from matplotlib.patches import Ellipse, Polygon, Rectangle

    width, kind = _node_width(node), attrs["type"]
    x, y = xy
    if kind == "deterministic":
        w, h = width / 2 + 0.1, _HEIGHT / 2 + 0.08
        patch = Polygon([(x - w, y), (x, y + h), (x + w, y), (x, y - h)], closed=True,
                        facecolor="white", edgecolor="black", linestyle="--")
    elif kind == "factor":
        patch = Rectangle((x - 0.08, y - 0.08), 0.16, 0.16, facecolor="black")
    elif kind == "param":
        patch = Rectangle((x - width / 2, y - _HEIGHT / 2), width, _HEIGHT,
                          facecolor="white", edgecolor="black")
    else:
        shade = "lightgray" if attrs["observed"] else "white"
        patch = Ellipse(xy, width, _HEIGHT, facecolor=shade, edgecolor="black")
    ax.add_patch(patch)
    label_y = y + 0.18 if kind == "factor" else y
    ax.text(x, label_y, str(node), ha="center", va="center", fontsize=9, zorder=3)
    return patch


def _draw_plate(ax, group: _Group, plates: dict, pos: dict) -> None:
    from matplotlib.patches import Rectangle

    members = [pos[n] for g in group.walk() for n in g.nodes]
    if not members:
        return
    xs, ys = [p[0] for p in members], [p[1] for p in members]
    pad = _MARGIN * (group.height() + 1)
    half_w = max(_node_width(n) for g in group.walk() for n in g.nodes) / 2
    x0, x1 = min(xs) - half_w - pad, max(xs) + half_w + pad
    # room at the bottom for this plate's label below those of nested plates
    label_room = 0.25 * (group.height() + 1)
    y0, y1 = min(ys) - _HEIGHT / 2 - pad - label_room, max(ys) + _HEIGHT / 2 + pad
    name = group.path[-1]
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="black"))
    ax.text(x1 - 0.06, y0 + 0.05, f"{name} ({plates.get(name, '?')})", ha="right", va="bottom",
            fontsize=8)


def _draw_edge(ax, patch_a, patch_b, a, b) -> None:
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(FancyArrowPatch(a, b, patchA=patch_a, patchB=patch_b, arrowstyle="-|>",
                                 mutation_scale=12, shrinkA=0, shrinkB=0, color="black"))


def _fit(fig, ax, pos: dict) -> None:
    """Size the figure so that one data unit is one inch, with a border for plates."""
    border = 1.0 + _MARGIN * 4
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    x0, x1 = min(xs) - border, max(xs) + border
    y0, y1 = min(ys) - border, max(ys) + border
    fig.set_size_inches(x1 - x0, y1 - y0)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.axis("off")
