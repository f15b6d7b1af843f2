r"""Pathfinder: quasi-Newton variational inference (Zhang, Carpenter, Gelman & Vehtari 2022).

One *path*:

1. From an initial point, maximise :math:`\log p` with L-BFGS
   (:func:`optax.lbfgs` with a zoom line search), recording every iterate
   :math:`x_l` and gradient :math:`g_l = \nabla\log p(x_l)`.
2. At each iterate, build the L-BFGS estimate of the inverse Hessian of
   :math:`-\log p` from the last :math:`J` accepted steps
   :math:`s = x_l - x_{l-1}`, :math:`y = -(g_l - g_{l-1})` (accepted when
   :math:`s^\top y > \epsilon\|y\|^2`), in the compact form of Byrd, Nocedal &
   Schnabel (1994) over a diagonal :math:`\operatorname{diag}(\alpha)` updated
   along the whole path as in Gilbert & Lemaréchal (1989):

   .. math::

       \Sigma_l = \operatorname{diag}(\alpha) + \beta\gamma\beta^\top,\quad
       \beta = [S,\ \operatorname{diag}(\alpha)Y],\quad
       \gamma = \begin{pmatrix} R^{-\top}(D + Y^\top\operatorname{diag}(\alpha)Y)R^{-1} & -R^{-\top}\\
                                -R^{-1} & 0\end{pmatrix},

   with :math:`R` the upper triangle of :math:`S^\top Y` and :math:`D` its diagonal;
   the Gaussian is :math:`q_l = N(x_l + \Sigma_l g_l, \Sigma_l)` (a Newton step
   from the iterate).
3. Estimate each :math:`q_l`'s ELBO with ``num_elbo_draws`` Monte Carlo draws
   (higher is better) and keep the best. The draws are the same standard
   normals mapped through each :math:`q_l` (common random numbers), so the
   comparison between iterates is far less noisy than the ELBOs themselves.

Several paths from different initial points give several Gaussians; their
equal mixture is the proposal for importance resampling with Pareto-smoothed
weights (PSIS; Vehtari et al. 2024), which discards paths stuck in minor
modes or far tails. Two departures from the paper, both measured on
posteriordb regressions: a longer default history (:math:`J = 20`), and a
proposal widened when that raises the PSIS effective sample size
(``proposal_scale``). Pathfinder costs a few hundred gradient evaluations,
a fraction of MCMC warmup, and its draws make good MCMC initial points
(:func:`pathfinder_init`).

References
----------
Zhang, L., Carpenter, B., Gelman, A., & Vehtari, A. (2022). Pathfinder:
parallel quasi-Newton variational inference. *JMLR* 23(306).

Byrd, R. H., Nocedal, J., & Schnabel, R. B. (1994). Representations of
quasi-Newton matrices and their use in limited memory methods.
*Mathematical Programming* 63.

Hesterberg, T. (1995). Weighted average importance sampling and defensive
mixture distributions. *Technometrics* 37(2).

Gilbert, J. C., & Lemaréchal, C. (1989). Some numerical experiments with
variable-storage quasi-Newton algorithms. *Mathematical Programming* 45.
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.scipy.linalg import solve_triangular

from credo.errors import ArgumentError, ModelError
from credo.ppl import as_target, require_latents
from credo.random import as_key

from . import _checks
from .approximation import Approximation
from .families import FactoredGaussian, Mixture

__all__ = ["pathfinder", "pathfinder_init", "lbfgs_inverse_hessian", "PathResult",
           "PROPOSAL_SCALES"]


class _History(NamedTuple):
    """The last ``J`` accepted L-BFGS pairs (oldest first) and the diagonal estimate."""

    s: jax.Array      # (J, d)
    y: jax.Array      # (J, d)
    mask: jax.Array   # (J,) float, 1 for a filled slot
    alpha: jax.Array  # (d,)


def _empty_history(dim: int, size: int, dtype) -> _History:
    return _History(jnp.zeros((size, dim), dtype), jnp.zeros((size, dim), dtype),
                    jnp.zeros((size,), dtype), jnp.ones((dim,), dtype))


def _update_alpha(alpha, s, y):
    r"""Gilbert & Lemaréchal's diagonal inverse-BFGS update (Zhang et al. 2022, Alg. 3)."""
    a = y @ (alpha * y)
    b = y @ s
    c = s @ (s / alpha)
    inv = a / (b * alpha) + y**2 / b - a * s**2 / (b * c * alpha**2)
    return 1.0 / inv


