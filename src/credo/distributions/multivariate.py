"""Distributions over vectors and matrices: MultivariateNormal, Dirichlet, LKJCholesky."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import gammaln, xlogy

from . import constraints
from ._util import as_float, broadcast_params, log_beta, sample_beta, sample_log_gamma
from .distribution import Distribution
from .transforms import cpcs_to_corr_cholesky
from credo.errors import DistributionError

__all__ = ["MultivariateNormal", "Dirichlet", "LKJCholesky"]


def _cholesky_of_inverse(precision):
    # With J the reversal permutation and M = chol(J P J), L = J M^-T J is lower
    # triangular with L L^T = P^-1, avoiding an explicit (ill-conditioned) inverse.
    flipped = jnp.flip(precision, (-2, -1))
    m = jnp.linalg.cholesky(flipped)
    eye = jnp.broadcast_to(jnp.eye(m.shape[-1], dtype=m.dtype), m.shape)
    m_inv = solve_triangular(m, eye, lower=True)
    return jnp.flip(jnp.swapaxes(m_inv, -1, -2), (-2, -1))


class MultivariateNormal(Distribution):
    """Multivariate normal law, parameterized by exactly one of three matrices.

    ``log p(x) = -|L^-1 (x - loc)|^2 / 2 - sum(log diag L) - (k/2) log(2 pi)`` with
    ``L`` the lower Cholesky factor of the covariance.

    Parameters
    ----------
    loc : array_like, shape ``batch_shape + (k,)`` (scalars broadcast)
    covariance_matrix, precision_matrix, scale_tril : array_like, shape ``batch_shape + (k, k)``
    """

    arg_constraints = {"loc": constraints.real_vector, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True
    _guard_support = False

    def __init__(self, loc=0.0, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 *, validate_args=None):
        given = {"covariance_matrix": covariance_matrix, "precision_matrix": precision_matrix,
                 "scale_tril": scale_tril}
        given = {k: v for k, v in given.items() if v is not None}
        if len(given) != 1:
            raise DistributionError("MultivariateNormal: pass exactly one of covariance_matrix=, "
                             "precision_matrix= or scale_tril=")
        (name, matrix), = given.items()
        loc, matrix = as_float(loc, matrix)
        if validate_args:
            check = constraints.lower_cholesky if name == "scale_tril" else constraints.positive_definite
            self._check_param(name, matrix, check)
        if name == "covariance_matrix":
            matrix = jnp.linalg.cholesky(matrix)
        elif name == "precision_matrix":
            matrix = _cholesky_of_inverse(matrix)
        if loc.ndim == 0:
            loc = jnp.broadcast_to(loc, matrix.shape[-1:])
        batch_shape, (self.loc, self.scale_tril) = broadcast_params((loc, 1), (matrix, 2))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)

    def _log_prob(self, value):
        diff = value - self.loc
        batch = jnp.broadcast_shapes(diff.shape[:-1], self.batch_shape)
        k = self.event_shape[0]
        chol = jnp.broadcast_to(self.scale_tril, batch + (k, k))
        white = solve_triangular(chol, jnp.broadcast_to(diff, batch + (k,))[..., None], lower=True)
        half_log_det = jnp.sum(jnp.log(jnp.diagonal(self.scale_tril, axis1=-2, axis2=-1)), -1)
        return -0.5 * jnp.sum(white[..., 0] ** 2, -1) - half_log_det - k * 0.5 * math.log(2 * math.pi)

    def _sample(self, key, sample_shape):
        eps = jax.random.normal(key, self.shape(sample_shape), self.loc.dtype)
        return self.loc + jnp.squeeze(self.scale_tril @ eps[..., None], -1)

    @property
    def covariance_matrix(self):
        return self.scale_tril @ jnp.swapaxes(self.scale_tril, -1, -2)

    @property
    def precision_matrix(self):
        eye = jnp.broadcast_to(jnp.eye(self.event_shape[0], dtype=self.loc.dtype), self.scale_tril.shape)
        inv_chol = solve_triangular(self.scale_tril, eye, lower=True)
        return jnp.swapaxes(inv_chol, -1, -2) @ inv_chol

    @property
    def mean(self):
        return self.loc

    @property
    def variance(self):
        return jnp.sum(self.scale_tril**2, axis=-1)


class Dirichlet(Distribution):
    """Dirichlet law on the simplex; ``log p(x) = sum((a - 1) log x) + lgamma(sum a) - sum(lgamma a)``.

    Parameters
    ----------
    concentration : array_like, shape ``batch_shape + (k,)``, positive
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    _sample_eagerly = True  # jax.random kernels compile once per shape, not per class

    def __init__(self, concentration, *, validate_args=None):
        (conc,) = as_float(concentration)
        if conc.ndim < 1:
            raise DistributionError("Dirichlet: concentration must have at least one dimension")
        self.concentration = conc
        super().__init__(conc.shape[:-1], conc.shape[-1:], validate_args=validate_args)

    def _log_prob(self, value):
        a = self.concentration
        norm = gammaln(jnp.sum(a, -1)) - jnp.sum(gammaln(a), -1)
        return jnp.sum(xlogy(a - 1, value), -1) + norm

    def _sample(self, key, sample_shape):
        log_g = sample_log_gamma(key, self.concentration, self.shape(sample_shape))
        return jax.nn.softmax(log_g, axis=-1)

    @property
    def mean(self):
        return self.concentration / jnp.sum(self.concentration, -1, keepdims=True)

    @property
    def variance(self):
        total = jnp.sum(self.concentration, -1, keepdims=True)
        m = self.concentration / total
        return m * (1 - m) / (total + 1)


