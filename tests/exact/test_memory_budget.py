"""Every exact path estimates its largest table from its plan and refuses, before allocating, what would
not fit: the same ContractionTooLargeError with the same message (issue 19, item 8).

The network that showed the defect: 60 binary variables, each with 8 random earlier parents. Its
treewidth is near 40, so every exact method needs terabytes; the junction tree and the contraction
refused at once, while ``credo.mpe``, ``method="ve"`` (with or without ``joint=True``) and
``MarkovNetwork.log_partition`` allocated until numpy failed (4 to 16 GiB, after 5 to 15 s). The
refusals run in a subprocess under RLIMIT_AS (``tests/limits.py``), so a regression fails the test
instead of exhausting the machine.
"""

from __future__ import annotations

import itertools
import re
import textwrap
import tracemalloc

import numpy as np
import pytest

import credo
from credo.errors import ContractionTooLargeError, CredoError
from credo.exact import elimination as ve
from credo.exact.belief_propagation import belief_propagation, max_product
from tests.limits import run_limited

#: Builds the dense network; run here and in the limited subprocesses.
DENSE = textwrap.dedent('''
    import numpy as np
    from credo import BayesianNetwork, TabularCPD

    def dense_network(n=60, parents=8, seed=0):
        """n binary variables X0..X{n-1}; each has min(i, parents) random earlier parents and a random CPT."""
        rng = np.random.default_rng(seed)
        cpds = []
        for i in range(n):
            chosen = sorted(rng.choice(i, size=min(i, parents), replace=False)) if i else []
            table = rng.dirichlet([1.0, 1.0], size=2 ** len(chosen)).reshape((2,) * len(chosen) + (2,))
            cpds.append(TabularCPD(f"X{i}", ["a", "b"], table, parents=[f"X{j}" for j in chosen]))
        return BayesianNetwork(cpds=cpds)
''')
exec(DENSE)  # defines dense_network here too

#: The one message format of a refusal, whichever engine refuses.
REFUSAL = re.compile(r"would need about [\d.e+]+ [KMGTP]?i?B \(largest table [\d.e+]+ entries, 2\^\d+\), more than "
                     r"the limit of [\d.e+]+ [KMGTP]?i?B; refused before allocating\. \S")

#: Each exact path on the dense network, as a statement (``m`` is the network).
PATHS = {
    "ve marginal": "credo.query(m, ['X59'], method='ve')",
    "ve all marginals": "credo.exact.variable_elimination(m)",
    "ve joint": "credo.query(m, ['X58', 'X59'], method='ve', joint=True)",
    "auto joint (ve)": "credo.query(m, ['X58', 'X59'], joint=True)",
    "ve explicit order": "credo.query(m, ['X59'], elimination_order=list(m.variables))",
    "mpe": "credo.mpe(m)",
    "mpe min-degree": "credo.mpe(m, elimination_order='min-degree')",
    "mpe explicit order": "credo.mpe(m, elimination_order=list(m.variables))",
    "mpe with evidence": "credo.mpe(m, {'X59': 'a'})",
    "ln P(e)": "credo.exact.log_partition(m, {'X59': 'a'})",
    "MarkovNetwork.log_partition": "m.to_markov_network().log_partition()",
    "MarkovNetwork ve": "credo.query(m.to_markov_network(), ['X59'], method='ve')",
    "junction tree": "credo.query(m, ['X59'])",
    "contract": "credo.query(m, ['X59'], method='contract')",
}


def assert_refused_on_the_dense_network(call: str) -> None:
    """``call`` (source, with the dense network as ``m``) ends in the common refusal, under the harness's caps."""
    run = run_limited(DENSE + "\nimport credo\nm = dense_network()\n" + call, timeout=60)
    assert run.raised == "ContractionTooLargeError", (run.raised, run.message, run.stderr[-2000:])
    assert REFUSAL.search(run.message), run.message


@pytest.mark.parametrize("name", list(PATHS))
def test_every_exact_path_refuses_the_dense_network_within_limits(name):
    # Before the fix: numpy MemoryError ("Unable to allocate 2.00/4.00 GiB" under the 2 GiB cap) after
    # 4-16 s for every path but the junction tree and contraction.
    assert_refused_on_the_dense_network(PATHS[name])


def _refusal(call) -> ContractionTooLargeError:
    with pytest.raises(ContractionTooLargeError) as info:
        call()
    error = info.value
    assert isinstance(error, CredoError) and isinstance(error, MemoryError)
    assert REFUSAL.search(str(error)), str(error)
    return error


SMALL = credo.MarkovNetwork.ising(4, 4, coupling=0.4, field=0.1)


