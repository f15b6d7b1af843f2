"""credo.diagnostics agrees with ArviZ, and its diagnostics behave as the theory says."""

from __future__ import annotations

import numpy as np
import pytest

from credo import diagnostics as D
from credo.diagnostics.convergence import _ess_core
from tests.diagnostics.cases import CASES, ar1, import_arviz

az = import_arviz()
from arviz.stats.diagnostics import _ess as arviz_ess_core  # noqa: E402
from arviz.stats.stats_utils import autocov as arviz_autocov  # noqa: E402

#: Agreement required with ArviZ (absolute, with a relative allowance far below it for large ESS).
ATOL, RTOL = 1e-6, 1e-9


def per_param(func, x: np.ndarray, out_tail: tuple[int, ...] = ()) -> np.ndarray:
    """Apply an ArviZ ``(chains, draws)`` function to each parameter of ``x``."""
    shape = x.shape[2:]
    out = np.empty(shape + out_tail)
    with np.errstate(all="ignore"):  # ArviZ's own warnings on NaN, inf and constants
        for idx in np.ndindex(*shape):
            out[idx] = func(x[(slice(None), slice(None)) + idx])
    return out


def assert_agrees(ours, theirs):
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, equal_nan=True)


# (credo, arviz-on-one-parameter) pairs.
PAIRS = {
    "rhat": (D.rhat, lambda v: az.rhat(v)),
    "ess_bulk": (D.ess_bulk, lambda v: az.ess(v)),
    "ess_tail": (D.ess_tail, lambda v: az.ess(v, method="tail")),
    "ess_tail_0.1": (lambda x: D.ess_tail(x, 0.1), lambda v: az.ess(v, method="tail", prob=0.1)),
    "ess_mean": (D.ess_mean, lambda v: az.ess(v, method="mean")),
    "ess_sd": (D.ess_sd, lambda v: az.ess(v, method="sd")),
    "ess_quantile": (lambda x: D.ess_quantile(x, 0.25), lambda v: az.ess(v, method="quantile", prob=0.25)),
    "ess_median": (lambda x: D.ess(x, "median"), lambda v: az.ess(v, method="median")),
    "ess_relative": (lambda x: D.ess_bulk(x, relative=True), lambda v: az.ess(v, relative=True)),
    "mcse_mean": (D.mcse_mean, lambda v: az.mcse(v)),
    "mcse_sd": (D.mcse_sd, lambda v: az.mcse(v, method="sd")),
    "mcse_quantile": (lambda x: D.mcse_quantile(x, 0.8), lambda v: az.mcse(v, method="quantile", prob=0.8)),
    "mcse_median": (lambda x: D.mcse(x, "median"), lambda v: az.mcse(v, method="median")),
}

# ArviZ returns the number of draws, not 1, for the relative ESS of a constant (a bug we
# fix); that case is checked on its own below.
DEVIATIONS = {("constant", "ess_relative")}


@pytest.mark.parametrize("case,name", [(c, n) for c in CASES for n in PAIRS
                                       if (c, n) not in DEVIATIONS])
def test_matches_arviz(case, name):
    ours, theirs = PAIRS[name]
    x = CASES[case]
    assert_agrees(ours(x), per_param(theirs, x))


def test_relative_ess_of_a_constant_is_one():
    x = CASES["constant"]
    np.testing.assert_allclose(D.ess_bulk(x, relative=True), 1.0)
    absolute = D.ess_bulk(x)
    np.testing.assert_allclose(absolute, x.shape[0] * x.shape[1])


@pytest.mark.parametrize("case", list(CASES))
def test_hdi_matches_arviz(case):
    x = CASES[case]
    for prob in (0.94, 0.5, 0.9):
        theirs = per_param(lambda v: az.hdi(v.ravel(), hdi_prob=prob), x, out_tail=(2,))
        assert_agrees(D.hdi(x, prob), theirs)


@pytest.mark.parametrize("case", ["iid", "ar1_0.9", "one_chain", "odd_draws", "constant"])
def test_e_bfmi_matches_arviz(case):
    energy = CASES[case]
    with np.errstate(all="ignore"):
        theirs = az.bfmi(energy)
    assert_agrees(D.e_bfmi(energy), theirs)


def test_autocov_matches_arviz_and_definition():
    x = CASES["ar1_0.9"]
    assert_agrees(D.autocov(x, axis=1), arviz_autocov(x, axis=1))
    series = x[0, :50]
    centred = series - series.mean()
    direct = [np.dot(centred[: 50 - t], centred[t:]) / 50 for t in range(50)]
    np.testing.assert_allclose(D.autocov(series), direct, atol=1e-12)
    np.testing.assert_allclose(D.autocorr(series), np.array(direct) / direct[0], atol=1e-12)


@pytest.mark.parametrize("draws", range(2, 13))
def test_vectorised_geyer_truncation_matches_arviz_loop(draws):
    # Short and anti-correlated chains exercise every exit of ArviZ's loops.
    rng = np.random.default_rng(draws)
    blocks = [rng.normal(size=(3, draws)), ar1(rng, (2, draws), -0.8), ar1(rng, (4, draws), 0.95),
              np.cumsum(rng.normal(size=(2, draws)), axis=1)]
    for block in blocks:
        for _ in range(5):
            ours = _ess_core(block[:, :, None])[0]
            np.testing.assert_allclose(ours, arviz_ess_core(block), rtol=1e-12)
            block = rng.permutation(block, axis=1)


