"""The ``credo`` command: output shapes, numbers, and errors that exit 2 without a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import credo
from credo.cli import main

DATA = Path(__file__).parent / "data"
ASIA = str(DATA / "networks" / "asia.bif")
PROMEDUS = str(DATA / "uai" / "Promedus_24.uai")


@pytest.fixture(scope="module")
def asia():
    return credo.read_bif(ASIA)


@pytest.fixture(scope="module")
def clinic_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("cli") / "clinic.bif"
    credo.write_bif(credo.examples.clinic(), path)
    return str(path)


def run(capsys, *argv) -> tuple[int, str, str]:
    """``credo ARGV`` in-process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def assert_user_error(capsys, *argv) -> str:
    """Run a command that must fail as a user error; return its message."""
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    # argparse's own usage errors print the usage, then "credo query: error: ...".
    assert err.startswith("credo: error: ") or err.startswith("usage: credo")
    assert "Traceback" not in err
    return err


# ------------------------------------------------------------------ info
def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"credo {credo.__version__}"


def test_info_json_asia(capsys, asia):
    data = run_json(capsys, "info", ASIA)
    assert data["type"] == "BayesianNetwork"
    assert (data["num_nodes"], data["num_edges"], data["num_parameters"]) == (8, 8, 18)
    assert data["treewidth"]["estimate"] == 2
    assert [v["name"] for v in data["variables"]] == list(asia.variables)
    dysp = next(v for v in data["variables"] if v["name"] == "dysp")
    assert dysp == {"name": "dysp", "states": ["yes", "no"], "parents": list(asia.parents("dysp"))}


def test_info_treewidth_is_the_smaller_induced_width(capsys, clinic_file):
    model = credo.read_bif(clinic_file)
    widths = {h: credo.elimination_order(model, h).induced_width for h in ("min-fill", "min-degree")}
    tw = run_json(capsys, "info", clinic_file)["treewidth"]
    assert tw["estimate"] == min(widths.values())
    assert widths[tw["heuristic"]] == tw["estimate"]
    assert (tw["min_fill"], tw["min_degree"]) == (widths["min-fill"], widths["min-degree"])


def test_info_human_asia(capsys):
    code, out, _ = run(capsys, "info", ASIA)
    assert code == 0
    assert "18 free" in out
    assert "<= 2" in out
    dysp_row = next(line for line in out.splitlines() if line.startswith("dysp"))
    assert "yes, no" in dysp_row and "bronc, either" in dysp_row


def test_info_markov_network_counts_factors(capsys):
    model, _ = credo.read_uai(PROMEDUS)
    data = run_json(capsys, "info", PROMEDUS)
    assert data["type"] == "MarkovNetwork"
    assert "num_parameters" not in data
    assert data["num_factors"] == len(model.factors)
    assert data["num_table_entries"] == sum(f.values.size for f in model.factors)


# ------------------------------------------------------------------ query
def test_query_json_shape_and_numbers(capsys, clinic_file):
    data = run_json(capsys, "query", clinic_file, "--evidence", "Cough=yes", "Fever=no")
    assert set(data) == {"log_evidence", "marginals"}
    model = credo.read_bif(clinic_file)
    expected = credo.query(model, evidence={"Cough": "yes", "Fever": "no"}).to_dict()
    assert data == expected
    assert set(data["marginals"]) == set(model.variables) - {"Cough", "Fever"}


def test_query_evidence_flag_forms_agree(capsys):
    together = run_json(capsys, "query", ASIA, "--evidence", "smoke=yes", "xray=yes")
    repeated = run_json(capsys, "query", ASIA, "--evidence", "smoke=yes", "--evidence", "xray=yes")
    short = run_json(capsys, "query", ASIA, "-e", "xray=yes", "-e", "smoke=yes")
    assert together == repeated == short


def test_query_targets(capsys):
    data = run_json(capsys, "query", ASIA, "-e", "dysp=yes", "--target", "lung", "--target", "bronc,tub")
    assert set(data["marginals"]) == {"lung", "bronc", "tub"}


def test_query_human_output_has_the_numbers(capsys, asia):
    result = credo.query(asia, evidence={"either": "no"}, method="ve")
    code, out, _ = run(capsys, "query", ASIA, "--evidence", "either=no", "--method", "ve")
    assert code == 0
    assert "ln P(e)" in out and repr(result.log_evidence) in out
    assert f"{result.marginals['bronc']['yes']:.6f}" in out
    assert f"{result.marginals['asia']['no']:.6f}" in out


