"""The No-U-Turn Sampler with multinomial sampling, as in Stan.

A transition draws ``p ~ N(0, M)`` and builds a trajectory by doubling it in
random directions until it makes a U-turn (generalized criterion with Stan's
extra checks across subtrees), a subtree diverges (energy error above the
threshold) or ``max_tree_depth`` doublings are done. The next state is drawn
from the trajectory with probabilities proportional to ``exp(-H)``, by
uniform progressive sampling inside each subtree and biased progressive
sampling between subtrees. See :mod:`credo.mcmc.trajectory` for the
iterative construction and :mod:`credo.mcmc.proposal` for the sampling.

References
----------
.. [1] Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn sampler:
   adaptively setting path lengths in Hamiltonian Monte Carlo. *JMLR* 15,
   1593-1623.
.. [2] Betancourt, M. (2017). A conceptual introduction to Hamiltonian Monte
   Carlo. arXiv:1701.02434.
.. [3] Stan Development Team. *Stan Reference Manual*, "MCMC sampling".
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from . import rng
from .hmc import HMCState
from .integrators import IntegratorState, velocity_verlet
from .metrics import as_metric, momentum_from_normal
from .trajectory import (
    TrajectoryResult,
    TrajectoryState,
    run_trajectory,
    trajectory_done,
    trajectory_init,
    trajectory_result,
    trajectory_step,
    transition_words,
)

__all__ = ["NUTSInfo", "Transition", "TransitionNoise", "build_kernel", "transition_noise",
           "transition_init", "transition_step", "transition_done", "transition_finish"]


class NUTSInfo(NamedTuple):
    """Diagnostics of one NUTS transition.

    Attributes
    ----------
    momentum : Array, shape (d,)
        The momentum drawn at the start.
    is_divergent : bool array
        A leapfrog step had energy error above the threshold (or NaN).
    is_turning : bool array
        The trajectory stopped at a U-turn (inside the last subtree or
        across the merge).
    energy : Array, shape ()
        ``H`` of the returned state (Stan's ``energy__``, for E-BFMI).
    trajectory_leftmost_state, trajectory_rightmost_state : IntegratorState
        Ends of the accepted trajectory.
    num_trajectory_expansions : int array
        Subtrees built, a rejected last one included.
    num_integration_steps : int array
        Leapfrog steps, i.e. gradient evaluations (Stan's ``n_leapfrog__``).
    acceptance_rate : Array, shape ()
        Mean of ``min(1, exp(H0 - H))`` over all leapfrog steps (Stan's
        ``accept_stat__``).
    tree_depth : int array
        Doublings merged into the trajectory (Stan's ``treedepth__``);
        ``== max_tree_depth`` means the trajectory was cut short.
    """

    momentum: jax.Array
    is_divergent: jax.Array
    is_turning: jax.Array
    energy: jax.Array
    trajectory_leftmost_state: IntegratorState
    trajectory_rightmost_state: IntegratorState
    num_trajectory_expansions: jax.Array
    num_integration_steps: jax.Array
    acceptance_rate: jax.Array
    tree_depth: jax.Array


def _finish(result: TrajectoryResult, momentum):
    """The next chain state and the transition's diagnostics."""
    proposal = result.proposal
    new_state = HMCState(proposal.position, proposal.logdensity, proposal.logdensity_grad)
    info = NUTSInfo(
        momentum=momentum,
        is_divergent=result.is_diverging,
        is_turning=result.is_turning,
        energy=proposal.energy,
        trajectory_leftmost_state=result.leftmost,
        trajectory_rightmost_state=result.rightmost,
        num_trajectory_expansions=result.num_expansions,
        num_integration_steps=result.num_steps,
        acceptance_rate=result.acceptance_rate,
        tree_depth=result.depth,
    )
    return new_state, info


# -- one transition, one leapfrog step at a time ----------------------------------------------
class Transition(NamedTuple):
    """A NUTS transition in progress: its trajectory and the momentum it started with."""

    trajectory: TrajectoryState
    momentum: jax.Array


class TransitionNoise(NamedTuple):
    """The random numbers of one transition, drawable ahead of time (:func:`transition_noise`).

    Attributes
    ----------
    normal : Array, shape (d,)
        Standard normal draws; the momentum is their image under the metric.
    directions : uint32 Array, shape ()
    seed : uint32 Array, shape (2,)
        See :func:`~credo.mcmc.trajectory.transition_words`.
    """

    normal: jax.Array
    directions: jax.Array
    seed: jax.Array


def transition_noise(key, position) -> TransitionNoise:
    """The random numbers of one transition from ``key`` (those :func:`build_kernel`'s kernel uses)."""
    key_momentum, key_trajectory = rng.split(key)
    normal = rng.normal(key_momentum, jnp.shape(position), jnp.result_type(position))
    return TransitionNoise(normal, *transition_words(key_trajectory))


def transition_init(noise: TransitionNoise, state: HMCState, step_size, inverse_mass_matrix,
                    max_tree_depth: int = 10) -> Transition:
    """Start a transition from ``state`` with the random numbers ``noise``.

    With ``noise = transition_noise(key, state.position)``, then
    :func:`transition_step` until :func:`transition_done` and
    :func:`transition_finish`, this computes what ``kernel(key, state, ...)``
    does, one leapfrog step at a time, so that a caller can interleave the
    steps of several chains and start one chain's next transition while
    another's trajectory is still growing.

    Parameters
    ----------
    noise : TransitionNoise
    state : HMCState
    step_size : Array, shape ()
    inverse_mass_matrix : Array, shape (d,) or (d, d)
    max_tree_depth : int
        Static.
    """
    metric = as_metric(inverse_mass_matrix)
    momentum = momentum_from_normal(inverse_mass_matrix, noise.normal)
    start = IntegratorState(state.position, momentum, state.logdensity, state.logdensity_grad)
    trajectory = trajectory_init((noise.directions, noise.seed), metric, start,
                                 jnp.asarray(step_size, state.position.dtype), max_tree_depth)
    return Transition(trajectory, momentum)


def transition_step(transition: Transition, logdensity_fn: Callable, inverse_mass_matrix,
                    max_tree_depth: int = 10, divergence_threshold: float = 1000.0,
                    integrator: Callable = velocity_verlet, batched: bool = False) -> Transition:
    """One leapfrog step of the transition's trajectory (none once it is done)."""
    metric = as_metric(inverse_mass_matrix)
    step = integrator(logdensity_fn, metric.kinetic_energy_grad)
    trajectory = trajectory_step(transition.trajectory, step, metric, max_tree_depth,
                                 divergence_threshold, batched)
    return transition._replace(trajectory=trajectory)


def transition_done(transition: Transition):
    """Whether the transition's trajectory has ended; bool, shape ()."""
    return trajectory_done(transition.trajectory)


def transition_finish(transition: Transition):
    """``(HMCState, NUTSInfo)`` of an ended transition, as :func:`build_kernel`'s kernel returns."""
    return _finish(trajectory_result(transition.trajectory), transition.momentum)


# -- the kernel: the transition above, run to its end ------------------------------------------
def build_kernel(integrator: Callable = velocity_verlet, divergence_threshold: float = 1000.0):
    """Build a NUTS transition kernel from the transition pieces above.

    ``kernel(key, ...)`` is :func:`transition_noise`, :func:`transition_init`,
    the trajectory's leapfrog loop (:func:`~credo.mcmc.trajectory.run_trajectory`,
    the loop that :func:`transition_step` makes one turn of) and
    :func:`transition_finish`, so it draws the same random numbers as a
    runner that steps the transition itself, by construction.

    Parameters
    ----------
    integrator : callable
        ``integrator(logdensity_fn, kinetic_energy_grad_fn) -> step``.
    divergence_threshold : float
        Energy error ``H - H0`` above which a leapfrog step is divergent
        (Stan's ``max_deltaH``).

    Returns
    -------
    kernel : callable
        ``kernel(key, state, logdensity_fn, step_size, inverse_mass_matrix,
        max_tree_depth=10) -> (HMCState, NUTSInfo)``; pure, jittable and
        vmappable (under ``vmap`` the loop runs until every chain's
        trajectory is done). ``inverse_mass_matrix`` is a ``(d,)`` diagonal,
        a ``(d, d)`` matrix or a :class:`~credo.mcmc.metrics.Metric`;
        ``max_tree_depth`` is a static Python int in ``[1, 30]``.
    """

    def kernel(key, state: HMCState, logdensity_fn: Callable, step_size, inverse_mass_matrix,
               max_tree_depth: int = 10):
        transition = transition_init(transition_noise(key, state.position), state, step_size,
                                     inverse_mass_matrix, max_tree_depth)
        metric = as_metric(inverse_mass_matrix)
        step = integrator(logdensity_fn, metric.kinetic_energy_grad)
        trajectory = run_trajectory(transition.trajectory, step, metric, max_tree_depth,
                                    divergence_threshold)
        return transition_finish(transition._replace(trajectory=trajectory))

    return kernel
