"""Junction tree against brute force, variable elimination and the reference networks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import credo
from credo.exact.junction_tree import BatchQueryResult, JunctionTree, junction_tree_query
from tests.exact.test_reference_networks import (NETWORKS, check_log_evidence, check_marginals, check_mpe,
                                                 load_cases, load_network)
from tests.helpers import brute_force_query, random_bayesian_network, random_evidence, random_markov_network


def _assert_same_query(got, want, atol=1e-10):
    assert got.log_evidence == pytest.approx(want.log_evidence, rel=1e-10, abs=1e-12)
    assert list(got.marginals) == list(want.marginals)
    for v, dist in want.marginals.items():
        assert list(got.marginals[v]) == list(dist)
        np.testing.assert_allclose(list(got.marginals[v].values()), list(dist.values()), atol=atol)


# ------------------------------------------------------------------ random models
@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("heuristic", ["min-fill", "min-degree"])
def test_bayesian_network_matches_enumeration_and_ve(seed, heuristic):
    rng = np.random.default_rng(seed)
    bn = random_bayesian_network(rng, num_nodes=int(rng.integers(3, 8)), zero_fraction=0.1 * (seed % 2))
    evidence = random_evidence(rng, bn, int(rng.integers(0, 3)))
    marginals, log_evidence, max_log_joint = brute_force_query(bn, evidence)
    engine = JunctionTree(bn, heuristic)
    if not np.isfinite(log_evidence):
        with pytest.raises(credo.ImpossibleEvidenceError):
            engine.query(evidence=evidence)
        with pytest.raises(credo.ImpossibleEvidenceError):
            engine.mpe(evidence)
        return
    result = engine.query(evidence=evidence)
    assert result.method == "jt"
    assert result.log_evidence == pytest.approx(log_evidence, rel=1e-10, abs=1e-12)
    assert set(result.marginals) == set(marginals)
    for v, expected in marginals.items():
        np.testing.assert_allclose(list(result.marginals[v].values()), expected, atol=1e-10)
    _assert_same_query(result, credo.query(bn, evidence=evidence))
    assignment, log_joint = engine.mpe(evidence)
    assert log_joint == pytest.approx(max_log_joint, abs=1e-10)
    assert bn.log_prob(assignment) == pytest.approx(log_joint, abs=1e-10)
    assert all(assignment[v] == s for v, s in evidence.items())


@pytest.mark.parametrize("seed", range(15))
def test_markov_network_matches_enumeration(seed):
    rng = np.random.default_rng(100 + seed)
    mn = random_markov_network(rng, num_nodes=int(rng.integers(3, 7)), num_factors=int(rng.integers(2, 7)))
    evidence = random_evidence(rng, mn, int(rng.integers(0, 3)))
    marginals, log_z, max_log = brute_force_query(mn, evidence)
    engine = JunctionTree(mn)
    result = engine.query(evidence=evidence)
    assert result.log_evidence == pytest.approx(log_z, rel=1e-10)
    for v, expected in marginals.items():
        np.testing.assert_allclose(list(result.marginals[v].values()), expected, atol=1e-10)
    _assert_same_query(result, credo.query(mn, evidence=evidence))
    assert engine.mpe(evidence).log_joint == pytest.approx(max_log, abs=1e-10)
    assert JunctionTree(mn.to_factor_graph()).query(evidence=evidence).log_evidence == pytest.approx(log_z, rel=1e-10)


def test_disconnected_model_and_targets():
    a = credo.DiscreteFactor(["a"], [1.0, 3.0])
    bc = credo.DiscreteFactor(["b", "c"], [[1.0, 2.0], [3.0, 4.0]])
    mn = credo.MarkovNetwork([a, bc, credo.DiscreteFactor(["d"], [2.0, 2.0])])
    engine = JunctionTree(mn)
    assert engine.query().log_evidence == pytest.approx(np.log(4.0 * 10.0 * 4.0))
    result = engine.query(["c", "b"], evidence={"b": 1})
    assert list(result.marginals) == ["c", "b"]
    assert result.marginals["c"][0] == pytest.approx(3 / 7)
    assert result.marginals["b"] == {0: 0.0, 1: 1.0}


def test_joint_of_a_clique_matches_enumeration():
    rng = np.random.default_rng(7)
    bn = random_bayesian_network(rng, 6)
    engine = JunctionTree(bn)
    clique = engine.cliques[0]
    pair = [clique[-1], clique[0]]
    evidence = {"v5": "s0"} if "v5" not in pair else {"v0": "s0"}
    factor = engine.joint(pair, evidence)
    expected = credo.query(bn, targets=pair, evidence=evidence, joint=True).joint
    assert factor.variables == tuple(pair)
    assert factor.allclose(expected, atol=1e-12)
    lone = [v for v in bn.variables if not any({v, clique[0]} <= set(c) for c in engine.cliques)]
    if lone:
        with pytest.raises(credo.ModelError, match="no clique"):
            engine.joint([clique[0], lone[0]])
    via_method = junction_tree_query(bn, targets=pair, evidence=evidence, joint=True)
    assert via_method.joint.allclose(expected, atol=1e-12)


def test_junction_tree_query_has_the_ve_signature():
    bn = credo.examples.sprinkler()
    evidence = {"WetGrass": "yes"}
    _assert_same_query(junction_tree_query(bn, evidence=evidence),
                       credo.exact.variable_elimination(bn, evidence=evidence))
    _assert_same_query(junction_tree_query(bn, ["Rain"], evidence, elimination_order="min-degree"),
                       credo.exact.variable_elimination(bn, ["Rain"], evidence))
    order = list(bn.variables)
    _assert_same_query(junction_tree_query(bn, evidence=evidence, elimination_order=order),
                       credo.exact.variable_elimination(bn, evidence=evidence))
    assert junction_tree_query(bn).log_evidence == 0.0


# ------------------------------------------------------------------ reference networks
def _reference_engine(name):
    if name not in _ENGINES:
        _ENGINES[name] = JunctionTree(load_network(name))
    return _ENGINES[name]


_ENGINES: dict = {}


@pytest.mark.parametrize("name", NETWORKS)
def test_reference_networks_single_and_batched(name):
    model, cases = load_network(name), load_cases(name)
    engine = _reference_engine(name)
    singles = []
    for case in cases:
        result = engine.query(evidence=case["evidence"])
        check_marginals(model, result.marginals, case)
        check_log_evidence(result.log_evidence, case["log_evidence"])
        singles.append(result)
        mpe = engine.mpe(case["evidence"])
        check_mpe(model, mpe.assignment, mpe.log_joint, case)
    batch = engine.query(evidence=[case["evidence"] for case in cases])
    assert isinstance(batch, BatchQueryResult) and len(batch) == len(cases)
    frame = engine.query(evidence=pd.DataFrame([case["evidence"] for case in cases]))
    for r, (case, single) in enumerate(zip(cases, singles)):
        for result in (batch, frame):
            assert result.log_evidence[r] == pytest.approx(single.log_evidence, rel=1e-12, abs=1e-12)
            if case["log_evidence"] == 0.0:
                assert result.log_evidence[r] == 0.0
            for v in model.variables:
                want = ([float(s == case["evidence"][v]) for s in model.states(v)] if v in case["evidence"]
                        else list(single.marginals[v].values()))
                np.testing.assert_allclose(result.marginals[v][r], want, atol=1e-12)


def test_batch_rows_match_single_queries_with_chunking(monkeypatch):
    from credo.exact import junction_tree

    bn = load_network("alarm")
    engine = _reference_engine("alarm")
    frame = bn.sample(60, seed=3)[["HR", "BP", "SAO2", "CO", "HRBP"]]
    frame = frame.astype(object)
    frame.iloc[::3, 1] = None
    frame.iloc[1::4, 0] = np.nan
    monkeypatch.setattr(junction_tree, "_CHUNK_ENTRIES", 2 * engine._entries * 7)  # 7 rows per chunk
    batch = engine.query(["LVFAILURE", "HR"], evidence=frame)
    assert set(batch.marginals) == {"LVFAILURE", "HR"} and batch.marginals["HR"].shape == (60, 3)
    for r, row in enumerate(frame.to_dict(orient="records")):
        evidence = {v: s for v, s in row.items() if s is not None and s == s}
        single = engine.query(["LVFAILURE", "HR"], evidence=evidence)
        assert batch.log_evidence[r] == pytest.approx(single.log_evidence, rel=1e-12)
        np.testing.assert_allclose(batch.marginals["LVFAILURE"][r], list(single.marginals["LVFAILURE"].values()),
                                   atol=1e-12)
        assert batch.row(r).marginals["HR"] == pytest.approx(single.marginals["HR"], abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_batch_with_columns_observed_in_every_row_matches_single_queries(seed):
    # Columns observed in every row are clamped (cliques shrink) and repeated rows are
    # answered once; neither may change a row's answer.
    rng = np.random.default_rng(200 + seed)
    bn = random_bayesian_network(rng, num_nodes=8, zero_fraction=0.1 * (seed % 2))
    engine = JunctionTree(bn)
    size = len(bn.variables) if seed == 0 else int(rng.integers(2, len(bn.variables)))
    observed = [str(v) for v in rng.choice(bn.variables, size=size, replace=False)]
    frame = bn.sample(30, seed=seed)[observed].astype(object)
    frame = pd.concat([frame, frame.iloc[:12]], ignore_index=True)
    if seed % 2:
        frame.iloc[::4, 0] = None  # one column observed in some rows only: a likelihood, not clamped
    batch = engine.query(evidence=frame)
    for r, row in enumerate(frame.to_dict(orient="records")):
        evidence = {v: s for v, s in row.items() if s is not None}
        single = engine.query(evidence=evidence)
        assert batch.log_evidence[r] == pytest.approx(single.log_evidence, rel=1e-12, abs=1e-12)
        for v in bn.variables:
            want = ([float(s == evidence[v]) for s in bn.states(v)] if v in evidence
                    else list(single.marginals[v].values()))
            np.testing.assert_allclose(batch.marginals[v][r], want, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_clamped_batch_on_a_markov_network_matches_brute_force(seed):
    rng = np.random.default_rng(300 + seed)
    mn = random_markov_network(rng, num_nodes=7, num_factors=8)
    observed = [str(v) for v in rng.choice(mn.variables, size=3, replace=False)]
    rows = [{v: mn.states(v)[int(rng.integers(mn.cardinality(v)))] for v in observed} for _ in range(25)]
    batch = JunctionTree(mn).query(evidence=rows + rows[:5])
    for r, evidence in enumerate(rows + rows[:5]):
        marginals, log_z, _ = brute_force_query(mn, evidence)
        assert batch.log_evidence[r] == pytest.approx(log_z, rel=1e-10)
        for v, expected in marginals.items():
            np.testing.assert_allclose(batch.marginals[v][r], expected, atol=1e-10)


def test_clamped_batch_names_impossible_rows_and_recovers_underflow():
    engine = JunctionTree(credo.examples.sprinkler())
    fine = {"Sprinkler": "no", "Rain": "yes", "WetGrass": "yes"}
    bad = {"Sprinkler": "no", "Rain": "no", "WetGrass": "yes"}
    with pytest.raises(credo.ImpossibleEvidenceError, match=r"rows \[1, 3\]") as info:
        engine.query(evidence=[fine, bad, fine, bad, fine])
    assert info.value.rows == [1, 3]
    tiny = 1e-200
    mn = credo.MarkovNetwork([credo.DiscreteFactor(["a", "b"], [[1.0, tiny], [tiny, tiny]]),
                              credo.DiscreteFactor(["a", "b"], [[1.0, 1.0], [1.0, tiny]])])
    batch = JunctionTree(mn).query(evidence=[{"a": 1}, {"a": 0}, {"a": 1}], soft_evidence={"b": [tiny, 1.0]})
    # a = 1: 2e-400, below the smallest double, so the row is redone in log space
    np.testing.assert_allclose(batch.log_evidence, [np.log(2.0) - 400 * np.log(10.0),
                                                    np.log(2.0) - 200 * np.log(10.0),
                                                    np.log(2.0) - 400 * np.log(10.0)], rtol=1e-12)
    np.testing.assert_allclose(batch.marginals["b"], [[0.5, 0.5]] * 3, atol=1e-12)
    np.testing.assert_allclose(batch.marginals["a"], [[0, 1], [1, 0], [0, 1]], atol=0)


def test_batch_of_nothing_and_of_empty_rows():
    engine = JunctionTree(credo.examples.sprinkler())
    empty = engine.query(evidence=[])
    assert len(empty) == 0
    blank = engine.query(evidence=[{}, {}])
    np.testing.assert_array_equal(blank.log_evidence, [0.0, 0.0])
    prior = engine.query(evidence={})
    np.testing.assert_allclose(blank.marginals["Rain"][1], list(prior.marginals["Rain"].values()), atol=1e-15)


# ------------------------------------------------------------------ soft evidence
def test_soft_evidence_equals_a_virtual_child():
    rng = np.random.default_rng(11)
    bn = random_bayesian_network(rng, 7)
    likelihood = {"v2": rng.uniform(0.05, 0.9, bn.cardinality("v2")),
                  "v4": rng.uniform(0.05, 0.9, bn.cardinality("v4"))}
    cpds = list(bn.cpds)
    for v, lik in likelihood.items():
        cpds.append(credo.TabularCPD(f"z_{v}", ["seen", "not"], np.stack([lik, 1 - lik], axis=1), parents=[v]))
    augmented = credo.BayesianNetwork(cpds=cpds)
    hard = {"v6": "s0"}
    want = credo.query(augmented, targets=list(bn.variables[:6]), evidence={**hard, "z_v2": "seen", "z_v4": "seen"})
    engine = JunctionTree(bn)
    got = engine.query(list(bn.variables[:6]), evidence=hard, soft_evidence=likelihood)
    _assert_same_query(got, want)
    # Scaling a likelihood changes ln P(e) by its log, not the posterior.
    scaled = engine.query(list(bn.variables[:6]), evidence=hard, soft_evidence={"v2": 10 * likelihood["v2"], "v4": likelihood["v4"]})
    assert scaled.log_evidence == pytest.approx(want.log_evidence + np.log(10), rel=1e-12)
    # Batched soft evidence: one row per likelihood.
    batch = engine.query(["v0"], evidence=[hard, hard], soft_evidence={"v2": np.stack([likelihood["v2"]] * 2),
                                                                      "v4": likelihood["v4"]})
    np.testing.assert_allclose(batch.log_evidence, [got.log_evidence] * 2, rtol=1e-12)
    mpe = engine.mpe(hard, soft_evidence=likelihood)
    assert mpe.log_joint == pytest.approx(credo.mpe(augmented, {**hard, "z_v2": "seen", "z_v4": "seen"}).log_joint)
    with pytest.raises(credo.ModelError, match="soft evidence"):
        engine.query(soft_evidence={"v2": [1.0]})


# ------------------------------------------------------------------ errors and numerics
def test_impossible_evidence_raises_typed_error():
    bn = credo.examples.sprinkler()
    engine = JunctionTree(bn)
    bad = {"Sprinkler": "no", "Rain": "no", "WetGrass": "yes"}
    with pytest.raises(credo.ImpossibleEvidenceError):
        engine.query(evidence=bad)
    with pytest.raises(credo.ImpossibleEvidenceError):
        engine.mpe(bad)
    with pytest.raises(credo.ImpossibleEvidenceError):
        engine.joint(["Rain", "Sprinkler"], bad)
    with pytest.raises(credo.ImpossibleEvidenceError, match=r"rows \[1, 3\]") as info:
        engine.query(evidence=[{"Rain": "yes"}, bad, {}, bad])
    assert info.value.rows == [1, 3]
    with pytest.raises(credo.ImpossibleEvidenceError):
        engine.query(soft_evidence={"Rain": [0.0, 0.0]})


def test_unknown_names_are_reported():
    engine = JunctionTree(credo.examples.clinic())
    with pytest.raises(credo.UnknownVariableError, match="Cogh.*valid variables.*Cough"):
        engine.query(evidence={"Cogh": "yes"})
    with pytest.raises(credo.UnknownStateError, match="maybe.*Cough.*'yes', 'no'"):
        engine.query(evidence={"Cough": "maybe"})
    with pytest.raises(credo.UnknownVariableError):
        engine.query(targets=["Nope"])
    with pytest.raises(credo.UnknownVariableError):
        engine.query(evidence=[{"Nope": "yes"}])
    with pytest.raises(credo.UnknownVariableError):
        engine.query(evidence=pd.DataFrame({"Nope": ["yes"]}))
    with pytest.raises(credo.UnknownStateError):
        engine.query(evidence=pd.DataFrame({"Cough": ["yes", "maybe"]}))
    with pytest.raises(credo.UnknownVariableError):
        engine.query(soft_evidence={"Nope": [1.0, 1.0]})
    with pytest.raises(credo.ModelError, match="every variable"):
        JunctionTree(credo.examples.clinic(), ["Cough"])


def test_log_evidence_of_long_chain_does_not_underflow():
    # 3000 evidence leaves of probability 0.01 under one root: P(e) = 1e-6000.
    n = 3000
    cpds = [credo.TabularCPD("root", ["a", "b"], [0.5, 0.5])]
    for i in range(n):
        cpds.append(credo.TabularCPD(f"leaf{i}", ["hit", "miss"], [[0.01, 0.99], [0.01, 0.99]], parents=["root"]))
    bn = credo.BayesianNetwork(cpds=cpds)
    evidence = {f"leaf{i}": "hit" for i in range(n)}
    engine = JunctionTree(bn)
    result = engine.query(["root"], evidence=evidence)
    assert result.log_evidence == pytest.approx(n * np.log(0.01), rel=1e-12)
    assert result.marginals["root"]["a"] == pytest.approx(0.5)
    batch = engine.query(["root"], evidence=[evidence, {}])
    np.testing.assert_allclose(batch.log_evidence, [n * np.log(0.01), 0.0], rtol=1e-12)
    assert engine.mpe(evidence).log_joint == pytest.approx(n * np.log(0.01) + np.log(0.5), rel=1e-12)


def test_underflow_inside_a_clique_falls_back_to_log_space():
    # Every entry of the one clique times the likelihoods is 1e-400: the linear
    # pass sees P(e) = 0, the log-space pass recovers it.
    tiny = 1e-200
    mn = credo.MarkovNetwork([credo.DiscreteFactor(["a", "b"], [[1.0, tiny], [tiny, tiny]]),
                              credo.DiscreteFactor(["a", "b"], [[1.0, 1.0], [1.0, tiny]])])
    engine = JunctionTree(mn)
    soft = {"a": [tiny, 1.0], "b": [tiny, 1.0]}
    expected = np.log(4.0) - 400 * np.log(10.0)
    result = engine.query(soft_evidence=soft)
    assert result.log_evidence == pytest.approx(expected, rel=1e-12)
    assert result.marginals["a"][0] == pytest.approx(0.5) and result.marginals["b"][1] == pytest.approx(0.5)
    batch = engine.query(evidence=[{}, {"a": 1}], soft_evidence=soft)
    np.testing.assert_allclose(batch.log_evidence, [expected, np.log(2.0) - 400 * np.log(10.0)], rtol=1e-12)
    np.testing.assert_allclose(batch.marginals["b"], [[0.5, 0.5], [0.5, 0.5]], atol=1e-12)
    assert engine.mpe(soft_evidence=soft).log_joint == pytest.approx(-400 * np.log(10.0), rel=1e-12)


def test_compiled_structure_is_reported():
    mn = credo.MarkovNetwork.ising(4, 4, coupling=0.1)
    engine = JunctionTree(mn)
    assert 4 <= engine.treewidth <= 6
    assert engine.max_clique_states == max(2 ** len(c) for c in engine.cliques)
    assert len(engine.separators) == len(engine.cliques) - 1
    covered = set().union(*map(set, engine.cliques))
    assert covered == set(mn.variables)
    assert "cliques" in repr(engine)
    # Running intersection: cliques holding a variable form a connected subtree.
    import networkx as nx

    tree = nx.Graph([(child, parent) for child, parent, _ in engine.separators])
    tree.add_nodes_from(range(len(engine.cliques)))
    for v in mn.variables:
        holders = [i for i, c in enumerate(engine.cliques) if v in c]
        assert nx.is_connected(tree.subgraph(holders))


# ------------------------------------------------------------------ JAX collect pass
def test_jax_log_likelihood_matches_numpy_batch():
    import jax
    import jax.numpy as jnp

    from credo.exact.jt_jax import one_hot_likelihoods

    model, cases = load_network("alarm"), load_cases("alarm")
    engine = _reference_engine("alarm")
    rows = [case["evidence"] for case in cases if case["evidence"]]
    fn = jax.jit(engine.log_likelihood_fn())
    got = fn([jnp.asarray(f.log_values) for f in model.factors], one_hot_likelihoods(engine, rows))
    assert got.dtype == jnp.float64  # tests run with jax_enable_x64
    np.testing.assert_allclose(np.asarray(got), engine.query([], evidence=rows).log_evidence, rtol=1e-12)


def test_jax_gradient_is_expected_family_counts():
    import jax
    import jax.numpy as jnp

    from credo.exact.jt_jax import one_hot_likelihoods

    rng = np.random.default_rng(5)
    bn = random_bayesian_network(rng, 7)
    engine = JunctionTree(bn)
    rows = [random_evidence(rng, bn, 2) for _ in range(6)]
    likelihoods = one_hot_likelihoods(engine, rows)
    log_tables = [jnp.asarray(f.log_values) for f in bn.factors]
    fn = engine.log_likelihood_fn()
    value, grads = jax.jit(jax.value_and_grad(lambda t: fn(t, likelihoods).sum()))(log_tables)
    assert float(value) == pytest.approx(float(engine.query([], evidence=rows).log_evidence.sum()), rel=1e-12)
    for factor, grad in zip(bn.factors, grads):
        expected = sum(engine.joint(list(factor.variables), evidence).values for evidence in rows)
        np.testing.assert_allclose(np.asarray(grad), expected, atol=1e-10)


def test_credo_query_answers_a_batch_with_the_junction_tree_and_rejects_malformed_ones():
    bn = credo.examples.clinic()
    frame = pd.DataFrame({"Cough": ["yes", None, "no"], "Fever": [None, "yes", "no"]})
    engine = JunctionTree(bn)
    want = engine.query(evidence=frame)
    for method in ("auto", "jt"):
        got = credo.query(bn, evidence=frame, method=method)
        assert isinstance(got, BatchQueryResult)
        np.testing.assert_array_equal(got.log_evidence, want.log_evidence)
        for v in want.marginals:
            np.testing.assert_array_equal(got.marginals[v], want.marginals[v])
    rows = credo.query(bn, evidence=[{"Cough": "yes"}, {}], targets=["Flu"])
    assert rows.marginals["Flu"].shape == (2, 2)
    assert rows.row(0).marginals["Flu"]["yes"] == pytest.approx(credo.query(bn, "Flu", {"Cough": "yes"},
                                                                            method="ve").marginals["Flu"]["yes"])
    with pytest.raises(credo.ModelError, match="not a list; for many rows"):
        credo.query(bn, evidence=[{"Cough": "yes"}], method="ve")
    with pytest.raises(credo.ModelError, match="single evidence only|not a batch"):
        credo.query(bn, evidence=[{"Cough": "yes"}], method="jt", joint=True)
    with pytest.raises(credo.ModelError, match=r"repeated columns \['Cough'\]"):
        engine.query(evidence=pd.DataFrame([["yes", "no"]], columns=["Cough", "Cough"]))
    with pytest.raises(credo.ModelError, match="row 1 of the data is a str"):
        engine.query(evidence=[{"Cough": "yes"}, "Fever=yes"])
    with pytest.raises(credo.ModelError, match="evidence must be a mapping"):
        engine.query(evidence=np.array([["yes"]]))


def test_engine_cache_frees_the_models_it_served():
    """Issue 20's bug: the cache held every queried model (and its clique tables) for ever."""
    import gc
    import tracemalloc
    import weakref

    def batch_of_queries(seed):
        rng = np.random.default_rng(seed)
        refs = []
        for _ in range(50):
            bn = random_bayesian_network(rng, 12, max_parents=3)
            credo.query(bn, [bn.variables[-1]], {bn.variables[0]: "s0"})
            refs.append(weakref.ref(bn))
            del bn
        gc.collect()
        return refs

    batch_of_queries(0)  # warm caches that legitimately live for the process (imports, one-hot tables)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    refs = batch_of_queries(1)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert [r for r in refs if r() is not None] == []
    assert after - before < 2_000_000, f"{after - before} bytes still held after 50 models were deleted"


