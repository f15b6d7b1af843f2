"""credo: probabilistic models and inference.

Discrete graphical models (Bayesian networks, Markov random fields, factor
graphs) with exact inference, and, on JAX, a model language with MCMC and
variational inference.
"""

from credo import examples, graphs, io
from credo.errors import (
    ArgumentError,
    DistributionError,
    UnknownKeywordError,
    CPDError,
    ContractionTooLargeError,
    CredoError,
    CycleError,
    ImpossibleEvidenceError,
    ModelError,
    NotConjugateError,
    ParseError,
    UnknownStateError,
    UnknownVariableError,
)
from credo.exact import BatchMPEResult, BatchQueryResult, JunctionTree, MPEResult, QueryResult
from credo.exact.contraction import Contraction
from credo.factors import DiscreteFactor, NoisyOrCPD, TabularCPD
from credo.graphs import EliminationOrder
from credo.inference import elimination_order, mpe, query
from credo.io import read_bif, read_uai, read_xmlbif, write_bif, write_uai, write_xmlbif
from credo.models import BayesianNetwork, FactorGraph, MarkovNetwork

__version__ = "0.1.0"

# JAX-based subpackages load on first use, so discrete-only users (and the
# CLI) don't pay JAX's import time.
_LAZY_SUBMODULES = {"distributions", "viz", "learn", "ppl", "mcmc", "diagnostics", "vi", "sampling",
                    "vae"}
#: Samplers and optimisers, re-exported lazily: name -> module.
_LAZY_NAMES = {"nuts": "credo.workflow", "hmc": "credo.workflow",
               "Posterior": "credo.mcmc.posterior", "load_posterior": "credo.mcmc.posterior_io", "mh": "credo.mcmc.mh",
               "gibbs": "credo.mcmc.gibbs", "advi": "credo.vi", "pathfinder": "credo.vi",
               "Approximation": "credo.vi", "compare": "credo.vi", "cavi": "credo.vi",
               "amortized_guide": "credo.vi"}
#: The model language's primitives, re-exported lazily from credo.ppl.
_LAZY_PPL_NAMES = {"check_model", "sample", "plate", "deterministic", "factor", "param", "logdensity", "LogDensity",
                   "prior_predictive", "posterior_predictive", "model_graph", "ModelGraph",
                   "render", "scan", "infer_discrete", "discrete_marginals"}


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"credo.{name}")
    if name in _LAZY_PPL_NAMES:
        import importlib

        return getattr(importlib.import_module("credo.ppl"), name)
    if name in _LAZY_NAMES:
        import importlib

        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    raise AttributeError(f"module 'credo' has no attribute {name!r}")

__all__ = [
    "examples",
    "distributions",
    "viz",
    "learn",
    "ppl",
    "mcmc",
    "diagnostics",
    "vi",
    "sampling",
    "nuts",
    "hmc",
    "Posterior",
    "mh",
    "gibbs",
    "advi",
    "pathfinder",
    "Approximation",
    "compare",
    "cavi",
    "amortized_guide",
    "scan",
    "infer_discrete",
    "discrete_marginals",
    "vae",
    "graphs",
    "io",
    "ArgumentError",
    "UnknownKeywordError",
    "CredoError",
    "ModelError",
    "CycleError",
    "CPDError",
    "UnknownVariableError",
    "UnknownStateError",
    "ImpossibleEvidenceError",
    "ParseError",
    "DistributionError",
    "NotConjugateError",
    "ContractionTooLargeError",
    "DiscreteFactor",
    "TabularCPD",
    "NoisyOrCPD",
    "BayesianNetwork",
    "MarkovNetwork",
    "FactorGraph",
    "QueryResult",
    "BatchQueryResult",
    "BatchMPEResult",
    "JunctionTree",
    "Contraction",
    "MPEResult",
    "EliminationOrder",
    "query",
    "mpe",
    "elimination_order",
    "read_bif",
    "write_bif",
    "read_xmlbif",
    "write_xmlbif",
    "read_uai",
    "write_uai",
]
__all__ += sorted(set(_LAZY_PPL_NAMES) | set(_LAZY_NAMES) - set(__all__))


def __dir__():
    return sorted(set(globals()) | set(__all__))
