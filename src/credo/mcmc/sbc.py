"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018).

Draw parameters from the prior, simulate data from them, sample the posterior
given those data, and record the rank of the true value among the posterior
draws. When the sampler is correct the ranks are uniform; a chi-square test
over binned ranks checks it. The compiled sampler is reused across
simulations: the simulated data are inputs of the program, not constants.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import stats

__all__ = ["SBCResult", "simulation_based_calibration"]


@dataclasses.dataclass(frozen=True)
class SBCResult:
    """Ranks and uniformity tests of a simulation-based calibration run.

    Attributes
    ----------
    ranks : dict of str -> ndarray of int, shape ``(num_simulations,)``
        Per scalar parameter (``mu``, ``theta[0]``, ...), the number of
        thinned posterior draws below the true value, in ``0..num_ranks - 1``.
    num_ranks : int
        Possible rank values (thinned draws + 1).
    bins : int
    chi2 : dict of str -> float
    p_values : dict of str -> float
        Chi-square test of uniform bin counts, ``bins - 1`` degrees of freedom.
    divergences : int
        Divergent transitions over all simulations.
    """

    ranks: dict
    num_ranks: int
    bins: int
    chi2: dict
    p_values: dict
    divergences: int

    def histogram(self, name: str) -> np.ndarray:
        """Rank counts of ``name`` in ``bins`` equal bins, shape ``(bins,)``."""
        edges = np.linspace(0, self.num_ranks, self.bins + 1)
        return np.histogram(self.ranks[name], bins=edges)[0]

    def passed(self, alpha: float = 0.01) -> bool:
        """Whether every parameter's p-value exceeds ``alpha``."""
        return all(p > alpha for p in self.p_values.values())


def _scalar_items(values: dict, names) -> dict:
    out = {}
    for name in names:
        v = np.asarray(values[name])
        if v.ndim == 0:
            out[name] = v
        else:
            for index in np.ndindex(*v.shape):
                out[f"{name}[{','.join(map(str, index))}]"] = v[index]
    return out


def simulation_based_calibration(model, data: dict, observed: list, *, num_simulations: int = 1000,
                                 warmup: int = 500, draws: int = 999, thin: int = 3,
                                 bins: int = 10, seed: int = 0, algorithm: str = "nuts",
                                 **sampler_options) -> SBCResult:
    """Run SBC for ``model``: one chain per simulation, ranks of the true parameters.

    Parameters
    ----------
    model : callable
    data : dict
        The model's fixed inputs (sizes, covariates): everything but the observations.
    observed : list of str
        Names of the sample sites to simulate and then condition on.
    num_simulations : int
    warmup, draws : int
        Per simulation. ``draws // thin`` thinned draws give ranks in
        ``0..draws // thin``; choose them so that ``draws // thin + 1`` is a
        multiple of ``bins``.
    thin : int
        Thinning reduces autocorrelation, which would otherwise make the ranks
        look non-uniform even for a correct sampler.
    bins : int
    seed : int
    algorithm : {"nuts", "hmc"}
    **sampler_options
        Passed to :func:`credo.nuts` / :func:`credo.hmc`.

    Returns
    -------
    SBCResult
    """
    from credo.ppl import logdensity, prior_predictive

    from .runner import hmc, nuts

    sampler = nuts if algorithm == "nuts" else hmc
    prior = prior_predictive(model, data, num_samples=num_simulations, seed=seed)
    parameters = [n for n, s in logdensity(model, {**data, **{k: prior[k][0] for k in observed}})
                  .sites.items() if not s.observed and s.type in ("sample", "deterministic")]
    num_ranks = draws // thin + 1
    ranks = {}
    divergences = 0
    for i in range(num_simulations):
        sim_data = {**data, **{k: np.asarray(prior[k][i]) for k in observed}}
        post = sampler(model, sim_data, chains=1, warmup=warmup, draws=draws, seed=seed + 1 + i,
                       progress=False, **sampler_options)
        divergences += int(post.divergences.sum())
        thinned = {k: np.asarray(v)[0, thin - 1::thin] for k, v in post.draws.items()}
        truth = _scalar_items({k: prior[k][i] for k in parameters}, parameters)
        for label, value in truth.items():
            name, _, rest = label.partition("[")
            column = thinned[name] if not rest else thinned[name][(slice(None),) + tuple(
                int(j) for j in rest.rstrip("]").split(","))]
            ranks.setdefault(label, []).append(int(np.sum(column < value)))
    ranks = {k: np.asarray(v) for k, v in ranks.items()}
    chi2, p_values = {}, {}
    for label, r in ranks.items():
        counts = np.histogram(r, bins=np.linspace(0, num_ranks, bins + 1))[0]
        chi2[label], p_values[label] = stats.chisquare(counts)
        chi2[label], p_values[label] = float(chi2[label]), float(p_values[label])
    return SBCResult(ranks, num_ranks, bins, chi2, p_values, divergences)


def _main():  # pragma: no cover - the full run behind `make sbc`
    import argparse

    import jax

    jax.config.update("jax_enable_x64", True)  # a script, not the library
    from credo.ppl.examples import sbc_hierarchical

    parser = argparse.ArgumentParser(description="Simulation-based calibration of credo.nuts")
    parser.add_argument("--simulations", type=int, default=1000)
    args = parser.parse_args()
    model, data, observed = sbc_hierarchical()
    result = simulation_based_calibration(model, data, observed, num_simulations=args.simulations)
    for name, p in result.p_values.items():
        print(f"{name:12s} chi2 {result.chi2[name]:7.2f}  p {p:.3f}  bins {result.histogram(name)}")
    print("divergences:", result.divergences)
    print("PASS" if result.passed() else "FAIL")
    raise SystemExit(0 if result.passed() else 1)


if __name__ == "__main__":  # pragma: no cover
    _main()