@pytest.mark.parametrize("seed", range(4))
def test_batch_mpe_matches_variable_elimination_row_by_row(seed):
    rng = np.random.default_rng(seed)
    bn = random_bayesian_network(rng, 9, max_parents=3)
    rows = [random_evidence(rng, bn, int(rng.integers(0, 4))) for _ in range(12)]
    rows += rows[:3]
    soft = {bn.variables[2]: rng.uniform(0.1, 1.0, (len(rows), bn.cardinality(bn.variables[2])))}
    batch = credo.mpe(bn, rows, soft_evidence=soft)
    assert isinstance(batch, credo.BatchMPEResult) and len(batch) == len(rows)
    frame = batch.to_frame()
    for r, evidence in enumerate(rows):
        single = credo.mpe(bn, evidence, soft_evidence={v: a[r] for v, a in soft.items()})  # VE, max-product
        assert batch.log_joint[r] == pytest.approx(single.log_joint, abs=1e-10)
        assert bn.log_prob(batch.row(r).assignment) + sum(
            np.log(a[r][bn.state_index(v, batch.row(r).assignment[v])]) for v, a in soft.items()) == \
            pytest.approx(single.log_joint, abs=1e-10)
        assert dict(frame.drop(columns="log_joint").iloc[r]) == batch.row(r).assignment
        for v, s in evidence.items():
            assert batch.row(r).assignment[v] == s


