"""Same seed, same numbers: every sampler and optimiser against results recorded before a refactor.

The references (``tests/data/golden_draws.npz``) were written by
``python -m tests.golden.record`` at commit 93c4c0e, before issue 20 merged
the samplers' duplicated code paths; a refactor that changes no behaviour
leaves every draw and every ELBO bit for bit the same.
"""

import numpy as np
import pytest

from .record import PATH, runs

RUNS = runs()


@pytest.fixture(scope="module")
def reference():
    with np.load(PATH) as f:
        return {key: f[key] for key in f.files}


@pytest.mark.slow
@pytest.mark.parametrize("run", sorted(RUNS))
def test_same_seed_gives_the_recorded_numbers(run, reference):
    expected = {key.split("::", 1)[1]: value for key, value in reference.items()
                if key.split("::", 1)[0] == run}
    assert expected, f"no reference recorded for {run}"
    got = RUNS[run]()
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(np.asarray(got[key]), value, err_msg=f"{run}: {key}")