def test_query_state_containing_equals_sign(capsys, tmp_path):
    # States may contain '=', so VAR=STATE splits at the first '='.
    v = credo.TabularCPD("V", ["x=1", "x=2"], [0.3, 0.7])
    w = credo.TabularCPD("W", ["p", "q"], [[0.9, 0.1], [0.2, 0.8]], parents=["V"])
    path = tmp_path / "eq.xml"
    credo.write_xmlbif(credo.BayesianNetwork(cpds=[v, w]), path)
    data = run_json(capsys, "query", path, "--evidence", "V=x=2")
    assert data["marginals"]["W"]["q"] == pytest.approx(0.8, abs=1e-12)


def test_query_uai_integer_names_and_evid_file(capsys):
    evid = PROMEDUS + ".evid"
    model, file_evidence = credo.read_uai(PROMEDUS, evid)
    expected = credo.query(model, targets=[0, 1], evidence={**file_evidence, 3: 1}).to_dict()
    data = run_json(capsys, "query", PROMEDUS, "--evid", evid, "--evidence", "3=1", "--target", "0", "1")
    assert data == expected


def test_query_and_mpe_soft_evidence(capsys, asia):
    soft = {"either": [0.9, 0.1], "asia": [0.3, 0.6]}
    expected = credo.query(asia, evidence={"dysp": "yes"}, soft_evidence=soft, method="ve").to_dict()
    data = run_json(capsys, "query", ASIA, "-e", "dysp=yes", "--soft", "either=0.9,0.1", "-s", "asia=0.3,0.6")
    assert data["log_evidence"] == pytest.approx(expected["log_evidence"], rel=1e-12)
    assert data["marginals"]["lung"]["yes"] == pytest.approx(expected["marginals"]["lung"]["yes"], rel=1e-12)
    code, out, _ = run(capsys, "mpe", ASIA, "-s", "either=0.9,0.1")
    assert code == 0 and "soft      either=0.9,0.1" in out
    assert repr(credo.mpe(asia, soft_evidence={"either": [0.9, 0.1]}).log_joint) in out
    assert "needs 2 entries" in assert_user_error(capsys, "query", ASIA, "-s", "either=0.9")
    assert "VAR=W1,W2" in assert_user_error(capsys, "query", ASIA, "-s", "either=yes,no")
    assert "two soft" in assert_user_error(capsys, "query", ASIA, "-s", "asia=1,1", "asia=1,2")
    assert "method='jt' and 've'" in assert_user_error(capsys, "query", ASIA, "-s", "asia=1,1", "--method", "bp")


# ------------------------------------------------------------------ mpe
def test_mpe_json_shape_and_numbers(capsys, asia):
    data = run_json(capsys, "mpe", ASIA, "--evidence", "dysp=yes")
    assert set(data) == {"log_joint", "assignment"}
    expected = credo.mpe(asia, {"dysp": "yes"})
    assert data == expected.to_dict()
    assert asia.log_prob(data["assignment"]) == pytest.approx(data["log_joint"], abs=1e-12)


def test_mpe_human(capsys, asia):
    expected = credo.mpe(asia, {"dysp": "yes"})
    code, out, _ = run(capsys, "mpe", ASIA, "-e", "dysp=yes")
    assert code == 0
    assert repr(expected.log_joint) in out
    dysp_row = next(line for line in out.splitlines() if line.startswith("dysp"))
    assert dysp_row.split() == ["dysp", "yes", "evidence"]


# ------------------------------------------------------------------ dsep
def test_dsep_separated(capsys):
    assert run_json(capsys, "dsep", ASIA, "asia", "smoke") == {"d_separated": True, "open_path": None}
    code, out, _ = run(capsys, "dsep", ASIA, "asia", "smoke")
    assert code == 0 and "asia and smoke are d-separated given {}" in out


def test_dsep_open_path_json(capsys, asia):
    data = run_json(capsys, "dsep", ASIA, "asia", "smoke", "--given", "either")
    assert set(data) == {"d_separated", "open_path"}
    assert data["d_separated"] is False
    assert data["open_path"] == list(asia.explain_dependence("asia", "smoke", ["either"]).nodes)


def test_dsep_sets_and_human_explanation(capsys, asia):
    path = asia.explain_dependence(["asia", "tub"], ["smoke"], ["dysp"])
    code, out, _ = run(capsys, "dsep", ASIA, "asia,tub", "smoke", "-g", "dysp")
    assert code == 0
    assert "{asia, tub} and smoke are d-connected given {dysp}" in out
    assert str(path) in out  # the trail with its arrows
    for step in path.steps:
        assert step.kind in out and step.reason in out


# ------------------------------------------------------------------ errors
def test_unknown_variable_lists_valid_ones(capsys):
    err = assert_user_error(capsys, "query", ASIA, "--evidence", "smokes=yes")
    assert "'smokes'" in err and "'smoke'" in err and "'dysp'" in err


