"""Jitted multi-chain samplers shared by the MCMC tests (one compilation per target shape)."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from credo.mcmc import hmc, nuts


def gaussian(params):
    """``N(mean, inv(precision))`` with ``params = (mean, precision)``."""
    mean, precision = params

    def logdensity(x):
        r = x - mean
        return -0.5 * r @ precision @ r

    return logdensity


def funnel(params):
    """Neal's funnel: ``v ~ N(0, 3^2)``, ``x_i | v ~ N(0, exp(v))``; ``params`` unused."""
    del params

    def logdensity(z):
        v, x = z[0], z[1:]
        return -v ** 2 / 18.0 - 0.5 * jnp.sum(x ** 2) * jnp.exp(-v) - 0.5 * x.shape[0] * v

    return logdensity


def gaussian_params(cov, mean=None):
    cov = np.asarray(cov, float)
    mean = np.zeros(len(cov)) if mean is None else np.asarray(mean, float)
    return jnp.asarray(mean), jnp.asarray(np.linalg.inv(cov))


def gaussian_or_funnel(params):
    """:func:`gaussian` or, if ``params[2]``, :func:`funnel`: one compiled sampler for both.

    (Compiling a sampler costs far more than running these tests; the switch
    is traced, so the Gaussian and funnel tests share one program.)
    """
    mean, precision, is_funnel = params
    gauss, fun = gaussian((mean, precision)), funnel(None)
    return lambda x: jax.lax.cond(is_funnel, fun, gauss, x)


def switch_params(cov=None, dim=10):
    """Parameters of :func:`gaussian_or_funnel`: a Gaussian of covariance ``cov``, else the funnel."""
    if cov is None:
        return jnp.zeros(dim), jnp.eye(dim), jnp.asarray(True)
    return (*gaussian_params(cov), jnp.asarray(False))


def ar1_covariance(dim, rho, scales=None):
    idx = np.arange(dim)
    scales = np.ones(dim) if scales is None else np.asarray(scales, float)
    return rho ** np.abs(idx[:, None] - idx[None, :]) * np.outer(scales, scales)


@partial(jax.jit, static_argnames=("target", "num_draws", "algorithm", "max_tree_depth",
                                   "num_steps"))
def run_chains(key, x0, params, step_size, inverse_mass_matrix, *, target, num_draws,
               algorithm="nuts", max_tree_depth=10, num_steps=10):
    """``num_draws`` transitions per chain from ``x0`` (chains, d).

    ``step_size`` (chains,) and ``inverse_mass_matrix`` (chains, d) or
    (chains, d, d) are per chain. Returns ``(positions (chains, draws, d), infos)``.
    """
    logdensity = target(params)
    if algorithm == "nuts":
        kernel = nuts.build_kernel()

        def transition(k, s, eps, imm):
            return kernel(k, s, logdensity, eps, imm, max_tree_depth=max_tree_depth)
    else:
        kernel = hmc.build_kernel()

        def transition(k, s, eps, imm):
            return kernel(k, s, logdensity, eps, imm, num_steps)

    def chain(key, x, eps, imm):
        def body(state, k):
            state, info = transition(k, state, eps, imm)
            return state, (state.position, info)

        return jax.lax.scan(body, hmc.init(x, logdensity), jax.random.split(key, num_draws))[1]

    keys = jax.random.split(key, x0.shape[0])
    return jax.vmap(chain)(keys, x0, step_size, inverse_mass_matrix)


def per_chain(value, chains):
    """``value`` repeated for each chain (strongly typed, so that compilations are shared)."""
    value = jnp.asarray(value, jnp.result_type(float))
    return jnp.broadcast_to(value, (chains,) + value.shape)
