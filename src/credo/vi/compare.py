r"""Compare a variational approximation with MCMC draws, element by element.

For every scalar element of every site present in both,

.. math::

    \text{mean\_diff} = \frac{\bar x_{\mathrm{VI}} - \bar x_{\mathrm{MCMC}}}{s_{\mathrm{MCMC}}},
    \qquad
    \text{sd\_ratio} = \frac{s_{\mathrm{VI}}}{s_{\mathrm{MCMC}}},

the error of the VI mean in posterior standard deviations and the ratio of
standard deviations. Reverse-KL methods typically show ``sd_ratio < 1``
(underdispersion), and mean-field families especially so for correlated
posteriors.

Examples
--------
>>> import numpy as np
>>> from credo.ppl.examples import flu_prevalence
>>> from credo.vi import advi, compare
>>> approx = advi(flu_prevalence, precondition=None, steps=2000, progress=False)
>>> rng = np.random.default_rng(0)
>>> exact = {"theta": rng.beta(13, 89, size=(4, 1000))}   # the Beta(13, 89) posterior
>>> table = compare(approx, exact)
>>> list(table.columns)
['vi_mean', 'mcmc_mean', 'mean_diff', 'vi_sd', 'mcmc_sd', 'sd_ratio', 'flag']
>>> bool(table.loc["theta", "flag"])
False
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from credo.errors import ArgumentError

__all__ = ["compare", "plot_compare"]


def _reference_draws(posterior) -> dict:
    draws = getattr(posterior, "draws", posterior)
    if not isinstance(draws, dict):
        raise TypeError("posterior must be a dict of draws (chains, draws, *shape) or an object "
                        f"with a .draws dict, got {type(posterior).__name__}")
    return {k: np.asarray(v, dtype=float) for k, v in draws.items()}


def _flat_pairs(approximation, posterior, num_samples, seed):
    from credo.diagnostics import flatten_draws

    reference = _reference_draws(posterior)
    vi = approximation.sample(num_samples, seed)
    common = [name for name in reference if name in vi]
    if not common:
        raise ArgumentError("posterior", f"no site in common: VI has {sorted(vi)}, the posterior "
                                         f"has {sorted(reference)}")
    ref_flat = flatten_draws({k: reference[k] for k in common})
    vi_flat = flatten_draws({k: np.asarray(vi[k], dtype=float)[None] for k in common})
    return vi_flat, ref_flat


def compare(approximation, posterior, *, threshold_mean: float = 0.1, threshold_sd: float = 0.15,
            num_samples: int = 4000, seed=0) -> pd.DataFrame:
    """Per-element agreement of an :class:`~credo.vi.Approximation` with reference draws.

    Parameters
    ----------
    approximation : Approximation
    posterior : dict or object with ``.draws``
        Reference draws ``name -> array (chains, draws, *shape)``, e.g. an MCMC
        ``Posterior``. Sites missing on either side are skipped.
    threshold_mean : float
        Flag an element when ``|mean_diff| > threshold_mean`` (posterior sds).
    threshold_sd : float
        Flag an element when ``|sd_ratio - 1| > threshold_sd``.
    num_samples : int
        Draws taken from the approximation.
    seed : int or PRNG key

    Returns
    -------
    pandas.DataFrame
        Indexed by element (``mu``, ``theta[0]``, ...), with columns ``vi_mean,
        mcmc_mean, mean_diff, vi_sd, mcmc_sd, sd_ratio, flag``.
    """
    vi_flat, ref_flat = _flat_pairs(approximation, posterior, num_samples, seed)
    rows = {}
    for name, ref in ref_flat.items():
        v = vi_flat[name].ravel()
        r = ref.ravel()
        ref_sd = r.std(ddof=1)
        vi_sd = v.std(ddof=1)
        mean_diff = (v.mean() - r.mean()) / ref_sd if ref_sd > 0 else np.nan
        sd_ratio = vi_sd / ref_sd if ref_sd > 0 else np.nan
        flag = not (abs(mean_diff) <= threshold_mean and abs(sd_ratio - 1) <= threshold_sd)
        rows[name] = {"vi_mean": v.mean(), "mcmc_mean": r.mean(), "mean_diff": mean_diff,
                      "vi_sd": vi_sd, "mcmc_sd": ref_sd, "sd_ratio": sd_ratio, "flag": flag}
    return pd.DataFrame.from_dict(rows, orient="index")


def plot_compare(approximation, posterior, *, names=None, max_elements: int = 12,
                 num_samples: int = 4000, seed=0, bins: int = 50):
    """Overlay the marginal densities of VI draws and reference draws.

    One panel per scalar element (the first ``max_elements``), each with
    the reference histogram (filled) and the VI density (line).

    Parameters
    ----------
    approximation : Approximation
    posterior : dict or object with ``.draws``
    names : list of str, optional
        Element labels to plot (``"theta[0]"``), default all (up to ``max_elements``).
    max_elements : int
    num_samples : int
    seed : int or PRNG key
    bins : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    vi_flat, ref_flat = _flat_pairs(approximation, posterior, num_samples, seed)
    labels = list(ref_flat) if names is None else [n for n in names if n in ref_flat]
    labels = labels[:max_elements]
    if not labels:
        raise ArgumentError("names", f"nothing to plot: none of {names!r} is a site of both "
                                     f"(common: {sorted(ref_flat)})" if names is not None else
                            "nothing to plot: no element in common")
    cols = min(3, len(labels))
    rows = -(-len(labels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, label in zip(axes.ravel(), labels):
        ref = ref_flat[label].ravel()
        vi = vi_flat[label].ravel()
        lo, hi = np.percentile(np.concatenate([ref, vi]), [0.5, 99.5])
        edges = np.linspace(lo, hi, bins + 1) if hi > lo else bins
        ax.hist(ref, bins=edges, density=True, alpha=0.4, color="C0", label="MCMC")
        ax.hist(vi, bins=edges, density=True, histtype="step", color="C1", linewidth=1.5,
                label=f"VI ({approximation.family})")
        ax.set_title(label, fontsize=9)
        ax.set_yticks([])
    for ax in axes.ravel()[len(labels):]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
