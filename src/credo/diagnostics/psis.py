"""Pareto smoothed importance sampling (PSIS)."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from credo.errors import ArgumentError

__all__ = ["psis", "gpd_fit"]

#: Above this k-hat the importance-sampling estimate is unreliable (Vehtari et al. 2024).
KHAT_THRESHOLD = 0.7


def psis(log_weights, *, reff: float = 1.0, normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Pareto smoothed importance sampling, as ``arviz.psislw``.

    The largest ``M = ceil(min(S / 5, 3 sqrt(S / reff)))`` weights are replaced
    by the expected order statistics of a generalized Pareto distribution fitted
    to them (``w_(S-M+z) = u + F^-1((z - 1/2) / M)``), then capped at the
    largest raw weight. The fitted shape ``k-hat`` tells how reliable the
    weights are: below 0.7 (more precisely ``min(1 - 1/log10 S, 0.7)``)
    estimates are usable; above, the proposal is too far from the target.

    Parameters
    ----------
    log_weights : array_like, shape (..., S)
        Log importance ratios ``log p(x) - log q(x)``; the last axis holds samples.
    reff : float
        Relative efficiency ``ESS / S`` of the draws (1 for independent draws).
    normalize : bool
        Return log weights normalized to ``logsumexp = 0`` (default), else on
        the input's scale.

    Returns
    -------
    smoothed_log_weights : numpy.ndarray, shape (..., S)
    khat : numpy.ndarray, shape (...)
        Pareto shape estimate; ``inf`` when the tail has 4 draws or fewer (then
        no smoothing is done).

    References
    ----------
    Vehtari, Simpson, Gelman, Yao & Gabry (2024), Pareto smoothed importance
    sampling, Journal of Machine Learning Research 25(72):1-58.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lw, khat = psis(rng.normal(size=2000))  # light-tailed ratios
    >>> bool(khat < 0.5), round(float(np.exp(lw).sum()), 6)
    (True, 1.0)
    """
    lw = np.array(log_weights, dtype=float)
    if lw.ndim == 0:
        raise ArgumentError("log_weights", "must have at least one axis (samples), got a scalar")
    n = lw.shape[-1]
    tail = int(np.ceil(min(n / 5.0, 3 * (n / reff) ** 0.5)))
    rows = lw.reshape(-1, n)
    khat = np.empty(rows.shape[0])
    for i, row in enumerate(rows):
        rows[i], khat[i] = _psis_1d(row, tail, normalize)
    return rows.reshape(lw.shape), khat.reshape(lw.shape[:-1])


def _psis_1d(x: np.ndarray, tail: int, normalize: bool) -> tuple[np.ndarray, float]:
    """Smooth the ``tail`` largest of the log weights ``x`` (1-d); return them and k-hat."""
    x = x.copy()
    shift = np.max(x)
    x -= shift
    floor = np.log(np.finfo(float).tiny)
    cutoff = max(np.sort(x)[-tail - 1], floor) if tail < len(x) else floor
    (in_tail,) = np.nonzero(x > cutoff)
    k = np.inf
    if len(in_tail) > 4:
        order = in_tail[np.argsort(x[in_tail])]
        k, sigma = gpd_fit(np.exp(x[order]) - np.exp(cutoff))
        if np.isfinite(k):
            probs = np.arange(0.5, len(in_tail)) / len(in_tail)
            x[order] = np.log(_gpd_quantile(probs, k, sigma) + np.exp(cutoff))
            x[x > 0] = 0
    x = x - logsumexp(x) if normalize else x + shift
    return x, float(k)


def gpd_fit(x) -> tuple[float, float]:
    """Generalized Pareto fit ``(k, sigma)`` of sorted exceedances, by Zhang & Stephens (2009).

    Empirical-Bayes posterior mean of ``b = -k / sigma`` over a grid of
    ``m = 30 + sqrt(n)`` values, then ``k`` shrunk towards 1/2 by a weak prior
    (weight 10 draws), as in ``loo`` and ArviZ.

    Parameters
    ----------
    x : array_like, shape (n,)
        Positive exceedances over the threshold, sorted ascending.

    Returns
    -------
    k, sigma : float
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    m = 30 + int(n**0.5)
    b = 1 - np.sqrt(m / (np.arange(1, m + 1, dtype=float) - 0.5))
    b /= 3 * x[int(n / 4 + 0.5) - 1]
    b += 1 / x[-1]
    k = np.log1p(-b[:, None] * x).mean(axis=1)
    log_lik = n * (np.log(-(b / k)) - k - 1)
    with np.errstate(over="ignore"):  # a weight of exp(-inf) = 0 is what is meant
        weights = 1 / np.exp(log_lik - log_lik[:, None]).sum(axis=1)
    keep = weights >= 10 * np.finfo(float).eps
    weights, b = weights[keep], b[keep]
    weights /= weights.sum()
    b_post = np.sum(b * weights)
    k_post = np.log1p(-b_post * x).mean()
    sigma = -k_post / b_post
    return float((n * k_post + 10 * 0.5) / (n + 10)), float(sigma)


def _gpd_quantile(probs: np.ndarray, k: float, sigma: float) -> np.ndarray:
    """Generalized Pareto quantile ``sigma ((1 - p)^-k - 1) / k`` for ``0 < p < 1``."""
    if sigma <= 0:
        return np.full_like(probs, np.nan)
    if abs(k) < np.finfo(float).eps:
        return -np.log1p(-probs) * sigma
    return np.expm1(-k * np.log1p(-probs)) / k * sigma
