"""Attribute an error raised while a model runs to the site (and model line) it came from.

A model is arbitrary Python: a bad parameter, a shape mismatch in ``X @ w``
or an ``if`` on a traced value fails inside the model's own code, deep in JAX
or numpy, with a traceback that names neither the site nor the data. The
:class:`_Recorder` handler notes which sites a run has reached, so that
:func:`run_attributed` can re-raise such errors as a :class:`ModelError`
that names the site being built and the line of the model that failed.
"""

from __future__ import annotations

import os
import re
import traceback

import jax
import numpy as np

from credo.errors import CredoError, ModelError

from .runtime import Handler, MissingKeyError, Site

_CREDO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SITE_CALL = re.compile(r"\b(sample|factor|deterministic|param|plate)\(\s*[\"']([^\"']+)[\"']")

#: JAX's errors for Python control flow (or int()/float()/numpy) on a traced value.
_TRACER_ERRORS = tuple(getattr(jax.errors, n) for n in (
    "TracerBoolConversionError", "ConcretizationTypeError", "TracerIntegerConversionError",
    "TracerArrayConversionError") if hasattr(jax.errors, n))


class _Recorder(Handler):
    """Note the site in flight and the sites finished, innermost of all handlers."""

    def __init__(self, fn):
        super().__init__(fn)
        self.current: Site | None = None
        self.done: list = []

    def process_message(self, msg: Site) -> None:
        self.current = msg

    def postprocess_message(self, msg: Site) -> None:
        self.done.append(msg.name)
        self.current = None


def _user_line(exc: BaseException):
    """``(filename, lineno, source)`` of the innermost frame outside credo, JAX and numpy."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = os.path.abspath(frame.filename)
        if path.startswith(_CREDO_DIR) or "site-packages" in path or "/lib/python" in path:
            continue
        found = frame
    return None if found is None else (found.filename, found.lineno, (found.line or "").strip())


def _where(recorder: _Recorder, exc: BaseException) -> tuple:
    """``(site name or None, description)`` of where in the model ``exc`` was raised."""
    line = _user_line(exc)
    at_line = f" (model line {line[1]}: `{line[2]}`)" if line and line[2] else ""
    site = recorder.current
    if site is not None and site.type != "plate":
        return site.name, f"{site.type} site {site.name!r}{at_line}"
    name = None
    if line:
        match = _SITE_CALL.search(line[2])
        if match:
            name = match.group(2)
    after = (f"after site {recorder.done[-1]!r}" if recorder.done else "before the first site")
    if name is not None:
        return name, f"site {name!r}{at_line}"
    return None, f"the model code {after}{at_line}"


def _hint(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, _TRACER_ERRORS):
        return ("Python control flow (if/while/bool()/int()) on a model variable does not work, "
                "because the model is compiled with the variables as symbolic values; use "
                "jnp.where(cond, a, b) for a choice between values, or make the choice a discrete "
                "sample site")
    if "data type" in text and "not understood" in text or "could not convert string" in text:
        return "a distribution parameter or data value is a string; pass numbers"
    if "shape" in text.lower():
        return "check the shapes of the data the model uses at that line"
    return ""


def run_attributed(bound, fn):
    """Run ``fn`` (a model with its data) and attribute its errors to the site being built.

    CredoErrors that already name what they are about (ModelError) pass
    through; DistributionErrors, JAX tracer errors and TypeErrors/ValueErrors
    raised by JAX or numpy become ModelErrors naming the site.
    """
    recorder = _Recorder(fn)
    try:
        return recorder()
    except (ModelError, MissingKeyError):
        raise
    except (CredoError, TypeError, ValueError, IndexError) + _TRACER_ERRORS as exc:
        if isinstance(exc, CredoError) and not type(exc).__name__ == "DistributionError":
            raise
        _, where = _where(recorder, exc)
        hint = _string_parameter(exc) or _hint(exc)
        lines = str(exc).strip().split("\n")
        message = lines[0].strip() + (" ..." if len(lines) > 1 else "")
        name = getattr(bound.model, "__name__", "the model")
        raise ModelError(f"{name}: {where}: {type(exc).__name__}: {message}"
                         + (f"; {hint}" if hint else "")
                         + _data_shapes(bound, hint) + _nan_data(bound, exc)) from exc


def _data_shapes(bound, hint: str) -> str:
    if "shape" not in hint:
        return ""
    shapes = {k: tuple(v.shape) for k, v in {**bound.kwargs, **bound.observations}.items()
              if hasattr(v, "shape") and getattr(v, "ndim", 0) >= 1}
    return f" (data shapes: {shapes})" if shapes else ""


def _nan_data(bound, exc) -> str:
    """Point at data holding NaN: the usual cause of a NaN distribution parameter."""
    if type(exc).__name__ != "DistributionError":
        return ""
    found = []
    for key, value in {**bound.kwargs, **bound.observations}.items():
        try:
            arr = np.asarray(value)
        except Exception:  # not array-like: cannot hold the NaN
            continue
        if np.issubdtype(arr.dtype, np.inexact) and arr.ndim >= 1 and np.isnan(arr).any():
            where = np.unravel_index(int(np.flatnonzero(np.isnan(arr))[0]), arr.shape)
            index = int(where[0]) if len(where) == 1 else tuple(int(i) for i in where)
            found.append(f"data {key!r} has NaN at index {index}")
    return f" ({'; '.join(found)})" if found else ""


def _string_parameter(exc) -> str:
    """Name the distribution parameter given as a string, from the constructor's frame."""
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        owner = frame.f_locals.get("self")
        if frame.f_code.co_name == "__init__" and type(owner).__module__.startswith("credo.distributions"):
            names = frame.f_code.co_varnames[1:frame.f_code.co_argcount + frame.f_code.co_kwonlyargcount]
            for name in names:
                if isinstance(frame.f_locals.get(name), str):
                    return (f"parameter {name!r} of {type(owner).__name__} is the string "
                            f"{frame.f_locals[name]!r}; pass a number or an array")
        tb = tb.tb_next
    return ""
