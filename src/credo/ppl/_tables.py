"""Small pieces shared by the plated contraction (:mod:`.enumeration`) and the forward algorithm (:mod:`.scan`)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ModelError

from .runtime import Site

__all__ = ["eliminate", "own_log_prob", "check_unscaled"]


def check_unscaled(site: Site, why: str, *, plate_ratios: bool = True) -> None:
    """Refuse a summed term whose scale is not just its plates' subsampling ratio (or, without
    ``plate_ratios``, not 1).

    A sum over discrete values is exact only for unscaled terms: the plated
    program applies the plates' ratios itself, after the sum; the forward
    algorithm applies none (``why`` ends the message).
    """
    expected = math.prod(f.size / f.subsample_size for f in site.plates) if plate_ratios else 1.0
    try:
        same = bool(np.allclose(np.asarray(1.0 if site.scale is None else site.scale), expected))
    except (TypeError, jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
        same = False
    if not same:
        raise ModelError(f"site {site.name!r} {why}")


def eliminate(joint, axes, semiring: str = "logsum"):
    """Sum (``"logsum"``: log-sum-exp) or maximise (``"max"``: Viterbi) ``joint`` over ``axes``, keeping them."""
    if semiring == "max":
        return jnp.max(joint, axis=axes, keepdims=True)
    return jax.nn.logsumexp(joint, axis=axes, keepdims=True)


def own_log_prob(msg: Site, dim: int):
    """An enumerated site's log probability of each of its support values, its ``K`` along ``dim``.

    Equal to ``msg.unscaled_log_prob`` at the enumerated values, but read
    straight from the distribution's table where it has one
    (``support_log_prob``: Categorical, Bernoulli), without broadcasting the
    values against the batch or checking the support: the values are the
    support itself.
    """
    fast = getattr(msg.fn, "support_log_prob", None)
    batch = tuple(msg.fn.batch_shape)
    rank = max(len(batch), -dim)
    padded = (1,) * (rank - len(batch)) + batch
    # the batch may hold other sites' enumeration dimensions (a chain's previous state), never this one's
    if fast is None or padded[dim] != 1:
        return msg.unscaled_log_prob
    table = jnp.moveaxis(fast(), 0, -1)  # batch_shape + (K,)
    table = jnp.squeeze(jnp.reshape(table, padded + table.shape[-1:]), axis=rank + dim)
    table = jnp.moveaxis(table, -1, dim)
    return table if msg.mask is None else jnp.where(msg.mask, table, 0.0)
