"""Convergence diagnostics for MCMC draws: split R-hat, effective sample sizes, MCSE.

Every function takes draws of shape ``(chains, draws)`` or
``(chains, draws, *param_shape)`` and returns one value per parameter, of
shape ``param_shape`` (a 0-d array for scalar parameters). A 1-d array is read
as a single chain. All computations are vectorised over parameters and run in
float64.

The estimators are those of Vehtari, Gelman, Simpson, Carpenter & Bürkner
(2021), *Rank-normalization, folding, and localization: an improved R-hat for
assessing convergence of MCMC*, Bayesian Analysis 16(2):667-718, computed the
way ArviZ 0.23 computes them (``arviz.rhat(method="rank")``, ``arviz.ess``,
``arviz.mcse``), so values agree with ArviZ to floating-point round-off.

Edge cases follow ArviZ: a parameter with a NaN draw, or fewer than 4 draws per
chain, gets NaN for every diagnostic; R-hat needs at least 2 chains (NaN
otherwise); infinite draws give finite rank-based diagnostics (bulk/tail ESS,
R-hat) and NaN moment-based ones (mean/sd ESS, MCSE); a constant parameter has
ESS equal to the number of (split) draws, R-hat NaN and ``mcse_sd`` NaN. With an
odd number of draws the middle draw of each chain is dropped when chains are
split in halves, as in ArviZ and Stan.

Draws of any magnitude are handled: each parameter's draws are scaled by a
power of two to order 1 before computing (exact, so the results are ArviZ's
bit for bit where ArviZ does not overflow), and the MCSEs are scaled back, so
draws near 1e300 or 1e-300 get finite, correct diagnostics, and every
diagnostic is invariant (R-hat, ESS) or equivariant (MCSE) under a change of
units. So a parameter counts as constant when its range is below ``1e-15``
times its largest absolute draw (to within a factor 2), where ArviZ uses
``1e-15`` in the draws' own units; the two agree for draws of order 1.
Draws must be real: complex or non-numeric draws, and arrays with no chains or
no draws, raise :class:`~credo.errors.ArgumentError`.
"""

from __future__ import annotations

import numpy as np
from scipy import fft, special, stats

from credo.errors import ArgumentError

__all__ = [
    "autocov",
    "autocorr",
    "rhat",
    "ess",
    "ess_bulk",
    "ess_tail",
    "ess_mean",
    "ess_sd",
    "ess_quantile",
    "mcse",
    "mcse_mean",
    "mcse_sd",
    "mcse_quantile",
]

#: Fewest draws per chain for which ESS, MCSE and R-hat are computed.
MIN_DRAWS = 4

# Normal-probability bounds of a +-1 sd interval, as used by ArviZ for the quantile MCSE.
_ONE_SD = (0.1586553, 0.8413447)


# --------------------------------------------------------------------------- plumbing
def _real_draws(value, argument: str, what: str = "the draws") -> np.ndarray:
    """``value`` as a float64 array, or an :class:`ArgumentError` naming ``argument`` and ``what``.

    Complex draws are refused (a cast would drop their imaginary parts), as are
    values that are not numbers.
    """
    array = np.asarray(value)
    if np.iscomplexobj(array):
        raise ArgumentError(argument, f"{what} are complex ({array.dtype}); diagnostics need real "
                                      "draws (summarise .real and .imag separately)")
    if array.dtype.kind not in "biuf":
        try:
            array = np.asarray(array, dtype=float)
        except (TypeError, ValueError):
            raise ArgumentError(argument, f"{what} must be real numbers, got an array of dtype "
                                          f"{array.dtype}") from None
    return np.asarray(array, dtype=float)


def _check_sizes(x: np.ndarray, argument: str, prefix: str = "") -> None:
    """An :class:`ArgumentError` for ``(chains, draws, ...)`` draws with no chains or no draws."""
    for axis, what in ((0, "chains"), (1, "draws")):
        if x.shape[axis] == 0:
            raise ArgumentError(argument, f"{prefix}no {what} (shape {x.shape}); expected "
                                          "(chains, draws, *param_shape) with at least one of each")


