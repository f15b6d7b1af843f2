"""Eleven posteriordb posteriors as credo models.

Each function is the Stan program of a `posteriordb
<https://github.com/stan-dev/posteriordb>`_ model
(``posterior_database/models/stan/<model>.stan``) written in the model
language: the same parameters in the same order, the same priors, and a log
density equal to Stan's ``target`` up to an additive constant. The data are
the functions' keyword arguments, named as in the Stan ``data`` block.

Translating Stan:

- A parameter with no prior statement has Stan's implicit flat prior on its
  declared support: :class:`~credo.distributions.Flat` on the real line,
  :class:`~credo.distributions.HalfFlat` for ``<lower=0>``, ``Uniform`` for
  constant bounds, ``Dirichlet(1)`` for a ``simplex``.
- A ``<lower=0>`` parameter with a ``normal``/``cauchy`` prior is
  ``HalfNormal``/``HalfCauchy``: the density differs by the constant ``log 2``.
- ``ordered`` and ``positive_ordered`` parameters keep their Stan prior
  density, unnormalised on the smaller support (as Stan does).
- Transformed parameters that posteriordb reports (``theta`` of the eight
  schools, ``f`` of the GP) are deterministic sites.

Site names and shapes are posteriordb's parameter names; Stan's 1-based
``beta[1]`` is credo's ``beta[0]``.

Examples
--------
>>> import numpy as np
>>> import credo.ppl as ppl
>>> from credo.examples.posteriordb import load
>>> model, data = load("kidiq-kidscore_momiq")
>>> ld = ppl.logdensity(model, data)
>>> ld.dim, ld.names
(3, ('beta', 'sigma'))
>>> bool(np.isfinite(ld.fn(np.zeros(ld.dim))))
True
"""

from __future__ import annotations

import inspect
import json
from importlib import resources

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from credo import distributions as dist
from credo.distributions import constraints
from credo.examples import POSTERIORDB_NAMES
from credo.ppl.examples import eight_schools_noncentered
from credo.ppl.primitives import deterministic, factor, plate, sample

__all__ = [
    "arK",
    "logearn_height",
    "eight_schools_noncentered",
    "garch11",
    "gp_pois_regr",
    "hmm_example",
    "kidscore_momiq",
    "low_dim_gauss_mix",
    "logmesquite",
    "nes",
    "blr",
    "POSTERIORDB",
    "POSTERIORDB_NAMES",
    "load",
]


class _OnSupport(dist.Distribution):
    """``base_dist``'s density, left unnormalised, on the smaller set ``support``.

    Stan's ``ordered[2] mu; mu ~ normal(0, 2);`` adds the normal density of
    ``mu`` to ``target`` while ``mu`` lives on the ordered vectors; this is
    that law. It has no sampler (initialisation falls back to uniform draws in
    unconstrained space).
    """

    arg_constraints = {}

    def __init__(self, base_dist, support):
        if support.event_dim != len(base_dist.event_shape):
            raise ValueError(f"support {support!r} has event_dim {support.event_dim}, "
                             f"but base_dist has event shape {base_dist.event_shape}")
        self.base_dist = base_dist
        self._support = support
        super().__init__()

    def _pytree_data(self):
        return ("base_dist",)

    @property
    def batch_shape(self):
        return self.base_dist.batch_shape

    @property
    def event_shape(self):
        return self.base_dist.event_shape

    @property
    def support(self):
        return self._support

    def _log_prob(self, value):
        return self.base_dist.log_prob(value)

    def _sample(self, key, sample_shape):
        raise dist.ImproperDistributionError(
            f"{type(self.base_dist).__name__} restricted to {self._support!r} has no sampler")

    def _expand(self, batch_shape):
        inner = self.base_dist.batch_shape[len(self.batch_shape):]
        return _OnSupport(self.base_dist.expand(tuple(batch_shape) + tuple(inner)), self._support)


def _vector(d, size):
    """``d`` as a length-``size`` vector parameter (Stan ``vector[size]``)."""
    return d.expand((size,)).to_event(1)


def _check_size(name, given, actual):
    # Stan checks declared sizes against the data; so do we, where a size is passed.
    if given is not None and int(given) != actual:
        raise ValueError(f"{name} = {given} but the data have length {actual}")


