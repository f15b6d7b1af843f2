r"""Coordinate-ascent variational inference (CAVI) for conditionally conjugate models.

The approximation is mean-field over the model's latent sites,
:math:`q(x) = \prod_s q_s(x_s)`, each factor in the exponential family of its
site's conjugate prior (:mod:`credo.vi.cavi.factors`). A *sweep* sets every
factor in turn to its optimum given the others,

.. math::

    \log q_s^*(x_s) = E_{q_{-s}}[\log p(x, y)] + \text{const}
    \iff \eta_s = \nabla_{\mu_s} E_q[\log p(x, y)],

(Bishop 2006, eq. 10.9; Blei et al. 2017, eq. 18 and sec. 4.2), where
:math:`\mu_s = E_{q_s}[t(x_s)]` are the factor's mean parameters and
:math:`\eta_s` its natural parameters. The expected log joint is computed in
closed form from the model's own code (:mod:`credo.vi.cavi.expected`) and
differentiated by JAX, so the same code updates Bishop's Gaussian mixture
(sec. 10.2), Bayesian linear regression (sec. 10.3) and any other
conditionally conjugate model written with ``credo.sample``/``credo.plate``.
Each coordinate step maximises the ELBO exactly in its factor, so the exact
ELBO, computed after every sweep, never decreases.

References
----------
Bishop, C. M. (2006). *Pattern Recognition and Machine Learning*, ch. 10.

Blei, D. M., Kucukelbir, A. and McAuliffe, J. D. (2017). Variational
inference: a review for statisticians. *JASA* 112(518), 859-877.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ArgumentError, ModelError
from credo.ppl.structure import unwrap
from credo.random import as_key, site_key

from ..approximation import Approximation
from .expected import ExpectedLogJoint
from .factors import CategoricalFactor

__all__ = ["cavi", "CAVIApproximation"]

#: Draws per compiled call of the sampler: one program serves every ``num_samples``.
_CHUNK = 1000


@dataclasses.dataclass(frozen=True)
class _Target:
    """What :class:`~credo.vi.Approximation` reads of a target: sizes and observed data.

    Not a :class:`credo.ppl.Target`: CAVI's factors live on the constrained
    scale and it has no flat log density for one to carry; the observed data
    are the model's (:attr:`credo.ppl.ModelStructure.observed`).
    """

    dim: int
    output_shapes: dict
    observed: dict


class CAVIApproximation(Approximation):
    r"""The result of :func:`cavi`: a product of closed-form factors, one per latent site.

    Behaves as an :class:`~credo.vi.Approximation` (``sample``, ``summary``,
    ``to_arviz``, ``psis_khat``, ``log_evidence_estimate``, ``elbo``), with
    draws and importance weights on the constrained scale, where the factors
    live; discrete sites are drawn as their values.

    Attributes
    ----------
    factors : dict of str -> Distribution
        The fitted :math:`q_s` as credo distributions: ``Normal`` (elementwise,
        the site's shape), ``MultivariateNormal`` (over the site's flattened
        elements), ``Gamma``, ``Beta``, ``Dirichlet``, or ``Categorical``
        (``probs`` of shape ``(*site_shape, K)`` over :attr:`supports`).
    supports : dict of str -> tuple
        The values of each discrete site, in the order of its ``probs``.
    elbo_history : ndarray
        The exact ELBO (higher is better) after each sweep.
    converged : bool
        The relative change of the ELBO fell below ``tol`` before ``max_iters``.
    num_steps : int
        Sweeps run.
    """

    def __init__(self, states, expected: ExpectedLogJoint, *, elbo_history, converged, num_steps):
        struct = expected.structure
        shapes = {n: tuple(jnp.shape(s.value)) for n, s in struct.prototype.items()
                  if s.type == "deterministic" or n in struct.latent}
        target = _Target(dim=sum(f.size for f in expected.factors.values()),
                         output_shapes=shapes, observed=struct.observed)
        super().__init__(states, target, family="cavi", elbo_history=elbo_history,
                         converged=converged, num_steps=num_steps,
                         info={"families": {s: f.name for s, f in expected.factors.items()}})
        self.expected = expected
        self.states = states
        self.factors = {s: f.distribution(states[s]) for s, f in expected.factors.items()}
        self.supports = {s: f.support for s, f in expected.factors.items()
                         if isinstance(f, CategoricalFactor)}

    @property
    def params(self) -> dict:
        """The factors' parameters as numpy arrays, keyed ``"site.parameter"``."""
        names = {"Normal": ("loc", "scale"), "MultivariateNormal": ("loc", "covariance_matrix"),
                 "Gamma": ("concentration", "rate"), "Beta": ("concentration1", "concentration0"),
                 "Dirichlet": ("concentration",), "Categorical": ("probs",)}
        out = {}
        for s, f in self.expected.factors.items():
            for name, value in zip(names[f.name], self.states[s]):
                out[f"{s}.{name}"] = np.asarray(value)
        return out

    # -- draws -----------------------------------------------------------------------------
    def _draw(self, key, n: int) -> dict:
        """Host draws of every factor, seeded by ``key`` (numpy; see :meth:`Factor.sample`)."""
        rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
        return {s: f.sample(self.states[s], rng, n) for s, f in self.expected.factors.items()}

    def _compiled(self, fn, draws: dict) -> dict:
        """``fn`` (jitted, vmapped over draws) in chunks of :data:`_CHUNK`: one program for every
        number of draws."""
        n = len(next(iter(draws.values())))
        out = []
        for start in range(0, n, _CHUNK):
            chunk = {k: v[start:start + _CHUNK] for k, v in draws.items()}
            size = len(next(iter(chunk.values())))
            padded = {k: np.concatenate([v, np.repeat(v[-1:], _CHUNK - size, 0)])
                      for k, v in chunk.items()}
            out.append(jax.tree_util.tree_map(lambda x: np.asarray(x)[:size],
                                              jax.device_get(fn(padded))))
        return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *out)

    @functools.cached_property
    def _deterministic(self):
        struct = self.expected.structure
        names = [s.name for s in struct.prototype.sites("deterministic")]

        def run(values):
            tr = struct.trace_at(values)
            return {n: tr[n].value for n in names}

        return jax.jit(jax.vmap(run)) if names else None

    @functools.cached_property
    def _log_weights(self):
        struct, factors = self.expected.structure, self.expected.factors

        def log_w(draws):
            log_p = jax.vmap(lambda v: struct.trace_at(v).log_density())(draws)
            log_q = sum(f.log_prob(self.states[s], draws[s]) for s, f in factors.items())
            return log_p - log_q

        return jax.jit(log_w)

    def sample(self, num_samples: int = 1000, seed=0) -> dict:
        """Independent draws of :math:`q`, shape ``(num_samples, *site_shape)`` per site.

        Every latent site (discrete ones as their values) and every
        deterministic site, in model order.
        """
        draws = self._draw(as_key(seed), int(num_samples))
        if self._deterministic is not None:
            draws.update(self._compiled(self._deterministic, draws))
        return {k: np.asarray(draws[k]) for k in self.target.output_shapes if k in draws}

    def sample_unconstrained(self, num_samples: int = 1000, seed=0, *, replace: bool = True):
        raise ModelError("CAVI factors live on the constrained scale (and may be discrete): "
                         "use sample()")

    # -- importance weights ----------------------------------------------------------------
    def log_weights(self, num_samples: int = 1000, seed=0):
        r"""Draws of :math:`q` (dict, constrained) and their :math:`\log p(x, y) - \log q(x)`.

        Both densities are on the constrained scale (counting measure for
        discrete sites), so the weights need no Jacobian.
        """
        draws = self._draw(as_key(seed), int(num_samples))
        return draws, self._compiled(self._log_weights, draws)

    def __repr__(self):
        sites = ", ".join(f"{s}: {f.name}" for s, f in self.expected.factors.items())
        return (f"CAVIApproximation({sites}; sweeps={self.num_steps}, "
                f"elbo={self.elbo_history[-1]:.6g}, converged={self.converged})")


