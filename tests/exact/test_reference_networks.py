"""Acceptance test: exact inference on 13 published networks against independent references.

Each ``tests/data/networks/NAME.reference.json`` holds cases of evidence with
the posterior marginals and ln P(e) computed by pyAgrum (checked against
pgmpy) and the MPE log joint. credo must reproduce them through the Python API (every
case, by each exact method) and through the ``credo`` command (run in-process:
one real subprocess is covered in ``tests/test_cli.py``).

The command adds only the wiring around the same inference: reading the
file, parsing ``--evidence`` strings, passing ``--method`` on and writing
JSON. So it runs on every network, but not every case by every method: the
case with the most evidence (the most state names to parse) and the case with
none (no ``--evidence`` at all, ln P(e) exactly 0 through JSON), by the
default method, and by variable elimination where that is cheap; MPE on the
case with the most evidence.

Tolerances: marginals 1e-6 absolute, ln P(e) 1e-6 relative (exactly 0.0 for
empty evidence, which credo returns exactly for a Bayesian network), MPE log
joint 1e-6 absolute, and an MPE assignment's own ln P within 1e-9 of the
reported log joint.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import pytest

import credo
from credo.cli import main

NETWORKS_DIR = Path(__file__).resolve().parent.parent / "data" / "networks"
NETWORKS = ["alarm", "andes", "asia", "cancer", "child", "earthquake", "hailfinder", "insurance",
            "pathfinder", "pigs", "sachs", "survey", "win95pts"]

MARGINAL_ATOL = 1e-6
LOG_EVIDENCE_RTOL = 1e-6
MPE_ATOL = 1e-6
SELF_CONSISTENCY_ATOL = 1e-9


# Parsing the big networks (pathfinder ~0.5 s) once per module, not once per case.
@lru_cache(maxsize=None)
def load_network(name: str) -> credo.BayesianNetwork:
    return credo.read_bif(NETWORKS_DIR / f"{name}.bif")


@lru_cache(maxsize=None)
def load_cases(name: str) -> tuple:
    with open(NETWORKS_DIR / f"{name}.reference.json") as handle:
        return tuple(json.load(handle)["cases"])


def _case_params() -> list:
    return [pytest.param(name, i, id=f"{name}-{i}") for name in NETWORKS for i in range(len(load_cases(name)))]


CASES = _case_params()

# Networks on which variable elimination of every marginal takes well under a second.
SMALL_NETWORKS = [name for name in NETWORKS if name not in ("andes", "pathfinder", "pigs", "win95pts")]


def _most_evidence(name: str) -> int:
    cases = load_cases(name)
    return max(range(len(cases)), key=lambda i: len(cases[i]["evidence"]))


def _no_evidence(name: str) -> int:
    return next(i for i, case in enumerate(load_cases(name)) if not case["evidence"])


def _cli_params(names, methods) -> list:
    return [pytest.param(name, index, method, id=f"{name}-{index}-{method}")
            for method in methods for name in names
            for index in dict.fromkeys([_most_evidence(name), _no_evidence(name)])]


CLI_QUERY_CASES = _cli_params(NETWORKS, ["auto"]) + _cli_params(SMALL_NETWORKS, ["ve"])
CLI_MPE_CASES = [pytest.param(name, _most_evidence(name), id=f"{name}-{_most_evidence(name)}") for name in NETWORKS]


# ------------------------------------------------------------------ checks
def check_marginals(model, marginals: dict, case: dict) -> None:
    """Every non-evidence variable's posterior within MARGINAL_ATOL of the reference.

    Evidence variables are not compared with credo (which reports only the
    unobserved ones) but must be one-hot in the reference, as a check on the data.
    """
    evidence = case["evidence"]
    expected = case["marginals"]
    for v, s in evidence.items():
        assert expected[v][s] == 1.0 and sum(expected[v].values()) == 1.0, f"reference {v} not one-hot"
    unobserved = [str(v) for v in model.variables if str(v) not in evidence]
    assert sorted(marginals) == sorted(unobserved)
    worst = (0.0, None)
    for v in unobserved:
        assert list(marginals[v]) == list(expected[v]), f"states of {v} differ"
        for s, p in expected[v].items():
            error = abs(marginals[v][s] - p)
            if not error <= worst[0]:  # `not <=` also catches NaN
                worst = (error, (v, s, marginals[v][s], p))
    assert worst[0] <= MARGINAL_ATOL, f"largest marginal error {worst[0]:.3g} at (variable, state, got, want)={worst[1]}"


def check_log_evidence(got: float, want: float) -> None:
    if want == 0.0:
        assert got == 0.0, f"ln P(e) of empty evidence should be exactly 0, got {got!r}"
    else:
        assert abs(got - want) <= LOG_EVIDENCE_RTOL * abs(want), f"ln P(e) {got!r} != reference {want!r}"


def check_mpe(model, assignment: dict, log_joint: float, case: dict) -> None:
    """MPE value against the reference; the assignment must achieve it and agree with the evidence."""
    for v, s in case["evidence"].items():
        assert assignment[v] == s, f"MPE changed evidence {v}={s} to {assignment[v]}"
    if "mpe_log_joint" in case:
        want = case["mpe_log_joint"]
        assert abs(log_joint - want) <= MPE_ATOL, f"MPE log joint {log_joint!r} != reference {want!r}"
    own = model.log_prob(assignment)
    assert math.isclose(own, log_joint, rel_tol=0.0, abs_tol=SELF_CONSISTENCY_ATOL), \
        f"the MPE assignment has ln P = {own!r}, not the reported {log_joint!r}"


# ------------------------------------------------------------------ through the API
@pytest.mark.parametrize("method", ["ve", "jt"])
@pytest.mark.parametrize(("name", "index"), CASES)
def test_query_matches_reference(name, index, method):
    model, case = load_network(name), load_cases(name)[index]
    result = credo.query(model, evidence=case["evidence"], method=method)
    assert result.method == method
    check_marginals(model, result.marginals, case)
    check_log_evidence(result.log_evidence, case["log_evidence"])


@pytest.mark.parametrize(("name", "index"), CASES)
def test_mpe_matches_reference(name, index):
    model, case = load_network(name), load_cases(name)[index]
    result = credo.mpe(model, case["evidence"])
    check_mpe(model, result.assignment, result.log_joint, case)


# ------------------------------------------------------------------ through the CLI
def cli_json(capsys, command: str, name: str, evidence: dict, *options: str) -> dict:
    """``credo COMMAND NAME.bif --evidence ... --json`` in-process, parsed."""
    argv = [command, str(NETWORKS_DIR / f"{name}.bif"), "--json", *options]
    if evidence:  # --evidence needs at least one item
        argv += ["--evidence", *(f"{v}={s}" for v, s in evidence.items())]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize(("name", "index", "method"), CLI_QUERY_CASES)
def test_cli_query_matches_reference(capsys, name, index, method):
    model, case = load_network(name), load_cases(name)[index]
    data = cli_json(capsys, "query", name, case["evidence"], "--method", method)
    assert set(data) == {"log_evidence", "marginals"}
    check_marginals(model, data["marginals"], case)
    check_log_evidence(data["log_evidence"], case["log_evidence"])


@pytest.mark.parametrize(("name", "index"), CLI_MPE_CASES)
def test_cli_mpe_matches_reference(capsys, name, index):
    model, case = load_network(name), load_cases(name)[index]
    data = cli_json(capsys, "mpe", name, case["evidence"])
    assert set(data) == {"log_joint", "assignment"}
    check_mpe(model, data["assignment"], data["log_joint"], case)
