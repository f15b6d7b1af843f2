"""The BIF (Bayesian Interchange Format) text format of discrete Bayesian networks.

The dialect read is the one of the bnlearn repository and pgmpy, plus the
JavaBayes variants (quoted names, values and states without commas,
``probability ( X A B )`` without ``|``)::

    network alarm { property author = someone ; }
    variable X { type discrete [ 2 ] { yes, no }; property position = (1, 2) ; }
    probability ( X | A, B ) {
      (a1, b1) 0.2, 0.8;   // one row per parent configuration, any order
      default 0.5, 0.5;    // rows not listed
    }
    probability ( A ) { table 0.3, 0.7; }

A ``table`` line in a block *with* parents lists the whole table with the
child's state varying slowest and the parents in the block's order, the last
parent fastest (C order over ``(X, A, B)``), which is the JavaBayes layout and
pgmpy's reading (``values.reshape(card_X, -1)``). Rows are clearer, so
:func:`write_bif` writes rows.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np

from credo.io._common import (
    NUMBER,
    DeclaredVariable,
    ProbabilityTable,
    SourceText,
    TokenizedText,
    UnlistedBudget,
    Where,
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

__all__ = ["read_bif", "parse_bif", "write_bif", "to_bif_text"]

# A word is anything up to whitespace, punctuation, a quote or a comment start,
# so state names like ``Asy/Patch``, ``5-12``, ``12+`` or ``>=7.5`` stay whole.
# Whitespace matches no alternative, so ``findall`` skips it.
#
# Every quantifier is possessive and every repetition consumes a character, so
# the regex never backtracks: tokenizing is linear in the text. A comment or
# string without its end runs to the end of the text rather than being tried
# again from every later ``/*`` or ``"``, so it is the last token, found once.
_WORD = r'(?:[^\s{}()\[\],;|"/]++|/(?![/*]))++'
_TOKEN = re.compile(rf'//[^\n]*+|/\*(?:[^*]++|\*(?!/))*+(?:\*/)?+|"[^"]*+"?+|[{{}}()\[\],;|]|{_WORD}')
_BARE_NAME = re.compile(rf"{_WORD}\Z")
_PUNCTUATION = frozenset("{}()[],;|")
_KEYWORDS = {"network", "variable", "probability"}
_EOF = ""  # no token is empty, so the empty string marks the end


def _is_comment(token: str) -> bool:
    return token.startswith("//") or (token.startswith("/*") and len(token) >= 4 and token.endswith("*/"))


def _unterminated(token: str) -> str | None:
    """What ``token`` leaves open (a ``/*`` comment or a ``"`` string), or None."""
    if token.startswith("/*") and not _is_comment(token):
        return "/* comment"
    if token.startswith('"') and (len(token) == 1 or not token.endswith('"')):
        return '" string'
    return None


def _tokenize(text: str, name: str | None) -> TokenizedText:
    tokens = _TOKEN.findall(text)
    if "//" in text or "/*" in text:  # most files have no comments: skip the filtering pass
        tokens = [t for t in tokens if not _is_comment(t)]
    open_at_end = _unterminated(tokens[-1]) if tokens else None
    tokens.append(_EOF)
    src = TokenizedText(text, name, _TOKEN, tokens, skip=_is_comment)
    if open_at_end:
        raise src.error(f"unterminated {open_at_end}", len(tokens) - 2)
    return src


def _describe(token: str) -> str:
    return "end of input" if token == _EOF else shorten(token) if token[0] == '"' else f"'{shorten(token)}'"


def _is_name(token: str) -> bool:
    return token != _EOF and token not in _PUNCTUATION


def _unquote(token: str) -> str:
    return token[1:-1] if token[0] == '"' else token


# ------------------------------------------------------------------ raw syntax
@dataclass
class _Entry:
    kind: str  # "table", "default" or "row"
    keys: list  # (state name, token index) of a row
    values: list
    where: int


@dataclass
class _Block:
    child: str
    where: int
    parents: list = field(default_factory=list)  # (name, token index)
    entries: list = field(default_factory=list)


class _Parser:
    """Recursive-descent parser collecting declarations and raw probability blocks.

    Positions are token indices (see :class:`TokenizedText`).
    """

    def __init__(self, src: TokenizedText):
        self.src = src
        self.tokens = src.tokens
        self.i = 0
        self.network_name: str | None = None
        self.declared: dict[str, DeclaredVariable] = {}
        self.blocks: dict[str, _Block] = {}

    # token helpers
    def peek(self) -> str:
        return self.tokens[self.i]

    def fail(self, expected: str):
        return self.src.error(f"expected {expected}, got {_describe(self.peek())}", self.i)

    def expect(self, token: str) -> None:
        if self.peek() != token:
            raise self.fail(f"'{token}'")
        self.i += 1

    def accept(self, token: str) -> bool:
        if self.tokens[self.i] == token:
            self.i += 1
            return True
        return False

    def name(self, what: str) -> tuple[str, int]:
        """A word or quoted string, and its position."""
        if not _is_name(self.peek()):
            raise self.fail(what)
        self.i += 1
        return _unquote(self.tokens[self.i - 1]), self.i - 1

    def numbers_until_semicolon(self) -> list[float]:
        """``p1, p2, ...;`` (commas optional, as JavaBayes omits them).

        The hot loop of large files, hence the local variables.
        """
        tokens, i, values, number = self.tokens, self.i, [], NUMBER.match
        while True:
            if number(tokens[i]) is None:
                self.i = i
                raise self.fail("a number")
            values.append(float(tokens[i]))
            i += 1
            if tokens[i] == ";":
                self.i = i + 1
                return values
            if tokens[i] == ",":
                i += 1

    def skip_property(self) -> None:
        """``property <anything> ;``: kept opaque, as its syntax is free-form."""
        self.i += 1
        while not self.accept(";"):
            if self.peek() in (_EOF, "{", "}"):
                raise self.fail("';' ending the property")
            self.i += 1

    # grammar
    def parse(self) -> None:
        while self.peek() != _EOF:
            if self.peek() not in _KEYWORDS:
                raise self.fail("'network', 'variable' or 'probability'")
            getattr(self, f"parse_{self.peek()}")()

    def parse_network(self) -> None:
        if self.network_name is not None:
            raise self.src.error("a second 'network' block", self.i)
        self.i += 1
        words = []
        while _is_name(self.peek()):
            words.append(self.name("a name")[0])
        self.network_name = " ".join(words)
        self.expect("{")
        while not self.accept("}"):
            if self.peek() != "property":
                raise self.fail("'property' or '}'")
            self.skip_property()

    def parse_variable(self) -> None:
        start = self.i
        self.i += 1
        name, _ = self.name("a variable name")
        if name in self.declared:
            raise self.src.error(f"variable {name!r} is declared twice", start)
        self.expect("{")
        states = None
        while not self.accept("}"):
            if self.peek() == "property":
                self.skip_property()
            elif self.peek() == "type":
                if states is not None:
                    raise self.src.error(f"variable {name!r} has a second 'type'", self.i)
                states = self.parse_type(name)
            else:
                raise self.fail("'type', 'property' or '}'")
        if states is None:
            raise self.src.error(f"variable {name!r} has no 'type discrete' declaration", start)
        self.declared[name] = DeclaredVariable(states, start)

    def parse_type(self, variable: str) -> tuple:
        self.i += 1
        if self.peek() != "discrete":
            raise self.fail("'discrete' (only discrete variables are supported)")
        self.i += 1
        self.expect("[")
        count, count_at = self.peek(), self.i
        if not (count.isascii() and count.isdigit() and len(count) <= 18):
            raise self.fail("the number of states")
        check_states(self.src, variable, int(count), count_at)
        self.i += 1
        self.expect("]")
        self.expect("{")
        states = [self.name("a state name")]
        while not self.accept("}"):
            self.accept(",")
            states.append(self.name("a state name or '}'"))
        self.expect(";")
        if len(states) != int(count):
            raise self.src.error(f"variable {variable!r} declares {count} states but lists {len(states)}",
                                 count_at)
        seen = set()
        for state, where in states:
            if state in seen:
                raise self.src.error(f"variable {variable!r} lists state {state!r} twice", where)
            seen.add(state)
        return tuple(state for state, _ in states)

    def parse_probability(self) -> None:
        start = self.i
        self.i += 1
        self.expect("(")
        child, _ = self.name("a variable name")
        if child in self.blocks:
            raise self.src.error(f"variable {child!r} has a second probability block", start)
        block = _Block(child, start)
        self.accept("|")
        while not self.accept(")"):
            block.parents.append(self.name("a parent name or ')'"))
            self.accept(",")
        self.expect("{")
        while not self.accept("}"):
            entry = self.parse_entry()
            if entry is not None:
                block.entries.append(entry)
        self.blocks[child] = block

    def parse_entry(self) -> _Entry | None:
        start, token = self.i, self.peek()
        if token in ("table", "default"):
            self.i += 1
            return _Entry(token, [], self.numbers_until_semicolon(), start)
        if token == "property":
            self.skip_property()
            return None
        if token != "(":
            raise self.fail("'(', 'table', 'default', 'property' or '}'")
        self.i += 1
        keys = []
        while not self.accept(")"):
            keys.append(self.name("a parent state or ')'"))
            self.accept(",")
        return _Entry("row", keys, self.numbers_until_semicolon(), start)


# --------------------------------------------------------------------- tables
def _block_table(src: SourceText, block: _Block, declared: dict, budget: UnlistedBudget) -> ProbabilityTable:
    """The ``(*parent_cards, card)`` table a probability block describes."""
    card = len(declared[block.child].states)
    pcards = parent_cardinalities(src, block.child, block.parents, declared)
    parents = tuple(p for p, _ in block.parents)
    entries = block.entries
    tables = [e for e in entries if e.kind == "table"]
    if tables:
        if len(entries) > 1:
            raise src.error(f"variable {block.child!r}: a 'table' entry must be the block's only entry",
                            entries[1].where if entries[0] is tables[0] else entries[0].where)
        size = check_table_size(src, block.child, [card, *pcards], tables[0].where)
        _check_count(src, block.child, tables[0], size)
        # JavaBayes/pgmpy layout: child slowest, so move the child's axis last.
        table = np.moveaxis(np.array(tables[0].values).reshape([card, *pcards]), 0, -1)
        return ProbabilityTable(block.child, parents, table, block.where)
    states = [declared[p].states for p in parents]
    table = _rows_table(src, block, entries, card, states, budget)
    return ProbabilityTable(block.child, parents, table, block.where)


def _check_count(src: SourceText, child, entry: _Entry, expected: int) -> None:
    if len(entry.values) != expected:
        raise src.error(f"variable {child!r}: '{entry.kind}' has {len(entry.values)} values, "
                        f"expected {expected}", entry.where)


def _rows_table(src: SourceText, block: _Block, entries: list, card: int, parent_states: list,
                budget: UnlistedBudget) -> np.ndarray:
    """The table of a block of rows and at most one ``default``.

    The rows are checked and keyed first; the table is allocated only once
    its size is known to be what the file lists, plus what its ``default``
    fills in within the file's :class:`UnlistedBudget`.
    """
    pcards = [len(states) for states in parent_states]
    defaults = [e for e in entries if e.kind == "default"]
    if len(defaults) > 1:
        raise src.error(f"variable {block.child!r} has two 'default' entries", defaults[1].where)
    size = check_table_size(src, block.child, [card, *pcards], block.where)
    rows = _keyed_rows(src, block, [e for e in entries if e.kind == "row"], card, parent_states)
    configurations = size // card
    if defaults:
        _check_count(src, block.child, defaults[0], card)
        budget.charge((configurations - len(rows)) * card, f"the 'default' of variable {block.child!r}",
                      defaults[0].where)
        table = np.empty([*pcards, card])
        table[...] = defaults[0].values
    elif len(rows) < configurations:
        missing = next(key for key in np.ndindex(*pcards) if key not in rows)
        names = ", ".join(f"{p}={states[i]}" for (p, _), states, i in zip(block.parents, parent_states, missing))
        raise src.error(f"variable {block.child!r} has no row for ({names}) and no 'default'", block.where)
    else:
        table = np.empty([*pcards, card])
    for key, values in rows.items():
        table[key] = values
    return table


def _keyed_rows(src: SourceText, block: _Block, rows: list, card: int, parent_states: list) -> dict:
    """``{parent state indices: values}`` of ``rows``, each checked in file order."""
    if not rows:  # a 'default' alone: no need to index the parents' states
        return {}
    lookup = [{s: i for i, s in enumerate(states)} for states in parent_states]
    keyed: dict = {}
    for row in rows:
        if len(row.keys) != len(parent_states):
            raise src.error(f"variable {block.child!r}: row names {len(row.keys)} parent states, expected "
                            f"{len(parent_states)}", row.where)
        key = tuple(_state_position(src, block.child, parent, state, where, states)
                    for (parent, _), (state, where), states in zip(block.parents, row.keys, lookup))
        if key in keyed:
            raise src.error(f"variable {block.child!r}: second row for parent states "
                            f"{tuple(s for s, _ in row.keys)}", row.where)
        _check_count(src, block.child, row, card)
        keyed[key] = row.values
    return keyed


def _state_position(src: SourceText, child, parent, state: str, where: Where, lookup: dict) -> int:
    if state not in lookup:
        raise src.error(f"variable {child!r}: row for unknown state {state!r} of parent {parent!r}", where)
    return lookup[state]


# ---------------------------------------------------------------- public API
def parse_bif(text: str | bytes, source: str | None = None) -> BayesianNetwork:
    """Parse BIF text into a :class:`~credo.BayesianNetwork`.

    Parameters
    ----------
    text : str or bytes
        The file's contents (bytes are decoded as UTF-8).
    source : str, optional
        File name used in error messages.

    Returns
    -------
    BayesianNetwork
        Variables in the order of the ``variable`` blocks, state names as
        strings in file order, parents in each ``probability`` block's order.

    Raises
    ------
    ParseError
        On any syntax or semantic error (unknown parent or state, wrong number
        of values, rows not summing to one, cycles, ...), with its line and column;
        also before allocating, on sizes above the limits of ``credo.io._common``
        (states, table entries, rows a ``default`` fills in).
    """
    src = _tokenize(decode(text, source), source)
    parser = _Parser(src)
    parser.parse()
    for child, block in parser.blocks.items():
        if child not in parser.declared:
            raise src.error(f"probability block for undeclared variable {child!r}", block.where)
    budget = UnlistedBudget(src)
    tables = {child: _block_table(src, block, parser.declared, budget) for child, block in parser.blocks.items()}
    return assemble_network(src, parser.declared, tables, parser.network_name or None)


def read_bif(path: str | os.PathLike) -> BayesianNetwork:
    """Read a BIF file; see :func:`parse_bif`."""
    data, name = read_input(path)
    return parse_bif(data, source=name)


# A quoted name is everything between two double quotes, kept as it is (the
# reader has no escapes), so only a double quote cannot be written; a lone
# surrogate cannot be encoded in the UTF-8 of the file.
_UNWRITABLE = re.compile(r'["\ud800-\udfff]')


def _why_unwritable(char: str) -> str:
    if char == '"':
        return "a double quote, which BIF cannot write inside a name (its quoted names have no escapes)"
    return "a lone surrogate, which cannot be encoded in UTF-8"


def _quote(name) -> str:
    text = str(name)
    if _BARE_NAME.match(text) and text not in _KEYWORDS:
        return text
    return f'"{text}"'


def _numbers(values) -> str:
    # repr gives the shortest text that reads back as the same float.
    return ", ".join(repr(float(v)) for v in values)


def to_bif_text(model: BayesianNetwork) -> str:
    """The BIF text of ``model``; :func:`parse_bif` reads it back exactly.

    Names are written with ``str`` (quoted where they are not plain words), so
    non-string names come back as strings; whitespace, punctuation and control
    characters come back as they were. Probabilities use ``repr``, which
    round-trips every float.

    Raises
    ------
    ModelError
        Before anything is written, when a name contains a double quote or a
        lone surrogate, or two names of variables (or two states of one
        variable) are the same text; the message names them.
    """
    writable_names(model, "BIF", _UNWRITABLE, _why_unwritable)
    lines = [f"network {_quote(model.name or 'unknown')} {{", "}"]
    for v in model.variables:
        states = ", ".join(_quote(s) for s in model.states(v))
        lines += [f"variable {_quote(v)} {{", f"  type discrete [ {len(model.states(v))} ] {{ {states} }};", "}"]
    for v in model.variables:
        cpd = model.cpd(v)
        given = f" | {', '.join(_quote(p) for p in cpd.parents)}" if cpd.parents else ""
        lines.append(f"probability ( {_quote(v)}{given} ) {{")
        if not cpd.parents:
            lines.append(f"  table {_numbers(cpd.table)};")
        for index in np.ndindex(*cpd.table.shape[:-1]) if cpd.parents else ():
            key = ", ".join(_quote(model.states(p)[i]) for p, i in zip(cpd.parents, index))
            lines.append(f"  ({key}) {_numbers(cpd.table[index])};")
        lines.append("}")
    return "\n".join(lines) + "\n"


def write_bif(model: BayesianNetwork, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path`` as UTF-8 BIF; see :func:`to_bif_text`."""
    text = to_bif_text(model)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
