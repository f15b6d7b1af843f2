"""psis() equals arviz.psislw, and k-hat measures the tail of the importance weights."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from credo import diagnostics as D
from tests.diagnostics.cases import import_arviz

az = import_arviz()


def log_ratios() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2024)
    z = rng.normal(size=4000)
    wide = rng.standard_t(3, size=3000)
    return {
        # Target N(0, 1), proposal N(0, 1.5^2): bounded weights, small k.
        "wider_proposal": stats.norm.logpdf(z * 1.5) - stats.norm.logpdf(z * 1.5, scale=1.5),
        # Target N(0, 1), proposal N(0, 0.3^2): unbounded weights, k near 1 - 0.3^2.
        "narrow_proposal": stats.norm.logpdf(z * 0.3) - stats.norm.logpdf(z * 0.3, scale=0.3),
        # Target N(0, 1), proposal t_3.
        "t_proposal": stats.norm.logpdf(wide) - stats.t.logpdf(wide, 3),
        "batch": rng.normal(scale=2.0, size=(2, 3, 500)),
        "short": rng.normal(size=15),
        "ties": np.round(rng.normal(size=800), 1),
    }


CASES = log_ratios()


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("reff", [1.0, 0.6])
@pytest.mark.parametrize("normalize", [True, False])
def test_matches_arviz_psislw(case, reff, normalize):
    lw = CASES[case]
    ours, khat = D.psis(lw, reff=reff, normalize=normalize)
    theirs, theirs_k = az.psislw(lw.copy(), reff=reff, normalize=normalize)
    assert ours.shape == lw.shape and np.shape(khat) == lw.shape[:-1]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    np.testing.assert_allclose(khat, theirs_k, rtol=0, atol=1e-6)


def test_input_is_not_modified():
    lw = CASES["narrow_proposal"].copy()
    D.psis(lw)
    np.testing.assert_array_equal(lw, CASES["narrow_proposal"])


def test_normalized_weights_sum_to_one_and_keep_their_order():
    lw = CASES["narrow_proposal"]
    smoothed, _ = D.psis(lw)
    assert np.isclose(np.exp(smoothed).sum(), 1.0)
    order = np.argsort(lw, kind="stable")
    assert np.all(np.diff(smoothed[order]) >= -1e-12)
    # Smoothing never raises a weight above the largest raw weight.
    raw = lw - np.logaddexp.reduce(lw)
    assert smoothed.max() <= raw.max() + 1e-12


def test_khat_separates_good_from_bad_proposals():
    assert D.psis(CASES["wider_proposal"])[1] < 0.5
    assert D.psis(CASES["narrow_proposal"])[1] > 0.7
    assert np.isinf(D.psis(CASES["short"])[1])  # too few tail draws to fit


@pytest.mark.parametrize("k", [0.2, 0.5, 0.9])
def test_khat_recovers_a_pareto_tail(k):
    # Weights drawn from a generalized Pareto with shape k.
    weights = stats.genpareto.rvs(k, size=20000, random_state=np.random.default_rng(int(10 * k)))
    _, khat = D.psis(np.log(weights))
    assert abs(khat - k) < 0.1


def test_gpd_fit_recovers_parameters():
    sample = np.sort(stats.genpareto.rvs(0.3, scale=2.0, size=5000, random_state=np.random.default_rng(1)))
    k, sigma = D.gpd_fit(sample)
    assert abs(k - 0.3) < 0.06 and abs(sigma / 2.0 - 1) < 0.08


def test_scalar_input_is_rejected():
    with pytest.raises(ValueError, match="at least one axis"):
        D.psis(1.0)
