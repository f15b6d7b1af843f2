r"""Exact summation of finite discrete latent sites inside a model's log density.

A discrete latent site with finite support (``Categorical``, ``Bernoulli``,
``DiscreteUniform``, ``Binomial``, ...) is not a coordinate of the sampler's
space. Instead the log density sums it out exactly:

.. math::

    \log p(y, \theta) = \log \sum_{z} p(y, z, \theta),

so that NUTS, HMC, ADVI and Pathfinder see a density of the continuous
latents only, with gradients through ``logsumexp``.

**Parallel enumeration.** Each enumerated site gets its own batch dimension,
to the left of every plate and batch dimension the model uses, and the model
runs once with each such site holding *all* its support values along that
dimension (``(K, 1, ..., 1)``). Downstream code broadcasts: ``mu[z]`` has the
enumeration dimension of ``z``, and so does every log-probability term that
depends on ``z``. This is the convention of Pyro and NumPyro (Obermeyer et
al. 2019); model code must broadcast (index with ``z``, ``jnp.where``), not
reduce over its batch dimensions.

**Tensor variable elimination over plates.** The log-probability terms
(factors) are then contracted in log space, by the plated sum-product
algorithm of Obermeyer et al. (2019, Alg. 1): plate sets are processed from
the innermost; at each one, the enumerated sites local to it are eliminated
(bucket elimination, a greedy min-fill order) by ``logsumexp``, and the
result is summed over the plates it no longer depends on and passed out.
Plate dimensions stay batch dimensions throughout, so a mixture over
``N`` points costs ``O(N K)``, and a chain of ``T`` discrete states written
as a Python loop ``O(T K^2)``, never ``K^T``.

**Planned before compiling.** :func:`plan_enumeration` runs the model under
:func:`jax.eval_shape` (no arithmetic), builds the contraction program, and
estimates its tables' size; a program that would not fit raises
:class:`~credo.errors.ContractionTooLargeError` naming the sites, before
anything is compiled or allocated. The plan is reported by
:attr:`credo.ppl.LogDensity.enumeration`.

References
----------
Obermeyer, F., Bingham, E., Jankowiak, M., Phan, D., Chen, J. P. (2019).
Tensor variable elimination for plated factor graphs. ICML.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Iterable

import jax
import jax.numpy as jnp
import numpy as np

from credo.distributions.constraints import _IntegerInterval
from credo.errors import ModelError
from credo.factors.budget import check_memory
from credo.graphs.elimination import greedy_order, interaction_graph

from ._model import transform_of
from .runtime import Handler, Site, Trace
from ._tables import check_unscaled, eliminate, own_log_prob
from .scan import ScanEnumeration

__all__ = ["EnumeratedSite", "EnumerationPlan", "Enumerate", "plan_enumeration", "enumerable_sites",
           "MAX_ENUMERATED_SITES"]

#: Enumerated sites a model may have (each takes one array dimension; XLA arrays have at most 64).
MAX_ENUMERATED_SITES = 48

#: Table-sized arrays alive per logsumexp step (the sum, the shifted copy, its exponential).
_STEP_COPIES = 3


@dataclasses.dataclass(frozen=True)
class EnumeratedSite:
    """A discrete latent site summed out of the log density.

    Attributes
    ----------
    name : str
    dim : int
        The negative array dimension its support values occupy.
    support : tuple of int
        Its support values, in order.
    plates : tuple of str
        The plates it sits in, outermost first (one latent per plate element).
    """

    name: str
    dim: int
    support: tuple
    plates: tuple

    @property
    def size(self) -> int:
        return len(self.support)

    def values(self):
        """Its support values laid out along :attr:`dim`: shape ``(K,) + (1,) * (-dim - 1)``."""
        return jnp.asarray(self.support).reshape((-1,) + (1,) * (-self.dim - 1))


@dataclasses.dataclass(frozen=True)
class _Factor:
    """A log-probability term of the enumerated run: which site, which sites it depends on, its plates."""

    site: str
    variables: frozenset
    level: frozenset
    presum: tuple  # batch axes (positions from the right) to sum at once: neither plate nor enumerated


@dataclasses.dataclass(frozen=True)
class _Op:
    """One instruction of the contraction program (ids name intermediate tensors)."""

    kind: str  # "eliminate" | "combine" | "reduce" | "total"
    inputs: tuple
    output: int | None = None
    axes: tuple = ()  # negative positions
    multiplier: float = 1.0
    variable: str | None = None


@dataclasses.dataclass(frozen=True)
class EnumerationPlan:
    """How a model's discrete latent sites are summed out (see :mod:`credo.ppl.enumeration`).

    Attributes
    ----------
    sites : tuple of EnumeratedSite
        The summed sites, in trace order.
    order : tuple of str
        The order in which they are eliminated.
    largest_table : int
        Entries of the largest table a step forms (plate dimensions included).
    cost : int
        Entries of all the tables the steps form (about the multiply-adds of one evaluation).
    memory : int
        Estimated bytes of one evaluation with its gradient.
    factors : tuple of str
        The sites whose log probability depends on a summed site.
    deterministics : tuple of str
        Deterministic sites that depend on a summed site (their values are
        left out of the continuous draws; :func:`credo.infer_discrete` gives them).
    """

    sites: tuple
    order: tuple
    largest_table: int
    cost: int
    memory: int
    factors: tuple
    deterministics: tuple
    rank: int
    program: tuple = dataclasses.field(repr=False, default=())
    factor_plan: tuple = dataclasses.field(repr=False, default=())
    scans: dict = dataclasses.field(repr=False, default_factory=dict)

    @property
    def plain_sites(self) -> dict:
        """The summed sites outside scans, by name."""
        inside = {n for plan in self.scans.values() for n in plan.sites}
        return {s.name: s for s in self.sites if s.name not in inside}

    def handler(self, fn, semiring: str = "logsum", record: bool = False, probes: dict | None = None):
        """The :class:`Enumerate` handler that runs ``fn`` with this plan's sites enumerated.

        ``semiring="max"`` makes scans maximise instead of sum (Viterbi);
        ``record`` makes them keep their forward tables for backward sampling;
        ``probes`` (site name -> array) are added to the sites' own log
        probabilities inside scans (see :meth:`log_density`).
        """
        return Enumerate(fn, self.plain_sites, self.scans, semiring, record, probes)

    def forward(self, tr: Trace, semiring: str = "logsum"):
        """The contraction of an enumerated run ``tr`` keeping every elimination's joint table.

        Returns ``(total, stored)``: the log density's summed part (the max
        over assignments with ``semiring="max"``) and ``{op output id: joint table}``.
        """
        plain = self.plain_sites
        tensors = {i: _load(tr[f.site], f, self.rank, _own_dim(tr[f.site], plain))
                   for i, f in enumerate(self.factor_plan)}
        stored: dict = {}
        total = _run_program(self.program, tensors, semiring, stored)
        return total, stored

    @property
    def names(self) -> tuple:
        return tuple(s.name for s in self.sites)

    @property
    def signature(self) -> tuple:
        """A hashable summary that differs whenever the compiled contraction would."""
        scans = tuple(sorted((k, tuple(sorted(v.sites.items())), v.rank) for k, v in self.scans.items()))
        return (tuple((s.name, s.dim, s.support) for s in self.sites), self.program, self.factor_plan, scans)

    def __str__(self) -> str:
        inside = {n: scan for scan, plan in self.scans.items() for n in plan.sites}
        sites = ", ".join(f"{s.name} ({s.size} values"
                          + (f", per element of {'×'.join(s.plates)}" if s.plates else "")
                          + (f", per step of scan {inside[s.name]!r}, by the forward algorithm"
                             if s.name in inside else "") + ")" for s in self.sites)
        return (f"summed out: {sites}\n"
                f"elimination order: {', '.join(self.order)}\n"
                f"largest table: {self.largest_table:,} entries; all tables: {self.cost:,} entries; "
                f"about {_bytes(self.memory)} with the gradient\n"
                f"terms involved: {', '.join(self.factors)}")

    # -- evaluation ---------------------------------------------------------------------
    def log_density(self, tr: Trace, probes: dict | None = None):
        """Log joint density of an enumerated run ``tr``, the enumerated sites summed out (a scalar).

        Terms that depend on no enumerated site are summed as in
        :meth:`credo.ppl.Trace.log_density`; the others are contracted by the
        program. ``probes`` (site name -> array over its support values and
        plates) are added to the sites' own log probabilities: the gradient
        with respect to a zero probe is the site's conditional probabilities.
        """
        involved = {f.site: f for f in self.factor_plan}
        probes = probes or {}
        total = 0.0
        tensors = {}
        plain = self.plain_sites
        for i, factor in enumerate(self.factor_plan):
            tensors[i] = _load(tr[factor.site], factor, self.rank, _own_dim(tr[factor.site], plain))
            if factor.site in probes and factor.site in self.plain_sites:
                tensors[i] = tensors[i] + probes[factor.site]
        for site in tr.sites("sample", "factor"):
            if site.name not in involved and not site.summed_elsewhere:
                total = total + jnp.sum(site.log_prob)
        return total + _run_program(self.program, tensors)


def _bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


def _own_dim(site: Site, plain: dict) -> int | None:
    """The enumeration dimension of ``site`` if it is an enumerated site (its own term), else None."""
    return plain[site.name].dim if site.name in plain and not site.is_observed and site.type == "sample" else None


def _load(site: Site, factor: _Factor, rank: int, dim: int | None = None):
    # plate ratios are applied by the program; an enumerated site's own term is read from its table
    lp = site.unscaled_log_prob if dim is None else own_log_prob(site, dim)
    lp = jnp.reshape(lp, (1,) * (rank - jnp.ndim(lp)) + tuple(jnp.shape(lp)))
    if factor.presum:
        lp = jnp.sum(lp, axis=factor.presum, keepdims=True)
    return lp


def _run_program(program: tuple, tensors: dict, semiring: str = "logsum", stored: dict | None = None):
    """Run the contraction; with ``stored``, keep each elimination's joint table (for backward sampling)."""
    total = 0.0
    for op in program:
        if op.kind == "eliminate":
            joint = _add(tensors.pop(i) for i in op.inputs)
            if stored is not None:
                stored[op.output] = joint
            tensors[op.output] = eliminate(joint, op.axes, semiring)
        elif op.kind == "combine":
            tensors[op.output] = _add(tensors.pop(i) for i in op.inputs)
        elif op.kind == "reduce":
            reduced = jnp.sum(tensors.pop(op.inputs[0]), axis=op.axes, keepdims=True)
            tensors[op.output] = reduced if op.multiplier == 1.0 else reduced * op.multiplier
        else:  # total
            total = total + jnp.sum(tensors.pop(op.inputs[0]))
    return total


