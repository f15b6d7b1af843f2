"""fit_em checks its data and arguments before any JAX work, and fits a bare structure."""

import math

import numpy as np
import pandas as pd
import pytest

import credo
from credo.errors import ArgumentError, UnknownVariableError
from credo.learn import fit_em


@pytest.fixture(scope="module")
def sprinkler():
    return credo.examples.sprinkler()


@pytest.fixture(scope="module")
def data(sprinkler):
    return sprinkler.sample(200, seed=0)


@pytest.mark.parametrize("empty", ["frame", "bare_frame", "list"])
def test_data_without_rows_is_refused(sprinkler, data, empty):
    # main: ZeroDivisionError from inside JAX for the frame, a silent 'converged' fit otherwise
    rows = {"frame": data.iloc[:0], "bare_frame": pd.DataFrame(), "list": []}[empty]
    with pytest.raises(ArgumentError, match="no rows") as info:
        fit_em(sprinkler, rows)
    assert info.value.argument == "data"


def test_data_with_nothing_observed_is_refused(sprinkler, data):
    hidden = data.astype(object)
    hidden.loc[:, :] = None
    for rows in (hidden, [{}, {"Rain": None}]):
        with pytest.raises(ArgumentError, match="no observed value"):
            fit_em(sprinkler, rows)


def test_columns_that_are_not_variables_are_named(sprinkler, data):
    with pytest.raises(UnknownVariableError, match="'Rainfall'.*did you mean 'Rain'"):
        fit_em(sprinkler, data.rename(columns={"Rain": "Rainfall"}))


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"max_iterations": -1}, "max_iterations"), ({"max_iterations": 2.5}, "max_iterations"),
    ({"tolerance": math.nan}, "tolerance"), ({"tolerance": -1e-3}, "tolerance"),
    ({"pseudo_count": math.nan}, "pseudo_count"), ({"pseudo_count": -1.0}, "pseudo_count"),
])
def test_bad_numbers_are_argument_errors(sprinkler, data, kwargs, argument):
    with pytest.raises(ArgumentError) as info:
        fit_em(sprinkler, data, **kwargs)
    assert info.value.argument == argument


def test_data_that_is_not_a_table_and_a_mismatched_initial_network(sprinkler, data):
    with pytest.raises(ArgumentError, match="DataFrame"):
        fit_em(sprinkler, None)
    with pytest.raises(ArgumentError, match="initial.*other variables"):
        fit_em(sprinkler, data, initial=credo.examples.clinic())
    flipped = sprinkler.with_cpds([credo.TabularCPD(c.variable, c.states[::-1], c.table, c.parents)
                                   for c in sprinkler.cpds])
    with pytest.raises(ArgumentError, match="initial.*states of 'Cloudy'"):
        fit_em(sprinkler, data, initial=flipped)


def test_a_bare_structure_takes_its_states_from_the_data(data):
    # the structure's own error message sends users to fit_em(network, data); main failed there
    structure = credo.BayesianNetwork(edges=[("Cloudy", "Rain")])
    fitted = fit_em(structure, data[["Cloudy", "Rain"]], max_iterations=3).model
    assert fitted.states("Rain") == ("no", "yes")
    counts = pd.crosstab(data.Cloudy, data.Rain)  # complete data: EM is the counting estimate
    expected = (counts / counts.to_numpy().sum(axis=1, keepdims=True)).loc[["no", "yes"], ["no", "yes"]]
    np.testing.assert_allclose(fitted.cpd("Rain").table, expected.to_numpy(), atol=1e-6)
