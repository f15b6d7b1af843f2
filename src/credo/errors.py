"""Typed errors raised by credo.

Every error a user can trigger with bad input derives from :class:`CredoError`,
so ``except credo.CredoError`` catches them all, while each also derives from
the builtin exception a Python user would expect (``ValueError``/``KeyError``).
"""

from __future__ import annotations

from typing import Iterable

__all__ = [
    "CredoError",
    "ModelError",
    "ArgumentError",
    "UnknownKeywordError",
    "CycleError",
    "CPDError",
    "UnknownVariableError",
    "UnknownStateError",
    "ImpossibleEvidenceError",
    "ParseError",
    "DistributionError",
    "ContractionTooLargeError",
    "NotConjugateError",
]


class CredoError(Exception):
    """Base class of every error credo raises on purpose."""


class ModelError(CredoError, ValueError):
    """A model is malformed (inconsistent states, bad structure, ...)."""


class ArgumentError(CredoError, ValueError):
    """A function was called with an argument value it cannot use (``chains=0``, a negative
    warmup, an unknown family, a probability outside (0, 1), ...).

    Attributes
    ----------
    argument : str
        The name of the offending argument.
    """

    def __init__(self, argument: str, message: str):
        self.argument = argument
        super().__init__(f"{argument}: {message}")


class UnknownKeywordError(ArgumentError, TypeError):
    """A public function was given a keyword argument it does not take (also a ``TypeError``, as Python's own)."""


class CycleError(ModelError):
    """A graph that must be acyclic contains a directed cycle.

    Attributes
    ----------
    cycle : list
        The nodes of one offending cycle, in order.
    """

    def __init__(self, cycle: Iterable):
        self.cycle = list(cycle)
        path = " -> ".join(map(str, self.cycle + self.cycle[:1]))
        super().__init__(f"the graph has a directed cycle: {path}")


class CPDError(ModelError):
    """A conditional probability table is invalid (shape, sign or normalization).

    Attributes
    ----------
    variable : str
        The child variable whose table is wrong.
    """

    def __init__(self, variable, message: str):
        self.variable = variable
        super().__init__(f"CPD of {variable!r}: {message}")


def _listing(values: Iterable, limit: int = 60) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:limit])
    more = f", ... ({len(values) - limit} more)" if len(values) > limit else ""
    return shown + more


def suggestion(name, valid: Iterable) -> str:
    """`` (did you mean 'X'?)`` for the valid name closest to ``name``, or ``""``.

    A match that differs only in case is named first (``high`` for ``HIGH``);
    otherwise :func:`difflib.get_close_matches` picks up to three.
    """
    import difflib

    valid = list(valid)
    text = str(name)
    same_case = [v for v in valid if str(v).casefold() == text.casefold() and str(v) != text]
    if same_case:
        return f" (did you mean {same_case[0]!r}? names are case-sensitive)"
    by_text = {str(v): v for v in valid}
    close = difflib.get_close_matches(text, list(by_text), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(by_text[c]) for c in close) + "?)"


class UnknownVariableError(CredoError, KeyError):
    """A variable name is not part of the model."""

    def __init__(self, variable, valid: Iterable):
        self.variable = variable
        self.valid = list(valid)
        super().__init__(variable)
        self._message = (f"unknown variable {variable!r}{suggestion(variable, self.valid)}; "
                         f"valid variables: {_listing(self.valid) or '(none)'}")

    def __str__(self) -> str:  # KeyError would otherwise print only repr(variable)
        return self._message


class UnknownStateError(CredoError, KeyError):
    """A state name is not one of a variable's states."""

    def __init__(self, variable, state, valid: Iterable):
        self.variable = variable
        self.state = state
        self.valid = list(valid)
        super().__init__(state)
        self._message = (
            f"unknown state {state!r} of variable {variable!r}{suggestion(state, self.valid)}; "
            f"valid states: {_listing(self.valid)}"
        )

    def __str__(self) -> str:
        return self._message


def describe_evidence(evidence, limit: int = 8) -> str:
    """``{variable: state}`` as text, with at most ``limit`` entries shown (messages stay readable)."""
    items = list(dict(evidence or {}).items())
    shown = ", ".join(f"{v!r}: {s!r}" for v, s in items[:limit])
    if len(items) > limit:
        shown += f", ... ({len(items) - limit} more of {len(items)} observed variables)"
    return "{" + shown + "}"


class ImpossibleEvidenceError(CredoError, ValueError):
    """The evidence has probability zero under the model, so no posterior exists."""

    def __init__(self, evidence: dict | None = None, message: str | None = None):
        self.evidence = dict(evidence or {})
        if message is None:
            message = f"the evidence {describe_evidence(self.evidence)} has probability zero under the model"
        super().__init__(message)


class ParseError(CredoError, ValueError):
    """A model file could not be parsed.

    Attributes
    ----------
    line, column : int
        1-based position of the problem in the input.
    source : str or None
        The file name, when known.
    """

    def __init__(self, message: str, line: int, column: int, source: str | None = None):
        self.reason = message
        self.line = line
        self.column = column
        self.source = source
        where = f"{source}:" if source else "line "
        super().__init__(f"{where}{line}:{column}: {message}")


class DistributionError(CredoError, ValueError):
    """A distribution was given invalid parameters, shapes or values."""


class ContractionTooLargeError(CredoError, MemoryError):
    """An exact computation would need more memory than allowed, so it was refused before allocating.

    Attributes
    ----------
    needed_bytes : int
        Estimated memory of the computation.
    limit_bytes : int
        The limit it exceeds (a user-set limit or the memory available).
    largest_entries : int
        Entries of the largest table the plan creates.
    what : str
        What was refused and with which plan.
    advice : str
        What to try instead (the end of the message).
    """

    #: The end of the message unless the refusing engine knows better.
    DEFAULT_ADVICE = "Try a better order (a random-greedy search), evidence, or an approximate method."

    def __init__(self, what: str, needed_bytes: int, limit_bytes: int, largest_entries: int,
                 advice: str | None = None):
        self.what = what
        self.needed_bytes = int(needed_bytes)
        self.limit_bytes = int(limit_bytes)
        self.largest_entries = int(largest_entries)
        self.advice = self.DEFAULT_ADVICE if advice is None else advice
        super().__init__(
            f"{what} would need about {_bytes(needed_bytes)} (largest table {largest_entries:.3g} entries, "
            f"2^{largest_entries.bit_length() - 1}), more than the limit of {_bytes(limit_bytes)}; refused "
            f"before allocating. {self.advice}")


def _bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if count < 1024 or unit == "PiB":
            return f"{count:.3g} {unit}"
        count /= 1024
    return f"{count:.3g} EiB"  # pragma: no cover


class NotConjugateError(ModelError):
    """The model is not conditionally conjugate at ``site``, so CAVI (:func:`credo.cavi`) has no
    closed-form update.

    Attributes
    ----------
    site : str
        The offending site.
    reason : str
    """

    def __init__(self, site: str, reason: str):
        self.site = site
        self.reason = reason
        super().__init__(f"site {site!r}: {reason}")
