"""Discrete latent sites summed out of the log density, checked against brute-force enumeration.

The reference sums ``exp(log joint)`` over every joint assignment of the
discrete sites, each observed (so the model's own log density with the
discrete values as data), which shares no code with the contraction.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import credo.ppl as ppl
from credo import distributions as dist
from credo.errors import ContractionTooLargeError, ModelError

Y6 = np.array([-1.9, -0.4, 0.3, 1.1, 2.6, 3.2])


def mixture(y, z=None, K=3):
    w = ppl.sample("w", dist.Dirichlet(jnp.ones(K)))
    mu = ppl.sample("mu", dist.Normal(jnp.linspace(-2.0, 2.0, K), 2.0))
    sigma = ppl.sample("sigma", dist.HalfNormal(2.0))
    with ppl.plate("N", len(y)):
        z = ppl.sample("z", dist.Categorical(w), obs=z)
        ppl.sample("y", dist.Normal(mu[z], sigma), obs=y)


def change_point(y, tau=None):
    T = len(y)
    early = ppl.sample("early", dist.Gamma(2.0, 1.0))
    late = ppl.sample("late", dist.Gamma(2.0, 1.0))
    tau = ppl.sample("tau", dist.DiscreteUniform(0, T - 1), obs=tau)
    with ppl.plate("T", T):
        rate = jnp.where(jnp.arange(T) < tau, early, late)
        ppl.sample("y", dist.Poisson(rate), obs=y)


def hmm_loop(y, zs=None, K=2):
    """An HMM written as a Python loop: one site per step."""
    stay = ppl.sample("stay", dist.Beta(4.0, 2.0))
    A = stay * jnp.eye(K) + (1 - stay) * (1 - jnp.eye(K)) / (K - 1)
    mu = ppl.sample("mu", dist.Normal(jnp.arange(K) * 2.0, 1.0))
    z = 0
    for t in range(len(y)):
        probs = A[z] if t else jnp.ones(K) / K
        z = ppl.sample(f"z_{t}", dist.Categorical(probs), obs=None if zs is None else zs[t])
        ppl.sample(f"y_{t}", dist.Normal(mu[z], 1.0), obs=y[t])


def global_switch(y, s=None):
    """A global Bernoulli switch seen by every point of a plate."""
    mu = ppl.sample("mu", dist.Normal(jnp.zeros(2), 2.0))
    s = ppl.sample("s", dist.Bernoulli(0.3), obs=s)
    with ppl.plate("N", len(y)):
        ppl.sample("y", dist.Normal(mu[s], 1.0), obs=y)


def nested(y, z=None):
    """One latent class per group, several observations per group (plates inside plates)."""
    mu = ppl.sample("mu", dist.Normal(jnp.array([-1.0, 1.0]), 1.0))
    with ppl.plate("group", y.shape[1], dim=-1):
        z = ppl.sample("z", dist.Bernoulli(0.5), obs=z)
        with ppl.plate("member", y.shape[0], dim=-2):
            ppl.sample("y", dist.Normal(mu[z], 1.0), obs=y)


def _brute_force(model, data, name, values, flat):
    """logsumexp over ``values`` (assignments, one per row) of the density with ``name`` observed."""
    values = np.asarray(values)
    if values.ndim == 1:  # one scalar site: a compiled density per value
        each = jnp.stack([ppl.logdensity(model, dict(data, **{name: int(v)})).fn(flat) for v in values])
    else:  # array data: one compiled density, the assignments passed in
        ld = ppl.logdensity(model, dict(data, **{name: values[0]}))
        each = jax.vmap(lambda v: ld.fn_with(flat, {name: v}))(jnp.asarray(values))
    return jax.nn.logsumexp(each)


def _point(ld, seed=0):
    return ld.init(jax.random.PRNGKey(seed))


def _check_equal(model, data, name, values, atol=1e-10):
    ld = ppl.logdensity(model, data)
    assert ld.enumeration is not None
    for seed in range(3):
        flat = _point(ld, seed)
        value, grad = jax.value_and_grad(ld.fn)(flat)
        ref, ref_grad = jax.value_and_grad(lambda x: _brute_force(model, data, name, values, x))(flat)
        np.testing.assert_allclose(value, ref, rtol=0, atol=atol)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-9)
    return ld


def test_mixture_matches_enumeration_of_all_assignments():
    assignments = np.array(list(itertools.product(range(3), repeat=6)))
    ld = _check_equal(mixture, {"y": Y6}, "z", assignments)
    assert ld.names == ("w", "mu", "sigma")
    assert ld.enumeration.names == ("z",)
    assert "z" not in ld.constrain(_point(ld))


def test_change_point_matches_enumeration():
    y = np.array([5, 4, 6, 5, 1, 0, 2, 1])
    _check_equal(change_point, {"y": y}, "tau", np.arange(8))


def test_markov_chain_matches_enumeration_and_stays_linear():
    y = np.array([0.1, -0.3, 2.2, 1.9, 2.4, -0.2])
    assignments = np.array(list(itertools.product(range(2), repeat=6)))
    ld = _check_equal(hmm_loop, {"y": y}, "zs", assignments)
    # A chain is eliminated one step at a time: no table over more than two states (and no plate).
    assert ld.enumeration.largest_table == 4
    assert len(ld.enumeration.order) == 6


def test_global_site_seen_by_a_plate_sums_the_plate_first():
    y = np.array([0.5, 1.2, -0.1, 0.9])
    _check_equal(global_switch, {"y": y}, "s", np.array([0, 1]))


def test_nested_plates_match_enumeration():
    y = np.array([[-1.2, 0.8, 1.5], [-0.7, 1.1, 0.2]])  # 2 members x 3 groups
    assignments = np.array(list(itertools.product(range(2), repeat=3)))
    _check_equal(nested, {"y": y}, "z", assignments)


def test_models_without_discrete_sites_have_no_plan():
    def normal(y):
        mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
        with ppl.plate("N", len(y)):
            ppl.sample("y", dist.Normal(mu, 1.0), obs=y)

    assert ppl.logdensity(normal, {"y": Y6}).enumeration is None


def test_the_plan_is_reported():
    ld = ppl.logdensity(mixture, {"y": Y6})
    text = str(ld.enumeration)
    assert "z (3 values, per element of N)" in text
    assert "largest table: 18 entries" in text
    assert "y" in ld.enumeration.factors and "z" in ld.enumeration.factors


def test_a_deterministic_site_of_a_summed_site_is_left_out_of_the_draws():
    def model(y):
        mu = ppl.sample("mu", dist.Normal(jnp.zeros(2), 1.0))
        with ppl.plate("N", len(y)):
            z = ppl.sample("z", dist.Bernoulli(0.5))
            ppl.deterministic("location", mu[z])
            ppl.sample("y", dist.Normal(mu[z], 1.0), obs=y)
        ppl.deterministic("spread", mu[1] - mu[0])

    ld = ppl.logdensity(model, {"y": Y6})
    out = ld.constrain(_point(ld))
    assert set(out) == {"mu", "spread"}
    assert ld.sites["location"].enumerated and ld.sites["z"].enumerated


# ------------------------------------------------------------------------------- refusals
def test_an_infinite_support_is_refused_with_the_site_named():
    def model(y):
        n = ppl.sample("n", dist.Poisson(3.0))
        ppl.sample("y", dist.Normal(n, 1.0), obs=y)

    with pytest.raises(ModelError, match=r"'n'.*infinite.*truncate"):
        ppl.logdensity(model, {"y": 1.0})


def test_a_batch_dimension_outside_any_plate_is_refused():
    def model(y):
        z = ppl.sample("z", dist.Bernoulli(0.5 * jnp.ones(len(y))))
        ppl.sample("y", dist.Normal(z, 1.0), obs=y)

    with pytest.raises(ModelError, match=r"'z'.*credo.plate"):
        ppl.logdensity(model, {"y": Y6})


def test_a_use_outside_the_sites_plate_is_refused():
    def model(y):
        with ppl.plate("N", len(y)):
            z = ppl.sample("z", dist.Bernoulli(0.5))
        ppl.sample("y", dist.Normal(z, 1.0), obs=y)  # y outside N, yet depends on each z

    with pytest.raises(ModelError, match=r"'y' depends on the discrete site 'z'.*plate"):
        ppl.logdensity(model, {"y": Y6})


def test_a_support_that_varies_across_the_plate_is_refused():
    def model(y, n):
        with ppl.plate("N", len(y)):
            k = ppl.sample("k", dist.Binomial(n, 0.5))
            ppl.sample("y", dist.Normal(k, 1.0), obs=y)

    with pytest.raises(ModelError, match=r"'k'.*differs across"):
        ppl.logdensity(model, {"y": Y6, "n": np.array([1, 2, 3, 1, 2, 3])})


def test_a_sum_too_large_is_refused_before_compiling_with_the_sites_named():
    def model(y):
        bits = [ppl.sample(f"b{i}", dist.Bernoulli(0.5)) for i in range(26)]
        ppl.sample("y", dist.Normal(sum(bits), 1.0), obs=y)  # one term over all 26 bits: 2**26 entries

    with pytest.raises(ContractionTooLargeError, match=r"b0.*b25"):
        ppl.logdensity(model, {"y": 3.0}, memory_limit=2**20)


def test_a_binomial_with_a_small_count_matches_enumeration():
    def model(y, k=None):
        p = ppl.sample("p", dist.Beta(2.0, 2.0))
        with ppl.plate("N", len(y)):
            k = ppl.sample("k", dist.Binomial(3, p), obs=k)
            ppl.sample("y", dist.Normal(k, 0.7), obs=y)

    y = np.array([0.2, 2.9, 1.4])
    assignments = np.array(list(itertools.product(range(4), repeat=3)))
    _check_equal(model, {"y": y}, "k", assignments)
