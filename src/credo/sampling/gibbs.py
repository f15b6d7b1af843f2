r"""Gibbs sampling on discrete graphical models, many chains at once.

Each step redraws one variable from its *full conditional*, which depends
only on its Markov blanket (Koller & Friedman 2009, §12.3):

.. math:: P(x_i \mid x_{-i}) \propto \prod_{f \ni i} \phi_f(x_f),

the product of the factors that mention :math:`x_i`. For a Bayesian network
these are its own CPT row and its children's CPT entries,
:math:`P(x_i \mid \mathrm{pa}_i) \prod_{c \in \mathrm{ch}(i)} P(x_c \mid \mathrm{pa}_c)`;
for a Markov network (e.g. the Ising model) its potentials. Observed
variables stay clamped.

Vectorization
    ``num_chains`` independent chains are one batch axis of a state array of
    shape ``(num_chains, V)``. Before sampling, each variable's full
    conditional is tabulated once over its blanket (rows normalized,
    cumulative), so one update of a variable in every chain is a table lookup
    and one uniform draw per chain (a blanket table larger than
    ``max_table_size`` entries is not built; that variable multiplies its
    factors at each update instead). Variables are coloured so that no two of
    one colour share a factor (DSATUR greedy colouring of the interaction
    graph); variables of one colour are conditionally independent given the
    others, so they are all updated at the same time -- on a grid this is the
    checkerboard (red-black) sweep, two vectorized updates per sweep. A sweep
    updates every unobserved variable once, which is a systematic-scan Gibbs
    sampler.

Estimates
    After ``burn_in`` sweeps each chain records, at every later sweep, the
    full-conditional probabilities it sampled from (a *Rao-Blackwellized*
    estimate of :math:`P(x_i = s \mid e)`, usually much less noisy than
    counting states, above all for rare states; ``rao_blackwell=False``
    counts the states instead).

Standard errors
    From the spread of the ``num_chains`` independent per-chain means
    :math:`\bar p_{c}`: :math:`\mathrm{se}(\hat p) = \mathrm{sd}_c(\bar p_c) / \sqrt{C}`.
    Chains are independent (independent starts and random numbers), so this accounts for any
    autocorrelation within a chain without modelling it; it needs enough
    chains for the spread to be well estimated (at least 8; 32 by default)
    and a burn-in long enough to forget the start, which the classic
    potential scale reduction :math:`\hat R` (Gelman & Rubin 1992) in
    ``info["rhat"]`` checks. No chain can report a mode that no chain
    visited, and Rao-Blackwellized averages of rarely-changing conditionals
    can look deceptively steady, so the error of a state's estimate is
    floored by the Agresti-Coull binomial error at
    :math:`n_{\mathrm{eff}} = \min(\hat p (1 - \hat p) / \mathrm{se}^2, C N)`:
    Gibbs sampling is never credited with more precision than as many
    independent draws would give. What remains beyond repair is a mode that
    chains enter rarely and then stay in for long: a few chains carry its
    whole contribution, the spread of the chain means is noisy and skewed,
    and runs that visit it least understate their error. Fewer, longer
    chains help there more than many short ones.

References
----------
Koller, D. & Friedman, N. (2009). *Probabilistic Graphical Models*, §12.3.
Geman, S. & Geman, D. (1984). Stochastic relaxation, Gibbs distributions and the
Bayesian restoration of images. *IEEE TPAMI* 6(6).
Gonzalez, J., Low, Y., Gretton, A. & Guestrin, C. (2011). Parallel Gibbs sampling:
from colored fields to thin junction trees. *AISTATS*.
Gelman, A. & Rubin, D. B. (1992). Inference from iterative simulation using
multiple sequences. *Statistical Science* 7(4).
"""

from __future__ import annotations

import math
import warnings
from typing import Mapping, Sequence

import networkx as nx
import numpy as np

