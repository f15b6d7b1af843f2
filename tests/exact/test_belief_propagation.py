"""Belief propagation: exact on trees, close on weakly coupled loops, honest when it fails."""

import numpy as np
import pytest

import credo
from credo.exact.belief_propagation import belief_propagation, max_product


def _random_polytree(rng, n):
    """A random tree skeleton with random edge directions: its factor graph has no cycles."""
    cards = rng.integers(2, 4, size=n)
    parents = {i: [] for i in range(n)}
    for i in range(1, n):
        j = int(rng.integers(0, i))
        if rng.random() < 0.5:
            parents[i].append(j)
        else:
            parents[j].append(i)
    import networkx as nx

    graph = nx.DiGraph([(p, c) for c, ps in parents.items() for p in ps])
    graph.add_nodes_from(range(n))
    cpds = []
    for i in nx.topological_sort(graph):
        shape = tuple(int(cards[p]) for p in parents[i]) + (int(cards[i]),)
        table = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1]) if parents[i] else rng.dirichlet(np.ones(shape[-1]))
        cpds.append(credo.TabularCPD(f"n{i}", [f"s{k}" for k in range(cards[i])], table,
                                     parents=[f"n{p}" for p in parents[i]]))
    return credo.BayesianNetwork(cpds=cpds)


def _max_error(a, b):
    return max(abs(a.marginals[v][s] - b.marginals[v][s]) for v in b.marginals for s in b.marginals[v])


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("schedule", ["flooding", "residual"])
def test_bp_on_polytrees_equals_variable_elimination(seed, schedule):
    rng = np.random.default_rng(seed)
    bn = _random_polytree(rng, int(rng.integers(3, 12)))
    observed = rng.choice(len(bn.variables), size=int(rng.integers(0, 3)), replace=False)
    evidence = {bn.variables[i]: bn.states(bn.variables[i])[0] for i in observed}
    exact = credo.query(bn, evidence=evidence, method="ve")
    approx = credo.query(bn, evidence=evidence, method="bp", schedule=schedule)
    assert approx.info["converged"]
    assert _max_error(approx, exact) < 1e-9
    assert approx.log_evidence == pytest.approx(exact.log_evidence, abs=1e-9)
    mpe_bp = max_product(bn, evidence, schedule=schedule)
    assert mpe_bp.log_joint == pytest.approx(credo.mpe(bn, evidence).log_joint, abs=1e-9)


@pytest.mark.parametrize("coupling", [0.2, -0.2, 0.1])
@pytest.mark.parametrize("schedule,damping", [("flooding", 0.0), ("residual", 0.0), ("flooding", 0.5)])
def test_loopy_bp_on_weak_ising_grid_is_close_to_exact(coupling, schedule, damping):
    field = np.random.default_rng(0).normal(0.0, 0.3, size=(10, 10))
    mn = credo.MarkovNetwork.ising(10, 10, coupling=coupling, field=field)
    exact = credo.query(mn)
    approx = belief_propagation(mn, schedule=schedule, damping=damping)
    assert approx.info["converged"]
    assert _max_error(approx, exact) < 1e-2
    # the Bethe estimate of ln Z is close too (within 0.2%)
    assert approx.log_evidence == pytest.approx(exact.log_evidence, rel=2e-3)


def test_loopy_bp_that_cannot_converge_says_so():
    rng = np.random.default_rng(1)
    states = {f"v{i}": (-1, 1) for i in range(25)}
    spins = np.array([-1.0, 1.0])
    factors = [credo.DiscreteFactor([f"v{i}"], np.exp(rng.normal(0, 0.1) * spins), states) for i in range(25)]
    for i in range(25):
        row, col = divmod(i, 5)
        for j in ([i + 1] if col < 4 else []) + ([i + 5] if row < 4 else []):
            coupling = rng.choice([-3.0, 3.0])  # frustrated spin glass
            factors.append(credo.DiscreteFactor([f"v{i}", f"v{j}"], np.exp(coupling * np.outer(spins, spins)), states))
    result = belief_propagation(credo.MarkovNetwork(factors), max_iterations=60)
    assert not result.info["converged"]
    assert result.info["iterations"] == 60
    assert result.info["max_message_change"] > 1e-3
    assert np.isfinite(result.log_evidence)
    assert all(np.isfinite(p) for d in result.marginals.values() for p in d.values())


def test_bp_rejects_impossible_evidence_and_bad_options():
    bn = credo.examples.sprinkler()
    with pytest.raises(credo.ImpossibleEvidenceError):
        belief_propagation(bn, evidence={"Sprinkler": "no", "Rain": "no", "WetGrass": "yes"})
    with pytest.raises(credo.ModelError, match="schedule"):
        belief_propagation(bn, schedule="random")
    with pytest.raises(credo.ModelError, match="damping"):
        belief_propagation(bn, damping=1.0)
