"""Example models.

Each model is a plain function; its data are its keyword arguments.
``EXAMPLES`` maps a name to ``(model, data)`` ready for
``credo.ppl.logdensity(model, data)``.
"""

from __future__ import annotations

import numpy as np

from credo import distributions as dist

from .primitives import deterministic, plate, sample

__all__ = [
    "flu_prevalence",
    "eight_schools_centered",
    "eight_schools_noncentered",
    "EIGHT_SCHOOLS_DATA",
    "hierarchical_normal",
    "sbc_hierarchical",
    "EXAMPLES",
]

#: Rubin (1981): estimated coaching effects and their standard errors in eight schools.
EIGHT_SCHOOLS_DATA = {
    "y": np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]),
    "sigma": np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]),
}


def flu_prevalence(n=100, y=12):
    """Flu prevalence: ``y`` of ``n`` people tested positive.

    ``theta ~ Beta(1, 1)``, ``y ~ Binomial(n, theta)``; the posterior is
    ``Beta(1 + y, 1 + n - y)``. Pass ``y=None`` to simulate ``y``.
    """
    theta = sample("theta", dist.Beta(1.0, 1.0))
    sample("y", dist.Binomial(n, theta), obs=y)


def eight_schools_centered(sigma, y=None):
    """Eight schools, centred: ``theta_j ~ Normal(mu, tau)``, ``y_j ~ Normal(theta_j, sigma_j)``.

    Parameters
    ----------
    sigma : array, shape ``(J,)``
        Known standard errors.
    y : array, shape ``(J,)``, optional
        Observed effects.
    """
    mu = sample("mu", dist.Normal(0.0, 5.0))
    tau = sample("tau", dist.HalfCauchy(5.0))
    with plate("school", len(sigma)):
        theta = sample("theta", dist.Normal(mu, tau))
        sample("y", dist.Normal(theta, sigma), obs=y)


def eight_schools_noncentered(sigma, y=None):
    """Eight schools, non-centred: ``theta_j = mu + tau * theta_trans_j``, ``theta_trans_j ~ Normal(0, 1)``.

    Same arguments as :func:`eight_schools_centered`; the geometry suits HMC.
    """
    mu = sample("mu", dist.Normal(0.0, 5.0))
    tau = sample("tau", dist.HalfCauchy(5.0))
    with plate("school", len(sigma)):
        theta_trans = sample("theta_trans", dist.Normal(0.0, 1.0))
        theta = deterministic("theta", mu + tau * theta_trans)
        sample("y", dist.Normal(theta, sigma), obs=y)


def hierarchical_normal(num_groups=4, y=None):
    """A small non-centred hierarchical normal model (for calibration checks).

    ``mu ~ Normal(0, 1)``, ``tau ~ HalfNormal(1)``, ``z_j ~ Normal(0, 1)``,
    ``theta_j = mu + tau z_j``, ``y_j ~ Normal(theta_j, 1)``. Every prior is
    proper, so data simulated from the prior suit simulation-based calibration.
    """
    mu = sample("mu", dist.Normal(0.0, 1.0))
    tau = sample("tau", dist.HalfNormal(1.0))
    with plate("group", num_groups):
        z = sample("z", dist.Normal(0.0, 1.0))
        theta = deterministic("theta", mu + tau * z)
        sample("y", dist.Normal(theta, 1.0), obs=y)


def sbc_hierarchical():
    """``(model, data, observed)`` for :func:`credo.mcmc.sbc.simulation_based_calibration`."""
    return hierarchical_normal, {"num_groups": 4}, ["y"]


EXAMPLES = {
    "flu_prevalence": (flu_prevalence, {"n": 100, "y": 12}),
    "eight_schools_centered": (eight_schools_centered, EIGHT_SCHOOLS_DATA),
    "eight_schools_noncentered": (eight_schools_noncentered, EIGHT_SCHOOLS_DATA),
}
