"""Trace plots: per parameter, the marginal density per chain and the draws in order."""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["plot_trace"]


def _elements(name: str, values: np.ndarray, max_elements: int):
    """Yield ``(label, array (chains, draws))`` for the first scalar elements of a site."""
    shape = values.shape[2:]
    if not shape:
        yield name, values
        return
    for index in itertools.islice(np.ndindex(*shape), max_elements):
        label = f"{name}[{','.join(map(str, index))}]"
        yield label, values[(slice(None), slice(None)) + index]


def _density(ax, draws: np.ndarray, color) -> None:
    from scipy.stats import gaussian_kde

    if np.ptp(draws) == 0 or draws.size < 2:
        ax.axvline(draws.flat[0], color=color, lw=1)
        return
    grid = np.linspace(draws.min(), draws.max(), 200)
    ax.plot(grid, gaussian_kde(draws)(grid), color=color, lw=1)


def plot_trace(draws: dict, divergences=None, *, names=None, max_elements: int = 4):
    """Density (left) and trace (right) for each scalar element of each site.

    Parameters
    ----------
    draws : dict of str -> array, shape ``(chains, draws, *shape)``
    divergences : bool array, shape ``(chains, draws)``, optional
        Divergent transitions, marked as red ticks under the trace and rug
        marks under the density.
    names : str or list of str, optional
        Sites to plot (default: all).
    max_elements : int

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    UnknownVariableError
        If a name is not a site of ``draws`` (the error lists those).
    """
    import matplotlib.pyplot as plt

    from credo.errors import UnknownVariableError

    names = list(draws) if names is None else [names] if isinstance(names, str) else list(names)
    for name in names:
        if name not in draws:
            raise UnknownVariableError(name, list(draws))
    rows = [(label, np.asarray(v)) for n in names
            for label, v in _elements(n, np.asarray(draws[n]), max_elements)]
    fig, axes = plt.subplots(len(rows), 2, figsize=(10, 1.9 * len(rows) + 0.4), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (label, values), (left, right) in zip(rows, axes):
        for chain, color in zip(range(values.shape[0]), itertools.cycle(colors)):
            _density(left, values[chain], color)
            right.plot(values[chain], color=color, lw=0.5, alpha=0.8)
        if divergences is not None and np.any(divergences):
            chain_idx, draw_idx = np.nonzero(divergences)
            low = values.min()
            right.plot(draw_idx, np.full(draw_idx.shape, low), "|", color="red", ms=8)
            left.plot(values[chain_idx, draw_idx], np.zeros(draw_idx.shape), "|", color="red", ms=8)
        left.set_title(label, fontsize=9, loc="left")
        left.set_yticks([])
        right.set_title(label, fontsize=9, loc="left")
    axes[-1, 1].set_xlabel("draw")
    fig.tight_layout()
    return fig
