"""Binding a model to its data, and running it once to discover its sites.

Shared by :mod:`~credo.ppl.logdensity`, :mod:`~credo.ppl.predictive` and
:mod:`~credo.ppl.graph`.

Data convention: ``data`` is a dict whose keys that name a parameter of the
model function are passed as keyword arguments (``model(**those)``); any other
key observes the sample site (or fixes the subsample indices of the plate) of
that name. Lists and tuples become numpy arrays, so ``len`` and indexing
work inside the model and JAX accepts them.
"""

from __future__ import annotations

import functools
import inspect
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from credo.distributions import ImproperDistributionError, biject_to, initial_value
from credo.errors import ArgumentError, ModelError

from ._diagnose import run_attributed
from .handlers import seed, trace
from .runtime import Handler, Site, Trace, at_step, step_key

INIT_STRATEGIES = ("uniform", "median", "prior")
_MEDIAN_DRAWS = 101  # odd, so the median is one of the draws


class _Data(Handler):
    """Observe sample sites and fix plate indices named in ``data``."""

    def __init__(self, fn, data):
        super().__init__(fn)
        self.data = data

    def process_message(self, msg: Site) -> None:
        if msg.name not in self.data:
            return
        if msg.type == "sample":
            msg.value, msg.is_observed = at_step(msg, self.data[msg.name]), True
        elif msg.type == "plate":
            msg.value = self.data[msg.name]


class BoundModel:
    """``model`` with its data: call it with no arguments.

    Attributes
    ----------
    model : callable
    kwargs : dict
        Data passed as keyword arguments.
    observations : dict
        Data observing sites (or fixing plate indices) by name.
    """

    def __init__(self, model: Callable, data: dict | None = None):
        if data is not None and not hasattr(data, "items"):
            raise ArgumentError("data", f"expected a dict of data name -> value, got {type(data).__name__}")
        data = {k: _as_data(k, v) for k, v in (data or {}).items()}
        accepted = _keyword_names(model)
        self.model = model
        self.kwargs = {k: v for k, v in data.items() if accepted is None or k in accepted}
        self.observations = {k: v for k, v in data.items() if k not in self.kwargs}
        missing = [name for name in required_arguments(model) if name not in self.kwargs]
        if missing:
            name = getattr(model, "__name__", "the model")
            raise ModelError(f"{name}() needs argument(s) {missing}, which data= does not give (data keys: "
                             f"{list(data)}); a plain log density of one flat vector needs dim= or an "
                             f"init array instead")
        self._run = _Data(functools.partial(model, **self.kwargs), self.observations)

    def __call__(self):
        return run_attributed(self, self._run)

    def data_key_of(self, site) -> str | None:
        """The data key whose value is ``site``'s observed value, if it came from data."""
        if site.name in self.observations:
            return site.name
        for k, v in self.kwargs.items():
            if v is site.value:
                return k
        return None

    def check_observations(self, tr: Trace) -> None:
        """Raise if a data key names neither a model argument nor a site of ``tr``."""
        unknown = [k for k in self.observations
                   if k not in tr or tr[k].type not in ("sample", "plate")]
        if unknown:
            raise ModelError(f"data keys {unknown} are neither arguments of "
                             f"{getattr(self.model, '__name__', 'the model')} nor sample/plate "
                             f"sites of it (sites: {list(tr)})")


def _keyword_names(model) -> set | None:
    """Names ``model`` accepts as keywords, or None when it takes ``**kwargs``."""
    try:
        params = inspect.signature(model).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def required_arguments(model) -> list:
    """Parameters of ``model`` without a default (empty when the signature cannot be read)."""
    try:
        params = inspect.signature(model).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.default is p.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _as_data(key, value):
    """Data as the model sees it: lists and pandas objects become numpy arrays.

    A DataFrame becomes a 2-D float array (rows x columns), a Series a 1-D
    array; categorical columns become their integer codes. String (object)
    columns and ragged lists have no array form and are refused by name.
    """
    module = type(value).__module__ or ""
    if module.startswith("pandas"):
        return _from_pandas(key, value)
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, (np.ndarray, jax.Array)) and np.ndim(v) >= 1 for v in value) or any(
                type(v).__module__.startswith("pandas") for v in value):
            raise ModelError(f"data {key!r} is a {type(value).__name__} of arrays; pass one array "
                             "(np.stack or np.concatenate them), or give each its own data key")
        try:
            arr = np.asarray(value)
        except ValueError:
            raise ModelError(f"data {key!r} is a ragged {type(value).__name__} (rows of different "
                             "lengths), which has no array form; pass an array") from None
        if arr.dtype == object:
            raise ModelError(f"data {key!r} holds non-numeric values; pass numbers")
        return arr
    return value