# ---------------------------------------------------------------------------------- shapes
def test_output_shapes():
    x = np.random.default_rng(0).normal(size=(3, 40, 2, 5))
    for func in (D.rhat, D.ess_bulk, D.ess_tail, D.ess_mean, D.ess_sd, D.mcse_mean, D.mcse_sd):
        assert func(x).shape == (2, 5)
        assert func(x[..., 0, 0]).shape == ()
    assert D.ess_quantile(x, 0.3).shape == D.mcse_quantile(x, 0.3).shape == (2, 5)
    assert D.hdi(x).shape == (2, 5, 2)
    assert D.hdi(x[..., 0, 0]).shape == (2,)
    assert D.e_bfmi(x[..., 0, 0]).shape == (3,)


def test_one_dimensional_input_is_one_chain():
    x = np.random.default_rng(1).normal(size=200)
    assert float(D.ess_bulk(x)) == float(D.ess_bulk(x[None]))
    assert np.isnan(D.rhat(x))
    np.testing.assert_array_equal(D.hdi(x), D.hdi(x[None]))


def test_invalid_parameters_are_nan_and_others_untouched():
    x = np.random.default_rng(2).normal(size=(4, 100, 3))
    clean = D.ess_bulk(x)
    x[1, 10, 1] = np.nan
    result = D.ess_bulk(x)
    assert np.isnan(result[1])
    np.testing.assert_array_equal(result[[0, 2]], clean[[0, 2]])
    assert np.isnan(D.hdi(x)[1]).all()
    assert np.isnan(D.ess_bulk(x[:, :3])).all()  # fewer than 4 draws
    assert np.isnan(D.rhat(x[:1, :, 0]))  # a single chain


def test_unknown_method_and_missing_prob():
    x = np.zeros((2, 10))
    with pytest.raises(ValueError, match="unknown ess method"):
        D.ess(x, "folded")
    with pytest.raises(ValueError, match="needs prob"):
        D.ess(x, "quantile")
    with pytest.raises(ValueError, match="unknown mcse method"):
        D.mcse(x, "mad")
    with pytest.raises(ValueError, match="prob"):
        D.hdi(x, 0.0)


# ---------------------------------------------------------------------------------- properties
def test_ess_of_iid_draws_is_the_number_of_draws():
    x = np.random.default_rng(3).normal(size=(4, 1000, 20))
    size = 4 * 1000
    for func in (D.ess_bulk, D.ess_mean, D.ess_tail, D.ess_sd):
        ess = func(x)
        assert np.all((0.8 * size < ess) & (ess < 1.2 * size)), func.__name__
        assert 0.92 * size < ess.mean() < 1.05 * size, func.__name__


@pytest.mark.parametrize(("phi", "draws"), [(0.9, 2500), (0.99, 5000)])
def test_ess_of_ar1_matches_its_autocorrelation_time(phi, draws):
    # tau = (1 + phi) / (1 - phi) for AR(1).
    x = ar1(np.random.default_rng(4), (4, draws, 16), phi)
    expected = 4 * draws * (1 - phi) / (1 + phi)
    assert abs(D.ess_mean(x).mean() / expected - 1) < 0.2
    assert abs(D.ess_bulk(x).mean() / expected - 1) < 0.2


def test_rhat_separates_mixed_from_mismatched_chains():
    rng = np.random.default_rng(5)
    good = rng.normal(size=(4, 1000, 10))
    assert np.all(D.rhat(good) < 1.01)
    shifted = good + np.array([0.0, 0.0, 0.0, 2.0])[:, None, None]
    assert np.all(D.rhat(shifted) > 1.1)
    # Same means, different spreads: only the folded (tail) R-hat notices.
    spread = good * np.array([1.0, 1.0, 1.0, 4.0])[:, None, None]
    assert np.all(D.rhat(spread) > 1.1)


def test_mcse_mean_covers_the_true_mean():
    # About 95% of +-2 MCSE intervals around the sample mean contain 0.
    x = ar1(np.random.default_rng(6), (4, 500, 200), 0.8)
    covered = np.abs(x.mean(axis=(0, 1))) < 2 * D.mcse_mean(x)
    assert 0.88 < covered.mean() <= 1.0


def test_hdi_is_the_shortest_interval():
    rng = np.random.default_rng(7)
    normal = rng.normal(size=(4, 5000))
    np.testing.assert_allclose(D.hdi(normal, 0.94), [-1.881, 1.881], atol=0.1)
    skewed = rng.exponential(size=(4, 5000))
    low, high = D.hdi(skewed, 0.9)
    eti = np.quantile(skewed, [0.05, 0.95])
    assert high - low < eti[1] - eti[0]
    assert low < 0.01  # the exponential's HDI starts at its mode, 0
    assert abs(np.mean((skewed >= low) & (skewed <= high)) - 0.9) < 1e-3
    np.testing.assert_array_equal(D.hdi(skewed, 1.0), [skewed.min(), skewed.max()])


def test_e_bfmi_flags_slowly_moving_energy():
    rng = np.random.default_rng(8)
    assert np.all(np.abs(D.e_bfmi(rng.normal(size=(4, 2000))) - 2) < 0.2)
    sticky = ar1(rng, (4, 2000), 0.95)
    assert np.all(D.e_bfmi(sticky) < 0.3)
