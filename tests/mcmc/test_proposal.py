"""Progressive multinomial sampling helpers."""

import jax
import jax.numpy as jnp
import numpy as np

from credo.mcmc.proposal import (
    Proposal,
    acceptance_probability,
    biased_transition_probability,
    energy_error,
    progressive_biased_sampling,
    progressive_uniform_sampling,
    uniform_transition_probability,
)


def _proposal(value, log_weight):
    return Proposal(jnp.full(2, value), jnp.asarray(value), jnp.full(2, value), jnp.asarray(value),
                    jnp.asarray(log_weight))


def test_energy_error_and_acceptance():
    assert energy_error(1.0, jnp.nan) == jnp.inf
    np.testing.assert_allclose(energy_error(1.0, 3.5), 2.5)
    np.testing.assert_allclose(acceptance_probability(jnp.array([-1.0, 0.0, 2.0, jnp.inf])),
                               [1.0, 1.0, np.exp(-2.0), 0.0])


def test_transition_probabilities():
    np.testing.assert_allclose(uniform_transition_probability(np.log(3.0), np.log(1.0)), 0.25)
    assert uniform_transition_probability(-jnp.inf, 0.3) == 1.0  # empty subtree: take the leaf
    assert uniform_transition_probability(-jnp.inf, -jnp.inf) == 0.0  # no NaN
    np.testing.assert_allclose(biased_transition_probability(np.log(4.0), np.log(1.0)), 0.25)
    assert biased_transition_probability(0.0, 2.0) == 1.0


def test_progressive_sampling_frequencies():
    old, new = _proposal(0.0, np.log(3.0)), _proposal(1.0, np.log(1.0))
    u = jnp.linspace(0.0, 1.0, 10_001)[:-1]
    take = jax.vmap(lambda x: progressive_uniform_sampling(x, old, new).logdensity)(u)
    np.testing.assert_allclose(np.mean(take), 0.25, atol=1e-3)
    merged = progressive_uniform_sampling(0.1, old, new)
    np.testing.assert_allclose(merged.log_weight, np.log(4.0))
    take = jax.vmap(lambda x: progressive_biased_sampling(x, old, new).logdensity)(u)
    np.testing.assert_allclose(np.mean(take), 1.0 / 3.0, atol=1e-3)
    assert float(progressive_biased_sampling(0.99, new, old).logdensity) == 0.0  # heavier: always
