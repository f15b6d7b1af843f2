"""Pictures of a variational autoencoder: reconstructions, prior samples, latent space, ELBO curves.

Every function takes plain arrays and returns a :class:`matplotlib.figure.Figure`
on an Agg canvas (no pyplot, no global state); save it with
``fig.savefig(path, metadata={"Software": None})``. Used by ``credo vae-demo``
and ``docs/scripts/vae_figures.py``.
"""

from __future__ import annotations

import math

import numpy as np

from credo.errors import ArgumentError

__all__ = ["plot_reconstructions", "plot_samples", "plot_latent_space", "plot_elbo_curves",
           "save_figure"]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path, dpi: int = 100):
    """Write ``fig`` as a PNG without the software tag (reproducible bytes); returns ``path``."""
    fig.savefig(path, dpi=dpi, metadata={"Software": None})
    return path


def _image_shape(dim: int, shape) -> tuple:
    if shape is not None:
        return tuple(shape)
    side = int(round(math.sqrt(dim)))
    if side * side != dim:
        raise ArgumentError("shape", f"cannot show vectors of length {dim} as square images; pass shape=")
    return side, side


def _tile(ax, image, shape):
    ax.imshow(np.asarray(image).reshape(shape), cmap="gray_r", vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_reconstructions(images, reconstructions, *, shape=None, num: int = 10):
    """Originals (top row) above their reconstructions (bottom row).

    Parameters
    ----------
    images, reconstructions : array, shape ``(n, d)``, values in [0, 1]
    shape : tuple, optional
        Image shape (default: square).
    num : int
        Columns shown (the first ``num`` rows).
    """
    images, reconstructions = np.asarray(images), np.asarray(reconstructions)
    num = min(num, len(images))
    shape = _image_shape(images.shape[1], shape)
    fig = _figure(0.8 * num, 1.9)
    axes = fig.subplots(2, num, squeeze=False)
    for j in range(num):
        _tile(axes[0, j], images[j], shape)
        _tile(axes[1, j], reconstructions[j], shape)
    axes[0, 0].set_ylabel("data", fontsize=8)
    axes[1, 0].set_ylabel("recon.", fontsize=8)
    fig.subplots_adjust(left=0.05, right=0.99, top=0.98, bottom=0.02, wspace=0.05, hspace=0.05)
    return fig


def plot_samples(samples, *, shape=None, columns: int = 10):
    """A grid of generated images (e.g. decoder means at prior draws)."""
    samples = np.asarray(samples)
    shape = _image_shape(samples.shape[1], shape)
    rows = math.ceil(len(samples) / columns)
    fig = _figure(0.6 * columns, 0.6 * rows)
    axes = fig.subplots(rows, columns, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k < len(samples):
            _tile(ax, samples[k], shape)
        else:
            ax.axis("off")
    fig.subplots_adjust(left=0.01, right=0.99, top=0.99, bottom=0.01, wspace=0.05, hspace=0.05)
    return fig


def plot_latent_space(locations, labels, *, title: str | None = None):
    """Encoder means coloured by class label; latents of more than 2 dimensions are
    shown on their first two principal components (said on the axes)."""
    z = np.asarray(locations, dtype=float)
    labels = np.asarray(labels)
    xlabel, ylabel = "z[0]", "z[1]"
    if z.shape[1] > 2:
        centred = z - z.mean(0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        z = centred @ vt[:2].T
        xlabel, ylabel = "principal component 1 of z", "principal component 2 of z"
    elif z.shape[1] == 1:
        z = np.column_stack([z[:, 0], np.zeros(len(z))])
    fig = _figure(5.2, 4.4)
    ax = fig.subplots()
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    for k, label in enumerate(np.unique(labels)):
        pick = labels == label
        ax.scatter(z[pick, 0], z[pick, 1], s=6, color=cmap(k % 10), label=str(label), alpha=0.8,
                   linewidths=0)
    ax.legend(markerscale=2.5, fontsize=7, ncol=1, loc="center left", bbox_to_anchor=(1.0, 0.5),
              frameon=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_elbo_curves(train_elbo, validation_elbo=None, *, skip: int = 0):
    """Training and validation ELBO (nats per data point) per epoch.

    ``skip`` leaves out the first epochs, whose low values would flatten the rest.
    """
    train = np.asarray(train_elbo, dtype=float)
    epochs = np.arange(1, len(train) + 1)
    fig = _figure(5.2, 3.2)
    ax = fig.subplots()
    ax.plot(epochs[skip:], train[skip:], lw=1.2, label="training (minibatch mean)")
    if validation_elbo is not None and len(validation_elbo):
        valid = np.asarray(validation_elbo, dtype=float)
        ax.plot(epochs[skip:len(valid)], valid[skip:], lw=1.2, label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("ELBO (nats per image)")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
