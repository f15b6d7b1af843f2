"""Tests of d-separation, active trails, Markov blankets and moralization.

networkx's own d-separation is the independent reference for the properties.
"""

import json
import random

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credo.errors import CycleError, ModelError, UnknownVariableError
from credo.graphs.dseparation import (
    OpenPath,
    active_trail_nodes,
    check_acyclic,
    explain_dependence,
    is_d_separated,
    markov_blanket,
    moral_graph,
)

nx_d_separated = getattr(nx, "is_d_separator", None) or nx.d_separated

PROPERTY = settings(max_examples=100, deadline=None, derandomize=True)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def clinic():
    g = nx.DiGraph()
    g.add_nodes_from(["Cold", "Flu", "Allergies"])
    g.add_edges_from(
        [
            ("Flu", "Fever"),
            ("Cold", "Cough"),
            ("Flu", "Cough"),
            ("Cold", "Runny"),
            ("Allergies", "Runny"),
            ("Flu", "Fatigue"),
            ("Allergies", "Fatigue"),
            ("Fever", "HospitalVisit"),
        ]
    )
    return g


@st.composite
def dags(draw, min_nodes=2, max_nodes=9):
    """A random DAG: edges only go forward in a random order of the nodes.

    Edges come from a seeded ``random.Random`` at a drawn density, because
    hypothesis' own draws are skewed towards extreme (dense or empty) graphs.
    """
    n = draw(st.sampled_from(range(min_nodes, max_nodes + 1)))
    order = draw(st.permutations([f"v{i}" for i in range(n)]))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    density = draw(st.sampled_from([0.2, 0.35, 0.5, 0.7]))
    g = nx.DiGraph()
    g.add_nodes_from(order)
    g.add_edges_from(
        (order[i], order[j]) for i in range(n) for j in range(i + 1, n) if rng.random() < density
    )
    return g


@st.composite
def queries(draw, need_y=True):
    """A DAG with disjoint node sets X (non-empty), Y (non-empty if need_y) and Z."""
    g = draw(dags())
    nodes = list(g.nodes)
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    labels = [rng.choice("XYZZ..") for _ in nodes]
    x = draw(st.sampled_from(nodes))
    rest = [n for n in nodes if n != x]
    labels[nodes.index(x)] = "X"
    if need_y:
        y = draw(st.sampled_from(rest))
        labels[nodes.index(y)] = "Y"
    part = {k: {n for n, lab in zip(nodes, labels) if lab == k} for k in "XYZ"}
    return g, part["X"], part["Y"], part["Z"]


@st.composite
def root_pair_queries(draw):
    """Two extra roots "x" and "y" feeding into a random DAG, with Z inside the DAG.

    Every trail between them then enters the DAG downwards, so whether they are
    d-connected often hinges on a collider opened only by an observed
    descendant -- a case uniform random queries hit about once in a thousand.
    """
    g = draw(dags(min_nodes=3, max_nodes=7))
    nodes = list(g.nodes)
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    for root in ("x", "y"):
        g.add_edges_from((root, v) for v in rng.sample(nodes, rng.randint(1, min(2, len(nodes)))))
    z = {v for v in nodes if rng.random() < 0.3}
    return g, {"x"}, {"y"}, z


# --------------------------------------------------------------------------- path checks


def _is_active_collider(g, node, z):
    return node in z or bool(nx.descendants(g, node) & z)


def assert_valid_open_path(g, path: OpenPath, x, y, z):
    nodes = path.nodes
    assert nodes[0] in x and nodes[-1] in y
    assert nodes[0] not in z and nodes[-1] not in z
    assert len(set(nodes)) == len(nodes), f"trail repeats a node: {nodes}"
    # Shortest, so it cannot pass through another node of X or Y on the way.
    assert not set(nodes[1:-1]) & (x | y)
    assert len(path.arrows) == len(nodes) - 1
    for (a, b), arrow in zip(zip(nodes, nodes[1:]), path.arrows):
        assert g.has_edge(a, b) or g.has_edge(b, a)
        assert arrow == ("->" if g.has_edge(a, b) else "<-")
    assert [s.node for s in path.steps] == list(nodes[1:-1])
    for prev, step, nxt in zip(nodes, path.steps, nodes[2:]):
        into_from_prev = g.has_edge(prev, step.node)
        into_from_next = g.has_edge(nxt, step.node)
        if into_from_prev and into_from_next:
            assert step.kind == "collider"
            assert _is_active_collider(g, step.node, z)
        else:
            assert step.kind == ("chain" if into_from_prev or into_from_next else "fork")
            assert step.node not in z
        assert step.reason.startswith(step.kind + " ")


