"""Metropolis-Hastings: closed forms, scale adaptation, covariance adaptation, independence proposals."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from credo import distributions as dist
from credo.diagnostics import ess_bulk
from credo.mcmc.mh import mh, optimal_acceptance
from credo.ppl.examples import flu_prevalence

from tests.mcmc.flu import BETA_13_89, FLU
from tests.mcmc.flu import within_mcse as _within_mcse


@pytest.fixture(scope="module")
def flu_mh():
    return mh(flu_prevalence, FLU, chains=4, warmup=1000, draws=3000, seed=0, progress=False)


def test_flu_matches_beta_13_89(flu_mh):
    _within_mcse(flu_mh, "theta", BETA_13_89.mean(), BETA_13_89.std())
    assert flu_mh.summary().loc["theta", "r_hat"] < 1.01
    assert flu_mh.algorithm == "mh"


def test_scale_adapts_toward_044_then_freezes(flu_mh):
    stats_ = flu_mh.stats
    assert flu_mh.acceptance_rate.shape == (4,)
    np.testing.assert_allclose(flu_mh.acceptance_rate, 0.44, atol=0.07)
    # frozen after warmup: one scale per chain for every draw, the adapted one
    np.testing.assert_allclose(stats_["step_size"], flu_mh.step_size[:, None] * np.ones((1, 3000)))
    # logit(theta) has sd ~0.29; the optimal 1-D scale is ~2.4 sd
    assert np.all((flu_mh.step_size > 0.3) & (flu_mh.step_size < 1.5))
    assert not flu_mh.divergences.any()
    assert flu_mh.num_grad_evals.total == 0
    for name in ("lp", "acceptance_rate", "is_accepted", "num_integration_steps"):
        assert stats_[name].shape == (4, 3000)


def test_many_dimensions_aim_at_0234():
    assert optimal_acceptance(1) == 0.44 and optimal_acceptance(50) == 0.234

    scales = np.linspace(1.0, 3.0, 10)

    def gaussian(x):
        return -0.5 * jnp.sum((x / scales) ** 2)

    post = mh(gaussian, dim=10, chains=4, warmup=1500, draws=500, seed=1, progress=False,
              adapt_covariance=True)
    assert abs(post.acceptance_rate.mean() - 0.234) < 0.06
    # the Welford estimates of the last warmup window follow the variances (a
    # random walk explores the widest directions slowly, so not precisely)
    variances = np.diagonal(post.inverse_mass_matrix, axis1=1, axis2=2).mean(0)
    assert np.corrcoef(variances, scales**2)[0, 1] > 0.8


def test_covariance_adaptation_helps_on_correlated_target():
    cov = np.array([[1.0, 0.95], [0.95, 1.0]])
    prec = np.linalg.inv(cov)

    def gaussian(x):
        return -0.5 * x @ prec @ x

    runs = {adapt: mh(gaussian, dim=2, chains=4, warmup=1000, draws=2000, seed=2, progress=False,
                      adapt_covariance=adapt) for adapt in (False, True)}
    ess = {a: float(np.min(ess_bulk(p.draws["x"]))) for a, p in runs.items()}
    assert ess[True] > 1.5 * ess[False]
    np.testing.assert_allclose(runs[True].inverse_mass_matrix.mean(0), cov, atol=0.25)
    draws = runs[True].draws["x"].reshape(-1, 2)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.15)


def test_article_interface_fixed_scale_no_warmup():
    # metropolis_hastings(log_target, initial, n_samples, proposal_std) of the
    # background article: one chain, no adaptation, a fixed proposal sd
    def log_target(theta):
        t = theta[0]
        inside = (t > 0) & (t < 1)
        return jnp.where(inside, 12 * jnp.log(jnp.where(inside, t, 0.5))
                         + 88 * jnp.log1p(-jnp.where(inside, t, 0.5)), -jnp.inf)

    post = mh(log_target, init=np.array([0.5]), chains=1, warmup=0, draws=5000, scale=0.05,
              seed=3, progress=False)
    samples = post.draws["x"][0, :, 0]
    assert samples.shape == (5000,)
    np.testing.assert_allclose(post.stats["step_size"], 0.05)
    assert 0.2 < post.acceptance_rate[0] < 0.8
    assert abs(samples[500:].mean() - BETA_13_89.mean()) < 0.01
    # proposals outside (0, 1) have density 0 and are always rejected
    assert np.all((samples > 0) & (samples < 1))


def test_independence_sampler_distribution_and_pair():
    # a Normal roughly matching logit(theta)'s posterior, a bit wider
    q = dist.Normal(jnp.array([-1.93]), jnp.array([0.45]))
    post = mh(flu_prevalence, FLU, proposal=q, chains=4, warmup=200, draws=2000, seed=4,
              progress=False)
    _within_mcse(post, "theta", BETA_13_89.mean(), BETA_13_89.std())
    assert post.acceptance_rate.mean() > 0.6
    assert "step_size" not in post.stats

    def sample_fn(key):
        return -1.93 + 0.45 * jax.random.normal(key, (1,))

    def log_prob_fn(x):
        return jnp.sum(-0.5 * ((x + 1.93) / 0.45) ** 2)

    pair = mh(flu_prevalence, FLU, proposal=(sample_fn, log_prob_fn), chains=4, warmup=200,
              draws=2000, seed=4, progress=False)
    _within_mcse(pair, "theta", BETA_13_89.mean(), BETA_13_89.std())


def test_thin_and_determinism():
    a = mh(flu_prevalence, FLU, chains=2, warmup=200, draws=300, thin=5, seed=5, progress=False)
    b = mh(flu_prevalence, FLU, chains=2, warmup=200, draws=300, thin=5, seed=5, progress=False)
    assert a.draws["theta"].shape == (2, 300)
    np.testing.assert_array_equal(a.draws["theta"], b.draws["theta"])
    # five proposals per draw: the draws are much less autocorrelated
    assert float(np.min(ess_bulk(a.draws["theta"]))) > 250


def test_bad_arguments():
    with pytest.raises(ValueError, match="proposal"):
        mh(flu_prevalence, FLU, proposal="langevin", progress=False)
    with pytest.raises(ValueError, match="thin"):
        mh(flu_prevalence, FLU, thin=0, progress=False)


def test_progress_prints_acceptance(capsys):
    mh(flu_prevalence, FLU, chains=2, warmup=100, draws=100, seed=6, progress=True)
    out = capsys.readouterr().out
    assert "MH acceptance rate per chain:" in out and "adapted toward 0.440" in out


def test_mh_and_gibbs_refuse_a_model_without_latent_variables():
    import credo

    def all_observed():
        credo.sample("y", dist.Normal(0.0, 1.0), obs=0.3)

    with pytest.raises(credo.ModelError, match="no latent variables to sample"):
        mh(all_observed, progress=False)
    with pytest.raises(credo.ModelError, match="no latent variables to sample"):
        credo.gibbs(all_observed, progress=False)
