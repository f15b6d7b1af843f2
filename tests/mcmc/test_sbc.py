"""Issue 5, acceptance 3: simulation-based calibration of NUTS, reduced.

100 simulations of a small hierarchical normal model (one chain each, 200
warmup, 297 draws thinned by 3 -> ranks 0..99 in 10 bins). Every parameter's
rank histogram must pass a chi-square uniformity test at p > 0.01. The full
run (1000 simulations) is ``make sbc``.
"""

import numpy as np

from credo.examples import sbc_hierarchical
from credo.mcmc.sbc import simulation_based_calibration


def test_nuts_ranks_are_uniform():
    model, data, observed = sbc_hierarchical()
    result = simulation_based_calibration(model, data, observed, num_simulations=100, warmup=200,
                                          draws=297, thin=3, seed=0)
    assert set(result.ranks) >= {"mu", "tau", "z[0]", "theta[3]"}
    for name, ranks in result.ranks.items():
        assert ranks.shape == (100,) and ranks.min() >= 0 and ranks.max() < result.num_ranks
        assert result.histogram(name).sum() == 100
    assert result.passed(0.01), result.p_values


def test_a_biased_sampler_fails_calibration():
    # The test can fail: ranks of a sampler that ignores the data (prior draws
    # stand in for posterior draws of a different simulation) are not uniform.
    from credo.mcmc.sbc import SBCResult
    from scipy import stats

    rng = np.random.default_rng(0)
    ranks = np.minimum(rng.binomial(99, 0.7, size=100), 99)  # skewed toward high ranks
    counts = np.histogram(ranks, bins=np.linspace(0, 100, 11))[0]
    chi2, p = stats.chisquare(counts)
    result = SBCResult({"x": ranks}, 100, 10, {"x": chi2}, {"x": p}, 0)
    assert not result.passed(0.01)
