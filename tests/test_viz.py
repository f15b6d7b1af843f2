"""credo.viz.draw_network: pictures of networks, drawn off-screen."""

import sys

import networkx as nx
import numpy as np
import pytest

import credo
from credo.viz import draw_network, layout

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def clinic():
    return credo.examples.clinic()


def _png_ok(path, min_bytes=5_000):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    # A blank canvas compresses to a few hundred bytes; drawn nodes and
    # labels take several kilobytes.
    assert len(data) > min_bytes
    return data


def _colors(fig, attribute):
    from matplotlib.colors import to_hex

    return [to_hex(getattr(p, attribute)()) for ax in fig.axes for p in ax.patches]


def test_clinic_png(tmp_path, clinic):
    out = tmp_path / "clinic.png"
    fig = draw_network(clinic, out)
    _png_ok(out)
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert texts == set(clinic.variables)
    # One ellipse per node and one arrow (with a head) per edge.
    from matplotlib.patches import ArrowStyle

    patches = fig.axes[0].patches
    arrows = [p for p in patches if type(p).__name__ == "FancyArrowPatch"]
    assert len(patches) == len(clinic.variables) + len(clinic.edges) == 7 + 7
    assert all(type(a.get_arrowstyle()) is ArrowStyle.CurveFilledB for a in arrows)


def test_layered_layout_follows_topological_generations(clinic):
    pos = layout(clinic)
    generations = list(nx.topological_generations(clinic.graph))
    for depth, generation in enumerate(generations):
        ys = {pos[n][1] for n in generation}
        assert len(ys) == 1  # one row per generation
        xs = sorted(pos[n][0] for n in generation)
        assert all(b > a for a, b in zip(xs, xs[1:]))  # spread out, no overlap
    # Roots above their children.
    assert all(pos[u][1] > pos[v][1] for u, v in clinic.edges)


def test_evidence_shaded_and_labelled(clinic):
    fig = draw_network(clinic, evidence={"Cough": "yes"})
    faces = _colors(fig, "get_facecolor")
    assert faces.count("#b8b8b8") == 1
    assert "Cough = yes" in {t.get_text() for t in fig.axes[0].texts}
    # Evidence may also be a plain list of observed nodes.
    fig = draw_network(clinic, evidence=["Cough", "Fever"])
    assert _colors(fig, "get_facecolor").count("#b8b8b8") == 2


def test_highlight_open_path(tmp_path, clinic):
    trail = clinic.explain_dependence("Cold", "Fever", given=["Cough"])
    assert trail.nodes == ("Cold", "Cough", "Flu", "Fever")
    out = tmp_path / "path.png"
    fig = draw_network(clinic, out, evidence={"Cough": "yes"}, highlight_path=trail)
    _png_ok(out)
    edges = _colors(fig, "get_edgecolor")
    red = "#d62728"
    # 4 outlined nodes + 3 highlighted edges (arrows take their edge colour).
    assert edges.count(red) == 4 + 3
    # A list of nodes works the same way.
    fig = draw_network(clinic, highlight_path=["Cold", "Cough", "Flu"])
    assert _colors(fig, "get_edgecolor").count(red) == 3 + 2


def test_highlight_errors(clinic):
    with pytest.raises(credo.ModelError, match="not adjacent"):
        draw_network(clinic, highlight_path=["Cold", "Flu"])
    with pytest.raises(credo.UnknownVariableError):
        draw_network(clinic, highlight_path=["Cold", "Measles"])
    with pytest.raises(credo.UnknownVariableError):
        draw_network(clinic, evidence={"Measles": "yes"})
    with pytest.raises(credo.ModelError, match="layout"):
        draw_network(clinic, layout="circular")


def test_ising_grid_png(tmp_path):
    ising = credo.MarkovNetwork.ising(4, 5, coupling=0.5)
    out = tmp_path / "ising.png"
    fig = draw_network(ising, out, evidence={"x_0_0": 1})
    _png_ok(out)
    pos = layout(ising)
    # Grid layout: rows share a y, columns share an x, row 0 on top.
    assert pos["x_0_0"][1] == pos["x_0_4"][1] > pos["x_3_0"][1]
    assert pos["x_0_2"][0] == pos["x_3_2"][0]
    # Undirected: 4*4 + 3*5 = 31 edges drawn as plain lines, no arrow heads.
    arrows = [p for p in fig.axes[0].patches if type(p).__name__ == "FancyArrowPatch"]
    assert len(arrows) == 31
    from matplotlib.patches import ArrowStyle

    assert all(type(a.get_arrowstyle()) is ArrowStyle.Curve for a in arrows)


def test_factor_graph_and_spring(tmp_path, clinic):
    fg = credo.MarkovNetwork.ising(2, 3).to_factor_graph()
    out = tmp_path / "fg.png"
    draw_network(fg, out)
    _png_ok(out, min_bytes=2_000)
    # A Markov network whose names are not a grid gets a (seeded, repeatable) spring layout.
    mn = clinic.to_markov_network()
    assert layout(mn) == layout(mn)
    draw_network(mn, tmp_path / "mn.png")
    _png_ok(tmp_path / "mn.png")


def test_draw_into_given_axes(tmp_path, clinic):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    assert draw_network(clinic, ax=left) is fig
    draw_network(nx.path_graph(["a", "b", "c"]), ax=right, highlight_path=["a", "b"])
    fig.savefig(tmp_path / "both.png")
    _png_ok(tmp_path / "both.png")


def test_does_not_touch_pyplot(clinic):
    # Drawing must work headless and leave pyplot's backend choice alone.
    had_pyplot = "matplotlib.pyplot" in sys.modules
    draw_network(clinic)
    assert ("matplotlib.pyplot" in sys.modules) == had_pyplot


def test_cyclic_directed_graph_falls_back_to_spring(tmp_path):
    graph = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a")])
    draw_network(graph, tmp_path / "cycle.png")
    with pytest.raises(credo.ModelError, match="acyclic"):
        draw_network(graph, layout="layered")


# ----------------------------------------------------------------------------- trace plots
def _posterior():
    from credo.mcmc.posterior import GradEvals, Posterior

    rng = np.random.default_rng(0)
    draws = {"mu": rng.normal(size=(2, 30)), "beta": rng.normal(size=(2, 30, 3))}
    return Posterior(draws, {"is_divergent": np.zeros((2, 30), bool)},
                     num_grad_evals=GradEvals(0, 60), step_size=np.ones(2),
                     inverse_mass_matrix=np.ones((2, 4)))


def test_trace_plot_of_an_unknown_site_names_it_and_the_valid_ones():
    post = _posterior()
    with pytest.raises(credo.errors.UnknownVariableError) as info:
        post.plot_trace(["bb"])
    assert str(info.value) == "unknown variable 'bb'; valid variables: 'mu', 'beta'"
    assert info.value.variable == "bb" and info.value.valid == ["mu", "beta"]
    with pytest.raises(credo.errors.UnknownVariableError, match="did you mean 'beta'"):
        post.plot_trace(["mu", "betta"])


def test_trace_plot_of_one_name_plots_that_site():
    import matplotlib.pyplot as plt

    fig = _posterior().plot_trace("beta", max_elements=2)  # one site, not its letters
    assert [ax.get_title(loc="left") for ax in fig.axes[::2]] == ["beta[0]", "beta[1]"]
    plt.close(fig)