# ----------------------------------------------------------------------------- the fit
def _initial_states(expected: ExpectedLogJoint, key, init: dict | None):
    struct = expected.structure
    # Positive sites start at their prior means (every mixture component equally wide)
    # and Normal sites at prior draws given them (components spread apart). Uniform
    # draws in unconstrained space fill in the rest: they need no (slow to compile)
    # samplers.
    values = struct.random_values(key, "uniform")
    for s, f in expected.factors.items():
        if s in (init or {}) or isinstance(f, CategoricalFactor):
            continue
        prior = struct.trace_at(values)[s].fn
        if f.name in ("Normal", "MultivariateNormal"):
            values[s] = prior.sample(site_key(key, s))
        else:
            values[s] = jnp.broadcast_to(prior.mean, jnp.shape(values[s]))
    unknown = set(init or {}) - set(struct.latent)
    if unknown:
        raise ModelError(f"init names {sorted(unknown)}, which are not latent sites "
                         f"(latent: {list(struct.latent)})")
    dtype = jnp.result_type(float)
    for s, v in (init or {}).items():
        shape = tuple(jnp.shape(values[s]))
        v = jnp.asarray(v, dtype if not struct.is_discrete(s) else jnp.asarray(values[s]).dtype)
        if v.shape != shape:
            raise ModelError(f"init[{s!r}] has shape {v.shape}; the site has shape {shape}")
        values[s] = v
    tr = struct.trace_at(values)
    states = {}
    for s, f in expected.factors.items():
        prior, _, _ = unwrap(tr[s].fn)
        states[s] = f.init_state(jnp.asarray(values[s], dtype), prior)
    return states


