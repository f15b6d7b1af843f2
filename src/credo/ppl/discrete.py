r"""Discrete latent sites after inference: exact conditional draws and marginal probabilities.

A model whose discrete sites the log density sums out (:mod:`credo.ppl.enumeration`)
is sampled over its continuous sites only. Given those draws:

- :func:`infer_discrete` draws, for each of them, every discrete site from its
  exact conditional posterior :math:`p(z \mid \theta, y)` by backward sampling
  through the contraction (forward filtering, backward sampling through
  scans); ``temperature=0`` gives instead the jointly most probable
  assignment (max-product, Viterbi through scans).
- :func:`discrete_marginals` gives, for each site and each of its elements,
  :math:`E_\theta[\,p(z = k \mid \theta, y)\,]`: Rao–Blackwellized
  probabilities with less variance than counting draws. They are the
  gradient of the log density's summed part with respect to a zero term
  added to each site's log probability, :math:`\partial \log Z / \partial
  \delta_z(k) = p(z = k \mid \theta, y)`, so they are exact through plates
  and scans alike (Darwiche 2003).

References
----------
Darwiche, A. (2003). A differential approach to inference in Bayesian networks. J. ACM 50(3).
Frühwirth-Schnatter, S. (1994). Data augmentation and dynamic linear models. J. Time Ser. Anal. 15(2).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ArgumentError, ModelError
from credo.random import as_key, site_key

from .enumeration import EnumerationPlan
from .handlers import seed, substitute, trace
from .logdensity import LogDensity, logdensity
from .runtime import Trace

__all__ = ["infer_discrete", "discrete_marginals"]


# ------------------------------------------------------------------------- backward sampling
def _condition(table, dim: int, index):
    """``table`` at ``index`` along ``dim`` (``index`` broadcasts over the other dimensions), size 1 there."""
    if table.shape[dim] == 1:
        return table
    other = list(table.shape)
    other[dim] = 1
    shape = list(jnp.broadcast_shapes(tuple(other), tuple(index.shape)))
    index = jnp.broadcast_to(index, tuple(shape))
    shape[dim] = table.shape[dim]
    return jnp.take_along_axis(jnp.broadcast_to(table, tuple(shape)), index, axis=dim)


def _draw(table, dims: tuple, key, temperature: int) -> dict:
    """One joint draw (or the argmax) of ``dims`` from ``exp(table)``: ``{dim: index array, size 1 on dim}``.

    Dimensions are drawn one after the other, each from its marginal given
    those already drawn (max-marginals for the argmax), which is one exact
    joint draw.
    """
    drawn = {}
    for i, d in enumerate(dims):
        rest = tuple(e for e in dims[i + 1:] if table.shape[e] > 1)
        marginal = table if not rest else (jnp.max(table, axis=rest, keepdims=True) if temperature == 0
                                           else jax.nn.logsumexp(table, axis=rest, keepdims=True))
        if temperature == 0:
            index = jnp.argmax(marginal, axis=d, keepdims=True)
        else:
            gumbel = jax.random.gumbel(jax.random.fold_in(key, i), marginal.shape, marginal.dtype)
            index = jnp.argmax(jnp.where(jnp.isfinite(marginal), marginal + gumbel, -jnp.inf), axis=d, keepdims=True)
        drawn[d] = index
        table = _condition(table, d, index)
    return drawn


def _full_plates(table, frames: tuple):
    """``table`` broadcast along the site's plates, so that each element gets its own draw."""
    shape = list(table.shape)
    for f in frames:
        shape[f.dim] = max(shape[f.dim], f.subsample_size)
    return jnp.broadcast_to(table, tuple(shape))


def _backward(plan: EnumerationPlan, tr: Trace, stored: dict, key, temperature: int) -> dict:
    """Indices of every summed site outside scans, drawn in reverse elimination order."""
    frames = {f.name: f for s in tr.values() for f in s.plates}
    plain = plan.plain_sites
    indices: dict = {}
    eliminations = [op for op in plan.program if op.kind == "eliminate"]
    for n, op in enumerate(reversed(eliminations)):
        table = stored[op.output]
        for name, index in indices.items():
            table = _condition(table, plain[name].dim, index)
        site = plain[op.variable]
        table = _full_plates(table, tuple(frames[p] for p in site.plates))
        indices[op.variable] = _draw(table, (site.dim,), jax.random.fold_in(key, n), temperature)[site.dim]
    return indices


