r"""Exact inference by tensor-network contraction, with its cost known before it runs.

A discrete model is a tensor network: one tensor per factor, one index per
variable. Its partition function (:math:`P(e)` for a Bayesian network) is the
contraction of all tensors, done pairwise along a *contraction path*. The
path decides the cost: the largest intermediate table and the total number
of multiply-adds, both known before any table is allocated. Paths come from
opt_einsum's greedy search (``"greedy"``), its randomized greedy search with
restarts (``"random-greedy"``), or, when the optional package ``cotengra``
is installed, its hyper-optimizer (``"cotengra"``).

All marginals come from the same contraction and its reverse pass
(Darwiche 2003, "A differential approach to inference in Bayesian networks",
JACM 50(3)): each unobserved variable :math:`v` gets an indicator vector
:math:`\lambda_v` of ones in the network, so

.. math:: Z(\lambda) = \sum_x \prod_f \phi_f(x_f) \prod_v \lambda_v(x_v),
   \qquad P(v = x \mid e) = \lambda_v(x)\,\frac{\partial \ln Z}{\partial \lambda_v(x)},

and one ``jax.grad`` gives every marginal at about three times the cost of
:math:`\ln Z` alone.

Numerics: each factor is scaled to a maximum of one and every intermediate
is divided by its maximum, the logarithms being summed aside, so
:math:`\ln Z` of large models neither overflows nor underflows. The scales go
through ``stop_gradient``: they cancel in the value, so the gradient is exact.
The computation runs in the dtype JAX gives float64 inputs: float32 unless
``jax_enable_x64`` is on (credo never switches it on itself).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import opt_einsum

from credo.errors import ImpossibleEvidenceError, ModelError, UnknownVariableError
from credo.factors.budget import MEMORY_FRACTION as _MEMORY_FRACTION  # noqa: F401 - re-exported
from credo.factors.budget import available_memory, check_memory
from credo.exact.result import QueryResult
from credo.graphs.elimination import greedy_order, interaction_graph, random_greedy_order
from credo.models.base import DiscreteModel

__all__ = ["Contraction", "ContractionCost", "contraction_query", "available_memory", "PATH_METHODS"]

#: Path searches: name -> what it is.
PATH_METHODS = {
    "min-fill": "bucket elimination along a greedy min-fill elimination order (the junction tree's)",
    "random-greedy-order": "bucket elimination along the best of randomized greedy elimination orders",
    "greedy": "opt_einsum greedy (one pass, fast)",
    "random-greedy": "opt_einsum randomized greedy with restarts (trials, seed)",
    "cotengra": "cotengra hyper-optimizer (optional dependency)",
}

@dataclass(frozen=True)
class ContractionCost:
    """What a contraction path costs, computed before anything is allocated.

    Attributes
    ----------
    largest_entries : int
        Entries of the largest intermediate table.
    total_entries : int
        Entries of all intermediate tables together: what the reverse pass
        (all marginals) keeps in memory.
    flops : int
        Multiply-adds of all pairwise contractions.
    steps : int
        Pairwise contractions.
    path_method : str
    itemsize : int
        Bytes per entry (8 for float64).
    """

    largest_entries: int
    total_entries: int
    flops: int
    steps: int
    path_method: str
    itemsize: int = 8

    @property
    def largest_bytes(self) -> int:
        return self.largest_entries * self.itemsize

    def bytes_needed(self, gradient: bool) -> int:
        """Estimated peak memory: with ``gradient`` every intermediate and its cotangent are
        kept; without, the largest step's two operands and result."""
        return (2 * self.total_entries if gradient else 3 * self.largest_entries) * self.itemsize

    def check(self, memory_limit: int | None, gradient: bool, what: str) -> None:
        """Raise :class:`~credo.errors.ContractionTooLargeError` if the plan would not fit."""
        check_memory(f"{what} ({self.path_method} path, {self.flops:.3g} multiply-adds)",
                     self.bytes_needed(gradient), self.largest_entries, memory_limit)

    def __str__(self) -> str:
        return (f"largest table {self.largest_entries:.3g} entries ({self.largest_bytes / 2**20:.3g} MiB), "
                f"all intermediates {self.total_entries:.3g} entries, {self.flops:.3g} multiply-adds, "
                f"{self.steps} steps ({self.path_method})")


