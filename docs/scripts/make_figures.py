"""Regenerate every figure of the documentation into ``docs/img/``.

Run from anywhere::

    .venv/bin/python docs/scripts/make_figures.py            # writes docs/img/*.png
    .venv/bin/python docs/scripts/make_figures.py OUT_DIR    # somewhere else

Every number plotted is computed by credo (exact inference), so the figures
change when the library's answers do. Figures are drawn on matplotlib's Agg
canvas directly (no pyplot), so no display is needed and nothing global is
touched.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import networkx as nx
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import credo
from credo.viz import draw_network

IMG_DIR = Path(__file__).resolve().parent.parent / "img"
DPI = 140  # sharp on high-density screens, yet every PNG stays well under 200 KB

#: The critical coupling of the infinite 2-D Ising model, ln(1 + sqrt 2) / 2 (Onsager 1944).
ISING_CRITICAL_J = math.log(1 + math.sqrt(2)) / 2


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, out_dir: Path, name: str) -> Path:
    path = out_dir / name
    # No "Software" stamp: the bytes then depend only on what is drawn.
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    return path


def clinic_network(out_dir: Path) -> Path:
    """The clinic DAG (bayesian-networks.md)."""
    path = out_dir / "clinic.png"
    draw_network(credo.examples.clinic(), path, dpi=DPI)
    return path


def dsep_patterns(out_dir: Path) -> Path:
    """Chain, fork and collider side by side, the middle node observed (d-separation.md)."""
    patterns = [
        ("chain: blocked by Fever", [("Flu", "Fever"), ("Fever", "Hospital")], "Fever"),
        ("fork: blocked by Cold", [("Cold", "Cough"), ("Cold", "Runny")], "Cold"),
        ("collider: opened by Cough", [("Cold", "Cough"), ("Flu", "Cough")], "Cough"),
    ]
    fig = _figure(11.0, 2.0)
    axes = fig.subplots(1, 3)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.84, wspace=0.12)
    for ax, (title, edges, observed) in zip(axes, patterns):
        graph = nx.DiGraph(edges)
        ends = [n for n in graph if n != observed]
        # A straight row for the chain, a V (or inverted V) for fork and collider.
        if title.startswith("chain"):
            pos = {n: (1.6 * i, 0.0) for i, n in enumerate(["Flu", "Fever", "Hospital"])}
        else:
            y_mid = 0.0 if title.startswith("fork") else -1.0
            y_end = -1.0 if title.startswith("fork") else 0.0
            pos = {observed: (1.6, y_mid), ends[0]: (0.0, y_end), ends[1]: (3.2, y_end)}
        trail = ends[:1] + [observed] + ends[1:]
        draw_network(graph, evidence=[observed], ax=ax, layout=pos,
                     highlight_path=trail if title.startswith("collider") else None)
        ax.set_anchor("N")  # top-aligned, so the three titles line up
        ax.set_title(title, fontsize=11)
    return _save(fig, out_dir, "dsep-patterns.png")


def clinic_open_path(out_dir: Path) -> Path:
    """Cold and Fever given Cough: the open trail highlighted (d-separation.md)."""
    bn = credo.examples.clinic()
    trail = bn.explain_dependence("Cold", "Fever", given=["Cough"])
    path = out_dir / "clinic-open-path.png"
    draw_network(bn, path, evidence={"Cough": "yes"}, highlight_path=trail, dpi=DPI,
                 title=f"open trail given Cough: {trail}")
    return path


def explaining_away(out_dir: Path) -> Path:
    """P(Flu=yes) under more and more evidence (exact-inference.md)."""
    bn = credo.examples.clinic()
    cases = [
        ("prior", {}),
        ("Cough=yes", {"Cough": "yes"}),
        ("Cough=yes\nCold=yes", {"Cough": "yes", "Cold": "yes"}),
        ("Cough=yes\nCold=no", {"Cough": "yes", "Cold": "no"}),
    ]
    values = [credo.query(bn, ["Flu"], ev).marginals["Flu"]["yes"] for _, ev in cases]
    fig = _figure(6.4, 3.6)
    ax = fig.add_subplot()
    colors = ["#9e9e9e", "#1f77b4", "#d62728", "#2ca02c"]
    bars = ax.bar(range(len(cases)), values, color=colors, width=0.6)
    for bar, value in zip(bars, values):
        ax.annotate(f"{value:.3f}", (bar.get_x() + bar.get_width() / 2, value),
                    xytext=(0, 3), textcoords="offset points", ha="center", fontsize=10)
    ax.set_xticks(range(len(cases)), [label for label, _ in cases])
    ax.set_ylabel("P(Flu = yes | evidence)")
    ax.set_ylim(0, max(values) * 1.18)
    ax.set_title("Explaining away in the clinic network")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _save(fig, out_dir, "explaining-away.png")


def ising_grid(out_dir: Path) -> Path:
    """A 4 x 4 Ising model's Markov graph (markov-networks.md)."""
    path = out_dir / "ising-grid.png"
    draw_network(credo.MarkovNetwork.ising(4, 4), path, dpi=DPI)
    return path


