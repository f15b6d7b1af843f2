"""Markov chain Monte Carlo: small kernels, Stan's adaptation, and one generic runner.

The pieces follow BlackJAX's design: integrators (:mod:`.integrators`),
metrics (:mod:`.metrics`), proposals (:mod:`.proposal`), trajectories
(:mod:`.trajectory`) and kernels (:mod:`.hmc`, :mod:`.nuts`) are pure
functions, ``init(position, logdensity_fn) -> State`` and
``step(key, state, ...) -> (State, Info)``. Warmup adaptation
(:mod:`.adaptation`) is a set of ``(init, update)`` pairs and Stan's window
adaptation an ``(init, update, final)`` triple. An
:class:`~credo.mcmc.algorithms.Algorithm` (:mod:`.algorithms`) says how a chain
moves and adapts; the compiled chunk programs (:mod:`.chunks`) step many chains
at once, and the runner (:mod:`.runner`) runs them chunk by chunk and returns a
:class:`~credo.mcmc.posterior.Posterior`.

User-facing entry points: :func:`credo.nuts`, :func:`credo.hmc`,
:func:`credo.mh`, :func:`credo.gibbs`.
"""

from . import adaptation, hmc, integrators, metrics, nuts, proposal, trajectory
from .posterior import GradEvals, Posterior
from .algorithms import HMC, NUTS, Algorithm, Hamiltonian
from .chunks import Schedule
from .runner import sample

__all__ = ["adaptation", "hmc", "integrators", "metrics", "nuts", "proposal", "trajectory",
           "Posterior", "GradEvals", "Algorithm", "Hamiltonian", "NUTS", "HMC", "Schedule", "sample"]