from credo.errors import ImpossibleEvidenceError, describe_evidence
from credo.factors.budget import ITEMSIZE, check_memory
from credo.factors.discrete import align
from credo.sampling._common import (
    CompiledNetwork,
    SamplingWarning,
    needed_variables,
    as_generator,
    check_count,
    cumulative_rows,
    draw_from_cumulative,
    names_of,
    one_hot,
    prepare_query,
    proportion_standard_error,
    raise_if_structurally_impossible,
    user_stacklevel,
)
from credo.sampling.forward import ancestral_draws
from credo.sampling.result import SampledQueryResult

__all__ = ["gibbs_sampling", "MIN_CHAINS", "RHAT_WARNING"]

#: Fewest chains allowed: the standard error comes from the spread of per-chain means.
MIN_CHAINS = 2
#: Likelihood-weighted draws from which each chain of a Bayesian network picks its start.
POOL_PER_CHAIN = 64
#: Warn when some target state's potential scale reduction exceeds this.
RHAT_WARNING = 1.1
#: Tabulated blanket tables alive at the end of set-up, per entry: a member's cumulative rows, its
#: group's concatenated copy and the group's probabilities; and the temporaries of the one being made
#: (the summed log table and its partial sums, the softmax and cumulative rows).
_KEPT_COPIES, _MAKING_COPIES = 3, 5
#: ``(chains, V)`` and ``(chains, S)`` arrays a run holds: states (int and float), the updated rows;
#: sums, squares and the per-step accumulators with their squares.
_STATE_COPIES, _ACCUMULATOR_COPIES = 3, 4


def _row_strides(cardinalities: Sequence[int]) -> np.ndarray:
    strides = np.ones(len(cardinalities), dtype=np.int64)
    for j in range(len(cardinalities) - 2, -1, -1):
        strides[j] = strides[j + 1] * cardinalities[j + 1]
    return strides


def _softmax_rows(log_rows: np.ndarray) -> np.ndarray:
    """Normalize rows of log-values; rows that are all ``-inf`` become all zero."""
    top = np.max(log_rows, axis=-1, keepdims=True)
    finite = np.isfinite(top)
    weights = np.exp(log_rows - np.where(finite, top, 0.0))
    weights = np.where(finite, weights, 0.0)
    total = weights.sum(axis=-1, keepdims=True)
    return weights / np.where(total > 0, total, 1.0)


class _Group:
    """Tabulated variables of one colour: one vectorized update of them all in every chain.

    The blanket-table row of member ``j`` in chain ``c`` is
    ``offset_j + sum_u x[c, u] * stride_{j,u}``, computed for all members at
    once as the matrix product ``x @ W`` (states held as floats, so BLAS does
    it; exact for integers below 2**53). Members with fewer than ``k`` (the
    group's largest cardinality) states are padded with states of probability
    zero, which are never drawn.
    """

    def __init__(self, members: list, num_columns: int):
        self.k = k = max(m["k"] for m in members)
        self.targets = np.array([m["position"] for m in members], dtype=np.int64)
        self.weights = np.zeros((num_columns, len(members)))
        offsets, tables, start = [], [], 0
        self.state_index = np.full((len(members), k), -1, dtype=np.int64)
        for j, m in enumerate(members):
            np.add.at(self.weights[:, j], np.asarray(m["neighbors"], dtype=np.int64), m["strides"])
            offsets.append(start)
            cumulative = np.ones((len(m["cumulative"]), k))
            cumulative[:, :m["k"]] = m["cumulative"]
            cumulative[m["cumulative"][:, -1] == 0] = 0.0  # impossible blanket states stay all zero
            tables.append(cumulative)
            start += len(cumulative)
            self.state_index[j, :m["k"]] = m["state_offset"] + np.arange(m["k"])
        self.offsets = np.array(offsets, dtype=np.float64)
        self.table = np.concatenate(tables)
        self.probabilities = np.diff(self.table, axis=1, prepend=0.0)

    def update(self, x: np.ndarray, rng: np.random.Generator, record: bool) -> np.ndarray | None:
        """Redraw the group in every chain (``x``: float states).

        Returns the probabilities drawn from, shape (chains, n, k), when ``record``.
        """
        rows = (x @ self.weights + self.offsets).astype(np.int64)
        cumulative = np.take(self.table, rows, axis=0)
        u = rng.random(rows.shape)
        x[:, self.targets] = np.argmax(cumulative > u[..., None], axis=-1)
        return np.take(self.probabilities, rows, axis=0) if record else None

    def drawn(self, x: np.ndarray) -> np.ndarray:
        return x[:, self.targets]


