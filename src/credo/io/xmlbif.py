"""XMLBIF 0.3, the XML interchange format of Bayesian networks (JavaBayes, Weka, pgmpy)::

    <BIF VERSION="0.3"><NETWORK><NAME>rain</NAME>
      <VARIABLE TYPE="nature"><NAME>Rain</NAME><OUTCOME>yes</OUTCOME><OUTCOME>no</OUTCOME></VARIABLE>
      <DEFINITION><FOR>Wet</FOR><GIVEN>Rain</GIVEN><TABLE>0.9 0.1 0.2 0.8</TABLE></DEFINITION>
    </NETWORK></BIF>

A ``TABLE`` lists values with the ``FOR`` variable varying fastest and the
``GIVEN`` variables in order, the first slowest: exactly the C order of a
:class:`~credo.TabularCPD` table.

The document is parsed by expat into ElementTree elements. Entity declarations
(the billion-laughs and external-entity attacks) and external DTDs are
refused; an internal DTD that only declares elements and attributes, as
JavaBayes writes, is accepted.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from xml.parsers import expat

import numpy as np

from credo.io._common import (
    NUMBER,
    DeclaredVariable,
    ProbabilityTable,
    SourceText,
    assemble_network,
    check_states,
    check_table_size,
    decode,
    parent_cardinalities,
    read_input,
    shorten,
    writable_names,
)
from credo.models import BayesianNetwork

__all__ = ["read_xmlbif", "parse_xmlbif", "write_xmlbif", "to_xmlbif_text"]


class _Refused(Exception):
    """Raised inside expat callbacks to stop at a declaration we will not process."""

    def __init__(self, message: str, where: tuple):
        super().__init__(message)
        self.where = where


def _refuse_entities(data: str | bytes, src: SourceText) -> None:
    # Checked on the raw input as well as in expat's callbacks, so a parser
    # quirk cannot let an entity through; a false alarm inside a comment is fine.
    marker = "<!ENTITY" if isinstance(data, str) else b"<!ENTITY"
    at = data.upper().find(marker)
    if at >= 0:
        raise src.error("XML entity declarations are not allowed", at)


def _parse_tree(data: str | bytes, src: SourceText) -> tuple[ET.Element, dict]:
    """The root element and ``{element: (line, column)}`` of every element's start tag."""
    _refuse_entities(data, src)
    parser = expat.ParserCreate()
    builder = ET.TreeBuilder()
    positions: dict = {}

    def here() -> tuple:
        return parser.CurrentLineNumber, parser.CurrentColumnNumber + 1

    def start(tag, attributes):
        positions[builder.start(tag, attributes)] = here()

    def doctype(name, system_id, public_id, has_internal_subset):
        if system_id or public_id:
            # expat reports the end of the declaration's head; point at its start.
            at = data.find("<!DOCTYPE" if isinstance(data, str) else b"<!DOCTYPE")
            raise _Refused("external DTDs are not allowed", src.locate(at) if at >= 0 else here())

    def entity(*_):
        raise _Refused("XML entity declarations are not allowed", here())

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
        root = builder.close()
    except _Refused as exc:
        raise src.error(str(exc), exc.where) from None
    except expat.ExpatError as exc:
        raise src.error(f"malformed XML: {expat.ErrorString(exc.code)}", (exc.lineno, exc.offset + 1)) from None
    except (ValueError, LookupError, AssertionError) as exc:  # odd encodings, unbalanced builder
        raise src.error(f"malformed XML: {exc}", here()) from None
    return root, positions


# A name's surrounding whitespace is layout, except in an element marked
# xml:space="preserve" (the XML way to say that it matters), as the writer
# marks the names whose whitespace is their own.
_SPACE = "xml:space"


def _content(element: ET.Element) -> str:
    """The text of ``element``, stripped unless it has ``xml:space="preserve"``."""
    text = element.text or ""
    return text if element.get(_SPACE) == "preserve" else text.strip()


