"""graphs.ancestral_set: the one "node and its ancestors" closure of the library."""

import networkx as nx

import credo
from credo.graphs import ancestral_set


def test_closure_of_a_dag_matches_networkx():
    graph = nx.gn_graph(60, seed=3).reverse()  # a random DAG, edges parent -> child
    for nodes in ([0], [5, 17], [59, 3, 40], []):
        expected = set(nodes).union(*(nx.ancestors(graph, n) for n in nodes))
        assert ancestral_set(graph.predecessors, nodes) == expected


def test_nodes_are_included_and_shared_ancestors_visited_once():
    calls = []
    parents = {"a": [], "b": ["a"], "c": ["a", "b"], "d": ["c"], "e": []}

    def parents_of(node):
        calls.append(node)
        return parents[node]

    assert ancestral_set(parents_of, ["d", "e", "d"]) == {"a", "b", "c", "d", "e"}
    assert sorted(calls) == ["a", "b", "c", "d", "e"]  # each node expanded once


def test_rooted_tree_given_as_parent_array():
    parent = [-1, 0, 0, 1, 3]
    assert ancestral_set(lambda i: () if parent[i] < 0 else (parent[i],), [4]) == {0, 1, 3, 4}


def test_model_parents():
    bn = credo.examples.clinic()
    every = ancestral_set(bn.parents, bn.variables)
    assert every == set(bn.variables)
