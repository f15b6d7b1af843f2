"""The ``credo vae-demo``: a variational autoencoder trained on the bundled 8x8 digits.

It sits on top of the library (it reads :mod:`credo.examples` and draws with
:mod:`credo.viz`), so that :mod:`credo.vi` itself never imports either.
Imports JAX.
"""

from __future__ import annotations

import json
from pathlib import Path

from credo.vi.vae import VAE, amortization_gap

__all__ = ["train_digits", "evaluate", "write_figures", "demo", "DEMO_FIGURES"]


#: File names of the demo's figures (also the docs' ``docs/img/vae-*.png``).
DEMO_FIGURES = ("vae-reconstructions.png", "vae-samples.png", "vae-latent.png", "vae-elbo.png")


def train_digits(latent_dim: int = 2, *, epochs: int = 1000, hidden=(128,), batch_size: int = 64,
                 learning_rate: float = 1e-3, seed: int = 0, progress: bool = True) -> dict:
    """Train a VAE on the bundled digits with the fixed-seed 70/30 split.

    Returns
    -------
    dict
        ``vae``, ``history``, ``x_train``, ``y_train``, ``x_test``, ``y_test``.
    """
    from credo.examples.datasets import digits, train_test_split

    images, labels = digits()
    x_train, y_train, x_test, y_test = train_test_split(images, labels, test_fraction=0.3, seed=0)
    vae, history = VAE(images.shape[1], latent_dim, hidden, seed=seed).fit(
        x_train, epochs, batch_size, learning_rate, validation=x_test, seed=seed, progress=progress)
    return {"vae": vae, "history": history, "x_train": x_train, "y_train": y_train,
            "x_test": x_test, "y_test": y_test}


def evaluate(vae: VAE, X, *, iwae_samples: int = 100, gap_steps: int = 500, seed: int = 0) -> dict:
    """Test ELBO (100 draws per point), IWAE bound and amortization gap, mean nats per point."""
    gap = amortization_gap(vae, X, steps=gap_steps, seed=seed)
    return {"elbo": vae.elbo(X, num_samples=100, seed=seed),
            "iwae": vae.iwae(X, num_samples=iwae_samples, seed=seed),
            "iwae_samples": int(iwae_samples), "gap": gap.gap,
            "gap_amortized_elbo": gap.amortized_elbo, "gap_optimized_elbo": gap.optimized_elbo}


def write_figures(run: dict, out_dir, *, names=DEMO_FIGURES, seed: int = 0, skip: int = 0) -> list:
    """Draw the demo's figures for a :func:`train_digits` result into ``out_dir``; returns the paths.

    ``names`` picks a subset of :data:`DEMO_FIGURES`.
    """
    from credo.viz.vae import (plot_elbo_curves, plot_latent_space, plot_reconstructions,
                               plot_samples, save_figure)

    vae, history, x_test, y_test = run["vae"], run["history"], run["x_test"], run["y_test"]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    draw = {
        "vae-reconstructions.png": lambda: plot_reconstructions(x_test[:12], vae.reconstruct(x_test[:12]),
                                                                num=12),
        "vae-samples.png": lambda: plot_samples(vae.sample(40, seed=seed), columns=10),
        "vae-latent.png": lambda: plot_latent_space(
            vae.encode(x_test)[0], y_test,
            title=f"encoder means of the {len(x_test)} test digits (latent size {vae.latent_dim})"),
        "vae-elbo.png": lambda: plot_elbo_curves(history.train_elbo, history.validation_elbo,
                                                 skip=skip),
    }
    return [save_figure(draw[name](), out_dir / name) for name in names]


def demo(out_dir, *, latent_dim: int = 2, epochs: int = 1000, seed: int = 0, hidden=(128,),
         batch_size: int = 64, learning_rate: float = 1e-3, iwae_samples: int = 100,
         gap_steps: int = 500, progress: bool = True) -> dict:
    """Train on the digits, evaluate on the 30 % test split, write figures and ``summary.json``.

    The engine of ``credo vae-demo``. Returns the summary (config, test
    ELBO, IWAE, amortization gap, final training/validation ELBO, figure paths).
    """
    run = train_digits(latent_dim, epochs=epochs, hidden=hidden, batch_size=batch_size,
                       learning_rate=learning_rate, seed=seed, progress=progress)
    summary = {"config": {**run["vae"].config, "epochs": int(epochs), "batch_size": int(batch_size),
                          "learning_rate": float(learning_rate), "split": "70/30, seed 0",
                          "train": len(run["x_train"]), "test": len(run["x_test"])},
               "test": evaluate(run["vae"], run["x_test"], iwae_samples=iwae_samples,
                                gap_steps=gap_steps, seed=seed),
               "final_train_elbo": float(run["history"].train_elbo[-1]) if epochs else None,
               "final_validation_elbo": float(run["history"].validation_elbo[-1]) if epochs else None}
    out_dir = Path(out_dir)
    paths = write_figures(run, out_dir, seed=seed, skip=min(10, max(epochs // 10, 0)))
    summary["figures"] = [str(p) for p in paths]
    run["vae"].save(out_dir / "vae.npz")
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
