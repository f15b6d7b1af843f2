"""A resource-limit harness: run a snippet in a fresh interpreter under an address-space cap and
a wall-clock limit, so that a memory blow-up or a hang shows up as a failed test, not as a dead
machine.

The snippet is expected to end by raising a typed credo error; :func:`run_limited` reports the
exception's class name (printed by the wrapper) so tests can assert on it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass

#: Default cap on the child's address space: far above what the snippets need, far below the
#: gigabytes the defects used to allocate.
DEFAULT_ADDRESS_SPACE = 2 * 1024**3

_WRAPPER = """
import resource, sys, traceback
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
try:
{body}
except BaseException as error:
    print("RAISED", type(error).__name__, flush=True)
    print("MESSAGE", str(error)[:2000], flush=True)
    sys.exit(3)
print("RAISED none", flush=True)
"""


@dataclass
class LimitedRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def raised(self) -> str | None:
        """Class name of the exception the snippet ended with (``"none"`` when it returned)."""
        for line in self.stdout.splitlines():
            if line.startswith("RAISED "):
                return line.split(" ", 1)[1]
        return None

    @property
    def message(self) -> str:
        for line in self.stdout.splitlines():
            if line.startswith("MESSAGE "):
                return line.split(" ", 1)[1]
        return ""


def run_limited(code: str, *, timeout: float = 60.0,
                address_space: int = DEFAULT_ADDRESS_SPACE) -> LimitedRun:
    """Run ``code`` in a subprocess with ``RLIMIT_AS = address_space`` and a ``timeout``.

    A time-out raises :class:`subprocess.TimeoutExpired` (the test fails with it).
    """
    body = textwrap.indent(textwrap.dedent(code), "    ")
    script = _WRAPPER.format(limit=int(address_space), body=body)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=timeout)
    return LimitedRun(done.returncode, done.stdout, done.stderr)
