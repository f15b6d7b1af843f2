"""credo.ppl.structure: a model's latent sites, children, observed data and its distributions' parts,
checked against facts known by construction."""

import jax.numpy as jnp
import numpy as np
import pytest

import credo.ppl as ppl
from credo import distributions as dist
from credo.errors import ModelError
from credo.ppl.examples import flu_prevalence
from credo.ppl.structure import (ModelStructure, distribution_name, likelihood_weight, observed_values,
                                 parameter, tolerance, transform_of, unwrap)


def _hierarchy(y, sd):
    mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
    tau = ppl.sample("tau", dist.HalfNormal(1.0))
    shifted = ppl.deterministic("shifted", mu + 1.0)
    with ppl.plate("J", 3):
        theta = ppl.sample("theta", dist.Normal(shifted, tau))
        ppl.sample("y", dist.Normal(theta, sd), obs=y)


def test_structure_of_a_known_model():
    s = ModelStructure(_hierarchy, {"y": np.array([1.0, 2.0, 3.0]), "sd": 1.0})
    assert s.latent == ("mu", "tau", "theta")
    # mu reaches theta through the deterministic site, which is looked through
    assert s.children == {"mu": ("theta",), "tau": ("theta",), "theta": ("y",)}
    assert not s.is_discrete("mu")
    np.testing.assert_array_equal(s.observed["y"], [1.0, 2.0, 3.0])
    assert list(s.observed) == ["y"]


def test_observed_through_an_argument_and_through_a_data_key():
    # y arrives as a model argument (obs=y), z by a data key naming the site
    def model(y):
        mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
        ppl.sample("y", dist.Normal(mu, 1.0), obs=y)
        ppl.sample("z", dist.Normal(mu, 1.0))

    data = {"y": np.array(0.5), "z": np.array(-1.5)}
    s = ModelStructure(model, data)
    assert s.latent == ("mu",)
    assert {k: float(v) for k, v in s.observed.items()} == {"y": 0.5, "z": -1.5}
    # the one definition: LogDensity's observed values are the same
    assert {k: float(v) for k, v in ppl.logdensity(model, data).observed.items()} == {"y": 0.5, "z": -1.5}


def test_observed_values_of_a_trace():
    tr = ppl.trace(ppl.seed(flu_prevalence, 0)).get_trace()
    assert {k: int(v) for k, v in observed_values(tr).items()} == {"y": 12}
    assert observed_values(ppl.trace(ppl.seed(lambda: ppl.sample("a", dist.Normal(0, 1)), 0)).get_trace()) == {}


def test_structure_refuses_params_and_subsampling():
    def with_param():
        ppl.param("w", 1.0)

    with pytest.raises(ModelError, match="param sites"):
        ModelStructure(with_param)

    def subsampled(y):
        mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
        with ppl.plate("N", 10, subsample_size=5) as i:
            ppl.sample("y", dist.Normal(mu, 1.0), obs=y[i])

    with pytest.raises(ModelError, match="subsample"):
        ModelStructure(subsampled, {"y": np.zeros(10)})


def test_unwrap_looks_through_independent_and_masks():
    base = dist.Normal(jnp.zeros((2, 3)), 1.0)
    u = unwrap(base.to_event(1))
    assert u.base is base and u.masks == [] and u.reinterpreted_dims == 1
    mask = jnp.array([True, False])
    b, masks, dims = unwrap(dist.Normal(jnp.zeros((2, 3)), 1.0).to_event(1).mask(mask))
    assert type(b).__name__ == "Normal" and dims == 1
    (m, below), = masks
    np.testing.assert_array_equal(m, mask)
    assert below == 1  # the mask sits above the one dimension Independent sums over
    assert unwrap(base.mask(True)).masks == []  # a constant True masks nothing
    assert len(unwrap(base.mask(False)).masks) == 1


def test_distribution_name_is_the_base_class():
    assert distribution_name(dist.Normal(0.0, 1.0)) == "Normal"
    assert distribution_name(dist.Gamma(jnp.ones(3), 1.0).to_event(1).mask(jnp.ones(3, bool))) == "Gamma"
    ld = ppl.logdensity(flu_prevalence)
    assert ld.sites["theta"].distribution == "Beta" and ld.sites["y"].distribution == "Binomial"


def test_parameter_broadcasts_to_the_batch_shape():
    d = dist.Normal(0.5, jnp.ones(3))
    np.testing.assert_array_equal(parameter(d, "loc"), [0.5, 0.5, 0.5])
    conc = parameter(dist.Dirichlet(jnp.ones((2, 4))), "concentration")
    assert conc.shape == (2, 4)  # the event dimension is kept


def test_likelihood_weight_multiplies_masks_and_scale():
    def model():
        with ppl.plate("N", 3):
            ppl.sample("y", dist.Normal(jnp.zeros(3), 1.0).mask(jnp.array([True, False, True])),
                       obs=jnp.zeros(3))

    tr = ppl.trace(ppl.scale(model, 2.0)).get_trace()
    site = tr["y"]
    base, masks, dims = unwrap(site.fn)
    np.testing.assert_array_equal(likelihood_weight(site, base, masks, dims, (3,)), [2.0, 0.0, 2.0])
    # broadcast to a parameter with trailing event dimensions
    assert likelihood_weight(site, base, masks, dims, (3, 2)).shape == (3, 2)


def test_tolerance_and_transform_of():
    assert tolerance(np.float64) == pytest.approx(10 * np.sqrt(2.0 ** -52))
    assert tolerance(np.float32) > tolerance(np.float64)
    tr = ppl.trace(ppl.seed(flu_prevalence, 0)).get_trace()
    assert float(transform_of(tr["theta"])(0.0)) == pytest.approx(0.5)  # the logistic map onto (0, 1)


def test_conjugacy_keeps_its_names():
    from credo.ppl import conjugacy

    assert conjugacy.ModelStructure is ModelStructure
    assert ppl.ModelStructure is ModelStructure