@dataclass
class _Plan:
    """Everything about one set of observed variables that does not depend on their values."""

    observed: tuple
    free: tuple
    factor_labels: list          # per factor: labels (free variables) of its reduced table
    factor_slices: list          # per factor: positions of observed variables in its scope
    steps: list                  # per step: (operand positions, output labels)
    cost: ContractionCost


class Contraction:
    r"""Exact ln Z and all marginals of a discrete model by one contraction and its gradient.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork or FactorGraph
    optimize : {"min-fill", "random-greedy-order", "greedy", "random-greedy", "cotengra"}
        How the contraction path is searched (see :data:`PATH_METHODS`).
    trials : int
        Restarts of ``"random-greedy"`` and ``"cotengra"``.
    seed : int
        Seed of the randomized searches.
    memory_limit : int, optional
        Bytes a query may use; default 80% of the memory available when the
        plan is made. A plan that needs more raises
        :class:`~credo.errors.ContractionTooLargeError` before allocating.

    Notes
    -----
    A plan (path, cost, jitted function) is made once per set of observed
    variables; queries with the same observed variables but other values
    reuse it. Hard evidence slices the factors, so it removes the observed
    variables from the network (and often lowers the cost); soft evidence
    enters as the indicator vector's values. References: Darwiche (2003);
    Gray & Kourtis (2021), "Hyper-optimized tensor network contraction",
    Quantum 5, 410; Smith & Gray (2018), opt_einsum, JOSS 3(26).

    Examples
    --------
    >>> import credo
    >>> from credo.exact.contraction import Contraction
    >>> engine = Contraction(credo.examples.clinic())
    >>> engine.cost({"Cough": "yes"}).largest_entries <= 16
    True
    >>> round(engine.query({"Cough": "yes"}).marginals["Flu"]["yes"], 3)
    0.211
    """

    def __init__(self, model: DiscreteModel, optimize: str = "min-fill", trials: int = 32, seed: int = 0,
                 memory_limit: int | None = None):
        if optimize not in PATH_METHODS:
            raise ModelError(f"unknown path search {optimize!r}; choose one of {sorted(PATH_METHODS)}")
        self.model = model
        self.optimize = optimize
        self.trials = trials
        self.seed = seed
        self.memory_limit = memory_limit
        self._cards = {v: model.cardinality(v) for v in model.variables}
        self._plans: dict[frozenset, _Plan] = {}

    # ------------------------------------------------------------ planning
    def plan(self, observed: Iterable = ()) -> _Plan:
        """The (cached) plan for hard evidence on ``observed``."""
        key = frozenset(observed)
        if key not in self._plans:
            self._plans[key] = self._make_plan(key)
        return self._plans[key]

    def cost(self, evidence: Mapping | Iterable | None = None) -> ContractionCost:
        """Cost of the contraction with hard evidence on these variables (a mapping's keys)."""
        return self.plan(self._observed(evidence)).cost

    def _observed(self, evidence) -> tuple:
        if evidence is None:
            return ()
        if isinstance(evidence, Mapping):
            return tuple(self.model.check_evidence(evidence))
        return tuple(evidence)

    def _make_plan(self, observed: frozenset) -> _Plan:
        model = self.model
        unknown = observed - set(self._cards)
        if unknown:
            model.check_evidence({next(iter(unknown)): None})  # raises UnknownVariableError
        free = tuple(v for v in model.variables if v not in observed)
        factor_labels, factor_slices = [], []
        for factor in model.factors:
            factor_labels.append(tuple(v for v in factor.variables if v not in observed))
            factor_slices.append(tuple(a for a, v in enumerate(factor.variables) if v in observed))
        # One indicator vector per free variable, after the factors.
        inputs = factor_labels + [(v,) for v in free]
        path, method = self._search(inputs)
        steps, cost = _simulate(inputs, path, self._cards, method)
        return _Plan(tuple(sorted(observed, key=list(model.variables).index)), free, factor_labels,
                     factor_slices, steps, cost)

    def _search(self, inputs: list[tuple]) -> tuple[list, str]:
        cards = self._cards
        if self.optimize == "cotengra":
            return _cotengra_path(inputs, cards, self.trials, self.seed), "cotengra"
        if self.optimize in ("min-fill", "random-greedy-order"):
            present = {v for s in inputs for v in s}
            # Model order, as the junction tree's, so that both break ties alike.
            graph = interaction_graph([v for v in self.model.variables if v in present], inputs)
            if self.optimize == "min-fill":
                order = greedy_order(graph, cards, "min-fill")
            else:
                order = random_greedy_order(graph, cards, trials=self.trials, seed=self.seed)
            return _bucket_path(inputs, order.order), order.heuristic
        labels = {v: opt_einsum.get_symbol(i) for i, v in enumerate(dict.fromkeys(v for s in inputs for v in s))}
        equation = ",".join("".join(labels[v] for v in s) for s in inputs) + "->"
        shapes = [tuple(cards[v] for v in s) for s in inputs]
        if self.optimize == "greedy":
            optimizer = "greedy"
        else:
            optimizer = opt_einsum.RandomGreedy(max_repeats=self.trials, minimize="flops")
            np.random.seed(self.seed)  # opt_einsum's trials draw from the global numpy generator
        path, _ = opt_einsum.contract_path(equation, *shapes, shapes=True, optimize=optimizer)
        return [tuple(step) for step in path], self.optimize

    # ------------------------------------------------------------ the JAX function
    def log_partition_fn(self, observed: Iterable = ()):
        r"""``f(log_tables, indicators) -> ln Z`` for hard evidence on ``observed``.

        ``log_tables``: the log of each factor of ``model.factors`` already
        sliced at the observed states (shapes over the plan's free variables);
        ``indicators``: one vector per free variable (``plan.free`` order),
        ones for no evidence. Pure and jittable; its gradient with respect to
        ``indicators`` is the vector of posterior marginals (times the
        indicators), with respect to ``log_tables`` the expected factor counts.
        """
        plan = self.plan(observed)
        return _log_partition_function(plan)

    def _reduced_log_tables(self, plan: _Plan, evidence: Mapping) -> list[np.ndarray]:
        model, tables = self.model, []
        for factor, sliced in zip(model.factors, plan.factor_slices):
            log_values = factor.log_values
            if sliced:
                index = [slice(None)] * log_values.ndim
                for a in sliced:
                    v = factor.variables[a]
                    index[a] = model.state_index(v, evidence[v])
                log_values = log_values[tuple(index)]
            tables.append(np.asarray(log_values))  # 0-d when every variable is observed
        return tables

    # ------------------------------------------------------------ queries
    def query(self, evidence: Mapping | None = None, targets: Sequence | None = None,
              soft_evidence: Mapping | None = None) -> QueryResult:
        r"""Posterior marginals of every unobserved variable and :math:`\ln P(e)`, from one gradient.

        Parameters
        ----------
        evidence : mapping, optional
            ``{variable: state}``.
        targets : sequence, optional
            Variables to report; default every unobserved variable.
        soft_evidence : mapping, optional
            ``{variable: likelihood vector}`` for unobserved variables.

        Raises
        ------
        ContractionTooLargeError
            If the plan needs more memory than allowed (checked before allocating).
        ImpossibleEvidenceError
            If the evidence has probability zero (or underflows to zero).
        """
        model = self.model
        evidence = model.check_evidence(evidence)
        plan = self.plan(evidence)
        targets = list(plan.free) if targets is None else list(targets)
        for v in targets:
            if v not in self._cards:
                raise UnknownVariableError(v, model.variables)
        plan.cost.check(self.memory_limit, gradient=True, what="all marginals by contraction")
        indicators = []
        soft_evidence = dict(soft_evidence or {})
        for v in plan.free:
            if v in soft_evidence:
                vector = np.asarray(soft_evidence.pop(v), dtype=float)
                if vector.shape != (self._cards[v],) or not np.all(vector >= 0):
                    raise ModelError(f"soft evidence on {v!r} must be {self._cards[v]} non-negative numbers, "
                                     f"got {vector!r}")
                indicators.append(vector)
            else:
                indicators.append(np.ones(self._cards[v]))
        if soft_evidence:
            raise ModelError(f"soft evidence on observed or unknown variables {sorted(map(str, soft_evidence))}")
        log_z, gradient = _value_and_indicator_gradient(plan, self._reduced_log_tables(plan, evidence), indicators)
        log_z = float(log_z)
        if not np.isfinite(log_z):
            raise ImpossibleEvidenceError(evidence)
        position = {v: i for i, v in enumerate(plan.free)}
        marginals = {}
        for v in targets:
            if v in evidence:
                marginals[v] = {s: float(s == evidence[v]) for s in model.states(v)}
                continue
            i = position[v]
            values = indicators[i] * np.asarray(gradient[i], dtype=float)
            marginals[v] = dict(zip(model.states(v), (values / values.sum()).tolist()))
        directed_prior = model.is_directed and not evidence and not soft_evidence
        return QueryResult(marginals=marginals, log_evidence=0.0 if directed_prior else log_z, evidence=evidence,
                           method="contract", info={"cost": plan.cost})

    def log_evidence(self, evidence: Mapping | None = None) -> float:
        r""":math:`\ln P(e)` (ln Z restricted to the evidence), by one contraction without gradient."""
        evidence = self.model.check_evidence(evidence)
        plan = self.plan(evidence)
        plan.cost.check(self.memory_limit, gradient=False, what="ln Z by contraction")
        indicators = [np.ones(self._cards[v]) for v in plan.free]
        value, _ = _value_and_indicator_gradient(plan, self._reduced_log_tables(plan, evidence), indicators,
                                                 gradient=False)
        if not np.isfinite(value):
            raise ImpossibleEvidenceError(evidence)
        return value


