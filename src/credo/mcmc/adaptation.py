"""Stan's warmup: dual averaging of the step size and windowed mass matrix estimation.

Everything is a pure ``(init, update)`` pair in the style of optax: the
adapted values live in the returned states, never in closures, so the pieces
run inside ``jit``, ``vmap`` (one adaptation per chain) and ``lax.scan``.

* :func:`dual_averaging` tunes ``log(step_size)`` so that the mean acceptance
  statistic reaches ``target_accept`` (Nesterov 2009; Hoffman & Gelman 2014,
  sec. 3.2; Stan's ``stepsize_adaptation``).
* :func:`welford` estimates the posterior (co)variance online, with Stan's
  shrinkage toward ``1e-3 I``.
* :func:`warmup_schedule` lays out Stan's windows: a fast initial buffer
  (step size only), doubling slow windows (mass matrix too) and a fast final
  buffer.
* :func:`find_reasonable_step_size` is Stan's ``init_stepsize`` heuristic.
* :func:`windowed_welford` is the Welford estimate over those windows, and
  :func:`window_adaptation` combines it with dual averaging as an
  ``(init, update, final)`` triple, the warmup of ``credo.nuts`` and
  ``credo.hmc`` (the runner calls it; BlackJAX's ``window_adaptation`` is
  built the same way).

References
----------
.. [1] Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn sampler:
   adaptively setting path lengths in Hamiltonian Monte Carlo. *JMLR* 15.
.. [2] Nesterov, Y. (2009). Primal-dual subgradient methods for convex
   problems. *Mathematical Programming* 120.
.. [3] Stan Development Team. *Stan Reference Manual*, "HMC algorithm
   parameters: automatic parameter tuning"; ``stan/mcmc/windowed_adaptation.hpp``.
.. [4] Welford, B. P. (1962). Note on a method for calculating corrected sums
   of squares and products. *Technometrics* 4.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from . import rng
from .hmc import HMCState
from .integrators import IntegratorState, velocity_verlet
from .metrics import as_metric
from .proposal import energy_error

__all__ = [
    "DualAveragingState",
    "dual_averaging",
    "WelfordState",
    "welford",
    "warmup_schedule",
    "WarmupStage",
    "warmup_stages",
    "find_reasonable_step_size",
    "windowed_welford",
    "WindowAdaptationState",
    "window_adaptation",
    "restart_step_size",
]


# -- step size: dual averaging -------------------------------------------------------------
class DualAveragingState(NamedTuple):
    """State of the dual averaging of ``log(step_size)``.

    Attributes
    ----------
    log_step_size : Array, shape ()
        ``x_t``, the current iterate (the step size to use next is ``exp(x_t)``).
    log_step_size_avg : Array, shape ()
        ``x_bar_t``, the weighted average of the iterates (the final step
        size is ``exp(x_bar)``).
    step : int array
        ``t``, the number of updates since the last restart.
    avg_error : Array, shape ()
        ``H_bar_t``, the running average of ``target - acceptance``.
    mu : Array, shape ()
        ``log(10 * step_size)``: the point the iterates shrink toward.
    """

    log_step_size: jax.Array
    log_step_size_avg: jax.Array
    step: jax.Array
    avg_error: jax.Array
    mu: jax.Array


def dual_averaging(target_accept: float = 0.8, t0: float = 10.0, gamma: float = 0.05,
                   kappa: float = 0.75):
    """Nesterov dual averaging of ``log(step_size)`` (Hoffman & Gelman 2014, as in Stan).

    After the ``t``-th acceptance statistic ``a_t``:

    .. math::

        \\bar H_t = (1 - \\tfrac{1}{t + t_0}) \\bar H_{t-1} + \\tfrac{1}{t + t_0}(\\delta - a_t),
        \\quad x_t = \\mu - \\tfrac{\\sqrt t}{\\gamma} \\bar H_t,
        \\quad \\bar x_t = t^{-\\kappa} x_t + (1 - t^{-\\kappa}) \\bar x_{t-1}.

    Parameters
    ----------
    target_accept : float
        ``delta``, the target mean acceptance statistic.
    t0, gamma, kappa : float
        Stan's defaults.

    Returns
    -------
    init : callable
        ``init(step_size) -> DualAveragingState``, with ``mu = log(10 * step_size)``
        (also the restart after each mass matrix update).
    update : callable
        ``update(state, acceptance_rate) -> DualAveragingState``; statistics
        above 1 are clipped and NaN counts as 0.
    """

    def init(step_size) -> DualAveragingState:
        log_step = jnp.log(jnp.asarray(step_size))
        zero = jnp.zeros_like(log_step)
        return DualAveragingState(log_step, zero, jnp.zeros((), jnp.int32), zero,
                                  jnp.log(10.0) + log_step)

    def update(state: DualAveragingState, acceptance_rate) -> DualAveragingState:
        dtype = state.log_step_size.dtype
        accept = jnp.asarray(acceptance_rate, dtype)
        accept = jnp.where(jnp.isnan(accept), 0.0, jnp.minimum(accept, 1.0))
        step = state.step + 1
        t = step.astype(dtype)
        eta = 1.0 / (t + t0)
        avg_error = (1.0 - eta) * state.avg_error + eta * (target_accept - accept)
        log_step = state.mu - jnp.sqrt(t) / gamma * avg_error
        weight = t ** (-kappa)
        log_step_avg = weight * log_step + (1.0 - weight) * state.log_step_size_avg
        return DualAveragingState(log_step, log_step_avg, step, avg_error, state.mu)

    return init, update


# -- mass matrix: Welford ------------------------------------------------------------------
class WelfordState(NamedTuple):
    """Running mean and sum of squared deviations (Welford 1962).

    Attributes
    ----------
    mean : Array, shape (d,)
    m2 : Array, shape (d,) or (d, d)
        Sum of squared deviations (diagonal) or of their outer products (dense).
    count : int array
    """

    mean: jax.Array
    m2: jax.Array
    count: jax.Array


def welford(dense: bool = False):
    """Online (co)variance estimator with Stan's regularization.

    Parameters
    ----------
    dense : bool
        Estimate the full covariance matrix rather than the variances.

    Returns
    -------
    init : callable
        ``init(dim, dtype=float) -> WelfordState``.
    update : callable
        ``update(state, position (d,)) -> WelfordState``.
    covariance : callable
        ``covariance(state, regularize=True) -> (d,) or (d, d)``: the sample
        (co)variance ``m2 / (n - 1)``; regularized as in Stan,
        ``n / (n + 5) * C + 1e-3 * 5 / (n + 5) * I``, which shrinks small
        windows toward a small multiple of the identity.
    """

    def init(dim: int, dtype=None) -> WelfordState:
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        shape = (dim, dim) if dense else (dim,)
        return WelfordState(jnp.zeros(dim, dtype), jnp.zeros(shape, dtype), jnp.zeros((), jnp.int32))

    def update(state: WelfordState, position) -> WelfordState:
        position = jnp.asarray(position, state.mean.dtype)
        count = state.count + 1
        delta = position - state.mean
        mean = state.mean + delta / count.astype(state.mean.dtype)
        new_delta = position - mean
        m2 = state.m2 + (jnp.outer(new_delta, delta) if dense else new_delta * delta)
        return WelfordState(mean, m2, count)

    def covariance(state: WelfordState, regularize: bool = True):
        n = state.count.astype(state.mean.dtype)
        # one draw has no spread; ``n - 1`` is floored at 1 rather than dividing by 0
        cov = state.m2 / jnp.maximum(n - 1.0, 1.0)
        if not regularize:
            return cov
        shrink = 1e-3 * 5.0 / (n + 5.0)
        identity = jnp.eye(state.mean.shape[0], dtype=cov.dtype) if dense else 1.0
        return n / (n + 5.0) * cov + shrink * identity

    return init, update, covariance


# -- Stan's windows ------------------------------------------------------------------------
_SCHEDULE_DTYPE = np.dtype([("window_index", np.int32), ("is_slow_window", bool),
                            ("is_window_end", bool)])


def warmup_schedule(num_warmup: int, initial_buffer: int = 75, final_buffer: int = 50,
                    first_window: int = 25) -> np.ndarray:
    """Stan's windowed adaptation schedule, one record per warmup iteration.

    Warmup is a fast initial buffer (step size only), slow windows that also
    estimate the mass matrix, each twice as long as the previous one, and a
    fast final buffer; the last slow window is stretched to end where the
    final buffer starts whenever the next doubling would not fit. With fewer
    than ``initial_buffer + first_window + final_buffer`` iterations, Stan
    uses 15% / 75% / 10% instead; under 20 iterations there is no slow
    window at all. This follows ``stan::mcmc::windowed_adaptation``.

    Parameters
    ----------
    num_warmup : int
    initial_buffer, final_buffer, first_window : int
        Stan's ``init_buffer``, ``term_buffer`` and ``window``.

    Returns
    -------
    numpy.ndarray, shape (num_warmup,)
        Structured, with fields ``window_index`` (0 for the initial buffer,
        ``1..K`` for the slow windows, ``K + 1`` for the final buffer),
        ``is_slow_window`` and ``is_window_end`` (the last iteration of each
        window or buffer; at the end of a slow window the mass matrix is
        updated).

    Examples
    --------
    >>> s = warmup_schedule(1000)
    >>> [int(n) for n in np.bincount(s["window_index"])]
    [75, 25, 50, 100, 200, 500, 50]
    """
    num_warmup = int(num_warmup)
    out = np.zeros(num_warmup, _SCHEDULE_DTYPE)
    if num_warmup <= 0:
        return out
    if num_warmup < 20:
        out["is_window_end"][-1] = True
        return out
    if initial_buffer + first_window + final_buffer > num_warmup:
        initial_buffer = int(0.15 * num_warmup)
        final_buffer = int(0.1 * num_warmup)
        first_window = num_warmup - (initial_buffer + final_buffer)
    last_slow = num_warmup - final_buffer - 1  # last iteration of the last slow window

    # Stan's counters: the current slow window ends at ``window_end`` and the next
    # is twice as long, unless the one after it would not fit, in which case the
    # next one is extended to ``last_slow``
    window, size, window_end = 1, first_window, initial_buffer + first_window - 1
    out["window_index"][initial_buffer:] = -1
    if initial_buffer > 0:
        out["is_window_end"][initial_buffer - 1] = True
    for it in range(initial_buffer, last_slow + 1):
        out["window_index"][it] = window
        out["is_slow_window"][it] = True
        if it == window_end:
            out["is_window_end"][it] = True
            if window_end == last_slow:
                break
            window += 1
            size *= 2
            window_end = it + size
            if window_end != last_slow and window_end + 2 * size >= num_warmup - final_buffer:
                window_end = last_slow
    out["window_index"][last_slow + 1:] = window + 1
    out["is_window_end"][-1] = True
    return out


class WarmupStage(NamedTuple):
    """One warmup iteration's place in the schedule (arrays when stacked for ``lax.scan``).

    Attributes
    ----------
    is_slow_window : bool
        Accumulate the draw into the mass matrix estimate.
    is_window_end : bool
        Last iteration of a slow window: update the mass matrix afterwards
        (ignored outside slow windows).
    is_last : bool
        Last warmup iteration: switch to the averaged step size afterwards.
    """

    is_slow_window: jax.Array
    is_window_end: jax.Array
    is_last: jax.Array


def warmup_stages(num_warmup: int, **schedule_kwargs) -> WarmupStage:
    """:func:`warmup_schedule` as a :class:`WarmupStage` of ``(num_warmup,)`` numpy arrays."""
    schedule = warmup_schedule(num_warmup, **schedule_kwargs)
    is_last = np.zeros(len(schedule), bool)
    if len(schedule):
        is_last[-1] = True
    return WarmupStage(schedule["is_slow_window"].copy(),
                       schedule["is_slow_window"] & schedule["is_window_end"], is_last)


# -- initial step size ---------------------------------------------------------------------
def _step_size_search(key, state: HMCState, logdensity_fn, inverse_mass_matrix,
                      initial_step_size, target_accept=0.8, max_iterations=100,
                      integrator=velocity_verlet):
    """Stan's ``init_stepsize`` (:func:`find_reasonable_step_size`)."""
    metric = as_metric(inverse_mass_matrix)
    step = integrator(logdensity_fn, metric.kinetic_energy_grad)
    dtype = state.position.dtype
    log_target = jnp.log(jnp.asarray(target_accept, dtype))
    eps0 = jnp.asarray(initial_step_size, dtype)

    def log_accept(key, eps):
        momentum = metric.sample_momentum(key, state.position)
        h0 = -state.logdensity + metric.kinetic_energy(momentum)
        z = step(IntegratorState(state.position, momentum, state.logdensity,
                                 state.logdensity_grad), eps)
        h = -z.logdensity + metric.kinetic_energy(z.momentum)
        return -energy_error(h0, h)  # H0 - H, NaN -> -inf

    # Stan skips the search for step sizes it cannot sensibly scale
    skip = (eps0 == 0) | (eps0 > 1e7) | jnp.isnan(eps0)

    # direction 0: not yet known; the first trial sets it (+1: grow, -1: shrink),
    # later trials at the same or scaled step size stop when the acceptance crosses
    def cond(carry):
        _, direction, i, done = carry
        return ~done & (i < max_iterations)

    def body(carry):
        eps, direction, i, _ = carry
        above = log_accept(rng.fold_in(key, i), eps) > log_target
        first = direction == 0
        new_direction = jnp.where(first, jnp.where(above, 1, -1), direction)
        crossed = ~first & jnp.where(direction == 1, ~above, above)
        scaled = jnp.where(new_direction == 1, 2.0 * eps, 0.5 * eps)
        # Stan rescales after each trial that has not crossed, the first one excepted
        eps = jnp.where(first | crossed, eps, scaled)
        out_of_range = (eps > 1e7) | (eps == 0)
        return eps, new_direction, i + 1, crossed | out_of_range

    eps, _, _, _ = lax.while_loop(cond, body, (eps0, jnp.int32(0), jnp.int32(0), skip))
    return eps


