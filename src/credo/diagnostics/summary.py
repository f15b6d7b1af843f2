"""Posterior summary table and plain-language convergence warnings."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from credo.diagnostics.convergence import (
    MIN_DRAWS,
    _check_prob,
    _check_sizes,
    _clean,
    _ess_core,
    _ess_tail,
    _exponents,
    _fold,
    _invalid,
    _larger,
    _mcse_sd,
    _real_draws,
    _rhat_core,
    _split_chains,
    _z_scale,
)
from credo.diagnostics.intervals import hdi
from credo.errors import ArgumentError

__all__ = ["summary", "convergence_warnings", "flat_names", "flatten_draws", "hdi_columns"]

#: Thresholds of Vehtari et al. (2021) and Betancourt (2016).
RHAT_THRESHOLD = 1.01
ESS_THRESHOLD = 400
E_BFMI_THRESHOLD = 0.3


# --------------------------------------------------------------------------- names
def flat_names(name: str, shape: Sequence[int]) -> list[str]:
    """Labels of the scalar elements of a site, in C order, as ArviZ writes them.

    Parameters
    ----------
    name : str
        Site name.
    shape : tuple of int
        Shape of one draw of the site; ``()`` for a scalar.

    Returns
    -------
    list of str
        ``[name]`` for a scalar, else ``name[i, j, ...]`` with 0-based indices.

    Examples
    --------
    >>> flat_names("mu", ())
    ['mu']
    >>> flat_names("L", (2, 2))
    ['L[0, 0]', 'L[0, 1]', 'L[1, 0]', 'L[1, 1]']
    """
    shape = tuple(shape)
    if not shape:
        return [name]
    return [f"{name}[{', '.join(map(str, idx))}]" for idx in itertools.product(*map(range, shape))]


def flatten_draws(draws: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One ``(chains, draws)`` float array per scalar element, labelled by :func:`flat_names`.

    Parameters
    ----------
    draws : mapping of str to array_like, each of shape (chains, draws, *shape)
        All sites must share the number of chains and draws.

    Returns
    -------
    dict of str to numpy.ndarray of shape (chains, draws)
        In site order, then C order within a site.

    Examples
    --------
    >>> flat = flatten_draws({"mu": np.zeros((2, 5)), "theta": np.zeros((2, 5, 3))})
    >>> list(flat), flat["theta[2]"].shape
    (['mu', 'theta[0]', 'theta[1]', 'theta[2]'], (2, 5))
    """
    names, values = _stack_draws(draws)
    return {name: values[:, :, i] for i, name in enumerate(names)}


