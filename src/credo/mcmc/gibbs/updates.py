"""The updates a Gibbs sweep is made of: exact conditionals, enumeration, slice, MH and NUTS.

Each update moves one block of latent sites, leaving the others fixed, with a
kernel that leaves the block's complete conditional invariant; a sweep that
applies them in turn leaves the joint posterior invariant (Geman & Geman 1984;
Gelman et al. BDA3 sec. 11.1 and 12.1).

Every update is a frozen dataclass with pure methods, like the runner's
:class:`~credo.mcmc.runner.Algorithm`, but on the dict of constrained site
values (see :class:`~credo.mcmc.gibbs._program.GibbsProgram`):

- ``init_tuning(program, dtype) -> pytree``;
- ``prepare(program, tuning, key, values, x) -> tuning`` (before the sweep);
- ``update(program, key, values, tuning) -> (values, info)``;
- ``adapt(program, tuning, info, x) -> tuning`` (after each warmup sweep);
- ``stats(info) -> (acceptance, gradient evaluations, divergent)``.

References
----------
.. [1] Geman, S. and Geman, D. (1984). Stochastic relaxation, Gibbs
   distributions, and the Bayesian restoration of images. *IEEE Trans.
   PAMI* 6, 721-741.
.. [2] Neal, R. M. (2003). Slice sampling. *Ann. Statist.* 31, 705-767.
.. [3] Tierney, L. (1994). Markov chains for exploring posterior
   distributions. *Ann. Statist.* 22, 1701-1762 (Metropolis-within-Gibbs).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ModelError

from ..mh import optimal_acceptance, robbins_monro

__all__ = ["Conjugate", "Enumerate", "Slice", "RandomWalk", "NUTSBlock"]

_ONE = 1.0


def _no_stats(dtype=None):
    return jnp.ones(()), jnp.zeros((), jnp.int32), jnp.zeros((), bool)


class _Update:
    """Defaults: no tuning, no adaptation, always accepted, gradient-free."""

    sites: tuple = ()

    def init_tuning(self, program, dtype):
        return ()

    def prepare(self, program, tuning, key, values, x):
        return tuning

    def adapt(self, program, tuning, info, x):
        return tuning

    def stats(self, info):
        return _no_stats()


# ----------------------------------------------------------------------------- exact draws
@dataclasses.dataclass(frozen=True, eq=False)
class Conjugate(_Update):
    """An exact draw from a conjugate complete conditional (:mod:`credo.ppl.conjugacy`)."""

    site: str
    conditional: object

    @property
    def sites(self):
        return (self.site,)

    @property
    def label(self) -> str:
        if self.conditional.kind == "prior":
            return f"exact: prior ({self.conditional.family}, no stochastic children)"
        return f"conjugate {self.conditional.kind} -> {self.conditional.family}"

    def update(self, program, key, values, tuning):
        new = self.conditional.sample(key, values)
        return {**values, self.site: new.astype(jnp.asarray(values[self.site]).dtype)}, ()


@dataclasses.dataclass(frozen=True)
class Enumerate(_Update):
    """An exact draw of a discrete site from its conditional, by enumerating its support.

    With the site's elements conditionally independent (the site's shape is
    its plates, and each stochastic child lies inside all of them, e.g.
    ``z[n]`` with ``y[n] ~ Normal(mu[z[n]], ...)``), every element is drawn at
    once: for each support value ``k`` the model is run with every element
    set to ``k``, and the log probabilities of the site and its children are
    summed onto the site's elements, giving ``(K, *shape)`` logits. Otherwise
    the elements are drawn one after another (``K * size`` model runs).

    Attributes
    ----------
    site : str
    support : tuple of int
    child_axes : tuple of tuple of int or None
        Per stochastic child, the negative axes of its log probability that
        map onto the site's axes; None when elements must go one at a time.
    """

    site: str
    support: tuple
    child_axes: tuple | None

    @property
    def sites(self):
        return (self.site,)

    @property
    def label(self) -> str:
        how = "vectorized over the plate" if self.child_axes is not None else "one element at a time"
        return f"enumerate {len(self.support)} values ({how})"

    def update(self, program, key, values, tuning):
        lay = program.layout[self.site]
        support = jnp.asarray(self.support, dtype=program.int_dtype)
        children = program.structure.children[self.site]
        if self.child_axes is not None:
            def logits_at(k):
                tr = program.trace_with({**values, self.site: jnp.full(lay.shape, k, support.dtype)})
                total = jnp.broadcast_to(tr[self.site].log_prob, lay.shape)
                for child, axes in zip(children, self.child_axes):
                    total = total + _onto(tr[child].log_prob, axes, lay.shape)
                return total

            logits = jax.vmap(logits_at)(support)
            index = jax.random.categorical(key, logits, axis=0)
            return {**values, self.site: support[index]}, ()

        blanket = program.blanket((self.site,))

        def element(i, carry):
            current, k = carry
            k, sub = jax.random.split(k)

            def logit(value):
                flat = jnp.reshape(current, (-1,)).at[i].set(value)
                tr = program.trace_with({**values, self.site: flat.reshape(lay.shape)})
                return sum(jnp.sum(tr[n].log_prob) for n in blanket)

            choice = jax.random.categorical(sub, jax.vmap(logit)(support))
            flat = jnp.reshape(current, (-1,)).at[i].set(support[choice])
            return flat.reshape(lay.shape), k

        current, _ = jax.lax.fori_loop(0, lay.size, element,
                                       (jnp.asarray(values[self.site], support.dtype), key))
        return {**values, self.site: current}, ()


def _onto(child_lp, axes, shape):
    """Sum a child's log probabilities onto a site's ``shape``, keeping the site's ``axes``."""
    rank = jnp.ndim(child_lp)
    summed = tuple(a for a in range(-rank, 0) if a not in axes)
    out = jnp.sum(child_lp, axis=summed, keepdims=True) if summed else child_lp
    # the kept axes are the site's; drop the summed leading ones
    out = jnp.reshape(out, out.shape[max(rank - len(shape), 0):]) if rank > len(shape) else out
    return jnp.broadcast_to(out, shape)


