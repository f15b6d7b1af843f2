"""ADVI and the Approximation it returns, on a regression with a closed-form Gaussian posterior."""

import warnings

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from credo.errors import ModelError
from credo.vi import Approximation, advi
from credo.vi.families import FullRank, LowRank, MeanField
from tests.vi.regression import exact_log_evidence, exact_posterior


@pytest.fixture(scope="module")
def ld(regression_ld):
    return regression_ld


def test_fullrank_recovers_the_exact_posterior(fullrank):
    mean, cov = exact_posterior()
    sd = np.sqrt(np.diag(cov))
    q = fullrank.q
    assert isinstance(q, FullRank)
    assert np.all(np.abs(np.asarray(q.loc) - mean) < 0.05 * sd)
    np.testing.assert_allclose(np.sqrt(np.diag(q.covariance())), sd, rtol=0.05)
    corr = np.asarray(q.covariance())[0, 1] / np.prod(np.sqrt(np.diag(q.covariance())))
    assert abs(corr - cov[0, 1] / np.prod(sd)) < 0.01
    assert fullrank.converged and fullrank.num_steps < 10000


@pytest.fixture(scope="module")
def meanfield(ld):
    return advi(ld, family="meanfield", progress=False, seed=0)


def test_meanfield_means_and_reverse_kl_variances(meanfield):
    mean, cov = exact_posterior()
    sd = np.sqrt(np.diag(cov))
    q = meanfield.q
    assert isinstance(q, MeanField)
    assert np.all(np.abs(np.asarray(q.loc) - mean) < 0.15 * sd)
    # the KL(q||p)-optimal diagonal Gaussian has the conditional sds 1 / sqrt(precision_ii)
    conditional = 1 / np.sqrt(np.diag(np.linalg.inv(cov)))
    np.testing.assert_allclose(np.asarray(q.scale), conditional, rtol=0.1)


def test_lowrank(ld):
    mean, cov = exact_posterior()
    sd = np.sqrt(np.diag(cov))
    approx = advi(ld, family="lowrank", rank=1, progress=False, seed=0)
    assert isinstance(approx.q, LowRank) and approx.q.cov_factor.shape == (2, 1)
    assert np.all(np.abs(np.asarray(approx.q.loc) - mean) < 0.15 * sd)



def test_same_seed_same_result(ld, fullrank):
    again = advi(ld, family="fullrank", progress=False, seed=0)
    np.testing.assert_array_equal(again.elbo_history, fullrank.elbo_history)
    np.testing.assert_array_equal(np.asarray(again.q.loc), np.asarray(fullrank.q.loc))
    a, b = fullrank.sample(10, seed=3), fullrank.sample(10, seed=3)
    np.testing.assert_array_equal(a["beta"], b["beta"])
    assert not np.array_equal(a["beta"], fullrank.sample(10, seed=4)["beta"])


def test_sample_includes_deterministic_sites(fullrank):
    draws = fullrank.sample(500, seed=1)
    assert set(draws) == {"beta", "at_mean"}
    assert draws["beta"].shape == (500, 2) and draws["at_mean"].shape == (500,)
    np.testing.assert_allclose(draws["at_mean"], draws["beta"][:, 0] + 50.0 * draws["beta"][:, 1])
    assert isinstance(draws["beta"], np.ndarray)


def test_summary_has_the_mcmc_columns_with_chain_diagnostics_nan(fullrank):
    table = fullrank.summary(num_samples=2000)
    assert list(table.columns) == ["mean", "sd", "hdi_3%", "hdi_97%", "mcse_mean", "mcse_sd",
                                   "ess_bulk", "ess_tail", "r_hat"]
    assert list(table.index) == ["beta[0]", "beta[1]", "at_mean"]
    assert table[["ess_bulk", "ess_tail", "r_hat"]].isna().all().all()
    mean, _ = exact_posterior()
    sd = table["sd"].to_numpy()[:2]
    assert np.all(np.abs(table["mean"].to_numpy()[:2] - mean) < 0.1 * sd)


def test_to_arviz(fullrank):
    idata = fullrank.to_arviz(num_samples=100)
    assert idata.posterior["beta"].shape == (1, 100, 2)
    assert "y" in idata.observed_data