def _trail_is_active(g, trail, z):
    for prev, node, nxt in zip(trail, trail[1:], trail[2:]):
        if g.has_edge(prev, node) and g.has_edge(nxt, node):
            if not _is_active_collider(g, node, z):
                return False
        elif node in z:
            return False
    return True


def _no_shorter_active_trail(g, path, x, y, z):
    skeleton = g.to_undirected(as_view=True)
    for a in x:
        for b in y:
            for trail in nx.all_simple_paths(skeleton, a, b, cutoff=len(path.nodes) - 2):
                assert not _trail_is_active(g, trail, z), f"{trail} is shorter than {path}"


# --------------------------------------------------------------------------- properties


@PROPERTY
@given(queries())
def test_agrees_with_networkx(query):
    g, x, y, z = query
    assert is_d_separated(g, x, y, z) == nx_d_separated(g, x, y, z)


@PROPERTY
@given(root_pair_queries())
def test_agrees_with_networkx_when_colliders_decide(query):
    g, x, y, z = query
    assert is_d_separated(g, x, y, z) == nx_d_separated(g, x, y, z)


@PROPERTY
@given(st.one_of(queries(), root_pair_queries()))
def test_explanation_is_a_valid_shortest_open_trail(query):
    g, x, y, z = query
    path = explain_dependence(g, x, y, z)
    assert (path is None) == is_d_separated(g, x, y, z)
    if path is not None:
        assert_valid_open_path(g, path, x, y, z)
        if len(g) <= 7:
            _no_shorter_active_trail(g, path, x, y, z)


@PROPERTY
@given(queries(need_y=False))
def test_active_trail_nodes_match_pairwise_queries(query):
    g, x, _, z = query
    reached = active_trail_nodes(g, x, z)
    assert x <= reached
    assert not reached & z
    for node in set(g) - x - z:
        assert (node in reached) == (not is_d_separated(g, x, node, z))


@PROPERTY
@given(dags())
def test_markov_blanket_separates_and_equals_moral_neighbours(g):
    moral = moral_graph(g)
    assert set(moral.nodes) == set(g.nodes)
    for node in g:
        blanket = markov_blanket(g, node)
        assert blanket == set(moral.neighbors(node))
        others = set(g) - blanket - {node}
        if others:
            assert is_d_separated(g, node, others, blanket)


# --------------------------------------------------------------------------- textbook cases


def test_chain_is_blocked_by_its_observed_middle(clinic):
    path = explain_dependence(clinic, "Flu", "HospitalVisit")
    assert path.nodes == ("Flu", "Fever", "HospitalVisit")
    assert str(path) == "Flu -> Fever -> HospitalVisit"
    (step,) = path.steps
    assert step.kind == "chain"
    assert step.reason == "chain Flu -> Fever -> HospitalVisit: Fever is not observed, so information flows"
    assert is_d_separated(clinic, "Flu", "HospitalVisit", given="Fever")
    assert explain_dependence(clinic, "Flu", "HospitalVisit", given="Fever") is None


def test_fork_is_blocked_by_its_observed_common_cause(clinic):
    path = explain_dependence(clinic, "Cough", "Runny")
    assert path.nodes == ("Cough", "Cold", "Runny")
    assert str(path) == "Cough <- Cold -> Runny"
    (step,) = path.steps
    assert step.kind == "fork"
    assert step.reason == "fork Cough <- Cold -> Runny: the common cause Cold is not observed"
    assert is_d_separated(clinic, "Cough", "Runny", given="Cold")


def test_collider_explaining_away(clinic):
    assert is_d_separated(clinic, "Cold", "Flu")
    assert explain_dependence(clinic, "Cold", "Flu") is None
    assert not is_d_separated(clinic, "Cold", "Flu", given="Cough")
    path = explain_dependence(clinic, "Cold", "Flu", given=["Cough"])
    assert str(path) == "Cold -> Cough <- Flu"
    (step,) = path.steps
    assert step.kind == "collider"
    assert step.reason == "collider Cold -> Cough <- Flu: Cough is observed, which opens it (explaining away)"


def test_collider_opened_by_an_observed_descendant(clinic):
    clinic.add_edge("Cough", "SickNote")
    clinic.add_edge("SickNote", "Absence")
    assert is_d_separated(clinic, "Cold", "Flu")
    path = explain_dependence(clinic, "Cold", "Flu", given="Absence")
    assert path.nodes == ("Cold", "Cough", "Flu")
    (step,) = path.steps
    assert step.kind == "collider"
    assert step.reason == "collider Cold -> Cough <- Flu: its descendant Absence is observed, which opens it"


