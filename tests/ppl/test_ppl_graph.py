"""Model graphs from JAX tracing: edges, plates, d-separation, drawings."""

import jax
import jax.numpy as jnp
import pytest

import credo.ppl as ppl
from credo import distributions as dist
from credo.ppl.examples import (EIGHT_SCHOOLS_DATA, eight_schools_centered,
                                eight_schools_noncentered, flu_prevalence)


@pytest.fixture(scope="module")
def schools():
    return ppl.model_graph(eight_schools_noncentered, EIGHT_SCHOOLS_DATA)


@pytest.fixture(scope="module")
def schools_expanded():
    return ppl.model_graph(eight_schools_noncentered, EIGHT_SCHOOLS_DATA, expand_plates=True)


def test_eight_schools_edges_and_attributes(schools):
    g = schools.graph
    assert set(g.edges) == {("mu", "theta"), ("tau", "theta"), ("theta_trans", "theta"), ("theta", "y")}
    assert schools.plates == {"school": 8}
    assert g.nodes["y"]["observed"] and not g.nodes["mu"]["observed"]
    assert g.nodes["y"]["distribution"] == "Normal" and g.nodes["tau"]["distribution"] == "HalfCauchy"
    assert g.nodes["theta"]["deterministic"] and g.nodes["theta"]["type"] == "deterministic"
    assert g.nodes["y"]["plates"] == ("school",) and g.nodes["mu"]["plates"] == ()
    assert g.nodes["theta_trans"]["shape"] == (8,)


def test_centered_and_flu_edges():
    g = ppl.model_graph(eight_schools_centered, EIGHT_SCHOOLS_DATA).graph
    assert set(g.edges) == {("mu", "theta"), ("tau", "theta"), ("theta", "y")}
    g = ppl.model_graph(flu_prevalence).graph
    assert set(g.edges) == {("theta", "y")} and g.nodes["y"]["distribution"] == "Binomial"


def test_expanded_plates_d_separation(schools_expanded):
    mg = schools_expanded
    g = mg.graph
    assert {f"y[{j}]" for j in range(8)} <= set(g)
    assert set(g.predecessors("theta[3]")) == {"mu", "tau", "theta_trans[3]"}
    assert set(g.predecessors("y[3]")) == {"theta[3]"}
    assert g.nodes["y[3]"]["site"] == "y" and g.nodes["y[3]"]["index"] == (3,)
    assert not mg.is_d_separated("y[0]", "y[1]", given=set())
    assert mg.is_d_separated("y[0]", "y[1]", given={"mu", "tau"})
    path = mg.explain_dependence("y[0]", "y[1]")
    assert path is not None and path.nodes[0] == "y[0]" and path.nodes[-1] == "y[1]"
    assert mg.explain_dependence("y[0]", "y[1]", given={"mu", "tau"}) is None


def test_markov_blanket(schools):
    assert schools.markov_blanket("theta_trans") == {"theta", "mu", "tau"}
    assert schools.markov_blanket("theta") == {"mu", "tau", "theta_trans", "y"}


def test_dependencies_are_exact_through_jitted_helpers():
    @jax.jit
    def helper(a, b):
        return a * 2.0, jnp.exp(b)

    def m():
        a = ppl.sample("a", dist.Normal(0.0, 1.0))
        b = ppl.sample("b", dist.Normal(0.0, 1.0))
        u, v = helper(a, b)
        ppl.sample("c", dist.Normal(u, 1.0))
        ppl.sample("d", dist.Normal(0.0, v))
        ppl.factor("f", -(a * b))

    g = ppl.model_graph(m).graph
    assert set(g.edges) == {("a", "c"), ("b", "d"), ("a", "f"), ("b", "f")}
    assert g.nodes["f"]["type"] == "factor" and g.nodes["f"]["observed"]


def test_nested_plates_expand_elementwise():
    def m():
        g = ppl.sample("g", dist.Normal(0.0, 1.0))
        with ppl.plate("i", 2):
            a = ppl.sample("a", dist.Normal(g, 1.0))
            with ppl.plate("j", 3):
                ppl.sample("b", dist.Normal(a, 1.0))

    mg = ppl.model_graph(m, expand_plates=True)
    assert mg.plates == {"i": 2, "j": 3}
    assert set(mg.graph.predecessors("b[1,2]")) == {"a[1]"}
    assert set(mg.graph.predecessors("a[0]")) == {"g"}
    assert mg.site_graph.nodes["b"]["plates"] == ("i", "j")
    dot = mg.to_dot()
    assert "subgraph cluster_i {" in dot and "subgraph cluster_i_j {" in dot


def test_to_dot_has_plate_cluster(schools):
    dot = schools.to_dot()
    assert dot.startswith("digraph")
    assert "subgraph cluster_school {" in dot and 'label="school (8)"' in dot
    assert '"mu" -> "theta";' in dot and '"theta" -> "y";' in dot
    assert "fillcolor=lightgray" in dot and "shape=diamond" in dot


@pytest.mark.parametrize("ext", ["png", "svg"])
def test_render_writes_file(schools, tmp_path, ext):
    path = tmp_path / f"schools.{ext}"
    fig = schools.render(path)
    assert path.stat().st_size > 1000
    head = path.read_bytes()[:200]
    assert head.startswith(b"\x89PNG") if ext == "png" else b"<svg" in head or b"<?xml" in head
    assert fig.get_size_inches()[0] > 1
