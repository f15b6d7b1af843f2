"""credo.random: seeds to keys, per-site keys and count-independent splits."""

import zlib

import jax
import numpy as np
import pytest

from credo.random import as_key, site_key, split_by_index


def test_as_key():
    np.testing.assert_array_equal(as_key(3), jax.random.PRNGKey(3))
    np.testing.assert_array_equal(as_key(np.int64(3)), jax.random.PRNGKey(3))
    key = jax.random.PRNGKey(7)
    assert as_key(key) is key
    for bad in (True, 1.5, "0", None):
        with pytest.raises(TypeError, match="a seed must be an int or a JAX PRNG key"):
            as_key(bad)


def test_site_key_depends_on_the_name_only():
    key = jax.random.PRNGKey(0)
    want = jax.random.fold_in(key, np.uint32(zlib.crc32(b"mu")))
    np.testing.assert_array_equal(site_key(key, "mu"), want)
    assert not np.array_equal(site_key(key, "mu"), site_key(key, "tau"))


def test_split_by_index_rows_do_not_depend_on_the_count():
    key = jax.random.PRNGKey(1)
    np.testing.assert_array_equal(split_by_index(key, 1)[0], split_by_index(key, 5)[0])
    assert split_by_index(key, 5).shape == (5, 2)


def test_the_old_homes_still_export_them():
    from credo.mcmc import rng
    from credo.ppl import runtime

    assert runtime.as_key is as_key and runtime.site_key is site_key
    key = jax.random.PRNGKey(2)
    np.testing.assert_array_equal(rng.split_by_index(key, 3), split_by_index(key, 3))
