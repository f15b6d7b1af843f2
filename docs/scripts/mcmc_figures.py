"""Regenerate the MCMC figures of the documentation (``docs/mh-gibbs.md``) into ``docs/img/``.

Run from anywhere::

    .venv/bin/python docs/scripts/mcmc_figures.py            # writes docs/img/gibbs-*.png
    .venv/bin/python docs/scripts/mcmc_figures.py OUT_DIR    # somewhere else

The paths and effective sample sizes are computed by credo's samplers with
fixed seeds. Figures are drawn on matplotlib's Agg canvas directly (no
pyplot), so no display is needed and nothing global is touched.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

IMG_DIR = Path(__file__).resolve().parent.parent / "img"
DPI = 110

#: Correlation of the 2-D Gaussian of the background article's zig-zag example.
RHO = 0.99


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, out_dir: Path, name: str) -> Path:
    path = Path(out_dir) / name
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    return path


def correlated_gaussian(rho: float = RHO):
    """``x ~ N(0, 1)``, ``y | x ~ N(rho x, 1 - rho^2)``: a standard 2-D Gaussian, correlation ``rho``."""
    import credo.ppl as ppl
    from credo import distributions as dist

    x = ppl.sample("x", dist.Normal(0.0, 1.0))
    ppl.sample("y", dist.Normal(rho * x, float(np.sqrt(1 - rho**2))))


def zigzag_runs(draws: int = 2000, seed: int = 0) -> dict:
    """Gibbs and NUTS on :func:`correlated_gaussian`: draws and bulk ESS per draw of ``x``."""
    from credo.diagnostics import ess_bulk
    from credo.mcmc.gibbs import gibbs
    from credo.mcmc.runner import nuts

    gibbs_post = gibbs(correlated_gaussian, None, chains=4, warmup=100, draws=draws, seed=seed,
                       progress=False)
    nuts_post = nuts(correlated_gaussian, None, chains=4, warmup=500, draws=draws, seed=seed,
                     progress=False)
    out = {}
    for name, post in (("gibbs", gibbs_post), ("nuts", nuts_post)):
        x = post.draws["x"]
        out[name] = {"x": x, "y": post.draws["y"],
                     "ess_per_draw": float(ess_bulk(x)) / x.size,
                     "grad_per_draw": post.num_grad_evals.per_draw(x.size)}
    return out


def gibbs_zigzag(out_dir: Path = IMG_DIR, quick: bool = False) -> Path:
    """Gibbs zig-zags along a correlation-0.99 ridge; NUTS crosses it (mh-gibbs.md).

    Left: the first sweeps of Gibbs from the end of the ridge (Gibbs needs no
    tuning, so no warmup); right: the first draws of NUTS after its warmup.
    The ESS per draw comes from separate runs of 2000 draws on 4 chains
    (500 when ``quick``, for the test suite).
    """
    from credo.mcmc.gibbs import gibbs

    runs = zigzag_runs(500 if quick else 2000)
    steps = 30
    start = gibbs(correlated_gaussian, None, chains=1, warmup=0, draws=steps, seed=1,
                  progress=False, init={"x": -2.5, "y": -2.5})
    paths = {"gibbs": (np.r_[-2.5, start.draws["x"][0]], np.r_[-2.5, start.draws["y"][0]]),
             "nuts": (runs["nuts"]["x"][0, :steps], runs["nuts"]["y"][0, :steps])}
    fig = _figure(8.4, 4.0)
    grid = np.linspace(-3.2, 3.2, 200)
    gx, gy = np.meshgrid(grid, grid)
    # Mahalanobis distance of the standard bivariate normal with correlation RHO
    quad = (gx**2 - 2 * RHO * gx * gy + gy**2) / (1 - RHO**2)
    for i, name in enumerate(("gibbs", "nuts")):
        ax = fig.add_subplot(1, 2, i + 1)
        ax.contour(gx, gy, quad, levels=[1.0, 4.0, 9.0], colors="0.7", linewidths=0.8)
        x, y = paths[name]
        if name == "gibbs":
            # a sweep moves x (horizontally), then y (vertically)
            px = np.repeat(x, 2)[:-1]
            py = np.concatenate([[y[0]], np.repeat(y[1:], 2)])
            px, py = px[1:], py[:-1]
            ax.plot(np.r_[x[0], px], np.r_[y[0], py], "-", color="C3", lw=1.0)
        else:
            ax.plot(x, y, "-", color="C0", lw=0.8, alpha=0.8)
        ax.plot(x, y, "o", ms=2.5, color="C3" if name == "gibbs" else "C0")
        ess = runs[name]["ess_per_draw"]
        label = "Gibbs (exact conditionals)" if name == "gibbs" else "NUTS"
        ax.set_title(f"{label}: first {steps} draws\nESS per draw of x: {ess:.3f}", fontsize=9)
        ax.text(0.03, 0.97, "contours: 1, 2, 3 sd", transform=ax.transAxes, fontsize=7,
                va="top", color="0.4")
        ax.set_xlim(-3.2, 3.2)
        ax.set_ylim(-3.2, 3.2)
        ax.set_aspect("equal")
        ax.set_xlabel("x")
        if i == 0:
            ax.set_ylabel("y")
    fig.tight_layout()
    return _save(fig, out_dir, "gibbs-zigzag.png")


FIGURES = [gibbs_zigzag]


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    out_dir = Path(argv[0]) if argv else IMG_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    for make in FIGURES:
        print(make(out_dir))


if __name__ == "__main__":
    main()
