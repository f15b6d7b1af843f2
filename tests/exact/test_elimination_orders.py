"""An explicit elimination order with an unknown, repeated or missing variable is refused with a typed
error naming it, wherever an order is taken (issue 19, item 8). Before, VE and MPE skipped unknown and
repeated names silently, and the junction tree said only that the order was wrong."""

from __future__ import annotations

import pytest

import credo
from credo.errors import ModelError, UnknownVariableError
from credo.exact import elimination as ve
from credo.exact.junction_tree import JunctionTree

CLINIC = credo.examples.clinic()
EVIDENCE = {"Cough": "yes"}
#: Every unobserved variable of the clinic given a cough, in a good order.
GOOD = ["Fever", "Fatigue", "Runny", "Allergies", "Cold", "Flu"]

CALLS = {
    "ve": lambda order: ve.variable_elimination(CLINIC, ["Flu"], EVIDENCE, elimination_order=order),
    "ve joint": lambda order: ve.variable_elimination(CLINIC, ["Flu", "Cold"], EVIDENCE, joint=True,
                                                      elimination_order=order),
    "query (auto)": lambda order: credo.query(CLINIC, ["Flu"], EVIDENCE, elimination_order=order),
    "query ve": lambda order: credo.query(CLINIC, ["Flu"], EVIDENCE, method="ve", elimination_order=order),
    "log_partition": lambda order: ve.log_partition(CLINIC, EVIDENCE, elimination_order=order),
    "mpe": lambda order: ve.mpe(CLINIC, EVIDENCE, elimination_order=order),
    "credo.mpe": lambda order: credo.mpe(CLINIC, EVIDENCE, elimination_order=order),
    "query jt": lambda order: credo.query(CLINIC, ["Flu"], EVIDENCE, method="jt",
                                          elimination_order=order + ["Cough"]),
    "JunctionTree": lambda order: JunctionTree(CLINIC, order + ["Cough"]),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_a_good_explicit_order_is_accepted(name):
    assert CALLS[name](GOOD) is not None


@pytest.mark.parametrize("name", list(CALLS))
def test_an_unknown_name_is_an_unknown_variable_error(name):
    with pytest.raises(UnknownVariableError, match="'Coughing'.*did you mean 'Cough'"):
        CALLS[name](GOOD[:3] + ["Coughing"] + GOOD[3:])


@pytest.mark.parametrize("name", list(CALLS))
def test_a_repeated_name_is_a_model_error_naming_it(name):
    with pytest.raises(ModelError, match=r"\['Runny'\] more than once"):
        CALLS[name](GOOD[:4] + ["Runny"] + GOOD[4:])


@pytest.mark.parametrize("name", ["ve", "log_partition", "mpe", "credo.mpe", "query jt", "JunctionTree"])
def test_a_missing_variable_is_a_model_error_naming_it(name):
    # Cold must be summed out (or maximized) for P(Flu | cough), ln P(cough) and the MPE alike.
    with pytest.raises(ModelError, match=r"misses 1 variable\(s\).*\['Cold'\]"):
        CALLS[name]([v for v in GOOD if v != "Cold"])


def test_barren_variables_may_be_left_out_the_summed_out_ones_not():
    # P(Flu | cough) and ln P(cough) sum out Flu, Cold and Allergies only (Fever, Fatigue, Runny are
    # barren): an order naming those suffices, as after pgmpy's pruning; the answer does not depend on it.
    reference = credo.query(CLINIC, ["Flu"], EVIDENCE, method="jt").marginals["Flu"]
    for order in (["Cold", "Allergies", "Flu"], ["Flu", "Allergies", "Cold"], GOOD):
        got = ve.variable_elimination(CLINIC, ["Flu"], EVIDENCE, elimination_order=order).marginals["Flu"]
        assert got == pytest.approx(reference, abs=1e-12)
    # ln P(cough) sums out the target too.
    with pytest.raises(ModelError, match=r"\['Flu'\].*barren ones"):
        ve.variable_elimination(CLINIC, ["Flu"], EVIDENCE, elimination_order=["Allergies", "Cold"])
