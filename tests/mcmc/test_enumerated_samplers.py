"""Every gradient-based method runs on a model whose discrete sites the log density sums out.

The posterior itself is checked in tests/mcmc/test_enumerated_nuts.py; here
each sampler and variational family accepts such a model, returns only the
continuous sites, and reaches the same region (the two means of a
well-separated mixture).
"""

import jax.numpy as jnp
import numpy as np
import pytest

import credo
import credo.ppl as ppl
from credo import distributions as dist

Y = np.concatenate([np.full(10, -2.0) + np.linspace(-0.3, 0.3, 10), np.full(10, 2.0) + np.linspace(-0.3, 0.3, 10)])


def mixture(y):
    mu = ppl.sample("mu", dist.Normal(jnp.array([-1.0, 1.0]), 2.0))
    with ppl.plate("N", len(y)):
        z = ppl.sample("z", dist.Bernoulli(0.5))
        ppl.sample("y", dist.Normal(mu[z], 0.5), obs=y)


def _near_truth(mu):
    # the labels may swap (both modes are the posterior's): compare the sorted component means
    mean = np.sort(np.asarray(mu).reshape(-1, 2).mean(axis=0))
    np.testing.assert_allclose(mean, [-2.0, 2.0], atol=0.3)


def test_hmc():
    post = credo.hmc(mixture, data={"y": Y}, chains=1, warmup=200, draws=200, seed=0, progress=False)
    assert set(post.draws) == {"mu"}
    _near_truth(post.draws["mu"])


@pytest.mark.parametrize("family", ["meanfield", "fullrank", "lowrank", "flow"])
def test_advi_families(family):
    fit = credo.advi(mixture, data={"y": Y}, family=family, steps=1500, seed=0, progress=False)
    _near_truth(fit.sample(2000, seed=1)["mu"])


def test_pathfinder():
    fit = credo.pathfinder(mixture, data={"y": Y}, seed=0, progress=False)
    _near_truth(fit.sample(2000, seed=1)["mu"])
