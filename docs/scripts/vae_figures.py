"""Regenerate the figures of ``docs/vae.md`` into ``docs/img/`` (and print the test numbers).

Run from anywhere::

    .venv/bin/python docs/scripts/vae_figures.py            # writes docs/img/vae-*.png
    .venv/bin/python docs/scripts/vae_figures.py OUT_DIR    # somewhere else

One VAE with a 2-D latent space is trained on the bundled 8x8 digits (70/30
split, seed 0; the acceptance configuration of ``docs/vae.md``) and drawn by
the same functions as ``credo vae-demo`` (:mod:`credo.viz.vae`). With
``quick=True`` (the test suite) a tiny network trains for a few epochs.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

IMG_DIR = Path(__file__).resolve().parent.parent / "img"

#: The acceptance run of docs/vae.md: latent 2, hidden (128,), Adam 1e-3, batch 64.
EPOCHS = 4000
QUICK_EPOCHS = 3


@functools.lru_cache(maxsize=2)
def _run(quick: bool) -> dict:
    from credo.vae_demo import train_digits

    if quick:
        return train_digits(2, epochs=QUICK_EPOCHS, hidden=(16,), progress=False)
    return train_digits(2, epochs=EPOCHS, hidden=(128,), progress=False)


def _one(name: str, out_dir, quick: bool) -> Path:
    from credo.vae_demo import write_figures

    return Path(write_figures(_run(quick), out_dir, names=(name,), skip=0 if quick else 10)[0])


def vae_reconstructions(out_dir, quick: bool = False) -> Path:
    """Twelve test digits above their reconstructions (decoder mean at the encoder mean)."""
    return _one("vae-reconstructions.png", out_dir, quick)


def vae_samples(out_dir, quick: bool = False) -> Path:
    """Forty decoder means at draws from the prior N(0, I)."""
    return _one("vae-samples.png", out_dir, quick)


def vae_latent(out_dir, quick: bool = False) -> Path:
    """Encoder means of the test digits in the 2-D latent space, coloured by label."""
    return _one("vae-latent.png", out_dir, quick)


def vae_elbo(out_dir, quick: bool = False) -> Path:
    """Training and validation (test-split) ELBO per epoch."""
    return _one("vae-elbo.png", out_dir, quick)


FIGURES = [vae_reconstructions, vae_samples, vae_latent, vae_elbo]


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else IMG_DIR
    out.mkdir(parents=True, exist_ok=True)
    for make in FIGURES:
        print(make(out))
    from credo.vae_demo import evaluate

    run = _run(False)
    numbers = evaluate(run["vae"], run["x_test"])
    numbers["final_train_elbo"] = float(run["history"].train_elbo[-1])
    numbers["best_validation_elbo"] = float(run["history"].validation_elbo.max())
    numbers["best_validation_epoch"] = int(run["history"].validation_elbo.argmax()) + 1
    print(json.dumps(numbers, indent=2))