def _push(history: _History, s, y) -> _History:
    """Append the pair ``(s, y)`` when it satisfies the curvature condition."""
    eps = jnp.finfo(s.dtype).eps
    sy = s @ y
    ok = (sy > eps * (y @ y)) & jnp.all(jnp.isfinite(s)) & jnp.all(jnp.isfinite(y))
    alpha = _update_alpha(history.alpha, s, y)
    ok = ok & jnp.all(jnp.isfinite(alpha)) & jnp.all(alpha > 0)
    pushed = _History(jnp.concatenate([history.s[1:], s[None]]),
                      jnp.concatenate([history.y[1:], y[None]]),
                      jnp.concatenate([history.mask[1:], jnp.ones((1,), s.dtype)]), alpha)
    return jax.tree.map(lambda new, old: jnp.where(ok, new, old), pushed, history)


def lbfgs_inverse_hessian(history: _History):
    r"""The compact L-BFGS inverse Hessian :math:`(\alpha, \beta, \gamma)` of ``history``.

    :math:`H = \operatorname{diag}(\alpha) + \beta\gamma\beta^\top` (Byrd et al.
    1994, Thm 2.2), with empty slots contributing nothing (zero columns of
    :math:`\beta`, unit diagonal of :math:`R`).

    Returns
    -------
    alpha : array, shape ``(d,)``
    beta : array, shape ``(d, 2J)``
    gamma : array, shape ``(2J, 2J)``
    """
    mask = history.mask
    S = (history.s * mask[:, None]).T          # (d, J)
    Y = (history.y * mask[:, None]).T
    SY = S.T @ Y
    size = mask.shape[0]
    R = jnp.triu(SY) + jnp.diag(1.0 - mask)
    R_inv = solve_triangular(R, jnp.eye(size, dtype=R.dtype), lower=False)
    H0Y = history.alpha[:, None] * Y
    top_left = R_inv.T @ (jnp.diag(jnp.diag(SY)) + Y.T @ H0Y) @ R_inv
    gamma = jnp.block([[top_left, -R_inv.T], [-R_inv, jnp.zeros((size, size), R.dtype)]])
    return history.alpha, jnp.concatenate([S, H0Y], axis=1), gamma


def _gaussian_at(x, grad_log_p, history: _History) -> FactoredGaussian:
    alpha, beta, gamma = lbfgs_inverse_hessian(history)
    loc = x + alpha * grad_log_p + beta @ (gamma @ (beta.T @ grad_log_p))
    return FactoredGaussian.from_factors(loc, alpha, beta, gamma)


def _elbo(q: FactoredGaussian, log_p, noise):
    """ELBO estimate of ``q`` from the standard normal draws ``noise`` (shape ``(K, d)``)."""
    x = q.loc + q._apply_scale(noise)
    lq = -0.5 * jnp.sum(noise**2, axis=-1) - 0.5 * q.dim * jnp.log(2 * jnp.pi) - q._log_det_scale()
    value = jnp.mean(jax.vmap(log_p)(x) - lq)
    return jnp.where(jnp.isfinite(value), value, -jnp.inf)


def _unit_gaussian(x0, history_size: int) -> FactoredGaussian:
    """``N(x0, I)`` in the factored form (the fallback when no iterate has a finite ELBO)."""
    dim = x0.shape[0]
    rank = min(dim, 2 * history_size)
    return FactoredGaussian(x0, jnp.ones_like(x0), jnp.eye(dim, rank, dtype=x0.dtype),
                            jnp.eye(rank, dtype=x0.dtype))


class PathResult(NamedTuple):
    """One Pathfinder path.

    Attributes
    ----------
    q : FactoredGaussian
        The Gaussian of the iterate with the highest ELBO.
    elbo : scalar
        Its ELBO estimate (higher is better).
    best_iteration : int
        0 is the initial point (a unit Gaussian there, used only if no
        iterate had a finite ELBO).
    elbos : array, shape ``(max_iterations + 1,)``
        ELBO estimate per iterate, NaN past the end of the path.
    num_iterations : int
    converged : bool
        L-BFGS met its tolerance (rather than ``max_iterations`` or a failure)
        with at least one curvature pair accepted: a path that stopped with
        none (a zero gradient at its start) has no inverse-Hessian estimate,
        only the unit diagonal, so it has not converged to a Gaussian.
    curvature_pairs : int
        Accepted L-BFGS pairs in the history at the end (at most ``J``).
    flat : bool
        The gradient at the last iterate is zero (norm at most ``gtol``) and
        the log density at ``num_elbo_draws`` unit-normal draws around it
        equals its value there (to ``1e-8``, relative above 1): the density
        looks constant there.
    """

    q: FactoredGaussian
    elbo: jax.Array
    best_iteration: jax.Array
    elbos: jax.Array
    num_iterations: jax.Array
    converged: jax.Array
    curvature_pairs: jax.Array = 0
    flat: jax.Array = False