def _add(arrays: Iterable):
    total = None
    for a in arrays:
        total = a if total is None else total + a
    return total


# ------------------------------------------------------------------------ the handler
class Enumerate(Handler):
    """Give each enumerated site all its support values along its own dimension.

    Parameters
    ----------
    fn : callable
    sites : dict of str -> EnumeratedSite
        Sites outside scans.
    scans : dict of str -> ScanEnumeration
        Per scan, its steps' discrete sites; :func:`credo.scan` finds them here
        and sums its chain by the forward algorithm.
    """

    def __init__(self, fn=None, sites: dict | None = None, scans: dict | None = None, semiring: str = "logsum",
                 record: bool = False, probes: dict | None = None):
        super().__init__(fn)
        self.sites = dict(sites or {})
        self.scans = dict(scans or {})
        self.semiring, self.record, self.probes = semiring, record, dict(probes or {})

    def process_message(self, msg: Site) -> None:
        if msg.type != "sample" or msg.value is not None or msg.is_observed:
            return
        if msg.step is None:
            if msg.name in self.sites:
                msg.value = self.sites[msg.name].values()
        elif msg.step.scan in self.scans and msg.name in self.scans[msg.step.scan].sites:
            current, _, support = self.scans[msg.step.scan].sites[msg.name]
            msg.value = jnp.asarray(support).reshape((-1,) + (1,) * (-current - 1))


