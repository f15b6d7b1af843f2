r"""Evidence lower bound (ELBO) estimators and their gradients.

For a target :math:`p(x)` known up to its normaliser :math:`Z = \int p` (a
model's joint density at the data, as a function of the flat unconstrained
latents) and an approximation :math:`q`,

.. math::

    \mathrm{ELBO}(q) = E_{q}[\log p(x) - \log q(x)] = \log Z - \mathrm{KL}(q \,\|\, p/Z)
    \le \log Z .

**Higher is better** everywhere in this module: every function returns the
ELBO (or a bound on :math:`\log Z`), never its negative; optimisers minimise
``-elbo``.

``log_p`` is a function of one flat vector of shape ``(d,)`` returning a
scalar; it is vectorised with :func:`jax.vmap`. ``q`` is a family
(:mod:`credo.vi.families`, :mod:`credo.vi.flows`) or any object with
``sample(key, n)`` and ``log_prob(x)``.

Estimators
----------
:func:`elbo_reparam`
    Pathwise (reparameterization) estimator, :math:`x = T_\theta(\varepsilon)`
    (Kingma & Welling 2014; Kucukelbir et al. 2017), optionally with the
    "sticking the landing" gradient (Roeder, Wu & Duvenaud 2017).
:func:`elbo_reparam_entropy`
    Pathwise for :math:`E_q[\log p]` plus the closed-form entropy.
:func:`elbo_score`
    Score-function (REINFORCE) estimator with a control variate, for
    families whose draws are not differentiable (Ranganath, Gerrish & Blei 2014).
:func:`elbo_analytic_kl`
    :math:`E_q[\log p(y\mid x)] - \mathrm{KL}(q \,\|\, \text{prior})` with the KL
    in closed form for a Gaussian :math:`q` and Gaussian prior (:func:`kl_gaussian`):
    the form amortised inference / VAEs use.
:func:`iwae_bound`
    The importance-weighted bound :math:`\mathcal L_K` (Burda, Grosse &
    Salakhutdinov 2016), for evaluation.

References
----------
Burda, Y., Grosse, R., & Salakhutdinov, R. (2016). Importance weighted
autoencoders. *ICLR*.

Kingma, D. P., & Welling, M. (2014). Auto-encoding variational Bayes. *ICLR*.

Kool, W., van Hoof, H., & Welling, M. (2019). Buy 4 REINFORCE samples, get a
baseline for free! *ICLR Workshop DeepRLStructPred*.

Ranganath, R., Gerrish, S., & Blei, D. M. (2014). Black box variational
inference. *AISTATS*.

Roeder, G., Wu, Y., & Duvenaud, D. (2017). Sticking the landing: simple,
lower-variance gradient estimators for variational inference. *NeurIPS*.

Examples
--------
>>> import jax, jax.numpy as jnp
>>> from credo.vi.families import MeanField
>>> from credo.vi.objectives import elbo_reparam
>>> log_p = lambda x: -0.5 * jnp.sum(x**2)          # N(0, I) up to log Z = log(2 pi)
>>> q = MeanField(jnp.zeros(2), jnp.ones(2))        # q equals the target
>>> round(float(elbo_reparam(q, log_p, jax.random.PRNGKey(0), num_particles=4)), 4)
1.8379
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from credo.errors import ArgumentError

__all__ = ["elbo_reparam", "elbo_reparam_entropy", "elbo_score", "elbo_analytic_kl",
           "kl_gaussian", "iwae_bound", "log_weights"]


def _frozen(q):
    """``q`` with ``stop_gradient`` on its array leaves (other leaves, e.g. functions, kept)."""
    return jax.tree.map(lambda a: jax.lax.stop_gradient(a) if eqx.is_array(a) else a, q)


def _vmapped(log_p, x):
    return jax.vmap(log_p)(x)


def log_weights(q, log_p, key, num_samples: int):
    r"""Draws from ``q`` and their log importance weights :math:`\log p(x) - \log q(x)`.

    Returns
    -------
    x : array, shape ``(num_samples, d)``
    log_w : array, shape ``(num_samples,)``
    """
    x, lq = q.sample_and_log_prob(key, num_samples)
    return x, _vmapped(log_p, x) - lq


def elbo_reparam(q, log_p, key, num_particles: int = 1, *, stick_the_landing: bool = False):
    r"""Reparameterization estimate of the ELBO (higher is better).

    .. math::

        \widehat{\mathrm{ELBO}} = \frac1S\sum_{s=1}^S \log p(x_s) - \log q_\theta(x_s),
        \qquad x_s = T_\theta(\varepsilon_s),

    unbiased for the ELBO; its gradient in :math:`\theta` (``jax.grad``) is
    the pathwise gradient estimator. With ``stick_the_landing=True`` the
    parameters inside :math:`\log q_\theta` are held fixed (a stop-gradient),
    dropping the score term :math:`-E_q[\nabla_\theta \log q_\theta]`, whose
    expectation is zero: the gradient stays unbiased and its variance
    vanishes when :math:`q` equals the posterior (Roeder et al. 2017). The
    returned *value* is the same either way.

    Parameters
    ----------
    q : family
        Must be reparameterized (``q.reparameterized``).
    log_p : callable
        ``(d,) -> scalar`` log target.
    key : PRNG key
    num_particles : int
        :math:`S`, the Monte Carlo sample size.
    stick_the_landing : bool

    Returns
    -------
    scalar
    """
    if stick_the_landing:
        x = q.sample(key, num_particles)
        lq = _frozen(q).log_prob(x)
    else:
        x, lq = q.sample_and_log_prob(key, num_particles)
    return jnp.mean(_vmapped(log_p, x) - lq)


def elbo_reparam_entropy(q, log_p, key, num_particles: int = 1):
    r"""ELBO as :math:`\frac1S\sum_s \log p(x_s) + H[q]` with the entropy in closed form.

    The estimator of ADVI (Kucukelbir et al. 2017, eq. 8). Higher is better.
    Needs ``q.entropy()`` (Gaussian families).
    """
    x = q.sample(key, num_particles)
    return jnp.mean(_vmapped(log_p, x)) + q.entropy()


def elbo_score(q, log_p, key, num_particles: int = 2, *, baseline="leave-one-out"):
    r"""Score-function (REINFORCE) ELBO estimator with a control variate (higher is better).

    Uses only :math:`\nabla_\theta \log q_\theta(x)`, never the derivative of
    a draw, so it applies to families whose ``sample`` is not differentiable
    (discrete latents, rejection samplers). With
    :math:`f(x) = \log p(x) - \log q_\theta(x)`,

    .. math::

        \nabla_\theta \mathrm{ELBO} = E_q\bigl[(f(x) - b)\,\nabla_\theta \log q_\theta(x)\bigr]

    for any :math:`b` independent of :math:`x` (the identity
    :math:`E_q[\nabla_\theta \log q_\theta] = 0` also removes the
    :math:`\nabla_\theta f` term). The function returns a *surrogate*
    whose value is the plain ELBO estimate :math:`\frac1S\sum_s f(x_s)` and
    whose ``jax.grad`` is the estimator

    .. math::

        \hat g = \frac1S\sum_s (f(x_s) - b_s)\,\nabla_\theta \log q_\theta(x_s).

    Family interface: ``q.sample(key, n)`` (treated as constant, wrapped in
    ``stop_gradient``) and ``q.log_prob(x)`` differentiable in the parameters.

    Parameters
    ----------
    q : family
    log_p : callable
        ``(d,) -> scalar``. For a discrete family, ``x`` is whatever
        ``q.sample`` returns (one row per draw).
    key : PRNG key
    num_particles : int
        :math:`S`.
    baseline : "leave-one-out", float, array or None
        ``"leave-one-out"`` (default): :math:`b_s = \frac{1}{S-1}\sum_{t\ne s} f(x_t)`,
        which keeps the estimator unbiased (Kool et al. 2019; needs
        :math:`S \ge 2`). A number or array of shape ``(S,)``: a baseline
        supplied by the caller, e.g. a running mean of past ELBO estimates
        (it must not depend on the current draws). ``None``: :math:`b = 0`
        (high variance).

    Returns
    -------
    scalar
    """
    x = jax.lax.stop_gradient(q.sample(key, num_particles))
    lq = q.log_prob(x)
    f = jax.lax.stop_gradient(_vmapped(log_p, x) - lq)
    if isinstance(baseline, str):
        if baseline != "leave-one-out":
            raise ArgumentError("baseline", f"unknown baseline {baseline!r}; valid choices: "
                                            "'leave-one-out', None, or a number")
        if num_particles < 2:
            raise ArgumentError("num_particles", "the leave-one-out baseline needs num_particles >= 2, "
                                                 f"got {num_particles}")
        b = (jnp.sum(f) - f) / (num_particles - 1)
    elif baseline is None:
        b = 0.0
    else:
        b = jax.lax.stop_gradient(jnp.asarray(baseline))
    surrogate = jnp.mean((f - b) * (lq - jax.lax.stop_gradient(lq)))  # value 0, grad = g_hat
    return jnp.mean(f) + surrogate


def kl_gaussian(q, p) -> jax.Array:
    r"""Closed-form :math:`\mathrm{KL}(q \,\|\, p)` between Gaussians on :math:`\mathbb{R}^d`.

    .. math::

        \mathrm{KL} = \tfrac12\Bigl[\operatorname{tr}(\Sigma_p^{-1}\Sigma_q)
        + (\mu_p - \mu_q)^\top\Sigma_p^{-1}(\mu_p - \mu_q) - d
        + \log\frac{|\Sigma_p|}{|\Sigma_q|}\Bigr].

    Parameters
    ----------
    q : Gaussian family
        Anything with ``mean`` and ``covariance()`` (all of :mod:`credo.vi.families`).
    p : Gaussian family, or ``(loc, scale)``
        The prior. A tuple means :math:`N(\text{loc}, \operatorname{diag}(\text{scale}^2))`
        (scalars broadcast: ``(0.0, 1.0)`` is the standard normal), computed
        without forming matrices when ``q`` is :class:`~credo.vi.families.MeanField`.

    Returns
    -------
    scalar
    """
    from .families import MeanField

    if isinstance(p, tuple):
        loc_p, scale_p = (jnp.asarray(a) for a in p)
        if isinstance(q, MeanField):
            var_ratio = (q.scale / scale_p) ** 2
            maha = ((q.loc - loc_p) / scale_p) ** 2
            return 0.5 * jnp.sum(var_ratio + maha - 1.0 - jnp.log(var_ratio))
        d = q.dim
        cov_p = jnp.diag(jnp.broadcast_to(scale_p**2, (d,)))
        mean_p = jnp.broadcast_to(loc_p, (d,))
    else:
        cov_p, mean_p = p.covariance(), p.mean
    cov_q, mean_q = q.covariance(), q.mean
    chol_p = jnp.linalg.cholesky(cov_p)
    solve = lambda b: jax.scipy.linalg.cho_solve((chol_p, True), b)  # noqa: E731
    diff = mean_p - mean_q
    logdet_p = 2.0 * jnp.sum(jnp.log(jnp.diag(chol_p)))
    logdet_q = jnp.linalg.slogdet(cov_q)[1]
    return 0.5 * (jnp.trace(solve(cov_q)) + diff @ solve(diff) - mean_q.shape[-1]
                  + logdet_p - logdet_q)


def elbo_analytic_kl(q, log_likelihood, prior, key, num_particles: int = 1):
    r"""ELBO with the KL to a Gaussian prior in closed form (higher is better).

    .. math::

        \mathrm{ELBO} = E_q[\log p(y \mid x)] - \mathrm{KL}(q \,\|\, p(x)),

    the expectation by reparameterization, the KL by :func:`kl_gaussian`.
    Equal in expectation to :func:`elbo_reparam` with
    ``log_p = log_likelihood + log prior``, without the Monte Carlo noise of
    the prior and entropy terms. Meant for
    models written as likelihood times Gaussian prior, e.g. the encoder
    term of a variational autoencoder.

    Parameters
    ----------
    q : Gaussian family
    log_likelihood : callable
        ``(d,) -> scalar``, :math:`\log p(y \mid x)`.
    prior : Gaussian family or ``(loc, scale)``
        See :func:`kl_gaussian`.
    key : PRNG key
    num_particles : int
    """
    x = q.sample(key, num_particles)
    return jnp.mean(_vmapped(log_likelihood, x)) - kl_gaussian(q, prior)


def iwae_bound(q, log_p, key, num_samples: int, *, num_estimates: int = 1):
    r"""Importance-weighted bound :math:`\mathcal L_K` (higher is better).

    .. math::

        \mathcal L_K = E\Bigl[\log \frac1K \sum_{k=1}^K \frac{p(x_k)}{q(x_k)}\Bigr],
        \qquad x_k \sim q \text{ iid},

    satisfies :math:`\mathrm{ELBO} = \mathcal L_1 \le \mathcal L_K \le
    \mathcal L_{K+1} \le \log Z` and :math:`\mathcal L_K \to \log Z` as
    :math:`K \to \infty` when :math:`p/q` is bounded (Burda et al. 2016).

    Parameters
    ----------
    q : family
    log_p : callable
    key : PRNG key
    num_samples : int
        :math:`K`.
    num_estimates : int
        Independent replicates averaged (the returned value estimates
        :math:`\mathcal L_K` with less noise; the bound is not tightened).

    Returns
    -------
    scalar
    """
    _, lw = log_weights(q, log_p, key, num_samples * num_estimates)
    lw = lw.reshape(num_estimates, num_samples)
    return jnp.mean(jax.scipy.special.logsumexp(lw, axis=-1) - math.log(num_samples))