def _bucket_path(inputs: list[tuple], order: Sequence) -> list[tuple]:
    """Bucket elimination as a contraction path: per variable, contract every tensor holding it."""
    live = [set(s) for s in inputs]
    path = []
    for v in order:
        positions = tuple(p for p, s in enumerate(live) if v in s)
        if not positions:
            continue
        merged = set().union(*(live[p] for p in positions)) - {v}
        for p in sorted(positions, reverse=True):
            live.pop(p)
        live.append(merged)
        path.append(positions)
    return path


def _simulate(inputs: list[tuple], path: list[tuple], cards: Mapping, method: str) -> tuple[list, ContractionCost]:
    """Output labels of every step of ``path`` and what the steps cost.

    An index is summed at the step after which no remaining tensor holds it
    (the network's output is a scalar).
    """
    operands = [tuple(s) for s in inputs]
    count: dict = {}
    for s in operands:
        for v in s:
            count[v] = count.get(v, 0) + 1
    steps, largest, total, flops = [], 1, 0, 0
    for positions in path:
        positions = tuple(positions)
        picked = [operands[p] for p in positions]
        for p in sorted(positions, reverse=True):
            operands.pop(p)
        union = tuple(dict.fromkeys(v for s in picked for v in s))
        for s in picked:
            for v in s:
                count[v] -= 1
        out = tuple(v for v in union if count[v] > 0)
        for v in out:
            count[v] += 1
        operands.append(out)
        size = math.prod(cards[v] for v in out)
        largest, total = max(largest, size), total + size
        flops += math.prod(cards[v] for v in union) * max(len(picked) - 1, 1)
        steps.append((positions, out))
    cost = ContractionCost(largest_entries=largest, total_entries=total, flops=flops, steps=len(steps),
                           path_method=method)
    return steps, cost


