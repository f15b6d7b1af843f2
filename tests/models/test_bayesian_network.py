"""BayesianNetwork construction, validation and structure queries."""

import networkx as nx
import numpy as np
import pytest

import credo
from credo import TabularCPD


def test_clinic_structure():
    bn = credo.examples.clinic()
    assert bn.variables == ("Cold", "Flu", "Allergies", "Fever", "Cough", "Runny", "Fatigue")
    assert bn.num_parameters() == 13
    assert bn.states("Cough") == ("yes", "no")
    assert bn.parents("Cough") == ("Cold", "Flu")
    assert set(bn.children("Flu")) == {"Fever", "Cough", "Fatigue"}
    assert bn.markov_blanket("Flu") == {"Fever", "Cough", "Fatigue", "Cold", "Allergies"}
    moral = bn.moralize()
    assert moral.has_edge("Cold", "Flu") and moral.has_edge("Flu", "Allergies")
    assert moral.has_edge("Cold", "Allergies") and not moral.has_edge("Cold", "Fever")
    assert isinstance(bn.graph, nx.DiGraph) and nx.is_frozen(bn.graph)


def test_full_tables_count_every_row():
    bn = credo.examples.sprinkler()
    assert bn.num_parameters() == 1 + 2 + 2 + 4


def test_noisy_or_table_is_the_noisy_or_formula():
    cpd = credo.NoisyOrCPD("E", ["A", "B"], [0.6, 0.8], leak=0.05)
    # P(E=no | A, B) = (1 - leak) * (1 - p_A)^[A on] * (1 - p_B)^[B on]; cause "on" is state 0.
    expected_no = 0.95 * np.array([[0.4 * 0.2, 0.4], [0.2, 1.0]])
    np.testing.assert_allclose(cpd.table[..., 1], expected_no)
    assert cpd.num_parameters() == 3
    assert credo.NoisyOrCPD("F", ["A"], [0.8]).num_parameters() == 1


def test_cycle_is_named():
    cpds = [TabularCPD("A", ["0", "1"], [[0.5, 0.5], [0.5, 0.5]], parents=["C"]),
            TabularCPD("B", ["0", "1"], [[0.5, 0.5], [0.5, 0.5]], parents=["A"]),
            TabularCPD("C", ["0", "1"], [[0.5, 0.5], [0.5, 0.5]], parents=["B"])]
    with pytest.raises(credo.CycleError, match="A.*B.*C|B.*C.*A|C.*A.*B") as info:
        credo.BayesianNetwork(cpds=cpds)
    assert set(info.value.cycle) == {"A", "B", "C"}


def test_rows_must_sum_to_one():
    with pytest.raises(credo.CPDError, match="'Wet'.*row \\(1,\\) sums to 0.9"):
        TabularCPD("Wet", ["y", "n"], [[0.9, 0.1], [0.5, 0.4]], parents=["Rain"])
    with pytest.raises(credo.CPDError, match="'Rain'.*sums to 0.9"):
        TabularCPD("Rain", ["y", "n"], [0.5, 0.4])
    # within the 1e-6 tolerance is accepted
    TabularCPD("Rain", ["y", "n"], [0.5, 0.5 + 5e-7])
    with pytest.raises(credo.CPDError, match="negative"):
        TabularCPD("Rain", ["y", "n"], [1.5, -0.5])


def test_shape_mismatch_names_the_node():
    rain = TabularCPD("Rain", ["y", "n"], [0.2, 0.8])
    wet = TabularCPD("Wet", ["y", "n"], [[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]], parents=["Rain"])
    with pytest.raises(credo.CPDError, match="'Wet'.*shape"):
        credo.BayesianNetwork(cpds=[rain, wet])


