"""Gaussian Euclidean metrics: momentum distribution, kinetic energy and U-turn criterion.

With mass matrix ``M`` the momentum is ``p ~ N(0, M)`` and the kinetic energy
``K(p) = p^T M^{-1} p / 2`` (constant dropped). Samplers are parametrized by
the *inverse* mass matrix ``M^{-1}``, which adaptation estimates as the
posterior covariance (Stan reference manual, "HMC algorithm parameters").

References
----------
.. [1] Betancourt, M. (2017). A conceptual introduction to Hamiltonian Monte
   Carlo. arXiv:1701.02434.
.. [2] Stan Development Team. *Stan Reference Manual*, "MCMC sampling".
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl

from . import rng

__all__ = ["Metric", "gaussian_euclidean", "as_metric", "is_turning_velocities",
           "momentum_from_normal"]


class Metric(NamedTuple):
    """The four functions a Hamiltonian sampler needs from its metric.

    Attributes
    ----------
    sample_momentum : callable
        ``(key, position (d,)) -> momentum (d,)``, a draw of ``N(0, M)``.
    kinetic_energy : callable
        ``momentum (d,) -> ()``, ``p^T M^{-1} p / 2``.
    kinetic_energy_grad : callable
        ``momentum (d,) -> velocity (d,)``, ``M^{-1} p``.
    is_turning : callable
        ``(momentum_left, momentum_right, momentum_sum) -> bool``: the
        generalized no-U-turn criterion, see :func:`is_turning_velocities`.
    """

    sample_momentum: Callable
    kinetic_energy: Callable
    kinetic_energy_grad: Callable
    is_turning: Callable


def is_turning_velocities(velocity_left, velocity_right, momentum_sum):
    """Generalized U-turn criterion on velocities (Betancourt 2017, sec. A.4.2).

    A trajectory segment with summed momentum ``rho`` and end velocities
    ``v_l = M^{-1} p_l``, ``v_r = M^{-1} p_r`` keeps going while both
    ``v_l . rho > 0`` and ``v_r . rho > 0`` (Stan's ``compute_criterion``);
    it is turning otherwise. The criterion is symmetric in the two ends, so
    it does not depend on the direction of integration.

    Parameters
    ----------
    velocity_left, velocity_right : Array, shape (d,)
    momentum_sum : Array, shape (d,)
        Sum of the momenta of every state in the segment, ends included.

    Returns
    -------
    Array, shape (), bool
    """
    return (jnp.dot(velocity_left, momentum_sum) <= 0) | (jnp.dot(velocity_right, momentum_sum) <= 0)


def _scale_diagonal(inv_sqrt, z):
    return z / inv_sqrt


def _scale_dense(chol, z):
    return jsl.solve_triangular(chol, z, lower=True, trans="T")


def momentum_from_normal(inverse_mass_matrix, z):
    """The momentum ``p ~ N(0, M)`` that a standard normal draw ``z`` maps to.

    The same map as :func:`gaussian_euclidean`'s ``sample_momentum``
    (``p = z / sqrt(diag M^{-1})``, or ``p = L^{-T} z`` with ``L L^T = M^{-1}``),
    for callers that draw the normals ahead of time.

    Parameters
    ----------
    inverse_mass_matrix : Array, shape (d,) or (d, d)
    z : Array, shape (d,)
    """
    inverse_mass_matrix = jnp.asarray(inverse_mass_matrix)
    if inverse_mass_matrix.ndim == 1:
        return _scale_diagonal(jnp.sqrt(inverse_mass_matrix), z)
    return _scale_dense(jnp.linalg.cholesky(inverse_mass_matrix), z)


def gaussian_euclidean(inverse_mass_matrix, cholesky=None) -> Metric:
    """The Gaussian Euclidean metric of a fixed (inverse) mass matrix.

    Parameters
    ----------
    inverse_mass_matrix : Array, shape (d,) or (d, d)
        ``M^{-1}``: a 1-D array is its diagonal, a 2-D array the dense
        symmetric positive definite matrix.
    cholesky : Array, shape (d, d), optional
        The lower Cholesky factor of a dense ``inverse_mass_matrix``, if the
        caller already has it (it changes only when adaptation updates the
        matrix, so a sampler can carry it instead of refactoring each step).

    Returns
    -------
    Metric
        For a dense matrix, momenta are drawn as ``p = L^{-T} z`` with
        ``z ~ N(0, I)`` and ``L`` the Cholesky factor of ``M^{-1}`` (so that
        ``Cov p = (L L^T)^{-1} = M``); the factorization is done once per
        metric, here, unless given.
    """
    inverse_mass_matrix = jnp.asarray(inverse_mass_matrix)
    ndim = inverse_mass_matrix.ndim
    if ndim == 1:
        inv_sqrt = jnp.sqrt(inverse_mass_matrix)

        def sample_momentum(key, position):
            z = rng.normal(key, jnp.shape(position), jnp.result_type(position))
            return _scale_diagonal(inv_sqrt, z)

        def kinetic_energy_grad(momentum):
            return inverse_mass_matrix * momentum

    elif ndim == 2:
        chol = jnp.linalg.cholesky(inverse_mass_matrix) if cholesky is None else jnp.asarray(cholesky)

        def sample_momentum(key, position):
            z = rng.normal(key, jnp.shape(position), jnp.result_type(position))
            return _scale_dense(chol, z)

        def kinetic_energy_grad(momentum):
            return inverse_mass_matrix @ momentum

    else:
        raise ValueError(f"inverse_mass_matrix must be 1-D or 2-D, got shape {inverse_mass_matrix.shape}")

    def kinetic_energy(momentum):
        # XLA merges this product with the one in kinetic_energy_grad when both
        # are computed for the same momentum, so energy + velocity cost one product.
        return 0.5 * jnp.dot(momentum, kinetic_energy_grad(momentum))

    def is_turning(momentum_left, momentum_right, momentum_sum):
        return is_turning_velocities(kinetic_energy_grad(momentum_left),
                                     kinetic_energy_grad(momentum_right), momentum_sum)

    return Metric(sample_momentum, kinetic_energy, kinetic_energy_grad, is_turning)


def as_metric(inverse_mass_matrix) -> Metric:
    """A :class:`Metric` as is, or :func:`gaussian_euclidean` of an array.

    Passing a prebuilt metric lets a caller factor a dense matrix once per
    adaptation window rather than once per transition.
    """
    if isinstance(inverse_mass_matrix, Metric):
        return inverse_mass_matrix
    return gaussian_euclidean(inverse_mass_matrix)