#: Steps over fewer entries than this run in numpy's einsum loop; planning a BLAS path costs more there.
_SMALL_STEP = 1 << 16


def _einsum(*arguments):
    """One contraction step (interleaved operands and label lists), through BLAS where that pays."""
    operands = arguments[0:-1:2]
    if len(operands) == 1 or max(a.size for a in operands) < _SMALL_STEP:
        return np.einsum(*arguments, optimize=len(operands) > 2)
    return opt_einsum.contract(*arguments, optimize="greedy")


def _value_and_indicator_gradient(plan: _Plan, log_tables: Sequence[np.ndarray], indicators: Sequence[np.ndarray],
                                  gradient: bool = True) -> tuple[float, list | None]:
    r"""ln Z and :math:`\partial \ln Z / \partial \lambda_v` for every free variable, in numpy.

    The same computation as :func:`_log_partition_function` and its
    reverse-mode gradient, written out: the adjoint of a step
    :math:`C = \mathrm{einsum}(A_1, \dots, A_k)` with respect to :math:`A_i` is
    the einsum of :math:`\bar C` with the other operands onto :math:`A_i`'s
    labels (broadcast over labels only :math:`A_i` holds). Running the
    steps op by op through JAX costs a dispatch or a compilation per step,
    which dominates on networks of hundreds of factors; numpy runs them at
    BLAS speed in float64 and needs no compilation.
    """
    log_scale = 0.0
    tensors, labels = [], []
    for log_table in log_tables:
        top = float(np.max(log_table)) if log_table.size else 0.0
        top = top if np.isfinite(top) else 0.0
        tensors.append(np.exp(log_table - top))
        log_scale += top
    tensors += [np.asarray(x, dtype=float) for x in indicators]
    labels = list(plan.factor_labels) + [(v,) for v in plan.free]
    live = list(range(len(tensors)))   # tensor ids in the positions the path refers to
    tape = []
    for positions, out in plan.steps:
        ids = [live[p] for p in positions]
        for p in sorted(positions, reverse=True):
            live.pop(p)
        index = {v: i for i, v in enumerate(dict.fromkeys(v for t in ids for v in labels[t]))}
        arguments = []
        for t in ids:
            arguments += [tensors[t], [index[v] for v in labels[t]]]
        result = _einsum(*arguments, [index[v] for v in out])
        peak = float(np.max(result)) if result.size else 0.0
        peak = peak if peak > 0 else 1.0
        tensors.append(result / peak)
        labels.append(out)
        live.append(len(tensors) - 1)
        tape.append((ids, len(tensors) - 1, peak, index))
        log_scale += math.log(peak)
    totals = [float(np.sum(tensors[t])) for t in live]
    with np.errstate(divide="ignore"):
        log_z = log_scale + float(np.sum(np.log(totals)))
    if not gradient or not np.isfinite(log_z):
        return log_z, None
    adjoint: dict[int, np.ndarray] = {t: np.full(tensors[t].shape, 1.0 / total) for t, total in zip(live, totals)}
    for ids, out_id, peak, index in reversed(tape):
        bar = adjoint.pop(out_id, None)
        if bar is None:
            continue
        bar = bar / peak
        out_labels = [index[v] for v in labels[out_id]]
        for k, t in enumerate(ids):
            arguments = [bar, out_labels]
            for j, other in enumerate(ids):
                if j != k:
                    arguments += [tensors[other], [index[v] for v in labels[other]]]
            present = {i for a in arguments[1::2] for i in a}
            own = [index[v] for v in labels[t]]
            kept = [i for i in own if i in present]
            part = _einsum(*arguments, kept)
            # Labels only this operand holds were summed in the forward pass: the adjoint is flat along them.
            shape = [tensors[t].shape[a] if i in present else 1 for a, i in enumerate(own)]
            part = np.broadcast_to(np.reshape(part, shape), tensors[t].shape)
            adjoint[t] = adjoint[t] + part if t in adjoint else part
    start = len(log_tables)
    grads = [adjoint.get(start + i, np.zeros(len(x))) for i, x in enumerate(indicators)]
    return log_z, grads