def _mean_spin(model) -> float:
    marginals = credo.query(model).marginals
    return float(np.mean([d[1] - d[-1] for d in marginals.values()]))


def _corner_correlation(model, n: int) -> float:
    a, b = "x_0_0", f"x_{n - 1}_{n - 1}"
    joint = credo.query(model, [a, b], joint=True).joint
    # E[x_a x_b] = P(equal) - P(different), states ordered (-1, +1).
    table = joint.transpose([a, b]).values
    return float(np.trace(table) - table[0, 1] - table[1, 0])


def ising_magnetization(out_dir: Path, quick: bool = False) -> Path:
    """Exact mean spin and corner-to-corner correlation against J (markov-networks.md).

    ``quick`` draws small grids at three couplings only (for the test suite).
    """
    sizes = (2, 3) if quick else (2, 3, 4, 5)
    couplings = np.array([0.0, 0.5, 1.0]) if quick else np.linspace(0.0, 1.0, 26)
    fig = _figure(9.6, 3.6)
    left, right = fig.subplots(1, 2)
    for n in sizes:
        mean = [_mean_spin(credo.MarkovNetwork.ising(n, n, coupling=j, field=0.05)) for j in couplings]
        corr = [_corner_correlation(credo.MarkovNetwork.ising(n, n, coupling=j), n) for j in couplings]
        left.plot(couplings, mean, marker="o", markersize=3, label=f"{n} x {n}")
        right.plot(couplings, corr, marker="o", markersize=3, label=f"{n} x {n}")
    left.set_title("mean spin, small field h = 0.05")
    left.set_ylabel(r"$\langle x_i \rangle$")
    right.set_title("corner-to-corner correlation, h = 0")
    right.set_ylabel(r"$\langle x_{0,0}\, x_{n-1,n-1} \rangle$")
    for ax in (left, right):
        ax.axvline(ISING_CRITICAL_J, color="0.6", linestyle="--", linewidth=1)
        ax.set_xlabel("coupling J")
        ax.set_ylim(-0.02, 1.02)
        ax.spines[["top", "right"]].set_visible(False)
    left.text(ISING_CRITICAL_J + 0.02, 0.05, r"$J_c \approx 0.44$", color="0.4", fontsize=9)
    right.legend(title="grid", frameon=False, fontsize=9)
    fig.tight_layout()
    return _save(fig, out_dir, "ising-magnetization.png")


def eight_schools_plates(out_dir: Path) -> Path:
    """The plate diagram of non-centred eight schools, drawn by ``credo.render``."""
    from credo.ppl.examples import EIGHT_SCHOOLS_DATA, eight_schools_noncentered

    path = out_dir / "eight-schools-plates.png"
    credo.render(eight_schools_noncentered, EIGHT_SCHOOLS_DATA, path, dpi=DPI)
    return path


def eight_schools_trace(out_dir: Path) -> Path:
    """Trace plot of the centred eight schools with its divergences (``Posterior.plot_trace``)."""
    import jax

    from credo.examples import EIGHT_SCHOOLS_DATA, eight_schools_centered

    jax.config.update("jax_enable_x64", True)  # a script, not the library
    post = credo.nuts(eight_schools_centered, EIGHT_SCHOOLS_DATA, chains=2, warmup=300, draws=300,
                      seed=0, progress=False)
    fig = post.plot_trace(["mu", "tau"])
    return _save(fig, out_dir, "eight-schools-trace.png")


def _topic_figures() -> list:
    """The ``FIGURES`` of every ``*_figures.py`` beside this script, loaded by path (docs/ is not a package).

    Each topic (MCMC, VI, ...) keeps its figures in its own script; a figure
    function takes ``out_dir`` and, when it trains or samples, a keyword
    ``quick`` that the test suite sets to run a smaller version of it.
    """
    import importlib.util

    figures = []
    for script in sorted(Path(__file__).parent.glob("*_figures.py")):
        if script.name == Path(__file__).name:
            continue
        spec = importlib.util.spec_from_file_location(script.stem, script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        figures.extend(module.FIGURES)
    return figures


FIGURES = _topic_figures() + [eight_schools_plates, eight_schools_trace, clinic_network, dsep_patterns, clinic_open_path, explaining_away, ising_grid, ising_magnetization]


def main(out_dir: str | Path | None = None) -> list[Path]:
    """Write every figure into ``out_dir`` (default ``docs/img``); returns the paths."""
    out_dir = Path(out_dir) if out_dir is not None else IMG_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [make(out_dir) for make in FIGURES]
    for path in paths:
        print(f"{path}  {path.stat().st_size / 1024:.0f} KB")
    return paths


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