class LKJCholesky(Distribution):
    """LKJ law on Cholesky factors ``L`` of ``dimension x dimension`` correlation matrices.

    The correlation matrix ``L L^T`` has density proportional to
    ``det(L L^T)^(concentration - 1)``; on ``L`` (as in Stan's
    ``lkj_corr_cholesky``) ``log p(L) = sum_{i>=1} (d - i - 3 + 2 eta) log L_ii - log Z``
    (0-based ``i``), with ``Z`` the exact normalizing constant.

    Parameters
    ----------
    dimension : int
    concentration : array_like, positive; shape ``batch_shape``
    """

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky
    has_rsample = True

    _sample_eagerly = True  # jax.random kernels compile once per shape, not per class

    def __init__(self, dimension, concentration=1.0, *, validate_args=None):
        if int(dimension) < 2:
            raise DistributionError(f"LKJCholesky: dimension must be >= 2, got {dimension}")
        self.dimension = int(dimension)
        (self.concentration,) = as_float(concentration)
        d = self.dimension
        super().__init__(self.concentration.shape, (d, d), validate_args=validate_args)

    def _log_normalizer(self):
        # Integrating det^(eta-1) over the C-vine partial correlations gives
        # Z = prod_k [2^(2b_k - 1) B(b_k, b_k)]^(d-k), b_k = eta + (d-k-1)/2, k = 1..d-1.
        d, eta = self.dimension, self.concentration[..., None]
        k = np.arange(1, d)
        b = eta + (d - k - 1) / 2
        return jnp.sum((d - k) * ((2 * b - 1) * math.log(2.0) + log_beta(b, b)), -1)

    def _log_prob(self, value):
        d, eta = self.dimension, self.concentration[..., None]
        log_diag = jnp.log(jnp.diagonal(value, axis1=-2, axis2=-1)[..., 1:])
        powers = (d - 3 - np.arange(1, d)) + 2 * eta
        return jnp.sum(powers * log_diag, -1) - self._log_normalizer()

    def _sample(self, key, sample_shape):
        # C-vine: the partial correlation in column j is 2 Beta(b_j, b_j) - 1 with
        # b_j = eta + (d - 2 - j) / 2, independently across entries.
        d = self.dimension
        _, cols = np.tril_indices(d, -1)
        b = self.concentration[..., None] + (d - 2 - cols) / 2
        shape = tuple(sample_shape) + self.batch_shape + (len(cols),)
        z = 2 * sample_beta(key, b, b, shape) - 1
        return cpcs_to_corr_cholesky(z, jnp.log1p(-z * z))
