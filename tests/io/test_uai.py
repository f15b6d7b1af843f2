"""UAI model and evidence files: competition problems, hand-written examples, round trips, errors."""

import numpy as np
import pytest

import credo
from credo.errors import ParseError
from credo.io import parse_uai, parse_uai_evidence, read_bif, read_uai, to_uai_text, write_uai
from credo.models import BayesianNetwork, MarkovNetwork
from tests.helpers import read_mar

MARKOV = """MARKOV
3
2 2 3
3
1 0
2 0 1
2 1 2

2
 0.5 1.5
4
 1 2
 3 4
6 1 2 3
  4 5 6
"""

# Function 0 is the CPD of variable 2 (the last of its scope), listed first on purpose.
BAYES = """BAYES
3
2 2 2
3
3 0 1 2
1 0
2 0 1
8 0.1 0.9  0.2 0.8  0.3 0.7  0.4 0.6
2 0.4 0.6
4 0.1 0.9 0.8 0.2
"""


@pytest.mark.parametrize("name, targets", [("Promedus_24", None), ("Grids_11", [0, 45, 99]),
                                           ("Pedigree_11", [0, 1, 200])])
def test_competition_problems_match_reference_marginals(name, targets, data_dir):
    path = data_dir / "uai" / f"{name}.uai"
    model, evidence = read_uai(path, evid=f"{path}.evid")
    assert isinstance(model, MarkovNetwork)
    assert model.variables == tuple(range(len(model.variables)))
    reference = read_mar(path.with_name(path.name + ".MAR"))
    assert len(reference) == len(model.variables)
    targets = [v for v in (targets or model.variables) if v not in evidence]
    result = credo.query(model, targets, evidence)
    for v in targets:
        np.testing.assert_allclose([result.marginals[v][s] for s in model.states(v)], reference[v], atol=1e-4)


def test_evidence_files(data_dir):
    path = data_dir / "uai" / "Pedigree_11.uai"
    model, evidence = read_uai(path, evid=f"{path}.evid")
    tokens = [int(t) for t in (data_dir / "uai" / "Pedigree_11.uai.evid").read_text().split()]
    assert len(evidence) == tokens[0] == 37
    assert evidence == dict(zip(tokens[1::2], tokens[2::2]))
    assert read_uai(path)[1] == {}  # the sibling .evid file is only read when asked for


def test_hand_written_markov():
    model = parse_uai(MARKOV)
    assert isinstance(model, MarkovNetwork)
    assert model.variables == (0, 1, 2)
    assert model.states(2) == (0, 1, 2)
    values = [f.values for f in model.factors]
    np.testing.assert_array_equal(values[0], [0.5, 1.5])
    np.testing.assert_array_equal(values[1], [[1, 2], [3, 4]])  # last scope variable fastest
    np.testing.assert_array_equal(values[2], [[1, 2, 3], [4, 5, 6]])
    assert model.factors[2].variables == (1, 2)


def test_uncovered_variable_gets_a_flat_factor():
    model = parse_uai("MARKOV 2  2 3  1  1 0  2 1 1")
    assert model.variables == (0, 1)
    assert model.states(1) == (0, 1, 2)
    np.testing.assert_array_equal(model.factors[-1].values, [1, 1, 1])


def test_hand_written_bayes():
    model = parse_uai(BAYES)
    assert isinstance(model, BayesianNetwork)
    assert model.variables == (0, 1, 2)
    assert model.parents(2) == (0, 1)
    assert model.parents(1) == (0,)
    np.testing.assert_array_equal(model.cpd(1).table, [[0.1, 0.9], [0.8, 0.2]])
    np.testing.assert_array_equal(model.cpd(2).table[1, 0], [0.3, 0.7])


@pytest.mark.parametrize("text, expected", [
    ("2 0 1 2 0", {0: 1, 2: 0}),
    ("1\n2 0 1 2 0\n", {0: 1, 2: 0}),  # older format: one sample
    ("1 1 1", {1: 1}),
    ("1 1 1 1", {1: 1}),
    ("0", {}),
    ("", {}),
    ("2 0 1 0 1", {0: 1}),
])
def test_evidence_formats(text, expected):
    model = parse_uai(BAYES)
    assert parse_uai_evidence(text, model) == expected
    assert parse_uai_evidence(text.encode()) == expected


@pytest.mark.parametrize("text, line, column, fragment", [
    ("2\n1 0 1\n1 2 0\n", 1, 1, "2 evidence samples are not supported"),
    ("1 3 1", 1, 3, "evidence variable must be in [0, 3)"),
    ("1 2 2", 1, 5, "state of variable 2 must be in [0, 2)"),
    ("2 0 1 0 0", 1, 7, "variable 0 is observed twice"),
    ("1 2 x", 1, 5, "got 'x'"),
    ("1\n3 0 1", 2, 6, "expected 6 numbers after '1 3'"),
])
def test_evidence_errors(text, line, column, fragment):
    with pytest.raises(ParseError) as info:
        parse_uai_evidence(text, parse_uai(BAYES))
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    assert fragment in str(info.value)


