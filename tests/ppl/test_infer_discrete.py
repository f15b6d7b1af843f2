"""infer_discrete and discrete_marginals against brute-force conditional posteriors.

For fixed continuous values, p(z | theta, y) is computed by evaluating the
model's density with every assignment of z observed and normalising; the
draws are compared with it by chi-square tests (fixed seeds), the marginals
to 1e-10 and the argmax exactly.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import credo
import credo.ppl as ppl
from credo import distributions as dist
from tests.ppl.test_scan import hmm  # an HMM written with credo.scan

Y3 = np.array([-1.1, 0.4, 1.9])


def mixture(y, z=None):
    w = ppl.sample("w", dist.Dirichlet(jnp.ones(2)))
    mu = ppl.sample("mu", dist.Normal(jnp.array([-1.0, 1.0]), 1.0))
    with ppl.plate("N", len(y)):
        z = ppl.sample("z", dist.Categorical(w), obs=z)
        ppl.sample("y", dist.Normal(mu[z], 1.0), obs=y)


def _conditional(model, data, name, assignments, values):
    """Brute-force p(assignment | continuous values, data), one probability per row of ``assignments``."""
    ld = ppl.logdensity(model, dict(data, **{name: assignments[0]}))
    flat = ld.unconstrain(values)
    logp = jax.vmap(lambda a: ld.fn_with(flat, {name: a}))(jnp.asarray(assignments))
    return np.asarray(jax.nn.softmax(logp))


def _values(model, data, seed):
    ld = ppl.logdensity(model, data)
    return ld, ld.constrain(ld.init(jax.random.PRNGKey(seed)))


def _repeat(values, n):
    return {k: np.broadcast_to(np.asarray(v), (1, n) + np.shape(v)) for k, v in values.items()}


@pytest.mark.parametrize("model,data,length", [(mixture, {"y": Y3}, 3), (hmm, {"y": np.array([0.2, 1.8, 2.1, -0.4])}, 4)])
def test_draws_follow_the_exact_conditional_posterior(model, data, length):
    assignments = np.array(list(itertools.product(range(2), repeat=length)))
    _, values = _values(model, data, 0)
    probs = _conditional(model, data, "z", assignments, values)
    n = 4000
    out = credo.infer_discrete(model, _repeat(values, n), data, seed=1)
    z = out["z"].reshape(n, length)
    codes = z @ (2 ** np.arange(length)[::-1])
    counts = np.bincount(codes, minlength=len(assignments))
    expected = probs * n
    keep = expected > 5
    chi2 = np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep])
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-3, (counts, expected)


@pytest.mark.parametrize("model,data,length", [(mixture, {"y": Y3}, 3), (hmm, {"y": np.array([0.2, 1.8, 2.1, -0.4])}, 4)])
def test_temperature_zero_gives_the_most_probable_assignment(model, data, length):
    assignments = np.array(list(itertools.product(range(2), repeat=length)))
    for seed in range(3):
        _, values = _values(model, data, seed)
        probs = _conditional(model, data, "z", assignments, values)
        out = credo.infer_discrete(model, _repeat(values, 1), data, temperature=0)
        np.testing.assert_array_equal(out["z"].reshape(length), assignments[np.argmax(probs)])


@pytest.mark.parametrize("model,data,length", [(mixture, {"y": Y3}, 3), (hmm, {"y": np.array([0.2, 1.8, 2.1, -0.4])}, 4)])
def test_marginals_are_the_averaged_exact_conditionals(model, data, length):
    assignments = np.array(list(itertools.product(range(2), repeat=length)))
    draws, expected = [], np.zeros((length, 2))
    for seed in range(3):
        _, values = _values(model, data, seed)
        draws.append(values)
        probs = _conditional(model, data, "z", assignments, values)
        for i in range(length):
            for k in range(2):
                expected[i, k] += probs[assignments[:, i] == k].sum() / 3
    stacked = {k: np.stack([np.asarray(d[k]) for d in draws])[None] for k in draws[0]}
    marginals = credo.discrete_marginals(model, stacked, data)
    np.testing.assert_allclose(marginals["z"], expected, atol=1e-10)


def test_a_posterior_comes_back_with_its_discrete_draws():
    post = credo.nuts(mixture, data={"y": Y3}, chains=2, warmup=100, draws=50, seed=0, progress=False)
    extended = credo.infer_discrete(mixture, post, {"y": Y3}, seed=2)
    assert extended.draws["z"].shape == (2, 50, 3)
    assert set(np.unique(extended.draws["z"])) <= {0, 1}
    np.testing.assert_array_equal(extended.draws["mu"], post.draws["mu"])
    assert "z" not in post.draws


def test_a_model_whose_only_latent_is_discrete_has_an_exact_posterior():
    from scipy import stats as st

    def model():
        z = ppl.sample("z", dist.Bernoulli(0.3))
        ppl.sample("y", dist.Normal(z * 2.0, 1.0), obs=0.5)

    like0, like1 = 0.7 * st.norm(0, 1).pdf(0.5), 0.3 * st.norm(2, 1).pdf(0.5)
    marginals = credo.discrete_marginals(model, {})
    np.testing.assert_allclose(marginals["z"], [like0 / (like0 + like1), like1 / (like0 + like1)], rtol=1e-12)
    with pytest.raises(credo.ModelError, match=r"'z'.*summed out.*discrete_marginals"):
        credo.nuts(model, progress=False)