@pytest.mark.parametrize("call", [
    lambda lim: ve.variable_elimination(SMALL, memory_limit=lim),
    lambda lim: ve.variable_elimination(SMALL, ["x_0_0", "x_3_3"], joint=True, memory_limit=lim),
    lambda lim: ve.log_partition(SMALL, memory_limit=lim),
    lambda lim: SMALL.log_partition(memory_limit=lim),
    lambda lim: ve.mpe(SMALL, memory_limit=lim),
    lambda lim: credo.query(SMALL, ["x_1_1"], method="ve", memory_limit=lim),
    lambda lim: belief_propagation(SMALL, memory_limit=lim),
    lambda lim: max_product(SMALL, memory_limit=lim),
    lambda lim: credo.query(SMALL, ["x_1_1"], method="bp", memory_limit=lim),
], ids=["ve", "ve joint", "log_partition", "MarkovNetwork.log_partition", "mpe", "query ve", "bp", "max-product",
        "query bp"])
def test_memory_limit_is_the_same_limit_everywhere(call):
    # The limit a user sets (as for JunctionTree and Contraction) is obeyed; a sufficient one answers.
    error = _refusal(lambda: call(1000))
    assert error.limit_bytes == 1000 and error.needed_bytes > 1000
    assert call(error.needed_bytes) is not None
    with pytest.raises(ContractionTooLargeError):
        call(error.needed_bytes - 1)


def test_memory_limit_must_be_a_byte_count():
    with pytest.raises(credo.ArgumentError, match="memory_limit"):
        ve.log_partition(SMALL, memory_limit=-1)
    with pytest.raises(credo.ArgumentError, match="memory_limit"):
        ve.log_partition(SMALL, memory_limit="1 GiB")


def test_the_largest_table_is_the_elimination_orders():
    # Independent of the planner: the induced width of the order on the interaction graph.
    error = _refusal(lambda: ve.mpe(SMALL, memory_limit=0))
    order = credo.elimination_order(SMALL, "min-fill")
    assert error.largest_entries == order.max_clique_states
    assert f"induced width {order.induced_width}" in str(error)


def test_bp_refuses_a_factor_whose_table_is_too_large_and_names_it():
    # One factor over 16 binary variables (2^16 entries) and a limit of 1 MiB: its copy and the product
    # with the incoming messages need 1.5 MiB. Before: memory_limit was not a parameter (TypeError).
    names = [f"v{i}" for i in range(16)]
    big = credo.DiscreteFactor(names, np.ones((2,) * 16), {v: [0, 1] for v in names})
    model = credo.MarkovNetwork([big, credo.DiscreteFactor(["v0", "w"], np.ones((2, 2)),
                                                           {"v0": [0, 1], "w": [0, 1]})])
    error = _refusal(lambda: belief_propagation(model, memory_limit=2**20))
    assert error.largest_entries == 2**16 and "largest over 16 variables ['v0', 'v1'" in str(error)
    assert "Try a better order" not in str(error)  # belief propagation has no order to try
    # Evidence shrinks the factor: observing 4 of its variables leaves 2^12 entries, which fit.
    result = belief_propagation(model, evidence={f"v{i}": 0 for i in range(4)}, memory_limit=2**20)
    assert result.marginals["w"][0] == pytest.approx(0.5)


# ------------------------------------------------------------------ the estimate is honest
def test_the_estimate_bounds_what_elimination_allocates():
    # tracemalloc sees numpy's allocations: the planned peak must cover them (up to Python's own
    # bookkeeping), and not overstate them wildly, or feasible queries would be refused.
    m = dense_network(26, 8, seed=0)
    calls = [lambda lim: ve.variable_elimination(m, memory_limit=lim),
             lambda lim: ve.variable_elimination(m, ["X25", "X24", "X23"], joint=True, memory_limit=lim),
             lambda lim: ve.mpe(m, {"X3": "b"}, memory_limit=lim),
             lambda lim: ve.log_partition(m.to_markov_network(), memory_limit=lim)]
    for call in calls:
        needed = _refusal(lambda: call(0)).needed_bytes
        tracemalloc.start()
        try:
            call(None)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak <= needed + 256 * 1024, (peak, needed)
        assert needed <= 3 * peak, (peak, needed)


# ------------------------------------------------------------------ evidence reduces the tables
def _brute_force(model, evidence):
    """Every assignment of the unobserved variables, with its log joint probability (vectorized)."""
    free = [v for v in model.variables if v not in evidence]
    grid = np.array(list(itertools.product(range(2), repeat=len(free))), dtype=np.int64)
    columns = {v: grid[:, i] for i, v in enumerate(free)}
    columns.update({v: np.full(len(grid), model.state_index(v, s)) for v, s in evidence.items()})
    log_joint = np.zeros(len(grid))
    for v in model.variables:
        cpd = model.cpd(v)
        log_joint += np.log(cpd.table[tuple(columns[u] for u in cpd.parents) + (columns[v],)])
    return free, grid, log_joint