class _Reader:
    """Walks the element tree; every error points at the offending element."""

    def __init__(self, root: ET.Element, positions: dict, src: SourceText):
        self.positions = positions
        self.src = src
        self.root = root

    def error(self, message: str, element: ET.Element):
        return self.src.error(message, self.positions.get(element, (1, 1)))

    def children(self, element: ET.Element, tag: str) -> list[ET.Element]:
        return [child for child in element if child.tag.upper() == tag]

    def text(self, element: ET.Element, tag: str) -> str:
        found = self.children(element, tag)
        if len(found) != 1:
            raise self.error(f"<{element.tag}> needs exactly one <{tag}>, has {len(found)}", element)
        return _content(found[0])

    def network(self) -> BayesianNetwork:
        if self.root.tag.upper() != "BIF":
            raise self.error(f"expected a <BIF> document, got <{self.root.tag}>", self.root)
        networks = self.children(self.root, "NETWORK")
        if len(networks) != 1:
            raise self.error(f"<BIF> needs exactly one <NETWORK>, has {len(networks)}", self.root)
        network = networks[0]
        names = self.children(network, "NAME")
        name = _content(names[0]) if names else ""
        declared = {}
        for element in self.children(network, "VARIABLE"):
            variable, decl = self.variable(element)
            if variable in declared:
                raise self.error(f"variable {variable!r} is declared twice", element)
            declared[variable] = decl
        tables = {}
        for element in self.children(network, "DEFINITION") + self.children(network, "PROBABILITY"):
            spec = self.definition(element, declared)
            if spec.child in tables:
                raise self.error(f"variable {spec.child!r} has a second <DEFINITION>", element)
            tables[spec.child] = spec
        return assemble_network(self.src, declared, tables, name or None)

    def variable(self, element: ET.Element) -> tuple[str, DeclaredVariable]:
        name = self.text(element, "NAME")
        kind = element.get("TYPE", "nature")
        if kind != "nature":
            raise self.error(f"variable {name!r} has TYPE={kind!r}; only 'nature' variables are supported", element)
        outcomes = self.children(element, "OUTCOME")
        if not outcomes:
            raise self.error(f"variable {name!r} has no <OUTCOME>", element)
        check_states(self.src, name, len(outcomes), self.positions[element])
        states = tuple(_content(o) for o in outcomes)
        if len(set(states)) != len(states):
            raise self.error(f"variable {name!r} repeats an outcome: {states}", element)
        return name, DeclaredVariable(states, self.positions[element])

    def definition(self, element: ET.Element, declared: dict) -> ProbabilityTable:
        where = self.positions[element]
        child = self.text(element, "FOR")
        if child not in declared:
            raise self.error(f"<DEFINITION> for undeclared variable {child!r}", element)
        given = [(_content(g), self.positions[g]) for g in self.children(element, "GIVEN")]
        cards = parent_cardinalities(self.src, child, given, declared) + [len(declared[child].states)]
        size = check_table_size(self.src, child, cards, where)
        tokens = self.text(element, "TABLE").split()
        bad = next((t for t in tokens if not NUMBER.match(t)), None)
        if bad is not None:
            raise self.error(f"variable {child!r}: <TABLE> entry {shorten(bad)!r} is not a number", element)
        if len(tokens) != size:
            raise self.error(f"variable {child!r}: <TABLE> has {len(tokens)} values, expected {size}", element)
        table = np.array([float(t) for t in tokens]).reshape(cards)
        return ProbabilityTable(child, tuple(p for p, _ in given), table, where)


def parse_xmlbif(text: str | bytes, source: str | None = None) -> BayesianNetwork:
    """Parse an XMLBIF document into a :class:`~credo.BayesianNetwork`.

    Parameters
    ----------
    text : str or bytes
        The document; bytes are decoded by expat (honouring the XML declaration).
    source : str, optional
        File name used in error messages.

    Raises
    ------
    ParseError
        On malformed XML, entity declarations or external DTDs, and on every
        semantic error (unknown variables, table sizes, normalization, cycles);
        also before allocating, on sizes above the limits of ``credo.io._common``.
    """
    if not isinstance(text, (str, bytes)):
        text = decode(text, source)
    src = SourceText(text, source)
    root, positions = _parse_tree(text, src)
    return _Reader(root, positions, src).network()


def read_xmlbif(path: str | os.PathLike) -> BayesianNetwork:
    """Read an XMLBIF file; see :func:`parse_xmlbif`."""
    data, name = read_input(path)
    return parse_xmlbif(data, source=name)


# XML 1.0 cannot carry these characters at all, not even as character references.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _why_unwritable(char: str) -> str:
    return "which XML 1.0 cannot carry (not even as a character reference)"


def _element(parent: ET.Element, tag: str, text) -> None:
    text = str(text)
    child = ET.SubElement(parent, tag, {_SPACE: "preserve"} if text != text.strip() else {})
    child.text = text


def to_xmlbif_text(model: BayesianNetwork) -> str:
    """The XMLBIF 0.3 document of ``model`` (names written with ``str``, values with ``repr``).

    A name with leading or trailing whitespace is marked ``xml:space="preserve"``,
    which :func:`parse_xmlbif` honours; every name that XML can carry reads
    back as it was.

    Raises
    ------
    ModelError
        Before anything is written, when a name contains a character that XML
        1.0 cannot carry (most control characters, lone surrogates, U+FFFE and
        U+FFFF), or two names of variables (or two states of one variable) are
        the same text; the message names them.
    """
    writable_names(model, "XMLBIF", _UNWRITABLE, _why_unwritable)
    root = ET.Element("BIF", VERSION="0.3")
    network = ET.SubElement(root, "NETWORK")
    _element(network, "NAME", model.name or "unknown")
    for v in model.variables:
        variable = ET.SubElement(network, "VARIABLE", TYPE="nature")
        _element(variable, "NAME", v)
        for state in model.states(v):
            _element(variable, "OUTCOME", state)
    for v in model.variables:
        cpd = model.cpd(v)
        definition = ET.SubElement(network, "DEFINITION")
        _element(definition, "FOR", v)
        for parent in cpd.parents:
            _element(definition, "GIVEN", parent)
        _element(definition, "TABLE", " ".join(repr(float(x)) for x in cpd.table.reshape(-1)))
    ET.indent(root)
    # ElementTree escapes a carriage return in attributes only; in text, XML
    # would read it back as a newline.
    body = ET.tostring(root, encoding="unicode").replace("\r", "&#13;")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def write_xmlbif(model: BayesianNetwork, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path`` as UTF-8 XMLBIF; see :func:`to_xmlbif_text`."""
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(to_xmlbif_text(model))