def _cotengra_path(inputs: list[tuple], cards: Mapping, trials: int, seed: int) -> list[tuple]:
    try:
        import cotengra
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelError("optimize='cotengra' needs the optional package cotengra (pip install cotengra)") from exc
    # cotengra's search takes no seed: its paths (not their results) may differ between runs.
    optimizer = cotengra.HyperOptimizer(max_repeats=trials, minimize="flops", parallel=False,
                                        progbar=False)  # pragma: no cover
    tree = optimizer.search([tuple(s) for s in inputs], (), dict(cards))  # pragma: no cover
    return [tuple(step) for step in tree.get_path()]  # pragma: no cover


def _log_partition_function(plan: _Plan):
    """The pure JAX function ``(log_tables, indicators) -> ln Z`` of a plan."""
    # JAX is imported here, not at module level: discrete-only users (and the
    # CLI) must not pay JAX's import time for ``import credo``.
    import jax
    import jax.numpy as jnp

    free = plan.free
    inputs = list(plan.factor_labels) + [(v,) for v in free]
    steps = plan.steps

    def log_partition(log_tables: Sequence, indicators: Sequence):
        dtype = jnp.result_type(*log_tables, *indicators)
        log_scale = jnp.zeros((), dtype)
        operands = []
        for log_table in log_tables:
            top = jax.lax.stop_gradient(jnp.max(log_table)) if log_table.size else jnp.zeros((), dtype)
            top = jnp.where(jnp.isfinite(top), top, 0.0)
            operands.append(jnp.exp(log_table - top))
            log_scale = log_scale + top
        operands += list(indicators)
        labels = list(inputs)
        for positions, out in steps:
            picked = [(operands[p], labels[p]) for p in positions]
            for p in sorted(positions, reverse=True):
                operands.pop(p)
                labels.pop(p)
            index = {v: i for i, v in enumerate(dict.fromkeys(v for _, s in picked for v in s))}
            arguments = []
            for array, s in picked:
                arguments += [array, [index[v] for v in s]]
            result = jnp.einsum(*arguments, [index[v] for v in out])
            # Rescale to max 1; the scale is a constant to the gradient (it cancels in the value).
            peak = jax.lax.stop_gradient(jnp.max(result))
            peak = jnp.where(peak > 0, peak, 1.0)
            operands.append(result / peak)
            labels.append(out)
            log_scale = log_scale + jnp.log(peak)
        for array in operands:  # scalars (one per connected component)
            log_scale = log_scale + jnp.log(jnp.sum(array))
        return log_scale

    return log_partition


def contraction_query(model: DiscreteModel, targets: Sequence | None = None, evidence: Mapping | None = None,
                      optimize: str = "min-fill", trials: int = 32, seed: int = 0,
                      memory_limit: int | None = None, soft_evidence: Mapping | None = None) -> QueryResult:
    """All marginals and ln P(e) by one contraction and its gradient: the ``"contract"`` method of
    :func:`credo.query`. Parameters as for :class:`Contraction` and :meth:`Contraction.query`;
    the cost of the plan is in ``result.info["cost"]``."""
    engine = Contraction(model, optimize=optimize, trials=trials, seed=seed, memory_limit=memory_limit)
    return engine.query(evidence, targets=targets, soft_evidence=soft_evidence)
