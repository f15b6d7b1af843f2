"""The flu prevalence check shared by the NUTS, HMC, MH and Gibbs tests: Beta(13, 89) within MCSE."""

from scipy import stats

FLU = {"n": 100, "y": 12}
BETA_13_89 = stats.beta(13, 89)


def within_mcse(posterior, name, mean, sd, k=3.0):
    """Assert ``name``'s posterior mean and sd are within ``k`` Monte Carlo standard errors."""
    row = posterior.summary().loc[name]
    assert abs(row["mean"] - mean) < k * row["mcse_mean"], (row["mean"], mean, row["mcse_mean"])
    assert abs(row["sd"] - sd) < k * row["mcse_sd"], (row["sd"], sd, row["mcse_sd"])
