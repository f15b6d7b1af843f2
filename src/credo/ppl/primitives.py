"""Model primitives: ``sample``, ``param``, ``deterministic``, ``factor`` and ``plate``.

Each primitive sends a :class:`~credo.ppl.runtime.Site` through the active
handlers and returns the value they settle on.
"""

from __future__ import annotations

import jax.numpy as jnp

from credo.distributions import constraints
from credo.errors import ModelError

from .runtime import Handler, PlateFrame, Site, apply_stack

__all__ = ["sample", "param", "deterministic", "factor", "plate"]


def sample(name: str, fn, obs=None, *, sample_shape=()):
    """A random variable ``name`` with distribution ``fn``.

    Parameters
    ----------
    name : str
        Unique site name.
    fn : Distribution
    obs : array, optional
        Observed value; makes the site observed.
    sample_shape : tuple of int
        Extra leading dimensions of independent draws.

    Returns
    -------
    array, shape ``sample_shape + fn.batch_shape + fn.event_shape``
        (batch shape broadcast to the enclosing plates). ``obs`` when given.

    Raises
    ------
    MissingKeyError
        If the site is unobserved and no handler gave it a value or a key.
    """
    msg = Site(name=name, type="sample", fn=fn, value=obs, is_observed=obs is not None,
               kwargs={"sample_shape": tuple(sample_shape)})
    return apply_stack(msg).value


def param(name: str, init_value, constraint=constraints.real):
    """A point-estimated parameter.

    Parameters
    ----------
    name : str
    init_value : array or callable
        Initial value, or ``init_value(key) -> array`` (needs a seed handler).
    constraint : Constraint
        Set the value must lie in; optimisers work in ``biject_to(constraint)``'s domain.

    Returns
    -------
    array
        ``init_value`` unless a handler substituted a value.
    """
    msg = Site(name=name, type="param", kwargs={"init_value": init_value, "constraint": constraint})
    return apply_stack(msg).value


def deterministic(name: str, value):
    """Record a deterministic function of other sites under ``name``; returns ``value``."""
    msg = Site(name=name, type="deterministic", value=value)
    return apply_stack(msg).value


def factor(name: str, log_weight):
    """Add ``log_weight`` (array, summed) to the model's log density."""
    msg = Site(name=name, type="factor", value=log_weight)
    apply_stack(msg)


class plate(Handler):
    """Conditionally independent copies along one batch dimension (a context manager).

    Sample sites inside a plate have their batch shape broadcast so that
    dimension ``dim`` has the plate's (subsample) size. With subsampling the
    log probability of every site inside is multiplied by
    ``size / subsample_size``, an unbiased estimate of the full-data term.

    Parameters
    ----------
    name : str
    size : int
    subsample_size : int, optional
        Draw this many indices without replacement (needs a seed handler, or
        a value substituted for the plate's name).
    dim : int, optional
        Negative batch dimension; by default the rightmost one not used by an
        enclosing plate.

    Examples
    --------
    >>> import credo.ppl as ppl
    >>> from credo import distributions as dist
    >>> def model(data):
    ...     with ppl.plate("N", 1000, subsample_size=10) as idx:
    ...         ppl.sample("x", dist.Normal(0.0, 1.0), obs=data[idx])

    ``with plate(...) as idx`` yields the indices, shape ``(subsample_size,)``.
    """

    def __init__(self, name: str, size: int, subsample_size: int | None = None,
                 dim: int | None = None):
        super().__init__()
        size = int(size)
        subsample_size = size if subsample_size is None else int(subsample_size)
        if not 0 < subsample_size <= size:
            raise ModelError(f"plate {name!r}: need 0 < subsample_size <= size, "
                             f"got {subsample_size} and {size}")
        self.name, self.size, self.subsample_size = name, size, subsample_size
        self._dim = dim
        self.frame = None
        self.indices = None

    def __enter__(self):
        msg = apply_stack(Site(name=self.name, type="plate", kwargs={
            "size": self.size, "subsample_size": self.subsample_size, "dim": self._dim}))
        self.indices = jnp.asarray(msg.value)
        # a handler may have set the sizes (minibatch SVI gives the full size to batch data)
        self.size, self.subsample_size = msg.kwargs["size"], msg.kwargs["subsample_size"]
        self.frame = PlateFrame(self.name, self.size, self.subsample_size, msg.kwargs["dim"])
        super().__enter__()
        return self.indices

    @property
    def dim(self) -> int | None:
        """The resolved batch dimension (None before entering)."""
        return None if self.frame is None else self.frame.dim

    def process_message(self, msg: Site) -> None:
        msg.plates = (self.frame,) + msg.plates
        if msg.type == "sample":
            msg.fn = msg.fn.expand(_plate_batch_shape(msg))
        if msg.type in ("sample", "factor") and self.subsample_size != self.size:
            ratio = self.size / self.subsample_size
            msg.scale = ratio if msg.scale is None else msg.scale * ratio


def _plate_batch_shape(msg: Site) -> tuple:
    """``fn``'s batch shape broadcast with the plates the site has collected so far."""
    frames = msg.plates
    expected = [1] * max(-f.dim for f in frames)
    for f in frames:
        expected[f.dim] = f.subsample_size
    batch = tuple(msg.fn.batch_shape)
    # dims left of the distribution's own batch dims come from the plates alone
    overlap = max(len(expected) - len(batch), 0)
    try:
        trailing = jnp.broadcast_shapes(tuple(expected[overlap:]), batch)
    except ValueError:
        raise ModelError(f"site {msg.name!r}: batch shape {batch} does not broadcast with the "
                         f"plates {[(f.name, f.subsample_size, f.dim) for f in frames]}") from None
    return tuple(expected[:overlap]) + tuple(trailing)
