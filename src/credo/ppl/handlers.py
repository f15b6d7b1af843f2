"""Effect handlers: record, seed, substitute, condition, scale, mask and block model sites.

Every handler wraps a model and is itself callable with the model's
arguments; handlers compose by nesting, e.g. ``trace(seed(model, 0))``.
They can also be used as context managers around model code.

Examples
--------
>>> import credo.ppl as ppl
>>> from credo import distributions as dist
>>> def model():
...     return ppl.sample("x", dist.Normal(0.0, 1.0))
>>> tr = ppl.trace(ppl.seed(model, 0)).get_trace()
>>> list(tr)
['x']
"""

from __future__ import annotations

from typing import Callable, Iterable

import jax.numpy as jnp

from .runtime import Handler, Site, Trace, as_key, at_step, step_key

__all__ = ["trace", "seed", "substitute", "condition", "uncondition", "scale", "mask", "block"]


class trace(Handler):
    """Record every site of a model run in a :class:`~credo.ppl.runtime.Trace`.

    Each call (or ``with`` block) records into a fresh trace, so one
    ``trace`` object may be used from several threads.

    Examples
    --------
    ``trace(seed(model, 0)).get_trace(*args)`` or ``with trace() as tr: ...``.
    """

    def __init__(self, fn: Callable | None = None):
        super().__init__(fn)
        self.trace = Trace()

    def _frame(self):
        return trace(self.fn)

    def __enter__(self):
        super().__enter__()
        return self.trace

    def postprocess_message(self, msg: Site) -> None:
        if msg.step is None:  # a site inside a scan is recorded once, stacked, when the scan ends
            self.trace.add(msg)

    def get_trace(self, *args, **kwargs) -> Trace:
        """Run the model with ``args``/``kwargs`` and return its trace."""
        frame = self._frame()
        with frame:
            frame.fn(*args, **kwargs)
        return frame.trace


class seed(Handler):
    """Give every site that needs randomness its own key derived from ``key``.

    The key of a site is ``fold_in(key, crc32(name))``: deterministic, and
    independent of the order in which sites run. Stateless, hence safe under
    ``jit``/``vmap`` and across threads.

    Parameters
    ----------
    fn : callable
    key : int or PRNG key
    """

    def __init__(self, fn: Callable | None = None, key=0):
        super().__init__(fn)
        self.key = as_key(key)

    def process_message(self, msg: Site) -> None:
        # An inner seed handler takes precedence; it has already set the key.
        if msg.key is None and msg.value is None and msg.type in ("sample", "param", "plate"):
            msg.key = step_key(self.key, msg)


class substitute(Handler):
    """Use ``data[name]`` as the value of unobserved sample, param and plate sites.

    Substituted sample sites stay latent (``is_observed`` is False); compare
    :class:`condition`. A plate's value is its subsample index array.

    Parameters
    ----------
    fn : callable
    data : dict
        Site name -> value.
    """

    def __init__(self, fn: Callable | None = None, data: dict | None = None):
        super().__init__(fn)
        self.data = dict(data or {})

    def process_message(self, msg: Site) -> None:
        if msg.name in self.data and msg.type in ("sample", "param", "plate") and not msg.is_observed:
            msg.value = at_step(msg, self.data[msg.name])


class condition(Handler):
    """Observe sample sites: ``data[name]`` becomes their value and ``is_observed`` is set.

    Parameters
    ----------
    fn : callable
    data : dict
        Site name -> observed value.
    """

    def __init__(self, fn: Callable | None = None, data: dict | None = None):
        super().__init__(fn)
        self.data = dict(data or {})

    def process_message(self, msg: Site) -> None:
        if msg.type == "sample" and msg.name in self.data:
            msg.value = at_step(msg, self.data[msg.name])
            msg.is_observed = True


class uncondition(Handler):
    """Forget observations: observed sample sites are drawn from their distribution instead.

    Used for predictive simulation, where the data sites are replicated.
    """

    def process_message(self, msg: Site) -> None:
        if msg.type == "sample" and msg.is_observed:
            msg.value = None
            msg.is_observed = False


class scale(Handler):
    """Multiply the log probability of sample and factor sites by ``scale``.

    Parameters
    ----------
    fn : callable
    scale : float or array
        Positive; an array broadcasts against each site's batch shape.
    """

    def __init__(self, fn: Callable | None = None, scale=1.0):
        super().__init__(fn)
        self.scale = scale

    def process_message(self, msg: Site) -> None:
        if msg.type in ("sample", "factor"):
            msg.scale = self.scale if msg.scale is None else msg.scale * self.scale


class mask(Handler):
    """Count the log probability of sample and factor sites only where ``mask`` is True.

    Parameters
    ----------
    fn : callable
    mask : bool or bool array
        Broadcasts against each site's batch shape.
    """

    def __init__(self, fn: Callable | None = None, mask=True):
        super().__init__(fn)
        self.mask = mask

    def process_message(self, msg: Site) -> None:
        if msg.type in ("sample", "factor"):
            msg.mask = self.mask if msg.mask is None else jnp.logical_and(msg.mask, self.mask)


class block(Handler):
    """Hide sites from the handlers outside this one.

    Parameters
    ----------
    fn : callable
    hide : iterable of str, optional
        Names to hide.
    expose : iterable of str, optional
        Hide every site except these.
    hide_fn : callable, optional
        ``hide_fn(site) -> bool``.

    With none of them given, every site is hidden.
    """

    def __init__(self, fn: Callable | None = None, hide: Iterable[str] | None = None,
                 expose: Iterable[str] | None = None, hide_fn: Callable | None = None):
        super().__init__(fn)
        if hide_fn is None:
            if hide is not None:
                hidden = frozenset(hide)
                hide_fn = lambda msg: msg.name in hidden  # noqa: E731
            elif expose is not None:
                shown = frozenset(expose)
                hide_fn = lambda msg: msg.name not in shown  # noqa: E731
            else:
                hide_fn = lambda msg: True  # noqa: E731
        self.hide_fn = hide_fn

    def process_message(self, msg: Site) -> None:
        if self.hide_fn(msg):
            msg.stop = True