def _run(expected: ExpectedLogJoint, states, order, max_iters, tol, bar):
    """Sweeps until the ELBO's relative change is below ``tol``: ``(states, history, converged)``.

    One compiled program (the expected log joint with its gradient) serves
    every coordinate step; the gradient at the state reached after the last
    step of a sweep gives the sweep's ELBO and the next sweep's first update.
    """
    factors = expected.factors
    mps = {s: f.mean_params(states[s]) for s, f in factors.items()}
    entropy = jax.jit(lambda st: sum(factors[s].entropy(st[s]) for s in factors))
    (_, _), grad = expected.value_and_grad(mps)
    history, converged = [], False
    for _ in range(max_iters):
        for i, s in enumerate(order):
            if i:
                (_, _), grad = expected.value_and_grad(mps)
            states = {**states, s: factors[s].from_natural(grad[s])}
            mps = {**mps, s: factors[s].mean_params(states[s])}
        (value, _), grad = expected.value_and_grad(mps)
        elbo = float(value + entropy(states))
        if not math.isfinite(elbo):
            raise ModelError(f"the ELBO became {elbo} after sweep {len(history) + 1}; "
                             "check the data against the model's supports")
        history.append(elbo)
        if bar is not None:
            bar.set_postfix(elbo=f"{elbo:.6g}", refresh=False)
            bar.update(1)
        if len(history) > 1 and abs(elbo - history[-2]) < tol * abs(elbo):
            converged = True
            break
    return states, history, converged


