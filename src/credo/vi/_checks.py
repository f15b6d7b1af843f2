"""Argument checks of the VI entry points: each bad value is an ArgumentError naming it."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from credo.errors import ArgumentError, suggestion


def count(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int of at least ``minimum`` (booleans and fractions refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ArgumentError(name, f"must be an integer >= {minimum}, got {value!r}")
    return int(value)


def number(name: str, value, *, positive: bool = False) -> float:
    """``value`` as a finite float, ``> 0`` if ``positive`` else ``>= 0``."""
    bound = "> 0" if positive else ">= 0"
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ArgumentError(name, f"must be a finite number {bound}, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(result) or result < 0 or (positive and result == 0):
        raise ArgumentError(name, f"must be a finite number {bound}, got {value!r}")
    return result


def choice(name: str, value, valid: Iterable):
    """``value`` if it is one of ``valid``, else an ArgumentError listing them."""
    valid = list(valid)
    try:
        known = value in valid
    except (TypeError, ValueError):  # an unhashable or incomparable value (an array)
        known = False
    if not known:
        shown = ", ".join(repr(v) for v in valid)
        raise ArgumentError(name, f"unknown {name} {value!r}{suggestion(value, [v for v in valid if v])}; "
                                  f"valid choices: {shown}")
    return value