class _PathState(NamedTuple):
    x: jax.Array
    value: jax.Array
    grad: jax.Array
    opt_state: object
    history: _History
    best: FactoredGaussian
    best_elbo: jax.Array
    best_iteration: jax.Array
    elbos: jax.Array
    i: jax.Array
    done: jax.Array
    converged: jax.Array


@partial(jax.jit, static_argnums=(1, 2, 3))
def _elbo_noise(key, num_draws: int, dim: int, dtype):
    """The standard normal draws of one path's ELBO estimates.

    Drawn in a program of their own (shared by every model of the same
    dimension) rather than inside :func:`_single_path`: random-number kernels
    take seconds to compile on a CPU, and a path is compiled once per model.
    """
    return jax.random.normal(key, (num_draws, dim), dtype)


@eqx.filter_jit
def _single_path(x0, noise, *, log_p, history_size, max_iterations, ftol, gtol,
                 max_linesearch_steps):
    def neg(x):
        return -log_p(x)

    optimizer = optax.lbfgs(memory_size=history_size, linesearch=optax.scale_by_zoom_linesearch(
        max_linesearch_steps=max_linesearch_steps))
    value, grad = jax.value_and_grad(neg)(x0)
    history = _empty_history(x0.shape[0], history_size, x0.dtype)
    start = _unit_gaussian(x0, history_size)
    # ``noise``: the same standard normal draws for every iterate (common random numbers):
    # ELBO differences between iterates, which pick the best, are then much less noisy
    elbos = jnp.full((max_iterations + 1,), jnp.nan, x0.dtype)
    state = _PathState(x0, value, grad, optimizer.init(x0), history, start,
                       jnp.asarray(-jnp.inf, x0.dtype), jnp.asarray(0), elbos, jnp.asarray(0),
                       jnp.asarray(False), jnp.asarray(False))

    def cond(state):
        return ~state.done

    def body(state):
        updates, opt_state = optimizer.update(state.grad, state.opt_state, state.x,
                                              value=state.value, grad=state.grad, value_fn=neg)
        x = optax.apply_updates(state.x, updates)
        value = optax.tree_utils.tree_get(opt_state, "value")
        grad = optax.tree_utils.tree_get(opt_state, "grad")
        finite = jnp.isfinite(value) & jnp.all(jnp.isfinite(grad)) & jnp.all(jnp.isfinite(x))
        history = _push(state.history, x - state.x, grad - state.grad)
        q = _gaussian_at(x, -grad, history)
        elbo = jnp.where(finite, _elbo(q, log_p, noise), -jnp.inf)
        i = state.i + 1
        better = elbo > state.best_elbo
        best = jax.tree.map(lambda new, old: jnp.where(better, new, old), q, state.best)
        change = jnp.abs(state.value - value) / jnp.maximum(
            jnp.maximum(jnp.abs(state.value), jnp.abs(value)), 1.0)
        converged = finite & ((change < ftol) | (jnp.linalg.norm(grad) < gtol))
        done = ~finite | converged | (i >= max_iterations)
        keep = lambda new, old: jnp.where(finite, new, old)  # noqa: E731
        return _PathState(keep(x, state.x), keep(value, state.value), keep(grad, state.grad),
                          opt_state, history, best, jnp.where(better, elbo, state.best_elbo),
                          jnp.where(better, i, state.best_iteration),
                          state.elbos.at[i].set(elbo), i, done, converged)

    state = jax.lax.while_loop(cond, body, state)
    pairs = jnp.sum(state.history.mask).astype(jnp.int32)
    # is the density constant around the end point (a flat, improper density)?
    level = -state.value
    around = jax.vmap(log_p)(state.x + noise)
    flat = ((jnp.linalg.norm(state.grad) <= gtol)
            & (jnp.max(jnp.abs(around - level)) <= 1e-8 * jnp.maximum(1.0, jnp.abs(level))))
    return PathResult(state.best, state.best_elbo, state.best_iteration, state.elbos, state.i,
                      state.converged & (pairs > 0), pairs, flat)