def test_unknown_state_lists_valid_ones(capsys):
    err = assert_user_error(capsys, "mpe", ASIA, "--evidence", "smoke=maybe")
    assert "'maybe'" in err and "'yes'" in err and "'no'" in err


def test_unknown_target_and_dsep_node(capsys):
    assert "'nope'" in assert_user_error(capsys, "query", ASIA, "--target", "nope")
    assert "'nope'" in assert_user_error(capsys, "dsep", ASIA, "asia", "nope")


def test_malformed_file_shows_line_and_column(capsys, tmp_path):
    bad = tmp_path / "bad.bif"
    bad.write_text("network x {\n}\nvariable a {\n  type discrete [ 2 ] { y, n };\n}\nprobability ( a ) {\n"
                   "  table 0.5 0.5 ;\n  oops\n}\n")
    model_error = assert_user_error(capsys, "info", bad)
    assert f"{bad}:8:" in model_error


def test_missing_file_and_unknown_extension(capsys, tmp_path):
    assert "No such file" in assert_user_error(capsys, "info", tmp_path / "missing.bif")
    assert "extension" in assert_user_error(capsys, "info", tmp_path / "model.txt")


def test_impossible_evidence(capsys):
    err = assert_user_error(capsys, "query", ASIA, "-e", "either=no", "tub=yes")
    assert "probability zero" in err


def test_conflicting_evidence_and_bad_item(capsys):
    assert "two states" in assert_user_error(capsys, "query", ASIA, "-e", "asia=yes", "asia=no")
    assert "VAR=STATE" in assert_user_error(capsys, "query", ASIA, "-e", "asia")


def test_dsep_needs_a_bayesian_network(capsys):
    assert "Bayesian network" in assert_user_error(capsys, "dsep", PROMEDUS, "0", "1")


# ------------------------------------------------------------------ real processes
def _credo_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m credo.cli``."""
    script = Path(sys.executable).with_name("credo")
    if script.exists():
        return [str(script)]
    found = shutil.which("credo")
    return [found] if found else [sys.executable, "-m", "credo.cli"]


def test_executable_query_json(asia):
    proc = subprocess.run([*_credo_command(), "query", ASIA, "--evidence", "either=no", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == credo.query(asia, evidence={"either": "no"}).to_dict()


def test_module_entry_point_error_exits_2():
    proc = subprocess.run([sys.executable, "-m", "credo.cli", "query", ASIA, "-e", "smoke=maybe"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("credo: error: unknown state 'maybe'")
    assert "Traceback" not in proc.stderr


def test_cli_import_does_not_load_heavy_modules():
    # JAX alone costs seconds of startup; the CLI must not pay it.
    code = "import sys, credo.cli; print(sorted(m for m in ('jax', 'matplotlib', 'pandas') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_shipped_networks_by_name(capsys, tmp_path, monkeypatch):
    """Issue 21: `credo query alarm ...` works where no file is prepared."""
    monkeypatch.chdir(tmp_path)
    assert main(["query", "alarm", "--evidence", "HRBP=HIGH", "BP=LOW", "--target", "HYPOVOLEMIA", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = credo.query(credo.examples.network("alarm"), ["HYPOVOLEMIA"], {"HRBP": "HIGH", "BP": "LOW"})
    assert got["marginals"]["HYPOVOLEMIA"]["TRUE"] == pytest.approx(want.marginals["HYPOVOLEMIA"]["TRUE"])
    assert main(["dsep", "clinic", "Cold", "Flu", "--given", "Cough"]) == 0
    assert "d-connected" in capsys.readouterr().out
    assert main(["info", "alrm"]) == 2
    assert "did you mean 'alarm'" in capsys.readouterr().err


@pytest.mark.parametrize("name", credo.examples.NETWORK_NAMES)
def test_every_shipped_network_loads(name):
    model = credo.examples.network(name)
    assert model.name == name and len(model.variables) >= 5


def test_belief_propagation_output_says_it_is_approximate(capsys):
    assert main(["query", "alarm", "--evidence", "HRBP=HIGH", "--target", "HR", "--method", "bp"]) == 0
    assert "approximate" in capsys.readouterr().out
    assert main(["query", "alarm", "--target", "HR", "--method", "bp", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["approximate"] is True


def test_evidence_flag_before_the_file_does_not_swallow_it(capsys):
    """Issue 21: `credo query -e HRBP=HIGH alarm` read 'alarm' as a second evidence pair."""
    assert main(["query", "-e", "HRBP=HIGH", "BP=LOW", "alarm", "-t", "HYPOVOLEMIA", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["query", "alarm", "--evidence", "HRBP=HIGH", "BP=LOW", "--target", "HYPOVOLEMIA", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == first
    assert main(["mpe", "-s", "Fever=0.9,0.1", "clinic", "--json"]) == 0
