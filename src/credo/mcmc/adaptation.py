"""Warmup adaptation as pure ``(init, update)`` pairs: dual averaging, Welford, Stan's windows.

Every piece returns its adapted values explicitly (nothing is hidden in a
closure), so the runner can carry them in its scan and report them.

References
----------
.. [1] Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn Sampler. JMLR 15,
   section 3.2 (dual averaging, after Nesterov 2009).
.. [2] Stan Reference Manual, "HMC algorithm parameters": windowed adaptation
   and the regularized metric estimate.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .integrators import IntegratorState, velocity_verlet
from .metrics import gaussian_euclidean

__all__ = ["DualAveragingState", "dual_averaging", "WelfordState", "welford", "warmup_schedule",
           "find_reasonable_step_size"]


class DualAveragingState(NamedTuple):
    """State of step-size dual averaging (all scalars).

    Attributes
    ----------
    log_step_size : log of the step size to use next (x_t)
    log_step_size_avg : the weighted average of past x_t, used after warmup
    step : iterations since the last restart (t)
    avg_error : running average of ``target - acceptance`` (H-bar_t)
    mu : the point x_t shrinks toward, ``log(10 * initial step size)``
    """

    log_step_size: jax.Array
    log_step_size_avg: jax.Array
    step: jax.Array
    avg_error: jax.Array
    mu: jax.Array


def dual_averaging(target_accept: float = 0.8, t0: float = 10.0, gamma: float = 0.05,
                   kappa: float = 0.75):
    """Nesterov dual averaging of ``log(step_size)`` toward a target acceptance statistic.

    ``H_t = (1 - 1/(t + t0)) H_{t-1} + (target - a_t)/(t + t0)``,
    ``x_t = mu - sqrt(t)/gamma * H_t``,
    ``xbar_t = t^-kappa x_t + (1 - t^-kappa) xbar_{t-1}`` (Stan's defaults).

    Returns
    -------
    init : step_size -> DualAveragingState
    update : (state, acceptance_rate) -> DualAveragingState
    """

    def init(step_size) -> DualAveragingState:
        step_size = jnp.asarray(step_size)
        zero = jnp.zeros_like(step_size)
        return DualAveragingState(jnp.log(step_size), zero, zero, zero, jnp.log(10.0 * step_size))

    def update(state: DualAveragingState, acceptance_rate) -> DualAveragingState:
        t = state.step + 1
        weight = 1.0 / (t + t0)
        # a NaN acceptance (a failed trajectory) counts as zero acceptance, as in Stan
        acceptance_rate = jnp.where(jnp.isfinite(acceptance_rate), acceptance_rate, 0.0)
        avg_error = (1.0 - weight) * state.avg_error + weight * (target_accept - acceptance_rate)
        log_step_size = state.mu - jnp.sqrt(t) / gamma * avg_error
        eta = t ** (-kappa)
        log_step_size_avg = eta * log_step_size + (1.0 - eta) * state.log_step_size_avg
        return DualAveragingState(log_step_size, log_step_size_avg, t, avg_error, state.mu)

    return init, update


class WelfordState(NamedTuple):
    """Running mean and sum of squared deviations (``(dim,)``, or ``(dim, dim)`` if dense)."""

    count: jax.Array
    mean: jax.Array
    m2: jax.Array


def welford(dense: bool = False):
    """Welford's streaming (co)variance with Stan's regularization toward ``1e-3 I``.

    ``Sigma_hat = n/(n + 5) * S + 1e-3 * 5/(n + 5) * I`` where ``S`` is the
    sample (co)variance of the ``n`` positions seen.

    Returns
    -------
    init : dim -> WelfordState
    update : (state, position) -> WelfordState
    covariance : (state, regularize=True) -> array, ``(dim,)`` or ``(dim, dim)``
    """

    def init(dim: int) -> WelfordState:
        shape = (dim, dim) if dense else (dim,)
        return WelfordState(jnp.zeros(()), jnp.zeros(dim), jnp.zeros(shape))

    def update(state: WelfordState, position) -> WelfordState:
        count = state.count + 1
        delta = position - state.mean
        mean = state.mean + delta / count
        increment = jnp.outer(delta, position - mean) if dense else delta * (position - mean)
        return WelfordState(count, mean, state.m2 + increment)

    def covariance(state: WelfordState, regularize: bool = True):
        n = state.count
        sample = state.m2 / jnp.maximum(n - 1.0, 1.0)
        if not regularize:
            return sample
        shrink = 1e-3 * 5.0 / (n + 5.0)
        identity = jnp.eye(sample.shape[0], dtype=sample.dtype) if dense else 1.0
        return (n / (n + 5.0)) * sample + shrink * identity

    return init, update, covariance


def warmup_schedule(num_warmup: int, initial_buffer: int = 75, final_buffer: int = 50,
                    first_window: int = 25) -> np.ndarray:
    """Stan's windowed adaptation schedule, one record per warmup iteration.

    A fast interval (step size only), slow windows doubling from
    ``first_window`` (mass matrix too; the last one stretched to reach the
    final buffer), then a terminal fast interval. Warmups shorter than
    ``initial_buffer + first_window + final_buffer`` use 15% / 75% / 10%, as
    Stan does; fewer than 20 iterations adapt the step size only.

    Returns
    -------
    numpy structured array, shape ``(num_warmup,)``
        Fields ``window_index`` (int; -1 outside slow windows),
        ``is_slow_window`` and ``is_window_end`` (bool).
    """
    schedule = np.zeros(num_warmup, dtype=[("window_index", np.int32), ("is_slow_window", bool),
                                           ("is_window_end", bool)])
    schedule["window_index"] = -1
    if num_warmup < 20:
        return schedule
    if initial_buffer + first_window + final_buffer > num_warmup:
        initial_buffer = int(0.15 * num_warmup)
        final_buffer = int(0.1 * num_warmup)
        first_window = num_warmup - initial_buffer - final_buffer
    start, width, last, index = initial_buffer, first_window, num_warmup - final_buffer, 0
    while start < last:
        stop = start + width
        if stop + 2 * width > last:  # the next window would not fit: stretch this one
            stop = last
        schedule["is_slow_window"][start:stop] = True
        schedule["window_index"][start:stop] = index
        schedule["is_window_end"][stop - 1] = True
        start, width, index = stop, 2 * width, index + 1
    return schedule


def find_reasonable_step_size(key, state, logdensity_fn, inverse_mass_matrix, initial_step_size,
                              target: float = 0.8, max_iterations: int = 100):
    """Stan's step-size initialisation: double or halve until one leapfrog step's acceptance crosses ``target``.

    Parameters
    ----------
    key : PRNG key
    state : HMCState
    logdensity_fn : callable
    inverse_mass_matrix : array, ``(dim,)`` or ``(dim, dim)``
    initial_step_size : float

    Returns
    -------
    step_size : scalar
    """
    metric = gaussian_euclidean(inverse_mass_matrix)
    step = velocity_verlet(logdensity_fn, metric.kinetic_energy_grad)
    momentum = metric.sample_momentum(key, state.position)
    start = IntegratorState(state.position, momentum, state.logdensity, state.logdensity_grad)
    energy0 = -state.logdensity + metric.kinetic_energy(momentum)
    log_target = jnp.log(target)

    def log_accept(step_size):
        end = step(start, step_size)
        delta = energy0 - (-end.logdensity + metric.kinetic_energy(end.momentum))
        return jnp.where(jnp.isnan(delta), -jnp.inf, delta)

    initial_step_size = jnp.asarray(initial_step_size)
    direction = jnp.where(log_accept(initial_step_size) > log_target, 1.0, -1.0)

    def keep_going(carry):
        step_size, value, i = carry
        crossed = jnp.where(direction > 0, value < log_target, value > log_target)
        return (~crossed) & (i < max_iterations)

    def next_size(carry):
        step_size, _, i = carry
        step_size = step_size * 2.0 ** direction
        return step_size, log_accept(step_size), i + 1

    step_size, _, _ = jax.lax.while_loop(
        keep_going, next_size, (initial_step_size, log_accept(initial_step_size), 0))
    return step_size
