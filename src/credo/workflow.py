"""Entry points that join MCMC and VI: ``credo.nuts`` and ``credo.hmc`` with ``init="pathfinder"``.

:mod:`credo.mcmc` and :mod:`credo.vi` are peers in the layer rule (neither
imports the other), so Pathfinder's starting points for MCMC are wired here,
one layer above both: ``init="pathfinder"`` becomes an initialiser that the
runner calls (:func:`pathfinder_initialiser`). Everything else passes
through to :func:`credo.mcmc.runner.nuts` and :func:`credo.mcmc.runner.hmc`
unchanged.
"""

from __future__ import annotations

import functools

import numpy as np

from credo.mcmc import runner

__all__ = ["nuts", "hmc", "pathfinder_initialiser"]


def pathfinder_initialiser(model, data, chains: int, key) -> np.ndarray:
    """``(chains, dim)`` unconstrained starting points from Pathfinder (:func:`credo.vi.pathfinder_init`).

    The runner's initialiser protocol: ``init(model, data, chains, key)``,
    with ``key`` the run's key (``credo.mcmc.rng.key_from_seed(seed)``).
    """
    from credo.vi import pathfinder_init

    return np.asarray(pathfinder_init(model, data, num_chains=chains, seed=key))


def _resolve(init):
    if isinstance(init, str) and init == "pathfinder":
        return pathfinder_initialiser
    return init


@functools.wraps(runner.nuts)
def nuts(model, data=None, *, init="uniform", **kwargs):
    return runner.nuts(model, data, init=_resolve(init), **kwargs)


@functools.wraps(runner.hmc)
def hmc(model, data=None, *, init="uniform", **kwargs):
    return runner.hmc(model, data, init=_resolve(init), **kwargs)
