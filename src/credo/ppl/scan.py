r"""``credo.scan``: a loop over time whose steps may hold sample sites, compiled once.

``scan(step, init, xs)`` runs like :func:`jax.lax.scan`, ``step(carry, x) ->
(carry, y)``, and may call :func:`~credo.ppl.sample` (continuous or discrete,
observed or latent), :func:`~credo.ppl.deterministic` and
:func:`~credo.ppl.factor`. A site ``"z"`` inside becomes one site of the
trace whose value has a leading time axis of the scan's length; data for it
(``data={"y": series}``) is given with that axis, and each step reads its
row. The body is traced once, so a series of 10,000 steps compiles as fast as
one of 10.

**Discrete states are summed by the forward algorithm.** When the model's
log density sums its discrete latent sites out (:mod:`credo.ppl.enumeration`),
the discrete sites of a step are given their support along a *current*
dimension, the carry brings the previous step's values along a *previous*
dimension, and the scan accumulates, in log space,

.. math::

    \alpha_t(z_t) = \log \sum_{z_{t-1}} \exp\big(\alpha_{t-1}(z_{t-1}) + \phi_t(z_{t-1}, z_t)\big),

where :math:`\phi_t` is the sum of the step's log-probability terms that
depend on its discrete sites (Rabiner 1989). The chain's contribution to the
density, :math:`\log \sum_{z_T} \exp \alpha_T(z_T)`, is one factor site named
after the scan; it costs ``O(T K^2)``, never ``K^T``. A carry may depend on the
current step's discrete sites (a first-order chain), not on older ones.

References
----------
Rabiner, L. R. (1989). A tutorial on hidden Markov models and selected
applications in speech recognition. Proc. IEEE 77(2).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from credo.distributions.distribution import Distribution
from credo.errors import ArgumentError, ModelError

from ._tables import check_unscaled, eliminate, own_log_prob
from .runtime import _STACK, Handler, ScanStep, Site, apply_stack

__all__ = ["scan", "Stacked", "ScanEnumeration"]


class Stacked(Distribution):
    """The distributions of one site over the steps of a scan: a leading time axis on every parameter.

    ``log_prob(value)`` maps the step's distribution over the time axis of
    ``value`` (shape ``(T,) + step shape``).

    Parameters
    ----------
    base : Distribution
        The step's distribution with every array leaf stacked along a new
        leading axis of length ``length``.
    length : int
    step_batch_shape, event_shape : tuple
        The step's shapes.
    """

    arg_constraints: dict = {}

    def __init__(self, base, length: int, step_batch_shape: tuple, event_shape: tuple):
        self.base, self.length, self.step_batch_shape = base, int(length), tuple(step_batch_shape)
        super().__init__((self.length,) + self.step_batch_shape, tuple(event_shape), validate_args=False)

    def _pytree_data(self):
        return ("base",)

    def _refresh_batch_shape(self):
        pass  # the time axis and the step's shapes are static

    @property
    def support(self):
        return self.base.support

    @property
    def has_enumerate_support(self):
        return getattr(self.base, "has_enumerate_support", False)

    def _log_density(self, value):
        return jax.vmap(lambda d, v: d.log_prob(v))(self.base, value)

    def _sample(self, key, sample_shape):
        if sample_shape:
            raise ModelError("a scan's stacked site draws one series at a time")
        keys = jax.random.split(key, self.length)
        return jax.vmap(lambda d, k: d.sample(k))(self.base, keys)

    def expand(self, batch_shape):
        if tuple(batch_shape) == tuple(self.batch_shape):
            return self
        raise ModelError("a site inside credo.scan cannot be expanded after the scan")

    def __repr__(self):
        return f"Stacked({type(self.base).__name__}, length={self.length})"


@dataclasses.dataclass(frozen=True)
class ScanEnumeration:
    """How one scan sums its steps' discrete sites (filled in by :mod:`credo.ppl.enumeration`).

    ``sites``: step site name -> ``(current dim, previous dim, support values)``;
    ``rank``: the array rank the contraction works at; ``report`` receives,
    when the scan is planned, the entries of its step table and its length.
    """

    sites: dict
    rank: int
    report: dict = dataclasses.field(default_factory=dict, compare=False)


class _Step(Handler):
    """Innermost handler of one traced step: marks its sites and records them when every handler is done."""

    def __init__(self, scan: str, index, length: int):
        super().__init__()
        self.step = ScanStep(scan, index, length)
        self.sites: dict = {}
        self.inner_plates: set = set()

    def process_message(self, msg: Site) -> None:
        if msg.step is not None and msg.step.scan != self.step.scan:
            raise ModelError(f"site {msg.name!r} is inside two scans ({msg.step.scan!r} and {self.step.scan!r}); "
                             "scans do not nest")
        if msg.type == "param":
            raise ModelError(f"param site {msg.name!r} is inside credo.scan {self.step.scan!r}; "
                             "declare params outside the scan")
        if msg.type == "plate":
            self.inner_plates.add(msg.name)
            return
        msg.step = self.step

    def postprocess_message(self, msg: Site) -> None:
        if msg.type in ("sample", "deterministic", "factor"):
            self.sites[msg.name] = msg


def _find_enumeration(name: str):
    """``(plan, handler)`` of the enumeration active for scan ``name``, or None."""
    for handler in reversed(_STACK.get()):
        plans = getattr(handler, "scans", None)
        if plans and name in plans:
            return plans[name], handler
    return None


def _length_of(xs, length) -> int:
    leaves = jax.tree_util.tree_leaves(xs)
    sizes = {int(np.shape(leaf)[0]) for leaf in leaves if np.ndim(leaf) >= 1}
    if any(np.ndim(leaf) == 0 for leaf in leaves):
        raise ArgumentError("xs", "every array of xs needs a leading time axis")
    if len(sizes) > 1:
        raise ArgumentError("xs", f"the arrays of xs have different lengths {sorted(sizes)}")
    if length is None:
        if not sizes:
            raise ArgumentError("length", "give length= when xs is None")
        return sizes.pop()
    length = int(length)
    if sizes and sizes != {length}:
        raise ArgumentError("length", f"length={length} but xs has length {sizes.pop()}")
    if length < 1:
        raise ArgumentError("length", f"a scan needs at least one step, got length={length}")
    return length


def scan(step: Callable, init, xs=None, length: int | None = None, *, name: str | None = None):
    """Loop ``step`` over time, like :func:`jax.lax.scan`, with sample sites inside.

    Parameters
    ----------
    step : callable
        ``step(carry, x) -> (carry, y)``; ``x`` is one time slice of ``xs``
        (None without ``xs``). It may call ``sample``, ``deterministic``,
        ``factor`` and open plates; every site inside gets a leading time axis.
    init : pytree
        The initial carry.
    xs : pytree of arrays, optional
        Scanned inputs, each with a leading time axis.
    length : int, optional
        Number of steps (needed without ``xs``).
    name : str, optional
        Name of the scan (default: the step function's name). With discrete
        latent sites inside, the chain's summed contribution is a factor site
        of this name.

    Returns
    -------
    (carry, ys)
        The final carry and the stacked outputs, as :func:`jax.lax.scan`.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import credo.ppl as ppl
    >>> from credo import distributions as dist
    >>> def random_walk(y):
    ...     sigma = ppl.sample("sigma", dist.HalfNormal(1.0))
    ...     def step(level, y_t):
    ...         level = ppl.sample("level", dist.Normal(level, sigma))
    ...         ppl.sample("y", dist.Normal(level, 0.5), obs=y_t)
    ...         return level, None
    ...     ppl.scan(step, 0.0, y)
    >>> ppl.logdensity(random_walk, {"y": jnp.zeros(100)}).dim
    101
    """
    name = name if name is not None else getattr(step, "__name__", "scan")
    length = _length_of(xs, length)
    found = _find_enumeration(name)
    if found is None:
        return _plain_scan(step, init, xs, length, name)
    plan, handler = found
    return _forward_scan(step, init, xs, length, name, plan, handler.semiring, handler.record, handler.probes)


# ---------------------------------------------------------------------- running the steps
def _run_step(step, name, length, carry, x, index):
    handler = _Step(name, index, length)
    with handler:
        carry, y = step(carry, x)
    return carry, y, handler


def _record(sites: dict, static: dict):
    """The arrays of a step's sites (scan outputs), their static description kept aside."""
    arrays = {}
    for n, msg in sites.items():
        static[n] = dict(type=msg.type, is_observed=msg.is_observed, plates=msg.plates,
                         batch=tuple(msg.fn.batch_shape) if msg.fn is not None else None,
                         event=tuple(msg.fn.event_shape) if msg.fn is not None else None,
                         kwargs=dict(msg.kwargs))
        # A scale or mask that is the same at every step stays one value; per-step arrays get the time axis.
        static[n]["scale"] = msg.scale if _is_constant(msg.scale) else None
        static[n]["mask"] = msg.mask if _is_constant(msg.mask) else None
        static[n]["rank"] = len(msg.fn.batch_shape) if msg.fn is not None else jnp.ndim(msg.value)
        arrays[n] = dict(value=jnp.asarray(msg.value), fn=msg.fn,
                         scale=None if _is_constant(msg.scale) else jnp.asarray(msg.scale),
                         mask=None if _is_constant(msg.mask) else jnp.asarray(msg.mask),
                         ladj=msg.log_abs_det_jacobian)
    return arrays


def _is_constant(x) -> bool:
    return x is None or isinstance(x, (bool, int, float))


def _with_time_axis(stacked, rank: int):
    """A stacked per-step array ``(T,) + s`` laid out ``(T,) + (1,) * (rank - len(s)) + s``, so that it
    broadcasts against the stacked log probabilities ``(T,) + batch`` (``rank = len(batch)``)."""
    if stacked is None:
        return None
    step = tuple(jnp.shape(stacked))[1:]
    return jnp.reshape(stacked, (stacked.shape[0],) + (1,) * max(rank - len(step), 0) + step)


def _emit(name: str, length: int, static: dict, stacked: dict, summed: tuple = ()) -> None:
    """Send each site of the scan, with its series of values, to the recording handlers.

    Sites in ``summed`` are inside the scan's forward factor: they are recorded
    (values, Jacobians) but their log probability counts only there.
    """
    for site_name, info in static.items():
        arrays = stacked[site_name]
        fn = None
        if info["type"] == "sample":
            fn = Stacked(arrays["fn"], length, info["batch"], info["event"])
        kwargs = dict(info["kwargs"], stacked=True, scan=name)
        if site_name in summed:
            kwargs["summed_in"] = name
        rank = info["rank"]
        scale = info["scale"] if arrays["scale"] is None else _with_time_axis(arrays["scale"], rank)
        mask = info["mask"] if arrays["mask"] is None else _with_time_axis(arrays["mask"], rank)
        msg = Site(name=site_name, type=info["type"], fn=fn, value=arrays["value"],
                   is_observed=info["is_observed"], plates=info["plates"], scale=scale, mask=mask,
                   log_abs_det_jacobian=arrays["ladj"], kwargs=kwargs)
        apply_stack(msg)


def _plain_scan(step, init, xs, length, name):
    static: dict = {}

    def body(carry, inputs):
        x, index = inputs
        carry, y, handler = _run_step(step, name, length, carry, x, index)
        return carry, (y, _record(handler.sites, static))

    carry, (ys, stacked) = jax.lax.scan(body, init, (xs, jnp.arange(length)))
    _emit(name, length, static, stacked)
    return carry, ys


# ---------------------------------------------------------------------- the forward algorithm
def _pad(x, rank: int):
    return jnp.reshape(x, (1,) * (rank - jnp.ndim(x)) + tuple(jnp.shape(x)))


def _swap_shape(shape: tuple, pairs) -> tuple:
    shape = list(shape)
    for current, previous in pairs:
        shape[current], shape[previous] = shape[previous], shape[current]
    return tuple(shape)


def _swap(x, pairs):
    for current, previous in pairs:
        x = jnp.swapaxes(x, current, previous)
    return x


def _outer_frames() -> tuple:
    """The plates open around the scan call, outermost first."""
    from .primitives import plate

    return tuple(h.frame for h in _STACK.get() if isinstance(h, plate) and h.frame is not None)


def _step_terms(handler: _Step, plan: ScanEnumeration, name: str, rank: int):
    """The step's log-probability terms that depend on its discrete sites, summed: ``(names, phi)``."""
    dims = tuple(d for cur, prev, _ in plan.sites.values() for d in (cur, prev))
    names, phi = [], None
    for n, msg in handler.sites.items():
        if n in plan.sites and any(f.name in handler.inner_plates for f in msg.plates):
            raise ModelError(f"discrete site {n!r} of scan {name!r} is inside a plate opened within the step; "
                             "a scan sums one chain of states per element of the plates around the scan: open "
                             "the plate outside the scan")
        if msg.type not in ("sample", "factor"):
            continue
        own = n in plan.sites and not msg.is_observed
        lp = _pad(own_log_prob(msg, plan.sites[n][0]) if own else msg.unscaled_log_prob, rank)
        if not any(lp.shape[d] > 1 for d in dims):
            continue
        check_unscaled(msg, f"in scan {name!r} depends on the step's discrete sites and is scaled or "
                            "subsampled; the forward algorithm sums such terms exactly only unscaled",
                       plate_ratios=False)
        inner = tuple(f.dim for f in msg.plates if f.name in handler.inner_plates)
        if inner:  # independent copies within the step (no discrete site among them): their product first
            lp = jnp.sum(lp, axis=inner, keepdims=True)
        names.append(n)
        phi = lp if phi is None else phi + lp
    return tuple(names), phi


def _forward_scan(step, init, xs, length, name, plan: ScanEnumeration, semiring: str = "logsum",
                  record: bool = False, probes: dict | None = None):
    rank = plan.rank
    pairs = [(cur, prev) for cur, prev, _ in plan.sites.values()]
    current_dims = tuple(cur for cur, _ in pairs)
    previous_dims = tuple(prev for _, prev in pairs)
    x0 = None if xs is None else jax.tree_util.tree_map(lambda a: jnp.asarray(a)[0], xs)

    probes = {n: p for n, p in (probes or {}).items() if n in plan.sites}

    def one_step(carry, x, index):
        carry_out, y, handler = _run_step(step, name, length, carry, x, index)
        summed, phi = _step_terms(handler, plan, name, rank)
        for n, probe in probes.items():  # (see credo.discrete_marginals)
            phi = phi + jnp.asarray(probe)[index]
        return carry_out, y, handler, summed, phi

    # Shapes first (no arithmetic): the carry with its previous-step dimensions, then the forward table.
    carry_in = init
    for _ in range(4):  # a carry may pick up the states one step later than another (a pipeline)
        out = jax.eval_shape(lambda c: one_step(c, x0, 0)[0], carry_in)
        widened = _widen_carry(carry_in, out, pairs, rank, name)
        if [jnp.shape(a) for a in jax.tree_util.tree_leaves(widened)] == \
                [jnp.shape(a) for a in jax.tree_util.tree_leaves(carry_in)]:
            break
        carry_in = widened
    carry_shapes = [tuple(jnp.shape(a)) for a in jax.tree_util.tree_leaves(carry_in)]
    phi_struct = jax.eval_shape(lambda c: one_step(c, x0, 0)[4], carry_in)
    if phi_struct is None:
        raise ModelError(f"scan {name!r}: its discrete sites {sorted(plan.sites)} enter no log-probability term")
    alpha_shape = _alpha_shape(tuple(phi_struct.shape), pairs, previous_dims)
    joint_entries = int(np.prod(jnp.broadcast_shapes(_swap_shape(alpha_shape, pairs), tuple(phi_struct.shape))))
    plan.report.update(table=joint_entries, length=length)
    alpha0 = _one_hot_start(alpha_shape, current_dims, phi_struct.dtype)

    static: dict = {}
    summed_names: list = []
    constant = _constant_carry(one_step, carry_in, x0, carry_shapes, pairs, rank)
    if constant is not None:
        # The carry is the previous states themselves (no running value): every step's table is known
        # without the recursion, so they are computed at once over time and only alpha is scanned.
        def table(x, index):
            carry = jax.tree_util.tree_map(lambda first, later: jnp.where(index == 0, first, later),
                                           carry_in, constant)
            _, y, handler, summed, phi = one_step(carry, x, index)
            summed_names[:] = summed
            return y, _record(handler.sites, static), jnp.broadcast_to(phi, tuple(phi_struct.shape))

        ys, stacked, phis = jax.vmap(table)(xs, jnp.arange(length))

        def recursion(alpha, phi):
            joint = _swap(alpha, pairs) + phi
            return jnp.broadcast_to(eliminate(joint, previous_dims, semiring), alpha_shape), \
                (joint if record else None)

        alpha, joints = jax.lax.scan(recursion, alpha0, phis)
        _finish(name, length, static, stacked, tuple(summed_names), alpha, current_dims, semiring, record, joints)
        return constant, ys

    def body(state, inputs):
        carry, alpha = state
        x, index = inputs
        carry_out, y, handler, summed, phi = one_step(carry, x, index)
        summed_names[:] = summed
        joint = _swap(alpha, pairs) + phi
        alpha = jnp.broadcast_to(eliminate(joint, previous_dims, semiring), alpha_shape)
        carry_out = _carry_to_previous(carry_out, carry_shapes, pairs, rank)
        return (carry_out, alpha), (y, _record(handler.sites, static), joint if record else None)

    (carry, alpha), (ys, stacked, joints) = jax.lax.scan(body, (carry_in, alpha0), (xs, jnp.arange(length)))
    _finish(name, length, static, stacked, tuple(summed_names), alpha, current_dims, semiring, record, joints)
    return carry, ys


def _finish(name, length, static, stacked, summed, alpha, current_dims, semiring, record, joints) -> None:
    """Emit the scan's sites and the chain's factor (with the tables backward sampling needs)."""
    _emit(name, length, static, stacked, summed)
    chain = eliminate(alpha, current_dims, semiring)
    kwargs = {"stacked": True, "scan": name, "forward": summed}
    if record:  # (credo.infer_discrete)
        kwargs.update(joints=joints, alpha=alpha)
    apply_stack(Site(name=name, type="factor", value=chain, plates=_outer_frames(), kwargs=kwargs))


def _constant_carry(one_step, carry_in, x0, carry_shapes, pairs, rank):
    """The carry a step hands on, if it is a constant (the enumerated states themselves), else None.

    The step runs once with abstract inputs (carry, slice of ``xs``, step
    index, and, through the handlers, the model's parameters): a carry that
    comes out as a concrete array depends on none of them, so every step
    after the first receives the same one.
    """
    found = []

    def probe(carry, x, index):
        with jax.ensure_compile_time_eval():  # what depends on no traced input is computed now, concrete
            out = one_step(carry, x, index)[0]
        if not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(out)):
            found.append(out)
        return jnp.zeros(())

    jax.eval_shape(probe, carry_in, x0, jnp.asarray(1))
    if not found:
        return None
    return _carry_to_previous(found[0], carry_shapes, pairs, rank)