def find_reasonable_step_size(key, state: HMCState, logdensity_fn: Callable, inverse_mass_matrix,
                              initial_step_size, target_accept: float = 0.8,
                              max_iterations: int = 100):
    """Stan's initial step size heuristic (``base_hmc::init_stepsize``).

    From ``state``, draw a momentum and make one leapfrog step; if the
    acceptance probability ``exp(H0 - H)`` is above ``target_accept``
    (Stan: 0.8), keep doubling the step size, else keep halving it, with a
    fresh momentum for each trial, until the acceptance crosses the target.
    The step size of the crossing trial is returned.

    Parameters
    ----------
    key : PRNG key
    state : HMCState
    logdensity_fn : callable
    inverse_mass_matrix : Array, shape (d,) or (d, d), or Metric
    initial_step_size : float
    target_accept : float
    max_iterations : int
        Trials before giving up (Stan stops only at ``1e7`` or 0).

    Returns
    -------
    Array, shape ()
    """
    return _step_size_search(key, state, logdensity_fn, inverse_mass_matrix, initial_step_size,
                             target_accept, max_iterations)


# -- window adaptation ---------------------------------------------------------------------
def _where(pred, on_true, on_false):
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def windowed_welford(dense: bool = False):
    """Welford estimates over Stan's slow windows, as ``(init, slow_update, slow_final)``.

    The one mass-matrix estimator of the package: NUTS and HMC
    (:func:`window_adaptation`) and random-walk Metropolis
    (:class:`credo.mcmc.mh.RandomWalkMH`) all use it, as BlackJAX builds its
    window adaptation from ``slow_update`` and ``slow_final``.

    Parameters
    ----------
    dense : bool
        Estimate the full covariance rather than the variances.

    Returns
    -------
    init : callable
        ``init(dim, dtype=None) -> WelfordState``.
    slow_update : callable
        ``slow_update(state, position, in_window) -> WelfordState``: the
        position enters the estimate where ``in_window`` (a slow window).
    slow_final : callable
        ``slow_final(state, window_end) -> (covariance, state)``: the
        regularized estimate of the window (:func:`welford`'s ``covariance``;
        the caller uses it where ``window_end``) and the estimator for the next
        window, restarted where ``window_end``.
    """
    w_init, w_update, w_covariance = welford(dense)

    def slow_update(state: WelfordState, position, in_window) -> WelfordState:
        return _where(in_window, w_update(state, position), state)

    def slow_final(state: WelfordState, window_end):
        fresh = w_init(state.mean.shape[0], state.mean.dtype)
        return w_covariance(state), _where(window_end, fresh, state)

    return w_init, slow_update, slow_final


