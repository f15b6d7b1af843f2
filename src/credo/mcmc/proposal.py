"""Proposals and the progressive multinomial sampling that NUTS draws them with.

Every state ``z`` on a trajectory started at energy ``H0`` has weight
``w(z) = exp(H0 - H(z))``; multinomial NUTS returns a state drawn with
probability proportional to ``w`` (Betancourt 2017, sec. A.3). The draw is
built progressively while the trajectory grows, keeping only one candidate
and the log of the total weight:

* *uniform* progressive sampling, used inside a subtree, takes the new part
  with probability ``W_new / (W_old + W_new)``, which yields an exact
  multinomial draw over the subtree;
* *biased* progressive sampling, used when a finished subtree is merged into
  the trajectory, takes it with probability ``min(1, W_new / W_old)``, which
  favours states far from the start and so improves mixing while keeping the
  target invariant (Betancourt 2017, sec. A.3.2; Stan's ``base_nuts``).

References
----------
.. [1] Betancourt, M. (2017). A conceptual introduction to Hamiltonian Monte
   Carlo. arXiv:1701.02434.
.. [2] Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn sampler. *JMLR* 15.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = [
    "Proposal",
    "energy_error",
    "acceptance_probability",
    "uniform_transition_probability",
    "biased_transition_probability",
    "progressive_uniform_sampling",
    "progressive_biased_sampling",
    "select",
]


class Proposal(NamedTuple):
    """A candidate state and the log of the total weight it was drawn from.

    Attributes
    ----------
    position : Array, shape (d,)
    logdensity : Array, shape ()
    logdensity_grad : Array, shape (d,)
    energy : Array, shape ()
        ``H`` of the candidate (Stan's ``energy__`` when it is returned).
    log_weight : Array, shape ()
        ``log sum_z exp(H0 - H(z))`` over the states it was drawn from.
    """

    position: jax.Array
    logdensity: jax.Array
    logdensity_grad: jax.Array
    energy: jax.Array
    log_weight: jax.Array


def energy_error(initial_energy, energy):
    """``H - H0``, with NaN mapped to ``+inf`` (a failed step is a divergence, as in Stan)."""
    delta = energy - initial_energy
    return jnp.where(jnp.isnan(delta), jnp.inf, delta)


def acceptance_probability(delta_energy):
    """Metropolis acceptance ``min(1, exp(-(H - H0)))`` of a state with energy error ``delta_energy``."""
    return jnp.exp(jnp.minimum(-delta_energy, 0.0))


def select(pred, on_true, on_false):
    """Leafwise ``jnp.where(pred, on_true, on_false)`` over two pytrees of the same structure."""
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def uniform_transition_probability(log_weight, new_log_weight):
    """``W_new / (W_old + W_new)``; zero when the new part has no weight (even if the old has none)."""
    total = jnp.logaddexp(log_weight, new_log_weight)
    return jnp.where(new_log_weight > -jnp.inf, jnp.exp(new_log_weight - total), 0.0)


def biased_transition_probability(log_weight, new_log_weight):
    """``min(1, W_new / W_old)`` (Betancourt 2017, eq. in sec. A.3.2)."""
    return jnp.exp(jnp.minimum(new_log_weight - log_weight, 0.0))


def progressive_uniform_sampling(u, proposal: Proposal, new_proposal: Proposal) -> Proposal:
    """Merge two adjacent parts of a subtree, keeping one candidate drawn proportionally to weight.

    Parameters
    ----------
    u : Array, shape ()
        A ``Uniform(0, 1)`` draw.
    proposal, new_proposal : Proposal
        The candidates of the two parts; ``proposal.log_weight = -inf`` marks
        an empty part.

    Returns
    -------
    Proposal
        ``new_proposal``'s state with probability ``W_new / (W_old + W_new)``,
        else ``proposal``'s; ``log_weight`` is ``log(W_old + W_new)``.
    """
    take_new = u < uniform_transition_probability(proposal.log_weight, new_proposal.log_weight)
    chosen = select(take_new, new_proposal, proposal)
    return chosen._replace(log_weight=jnp.logaddexp(proposal.log_weight, new_proposal.log_weight))


def progressive_biased_sampling(u, proposal: Proposal, new_proposal: Proposal) -> Proposal:
    """Merge a finished subtree into the trajectory (biased progressive sampling).

    Parameters
    ----------
    u : Array, shape ()
        A ``Uniform(0, 1)`` draw.
    proposal : Proposal
        The trajectory so far (its weight is finite: it holds the start).
    new_proposal : Proposal
        The new subtree's candidate.

    Returns
    -------
    Proposal
        ``new_proposal``'s state with probability ``min(1, W_new / W_old)``;
        ``log_weight`` is ``log(W_old + W_new)``.
    """
    take_new = u < biased_transition_probability(proposal.log_weight, new_proposal.log_weight)
    chosen = select(take_new, new_proposal, proposal)
    return chosen._replace(log_weight=jnp.logaddexp(proposal.log_weight, new_proposal.log_weight))
