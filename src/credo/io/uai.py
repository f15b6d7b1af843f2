"""The UAI inference-competition format of Markov networks and Bayesian networks.

A model file is whitespace-separated numbers after a ``MARKOV`` or ``BAYES``
header::

    MARKOV
    3            number of variables
    2 2 3        their cardinalities
    2            number of functions
    2 0 1        each function's scope: its size, then variable indices
    2 1 2
    4  1.0 2.0 3.0 4.0          each table: its size, then values in C order
    6  ...                      over the scope (last variable fastest)

In a ``BAYES`` file a function is the CPD of the *last* variable of its scope,
the earlier ones being its parents. Variables and states are named by their
indices ``0 .. n-1`` and ``0 .. k-1``.

An evidence file is ``N v1 x1 ... vN xN`` (UAI 2014), or the older
``1 N v1 x1 ...`` whose first number counts evidence samples; only one
sample is supported.
"""

from __future__ import annotations

import itertools
import os
import re

import numpy as np

from credo.errors import CredoError
from credo.factors import DiscreteFactor
from credo.factors.cpd import ROW_SUM_TOLERANCE
from credo.io._common import (
    NUMBER,
    DeclaredVariable,
    ProbabilityTable,
    TokenizedText,
    UnlistedBudget,
    assemble_network,
    check_states,
    check_table_size,
    decode,
    read_input,
    shorten,
)
from credo.models import BayesianNetwork, MarkovNetwork
from credo.models.base import DiscreteModel

__all__ = ["read_uai", "parse_uai", "parse_uai_evidence", "write_uai", "to_uai_text", "to_uai_evidence_text"]

# Matches exactly what str.split() returns, so token i is the i-th match.
_TOKEN = re.compile(r"\S+")
_MAX_DIGITS = 18


class _Cursor:
    """Reads numbers off a token list; positions are token indices."""

    def __init__(self, text: str, source: str | None):
        self.src = TokenizedText(text, source, _TOKEN, text.split())
        self.tokens = self.src.tokens
        self.i = 0

    def error(self, message: str, where: int | None = None):
        return self.src.error(message, self.i if where is None else where)

    def need(self, count: int, what: str) -> None:
        if count > len(self.tokens) - self.i:
            raise self.error(f"expected {count} {what}, but the input ends after "
                             f"{len(self.tokens) - self.i}", len(self.tokens))

    def integer(self, what: str, low: int = 0, high: int | None = None) -> int:
        self.need(1, what)
        token = self.tokens[self.i]
        if not (token.isascii() and token.isdigit()):
            raise self.error(f"expected {what} (a non-negative integer), got {shorten(token)!r}")
        if len(token) > _MAX_DIGITS:  # int() refuses very long strings; no count needs them
            raise self.error(f"{what} {token[:20]}... is too large")
        value = int(token)
        if value < low or (high is not None and value >= high):
            bound = f"at least {low}" if high is None else f"in [{low}, {high})"
            raise self.error(f"{what} must be {bound}, got {value}")
        self.i += 1
        return value

    def integers(self, count: int, what: str, low: int = 0, high: int | None = None) -> list[int]:
        self.need(count, what)
        return [self.integer(what, low, high) for _ in range(count)]

    def floats(self, count: int, what: str) -> np.ndarray:
        self.need(count, what)
        chunk = self.tokens[self.i:self.i + count]
        bad = next(itertools.filterfalse(NUMBER.match, chunk), None)
        if bad is not None:
            raise self.error(f"expected {what} (a number), got {shorten(bad)!r}", self.i + chunk.index(bad))
        values = np.array(list(map(float, chunk)))
        negative = np.flatnonzero(~(values >= 0) | ~np.isfinite(values))
        if negative.size:
            raise self.error(f"{what} must be finite and non-negative, got {chunk[negative[0]]}",
                             self.i + int(negative[0]))
        self.i += count
        return values

    def finish(self) -> None:
        if self.i < len(self.tokens):
            raise self.error(f"unexpected {shorten(self.tokens[self.i])!r} after the last function table")


