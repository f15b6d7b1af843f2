"""Acceptance test: sampling on discrete graphical models against exact answers.

Rejection sampling, likelihood weighting and Gibbs sampling on the alarm
network (the evidence cases of ``tests/data/networks/alarm.reference.json``),
Gibbs sampling on a 5x5 Ising grid (against the junction tree), and all of
them on small random models (against brute-force enumeration) must agree
with the exact marginals within ``Z_MAX`` of their own Monte Carlo standard
errors, for every state of every queried variable. So that the check is not
vacuous, every standard error must also be below ``MAX_SE``.

The references are exact only to about 1e-9 (pyAgrum, float rounding), and a
Rao-Blackwellized Gibbs estimate of a state whose conditional never changes
is exact too, with a standard error of zero; ``REFERENCE_ATOL`` is subtracted
from each error before dividing by the standard error, so rounding noise in
the reference does not count as Monte Carlo error.

Seeds are fixed, so the tests are deterministic; the sample sizes are chosen
so that the whole module runs in a few seconds.
"""

from __future__ import annotations

import json
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import credo
from credo.sampling import SampledQueryResult, SamplingError, SamplingWarning, forward_sample
from tests.helpers import brute_force_query, random_bayesian_network, random_evidence, random_markov_network

NETWORKS_DIR = Path(__file__).resolve().parent.parent / "data" / "networks"

Z_MAX = 4.0
MAX_SE = 0.02
REFERENCE_ATOL = 1e-6

#: Per method: options for the alarm cases (about one second each at most).
ALARM_OPTIONS = {
    "rejection": {"num_samples": 60_000},
    "lw": {"num_samples": 60_000},
    # Alarm's near-deterministic tables make single-site Gibbs mix slowly
    # (R-hat up to about 1.6 for nodes such as VENTLUNG and MINVOLSET), so the
    # precision comes from many chains started at independent approximate
    # posterior draws, and long enough that rare modes are visited by more
    # than a handful of them (over 3 other seeds x 5 cases, |z| > 3 for 0.3%
    # of the states and never > 4; the largest standard error was 0.017).
    "gibbs": {"num_samples": 384 * 1600, "num_chains": 384, "burn_in": 1000},
}


@lru_cache(maxsize=None)
def alarm() -> credo.BayesianNetwork:
    return credo.read_bif(NETWORKS_DIR / "alarm.bif")


@lru_cache(maxsize=None)
def alarm_cases() -> tuple:
    with open(NETWORKS_DIR / "alarm.reference.json") as handle:
        return tuple(json.load(handle)["cases"])


def max_abs_z(result, expected: dict) -> tuple[float, tuple | None]:
    """Largest ``(|estimate - exact| - REFERENCE_ATOL) / se`` over every state of every result variable.

    Also asserts that each standard error is positive, finite and below ``MAX_SE``.
    """
    worst, where = 0.0, None
    for v, dist in result.marginals.items():
        states = list(dist)
        for j, s in enumerate(states):
            se = result.standard_errors[v][s]
            assert 0 < se < MAX_SE, f"standard error of {v}={s} is {se!r}"
            want = expected[v][s] if isinstance(expected[v], dict) else expected[v][j]
            z = max(abs(dist[s] - want) - REFERENCE_ATOL, 0.0) / se
            if not z <= worst:  # `not <=` also catches NaN
                worst, where = z, (v, s, dist[s], want, se)
    return worst, where


def assert_matches(result, expected: dict) -> float:
    z, where = max_abs_z(result, expected)
    assert z <= Z_MAX, f"max |z| = {z:.2f} at (variable, state, estimate, exact, se) = {where}"
    return z


# ------------------------------------------------------------------ alarm
@pytest.mark.parametrize("method", ["rejection", "lw", "gibbs"])
@pytest.mark.parametrize("index", range(5))
def test_alarm_matches_reference(method, index):
    case = alarm_cases()[index]
    with warnings.catch_warnings():
        # Gibbs on alarm warns, rightly: PVSAT's table has zeros and some nodes mix slowly.
        warnings.simplefilter("ignore", SamplingWarning)
        result = credo.query(alarm(), evidence=case["evidence"], method=method, seed=100 + index,
                             **ALARM_OPTIONS[method])
    assert isinstance(result, SampledQueryResult) and isinstance(result, credo.QueryResult)
    assert result.method == method and result.seed == 100 + index
    assert sorted(result.marginals) == sorted(v for v in alarm().variables if v not in case["evidence"])
    for v, dist in result.marginals.items():
        assert list(dist) == list(alarm().states(v))
        assert sum(dist.values()) == pytest.approx(1.0, abs=1e-9)
    assert_matches(result, case["marginals"])


