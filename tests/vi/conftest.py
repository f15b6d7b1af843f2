"""Session fixtures for the VI tests: the closed-form regression of :mod:`tests.vi.regression`."""

import pytest

import credo.ppl as ppl
from tests.vi.regression import X, Y, regression


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: long-running test (deselect with -m \"not slow\")")


@pytest.fixture(scope="session")
def regression_ld():
    """The compiled regression (shared, so compiled programs are reused across modules)."""
    return ppl.logdensity(regression, {"x": X, "y": Y})


@pytest.fixture(scope="session")
def fullrank(regression_ld):
    """Full-rank ADVI of the regression, seed 0."""
    from credo.vi import advi

    return advi(regression_ld, family="fullrank", progress=False, seed=0)
