"""Round trips over arbitrary names and tables: exact, or refused by the writer up front.

The oracles are independent of the writers: the XML 1.0 ``Char`` production
for XMLBIF, BIF's quoted names (everything but a double quote) and UTF-8
(no lone surrogates) for BIF; UAI has no names, so its numbers must come
back exactly.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credo.errors import ModelError
from credo.factors import DiscreteFactor, TabularCPD
from credo.io import parse_bif, parse_uai, parse_xmlbif, to_bif_text, to_uai_text, to_xmlbif_text
from credo.models import BayesianNetwork, MarkovNetwork

ROUND_TRIP = settings(max_examples=60, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.too_slow])

# Characters that matter to one grammar or another, many of them in few examples.
AWKWARD = (" \t\n\r\x00\x01\x08\x0b\x0c\x1f\x7f\x85\xa0\u2028\ufeff\ufffd\ufffe\uffff\ud800\udfff"
           "\"'/*{}()[],;|<>&=#.-+0e" + "ab\u00e9\u4e2d\U0001f600")
NAMES = st.one_of(st.text(max_size=8), st.text(alphabet=AWKWARD, max_size=6),
                  st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=8))


def _xml_char(c: str) -> bool:
    """The ``Char`` production of XML 1.0 (fifth edition), section 2.2."""
    o = ord(c)
    return o in (0x9, 0xA, 0xD) or 0x20 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or 0x10000 <= o <= 0x10FFFF


def _bif_char(c: str) -> bool:
    return c != '"' and not 0xD800 <= ord(c) <= 0xDFFF


def _rows(draw, shape) -> np.ndarray:
    weights = draw(st.lists(st.floats(1e-3, 1e3), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    table = np.array(weights).reshape(shape)
    return table / table.sum(axis=-1, keepdims=True)


@st.composite
def networks(draw) -> BayesianNetwork:
    """One to three variables of arbitrary names, each a child of the one before."""
    variables = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    cpds, previous = [], []
    for i, v in enumerate(variables):
        states = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
        shape = ([len(previous)] if i else []) + [len(states)]
        cpds.append(TabularCPD(v, states, _rows(draw, shape), parents=variables[i - 1:i] if i else []))
        previous = states
    return BayesianNetwork(cpds=cpds, name=draw(NAMES.filter(bool)))


def _all_names(model) -> list[str]:
    return [model.name, *model.variables, *(s for v in model.variables for s in model.states(v))]


def _check_same(expected, actual) -> None:
    assert actual.name == expected.name
    assert actual.variables == expected.variables
    for v in expected.variables:
        assert actual.states(v) == expected.states(v)
        assert actual.parents(v) == expected.parents(v)
        np.testing.assert_allclose(actual.cpd(v).table, expected.cpd(v).table, rtol=1e-12, atol=0)


@pytest.mark.parametrize("write, parse, writable", [
    (to_bif_text, parse_bif, _bif_char),
    (to_xmlbif_text, parse_xmlbif, _xml_char),
], ids=["bif", "xmlbif"])
@given(model=networks())
@ROUND_TRIP
def test_names_round_trip_or_are_refused(write, parse, writable, model):
    if all(writable(c) for name in _all_names(model) for c in name):
        # Through UTF-8 bytes, as a file would be read back.
        _check_same(model, parse(write(model).encode("utf-8")))
    else:
        with pytest.raises(ModelError, match="cannot write"):
            write(model)


@pytest.mark.parametrize("write", [to_bif_text, to_xmlbif_text])
def test_refusal_names_the_culprit(write):
    model = BayesianNetwork(cpds=[TabularCPD("x", ["ok", 'say "\x01"'], [0.5, 0.5])])
    with pytest.raises(ModelError, match="state 'say \"\\\\x01\"' of variable 'x'"):
        write(model)


@pytest.mark.parametrize("write", [to_bif_text, to_xmlbif_text])
def test_names_written_alike_are_refused(write):
    model = BayesianNetwork(cpds=[TabularCPD("x", [1, "1"], [0.5, 0.5])])
    with pytest.raises(ModelError, match="'1' and 1|1 and '1'"):
        write(model)


def test_xmlbif_keeps_surrounding_whitespace_and_reads_padded_files():
    model = BayesianNetwork(cpds=[TabularCPD(" v ", [" yes", "no ", "\r\n"], [0.2, 0.3, 0.5])])
    back = parse_xmlbif(to_xmlbif_text(model))
    assert back.variables == (" v ",)
    assert back.states(" v ") == (" yes", "no ", "\r\n")
    # Without xml:space="preserve", surrounding whitespace is layout, as before.
    padded = to_xmlbif_text(model).replace(' xml:space="preserve"', "")
    assert parse_xmlbif(padded.replace("&#13;\n", "x")).states("v") == ("yes", "no", "x")


# ------------------------------------------------------------------------ UAI
FLOATS = st.floats(0, 1e300, allow_nan=False, allow_infinity=False)


@st.composite
def markov_networks(draw) -> MarkovNetwork:
    cards = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    n = len(cards)
    scopes = draw(st.lists(st.lists(st.integers(0, n - 1), min_size=1, max_size=3, unique=True), max_size=4))
    scopes += [[v] for v in range(n) if not any(v in s for s in scopes)]
    factors = []
    for scope in scopes:
        size = int(np.prod([cards[v] for v in scope]))
        values = draw(st.lists(FLOATS, min_size=size, max_size=size))
        factors.append(DiscreteFactor([f"x{v}" for v in scope], np.array(values).reshape([cards[v] for v in scope])))
    return MarkovNetwork(factors, variables=[f"x{v}" for v in range(n)])


@st.composite
def bayesian_networks(draw) -> BayesianNetwork:
    cards = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    cpds = []
    for i, k in enumerate(cards):
        parents = sorted(draw(st.sets(st.integers(0, i - 1), max_size=2))) if i else []
        shape = [cards[p] for p in parents] + [k]
        cpds.append(TabularCPD(f"x{i}", [f"s{j}" for j in range(k)], _rows(draw, shape),
                               parents=[f"x{p}" for p in parents]))
    return BayesianNetwork(cpds=cpds)


@given(model=markov_networks())
@ROUND_TRIP
def test_uai_markov_round_trip_is_exact(model):
    back = parse_uai(to_uai_text(model).encode("ascii"))
    index = {v: i for i, v in enumerate(model.variables)}
    assert back.variables == tuple(range(len(index)))
    assert [back.cardinality(i) for i in back.variables] == [model.cardinality(v) for v in model.variables]
    assert len(back.factors) == len(model.factors)
    for original, read in zip(model.factors, back.factors):
        assert read.variables == tuple(index[v] for v in original.variables)
        np.testing.assert_allclose(read.values, original.values, rtol=1e-12, atol=0)


@given(model=bayesian_networks())
@ROUND_TRIP
def test_uai_bayes_round_trip_is_exact(model):
    back = parse_uai(to_uai_text(model).encode("ascii"))
    index = {v: i for i, v in enumerate(model.variables)}
    assert back.variables == tuple(range(len(index)))
    for v, i in index.items():
        assert back.cardinality(i) == model.cardinality(v)
        assert back.parents(i) == tuple(index[p] for p in model.parents(v))
        np.testing.assert_allclose(back.cpd(i).table, model.cpd(v).table, rtol=1e-12, atol=0)
