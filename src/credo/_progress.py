"""Progress reporting that suits both terminals and log files.

:func:`progress_bar` returns a tqdm bar when its stream is a terminal (or a
notebook, where tqdm shows a widget), and otherwise a :class:`LineProgress`:
a few plain lines, one each time another tenth of the work is done (and at
most one per ``interval`` seconds otherwise), with no carriage returns. A
tqdm bar writing to a file or a pipe fills it with a long run of ``\\r``-
separated redraws.

Both have the three methods the fitting loops use: ``update(n)``,
``set_postfix(**values)`` (call it before ``update``: a line shows the values
set so far) and ``close()``.
"""

from __future__ import annotations

import sys
import time

__all__ = ["progress_bar", "LineProgress"]


def _interactive(stream) -> bool:
    """Whether ``stream`` is a terminal, or the output of a notebook (where tqdm draws a widget)."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
    if stream not in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def progress_bar(total: int, desc: str, unit: str = "it", *, file=None, lines: int = 10,
                 interval: float = 60.0):
    """A progress bar over ``total`` units of work, written to ``file`` (default ``sys.stderr``).

    Parameters
    ----------
    total : int
    desc : str
        Shown at the start of the bar or of every line.
    unit : str
    file : text stream, optional
    lines : int
        On a stream that is not a terminal: a line each time another
        ``1 / lines`` of ``total`` is done, and a last one at :meth:`close`.
    interval : float
        On such a stream, also a line when this many seconds passed since
        the last one.
    """
    stream = sys.stderr if file is None else file
    if _interactive(stream):
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, file=file)
    return LineProgress(total, desc, unit, file=stream, lines=lines, interval=interval)


class LineProgress:
    """Progress as plain lines (see :func:`progress_bar`): ``desc: n/total unit (p%) key=value``."""

    def __init__(self, total: int, desc: str, unit: str = "it", *, file=None, lines: int = 10,
                 interval: float = 60.0):
        self.total, self.desc, self.unit = int(total), desc, unit
        self.file = sys.stderr if file is None else file
        self.lines, self.interval = max(1, int(lines)), float(interval)
        self.n = 0
        self._postfix: dict = {}
        self._printed_step = 0       # the last tenth (for lines=10) a line was written for
        self._printed_n = None       # ``n`` at the last line
        self._start = self._last = time.monotonic()
        self._closed = False

    def set_postfix(self, ordered_dict=None, refresh: bool = True, **values) -> None:
        self._postfix = {**(ordered_dict or {}), **values}

    def update(self, n: int = 1) -> None:
        self.n += n
        step = self.lines * self.n // self.total if self.total > 0 else 0
        now = time.monotonic()
        if step > self._printed_step or now - self._last >= self.interval:
            self._printed_step = max(step, self._printed_step)
            self._write(now)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._printed_n != self.n:
            self._write(time.monotonic())

    def _write(self, now: float) -> None:
        self._last, self._printed_n = now, self.n
        percent = f" ({100 * self.n // self.total}%)" if self.total > 0 else ""
        extra = "".join(f" {k}={v}" for k, v in self._postfix.items())
        self.file.write(f"{self.desc}: {self.n}/{self.total} {self.unit}{percent}, "
                        f"{now - self._start:.1f}s{extra}\n")
        try:
            self.file.flush()
        except (AttributeError, ValueError):
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
