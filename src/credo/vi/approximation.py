r"""The result of variational inference: a fitted distribution :math:`q` and its diagnostics.

:class:`Approximation` wraps a family fitted on the flat unconstrained space
together with the model; it draws on the constrained scale, summarises,
exports to ArviZ, and checks itself with importance weights
:math:`w = p(x)/q(x)`, :math:`x \sim q`:

* the Pareto :math:`\hat k` of the weights (Yao, Vehtari, Simpson & Gelman
  2018): :math:`\hat k < 0.5` good, :math:`0.5 \le \hat k \le 0.7` usable with
  importance-sampling correction, :math:`\hat k > 0.7` unreliable;
* an importance-sampling estimate of :math:`\log Z = \log p(y)`.

References
----------
Yao, Y., Vehtari, A., Simpson, D., & Gelman, A. (2018). Yes, but did it work?:
Evaluating variational inference. *ICML*.

Vehtari, A., Simpson, D., Gelman, A., Yao, Y., & Gabry, J. (2024). Pareto
smoothed importance sampling. *JMLR* 25(72).
"""

from __future__ import annotations

import math
import warnings
from functools import partial
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ArgumentError
from credo.random import as_key

from .families import FactoredGaussian, FullRank, LowRank, MeanField, Mixture
from .objectives import log_weights

__all__ = ["Approximation", "LogEvidence", "KHAT_THRESHOLD"]

#: Above this Pareto k-hat the importance weights, and the approximation, are unreliable.
KHAT_THRESHOLD = 0.7

#: Columns of the MCMC summary that describe Markov chains; NaN for independent draws from q.
CHAIN_COLUMNS = ("ess_bulk", "ess_tail", "r_hat")


class LogEvidence(NamedTuple):
    """An importance-sampling estimate of :math:`\\log p(y)` and its standard error."""

    estimate: float
    se: float


# Random-number kernels take seconds to compile on a CPU. Gaussian draws are therefore
# made in two programs: the standard normals (one program per shape, shared by every
# family and model of that dimension) and the affine map of the family (cheap to compile).
# The draws are the same as ``q.sample(key, n)``'s.
_GAUSSIANS = (MeanField, FullRank, FactoredGaussian)


@partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _standard_normals(key, components: int, n: int, dim: int, dtype):
    """``normal(key, (n, dim))``, or with ``components`` the draws of a stratified
    :class:`Mixture`: ``normal(k_c, (n, dim))`` for each of ``split(key, components)``."""
    if components == 0:
        return jax.random.normal(key, (n, dim), dtype)
    keys = jax.random.split(key, components)
    return jax.vmap(lambda k: jax.random.normal(k, (n, dim), dtype))(keys)


def _affine(q, eps):
    if isinstance(q, MeanField):
        return q.loc + q.scale * eps
    if isinstance(q, FullRank):
        return q.loc + eps @ q.scale_tril.T
    return q.loc + q._apply_scale(eps)


@eqx.filter_jit
def _affine_draws(q, eps):
    return _affine(q, eps)


@eqx.filter_jit
def _mixture_draws(q, eps, counts):
    per = eqx.filter_vmap(_affine)(q.components, eps)
    return jnp.concatenate([per[k, :c] for k, c in enumerate(counts) if c > 0], axis=0)


@eqx.filter_jit
def _log_weights_at(q, log_p, x):
    return x, jax.vmap(log_p)(x) - q.log_prob(x)


@eqx.filter_jit
def _sample(q, key, n):
    return q.sample(key, n)


@eqx.filter_jit
def _sample_weighted(q, log_p, key, n):
    return log_weights(q, log_p, key, n)


