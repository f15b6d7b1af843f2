"""CPTs from complete data: against pandas counting, sampling error, smoothing and EM."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import credo
from credo.learn import family_counts, fit_em, fit_mle

NETWORKS = Path(__file__).parents[1] / "data" / "networks"


@pytest.fixture(scope="module")
def child():
    return credo.read_bif(NETWORKS / "child.bif")


def _pandas_table(model, frame, cpd):
    """The MLE table of ``cpd`` from a pandas group-by, reindexed to the CPD's axes (NaN where unseen)."""
    family = [*cpd.parents, cpd.variable]
    counts = frame.groupby(family, observed=False).size()
    full = pd.MultiIndex.from_product([model.states(v) for v in family], names=family) if cpd.parents \
        else pd.Index(model.states(cpd.variable), name=cpd.variable)
    counts = counts.reindex(full, fill_value=0).to_numpy(dtype=float).reshape(cpd.table.shape)
    with np.errstate(invalid="ignore"):
        return counts / counts.sum(axis=-1, keepdims=True)


def test_tables_equal_normalized_pandas_counts(child):
    frame = child.sample(60, seed=5)
    fitted = fit_mle(child, frame)
    unseen = 0
    for cpd in child.cpds:
        want = _pandas_table(child, frame, cpd)
        got = fitted.cpd(cpd.variable).table
        seen = np.isfinite(want)
        np.testing.assert_allclose(got[seen], want[seen], atol=1e-12, err_msg=cpd.variable)
        # parent configurations no row shows are uniform
        np.testing.assert_allclose(got[~seen], 1.0 / cpd.cardinality, err_msg=cpd.variable)
        unseen += int((~seen).any())
    assert unseen > 0  # child has rare parent configurations, so the uniform branch is exercised
    # the same rows as a list of dicts
    again = fit_mle(child, frame.head(500).to_dict(orient="records"))
    np.testing.assert_allclose(again.cpd("Disease").table, fit_mle(child, frame.head(500)).cpd("Disease").table)


def test_estimates_are_within_sampling_error_of_the_truth():
    truth = credo.examples.sprinkler()
    frame = truth.sample(40_000, seed=11)
    fitted = fit_mle(truth, frame)
    for cpd, counts in zip(truth.cpds, family_counts(truth, frame)):
        n_u = counts.sum(axis=-1, keepdims=True)
        theta = cpd.table
        standard_error = np.sqrt(theta * (1 - theta) / n_u)
        z = np.abs(fitted.cpd(cpd.variable).table - theta) / np.where(standard_error > 0, standard_error, np.inf)
        assert z.max() < 4.0, (cpd.variable, z.max())


def test_dirichlet_smoothing_and_the_edge_cases():
    truth = credo.examples.sprinkler()
    frame = truth.sample(50, seed=2)
    counts = family_counts(truth, frame)
    smoothed = fit_mle(truth, frame, pseudo_count=2.5)
    for cpd, n in zip(truth.cpds, counts):
        k = cpd.cardinality
        np.testing.assert_allclose(smoothed.cpd(cpd.variable).table,
                                   (n + 2.5) / (n.sum(axis=-1, keepdims=True) + k * 2.5), atol=1e-15)
    assert sum(int(n.sum()) for n in counts) == 50 * len(truth.variables)
    with pytest.raises(credo.ArgumentError, match="no rows"):  # as fit_em: nothing to learn from
        fit_mle(truth, frame.head(0))


def test_complete_data_em_lands_on_the_counting_estimate(child):
    frame = child.sample(2000, seed=7)
    em = fit_em(child, frame, max_iterations=3, pseudo_count=1.0)
    direct = fit_mle(child, frame, pseudo_count=1.0)
    for cpd in child.cpds:
        np.testing.assert_allclose(em.model.cpd(cpd.variable).table, direct.cpd(cpd.variable).table, atol=1e-9)


def test_incomplete_or_foreign_data_are_typed_errors():
    truth = credo.examples.sprinkler()
    frame = truth.sample(20, seed=0)
    with pytest.raises(credo.ModelError, match=r"missing values in 'Rain'.*fit_em"):
        fit_mle(truth, frame.drop(columns="Rain"))
    holes = frame.astype(object)
    holes.loc[3, "Cloudy"] = None
    with pytest.raises(credo.ModelError, match=r"missing values in 'Cloudy'"):
        fit_mle(truth, holes)
    with pytest.raises(credo.UnknownVariableError, match="Snow"):
        fit_mle(truth, frame.assign(Snow="yes"))
    with pytest.raises(credo.UnknownStateError, match="maybe"):
        fit_mle(truth, frame.assign(Rain="maybe"))
    with pytest.raises(credo.ArgumentError, match="pseudo_count"):
        fit_mle(truth, frame, pseudo_count=-1.0)
    with pytest.raises(credo.ModelError, match="BayesianNetwork"):
        fit_mle(credo.MarkovNetwork.ising(2, 2, coupling=0.1), frame)


def test_fit_a_bare_structure_pgmpy_style():
    """Issue 21: BayesianNetwork(edges=...) then fit_mle, with the states read off the data."""
    import networkx as nx

    truth = credo.examples.sprinkler()
    data = truth.sample(4000, seed=3)
    structure = credo.BayesianNetwork(edges=truth.edges)
    assert structure.is_structure_only and set(structure.variables) == set(truth.variables)
    with pytest.raises(credo.ModelError, match="fit_mle"):
        credo.query(structure, ["Rain"])
    with pytest.raises(credo.UnknownVariableError):
        structure.states("Rian")
    reference = credo.learn.fit_mle(truth, data)  # the truth's states, so its tables are the reference
    for given in (structure, truth.edges, nx.DiGraph(truth.edges)):
        fitted = credo.learn.fit_mle(given, data)
        for v in truth.variables:
            assert set(fitted.states(v)) == {"yes", "no"} and fitted.states(v) == ("no", "yes")  # sorted
            assert fitted.parents(v) == reference.parents(v)
            # same tables up to the order of the states on every axis
            flip = [slice(None, None, -1)] * reference.cpd(v).table.ndim
            np.testing.assert_allclose(fitted.cpd(v).table, reference.cpd(v).table[tuple(flip)], atol=1e-12)


def test_states_from_data_keep_categories_and_numbers():
    frame = pd.DataFrame({"A": pd.Categorical(["hi", "lo", "hi"], categories=["lo", "mid", "hi"]),
                          "B": [10, 2, 2]})
    fitted = credo.learn.fit_mle([("A", "B")], frame)
    assert fitted.states("A") == ("lo", "mid", "hi") and fitted.states("B") == (2, 10)
    np.testing.assert_allclose(fitted.cpd("B").table, [[1.0, 0.0], [0.5, 0.5], [0.5, 0.5]])  # mid unseen: uniform
    with pytest.raises(credo.ModelError, match="'C'"):
        credo.learn.fit_mle([("A", "C")], frame)


@pytest.mark.parametrize("data", [pd.DataFrame(), [], None, "Rain=yes", pd.DataFrame({"Rain": []})])
def test_fit_mle_refuses_data_without_rows(data):
    with pytest.raises(credo.ArgumentError, match="data"):
        fit_mle(credo.examples.sprinkler(), data)


@pytest.mark.parametrize("alpha", [-1.0, float("nan"), float("inf"), "1"])
def test_fit_mle_refuses_a_bad_pseudo_count(alpha):
    with pytest.raises(credo.ArgumentError, match="pseudo_count"):
        fit_mle(credo.examples.sprinkler(), credo.examples.sprinkler().sample(10, seed=0), pseudo_count=alpha)
