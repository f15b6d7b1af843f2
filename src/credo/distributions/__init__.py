"""Probability distributions, constraints and bijective transforms (pure JAX).

Every distribution is a JAX pytree usable inside ``jit``/``vmap``/``grad``.
The library never changes JAX's global configuration: enable float64 with
``jax.config.update("jax_enable_x64", True)`` in your program if you need it.

Examples
--------
>>> from credo import distributions as dist
>>> d = dist.Normal(0.0, 1.0).expand((3,)).to_event(1)
>>> d.batch_shape, d.event_shape
((), (3,))
"""

from . import constraints, transforms
from .constraints import Constraint
from .continuous_bernoulli import ContinuousBernoulli
from .continuous import (Beta, Cauchy, Exponential, Gamma, HalfCauchy, HalfNormal, InverseGamma,
                         Laplace, Logistic, LogNormal, Normal, StudentT, Uniform, VonMises, Weibull)
from .discrete import (Bernoulli, Binomial, Categorical, DiscreteUniform, Geometric, Multinomial,
                       NegativeBinomial, NegativeBinomial2, Poisson)
from .distribution import (Delta, Distribution, Flat, HalfFlat, ImproperDistributionError,
                           ImproperUniform, Independent, MaskedDistribution, initial_value)
from .mixtures import Mixture, MixtureSameFamily
from .multivariate import Dirichlet, LKJCholesky, MultivariateNormal
from .transforms import Transform, biject_to

__all__ = [
    "constraints",
    "transforms",
    "Constraint",
    "Transform",
    "biject_to",
    "Distribution",
    "Independent",
    "MaskedDistribution",
    "ImproperDistributionError",
    "initial_value",
    # continuous
    "Normal",
    "HalfNormal",
    "Cauchy",
    "HalfCauchy",
    "StudentT",
    "Laplace",
    "Logistic",
    "LogNormal",
    "Exponential",
    "Gamma",
    "InverseGamma",
    "Beta",
    "ContinuousBernoulli",
    "Uniform",
    "Weibull",
    "VonMises",
    "MultivariateNormal",
    "LKJCholesky",
    "Dirichlet",
    "Delta",
    # discrete
    "Bernoulli",
    "Binomial",
    "Categorical",
    "Multinomial",
    "Poisson",
    "NegativeBinomial",
    "NegativeBinomial2",
    "Geometric",
    "DiscreteUniform",
    # improper
    "Flat",
    "HalfFlat",
    "ImproperUniform",
    # mixtures
    "MixtureSameFamily",
    "Mixture",
]