def test_batch_mpe_names_impossible_rows():
    clinic = credo.examples.clinic()
    rows = [{"Cough": "yes"}, {"Fever": "yes", "Flu": "no"}, {}, {"Fever": "yes", "Flu": "no"}]
    with pytest.raises(credo.ImpossibleEvidenceError) as info:
        credo.JunctionTree(clinic).mpe(pd.DataFrame(rows))
    assert info.value.rows == [1, 3]


def test_batch_result_frames():
    clinic = credo.examples.clinic()
    frame = pd.DataFrame({"Cough": ["yes", "no", None]})
    batch = credo.query(clinic, ["Flu", "Cold"], frame)
    wide = batch.to_frame()
    assert wide[("Flu", "yes")].tolist() == pytest.approx(batch.marginals["Flu"][:, 0].tolist())
    assert wide[("log_evidence", "")].tolist() == pytest.approx(batch.log_evidence.tolist())
    long = batch.to_frame(long=True)
    assert len(long) == 3 * (2 + 2) and set(long.columns) == {"row", "variable", "state", "probability"}
    picked = long[(long.row == 1) & (long.variable == "Flu") & (long.state == "yes")].probability.item()
    assert picked == pytest.approx(credo.query(clinic, ["Flu"], {"Cough": "no"}).marginals["Flu"]["yes"])
    best = batch.map_states()
    for r in range(3):
        assert best.iloc[r].to_dict() == {v: max(d, key=d.get) for v, d in batch.row(r).marginals.items()}


