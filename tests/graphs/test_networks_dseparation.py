"""d-separation on every bundled reference network, against networkx."""

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import credo

NETWORKS = sorted((Path(__file__).parents[1] / "data" / "networks").glob("*.bif"))


@pytest.mark.parametrize("path", NETWORKS, ids=lambda p: p.stem)
def test_d_separation_agrees_with_networkx(path):
    bn = credo.read_bif(path)
    graph = nx.DiGraph(bn.graph)
    rng = np.random.default_rng(len(bn.variables))
    nodes = list(bn.variables)
    for _ in range(60):
        k = rng.integers(1, min(4, len(nodes) - 2) + 1)
        chosen = rng.choice(len(nodes), size=2 + k, replace=False)
        x, y = {nodes[chosen[0]]}, {nodes[chosen[1]]}
        given = {nodes[i] for i in chosen[2:2 + rng.integers(0, k + 1)]}
        expected = nx.is_d_separator(graph, x, y, given)
        assert bn.is_d_separated(x, y, given) == expected
        path_found = bn.explain_dependence(x, y, given)
        assert (path_found is None) == expected


def test_explaining_away_on_clinic():
    bn = credo.examples.clinic()
    assert bn.is_d_separated("Cold", "Flu")
    assert not bn.is_d_separated("Cold", "Flu", given=["Cough"])
    trail = bn.explain_dependence("Cold", "Flu", given=["Cough"])
    assert trail.nodes == ("Cold", "Cough", "Flu")
    assert trail.steps[0].kind == "collider"
    # and the numbers agree: observing the collider makes the causes dependent
    p = credo.query(bn, ["Flu"], {"Cough": "yes"}).marginals["Flu"]["yes"]
    q = credo.query(bn, ["Flu"], {"Cough": "yes", "Cold": "yes"}).marginals["Flu"]["yes"]
    assert q < p
