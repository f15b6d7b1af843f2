"""The result of an MCMC run: draws, sampler statistics, diagnostics and plots."""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Posterior", "GradEvals", "SamplerWarning"]


class SamplerWarning(UserWarning):
    """A problem with an MCMC run (R-hat, ESS, divergences, tree depth, E-BFMI), from :attr:`Posterior.warnings`.

    Issued by the samplers at the end of a run with ``progress=True``, through
    :mod:`warnings`, so that a caller can filter, log or raise it.
    """


@dataclasses.dataclass(frozen=True)
class GradEvals:
    """Gradient evaluations (leapfrog steps) of a run, summed over chains.

    Attributes
    ----------
    warmup, sampling : int
    """

    warmup: int
    sampling: int

    @property
    def total(self) -> int:
        return self.warmup + self.sampling

    def per_draw(self, num_draws: int) -> float:
        """Sampling-phase gradient evaluations per retained draw (all chains)."""
        return self.sampling / max(num_draws, 1)


class Posterior:
    """Draws from an MCMC run, on the constrained scale, with their diagnostics.

    Attributes
    ----------
    draws : dict of str -> ndarray, shape ``(chains, draws, *shape)``
        Latent and deterministic sites (a plain log density gives ``"x"``).
    stats : dict of str -> ndarray, shape ``(chains, draws)``
        Per-draw sampler statistics: ``step_size``, ``acceptance_rate``,
        ``energy``, ``num_integration_steps``, ``is_divergent``, ``lp`` (log
        density in unconstrained space), and ``tree_depth`` for NUTS.
    divergences : ndarray of bool, shape ``(chains, draws)``
    num_grad_evals : GradEvals
        Leapfrog steps in warmup and in sampling, all chains together.
    step_size : ndarray, shape ``(chains,)``
        Adapted step sizes.
    inverse_mass_matrix : ndarray, shape ``(chains, dim)`` or ``(chains, dim, dim)``
        Adapted inverse mass matrices (the draws' covariance estimate).
    observed : dict of str -> ndarray
        The observed data, for :meth:`to_arviz`.
    interrupted : bool
        The run was stopped (Ctrl-C) before all draws were made; ``draws``
        holds every draw completed before the stop.
    algorithm : str
    timing : dict
        Seconds spent compiling, in warmup and in sampling.
    warmup_stats : dict of str -> ndarray, shape ``(chains, warmup)``
        The per-iteration statistics of ``stats`` during warmup (step size
        while it adapts, tree depth, leapfrog steps, ...); empty without warmup.
    """

    def __init__(self, draws: dict, stats: dict, *, num_grad_evals: GradEvals, step_size,
                 inverse_mass_matrix, observed: dict | None = None, interrupted: bool = False,
                 algorithm: str = "nuts", max_tree_depth: int | None = None,
                 timing: dict | None = None, warmup_draws: dict | None = None,
                 warmup_stats: dict | None = None):
        self.draws = draws
        self.stats = stats
        self.num_grad_evals = num_grad_evals
        self.step_size = np.asarray(step_size)
        self.inverse_mass_matrix = np.asarray(inverse_mass_matrix)
        self.observed = observed or {}
        self.interrupted = interrupted
        self.algorithm = algorithm
        self.max_tree_depth = max_tree_depth
        self.timing = timing or {}
        self.warmup_draws = warmup_draws
        self.warmup_stats = warmup_stats or {}

    # -- shape -----------------------------------------------------------------------------
    @property
    def num_chains(self) -> int:
        return int(self.divergences.shape[0])

    @property
    def num_draws(self) -> int:
        """Draws per chain."""
        return int(self.divergences.shape[1])

    @property
    def divergences(self) -> np.ndarray:
        return self.stats["is_divergent"]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.draws[name]

    # -- diagnostics -----------------------------------------------------------------------
    def summary(self, prob: float = 0.94):
        """Posterior summary, one row per scalar element (``mu``, ``theta[0]``, ...).

        Columns ``mean, sd, hdi_3%, hdi_97%, mcse_mean, mcse_sd, ess_bulk,
        ess_tail, r_hat`` as in ArviZ (Vehtari et al. 2021).
        """
        from credo.diagnostics import summary

        self._require_draws("summarize")
        return summary(self.draws, prob=prob)

    def _require_draws(self, what: str) -> None:
        if self.num_draws == 0:
            raise ValueError(f"the posterior has no draws to {what} (draws=0"
                             + (", or the run was interrupted during warmup)" if self.interrupted else ")"))

    @property
    def e_bfmi(self) -> np.ndarray:
        """Energy Bayesian fraction of missing information per chain, shape ``(chains,)``."""
        from credo.diagnostics import e_bfmi

        return np.asarray(e_bfmi(self.stats["energy"]))

    @property
    def warnings(self) -> list[str]:
        """Plain-language problems with the run: R-hat, ESS, divergences, tree depth, E-BFMI."""
        from credo.diagnostics import convergence_warnings

        if self.num_draws < 4:
            return ["too few draws to judge convergence" + (" (run interrupted)" if self.interrupted else "")]
        depth_hits = None
        if self.max_tree_depth is not None and "tree_depth" in self.stats:
            depth_hits = int(np.sum(self.stats["tree_depth"] >= self.max_tree_depth))
        messages = convergence_warnings(
            self.summary(), divergences=int(np.sum(self.divergences)),
            tree_depth_hits=depth_hits, max_tree_depth=self.max_tree_depth,
            e_bfmi=self.e_bfmi if "energy" in self.stats else None)
        if self.interrupted:
            messages = ["the run was interrupted: draws are incomplete"] + list(messages)
        return list(messages)

    def report(self) -> str:
        """The summary table and warnings as text (``print(posterior.report())``)."""
        lines = [f"{self.algorithm.upper()}: {self.num_chains} chains x {self.num_draws} draws, "
                 f"{int(self.divergences.sum())} divergences, "
                 f"{self.num_grad_evals.per_draw(self.num_chains * self.num_draws):.1f} "
                 f"gradient evaluations per draw"]
        if self.num_draws >= 4:
            lines.append(self.summary().round(3).to_string())
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    # -- export ----------------------------------------------------------------------------
    def to_arviz(self):
        """An ``arviz.InferenceData`` with posterior, sample_stats and observed_data groups.

        Requires ArviZ (``pip install arviz``). Sampler statistics use ArviZ's
        names: ``lp``, ``acceptance_rate``, ``step_size``, ``tree_depth``,
        ``n_steps``, ``diverging``, ``energy``.
        """
        try:
            import arviz
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("to_arviz needs ArviZ, an optional dependency: pip install arviz (or "
                              "pip install 'credo[test]'); Posterior.save(path.npz) needs only numpy") from err
        renames = {"is_divergent": "diverging", "num_integration_steps": "n_steps"}
        stats = {renames.get(k, k): np.asarray(v) for k, v in self.stats.items()}
        observed = {k: np.asarray(v) for k, v in self.observed.items()}
        return arviz.from_dict(posterior={k: np.asarray(v) for k, v in self.draws.items()},
                               sample_stats=stats, observed_data=observed or None)

    def save(self, path):
        """Write the posterior to ``path``: ``.npz`` (numpy only, everything kept) or ``.nc``
        (ArviZ NetCDF). Read it back with :func:`credo.load_posterior`. Returns the path.
        See :mod:`credo.mcmc.posterior_io`."""
        from credo.mcmc.posterior_io import save_posterior

        return save_posterior(self, path)

    def plot_trace(self, names=None, *, max_elements: int = 4):
        """Trace and density per parameter; divergent draws marked in red.

        Parameters
        ----------
        names : list of str, optional
            Sites to plot (default: all).
        max_elements : int
            Elements of a vector site drawn at most (the first ones).

        Returns
        -------
        matplotlib.figure.Figure
        """
        from credo.viz.traces import plot_trace

        self._require_draws("plot")
        return plot_trace(self.draws, self.divergences, names=names, max_elements=max_elements)

    def __repr__(self):
        flag = ", interrupted" if self.interrupted else ""
        return (f"Posterior({self.algorithm}, chains={self.num_chains}, draws={self.num_draws}, "
                f"sites={list(self.draws)}{flag})")
