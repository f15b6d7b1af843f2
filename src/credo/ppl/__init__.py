"""The model language: models as Python functions, effect handlers, compilation.

Models call the primitives :func:`sample`, :func:`plate`, :func:`deterministic`,
:func:`factor` and :func:`param`; effect handlers (:func:`trace`, :func:`seed`,
:func:`substitute`, :func:`condition`, ...) give those calls meaning. There is
no global mutable state: the handler stack is a :class:`contextvars.ContextVar`
holding an immutable tuple (see :mod:`credo.ppl.runtime`), and randomness
comes only from keys passed to :func:`seed`.

Examples
--------
>>> import jax
>>> import credo.ppl as ppl
>>> from credo import distributions as dist
>>> def model(y=None):
...     mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
...     with ppl.plate("N", 3):
...         ppl.sample("y", dist.Normal(mu, 1.0), obs=y)
>>> ld = ppl.logdensity(model, {"y": [0.1, -0.3, 0.5]})
>>> float(ld.fn(jax.numpy.zeros(ld.dim))) < 0
True
"""

from . import examples
from .graph import ModelGraph, model_graph, render
from .checks import ModelCheck, SiteCheck, check_model, explain_nonfinite
from .handlers import block, condition, mask, scale, seed, substitute, trace, uncondition
from .logdensity import LogDensity, SiteInfo, logdensity
from .predictive import posterior_predictive, prior_predictive
from .primitives import deterministic, factor, param, plate, sample
from .scan import scan
from .discrete import discrete_marginals, infer_discrete
from .enumeration import EnumerationPlan
from .runtime import Handler, MissingKeyError, PlateFrame, Site, Trace
from .structure import ModelStructure
from .target import (MAX_INIT_TRIES, LogJoint, Target, as_target, initial_positions, minibatch_target,
                     require_latents)

__all__ = [
    "sample",
    "param",
    "deterministic",
    "factor",
    "plate",
    "trace",
    "seed",
    "substitute",
    "condition",
    "uncondition",
    "scale",
    "mask",
    "block",
    "logdensity",
    "check_model",
    "explain_nonfinite",
    "ModelCheck",
    "SiteCheck",
    "LogDensity",
    "SiteInfo",
    "Target",
    "as_target",
    "minibatch_target",
    "initial_positions",
    "require_latents",
    "LogJoint",
    "MAX_INIT_TRIES",
    "ModelStructure",
    "prior_predictive",
    "posterior_predictive",
    "model_graph",
    "render",
    "ModelGraph",
    "Site",
    "Handler",
    "Trace",
    "PlateFrame",
    "MissingKeyError",
    "examples",
    "scan",
    "EnumerationPlan",
    "infer_discrete",
    "discrete_marginals",
]
