"""Soft (virtual) evidence through the front door: ``credo.query`` and ``credo.mpe``.

References, independent of the soft-evidence code paths: a Bayesian network
with one added observed child per likelihood (its CPT column is the
likelihood), and brute-force enumeration of a Markov network with one added
unary potential per likelihood.
"""

from __future__ import annotations

import numpy as np
import pytest

import credo
from tests.helpers import brute_force_query, random_bayesian_network, random_evidence, random_markov_network


def _with_virtual_children(bn: credo.BayesianNetwork, likelihood: dict) -> credo.BayesianNetwork:
    """``bn`` plus a child ``z_v`` of each ``v`` with P(z_v = seen | v) = likelihood[v] (entries <= 1)."""
    cpds = list(bn.cpds)
    for v, lik in likelihood.items():
        cpds.append(credo.TabularCPD(f"z_{v}", ["seen", "not"], np.stack([lik, 1 - lik], axis=1), parents=[v]))
    return credo.BayesianNetwork(cpds=cpds)


def _assert_marginals_close(got: dict, want: dict, atol: float = 1e-10) -> None:
    for v, dist in want.items():
        np.testing.assert_allclose(list(got[v].values()), list(dist.values()) if isinstance(dist, dict) else dist,
                                   atol=atol, err_msg=str(v))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("method", ["auto", "jt", "ve"])
def test_bayesian_network_soft_evidence_equals_virtual_children(seed, method):
    rng = np.random.default_rng(seed)
    bn = random_bayesian_network(rng, int(rng.integers(4, 8)))
    soft_on = rng.choice(len(bn.variables), size=2, replace=False)
    likelihood = {bn.variables[i]: rng.uniform(0.05, 0.95, bn.cardinality(bn.variables[i])) for i in soft_on}
    hard = random_evidence(rng, bn, 1)
    augmented = _with_virtual_children(bn, likelihood)
    seen = {f"z_{v}": "seen" for v in likelihood}
    want = credo.query(augmented, targets=list(bn.variables), evidence={**hard, **seen}, method="ve")
    got = credo.query(bn, targets=list(bn.variables), evidence=hard, method=method, soft_evidence=likelihood)
    assert got.log_evidence == pytest.approx(want.log_evidence, rel=1e-10, abs=1e-12)
    _assert_marginals_close(got.marginals, want.marginals)
    # A likelihood is defined up to scale: the posterior stays, ln P(e) moves by the log of the scale.
    first = next(iter(likelihood))
    scaled = credo.query(bn, targets=list(bn.variables), evidence=hard, method=method,
                         soft_evidence={**likelihood, first: 7 * likelihood[first]})
    assert scaled.log_evidence == pytest.approx(want.log_evidence + np.log(7), rel=1e-10)
    _assert_marginals_close(scaled.marginals, want.marginals)


