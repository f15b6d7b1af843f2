"""The `make demo` story: it runs, and its numbers are credo's."""

import re
import subprocess
import sys

import pytest

import credo
from credo import demo


@pytest.fixture(scope="module")
def output():
    lines = []
    demo.main(write=lines.append)
    return "\n".join(lines)


def _printed(text, label):
    """The number printed after ``label =`` (label taken literally)."""
    match = re.search(re.escape(label) + r"\s*=\s*([0-9.]+)", text)
    assert match, f"{label!r} not found in the demo output"
    return float(match[1])


def test_main_prints_to_stdout(capsys):
    demo.main()
    out = capsys.readouterr().out
    assert "explain" in out.lower()
    assert out.count("\n") > 20


def test_network_and_parameter_counts(output):
    clinic = credo.examples.clinic()
    for v in clinic.variables:
        assert v in output
    assert "13 for the network" in output
    assert "127 for the full" in output


def test_numbers_come_from_credo(output):
    clinic = credo.examples.clinic()

    def p_flu(**evidence):
        return credo.query(clinic, ["Flu"], evidence).marginals["Flu"]["yes"]

    expected = {
        "P(Flu=yes)": p_flu(),
        "P(Flu=yes | Cough=yes)": p_flu(Cough="yes"),
        "P(Flu=yes | Cough=yes, Cold=yes)": p_flu(Cough="yes", Cold="yes"),
        "P(Flu=yes | Cough=yes, Cold=no)": p_flu(Cough="yes", Cold="no"),
    }
    for label, value in expected.items():
        assert _printed(output, label) == pytest.approx(value, abs=5e-5)
        assert f"{value:.4f}" in output
    # The reference values of the article's clinic network.
    assert _printed(output, "P(Flu=yes | Cough=yes)") == pytest.approx(0.2109, abs=1e-4)


def test_explaining_away(output):
    prior = _printed(output, "P(Flu=yes)")
    cough = _printed(output, "P(Flu=yes | Cough=yes)")
    cough_cold = _printed(output, "P(Flu=yes | Cough=yes, Cold=yes)")
    assert cough > prior  # the symptom raises the belief
    assert cough_cold < cough  # a known cold explains the cough away
    assert "collider" in output


def test_dseparation_section(output):
    assert "d-separated given nothing" in output
    assert "Cold -> Cough <- Flu" in output
    assert "Cough is observed, which opens it" in output


def test_mpe_section(output):
    result = credo.mpe(credo.examples.clinic(), {"Cough": "yes", "Fever": "yes"})
    assert f"{result.log_joint:.4f}" in output
    hidden = ", ".join(f"{v}={s}" for v, s in result.assignment.items() if v not in result.evidence)
    assert hidden in output
    assert "Flu=yes" in hidden


def test_story_object():
    story = demo.compute_story()
    assert story.marginally_separated
    assert story.p_flu_cold == pytest.approx(story.p_flu)
    assert story.p_flu_cough_cold < story.p_flu_cough < story.p_flu_cough_no_cold
    assert story.open_path.nodes == ("Cold", "Cough", "Flu")


def test_runs_as_module_without_jax():
    # `make demo` runs `python -m credo.demo`; it must not pay for JAX.
    code = ("import runpy, sys; runpy.run_module('credo.demo', run_name='__main__'); "
            "print('JAX' if 'jax' in sys.modules else 'NOJAX')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Explaining away" in done.stdout
    assert done.stdout.strip().endswith("NOJAX")
