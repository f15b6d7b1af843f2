"""The samplers' set-up checks the tables (and state arrays) it builds against the same memory limit as
the exact engines, and refuses with the same ContractionTooLargeError (issue 19, item 8).

Before: Gibbs sampling with a large ``max_table_size`` tabulated a 32 GiB blanket table of the dense
network, ``batch_size`` and ``num_samples`` sized arrays without a look, and none took ``memory_limit``.
The refusals on the dense network run in a subprocess under RLIMIT_AS (``tests/limits.py``); importing
``credo.sampling`` does not import JAX, so the default 2 GiB cap holds.
"""

from __future__ import annotations

import pytest

import credo
from credo.errors import ContractionTooLargeError
from credo.sampling import forward_sample, gibbs_sampling, likelihood_weighting, rejection_sampling
from tests.exact.test_memory_budget import REFUSAL, assert_refused_on_the_dense_network, dense_network

PATHS = {
    "gibbs blanket tables": "credo.query(m, ['X59'], method='gibbs', num_samples=100, seed=0, max_table_size=2**60)",
    "gibbs chains": "credo.query(m, ['X59'], method='gibbs', num_samples=100, seed=0, num_chains=10**9)",
    "forward sampling": "from credo.sampling import forward_sample; forward_sample(m, 10**10, seed=0)",
    "likelihood weighting": "credo.query(m, ['X59'], {'X0': 'a'}, method='lw', num_samples=10**12, "
                            "batch_size=10**11, seed=0)",
    "rejection": "credo.query(m, ['X59'], method='rejection', num_samples=10**12, batch_size=10**11, seed=0)",
}


@pytest.mark.parametrize("name", list(PATHS))
def test_sampler_setup_refuses_within_limits(name):
    assert_refused_on_the_dense_network(PATHS[name])


def test_samplers_answer_the_dense_network_with_their_defaults():
    # Their tables are the CPTs (2^9 entries) and small blankets: nothing to refuse.
    m = dense_network()
    for method in ("lw", "rejection", "gibbs"):
        result = credo.query(m, ["X59"], method=method, num_samples=2000, seed=0)
        assert sum(result.marginals["X59"].values()) == pytest.approx(1.0)
    assert forward_sample(m, 10, seed=0).shape == (10, 60)


SPRINKLER = credo.examples.sprinkler()


@pytest.mark.filterwarnings("ignore::credo.sampling.SamplingWarning")  # short chains: only the set-up matters
@pytest.mark.parametrize("call", [
    lambda lim: gibbs_sampling(SPRINKLER, ["Rain"], num_samples=200, seed=0, memory_limit=lim),
    lambda lim: likelihood_weighting(SPRINKLER, ["Rain"], {"WetGrass": "yes"}, num_samples=200, seed=0,
                                     memory_limit=lim),
    lambda lim: rejection_sampling(SPRINKLER, ["Rain"], num_samples=200, seed=0, memory_limit=lim),
    lambda lim: forward_sample(SPRINKLER, 200, seed=0, memory_limit=lim),
    lambda lim: credo.query(SPRINKLER, ["Rain"], method="lw", num_samples=200, seed=0, memory_limit=lim),
], ids=["gibbs", "lw", "rejection", "forward", "query lw"])
def test_samplers_obey_memory_limit(call):
    with pytest.raises(ContractionTooLargeError) as info:
        call(100)
    error = info.value
    assert error.limit_bytes == 100 and REFUSAL.search(str(error))
    assert "Try a better order" not in str(error)  # advice for samplers, not for elimination
    assert call(error.needed_bytes) is not None


def test_gibbs_blanket_tables_obey_memory_limit_and_max_table_size_avoids_them():
    ising = credo.MarkovNetwork.ising(3, 3, coupling=0.3)
    with pytest.raises(ContractionTooLargeError, match="blanket tables.*Lower max_table_size"):
        gibbs_sampling(ising, num_samples=100, seed=0, num_chains=2, memory_limit=3_000)
    # Not tabulating (every blanket above max_table_size) needs no tables: the same limit suffices.
    result = gibbs_sampling(ising, num_samples=100, seed=0, num_chains=2, max_table_size=1, memory_limit=3_000)
    assert sum(result.marginals["x_1_1"].values()) == pytest.approx(1.0)
