"""BIF reading and writing: the bnlearn networks, dialect details, round trips and errors."""

import re

import numpy as np
import pytest

from credo.errors import ModelError, ParseError
from credo.factors import TabularCPD
from credo.io import parse_bif, read_bif, to_bif_text, write_bif
from credo.models import BayesianNetwork

# (variables, free parameters) of the networks in tests/data/networks. The
# counts are sum_i (k_i - 1) * prod(parent cardinalities), checked against the
# bnlearn repository's figures (pathfinder's file, as shipped by pgmpy, has
# 72079 rather than bnlearn's 77155, which a direct count of its rows confirms).
NETWORKS = {
    "asia": (8, 18), "cancer": (5, 10), "earthquake": (5, 10), "survey": (6, 21), "sachs": (11, 178),
    "child": (20, 230), "insurance": (27, 1008), "alarm": (37, 509), "win95pts": (76, 574),
    "hailfinder": (56, 2656), "andes": (223, 1157), "pigs": (441, 5618), "pathfinder": (109, 72079),
}

ASIA_LIKE = """
network "test net" {
  property author = "someone" ;   // a property of the network
}
/* a block comment
   over two lines */ variable A { type discrete [ 2 ] { yes, no }; property position = (1, 2) ; }
variable
  B
{
\ttype discrete[3]{ lo , mid,hi } ;
}
probability(A){table .25,7.5e-1;}
probability ( B | A ) {
  (no) 0.1, 0.2, 0.7;   // rows in any order
  (yes) 1e-05, 0.49999, 0.5;
}
"""


def test_every_network_loads(data_dir):
    files = sorted((data_dir / "networks").glob("*.bif"))
    assert {f.stem for f in files} == set(NETWORKS)
    for path in files:
        model = read_bif(path)
        n_variables, n_parameters = NETWORKS[path.stem]
        assert len(model.variables) == n_variables, path.stem
        assert model.num_parameters() == n_parameters, path.stem
        declared = re.findall(r"^variable\s+(\S+)\s*\{", path.read_text(), flags=re.M)
        assert list(model.variables) == declared
        for v in model.variables:
            assert all(isinstance(s, str) for s in model.states(v))
            assert set(model.parents(v)) <= set(model.variables)


def test_asia_structure_and_tables(data_dir):
    asia = read_bif(data_dir / "networks" / "asia.bif")
    assert asia.name == "unknown"
    assert asia.parents("either") == ("lung", "tub")
    assert asia.states("asia") == ("yes", "no")
    np.testing.assert_array_equal(asia.cpd("asia").table, [0.01, 0.99])
    # Rows are keyed by parent states: (lung, tub) = (no, yes) -> [1, 0], (no, no) -> [0, 1].
    np.testing.assert_array_equal(asia.cpd("either").table, [[[1, 0], [1, 0]], [[1, 0], [0, 1]]])


def test_state_names_with_punctuation(data_dir):
    child = read_bif(data_dir / "networks" / "child.bif")
    assert "Asy/Patch" in child.states("ChestXray")
    assert ("<5", "5-12", "12+") in [child.states(v) for v in child.variables]
    assert ("<7.5", ">=7.5") in [child.states(v) for v in child.variables]
    assert "Transp." in child.states("CardiacMixing")


def test_comments_whitespace_quotes_and_numbers():
    model = parse_bif(ASIA_LIKE)
    assert model.name == "test net"
    assert model.variables == ("A", "B")
    assert model.states("B") == ("lo", "mid", "hi")
    np.testing.assert_array_equal(model.cpd("A").table, [0.25, 0.75])
    np.testing.assert_array_equal(model.cpd("B").table, [[1e-05, 0.49999, 0.5], [0.1, 0.2, 0.7]])


def test_javabayes_dialect():
    text = """network "Dog-Problem" { }
    variable "light on" { type discrete[2] { "true" "false" }; }
    variable "dog out" { type discrete[2] { "true" "false" }; }
    probability ( "light on" ) { table 0.6 0.4 ; }
    probability ( "dog out" "light on" ) { table 0.9 0.2 0.1 0.8 ; }
    """
    model = parse_bif(text)
    assert model.parents("dog out") == ("light on",)
    # A table with parents lists the child's state slowest: P(dog=true | light=true) = 0.9,
    # P(dog=true | light=false) = 0.2.
    np.testing.assert_array_equal(model.cpd("dog out").table, [[0.9, 0.1], [0.2, 0.8]])


