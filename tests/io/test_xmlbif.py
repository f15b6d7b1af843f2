"""XMLBIF reading and writing, including the refusal of entity declarations."""

import numpy as np
import pytest

from credo.errors import ParseError
from credo.io import parse_xmlbif, read_bif, read_xmlbif, to_xmlbif_text, write_xmlbif

# In the style JavaBayes writes, with its internal DTD (no entities).
DOG = """<?xml version="1.0"?>
<!DOCTYPE BIF [
  <!ELEMENT BIF ( NETWORK )*>
  <!ATTLIST BIF VERSION CDATA #REQUIRED>
  <!ELEMENT NETWORK ( NAME, ( PROPERTY | VARIABLE | DEFINITION )* )>
]>
<BIF VERSION="0.3">
<NETWORK>
<NAME>Dog-Problem</NAME>
<VARIABLE TYPE="nature">
  <NAME>light-on</NAME>
  <OUTCOME>true</OUTCOME>
  <OUTCOME>false</OUTCOME>
  <PROPERTY>position = (218, 195)</PROPERTY>
</VARIABLE>
<VARIABLE TYPE="nature">
  <NAME>bowel-problem</NAME>
  <OUTCOME>true</OUTCOME>
  <OUTCOME>false</OUTCOME>
</VARIABLE>
<VARIABLE TYPE="nature">
  <NAME>dog-out</NAME>
  <OUTCOME>true</OUTCOME>
  <OUTCOME>false</OUTCOME>
</VARIABLE>
<DEFINITION>
  <FOR>light-on</FOR>
  <TABLE>0.6 0.4 </TABLE>
</DEFINITION>
<DEFINITION>
  <FOR>bowel-problem</FOR>
  <TABLE>0.01 0.99 </TABLE>
</DEFINITION>
<DEFINITION>
  <FOR>dog-out</FOR>
  <GIVEN>light-on</GIVEN>
  <GIVEN>bowel-problem</GIVEN>
  <TABLE>0.99 0.01 0.9 0.1 0.97 0.03 0.3 0.7 </TABLE>
</DEFINITION>
</NETWORK>
</BIF>
"""


def test_hand_written_example():
    model = parse_xmlbif(DOG)
    assert model.name == "Dog-Problem"
    assert model.variables == ("light-on", "bowel-problem", "dog-out")
    assert model.parents("dog-out") == ("light-on", "bowel-problem")
    # FOR varies fastest, the first GIVEN slowest.
    table = model.cpd("dog-out").table
    np.testing.assert_array_equal(table[0, 1], [0.9, 0.1])  # light on, no bowel problem
    np.testing.assert_array_equal(table[1, 0], [0.97, 0.03])
    assert parse_xmlbif(DOG.encode()).variables == model.variables


@pytest.mark.parametrize("name", ["asia", "child", "alarm", "hailfinder", "win95pts"])
def test_round_trip_is_exact(name, data_dir, tmp_path, assert_same_network):
    model = read_bif(data_dir / "networks" / f"{name}.bif")
    write_xmlbif(model, tmp_path / "out.xml")
    assert_same_network(model, read_xmlbif(tmp_path / "out.xml"))


def test_round_trip_escapes_markup(assert_same_network):
    from credo.factors import TabularCPD
    from credo.models import BayesianNetwork

    model = BayesianNetwork(cpds=[TabularCPD("<a & b>", ["\"x\"", "'y'"], [0.1 + 0.2, 0.7 - 1e-17])], name="n&m")
    back = parse_xmlbif(to_xmlbif_text(model))
    assert back.name == "n&m"
    assert_same_network(model, back)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<BIF>&lol2;</BIF>
"""


@pytest.mark.parametrize("text, line, column, fragment", [
    (BILLION_LAUGHS, 3, 2, "entity declarations are not allowed"),
    ('<?xml version="1.0"?>\n<!DOCTYPE BIF SYSTEM "http://example.com/bif.dtd">\n<BIF/>', 2, 1,
     "external DTDs are not allowed"),
    ("<BIF>\n  <NETWORK>\n</BIF>", 3, 3, "mismatched tag"),
    ("<BIF><NETWORK>&unknown;</NETWORK></BIF>", 1, 15, "undefined entity"),
    ("", 1, 1, "no element found"),
])
def test_malformed_and_malicious_xml(text, line, column, fragment):
    with pytest.raises(ParseError) as info:
        parse_xmlbif(text)
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    assert fragment in str(info.value)


def _broken(old: str, new: str) -> ParseError:
    assert old in DOG
    with pytest.raises(ParseError) as info:
        parse_xmlbif(DOG.replace(old, new))
    return info.value


def test_semantic_errors_name_the_variable():
    error = _broken("<GIVEN>bowel-problem</GIVEN>", "<GIVEN>cat</GIVEN>")
    assert "unknown parent 'cat'" in str(error) and "'dog-out'" in str(error)
    assert (error.line, error.column) == (37, 3)
    error = _broken("0.99 0.01 0.9 0.1 0.97 0.03 0.3 0.7", "0.99 0.01 0.9 0.1 0.97 0.03 0.3")
    assert "'dog-out'" in str(error) and "7 values, expected 8" in str(error)
    assert (error.line, error.column) == (34, 1)
    error = _broken("0.99 0.01 0.9 0.1", "0.99 0.01 0.9 0.2")
    assert "'dog-out'" in str(error) and "sums to" in str(error)
    error = _broken("<TABLE>0.6 0.4 </TABLE>", "<TABLE>0.6 x </TABLE>")
    assert "'x' is not a number" in str(error)
    error = _broken('<VARIABLE TYPE="nature">\n  <NAME>dog-out', '<VARIABLE TYPE="decision">\n  <NAME>dog-out')
    assert "only 'nature'" in str(error)
    error = _broken("<FOR>light-on</FOR>", "<FOR>dog-out</FOR>")
    assert "second <DEFINITION>" in str(error)
