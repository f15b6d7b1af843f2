"""Pathfinder on the closed-form regression; MCMC initial points; reproducibility."""

import jax.numpy as jnp
import numpy as np
import pytest

from credo.errors import ModelError
from credo.vi import pathfinder, pathfinder_init
from credo.vi.families import FactoredGaussian, Mixture
from tests.vi.regression import exact_posterior


@pytest.fixture(scope="module")
def approx(regression_ld):
    return pathfinder(regression_ld, progress=False, seed=0)


def test_pathfinder_recovers_the_exact_posterior(approx):
    mean, cov = exact_posterior()
    sd = np.sqrt(np.diag(cov))
    draws = approx.sample(4000, seed=1)["beta"]
    assert np.all(np.abs(draws.mean(0) - mean) < 0.1 * sd)
    np.testing.assert_allclose(draws.std(0), sd, rtol=0.1)
    # on a Gaussian posterior every path's best Gaussian is (nearly) exact
    q = approx.q
    assert isinstance(q, Mixture) and q.num_components == 4
    for k in range(4):
        comp = q.component(k)
        assert isinstance(comp, FactoredGaussian)
        assert np.all(np.abs(np.asarray(comp.loc) - mean) < 0.05 * sd)
        np.testing.assert_allclose(np.sqrt(np.diag(comp.covariance())), sd, rtol=0.05)


def test_pathfinder_reports_its_paths(approx):
    info = approx.info
    assert approx.family == "pathfinder" and approx.resample
    assert info["best_iteration"].shape == (4,) and np.all(info["best_iteration"] >= 1)
    assert np.all(info["num_iterations"] >= info["best_iteration"])
    assert approx.elbo_history.shape == (4, 1001)
    # each path's reported ELBO is the maximum of its per-iterate ELBOs
    np.testing.assert_allclose(np.nanmax(approx.elbo_history, axis=1), info["elbo"])
    assert info["proposal_scale"] in (1.0, 1.25, 1.5) and info["khat"] < 0.7
    assert approx.psis_khat(num_samples=2000) < 0.7


def test_same_seed_same_result(regression_ld, approx):
    again = pathfinder(regression_ld, progress=False, seed=0)
    np.testing.assert_array_equal(again.elbo_history, approx.elbo_history)
    np.testing.assert_array_equal(again.sample(50, seed=2)["beta"], approx.sample(50, seed=2)["beta"])


def test_single_path_draws_from_its_gaussian(regression_ld):
    single = pathfinder(regression_ld, num_paths=1, progress=False, seed=3)
    assert isinstance(single.q, FactoredGaussian) and not single.resample
    assert single.info["proposal_scale"] == 1.0


def test_pathfinder_init_gives_distinct_finite_points(regression_ld):
    points = pathfinder_init(regression_ld, num_chains=4, seed=0)
    assert points.shape == (4, regression_ld.dim)
    assert len({tuple(p) for p in points}) == 4
    assert all(np.isfinite(float(regression_ld.fn(jnp.asarray(p)))) for p in points)
    mean, cov = exact_posterior()
    assert np.all(np.abs(points - mean) < 5 * np.sqrt(np.diag(cov)))


def test_plain_log_density_and_errors(regression_ld):
    # the compiled model's own log density passed as a plain function: its draws are "x"
    # (and the programs compiled for the model are reused)
    approx = pathfinder(regression_ld.fn, dim=regression_ld.dim, num_paths=2, progress=False,
                        seed=0)
    draws = approx.sample(4000, seed=0)["x"]
    mean, cov = exact_posterior()
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(draws.mean(0) - mean) < 0.1 * sd)
    np.testing.assert_allclose(draws.std(0), sd, rtol=0.1)
    with pytest.raises(ModelError, match="finite log density"):
        pathfinder(lambda x: jnp.sum(x) * jnp.nan, dim=2, num_paths=1, progress=False)
    with pytest.raises(ValueError, match="num_paths"):
        pathfinder(regression_ld.fn, dim=2, num_paths=0)
