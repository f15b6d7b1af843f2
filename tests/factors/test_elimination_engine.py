"""The factor-level elimination engine: checked against brute-force enumeration of the product."""

import itertools
import math

import numpy as np
import pytest

import credo
from credo.errors import ContractionTooLargeError, ImpossibleEvidenceError, ModelError
from credo.factors import DiscreteFactor
from credo.factors import elimination as engine


def _random_network(seed: int, n: int = 6, k: int = 3):
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(n)]
    cards = {v: int(rng.integers(2, k + 1)) for v in names}
    factors = []
    for _ in range(n + 2):
        scope = list(rng.choice(names, size=int(rng.integers(1, 4)), replace=False))
        factors.append(DiscreteFactor(scope, rng.gamma(1.0, size=[cards[v] for v in scope])))
    for v in names:  # every variable in some factor
        factors.append(DiscreteFactor([v], rng.gamma(2.0, size=cards[v])))
    return names, cards, factors


def _brute_force(names, cards, factors, evidence=None):
    evidence = evidence or {}
    total = 0.0
    for values in itertools.product(*(range(cards[v]) for v in names)):
        x = dict(zip(names, values))
        if any(x[v] != s for v, s in evidence.items()):
            continue
        total += math.prod(f.values[tuple(x[v] for v in f.variables)] for f in factors)
    return math.log(total)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("order", ["min-fill", "min-degree", "weighted-min-fill"])
def test_log_partition_matches_enumeration(seed, order):
    names, cards, factors = _random_network(seed)
    expected = _brute_force(names, cards, factors)
    got = engine.log_partition(factors, {v: cards[v] for v in names}, order=order)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_evidence_restricts_the_sum(seed):
    names, cards, factors = _random_network(seed)
    evidence = {"x0": 1, "x3": 0}
    got = engine.log_partition(factors, {v: cards[v] for v in names}, evidence)
    assert got == pytest.approx(_brute_force(names, cards, factors, evidence), rel=1e-12)


def test_the_model_method_and_the_exact_api_run_the_same_engine():
    names, cards, factors = _random_network(7)
    mn = credo.MarkovNetwork(factors)
    evidence = {"x2": 1}
    by_method = mn.log_partition(evidence)
    by_api = credo.exact.log_partition(mn, evidence)
    assert by_method == by_api  # one code path: bitwise equal
    assert by_method == pytest.approx(_brute_force(names, cards, factors, evidence), rel=1e-12)


def test_underflowing_products_are_rerun_in_log_space():
    # 400 factors of 1e-300 each: the linear product underflows, the log-space rerun does not.
    factors = [DiscreteFactor([f"v{i}"], [1e-300, 1e-300]) for i in range(400)]
    cards = {f"v{i}": 2 for i in range(400)}
    got = engine.log_partition(factors, cards)
    assert got == pytest.approx(400 * (math.log(1e-300) + math.log(2)), rel=1e-12)


def test_zero_product_is_impossible_evidence():
    factors = [DiscreteFactor(["a", "b"], [[0.0, 1.0], [0.0, 0.0]]), DiscreteFactor(["b"], [1.0, 0.0])]
    with pytest.raises(ImpossibleEvidenceError):
        engine.log_partition(factors, {"a": 2, "b": 2})


def test_an_explicit_order_must_name_every_summed_variable():
    names, cards, factors = _random_network(1)
    with pytest.raises(ModelError, match="misses"):
        engine.log_partition(factors, {v: cards[v] for v in names}, order=names[:-1])


def test_a_plan_too_large_is_refused_before_allocating():
    cards = {f"v{i}": 2 for i in range(40)}
    # A chain of pairwise factors is cheap; one more factor over 30 variables would be 8 GiB of float64.
    factors = [DiscreteFactor([f"v{i}", f"v{i + 1}"], np.ones((2, 2))) for i in range(39)]
    assert engine.log_partition(factors, cards) == pytest.approx(math.log(2.0 ** 40), rel=1e-12)
    with pytest.raises(ContractionTooLargeError):
        engine.log_partition(factors, cards, memory_limit=1)
