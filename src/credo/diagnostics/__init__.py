"""MCMC convergence diagnostics, posterior summaries and Pareto smoothed importance sampling.

Host-side numpy implementations that agree with ArviZ 0.23 to round-off:

- :func:`rhat`, :func:`ess_bulk`, :func:`ess_tail`, :func:`ess_mean`,
  :func:`ess_sd`, :func:`ess_quantile`, :func:`ess`, :func:`mcse_mean`,
  :func:`mcse_sd`, :func:`mcse_quantile`, :func:`mcse` (Vehtari et al. 2021);
  :func:`autocov`, :func:`autocorr`;
- :func:`hdi`, :func:`e_bfmi`, :func:`psis`;
- :func:`summary`, :func:`convergence_warnings`, :func:`flat_names`,
  :func:`flatten_draws`.

Draws are arrays of shape ``(chains, draws, *param_shape)``; diagnostics have
shape ``param_shape``. See ``docs/diagnostics.md``.
"""

from credo.diagnostics.convergence import (
    autocorr,
    autocov,
    ess,
    ess_bulk,
    ess_mean,
    ess_quantile,
    ess_sd,
    ess_tail,
    mcse,
    mcse_mean,
    mcse_quantile,
    mcse_sd,
    rhat,
)
from credo.diagnostics.energy import e_bfmi
from credo.diagnostics.intervals import hdi
from credo.diagnostics.psis import gpd_fit, psis
from credo.diagnostics.summary import (
    convergence_warnings,
    flat_names,
    flatten_draws,
    hdi_columns,
    summary,
)

__all__ = [
    "autocorr",
    "autocov",
    "convergence_warnings",
    "e_bfmi",
    "ess",
    "ess_bulk",
    "ess_mean",
    "ess_quantile",
    "ess_sd",
    "ess_tail",
    "flat_names",
    "flatten_draws",
    "gpd_fit",
    "hdi",
    "hdi_columns",
    "mcse",
    "mcse_mean",
    "mcse_quantile",
    "mcse_sd",
    "psis",
    "rhat",
    "summary",
]
