"""Symplectic integrators for Hamiltonian dynamics on a flat position vector.

The Hamiltonian is ``H(q, p) = -log pi(q) + K(p)``; an integrator maps one
:class:`IntegratorState` to the next for a signed step size (negative steps
integrate backward in time, which NUTS needs).

References
----------
.. [1] Leimkuhler, B. and Reich, S. (2004). *Simulating Hamiltonian Dynamics*.
   Cambridge University Press.
.. [2] Neal, R. M. (2011). MCMC using Hamiltonian dynamics. In *Handbook of
   Markov Chain Monte Carlo*, ch. 5.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax

__all__ = ["IntegratorState", "velocity_verlet"]


class IntegratorState(NamedTuple):
    """A point in phase space with its cached log density and gradient.

    Attributes
    ----------
    position : Array, shape (d,)
    momentum : Array, shape (d,)
    logdensity : Array, shape ()
        ``log pi(position)`` (the potential energy is its negative).
    logdensity_grad : Array, shape (d,)
        ``grad log pi(position)``.
    """

    position: jax.Array
    momentum: jax.Array
    logdensity: jax.Array
    logdensity_grad: jax.Array


def velocity_verlet(logdensity_fn: Callable, kinetic_energy_grad_fn: Callable) -> Callable:
    """The leapfrog (velocity Verlet) integrator.

    One step of size ``eps`` is

    .. math::

        p_{1/2} = p + \\tfrac{\\epsilon}{2} \\nabla \\log\\pi(q), \\quad
        q' = q + \\epsilon \\nabla K(p_{1/2}), \\quad
        p' = p_{1/2} + \\tfrac{\\epsilon}{2} \\nabla \\log\\pi(q').

    It is symplectic and time reversible, with energy error ``O(eps**2)``
    over a fixed integration time [1]_, [2]_.

    Parameters
    ----------
    logdensity_fn : callable
        ``(d,) -> ()`` log density of the target, up to a constant.
    kinetic_energy_grad_fn : callable
        ``(d,) -> (d,)`` gradient of the kinetic energy (the velocity
        ``M^{-1} p`` for a Gaussian Euclidean metric).

    Returns
    -------
    step : callable
        ``step(state: IntegratorState, step_size) -> IntegratorState``. Each
        call evaluates the gradient once: the gradient at the starting
        position is the one stored in ``state``.
    """
    value_and_grad = jax.value_and_grad(logdensity_fn)

    def step(state: IntegratorState, step_size) -> IntegratorState:
        half = 0.5 * step_size
        momentum = state.momentum + half * state.logdensity_grad
        position = state.position + step_size * kinetic_energy_grad_fn(momentum)
        logdensity, logdensity_grad = value_and_grad(position)
        momentum = momentum + half * logdensity_grad
        return IntegratorState(position, momentum, logdensity, logdensity_grad)

    return step