def _backward_scan(plan: EnumerationPlan, factor, plain_indices: dict, key, temperature: int) -> dict:
    """Indices ``(T, ...)`` of one scan's discrete sites: draw the last step, then each earlier one given it."""
    layout = plan.scans[factor.kwargs["scan"]].sites
    pairs = [(c, p) for c, p, _ in layout.values()]
    current = tuple(c for c, _ in pairs)
    previous = tuple(p for _, p in pairs)
    plain = plan.plain_sites

    def given_plain(table):
        for name, index in plain_indices.items():
            table = _condition(table, plain[name].dim, index)
        return table

    alpha = given_plain(factor.kwargs["alpha"])
    shape = list(alpha.shape)
    for d in current + previous:
        shape[d] = 1
    shape = tuple(shape)  # one index per chain (the plates around the scan, any other summed site drawn)

    def fit(drawn: dict, dims) -> dict:
        return {c: jnp.broadcast_to(drawn[d], shape) for c, d in zip(current, dims)}

    last = fit(_draw(alpha, current, jax.random.fold_in(key, 0), temperature), current)
    joints = factor.kwargs["joints"]  # (T,) + a table over the previous and current dimensions
    length = joints.shape[0]

    def step(state, inputs):
        table, t = inputs
        table = given_plain(table)
        for d in current:
            table = _condition(table, d, state[d])
        earlier = _draw(table, previous, jax.random.fold_in(key, t), temperature)
        return fit(earlier, previous), state  # out: step t's indices; carry: step t-1's

    # Reversed: iteration t (T-1 down to 1) outputs step t's indices, in step order; the final carry is step 0's.
    first, later = jax.lax.scan(step, last, (joints[1:], jnp.arange(1, length)), reverse=True)
    return {name: jnp.concatenate([first[c][None], later[c]]) for name, (c, _, _) in layout.items()}


def _to_values(index, support: tuple, shape: tuple):
    """Support values at ``index`` (rank-R, size 1 on the enumeration dimensions), in the site's shape."""
    values = jnp.asarray(support)[index]
    trailing = values.reshape(values.shape[values.ndim - len(shape):]) if shape else values.reshape(())
    return jnp.broadcast_to(trailing, shape)


# ------------------------------------------------------------------------- public API
def _draws_of(posterior) -> tuple[dict, object]:
    if isinstance(posterior, Mapping):
        return dict(posterior), None
    draws = getattr(posterior, "draws", None)
    if not isinstance(draws, Mapping):
        raise ArgumentError("posterior", "expected a Posterior (with .draws) or a dict of draws")
    return dict(draws), posterior


def _continuous(ld: LogDensity, draws: dict) -> tuple[dict, tuple]:
    """The draws of the free sites, flattened over their leading (chains, draws) dimensions."""
    missing = [n for n in ld.names if n not in draws]
    if missing:
        raise ModelError(f"the draws lack the continuous sites {missing} of the model")
    lead = None
    for n in ld.names:
        shape = tuple(np.shape(draws[n]))
        site = ld.sites[n].shape
        if len(shape) < len(site) or shape[len(shape) - len(site):] != site:
            raise ModelError(f"draws[{n!r}] has shape {shape}; expected leading draw dimensions, then {site}")
        this = shape[: len(shape) - len(site)]
        if lead is not None and this != lead:
            raise ModelError(f"the draws disagree on their leading dimensions: {lead} and {this} ({n!r})")
        lead = this
    lead = lead if lead is not None else ()
    n = math.prod(lead)
    flat = {k: jnp.reshape(jnp.asarray(draws[k]), (n,) + ld.sites[k].shape) for k in ld.names}
    return flat, lead


def _enumerated_trace(ld: LogDensity, values: dict, key, semiring: str, record: bool) -> Trace:
    model = ld.enumeration.handler(substitute(ld._model, values), semiring, record)
    return trace(seed(model, key)).get_trace()


def _require_plan(ld: LogDensity) -> EnumerationPlan:
    if ld.enumeration is None:
        raise ModelError("the model has no discrete latent sites to infer")
    return ld.enumeration