def test_table_with_two_parents_is_child_slowest():
    text = """variable A { type discrete [ 2 ] { a0, a1 }; }
    variable B { type discrete [ 3 ] { b0, b1, b2 }; }
    variable C { type discrete [ 2 ] { c0, c1 }; }
    probability ( A ) { table 0.5, 0.5; }
    probability ( B ) { table 0.2, 0.3, 0.5; }
    probability ( C | A, B ) { table 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4; }
    """
    table = parse_bif(text).cpd("C").table
    assert table.shape == (2, 3, 2)
    np.testing.assert_allclose(table[..., 0], [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    np.testing.assert_allclose(table[1, 2], [0.6, 0.4])


def test_default_row():
    text = """variable A { type discrete [ 3 ] { x, y, z }; }
    variable B { type discrete [ 2 ] { t, f }; }
    probability ( A ) { table 0.2, 0.3, 0.5; }
    probability ( B | A ) { (y) 0.9, 0.1; default 0.5, 0.5; }
    """
    np.testing.assert_array_equal(parse_bif(text).cpd("B").table, [[0.5, 0.5], [0.9, 0.1], [0.5, 0.5]])


def test_row_order_does_not_matter(data_dir):
    text = (data_dir / "networks" / "asia.bif").read_text()
    rows = "  (yes, yes) 1.0, 0.0;\n  (no, yes) 1.0, 0.0;"
    swapped = "  (no, yes) 1.0, 0.0;\n  (yes, yes) 1.0, 0.0;"
    shuffled = text.replace(rows, swapped)
    assert shuffled != text
    np.testing.assert_array_equal(parse_bif(shuffled).cpd("either").table, parse_bif(text).cpd("either").table)


def test_bytes_input_and_bom():
    model = parse_bif(b"\xef\xbb\xbf" + ASIA_LIKE.encode())
    assert model.variables == ("A", "B")


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_round_trip_is_exact(name, data_dir, tmp_path, assert_same_network):
    model = read_bif(data_dir / "networks" / f"{name}.bif")
    write_bif(model, tmp_path / "out.bif")
    assert_same_network(model, read_bif(tmp_path / "out.bif"))


def test_round_trip_of_awkward_names_and_floats(assert_same_network):
    weird = ["a b", "{x}", "network", "/*c*/", "", "x//y", "é", "1.5"]
    cpds = [TabularCPD(w, ["s 1", "s;2", w + "!"], [1 / 3, 1 / 7, 1 - 1 / 3 - 1 / 7]) for w in weird[:-1]]
    cpds.append(TabularCPD(weird[-1], ["(", ")"], [[0.1 + 0.2, 0.7 - 1e-17]] * 3, parents=[weird[0]]))
    model = BayesianNetwork(cpds=cpds, name="odd name")
    back = parse_bif(to_bif_text(model))
    assert back.name == "odd name"
    assert_same_network(model, back)


def test_writer_rejects_unwritable_names():
    model = BayesianNetwork(cpds=[TabularCPD('say "hi"', ["a", "b"], [0.5, 0.5])])
    with pytest.raises(ModelError, match="double quote"):
        to_bif_text(model)


# --------------------------------------------------------------------- errors
def _error(text) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_bif(text)
    return info.value


@pytest.mark.parametrize("text, line, column, fragment", [
    ("variable a {\n  type discrete [ 2 ] { y, n }\n}", 3, 1, "expected ';', got '}'"),
    ("network x {}\n\n  foo", 3, 3, "expected 'network', 'variable' or 'probability', got 'foo'"),
    ("variable a { type discrete [ two ] { y, n }; }", 1, 30, "expected the number of states"),
    ("// ok\nvariable a { /* never closed\n", 2, 14, "unterminated /* comment"),
    ('network "abc {', 1, 9, 'unterminated " string'),
    ("variable a { type discrete [ 2 ] { y, n }; }\nprobability ( a ) { table 0.5, 0.5", 2, 35,
     "expected a number, got end of input"),
    ("variable a { type discrete [ 2 ] { y, n }; }\nprobability ( a ) { table 0.5, nan; }", 2, 32,
     "expected a number, got 'nan'"),
    ("variable a { type discrete [ 2 ] { y, n }; }\nprobability ( a ) { table 0.5,, 0.5; }", 2, 31,
     "expected a number, got ','"),
])
def test_syntax_error_positions(text, line, column, fragment):
    error = _error(text)
    assert (error.line, error.column) == (line, column), str(error)
    assert fragment in str(error)


HEADER = """variable a { type discrete [ 2 ] { y, n }; }
variable b { type discrete [ 2 ] { y, n }; }
probability ( a ) { table 0.5, 0.5; }
"""


@pytest.mark.parametrize("body, line, column, fragments", [
    ("probability ( b | c ) { table 0.5, 0.5; }", 4, 19, ["unknown parent 'c'", "'b'"]),
    ("probability ( b | a ) { (y) 0.5, 0.5; (n) 0.5, 0.2, 0.3; }", 4, 39, ["'b'", "3 values, expected 2"]),
    ("probability ( b | a ) { (y) 0.5, 0.5; (maybe) 0.5, 0.5; }", 4, 40, ["unknown state 'maybe'", "'a'"]),
    ("probability ( b | a ) { (y) 0.5, 0.5; (n) 0.5, 0.6; }", 4, 1, ["'b'", "sums to 1.1"]),
    ("probability ( b | a ) { (y) 0.5, 0.5; }", 4, 1, ["'b'", "no row for (a=n)"]),
    ("probability ( b | a ) { (y) 0.5, 0.5; (y) 0.5, 0.5; (n) 0.5, 0.5; }", 4, 39, ["second row"]),
    ("probability ( b | a ) { table 0.5, 0.5; }", 4, 25, ["'table' has 2 values, expected 4"]),
    ("probability ( c ) { table 0.5, 0.5; }", 4, 1, ["undeclared variable 'c'"]),
    ("probability ( b ) { table 0.5, 0.5; }\nprobability ( b ) { table 0.5, 0.5; }", 5, 1, ["second probability"]),
    ("variable a { type discrete [ 2 ] { y, n }; }", 4, 1, ["'a' is declared twice"]),
    ("variable c { type discrete [ 3 ] { y, n }; }", 4, 30, ["declares 3 states but lists 2"]),
    ("variable c { type discrete [ 2 ] { y, y }; }", 4, 39, ["state 'y' twice"]),
    ("", 2, 1, ["variable 'b' has no probability table"]),
])
def test_semantic_errors_name_the_variable(body, line, column, fragments):
    error = _error(HEADER + body)
    assert (error.line, error.column) == (line, column), str(error)
    for fragment in fragments:
        assert fragment in str(error)


def test_cycle_is_a_parse_error():
    text = HEADER.replace("probability ( a ) { table 0.5, 0.5; }",
                          "probability ( a | b ) { (y) 0.5, 0.5; (n) 0.5, 0.5; }")
    error = _error(text + "probability ( b | a ) { (y) 0.5, 0.5; (n) 0.5, 0.5; }")
    assert "cycle" in str(error) and "'a'" in str(error)
    assert error.line in (3, 4)


def test_unnormalized_root_is_a_parse_error():
    error = _error(HEADER.replace("table 0.5, 0.5;", "table 0.5, 0.4;") + "probability ( b ) { table 0.5, 0.5; }")
    assert "'a'" in str(error)


def test_invalid_utf8_is_a_parse_error():
    error = _error(b"network x {}\nvariable \xff { }")
    assert (error.line, error.column) == (2, 10)
    assert "UTF-8" in str(error)


def test_source_name_in_message(tmp_path):
    path = tmp_path / "broken.bif"
    path.write_text("variable {")
    with pytest.raises(ParseError, match=r"broken\.bif:1:10: expected a variable name, got '\{'"):
        read_bif(path)
