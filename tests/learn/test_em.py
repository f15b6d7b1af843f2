"""EM recovers alarm's CPTs from data with 30% of values missing."""

from pathlib import Path

import numpy as np
import pytest

import credo
from credo.learn import fit_em

ALARM = Path(__file__).parents[1] / "data" / "networks" / "alarm.bif"


def _hide(frame, fraction, seed):
    rng = np.random.default_rng(seed)
    masked = frame.astype(object).copy()
    masked[rng.random(frame.shape) < fraction] = None
    return masked


def _held_out_log_likelihood(model, frame):
    return sum(model.log_prob(row) for row in frame.to_dict(orient="records"))


@pytest.fixture(scope="module")
def alarm():
    return credo.read_bif(ALARM)


def test_em_on_alarm_with_missing_values_matches_the_true_network(alarm):
    train = _hide(alarm.sample(10_000, seed=1), 0.3, seed=2)
    held_out = alarm.sample(500, seed=3)
    result = fit_em(alarm, train, max_iterations=60, pseudo_count=1.0, tolerance=1e-7)
    assert result.converged
    objective = np.array(result.objective)
    assert np.all(np.diff(objective) >= -1e-9 * np.abs(objective[:-1])), "EM decreased its objective"
    true_ll = _held_out_log_likelihood(alarm, held_out)
    fitted_ll = _held_out_log_likelihood(result.model, held_out)
    assert abs(fitted_ll - true_ll) <= 0.01 * abs(true_ll), (fitted_ll, true_ll)
    # a uniform network is far off, so the check above is not vacuous
    uniform_ll = _held_out_log_likelihood(alarm.with_cpds(
        [credo.TabularCPD(c.variable, c.states, np.full(c.table.shape, 1 / c.cardinality), c.parents)
         for c in alarm.cpds]), held_out)
    assert abs(uniform_ll - true_ll) > 0.5 * abs(true_ll)


def test_maximum_likelihood_em_never_decreases_the_log_likelihood():
    bn = credo.examples.clinic()
    data = _hide(bn.sample(400, seed=5), 0.3, seed=6)
    result = fit_em(bn, data, max_iterations=25)
    ll = np.array(result.objective)
    assert len(ll) > 2 and np.all(np.diff(ll) >= -1e-9 * np.abs(ll[:-1]))
    # its final log-likelihood agrees with the numpy junction tree's
    batch = credo.JunctionTree(result.model).query(evidence=data)
    assert ll[-1] == pytest.approx(float(np.sum(batch.log_evidence)), rel=1e-9)


def test_complete_data_em_is_the_counting_estimate():
    bn = credo.examples.sprinkler()
    data = bn.sample(2000, seed=7)
    fitted = fit_em(bn, data, max_iterations=3).model
    rain_given_cloudy = (data[data.Cloudy == "yes"].Rain == "yes").mean()
    assert fitted.cpd("Rain").table[0, 0] == pytest.approx(rain_given_cloudy, abs=1e-9)