def infer_discrete(model, posterior, data: dict | None = None, *, seed=0, temperature: int = 1):
    """Draw every discrete latent site from its exact conditional posterior, once per continuous draw.

    Parameters
    ----------
    model : callable
    posterior : Posterior or dict of str -> array
        Draws of the continuous sites, shape ``(chains, draws) + site shape``
        (any leading dimensions), as returned by :func:`credo.nuts`.
    data : dict, optional
        The data the posterior was fitted to.
    seed : int or PRNG key
    temperature : {1, 0}
        1: draw :math:`z \\sim p(z \\mid \\theta, y)` (forward filtering, backward
        sampling); 0: the jointly most probable :math:`\\arg\\max_z p(z \\mid
        \\theta, y)` (max-product; Viterbi through :func:`credo.scan`).

    Returns
    -------
    Posterior or dict
        The same type as ``posterior``, its draws extended with every
        discrete site (integers, shape ``leading + site shape``) and the
        deterministic sites that depend on them.
    """
    if temperature not in (0, 1):
        raise ArgumentError("temperature", f"must be 1 (draws) or 0 (the most probable assignment), got {temperature!r}")
    draws, source = _draws_of(posterior)
    ld = logdensity(model, data)
    plan = _require_plan(ld)
    flat, lead = _continuous(ld, draws)
    semiring = "max" if temperature == 0 else "logsum"
    n = math.prod(lead)
    keys = jax.random.split(as_key(seed), max(n, 1))[:n]

    def one(key, values):
        run_key, draw_key = jax.random.split(key)
        tr = _enumerated_trace(ld, values, run_key, semiring, record=True)
        _, stored = plan.forward(tr, semiring)
        indices = _backward(plan, tr, stored, draw_key, temperature)
        out = {}
        for s in plan.sites:
            if s.name in indices:
                out[s.name] = _to_values(indices[s.name], s.support, ld.sites[s.name].shape)
        for name, site in tr.items():
            if site.type == "factor" and "joints" in site.kwargs:
                series = _backward_scan(plan, site, indices, site_key(draw_key, name), temperature)
                for sname, index in series.items():
                    layout = plan.scans[site.kwargs["scan"]].sites[sname]
                    out[sname] = jax.vmap(lambda i: _to_values(i, layout[2], ld.sites[sname].shape[1:]))(index)
        if plan.deterministics:
            full = trace(seed(substitute(ld._model, {**values, **out}), run_key)).get_trace()
            out.update({d: full[d].value for d in plan.deterministics})
        return out

    result = jax.jit(jax.vmap(one, axis_size=n))(keys, flat)
    result = {k: np.asarray(v).reshape(lead + np.shape(v)[1:]) for k, v in result.items()}
    if source is None:
        return {**draws, **result}
    extended = copy.copy(source)
    extended.draws = {**draws, **result}
    return extended


def discrete_marginals(model, posterior, data: dict | None = None) -> dict:
    """Posterior probabilities of every discrete latent site, averaged exactly over the continuous draws.

    Parameters
    ----------
    model : callable
    posterior : Posterior or dict of str -> array
        Draws of the continuous sites (as for :func:`infer_discrete`).
    data : dict, optional

    Returns
    -------
    dict of str -> numpy.ndarray
        For each discrete site, shape ``site shape + (K,)``: the probability
        of each of its support values (in order), :math:`\\frac1S \\sum_s
        p(z = k \\mid \\theta_s, y)` over the ``S`` draws.
    """
    draws, _ = _draws_of(posterior)
    ld = logdensity(model, data)
    plan = _require_plan(ld)
    flat, lead = _continuous(ld, draws)
    zeros = _probes(ld, plan)

    def one(values):
        def summed(probes):
            tr = trace(seed(plan.handler(substitute(ld._model, values), probes=probes), 0)).get_trace()
            return plan.log_density(tr, probes)

        return jax.grad(summed)(zeros)

    grads = jax.jit(jax.vmap(one, axis_size=math.prod(lead)))(flat)
    return {name: np.asarray(_as_marginal(g, plan, ld, name)) for name, g in grads.items()}


def _probes(ld: LogDensity, plan: EnumerationPlan) -> dict:
    """Zero terms, one per support value of each element of each summed site (a scan's: of each step)."""
    inside = {n: scan for scan, sp in plan.scans.items() for n in sp.sites}
    probes = {}
    for s in plan.sites:
        shape = [1] * plan.rank
        shape[s.dim] = s.size
        site_shape = ld.sites[s.name].shape[1:] if s.name in inside else ld.sites[s.name].shape
        for i, n in enumerate(reversed(site_shape)):
            shape[-1 - i] = n
        probes[s.name] = jnp.zeros(((ld.sites[s.name].shape[0],) if s.name in inside else ()) + tuple(shape))
    return probes


def _as_marginal(grad, plan: EnumerationPlan, ld: LogDensity, name: str):
    """A probe's gradient (the conditional probabilities) averaged over draws, laid out ``site shape + (K,)``."""
    site = next(s for s in plan.sites if s.name == name)
    mean = jnp.mean(grad, axis=0)
    moved = jnp.moveaxis(mean, site.dim, -1)
    return jnp.reshape(moved, ld.sites[name].shape + (site.size,))