class _Function:
    """One function of the file: its scope, table and where its scope starts."""

    def __init__(self, index: int, scope: list[int], where: int):
        self.index = index
        self.scope = scope
        self.where = where
        self.table: np.ndarray | None = None


def _read_cardinalities(cursor: _Cursor, n: int) -> list[int]:
    """The ``n`` cardinalities, each within :data:`~credo.io._common.MAX_STATES`."""
    at = cursor.i
    cards = cursor.integers(n, "variable cardinalities", low=1)
    for v, k in enumerate(cards):
        check_states(cursor.src, v, k, at + v)
    return cards


def _read_functions(cursor: _Cursor, cards: list[int]) -> list[_Function]:
    count_at = cursor.i
    count = cursor.integer("the number of functions")
    left = len(cursor.tokens) - cursor.i
    if 2 * count > left:  # each function needs at least its scope size and its table size
        raise cursor.error(f"{count} functions need at least {2 * count} more numbers (a scope size and a table "
                           f"size each), but the input ends after {left}", count_at)
    functions = []
    for f in range(count):
        where = cursor.i
        size = cursor.integer(f"the scope size of function {f}")
        scope = cursor.integers(size, f"variable indices of function {f}", 0, len(cards))
        if len(set(scope)) != len(scope):
            raise cursor.error(f"function {f} lists a variable twice in its scope {scope}", where)
        functions.append(_Function(f, scope, where))
    for function in functions:
        shape = [cards[v] for v in function.scope]
        expected = check_table_size(cursor.src, f"function {function.index}", shape, cursor.i)
        entries = cursor.integer(f"the table size of function {function.index}")
        if entries != expected:
            raise cursor.error(f"function {function.index} has {entries} table entries, but its scope "
                               f"{function.scope} needs {expected}", cursor.i - 1)
        function.table = cursor.floats(entries, f"entries of function {function.index}").reshape(shape)
    cursor.finish()
    return functions


def _markov_network(cursor: _Cursor, cards: list[int], functions: list[_Function], name,
                    cards_at: int) -> MarkovNetwork:
    if not cards:
        raise cursor.error("the file declares no variable: a network needs at least one", 0)
    covered = {v for f in functions for v in f.scope}
    budget = UnlistedBudget(cursor.src)
    for v, k in enumerate(cards):
        if v not in covered:  # its flat factor and states are not in the file: charge them first
            budget.charge(k, f"the flat factor of variable {v} (in no function)", cards_at + v)
    try:
        factors = [DiscreteFactor(f.scope, f.table) for f in functions]
        # A variable in no function is unconstrained; a flat factor records its states.
        factors += [DiscreteFactor([v], np.ones(k)) for v, k in enumerate(cards) if v not in covered]
        return MarkovNetwork(factors, variables=list(range(len(cards))), name=name)
    except CredoError as exc:
        raise cursor.error(str(exc), 0) from exc


def _cpd_table(cursor: _Cursor, function: _Function, normalize: bool) -> np.ndarray:
    table = function.table
    sums = table.sum(axis=-1, keepdims=True)
    child, parents = function.scope[-1], function.scope[:-1]
    if normalize:
        if not np.all(sums > 0):
            raise cursor.error(f"function {function.index} (CPD of variable {child}) has a row of zeros, "
                               f"which cannot be normalized", function.where)
        return table / sums
    bad = np.flatnonzero(np.abs(sums.reshape(-1) - 1.0) > ROW_SUM_TOLERANCE)
    if bad.size:
        row = tuple(int(i) for i in np.unravel_index(bad[0], table.shape[:-1]))
        raise cursor.error(f"function {function.index} (CPD of variable {child} given {parents}): row for "
                           f"parent states {row} sums to {sums.reshape(-1)[bad[0]]:.17g}, not 1 within "
                           f"{ROW_SUM_TOLERANCE:g} ({bad.size} bad row(s)); read with normalize=True to "
                           f"rescale rows", function.where)
    return table