def test_elbo_history_and_evidence_estimate(fullrank):
    log_z = exact_log_evidence()
    estimate, se = fullrank.log_evidence_estimate(num_samples=4000, seed=0)
    assert se < 0.05 and abs(estimate - log_z) < 4 * se + 0.01
    elbo, elbo_se = fullrank.elbo(num_samples=4000)
    assert elbo <= log_z + 4 * elbo_se and log_z - elbo < 0.05   # higher is better, <= log Z
    history = fullrank.elbo_history
    assert history.ndim == 1 and history.size == fullrank.num_steps
    assert abs(np.mean(history[-500:]) - log_z) < 0.05  # single estimates may exceed log Z


def test_psis_khat_good_fit_and_warning_for_a_bad_one(fullrank, meanfield):
    assert fullrank.psis_khat(num_samples=2000) < 0.5
    # the mean-field fit of this strongly correlated posterior misses most of its mass
    with pytest.warns(UserWarning, match="k-hat"):
        khat = meanfield.psis_khat(num_samples=2000)
    assert khat > 0.7
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        meanfield.psis_khat(num_samples=2000, warn=False)


def test_plain_log_density_with_dim(regression_ld):
    # the compiled model's own log density as a plain function (reusing its compiled programs)
    approx = advi(regression_ld.fn, dim=2, family="fullrank", progress=False, seed=1)
    draws = approx.sample(4000, seed=0)
    assert set(draws) == {"x"} and draws["x"].shape == (4000, 2)
    mean, cov = exact_posterior()
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(draws["x"].mean(0) - mean) < 0.1 * sd)
    np.testing.assert_allclose(draws["x"].std(0), sd, rtol=0.05)
    params = approx.params
    assert set(params) == {"loc", "scale_tril"} and isinstance(params["loc"], np.ndarray)


def test_tolerance_stops_early_and_zero_runs_all_steps(ld):
    stopped = advi(ld, family="meanfield", steps=20000, tolerance=1e-3, progress=False)
    assert stopped.converged and stopped.num_steps < 20000
    full = advi(ld, family="meanfield", steps=250, tolerance=0, progress=False)
    assert not full.converged and full.num_steps == 300  # whole chunks of 100


def test_progress_bar_shows_the_elbo(ld, capsys):
    advi(ld, family="meanfield", steps=200, tolerance=0, progress=True)
    err = capsys.readouterr().err
    assert "ADVI" in err and "elbo=" in err


def test_bad_arguments(ld):
    with pytest.raises(ValueError, match="family"):
        advi(ld, family="gaussian")
    with pytest.raises(ValueError, match="estimator"):
        advi(ld, estimator="magic", progress=False)
    with pytest.raises(ModelError, match="init"):
        advi(ld, init=np.zeros(5), progress=False)
    with pytest.raises(ModelError, match="data"):
        advi(lambda x: -jnp.sum(x**2), {"y": 1}, dim=2)
    with pytest.raises(ModelError, match="ADVI diverged: the ELBO or the variational parameters are not finite"):
        advi(lambda x: jnp.nan * jnp.sum(x), dim=2, steps=20, precondition=None, progress=False)
    with pytest.raises(TypeError, match="seed must be an int"):
        advi(ld, seed=None, progress=False)


def test_sample_counts_are_checked(ld):
    q = MeanField(jnp.zeros(2), jnp.ones(2))
    from credo.ppl import as_target

    approx = Approximation(q, as_target(ld), family="custom")
    assert approx.sample(0)["beta"].shape == (0, 2)
    with pytest.raises(ValueError, match="num_samples must be >= 0"):
        approx.sample(-1)


def test_approximation_is_constructible_from_any_family(ld):
    from credo.ppl import as_target

    q = MeanField(jnp.asarray(exact_posterior()[0]), jnp.ones(2))
    approx = Approximation(q, as_target(ld), family="custom")
    assert approx.sample(3)["beta"].shape == (3, 2)
    assert isinstance(approx.summary(num_samples=100), pd.DataFrame)
    assert "custom" in repr(approx)
