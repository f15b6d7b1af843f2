"""Prior and posterior predictive simulation."""

import jax
import numpy as np
import pytest

import credo.ppl as ppl
from credo.errors import ModelError
from credo.ppl.examples import EIGHT_SCHOOLS_DATA, eight_schools_noncentered, flu_prevalence

N = 4000


def assert_mean(draws, mean, var, z=4.0):
    """Sample mean within ``z`` Monte Carlo standard errors of ``mean``."""
    mcse = np.sqrt(var / draws.shape[0])
    assert np.all(abs(draws.mean(axis=0) - mean) < z * mcse)


def assert_variance(draws, var, kurtosis, z=4.0):
    """Sample variance within ``z`` MCSEs (from the known kurtosis) of ``var``."""
    mcse = np.sqrt((kurtosis - 1) * var**2 / draws.shape[0])
    assert np.all(abs(draws.var(axis=0) - var) < z * mcse)


def test_prior_predictive_moments_flu():
    out = ppl.prior_predictive(flu_prevalence, {"n": 100, "y": 12}, num_samples=N, seed=0)
    assert set(out) == {"theta", "y"}  # the observed y is resimulated
    assert out["theta"].shape == (N,) and out["y"].shape == (N,)
    assert_mean(out["theta"], 0.5, 1 / 12)
    assert_variance(out["theta"], 1 / 12, kurtosis=1.8)
    # marginally y is uniform on {0, ..., 100}
    assert_mean(out["y"], 50.0, (101**2 - 1) / 12)
    assert out["y"].min() >= 0 and out["y"].max() <= 100


def test_prior_predictive_moments_eight_schools():
    out = ppl.prior_predictive(eight_schools_noncentered, EIGHT_SCHOOLS_DATA, num_samples=N, seed=1)
    assert {k: v.shape for k, v in out.items()} == {
        "mu": (N,), "tau": (N,), "theta_trans": (N, 8), "theta": (N, 8), "y": (N, 8)}
    assert_mean(out["mu"], 0.0, 25.0)
    assert_variance(out["mu"], 25.0, kurtosis=3.0)
    assert_mean(out["theta_trans"], 0.0, 1.0)
    assert_variance(out["theta_trans"], 1.0, kurtosis=3.0)
    # HalfCauchy(5) has median 5
    frac = np.mean(out["tau"] < 5.0)
    assert abs(frac - 0.5) < 4 * np.sqrt(0.25 / N)
    np.testing.assert_allclose(out["theta"], out["mu"][:, None] + out["tau"][:, None] * out["theta_trans"],
                               rtol=1e-10)


def test_prior_predictive_is_reproducible():
    a = ppl.prior_predictive(flu_prevalence, None, num_samples=N, seed=3)
    b = ppl.prior_predictive(flu_prevalence, None, num_samples=N, seed=3)
    c = ppl.prior_predictive(flu_prevalence, None, num_samples=N, seed=4)
    np.testing.assert_array_equal(a["theta"], b["theta"])
    assert not np.array_equal(a["theta"], c["theta"])


@pytest.mark.parametrize("lead", [(50,), (2, 25)])
def test_posterior_predictive_shapes(lead):
    rng = np.random.default_rng(0)
    draws = {"mu": rng.normal(size=lead), "tau": rng.gamma(2.0, size=lead),
             "theta_trans": rng.normal(size=lead + (8,))}
    out = ppl.posterior_predictive(eight_schools_noncentered, draws, EIGHT_SCHOOLS_DATA, seed=0)
    assert set(out) == {"theta", "y"}
    assert out["theta"].shape == lead + (8,) and out["y"].shape == lead + (8,)
    expected = draws["mu"][..., None] + draws["tau"][..., None] * draws["theta_trans"]
    np.testing.assert_allclose(out["theta"], expected, rtol=1e-10)


def test_posterior_predictive_uses_each_draw():
    # theta fixed per draw: y ~ Normal(theta, sigma) around the draw's own mu
    mu = np.repeat([-100.0, 100.0], N // 2)
    draws = {"mu": mu, "tau": np.full(N, 1e-8), "theta_trans": np.zeros((N, 8))}
    out = ppl.posterior_predictive(eight_schools_noncentered, draws, EIGHT_SCHOOLS_DATA, seed=2)
    sigma = EIGHT_SCHOOLS_DATA["sigma"]
    for half, m in ((slice(0, N // 2), -100.0), (slice(N // 2, N), 100.0)):
        assert_mean(out["y"][half], m, sigma**2)


def test_posterior_predictive_errors():
    with pytest.raises(ModelError, match="names no"):
        ppl.posterior_predictive(flu_prevalence, {"nope": np.zeros(3)})
    with pytest.raises(ModelError, match="disagree"):
        ppl.posterior_predictive(eight_schools_noncentered,
                                 {"mu": np.zeros(3), "tau": np.ones(4)}, EIGHT_SCHOOLS_DATA)
    with pytest.raises(ModelError, match="shape"):
        ppl.posterior_predictive(eight_schools_noncentered,
                                 {"theta_trans": np.zeros((3, 7))}, EIGHT_SCHOOLS_DATA)


def test_pipeline_from_flat_draws_through_constrain():
    ld = ppl.logdensity(eight_schools_noncentered, EIGHT_SCHOOLS_DATA)
    flat = jax.random.normal(jax.random.PRNGKey(0), (2, 30, ld.dim))
    draws = jax.vmap(jax.vmap(ld.constrain))(flat)
    assert draws["theta"].shape == (2, 30, 8) and draws["tau"].shape == (2, 30)
    out = ppl.posterior_predictive(eight_schools_noncentered, draws, EIGHT_SCHOOLS_DATA, seed=1)
    assert set(out) == {"y"} and out["y"].shape == (2, 30, 8)
