r"""Approximate inference by sampling on discrete graphical models.

Four samplers, all vectorized with numpy over samples (or chains) and
reproducible from a seed (``numpy.random.default_rng(seed)``):

- :func:`forward_sample` -- ancestral sampling of a Bayesian network;
- :func:`rejection_sampling` -- forward samples that agree with the evidence;
- :func:`likelihood_weighting` -- evidence clamped, samples weighted by its likelihood;
- :func:`gibbs_sampling` -- Markov chains redrawing each variable given its
  Markov blanket; Bayesian and Markov networks (e.g. the Ising model).

The three query methods return a :class:`SampledQueryResult`: marginals with
Monte Carlo standard errors. They are also reached through
``credo.query(model, targets, evidence, method="rejection" | "lw" | "gibbs",
num_samples=..., seed=...)``.

References
----------
Koller, D. & Friedman, N. (2009). *Probabilistic Graphical Models*, ch. 12.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from credo.errors import ModelError
from credo.sampling._common import SamplingError, SamplingWarning
from credo.sampling.forward import forward_sample
from credo.sampling.gibbs import GibbsSampler, gibbs_sampling
from credo.sampling.likelihood_weighting import likelihood_weighting
from credo.sampling.rejection import rejection_sampling
from credo.sampling.result import SampledQueryResult

__all__ = [
    "SAMPLING_METHODS",
    "GibbsSampler",
    "SampledQueryResult",
    "SamplingError",
    "SamplingWarning",
    "forward_sample",
    "gibbs_sampling",
    "likelihood_weighting",
    "rejection_sampling",
    "sample_query",
]

#: ``credo.query`` method names and the samplers behind them.
SAMPLING_METHODS = {"gibbs": gibbs_sampling, "lw": likelihood_weighting, "rejection": rejection_sampling}


def sample_query(model, targets: Sequence | None = None, evidence: Mapping | None = None, method: str = "gibbs",
                 num_samples: int | None = None, seed=None, **options) -> SampledQueryResult:
    """Run the sampler named ``method``; ``num_samples=None`` keeps the sampler's default.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork or FactorGraph
        Undirected models support only ``"gibbs"``.
    method : {"gibbs", "lw", "rejection"}
    num_samples : int, optional
    seed : int or numpy.random.Generator, optional
    **options
        Passed to the sampler (``num_chains=``, ``burn_in=``, ``batch_size=``, ...).
    """
    if method not in SAMPLING_METHODS:
        raise ModelError(f"unknown sampling method {method!r}; choose one of {sorted(SAMPLING_METHODS)}")
    if num_samples is not None:
        options["num_samples"] = num_samples
    return SAMPLING_METHODS[method](model, targets=targets, evidence=evidence, seed=seed, **options)