# ------------------------------------------------------------------------ planning
def enumerable_sites(tr: Trace) -> list[Site]:
    """The discrete latent sites of a prototype trace (each must have a finite support)."""
    return [s for s in tr.latent_sites() if s.fn.support.is_discrete]


def _support_of(site: Site) -> tuple:
    """The site's support values, one finite integer range shared by its whole batch."""
    support = site.fn.support
    if site.kwargs.get("sample_shape"):
        raise ModelError(f"discrete latent site {site.name!r} has sample_shape {site.kwargs['sample_shape']}; "
                         "to sum it out exactly, give it one latent per element of a credo.plate instead")
    if tuple(site.fn.event_shape) or not isinstance(support, _IntegerInterval):
        raise ModelError(f"discrete latent site {site.name!r} ({type(site.fn).__name__}) cannot be summed out: "
                         "enumeration needs a scalar distribution over a finite range of integers "
                         "(Categorical, Bernoulli, DiscreteUniform, Binomial); observe it, or sample the "
                         "model with credo.gibbs")
    bounds = []
    for which, bound in (("lower", support.lower_bound), ("upper", support.upper_bound)):
        try:
            values = np.unique(np.asarray(bound))
        except (TypeError, jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
            raise ModelError(f"discrete latent site {site.name!r}: its support's {which} bound depends on "
                             "another latent variable; enumeration needs a support known from the data") from None
        if not np.all(np.isfinite(values)):
            raise ModelError(f"discrete latent site {site.name!r} ({type(site.fn).__name__}) has an infinite "
                             f"support, which cannot be summed out exactly: truncate it (for example "
                             f"Categorical over 0..M with the {type(site.fn).__name__} probabilities "
                             "renormalised, or a DiscreteUniform), or sample the model with credo.gibbs")
        if values.size != 1:
            raise ModelError(f"discrete latent site {site.name!r}: its support's {which} bound differs across "
                             f"its batch ({values.size} values from {values.min()} to {values.max()}); "
                             "enumeration needs one support for every element (split the site by support)")
        bounds.append(int(values.item()))
    low, high = bounds
    return tuple(range(low, high + 1))


def _check_batch(site: Site, rank: int) -> None:
    """An enumerated site must be one latent per plate element: every batch axis a plate's."""
    plate_dims = {f.dim for f in site.plates}
    batch = tuple(getattr(site.fn, "step_batch_shape", site.fn.batch_shape))  # a scan's site: one step
    for position in range(1, len(batch) + 1):
        if batch[-position] > 1 and -position not in plate_dims:
            raise ModelError(f"discrete latent site {site.name!r} has batch shape {batch}, whose dimension "
                             f"{-position} (size {batch[-position]}) belongs to no plate: to sum out one latent "
                             "per element, declare that dimension with credo.plate")


def _nesting(tr: Trace) -> int:
    """Batch dimensions the model uses: plates, and the log probabilities' own batch dimensions."""
    depth = 0
    for site in tr.values():
        for frame in site.plates:
            depth = max(depth, -frame.dim)
        if site.type == "sample":
            depth = max(depth, len(site.kwargs.get("sample_shape", ())) + len(site.fn.batch_shape))
        elif site.type == "factor":
            depth = max(depth, jnp.ndim(site.value))
    return depth


def plan_enumeration(run, prototype: Trace, memory_limit: int | None = None) -> EnumerationPlan | None:
    """The contraction program that sums a model's discrete latent sites out, or None if it has none.

    Parameters
    ----------
    run : callable
        ``run(handler) -> Trace``: runs the model (its continuous values
        fixed) under the given :class:`Enumerate` handler, for :func:`jax.eval_shape`.
    prototype : Trace
        A plain run of the model (concrete values).
    memory_limit : int, optional
        Bytes one evaluation may use; default 80% of the available memory.

    Raises
    ------
    ModelError
        Naming the site, when a discrete latent cannot be summed out (infinite
        or varying support, a batch dimension outside any plate, a use outside
        its plate, plates that do not nest).
    ContractionTooLargeError
        When the program's tables would not fit in memory.
    """
    discrete = enumerable_sites(prototype)
    if not discrete:
        return None
    plain = [s for s in discrete if not s.kwargs.get("scan")]
    in_scans: dict = {}
    for s in discrete:
        if s.kwargs.get("scan"):
            in_scans.setdefault(s.kwargs["scan"], []).append(s)
    if len(plain) > MAX_ENUMERATED_SITES:
        raise ModelError(f"{len(plain)} discrete latent sites (limit {MAX_ENUMERATED_SITES}): a long chain of "
                         "discrete states is summed out by credo.scan, which needs no dimension per step")
    nesting = _nesting(prototype)
    sites = {}
    for i, site in enumerate(plain):
        _check_batch(site, nesting)
        sites[site.name] = EnumeratedSite(site.name, -(nesting + 1 + i), _support_of(site), site.plate_names)
    base = nesting + len(plain)
    widest = max((len(v) for v in in_scans.values()), default=0)
    rank = base + 2 * widest
    scans = {}
    for scan_name, members in in_scans.items():
        layout = {}
        for j, site in enumerate(members):
            _check_batch(site, nesting)
            support = _support_of(site)
            layout[site.name] = (-(base + 1 + 2 * j), -(base + 2 + 2 * j), support)
            sites[site.name] = EnumeratedSite(site.name, layout[site.name][0], support, site.plate_names)
        scans[scan_name] = ScanEnumeration(layout, rank)
    sites = {s.name: sites[s.name] for s in discrete}  # trace order

    recorded: dict = {}
    plain_sites = {s.name: sites[s.name] for s in plain}

    continuous = {s.name: transform_of(s).inv(s.value) for s in prototype.latent_sites() if s.name not in sites}

    def shapes():
        tr = run(Enumerate(None, plain_sites, scans))
        recorded["trace"] = tr
        # what a continuous site's value would be, mapped from unconstrained space through its support
        mapped = {name: transform_of(tr[name])(u) for name, u in continuous.items() if name in tr}
        return ({name: s.unscaled_log_prob for name, s in tr.items()
                 if s.type in ("sample", "factor") and not s.summed_elsewhere},
                {name: s.value for name, s in tr.items() if s.type == "deterministic"}, mapped)

    lp_shapes, value_shapes, mapped = jax.eval_shape(shapes)
    tr = recorded["trace"]
    _check_continuous_unchanged(prototype, mapped, sites)
    factors = _factors(tr, lp_shapes, plain_sites, nesting, rank)
    program, order, largest, cost = _program(factors, plain_sites, tr, rank)
    itemsize = max((np.dtype(s.dtype).itemsize for s in lp_shapes.values()), default=8)
    memory = itemsize * (_STEP_COPIES * largest + 2 * cost)
    for scan_name, scan_plan in scans.items():
        table, length = scan_plan.report.get("table", 1), scan_plan.report.get("length", 1)
        largest, cost = max(largest, table), cost + table * length
        memory += itemsize * (_STEP_COPIES * table + 2 * table * length)  # the forward tables, kept for the gradient
        order.extend(n for n in scan_plan.sites)
    changed = tuple(name for name, struct in value_shapes.items()
                    if tuple(struct.shape) != tuple(jnp.shape(prototype[name].value)))
    in_chains = tuple(n for n, x in tr.items() if x.summed_elsewhere)  # the terms inside scans' forward sums
    plan = EnumerationPlan(sites=tuple(sites.values()), order=tuple(order), largest_table=largest, cost=cost,
                           memory=memory, deterministics=changed, factors=tuple(f.site for f in factors) + in_chains,
                           rank=rank, program=tuple(program), factor_plan=tuple(factors), scans=scans)
    check_memory(f"summing out the discrete latent sites {list(sites)} (order {', '.join(order)})", memory,
                 largest, memory_limit,
                 advice="Each summed site multiplies the size of the tables of the terms it meets: observe some "
                        "of them, write a chain of states with credo.scan, or give a larger memory_limit.")
    return plan


def _check_continuous_unchanged(prototype: Trace, mapped: dict, sites: dict) -> None:
    for name, struct in mapped.items():
        site = prototype[name]
        if tuple(struct.shape) != tuple(jnp.shape(site.value)):
            raise ModelError(f"continuous latent site {site.name!r}: its shape or support depends on the summed "
                             f"discrete site(s) {sorted(sites)}; a continuous latent may depend on a discrete one "
                             "only through its density (its location or scale), not its support or shape")


def _factors(tr: Trace, lp_shapes: dict, sites: dict, nesting: int, rank: int) -> list[_Factor]:
    """The terms whose log probability has an enumeration dimension, with their plates and pre-summed axes."""
    factors = []
    by_dim = {s.dim: s for s in sites.values()}
    for name, struct in lp_shapes.items():
        shape = (1,) * (rank - len(struct.shape)) + tuple(struct.shape)
        variables = frozenset(by_dim[d].name for d in by_dim if shape[d] > 1)
        if not variables:
            continue
        site = tr[name]
        plate_dims = {f.dim for f in site.plates}
        for v in variables:
            outside = set(sites[v].plates) - set(site.plate_names)
            if outside:
                raise ModelError(f"site {name!r} depends on the discrete site {v!r}, which has one value per "
                                 f"element of plate(s) {sorted(outside)}, but {name!r} is outside them: use "
                                 f"{v!r} only inside its plates (or give it fewer plates)")
        check_unscaled(site, "depends on a summed discrete site and carries a scale other than its plates' "
                             "subsampling ratio; a scaled term cannot be summed out exactly (remove the "
                             "credo.ppl.scale handler around it)")
        presum = tuple(-p for p in range(1, nesting + 1) if shape[-p] > 1 and -p not in plate_dims)
        factors.append(_Factor(name, variables, frozenset(site.plate_names), presum))
    return factors


def _program(factors: list[_Factor], sites: dict, tr: Trace, rank: int):
    """Plan the plated sum-product (Obermeyer et al. 2019, Alg. 1) on labels: ops, order, largest, cost."""
    frames = {f.name: f for s in tr.values() for f in s.plates}
    size = {name: s.size for name, s in sites.items()}
    level_of = {name: frozenset(s.plates) for name, s in sites.items()}
    variables = {i: f.variables for i, f in enumerate(factors)}
    levels: dict = {}
    for i, f in enumerate(factors):
        levels.setdefault(f.level, []).append(i)
    next_id = len(factors)
    program, order = [], []
    largest = cost = 0

    def entries(vs, level):
        return math.prod(size[v] for v in vs) * math.prod(frames[p].subsample_size for p in level)

    while levels:
        level = max(levels, key=lambda s: (len(s), sorted(s)))
        ids = levels.pop(level)
        for component in _components(ids, variables, {v for i in ids for v in variables[i]
                                                       if level_of[v] == level}):
            local = sorted({v for i in component for v in variables[i] if level_of[v] == level},
                           key=lambda v: sites[v].dim, reverse=True)
            live = list(component)
            for v in _order(local, [variables[i] for i in component], size):
                bucket = [i for i in live if v in variables[i]]
                union = frozenset().union(*(variables[i] for i in bucket))
                n = entries(union, level)
                largest, cost = max(largest, n), cost + n
                variables[next_id] = union - {v}
                program.append(_Op("eliminate", tuple(bucket), next_id, (sites[v].dim,), variable=v))
                order.append(v)
                live = [i for i in live if i not in bucket] + [next_id]
                next_id += 1
            if len(live) > 1:
                union = frozenset().union(*(variables[i] for i in live))
                n = entries(union, level)
                largest, cost = max(largest, n), cost + n
                variables[next_id] = union
                program.append(_Op("combine", tuple(live), next_id))
                live = [next_id]
                next_id += 1
            (result,) = live
            remaining = variables[result]
            outer = frozenset().union(*(level_of[v] for v in remaining))
            if level and outer == level:
                raise ModelError(f"the summed sites {sorted(remaining)} sit in plates {sorted(level)} that do "
                                 "not nest (each a different plate, one term over all of them): this sum has no "
                                 "plate-by-plate order; restructure the plates or observe one of the sites")
            gone = sorted(level - outer)
            if gone:
                multiplier = math.prod(frames[p].size / frames[p].subsample_size for p in gone)
                variables[next_id] = remaining
                program.append(_Op("reduce", (result,), next_id, tuple(frames[p].dim for p in gone),
                                   multiplier=multiplier))
                result, next_id = next_id, next_id + 1
            if not remaining:
                program.append(_Op("total", (result,)))
            else:
                levels.setdefault(outer, []).append(result)
    return program, order, largest, cost


def _components(ids: list, variables: dict, local: set) -> list[list]:
    """Groups of ``ids`` joined through shared ``local`` variables (a term with none stands alone)."""
    parent = {i: i for i in ids}

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict = {}
    for i in ids:
        for v in variables[i] & local:
            if v in owner:
                parent[find(i)] = find(owner[v])
            else:
                owner[v] = i
    groups: dict = {}
    for i in ids:
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _order(local: list, scopes: list, size: dict) -> list:
    """A greedy min-fill order of the ``local`` variables over the terms' scopes (ties: trace order)."""
    if len(local) <= 1:
        return list(local)
    keep = set(local)
    graph = interaction_graph(local, ([v for v in scope if v in keep] for scope in scopes))
    return list(greedy_order(graph, {v: size[v] for v in local}, "min-fill").order)