def enumeration_axes(program, site: str):
    """Per child, the axes that carry the site's elements; None if they are not independent."""
    proto = program.structure.prototype
    s = proto[site]
    shape = tuple(jnp.shape(s.value))
    frames = {f.dim: f for f in s.plates}
    # every axis of the site must be one of its plates (or of size 1)
    for i, n in enumerate(shape):
        dim = i - len(shape)
        if n != 1 and (dim not in frames or frames[dim].subsample_size != n):
            return None
    site_plates = {f.name: f.dim for f in s.plates if f.dim >= -len(shape)}
    axes = []
    for child in program.structure.children[site]:
        c = proto[child]
        if c.type != "sample":
            return None
        child_plates = {f.name: f.dim for f in c.plates}
        if any(child_plates.get(name) != dim for name, dim in site_plates.items()):
            return None
        axes.append(tuple(sorted(site_plates.values())))
    return tuple(axes)


# ----------------------------------------------------------------------------- slice sampling
class SliceTuning(NamedTuple):
    """Per-coordinate slice widths and the warmup estimate they are set from."""

    width: jax.Array
    total_jump: jax.Array
    count: jax.Array


@dataclasses.dataclass(frozen=True)
class Slice(_Update):
    """Univariate slice sampling with stepping out and shrinkage, coordinate by coordinate.

    For a coordinate ``x0`` with conditional log density ``f`` (unconstrained
    scale, Jacobian included): draw the level ``y = f(x0) - E``, ``E ~ Exp(1)``;
    place an interval of width ``w`` at random around ``x0`` and step it out
    by ``w`` until both ends are below the level (at most ``max_steps`` steps,
    split at random between the ends); then draw uniformly on the interval,
    shrinking it toward ``x0`` after each point below the level (Neal 2003,
    figs. 3 and 5). The widths are set during warmup to twice the mean
    absolute move of each coordinate and fixed afterwards.

    Attributes
    ----------
    sites : tuple of str
    max_steps : int
        Neal's ``m``: the most steps of width ``w`` the interval can grow by.
    """

    sites: tuple
    max_steps: int = 32
    max_shrink: int = 100

    @property
    def label(self) -> str:
        return "slice (stepping out, per coordinate)"

    def _size(self, program):
        return sum(program.layout[s].size for s in self.sites)

    def init_tuning(self, program, dtype):
        d = self._size(program)
        return SliceTuning(jnp.ones(d, dtype), jnp.zeros(d, dtype), jnp.zeros((), jnp.int32))

    def update(self, program, key, values, tuning):
        u0, unflatten = _block(program, values, self.sites)

        def f(u):
            return program.local_logdensity(values, unflatten(u))

        def coordinate(i, carry):
            u, k = carry
            k, sub = jax.random.split(k)
            u = u.at[i].set(_slice_1d(sub, lambda x: f(u.at[i].set(x)), u[i], tuning.width[i],
                                      self.max_steps, self.max_shrink))
            return u, k

        u, _ = jax.lax.fori_loop(0, u0.shape[0], coordinate, (u0, key))
        new = program.trace_with({k: v for k, v in values.items() if k not in self.sites},
                                 unflatten(u))
        return {**values, **{s: new[s].value for s in self.sites}}, jnp.abs(u - u0)

    def adapt(self, program, tuning, info, x):
        total, count = tuning.total_jump + info, tuning.count + 1
        mean = total / count
        width = jnp.where(count >= 10, jnp.maximum(2.0 * mean, 1e-6), tuning.width)
        return SliceTuning(width, total, count)