def test_alarm_log_evidence_estimates():
    case = alarm_cases()[4]  # P(e) = 0.14
    for method in ("rejection", "lw"):
        result = credo.query(alarm(), evidence=case["evidence"], method=method, num_samples=60_000, seed=5)
        z = abs(result.log_evidence - case["log_evidence"]) / result.info["log_evidence_se"]
        assert z <= Z_MAX, (method, result.log_evidence, case["log_evidence"])


def test_gibbs_warns_on_deterministic_tables():
    with pytest.warns(SamplingWarning, match="zero probabilities.*PVSAT"):
        credo.query(alarm(), ["HR"], method="gibbs", num_samples=200, num_chains=8, seed=0)


# ------------------------------------------------------------------ Ising
@pytest.mark.parametrize("evidence", [None, {"x_2_2": -1, "x_0_4": 1}], ids=["no-evidence", "evidence"])
def test_gibbs_ising_5x5_matches_junction_tree(evidence):
    ising = credo.MarkovNetwork.ising(5, 5, coupling=0.4, field=0.05)
    exact = credo.query(ising, evidence=evidence, method="jt")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplingWarning)  # positive potentials, good mixing: no warning
        result = credo.query(ising, evidence=evidence, method="gibbs", num_samples=64 * 1000, num_chains=64, seed=11)
    assert result.info["colors"] == 2  # the checkerboard
    assert result.info["max_rhat"] < 1.05
    assert result.num_samples == 64_000 and result.effective_sample_size > 1000
    assert np.isnan(result.log_evidence)
    assert_matches(result, exact.marginals)


def test_gibbs_ising_without_rao_blackwellization():
    ising = credo.MarkovNetwork.ising(5, 5, coupling=0.4, field=0.05)
    exact = credo.query(ising, method="jt")
    result = credo.query(ising, method="gibbs", num_samples=64 * 1000, num_chains=64, seed=12, rao_blackwell=False)
    assert_matches(result, exact.marginals)


# ------------------------------------------------------------------ random models
@pytest.mark.parametrize("seed", range(4))
def test_random_networks_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    model = random_bayesian_network(rng, 7, max_parents=3, max_states=3)
    evidence = random_evidence(rng, model, 2)
    expected, log_evidence, _ = brute_force_query(model, evidence)
    options = {"rejection": {"num_samples": 60_000}, "lw": {"num_samples": 40_000},
               "gibbs": {"num_samples": 64 * 500, "num_chains": 64}}
    for method, kw in options.items():
        result = credo.query(model, evidence=evidence, method=method, seed=seed, **kw)
        assert_matches(result, expected)
        if method != "gibbs":
            assert abs(result.log_evidence - log_evidence) <= Z_MAX * result.info["log_evidence_se"] + 1e-12


@pytest.mark.parametrize("seed", range(3))
def test_random_markov_networks_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    model = random_markov_network(rng, 6, 6)
    evidence = random_evidence(rng, model, 1)
    expected, _, _ = brute_force_query(model, evidence)
    result = credo.query(model, evidence=evidence, method="gibbs", num_samples=64 * 500, num_chains=64, seed=seed)
    assert_matches(result, expected)


def test_random_network_with_zeros_and_tall_blankets():
    # Zeros in the tables, and max_table_size=1 so every variable takes the
    # factor-by-factor path instead of a tabulated blanket.
    rng = np.random.default_rng(7)
    model = random_bayesian_network(rng, 6, max_parents=2, max_states=3, zero_fraction=0.2)
    evidence = {"v5": model.states("v5")[0]}
    expected, _, _ = brute_force_query(model, evidence)
    with pytest.warns(SamplingWarning, match="zero probabilities"):
        result = credo.query(model, evidence=evidence, method="gibbs", num_samples=64 * 500, num_chains=64,
                             seed=3, max_table_size=1)
    assert_matches(result, expected)


# ------------------------------------------------------------------ targets, forward sampling
def test_targets_subset_and_evidence_targets():
    clinic = credo.examples.clinic()
    for method in ("rejection", "lw", "gibbs"):
        result = credo.query(clinic, ["Flu", "Cough"], {"Cough": "yes"}, method=method, num_samples=20_000, seed=1)
        assert list(result.marginals) == ["Flu", "Cough"]
        assert result.marginals["Cough"] == {"yes": 1.0, "no": 0.0}
        assert result.standard_errors["Cough"] == {"yes": 0.0, "no": 0.0}
        exact = credo.query(clinic, ["Flu"], {"Cough": "yes"})
        se = result.standard_errors["Flu"]["yes"]
        assert abs(result.marginals["Flu"]["yes"] - exact.marginals["Flu"]["yes"]) <= Z_MAX * se
        single = credo.query(clinic, "Flu", {"Cough": "yes"}, method=method, num_samples=1000, seed=1)
        assert list(single.marginals) == ["Flu"]


