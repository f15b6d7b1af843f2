"""The Gibbs sampler as a runner :class:`~credo.mcmc.runner.Algorithm`, and :func:`gibbs`."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ArgumentError, ModelError
from credo.ppl import require_latents
from credo.ppl.conjugacy import conjugate_conditional

from .. import _checks, runner
from ..posterior import Posterior
from ..runner import Algorithm
from ..trajectory import MAX_SUPPORTED_TREE_DEPTH
from ._program import GibbsProgram
from .updates import Conjugate, Enumerate, NUTSBlock, RandomWalk, Slice, enumeration_axes

__all__ = ["gibbs", "plan", "Gibbs", "GibbsState", "METHODS"]

#: Update methods a ``steps`` entry may name.
METHODS = ("conjugate", "enumerate", "slice", "mh", "nuts")


class GibbsState(NamedTuple):
    """A Gibbs chain: the flat vector (see :class:`GibbsProgram`), its log joint density, and
    the constrained values of the latent sites (kept so a sweep need not recompute them)."""

    position: jax.Array
    logdensity: jax.Array
    values: dict


@dataclasses.dataclass(frozen=True, eq=False)
class Gibbs(Algorithm):
    """A systematic-scan Gibbs sweep over ``updates``, in order.

    Compared by identity (it holds its model's :class:`GibbsProgram`).

    Attributes
    ----------
    program : GibbsProgram
    updates : tuple
        Update objects of :mod:`credo.mcmc.gibbs.updates`.
    """

    program: GibbsProgram
    updates: tuple

    name = "gibbs"

    @property
    def uses_mass_windows(self):
        return any(isinstance(u, NUTSBlock) for u in self.updates)

    def init_state(self, position, fn):
        values, lp = self.program.evaluate(position)
        return GibbsState(position, lp, values)

    def position(self, state):
        return state.position

    def init_tuning(self, dim, dtype):
        # the leading leaf keeps the chain axis even when no update has tuning
        return jnp.zeros((), dtype), tuple(u.init_tuning(self.program, dtype) for u in self.updates)

    def prepare(self, tuning, key, state, fn, x):
        if not any(isinstance(u, NUTSBlock) for u in self.updates):
            return tuning
        values = state.values
        keys = jax.random.split(key, len(self.updates))
        inner = tuple(u.prepare(self.program, t, k, values, x)
                      for u, t, k in zip(self.updates, tuning[1], keys))
        return tuning[0], inner

    def step(self, key, state, fn, tuning):
        values = state.values
        infos = []
        for u, t, k in zip(self.updates, tuning[1], jax.random.split(key, len(self.updates))):
            values, info = u.update(self.program, k, values, t)
            infos.append(info)
        position, lp = self.program.flatten_with_logdensity(values)
        return GibbsState(position, lp, values), tuple(infos)

    def adapt(self, tuning, state, info, x):
        return tuning[0], tuple(u.adapt(self.program, t, i, x)
                                for u, t, i in zip(self.updates, tuning[1], info))

    def stats(self, state, info, tuning):
        parts = [u.stats(i) for u, i in zip(self.updates, info)]
        accept = [p[0] for u, p in zip(self.updates, parts) if isinstance(u, (RandomWalk, NUTSBlock))]
        out = {"lp": state.logdensity,
               "acceptance_rate": jnp.mean(jnp.stack(accept)) if accept else jnp.ones((), state.logdensity.dtype),
               "num_integration_steps": sum((p[1] for p in parts), jnp.zeros((), jnp.int32)),
               "is_divergent": jnp.any(jnp.stack([p[2] for p in parts]))}
        return out

    def final_tuning(self, tuning):
        chains = tuning[0].shape[0]
        return np.zeros(chains), np.ones((chains, self.program.dim))


def _site_order(program, sites):
    order = list(program.layout)
    return min(order.index(s) for s in sites)


def _make_update(program, sites: tuple, method: str, nuts_settings: dict, seed: int):
    lay = program.layout
    discrete = [s for s in sites if lay[s].discrete]
    if method == "enumerate":
        if len(sites) != 1 or not discrete:
            raise ModelError(f"'enumerate' updates one discrete site at a time, got {sites}")
        (site,) = sites
        fn = program.structure.prototype[site].fn
        if not fn.has_enumerate_support or tuple(fn.event_shape) != ():
            raise ModelError(f"discrete site {site!r} ({type(fn).__name__}) has no finite support "
                             "to enumerate; Gibbs supports Bernoulli, Categorical, Binomial, "
                             "DiscreteUniform latent sites")
        support = tuple(int(v) for v in np.ravel(np.asarray(fn.enumerate_support(expand=False))))
        return Enumerate(site, support, enumeration_axes(program, site))
    if discrete:
        raise ModelError(f"discrete sites {discrete} can only be updated by 'enumerate', not {method!r}")
    if method == "conjugate":
        if len(sites) != 1:
            raise ModelError(f"'conjugate' updates one site at a time, got {sites}")
        cond = conjugate_conditional(None, site=sites[0], structure=program.structure, seed=seed)
        if cond is None:
            raise ModelError(f"site {sites[0]!r} has no conjugate complete conditional that credo "
                             "recognises; use 'slice', 'mh' or 'nuts'")
        return Conjugate(sites[0], cond)
    if method == "slice":
        return Slice(tuple(sites))
    if method == "mh":
        return RandomWalk(tuple(sites))
    if method == "nuts":
        return NUTSBlock(tuple(sites), runner.NUTS(**nuts_settings))
    raise ArgumentError("steps", f"unknown update method {method!r} for {sites}; use one of {METHODS}")


def build_updates(program: GibbsProgram, steps: dict | None = None, *, fallback: str = "slice",
                  nuts_settings: dict | None = None, seed: int = 0) -> tuple:
    """The sweep's updates: ``steps`` as given, the other sites chosen automatically.

    Unlisted discrete sites are enumerated; unlisted continuous sites get
    their conjugate conditional when one is detected, else ``fallback``.
    Enumerated sites come first (their draws set up the continuous
    conditionals, as in data augmentation), then the others in model order.
    """
    nuts_settings = nuts_settings or {}
    steps = dict(steps or {})
    if fallback not in ("slice", "mh", "nuts"):
        raise ArgumentError("fallback", f"must be 'slice', 'mh' or 'nuts', got {fallback!r}")
    chosen, covered = [], set()
    for key, method in steps.items():
        sites = (key,) if isinstance(key, str) else tuple(key)
        unknown = [s for s in sites if s not in program.layout]
        if unknown:
            raise ModelError(f"steps names {unknown}, which are not latent sites "
                             f"(latent: {list(program.layout)})")
        twice = covered.intersection(sites)
        if twice:
            raise ModelError(f"sites {sorted(twice)} appear in more than one step")
        covered.update(sites)
        chosen.append(_make_update(program, sites, method, nuts_settings, seed))
    for site, lay in program.layout.items():
        if site in covered:
            continue
        if lay.discrete:
            chosen.append(_make_update(program, (site,), "enumerate", nuts_settings, seed))
            continue
        cond = conjugate_conditional(None, site=site, structure=program.structure, seed=seed)
        if cond is not None:
            chosen.append(Conjugate(site, cond))
        else:
            chosen.append(_make_update(program, (site,), fallback, nuts_settings, seed))
    chosen.sort(key=lambda u: (not isinstance(u, Enumerate), _site_order(program, u.sites)))
    return tuple(chosen)


def describe(updates) -> dict:
    """``{site or tuple of sites: description}`` of a sweep, in sweep order."""
    return {(u.sites[0] if len(u.sites) == 1 else u.sites): u.label for u in updates}


def plan(model, data: dict | None = None, *, steps: dict | None = None,
         fallback: str = "slice") -> dict:
    """How :func:`gibbs` would update each site, without sampling.

    Returns
    -------
    dict
        Site name (or tuple of names for a block) -> description of its
        update, in sweep order, e.g. ``{"theta": "conjugate Beta-Binomial -> Beta"}``.
    """
    program = GibbsProgram(model, data)
    return describe(build_updates(program, steps, fallback=fallback))


def gibbs(model, data: dict | None = None, *, steps: dict | None = None, chains: int = 4,
          warmup: int = 1000, draws: int = 1000, seed=0, progress: bool = True,
          fallback: str = "slice", init="uniform", chain_method: str = "vectorized",
          target_accept: float = 0.8, max_tree_depth: int = 10, chunk_size: int | None = None,
          save_warmup: bool = False) -> Posterior:
    """Sample a model by Gibbs sampling: each site from its complete conditional in turn.

    A sweep updates every latent site once (systematic scan), each from
    ``p(site | all other sites, data)`` (Geman & Geman 1984; Gelman et al.
    BDA3 sec. 11.1):

    - continuous sites whose conditional is conjugate (detected by
      :mod:`credo.ppl.conjugacy`: Beta-Bernoulli/Binomial/Geometric,
      Gamma-Poisson/Exponential, Gamma precision and Inverse-Gamma variance of
      a Normal, Dirichlet-Categorical/Multinomial, Normal-Normal and Normal
      linear regression, sites without stochastic children) are drawn exactly;
    - discrete sites with a finite support (Bernoulli, Categorical, ...,
      also inside plates, e.g. ``z[n]``) are drawn exactly by enumerating their
      values, all plate elements at once when they are conditionally independent;
    - other continuous sites get ``fallback``: a univariate slice sampler per
      coordinate (Neal 2003), Metropolis-within-Gibbs, or NUTS.

    Parameters
    ----------
    model : callable
        A credo model function; discrete latent sites are allowed.
    data : dict, optional
        Model arguments and observations (baked into the compiled program).
    steps : dict, optional
        Site name, or tuple of names for a block, -> ``"conjugate"``,
        ``"enumerate"``, ``"slice"``, ``"mh"`` or ``"nuts"``; e.g.
        ``{"z": "enumerate", "sigma": "slice", ("mu", "tau"): "nuts"}``. A NUTS
        block adapts its step size and diagonal mass matrix during warmup as
        :func:`credo.nuts` does.
    chains, warmup, draws : int
        Sweeps: ``warmup`` (burn-in; slice widths, MH scales and NUTS tuning
        adapt there) then ``draws`` kept per chain.
    seed : int or PRNG key
    progress : bool
        Progress bar; then the summary, warnings and each site's update.
    fallback : {"slice", "mh", "nuts"}
        Update of continuous sites without a conjugate conditional.
    init : {"uniform", "median", "prior"}, dict or array
        Initial values: a strategy as for :func:`credo.nuts` (discrete sites
        start from prior draws), a dict of constrained values (sites left out
        start from a fixed draw), or flat arrays.
    chain_method : {"vectorized", "sequential", "parallel"}
    target_accept, max_tree_depth
        Settings of NUTS blocks.
    chunk_size : int, optional
    save_warmup : bool

    Returns
    -------
    Posterior
        Draws of every latent site (discrete ones as integers) and
        deterministic site; ``posterior.gibbs_updates`` maps each site (or
        block) to the update used. ``stats["acceptance_rate"]`` is the mean
        acceptance of MH and NUTS updates (1 when all updates are exact draws
        or slice moves).

    Examples
    --------
    >>> from credo.mcmc.gibbs import gibbs
    >>> from credo.ppl.examples import flu_prevalence
    >>> post = gibbs(flu_prevalence, {"n": 100, "y": 12}, chains=2, warmup=50, draws=200,
    ...              progress=False)
    >>> post.gibbs_updates
    {'theta': 'conjugate Beta-Binomial -> Beta'}
    """
    _checks.run_arguments(chains=chains, warmup=warmup, draws=draws, chain_method=chain_method,
                          chunk_size=chunk_size, methods=runner.CHAIN_METHODS)
    settings = dict(target_accept=_checks.probability("target_accept", target_accept),
                    max_tree_depth=_checks.integer("max_tree_depth", max_tree_depth, minimum=1,
                                                   maximum=MAX_SUPPORTED_TREE_DEPTH))
    with runner._StopOnInterrupt():  # Ctrl-C while the model compiles stops the run too
        program = GibbsProgram(model, data)
        require_latents(program.dim)
        updates = build_updates(program, steps, fallback=fallback, nuts_settings=settings)
        algorithm = Gibbs(program, updates)
        posterior = runner.sample(program.target(), algorithm, chains=chains, warmup=warmup,
                                  draws=draws, seed=seed, init=init, chain_method=chain_method,
                                  progress=progress, chunk_size=chunk_size, save_warmup=save_warmup)
    posterior.gibbs_updates = describe(updates)
    if progress:
        print("Gibbs updates:")
        for sites, label in posterior.gibbs_updates.items():
            print(f"  {sites}: {label}")
    return posterior