def _from_pandas(key, value):
    import pandas as pd

    def column(name, col, where):
        if isinstance(col.dtype, pd.CategoricalDtype):
            return np.asarray(col.cat.codes)
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            raise ModelError(f"data {key!r}: {where} {name!r} holds strings (dtype {col.dtype}); "
                             "convert it to numbers, e.g. .astype('category') for integer codes")
        if not (pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)):
            raise ModelError(f"data {key!r}: {where} {name!r} has dtype {col.dtype}, not a number")
        return col.to_numpy()

    if isinstance(value, pd.DataFrame):
        cols = [column(c, value[c], "column") for c in value.columns]
        if not cols:
            raise ModelError(f"data {key!r} is a DataFrame with no columns")
        return np.stack([np.asarray(c, dtype=np.float64) for c in cols], axis=1)
    if isinstance(value, pd.Series):
        return column(value.name if value.name is not None else key, value, "Series")
    if isinstance(value, pd.Index):
        return column(value.name if value.name is not None else key, value.to_series(), "Index")
    raise ModelError(f"data {key!r} is a pandas {type(value).__name__}; pass a DataFrame, a Series "
                     "or an array")


class _Initialize(Handler):
    """Give every latent sample site an initial value drawn by ``strategy``.

    ``"uniform"``: Uniform(-2, 2) in unconstrained space; ``"prior"``: a prior
    draw; ``"median"``: the median of 101 prior draws taken in unconstrained
    space (so it stays in the support). Improper priors fall back to
    ``"uniform"``; discrete sites always use a prior draw.
    """

    def __init__(self, fn, key, strategy="uniform"):
        super().__init__(fn)
        if strategy not in INIT_STRATEGIES:
            raise ArgumentError("init", f"unknown init strategy {strategy!r}; use one of {INIT_STRATEGIES}")
        self.key, self.strategy = key, strategy

    def process_message(self, msg: Site) -> None:
        if msg.type == "sample" and msg.value is None:
            msg.value = init_value(msg.fn, step_key(self.key, msg), self.strategy,
                                   msg.kwargs.get("sample_shape", ()))


def init_value(fn, key, strategy: str, sample_shape=()):
    """An initial value of distribution ``fn`` by ``strategy`` (see :class:`_Initialize`).

    Returns
    -------
    array, shape ``sample_shape + fn.batch_shape + fn.event_shape``
    """
    if fn.support.is_discrete:
        return fn.sample(key, sample_shape)
    try:
        if strategy == "prior":
            return fn.sample(key, sample_shape)
        if strategy == "median":
            transform = biject_to(fn.support)
            draws = transform.inv(fn.sample(key, (_MEDIAN_DRAWS,) + tuple(sample_shape)))
            return transform(jnp.median(draws, axis=0))
    except ImproperDistributionError:
        pass
    return initial_value(fn, key, sample_shape)


def prototype_trace(model: BoundModel, key=None) -> Trace:
    """Run ``model`` once with Uniform(-2, 2) values in unconstrained space and trace it.

    The trace fixes the site structure (names, shapes, plates) that
    compiled objects rely on. Uniform values rather than prior draws, because
    a prior draw compiles that distribution's sampler (seconds for Gamma, Beta
    or Dirichlet) only to learn shapes.
    """
    key = jax.random.PRNGKey(0) if key is None else key
    tr = trace(seed(_Initialize(model, key, "uniform"), key)).get_trace()
    model.check_observations(tr)
    return tr


def transform_of(site: Site):
    """Bijection from unconstrained space onto the set a latent/param site lives in."""
    if site.type == "param":
        return biject_to(site.kwargs["constraint"])
    return biject_to(site.fn.support)


def is_free(site: Site) -> bool:
    """Whether the site is a coordinate of unconstrained space (latent sample or param)."""
    return site.type == "param" or (site.type == "sample" and not site.is_observed)
