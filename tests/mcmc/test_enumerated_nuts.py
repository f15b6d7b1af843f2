"""NUTS and ADVI on models written with explicit discrete states, summed out by the log density.

posteriordb's hmm_example and low_dim_gauss_mix marginalise their states by
hand; written here with explicit assignments (a plate of Categorical sites)
and explicit states (credo.scan), credo's continuous posterior must match the
posteriordb reference draws: means within 0.1 sd, sds within 10%, R-hat < 1.01.
"""

import jax.numpy as jnp
import numpy as np
import pytest

import credo
import credo.ppl as ppl
from credo import distributions as dist
from credo.diagnostics import summary
from credo.distributions import constraints
from credo.examples import load_posteriordb
from credo.examples.posteriordb import _OnSupport
from tests.posteriordb_reference import assert_matches_reference, load_reference

pytestmark = pytest.mark.slow


def mixture_with_assignments(y, N=None):
    """low_dim_gauss_mix with z[n] ~ Categorical(theta, 1 - theta) written out."""
    mu = ppl.sample("mu", _OnSupport(dist.Normal(0.0, 2.0).expand((2,)).to_event(1), constraints.ordered_vector))
    sigma = ppl.sample("sigma", dist.HalfNormal(2.0).expand((2,)).to_event(1))
    theta = ppl.sample("theta", dist.Beta(5.0, 5.0))
    with ppl.plate("data", len(y)):
        z = ppl.sample("z", dist.Categorical(probs=jnp.stack([theta, 1 - theta])))
        ppl.sample("y", dist.Normal(mu[z], sigma[z]), obs=y)


def hmm_with_states(y, K=2, N=None):
    """hmm_example with its hidden states z_t written out as a scan."""
    theta1 = ppl.sample("theta1", dist.Dirichlet(jnp.ones(2)))
    theta2 = ppl.sample("theta2", dist.Dirichlet(jnp.ones(2)))
    mu = ppl.sample("mu", _OnSupport(dist.Normal(jnp.array([3.0, 10.0]), 1.0).to_event(1),
                                     constraints.positive_ordered_vector))
    theta = jnp.stack([theta1, theta2])

    def step(previous, inputs):
        y_t, t = inputs
        # Stan's program has no initial-state distribution: a flat start (a constant factor)
        probs = jnp.where(t == 0, jnp.full(2, 0.5), theta[previous])
        z = ppl.sample("z", dist.Categorical(probs))
        ppl.sample("y", dist.Normal(mu[z], 1.0), obs=y_t)
        return z, None

    ppl.scan(step, 0, (jnp.asarray(y), jnp.arange(len(y))), name="states")


def test_mixture_with_assignments_matches_posteriordb():
    name = "low_dim_gauss_mix-low_dim_gauss_mix"
    _, data = load_posteriordb(name)
    post = credo.nuts(mixture_with_assignments, data={"y": np.asarray(data["y"])}, chains=4, warmup=500,
                      draws=500, seed=0, progress=False)
    assert "z" not in post.draws
    assert_matches_reference(post.draws, load_reference(name))


def test_hmm_with_states_matches_posteriordb():
    name = "hmm_example-hmm_example"
    _, data = load_posteriordb(name)
    post = credo.nuts(hmm_with_states, data={"y": np.asarray(data["y"])}, chains=4, warmup=500, draws=500,
                      seed=0, progress=False)
    reference = {k: v for k, v in load_reference(name).items() if not k.startswith("theta[")}
    assert_matches_reference(post.draws, reference)


def test_advi_on_a_two_component_mixture_recovers_the_nuts_means():
    rng = np.random.default_rng(1)
    y = np.concatenate([rng.normal(-2.0, 1.0, 150), rng.normal(2.0, 1.0, 150)])

    def model(y):
        mu = ppl.sample("mu", _OnSupport(dist.Normal(0.0, 3.0).expand((2,)).to_event(1),
                                         constraints.ordered_vector))
        w = ppl.sample("w", dist.Beta(2.0, 2.0))
        with ppl.plate("data", len(y)):
            z = ppl.sample("z", dist.Bernoulli(w))
            ppl.sample("y", dist.Normal(mu[z], 1.0), obs=y)

    post = credo.nuts(model, data={"y": y}, chains=2, warmup=300, draws=500, seed=0, progress=False)
    nuts = summary(post.draws)
    for family in ("meanfield", "fullrank"):
        fit = credo.advi(model, data={"y": y}, family=family, steps=3000, seed=0, progress=False)
        draws = fit.sample(4000, seed=1)
        for key in ("mu[0]", "mu[1]", "w"):
            name, _, index = key.partition("[")
            values = np.asarray(draws[name])
            values = values[..., int(index[:-1])] if index else values
            assert abs(values.mean() - nuts.loc[key, "mean"]) < 0.1 * nuts.loc[key, "sd"], (family, key)
