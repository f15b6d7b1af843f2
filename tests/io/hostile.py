"""Hostile inputs of the readers, and probes that run them in a limited subprocess.

Two kinds of input:

* memory cases (:data:`MEMORY_CASES`): a few bytes that declare gigabytes,
  which must be refused with a :class:`~credo.ParseError` before anything of
  that size is allocated;
* time shapes (:data:`TIME_SHAPES`): an input of any size built around one
  pattern that a backtracking regex or a rescanning tokenizer handles in
  quadratic time; each must be a ``ParseError`` in time linear in its size.

The probes print one ``RESULT`` line of JSON, read back by
:func:`results`, so that one interpreter (started under
:func:`tests.limits.run_limited`) serves all cases.
"""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

GOOD_BIF = "variable a { type discrete [ 2 ] { y, n }; }\nprobability ( a ) { table 0.3, 0.7; }\n"
GOOD_XML = ('<BIF VERSION="0.3"><NETWORK><NAME>n</NAME><VARIABLE TYPE="nature"><NAME>a</NAME><OUTCOME>y'
            '</OUTCOME><OUTCOME>n</OUTCOME></VARIABLE><DEFINITION><FOR>a</FOR><TABLE>0.3 0.7</TABLE>'
            '</DEFINITION></NETWORK></BIF>')
GOOD_UAI = "MARKOV\n1\n2\n1\n1 0\n2 0.3 0.7\n"


def _states(prefix: str, count: int) -> str:
    return ", ".join(f"{prefix}{i}" for i in range(count))


def _bif_defaults() -> str:
    """30 children of two wide parents, each table (9e6 entries, 72 MB) filled by a ``default`` row."""
    lines = [f"variable p1 {{ type discrete [ 3000 ] {{ {_states('a', 3000)} }}; }}",
             f"variable p2 {{ type discrete [ 1500 ] {{ {_states('b', 1500)} }}; }}",
             "probability ( p1 ) { default " + ", ".join(["0.0"] * 2999 + ["1.0"]) + "; }",
             "probability ( p2 ) { default " + ", ".join(["0.0"] * 1499 + ["1.0"]) + "; }"]
    for i in range(30):
        lines += [f"variable c{i} {{ type discrete [ 2 ] {{ y, n }}; }}",
                  f"probability ( c{i} | p1, p2 ) {{ default 0.5, 0.5; }}"]
    return "\n".join(lines) + "\n"


def _xml_wide_table() -> str:
    """A ``<TABLE>`` of one number for a child of two parents of 3000 outcomes (9e6 entries)."""
    outcomes = "".join(f"<OUTCOME>s{i}</OUTCOME>" for i in range(3000))
    variables = "".join(f'<VARIABLE TYPE="nature"><NAME>{v}</NAME>{outcomes}</VARIABLE>' for v in "pq")
    return (f'<BIF VERSION="0.3"><NETWORK>{variables}<VARIABLE TYPE="nature"><NAME>c</NAME><OUTCOME>y</OUTCOME>'
            '</VARIABLE><DEFINITION><FOR>c</FOR><GIVEN>p</GIVEN><GIVEN>q</GIVEN><TABLE>1</TABLE></DEFINITION>'
            '</NETWORK></BIF>')


#: name -> (reader, input, fragments the ParseError's message must contain)
MEMORY_CASES = {
    # 33 bytes: one variable of 3e8 states in no function (np.ones and tuple(range) of 3e8: 7.65 GB).
    "uai-uncovered-card": ("parse_uai", "MARKOV\n2\n2 300000000\n1\n1 0\n2 1 1\n",
                           ["variable 1", "300000000 states"]),
    "uai-huge-card": ("parse_uai", "MARKOV\n2\n2 999999999999\n1\n1 0\n2 1 1\n", ["variable 1", "999999999999"]),
    "uai-bayes-uncovered-card": ("parse_uai", "BAYES\n2\n2 300000000\n1\n1 0\n2 0.5 0.5\n", ["variable 1"]),
    # Each variable under the per-variable limit, 100 of them together 3.2 GB of flat factors.
    "uai-many-uncovered": ("parse_uai", "MARKOV\n101\n2 " + "4000000 " * 100 + "\n1\n1 0\n2 1 1\n",
                           ["variable 2", "does not list"]),
    "uai-huge-counts": ("parse_uai", "MARKOV\n1\n2\n100000000000000000\n", ["functions"]),
    "bif-defaults": ("parse_bif", _bif_defaults(), ["'default' of variable 'c0'", "does not list"]),
    "bif-huge-state-count": ("parse_bif", "variable a { type discrete [ 999999999999 ] { y, n }; }",
                             ["'a'", "999999999999 states"]),
    "xmlbif-wide-table": ("parse_xmlbif", _xml_wide_table(), ["'c'", "1 values, expected 9000000"]),
}


