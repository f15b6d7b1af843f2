"""Independent references for the tests: random models and brute-force enumeration."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

import credo


def random_bayesian_network(rng: np.random.Generator, num_nodes: int, max_parents: int = 3,
                            max_states: int = 3, zero_fraction: float = 0.0) -> credo.BayesianNetwork:
    """A random DAG over ``v0..v{n-1}`` (edges from lower to higher index) with random CPTs."""
    cards = rng.integers(2, max_states + 1, size=num_nodes)
    cpds = []
    for i in range(num_nodes):
        candidates = list(range(i))
        k = int(rng.integers(0, min(max_parents, i) + 1))
        parents = sorted(rng.choice(candidates, size=k, replace=False).tolist()) if k else []
        shape = tuple(int(cards[p]) for p in parents) + (int(cards[i]),)
        table = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1]) if shape[:-1] else rng.dirichlet(np.ones(shape[-1]))
        if zero_fraction:
            mask = rng.random(table.shape) < zero_fraction
            table = np.where(mask, 0.0, table)
            table[..., 0] += 1e-12  # keep every row non-empty
            table = table / table.sum(axis=-1, keepdims=True)
        states = [f"s{j}" for j in range(cards[i])]
        cpds.append(credo.TabularCPD(f"v{i}", states, table, parents=[f"v{p}" for p in parents]))
    return credo.BayesianNetwork(cpds=cpds)


def random_markov_network(rng: np.random.Generator, num_nodes: int, num_factors: int,
                          max_scope: int = 3) -> credo.MarkovNetwork:
    cards = rng.integers(2, 4, size=num_nodes)
    names = [f"u{i}" for i in range(num_nodes)]
    states = {n: [f"t{j}" for j in range(c)] for n, c in zip(names, cards)}
    factors = [credo.DiscreteFactor([n], rng.gamma(1.0, size=c), states) for n, c in zip(names, cards)]
    for _ in range(num_factors):
        k = int(rng.integers(1, max_scope + 1))
        scope = sorted(rng.choice(num_nodes, size=k, replace=False).tolist())
        shape = tuple(int(cards[i]) for i in scope)
        factors.append(credo.DiscreteFactor([names[i] for i in scope], rng.gamma(1.0, size=shape) * 3, states))
    return credo.MarkovNetwork(factors, variables=names)


def brute_force_joint(model) -> np.ndarray:
    """Unnormalized joint over ``model.variables`` by multiplying every factor entry by entry."""
    variables = list(model.variables)
    shape = [model.cardinality(v) for v in variables]
    joint = np.ones(shape)
    for index in itertools.product(*map(range, shape)):
        assignment = dict(zip(variables, index))
        value = 1.0
        for factor in model.factors:
            value *= factor.values[tuple(assignment[v] for v in factor.variables)]
        joint[index] = value
    return joint


def brute_force_query(model, evidence: dict):
    """(marginals, log_evidence, max log joint) by enumeration."""
    variables = list(model.variables)
    joint = brute_force_joint(model)
    index = tuple(model.state_index(v, evidence[v]) if v in evidence else slice(None) for v in variables)
    mask = np.zeros_like(joint, dtype=bool)
    mask[index] = True
    restricted = np.where(mask, joint, 0.0)
    total = restricted.sum()
    marginals = {}
    for axis, v in enumerate(variables):
        if v in evidence:
            continue
        other = tuple(a for a in range(len(variables)) if a != axis)
        m = restricted.sum(axis=other) / total if total > 0 else None
        marginals[v] = m
    with np.errstate(divide="ignore"):
        return marginals, np.log(total), np.log(restricted.max())


def random_evidence(rng: np.random.Generator, model, k: int) -> dict:
    """Hard evidence on ``k`` distinct random variables, each in a random state."""
    chosen = rng.choice(len(model.variables), size=k, replace=False)
    return {model.variables[i]: model.states(model.variables[i])[rng.integers(model.cardinality(model.variables[i]))]
            for i in chosen}


def read_mar(path) -> list[np.ndarray]:
    """The marginals of a UAI ``.MAR`` solution file: one array per variable, in file order."""
    tokens = Path(path).read_text().split()
    assert tokens[0] == "MAR"
    out, i = [], 2
    for _ in range(int(tokens[1])):
        k = int(tokens[i])
        out.append(np.array(tokens[i + 1:i + 1 + k], dtype=float))
        i += 1 + k
    return out
