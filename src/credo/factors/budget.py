"""The memory an exact (or table-building) computation may use, and its refusal when it would need more.

Every engine that builds tables whose size the model's structure decides
(junction tree, tensor contraction, variable elimination, MPE, ln Z, belief
propagation's factor graph, the samplers' compiled tables) estimates its
peak from its plan before allocating and calls :func:`check_memory`, which
applies one limit (the user's ``memory_limit``, else a fraction of the
memory available) and raises one error,
:class:`~credo.errors.ContractionTooLargeError`, with one message format.

It sits with the factors (tables are what it measures) and imports nothing
of credo but its errors, so every layer that builds tables (the factors'
own elimination, models, exact engines, samplers) can use it.
"""

from __future__ import annotations

import math
import os
from typing import Iterable

from credo.errors import ArgumentError, ContractionTooLargeError

__all__ = ["MEMORY_FRACTION", "ITEMSIZE", "available_memory", "memory_limit", "check_memory", "entries"]

#: Fraction of the available memory a plan may use when no limit is given.
MEMORY_FRACTION = 0.8
#: Bytes per table entry (float64; int64 argmax tables are the same size).
ITEMSIZE = 8


def available_memory() -> int:
    """Bytes of memory available to new allocations: the smallest of the machine's free memory
    (``MemAvailable`` on Linux), a cgroup (container) limit less its usage, and the process's
    address-space limit (``RLIMIT_AS``) less its current size."""
    candidates = [_machine_available()]
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        limit, usage = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and usage is not None and limit < 1 << 60:
            candidates.append(max(limit - usage, 0))
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            size = _read_int("/proc/self/statm", first_field=True)
            used = size * os.sysconf("SC_PAGE_SIZE") if size is not None else 0
            candidates.append(max(soft - used, 0))
    except (ImportError, OSError, ValueError):  # pragma: no cover - not POSIX
        pass
    return min(candidates)


def _machine_available() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")  # pragma: no cover


def _read_int(path: str, first_field: bool = False) -> int | None:
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().split()
    except OSError:
        return None
    try:
        return int(text[0]) if text else None
    except ValueError:  # "max": no limit
        return None


def memory_limit(limit: int | None = None) -> int:
    """The limit in bytes: ``limit`` when given, else :data:`MEMORY_FRACTION` of :func:`available_memory`."""
    if limit is None:
        return int(MEMORY_FRACTION * available_memory())
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit >= 0 or math.isinf(limit):
        raise ArgumentError("memory_limit", f"must be a number of bytes >= 0 (or None for {MEMORY_FRACTION:.0%} "
                                            f"of the available memory), got {limit!r}")
    return int(limit)


def check_memory(what: str, needed_bytes: int, largest_entries: int, limit: int | None = None,
                 advice: str | None = None) -> None:
    """Raise :class:`~credo.errors.ContractionTooLargeError` if ``needed_bytes`` exceeds the limit.

    Parameters
    ----------
    what : str
        What would be computed, and with which plan (it starts the message).
    needed_bytes : int
        The plan's estimated peak memory.
    largest_entries : int
        Entries of the largest table the plan creates.
    limit : int, optional
        A user-set ``memory_limit`` in bytes (see :func:`memory_limit`).
    advice : str, optional
        What to try instead, when the error's default (a better order,
        evidence, an approximate method) does not apply.
    """
    allowed = memory_limit(limit)
    if needed_bytes > allowed:
        raise ContractionTooLargeError(what, needed_bytes, allowed, max(int(largest_entries), 1), advice=advice)


def entries(variables: Iterable, cardinality) -> int:
    """Entries of a table over ``variables`` (``cardinality``: a mapping or a callable)."""
    card = cardinality.__getitem__ if hasattr(cardinality, "__getitem__") else cardinality
    return math.prod(int(card(v)) for v in variables)