def _slice_1d(key, f, x0, w, max_steps, max_shrink):
    """One stepping-out-and-shrinkage slice transition of a univariate log density ``f`` from ``x0``."""
    k_level, k_place, k_split, k_draw = jax.random.split(key, 4)
    dtype = jnp.result_type(x0)
    level = f(x0) - jax.random.exponential(k_level, dtype=dtype)
    left = x0 - w * jax.random.uniform(k_place, dtype=dtype)
    right = left + w
    steps_left = jnp.floor(max_steps * jax.random.uniform(k_split, dtype=dtype)).astype(jnp.int32)
    steps_right = max_steps - 1 - steps_left

    def out_left(c):
        lo, n = c
        return lo - w, n - 1

    def out_right(c):
        hi, n = c
        return hi + w, n - 1

    left, _ = jax.lax.while_loop(lambda c: (c[1] > 0) & (level < f(c[0])), out_left,
                                 (left, steps_left))
    right, _ = jax.lax.while_loop(lambda c: (c[1] > 0) & (level < f(c[0])), out_right,
                                  (right, steps_right))

    def shrink(c):
        lo, hi, _, done, n, k = c
        k, sub = jax.random.split(k)
        x = lo + (hi - lo) * jax.random.uniform(sub, dtype=dtype)
        inside = level < f(x)
        lo = jnp.where(~inside & (x < x0), x, lo)
        hi = jnp.where(~inside & (x >= x0), x, hi)
        return lo, hi, x, inside, n + 1, k

    # the interval shrinks toward x0, where f(x0) > level, so this ends; the
    # cap only guards against a density that is not finite at x0
    _, _, x, done, _, _ = jax.lax.while_loop(
        lambda c: (~c[3]) & (c[4] < max_shrink), shrink,
        (left, right, x0, jnp.zeros((), bool), jnp.zeros((), jnp.int32), k_draw))
    return jnp.where(done, x, x0)


def _block(program, values, sites):
    """The sites' unconstrained values as one vector, and the map back to per-site blocks."""
    tr = program.trace_with(values)
    parts = [jnp.reshape(program.unconstrained_value(tr, s), (-1,)) for s in sites]
    layouts = [program.layout[s] for s in sites]
    sizes = np.cumsum([0] + [lay.size for lay in layouts])

    def unflatten(u):
        return {lay.name: jnp.reshape(u[a:b], lay.unconstrained_shape)
                for lay, a, b in zip(layouts, sizes[:-1], sizes[1:])}

    return jnp.concatenate(parts), unflatten


# ----------------------------------------------------------------------------- Metropolis
class RWBlockTuning(NamedTuple):
    log_scale: jax.Array
    count: jax.Array