def _bayesian_network(cursor: _Cursor, cards: list[int], functions: list[_Function], name, normalize: bool,
                      cards_at: int) -> BayesianNetwork:
    cpds: dict[int, _Function] = {}
    for function in functions:
        if not function.scope:
            raise cursor.error(f"function {function.index} has an empty scope; a BAYES function is the CPD "
                               f"of its last variable", function.where)
        child = function.scope[-1]
        if cpds.setdefault(child, function) is not function:
            raise cursor.error(f"function {function.index} is a second CPD of variable {child}", function.where)
    for v in range(len(cards)):
        if v not in cpds:  # refused before its states are made, as no table in the file bounds them
            raise cursor.error(f"variable {v} has no probability table", cards_at + v)
    declared = {v: DeclaredVariable(tuple(range(k)), cards_at + v) for v, k in enumerate(cards)}
    tables = {child: ProbabilityTable(child, tuple(f.scope[:-1]), _cpd_table(cursor, f, normalize), f.where)
              for child, f in cpds.items()}
    return assemble_network(cursor.src, declared, tables, name)


def parse_uai(text: str | bytes, *, normalize: bool = False, source: str | None = None,
              name: str | None = None) -> MarkovNetwork | BayesianNetwork:
    """Parse a UAI model file.

    Parameters
    ----------
    text : str or bytes
    normalize : bool
        ``BAYES`` only: rescale every CPT row to sum to one (published files
        round their numbers). Without it a row off by more than 1e-6 is an error.
    source : str, optional
        File name used in error messages.
    name : str, optional
        The model's name.

    Returns
    -------
    MarkovNetwork or BayesianNetwork
        Variables ``0 .. n-1`` (so ``model.variables[i] == i``), states ``0 .. k-1``.

    Raises
    ------
    ParseError
        With the line and column of the offending number; also before
        allocating, on sizes above the limits of ``credo.io._common``
        (cardinalities, table entries, flat factors of variables in no function).
    """
    cursor = _Cursor(decode(text, source), source)
    cursor.need(1, "a 'MARKOV' or 'BAYES' header")
    kind = cursor.tokens[0].upper()
    if kind not in ("MARKOV", "BAYES"):
        raise cursor.error(f"expected 'MARKOV' or 'BAYES', got {shorten(cursor.tokens[0])!r}")
    cursor.i = 1
    n = cursor.integer("the number of variables")
    cards_at = cursor.i
    cards = _read_cardinalities(cursor, n)
    functions = _read_functions(cursor, cards)
    if kind == "MARKOV":
        return _markov_network(cursor, cards, functions, name, cards_at)
    return _bayesian_network(cursor, cards, functions, name, normalize, cards_at)


def parse_uai_evidence(text: str | bytes, model: DiscreteModel | None = None,
                       source: str | None = None) -> dict[int, int]:
    """Parse a UAI evidence file into ``{variable: state}``.

    Parameters
    ----------
    text : str or bytes
        ``N v1 x1 ... vN xN``, or ``1 N v1 x1 ...`` (one evidence sample). An
        empty file is no evidence.
    model : DiscreteModel, optional
        When given, variables and states are checked against it.
    source : str, optional

    Raises
    ------
    ParseError
        On malformed files, several samples, unknown variables or states, or a
        variable observed twice with different states.
    """
    cursor = _Cursor(decode(text, source), source)
    tokens = cursor.tokens
    if not tokens:
        return {}
    first = cursor.integer("the number of evidence variables")
    if len(tokens) != 1 + 2 * first:
        if first != 1:
            raise cursor.error(f"{len(tokens)} numbers do not make 'N v1 x1 ... vN xN' with N = {first}; if "
                               f"this is the older format, {first} evidence samples are not supported "
                               f"(only one is)", 0)
        first = cursor.integer("the number of evidence variables")
        if len(tokens) != 2 + 2 * first:
            raise cursor.error(f"expected {2 * first} numbers after '1 {first}' (one evidence sample of "
                               f"{first} variables), got {len(tokens) - 2}", min(len(tokens), 2 + 2 * first))
    n = len(model.variables) if model is not None else None
    evidence: dict[int, int] = {}
    for _ in range(first):
        variable = cursor.integer("an evidence variable", 0, n)
        high = model.cardinality(model.variables[variable]) if model is not None else None
        state = cursor.integer(f"the state of variable {variable}", 0, high)
        if evidence.setdefault(variable, state) != state:
            raise cursor.error(f"variable {variable} is observed twice, as {evidence[variable]} and {state}",
                               cursor.i - 2)
    return evidence