def test_a_network_too_large_without_evidence_is_answered_with_it():
    # The estimate is made after the evidence is applied: with X0..X44 observed only 15 variables
    # stay free, so the tables are tiny, although the same query without evidence is refused (above).
    m = dense_network()
    evidence = {f"X{i}": "ab"[i % 2] for i in range(45)}
    free, grid, log_joint = _brute_force(m, evidence)
    weights = np.exp(log_joint - log_joint.max())
    posterior = weights / weights.sum()
    log_evidence = float(np.log(weights.sum()) + log_joint.max())

    result = credo.query(m, ["X59", "X50"], evidence, method="ve")
    for v in ("X59", "X50"):
        expected = posterior[grid[:, free.index(v)] == 0].sum()
        assert result.marginals[v]["a"] == pytest.approx(expected, abs=1e-12)
    assert result.log_evidence == pytest.approx(log_evidence, abs=1e-9)
    assert credo.exact.log_partition(m, evidence) == pytest.approx(log_evidence, abs=1e-9)

    joint = credo.query(m, ["X58", "X59"], evidence, joint=True).joint
    for a, b in itertools.product(range(2), repeat=2):
        mask = (grid[:, free.index("X58")] == a) & (grid[:, free.index("X59")] == b)
        assert joint.values[a, b] == pytest.approx(posterior[mask].sum(), abs=1e-12)

    best = credo.mpe(m, evidence)
    assert best.log_joint == pytest.approx(log_joint.max(), abs=1e-9)
    top = grid[int(np.argmax(log_joint))]
    assert all(best.assignment[v] == "ab"[top[i]] for i, v in enumerate(free))


def test_the_cli_prints_the_refusal_without_a_traceback(tmp_path):
    # Before: `credo mpe dense.bif` died with numpy's MemoryError traceback after allocating 4+ GiB.
    path = tmp_path / "dense.bif"
    credo.write_bif(dense_network(), path)
    run = run_limited(f"from credo.cli import main\nraise SystemExit(main(['mpe', {str(path)!r}]))", timeout=60)
    assert (run.raised, run.message) == ("SystemExit", "2"), (run.raised, run.message, run.stderr[-2000:])
    assert run.stderr.startswith("credo: error: the MPE by max-product elimination") and REFUSAL.search(run.stderr)
    assert "Traceback" not in run.stderr


def test_the_joint_tables_over_the_targets_count():
    # 20 independent coins: nothing to eliminate, but the joint over all of them has 2^20 entries
    # (8 MiB, held three times: the product, its normalized copy, the factor's own).
    coins = credo.BayesianNetwork(cpds=[credo.TabularCPD(f"c{i}", [0, 1], [0.5, 0.5]) for i in range(20)])
    targets = list(coins.variables)
    error = _refusal(lambda: ve.variable_elimination(coins, targets, joint=True, memory_limit=16 * 2**20))
    assert error.largest_entries == 2**20 and "the joint of 20 targets" in str(error)
    assert ve.variable_elimination(coins, targets, memory_limit=16 * 2**20).marginals["c7"][1] == 0.5
    joint = ve.variable_elimination(coins, targets[:10], joint=True, memory_limit=16 * 2**20).joint
    assert joint.values.shape == (2,) * 10 and joint.values.sum() == pytest.approx(1.0)


def test_the_front_door_takes_memory_limit_for_every_exact_method():
    clinic = credo.examples.clinic()
    for method in ("auto", "jt", "ve", "contract"):
        with pytest.raises(credo.ContractionTooLargeError):
            credo.query(clinic, ["Flu"], {"Cough": "yes"}, method=method, memory_limit=8)
        assert credo.query(clinic, ["Flu"], method=method, memory_limit=10**9).marginals["Flu"]["yes"] == \
            pytest.approx(0.05)
    with pytest.raises(credo.ContractionTooLargeError):
        credo.mpe(clinic, {"Cough": "yes"}, memory_limit=8)
    with pytest.raises(credo.ContractionTooLargeError):
        credo.mpe(clinic, [{"Cough": "yes"}], memory_limit=8)


def test_the_default_limit_sees_the_address_space_cap():
    from tests.limits import run_limited

    done = run_limited("""
        from credo.factors.budget import available_memory
        assert available_memory() < 2 * 1024**3, available_memory()
    """, timeout=60)
    assert done.raised == "none", done.stdout + done.stderr
