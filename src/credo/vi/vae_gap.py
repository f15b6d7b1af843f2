r"""The amortization gap of a VAE (Cremer, Li & Duvenaud 2018), and the Gaussian ELBO it shares.

Split from :mod:`credo.vi.vae` (which re-exports :func:`amortization_gap` and
:class:`GapResult`): the per-point optimized :math:`q_i` against the encoder's
:math:`q(z \mid x_i)`.

References
----------
Cremer, C., Li, X., & Duvenaud, D. (2018). Inference suboptimality in
variational autoencoders. *ICML*.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from credo.random import as_key

from .optimize import scan_steps

__all__ = ["GapResult", "amortization_gap"]


class GapResult(NamedTuple):
    """The amortization gap on a set of data points (mean nats per point).

    ``gap = optimized_elbo - amortized_elbo``; ``per_point`` holds the gap of each point.
    """

    amortized_elbo: float
    optimized_elbo: float
    gap: float
    per_point: np.ndarray


# ------------------------------------------------------------------ the amortization gap
def amortization_gap(vae: "VAE", X, *, steps: int = 500, learning_rate: float = 0.02,
                     num_particles: int = 8, eval_samples: int = 200, seed=0) -> GapResult:
    r"""ELBO of a per-point optimized Gaussian :math:`q_i` minus that of the encoder's :math:`q(z\mid x_i)`.

    For every row :math:`x_i` of ``X`` a separate diagonal Gaussian
    :math:`q_i = N(m_i, \operatorname{diag} s_i^2)` (non-amortized VI) is
    started at the encoder's output and fitted with Adam to the same decoder,
    maximising :math:`\mathrm{ELBO}_i` (``num_particles`` reparameterized draws
    per step, KL in closed form). The gap (Cremer, Li & Duvenaud 2018)

    .. math::

        \frac1n\sum_i \mathrm{ELBO}(q_i; x_i) - \mathrm{ELBO}(q_\phi(\cdot\mid x_i); x_i) \ge 0

    is how much inference the one-pass encoder gives up. Both ELBOs are
    evaluated with the same ``eval_samples`` common random numbers, so the
    difference has little Monte Carlo noise.

    Returns
    -------
    GapResult
        Means in nats per data point, and the per-point gaps.
    """
    X = vae._check(X)
    key = as_key(seed)
    k_fit, k_eval = jax.random.split(key)
    loc, raw = _per_point_fit(vae, X, k_fit, int(steps), jnp.float32(learning_rate), int(num_particles))
    enc_loc, enc_scale = vae._posterior(X)
    amortized = _gaussian_elbo(vae, X, enc_loc, enc_scale, k_eval, int(eval_samples))
    optimized = _gaussian_elbo(vae, X, loc, jax.nn.softplus(raw), k_eval, int(eval_samples))
    per_point = np.asarray(optimized - amortized)
    return GapResult(float(jnp.mean(amortized)), float(jnp.mean(optimized)),
                     float(np.mean(per_point)), per_point)


def _gaussian_elbo_points(vae, x, loc, scale, key, num_samples):
    """Per-point ELBO of :math:`q = N(loc, scale^2)`: MC log-likelihood minus the closed-form KL."""
    if num_samples == 1:  # the training path: no sample axis in the decoder's matmuls
        expected_ll = vae._log_likelihood(x, loc + scale * jax.random.normal(key, loc.shape, loc.dtype))
    else:
        eps = jax.random.normal(key, (num_samples, *loc.shape), loc.dtype)
        expected_ll = jnp.mean(vae._log_likelihood(x, loc + scale * eps), axis=0)
    kl = 0.5 * jnp.sum(scale**2 + loc**2 - 1.0 - 2.0 * jnp.log(scale), axis=-1)
    return expected_ll - kl


@eqx.filter_jit
def _gaussian_elbo(vae, X, loc, scale, key, num_samples: int):
    return _gaussian_elbo_points(vae, X, loc, scale, key, num_samples)


@eqx.filter_jit
def _per_point_fit(vae, X, key, steps: int, learning_rate, num_particles: int):
    vae = jax.lax.stop_gradient(vae)
    loc, scale = vae._posterior(X)
    params = (loc, jnp.log(jnp.expm1(scale)))  # softplus^-1: start at the encoder's q
    optimizer = optax.adam(learning_rate)

    def loss(p, k):
        # a sum over points: each point's parameters get only their own gradient
        return -jnp.sum(_gaussian_elbo_points(vae, X, p[0], jax.nn.softplus(p[1]), k, num_particles))

    params, _, _ = scan_steps(loss, params, optimizer.init(params), optimizer,
                              jax.random.split(key, steps))
    return params