def test_longer_explanation_and_serialization(clinic):
    # Observing Fatigue opens Flu -> Fatigue <- Allergies, so Cough and Runny
    # stay dependent through Flu and Allergies even once Cold is observed.
    path = explain_dependence(clinic, "Cough", "Runny", given={"Cold", "Fatigue"})
    assert str(path) == "Cough <- Flu -> Fatigue <- Allergies -> Runny"
    assert [s.kind for s in path.steps] == ["fork", "collider", "fork"]
    data = path.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["nodes"] == ["Cough", "Flu", "Fatigue", "Allergies", "Runny"]
    assert data["steps"][1] == {
        "node": "Fatigue",
        "kind": "collider",
        "reason": "collider Flu -> Fatigue <- Allergies: Fatigue is observed, which opens it (explaining away)",
    }


def test_active_trail_nodes_on_clinic(clinic):
    assert active_trail_nodes(clinic, "Cold") == {"Cold", "Cough", "Runny"}
    assert active_trail_nodes(clinic, "Cold", given="Cough") == {
        "Cold", "Runny", "Flu", "Fever", "Fatigue", "HospitalVisit",
    }


def test_markov_blanket_and_moral_graph(clinic):
    clinic.add_node("Isolated")
    assert markov_blanket(clinic, "Cold") == {"Cough", "Runny", "Flu", "Allergies"}
    assert markov_blanket(clinic, "Fever") == {"Flu", "HospitalVisit"}
    moral = moral_graph(clinic)
    assert not moral.is_directed()
    assert "Isolated" in moral and moral.degree("Isolated") == 0
    for a, b in [("Cold", "Flu"), ("Cold", "Allergies"), ("Flu", "Allergies"), ("Fever", "Flu")]:
        assert moral.has_edge(a, b)
    assert not moral.has_edge("Fever", "Cold")


def test_sets_may_be_single_nodes_or_iterables_including_tuple_names():
    g = nx.DiGraph([(("a", 1), "b"), ("b", 3)])
    assert not is_d_separated(g, ("a", 1), 3)
    assert is_d_separated(g, [("a", 1)], {3}, given=("b",))
    assert is_d_separated(g, ("a", 1), 3, given="b")
    assert active_trail_nodes(g, 3, given=None) == {("a", 1), "b", 3}
    assert is_d_separated(g, [], 3)


# --------------------------------------------------------------------------- errors


def test_unknown_node(clinic):
    with pytest.raises(UnknownVariableError, match="Measles"):
        is_d_separated(clinic, "Measles", "Flu")
    with pytest.raises(UnknownVariableError, match="Measles"):
        explain_dependence(clinic, "Cold", "Flu", given=["Cough", "Measles"])
    with pytest.raises(UnknownVariableError, match="Measles"):
        active_trail_nodes(clinic, "Measles")
    with pytest.raises(UnknownVariableError, match="Measles"):
        markov_blanket(clinic, "Measles")


def test_overlapping_sets(clinic):
    with pytest.raises(ModelError, match="'Cough'.*given"):
        is_d_separated(clinic, "Cold", "Cough", given="Cough")
    with pytest.raises(ModelError, match="'Cold'"):
        explain_dependence(clinic, ["Cold", "Flu"], "Cold")
    with pytest.raises(ModelError, match="'Cold'"):
        active_trail_nodes(clinic, "Cold", given="Cold")


def test_cycles_and_undirected_graphs():
    cyclic = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    with pytest.raises(CycleError) as info:
        check_acyclic(cyclic)
    assert sorted(info.value.cycle) == ["a", "b", "c"]
    assert "a" in str(info.value)
    with pytest.raises(CycleError):
        is_d_separated(cyclic, "a", "d")
    with pytest.raises(CycleError):
        moral_graph(cyclic)
    check_acyclic(nx.DiGraph([("a", "b")]))
    with pytest.raises(ModelError, match="directed"):
        is_d_separated(nx.Graph([("a", "b")]), "a", "b")


def test_a_model_instead_of_its_graph_is_a_typed_error_with_a_hint():
    import credo

    bn = credo.examples.clinic()
    for call in (lambda: is_d_separated(bn, "Cold", "Flu"), lambda: markov_blanket(bn, "Flu"),
                 lambda: moral_graph(bn)):
        with pytest.raises(ModelError, match=r"got BayesianNetwork; pass its \.graph"):
            call()
    assert is_d_separated(bn.graph, "Cold", "Flu") == bn.is_d_separated("Cold", "Flu")