class WindowAdaptationState(NamedTuple):
    """Per-chain warmup state.

    Attributes
    ----------
    step_size : Array, shape ()
        Step size for the next transition.
    inverse_mass_matrix : Array, shape (d,) or (d, d)
        Inverse mass matrix for the next transition.
    dual_averaging : DualAveragingState
    welford : WelfordState
    target_accept : Array, shape ()
        The dual averaging target, a value of the state rather than a constant
        of a compiled program, so that runs differing only in it share one.
    """

    step_size: jax.Array
    inverse_mass_matrix: jax.Array
    dual_averaging: DualAveragingState
    welford: WelfordState
    target_accept: jax.Array


def window_adaptation(dense: bool = False, target_accept: float = 0.8, *,
                      adapt_step_size: bool = True, adapt_mass: bool = True):
    """Stan's windowed adaptation as an ``(init, update, final)`` triple.

    Every warmup iteration updates the dual averaging with the transition's
    acceptance statistic (the fast update). In slow windows the new position
    also feeds :func:`windowed_welford`; at the end of each slow window the
    inverse mass matrix becomes the regularized estimate and the estimator
    restarts. After the last iteration the step size is ``exp(log_step_size_avg)``.

    After each mass matrix update Stan reruns :func:`find_reasonable_step_size`
    and restarts dual averaging around the step size it finds
    (:func:`restart_step_size`, ``mu = log(10 * step_size)``). The search
    needs a key and the log density, so the caller does both, before the
    first iteration and after each window (the runner's
    ``Hamiltonian.prepare``); ``update`` leaves the dual averaging to it.
    (Restarting it here as well would change nothing but the compiled
    program, and with it XLA's rounding of the draws.)

    Parameters
    ----------
    dense : bool
        Dense rather than diagonal mass matrix.
    target_accept : float
        Stored in the state by ``init``; ``update`` reads it from there.
    adapt_step_size, adapt_mass : bool
        Static: leave the step size (the mass matrix) as ``init`` set it.

    Returns
    -------
    init : callable
        ``init(dim, dtype, initial_step_size) -> WindowAdaptationState``;
        the inverse mass matrix starts at the identity.
    update : callable
        ``update(state, stage, chain_state, acceptance_rate) -> WindowAdaptationState``
        with ``stage`` a :class:`WarmupStage` (one iteration's entries) and
        ``chain_state`` the chain state after the transition (or its position).
    final : callable
        ``final(state) -> (step_size, inverse_mass_matrix)``, the adapted values.
    """
    w_init, slow_update, slow_final = windowed_welford(dense)

    def init(dim: int, dtype, initial_step_size) -> WindowAdaptationState:
        da_init, _ = dual_averaging()  # its init does not depend on the target
        step_size = jnp.asarray(initial_step_size, dtype)
        imm = jnp.eye(dim, dtype=dtype) if dense else jnp.ones(dim, dtype=dtype)
        return WindowAdaptationState(step_size, imm, da_init(step_size), w_init(dim, dtype),
                                     jnp.asarray(target_accept, dtype))

    def update(state: WindowAdaptationState, stage: WarmupStage, chain_state,
               acceptance_rate) -> WindowAdaptationState:
        position = getattr(chain_state, "position", chain_state)
        _, da_update = dual_averaging(state.target_accept)
        step_size, da = state.step_size, state.dual_averaging
        if adapt_step_size:
            da = da_update(da, acceptance_rate)
            step_size = jnp.where(stage.is_last, jnp.exp(da.log_step_size_avg),
                                  jnp.exp(da.log_step_size))
        estimator, imm = state.welford, state.inverse_mass_matrix
        if adapt_mass:
            window_end = stage.is_slow_window & stage.is_window_end
            estimator = slow_update(estimator, position, stage.is_slow_window)
            covariance, estimator = slow_final(estimator, window_end)
            imm = jnp.where(window_end, covariance, imm)
        return WindowAdaptationState(step_size, imm, da, estimator, state.target_accept)

    def final(state: WindowAdaptationState):
        return state.step_size, state.inverse_mass_matrix

    return init, update, final


def restart_step_size(state: WindowAdaptationState, step_size) -> WindowAdaptationState:
    """Use ``step_size`` from now on and restart dual averaging around it (``mu = log(10 step_size)``)."""
    da_init, _ = dual_averaging()
    step_size = jnp.asarray(step_size, state.step_size.dtype)
    return state._replace(step_size=step_size, dual_averaging=da_init(step_size))