def cavi(model, data: dict | None = None, *, max_iters: int = 200, tol: float = 1e-8,
         seed=0, progress: bool = True, init=None, restarts: int = 1) -> CAVIApproximation:
    r"""Fit a mean-field approximation by coordinate ascent with closed-form updates.

    For conditionally conjugate exponential-family models (Blei et al. 2017,
    sec. 4): every latent site gets a factor :math:`q_s` in the family of its
    prior (Normal, or multivariate Normal when a child's mean mixes several
    of its elements, as in a regression; Gamma for Gamma and Exponential
    priors; Beta; Dirichlet; Categorical for Categorical and Bernoulli
    sites). One sweep updates every factor in closed form, discrete sites
    first (the "E step" of a mixture), then the others in model order:
    :math:`\eta_s \leftarrow \nabla_{\mu_s} E_q[\log p(x, y)]`, the expected
    natural parameter of the site's complete conditional (Bishop 2006,
    eq. 10.9). After each sweep the exact ELBO

    .. math::

        \mathcal L(q) = E_q[\log p(x, y)] + \sum_s H[q_s] \le \log p(y)

    (higher is better) is computed in closed form; it never decreases.

    Supported terms: Normal (``loc`` affine in Normal sites, precision
    ``scale**-2`` a scaled copy of a Gamma site or fixed), MultivariateNormal
    with fixed parameters, Gamma, Exponential and Poisson (rates scaled copies
    of Gamma sites), Beta, Bernoulli, Binomial and Geometric (``probs`` a copy
    of a Beta site), Dirichlet, Categorical and Multinomial (``probs`` rows of
    a Dirichlet site). Parameters may be indexed by a discrete site
    (``mu[z]``); its elements must be independent given the rest (the plate
    structure of a mixture).

    Parameters
    ----------
    model : callable
        A model written with ``credo.sample``, ``credo.plate``, ...
    data : dict, optional
        The model's keyword arguments and observed sites.
    max_iters : int
        Maximum number of sweeps.
    tol : float
        Stop when ``|ELBO_t - ELBO_{t-1}| / |ELBO_t| < tol``.
    seed : int or PRNG key
        Seeds the initial point (a draw from the prior; coordinate ascent
        finds a local optimum, so mixtures may need another seed or ``init``)
        and the conjugacy check.
    progress : bool
        Show a progress bar with the ELBO.
    init : dict or CAVIApproximation, optional
        Site name -> value (constrained) at which that site's factor starts,
        overriding the prior draw (e.g. initial component means); or an
        earlier result of this model and data, to continue its sweeps from
        its factors (its compiled program is reused).
    restarts : int
        Independent starting points (seeds derived from ``seed``); the fit
        with the highest final ELBO is returned. Mixtures have local optima
        (a component split in two, two merged); a few restarts find the
        better ones. Every restart reuses one compiled program.

    Returns
    -------
    CAVIApproximation

    Raises
    ------
    NotConjugateError
        (a :class:`credo.errors.ModelError`) naming the site where the model is
        not conditionally conjugate, and why.

    References
    ----------
    Bishop, C. M. (2006). *Pattern Recognition and Machine Learning*, ch. 10.

    Blei, D. M., Kucukelbir, A. and McAuliffe, J. D. (2017). Variational
    inference: a review for statisticians. *JASA* 112(518), 859-877.

    Examples
    --------
    >>> from credo.ppl.examples import flu_prevalence
    >>> q = cavi(flu_prevalence, {"n": 100, "y": 12}, progress=False)
    >>> q.factors["theta"]                              # doctest: +SKIP
    Beta(concentration1=13.0, concentration0=89.0)
    >>> [round(float(p), 6) for p in q.states["theta"]]
    [13.0, 89.0]
    """
    max_iters, restarts = int(max_iters), int(restarts)
    if max_iters < 1 or restarts < 1:
        raise ArgumentError("max_iters" if max_iters < 1 else "restarts",
                            f"max_iters and restarts must be at least 1, got {max_iters} and {restarts}")
    key = as_key(seed)
    if isinstance(init, CAVIApproximation):
        expected, starts = init.expected, [init.states]
    else:
        expected = ExpectedLogJoint(model, data)
        if not expected.factors:
            raise ModelError("the model has no latent sites to approximate")
        expected.check(seed=int(np.asarray(jax.random.key_data(key)).ravel()[-1]))
        keys = [key] + [jax.random.fold_in(key, r) for r in range(1, restarts)]
        starts = [_initial_states(expected, k, init) for k in keys]
    order = ([s for s in expected.factors if s in expected.discrete]
             + [s for s in expected.factors if s not in expected.discrete])
    bar = _progress_bar(max_iters * len(starts)) if progress else None
    best = None
    try:
        for states in starts:
            fit = _run(expected, states, order, max_iters, tol, bar)
            if best is None or fit[1][-1] > best[1][-1]:
                best = fit
    finally:
        if bar is not None:
            bar.close()
    states, history, converged = best
    return CAVIApproximation(states, expected, elbo_history=np.asarray(history),
                             converged=converged, num_steps=len(history))


def _progress_bar(total: int):
    from credo._progress import progress_bar

    return progress_bar(total, "CAVI", "sweep")
