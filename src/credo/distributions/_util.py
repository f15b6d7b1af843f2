"""Array helpers shared by distributions and transforms (internal)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln
from credo.errors import DistributionError

__all__ = [
    "as_float",
    "promote",
    "broadcast_params",
    "sum_rightmost",
    "is_concrete",
    "probs_to_logits",
    "logits_to_probs",
    "log_gamma_half_ratio",
    "log_beta",
    "sample_log_gamma",
    "sample_beta",
    "vec_to_tril",
    "tril_to_vec",
    "int_dtype",
]


def int_dtype():
    """The default integer dtype under the current jax precision setting."""
    return jnp.asarray(0).dtype


def as_float(*xs):
    """Convert ``xs`` to arrays of one common floating dtype."""
    dtype = jnp.result_type(float, *xs)
    return tuple(jnp.asarray(x, dtype=dtype) for x in xs)


def promote(*xs):
    """Convert scalar-event parameters to float arrays broadcast to one shape."""
    xs = as_float(*xs)
    shape = jnp.broadcast_shapes(*(jnp.shape(x) for x in xs))
    return tuple(jnp.broadcast_to(x, shape) for x in xs)


def broadcast_params(*pairs):
    """Broadcast ``(value, event_dim)`` pairs to a common batch shape.

    Returns
    -------
    batch_shape : tuple
    arrays : tuple
        Each value broadcast to ``batch_shape + its own event shape``.
    """
    values = as_float(*(v for v, _ in pairs))
    splits = [(jnp.shape(v)[: jnp.ndim(v) - d], jnp.shape(v)[jnp.ndim(v) - d :])
              for v, (_, d) in zip(values, pairs)]
    batch = jnp.broadcast_shapes(*(b for b, _ in splits))
    out = tuple(jnp.broadcast_to(v, batch + e) for v, (_, e) in zip(values, splits))
    return batch, out


def sum_rightmost(x, n):
    """Sum the ``n`` rightmost axes of ``x`` (no-op for ``n <= 0``)."""
    return x if n <= 0 else jnp.sum(x, axis=tuple(range(-n, 0)))


def is_concrete(*xs):
    """True when no argument is a jax tracer (so its values can be inspected)."""
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(xs))


def probs_to_logits(probs, binary=True):
    """Log-odds (binary) or log-probabilities (categorical) of ``probs``."""
    if binary:
        return jnp.log(probs) - jnp.log1p(-probs)
    return jnp.log(probs)


def logits_to_probs(logits, binary=True):
    """Inverse of :func:`probs_to_logits` (softmax over the last axis if categorical)."""
    return jax.nn.sigmoid(logits) if binary else jax.nn.softmax(logits, axis=-1)


def log_gamma_half_ratio(a):
    """``log Gamma(a + 1/2) - log Gamma(a)`` without cancellation for large ``a``."""
    big = a > 100.0
    ab = jnp.where(big, a, 101.0)
    a2 = ab * ab
    # asymptotic series; the next term is O(a^-7) ~ 1e-14 at the switch point
    series = 0.5 * jnp.log(ab) - 1 / (8 * ab) + 1 / (192 * ab * a2) + 1 / (640 * ab * a2 * a2)
    small = jnp.where(big, 1.0, a)
    return jnp.where(big, series, gammaln(small + 0.5) - gammaln(small))


def sample_log_gamma(key, concentration, shape):
    """``log`` of standard Gamma(concentration, 1) draws of ``shape``, reparameterized.

    Working in log space keeps tiny concentrations (whose draws underflow) usable;
    routing every gamma-based sampler through this one kernel also lets eager
    calls of equal shape share a single compilation.
    """
    conc = jnp.broadcast_to(concentration, shape)
    return jax.random.loggamma(key, conc, dtype=conc.dtype)


def sample_beta(key, a, b, shape):
    """Beta(a, b) draws as ``sigmoid(log G_a - log G_b)``, reparameterized."""
    k_a, k_b = jax.random.split(key)
    return jax.nn.sigmoid(sample_log_gamma(k_a, a, shape) - sample_log_gamma(k_b, b, shape))


def _stirling_remainder(x):
    """``lgamma(x) - [(x - 1/2) log x - x + log(2 pi) / 2]`` for ``x >= 10`` (error < 1e-12)."""
    r = 1 / x
    r2 = r * r
    return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 / 1680)))


def log_beta(a, b):
    """``log B(a, b)``, accurate also when one argument is much larger than the other.

    ``jax.scipy.special.betaln`` loses ~1e-7 (absolute) for arguments just above 8.
    """
    a, b = jnp.minimum(a, b), jnp.maximum(a, b)
    big = b >= 10
    bb = jnp.where(big, b, 10.0)
    # lgamma(b) - lgamma(a + b) by Stirling, rearranged so that nothing large cancels
    ratio = (-(bb - 0.5) * jnp.log1p(a / bb) - a * jnp.log(a + bb) + a
             + _stirling_remainder(bb) - _stirling_remainder(a + bb))
    direct = gammaln(b) - gammaln(a + b)
    return gammaln(a) + jnp.where(big, ratio, direct)


def _tril_size_to_dim(m, diagonal):
    # m = K(K-1)/2 (strict) or K(K+1)/2 (with diagonal)
    k = int(round((np.sqrt(8 * m + 1) + (-1 if diagonal else 1)) / 2))
    if k * (k + (1 if diagonal else -1)) // 2 != m:
        raise DistributionError(f"a vector of length {m} does not fill a triangular matrix")
    return k


def vec_to_tril(x, diagonal=True):
    """Fill a lower-triangular ``(..., K, K)`` matrix row-major from ``x`` of shape ``(..., m)``."""
    k = _tril_size_to_dim(x.shape[-1], diagonal)
    rows, cols = np.tril_indices(k, 0 if diagonal else -1)
    out = jnp.zeros(x.shape[:-1] + (k, k), dtype=x.dtype)
    return out.at[..., rows, cols].set(x)


def tril_to_vec(m, diagonal=True):
    """Inverse of :func:`vec_to_tril`: the row-major lower-triangular entries."""
    k = m.shape[-1]
    rows, cols = np.tril_indices(k, 0 if diagonal else -1)
    return m[..., rows, cols]