def _run_paths(target, key, *, num_paths, init, history_size, max_iterations, num_elbo_draws,
               ftol, gtol, max_linesearch_steps, progress) -> list[PathResult]:
    k_init, k_paths = jax.random.split(key)
    init_keys = jax.random.split(k_init, num_paths)
    path_keys = jax.random.split(k_paths, num_paths)
    if init is None:
        starts = [jnp.asarray(target.init(k)) for k in init_keys]
    else:
        init = jnp.asarray(init, dtype=float)
        if init.shape == (target.dim,):
            init = jnp.broadcast_to(init, (num_paths, target.dim))
        if init.shape != (num_paths, target.dim):
            raise ModelError(f"init has shape {init.shape}; expected ({target.dim},) or "
                             f"({num_paths}, {target.dim})")
        starts = list(init)
    if target.source is None:  # a model's init already guarantees a finite density
        _check_finite(target, starts[0])
    run = partial(_single_path, log_p=target.log_p, history_size=history_size,
                  max_iterations=max_iterations, ftol=ftol, gtol=gtol,
                  max_linesearch_steps=max_linesearch_steps)
    bar = _progress_bar(num_paths) if progress else None
    results = []
    try:
        for x0, k in zip(starts, path_keys):
            noise = _elbo_noise(k, num_elbo_draws, target.dim, jnp.asarray(x0).dtype)
            results.append(run(x0, noise))
            if bar is not None:
                bar.set_postfix(elbo=f"{float(results[-1].elbo):.4g}", refresh=False)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return results


def _curved_paths(results) -> np.ndarray:
    """Which paths accepted an L-BFGS curvature pair (raising if none did, warning of the others).

    A path with no accepted pair has no inverse-Hessian estimate, only the unit
    diagonal, so its Gaussian approximates nothing and it is left out. That
    happens when the gradient is zero at the start (a flat, improper density;
    a plateau; a start at a stationary point) or the density is linear along
    the path (unbounded, so improper).
    """
    curved = np.array([int(r.curvature_pairs) > 0 for r in results])
    flat = np.array([bool(r.flat) for r in results]) & ~curved
    if not curved.any():
        if flat.all():
            raise ModelError(
                "the log density looks flat: at every Pathfinder start its gradient is zero and it "
                "is constant around the start, so there is no mode to approximate. A flat density "
                "is improper (it does not integrate to a finite number): give every parameter a "
                "proper prior, or check that the log density depends on its argument")
        raise ModelError(
            "no Pathfinder path found any curvature: L-BFGS accepted no curvature pair on any "
            "path, so there is no covariance estimate. The log density is flat or linear along "
            "the paths (an improper posterior), or every start is a stationary point: check the "
            "priors, or pass other initial points (init=)")
    if not curved.all():
        which = ", ".join(str(i) for i in np.flatnonzero(~curved))
        why = ("the log density is constant around their starts (flat or improper there)"
               if flat.any() else "the log density showed no curvature along them")
        warnings.warn(f"Pathfinder path(s) {which} accepted no L-BFGS curvature pair ({why}); they "
                      f"count as not converged and are left out of the approximation",
                      UserWarning, stacklevel=3)
    return curved


def _check_finite(target, x0) -> None:
    value = target.log_p(jnp.asarray(x0))
    if not np.isfinite(float(value)):
        raise ModelError(f"the log density is {float(value)} at the initial point {np.asarray(x0)}; "
                         "Pathfinder needs a finite log density there (pass init=)")


def _progress_bar(total: int):
    from credo._progress import progress_bar

    return progress_bar(total, "Pathfinder", "path")


#: Widening factors of the proposal tried by ``proposal_scale="auto"``.
PROPOSAL_SCALES = (1.0, 1.25, 1.5)


def _widen(q, factor: float):
    """``q`` with every covariance multiplied by ``factor**2`` (means unchanged)."""
    if isinstance(q, Mixture):
        return eqx.tree_at(lambda m: m.components.sqrt_alpha, q, q.components.sqrt_alpha * factor)
    return eqx.tree_at(lambda m: m.sqrt_alpha, q, q.sqrt_alpha * factor)


def _psis_ess(q, target, key, num_draws: int) -> tuple[float, float]:
    """PSIS effective sample size and k-hat of ``num_draws`` proposals from ``q``."""
    from credo.diagnostics import psis

    from .approximation import _draw_weighted

    _, lw = _draw_weighted(q, target.log_p, key, num_draws)
    lw = np.where(np.isfinite(np.asarray(lw)), np.asarray(lw), -np.inf)
    smoothed, khat = psis(lw)
    return float(1.0 / np.sum(np.exp(smoothed) ** 2)), float(khat)


