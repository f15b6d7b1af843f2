"""Gibbs sampling for models with continuous and discrete latent sites.

:func:`gibbs` updates each latent site from its complete conditional in turn:
exact draws for conjugate pairs (:mod:`credo.ppl.conjugacy`) and for discrete
sites (by enumeration), slice sampling, Metropolis or NUTS for the rest. It is
an :class:`~credo.mcmc.runner.Algorithm` run by the generic MCMC runner, so it
returns the same :class:`~credo.mcmc.Posterior` as :func:`credo.nuts`.
"""

from ._program import GibbsProgram, SiteLayout
from .sampler import METHODS, Gibbs, GibbsState, build_updates, describe, gibbs, plan
from .updates import Conjugate, Enumerate, NUTSBlock, RandomWalk, Slice

__all__ = ["gibbs", "plan", "Gibbs", "GibbsState", "GibbsProgram", "SiteLayout", "METHODS",
           "build_updates", "describe", "Conjugate", "Enumerate", "Slice", "RandomWalk",
           "NUTSBlock"]
