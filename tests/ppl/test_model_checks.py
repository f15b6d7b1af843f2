"""Careless models and data get ModelErrors that name the culprit site, data key or column (issue 21)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import credo
import credo.ppl as ppl
from credo import distributions as dist
from credo.errors import ArgumentError, ModelError


def normal_mean(y=None):
    mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
    with ppl.plate("N", 50):
        ppl.sample("y", dist.Normal(mu, 1.0), obs=y)


def coin(y=None):
    p = ppl.sample("p", dist.Beta(1.0, 1.0))
    with ppl.plate("N", 3):
        ppl.sample("y", dist.Bernoulli(probs=p), obs=y)


def bad_prior(y=None):
    mu = ppl.sample("mu", dist.Normal(0.0, -1.0))
    ppl.sample("y", dist.Normal(mu, 1.0), obs=y)


def bad_likelihood(y=None):
    mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
    ppl.sample("y", dist.Normal(mu, -1.0), obs=y)


def regression(X, y=None):
    w = ppl.sample("w", dist.Normal(0.0, 1.0).expand([3]).to_event(1))
    with ppl.plate("N", 50):
        ppl.sample("y", dist.Normal(X @ w, 1.0), obs=y)


def string_param():
    ppl.sample("mu", dist.Normal("0", 1.0))


def branching(y=None):
    theta = ppl.sample("theta", dist.Normal(0.0, 1.0))
    if theta > 0:
        ppl.sample("y", dist.Normal(1.0, 1.0), obs=y)
    else:
        ppl.sample("y", dist.Normal(-1.0, 1.0), obs=y)


def impossible():
    mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
    ppl.factor("wall", jnp.where(mu > 100.0, 0.0, -jnp.inf))


X_NAN = np.ones((50, 3))
X_NAN[7, 1] = np.nan

# (id, model, data, substrings the message must contain)
CASES = [
    ("nan-y", normal_mean, {"y": np.r_[np.zeros(49), np.nan]}, ["'y'", "NaN", "index 49"]),
    ("nan-X", regression, {"X": X_NAN, "y": np.zeros(50)}, ["'y'", "'loc'", "'X'", "(7, 1)"]),
    ("bernoulli-2", coin, {"y": np.array([0, 1, 2])}, ["'y'", "value 2", "index 2", "support"]),
    ("prior-scale", bad_prior, {"y": 1.0}, ["'mu'", "'scale'"]),
    ("likelihood-scale", bad_likelihood, {"y": 1.0}, ["'y'", "'scale'"]),
    ("short-y", normal_mean, {"y": np.zeros(47)}, ["'y'", "(47,)", "(50,)", "'N'"]),
    ("column-y", normal_mean, {"y": np.zeros((50, 1))}, ["'y'", "(50, 1)", "(50,)"]),
    ("transposed-X", regression, {"X": np.ones((3, 50)), "y": np.zeros(50)}, ["'y'", "'X'", "(3, 50)"]),
    ("list-of-arrays", normal_mean, {"y": [np.zeros(25), np.zeros(25)]}, ["'y'", "one array"]),
    ("ragged-list", normal_mean, {"y": [[0.0] * 25, [0.0] * 24]}, ["'y'", "ragged"]),
    ("string-param", string_param, {}, ["'mu'", "parameter 'loc' of Normal is the string"]),
    ("string-column", regression, {"X": pd.DataFrame({"a": np.ones(50), "b": ["x"] * 50, "c": np.ones(50)}),
                                   "y": np.zeros(50)}, ["'X'", "column 'b'"]),
    ("if-on-traced", branching, {"y": 1.0}, ["'theta'", "jnp.where", "`if theta > 0:`"]),
    ("never-finite", impossible, {}, ["'wall'", "100 tries"]),
]


@pytest.mark.parametrize("model, data, needles", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_careless_model_is_a_model_error_naming_the_culprit(model, data, needles):
    with pytest.raises(ModelError) as info:
        ppl.logdensity(model, data).init(0)
    message = str(info.value)
    for needle in needles:
        assert needle in message, (needle, message)


def test_pandas_data_gives_the_same_density_as_arrays():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    flat = jnp.array([0.3, -0.2, 0.1])
    want = ppl.logdensity(regression, {"X": X, "y": y}).fn(flat)
    # under jit, as samplers run it: a DataFrame meeting a traced value used to crash
    got = jax.jit(ppl.logdensity(regression, {"X": frame, "y": pd.Series(y, name="y")}).fn)(flat)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_categorical_series_become_integer_codes():
    def model(g, y=None):
        effect = ppl.sample("effect", dist.Normal(0.0, 1.0).expand([2]).to_event(1))
        with ppl.plate("N", len(g)):
            ppl.sample("y", dist.Normal(effect[g], 1.0), obs=y)

    g = pd.Series(["b", "a", "b"], dtype="category")
    ld = ppl.logdensity(model, {"g": g, "y": np.zeros(3)})
    flat = jnp.array([0.0, 2.0])  # effect["a"] = 0, effect["b"] = 2: codes a -> 0, b -> 1
    norm = -0.5 * math.log(2 * math.pi)
    # prior: N(0; 0, 1) N(2; 0, 1); likelihood: y = 0 around means (2, 0, 2)
    want = 5 * norm - 0.5 * 2.0 ** 2 - 0.5 * (2 * 2.0 ** 2)
    np.testing.assert_allclose(ld.fn(flat), want, rtol=1e-5)


def test_check_model_table_names_the_failing_site_and_scores_the_others():
    result = credo.check_model(coin, {"y": np.array([0, 1, 2])}, values={"p": 0.25})
    assert [(r.name, r.kind, r.distribution) for r in result] == [
        ("p", "latent", "Beta"), ("y", "observed", "Bernoulli")]
    assert result["p"].finite and abs(result["p"].log_density) < 1e-6  # Beta(1, 1) density is 1
    assert not result.ok and [r.name for r in result.failed] == ["y"]
    assert "value 2 at index 2" in result["y"].reason
    table = str(result)
    assert "reason" in table.splitlines()[0] and "NO" in table


def test_check_model_finite_model_matches_hand_computation():
    result = ppl.check_model(normal_mean, {"y": np.zeros(50)}, values={"mu": 0.5})
    norm = -0.5 * math.log(2 * math.pi)
    assert result.ok
    np.testing.assert_allclose(result["mu"].log_density, norm - 0.125, rtol=1e-5)
    np.testing.assert_allclose(result["y"].log_density, 50 * (norm - 0.125), rtol=1e-5)


def test_check_model_refuses_values_for_unknown_sites():
    with pytest.raises(ArgumentError, match="'sigma'"):
        ppl.check_model(normal_mean, {"y": np.zeros(50)}, values={"sigma": 1.0})


def test_explain_nonfinite_names_the_factor():
    ld = ppl.logdensity(impossible)
    text = ppl.explain_nonfinite(ld, jnp.zeros(1))
    assert "factor site 'wall'" in text and "-inf" in text


def test_init_blames_the_data_at_once_only_when_no_start_can_help():
    # a Bernoulli observation of 2 is outside {0, 1} whatever p is: no point searching
    with pytest.raises(ModelError, match="whatever the starting point"):
        ppl.logdensity(coin, {"y": np.array([0, 1, 2])}).init(0)

    # y ~ Uniform(0, theta): y = 0.8 is outside the support at starts with theta < 0.8, so
    # the search must go on (and find theta > 0.8) rather than blame the data at once
    def model(y=None):
        theta = ppl.sample("theta", dist.Uniform(0.0, 1.0))
        ppl.sample("y", dist.Uniform(0.0, theta), obs=y)

    ld = ppl.logdensity(model, {"y": 0.8})
    for seed in range(3):
        theta = ld.constrain(ld.init(seed))["theta"]
        assert 0.8 < float(theta) < 1.0