@dataclasses.dataclass(frozen=True)
class RandomWalk(_Update):
    """Metropolis-within-Gibbs: a Gaussian random walk on the block's unconstrained values.

    The scale adapts by Robbins-Monro during warmup toward
    :func:`credo.mcmc.mh.optimal_acceptance` of the block's dimension and is
    fixed afterwards (Tierney 1994; Roberts & Rosenthal 2009).
    """

    sites: tuple

    @property
    def label(self) -> str:
        return "Metropolis random walk"

    def init_tuning(self, program, dtype):
        d = sum(program.layout[s].size for s in self.sites)
        return RWBlockTuning(jnp.asarray(math.log(2.38 / math.sqrt(d)), dtype),
                             jnp.zeros((), jnp.int32))

    def update(self, program, key, values, tuning):
        u, unflatten = _block(program, values, self.sites)
        k_prop, k_acc = jax.random.split(key)
        proposal = u + jnp.exp(tuning.log_scale) * jax.random.normal(k_prop, u.shape, u.dtype)
        lp_old = program.local_logdensity(values, unflatten(u))
        lp_new = program.local_logdensity(values, unflatten(proposal))
        log_ratio = jnp.where(jnp.isnan(lp_new - lp_old), -jnp.inf, lp_new - lp_old)
        accepted = jnp.log(jax.random.uniform(k_acc, dtype=u.dtype)) < log_ratio
        chosen = jnp.where(accepted, proposal, u)
        new = program.trace_with({k: v for k, v in values.items() if k not in self.sites},
                                 unflatten(chosen))
        prob = jnp.exp(jnp.minimum(log_ratio, 0.0))
        return {**values, **{s: new[s].value for s in self.sites}}, prob

    def adapt(self, program, tuning, info, x):
        d = sum(program.layout[s].size for s in self.sites)
        return RWBlockTuning(*robbins_monro(tuning.log_scale, tuning.count, info,
                                            optimal_acceptance(d)))

    def stats(self, info):
        return info, jnp.zeros((), jnp.int32), jnp.zeros((), bool)


# ----------------------------------------------------------------------------- NUTS
@dataclasses.dataclass(frozen=True)
class NUTSBlock(_Update):
    """NUTS on a block of continuous sites, the other sites held fixed.

    The block's conditional log density (unconstrained scale) is
    :meth:`GibbsProgram.local_logdensity`. Its step size (dual averaging) and
    diagonal mass matrix adapt during warmup exactly as in :func:`credo.nuts`:
    the :class:`~credo.mcmc.runner.NUTS` algorithm's own methods run on the block.
    """

    sites: tuple
    nuts: object = None

    @property
    def label(self) -> str:
        return "NUTS (step size and diagonal mass matrix adapted in warmup)"

    def _fn(self, program, values, unflatten):
        return lambda u: program.local_logdensity(values, unflatten(u))

    def init_tuning(self, program, dtype):
        d = sum(program.layout[s].size for s in self.sites)
        return self.nuts.init_tuning(d, dtype)

    def _state(self, program, values):
        from .. import hmc

        u, unflatten = _block(program, values, self.sites)
        fn = self._fn(program, values, unflatten)
        return hmc.init(u, fn), fn, unflatten

    def prepare(self, program, tuning, key, values, x):
        state, fn, _ = self._state(program, values)
        return self.nuts.prepare(tuning, key, state, fn, x)

    def update(self, program, key, values, tuning):
        state, fn, unflatten = self._state(program, values)
        state, info = self.nuts.step(key, state, fn, tuning)
        new = program.trace_with({k: v for k, v in values.items() if k not in self.sites},
                                 unflatten(state.position))
        return {**values, **{s: new[s].value for s in self.sites}}, (state, info)

    def adapt(self, program, tuning, info, x):
        state, step_info = info
        return self.nuts.adapt(tuning, state, step_info, x)

    def stats(self, info):
        _, step_info = info
        return (step_info.acceptance_rate,
                jnp.asarray(step_info.num_integration_steps, jnp.int32) + 1,
                jnp.asarray(step_info.is_divergent, bool))
