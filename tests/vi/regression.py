"""A regression whose posterior is Gaussian in closed form, shared by the VI tests.

``y_i ~ N(beta_0 + beta_1 x_i, SIGMA^2)`` with known ``SIGMA`` and
``beta ~ N(0, PRIOR_SD^2 I)``. The covariate is uncentred, so the posterior
is strongly correlated (about -0.99). ``tests/vi/conftest.py`` compiles it
once per session (fixture ``regression_ld``), so JAX programs built on it are
reused across test modules.
"""

import jax
import numpy as np

import credo.ppl as ppl
from credo import distributions as dist

SIGMA, PRIOR_SD = 2.0, 10.0
_rng = np.random.default_rng(7)
X = _rng.normal(50.0, 5.0, 60)
Y = 3.0 + 0.4 * X + _rng.normal(0.0, SIGMA, X.size)


def regression(x, y=None):
    """The model; ``at_mean`` is a deterministic site (the line at x = 50)."""
    beta = ppl.sample("beta", dist.Normal(0.0, PRIOR_SD).expand((2,)).to_event(1))
    ppl.deterministic("at_mean", beta[0] + beta[1] * 50.0)
    with ppl.plate("N", len(x)):
        ppl.sample("y", dist.Normal(beta[0] + beta[1] * x, SIGMA), obs=y)


def exact_posterior():
    """Posterior mean and covariance of ``beta``."""
    design = np.column_stack([np.ones_like(X), X])
    precision = design.T @ design / SIGMA**2 + np.eye(2) / PRIOR_SD**2
    cov = np.linalg.inv(precision)
    return cov @ design.T @ Y / SIGMA**2, cov


def exact_log_evidence():
    design = np.column_stack([np.ones_like(X), X])
    marginal = SIGMA**2 * np.eye(X.size) + PRIOR_SD**2 * design @ design.T
    return float(jax.scipy.stats.multivariate_normal.logpdf(Y, np.zeros(X.size), marginal))