def _repeat(piece: str, size: int) -> str:
    return piece * max(1, size // len(piece))


#: name -> (reader, function of a size in characters giving the input)
TIME_SHAPES = {
    "bif-long-non-number": ("parse_bif", lambda n: GOOD_BIF.replace("0.3, 0.7", "1" * n + "x, 0.7")),
    "bif-unterminated-comments": ("parse_bif", lambda n: GOOD_BIF + _repeat("/* ", n)),
    "bif-unterminated-string": ("parse_bif", lambda n: GOOD_BIF + 'network "' + "x" * n),
    "bif-long-name": ("parse_bif", lambda n: GOOD_BIF.replace("variable a", "variable " + "a" * n)),
    "bif-many-tokens": ("parse_bif", lambda n: GOOD_BIF.replace("0.3, 0.7", "0.3, 0.7" + _repeat(", 0", n))),
    "bif-many-comments": ("parse_bif", lambda n: _repeat(f"/* {'x' * 30} */ // {'y' * 30}\n", n) + GOOD_BIF + "}"),
    "xmlbif-long-non-number": ("parse_xmlbif", lambda n: GOOD_XML.replace("0.3 0.7", "1" * n + "x 0.7")),
    "xmlbif-long-text": ("parse_xmlbif",
                         lambda n: GOOD_XML.replace("<NAME>a</NAME>", "<NAME>" + _repeat("a ", n) + "</NAME>")),
    "xmlbif-many-tokens": ("parse_xmlbif", lambda n: GOOD_XML.replace("0.3 0.7", "0.3 0.7" + _repeat(" 0", n))),
    "xmlbif-deep": ("parse_xmlbif", lambda n: GOOD_XML.replace("<NAME>n</NAME>", _repeat("<Element>", n))),
    "uai-long-non-number": ("parse_uai", lambda n: GOOD_UAI.replace("0.3 0.7", "1" * n + "x 0.7")),
    "uai-many-tokens": ("parse_uai", lambda n: GOOD_UAI + _repeat(" 0", n)),
}

#: Input sizes of the linear-time check, in characters.
SIZES = (10_000, 100_000, 1_000_000)


def _reader(name: str):
    import credo.io

    return getattr(credo.io, name)


def _outcome(parse, text) -> tuple[str, str]:
    try:
        parse(text)
    except Exception as error:  # the probes report whatever happens; the tests judge it
        return type(error).__name__, str(error)[:300]
    return "none", ""


def memory_report() -> None:
    """Print ``{case: [exception class, message]}`` for every memory case."""
    result = {name: _outcome(_reader(reader), text) for name, (reader, text, _) in MEMORY_CASES.items()}
    print("RESULT", json.dumps(result), flush=True)


def _best_time(parse, text, repeats: int) -> tuple[float, tuple[str, str]]:
    """The best time of ``repeats`` runs of ``parse(text)``, and how it ended."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        outcome = _outcome(parse, text)
        best = min(best, time.perf_counter() - start)
    return best, outcome


def time_report() -> None:
    """Print ``{shape: {"outcome": [class, message], "seconds": [best time at each of SIZES]}}``."""
    result = {}
    gc.disable()  # as timeit does: a collection landing in one run would skew a ratio
    try:
        for name, (reader, build) in TIME_SHAPES.items():
            parse = _reader(reader)
            runs = [_best_time(parse, build(n), 3 if n < 500_000 else 2) for n in SIZES]
            result[name] = {"outcome": runs[-1][1], "seconds": [seconds for seconds, _ in runs]}
    finally:
        gc.enable()
    print("RESULT", json.dumps(result), flush=True)


def probe(report: str) -> str:
    """The snippet :func:`tests.limits.run_limited` runs to call ``report`` of this module."""
    return f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom tests.io.hostile import {report}\n{report}()\n"


def results(stdout: str) -> dict:
    """The JSON a report printed."""
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise AssertionError(f"the probe printed no result:\n{stdout[-2000:]}")
