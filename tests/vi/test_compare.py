"""VI against reference draws: the comparison table and the density overlay."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from credo.vi import compare, plot_compare
from tests.vi.regression import exact_posterior

matplotlib.use("Agg")


def _exact_draws(seed=0, chains=4, draws=1000):
    mean, cov = exact_posterior()
    beta = np.random.default_rng(seed).multivariate_normal(mean, cov, size=(chains, draws))
    return {"beta": beta, "at_mean": beta[..., 0] + 50.0 * beta[..., 1]}


class FakePosterior:
    def __init__(self, draws):
        self.draws = draws


def test_compare_table_for_a_good_fit(fullrank):
    table = compare(fullrank, _exact_draws())
    assert list(table.columns) == ["vi_mean", "mcmc_mean", "mean_diff", "vi_sd", "mcmc_sd",
                                   "sd_ratio", "flag"]
    assert list(table.index) == ["beta[0]", "beta[1]", "at_mean"]
    assert not table["flag"].any()
    assert np.all(np.abs(table["mean_diff"]) < 0.1) and np.all(np.abs(table["sd_ratio"] - 1) < 0.1)
    # an object with .draws (the MCMC Posterior) works the same
    same = compare(fullrank, FakePosterior(_exact_draws()))
    pd.testing.assert_frame_equal(table, same)


def test_compare_flags_a_bad_fit(fullrank):
    draws = _exact_draws()
    shifted = {"beta": draws["beta"] + np.array([0.0, 0.5 * draws["beta"][..., 1].std()]),
               "at_mean": draws["at_mean"] * 1.0}
    table = compare(fullrank, shifted)
    assert table.loc["beta[1]", "flag"] and not table.loc["beta[0]", "flag"]
    assert table.loc["beta[1]", "mean_diff"] < -0.4
    widened = {"beta": draws["beta"], "at_mean": 2.0 * (draws["at_mean"] - 23.0) + 23.0}
    table = compare(fullrank, widened, threshold_sd=0.15)
    assert table.loc["at_mean", "flag"] and abs(table.loc["at_mean", "sd_ratio"] - 0.5) < 0.05


def test_compare_errors(fullrank):
    with pytest.raises(ValueError, match="no site in common"):
        compare(fullrank, {"theta": np.zeros((2, 10))})
    with pytest.raises(TypeError, match="dict of draws"):
        compare(fullrank, [1, 2, 3])


def test_plot_compare_returns_a_figure(fullrank):
    fig = plot_compare(fullrank, _exact_draws(), num_samples=500)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 3
    assert fig.axes[0].get_title() == "beta[0]"
    fig2 = plot_compare(fullrank, _exact_draws(), names=["at_mean"], num_samples=500)
    assert len([ax for ax in fig2.axes if ax.get_visible()]) == 1
    import matplotlib.pyplot as plt

    plt.close("all")
