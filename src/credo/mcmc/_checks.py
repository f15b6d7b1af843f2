"""Argument checks shared by the samplers: a bad value is an :class:`~credo.errors.ArgumentError`
naming the argument and the value, raised before anything is traced or compiled."""

from __future__ import annotations

import math
import operator

import numpy as np

from credo.errors import ArgumentError

__all__ = ["integer", "probability", "positive", "choice", "run_arguments"]


def integer(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as a Python int (an ``int``, a NumPy integer, anything with ``__index__``).

    Floats are refused even when whole (``draws=50.0``), as ``range`` does:
    a count that came out of a division is usually a mistake worth seeing.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ArgumentError(name, f"must be an integer, got {value!r} (a bool)")
    try:
        number = operator.index(value)
    except TypeError:
        raise ArgumentError(name, f"must be an integer, got {value!r} ({type(value).__name__})") from None
    if minimum is not None and number < minimum:
        raise ArgumentError(name, f"must be >= {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ArgumentError(name, f"must be <= {maximum}, got {number}")
    return number


def _real(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or np.ndim(value) != 0:
        raise ArgumentError(name, f"must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ArgumentError(name, f"must be a number, got {value!r} ({type(value).__name__})") from None


def probability(name: str, value) -> float:
    """A number strictly between 0 and 1."""
    number = _real(name, value)
    if not 0.0 < number < 1.0:  # NaN fails too
        raise ArgumentError(name, f"must lie strictly between 0 and 1, got {value!r}")
    return number


def positive(name: str, value) -> float:
    """A finite number > 0."""
    number = _real(name, value)
    if not (math.isfinite(number) and number > 0):
        raise ArgumentError(name, f"must be a finite number > 0, got {value!r}")
    return number


def choice(name: str, value, options) -> str:
    if not isinstance(value, str) or value not in options:
        raise ArgumentError(name, f"must be one of {tuple(options)}, got {value!r}")
    return value


def run_arguments(*, chains, warmup, draws, chain_method, chunk_size, methods) -> dict:
    """The arguments every sampler shares, checked: ``{name: value}`` with ints as ints."""
    return dict(chains=integer("chains", chains, minimum=1),
                warmup=integer("warmup", warmup, minimum=0),
                draws=integer("draws", draws, minimum=0),
                chain_method=choice("chain_method", chain_method, methods),
                chunk_size=None if chunk_size is None else integer("chunk_size", chunk_size,
                                                                   minimum=1))
