"""summary() equals arviz.summary; names, flattening and convergence warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from credo import diagnostics as D
from tests.diagnostics.cases import CASES, ar1, import_arviz

az = import_arviz()


def arviz_summary(draws, **kwargs) -> pd.DataFrame:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return az.summary(az.from_dict(posterior=draws), round_to="none", **kwargs)


def assert_same_table(ours: pd.DataFrame, theirs: pd.DataFrame):
    assert list(ours.columns) == list(theirs.columns)
    assert list(ours.index) == list(theirs.index)
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-9, atol=1e-6, equal_nan=True)


def model_draws(chains: int = 4, draws: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "mu": ar1(rng, (chains, draws), 0.5),
        "theta": rng.normal(size=(chains, draws, 3)),
        "L": ar1(rng, (chains, draws, 2, 3), 0.8),
        "tau": np.exp(rng.normal(size=(chains, draws))),
    }


@pytest.mark.parametrize(("chains", "draws"), [(4, 200), (1, 150), (3, 101), (2, 4), (2, 3)])
def test_summary_equals_arviz(chains, draws):
    posterior = model_draws(chains, draws)
    assert_same_table(D.summary(posterior), arviz_summary(posterior))


@pytest.mark.parametrize("prob", [0.94, 0.9, 0.5, 0.8, 0.999])
def test_hdi_columns_follow_prob(prob):
    posterior = model_draws(draws=120, seed=1)
    ours = D.summary(posterior, prob=prob)
    assert_same_table(ours, arviz_summary(posterior, hdi_prob=prob))
    assert list(ours.columns[2:4]) == list(D.hdi_columns(prob))


def test_hdi_column_names():
    assert D.hdi_columns(0.94) == ("hdi_3%", "hdi_97%")
    assert D.hdi_columns(0.9) == ("hdi_5%", "hdi_95%")
    assert D.hdi_columns(0.5) == ("hdi_25%", "hdi_75%")


@pytest.mark.parametrize("kind", ["stats", "diagnostics"])
def test_summary_kinds_equal_arviz(kind):
    posterior = model_draws(draws=80, seed=2)
    assert_same_table(D.summary(posterior, kind=kind), arviz_summary(posterior, kind=kind))


@pytest.mark.parametrize("case", [c for c in CASES if c != "with_inf"])
def test_summary_of_each_case_equals_arviz(case):
    posterior = {"x": CASES[case]}
    assert_same_table(D.summary(posterior), arviz_summary(posterior))


def test_summary_with_infinite_draws_equals_arviz_without_warnings():
    posterior = {"x": CASES["with_inf"]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = D.summary(posterior)
    assert_same_table(ours, arviz_summary(posterior))
    assert np.isinf(ours.loc["x[0]", "mean"]) and np.isnan(ours.loc["x[0]", "sd"])
    assert np.isfinite(ours["ess_bulk"]).all() and np.isfinite(ours["r_hat"]).all()


def test_nan_draws_give_nan_rows_except_where_arviz_is_meaningless():
    posterior = model_draws(draws=60, seed=3)
    posterior["theta"][2, 5, 1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = D.summary(posterior)
    assert ours.loc["theta[1]"].isna().all()
    # ArviZ's HDI of draws with a NaN is an arbitrary number; ours is NaN. Everything else agrees.
    theirs = arviz_summary(posterior)
    theirs.loc["theta[1]", ["hdi_3%", "hdi_97%"]] = np.nan
    assert_same_table(ours, theirs)


def test_summary_input_checks():
    with pytest.raises(ValueError, match="kind"):
        D.summary({"x": np.zeros((2, 10))}, kind="wide")
    with pytest.raises(ValueError, match="prob"):
        D.summary({"x": np.zeros((2, 10))}, prob=1.5)
    with pytest.raises(ValueError, match="chains, draws"):
        D.summary({"a": np.zeros((2, 10)), "b": np.zeros((3, 10))})
    with pytest.raises(ValueError, match="expected shape"):
        D.summary({"a": np.zeros(10)})
    empty = D.summary({})
    assert empty.empty and list(empty.columns)[-1] == "r_hat"


def test_summary_accepts_float32_and_integer_draws():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 50))
    pd.testing.assert_frame_equal(D.summary({"x": x.astype(np.float32)}),
                                  D.summary({"x": x.astype(np.float32).astype(float)}))
    counts = rng.poisson(3, size=(2, 50))
    assert_same_table(D.summary({"n": counts}), arviz_summary({"n": counts}))


# ---------------------------------------------------------------------------------- names
def test_flat_names_match_arviz_labels():
    assert D.flat_names("mu", ()) == ["mu"]
    assert D.flat_names("theta", (3,)) == ["theta[0]", "theta[1]", "theta[2]"]
    assert D.flat_names("L", (2, 3))[1] == "L[0, 1]"
    assert D.flat_names("T", (2, 1, 2))[-1] == "T[1, 0, 1]"
    assert D.flat_names("empty", (0,)) == []


def test_flatten_draws_keeps_order_and_values():
    posterior = model_draws(chains=2, draws=10)
    flat = D.flatten_draws(posterior)
    assert list(flat) == list(D.summary(posterior).index)
    np.testing.assert_array_equal(flat["L[1, 2]"], posterior["L"][:, :, 1, 2])
    assert all(v.shape == (2, 10) for v in flat.values())


# ---------------------------------------------------------------------------------- warnings
def table(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame(columns, index=[f"b[{i}]" for i in range(n)])


def test_no_warnings_for_a_healthy_run():
    posterior = {"x": np.random.default_rng(5).normal(size=(4, 500, 3))}
    assert D.convergence_warnings(D.summary(posterior), divergences=0, tree_depth_hits=0,
                                  max_tree_depth=10, e_bfmi=[1.1, 0.9, 1.0, 1.2]) == []


def test_rhat_warning_names_worst_parameters_then_counts_the_rest():
    messages = D.convergence_warnings(table(r_hat=[1.0, 1.05, 1.3, 1.02, 1.2, np.nan, 1.011]))
    assert len(messages) == 1
    assert messages[0].startswith("R-hat above 1.01 for b[2] (1.300), b[4] (1.200), b[1] (1.050) and 2 more")


def test_ess_warnings_bulk_and_tail():
    messages = D.convergence_warnings(table(ess_bulk=[1000.0, 120.0], ess_tail=[399.0, 900.0]))
    assert len(messages) == 2
    assert "bulk" in messages[0] and "b[1] (120)" in messages[0] and "b[0]" not in messages[0]
    assert "tail" in messages[1] and "b[0] (399)" in messages[1]


def test_sampler_warnings():
    flags = np.zeros((4, 100), dtype=bool)
    flags[0, :3] = True
    messages = D.convergence_warnings(table(r_hat=[1.0]), divergences=flags, tree_depth_hits=12,
                                      max_tree_depth=10, e_bfmi=[0.5, 0.2, 0.25, 0.9])
    assert len(messages) == 3
    assert messages[0].startswith("3 divergent transitions (0.8% of 400)")
    assert "target_accept" in messages[0] and "non-centered" in messages[0]
    assert "12 transitions" in messages[1] and "(10)" in messages[1] and "max_tree_depth" in messages[1]
    assert "chains 1 (0.20) and 2 (0.25)" in messages[2] and "reparameterize" in messages[2]
    assert D.convergence_warnings(table(r_hat=[1.0]), divergences=1)[0].startswith("1 divergent transition:")


def test_bad_run_end_to_end():
    rng = np.random.default_rng(6)
    posterior = {"stuck": rng.normal(size=(4, 300)) + np.arange(4)[:, None],
                 "slow": ar1(rng, (4, 300), 0.995), "nan": np.full((4, 300), np.nan)}
    messages = D.convergence_warnings(D.summary(posterior))
    text = "\n".join(messages)
    assert "non-finite draws" in text and "nan" in messages[0]
    assert "R-hat" in messages[1] and "stuck" in messages[1] and "slow" in messages[1]
    assert "bulk effective sample size below 400" in text
