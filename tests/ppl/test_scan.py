"""credo.scan: sites inside a loop over time, and the forward algorithm for discrete states.

References: a Python loop with one site per step (the same joint density),
brute-force enumeration of every state sequence, and a hand-written
``lax.scan`` forward recursion with ``logsumexp``.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import credo
import credo.ppl as ppl
from credo import distributions as dist
from credo.errors import ModelError

Y6 = np.array([0.1, -0.3, 2.2, 1.9, 2.4, -0.2])


def random_walk_scan(y):
    sigma = ppl.sample("sigma", dist.HalfNormal(1.0))

    def step(level, y_t):
        level = ppl.sample("level", dist.Normal(level, sigma))
        ppl.sample("y", dist.Normal(level, 0.5), obs=y_t)
        return level, level * 2.0

    _, doubled = ppl.scan(step, 0.0, y)
    ppl.deterministic("doubled", doubled)


def random_walk_loop(y):
    sigma = ppl.sample("sigma", dist.HalfNormal(1.0))
    level = 0.0
    for t in range(len(y)):
        level = ppl.sample(f"level_{t}", dist.Normal(level, sigma))
        ppl.sample(f"y_{t}", dist.Normal(level, 0.5), obs=y[t])


def test_sites_inside_a_scan_get_a_time_axis_and_the_loops_density():
    ld = ppl.logdensity(random_walk_scan, {"y": Y6})
    loop = ppl.logdensity(random_walk_loop, {"y": Y6})
    assert ld.dim == loop.dim == 7
    assert ld.sites["level"].shape == (6,)
    assert ld.sites["y"].observed and ld.sites["doubled"].shape == (6,)
    for seed in range(3):
        flat = ld.init(jax.random.PRNGKey(seed))
        value, grad = jax.value_and_grad(ld.fn)(flat)
        ref, ref_grad = jax.value_and_grad(loop.fn)(flat)  # same layout: sigma, then the levels in order
        np.testing.assert_allclose(value, ref, rtol=1e-12)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-12)
    out = ld.constrain(flat)
    np.testing.assert_allclose(out["doubled"], 2 * out["level"])


def test_a_scan_is_sampled_by_nuts():
    post = credo.nuts(random_walk_scan, data={"y": Y6}, chains=2, warmup=200, draws=200, seed=1,
                      progress=False)
    assert post.draws["level"].shape == (2, 200, 6)


def test_prior_predictive_draws_whole_series():
    draws = ppl.prior_predictive(random_walk_scan, {"y": Y6}, num_samples=50, seed=0)
    assert draws["level"].shape == (50, 6) and draws["y"].shape == (50, 6)
    # each step draws its own noise: consecutive levels differ
    assert np.all(np.abs(np.diff(draws["level"], axis=1)) > 0)


# ------------------------------------------------------------------------------ discrete states
def hmm(y, z=None, K=2):
    stay = ppl.sample("stay", dist.Beta(4.0, 2.0))
    A = stay * jnp.eye(K) + (1 - stay) * (1 - jnp.eye(K)) / (K - 1)
    mu = ppl.sample("mu", dist.Normal(jnp.arange(K) * 2.0, 1.0))
    start = jnp.ones(K) / K

    def step(previous, inputs):
        y_t, z_t, t = inputs
        probs = jnp.where(t == 0, start, A[previous])
        state = ppl.sample("z", dist.Categorical(probs), obs=z_t)
        ppl.sample("y", dist.Normal(mu[state], 1.0), obs=y_t)
        return state, None

    ppl.scan(step, 0, (y, z, jnp.arange(len(y))), name="chain")


def _sequences(n, K=2):
    return np.array(list(itertools.product(range(K), repeat=n)))


def _assert_summed_equals_enumeration(model, y, seqs, seed):
    """The summed density (value and gradient) against logsumexp over every sequence of z observed.

    Returns the point and the compiled observed density (for further checks)."""
    ld = ppl.logdensity(model, {"y": y})
    observed = ppl.logdensity(model, {"y": y, "z": seqs[0]})
    flat = ld.init(jax.random.PRNGKey(seed))
    value, grad = jax.value_and_grad(ld.fn)(flat)

    def brute(x):
        return jax.nn.logsumexp(jax.vmap(lambda s: observed.fn_with(x, {"z": s}))(jnp.asarray(seqs)))

    ref, ref_grad = jax.value_and_grad(brute)(flat)
    np.testing.assert_allclose(value, ref, atol=1e-10)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-9)
    return ld, flat, observed


def test_the_forward_algorithm_equals_enumeration_of_every_state_sequence():
    ld = ppl.logdensity(hmm, {"y": Y6})
    assert ld.enumeration is not None and ld.names == ("stay", "mu")
    assert "forward algorithm" in str(ld.enumeration)
    for seed in range(3):
        _assert_summed_equals_enumeration(hmm, Y6, _sequences(6), seed)


def _hand_forward(y, stay, mu, K):
    A = stay * jnp.eye(K) + (1 - stay) * (1 - jnp.eye(K)) / (K - 1)
    emit = jax.scipy.stats.norm.logpdf(y[:, None], mu[None, :], 1.0)
    alpha0 = jnp.log(jnp.ones(K) / K) + emit[0]

    def step(alpha, e):
        alpha = jax.nn.logsumexp(alpha[:, None] + jnp.log(A), axis=0) + e
        return alpha, None

    alpha, _ = jax.lax.scan(step, alpha0, emit[1:])
    return jax.nn.logsumexp(alpha)


def test_a_long_chain_equals_a_hand_written_forward_recursion():
    K, T = 3, 1000
    rng = np.random.default_rng(0)
    y = rng.normal(np.repeat([0.0, 2.0, 4.0], [300, 400, T - 700]), 1.0)
    ld = ppl.logdensity(lambda y: hmm(y, None, K), {"y": y})
    flat = ld.init(jax.random.PRNGKey(3))
    values = ld.constrain(flat)

    def joint_by_hand(x):
        v = ld.constrain(x)
        prior = (jax.scipy.stats.beta.logpdf(v["stay"], 4.0, 2.0)
                 + jnp.sum(jax.scipy.stats.norm.logpdf(v["mu"], jnp.arange(K) * 2.0, 1.0)))
        # the Beta site's log-Jacobian on the unconstrained (logit) scale
        jac = jnp.log(v["stay"]) + jnp.log1p(-v["stay"])
        return prior + jac + _hand_forward(jnp.asarray(y), v["stay"], v["mu"], K)

    value, grad = jax.value_and_grad(jax.jit(ld.fn))(flat)
    ref, ref_grad = jax.value_and_grad(joint_by_hand)(flat)
    assert np.isfinite(float(values["stay"]))
    np.testing.assert_allclose(value, ref, rtol=1e-10)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-8, atol=1e-8)


def test_a_carry_of_two_steps_back_is_refused():
    def second_order(y):
        def step(carry, y_t):
            older, last = carry
            z = ppl.sample("z", dist.Bernoulli(0.5))
            ppl.sample("y", dist.Normal(z + older, 1.0), obs=y_t)
            return (last, z), None

        ppl.scan(step, (0, 0), y)

    with pytest.raises(ModelError, match="first-order"):
        ppl.logdensity(second_order, {"y": Y6})


def test_graph_and_checks_see_the_scans_sites():
    graph = credo.model_graph(hmm, {"y": Y6})
    assert set(graph.graph.nodes) >= {"stay", "mu", "z", "y"}
    assert graph.graph.has_edge("z", "y") and graph.graph.has_edge("mu", "y")
    table = str(credo.check_model(hmm, {"y": Y6}))
    assert "Categorical" in table and "Stacked" not in table


def test_posterior_predictive_of_a_summed_chain_draws_states_and_series():
    post = credo.nuts(hmm, data={"y": Y6}, chains=1, warmup=100, draws=20, seed=0, progress=False)
    assert set(post.draws) == {"stay", "mu"}
    pp = credo.posterior_predictive(hmm, post, {"y": Y6})
    assert pp["z"].shape == (1, 20, 6) and pp["y"].shape == (1, 20, 6)


def hmm_series(y, z=None, K=2):
    """Independent chains, one per series (a plate around the scan), sharing the parameters."""
    stay = ppl.sample("stay", dist.Beta(4.0, 2.0))
    A = stay * jnp.eye(K) + (1 - stay) * (1 - jnp.eye(K)) / (K - 1)
    mu = ppl.sample("mu", dist.Normal(jnp.arange(K) * 2.0, 1.0))

    def step(previous, inputs):
        y_t, z_t, t = inputs
        probs = jnp.where(t == 0, jnp.ones(K) / K, A[previous])
        state = ppl.sample("z", dist.Categorical(probs), obs=z_t)
        ppl.sample("y", dist.Normal(mu[state], 1.0), obs=y_t)
        return state, None

    with ppl.plate("series", y.shape[1]):
        ppl.scan(step, jnp.zeros(y.shape[1], int), (y, z, jnp.arange(y.shape[0])), name="chains")


def regime_hmm(y, g=None, z=None, K=2):
    """A global discrete regime (summed out by the plated program) that every step of the chain sees."""
    mu = ppl.sample("mu", dist.Normal(jnp.arange(K) * 2.0, 1.0))
    g = ppl.sample("g", dist.Bernoulli(0.4), obs=g)
    stay = jnp.where(g == 1, 0.9, 0.6)

    def step(previous, inputs):
        y_t, z_t, t = inputs
        same = jnp.asarray(previous)[..., None] == jnp.arange(K)  # [..., None]: the event axis of probs
        A_row = jnp.where(same, stay[..., None], (1 - stay[..., None]) / (K - 1))
        probs = jnp.where(t == 0, jnp.ones(K) / K, A_row)
        state = ppl.sample("z", dist.Categorical(probs), obs=z_t)
        ppl.sample("y", dist.Normal(mu[state], 1.0), obs=y_t)
        return state, None

    ppl.scan(step, 0, (y, z, jnp.arange(len(y))), name="chain")


def test_a_plate_of_chains_equals_enumeration():
    y = np.array([[0.1, 2.3], [1.9, 2.2], [2.4, -0.1], [-0.2, 0.3]])  # T = 4 steps x 2 series
    _assert_summed_equals_enumeration(hmm_series, y, _sequences(8).reshape(-1, 4, 2), seed=0)


def test_a_global_discrete_site_seen_by_every_step_equals_enumeration():
    y = np.array([0.1, 2.3, 1.9, 2.2, -0.3])
    ld = ppl.logdensity(regime_hmm, {"y": y})
    assert set(ld.enumeration.names) == {"g", "z"}
    seqs = _sequences(5)
    flat = ld.init(jax.random.PRNGKey(1))
    parts = []
    for g in (0, 1):
        observed = ppl.logdensity(regime_hmm, {"y": y, "g": g, "z": seqs[0]})
        parts.append(jax.vmap(lambda s: observed.fn_with(flat, {"z": s}))(jnp.asarray(seqs)))
    ref = jax.nn.logsumexp(jnp.concatenate(parts))
    np.testing.assert_allclose(ld.fn(flat), ref, atol=1e-10)


def switching_ar(y, z=None, K=2):
    """The carry holds a running value (the last observation) beside the state: the step-by-step path."""
    stay = ppl.sample("stay", dist.Beta(4.0, 2.0))
    A = stay * jnp.eye(K) + (1 - stay) * (1 - jnp.eye(K)) / (K - 1)
    mu = ppl.sample("mu", dist.Normal(jnp.arange(K) * 2.0, 1.0))

    def step(carry, inputs):
        previous, last = carry
        y_t, z_t, t = inputs
        probs = jnp.where(t == 0, jnp.ones(K) / K, A[previous])
        state = ppl.sample("z", dist.Categorical(probs), obs=z_t)
        ppl.sample("y", dist.Normal(mu[state] + 0.5 * last, 1.0), obs=y_t)
        return (state, y_t), None

    ppl.scan(step, (0, 0.0), (y, z, jnp.arange(len(y))), name="chain")


@pytest.mark.parametrize("model", [hmm, switching_ar], ids=["states-only carry", "carry with a running value"])
def test_both_forward_paths_equal_enumeration(model):
    y = np.array([0.1, 2.3, 1.9, 2.2, -0.3])
    seqs = _sequences(5)
    ld, flat, observed = _assert_summed_equals_enumeration(model, y, seqs, seed=2)
    marginals = credo.discrete_marginals(model, {k: np.asarray(v)[None, None] for k, v in ld.constrain(flat).items()},
                                         {"y": y})
    probs = jax.nn.softmax(jax.vmap(lambda s: observed.fn_with(flat, {"z": s}))(jnp.asarray(seqs)))
    expected = np.stack([[probs[seqs[:, t] == k].sum() for k in range(2)] for t in range(5)])
    np.testing.assert_allclose(marginals["z"], expected, atol=1e-10)
