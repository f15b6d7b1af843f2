"""Regenerate the figure of ``docs/cavi.md`` into ``docs/img/`` (and print its numbers).

Run from anywhere::

    .venv/bin/python docs/scripts/cavi_figures.py            # writes docs/img/cavi-mixture.png
    .venv/bin/python docs/scripts/cavi_figures.py OUT_DIR    # somewhere else

The Bayesian Gaussian mixture of ``docs/cavi.md`` (Bishop 2006, sec. 10.2, in
one dimension: Dirichlet(0.1) weights, Normal-Gamma components, K = 6) is fitted
by :func:`credo.vi.cavi.cavi` to 600 synthetic points from three components.
With ``quick=True`` (the test suite) 150 points and K = 4.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

IMG_DIR = Path(__file__).resolve().parent.parent / "img"
DPI = 110

#: The synthetic data of docs/cavi.md: means, standard deviations, weights.
MEANS, SDS, WEIGHTS = (-4.0, 0.0, 3.0), (1.0, 0.5, 0.8), (0.3, 0.5, 0.2)


def mixture(y, K=6, alpha0=0.1):
    """Bishop's mixture in 1-D: pi ~ Dir(alpha0), tau_k ~ Gamma(2, 1),
    mu_k | tau_k ~ N(0, (0.01 tau_k)^-1), z_n ~ Cat(pi), y_n ~ N(mu_z, tau_z^-1)."""
    import jax.numpy as jnp

    import credo
    from credo import distributions as dist

    pi = credo.sample("pi", dist.Dirichlet(jnp.full(K, alpha0)))
    with credo.plate("component", K):
        tau = credo.sample("tau", dist.Gamma(2.0, 1.0))
        mu = credo.sample("mu", dist.Normal(0.0, 1.0 / jnp.sqrt(0.01 * tau)))
    with credo.plate("data", len(y)):
        z = credo.sample("z", dist.Categorical(pi))
        credo.sample("y", dist.Normal(mu[z], 1.0 / jnp.sqrt(tau[z])), obs=y)


def synthetic(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = rng.choice(3, size=n, p=WEIGHTS)
    return np.asarray(MEANS)[k] + np.asarray(SDS)[k] * rng.standard_normal(n)


def fit(quick: bool = False):
    from credo.vi.cavi import cavi

    y = synthetic(150 if quick else 600)
    q = cavi(mixture, {"y": y, "K": 4 if quick else 6}, seed=0, restarts=1 if quick else 4,
             max_iters=60 if quick else 500, tol=1e-10, progress=False)
    return y, q


def components(q):
    """``(weights, means, sds)`` of the fitted components: E[pi], E[mu], E[tau]^-1/2."""
    w = np.asarray(q.factors["pi"].mean)
    return w, np.asarray(q.factors["mu"].loc), np.asarray(q.factors["tau"].mean) ** -0.5


def cavi_mixture(out_dir, quick: bool = False) -> Path:
    """Data with the fitted components (left) and the ELBO per sweep (right)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from scipy import stats

    y, q = fit(quick)
    w, m, s = components(q)
    fig = Figure(figsize=(9.0, 3.4))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    grid = np.linspace(y.min() - 1.5, y.max() + 1.5, 400)
    left.hist(y, bins=50, density=True, color="0.82", label=f"data (n = {len(y)})")
    used = np.argsort(w)[::-1]
    total = np.zeros_like(grid)
    for rank, k in enumerate(used):
        dens = w[k] * stats.norm(m[k], s[k]).pdf(grid)
        total += dens
        if w[k] > 0.01:
            left.plot(grid, dens, lw=1.4, label=f"k={k}: weight {w[k]:.2f}, mean {m[k]:.2f}")
    left.plot(grid, total, color="k", lw=1.0, ls="--", label="fitted mixture")
    left.set_xlabel("y")
    left.set_ylabel("density")
    left.set_title(f"{len(w)} components, {np.sum(w > 0.01)} with weight > 0.01")
    left.legend(fontsize=7, frameon=False, loc="upper left")
    h = q.elbo_history
    right.plot(np.arange(1, len(h) + 1), h, color="C0", lw=1.4)
    right.set_xlabel("sweep")
    right.set_ylabel("ELBO (higher is better)")
    right.set_title("exact ELBO after each sweep")
    low = h[min(1, len(h) - 1)]
    right.set_ylim(low - 0.05 * (h[-1] - low), h[-1] + 0.05 * (h[-1] - low) + 1e-9)
    fig.tight_layout()
    path = Path(out_dir) / "cavi-mixture.png"
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    return path


FIGURES = [cavi_mixture]


def main(argv: list[str]) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)  # as the test suite; a script may, the library never does
    out_dir = Path(argv[1]) if len(argv) > 1 else IMG_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    y, q = fit()
    w, m, s = components(q)
    keep = w > 0.01
    print(q)
    print("weights", np.round(w[keep], 3), "means", np.round(m[keep], 3), "sds", np.round(s[keep], 3))
    print("pruned weights", np.round(np.sort(w[~keep]), 4))
    print("ELBO non-decreasing:", bool(np.all(np.diff(q.elbo_history) >= -1e-9 * abs(q.elbo_history[-1]))))
    for make in FIGURES:
        print(make(out_dir))


if __name__ == "__main__":
    main(sys.argv)
