"""Helpers shared by the file-format readers: decoding, positions, model assembly."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Callable, Hashable, Sequence, Union

import numpy as np

from credo.errors import CPDError, CredoError, CycleError, ModelError, ParseError
from credo.factors import TabularCPD
from credo.models import BayesianNetwork

__all__ = ["Where", "NUMBER", "MAX_STATES", "MAX_TABLE_ENTRIES", "MAX_SCOPE", "MAX_UNLISTED_ENTRIES", "shorten",
           "position", "SourceText", "TokenizedText", "decode", "read_input", "DeclaredVariable", "ProbabilityTable",
           "parent_cardinalities", "check_states", "check_table_size", "UnlistedBudget", "assemble_network",
           "writable_names"]

#: A position is a character (or byte) offset, or an already known (line, column).
Where = Union[int, tuple]

# The limits below keep a reader's memory proportional to the file it reads:
# every size a file declares is checked against them, and against the numbers
# the file actually holds, before anything of that size is allocated.

#: Most states a variable may have (a UAI cardinality, a BIF ``[ N ]``, XMLBIF outcomes).
MAX_STATES = 2**24

#: Most entries of one table (the product of the cardinalities of its scope).
MAX_TABLE_ENTRIES = 10_000_000

#: Most variables in one table's scope: numpy arrays have at most 32 dimensions
#: in numpy 1 (64 in numpy 2); only variables of one state can reach it.
MAX_SCOPE = 32

#: Most entries a reader creates, over a whole file, that the file does not
#: list: the rows a BIF ``default`` fills in and the flat factors (and state
#: names) of UAI variables that no function covers. A UAI variable's states
#: cost about 100 bytes each, so this bounds such a file's model near 400 MB.
MAX_UNLISTED_ENTRIES = 2**22

#: A plain decimal number: ``float`` also takes ``nan``, ``inf``, ``1_0`` and non-ASCII digits.
#: Possessive quantifiers and no two adjacent runs of digits, so a long token that is
#: not a number fails in one pass instead of trying every split of its digits.
NUMBER = re.compile(r"[+-]?+(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?+\Z")


def shorten(token: str, limit: int = 40) -> str:
    """``token`` cut to ``limit`` characters for an error message."""
    return token if len(token) <= limit else token[:limit] + "..."


def position(data: str | bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset`` in ``data``."""
    newline = "\n" if isinstance(data, str) else b"\n"
    offset = max(0, min(offset, len(data)))
    line = data.count(newline, 0, offset) + 1
    column = offset - (data.rfind(newline, 0, offset) + 1) + 1
    return line, column


class SourceText:
    """Input text with its name, turning positions into :class:`ParseError`."""

    def __init__(self, text: str | bytes, name: str | None = None):
        self.text = text
        self.name = name

    def locate(self, where: Where) -> tuple[int, int]:
        """(line, column) of a character offset, or ``where`` itself when it is a pair."""
        return where if isinstance(where, tuple) else position(self.text, where)

    def error(self, message: str, where: Where) -> ParseError:
        line, column = self.locate(where)
        return ParseError(message, line, column, self.name)


class TokenizedText(SourceText):
    """Text cut into tokens by a regex, where a position is a token's index.

    Tokens are plain strings (cheap to make in bulk, with ``findall`` or
    ``str.split``); a token's offset is found again only when an error is
    reported, by scanning with the same regex.

    Parameters
    ----------
    text : str
    name : str or None
    pattern : re.Pattern
        Matches each token, or a piece to ``skip`` (a comment).
    tokens : list of str
        The tokens, as ``pattern`` finds them with the skipped pieces left out.
    skip : callable, optional
        Which matches of ``pattern`` are not tokens.
    """

    def __init__(self, text: str, name: str | None, pattern: re.Pattern, tokens: list[str], skip=None):
        super().__init__(text, name)
        self.tokens = tokens
        self._pattern = pattern
        self._skip = skip

    def offset(self, index: int) -> int:
        """Character offset of token ``index`` (the end of the text past the last token)."""
        matches = (m for m in self._pattern.finditer(self.text) if not (self._skip and self._skip(m.group())))
        for i, match in enumerate(matches):
            if i == index:
                return match.start()
        return len(self.text)

    def locate(self, where: Where) -> tuple[int, int]:
        return where if isinstance(where, tuple) else position(self.text, self.offset(where))