def test_forward_sample_frequencies():
    clinic = credo.examples.clinic()
    n = 50_000
    draws = forward_sample(clinic, n, seed=4)
    assert list(draws.columns) == list(clinic.variables) and len(draws) == n
    exact = credo.query(clinic)
    for v in clinic.variables:
        for s in clinic.states(v):
            p = exact.marginals[v][s]
            assert abs((draws[v] == s).mean() - p) <= Z_MAX * np.sqrt(p * (1 - p) / n)
    indices = forward_sample(clinic, 10, seed=4, as_indices=True)
    assert indices.dtypes.map(lambda d: d.kind == "i").all()
    assert (np.asarray(clinic.states("Flu"), dtype=object)[indices["Flu"]] == draws["Flu"][:10]).all()


def test_result_views():
    result = credo.query(credo.examples.sprinkler(), ["Rain"], {"WetGrass": "yes"}, method="lw",
                         num_samples=5000, seed=0)
    assert result.standard_error("Rain", "yes") == result.standard_errors["Rain"]["yes"]
    data = result.to_dict()
    assert set(data) >= {"marginals", "standard_errors", "log_evidence", "num_samples"}
    json.dumps(data)
    frame = result.to_frame()
    assert list(frame.columns) == ["variable", "state", "probability", "standard_error"]
    assert "+-" in str(result)


# ------------------------------------------------------------------ determinism
@pytest.mark.filterwarnings("ignore::credo.sampling.SamplingWarning")  # WetGrass has a zero
@pytest.mark.parametrize("method", ["rejection", "lw", "gibbs"])
def test_same_seed_same_result(method):
    sprinkler = credo.examples.sprinkler()
    run = lambda seed: credo.query(sprinkler, evidence={"WetGrass": "yes"}, method=method,  # noqa: E731
                                   num_samples=4000, seed=seed)
    first, second, other = run(42), run(42), run(43)
    assert first.marginals == second.marginals
    assert first.standard_errors == second.standard_errors
    assert first.effective_sample_size == second.effective_sample_size
    assert first.marginals != other.marginals


def test_same_seed_same_result_markov_network():
    ising = credo.MarkovNetwork.ising(3, 3, coupling=0.5)
    first = credo.query(ising, method="gibbs", num_samples=2000, seed=9)
    second = credo.query(ising, method="gibbs", num_samples=2000, seed=9)
    assert first.marginals == second.marginals and first.standard_errors == second.standard_errors


def test_forward_sample_same_seed():
    sprinkler = credo.examples.sprinkler()
    assert forward_sample(sprinkler, 100, seed=3).equals(forward_sample(sprinkler, 100, seed=3))


# ------------------------------------------------------------------ errors and warnings
IMPOSSIBLE = {"Sprinkler": "no", "Rain": "no", "WetGrass": "yes"}  # P(wet | no sprinkler, no rain) = 0


@pytest.mark.filterwarnings("ignore::credo.sampling.SamplingWarning")  # zeros in the tables, as intended
@pytest.mark.parametrize("method", ["rejection", "lw", "gibbs"])
def test_impossible_evidence_raises(method):
    with pytest.raises(credo.ImpossibleEvidenceError, match="WetGrass") as info:
        credo.query(credo.examples.sprinkler(), evidence=IMPOSSIBLE, method=method, num_samples=2000, seed=0)
    assert info.value.evidence == IMPOSSIBLE


def _zero_column_network() -> credo.BayesianNetwork:
    a = credo.TabularCPD("A", ["a0", "a1"], [0.5, 0.5])
    b = credo.TabularCPD("B", ["b0", "b1", "never"], [[0.3, 0.7, 0.0], [0.6, 0.4, 0.0]], parents=["A"])
    return credo.BayesianNetwork(cpds=[a, b])


@pytest.mark.filterwarnings("ignore::credo.sampling.SamplingWarning")  # zeros in the tables, as intended
@pytest.mark.parametrize("method", ["rejection", "lw", "gibbs"])
def test_structurally_impossible_evidence_named(method):
    with pytest.raises(credo.ImpossibleEvidenceError, match="B='never'"):
        credo.query(_zero_column_network(), evidence={"B": "never"}, method=method, num_samples=100, seed=0)