def _regression(name, design, y, coef_prior, sigma_prior):
    """``beta ~ coef_prior`` (vector), ``sigma ~ sigma_prior``, ``y ~ Normal(design @ beta, sigma)``."""
    n, d = design.shape
    beta = sample("beta", _vector(coef_prior, d))
    sigma = sample("sigma", sigma_prior)
    with plate("data", n):
        sample(name, dist.Normal(design @ beta, sigma), obs=y)


# -- the models, in POSTERIORDB_NAMES order ----------------------------------------------------


def arK(y, K, T=None):
    """Autoregressive model of order ``K`` (posteriordb ``arK-arK``, Stan ``arK.stan``).

    ``y_t ~ Normal(alpha + sum_k beta_k y_(t-k), sigma)`` for ``t = K+1..T``,
    with ``alpha, beta_k ~ Normal(0, 10)`` and ``sigma ~ HalfCauchy(2.5)``.

    Parameters
    ----------
    y : array, shape ``(T,)``
        The series; its first ``K`` values are conditioned on, not modelled.
    K : int
        Order.
    T : int, optional
        Length of ``y`` (checked).

    Sites: ``alpha`` ``()``, ``beta`` ``(K,)``, ``sigma`` ``()``; dimension ``K + 2``.
    """
    K = int(K)
    n = len(y)
    _check_size("T", T, n)
    alpha = sample("alpha", dist.Normal(0.0, 10.0))
    beta = sample("beta", _vector(dist.Normal(0.0, 10.0), K))
    sigma = sample("sigma", dist.HalfCauchy(2.5))
    # lags[i, k] = y[t - (k + 1)] for the modelled t = K + i (0-based): one gather, no loop
    lag_index = np.arange(K, n)[:, None] - np.arange(1, K + 1)[None, :]
    lags = jnp.asarray(y)[lag_index]
    with plate("time", n - K):
        sample("y", dist.Normal(alpha + lags @ beta, sigma), obs=jnp.asarray(y)[K:])


def logearn_height(earn, height, N=None):
    """Log earnings on height (posteriordb ``earnings-logearn_height``, Stan ``logearn_height.stan``).

    ``log(earn_n) ~ Normal(beta_1 + beta_2 height_n, sigma)``; flat priors on
    ``beta`` and on ``sigma > 0`` (the Stan program states none).

    Parameters
    ----------
    earn, height : array, shape ``(N,)``
    N : int, optional
        Number of people (checked).

    Sites: ``beta`` ``(2,)``, ``sigma`` ``()``; dimension 3.
    """
    _check_size("N", N, len(earn))
    design = jnp.stack([jnp.ones(len(height)), jnp.asarray(height)], axis=-1)
    _regression("log_earn", design, jnp.log(jnp.asarray(earn)), dist.Flat(), dist.HalfFlat())


def garch11(y, sigma1, T=None):
    """GARCH(1, 1) volatility model (posteriordb ``garch-garch11``, Stan ``garch11.stan``).

    ``y_t ~ Normal(mu, sigma_t)`` with ``sigma_1`` given and
    ``sigma_t^2 = alpha0 + alpha1 (y_(t-1) - mu)^2 + beta1 sigma_(t-1)^2``.
    Flat priors on ``mu``, ``alpha0 > 0``, ``alpha1 in (0, 1)`` and
    ``beta1 in (0, 1 - alpha1)``.

    Parameters
    ----------
    y : array, shape ``(T,)``
    sigma1 : float
        Volatility at ``t = 1``.
    T : int, optional
        Length of ``y`` (checked).

    Sites: ``mu``, ``alpha0``, ``alpha1``, ``beta1``, all ``()``; dimension 4.

    Notes
    -----
    Stan's flat prior on ``beta1`` is unnormalised: it adds nothing to
    ``target``. ``Uniform(0, 1 - alpha1)`` adds ``-log(1 - alpha1)``, which
    depends on ``alpha1``, so a factor adds it back; otherwise the posterior
    of ``alpha1`` would differ from Stan's.
    """
    y = jnp.asarray(y)
    _check_size("T", T, len(y))
    mu = sample("mu", dist.Flat())
    alpha0 = sample("alpha0", dist.HalfFlat())
    alpha1 = sample("alpha1", dist.Uniform(0.0, 1.0))
    beta1 = sample("beta1", dist.Uniform(0.0, 1.0 - alpha1))
    factor("beta1_flat", jnp.log1p(-alpha1))

    def step(var_prev, y_prev):
        var = alpha0 + alpha1 * jnp.square(y_prev - mu) + beta1 * var_prev
        return var, var

    var1 = jnp.square(jnp.asarray(sigma1, dtype=jnp.result_type(mu)))
    _, var_rest = jax.lax.scan(step, var1, y[:-1])
    sigma = jnp.sqrt(jnp.concatenate([var1[None], var_rest]))
    with plate("time", len(y)):
        sample("y", dist.Normal(mu, sigma), obs=y)