def _as_draws(x, argument: str = "x") -> tuple[np.ndarray, tuple[int, ...]]:
    """``x`` as float64 ``(chains, draws, K)`` plus the parameter shape."""
    x = _real_draws(x, argument)
    if x.ndim == 0:
        raise ArgumentError(argument, "draws must have shape (chains, draws, *param_shape), got a scalar")
    if x.ndim == 1:
        x = x[None]
    _check_sizes(x, argument)
    shape = x.shape[2:]
    return x.reshape(x.shape[0], x.shape[1], int(np.prod(shape))), shape


def _exponents(x: np.ndarray) -> np.ndarray:
    """Per parameter of ``(C, D, K)`` draws, the binary exponent ``e`` with the largest finite
    ``|x| / 2**e`` in ``[0.5, 1)`` (0 for a parameter without a finite non-zero draw).

    Scaling by a power of two is exact, so ``np.ldexp(x, -e)`` has the same digits as ``x``,
    of order 1: its squares and fourth powers neither overflow (draws near 1e300) nor
    underflow (draws near 1e-300).
    """
    finite = np.where(np.isfinite(x), np.abs(x), 0.0)
    return np.frexp(finite.max(axis=(0, 1)))[1]


def _check_prob(prob, argument: str = "prob", *, low_open: bool = True, high_open: bool = False) -> float:
    """``prob`` as a float in the interval, else an :class:`ArgumentError` naming the interval."""
    interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
    try:
        value = float(prob)
    except (TypeError, ValueError):
        raise ArgumentError(argument, f"must be a probability in {interval}, got {prob!r}") from None
    above = value > 0 if low_open else value >= 0
    below = value < 1 if high_open else value <= 1
    if not (above and below):
        raise ArgumentError(argument, f"must be a probability in {interval}, got {prob!r}")
    return value


def _invalid(x: np.ndarray, min_chains: int = 1) -> np.ndarray:
    """Boolean ``(K,)``: parameters for which no diagnostic is defined."""
    chains, draws = x.shape[:2]
    bad = np.isnan(x).any(axis=(0, 1))
    if draws < MIN_DRAWS or chains < min_chains:
        bad[:] = True
    return bad