@pytest.mark.filterwarnings("ignore::credo.sampling.SamplingWarning")  # zeros in the tables, as intended
def test_impossible_evidence_markov_network():
    states = {"a": ["0", "1"], "b": ["0", "1"]}
    factor = credo.DiscreteFactor(["a", "b"], [[1.0, 0.0], [2.0, 1.0]], states)
    model = credo.MarkovNetwork([factor])
    with pytest.raises(credo.ImpossibleEvidenceError):
        credo.query(model, evidence={"a": "0", "b": "1"}, method="gibbs", num_samples=100, seed=0)
    # Possible evidence on the same model samples fine.
    result = credo.query(model, ["b"], evidence={"a": "1"}, method="gibbs", num_samples=4000, seed=0)
    assert abs(result.marginals["b"]["0"] - 2 / 3) <= Z_MAX * result.standard_errors["b"]["0"]


def _rare_evidence_network(p_rare: float) -> credo.BayesianNetwork:
    """``B = on`` is explained by the rare ``A`` (P(A = rare | B = on) near 1), which the prior seldom draws."""
    a = credo.TabularCPD("A", ["rare", "common"], [p_rare, 1 - p_rare])
    b = credo.TabularCPD("B", ["on", "off"], [[1.0, 0.0], [1e-6, 1 - 1e-6]], parents=["A"])
    return credo.BayesianNetwork(cpds=[a, b])


def test_lw_warns_when_ess_collapses():
    with pytest.warns(SamplingWarning, match="effective sample size collapsed"):
        result = credo.query(_rare_evidence_network(1e-3), evidence={"B": "on"}, method="lw",
                             num_samples=10_000, seed=0)
    assert result.effective_sample_size < 100


def test_lw_no_warning_when_ess_is_healthy():
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplingWarning)
        credo.query(credo.examples.clinic(), evidence={"Cough": "yes"}, method="lw", num_samples=10_000, seed=0)


def test_rejection_rare_but_possible_evidence():
    with pytest.raises(SamplingError, match="accepted none"):
        credo.query(_rare_evidence_network(1e-7), evidence={"B": "on"}, method="rejection", num_samples=1000, seed=0)


@pytest.mark.parametrize("method", ["rejection", "lw", "gibbs"])
def test_unknown_names_raise_typed_errors(method):
    clinic = credo.examples.clinic()
    with pytest.raises(credo.UnknownVariableError, match="Sneeze"):
        credo.query(clinic, evidence={"Sneeze": "yes"}, method=method, num_samples=100)
    with pytest.raises(credo.UnknownStateError, match="maybe"):
        credo.query(clinic, evidence={"Cough": "maybe"}, method=method, num_samples=100)
    with pytest.raises(credo.UnknownVariableError):
        credo.query(clinic, ["Sneeze"], method=method, num_samples=100)


def test_markov_network_supports_only_gibbs():
    ising = credo.MarkovNetwork.ising(2, 2)
    for method in ("lw", "rejection"):
        with pytest.raises(credo.ModelError, match="gibbs"):
            credo.query(ising, method=method, num_samples=100)


def test_exact_methods_reject_sampling_arguments():
    clinic = credo.examples.clinic()
    for method in ("auto", "ve", "jt", "bp"):
        with pytest.raises(TypeError, match="num_samples"):
            credo.query(clinic, method=method, num_samples=100)
        with pytest.raises(TypeError, match="seed"):
            credo.query(clinic, method=method, seed=0)
    with pytest.raises(credo.ModelError, match="gibbs"):
        credo.query(clinic, method="mcmc")


def test_bad_sampler_arguments():
    clinic = credo.examples.clinic()
    with pytest.raises(ValueError, match="num_samples"):
        credo.query(clinic, method="lw", num_samples=0)
    with pytest.raises(ValueError, match="num_chains"):
        credo.query(clinic, method="gibbs", num_chains=1)
    with pytest.raises(TypeError):
        credo.query(clinic, method="rejection", num_chains=4)


def test_likelihood_weighting_warning_shows_a_short_evidence_summary():
    """Issue 19: the collapse warning printed all 1,500 observed variables."""
    import warnings

    children = [f"c{i}" for i in range(1500)]
    cpds = [credo.TabularCPD("B", ["rare", "common"], [1e-3, 1 - 1e-3])]
    cpds += [credo.TabularCPD(c, ["yes", "no"], [[0.99, 0.01], [0.5, 0.5]], parents=["B"]) for c in children]
    bn = credo.BayesianNetwork(cpds=cpds)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        credo.query(bn, ["B"], dict.fromkeys(children, "yes"), method="lw", num_samples=2000, seed=0)
    texts = [str(w.message) for w in caught if "effective sample size" in str(w.message)]
    assert texts, [str(w.message) for w in caught]
    assert len(texts[0]) < 600 and "1492 more of 1500 observed variables" in texts[0]