def gp_pois_regr(x, k, N=None):
    """Poisson regression with a latent Gaussian process (posteriordb ``gp_pois_regr-gp_pois_regr``).

    ``k_n ~ Poisson(exp(f_n))``, ``f = L f_tilde``, ``L L^T = K + 1e-10 I`` with
    the squared-exponential kernel ``K_ij = alpha^2 exp(-(x_i - x_j)^2 / (2 rho^2))``,
    ``f_tilde ~ Normal(0, I)``, ``rho ~ Gamma(25, 4)`` (rate 4),
    ``alpha ~ HalfNormal(2)`` (Stan ``gp_pois_regr.stan``).

    Parameters
    ----------
    x : array, shape ``(N,)``
        Inputs.
    k : array of int, shape ``(N,)``
        Counts.
    N : int, optional
        Number of points (checked).

    Sites: ``rho`` ``()``, ``alpha`` ``()``, ``f_tilde`` ``(N,)`` and the
    deterministic ``f`` ``(N,)``; dimension ``N + 2``.
    """
    x = jnp.asarray(x)
    n = len(x)
    _check_size("N", N, n)
    rho = sample("rho", dist.Gamma(25.0, 4.0))
    alpha = sample("alpha", dist.HalfNormal(2.0))
    f_tilde = sample("f_tilde", _vector(dist.Normal(0.0, 1.0), n))
    cov = (jnp.square(alpha) * jnp.exp(-0.5 * jnp.square(x[:, None] - x[None, :]) / jnp.square(rho))
           + 1e-10 * jnp.eye(n))  # Stan's jitter, kept so that the density is the same
    f = deterministic("f", jnp.linalg.cholesky(cov) @ f_tilde)
    # counts as floats: the gradient of xlogy with an integer first argument fails in JAX
    counts = jnp.asarray(k).astype(f.dtype)
    with plate("data", n):
        sample("k", dist.Poisson(jnp.exp(f)), obs=counts)


def hmm_example(y, K=2, N=None):
    """Two-state hidden Markov model, states marginalised (posteriordb ``hmm_example-hmm_example``).

    Hidden ``z_t`` with transition rows ``theta1``, ``theta2`` (flat on the
    simplex) and emissions ``y_t ~ Normal(mu_(z_t), 1)``; ``mu`` is positive
    and ordered, ``mu_1 ~ Normal(3, 1)``, ``mu_2 ~ Normal(10, 1)``. The states
    are summed out by the forward algorithm,
    ``log p(y) = logsumexp_k gamma_N(k)`` with ``gamma_1(k) = log N(y_1 | mu_k, 1)`` and
    ``gamma_t(k) = logsumexp_j(gamma_(t-1)(j) + log theta_(j,k)) + log N(y_t | mu_k, 1)``
    (Stan ``hmm_example.stan``; like it, no initial-state distribution).

    Parameters
    ----------
    y : array, shape ``(N,)``
    K : int
        Number of states; the Stan program is written for ``K = 2`` only.
    N : int, optional
        Length of ``y`` (checked).

    Sites: ``theta1`` ``(2,)``, ``theta2`` ``(2,)``, ``mu`` ``(2,)``, the
    deterministic transition matrix ``theta`` ``(2, 2)`` and the factor
    ``log_lik``; dimension 4.
    """
    if int(K) != 2:
        raise ValueError(f"hmm_example is written for K = 2 states, got K = {K}")
    y = jnp.asarray(y)
    _check_size("N", N, len(y))
    theta1 = sample("theta1", dist.Dirichlet(jnp.ones(2)))
    theta2 = sample("theta2", dist.Dirichlet(jnp.ones(2)))
    mu = sample("mu", _OnSupport(dist.Normal(jnp.array([3.0, 10.0]), 1.0).to_event(1),
                                 constraints.positive_ordered_vector))
    theta = deterministic("theta", jnp.stack([theta1, theta2]))  # theta[j, k] = P(k | j)
    log_emission = dist.Normal(mu, 1.0).log_prob(y[:, None])  # (N, K)
    log_transition = jnp.log(theta)

    def forward(log_gamma, log_emission_t):
        log_gamma = logsumexp(log_gamma[:, None] + log_transition, axis=0) + log_emission_t
        return log_gamma, None

    log_gamma, _ = jax.lax.scan(forward, log_emission[0], log_emission[1:])
    factor("log_lik", logsumexp(log_gamma))


