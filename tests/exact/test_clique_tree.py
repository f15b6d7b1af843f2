"""The parts of the junction tree: clique tree, public JAX plan, pure propagation passes."""

import numpy as np

import credo
from credo.exact import propagation
from credo.exact.clique_tree import CliqueTree, JaxPlan
from credo.exact.junction_tree import JunctionTree


def test_clique_tree_is_rooted_and_covers_every_factor():
    model = credo.examples.network("asia")
    tree = CliqueTree(model)
    assert tree.parent[tree.root] == -1
    assert sorted(tree.preorder) == list(range(len(tree.cliques))) == sorted(tree.postorder)
    assert sorted(p for positions in tree.assigned for p in positions) == list(range(len(model.factors)))
    for c, p, separator in tree.separators:
        assert tree.parent[c] == p and set(separator) == set(tree.cliques[c]) & set(tree.cliques[p])


def test_marked_is_the_cliques_and_their_ancestors():
    tree = CliqueTree(credo.examples.network("asia"))
    leaf = tree.postorder[0]
    marked = tree.marked([leaf])
    path, i = set(), leaf
    while i >= 0:
        path.add(i)
        i = tree.parent[i]
    assert {i for i, m in enumerate(marked) if m} == path


def test_jax_plan_is_public_and_matches_the_tree():
    engine = JunctionTree(credo.examples.clinic())
    plan = engine.tree.jax_plan()
    assert isinstance(plan, JaxPlan)
    assert plan.root == engine.root and plan.cliques == engine.cliques
    assert set(plan.home) == set(engine.model.variables)


def test_pure_passes_give_the_engine_answer():
    model = credo.examples.clinic()
    engine = JunctionTree(model)
    tree = engine.tree
    likelihood = np.array([[1.0, 0.0]]) if model.states("Cough")[0] == "yes" else np.array([[0.0, 1.0]])
    likelihoods = {tree.plan.home["Cough"]: [likelihood.reshape(tree.plan.lik_shape["Cough"])]}
    prior = propagation.Prior(propagation.collect(tree, tree.plan, {}, None, None), 0.0)
    prior = prior._replace(log_scale=float(sum(prior.calibration.up_log.values())))
    calibration = propagation.collect(tree, tree.plan, likelihoods, tree.marked(likelihoods), prior)
    propagation.distribute(tree, tree.plan, calibration, None)
    marginals, finite = propagation.marginals(tree.plan, calibration.beliefs, ["Flu"], 1)
    expected = engine.query(["Flu"], {"Cough": "yes"})
    assert finite.all()
    np.testing.assert_array_equal(marginals["Flu"][0], [expected.marginals["Flu"][s] for s in model.states("Flu")])
    assert float(calibration.log_evidence[0]) == expected.log_evidence
