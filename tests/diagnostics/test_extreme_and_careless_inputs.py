"""Diagnostics of draws near the ends of the float range, and typed errors for careless inputs.

Moments are scale-equivariant and R-hat/ESS scale-invariant, so a summary of
draws near 1e300 must be 1e300 times (or equal to) the summary of the same
draws scaled to order 1; numpy's extended precision gives an independent sd.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from credo import diagnostics as D
from credo.errors import ArgumentError
from tests.diagnostics.cases import ar1

EQUIVARIANT = ["mean", "sd", "hdi_3%", "hdi_97%", "mcse_mean", "mcse_sd"]
INVARIANT = ["ess_bulk", "ess_tail", "r_hat"]


def _draws(seed: int = 0) -> np.ndarray:
    return 5.0 + ar1(np.random.default_rng(seed), (4, 200), 0.5)


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_summary_of_huge_and_tiny_draws_is_the_rescaled_summary(scale):
    unit = _draws()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = D.summary({"x": unit * scale, "y": unit})
    reference = D.summary({"x": unit})
    row = table.loc["x"]
    assert np.isfinite(row.to_numpy(dtype=float)).all(), row
    for column in EQUIVARIANT:  # abs=0: pytest.approx would otherwise accept anything below 1e-12
        assert row[column] == pytest.approx(scale * reference.loc["x", column], rel=1e-12, abs=0), column
    for column in INVARIANT:
        assert row[column] == pytest.approx(reference.loc["x", column], rel=1e-12, abs=0), column
    # the ordinary site next to it is unaffected (up to numpy's summation order)
    np.testing.assert_allclose(table.loc["y"].to_numpy(dtype=float),
                               reference.loc["x"].to_numpy(dtype=float), rtol=1e-13)


@pytest.mark.skipif(np.finfo(np.longdouble).maxexp <= 1024, reason="no extended precision")
def test_sd_of_draws_near_1e300_matches_extended_precision():
    x = _draws(1) * 1e300
    exact = np.std(x.astype(np.longdouble), ddof=1)
    assert np.isfinite(exact)
    sd = D.summary({"x": x}, kind="stats").loc["x", "sd"]
    assert sd == pytest.approx(float(exact), rel=1e-12)
    assert float(D.summary({"x": x}).loc["x", "mean"]) == pytest.approx(
        float(np.mean(x.astype(np.longdouble))), rel=1e-12)


@pytest.mark.parametrize("exponent", [1000, -1000])
def test_diagnostic_functions_of_huge_and_tiny_draws_are_the_rescaled_ones(exponent):
    unit = _draws(2)
    x = unit * 2.0**exponent
    for func, power in [(D.ess_mean, 0), (D.ess_sd, 0), (D.ess_bulk, 0), (D.ess_tail, 0),
                        (D.rhat, 0), (D.mcse_mean, 1), (D.mcse_sd, 1),
                        (lambda v: D.mcse_quantile(v, 0.2), 1)]:
        ours, theirs = func(x), func(unit) * 2.0 ** (exponent * power)
        assert np.isfinite(ours) and ours == pytest.approx(theirs, rel=1e-12, abs=0)


def test_hdi_of_draws_spanning_the_float_range():
    unit = np.random.default_rng(3).uniform(-1.0, 1.0, size=(2, 300))
    x = unit * 1.5e308  # differences of its draws overflow
    np.testing.assert_allclose(D.hdi(x, 0.5), D.hdi(unit, 0.5) * 1.5e308, rtol=1e-15)
    assert np.isfinite(D.summary({"x": x}).loc["x", "sd"])


# ---------------------------------------------------------------------------------- careless inputs
def test_zero_draws_or_chains_are_refused_naming_the_site():
    with pytest.raises(ArgumentError, match=r"'x'.*no draws"):
        D.summary({"x": np.zeros((4, 0))})
    with pytest.raises(ArgumentError, match=r"'x'.*no chains"):
        D.summary({"x": np.zeros((0, 10))})
    for func in (D.rhat, D.ess_bulk, D.mcse_mean, D.hdi):
        with pytest.raises(ArgumentError, match="no draws"):
            func(np.zeros((4, 0)))


def test_a_zero_size_parameter_has_no_rows_as_in_arviz():
    table = D.summary({"empty": np.zeros((4, 100, 0)), "mu": np.zeros((4, 100))})
    assert list(table.index) == ["mu"]
    assert D.ess_bulk(np.zeros((4, 100, 0))).shape == (0,)


def test_complex_and_non_numeric_draws_are_refused_naming_the_site():
    z = np.random.default_rng(4).normal(size=(2, 50))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning on the way
        with pytest.raises(ArgumentError, match=r"'c'.*complex"):
            D.summary({"mu": z, "c": z + 1j * z})
        with pytest.raises(ArgumentError, match="complex"):
            D.rhat(z + 1j * z)
        with pytest.raises(ArgumentError, match="complex"):
            D.hdi(z + 1j * z)
    with pytest.raises(ArgumentError, match=r"'s'.*real numbers"):
        D.summary({"s": np.full((2, 10), "a")})


@pytest.mark.parametrize("prob", [1.5, 0.0, -0.2, float("nan")])
def test_prob_outside_the_unit_interval_is_an_argument_error(prob):
    z = np.zeros((2, 10))
    for call in (lambda: D.hdi(z, prob), lambda: D.summary({"x": z}, prob=prob)):
        with pytest.raises(ArgumentError, match=r"\(0, 1\]") as info:
            call()
        assert info.value.argument == "prob" and str(prob) in str(info.value)


def test_unknown_choices_are_argument_errors_listing_the_valid_ones():
    z = np.zeros((2, 10))
    cases = [(lambda: D.summary({"x": z}, kind="wide"), "kind", "'stats'"),
             (lambda: D.ess(z, "folded"), "method", "'bulk'"),
             (lambda: D.mcse(z, "mad"), "method", "'median'"),
             (lambda: D.ess(z, "quantile"), "prob", "quantile"),
             (lambda: D.ess_quantile(z, 1.5), "prob", "1.5"),
             (lambda: D.summary({"x": np.zeros(10)}), "draws", "'x'"),
             (lambda: D.e_bfmi(np.zeros((2, 3, 4))), "energy", "(chains, draws)"),
             (lambda: D.psis(np.float64(1.0)), "log_weights", "axis")]
    for call, argument, text in cases:
        with pytest.raises(ArgumentError, match=".") as info:
            call()
        assert info.value.argument == argument and text in str(info.value), str(info.value)
