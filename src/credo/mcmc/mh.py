"""Metropolis-Hastings: random-walk and independence samplers, run by the generic MCMC runner.

A transition proposes ``x'`` from ``q(x' | x)`` and accepts it with probability

.. math:: \\alpha = \\min\\Bigl(1, \\frac{p(x')\\, q(x \\mid x')}{p(x)\\, q(x' \\mid x)}\\Bigr),

otherwise it stays at ``x`` (Metropolis et al. 1953; Hastings 1970). Only
ratios of the unnormalised density enter, so the model's evidence is never
needed. Both samplers work on the flat unconstrained vector of the model
(:class:`~credo.ppl.Target`), so bounded parameters need no care.

- :class:`RandomWalkMH`: Gaussian proposal ``x' = x + s L eps``, ``eps ~ N(0, I)``.
  During warmup the scale ``s`` follows a Robbins-Monro recursion on
  ``log s`` toward the acceptance rate that is optimal for Gaussian targets,
  0.44 in one dimension and 0.234 as the dimension grows (Roberts, Gelman &
  Gilks 1997; Roberts & Rosenthal 2001); with ``adapt_covariance=True``
  ``L`` becomes the Cholesky factor of a regularised Welford estimate of the
  posterior covariance in Stan's doubling windows (Haario et al. 2001). All
  tuning freezes after warmup, so the sampling phase is a valid Markov chain.
- :class:`IndependentMH`: proposals from a fixed distribution ``q`` that
  ignores the current point; ``alpha = min(1, w(x') / w(x))`` with
  ``w = p / q``. Efficient only when ``q`` covers the posterior's tails.

References
----------
.. [1] Metropolis, N., Rosenbluth, A. W., Rosenbluth, M. N., Teller, A. H. and
   Teller, E. (1953). Equation of state calculations by fast computing
   machines. *J. Chem. Phys.* 21, 1087-1092.
.. [2] Hastings, W. K. (1970). Monte Carlo sampling methods using Markov
   chains and their applications. *Biometrika* 57, 97-109.
.. [3] Roberts, G. O., Gelman, A. and Gilks, W. R. (1997). Weak convergence
   and optimal scaling of random walk Metropolis algorithms. *Ann. Appl.
   Probab.* 7, 110-120.
.. [4] Haario, H., Saksman, E. and Tamminen, J. (2001). An adaptive
   Metropolis algorithm. *Bernoulli* 7, 223-242.
.. [5] Andrieu, C. and Thoms, J. (2008). A tutorial on adaptive MCMC.
   *Statist. Comput.* 18, 343-373.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ArgumentError, ModelError

from . import _checks, adaptation, runner
from .posterior import Posterior
from .runner import Algorithm
from credo.ppl import as_target, require_latents

__all__ = ["mh", "RandomWalkMH", "IndependentMH", "MHState", "MHInfo", "optimal_acceptance",
           "robbins_monro"]

#: Robbins-Monro gain exponent: gains ``(t + 1) ** -0.6`` sum to infinity while
#: their squares do not, the usual conditions for the recursion to settle
#: (Andrieu & Thoms 2008, sec. 4).
_GAIN_EXPONENT = 0.6


def optimal_acceptance(dim: int) -> float:
    """Acceptance rate to aim for with a Gaussian random walk in ``dim`` dimensions.

    0.44 for ``dim == 1``, 0.234 (the ``dim -> inf`` limit of Roberts, Gelman &
    Gilks 1997) from 5 on, interpolated linearly in between (Gelman et al.
    BDA3 sec. 12.2 report about 0.35 at 2 and 0.3 at 3-4).
    """
    if dim <= 1:
        return 0.44
    if dim >= 5:
        return 0.234
    return float(np.interp(dim, [1, 5], [0.44, 0.234]))


def robbins_monro(log_scale, count, acceptance, target):
    """One Robbins-Monro step on a log proposal scale.

    ``log s <- log s + (t + 1)^{-0.6} (alpha - target)``: too many acceptances
    widen the proposal, too few shrink it.

    Parameters
    ----------
    log_scale : array, shape ``()``
    count : int array, shape ``()``
        Adaptation steps taken since the last restart (``t``).
    acceptance : array, shape ``()``
        Acceptance probability of the last transition.
    target : float

    Returns
    -------
    (log_scale, count)
    """
    gain = (count.astype(log_scale.dtype) + 1.0) ** -_GAIN_EXPONENT
    return log_scale + gain * (acceptance - target), count + 1


class MHState(NamedTuple):
    """A Metropolis-Hastings chain.

    Attributes
    ----------
    position : array, shape ``(dim,)``
    logdensity : array, shape ``()``
    """

    position: jax.Array
    logdensity: jax.Array


class MHInfo(NamedTuple):
    """One transition (``thin`` proposals).

    Attributes
    ----------
    acceptance_rate : array, shape ``()``
        Mean acceptance probability ``min(1, ratio)`` over the proposals.
    is_accepted : bool array, shape ``()``
        Whether any proposal was accepted.
    """

    acceptance_rate: jax.Array
    is_accepted: jax.Array


class RWTuning(NamedTuple):
    """Random-walk tuning of one chain: proposal ``exp(log_scale) * factor @ eps``."""

    log_scale: jax.Array
    factor: jax.Array
    count: jax.Array
    welford: object


def _accept(key, state: MHState, proposal, proposal_logdensity, log_ratio):
    """Accept ``proposal`` with probability ``min(1, exp(log_ratio))``."""
    # NaN ratios (e.g. -inf - -inf) count as rejections
    log_ratio = jnp.where(jnp.isnan(log_ratio), -jnp.inf, log_ratio)
    accept_prob = jnp.exp(jnp.minimum(log_ratio, 0.0))
    accepted = jnp.log(jax.random.uniform(key, dtype=accept_prob.dtype)) < log_ratio
    new = MHState(jnp.where(accepted, proposal, state.position),
                  jnp.where(accepted, proposal_logdensity, state.logdensity))
    return new, accept_prob, accepted


def _repeat(transition, key, state, thin: int):
    """``thin`` transitions; info averaged (acceptance) or or-ed (accepted)."""
    def body(s, k):
        s, prob, accepted = transition(k, s)
        return s, (prob, accepted)

    state, (probs, accepted) = jax.lax.scan(body, state, jax.random.split(key, thin))
    return state, MHInfo(jnp.mean(probs), jnp.any(accepted))


@dataclasses.dataclass(frozen=True)
class RandomWalkMH(Algorithm):
    """Gaussian random-walk Metropolis with Robbins-Monro scale adaptation.

    Parameters
    ----------
    target_accept : float, optional
        Acceptance rate the scale adapts toward (default
        :func:`optimal_acceptance` of the dimension).
    initial_scale : float or tuple of float, optional
        Proposal standard deviation: one number for all coordinates, or one
        per coordinate. Default ``2.38 / sqrt(dim)`` (Roberts & Rosenthal 2001).
    adapt_scale : bool
        Adapt the scale during warmup.
    adapt_covariance : bool
        Estimate the proposal covariance in warmup windows (Haario et al. 2001).
    thin : int
        Proposals per recorded draw.
    """

    target_accept: float | None = None
    initial_scale: float | tuple | None = None
    adapt_scale: bool = True
    adapt_covariance: bool = False
    thin: int = 1

    name = "mh"

    @property
    def uses_mass_windows(self):
        return self.adapt_covariance

    def _target(self, dim):
        return optimal_acceptance(dim) if self.target_accept is None else float(self.target_accept)

    def init_state(self, position, fn):
        return MHState(position, fn(position))

    def position(self, state):
        return state.position

    def init_tuning(self, dim, dtype):
        scale = self.initial_scale
        if scale is None:
            log_scale, factor = math.log(2.38 / math.sqrt(max(dim, 1))), jnp.eye(dim, dtype=dtype)
        elif np.ndim(scale) == 0:
            log_scale, factor = math.log(float(scale)), jnp.eye(dim, dtype=dtype)
        else:
            if len(scale) != dim:
                raise ModelError(f"scale has {len(scale)} entries; the target has dimension {dim}")
            log_scale, factor = 0.0, jnp.diag(jnp.asarray(scale, dtype=dtype))
        welford = adaptation.windowed_welford(dense=True)[0](dim) if self.adapt_covariance else ()
        return RWTuning(jnp.asarray(log_scale, dtype), factor, jnp.zeros((), jnp.int32), welford)

    def step(self, key, state, fn, tuning):
        scale = jnp.exp(tuning.log_scale)

        def transition(k, s):
            k_prop, k_acc = jax.random.split(k)
            eps = jax.random.normal(k_prop, s.position.shape, s.position.dtype)
            proposal = s.position + scale * (tuning.factor @ eps)
            lp = fn(proposal)
            return _accept(k_acc, s, proposal, lp, lp - s.logdensity)

        return _repeat(transition, key, state, self.thin)

    def adapt(self, tuning, state, info, x):
        dim = state.position.shape[0]
        log_scale, count = tuning.log_scale, tuning.count
        if self.adapt_scale:
            log_scale, count = robbins_monro(log_scale, count, info.acceptance_rate,
                                             self._target(dim))
        welford, factor = tuning.welford, tuning.factor
        if self.adapt_covariance:
            _, slow_update, slow_final = adaptation.windowed_welford(dense=True)
            welford = slow_update(welford, state.position, x.slow)
            covariance, welford = slow_final(welford, x.window_end)
            # the estimate is regularised toward a small multiple of I, so it
            # stays positive definite even from the few draws of early windows
            factor = jnp.where(x.window_end, jnp.linalg.cholesky(covariance), factor)
            # the covariance now carries the posterior's scale: restart the
            # scale at the optimum for a Gaussian with that covariance
            log_scale = jnp.where(x.window_end, math.log(2.38 / math.sqrt(dim)), log_scale)
            count = jnp.where(x.window_end, 0, count)
        return RWTuning(log_scale, factor, count, welford)

    def stats(self, state, info, tuning):
        return {"lp": state.logdensity, "acceptance_rate": info.acceptance_rate,
                "is_accepted": info.is_accepted, "step_size": jnp.exp(tuning.log_scale),
                "is_divergent": jnp.zeros((), bool),
                "num_integration_steps": jnp.zeros((), jnp.int32)}

    def final_tuning(self, tuning):
        cov = tuning.factor @ jnp.swapaxes(tuning.factor, -1, -2)
        return jnp.exp(tuning.log_scale), cov


@dataclasses.dataclass(frozen=True, eq=False)
class IndependentMH(Algorithm):
    """Independence Metropolis-Hastings with a fixed proposal ``q`` on the flat vector.

    Parameters
    ----------
    proposal : Distribution or (sample_fn, log_prob_fn)
        A credo distribution whose draws have ``dim`` elements (any shape that
        flattens to ``(dim,)``; ``log_prob`` is summed), or a pair of pure JAX
        functions ``sample_fn(key) -> (dim,)`` and ``log_prob_fn(x) -> ()``.
        Compared by identity: pass the same object to reuse a compiled program.
    thin : int
        Proposals per recorded draw.
    """

    proposal: object = None
    thin: int = 1

    name = "mh"

    def _functions(self):
        q = self.proposal
        if isinstance(q, tuple):
            return q
        return (lambda key: jnp.reshape(q.sample(key), (-1,)),
                lambda x: jnp.sum(q.log_prob(jnp.reshape(x, q.shape()))))

    def init_state(self, position, fn):
        return MHState(position, fn(position))

    def position(self, state):
        return state.position

    def init_tuning(self, dim, dtype):
        return jnp.zeros((), dtype)

    def step(self, key, state, fn, tuning):
        sample_q, log_q = self._functions()

        def transition(k, s):
            k_prop, k_acc = jax.random.split(k)
            proposal = jnp.asarray(sample_q(k_prop), s.position.dtype)
            lp = fn(proposal)
            # importance weights p/q of the proposal and of the current point
            log_ratio = (lp - log_q(proposal)) - (s.logdensity - log_q(s.position))
            return _accept(k_acc, s, proposal, lp, log_ratio)

        return _repeat(transition, key, state, self.thin)

    def adapt(self, tuning, state, info, x):
        return tuning

    def stats(self, state, info, tuning):
        return {"lp": state.logdensity, "acceptance_rate": info.acceptance_rate,
                "is_accepted": info.is_accepted, "is_divergent": jnp.zeros((), bool),
                "num_integration_steps": jnp.zeros((), jnp.int32)}

    def final_tuning(self, tuning):
        return jnp.zeros_like(tuning), jnp.ones_like(tuning)[..., None]


def acceptance_line(posterior: Posterior, target_accept=None) -> str:
    """``"acceptance rate per chain: 0.43 0.45 ..."``, printed after a run."""
    rates = np.mean(posterior.stats["acceptance_rate"], axis=1)
    text = " ".join(f"{r:.3f}" for r in rates)
    aim = "" if target_accept is None else f" (adapted toward {target_accept:.3f})"
    return f"{posterior.algorithm.upper()} acceptance rate per chain: {text}{aim}"


def mh(model, data=None, *, chains: int = 4, warmup: int = 1000, draws: int = 1000, seed=0,
       progress: bool = True, proposal="random_walk", scale=None, adapt_scale: bool = True,
       adapt_covariance: bool = False, target_accept: float | None = None, init="uniform",
       dim: int | None = None, chain_method: str = "vectorized", thin: int = 1,
       chunk_size: int | None = None, save_warmup: bool = False) -> Posterior:
    """Sample with Metropolis-Hastings on the unconstrained space.

    The random walk proposes ``x' = x + s L eps`` with ``eps ~ N(0, I)`` and
    adapts ``log s`` by Robbins-Monro during warmup toward the optimal
    acceptance rate (0.44 in 1-D, 0.234 in many dimensions; Roberts, Gelman &
    Gilks 1997); the tuning is frozen for the draws. A distribution (or a
    ``(sample_fn, log_prob_fn)`` pair) as ``proposal`` gives independence MH.

    Parameters
    ----------
    model : callable or LogDensity
        A credo model (data via ``data``), a compiled
        :class:`~credo.ppl.LogDensity`, or a plain JAX log density of one flat
        vector (then pass ``dim=`` or an ``init`` array; draws are named ``"x"``).
    data : dict, optional
    chains, warmup, draws : int
        ``draws`` kept per chain after ``warmup`` adaptation iterations
        (``warmup=0``: no adaptation, a plain fixed-scale random walk).
    seed : int or PRNG key
    progress : bool
        Progress bar, the run's problems as warnings (as :func:`credo.nuts`), then
        the acceptance rate per chain is printed.
    proposal : "random_walk", Distribution or (sample_fn, log_prob_fn)
        ``"random_walk"``, or the fixed proposal of independence MH over the
        flat unconstrained vector (shape ``(dim,)``).
    scale : float or array of shape ``(dim,)``, optional
        Initial proposal standard deviation(s) on the unconstrained scale
        (default ``2.38 / sqrt(dim)``).
    adapt_scale : bool
        Adapt the scale during warmup (random walk only).
    adapt_covariance : bool
        Also estimate a dense proposal covariance from warmup draws
        (regularised Welford estimates in Stan's doubling windows).
    target_accept : float, optional
        Acceptance rate to adapt toward (default 0.44 in 1-D down to 0.234).
    init : {"uniform", "median", "prior"}, dict or array
        As for :func:`credo.nuts`.
    dim : int, optional
        Dimension of a plain log density.
    chain_method : {"vectorized", "sequential", "parallel"}
    thin : int
        Proposals per recorded draw (``warmup`` and ``draws`` count recorded
        draws): ``thin=10`` makes ten times the proposals and keeps every tenth.
    chunk_size : int, optional
    save_warmup : bool

    Returns
    -------
    Posterior
        ``stats`` has ``acceptance_rate`` (mean acceptance probability of the
        draw's proposals), ``is_accepted``, ``step_size`` (the proposal scale,
        random walk only) and ``lp``; ``posterior.acceptance_rate`` is the
        per-chain mean, shape ``(chains,)``.

    Examples
    --------
    >>> import credo
    >>> from credo.mcmc.mh import mh
    >>> from credo.ppl.examples import flu_prevalence
    >>> post = mh(flu_prevalence, {"n": 100, "y": 12}, chains=2, warmup=300, draws=300,
    ...           progress=False)
    >>> post.draws["theta"].shape, post.acceptance_rate.shape
    ((2, 300), (2,))
    """
    _checks.run_arguments(chains=chains, warmup=warmup, draws=draws, chain_method=chain_method,
                          chunk_size=chunk_size, methods=runner.CHAIN_METHODS)
    thin = _checks.integer("thin", thin, minimum=1)
    if target_accept is not None:
        target_accept = _checks.probability("target_accept", target_accept)
    if scale is not None:
        for value in np.ravel(np.asarray(scale, dtype=object)):
            _checks.positive("scale", value)
    with runner._StopOnInterrupt():  # Ctrl-C while the model compiles stops the run too
        target = as_target(model, data, dim=dim, init=None if isinstance(init, (str, dict)) else init)
        require_latents(target.dim, summed=target.summed)
        if isinstance(proposal, str):
            if proposal != "random_walk":
                raise ArgumentError("proposal", f"must be 'random_walk', a distribution or a "
                                                f"(sample_fn, log_prob_fn) pair, got {proposal!r}")
            if scale is not None:
                scale = float(scale) if np.ndim(scale) == 0 else tuple(float(s) for s in np.ravel(scale))
            algorithm = RandomWalkMH(target_accept=target_accept, initial_scale=scale,
                                     adapt_scale=adapt_scale, adapt_covariance=adapt_covariance,
                                     thin=int(thin))
            aim = algorithm._target(target.dim) if adapt_scale and warmup > 0 else None
        else:
            if isinstance(proposal, tuple) and not (len(proposal) == 2 and all(map(callable, proposal))):
                raise ArgumentError("proposal", "a proposal pair must be (sample_fn, log_prob_fn), got "
                                                f"{proposal!r}")
            algorithm, aim = IndependentMH(proposal=proposal, thin=int(thin)), None
        posterior = runner.sample(target, algorithm, chains=chains, warmup=warmup, draws=draws,
                                  seed=seed, init=init, chain_method=chain_method, progress=progress,
                                  chunk_size=chunk_size, save_warmup=save_warmup)
    rates = posterior.stats["acceptance_rate"]
    posterior.acceptance_rate = (np.mean(rates, axis=1) if rates.shape[1] else
                                 np.full(rates.shape[0], np.nan))  # no draws (draws=0, Ctrl-C)
    if progress:
        print(acceptance_line(posterior, aim))
    return posterior