def test_joint_and_mpe_take_soft_evidence():
    rng = np.random.default_rng(21)
    bn = random_bayesian_network(rng, 7)
    likelihood = {"v1": rng.uniform(0.05, 0.95, bn.cardinality("v1")),
                  "v5": rng.uniform(0.05, 0.95, bn.cardinality("v5"))}
    augmented = _with_virtual_children(bn, likelihood)
    seen = {"z_v1": "seen", "z_v5": "seen"}
    targets = ["v0", "v3", "v6"]  # rarely in one clique: the junction tree falls back to VE for the joint
    want = credo.query(augmented, targets=targets, evidence=seen, method="ve", joint=True).joint
    for method in ("jt", "ve"):
        joint = credo.query(bn, targets=targets, method=method, joint=True, soft_evidence=likelihood).joint
        np.testing.assert_allclose(joint.values, want.values, atol=1e-12)
    best = credo.mpe(bn, soft_evidence=likelihood)
    reference = credo.mpe(augmented, evidence=seen)
    assert best.log_joint == pytest.approx(reference.log_joint, rel=1e-12)
    assert {v: best.assignment[v] for v in bn.variables} == {v: reference.assignment[v] for v in bn.variables}
    assert credo.JunctionTree(bn).mpe(soft_evidence=likelihood).log_joint == pytest.approx(best.log_joint, rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_markov_network_soft_evidence_equals_an_added_potential(seed):
    rng = np.random.default_rng(100 + seed)
    mn = random_markov_network(rng, num_nodes=5, num_factors=5)
    v = mn.variables[int(rng.integers(len(mn.variables)))]
    lik = rng.gamma(1.0, size=mn.cardinality(v))  # any non-negative vector, not only probabilities
    augmented = credo.MarkovNetwork(list(mn.factors) + [credo.DiscreteFactor([v], lik, {v: mn.states(v)})],
                                    variables=mn.variables)
    marginals, log_z, _ = brute_force_query(augmented, {})
    for method in ("jt", "ve"):
        got = credo.query(mn, method=method, soft_evidence={v: lik})
        assert got.log_evidence == pytest.approx(log_z, rel=1e-10)
        _assert_marginals_close(got.marginals, marginals)


def test_bad_soft_evidence_is_a_typed_error_naming_the_variable():
    bn = credo.examples.sprinkler()
    with pytest.raises(credo.ModelError, match="soft evidence on 'Rain' needs 2 entries"):
        credo.query(bn, soft_evidence={"Rain": [0.2, 0.3, 0.5]})
    with pytest.raises(credo.ModelError, match="'Rain' must be non-negative"):
        credo.query(bn, method="ve", soft_evidence={"Rain": [-0.2, 1.0]})
    with pytest.raises(credo.ModelError, match="'Rain' must be non-negative and finite"):
        credo.mpe(bn, soft_evidence={"Rain": [np.nan, 1.0]})
    with pytest.raises(credo.ModelError, match="soft evidence must be a mapping"):
        credo.query(bn, soft_evidence=[0.2, 0.8])
    with pytest.raises(credo.UnknownVariableError, match="Rian"):
        credo.query(bn, method="ve", soft_evidence={"Rian": [0.5, 0.5]})
    for method in ("ve", "jt"):
        with pytest.raises(credo.ImpossibleEvidenceError):
            credo.query(bn, method=method, soft_evidence={"Rain": [0.0, 0.0]})
    # A likelihood that is zero exactly where the hard evidence sits.
    state = bn.states("Rain").index("yes")
    zero_there = np.ones(2)
    zero_there[state] = 0.0
    with pytest.raises(credo.ImpossibleEvidenceError):
        credo.query(bn, evidence={"Rain": "yes"}, method="ve", soft_evidence={"Rain": zero_there})
    for method in ("bp", "contract", "gibbs", "lw"):
        with pytest.raises(credo.ModelError, match="soft evidence is supported by method='jt' and 've'"):
            credo.query(bn, method=method, soft_evidence={"Rain": [0.5, 0.5]})


@pytest.mark.parametrize("scale", [1e-320, 1e-300, 1e-200, 1e250])
def test_tiny_or_huge_likelihoods_are_scale_free(scale):
    """Issue 19 item 3: a likelihood of 1e-320 (subnormal) lost precision in the junction tree
    (Flu 0.04981 instead of 0.05, ln P(e) -736.82749 instead of -736.82724)."""
    clinic = credo.examples.clinic()
    lik = np.array([0.3, 0.7]) * scale  # subnormal entries carry their own rounding: compare ratios
    reference = credo.query(clinic, ["Flu", "Cold"], soft_evidence={"Fever": lik / lik.max()}, method="ve")
    for method in ("jt", "ve"):
        got = credo.query(clinic, ["Flu", "Cold"], soft_evidence={"Fever": lik}, method=method)
        for v in ("Flu", "Cold"):
            np.testing.assert_allclose(list(got.marginals[v].values()), list(reference.marginals[v].values()),
                                       rtol=1e-12, err_msg=f"{method} {v}")
        assert got.log_evidence == pytest.approx(reference.log_evidence + np.log(lik.max()), abs=1e-9)
    batch = credo.query(clinic, ["Flu"], [{"Cough": "yes"}, {}], soft_evidence={"Fever": [scale, scale]})
    np.testing.assert_allclose(batch.marginals["Flu"][1], [0.05, 0.95], rtol=1e-12)
    np.testing.assert_allclose(batch.log_evidence[1], np.log(scale), rtol=1e-12)
    engine = credo.JunctionTree(clinic)
    best = engine.mpe(soft_evidence={"Fever": lik})
    plain = engine.mpe(soft_evidence={"Fever": lik / lik.max()})
    assert best.assignment == plain.assignment
    assert best.log_joint == pytest.approx(plain.log_joint + np.log(lik.max()), abs=1e-9)


def test_subnormal_soft_evidence_gives_exact_flu_prior():
    clinic = credo.examples.clinic()
    got = credo.query(clinic, ["Flu"], soft_evidence={"Fever": [1e-320, 1e-320]}, method="jt")
    assert got.marginals["Flu"]["yes"] == pytest.approx(0.05, rel=1e-12)
    assert got.log_evidence == pytest.approx(np.log(1e-320), rel=1e-12)