def test_query_takes_targets_then_evidence_and_refuses_the_old_order():
    """Issue 21: JunctionTree.query(evidence, targets) swapped credo.query's order."""
    clinic = credo.examples.clinic()
    engine = JunctionTree(clinic)
    want = credo.query(clinic, ["Flu"], {"Cough": "yes"}).marginals
    assert engine.query(["Flu"], {"Cough": "yes"}).marginals == want
    assert engine.query("Flu", evidence={"Cough": "yes"}).marginals == want
    for old in ({"Cough": "yes"}, [{"Cough": "yes"}], pd.DataFrame({"Cough": ["yes"]})):
        with pytest.raises(credo.ModelError, match="targets, evidence"):
            engine.query(old)


def test_shared_module_tables_are_read_only():
    """Issue 20: the one-hot and ones tables are shared by every engine in the process."""
    from credo.exact import clique_tree
    from credo.exact import evidence as jt

    clinic = credo.examples.clinic()
    credo.query(clinic, ["Flu"], [{"Cough": "yes"}, {}])  # Cough not in every row: a one-hot likelihood
    assert jt._ONE_HOT_ROWS and all(not t.flags.writeable for t in jt._ONE_HOT_ROWS.values())
    assert all(not t.flags.writeable for t in clique_tree._ONES.values())
