"""Energy diagnostic of Hamiltonian Monte Carlo: E-BFMI."""

from __future__ import annotations

import numpy as np

from credo.errors import ArgumentError

__all__ = ["e_bfmi"]


def e_bfmi(energy) -> np.ndarray:
    """Estimated Bayesian fraction of missing information, one value per chain.

    ``E-BFMI = sum_n (E_n - E_{n-1})^2 / sum_n (E_n - Ebar)^2``, computed (as
    ArviZ's ``bfmi``) as ``mean(diff(E)^2) / var(E, ddof=1)`` per chain. It
    compares how far the energy moves in one momentum resampling with the
    spread of the marginal energy distribution; values below 0.3 mean the
    sampler explores the energy levels poorly (heavy tails, funnels) and
    usually call for a reparameterisation.

    Parameters
    ----------
    energy : array_like, shape (chains, draws)
        Hamiltonian energy of each draw; a 1-d array is one chain.

    Returns
    -------
    numpy.ndarray, shape (chains,)
        NaN for a chain with fewer than 2 draws or constant energy.

    References
    ----------
    Betancourt (2016), Diagnosing suboptimal cotangent disintegrations in
    Hamiltonian Monte Carlo, arXiv:1604.00695.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> e_bfmi(rng.normal(size=(2, 1000))).round(1)  # independent energies: about 2
    array([2., 2.])
    """
    energy = np.atleast_2d(np.asarray(energy, dtype=float))
    if energy.ndim != 2:
        raise ArgumentError("energy", f"must have shape (chains, draws), got {energy.shape}")
    if energy.shape[1] < 2:
        return np.full(energy.shape[0], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.square(np.diff(energy, axis=1)).mean(axis=1) / energy.var(axis=1, ddof=1)