def kidscore_momiq(kid_score, mom_iq, N=None):
    """Child's test score on mother's IQ (posteriordb ``kidiq-kidscore_momiq``, Stan ``kidscore_momiq.stan``).

    ``kid_score_n ~ Normal(beta_1 + beta_2 mom_iq_n, sigma)``, flat ``beta``,
    ``sigma ~ HalfCauchy(2.5)``.

    Parameters
    ----------
    kid_score, mom_iq : array, shape ``(N,)``
    N : int, optional
        Number of children (checked).

    Sites: ``beta`` ``(2,)``, ``sigma`` ``()``; dimension 3.
    """
    _check_size("N", N, len(kid_score))
    design = jnp.stack([jnp.ones(len(mom_iq)), jnp.asarray(mom_iq)], axis=-1)
    _regression("kid_score", design, kid_score, dist.Flat(), dist.HalfCauchy(2.5))


def low_dim_gauss_mix(y, N=None):
    """Two-component normal mixture (posteriordb ``low_dim_gauss_mix-low_dim_gauss_mix``).

    ``y_n ~ theta Normal(mu_1, sigma_1) + (1 - theta) Normal(mu_2, sigma_2)``
    (Stan's ``log_mix``), ``mu`` ordered with ``mu_k ~ Normal(0, 2)``,
    ``sigma_k ~ HalfNormal(2)``, ``theta ~ Beta(5, 5)`` (Stan ``low_dim_gauss_mix.stan``).

    Parameters
    ----------
    y : array, shape ``(N,)``
    N : int, optional
        Number of points (checked).

    Sites: ``mu`` ``(2,)``, ``sigma`` ``(2,)``, ``theta`` ``()``; dimension 5.
    """
    _check_size("N", N, len(y))
    mu = sample("mu", _OnSupport(_vector(dist.Normal(0.0, 2.0), 2), constraints.ordered_vector))
    sigma = sample("sigma", _vector(dist.HalfNormal(2.0), 2))
    theta = sample("theta", dist.Beta(5.0, 5.0))
    # log weights directly: log1p keeps log(1 - theta) accurate near theta = 1
    mixing = dist.Categorical(logits=jnp.stack([jnp.log(theta), jnp.log1p(-theta)]))
    with plate("data", len(y)):
        sample("y", dist.MixtureSameFamily(mixing, dist.Normal(mu, sigma)), obs=y)


def logmesquite(weight, diam1, diam2, canopy_height, total_height, density, group, N=None):
    """Log-log regression of mesquite bush weight (posteriordb ``mesquite-logmesquite``).

    ``log weight ~ Normal(X beta, sigma)`` with the columns of ``X`` a
    constant, ``log diam1``, ``log diam2``, ``log canopy_height``,
    ``log total_height``, ``log density`` and ``group``; flat priors on
    ``beta`` and ``sigma > 0`` (Stan ``logmesquite.stan``).

    Parameters
    ----------
    weight, diam1, diam2, canopy_height, total_height, density, group : array, shape ``(N,)``
    N : int, optional
        Number of bushes (checked).

    Sites: ``beta`` ``(7,)``, ``sigma`` ``()``; dimension 8.
    """
    _check_size("N", N, len(weight))
    logs = [jnp.log(jnp.asarray(v)) for v in (diam1, diam2, canopy_height, total_height, density)]
    design = jnp.stack([jnp.ones(len(weight))] + logs + [jnp.asarray(group, dtype=logs[0].dtype)],
                       axis=-1)
    _regression("log_weight", design, jnp.log(jnp.asarray(weight)), dist.Flat(), dist.HalfFlat())


