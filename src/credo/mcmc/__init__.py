"""Markov chain Monte Carlo: small kernels, Stan's adaptation, and one generic runner.

The pieces follow BlackJAX's design: integrators (:mod:`.integrators`),
metrics (:mod:`.metrics`), proposals (:mod:`.proposal`), trajectories
(:mod:`.trajectory`) and kernels (:mod:`.hmc`, :mod:`.nuts`) are pure
functions, ``init(position, logdensity_fn) -> State`` and
``step(key, state, ...) -> (State, Info)``. Warmup adaptation
(:mod:`.adaptation`) is a set of ``(init, update)`` pairs. The runner
(:mod:`.runner`) runs any :class:`~credo.mcmc.runner.Algorithm` on many chains
and returns a :class:`~credo.mcmc.posterior.Posterior`.

User-facing entry points: :func:`credo.nuts`, :func:`credo.hmc`,
:func:`credo.mh`, :func:`credo.gibbs`.
"""

from . import adaptation, hmc, integrators, metrics, nuts, proposal, trajectory
from .posterior import GradEvals, Posterior
from .runner import HMC, NUTS, Algorithm, Schedule, sample

__all__ = ["adaptation", "hmc", "integrators", "metrics", "nuts", "proposal", "trajectory",
           "Posterior", "GradEvals", "Algorithm", "NUTS", "HMC", "Schedule", "sample"]
