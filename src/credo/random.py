"""Random keys: the one conversion from a user's ``seed=`` to a JAX PRNG key.

The lowest layer of the JAX stack (it imports only JAX and numpy), so the
distributions, the model language and every sampler can share it without
reaching into each other's internals.
"""

from __future__ import annotations

import zlib

import jax
import numpy as np

__all__ = ["as_key", "site_key", "split_by_index"]


def as_key(key):
    """A PRNG key from an ``int`` seed or an existing key.

    Parameters
    ----------
    key : int or PRNG key

    Returns
    -------
    PRNG key
        ``jax.random.PRNGKey(key)`` for an int; an existing key unchanged.

    Raises
    ------
    TypeError
        For anything else (a bool, a float, a string, None): a typo'd seed
        fails here rather than as an obscure error inside a compiled program.
    """
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer, np.ndarray, jax.Array)):
        raise TypeError(f"a seed must be an int or a JAX PRNG key, got {type(key).__name__} {key!r}")
    if isinstance(key, (int, np.integer)):
        return jax.random.PRNGKey(int(key))
    return key


def split_by_index(key, num: int):
    """``jax.random.split(key, num)`` computed so that row ``i`` depends only on ``key`` and ``i``.

    JAX's partitionable Threefry (the default) has this property and its
    original one does not (``split(key, 1)[0] != split(key, 2)[0]`` there); the
    split is made under the partitionable setting whatever the configuration, so
    that chain ``c``'s key is the same for any number of chains.
    """
    with jax.threefry_partitionable(True):
        return jax.random.split(key, num)


def site_key(key, name: str):
    """The key of site ``name`` under ``key``: independent of the order of sites.

    Folding in a checksum of the name (rather than splitting in program
    order) keeps each site's draws unchanged when other sites are added.
    """
    return jax.random.fold_in(key, np.uint32(zlib.crc32(name.encode())))