def nes(partyid7, real_ideo, race_adj, educ1, gender, income, age_discrete, N=None):
    """Party identification regression, 1972 NES (posteriordb ``nes1972-nes``, Stan ``nes.stan``).

    ``partyid7 ~ Normal(X beta, sigma)`` with the columns of ``X`` a constant,
    ``real_ideo``, ``race_adj``, indicators of ``age_discrete`` = 2, 3, 4,
    ``educ1``, ``gender`` and ``income``; flat priors on ``beta`` and ``sigma > 0``.

    Parameters
    ----------
    partyid7, real_ideo, race_adj, educ1, gender, income : array, shape ``(N,)``
    age_discrete : array of int, shape ``(N,)``
        Age group 1..4; group 1 is the baseline.
    N : int, optional
        Number of respondents (checked).

    Sites: ``beta`` ``(9,)``, ``sigma`` ``()``; dimension 10.
    """
    _check_size("N", N, len(partyid7))
    real_ideo = jnp.asarray(real_ideo)
    age = jnp.asarray(age_discrete)
    dtype = real_ideo.dtype
    ages = [(age == group).astype(dtype) for group in (2, 3, 4)]
    columns = ([jnp.ones(len(partyid7), dtype), real_ideo, jnp.asarray(race_adj)] + ages
               + [jnp.asarray(v) for v in (educ1, gender, income)])
    _regression("partyid7", jnp.stack(columns, axis=-1), partyid7, dist.Flat(), dist.HalfFlat())


def blr(X, y, N=None, D=None):
    """Bayesian linear regression (posteriordb ``sblrc-blr``, Stan ``blr.stan``).

    ``y ~ Normal(X beta, sigma)``, ``beta_d ~ Normal(0, 10)``, ``sigma ~ HalfNormal(10)``.

    Parameters
    ----------
    X : array, shape ``(N, D)``
    y : array, shape ``(N,)``
    N, D : int, optional
        Sizes (checked).

    Sites: ``beta`` ``(D,)``, ``sigma`` ``()``; dimension ``D + 1``.
    """
    X = jnp.asarray(X)
    _check_size("N", N, X.shape[0])
    _check_size("D", D, X.shape[1])
    _regression("y", X, y, dist.Normal(0.0, 10.0), dist.HalfNormal(10.0))


#: posteriordb posterior name -> model function. The eight schools entry is
#: :func:`credo.ppl.examples.eight_schools_noncentered`, already Stan's program.
POSTERIORDB = {
    "arK-arK": arK,
    "earnings-logearn_height": logearn_height,
    "eight_schools-eight_schools_noncentered": eight_schools_noncentered,
    "garch-garch11": garch11,
    "gp_pois_regr-gp_pois_regr": gp_pois_regr,
    "hmm_example-hmm_example": hmm_example,
    "kidiq-kidscore_momiq": kidscore_momiq,
    "low_dim_gauss_mix-low_dim_gauss_mix": low_dim_gauss_mix,
    "mesquite-logmesquite": logmesquite,
    "nes1972-nes": nes,
    "sblrc-blr": blr,
}
#: Arrays the Stan programs declare ``int``; every other array is real (float64).
_INT_ARRAYS = {"gp_pois_regr-gp_pois_regr": {"k"}, "nes1972-nes": {"age_discrete"}}


def load(name: str):
    """The model and data of the posteriordb posterior ``name``.

    Parameters
    ----------
    name : str
        One of :data:`POSTERIORDB_NAMES`, e.g. ``"eight_schools-eight_schools_noncentered"``.

    Returns
    -------
    model : callable
    data : dict of str -> ndarray or scalar
        posteriordb's data, ready for ``credo.ppl.logdensity(model, data)``:
        arrays as numpy (float64, or int64 where Stan declares ``int``);
        entries the model does not take (those the Stan program does not
        declare, such as ``male`` of the earnings data) are dropped.

    Raises
    ------
    KeyError
        If ``name`` is not a bundled posterior.
    """
    if name not in POSTERIORDB:
        raise KeyError(f"unknown posteriordb posterior {name!r}; bundled: {', '.join(POSTERIORDB)}")
    model = POSTERIORDB[name]
    path = resources.files("credo.examples").joinpath("data", "posteriordb", f"{name}.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    accepted = inspect.signature(model).parameters
    ints = _INT_ARRAYS.get(name, set())
    data = {}
    for key, value in raw.items():
        if key not in accepted:
            continue
        if isinstance(value, list):
            value = np.asarray(value, dtype=np.int64 if key in ints else np.float64)
        data[key] = value
    return model, data
