"""Variable elimination against brute-force enumeration on random models."""

import numpy as np
import pytest

import credo
from tests.helpers import brute_force_query, random_bayesian_network, random_evidence, random_markov_network


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("heuristic", ["min-fill", "min-degree", "weighted-min-fill"])
def test_bayesian_network_matches_enumeration(seed, heuristic):
    rng = np.random.default_rng(seed)
    bn = random_bayesian_network(rng, num_nodes=int(rng.integers(3, 8)), zero_fraction=0.1 * (seed % 2))
    evidence = random_evidence(rng, bn, int(rng.integers(0, 3)))
    marginals, log_evidence, max_log_joint = brute_force_query(bn, evidence)
    if not np.isfinite(log_evidence):
        with pytest.raises(credo.ImpossibleEvidenceError):
            credo.query(bn, evidence=evidence, elimination_order=heuristic)
        return
    result = credo.query(bn, evidence=evidence, elimination_order=heuristic)
    assert result.log_evidence == pytest.approx(log_evidence, rel=1e-10, abs=1e-12)
    assert set(result.marginals) == set(marginals)
    for v, expected in marginals.items():
        np.testing.assert_allclose(list(result.marginals[v].values()), expected, atol=1e-12)
    assignment, log_joint = credo.mpe(bn, evidence, elimination_order=heuristic)
    assert log_joint == pytest.approx(max_log_joint, abs=1e-10)
    assert bn.log_prob(assignment) == pytest.approx(log_joint, abs=1e-10)
    assert all(assignment[v] == s for v, s in evidence.items())


@pytest.mark.parametrize("seed", range(15))
def test_markov_network_matches_enumeration(seed):
    rng = np.random.default_rng(100 + seed)
    mn = random_markov_network(rng, num_nodes=int(rng.integers(3, 7)), num_factors=int(rng.integers(2, 7)))
    evidence = random_evidence(rng, mn, int(rng.integers(0, 3)))
    marginals, log_z, max_log = brute_force_query(mn, evidence)
    result = credo.query(mn, evidence=evidence)
    assert result.log_evidence == pytest.approx(log_z, rel=1e-10)
    for v, expected in marginals.items():
        np.testing.assert_allclose(list(result.marginals[v].values()), expected, atol=1e-12)
    assert mn.log_partition(evidence) == pytest.approx(log_z, rel=1e-10)
    assert credo.mpe(mn, evidence).log_joint == pytest.approx(max_log, abs=1e-10)
    assert mn.to_factor_graph().log_partition(evidence) == pytest.approx(log_z, rel=1e-10)


def test_joint_of_several_targets_matches_enumeration():
    rng = np.random.default_rng(7)
    bn = random_bayesian_network(rng, 6)
    targets = ["v1", "v4"]
    result = credo.query(bn, targets=targets, evidence={"v5": "s0"}, joint=True)
    from tests.helpers import brute_force_joint

    joint = brute_force_joint(bn)[..., 0]  # v5 = s0
    expected = joint.sum(axis=(0, 2, 3)) / joint.sum()
    np.testing.assert_allclose(result.joint.transpose(targets).values, expected, atol=1e-12)
    assert result.joint.values.sum() == pytest.approx(1.0)


def test_ising_log_partition_matches_enumeration():
    field = np.array([[0.1, -0.3, 0.2], [0.0, 0.5, -0.1]])
    mn = credo.MarkovNetwork.ising(2, 3, coupling=0.4, field=field)
    spins = np.array(np.meshgrid(*[[-1, 1]] * 6, indexing="ij")).reshape(6, -1).T  # row-major variables
    grid = spins.reshape(-1, 2, 3)
    energy = 0.4 * ((grid[:, :, 1:] * grid[:, :, :-1]).sum(axis=(1, 2)) + (grid[:, 1:, :] * grid[:, :-1, :]).sum(axis=(1, 2)))
    energy += (grid * field).sum(axis=(1, 2))
    expected = np.log(np.exp(energy).sum())
    assert mn.log_partition() == pytest.approx(expected, rel=1e-12)
    assert mn.variables == tuple(f"x_{r}_{c}" for r in range(2) for c in range(3))
    assert mn.states("x_0_0") == (-1, 1)
    # p(x) of one configuration
    x = dict(zip(mn.variables, spins[5]))
    assert mn.log_prob(x) == pytest.approx(energy[5] - expected, rel=1e-10)


def test_log_evidence_of_long_chain_does_not_underflow():
    # 3000 independent-ish evidence nodes of probability 0.01 each: P(e) = 1e-6000.
    n = 3000
    cpds = [credo.TabularCPD("root", ["a", "b"], [0.5, 0.5])]
    for i in range(n):
        cpds.append(credo.TabularCPD(f"leaf{i}", ["hit", "miss"], [[0.01, 0.99], [0.01, 0.99]], parents=["root"]))
    bn = credo.BayesianNetwork(cpds=cpds)
    evidence = {f"leaf{i}": "hit" for i in range(n)}
    result = credo.query(bn, targets=["root"], evidence=evidence)
    assert result.log_evidence == pytest.approx(n * np.log(0.01), rel=1e-12)
    assert result.marginals["root"]["a"] == pytest.approx(0.5)


def test_impossible_evidence_raises_typed_error():
    bn = credo.examples.sprinkler()
    # WetGrass is never wet when neither sprinkler nor rain.
    with pytest.raises(credo.ImpossibleEvidenceError):
        credo.query(bn, evidence={"Sprinkler": "no", "Rain": "no", "WetGrass": "yes"})
    with pytest.raises(credo.ImpossibleEvidenceError):
        credo.mpe(bn, {"Sprinkler": "no", "Rain": "no", "WetGrass": "yes"})


def test_unknown_names_are_reported():
    bn = credo.examples.clinic()
    with pytest.raises(credo.UnknownVariableError, match="Cogh.*valid variables.*Cough"):
        credo.query(bn, evidence={"Cogh": "yes"})
    with pytest.raises(credo.UnknownStateError, match="maybe.*Cough.*'yes', 'no'"):
        credo.query(bn, evidence={"Cough": "maybe"})
    with pytest.raises(credo.UnknownVariableError):
        credo.query(bn, targets=["Nope"])


def test_observed_target_is_a_point_mass():
    bn = credo.examples.clinic()
    result = credo.query(bn, targets=["Cough", "Flu"], evidence={"Cough": "yes"})
    assert result.marginals["Cough"] == {"yes": 1.0, "no": 0.0}


def test_elimination_order_heuristics_report_width():
    mn = credo.MarkovNetwork.ising(4, 4, coupling=0.1)
    for heuristic in ["min-fill", "min-degree", "weighted-min-fill", "min-weight"]:
        order = credo.elimination_order(mn, heuristic)
        assert sorted(order.order) == sorted(mn.variables)
        assert 4 <= order.induced_width <= 6  # treewidth of a 4x4 grid is 4
        assert credo.graphs.induced_width(mn.interaction_graph(), order.order) == order.induced_width
    with pytest.raises(credo.ModelError, match="unknown elimination heuristic"):
        credo.elimination_order(mn, "random")


def test_barren_nodes_are_pruned():
    from credo.exact.elimination import relevant_variables

    bn = credo.examples.clinic()
    assert relevant_variables(bn, ["Flu", "Cough"]) == {"Flu", "Cough", "Cold"}
