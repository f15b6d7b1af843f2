"""Regenerate the VI-versus-MCMC figures of ``docs/variational-inference.md`` into ``docs/img/``.

Run from anywhere::

    .venv/bin/python docs/scripts/vi_figures.py            # writes docs/img/vi-*.png
    .venv/bin/python docs/scripts/vi_figures.py OUT_DIR    # somewhere else

Every fit and draw is computed by credo with fixed seeds. Figures are drawn on
matplotlib's Agg canvas directly (no pyplot), so no display is needed and
nothing global is touched.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

IMG_DIR = Path(__file__).resolve().parent.parent / "img"
DPI = 110

#: The bimodal target of the mode-collapse figure (as in tests/vi/test_flows_vi.py).
WEIGHTS, MODES, MODE_SD = (0.35, 0.65), (-2.0, 2.0), 0.75


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, out_dir: Path, name: str) -> Path:
    path = Path(out_dir) / name
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    return path


def _ellipse(mean, cov, radius):
    """Points of the ``radius``-sd contour of a 2-D Gaussian."""
    angles = np.linspace(0.0, 2.0 * np.pi, 200)
    circle = np.stack([np.cos(angles), np.sin(angles)])
    return (np.asarray(mean)[:, None] + radius * np.linalg.cholesky(cov) @ circle).T


def kidiq_fits(quick: bool = False) -> dict:
    """NUTS, mean-field and full-rank ADVI on kidiq: ``beta`` draws and the Gaussians' (mean, cov).

    ``quick`` (the test suite): 200 ADVI steps, and no NUTS run (draws of the full-rank fit
    take the place of its draws)."""
    import credo
    from credo.examples import load_posteriordb
    from credo.vi import advi

    model, data = load_posteriordb("kidiq-kidscore_momiq")
    ld = credo.logdensity(model, data)
    out = {}
    for family in ("meanfield", "fullrank"):
        q = advi(ld, family=family, progress=False, seed=0, steps=200 if quick else 10000).q
        cov = np.asarray(q.covariance()) if hasattr(q, "covariance") else np.diag(np.asarray(q.scale) ** 2)
        out[family] = (np.asarray(q.loc)[:2], cov[:2, :2])  # beta is the first block
    if quick:  # the test suite only draws the figure: full-rank draws stand in for NUTS
        out["nuts"] = np.random.default_rng(0).multivariate_normal(*out["fullrank"], size=100)
    else:
        posterior = credo.nuts(ld, chains=4, warmup=1000, draws=1000, seed=0, progress=False)
        out["nuts"] = np.asarray(posterior["beta"]).reshape(-1, 2)
    return out


def vi_meanfield_fullrank(out_dir: Path = IMG_DIR, quick: bool = False) -> Path:
    """kidiq's intercept and slope: NUTS draws, mean-field and full-rank 1- and 2-sd ellipses."""
    fits = kidiq_fits(quick)
    nuts = fits["nuts"]
    nuts_sd = nuts.std(axis=0)
    fig = _figure(6.4, 4.6)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(nuts[:, 0], nuts[:, 1], s=3, color="0.6", alpha=0.5, lw=0,
               label=f"NUTS draws (sd {nuts_sd[0]:.1f}, {nuts_sd[1]:.3f})")
    styles = {"meanfield": ("tab:orange", "mean-field"), "fullrank": ("tab:blue", "full-rank")}
    for family, (color, label) in styles.items():
        mean, cov = fits[family]
        sd = np.sqrt(np.diag(cov))
        for radius, dash in ((1.0, "-"), (2.0, "--")):
            xy = _ellipse(mean, cov, radius)
            ax.plot(xy[:, 0], xy[:, 1], dash, color=color, lw=1.6,
                    label=f"{label} ADVI (sd {sd[0]:.1f}, {sd[1]:.3f})" if radius == 1 else None)
    ax.set_xlabel("beta[0] (intercept)")
    ax.set_ylabel("beta[1] (slope on mom_iq)")
    ax.set_title("kidiq: mean-field ignores the correlation and shrinks the sds;\n"
                 "full-rank matches NUTS (ellipses: 1 and 2 sd)", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return _save(fig, out_dir, "vi-meanfield-fullrank.png")


def bimodal(x):
    """``0.35 N(-2, 0.75^2) + 0.65 N(2, 0.75^2)`` at ``x[0]`` (normalised)."""
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp
    from jax.scipy.stats import norm

    return logsumexp(jnp.log(jnp.array(WEIGHTS)) + norm.logpdf(x[0], jnp.array(MODES), MODE_SD))


def mode_collapse_fits(quick: bool = False) -> dict:
    """A Gaussian (started in the right-hand mode, as a preconditioner would) and a flow (broad start)."""
    from credo.vi import advi

    steps = 300 if quick else 5000
    gaussian = advi(bimodal, dim=1, family="fullrank", precondition=None, init=np.ones(1),
                    init_scale=0.5, steps=steps, progress=False, seed=0)
    flow = advi(bimodal, dim=1, family="flow", precondition=None, init=np.zeros(1),
                init_scale=3.0, num_particles=8, flow_depth=2, steps=steps, progress=False, seed=0)
    return {"gaussian": gaussian, "flow": flow}


def vi_mode_collapse(out_dir: Path = IMG_DIR, quick: bool = False) -> Path:
    """Reverse KL on a bimodal target: the Gaussian sits on one mode, the flow covers both."""
    from scipy.stats import norm

    fits = mode_collapse_fits(quick)
    grid = np.linspace(-5.0, 5.0, 400)
    target = sum(w * norm.pdf(grid, m, MODE_SD) for w, m in zip(WEIGHTS, MODES))
    fig = _figure(6.4, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    ax.fill_between(grid, target, color="0.85", label="target (35% / 65%)")
    flow_x = fits["flow"].sample(20000, seed=1)["x"][:, 0]
    ax.hist(flow_x, bins=120, range=(-5, 5), density=True, histtype="step", color="tab:green",
            lw=1.4, label=f"flow ADVI draws ({np.mean(flow_x < 0):.0%} left of 0)")
    q = fits["gaussian"].q
    loc, sd = float(np.asarray(q.loc)[0]), float(np.sqrt(np.asarray(q.covariance())[0, 0]))
    ax.plot(grid, norm.pdf(grid, loc, sd), color="tab:orange", lw=1.8,
            label=f"Gaussian ADVI (mean {loc:.2f}, sd {sd:.2f})")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_title("Reverse KL is mode seeking: the Gaussian misses the left mode", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return _save(fig, out_dir, "vi-mode-collapse.png")


FIGURES = [vi_meanfield_fullrank, vi_mode_collapse]


def main(out_dir: Path = IMG_DIR) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for make in FIGURES:
        path = make(out_dir)
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else IMG_DIR)