class _Single:
    """One variable whose blanket table would be too large: its factors are multiplied on the fly."""

    def __init__(self, member: dict, terms: list):
        self.k = member["k"]
        self.target = member["position"]
        self.terms = terms  # (log table (rows, k), neighbour positions, strides)
        self.state_index = (member["state_offset"] + np.arange(self.k))[None, :]

    def update(self, x: np.ndarray, rng: np.random.Generator, record: bool) -> np.ndarray:
        logits = np.zeros((len(x), self.k))
        for table, positions, strides in self.terms:
            logits = logits + np.take(table, (x[:, positions] @ strides).astype(np.int64), axis=0)
        probabilities = _softmax_rows(logits)
        x[:, self.target] = draw_from_cumulative(cumulative_rows(probabilities), rng.random(len(x)))
        return probabilities[:, None, :]

    def drawn(self, x: np.ndarray) -> np.ndarray:
        return x[:, [self.target]]


class GibbsSampler:
    """A model compiled for vectorized, chromatic Gibbs sampling of many chains.

    Parameters
    ----------
    model : DiscreteModel
        Gives state names and cardinalities.
    variables : sequence
        The variables in play (columns of the state array, in this order).
    factors : sequence of DiscreteFactor
        Whose product over ``variables`` is the (unnormalized) distribution.
    evidence_index : mapping
        ``{variable: state index}``, clamped.
    max_table_size : int
        Largest blanket table (entries) tabulated ahead; bigger blankets
        multiply their factors at every update.
    memory_limit : int, optional
        Bytes the tabulated blanket tables (and, with ``num_chains``, the
        chains' arrays) may take; default 80% of the available memory. More
        raises :class:`~credo.errors.ContractionTooLargeError` before any
        table is made.
    num_chains : int, optional
        Chains the sampler will run, to include their states, accumulators
        and start draws in the memory check.

    Attributes
    ----------
    free : list
        Unobserved variables, the ones sampled.
    state_offset : dict
        ``{variable: column}`` of its first state in the ``(chains, S)`` accumulators.
    colors : int
        Number of colour classes, i.e. sequential vectorized updates per sweep.
    """

    def __init__(self, model, variables: Sequence, factors: Sequence, evidence_index: Mapping,
                 max_table_size: int = 1 << 16, memory_limit: int | None = None, num_chains: int | None = None):
        self.variables = list(variables)
        self.position = {v: i for i, v in enumerate(self.variables)}
        self.evidence_index = dict(evidence_index)
        self.cardinality = {v: model.cardinality(v) for v in self.variables}
        self.factors = list(factors)
        self.free = [v for v in self.variables if v not in self.evidence_index]
        self.state_offset, total = {}, 0
        for v in self.free:
            self.state_offset[v] = total
            total += self.cardinality[v]
        self.num_states = total

        touching: dict = {v: [] for v in self.free}
        for factor in self.factors:
            for v in factor.variables:
                if v in touching:
                    touching[v].append(factor)
        graph = nx.Graph()
        graph.add_nodes_from(self.free)
        blankets = {}
        for v in self.free:
            blankets[v] = others = list(dict.fromkeys(u for f in touching[v] for u in f.variables if u != v))
            graph.add_edges_from((v, u) for u in others if u in touching)
        sizes = [math.prod(self.cardinality[u] for u in others) * self.cardinality[v]
                 for v, others in blankets.items()]
        tabulated = [size for size in sizes if size <= max_table_size]
        self._check_memory(model, tabulated, max_table_size, memory_limit, num_chains)
        members = {v: self._tabulate(v, blankets[v], touching[v], max_table_size) for v in self.free}
        coloring = nx.coloring.greedy_color(graph, strategy="DSATUR") if self.free else {}
        self.colors = len(set(coloring.values()))
        self.steps: list = []
        for color in sorted(set(coloring.values())):
            in_color = [v for v in self.free if coloring[v] == color]
            tabulated = [members[v] for v in in_color if "cumulative" in members[v]]
            self.steps.extend(_Single(members[v], members[v]["terms"]) for v in in_color
                              if "cumulative" not in members[v])
            if tabulated:
                self.steps.append(_Group(tabulated, len(self.variables)))

    def _check_memory(self, model, tabulated: list, max_table_size: int, memory_limit: int | None,
                      num_chains: int | None) -> None:
        """Refuse, before any table is made, blanket tables (made one at a time, then kept twice: a
        group's table and probabilities) and chain arrays that would not fit together."""
        largest = max(tabulated, default=1)
        making = _KEPT_COPIES * sum(tabulated) + _MAKING_COPIES * largest
        what = f"Gibbs sampling's {len(tabulated)} blanket tables (max_table_size={max_table_size})"
        advice = ("Lower max_table_size (larger blankets are not tabulated: their factors are multiplied at each "
                  "update), or give a larger memory_limit if the memory is there.")
        running = 0
        if num_chains is not None:
            width = len(self.variables)
            pool = num_chains * POOL_PER_CHAIN * width if model.is_directed else 0
            cpts = sum(int(model.cpd(v).table.size) for v in self.variables) if model.is_directed else 0
            running = (2 * sum(tabulated) + cpts + pool + _STATE_COPIES * num_chains * width
                       + _ACCUMULATOR_COPIES * num_chains * self.num_states)
            if running > making:
                what = (f"Gibbs sampling with {num_chains} chains over {width} variables ({len(tabulated)} blanket "
                        f"tables)")
                advice = ("Run fewer chains (num_chains) or lower max_table_size, or give a larger memory_limit if "
                          "the memory is there.")
                largest = max(largest, pool, num_chains * width)
        check_memory(what, ITEMSIZE * max(making, running), largest, memory_limit, advice=advice)

    def _tabulate(self, v, others: list, factors: list, max_table_size: int) -> dict:
        k = self.cardinality[v]
        cards = [self.cardinality[u] for u in others]
        member = {"position": self.position[v], "k": k, "state_offset": self.state_offset[v]}
        if math.prod(cards) * k <= max_table_size:
            union = others + [v]
            log_table = np.zeros([*cards, k])
            for f in factors:
                log_table = log_table + align(f.log_values, f.variables, union)
            member["cumulative"] = cumulative_rows(_softmax_rows(log_table.reshape(-1, k)))
            member["neighbors"] = [self.position[u] for u in others]
            member["strides"] = _row_strides(cards)
            return member
        terms = []
        for f in factors:
            scope = [u for u in f.variables if u != v]
            table = np.moveaxis(f.log_values, f.variables.index(v), -1).reshape(-1, k)
            terms.append((table, np.array([self.position[u] for u in scope], dtype=np.int64),
                          _row_strides([self.cardinality[u] for u in scope]).astype(np.float64)))
        member["terms"] = terms
        return member

    def empty_states(self, num_chains: int) -> np.ndarray:
        """Integer state array ``(num_chains, V)`` with the evidence set."""
        x = np.zeros((num_chains, len(self.variables)), dtype=np.int64)
        for v, s in self.evidence_index.items():
            x[:, self.position[v]] = s
        return x

    def log_potential(self, x: np.ndarray) -> np.ndarray:
        """:math:`\\sum_f \\ln \\phi_f` of each chain's state, shape (chains,)."""
        total = np.zeros(len(x))
        for f in self.factors:
            total += f.log_values[tuple(x[:, self.position[u]] for u in f.variables)]
        return total

    def run(self, x: np.ndarray, rng: np.random.Generator, burn_in: int, draws: int,
            rao_blackwell: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Sweep ``burn_in + draws`` times, updating ``x`` in place.

        Returns
        -------
        sums, sums_of_squares : ndarray, shape (chains, S)
            Per chain, over the ``draws`` recorded sweeps, the sum (and sum of
            squares) of each state's recorded value: its full-conditional
            probability (``rao_blackwell``) or its indicator.
        """
        states = x.astype(np.float64)  # float states let BLAS compute the table rows
        local = [np.zeros((len(x), *step.state_index.shape)) for step in self.steps]
        local_squares = [np.zeros_like(a) for a in local]
        for sweep in range(burn_in + draws):
            record = sweep >= burn_in
            for step, acc, acc2 in zip(self.steps, local, local_squares):
                probabilities = step.update(states, rng, record)
                if not record:
                    continue
                values = probabilities if rao_blackwell else \
                    (step.drawn(states)[..., None] == np.arange(step.k)).astype(np.float64)
                acc += values
                values *= values
                acc2 += values
        x[:] = states.astype(np.int64)
        sums = np.zeros((len(x), self.num_states))
        squares = np.zeros_like(sums)
        for step, acc, acc2 in zip(self.steps, local, local_squares):
            real = step.state_index >= 0  # padding states excluded
            sums[:, step.state_index[real]] = acc[:, real]
            squares[:, step.state_index[real]] = acc2[:, real]
        return sums, squares


def _warn_if_deterministic(factors: Sequence, directed: bool) -> None:
    zeros = [f for f in factors if not np.all(f.values > 0)]
    if not zeros:
        return
    where = (f"the CPTs of {names_of([f.variables[-1] for f in zeros])}" if directed
             else f"the potentials over {names_of([f.variables for f in zeros])}")
    warnings.warn(
        f"Gibbs sampling on a model with zero probabilities (deterministic entries in {where}): the chain "
        f"can be reducible, unable to move between some states of positive probability, and then its "
        f"estimates and standard errors are wrong without other sign than disagreeing chains "
        f"(see info['rhat']). Cross-check with method='lw' or 'rejection' where possible.",
        SamplingWarning, stacklevel=user_stacklevel())


def _initial_states(model, sampler: GibbsSampler, query, rng: np.random.Generator, num_chains: int,
                    memory_limit: int | None = None) -> np.ndarray:
    """Chain starts of positive probability consistent with the evidence.

    Bayesian network: each chain resamples one of ``POOL_PER_CHAIN``
    likelihood-weighted draws of its own by weight (sampling-importance
    resampling: approximately a posterior draw, independent across chains).
    Markov network: uniformly random states. Chains that still start at a
    state of probability zero start from the MPE instead, which exists
    exactly when the evidence is possible.
    """
    x = sampler.empty_states(num_chains)
    if model.is_directed:
        network = CompiledNetwork(model, sampler.variables)
        raise_if_structurally_impossible(network, query.evidence, query.evidence_index)
        clamp = {network.position[v]: s for v, s in query.evidence_index.items()}
        draws, log_weights = ancestral_draws(network, num_chains * POOL_PER_CHAIN, rng, clamp)
        if log_weights is None:
            log_weights = np.zeros(len(draws))
        # Each chain picks its start from its own pool, so the starts are independent.
        log_weights = log_weights.reshape(num_chains, POOL_PER_CHAIN)
        top = np.max(log_weights, axis=1, keepdims=True)
        found = np.isfinite(top[:, 0])
        cumulative = np.cumsum(np.exp(log_weights - np.where(np.isfinite(top), top, 0.0)), axis=1)
        u = rng.random(num_chains) * cumulative[:, -1]
        chosen = np.minimum((u[:, None] >= cumulative).sum(axis=1), POOL_PER_CHAIN - 1)
        picked = draws[np.arange(num_chains) * POOL_PER_CHAIN + chosen]
        for v in sampler.free:
            x[:, sampler.position[v]] = np.where(found, picked[:, network.position[v]], -1)
    else:
        for v in sampler.free:
            x[:, sampler.position[v]] = rng.integers(sampler.cardinality[v], size=num_chains)
    bad = np.any(x < 0, axis=1)
    bad[~bad] = ~np.isfinite(sampler.log_potential(x[~bad]))
    if bad.any():
        from credo.exact.elimination import mpe

        # raises ImpossibleEvidenceError if P(e) = 0, ContractionTooLargeError if the MPE is out of reach
        assignment = mpe(model, query.evidence, memory_limit=memory_limit).assignment
        for v in sampler.free:
            x[bad, sampler.position[v]] = model.state_index(v, assignment[v])
        if not np.all(np.isfinite(sampler.log_potential(x[bad]))):  # pragma: no cover - defensive
            raise ImpossibleEvidenceError(query.evidence)
        if bad.all() and model.is_directed:
            warnings.warn(f"no sample consistent with the evidence {describe_evidence(query.evidence)} was found to start the "
                          f"Gibbs chains; all {num_chains} start from the MPE state", SamplingWarning,
                          stacklevel=user_stacklevel())
    return x


def gibbs_sampling(model, targets: Sequence | None = None, evidence: Mapping | None = None,
                   num_samples: int = 20_000, seed=None, num_chains: int = 32, burn_in: int | None = None,
                   rao_blackwell: bool = True, max_table_size: int = 1 << 16,
                   memory_limit: int | None = None) -> SampledQueryResult:
    r"""Posterior marginals by Gibbs sampling with many vectorized chains.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork or FactorGraph
    targets : variable or sequence of variables, optional
        Default: every variable not in the evidence.
    evidence : mapping, optional
        ``{variable: state}``.
    num_samples : int
        Retained draws in all: each chain runs ``ceil(num_samples / num_chains)``
        sweeps after burn-in.
    seed : int or numpy.random.Generator, optional
    num_chains : int
        Independent chains, run together as a batch axis (at least 2; 8 or more
        for a usable standard error). More chains cost little extra time.
    burn_in : int, optional
        Sweeps discarded per chain; default: as many as are kept (the first half).
    rao_blackwell : bool
        Average full-conditional probabilities (default) rather than counting states.
    max_table_size : int
        Largest per-variable blanket table to tabulate ahead of sampling.
    memory_limit : int, optional
        Bytes the set-up may take (blanket tables, chain states, the start
        draws; and the MPE, when the chains must start there); default 80% of
        the available memory. More raises
        :class:`~credo.errors.ContractionTooLargeError` before allocating.

    Returns
    -------
    SampledQueryResult
        ``.standard_errors``: sd of the per-chain means over :math:`\sqrt{C}`,
        floored by the Agresti-Coull binomial error at the effective sample
        size (at most :math:`C N`), see the module notes;
        ``.effective_sample_size``: the smallest, over target states, of
        :math:`\hat p(1-\hat p)/\mathrm{se}^2`; ``.log_evidence``: NaN;
        ``.info``: ``num_chains``, ``draws_per_chain``, ``burn_in``, ``colors``
        (vectorized updates per sweep), ``rhat`` (``{variable: max R-hat}``)
        and ``max_rhat``.

    Warns
    -----
    SamplingWarning
        When the model has zero probabilities (the chain may be reducible),
        when some :math:`\hat R` exceeds ``RHAT_WARNING`` (chains disagree:
        burn in longer or run longer), or when the chains had to start from
        the MPE state.

    Raises
    ------
    ImpossibleEvidenceError
        If no state consistent with the evidence has positive probability.
    UnknownVariableError, UnknownStateError

    References
    ----------
    Koller, D. & Friedman, N. (2009). *Probabilistic Graphical Models*, §12.3.

    Examples
    --------
    >>> import credo
    >>> ising = credo.MarkovNetwork.ising(3, 3, coupling=0.3, field=0.2)
    >>> r = credo.query(ising, ["x_1_1"], method="gibbs", num_samples=8_000, seed=0)
    >>> exact = credo.query(ising, ["x_1_1"], method="jt").marginals["x_1_1"][1]
    >>> abs(r.marginals["x_1_1"][1] - exact) < 4 * r.standard_errors["x_1_1"][1]
    True
    """
    num_samples = check_count("num_samples", num_samples)
    num_chains = check_count("num_chains", num_chains, MIN_CHAINS)
    max_table_size = check_count("max_table_size", max_table_size)
    query = prepare_query(model, targets, evidence)
    if model.is_directed:
        keep = needed_variables(model, query)
        variables = [v for v in model.variables if v in keep]
        factors = [model.cpd(v).to_factor() for v in variables]
    else:
        variables, factors = list(model.variables), model.factors
    _warn_if_deterministic(factors, model.is_directed)

    sampler = GibbsSampler(model, variables, factors, query.evidence_index, max_table_size, memory_limit,
                           num_chains)
    draws = -(-num_samples // num_chains)
    burn_in = draws if burn_in is None else check_count("burn_in", burn_in, 0)
    rng = as_generator(seed)
    x = _initial_states(model, sampler, query, rng, num_chains, memory_limit)
    sums, squares = sampler.run(x, rng, burn_in, draws, rao_blackwell)

    means = sums / draws                                   # (chains, S)
    estimate = means.mean(axis=0)
    between = means.var(axis=0, ddof=1)                    # variance of the chain means
    se = np.sqrt(between / num_chains)
    within = ((squares / draws - means ** 2) * (draws / max(draws - 1, 1))).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rhat = np.sqrt(((draws - 1) / draws * within + between) / within)
    rhat = np.where(within > 1e-14, rhat, np.where(between > 1e-14, np.inf, 1.0))

    marginals, errors, rhats, ess = {}, {}, {}, []
    total = num_chains * draws
    for v in query.targets:
        if v in query.evidence:
            marginals[v] = one_hot(model, v, query.evidence[v])
            errors[v] = dict.fromkeys(model.states(v), 0.0)
            continue
        cols = slice(sampler.state_offset[v], sampler.state_offset[v] + model.cardinality(v))
        p = np.clip(estimate[cols], 0.0, 1.0)
        # The Agresti-Coull floor at the chains' own effective sample size (never more than `total`
        # draws): see the module notes.
        spread = p * (1 - p)
        with np.errstate(divide="ignore", invalid="ignore"):
            n_eff = np.where(se[cols] > 0, np.minimum(spread / se[cols] ** 2, total), total)
        s = proportion_standard_error(se[cols] ** 2, p, n_eff)
        marginals[v] = dict(zip(model.states(v), map(float, p)))
        errors[v] = dict(zip(model.states(v), map(float, s)))
        rhats[v] = float(np.max(rhat[cols]))
        ess.extend((spread[spread > 0] / s[spread > 0] ** 2).tolist())
    max_rhat = max(rhats.values(), default=1.0)
    if max_rhat > RHAT_WARNING:
        worst = max(rhats, key=rhats.get)
        warnings.warn(f"Gibbs chains disagree (R-hat {max_rhat:.3g} for {worst!r}): they have not mixed in "
                      f"{burn_in} burn-in + {draws} sweeps, so the estimates still depend on where the chains "
                      f"started (the standard errors, from the spread between chains, are large and are only as "
                      f"good as the starting points). Increase burn_in and num_samples.",
                      SamplingWarning, stacklevel=user_stacklevel())
    info = {"num_chains": num_chains, "draws_per_chain": draws, "burn_in": burn_in, "colors": sampler.colors,
            "rao_blackwell": rao_blackwell, "rhat": rhats, "max_rhat": max_rhat,
            "standard_error_method": "per-chain means"}
    return SampledQueryResult(marginals=marginals, log_evidence=float("nan"), evidence=query.evidence,
                              method="gibbs", standard_errors=errors, info=info, num_samples=total,
                              effective_sample_size=float(min(ess, default=total)), seed=seed)
