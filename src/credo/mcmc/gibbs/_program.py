"""A model with discrete and continuous latent sites as one flat vector, for Gibbs sampling.

:func:`credo.ppl.logdensity` refuses discrete latent sites, because HMC needs a
density on R^d. A Gibbs sampler does not: it updates each site from its
conditional. So this module lays the model out its own way. The flat vector
holds each continuous site on the unconstrained scale (``biject_to(support)``,
as :class:`~credo.ppl.LogDensity` does) and each discrete site as floats holding
its integer values. The generic runner and :class:`~credo.mcmc.Posterior` see
an ordinary :class:`~credo.ppl.Target`, and discrete draws come back as
integers.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ModelError
from credo.ppl import MAX_INIT_TRIES, Handler, ModelStructure, Site, Target, Trace, trace
from credo.ppl.structure import transform_of

__all__ = ["GibbsProgram", "SiteLayout"]


@dataclasses.dataclass(frozen=True)
class SiteLayout:
    """Where a latent site lives in the flat vector.

    Attributes
    ----------
    name : str
    shape : tuple of int
        Constrained shape.
    unconstrained_shape : tuple of int
        Shape of the block (the constrained shape for discrete sites).
    offset, size : int
        The block is ``flat[offset:offset + size]``.
    discrete : bool
    """

    name: str
    shape: tuple
    unconstrained_shape: tuple
    offset: int
    size: int
    discrete: bool

    @property
    def slice(self) -> slice:
        return slice(self.offset, self.offset + self.size)


class _Assign(Handler):
    """Give latent sites constrained ``values`` or, for ``unconstrained``, mapped values.

    Sites set from unconstrained values record ``log|det J|`` of the map, as
    :class:`credo.ppl.LogDensity` does, so that densities on the unconstrained
    scale can be formed.
    """

    def __init__(self, fn, values: dict, unconstrained: dict):
        super().__init__(fn)
        self.values, self.unconstrained = values, unconstrained

    def process_message(self, msg: Site) -> None:
        if msg.type != "sample" or msg.is_observed or msg.value is not None:
            return
        if msg.name in self.unconstrained:
            u = self.unconstrained[msg.name]
            transform = transform_of(msg)
            msg.value = transform(u)
            msg.log_abs_det_jacobian = transform.log_abs_det_jacobian(u, msg.value)
        elif msg.name in self.values:
            msg.value = self.values[msg.name]


def _log_jacobian(tr: Trace, names) -> jax.Array:
    total = 0.0
    for name in names:
        site = tr[name]
        if site.log_abs_det_jacobian is not None:
            ladj = site.log_abs_det_jacobian
            total = total + jnp.sum(ladj if site.scale is None else ladj * site.scale)
    return total


class GibbsProgram:
    """The layout, densities and conversions a Gibbs sampler needs for one model and data.

    Compared by identity: one program per :func:`credo.mcmc.gibbs.gibbs` call.

    Parameters
    ----------
    model : callable
    data : dict, optional

    Attributes
    ----------
    structure : ModelStructure
    layout : dict of str -> SiteLayout
        Latent sites in model order.
    dim : int
    deterministic : tuple of str
    """

    def __init__(self, model, data: dict | None = None):
        self.structure = ModelStructure(model, data)
        proto = self.structure.prototype
        layout, offset = {}, 0
        for name in self.structure.latent:
            site = proto[name]
            shape = tuple(jnp.shape(site.value))
            discrete = bool(site.fn.support.is_discrete)
            ushape = shape if discrete else tuple(transform_of(site).inverse_shape(shape))
            size = math.prod(ushape)
            layout[name] = SiteLayout(name, shape, ushape, offset, size, discrete)
            offset += size
        self.layout = layout
        self.dim = offset
        self.deterministic = tuple(s.name for s in proto.sites("deterministic"))
        self.int_dtype = jnp.asarray(0).dtype
        self.observed = self.structure.observed

    # -- running the model -------------------------------------------------------------------
    def trace_with(self, values: dict, unconstrained: dict | None = None) -> Trace:
        """Trace the model with latent sites from ``values`` and ``unconstrained``; jittable."""
        return trace(_Assign(self.structure.bound, values, unconstrained or {})).get_trace()

    def split(self, flat) -> tuple[dict, dict]:
        """``(discrete values, continuous unconstrained blocks)`` of ``flat``, shape ``(dim,)``."""
        discrete, continuous = {}, {}
        for name, lay in self.layout.items():
            block = flat[lay.slice]
            if lay.discrete:
                discrete[name] = jnp.round(block).astype(self.int_dtype).reshape(lay.shape)
            else:
                continuous[name] = block.reshape(lay.unconstrained_shape)
        return discrete, continuous

    def trace_flat(self, flat) -> Trace:
        discrete, continuous = self.split(flat)
        return self.trace_with(discrete, continuous)

    def values(self, flat) -> dict:
        """Constrained values of the latent sites at ``flat``."""
        tr = self.trace_flat(flat)
        return {n: tr[n].value for n in self.layout}

    def logdensity(self, flat):
        """Log joint density at ``flat``, continuous sites on the unconstrained scale; a scalar."""
        return self.evaluate(flat)[1]

    def evaluate(self, flat) -> tuple[dict, jax.Array]:
        """``(constrained values of the latent sites, log density)`` at ``flat``, one model run."""
        tr = self.trace_flat(flat)
        return {n: tr[n].value for n in self.layout}, tr.log_density() + _log_jacobian(tr, self.layout)

    def flatten_with_logdensity(self, values: dict) -> tuple[jax.Array, jax.Array]:
        """``(flat vector, log density)`` of constrained ``values``, one model run.

        The log density equals :meth:`logdensity` at the flat vector: the
        Jacobians of the maps from unconstrained space are added here.
        """
        tr = self.trace_with(values)
        flat = self._flat_from_trace(tr)
        total = tr.log_density()
        for name, lay in self.layout.items():
            if lay.discrete:
                continue
            site = tr[name]
            transform = transform_of(site)
            ladj = transform.log_abs_det_jacobian(transform.inv(site.value), site.value)
            total = total + jnp.sum(ladj if site.scale is None else ladj * site.scale)
        return flat, total

    def constrain(self, flat) -> dict:
        """Latent (discrete ones as integers) and deterministic site values at ``flat``."""
        tr = self.trace_flat(flat)
        return {n: tr[n].value for n in tuple(self.layout) + self.deterministic}

    def unconstrained_value(self, tr: Trace, name: str):
        """The unconstrained block of continuous site ``name`` in trace ``tr``."""
        return transform_of(tr[name]).inv(tr[name].value)

    def flatten(self, values: dict):
        """Flat vector, shape ``(dim,)``, of constrained ``values`` of every latent site; jittable."""
        tr = self.trace_with(values)
        return self._flat_from_trace(tr)

    def _flat_from_trace(self, tr: Trace):
        parts = []
        for name, lay in self.layout.items():
            if lay.discrete:
                parts.append(jnp.reshape(tr[name].value, (-1,)))
            else:
                parts.append(jnp.reshape(self.unconstrained_value(tr, name), (-1,)))
        dtype = jnp.result_type(float)
        return jnp.concatenate([p.astype(dtype) for p in parts]) if parts else jnp.zeros((0,), dtype)

    # -- local densities -------------------------------------------------------------------
    def blanket(self, names) -> tuple:
        """``names`` and their stochastic children: the sites whose density involves them."""
        found = list(names)
        for n in names:
            found += [c for c in self.structure.children[n] if c not in found]
        return tuple(found)

    def local_logdensity(self, values: dict, unconstrained: dict):
        """Log density of the sites in ``unconstrained`` given ``values`` of the others, up to a constant.

        Sums the log probabilities of those sites and of their stochastic
        children (the factors of the joint that involve them) plus the log
        Jacobians of their maps from unconstrained space.
        """
        tr = self.trace_with({k: v for k, v in values.items() if k not in unconstrained},
                             unconstrained)
        total = _log_jacobian(tr, unconstrained)
        for name in self.blanket(tuple(unconstrained)):
            total = total + jnp.sum(tr[name].log_prob)
        return total

    # -- initial points and the runner's target ----------------------------------------------
    def init(self, key, strategy: str = "uniform"):
        """A flat initial point with a finite log density, shape ``(dim,)``."""
        for attempt in range(MAX_INIT_TRIES):
            k = jax.random.fold_in(key, attempt)
            flat = self._jit_flatten(self.structure.random_values(k, strategy))
            if np.isfinite(float(self._jit_logdensity(flat))):
                return flat
        raise ModelError(f"no initial point with a finite log density found in {MAX_INIT_TRIES} "
                         f"tries with strategy {strategy!r}")

    def unconstrain(self, values: dict):
        """Flat vector of constrained ``values``; sites left out start from a fixed uniform draw."""
        unknown = set(values) - set(self.layout)
        if unknown:
            raise ModelError(f"{sorted(unknown)} are not latent sites (latent: {list(self.layout)})")
        base = self.structure.random_values(jax.random.PRNGKey(0), "uniform")
        return self._jit_flatten({**base, **{k: jnp.asarray(v) for k, v in values.items()}})

    @property
    def _jit_flatten(self):
        if not hasattr(self, "_flatten_fn"):
            self._flatten_fn = jax.jit(self.flatten)
        return self._flatten_fn

    @property
    def _jit_logdensity(self):
        if not hasattr(self, "_logdensity_fn"):
            self._logdensity_fn = jax.jit(self.logdensity)
        return self._logdensity_fn

    def target(self) -> Target:
        """The program as a :class:`~credo.ppl.Target` for the runner (data baked in)."""
        shapes = {n: lay.shape for n, lay in self.layout.items()}
        proto = self.structure.prototype
        shapes.update({n: tuple(jnp.shape(proto[n].value)) for n in self.deterministic})
        return Target(static=("gibbs", self), dim=self.dim, data={},
                      logdensity=lambda flat, data: self.logdensity(flat),
                      constrain=lambda flat, data: self.constrain(flat),
                      output_shapes=shapes, init=self.init, observed=self.observed,
                      names=tuple(self.layout), unconstrain=self.unconstrain)

    def __repr__(self):
        return f"GibbsProgram(dim={self.dim}, sites={list(self.layout)})"
