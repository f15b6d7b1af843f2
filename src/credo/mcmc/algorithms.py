"""What a chain does, for the generic runner: the :class:`Algorithm` protocol, NUTS and HMC.

An algorithm says how one chain moves and adapts, as pure methods on a
frozen dataclass; the runner (:mod:`credo.mcmc.runner`) runs any of them on
many chains in compiled chunks. :class:`NUTS` and :class:`HMC` share one
:class:`Hamiltonian` base: the chain state, Stan's windowed adaptation
(:func:`credo.mcmc.adaptation.window_adaptation`) and the statistics; they
differ only in the transition. Metropolis-Hastings (:mod:`credo.mcmc.mh`)
and Gibbs (:mod:`credo.mcmc.gibbs`) define their own algorithms.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from . import adaptation, hmc as hmc_kernel, nuts as nuts_kernel

__all__ = ["Algorithm", "Hamiltonian", "NUTS", "HMC"]


class Algorithm:
    """How a chain moves and adapts; the runner is generic over these.

    An algorithm is a frozen dataclass (hashable by value, so equal settings
    reuse a compiled program) with pure methods:

    - ``init_state(position, fn) -> state`` and ``position(state) -> flat``;
    - ``init_tuning(dim, dtype) -> tuning``: the adapted parameters (step
      size, mass matrix, proposal scale, ...) as a pytree;
    - ``prepare(tuning, key, state, fn, x) -> tuning``: before a step (e.g.
      Stan's step-size search at the start of a window);
    - ``step(key, state, fn, tuning) -> (state, info)``;
    - ``adapt(tuning, state, info, x) -> tuning``: after a warmup step;
    - ``stats(state, info, tuning) -> dict`` of per-draw scalars, with at least
      ``lp``, ``is_divergent`` and ``num_integration_steps`` (gradient evaluations).

    ``x`` is one iteration's entries of the runner's
    :class:`~credo.mcmc.chunks.Schedule`.
    """

    name = "mcmc"
    uses_mass_windows = False
    # whether the algorithm offers noise / start / advance / is_done / finish (see NUTS)
    steps_one_at_a_time = False
    #: the trajectory cap reported on the Posterior (None: the algorithm has none)
    max_tree_depth = None

    def prepare(self, tuning, key, state, fn, x):
        return tuning

    def final_tuning(self, tuning):
        """The adapted values reported on the Posterior: ``(step_size, inverse_mass_matrix)``."""
        return tuning.step_size, tuning.inverse_mass_matrix


@dataclasses.dataclass(frozen=True)
class Hamiltonian(Algorithm):
    """What NUTS and HMC share: the chain state, Stan's windowed warmup and the statistics.

    A subclass gives ``step`` (one transition). The tuning is a
    :class:`~credo.mcmc.adaptation.WindowAdaptationState`.
    """

    # Read only outside the compiled program (init_tuning), so they are left out of the
    # hash: runs that differ in them alone share one program.
    target_accept: float = dataclasses.field(default=0.8, compare=False)
    dense_mass: bool = False
    initial_step_size: float = dataclasses.field(default=1.0, compare=False)
    adapt_step_size: bool = True
    adapt_mass: bool = True
    divergence_threshold: float = 1000.0

    @property
    def uses_mass_windows(self):
        return self.adapt_mass

    def _adaptation(self):
        return adaptation.window_adaptation(self.dense_mass, self.target_accept,
                                            adapt_step_size=self.adapt_step_size,
                                            adapt_mass=self.adapt_mass)

    def init_state(self, position, fn):
        return hmc_kernel.init(position, fn)

    def position(self, state):
        return state.position

    def init_tuning(self, dim, dtype):
        init, _, _ = self._adaptation()
        return init(dim, dtype, self.initial_step_size)

    def prepare(self, tuning, key, state, fn, x):
        """Stan's step-size search before the first warmup iteration and after each window."""
        if not self.adapt_step_size:
            return tuning

        def search(t):
            # Stan's init_stepsize aims at 0.8 whatever the dual averaging target
            step_size = adaptation.find_reasonable_step_size(key, state, fn,
                                                             t.inverse_mass_matrix, t.step_size)
            return adaptation.restart_step_size(t, step_size)

        return jax.lax.cond(x.search & x.warmup, search, lambda t: t, tuning)

    def adapt(self, tuning, state, info, x):
        _, update, _ = self._adaptation()
        stage = adaptation.WarmupStage(x.slow, x.window_end, x.last_warmup)
        return update(tuning, stage, state, info.acceptance_rate)

    def final_tuning(self, tuning):
        _, _, final = self._adaptation()
        return final(tuning)

    def stats(self, state, info, tuning):
        out = {"lp": state.logdensity, "acceptance_rate": info.acceptance_rate,
               "step_size": tuning.step_size, "energy": info.energy,
               "num_integration_steps": jnp.asarray(info.num_integration_steps, jnp.int32),
               "is_divergent": info.is_divergent}
        out.update(self._extra_stats(info))
        return out

    def _extra_stats(self, info):
        return {}


@dataclasses.dataclass(frozen=True)
class NUTS(Hamiltonian):
    """Multinomial NUTS with Stan's windowed adaptation (see :func:`credo.nuts`)."""

    max_tree_depth: int = 10

    name = "nuts"

    def step(self, key, state, fn, tuning):
        kernel = nuts_kernel.build_kernel(divergence_threshold=self.divergence_threshold)
        return kernel(key, state, fn, tuning.step_size, tuning.inverse_mass_matrix,
                      max_tree_depth=self.max_tree_depth)

    # ``step`` cut into its leapfrog steps, for chains that do not wait for each other
    # (see :func:`credo.mcmc.chunks.chunk_unsynchronized`); the same random numbers as ``step``.
    steps_one_at_a_time = True

    def noise(self, key, position):
        """The random numbers ``step(key, ...)`` uses, drawn ahead of the step."""
        return nuts_kernel.transition_noise(key, position)

    def start(self, noise, state, fn, tuning):
        return nuts_kernel.transition_init(noise, state, tuning.step_size,
                                           tuning.inverse_mass_matrix, self.max_tree_depth)

    def advance(self, transition, fn, tuning):
        """One leapfrog step of every chain's transition (called under ``vmap``)."""
        return nuts_kernel.transition_step(transition, fn, tuning.inverse_mass_matrix,
                                           self.max_tree_depth, self.divergence_threshold,
                                           batched=True)

    def is_done(self, transition):
        return nuts_kernel.transition_done(transition)

    def finish(self, transition):
        return nuts_kernel.transition_finish(transition)

    def _extra_stats(self, info):
        return {"tree_depth": jnp.asarray(info.tree_depth, jnp.int32)}


@dataclasses.dataclass(frozen=True)
class HMC(Hamiltonian):
    """Static HMC: ``num_steps`` leapfrog steps, same adaptation as :class:`NUTS`."""

    num_steps: int = 16

    name = "hmc"

    def step(self, key, state, fn, tuning):
        kernel = hmc_kernel.build_kernel(divergence_threshold=self.divergence_threshold)
        return kernel(key, state, fn, tuning.step_size, tuning.inverse_mass_matrix, self.num_steps)
