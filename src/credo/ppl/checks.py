"""Say which site of a model makes its log density infinite or NaN, and why.

:func:`check_model` evaluates every site's log density at one point, as
PyMC's ``model.point_logps()`` / ``model.debug()`` do; :func:`explain_nonfinite`
turns the same per-site look into the message samplers give when no finite
starting point exists. Both run the model eagerly (not under ``jit``), so the
values are concrete and can be inspected element by element.

Examples
--------
>>> import numpy as np
>>> import credo.ppl as ppl
>>> from credo import distributions as dist
>>> def model(y=None):
...     mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
...     with ppl.plate("N", 3):
...         ppl.sample("y", dist.Normal(mu, 1.0), obs=y)
>>> result = ppl.check_model(model, {"y": np.array([0.1, np.nan, 0.3])})
>>> result.ok
False
>>> result["y"].reason
'NaN in its observed values at index 1 (data key y)'
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from credo.distributions import constraints
from credo.errors import ArgumentError, ModelError

from ._model import BoundModel, _Initialize, is_free
from .handlers import seed as _seed
from .handlers import substitute, trace
from .logdensity import check_observed_shapes
from .structure import distribution_name
from .runtime import Site, as_key

__all__ = ["SiteCheck", "ModelCheck", "check_model", "explain_nonfinite"]


@dataclasses.dataclass(frozen=True)
class SiteCheck:
    """One site's log density at the checked point.

    Attributes
    ----------
    name : str
    kind : {"observed", "latent", "factor"}
    distribution : str or None
        Class name of the site's distribution (None for factors).
    shape : tuple of int
        Shape of the site's value.
    log_density : float
        Sum of the site's (plate-scaled, masked) log density; no Jacobian.
    finite : bool
    reason : str or None
        Why the log density is not finite (None when it is).
    """

    name: str
    kind: str
    distribution: str | None
    shape: tuple
    log_density: float
    finite: bool
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class ModelCheck:
    """Result of :func:`check_model`: one :class:`SiteCheck` per sample and factor site.

    Attributes
    ----------
    rows : tuple of SiteCheck
        In trace order.
    values : dict of str -> ndarray
        The values of the latent sites the check used.
    """

    rows: tuple
    values: dict

    @property
    def ok(self) -> bool:
        """Whether every site's log density is finite."""
        return all(r.finite for r in self.rows)

    @property
    def failed(self) -> tuple:
        """The rows whose log density is not finite."""
        return tuple(r for r in self.rows if not r.finite)

    @property
    def log_density(self) -> float:
        """Sum over the sites (without the Jacobian of any change of variables)."""
        return float(sum(r.log_density for r in self.rows))

    def __getitem__(self, name: str) -> SiteCheck:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def __str__(self) -> str:
        header = ("site", "kind", "distribution", "shape", "log density", "finite", "reason")
        body = [(r.name, r.kind, r.distribution or "-", str(r.shape), f"{r.log_density:.4g}",
                 "yes" if r.finite else "NO", r.reason or "") for r in self.rows]
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
                  for i, h in enumerate(header)]
        fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        lines = [fmt(header), fmt(["-" * w for w in widths])] + [fmt(b) for b in body]
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):  # IPython shows the table
        p.text(str(self))


def check_model(model, data: dict | None = None, *, values: dict | None = None, seed=0) -> ModelCheck:
    """Evaluate each site's log density at one point and say which are not finite, and why.

    Parameters
    ----------
    model : callable
    data : dict, optional
        As for :func:`~credo.ppl.logdensity`.
    values : dict of str -> array, optional
        Constrained values of latent sites; the others get the point the
        samplers try first (Uniform(-2, 2) in unconstrained space).
    seed : int or PRNG key
        Key of that point (and of any plate subsample).

    Returns
    -------
    ModelCheck
        ``print(result)`` shows a table; ``result.ok`` is False when a site's
        log density is -inf or NaN, and each failing row's ``reason`` names the
        cause: NaN in observed values (with the index), a value outside the
        support (value and index), or an invalid parameter (its name and value).

    Raises
    ------
    ModelError
        If the model cannot run at all (an invalid constant parameter, a shape
        mismatch, ...): the message names the site.
    ArgumentError
        If ``values`` names a site that is not a latent site of the model.
    """
    bound = BoundModel(model, data)
    key = as_key(seed)
    values = dict(values or {})
    tr = trace(_seed(_Initialize(substitute(bound, values), key, "uniform"), key)).get_trace()
    bound.check_observations(tr)
    unknown = [n for n in values if n not in tr or not is_free(tr[n])]
    if unknown:
        latent = [s.name for s in tr.sites("sample", "param") if is_free(s)]
        raise ArgumentError("values", f"{unknown} are not latent sites of the model (latent: {latent})")
    check_observed_shapes(tr, bound)
    rows = []
    for site in tr.sites("sample", "factor"):
        lp, reason = _site_reason(site, bound.data_key_of(site) if site.type == "sample" else None)
        kind = "factor" if site.type == "factor" else "observed" if site.is_observed else "latent"
        rows.append(SiteCheck(name=site.name, kind=kind,
                              distribution=distribution_name(site.fn) if site.type == "sample" else None,
                              shape=tuple(np.shape(site.value)), log_density=lp,
                              finite=reason is None, reason=reason))
    latent_values = {s.name: np.asarray(s.value) for s in tr.sites("sample", "param") if is_free(s)}
    return ModelCheck(rows=tuple(rows), values=latent_values)


