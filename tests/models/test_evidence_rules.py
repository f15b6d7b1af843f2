"""Issue 19, wrong results: a CPD's declared parent states, and what an evidence value means.

References: the same network written with the parent's own state order (so
the declared order must be undone), and brute-force enumeration.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import credo
from credo.errors import CPDError, ModelError, UnknownStateError


def _ab(parent_states=None, table=((.1, .9), (.8, .2))):
    a = credo.TabularCPD("A", ["y", "n"], [.5, .5])
    b = credo.TabularCPD("B", ["hi", "lo"], table, parents=["A"], parent_states=parent_states)
    return credo.BayesianNetwork(cpds=[a, b])


# ------------------------------------------------------------------ item 1: parent_states
def test_declared_parent_states_in_another_order_are_honoured():
    # Row 0 is written for A="n": P(B=hi | A=y) is 0.8 (main gave 0.1, the row of A="n").
    bn = _ab({"A": ["n", "y"]})
    for method in ("jt", "ve"):
        got = credo.query(bn, ["B"], {"A": "y"}, method=method).marginals["B"]["hi"]
        assert got == pytest.approx(0.8, abs=1e-12)
    np.testing.assert_allclose(bn.cpd("B").table, [[.8, .2], [.1, .9]])
    assert bn.cpd("B").parent_states == {"A": ("y", "n")}


def test_declared_parent_states_in_the_same_order_change_nothing():
    assert _ab({"A": ["y", "n"]}).cpd("B").table.tolist() == _ab().cpd("B").table.tolist()


def test_permutation_over_two_parents_matches_enumeration():
    rng = np.random.default_rng(3)
    a = credo.TabularCPD("A", ["a0", "a1", "a2"], rng.dirichlet(np.ones(3)))
    c = credo.TabularCPD("C", ["c0", "c1"], [.3, .7])
    table = rng.dirichlet(np.ones(2), size=(2, 3))  # axes (C, A) in the declared orders below
    declared = {"C": ["c1", "c0"], "A": ["a2", "a0", "a1"]}
    b = credo.TabularCPD("B", ["b0", "b1"], table, parents=["C", "A"], parent_states=declared)
    bn = credo.BayesianNetwork(cpds=[a, c, b])
    for ci, cs in enumerate(declared["C"]):
        for ai, as_ in enumerate(declared["A"]):
            got = credo.query(bn, ["B"], {"C": cs, "A": as_}).marginals["B"]
            np.testing.assert_allclose([got["b0"], got["b1"]], table[ci, ai], atol=1e-12)
    # C summed out by hand: P(B | A=a1) = sum_c P(c) table[c, a1], in the declared positions
    want = 0.3 * table[declared["C"].index("c0"), 2] + 0.7 * table[declared["C"].index("c1"), 2]
    got = credo.query(bn, ["B"], {"A": "a1"}).marginals["B"]
    np.testing.assert_allclose([got["b0"], got["b1"]], want, atol=1e-12)


@pytest.mark.parametrize("declared", [{"A": ["n", "maybe"]}, {"A": ["y", "n", "x"]}, {"A": ["y"]}])
def test_declared_parent_states_that_differ_are_refused(declared):
    with pytest.raises(CPDError) as info:
        table = [[.1, .9]] * len(declared["A"])
        _ab(declared, table=table)
    text = str(info.value)
    assert "'B'" in text and "'A'" in text and "['y', 'n']" in text


def test_parent_states_of_a_non_parent_or_repeated_are_refused():
    with pytest.raises(CPDError, match="not among the parents"):
        credo.TabularCPD("B", ["hi", "lo"], [[.1, .9], [.8, .2]], parents=["A"],
                         parent_states={"A": ["y", "n"], "Z": ["z"]})
    with pytest.raises(CPDError, match="repeats"):
        credo.TabularCPD("B", ["hi", "lo"], [[.1, .9], [.8, .2]], parents=["A"], parent_states={"A": ["y", "y"]})


# -------------------------------------------------------------- item 2: integer evidence
@pytest.fixture(scope="module")
def ages():
    age = credo.TabularCPD("Age", ["1", "2", "3"], [.2, .3, .5])
    b = credo.TabularCPD("B", ["hi", "lo"], [[.1, .9], [.8, .2], [.5, .5]], parents=["Age"])
    return credo.BayesianNetwork(cpds=[age, b])


@pytest.mark.parametrize("method", ["jt", "ve", "bp", "contract"])
def test_an_integer_is_a_state_name_not_a_position(ages, method):
    # main read 0 as the first position and 1 as the name "1": the same answer for both.
    assert credo.query(ages, ["B"], {"Age": 1}, method=method).marginals["B"]["hi"] == pytest.approx(0.1)
    assert credo.query(ages, ["B"], {"Age": 2}, method=method).marginals["B"]["hi"] == pytest.approx(0.8)
    with pytest.raises(UnknownStateError) as info:
        credo.query(ages, ["B"], {"Age": 0}, method=method)
    assert "'Age'" in str(info.value) and "0" in str(info.value) and "'1', '2', '3'" in str(info.value)


def test_positions_only_through_evidence_index(ages):
    got = credo.query(ages, ["B"], evidence_index={"Age": 0}).marginals["B"]["hi"]
    assert got == pytest.approx(0.1)
    assert credo.mpe(ages, evidence_index={"Age": 1}).assignment["B"] == "hi"
    with pytest.raises(UnknownStateError):
        credo.query(ages, ["B"], evidence_index={"Age": 3})
    with pytest.raises(UnknownStateError):
        credo.query(ages, ["B"], evidence_index={"Age": "1"})
    with pytest.raises(ModelError, match="both"):
        credo.query(ages, ["B"], {"Age": "1"}, evidence_index={"Age": 0})


def test_clinic_cough_zero_is_an_error():
    clinic = credo.examples.clinic()
    with pytest.raises(UnknownStateError):
        credo.query(clinic, ["Flu"], {"Cough": 0})
    with pytest.raises(UnknownStateError):
        credo.mpe(clinic, {"Cough": 0})
    with pytest.raises(UnknownStateError):
        credo.query(clinic, ["Flu"], {"Cough": 0}, method="lw", num_samples=100, seed=0)
    assert credo.query(clinic, ["Flu"], evidence_index={"Cough": 0}).marginals == \
        credo.query(clinic, ["Flu"], {"Cough": "yes"}).marginals


def test_a_dataframe_of_ints_is_read_by_name(ages):
    with pytest.raises(UnknownStateError):
        credo.query(ages, ["B"], pd.DataFrame({"Age": [0, 1, 2, 3]}))
    by_name = credo.query(ages, ["B"], pd.DataFrame({"Age": [1, 2, 3]})).marginals["B"]
    np.testing.assert_allclose(by_name, [[.1, .9], [.8, .2], [.5, .5]], atol=1e-12)
    by_position = credo.query(ages, ["B"], evidence_index=pd.DataFrame({"Age": [0, 1, 2]})).marginals["B"]
    np.testing.assert_allclose(by_position, by_name, atol=1e-12)
    # a missing value forces floats on an integer column: 2.0 still names "2"
    with_gap = credo.query(ages, ["B"], pd.DataFrame({"Age": [2, np.nan]})).marginals["B"]
    np.testing.assert_allclose(with_gap[0], [.8, .2], atol=1e-12)


def test_fit_mle_reads_names_or_positions_explicitly(ages):
    names = ages.sample(400, seed=1)
    positions = ages.sample(400, seed=1, as_indices=True)
    with pytest.raises(UnknownStateError):
        credo.learn.fit_mle(ages, positions)  # positions 0..2 are not the names "1".."3"
    fitted = credo.learn.fit_mle(ages, ages.states_from_indices(positions))
    np.testing.assert_allclose(fitted.cpd("B").table, credo.learn.fit_mle(ages, names).cpd("B").table)


def test_soft_evidence_keys_follow_the_same_rule(ages):
    by_name = credo.query(ages, ["B"], soft_evidence={"Age": {1: 0.5, "3": 0.25}}).marginals["B"]
    by_vector = credo.query(ages, ["B"], soft_evidence={"Age": [0.5, 0.0, 0.25]}).marginals["B"]
    assert by_name == pytest.approx(by_vector, abs=1e-12)
    with pytest.raises(UnknownStateError):
        credo.query(ages, ["B"], soft_evidence={"Age": {0: 1.0}})


def test_cli_evidence_by_name(tmp_path, ages, capsys):
    path = tmp_path / "ages.bif"
    credo.write_bif(ages, path)
    from credo.cli import main

    assert main(["query", str(path), "--target", "B", "--evidence", "Age=1"]) == 0
    first = capsys.readouterr().out
    assert main(["query", str(path), "--target", "B", "--evidence", "Age=0"]) != 0
    assert "unknown state" in capsys.readouterr().err
    assert "0.1" in first


# --------------------------------------------------------------------- smaller errors
def test_string_evidence_is_a_model_error():
    clinic = credo.examples.clinic()
    with pytest.raises(ModelError, match="mapping"):
        credo.query(clinic, "Flu", "Cough=yes")


@pytest.mark.parametrize("soft", [{"Fever": "yes"}, {"Fever": {"yes": "high"}}, {"Fever": ["a", "b"]},
                                  {"Fever": object()}])
def test_malformed_soft_evidence_is_a_model_error(soft):
    with pytest.raises(ModelError, match="Fever"):
        credo.query(credo.examples.clinic(), ["Flu"], soft_evidence=soft)


def test_soft_evidence_as_a_mapping_of_states():
    clinic = credo.examples.clinic()
    got = credo.query(clinic, ["Flu"], soft_evidence={"Fever": {"yes": 0.9, "no": 0.1}})
    want = credo.query(clinic, ["Flu"], soft_evidence={"Fever": [0.9, 0.1]})
    assert got.marginals["Flu"] == pytest.approx(want.marginals["Flu"], abs=1e-12)
    assert got.log_evidence == pytest.approx(want.log_evidence, abs=1e-12)


@pytest.mark.parametrize("value", [np.inf, -1.0, np.nan])
def test_factor_refuses_infinite_negative_or_nan_entries(value):
    with pytest.raises(ModelError, match="infinite"):
        credo.DiscreteFactor(["x"], [1.0, value])
