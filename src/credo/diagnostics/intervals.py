"""Highest density intervals of posterior draws."""

from __future__ import annotations

import numpy as np

from credo.diagnostics.convergence import _as_draws, _check_prob, _exponents

__all__ = ["hdi"]


def hdi(x, prob: float = 0.94) -> np.ndarray:
    """Highest density interval: the narrowest interval holding ``prob`` of the draws.

    All chains are pooled. With the ``S`` pooled draws sorted, ``k = floor(prob S)``
    and the interval is ``[x_(i), x_(i+k)]`` for the ``i`` minimising
    ``x_(i+k) - x_(i)`` (the first on ties), as ``arviz.hdi``; it spans ``k + 1`` draws. It is the
    shortest credible interval and suits unimodal distributions.

    Parameters
    ----------
    x : array_like, shape (chains, draws, *param_shape)
        A 1-d array is one chain. (ArviZ reads a 2-d *ndarray* as
        ``(draws, params)``; here 2-d is always ``(chains, draws)``.)
    prob : float
        Probability mass in ``(0, 1]``. For ``prob = 1`` the interval is
        ``[min, max]`` (ArviZ raises).

    Raises
    ------
    credo.errors.ArgumentError
        ``prob`` outside ``(0, 1]``; draws that are complex, not numbers, or
        with no chains or no draws.

    Returns
    -------
    numpy.ndarray, shape (*param_shape, 2)
        Lower and upper ends; NaN for a parameter with a NaN draw.

    References
    ----------
    Chen & Shao (1999), Monte Carlo estimation of Bayesian credible and HPD
    intervals, Journal of Computational and Graphical Statistics 8(1):69-92.

    Examples
    --------
    >>> hdi(np.array([[0.0, 1.0, 2.0, 3.0, 10.0]]), prob=0.6)
    array([0., 3.])
    """
    prob = _check_prob(prob)
    x, shape = _as_draws(x)
    n = x.shape[0] * x.shape[1]
    ordered = np.sort(x.reshape(n, -1), axis=0)
    step = min(int(np.floor(prob * n)), n - 1)
    # widths of draws scaled to order 1 by a power of two (exact): no overflow near 1e308
    exponent = -_exponents(ordered[None])
    width = np.ldexp(ordered[step:], exponent) - np.ldexp(ordered[: n - step], exponent)
    start = np.argmin(np.where(np.isnan(width), np.inf, width), axis=0)
    low = np.take_along_axis(ordered, start[None], axis=0)[0]
    high = np.take_along_axis(ordered, (start + step)[None], axis=0)[0]
    interval = np.stack([low, high], axis=-1)
    interval[np.isnan(x).any(axis=(0, 1))] = np.nan
    return interval.reshape(*shape, 2)
