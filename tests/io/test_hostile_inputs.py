"""Hostile inputs: tiny files declaring huge sizes, and inputs that used to take quadratic time.

The cases run in a subprocess under an address-space cap and a time limit
(:mod:`tests.limits`), so that a regression fails a test instead of filling
the machine's memory or hanging the suite. The inputs are in
:mod:`tests.io.hostile`.
"""

import pytest

from credo.errors import ParseError
from credo.io import parse_bif, parse_uai, parse_xmlbif
from tests.io.hostile import MEMORY_CASES, SIZES, TIME_SHAPES, probe, results
from tests.limits import run_limited

#: Bound on t(10 n) / t(n): about 10 for a linear parser, 100 for a quadratic one. 30 failed once
#: (39) in a loaded two-worker run, where the 100 KB case takes only 1 ms; 50 still tells the two apart.
MAX_RATIO = 50


@pytest.fixture(scope="module")
def memory_outcomes() -> dict:
    return results(run_limited(probe("memory_report"), timeout=60).stdout)


@pytest.mark.parametrize("case", sorted(MEMORY_CASES))
def test_declared_sizes_are_refused_before_allocating(case, memory_outcomes):
    raised, message = memory_outcomes[case]
    assert raised == "ParseError", message
    for fragment in MEMORY_CASES[case][2]:
        assert fragment in message


def test_cli_info_reports_a_refused_size_without_a_traceback(tmp_path):
    path = tmp_path / "tiny.uai"
    path.write_text(MEMORY_CASES["uai-uncovered-card"][1])
    code = f"""
    import subprocess, sys
    done = subprocess.run([sys.executable, "-m", "credo.cli", "info", {str(path)!r}], capture_output=True,
                          text=True)
    print("EXIT", done.returncode, flush=True)
    sys.stderr.write(done.stderr)
    """
    run = run_limited(code, timeout=60)  # the command inherits the address-space cap
    assert "EXIT 2" in run.stdout.splitlines(), run.stdout + run.stderr
    assert run.stderr.startswith("credo: error: "), run.stderr
    assert "Traceback" not in run.stderr
    assert "variable 1 declares 300000000 states" in run.stderr


@pytest.fixture(scope="module")
def timings() -> dict:
    return results(run_limited(probe("time_report"), timeout=120).stdout)


@pytest.mark.parametrize("shape", sorted(TIME_SHAPES))
def test_hostile_shape_is_a_parse_error_in_linear_time(shape, timings):
    outcome, seconds = timings[shape]["outcome"], timings[shape]["seconds"]
    assert outcome[0] == "ParseError", outcome
    ratios = [later / earlier for earlier, later in zip(seconds, seconds[1:])]
    assert max(ratios) < MAX_RATIO, f"best times {seconds} s at {SIZES} characters"


# ------------------------------------------------ more dimensions than numpy has
WIDE = 69  # parents of one state each: a table of one entry, but 70 dimensions (numpy has 32 or 64)


def _wide_bif() -> str:
    roots = "".join(f"variable v{i} {{ type discrete [ 1 ] {{ s }}; }}\nprobability ( v{i} ) {{ table 1; }}\n"
                    for i in range(WIDE))
    parents = ", ".join(f"v{i}" for i in range(WIDE))
    return roots + f"variable c {{ type discrete [ 1 ] {{ s }}; }}\nprobability ( c | {parents} ) {{ table 1; }}\n"


def _wide_xmlbif() -> str:
    roots = "".join(f"<VARIABLE><NAME>v{i}</NAME><OUTCOME>s</OUTCOME></VARIABLE>"
                    f"<DEFINITION><FOR>v{i}</FOR><TABLE>1</TABLE></DEFINITION>" for i in range(WIDE))
    given = "".join(f"<GIVEN>v{i}</GIVEN>" for i in range(WIDE))
    return (f"<BIF><NETWORK>{roots}<VARIABLE><NAME>c</NAME><OUTCOME>s</OUTCOME></VARIABLE>"
            f"<DEFINITION><FOR>c</FOR>{given}<TABLE>1</TABLE></DEFINITION></NETWORK></BIF>")


def _wide_uai() -> str:
    n = WIDE + 1
    return f"MARKOV\n{n}\n{'1 ' * n}\n1\n{n} {' '.join(map(str, range(n)))}\n1 1\n"


@pytest.mark.parametrize("parse, text, culprit", [
    (parse_bif, _wide_bif(), "'c'"),
    (parse_bif, _wide_bif().replace("table 1; }\n", "default 1; }\n"), "'c'"),
    (parse_xmlbif, _wide_xmlbif(), "'c'"),
    (parse_uai, _wide_uai(), "function 0"),
], ids=["bif-table", "bif-default", "xmlbif", "uai"])
def test_a_table_of_too_many_dimensions_is_a_parse_error(parse, text, culprit):
    # numpy raised its own ValueError (at most 32 or 64 dimensions) from inside the reader.
    with pytest.raises(ParseError, match="70 dimensions") as info:
        parse(text)
    assert culprit in str(info.value)