def _stack_draws(draws: Mapping[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Labels and a float64 ``(chains, draws, K)`` array of all scalar elements."""
    names: list[str] = []
    blocks = []
    for name, value in draws.items():
        value = _real_draws(value, "draws", f"the draws of site {name!r}")
        if value.ndim < 2:
            raise ArgumentError("draws", f"site {name!r}: expected shape (chains, draws, ...), "
                                         f"got {value.shape}")
        _check_sizes(value, "draws", f"site {name!r}: ")
        if blocks and value.shape[:2] != blocks[0].shape[:2]:
            raise ArgumentError("draws", f"site {name!r} has {value.shape[:2]} (chains, draws), "
                                         f"others have {blocks[0].shape[:2]}")
        names += flat_names(name, value.shape[2:])
        blocks.append(value.reshape(value.shape[0], value.shape[1], int(np.prod(value.shape[2:]))))
    if not blocks:
        return [], np.empty((0, 0, 0))
    return names, np.concatenate(blocks, axis=2)


def hdi_columns(prob: float) -> tuple[str, str]:
    """Names of the HDI columns for ``prob``, as ArviZ: 0.94 gives ``('hdi_3%', 'hdi_97%')``."""
    alpha = 1 - prob
    return f"hdi_{100 * alpha / 2:g}%", f"hdi_{100 * (1 - alpha / 2):g}%"


# --------------------------------------------------------------------------- summary
def _stats_columns(x: np.ndarray, prob: float) -> dict[str, np.ndarray]:
    low, high = hdi_columns(prob)
    if x.shape[2] == 0:
        return {col: np.empty(0) for col in ("mean", "sd", low, high)}
    interval = hdi(x, prob)
    # moments of the draws scaled to order 1 by a power of two (exact), scaled back:
    # no overflow of the squares of draws near 1e300, no underflow near 1e-300
    exponent = _exponents(x)
    scaled = np.ldexp(x, -exponent)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return {"mean": np.ldexp(scaled.mean(axis=(0, 1)), exponent),
                "sd": np.ldexp(scaled.std(axis=(0, 1), ddof=1), exponent),
                low: interval[:, 0], high: interval[:, 1]}


def _diagnostic_columns(x: np.ndarray) -> dict[str, np.ndarray]:
    """``mcse_mean, mcse_sd, ess_bulk, ess_tail, r_hat`` as ``arviz.summary`` computes them."""
    k = x.shape[2]
    if x.shape[1] < MIN_DRAWS or k == 0:
        return {col: np.full(k, np.nan) for col in ("mcse_mean", "mcse_sd", "ess_bulk", "ess_tail", "r_hat")}
    bad = _invalid(x)
    x = _clean(x, bad)
    # on draws scaled to order 1 by a power of two (exact); R-hat and ESS do not change,
    # the MCSEs are scaled back
    exponent = _exponents(x)
    x = np.ldexp(x, -exponent)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        z_split = _z_scale(_split_chains(x))
        mcse_mean = np.sqrt(x.var(axis=(0, 1), ddof=1) / _ess_core(_split_chains(x)))
        columns = {
            "mcse_mean": np.ldexp(mcse_mean, exponent),
            "mcse_sd": np.ldexp(_mcse_sd(x), exponent),
            "ess_bulk": _ess_core(z_split),
            "ess_tail": _ess_tail(x),
            "r_hat": _summary_rhat(x, z_split),
        }
    return {col: np.where(bad, np.nan, value) for col, value in columns.items()}


def _summary_rhat(x: np.ndarray, z_split: np.ndarray) -> np.ndarray:
    """Rank R-hat as ``arviz.summary``: the tail part folds before splitting the chains."""
    if x.shape[0] < 2:
        return np.full(x.shape[2], np.nan)
    tail = _rhat_core(_z_scale(_split_chains(_fold(x))))
    return _larger(_rhat_core(z_split), tail)


def summary(draws: Mapping[str, np.ndarray], *, prob: float = 0.94, kind: str = "all") -> pd.DataFrame:
    """Posterior summary, one row per scalar element, equal to ``arviz.summary``.

    Columns ``mean, sd, hdi_3%, hdi_97%`` (``kind="stats"``) and
    ``mcse_mean, mcse_sd, ess_bulk, ess_tail, r_hat`` (``kind="diagnostics"``),
    both for ``kind="all"``. ``sd`` uses ddof 1; the HDI columns are named after
    ``prob`` (0.9 gives ``hdi_5%, hdi_95%``). The diagnostics are those of
    :mod:`credo.diagnostics.convergence` (Vehtari et al. 2021); ``r_hat`` is
    NaN for a single chain, all diagnostics are NaN with fewer than 4 draws or
    a NaN draw.

    Parameters
    ----------
    draws : mapping of str to array_like, each of shape (chains, draws, *shape)
        Real numbers, at least one chain and one draw. A site with a
        zero-size shape, such as ``(4, 100, 0)``, has no rows (as in ArviZ).
        Draws of any magnitude: moments and MCSEs are computed on the draws
        scaled to order 1 and scaled back, so draws near 1e300 have a finite sd.
    prob : float
        HDI probability in ``(0, 1]``.
    kind : {"all", "stats", "diagnostics"}

    Raises
    ------
    credo.errors.ArgumentError
        An unknown ``kind``, ``prob`` outside ``(0, 1]``, or a site whose
        draws are complex, not numbers, of the wrong shape, or empty (no chains
        or no draws), named in the message.

    Returns
    -------
    pandas.DataFrame
        Indexed ``mu``, ``theta[0]``, ``L[0, 1]``, ... (0-based, C order, as
        :func:`flat_names`).

    References
    ----------
    Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), Bayesian Analysis 16(2):667-718.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> table = summary({"mu": rng.normal(size=(4, 500)), "theta": rng.normal(size=(4, 500, 2))})
    >>> list(table.index), list(table.columns)[:4]
    (['mu', 'theta[0]', 'theta[1]'], ['mean', 'sd', 'hdi_3%', 'hdi_97%'])
    """
    if kind not in ("all", "stats", "diagnostics"):
        raise ArgumentError("kind", f"must be 'all', 'stats' or 'diagnostics', got {kind!r}")
    prob = _check_prob(prob)
    names, x = _stack_draws(draws)
    columns: dict[str, np.ndarray] = {}
    if kind in ("all", "stats"):
        columns.update(_stats_columns(x, prob))
    if kind in ("all", "diagnostics"):
        columns.update(_diagnostic_columns(x))
    return pd.DataFrame(columns, index=pd.Index(names, dtype=object))


# --------------------------------------------------------------------------- warnings
def _listing(labels: Sequence[str], limit: int = 3) -> str:
    """``'a, b, c and 4 more'``: at most ``limit`` labels, then a count of the rest."""
    labels = list(labels)
    if len(labels) <= limit:
        return ", ".join(labels[:-1]) + (" and " if len(labels) > 1 else "") + labels[-1]
    return f"{', '.join(labels[:limit])} and {len(labels) - limit} more"


def _worst(column: pd.Series, bad: pd.Series, ascending: bool, show) -> list[str]:
    """``name (show(value))`` for the flagged rows, worst first."""
    flagged = column[bad].sort_values(ascending=ascending, kind="stable")
    return [f"{name} ({show(value)})" for name, value in flagged.items()]


def _up3(value: float) -> str:
    return f"{np.ceil(value * 1000) / 1000:.3f}"


def _down0(value: float) -> str:
    return f"{np.floor(value):.0f}"


def _rhat_message(table: pd.DataFrame, threshold: float) -> list[str]:
    if "r_hat" not in table:
        return []
    r_hat = table["r_hat"]
    bad = r_hat > threshold
    if not bad.any():
        return []
    return [f"R-hat above {threshold:g} for {_listing(_worst(r_hat, bad, False, _up3))}: the chains "
            "disagree and have not converged; run longer chains, check the initial values, "
            "or reparameterize the model."]


def _ess_messages(table: pd.DataFrame, threshold: float) -> list[str]:
    meaning = {"ess_bulk": ("bulk", "the posterior means and medians"),
               "ess_tail": ("tail", "the interval ends (5% and 95% quantiles)")}
    messages = []
    for column, (which, what) in meaning.items():
        if column not in table:
            continue
        bad = table[column] < threshold
        if bad.any():
            messages.append(
                f"{which} effective sample size below {threshold:g} for "
                f"{_listing(_worst(table[column], bad, True, _down0))}: {what} are not estimated "
                "reliably; draw more samples or improve mixing (reparameterize).")
    return messages


def _nonfinite_message(table: pd.DataFrame) -> list[str]:
    if "mean" not in table:
        return []
    bad = ~np.isfinite(table["mean"].to_numpy(dtype=float))
    if not bad.any():
        return []
    return [f"non-finite draws (NaN or infinity) in {_listing(list(table.index[bad]))}: "
            "their diagnostics cannot be computed; check the model for numerical problems."]


def _count(events) -> tuple[int, str]:
    """Number of events (an int, or per-draw flags) and, for flags, ``" (x% of n)"``."""
    flags = np.asarray(events)
    if not flags.ndim:
        return int(flags), ""
    count = int(flags.sum())
    return count, f" ({100 * count / max(flags.size, 1):.1f}% of {flags.size})"


def _divergence_message(divergences) -> list[str]:
    if divergences is None:
        return []
    count, share = _count(divergences)
    if count == 0:
        return []
    return [f"{count} divergent transition{'s' if count != 1 else ''}{share}: the sampler met "
            "regions of high curvature it cannot explore, so the draws may be biased; raise "
            "target_accept (e.g. 0.95) or use a non-centered parameterization."]


def _tree_depth_message(hits, max_tree_depth) -> list[str]:
    if hits is None:
        return []
    count, share = _count(hits)
    if count == 0:
        return []
    depth = "the maximum tree depth" + ("" if max_tree_depth is None else f" ({max_tree_depth})")
    return [f"{count} transition{'s' if count != 1 else ''}{share} hit {depth}: trajectories were "
            "cut short, which slows exploration; raise max_tree_depth or reparameterize the model."]


def _e_bfmi_message(e_bfmi, threshold: float) -> list[str]:
    if e_bfmi is None:
        return []
    values = np.atleast_1d(np.asarray(e_bfmi, dtype=float))
    (chains,) = np.nonzero(values < threshold)
    if not len(chains):
        return []
    labels = [f"{i} ({values[i]:.2f})" for i in chains]
    word = "chains" if len(chains) > 1 else "chain"
    return [f"E-BFMI below {threshold:g} in {word} {_listing(labels)}: momentum resampling "
            "explores the energy distribution poorly (heavy tails or a funnel); "
            "reparameterize the model."]


def convergence_warnings(
    summary_df: pd.DataFrame,
    *,
    divergences=None,
    tree_depth_hits=None,
    max_tree_depth: int | None = None,
    e_bfmi=None,
    rhat_threshold: float = RHAT_THRESHOLD,
    ess_threshold: float = ESS_THRESHOLD,
    e_bfmi_threshold: float = E_BFMI_THRESHOLD,
) -> list[str]:
    """Plain-language problems with an MCMC run, each naming the offending parameters.

    Checks R-hat > 1.01, bulk and tail ESS < 400 (Vehtari et al. 2021),
    divergent transitions, saturated tree depth and E-BFMI < 0.3 (Betancourt
    2016), plus non-finite draws. NaN diagnostics (a single chain, a constant
    parameter) are not reported. At most three parameters are named per
    message, worst first, then "and N more".

    Parameters
    ----------
    summary_df : pandas.DataFrame
        As returned by :func:`summary`; missing columns are skipped.
    divergences : int or array_like of bool, optional
        Number of divergent transitions, or the per-draw flags.
    tree_depth_hits : int or array_like of bool, optional
        Number of transitions that hit the maximum tree depth, or per-draw flags.
    max_tree_depth : int, optional
        The sampler's maximum tree depth, quoted in the message.
    e_bfmi : array_like, shape (chains,), optional
        E-BFMI per chain.
    rhat_threshold, ess_threshold, e_bfmi_threshold : float
        Thresholds (defaults 1.01, 400, 0.3).

    Returns
    -------
    list of str
        Empty when nothing is wrong.

    Examples
    --------
    >>> table = pd.DataFrame({"r_hat": [1.0, 1.2], "ess_bulk": [900.0, 30.0],
    ...                       "ess_tail": [800.0, 500.0]}, index=["mu", "tau"])
    >>> for message in convergence_warnings(table, divergences=3):
    ...     print(message.split(":")[0])
    R-hat above 1.01 for tau (1.200)
    bulk effective sample size below 400 for tau (30)
    3 divergent transitions
    """
    return (_nonfinite_message(summary_df)
            + _rhat_message(summary_df, rhat_threshold)
            + _ess_messages(summary_df, ess_threshold)
            + _divergence_message(divergences)
            + _tree_depth_message(tree_depth_hits, max_tree_depth)
            + _e_bfmi_message(e_bfmi, e_bfmi_threshold))
