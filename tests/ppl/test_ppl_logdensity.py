"""Compiling models to log densities on flat unconstrained space."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import credo.ppl as ppl
from credo import distributions as dist
from credo.errors import ModelError
from credo.ppl.examples import (EIGHT_SCHOOLS_DATA, EXAMPLES, eight_schools_noncentered,
                                flu_prevalence)


def test_flu_prevalence_matches_beta_posterior_up_to_a_constant():
    ld = ppl.logdensity(flu_prevalence, {"n": 100, "y": 12})
    assert ld.dim == 1 and ld.names == ("theta",)
    u = np.linspace(-4.0, 1.0, 41)
    theta = 1 / (1 + np.exp(-u))
    got = np.asarray(jax.vmap(ld.fn)(jnp.asarray(u)[:, None]))
    # density of logit(theta) = Beta(13, 89) density times |d theta / d u| = theta (1 - theta)
    expected = stats.beta(13, 89).logpdf(theta) + np.log(theta) + np.log1p(-theta)
    diff = got - expected
    np.testing.assert_allclose(diff, diff[0], atol=1e-9)


def test_eight_schools_noncentered_matches_scipy():
    y, sigma = EIGHT_SCHOOLS_DATA["y"], EIGHT_SCHOOLS_DATA["sigma"]
    ld = ppl.logdensity(eight_schools_noncentered, EIGHT_SCHOOLS_DATA)
    rng = np.random.default_rng(0)
    x = rng.normal(size=ld.dim)
    mu, log_tau, tt = x[0], x[1], x[2:]
    tau = np.exp(log_tau)
    expected = (stats.norm(0, 5).logpdf(mu) + stats.halfcauchy(scale=5).logpdf(tau) + log_tau
                + stats.norm().logpdf(tt).sum() + stats.norm(mu + tau * tt, sigma).logpdf(y).sum())
    np.testing.assert_allclose(float(ld.fn(jnp.asarray(x))), expected, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_gradients_match_central_differences(name):
    model, data = EXAMPLES[name]
    ld = ppl.logdensity(model, data)
    x = ld.init(jax.random.PRNGKey(1))
    grad = jax.grad(ld.fn)(x)
    f = jax.jit(ld.fn)
    h = 1e-6
    fd = np.array([(f(x.at[i].add(h)) - f(x.at[i].add(-h))) / (2 * h) for i in range(ld.dim)])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6)


def test_jit_vmap_over_many_points_matches_loop():
    ld = ppl.logdensity(eight_schools_noncentered, EIGHT_SCHOOLS_DATA)
    points = jax.random.normal(jax.random.PRNGKey(0), (1000, ld.dim))
    batched = jax.jit(jax.vmap(ld.fn))(points)
    f = jax.jit(ld.fn)
    looped = np.array([f(p) for p in points])
    assert batched.shape == (1000,)
    np.testing.assert_allclose(batched, looped, rtol=1e-12)


def test_sites_metadata_and_layout():
    ld = ppl.logdensity(eight_schools_noncentered, EIGHT_SCHOOLS_DATA)
    assert ld.names == ("mu", "tau", "theta_trans") and ld.dim == 10
    assert list(ld.sites) == ["mu", "tau", "theta_trans", "theta", "y"]
    y = ld.sites["y"]
    assert y.observed and y.distribution == "Normal" and y.shape == (8,) and y.offset is None
    assert repr(ld.sites["tau"].constraint) == "nonnegative"  # HalfCauchy support
    assert ld.sites["theta"].type == "deterministic"
    assert ld.sites["theta_trans"].slice == slice(2, 10) and ld.sites["theta_trans"].plates == ("school",)
    assert ld.plates == {"school": 8}


def layout_model():
    ppl.sample("a", dist.Normal(0.0, 1.0))
    ppl.sample("p", dist.Dirichlet(jnp.ones(3)))
    with ppl.plate("i", 2, dim=-2), ppl.plate("j", 3):
        c = ppl.sample("c", dist.Normal(0.0, 1.0))
    ppl.deterministic("total", jnp.sum(c))


def test_flat_layout_is_row_major_blocks_in_trace_order():
    ld = ppl.logdensity(layout_model)
    assert ld.names == ("a", "p", "c")
    assert [ld.sites[n].unconstrained_shape for n in ld.names] == [(), (2,), (2, 3)]
    flat = jnp.arange(ld.dim, dtype=float)
    parts = ld.unflatten(flat)
    assert float(parts["a"]) == 0.0
    np.testing.assert_array_equal(parts["p"], [1.0, 2.0])
    np.testing.assert_array_equal(parts["c"], np.arange(3, 9.0).reshape(2, 3))
    np.testing.assert_array_equal(ld.flatten(parts), flat)


def test_constrain_and_unconstrain_round_trip():
    ld = ppl.logdensity(layout_model)
    x = ld.init(0)
    values = ld.constrain(x)
    assert set(values) == {"a", "p", "c", "total"}
    np.testing.assert_allclose(jnp.sum(values["p"]), 1.0, rtol=1e-12)
    np.testing.assert_allclose(values["total"], jnp.sum(values["c"]), rtol=1e-12)
    np.testing.assert_allclose(ld.unconstrain(values), x, rtol=1e-9, atol=1e-12)
    # log density = prior log probs at constrained values + log|det J|
    t = dist.biject_to(dist.constraints.simplex)
    u = ld.unflatten(x)["p"]
    normal = dist.Normal(0.0, 1.0)
    expected = (normal.log_prob(values["a"]) + dist.Dirichlet(jnp.ones(3)).log_prob(values["p"])
                + t.log_abs_det_jacobian(u, values["p"]) + jnp.sum(normal.log_prob(values["c"])))
    np.testing.assert_allclose(ld.fn(x), expected, rtol=1e-12)


def test_init_strategies():
    ld = ppl.logdensity(flu_prevalence)
    uniform = ld.init(0)
    assert -2 <= float(uniform[0]) <= 2
    median = ld.init(0, "median")
    assert abs(float(median[0])) < 0.4  # median of Beta(1, 1) draws, logit ~ 0
    prior = ld.init(5, "prior")
    assert np.isfinite(ld.fn(prior))
    np.testing.assert_array_equal(ld.init(3), ld.init(3))
    with pytest.raises(ValueError, match="strategy"):
        ld.init(0, "nope")


def test_improper_flat_priors():
    def m(y):
        loc = ppl.sample("loc", dist.Flat())
        scale = ppl.sample("scale", dist.HalfFlat())
        with ppl.plate("N", len(y)):
            ppl.sample("y", dist.Normal(loc, scale), obs=y)

    y = np.array([0.5, -1.0, 2.0])
    ld = ppl.logdensity(m, {"y": y})
    for strategy in ("uniform", "median", "prior"):
        x = ld.init(0, strategy)
        assert np.isfinite(ld.fn(x))
    x = jnp.array([0.3, 0.2])
    expected = stats.norm(0.3, np.exp(0.2)).logpdf(y).sum() + 0.2
    np.testing.assert_allclose(ld.fn(x), expected, rtol=1e-12)


def test_param_sites_are_free_but_carry_no_density():
    def m():
        w = ppl.param("w", 2.0, constraint=dist.constraints.positive)
        ppl.sample("y", dist.Normal(w, 1.0), obs=1.0)

    ld = ppl.logdensity(m)
    assert ld.names == ("w",) and ld.sites["w"].type == "param"
    x = ld.init(0)
    np.testing.assert_allclose(x, [np.log(2.0)], rtol=1e-12)
    np.testing.assert_allclose(ld.fn(jnp.array([0.5])), stats.norm(np.exp(0.5), 1).logpdf(1.0), rtol=1e-12)
    assert float(ld.constrain(jnp.array([0.0]))["w"]) == 1.0


def test_factor_sites_add_to_density():
    def m():
        x = ppl.sample("x", dist.Normal(0.0, 1.0))
        ppl.factor("soft", -(x**2))

    ld = ppl.logdensity(m)
    np.testing.assert_allclose(ld.fn(jnp.array([0.7])), stats.norm().logpdf(0.7) - 0.49, rtol=1e-12)


def test_data_keys_observe_sites_not_in_signature():
    def m():
        mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
        ppl.sample("y", dist.Normal(mu, 1.0))

    ld = ppl.logdensity(m, {"y": 1.5})
    assert ld.names == ("mu",) and ld.sites["y"].observed
    np.testing.assert_allclose(ld.fn(jnp.array([0.0])),
                               stats.norm().logpdf(0.0) + stats.norm().logpdf(1.5), rtol=1e-12)
    with pytest.raises(ModelError, match="typo"):
        ppl.logdensity(m, {"typo": 1.0})


def test_discrete_latent_sites_raise():
    def m():
        k = ppl.sample("k", dist.Poisson(3.0))
        ppl.sample("y", dist.Normal(k, 1.0), obs=0.0)

    with pytest.raises(ModelError, match="discrete"):
        ppl.logdensity(m)


def test_wrong_flat_shape_raises():
    ld = ppl.logdensity(flu_prevalence)
    with pytest.raises(ValueError, match="shape"):
        ld.fn(jnp.zeros(3))


def test_import_does_not_change_jax_config():
    code = ("import jax, credo.ppl, credo.ppl.examples; "
            "assert not jax.config.jax_enable_x64; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