def decode(data: str | bytes, name: str | None = None) -> str:
    """``data`` as text; bytes must be UTF-8 (an optional BOM is dropped)."""
    if isinstance(data, str):
        return data
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected str or bytes, got {type(data).__name__}")
    data = bytes(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceText(data, name).error(f"invalid UTF-8 byte 0x{data[exc.start]:02x}", exc.start) from None


def read_input(path: str | os.PathLike) -> tuple[bytes, str]:
    """The bytes of the file at ``path`` and its name for messages."""
    with open(path, "rb") as handle:
        return handle.read(), os.fspath(path)


@dataclass
class DeclaredVariable:
    """A variable as a file declares it: its states and where."""

    states: tuple
    where: Where


@dataclass
class ProbabilityTable:
    """A parsed table of ``P(child | parents)``, shape ``(*parent_cards, card)``."""

    child: Hashable
    parents: tuple
    table: np.ndarray
    where: Where


def parent_cardinalities(src: SourceText, child, parents: Sequence[tuple[Hashable, Where]],
                         declared: dict) -> list[int]:
    """Cardinalities of ``parents`` (pairs of name and position); unknown parents are parse errors."""
    cards = []
    for parent, where in parents:
        if parent not in declared:
            raise src.error(f"variable {child!r} has unknown parent {parent!r}", where)
        cards.append(len(declared[parent].states))
    return cards


def _limit(value: int) -> str:
    """``value`` for a message, as a power of two too when it is one."""
    power = value.bit_length() - 1
    return f"{value} = 2**{power}" if value == 1 << power else str(value)


def check_states(src: SourceText, variable, count: int, where: Where) -> int:
    """``count`` states of ``variable``, refused above :data:`MAX_STATES` before any is made."""
    if count > MAX_STATES:
        raise src.error(f"variable {variable!r} declares {count} states (limit {_limit(MAX_STATES)})", where)
    return count


def check_table_size(src: SourceText, child, cards: Sequence[int], where: Where) -> int:
    """Number of entries of a table over ``cards``; refuses absurd sizes before anything is allocated."""
    if len(cards) > MAX_SCOPE:
        raise src.error(f"the table of {child!r} has {len(cards)} dimensions (limit {MAX_SCOPE})", where)
    size = 1
    for k in cards:
        size *= k
        if size > MAX_TABLE_ENTRIES:  # stop here: the whole product of a long scope is a huge integer
            raise src.error(f"the table of {child!r} would have more than {MAX_TABLE_ENTRIES} entries "
                            f"(limit {MAX_TABLE_ENTRIES}; the cardinalities of its scope are "
                            f"{shorten(str(list(cards)), 80)})", where)
    return size


class UnlistedBudget:
    """Counts the entries a reader creates that the file does not list, up to :data:`MAX_UNLISTED_ENTRIES`.

    A few bytes of a file can ask for a whole table (a BIF ``default`` row, a
    UAI variable in no function); the budget is shared by the whole file so
    that many such requests cannot add up to more than the limit.
    """

    def __init__(self, src: SourceText):
        self.src = src
        self.used = 0

    def charge(self, entries: int, what: str, where: Where) -> None:
        """Account for ``entries`` more unlisted entries of ``what``, or refuse them."""
        if self.used + entries > MAX_UNLISTED_ENTRIES:
            raise self.src.error(f"{what} needs {entries} entries that the file does not list; with the "
                                 f"{self.used} such entries already made, that is more than the limit of "
                                 f"{_limit(MAX_UNLISTED_ENTRIES)} for the whole file", where)
        self.used += entries


def assemble_network(src: SourceText, declared: dict[Hashable, DeclaredVariable],
                     tables: dict[Hashable, ProbabilityTable], name: str | None = None) -> BayesianNetwork:
    """A :class:`BayesianNetwork` in declaration order; model errors become :class:`ParseError`.

    Each error is placed at the block that caused it: the variable declaration
    for a missing table, the table for a bad one, a table on the cycle for a
    cycle.
    """
    if not declared:
        raise src.error("the file declares no variable: a network needs at least one", 0)
    cpds = []
    for variable, decl in declared.items():
        if variable not in tables:
            raise src.error(f"variable {variable!r} has no probability table", decl.where)
        spec = tables[variable]
        try:
            cpds.append(TabularCPD(variable, decl.states, spec.table, spec.parents,
                                   {p: declared[p].states for p in spec.parents}))
        except CPDError as exc:  # its message already names the variable
            raise src.error(str(exc), spec.where) from exc
        except CredoError as exc:
            raise src.error(f"variable {variable!r}: {exc}", spec.where) from exc
    try:
        return BayesianNetwork(cpds=cpds, name=name)
    except CycleError as exc:
        raise src.error(f"variable {exc.cycle[0]!r} is on a directed cycle: {exc}",
                        tables[exc.cycle[0]].where) from exc
    except CredoError as exc:
        first = next(iter(tables.values()), None)
        raise src.error(str(exc), first.where if first else 0) from exc


# ------------------------------------------------------------------ writing
def writable_names(model, fmt: str, unwritable: re.Pattern, why: Callable[[str], str]) -> None:
    """Refuse, before anything is written, a model whose names ``fmt`` cannot carry.

    A writer writes each name as ``str(name)``; the reader must get back the
    same text, and distinct names must stay distinct.

    Parameters
    ----------
    model : BayesianNetwork
    fmt : str
        The format, for messages.
    unwritable : re.Pattern
        Finds a character the format cannot carry in a name.
    why : callable
        Why a character found by ``unwritable`` cannot be written.

    Raises
    ------
    ModelError
        Naming the variable (and state) whose name cannot be written, or the
        two names that would be written alike.
    """
    if model.name:
        _check_name(fmt, "the network name", model.name, unwritable, why)
    _check_distinct(fmt, "variables", model.variables)
    for v in model.variables:
        _check_name(fmt, f"variable {v!r}", v, unwritable, why)
        _check_distinct(fmt, f"states of variable {v!r}", model.states(v))
        for state in model.states(v):
            _check_name(fmt, f"state {state!r} of variable {v!r}", state, unwritable, why)


def _check_name(fmt: str, what: str, name, unwritable: re.Pattern, why: Callable[[str], str]) -> None:
    found = unwritable.search(str(name))
    if found:
        char = found.group()
        raise ModelError(f"cannot write {what} as {fmt}: the name contains {char!r} (U+{ord(char):04X}), "
                         f"{why(char)}")


def _check_distinct(fmt: str, what: str, names) -> None:
    seen: dict = {}
    for name in names:
        text = str(name)
        if text in seen:
            raise ModelError(f"cannot write the {what} as {fmt}: {seen[text]!r} and {name!r} would both be "
                             f"written as {text!r}")
        seen[text] = name
