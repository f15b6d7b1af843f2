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

from .hmc import HMCState
from .integrators import IntegratorState, velocity_verlet
from .metrics import as_metric
from .trajectory import build_trajectory

__all__ = ["NUTSInfo", "build_kernel"]


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


def build_kernel(integrator: Callable = velocity_verlet, divergence_threshold: float = 1000.0):
    """Build a NUTS transition kernel.

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
        metric = as_metric(inverse_mass_matrix)
        step = integrator(logdensity_fn, metric.kinetic_energy_grad)
        key_momentum, key_trajectory = jax.random.split(key)
        momentum = metric.sample_momentum(key_momentum, state.position)
        start = IntegratorState(state.position, momentum, state.logdensity, state.logdensity_grad)
        result = build_trajectory(key_trajectory, step, metric, start,
                                  jnp.asarray(step_size, state.position.dtype),
                                  max_tree_depth, divergence_threshold)
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

    return kernel