def _choose_proposal(q, target, key, num_draws: int, scales) -> tuple[object, float, float]:
    """The widening of ``q`` (among ``scales``) with the largest PSIS effective sample size."""
    best = None
    for factor in scales:
        candidate = _widen(q, factor)
        ess, khat = _psis_ess(candidate, target, key, num_draws)
        if best is None or ess > best[1]:
            best = (candidate, ess, khat, factor)
    return best[0], best[3], best[2]


def pathfinder(model, data=None, *, num_paths: int = 4, seed=0, progress: bool = True,
               num_draws: int = 1000, num_elbo_draws: int = 25, history_size: int = 20,
               max_iterations: int = 1000, ftol: float = 1e-10, gtol: float = 1e-8,
               max_linesearch_steps: int = 30, importance_resampling: bool | None = None,
               proposal_scale="auto", init=None, dim: int | None = None) -> Approximation:
    r"""Pathfinder variational inference (Zhang et al. 2022).

    Parameters
    ----------
    model : callable or LogDensity
        A model function (with ``data``), a :class:`~credo.ppl.LogDensity`, or
        a plain log density of a flat vector (with ``dim=``).
    data : dict, optional
    num_paths : int
        Independent L-BFGS paths from Uniform(-2, 2) starts.
    seed : int or PRNG key
    progress : bool
        A progress bar over paths.
    num_draws : int
        Proposal draws per path in the importance resampling (the pool that
        :meth:`Approximation.sample` resamples holds ``num_paths * num_draws``).
    num_elbo_draws : int
        Monte Carlo draws for each iterate's ELBO.
    history_size : int
        :math:`J`, L-BFGS pairs in the inverse Hessian. The paper uses 6 and
        Stan 5; the default 20 costs little (:math:`O(dJ^2)` per iterate) and
        gave markedly better covariances on posteriors of 8-10 dimensions
        (posteriordb's mesquite and nes1972 regressions), where 6 pairs
        missed curvature directions.
    max_iterations : int
        L-BFGS iterations per path at most.
    ftol, gtol : float
        L-BFGS stops when the relative decrease of :math:`-\log p` is below
        ``ftol`` or the gradient norm below ``gtol``.
    max_linesearch_steps : int
    importance_resampling : bool, optional
        Resample with PSIS weights (default: when ``num_paths > 1``); otherwise
        draws come straight from the mixture of the paths' Gaussians.
    proposal_scale : "auto" or float
        Importance resampling draws from the paths' Gaussians with covariances
        multiplied by ``proposal_scale**2``. Gaussians centred near the mode
        are often too narrow (a Laplace-like approximation misses the skew
        and volume of, e.g., a scale parameter), which makes the importance
        weights heavy-tailed (high :math:`\hat k`) and the resampled draws
        biased; a slightly wider, *defensive* proposal (Hesterberg 1995) fixes
        that at a small cost in efficiency. ``"auto"`` tries
        :data:`PROPOSAL_SCALES` and keeps the one with the largest PSIS
        effective sample size (so 1, the paper's choice, whenever widening
        does not help). Ignored without importance resampling.
    init : array, shape ``(dim,)`` or ``(num_paths, dim)``, optional
        Starting points in unconstrained space.
    dim : int, optional
        Dimension of a plain log-density function.

    Returns
    -------
    Approximation
        ``family="pathfinder"``; ``q`` is the best Gaussian (one path) or the
        equal mixture of the paths' best Gaussians (widened by
        ``info["proposal_scale"]`` when resampling); ``elbo_history`` has shape
        ``(num_paths, max_iterations + 1)``; ``info`` holds each path's
        ``best_iteration``, ``elbo``, ``num_iterations``, ``path_converged`` and
        ``curvature_pairs`` (a path with none is left out of ``q``), and
        ``proposal_scale`` and ``khat`` (of the resampling proposal).

    Raises
    ------
    credo.errors.ModelError
        The log density is not finite at the start, no iterate had a finite
        ELBO, or no path accepted an L-BFGS curvature pair: the density looks
        flat (a zero gradient and a constant value around every start) or
        linear along the paths, either way improper.
    credo.errors.ArgumentError
        A count below 1, a negative tolerance, or a bad ``proposal_scale``.

    Warns
    -----
    UserWarning
        For paths that accepted no curvature pair (they count as not
        converged and are left out).

    Examples
    --------
    >>> from credo.ppl.examples import flu_prevalence
    >>> from credo.vi import pathfinder
    >>> approx = pathfinder(flu_prevalence, progress=False)
    >>> draws = approx.sample(1000)
    >>> bool(0.09 < draws["theta"].mean() < 0.16)   # posterior mean 13/102
    True
    """
    num_paths = _checks.count("num_paths", num_paths)
    num_draws = _checks.count("num_draws", num_draws)
    num_elbo_draws = _checks.count("num_elbo_draws", num_elbo_draws)
    history_size = _checks.count("history_size", history_size)
    max_iterations = _checks.count("max_iterations", max_iterations)
    max_linesearch_steps = _checks.count("max_linesearch_steps", max_linesearch_steps)
    ftol, gtol = _checks.number("ftol", ftol), _checks.number("gtol", gtol)
    if not (isinstance(proposal_scale, str) and proposal_scale == "auto"):
        if isinstance(proposal_scale, str):
            raise ArgumentError("proposal_scale", f"must be 'auto' or a number > 0, got {proposal_scale!r}")
        proposal_scale = _checks.number("proposal_scale", proposal_scale, positive=True)
    target = as_target(model, data, dim=dim)
    require_latents(target.dim, "approximate", target.summed)
    results = _run_paths(target, as_key(seed), num_paths=num_paths, init=init,
                         history_size=history_size, max_iterations=max_iterations,
                         num_elbo_draws=num_elbo_draws, ftol=ftol, gtol=gtol,
                         max_linesearch_steps=max_linesearch_steps, progress=progress)
    elbos = np.array([float(r.elbo) for r in results])
    if not np.any(np.isfinite(elbos)):
        raise ModelError("Pathfinder found no iterate with a finite ELBO; the log density may "
                         "be non-finite around the initial points")
    curved = _curved_paths(results)
    usable = [r for r, c in zip(results, curved) if np.isfinite(float(r.elbo)) and c]
    if not usable:
        raise ModelError("Pathfinder found no path with both a finite ELBO and a curvature "
                         "estimate; the log density may be non-finite or flat around the initial "
                         "points")
    q = usable[0].q if len(usable) == 1 else Mixture.stack([r.q for r in usable])
    if importance_resampling is None:
        importance_resampling = num_paths > 1
    info = {"best_iteration": np.array([int(r.best_iteration) for r in results]),
            "elbo": elbos,
            "num_iterations": np.array([int(r.num_iterations) for r in results]),
            "path_converged": np.array([bool(r.converged) for r in results]),
            "curvature_pairs": np.array([int(r.curvature_pairs) for r in results]),
            "proposal_scale": 1.0, "khat": None}
    if importance_resampling:
        scales = PROPOSAL_SCALES if proposal_scale == "auto" else (float(proposal_scale),)
        key = jax.random.fold_in(as_key(seed), 1)
        q, info["proposal_scale"], info["khat"] = _choose_proposal(
            q, target, key, num_draws * len(usable), scales)
    return Approximation(q, target, family="pathfinder",
                         elbo_history=np.stack([np.asarray(r.elbos) for r in results]),
                         converged=bool(info["path_converged"].all()),
                         num_steps=int(info["num_iterations"].sum()),
                         resample=bool(importance_resampling),
                         pool_size=num_draws * len(usable), info=info)


def pathfinder_init(model, data=None, *, num_chains: int = 4, seed=0, progress: bool = False,
                    dim: int | None = None, **kwargs) -> np.ndarray:
    """Initial points for MCMC chains from multi-path Pathfinder.

    Runs :func:`pathfinder` with ``num_paths=num_chains`` and draws
    ``num_chains`` distinct points by importance resampling without replacement.

    Parameters
    ----------
    model, data, dim
        As for :func:`pathfinder`.
    num_chains : int
    seed : int or PRNG key
    progress : bool
    **kwargs
        Passed to :func:`pathfinder`.

    Returns
    -------
    ndarray, shape ``(num_chains, dim)``
        Points in the flat unconstrained space (what ``credo.nuts(init=...)`` takes).
    """
    key = as_key(seed)
    k_fit, k_draw = jax.random.split(key)
    approx = pathfinder(model, data, num_paths=num_chains, seed=k_fit, progress=progress,
                        dim=dim, **kwargs)
    return approx.sample_unconstrained(num_chains, k_draw, replace=False)