def test_unknown_parent_and_duplicates():
    wet = TabularCPD("Wet", ["y", "n"], [[0.9, 0.1], [0.2, 0.8]], parents=["Rain"])
    with pytest.raises(credo.ModelError, match="'Wet' has parent 'Rain'.*unknown parent"):
        credo.BayesianNetwork(cpds=[wet])
    rain = TabularCPD("Rain", ["y", "n"], [0.2, 0.8])
    with pytest.raises(credo.ModelError, match="two CPDs"):
        credo.BayesianNetwork(cpds=[rain, rain])


def test_edges_must_agree_with_cpds():
    rain = TabularCPD("Rain", ["y", "n"], [0.2, 0.8])
    wet = TabularCPD("Wet", ["y", "n"], [[0.9, 0.1], [0.2, 0.8]], parents=["Rain"])
    credo.BayesianNetwork([("Rain", "Wet")], [rain, wet])
    with pytest.raises(credo.CPDError, match="'Wet'"):
        credo.BayesianNetwork([], [rain, wet])
    with pytest.raises(credo.CPDError, match="'Rain'"):
        credo.BayesianNetwork([("Rain", "Wet"), ("Wet", "Rain")], [rain, wet])
    with pytest.raises(credo.UnknownVariableError, match="Snow"):
        credo.BayesianNetwork([("Snow", "Wet")], [rain, wet])


def test_log_prob_is_the_chain_rule():
    bn = credo.examples.sprinkler()
    x = {"Cloudy": "yes", "Sprinkler": "no", "Rain": "yes", "WetGrass": "yes"}
    assert bn.log_prob(x) == pytest.approx(np.log(0.5 * 0.9 * 0.8 * 0.9))
    with pytest.raises(credo.ModelError, match="missing"):
        bn.log_prob({"Cloudy": "yes"})
    assert bn.log_prob({**x, "Sprinkler": "no", "Rain": "no", "WetGrass": "yes"}) == -np.inf


def test_forward_sampling_matches_exact_marginals():
    bn = credo.examples.clinic()
    n = 40_000
    draws = bn.sample(n, seed=3)
    assert list(draws.columns) == list(bn.variables) and len(draws) == n
    exact = credo.query(bn).marginals
    for v in bn.variables:
        p = exact[v]["yes"]
        mcse = np.sqrt(p * (1 - p) / n)
        assert abs((draws[v] == "yes").mean() - p) < 5 * mcse, v
    # same seed, same draws; indices view agrees with names
    again = bn.sample(100, seed=3, as_indices=True)
    names = bn.sample(100, seed=3)
    assert (np.asarray(bn.states("Flu"), dtype=object)[again["Flu"]] == names["Flu"]).all()


def test_sampled_joint_of_two_nodes_matches_exact_joint():
    rng = np.random.default_rng(0)
    from tests.helpers import random_bayesian_network

    bn = random_bayesian_network(rng, 6)
    n = 30_000
    draws = bn.sample(n, seed=11, as_indices=True)
    joint = credo.query(bn, targets=["v2", "v5"], joint=True).joint.transpose(["v2", "v5"]).values
    counts = np.zeros_like(joint)
    np.add.at(counts, (draws["v2"], draws["v5"]), 1)
    mcse = np.sqrt(joint * (1 - joint) / n) + 1e-12
    assert np.all(np.abs(counts / n - joint) < 5 * mcse + 1e-9)


def test_to_markov_network_has_the_same_distribution():
    bn = credo.examples.clinic()
    mn = bn.to_markov_network()
    assert mn.log_partition() == pytest.approx(0.0, abs=1e-12)
    a = credo.query(bn, evidence={"Fever": "yes"})
    b = credo.query(mn, evidence={"Fever": "yes"})
    assert a.log_evidence == pytest.approx(b.log_evidence)
    for v in a.marginals:
        assert a.marginals[v] == pytest.approx(b.marginals[v])


def test_with_cpds_replaces_tables():
    bn = credo.examples.sprinkler()
    new = bn.with_cpds([TabularCPD("Cloudy", ["yes", "no"], [0.9, 0.1])])
    assert new.cpd("Cloudy").table[0] == 0.9 and bn.cpd("Cloudy").table[0] == 0.5
