"""Prior and posterior predictive simulation, vectorised with ``jax.vmap``.

Both functions simulate *every* sample site not given a value, observed ones
included: an observed site ``y`` comes back as replicated data under the name
``y``. So the same ``data`` dict serves ``logdensity`` and the predictives.
"""

from __future__ import annotations

import math
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ModelError

from ._model import BoundModel, prototype_trace
from .handlers import seed as seed_handler
from .handlers import substitute, trace, uncondition
from .runtime import Trace, as_key

__all__ = ["prior_predictive", "posterior_predictive"]


def prior_predictive(model, data: dict | None = None, num_samples: int = 1000, seed=0) -> dict:
    """Draw ``num_samples`` joint prior samples of every sample and deterministic site.

    Parameters
    ----------
    model : callable
    data : dict, optional
        As for :func:`credo.ppl.logdensity`; observations are ignored (resimulated).
    num_samples : int
    seed : int or PRNG key

    Returns
    -------
    dict of str -> numpy.ndarray, each of shape ``(num_samples,) + site shape``
    """
    bound = BoundModel(model, data)
    prototype_trace(bound)  # validates the data keys
    keys = jax.random.split(as_key(seed), int(num_samples))
    return _simulate(bound, keys, {})


def posterior_predictive(model, draws: dict, data: dict | None = None, seed=0) -> dict:
    """Simulate the sites not in ``draws`` once for every posterior draw.

    Parameters
    ----------
    model : callable
    draws : dict of str -> array, or a Posterior
        Site name -> values with the same leading sample dimensions for every
        site, e.g. ``(chains, draws)`` or ``(draws,)``, then the site's shape;
        or anything with such a dict as ``.draws`` (the ``Posterior`` of
        ``credo.nuts``). Deterministic sites in ``draws`` are recomputed, not
        substituted.
    data : dict, optional
        As for :func:`credo.ppl.logdensity`; observed sites are resimulated.
    seed : int or PRNG key

    Returns
    -------
    dict of str -> numpy.ndarray
        Every sample and deterministic site not in ``draws``, shape
        ``leading dims + site shape``.
    """
    if not isinstance(draws, Mapping) and isinstance(getattr(draws, "draws", None), Mapping):
        draws = draws.draws  # a Posterior
    bound = BoundModel(model, data)
    lead = _leading_shape(draws, prototype_trace(bound))
    n = math.prod(lead)
    flat = {k: jnp.reshape(jnp.asarray(v), (n,) + jnp.shape(v)[len(lead):]) for k, v in draws.items()}
    keys = jax.random.split(as_key(seed), n)
    out = _simulate(bound, keys, flat)
    return {k: v.reshape(lead + v.shape[1:]) for k, v in out.items()}


def _simulate(bound: BoundModel, keys, draws: dict) -> dict:
    """One model run per key (and per row of ``draws``), vectorised; numpy results."""

    def one(key, draw):
        tr = trace(seed_handler(substitute(uncondition(bound), draw), key)).get_trace()
        return {n: s.value for n, s in tr.items()
                if s.type in ("sample", "deterministic") and n not in draw}

    # No outer jit: `one` is a new closure per call, so jit would recompile
    # every time, while the distributions' own jitted kernels stay cached.
    return {k: np.asarray(v) for k, v in jax.vmap(one)(keys, draws).items()}


def _leading_shape(draws: dict, proto: Trace) -> tuple:
    """The sample dimensions shared by every entry of ``draws``."""
    if not draws:
        raise ModelError("draws is empty; use prior_predictive to simulate from the prior")
    leads = {}
    for name, value in draws.items():
        site = proto.get(name)
        if site is None or site.type not in ("sample", "param", "deterministic"):
            raise ModelError(f"draws[{name!r}] names no sample, param or deterministic site "
                             f"of the model (sites: {list(proto)})")
        shape, site_shape = tuple(jnp.shape(value)), tuple(jnp.shape(site.value))
        if len(shape) <= len(site_shape) or shape[len(shape) - len(site_shape):] != site_shape:
            raise ModelError(f"draws[{name!r}] has shape {shape}; expected leading sample "
                             f"dimensions followed by the site's shape {site_shape}")
        leads[name] = shape[: len(shape) - len(site_shape)]
    if len(set(leads.values())) > 1:
        raise ModelError(f"draws disagree on their leading sample dimensions: {leads}")
    return next(iter(leads.values()))
