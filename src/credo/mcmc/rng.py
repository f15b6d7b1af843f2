"""Random numbers for the Hamiltonian samplers: Threefry-2x32, written out.

The samplers draw from the same generator as :mod:`jax.random` (the
Threefry-2x32 hash of Salmon et al. 2011, counter-based), but with the 20
rounds unrolled into plain ``uint32`` arithmetic. JAX lowers its Threefry on
CPU as a rolled loop: every call site is a nested loop at run time and about
a second of XLA compile time, and a NUTS program has several call sites
(key derivation, momentum, trajectory words, step-size search). Written out,
the hash fuses with the arithmetic around it.

Keys are JAX's raw keys (``uint32[2]``; :func:`jax.random.PRNGKey`) or typed
keys (:func:`jax.random.key`, threefry implementation). Derived keys are raw.
Every function hashes a distinct ``(counter, stream)`` pair under its key, so
``fold_in``, ``split``, ``bits`` and ``normal`` of one key are independent.

References
----------
Salmon, Moraes, Dror & Shaw (2011), "Parallel random numbers: as easy as
1, 2, 3", SC '11.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import jax.numpy as jnp
from jax import lax

from credo.random import split_by_index  # noqa: F401  (part of this module's API: chains' keys)

__all__ = ["threefry2x32", "key_words", "fold_in", "split", "bits", "normal", "uniform",
           "key_from_seed", "split_by_index"]

# counter streams (the second counter word), one per kind of draw
_FOLD_IN, _SPLIT, _BITS, _NORMAL, _UNIFORM = range(5)


def _rotate_left(x, bits_: int):
    return lax.shift_left(x, jnp.uint32(bits_)) | lax.shift_right_logical(x, jnp.uint32(32 - bits_))


def threefry2x32(key, counter):
    """The Threefry-2x32 hash (20 rounds), unrolled.

    The same function as :func:`jax.extend.random.threefry_2x32`.

    Parameters
    ----------
    key : Array, shape (2,), uint32
    counter : tuple of two uint32 arrays of the same shape

    Returns
    -------
    tuple of two uint32 arrays
        Random words; distinct counters give independent words.
    """
    k0, k1 = key[0], key[1]
    ks = (k0, k1, k0 ^ k1 ^ jnp.uint32(0x1BD11BDA))
    x0, x1 = counter[0] + ks[0], counter[1] + ks[1]
    rotations = ((13, 15, 26, 6), (17, 29, 16, 24))
    for i in range(5):
        for r in rotations[i % 2]:
            x0 = x0 + x1
            x1 = _rotate_left(x1, r) ^ x0
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + jnp.uint32(i + 1)
    return x0, x1


def key_words(key):
    """The two ``uint32`` words of a raw or typed threefry key."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return jnp.asarray(key, jnp.uint32).reshape(-1)[-2:]


def _hash(key, index, stream: int):
    index = jnp.asarray(index).astype(jnp.uint32)
    return threefry2x32(key_words(key), (index, jnp.full(index.shape, stream, jnp.uint32)))


def fold_in(key, data):
    """A raw key for ``data`` (an integer) under ``key``; like :func:`jax.random.fold_in`."""
    return jnp.stack(_hash(key, data, _FOLD_IN))


def split(key, num: int = 2):
    """``num`` independent raw keys, shape ``(num, 2)``; like :func:`jax.random.split`."""
    w0, w1 = _hash(key, jnp.arange(num, dtype=jnp.uint32), _SPLIT)
    return jnp.stack([w0, w1], axis=-1)


def bits(key, num: int):
    """``num`` random ``uint32`` words, shape ``(num,)``."""
    w0, w1 = _hash(key, jnp.arange(-(-num // 2), dtype=jnp.uint32), _BITS)
    return jnp.stack([w0, w1], axis=-1).reshape(-1)[:num]


def _unit_interval(w0, w1, dtype):
    """Two words to a float in ``[0, 1)`` on a grid of ``2**-53`` (``2**-24`` in float32)."""
    if jnp.finfo(dtype).nmant >= 52:
        high = lax.shift_right_logical(w0, jnp.uint32(11)).astype(dtype)  # 21 bits
        return high * jnp.asarray(2.0 ** -21, dtype) + w1.astype(dtype) * jnp.asarray(2.0 ** -53, dtype)
    return lax.shift_right_logical(w0, jnp.uint32(8)).astype(dtype) * jnp.asarray(2.0 ** -24, dtype)


def _unit_draws(key, shape, dtype, stream: int):
    """``[0, 1)`` floats of ``shape`` (see :func:`_unit_interval`) from counter ``stream``."""
    dtype = jnp.dtype(dtype) if dtype is not float else jnp.result_type(float)
    w0, w1 = _hash(key, jnp.arange(math.prod(shape), dtype=jnp.uint32), stream)
    return _unit_interval(w0, w1, dtype).reshape(shape)


def uniform(key, shape=(), dtype=float):
    """``Uniform[0, 1)`` draws of ``shape``: the full mantissa of ``dtype`` (53 or 24 bits)."""
    return _unit_draws(key, shape, dtype, _UNIFORM)


def normal(key, shape=(), dtype=float):
    """Standard normal draws of ``shape``: ``sqrt(2) erfinv(2u - 1)``, ``u`` as in :func:`uniform`.

    The inverse-CDF map of :func:`jax.random.normal`, from a uniform with the
    full mantissa of ``dtype``; the lowest grid point is moved off ``-1`` so
    every draw is finite.
    """
    signed = 2 * _unit_draws(key, shape, dtype, _NORMAL) - 1
    dtype = signed.dtype
    signed = jnp.maximum(signed, jnp.nextafter(jnp.asarray(-1, dtype), jnp.asarray(0, dtype)))
    return jnp.asarray(math.sqrt(2), dtype) * lax.erf_inv(signed)


def key_from_seed(seed):
    """The sampler's raw key (``uint32[2]``) for ``seed``: an int of any size, or a PRNG key.

    An int seed ``s`` gives the words ``(s mod 2**64) >> 32`` and ``s mod 2**64 & 0xFFFFFFFF``:
    the key :func:`jax.random.PRNGKey` makes of a 64-bit int with x64 enabled, in either x64
    mode (JAX's own with x64 off keeps only the low 32 bits, so that ``2**32`` and ``0`` would
    give the same draws). Bits above the 64th, of ints outside ``[-2**63, 2**64)``, are folded
    into the key, so that ``2**80`` and ``0`` differ too. A key is returned as it is.

    Raises
    ------
    TypeError
        If ``seed`` is neither an int nor a key.
    """
    from credo.random import as_key

    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        return as_key(seed)  # a key, or the TypeError that names what a seed may be
    seed = int(seed)
    low = seed % 2 ** 64
    key = jnp.array([low >> 32, low & 0xFFFFFFFF], dtype=jnp.uint32)
    if -2 ** 63 <= seed < 2 ** 64:
        return key
    rest, words = abs(seed >> 64), []
    while rest:
        words.append(rest & 0xFFFFFFFF)
        rest >>= 32
    key = fold_in(key, 2 * len(words) + (seed < 0))
    for word in words:
        key = fold_in(key, word)
    return key