@pytest.mark.parametrize("text, line, column, fragment", [
    ("MARKOW\n1\n2\n", 1, 1, "expected 'MARKOV' or 'BAYES'"),
    ("MARKOV\n2\n2 x\n", 3, 3, "cardinalities (a non-negative integer), got 'x'"),
    ("MARKOV\n2\n2 0\n", 3, 3, "must be at least 1"),
    ("MARKOV\n2\n2 2\n1\n2 0 5\n", 5, 5, "must be in [0, 2)"),
    ("MARKOV\n2\n2 2\n1\n2 1 1\n", 5, 1, "lists a variable twice"),
    ("MARKOV\n2\n2 2\n1\n2 0 1\n3 1 2 3\n", 6, 1, "has 3 table entries, but its scope [0, 1] needs 4"),
    ("MARKOV\n1\n2\n1\n1 0\n2 0.5", 6, 6, "expected 2 entries of function 0, but the input ends after 1"),
    ("MARKOV\n1\n2\n1\n1 0\n2 0.5 -1", 6, 7, "finite and non-negative, got -1"),
    ("MARKOV\n1\n2\n1\n1 0\n2 0.5 1e400", 6, 7, "finite and non-negative"),
    ("MARKOV\n1\n2\n1\n1 0\n2 0.5 nan", 6, 7, "(a number), got 'nan'"),
    ("MARKOV\n1\n2\n1\n1 0\n2 0.5 1\n7", 7, 1, "unexpected '7' after the last function table"),
    ("BAYES\n2\n2 2\n1\n1 0\n2 0.5 0.5", 3, 3, "variable 1 has no probability table"),
    ("BAYES\n1\n2\n2\n1 0\n1 0\n2 0.5 0.5\n2 0.5 0.5", 6, 1, "second CPD of variable 0"),
    ("BAYES\n2\n2 2\n2\n2 1 0\n2 0 1\n4 1 0 0 1\n4 1 0 0 1", 5, 1, "cycle"),
    ("BAYES\n1\n2\n1\n0\n1 1", 5, 1, "empty scope"),
])
def test_model_errors(text, line, column, fragment):
    with pytest.raises(ParseError) as info:
        parse_uai(text)
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    assert fragment in str(info.value)


UNNORMALIZED = "BAYES\n2\n2 2\n2\n1 0\n2 0 1\n2 0.3 0.7\n4 0.2 0.8\n  0.5 0.4999\n"


def test_unnormalized_rows_are_errors_unless_asked_to_normalize():
    with pytest.raises(ParseError) as info:
        parse_uai(UNNORMALIZED)
    message = str(info.value)
    assert "function 1" in message and "variable 1" in message and "parent states (1,)" in message
    assert "0.9999" in message and "normalize=True" in message
    assert (info.value.line, info.value.column) == (6, 1)
    table = parse_uai(UNNORMALIZED, normalize=True).cpd(1).table
    np.testing.assert_allclose(table, [[0.2, 0.8], [0.5 / 0.9999, 0.4999 / 0.9999]], rtol=1e-15)
    with pytest.raises(ParseError, match="function 0 .* sums to 0.90"):
        parse_uai("BAYES 1 2 1 1 0 2 0.5 0.4")  # a root CPD is checked too


def test_bayes_round_trip_from_bif(data_dir, tmp_path):
    model = read_bif(data_dir / "networks" / "alarm.bif")
    write_uai(model, tmp_path / "alarm.uai", evidence={"HISTORY": "FALSE", "CVP": "HIGH"})
    back, evidence = read_uai(tmp_path / "alarm.uai", evid=tmp_path / "alarm.uai.evid")
    index = {v: i for i, v in enumerate(model.variables)}
    assert evidence == {index["HISTORY"]: 1, index["CVP"]: 2}
    assert back.variables == tuple(range(len(model.variables)))
    for v, i in index.items():
        assert back.parents(i) == tuple(index[p] for p in model.parents(v))
        np.testing.assert_array_equal(back.cpd(i).table, model.cpd(v).table)


def test_markov_round_trip_of_ising(tmp_path):
    model = MarkovNetwork.ising(3, 3, coupling=0.3, field=0.1)
    write_uai(model, tmp_path / "ising.uai", evidence={"x_1_1": 1})
    back, evidence = read_uai(tmp_path / "ising.uai", evid=tmp_path / "ising.uai.evid")
    assert evidence == {4: 1}
    index = {v: i for i, v in enumerate(model.variables)}
    assert len(back.factors) == len(model.factors)
    for original, read in zip(model.factors, back.factors):
        assert read.variables == tuple(index[v] for v in original.variables)
        np.testing.assert_array_equal(read.values, original.values)
    assert back.log_partition() == pytest.approx(model.log_partition(), rel=1e-12)
    assert to_uai_text(model.to_factor_graph()) == to_uai_text(model)


def test_written_text_is_plain_uai():
    text = to_uai_text(parse_uai(MARKOV))
    assert text.startswith("MARKOV\n3\n2 2 3\n3\n1 0\n2 0 1\n2 1 2\n\n2\n0.5 1.5\n")
    assert parse_uai(text).factors[2].values.tolist() == [[1, 2, 3], [4, 5, 6]]