def _finish(values: np.ndarray, bad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Blank invalid parameters and restore the parameter shape."""
    return np.where(bad, np.nan, values).reshape(shape)


def _clean(x: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Zero the draws of invalid parameters so that they raise no numpy warnings."""
    return np.where(bad, 0.0, x) if bad.any() else x


def _split_chains(x: np.ndarray) -> np.ndarray:
    """``(C, D, K) -> (2C, D // 2, K)``: first and last halves; an odd middle draw is dropped."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0)


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Rank-normalise over chains and draws jointly: ``z = Phi^-1((r - 3/8) / (S + 1/4))``.

    Average ranks for ties; Blom's (1958) offset 3/8.
    """
    size = x.shape[0] * x.shape[1]
    by_param = np.ascontiguousarray(x.reshape(size, -1).T)
    ranks = stats.rankdata(by_param, method="average", axis=-1).T
    return special.ndtri((ranks - 0.375) / (size - 0.75 + 1)).reshape(x.shape)


def _fold(x: np.ndarray) -> np.ndarray:
    """``|x - median(x)|`` with the median over chains and draws."""
    return np.abs(x - np.median(x, axis=(0, 1)))


def _quantile(x: np.ndarray, prob: float) -> np.ndarray:
    """Type-7 (R's default) quantile over chains and draws, ``(K,)``, as ``mquantiles``."""
    n = x.shape[0] * x.shape[1]
    ordered = np.sort(x.reshape(n, -1), axis=0)
    if n == 1:
        return ordered[0]
    aleph = n * prob + (1.0 + prob * (1.0 - 1.0 - 1.0))
    k = int(np.floor(np.clip(aleph, 1, n - 1)))
    gamma = np.clip(aleph - k, 0, 1)
    return (1.0 - gamma) * ordered[k - 1] + gamma * ordered[k]


# --------------------------------------------------------------------------- autocovariance
def autocov(x, axis: int = -1) -> np.ndarray:
    """Autocovariance at every lag, by FFT.

    ``acov[t] = (1/n) sum_{i<n-t} (x_i - xbar)(x_{i+t} - xbar)``, computed with a
    zero-padded real FFT of length ``next_fast_len(2n)`` as ArviZ does.

    Parameters
    ----------
    x : array_like
        Any shape; the series run along ``axis``.
    axis : int
        Axis of the series.

    Returns
    -------
    numpy.ndarray
        Same shape as ``x``; lag ``t`` at index ``t`` along ``axis``.

    Examples
    --------
    >>> autocov(np.array([1.0, 2.0, 3.0, 4.0])).round(4)
    array([ 1.25  ,  0.3125, -0.375 , -0.5625])
    """
    x = np.asarray(x, dtype=float)
    axis = axis % x.ndim
    n = x.shape[axis]
    m = fft.next_fast_len(2 * n, real=True)
    centred = x - x.mean(axis=axis, keepdims=True)
    spectrum = np.fft.rfft(centred, n=m, axis=axis)
    spectrum *= np.conjugate(spectrum)
    cov = np.fft.irfft(spectrum, n=m, axis=axis)
    return np.take(cov, np.arange(n), axis=axis) / n


def autocorr(x, axis: int = -1) -> np.ndarray:
    """Autocorrelation at every lag, ``autocov(x) / autocov(x)[0]``; same shape as ``x``.

    Examples
    --------
    >>> float(autocorr(np.array([1.0, 2.0, 3.0, 4.0]))[0])
    1.0
    """
    cov = autocov(x, axis=axis)
    axis = axis % cov.ndim
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / np.take(cov, [0], axis=axis)


# --------------------------------------------------------------------------- core estimators
def _geyer_tau(rho: np.ndarray) -> np.ndarray:
    """Integrated autocorrelation time from ``rho`` of shape ``(n, K)`` (``rho[0] = 1``).

    Geyer's (1992) initial positive sequence: sum the pairs
    ``P_j = rho[2j] + rho[2j+1]`` up to the first non-positive pair, made
    monotone (running minimum), plus the next even lag if positive, exactly as
    ArviZ's and Stan's loops do: ``tau = -1 + 2 sum_{j<J} min_{i<=j} P_i + rho[2J]``.
    """
    n = rho.shape[0]
    k_max = max((n - 3) // 2, 0)
    even, odd = rho[0 : 2 * k_max + 2 : 2], rho[1 : 2 * k_max + 2 : 2]
    pairs = even + odd
    # Stop at the first non-positive pair (NaN counts as one), or at pair k_max.
    stop = np.vstack([~(pairs[:k_max] > 0), np.ones((1, pairs.shape[1]), dtype=bool)])
    stop_at = stop.argmax(axis=0)
    kept = np.arange(k_max)[:, None] < stop_at
    monotone = np.minimum.accumulate(pairs[:k_max], axis=0)
    total = np.where(kept, monotone, 0.0).sum(axis=0)
    last_even = np.take_along_axis(even, stop_at[None], axis=0)[0]
    last_pair = np.take_along_axis(pairs, stop_at[None], axis=0)[0]
    last = np.where((last_pair >= 0) | (last_even > 0), last_even, 0.0)
    return -1.0 + 2.0 * total + last


def _ess_core(x: np.ndarray, relative: bool = False) -> np.ndarray:
    """ESS of ``(M, N, K)`` draws taken as they are (no split, no ranks): ``MN / tau``.

    ``rho_t = 1 - (W - mean_m acov_m[t]) / var+`` with ``W`` the mean within-chain
    variance and ``var+ = W (N-1)/N + B/N`` (BDA3 eq. 11.8); ``tau`` by
    :func:`_geyer_tau`, floored at ``1 / log10(MN)``. A range below ``1e-15`` counts
    as constant, as in ArviZ; the callers pass draws scaled to order 1
    (:func:`_exponents`), which makes that test relative to the draws' magnitude.
    """
    chains, n = x.shape[:2]
    size = chains * n
    constant = (x.max(axis=(0, 1)) - x.min(axis=(0, 1))) < np.finfo(float).resolution
    acov = autocov(x, axis=1)
    mean_var = acov[:, 0].mean(axis=0) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if chains > 1:
        var_plus = var_plus + x.mean(axis=1).var(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = 1.0 - (mean_var - acov.mean(axis=0)) / var_plus
        rho[0] = 1.0
        tau = np.maximum(_geyer_tau(rho), 1.0 / np.log10(size))
        ess = (1.0 if relative else size) / tau
    ess = np.where(np.isnan(rho[1]), np.nan, ess)
    return np.where(constant, 1.0 if relative else float(size), ess)


def _rhat_core(x: np.ndarray) -> np.ndarray:
    """Classic R-hat of ``(M, N, K)`` chains: ``sqrt((B/W + N - 1) / N)``.

    ``B = N var_m(mean of chain m)`` and ``W = mean_m var(chain m)``, both with ddof 1.
    """
    n = x.shape[1]
    between = n * x.mean(axis=1).var(axis=0, ddof=1)
    within = x.var(axis=1, ddof=1).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt((between / within + n - 1) / n)


def _rhat_rank(x: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat of ``(C, D, K)``: max of bulk and folded (tail) R-hat.

    As ``arviz.rhat``, the chains are split before folding around the median;
    ``arviz.summary`` folds first (see ``summary._summary_rhat``). The two differ
    only for an odd number of draws, where splitting drops the middle draws.
    """
    split = _split_chains(x)
    return _larger(_rhat_core(_z_scale(split)), _rhat_core(_z_scale(_fold(split))))


def _larger(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Python's ``max(first, second)`` elementwise: ``first`` unless ``second`` is larger.

    So a NaN ``first`` stays NaN, and a NaN ``second`` is ignored, as in ArviZ.
    """
    return np.where(second > first, second, first)


def _ess_quantile(x: np.ndarray, prob: float, relative: bool = False) -> np.ndarray:
    """ESS of the indicator ``I(x <= q_prob)`` over split chains, ``(K,)``."""
    below = (x <= _quantile(x, prob)).astype(float)
    return _ess_core(_split_chains(below), relative)


def _tail_probs(prob) -> tuple[float, float]:
    if prob is None:
        return 0.05, 0.95
    if np.ndim(prob) == 0:
        return float(prob), 1.0 - float(prob)
    low, high = prob
    return float(low), float(high)


def _ess_tail(x: np.ndarray, prob=None, relative: bool = False) -> np.ndarray:
    low, high = _tail_probs(prob)
    ess_low = _ess_quantile(x, low, relative)
    ess_high = _ess_quantile(x, high, relative)
    return -_larger(-ess_low, -ess_high)  # Python's min(ess_low, ess_high)


def _ess_sd(x: np.ndarray, relative: bool = False) -> np.ndarray:
    squares = (x - x.mean(axis=(0, 1))) ** 2
    return _ess_core(_split_chains(squares), relative)


def _ess_mean(x: np.ndarray, relative: bool = False) -> np.ndarray:
    return _ess_core(_split_chains(x), relative)


def _ess_bulk(x: np.ndarray, relative: bool = False) -> np.ndarray:
    return _ess_core(_z_scale(_split_chains(x)), relative)


def _mcse_mean(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return x.std(axis=(0, 1), ddof=1) / np.sqrt(_ess_core(_split_chains(x)))


def _mcse_sd(x: np.ndarray) -> np.ndarray:
    squares = (x - x.mean(axis=(0, 1))) ** 2
    ess = _ess_core(_split_chains(squares))
    with np.errstate(invalid="ignore", divide="ignore"):
        evar = squares.mean(axis=(0, 1))
        varvar = ((squares**2).mean(axis=(0, 1)) - evar**2) / ess
        return np.sqrt(varvar / evar / 4)


def _mcse_quantile(x: np.ndarray, prob: float) -> np.ndarray:
    ess = _ess_quantile(x, prob)
    size = x.shape[0] * x.shape[1]
    with np.errstate(invalid="ignore"):
        low, high = (stats.beta.ppf(p, ess * prob + 1, ess * (1 - prob) + 1) for p in _ONE_SD)
    lo = np.floor(np.fmax(low * size - 1, 0)).astype(int)
    hi = np.ceil(np.fmin(high * size - 1, size - 1)).astype(int)
    ordered = np.sort(x.reshape(size, -1), axis=0)
    pick = lambda idx: np.take_along_axis(ordered, idx[None], axis=0)[0]  # noqa: E731
    return (pick(hi) - pick(lo)) / 2


def _apply(func, x, *args, min_chains: int = 1, units: int = 0, **kwargs) -> np.ndarray:
    """Run ``func`` on ``(C, D, K)`` draws; NaN for invalid parameters; shape ``param_shape``.

    ``func`` gets the draws scaled to order 1 (:func:`_exponents`); its result, in
    units of ``x**units``, is scaled back.
    """
    x, shape = _as_draws(x)
    bad = _invalid(x, min_chains)
    if x.shape[1] < MIN_DRAWS or x.shape[0] < min_chains:
        return np.full(shape, np.nan)
    x = _clean(x, bad)
    exponent = _exponents(x)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        values = func(np.ldexp(x, -exponent), *args, **kwargs)
        if units:
            values = np.ldexp(values, units * exponent)
    return _finish(values, bad, shape)


# --------------------------------------------------------------------------- R-hat
def rhat(x) -> np.ndarray:
    """Rank-normalised split R-hat (Vehtari et al. 2021), ``arviz.rhat(method="rank")``.

    Each chain is split in halves; draws are rank-normalised over all chains
    (``z = Phi^-1((rank - 3/8) / (S + 1/4))``) and the classic
    ``R = sqrt((B/W + N - 1) / N)`` is computed for the normalised draws
    (bulk) and for the normalised ``|x - median|`` (tail); the larger is
    returned. Values above 1.01 signal chains that have not mixed.

    Parameters
    ----------
    x : array_like, shape (chains, draws, *param_shape)
        At least 2 chains and 4 draws per chain, else NaN.

    Returns
    -------
    numpy.ndarray, shape param_shape

    References
    ----------
    Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), Bayesian Analysis 16(2):667-718.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> bool(rhat(rng.normal(size=(4, 500))) < 1.01)
    True
    >>> bool(rhat(rng.normal(size=(4, 500)) + np.arange(4)[:, None]) > 1.1)
    True
    """
    return _apply(_rhat_rank, x, min_chains=2)


# --------------------------------------------------------------------------- ESS
def ess_bulk(x, *, relative: bool = False) -> np.ndarray:
    """Bulk effective sample size: ESS of the rank-normalised split chains.

    ``ESS = MN / tau`` with ``tau = -1 + 2 sum_t rho_t`` truncated by Geyer's
    initial monotone sequence, for the ``M = 2 chains`` split halves of ``N``
    draws after rank normalisation. Measures how well the centre of the
    distribution (means, medians) is estimated; aim for ESS > 400.

    Parameters
    ----------
    x : array_like, shape (chains, draws, *param_shape)
    relative : bool
        Return ``ESS / (M N)`` instead.

    Returns
    -------
    numpy.ndarray, shape param_shape

    References
    ----------
    Vehtari et al. (2021), Bayesian Analysis 16(2):667-718; Geyer (1992), Statistical Science 7(4).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> ess_bulk(rng.normal(size=(4, 1000, 2))).shape
    (2,)
    """
    return _apply(_ess_bulk, x, relative=relative)


def ess_tail(x, prob=None, *, relative: bool = False) -> np.ndarray:
    """Tail effective sample size: ``min(ESS(I(x <= q_0.05)), ESS(I(x <= q_0.95)))``.

    Measures how well the 5% and 95% quantiles (interval ends) are estimated.

    Parameters
    ----------
    x : array_like, shape (chains, draws, *param_shape)
    prob : float or (float, float), optional
        Tail probabilities: ``p`` means ``(p, 1 - p)``; default ``(0.05, 0.95)``.
    relative : bool
        Return ``ESS / (M N)`` instead.

    Returns
    -------
    numpy.ndarray, shape param_shape

    References
    ----------
    Vehtari et al. (2021), Bayesian Analysis 16(2):667-718, section 4.3.
    """
    if prob is not None:
        for p in np.atleast_1d(prob):
            _check_prob(p, low_open=False)
    return _apply(_ess_tail, x, prob, relative=relative)


def ess_mean(x, *, relative: bool = False) -> np.ndarray:
    """ESS for the mean: ESS of the raw split chains (no rank normalisation).

    Parameters
    ----------
    x : array_like, shape (chains, draws, *param_shape)
    relative : bool
        Return ``ESS / (M N)`` instead.

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    return _apply(_ess_mean, x, relative=relative)


def ess_sd(x, *, relative: bool = False) -> np.ndarray:
    """ESS for the standard deviation: ESS of ``(x - mean)^2`` over split chains (as ArviZ).

    Parameters
    ----------
    x : array_like, shape (chains, draws, *param_shape)
    relative : bool
        Return ``ESS / (M N)`` instead.

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    return _apply(_ess_sd, x, relative=relative)


def ess_quantile(x, prob: float, *, relative: bool = False) -> np.ndarray:
    """ESS for the ``prob`` quantile: ESS of the indicator ``I(x <= q_prob)`` over split chains.

    ``q_prob`` is the type-7 quantile of all draws.

    Parameters
    ----------
    x : array_like, shape (chains, draws, *param_shape)
    prob : float
        In ``[0, 1]``.
    relative : bool
        Return ``ESS / (M N)`` instead.

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    return _apply(_ess_quantile, x, _check_prob(prob, low_open=False), relative=relative)


_ESS = {
    "bulk": lambda x, prob, rel: ess_bulk(x, relative=rel),
    "tail": lambda x, prob, rel: ess_tail(x, prob, relative=rel),
    "mean": lambda x, prob, rel: ess_mean(x, relative=rel),
    "sd": lambda x, prob, rel: ess_sd(x, relative=rel),
    "quantile": lambda x, prob, rel: ess_quantile(x, prob, relative=rel),
    "median": lambda x, prob, rel: ess_quantile(x, 0.5, relative=rel),
}


def ess(x, method: str = "bulk", *, prob=None, relative: bool = False) -> np.ndarray:
    """Effective sample size by ``method``, as ``arviz.ess``.

    Parameters
    ----------
    x : array_like, shape (chains, draws, *param_shape)
    method : {"bulk", "tail", "mean", "sd", "quantile", "median"}
    prob : float or (float, float), optional
        Needed by ``"quantile"``; optional for ``"tail"``.
    relative : bool
        Return ``ESS / (M N)`` instead.

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    if method not in _ESS:
        raise ArgumentError("method", f"unknown ess method {method!r}; choose from "
                                      f"{', '.join(map(repr, _ESS))}")
    if method == "quantile" and prob is None:
        raise ArgumentError("prob", "ess method 'quantile' needs prob")
    return _ESS[method](x, prob, relative)


# --------------------------------------------------------------------------- MCSE
def mcse_mean(x) -> np.ndarray:
    """Monte Carlo standard error of the mean: ``sd(x) / sqrt(ess_mean(x))`` (sd with ddof 1).

    Parameters
    ----------
    x : array_like, shape (chains, draws, *param_shape)

    Returns
    -------
    numpy.ndarray, shape param_shape

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> 0.009 < float(mcse_mean(rng.normal(size=(4, 2500)))) < 0.011  # ~ 1 / sqrt(10000)
    True
    """
    return _apply(_mcse_mean, x, units=1)


def mcse_sd(x) -> np.ndarray:
    """Monte Carlo standard error of the standard deviation, as ArviZ 0.23.

    With ``s2 = (x - mean)^2``, ``v = mean(s2)``:
    ``Var(v) = (mean(s2^2) - v^2) / ESS_mean(s2)`` and, by the delta method,
    ``mcse_sd = sqrt(Var(v) / (4 v))``.

    Parameters
    ----------
    x : array_like, shape (chains, draws, *param_shape)

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    return _apply(_mcse_sd, x, units=1)


def mcse_quantile(x, prob: float) -> np.ndarray:
    """Monte Carlo standard error of the ``prob`` quantile.

    With ``E = ess_quantile(x, prob)``, the ``Beta(E p + 1, E (1-p) + 1)``
    probabilities of a +-1 sd interval are mapped to order statistics of the
    sorted draws; the MCSE is half the distance between them.

    Parameters
    ----------
    x : array_like, shape (chains, draws, *param_shape)
    prob : float
        In ``(0, 1)``.

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    return _apply(_mcse_quantile, x, _check_prob(prob, low_open=False), units=1)


_MCSE = {
    "mean": lambda x, prob: mcse_mean(x),
    "sd": lambda x, prob: mcse_sd(x),
    "quantile": lambda x, prob: mcse_quantile(x, prob),
    "median": lambda x, prob: mcse_quantile(x, 0.5),
}


def mcse(x, method: str = "mean", *, prob=None) -> np.ndarray:
    """Monte Carlo standard error by ``method``, as ``arviz.mcse``.

    Parameters
    ----------
    x : array_like, shape (chains, draws, *param_shape)
    method : {"mean", "sd", "quantile", "median"}
    prob : float, optional
        Needed by ``"quantile"``.

    Returns
    -------
    numpy.ndarray, shape param_shape
    """
    if method not in _MCSE:
        raise ArgumentError("method", f"unknown mcse method {method!r}; choose from "
                                      f"{', '.join(map(repr, _MCSE))}")
    if method == "quantile" and prob is None:
        raise ArgumentError("prob", "mcse method 'quantile' needs prob")
    return _MCSE[method](x, prob)
