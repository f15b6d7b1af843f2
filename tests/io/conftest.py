"""Shared fixtures of the file-format tests: data paths and model comparison."""

from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def assert_same_network():
    """Check two Bayesian networks have the same variables, states, parents and exact tables."""

    def check(expected, actual):
        assert actual.variables == expected.variables
        for v in expected.variables:
            assert actual.states(v) == expected.states(v), v
            assert actual.parents(v) == expected.parents(v), v
            np.testing.assert_array_equal(actual.cpd(v).table, expected.cpd(v).table, err_msg=str(v))

    return check