def _widen_carry(init, out_structs, pairs, rank, name):
    """The initial carry widened to the shape a later step's carry has (previous-step dimensions)."""
    def widen(leaf, out):
        padded = (1,) * (rank - len(out.shape)) + tuple(out.shape)
        if not any(padded[cur] > 1 or padded[prev] > 1 for cur, prev in pairs):
            return leaf
        if any(padded[prev] > 1 for _, prev in pairs):
            raise ModelError(f"the carry of scan {name!r} depends on the discrete sites of an earlier step than "
                             "the last; a scan carries a first-order chain (pass on what you need as continuous "
                             "values, or make the states of two steps one discrete site)")
        leaf = _pad(jnp.asarray(leaf, out.dtype), rank)
        return jnp.broadcast_to(leaf, jnp.broadcast_shapes(jnp.shape(leaf), _swap_shape(padded, pairs)))
    return jax.tree_util.tree_map(widen, init, out_structs)


def _carry_to_previous(carry, shapes: list, pairs, rank):
    """A step's output carry with its current-step dimensions moved to the previous-step ones."""
    leaves, treedef = jax.tree_util.tree_flatten(carry)
    moved = [leaf if len(shape) < rank else jnp.broadcast_to(_swap(_pad(leaf, rank), pairs), shape)
             for leaf, shape in zip(leaves, shapes)]
    return jax.tree_util.tree_unflatten(treedef, moved)


def _alpha_shape(phi_shape: tuple, pairs, previous_dims) -> tuple:
    """The fixed point of the shape of ``logsumexp_prev(swap(alpha) + phi)``."""
    shape = (1,) * len(phi_shape)
    while True:
        new = list(jnp.broadcast_shapes(_swap_shape(shape, pairs), phi_shape))
        for d in previous_dims:
            new[d] = 1
        new = tuple(jnp.broadcast_shapes(tuple(new), shape))
        if new == shape:
            return shape
        shape = new


def _one_hot_start(shape: tuple, current_dims, dtype):
    """``log 1[z = first value]`` along the current dimensions: the chain before step 0, where every
    copy of the (widened) initial carry is the same, so one of them is counted."""
    start = jnp.zeros(shape, dtype)
    for d in current_dims:
        index = jnp.arange(shape[d]).reshape((-1,) + (1,) * (-d - 1))
        start = jnp.where(index == 0, start, -jnp.inf)
    return start
