"""The samplers' random numbers (credo.mcmc.rng): JAX's Threefry, and exact distributions.

Fixed seeds make each statistical check deterministic; the tolerances are a
few standard errors (or a KS p-value floor), so a wrong transform fails.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend.random import threefry_2x32
from scipy import stats

from credo.mcmc import rng

N = 100_000


def test_threefry_matches_jax():
    key = jnp.array([123456789, 987654321], jnp.uint32)
    c0 = jnp.arange(7, dtype=jnp.uint32)
    c1 = 3 * c0 + 11
    expected = threefry_2x32(key, jnp.concatenate([c0, c1]))
    assert np.array_equal(jnp.concatenate(rng.threefry2x32(key, (c0, c1))), expected)


def test_raw_and_typed_keys_give_the_same_words():
    raw, typed = jax.random.PRNGKey(3), jax.random.key(3)
    np.testing.assert_array_equal(rng.key_words(raw), rng.key_words(typed))
    np.testing.assert_array_equal(rng.normal(raw, (5,)), rng.normal(typed, (5,)))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_normal_is_standard_normal(dtype):
    z = np.asarray(rng.normal(jax.random.PRNGKey(0), (N,), dtype), np.float64)
    assert z.dtype == np.float64 and np.all(np.isfinite(z))
    assert rng.normal(jax.random.PRNGKey(0), (3,), dtype).dtype == dtype
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 4 / np.sqrt(N)
    assert abs(z.var() - 1) < 4 * np.sqrt(2 / N)
    tail = np.mean(np.abs(z) > 3)
    p = 2 * stats.norm.sf(3)
    assert abs(tail - p) < 4 * np.sqrt(p * (1 - p) / N)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_uniform_is_uniform(dtype):
    u = np.asarray(rng.uniform(jax.random.PRNGKey(1), (N,), dtype), np.float64)
    assert u.min() >= 0 and u.max() < 1
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    # the full mantissa is used: far more distinct values than 2**16
    assert len(np.unique(u)) > 0.99 * N


def test_split_fold_in_and_streams_are_independent():
    key = jax.random.PRNGKey(2)
    a, b = rng.split(key)
    za, zb = np.asarray(rng.normal(a, (N,))), np.asarray(rng.normal(b, (N,)))
    assert abs(np.corrcoef(za, zb)[0, 1]) < 4 / np.sqrt(N)
    # the same key's normals and uniforms come from different counter streams
    u = np.asarray(rng.uniform(key, (N,)))
    z = np.asarray(rng.normal(key, (N,)))
    assert abs(stats.spearmanr(u, z)[0]) < 4 / np.sqrt(N)
    folded = np.asarray(jax.vmap(lambda i: rng.fold_in(key, i))(jnp.arange(1000)))
    assert len({tuple(k) for k in folded}) == 1000
    assert not any(np.array_equal(k, s) for k in folded[:4] for s in np.asarray(rng.split(key, 4)))
    words = np.asarray(rng.bits(key, 7))
    assert words.shape == (7,) and words.dtype == np.uint32 and len(set(words)) == 7


def test_same_key_same_numbers():
    key = jax.random.PRNGKey(9)
    np.testing.assert_array_equal(rng.normal(key, (4, 3)), rng.normal(key, (4, 3)))
    assert rng.normal(key, (4, 3)).shape == (4, 3)