def _gaussian_draws(q, key, n: int):
    """``q.sample(key, n)`` for the Gaussian families and their mixtures, else None."""
    if type(q) in _GAUSSIANS:
        return _affine_draws(q, _standard_normals(key, 0, n, q.dim, q.loc.dtype))
    if type(q) is Mixture and type(q.components) in _GAUSSIANS:
        size = q.num_components
        counts = tuple(n // size + (k < n % size) for k in range(size))
        eps = _standard_normals(key, size, counts[0], q.dim, q.components.loc.dtype)
        return _mixture_draws(q, eps, counts)
    return None


def _draw(q, key, n):
    x = _gaussian_draws(q, key, int(n))
    return _sample(q, key, n) if x is None else x


def _draw_weighted(q, log_p, key, n):
    x = _gaussian_draws(q, key, int(n))
    return _sample_weighted(q, log_p, key, n) if x is None else _log_weights_at(q, log_p, x)


def _psis(log_w):
    from credo.diagnostics import psis

    log_w = np.asarray(log_w, dtype=float)
    smoothed, khat = psis(np.where(np.isnan(log_w), -np.inf, log_w))
    return np.asarray(smoothed, dtype=float), float(khat)


class Approximation:
    r"""A fitted variational approximation :math:`q` of a model's posterior.

    Built by :func:`credo.vi.advi` and :func:`credo.vi.pathfinder`.

    Attributes
    ----------
    family : str
        ``"meanfield"``, ``"fullrank"``, ``"lowrank"``, ``"flow"``, ``"pathfinder"``
        or ``"custom"``.
    q : Family
        The fitted distribution on the flat unconstrained space (an
        :class:`equinox.Module`).
    elbo_history : ndarray
        ELBO estimates (higher is better) during the fit: one per optimisation
        step for ADVI; for Pathfinder, shape ``(num_paths, iterations)``, the
        ELBO of each L-BFGS iterate's Gaussian (NaN past a path's end).
    converged : bool
        ADVI: the relative-tolerance test was met before ``steps``. Pathfinder:
        every path's L-BFGS met its tolerance.
    num_steps : int
        Optimisation steps (ADVI) or L-BFGS iterations summed over paths.
    info : dict
        Method-specific details (e.g. Pathfinder's best iterate per path).
    resample : bool
        Whether :meth:`sample` importance-resamples draws of ``q`` (multi-path
        Pathfinder): ``max(num_samples, pool_size)`` proposals, Pareto-smoothed
        weights, then ``num_samples`` draws with replacement.
    """

    def __init__(self, q, target, *, family: str, elbo_history=None, converged: bool = True,
                 num_steps: int = 0, resample: bool = False, pool_size: int = 0,
                 info: dict | None = None):
        self.q = q
        self.target = target
        self.family = family
        self.elbo_history = np.asarray([] if elbo_history is None else elbo_history, dtype=float)
        self.converged = bool(converged)
        self.num_steps = int(num_steps)
        self.resample = bool(resample)
        self.pool_size = int(pool_size)
        self.info = info or {}

    # -- parameters ------------------------------------------------------------------------
    @property
    def params(self) -> dict:
        """The fitted variational parameters as numpy arrays, by name.

        ``meanfield``: ``loc``, ``scale``; ``fullrank``: ``loc``, ``scale_tril``;
        ``lowrank``: ``loc``, ``cov_factor``, ``diag_scale``; Gaussian results of
        Pathfinder: ``loc``, ``covariance`` (stacked over paths for several);
        flows: every array leaf, keyed by its path in the module.
        """
        return {k: np.asarray(v) for k, v in _named_params(self.q).items()}

    @property
    def dim(self) -> int:
        return self.target.dim

    # -- draws -----------------------------------------------------------------------------
    def sample_unconstrained(self, num_samples: int = 1000, seed=0, *,
                             replace: bool = True) -> np.ndarray:
        """Draws on the flat unconstrained space, shape ``(num_samples, dim)``.

        ``replace=False`` makes importance resampling pick distinct proposals
        (draws without resampling are distinct anyway).
        """
        if int(num_samples) < 0:
            raise ArgumentError("num_samples", f"num_samples must be >= 0, got {num_samples}")
        key = as_key(seed)
        if not self.resample:
            return np.asarray(_draw(self.q, key, int(num_samples)))
        k_pool, k_pick = jax.random.split(key)
        pool = max(int(num_samples), self.pool_size)
        x, lw = _draw_weighted(self.q, self.target.log_p, k_pool, pool)
        smoothed, _ = _psis(np.asarray(lw))
        probs = np.exp(smoothed - np.max(smoothed))
        probs = probs / probs.sum()
        # resample on the host (numpy), seeded by the key: no compilation per pool size
        rng = np.random.default_rng(np.asarray(jax.random.key_data(k_pick)).ravel().tolist())
        idx = rng.choice(pool, size=int(num_samples), replace=replace, p=probs)
        return np.asarray(x)[idx]

    def sample(self, num_samples: int = 1000, seed=0) -> dict:
        """Draws on the constrained scale: independent draws of ``q``, or importance-resampled
        ones when :attr:`resample` is set.

        Parameters
        ----------
        num_samples : int
        seed : int or PRNG key

        Returns
        -------
        dict of str -> ndarray, shape ``(num_samples, *site_shape)``
            Every latent site and every deterministic site (a plain log
            density gives ``"x"``).
        """
        return self.target.constrain_batch(jnp.asarray(self.sample_unconstrained(num_samples, seed)))

    def summary(self, num_samples: int = 4000, seed=0, prob: float = 0.94):
        """Summary of ``num_samples`` draws, one row per scalar element.

        The columns of the MCMC summary (:func:`credo.diagnostics.summary`):
        ``mean, sd, hdi_3%, hdi_97%, mcse_mean, mcse_sd, ess_bulk, ess_tail,
        r_hat``. ``ess_bulk``, ``ess_tail`` and ``r_hat`` are NaN: they
        diagnose Markov chains, and these draws are independent. The
        ``mcse`` columns are the Monte Carlo error of the summaries of
        :math:`q`, not the error of :math:`q` as an approximation (for that,
        see :meth:`psis_khat`).
        """
        from credo.diagnostics import summary

        draws = {k: v[None] for k, v in self.sample(num_samples, seed).items()}
        table = summary(draws, prob=prob)
        for column in CHAIN_COLUMNS:
            if column in table:
                table[column] = np.nan
        return table

    def to_arviz(self, num_samples: int = 1000, seed=0):
        """An ``arviz.InferenceData`` with one "chain" of ``num_samples`` draws from :math:`q`.

        Groups: ``posterior`` and, for models, ``observed_data``.
        """
        try:
            import arviz
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("to_arviz needs ArviZ: pip install arviz") from err
        draws = {k: v[None] for k, v in self.sample(num_samples, seed).items()}
        observed = {k: np.asarray(v) for k, v in self.target.observed.items()}
        return arviz.from_dict(posterior=draws, observed_data=observed or None)

    # -- diagnostics -----------------------------------------------------------------------
    def log_weights(self, num_samples: int = 1000, seed=0) -> tuple[np.ndarray, np.ndarray]:
        r"""Draws of :math:`q` (unconstrained) and their :math:`\log p(x) - \log q(x)`."""
        x, lw = _draw_weighted(self.q, self.target.log_p, as_key(seed), int(num_samples))
        return np.asarray(x), np.asarray(lw)

    def psis_khat(self, num_samples: int = 1000, seed=0, *, warn: bool = True) -> float:
        r"""Pareto :math:`\hat k` of the importance weights :math:`p/q` (Yao et al. 2018).

        Fits a generalised Pareto distribution to the largest weights; its
        shape :math:`\hat k` says how heavy the right tail of :math:`p/q` is,
        that is, how much posterior mass :math:`q` misses. Below 0.5 the
        approximation is good; above 0.7 (warned) importance sampling
        cannot repair it and its summaries, variances especially, may be
        far off. For Pathfinder the weights are those of the proposal that
        :meth:`sample` resamples.

        Parameters
        ----------
        num_samples : int
        seed : int or PRNG key
        warn : bool
            Issue a ``UserWarning`` when :math:`\hat k > 0.7`.

        Returns
        -------
        float
        """
        _, lw = self.log_weights(num_samples, seed)
        _, khat = _psis(lw)
        if warn and khat > KHAT_THRESHOLD:
            warnings.warn(f"Pareto k-hat = {khat:.2f} > {KHAT_THRESHOLD}: the approximation misses "
                          "part of the posterior; its estimates (variances especially) are "
                          "unreliable. Try a richer family or MCMC.", UserWarning, stacklevel=2)
        return khat

    def log_evidence_estimate(self, num_samples: int = 1000, seed=0) -> LogEvidence:
        r"""Importance-sampling estimate of the log marginal likelihood :math:`\log p(y)`.

        .. math::

            \widehat{\log Z} = \log \frac1n\sum_{i=1}^n w_i, \qquad
            w_i = \frac{p(x_i)}{q(x_i)},\; x_i \sim q,

        with the delta-method standard error
        :math:`\mathrm{se} = \mathrm{sd}(w) / (\sqrt n\, \bar w)`. The estimate
        of :math:`Z` is unbiased; its log is biased low by about
        :math:`\mathrm{se}^2/2` (it is the IWAE bound with :math:`K = n`). The
        standard error is trustworthy only when :meth:`psis_khat` is below 0.7.
        For models, :math:`Z` includes every factor of the model's joint
        density (improper priors make it meaningless).

        Returns
        -------
        LogEvidence
            ``(estimate, se)``.
        """
        _, lw = self.log_weights(num_samples, seed)
        lw = lw[np.isfinite(lw)] if np.any(np.isfinite(lw)) else lw
        top = np.max(lw)
        w = np.exp(lw - top)
        estimate = top + math.log(np.mean(w))
        se = float(np.std(w, ddof=1) / (math.sqrt(len(w)) * np.mean(w))) if len(w) > 1 else math.inf
        return LogEvidence(float(estimate), se)

    def elbo(self, num_samples: int = 1000, seed=0) -> tuple[float, float]:
        """Monte Carlo ELBO of ``q`` (higher is better) and its standard error."""
        _, lw = self.log_weights(num_samples, seed)
        return float(np.mean(lw)), float(np.std(lw, ddof=1) / math.sqrt(len(lw)))

    def __repr__(self):
        return (f"Approximation(family={self.family!r}, dim={self.dim}, "
                f"steps={self.num_steps}, converged={self.converged})")


def _named_params(q) -> dict:
    if isinstance(q, MeanField):
        return {"loc": q.loc, "scale": q.scale}
    if isinstance(q, FullRank):
        return {"loc": q.loc, "scale_tril": q.scale_tril}
    if isinstance(q, LowRank):
        return {"loc": q.loc, "cov_factor": q.cov_factor, "diag_scale": q.diag_scale}
    if isinstance(q, FactoredGaussian):
        return {"loc": q.loc, "covariance": q.covariance()}
    if isinstance(q, Mixture):
        parts = [_named_params(q.component(k)) for k in range(q.num_components)]
        return {name: jnp.stack([p[name] for p in parts]) for name in parts[0]}
    leaves = jax.tree_util.tree_leaves_with_path(eqx.filter(q, eqx.is_array))
    return {jax.tree_util.keystr(path): leaf for path, leaf in leaves}