def explain_nonfinite(logdensity, flat) -> str:
    """Why ``logdensity`` is not finite (or has no finite gradient) at ``flat``: a message.

    Used by the samplers' initial-point searches when no candidate works.

    Parameters
    ----------
    logdensity : LogDensity
    flat : array, shape ``(dim,)``
        The candidate point, in unconstrained space.

    Returns
    -------
    str
        One clause per culprit site, e.g. ``"observed site 'y' (Bernoulli):
        value 2 at index 2 is outside the support"``; empty if nothing
        non-finite is found.
    """
    return "; ".join(text for text, _ in _culprits(logdensity, flat))


def _culprits(ld, flat) -> list:
    """``[(clause, data_problem)]``: ``data_problem`` when the observed values themselves are bad,
    so that no other starting point can help."""
    flat = jnp.asarray(flat)
    try:
        tr = ld._run(flat)
    except ModelError as exc:  # e.g. a parameter made invalid by this start's latent values
        return [(str(exc), False)]
    found = []
    bound = ld._model
    for site in tr.sites("sample", "factor"):
        _, reason = _site_reason(site, bound.data_key_of(site) if site.type == "sample" else None)
        if reason is None:
            continue
        if site.type == "factor":
            found.append((f"factor site {site.name!r}: {reason}", False))
        else:
            kind = "observed" if site.is_observed else "latent"
            # NaN observations, or observations outside a support that no parameter moves
            # (boolean, positive, ...), fail at every start: no point in trying 99 more
            data_problem = site.is_observed and (
                reason.startswith("NaN in") or ("outside" in reason and _fixed_support(site.fn)))
            found.append((f"{kind} site {site.name!r} ({distribution_name(site.fn)}): {reason}",
                          data_problem))
    for site in tr.latent_sites():
        ladj = site.log_abs_det_jacobian
        if ladj is not None and not bool(np.all(np.isfinite(np.asarray(ladj)))):
            found.append((f"latent site {site.name!r}: the map from unconstrained space overflows "
                          f"(log|det J| is not finite)", False))
    if not found:
        grad = np.asarray(jax.grad(ld.fn)(flat))
        bad = [n for n in ld.names if not np.all(np.isfinite(grad[ld.sites[n].slice]))]
        if bad:
            found.append((f"the log density is finite but its gradient is not, with respect to "
                          f"sites {bad}", False))
    return found


def _fixed_support(fn) -> bool:
    """Whether ``fn``'s support is one of the fixed sets of :mod:`constraints` (not
    ``interval(low, high)`` with a latent ``high``, whose support moves with the start)."""
    while hasattr(fn, "base_dist"):
        fn = fn.base_dist
    return any(fn.support is c for c in vars(constraints).values())


def _index(shape, flat_index):
    idx = np.unravel_index(int(flat_index), shape) if shape else ()
    return int(idx[0]) if len(idx) == 1 else tuple(int(i) for i in idx)


def _first_bad(mask):
    mask = np.asarray(mask)
    if mask.ndim == 0:
        return None if not mask else ()
    hits = np.flatnonzero(mask)
    return None if hits.size == 0 else _index(mask.shape, hits[0])


def _at(array, index):
    return np.asarray(array)[index] if index != () else np.asarray(array)


def _site_reason(site: Site, data_key) -> tuple:
    """``(log density sum, reason or None)`` of one concrete sample or factor site."""
    try:
        lp = np.asarray(site.log_prob)
    except Exception as exc:  # a site that cannot be evaluated is its own reason
        return float("nan"), f"its log density cannot be evaluated: {type(exc).__name__}: {exc}"
    total = float(np.sum(lp))
    if np.all(np.isfinite(lp)):
        return total, None
    where = _first_bad(~np.isfinite(lp))
    at = "" if where == () else f" at index {where}"
    if site.type == "factor":
        return total, f"its log weight is {_at(lp, where)}{at}"
    source = f" (data key {data_key})" if data_key is not None else ""
    value = np.asarray(site.value)
    nan = _first_bad(np.isnan(value)) if np.issubdtype(value.dtype, np.inexact) else None
    if nan is not None:
        what = "its observed values" if site.is_observed else "its value"
        return total, f"NaN in {what}{'' if nan == () else f' at index {nan}'}{source}"
    fn = site.fn
    outside = _first_bad(~np.asarray(fn.support.check(value)))
    if outside is not None:
        try:  # the mask is the broadcast shape; a value smaller than it is shown whole
            shown = _at(value, outside)
        except IndexError:
            shown = value
        return total, (f"value {shown!s}{'' if outside == () else f' at index {outside}'} is outside "
                       f"the support {fn.support!r} of {distribution_name(fn)}{source}")
    base = fn
    while True:
        for name, constraint in getattr(base, "arg_constraints", {}).items():
            param = getattr(base, name, None)
            if param is None:
                continue
            ok = np.asarray(constraint.check(param))
            bad = _first_bad(~ok)
            if bad is not None:
                return total, (f"parameter {name!r} of {type(base).__name__} is "
                               f"{_at(param, bad)!s}{'' if bad == () else f' at index {bad}'}, "
                               f"which does not satisfy {constraint!r}")
        if not hasattr(base, "base_dist"):
            break
        base = base.base_dist
    return total, f"its log density is {_at(lp, where)}{at} (a value of zero probability)"
