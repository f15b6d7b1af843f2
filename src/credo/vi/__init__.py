r"""Variational inference: ADVI, normalizing flows, Pathfinder, ELBO estimators, diagnostics.

Variational inference replaces sampling with optimisation: choose a family
:math:`q_\theta` of distributions on the model's flat unconstrained space and
maximise the evidence lower bound

.. math::

    \mathrm{ELBO}(\theta) = E_{q_\theta}[\log p(x, y) - \log q_\theta(x)] \le \log p(y),

**higher is better** (every ELBO in this package is reported with this sign).

- :func:`advi`: stochastic-gradient ELBO maximisation (Kucukelbir et al.
  2017) with mean-field, full-rank, low-rank-plus-diagonal Gaussian and
  normalizing-flow families (:mod:`~credo.vi.families`, :mod:`~credo.vi.flows`),
  optax optimisers and chunked compiled loops.
- :func:`cavi`: coordinate-ascent VI with closed-form updates for
  conditionally conjugate models (Bishop 2006, ch. 10).
- :func:`amortized_guide`: an encoder network predicts each data point's
  local posterior (amortized inference); :mod:`~credo.vi.vae` builds
  variational autoencoders on it.
- :func:`pathfinder`: quasi-Newton variational inference (Zhang et al.
  2022); :func:`pathfinder_init` turns it into MCMC initial points.
- :class:`Approximation`: draws on the constrained scale, summary, ArviZ
  export, Pareto :math:`\hat k` (Yao et al. 2018), importance-sampling
  evidence estimate.
- :mod:`~credo.vi.objectives`: ELBO estimators (reparameterization,
  score function, analytic KL, IWAE).
- :func:`compare`, :func:`plot_compare`: VI against MCMC, element by element.

See ``docs/variational-inference.md``.

Examples
--------
Fitting is one call (see :func:`advi` and :func:`pathfinder` for runnable
examples)::

    approx = credo.vi.advi(model, data, family="fullrank")
    draws = approx.sample(1000)          # dict: site -> (1000, *shape)
    approx.psis_khat()                   # < 0.7: the approximation is usable

The families are equinox modules:

>>> import jax.numpy as jnp
>>> import credo.vi as vi
>>> q = vi.FullRank(jnp.zeros(2), jnp.array([[1.0, 0.0], [0.5, 2.0]]))
>>> q.covariance().tolist()
[[1.0, 0.5], [0.5, 4.25]]
"""

from . import families, flows, objectives
from .amortized import AmortizedApproximation, amortized_guide, amortized_problem
from .advi import DEFAULT_ESTIMATORS, DEFAULT_LEARNING_RATES, FAMILIES, Preconditioned, advi, fit
from .approximation import KHAT_THRESHOLD, Approximation, LogEvidence
from .cavi import CAVIApproximation, cavi
from .compare import compare, plot_compare
from .families import FactoredGaussian, Family, FullRank, LowRank, MeanField, Mixture
from .flows import Flow
from .objectives import (elbo_analytic_kl, elbo_reparam, elbo_reparam_entropy, elbo_score,
                         iwae_bound, kl_gaussian)
from .pathfinder import pathfinder, pathfinder_init

__all__ = [
    "advi",
    "fit",
    "pathfinder",
    "pathfinder_init",
    "cavi",
    "CAVIApproximation",
    "amortized_guide",
    "amortized_problem",
    "AmortizedApproximation",
    "Approximation",
    "LogEvidence",
    "compare",
    "plot_compare",
    "Family",
    "MeanField",
    "FullRank",
    "LowRank",
    "FactoredGaussian",
    "Mixture",
    "Flow",
    "Preconditioned",
    "elbo_reparam",
    "elbo_reparam_entropy",
    "elbo_score",
    "elbo_analytic_kl",
    "kl_gaussian",
    "iwae_bound",
    "FAMILIES",
    "DEFAULT_LEARNING_RATES",
    "DEFAULT_ESTIMATORS",
    "KHAT_THRESHOLD",
    "families",
    "flows",
    "objectives",
]
