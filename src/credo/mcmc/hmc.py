"""Static Hamiltonian Monte Carlo: a fixed number of leapfrog steps and a Metropolis correction.

A transition draws ``p ~ N(0, M)``, integrates ``L`` leapfrog steps of size
``eps`` from ``(q, p)`` and accepts the end point with probability
``min(1, exp(H0 - H))`` (Duane et al. 1987; Neal 2011).

References
----------
.. [1] Neal, R. M. (2011). MCMC using Hamiltonian dynamics. In *Handbook of
   Markov Chain Monte Carlo*, ch. 5.
.. [2] Betancourt, M. (2017). A conceptual introduction to Hamiltonian Monte
   Carlo. arXiv:1701.02434.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from . import rng
from .integrators import IntegratorState, velocity_verlet
from .metrics import as_metric
from .proposal import acceptance_probability, energy_error, select

__all__ = ["HMCState", "HMCInfo", "init", "build_kernel"]


class HMCState(NamedTuple):
    """State of an HMC or NUTS chain (the momentum is redrawn every transition).

    Attributes
    ----------
    position : Array, shape (d,)
    logdensity : Array, shape ()
    logdensity_grad : Array, shape (d,)
    """

    position: jax.Array
    logdensity: jax.Array
    logdensity_grad: jax.Array


class HMCInfo(NamedTuple):
    """Diagnostics of one static HMC transition.

    Attributes
    ----------
    momentum : Array, shape (d,)
        The momentum drawn at the start.
    acceptance_rate : Array, shape ()
        ``min(1, exp(H0 - H))`` of the proposal.
    is_accepted : bool array
    is_divergent : bool array
        ``H - H0`` above the threshold or not finite.
    energy : Array, shape ()
        ``H`` of the returned state (the proposal's if accepted, else ``H0``).
    proposal : IntegratorState
        The end of the trajectory.
    num_integration_steps : int array
    """

    momentum: jax.Array
    acceptance_rate: jax.Array
    is_accepted: jax.Array
    is_divergent: jax.Array
    energy: jax.Array
    proposal: IntegratorState
    num_integration_steps: jax.Array


def init(position, logdensity_fn: Callable) -> HMCState:
    """The chain state at ``position``: its log density and gradient.

    Parameters
    ----------
    position : Array, shape (d,)
    logdensity_fn : callable
        ``(d,) -> ()``.
    """
    position = jnp.asarray(position)
    logdensity, grad = jax.value_and_grad(logdensity_fn)(position)
    return HMCState(position, logdensity, grad)


def build_kernel(integrator: Callable = velocity_verlet, divergence_threshold: float = 1000.0):
    """Build a static HMC transition kernel.

    Parameters
    ----------
    integrator : callable
        ``integrator(logdensity_fn, kinetic_energy_grad_fn) -> step``, e.g.
        :func:`~credo.mcmc.integrators.velocity_verlet`.
    divergence_threshold : float
        Energy error ``H - H0`` above which a transition is flagged divergent.

    Returns
    -------
    kernel : callable
        ``kernel(key, state, logdensity_fn, step_size, inverse_mass_matrix,
        num_integration_steps) -> (HMCState, HMCInfo)``; pure, jittable and
        vmappable. ``inverse_mass_matrix`` is a ``(d,)`` diagonal, a ``(d, d)``
        matrix or a :class:`~credo.mcmc.metrics.Metric`;
        ``num_integration_steps`` may be traced.
    """

    def kernel(key, state: HMCState, logdensity_fn: Callable, step_size, inverse_mass_matrix,
               num_integration_steps):
        metric = as_metric(inverse_mass_matrix)
        step = integrator(logdensity_fn, metric.kinetic_energy_grad)
        key_momentum, key_accept = rng.split(key)
        momentum = metric.sample_momentum(key_momentum, state.position)
        start = IntegratorState(state.position, momentum, state.logdensity, state.logdensity_grad)
        initial_energy = -state.logdensity + metric.kinetic_energy(momentum)
        step_size = jnp.asarray(step_size, state.position.dtype)

        end = jax.lax.fori_loop(0, num_integration_steps, lambda _, z: step(z, step_size), start)
        energy = -end.logdensity + metric.kinetic_energy(end.momentum)
        delta = energy_error(initial_energy, energy)
        p_accept = acceptance_probability(delta)
        accepted = rng.uniform(key_accept, (), state.position.dtype) < p_accept
        proposed = HMCState(end.position, end.logdensity, end.logdensity_grad)
        new_state = select(accepted, proposed, state)
        info = HMCInfo(
            momentum=momentum,
            acceptance_rate=p_accept,
            is_accepted=accepted,
            is_divergent=delta > divergence_threshold,
            energy=jnp.where(accepted, energy, initial_energy),
            proposal=end,
            num_integration_steps=jnp.asarray(num_integration_steps, jnp.int32),
        )
        return new_state, info

    return kernel