def read_uai(path: str | os.PathLike, evid: str | os.PathLike | None = None, *,
             normalize: bool = False) -> tuple[MarkovNetwork | BayesianNetwork, dict[int, int]]:
    """Read a UAI model file and, when ``evid`` is given, its evidence file.

    A sibling ``path + ".evid"`` is *not* read unless passed as ``evid``.

    Returns
    -------
    (model, evidence)
        See :func:`parse_uai` and :func:`parse_uai_evidence`; evidence is
        ``{}`` without ``evid``.
    """
    data, source = read_input(path)
    model = parse_uai(data, normalize=normalize, source=source, name=os.path.basename(source))
    if evid is None:
        return model, {}
    data, source = read_input(evid)
    return model, parse_uai_evidence(data, model, source)


# ---------------------------------------------------------------- writing
def _functions(model: DiscreteModel) -> tuple[str, list[tuple[list, np.ndarray]]]:
    """The header word and ``(scope, table)`` of each function of ``model``."""
    if isinstance(model, BayesianNetwork):
        return "BAYES", [(list(model.parents(v)) + [v], model.cpd(v).table) for v in model.variables]
    return "MARKOV", [(list(f.variables), f.values) for f in model.factors]


def to_uai_text(model: DiscreteModel) -> str:
    """The UAI text of ``model``: BAYES for a :class:`BayesianNetwork`, MARKOV otherwise.

    Variables and states become their positions in model order; values are
    written with ``repr``, so they read back exactly.
    """
    index = {v: i for i, v in enumerate(model.variables)}
    kind, functions = _functions(model)
    lines = [kind, str(len(index)), " ".join(str(model.cardinality(v)) for v in model.variables),
             str(len(functions))]
    lines += [" ".join(map(str, [len(scope)] + [index[v] for v in scope])) for scope, _ in functions]
    for _, table in functions:
        lines += ["", str(table.size), " ".join(repr(float(x)) for x in table.reshape(-1))]
    return "\n".join(lines) + "\n"


def to_uai_evidence_text(model: DiscreteModel, evidence: dict) -> str:
    """UAI 2014 evidence text ``N v1 x1 ...``, variables and states by position in ``model``."""
    index = {v: i for i, v in enumerate(model.variables)}
    evidence = model.check_evidence(evidence)
    pairs = [f"{index[v]} {model.state_index(v, s)}" for v, s in evidence.items()]
    return " ".join([str(len(pairs))] + pairs) + "\n"


def write_uai(model: DiscreteModel, path: str | os.PathLike, evidence: dict | None = None) -> None:
    """Write ``model`` to ``path`` in UAI format, and ``evidence`` (if given) to ``path + ".evid"``."""
    with open(path, "w", encoding="ascii", newline="\n") as handle:
        handle.write(to_uai_text(model))
    if evidence is not None:
        with open(os.fspath(path) + ".evid", "w", encoding="ascii", newline="\n") as handle:
            handle.write(to_uai_evidence_text(model, evidence))
