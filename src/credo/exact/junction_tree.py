r"""Junction tree (clique tree) inference: compile once, answer many queries.

The query facade: :class:`JunctionTree` compiles a
:class:`~credo.exact.clique_tree.CliqueTree` (triangulation, clique tables,
propagation plan) once and answers queries with the passes of
:mod:`credo.exact.propagation`; this module handles the evidence (one-hot,
soft, clamped), batches, the log-space fallback and the MPE.

Evidence never changes the compiled plan: it enters as one likelihood vector
per observed variable, multiplied into the variable's home clique (one-hot
for hard evidence, any non-negative vector for soft/virtual evidence). Every
query is one collect pass to a root and one distribute pass back (Hugin
propagation: Jensen, Lauritzen & Olesen 1990; see also Lauritzen &
Spiegelhalter 1988, Shafer & Shenoy 1990, Koller & Friedman 2009 ch. 10),
with a leading batch axis, so a table of evidence rows is answered in one
vectorized pass.

Numerics: every collect message is divided by its maximum and the logarithm
of that maximum is accumulated, so :math:`\ln P(e)` of large networks never
underflows. Rows whose evidence probability still comes out as zero (or
whose beliefs overflow) are redone in log space, to tell an impossible
evidence (:class:`~credo.ImpossibleEvidenceError`) from an underflow.
Collect messages of subtrees without evidence are computed once at compile
time and reused.
"""

from __future__ import annotations

from typing import Hashable, Iterable, Mapping, Sequence

import numpy as np

from credo.errors import ImpossibleEvidenceError, ModelError
from credo.exact import propagation
from credo.exact.clique_tree import CliqueTree, Plan
from credo.exact.elimination import variable_elimination
from credo.exact.evidence import impossible, is_batch, looks_like_evidence, one_hot, rescaled, rows_copy, shift_rows
from credo.exact.propagation import Calibration, Prior
from credo.exact.result import BatchMPEResult, BatchQueryResult, MPEResult, QueryResult
from credo.factors import DiscreteFactor
from credo.models.base import DiscreteModel

__all__ = ["JunctionTree", "BatchQueryResult", "BatchMPEResult", "junction_tree_query", "cached_engine", "is_batch"]

#: Rows of a batch are processed in chunks holding at most this many clique
#: entries (all cliques, all rows of the chunk), about 512 MiB in float64 for
#: the collected and the calibrated beliefs together.
_CHUNK_ENTRIES = 1 << 25
#: Instantiated plans (one per set of always-observed variables) a JunctionTree keeps;
#: they hold message plans only, no tables.
_MAX_INSTANTIATIONS = 32


class JunctionTree:
    r"""A compiled junction tree of a discrete model, for repeated exact queries.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork or FactorGraph
    heuristic : str or sequence
        Greedy elimination heuristic (``"min-fill"``, ``"min-degree"``,
        ``"weighted-min-fill"``, ``"min-weight"``) used to triangulate, or an
        explicit elimination order of all variables.
    memory_limit : int, optional
        Bytes the clique tables may take; default 80% of the available
        memory. A triangulation that needs more raises
        :class:`~credo.errors.ContractionTooLargeError` before any table is
        allocated.

    Attributes
    ----------
    cliques : list of tuple
        Variables of each clique (model order within a clique).
    separators : list of tuple
        ``(child, parent, variables)`` for every tree edge.
    treewidth : int
        Largest clique size less one (of this triangulation).
    max_clique_states : int
        Entries of the largest clique table.
    root : int
        The clique messages are collected to.

    Notes
    -----
    Cost per query is linear in the total size of the clique tables; the
    compiled plan (clique tables, message schedule, axes to sum) does not
    depend on the evidence. References: Lauritzen & Spiegelhalter (1988);
    Shafer & Shenoy (1990); Jensen, Lauritzen & Olesen (1990) for the Hugin
    update used here; Koller & Friedman (2009), ch. 10.

    Examples
    --------
    >>> import credo
    >>> from credo.exact.junction_tree import JunctionTree
    >>> engine = JunctionTree(credo.examples.clinic())
    >>> round(engine.query(evidence={"Cough": "yes"}).marginals["Flu"]["yes"], 3)
    0.211
    >>> batch = engine.query(["Flu"], [{"Cough": "yes"}, {"Cough": "no"}])
    >>> batch.marginals["Flu"].shape
    (2, 2)
    """

    def __init__(self, model: DiscreteModel, heuristic: str | Sequence = "min-fill",
                 memory_limit: int | None = None):
        self.model = model
        self.heuristic = heuristic if isinstance(heuristic, str) else "explicit"
        self.tree = CliqueTree(model, heuristic, memory_limit)
        self.cliques, self.separators, self.root = self.tree.cliques, self.tree.separators, self.tree.root
        #: Instantiated plans, one per set of always-observed variables (see :meth:`_instantiated`).
        self._instantiations: dict = {}
        self._prior_beliefs = None
        # evidence-free messages, reused by every query
        calibration = propagation.collect(self.tree, self.tree.plan, {}, None, None)
        self._prior = Prior(calibration, float(sum(calibration.up_log.values())))

    @property
    def _entries(self) -> int:
        """Total clique table entries, which sizes the batch chunks."""
        return self.tree.entries

    # ------------------------------------------------------------ reporting
    @property
    def treewidth(self) -> int:
        return max(len(c) for c in self.cliques) - 1

    @property
    def max_clique_states(self) -> int:
        return max(int(np.prod(s)) for s in self.tree.shapes)

    def __repr__(self) -> str:
        return (f"JunctionTree({self.model!r}: {len(self.cliques)} cliques, treewidth {self.treewidth}, "
                f"largest clique {self.max_clique_states} states)")

    # ------------------------------------------------------------ evidence
    def _one_hot(self, variable, indices: np.ndarray) -> np.ndarray:
        """Likelihood rows of ``variable`` (rows, states): one-hot where observed (index >= 0), ones elsewhere."""
        return one_hot(self.tree.cards[variable], indices)

    def batch_likelihoods(self, evidence) -> dict:
        """``{variable: (rows, states)}`` likelihoods of a batch: one-hot where observed, ones where not.

        Parameters
        ----------
        evidence : list of mappings or pandas.DataFrame
            As for :meth:`query`.

        Returns
        -------
        dict
            One array per variable that appears in the batch.
        """
        _, indices = self._batch_indices(evidence)
        return {v: self._one_hot(v, np.asarray(i)) for v, i in indices.items()}

    def _likelihoods(self, hard: Mapping[Hashable, np.ndarray], soft: Mapping,
                     plan: Plan | None = None) -> dict[int, list]:
        """Per clique, the likelihood arrays of its variables reshaped to broadcast (batch first)."""
        plan = plan or self.tree.plan
        per_clique: dict[int, list] = {}
        for v, lik in list(hard.items()) + list(soft.items()):
            per_clique.setdefault(plan.home[v], []).append(lik.reshape(plan.lik_shape[v]))
        return per_clique

    # ------------------------------------------------------------ the pass
    def _collect(self, likelihoods: Mapping[int, list]) -> Calibration:
        """Collect pass of the full plan, recomputing only the cliques the likelihoods reach."""
        return propagation.collect(self.tree, self.tree.plan, likelihoods, self.tree.marked(likelihoods), self._prior)

    def _run(self, hard: Mapping, soft: Mapping, targets: Sequence, rows: int,
             hard_indices: Mapping | None = None) -> tuple[dict, np.ndarray]:
        """Marginals of ``targets`` (rows, k) and ln P(e) (rows,) for likelihood arrays of ``rows`` rows."""
        likelihoods = self._likelihoods(hard, soft)
        needed = self._needed(targets)
        if not likelihoods:
            calibration = self._prior_calibration()
        else:
            calibration = self._collect(likelihoods)
            if targets:
                propagation.distribute(self.tree, self.tree.plan, calibration, needed)
        log_evidence = rows_copy(calibration.log_evidence, rows)
        marginals, finite = propagation.marginals(self.tree.plan, calibration.beliefs, targets, rows)
        bad = ~(np.isfinite(log_evidence) & finite)
        if bad.any():
            marginals, log_evidence = self._redo_in_log_space(hard, soft, targets, rows, bad, needed, marginals,
                                                              log_evidence, hard_indices)
        return marginals, log_evidence

    def _instantiated(self, observed: frozenset) -> Plan:
        """:meth:`CliqueTree.instantiated <credo.exact.clique_tree.CliqueTree.instantiated>`, cached per set.

        The cache is bounded: a stream of ever new observed sets keeps the
        last ``_MAX_INSTANTIATIONS`` plans (they hold plans, no tables).
        """
        plan = self._instantiations.get(observed)
        if plan is not None:
            return plan
        plan = self.tree.instantiated(observed)
        if len(self._instantiations) >= _MAX_INSTANTIATIONS:
            self._instantiations.pop(next(iter(self._instantiations)))
        self._instantiations[observed] = plan
        return plan

    def _run_instantiated(self, observed: Mapping[Hashable, np.ndarray], hard: Mapping, soft: Mapping,
                          targets: Sequence, rows: int, hard_indices: Mapping) -> tuple[dict, np.ndarray]:
        """:meth:`_run` with the variables in ``observed`` (state indices, every row observed) clamped."""
        plan = self.tree.gather(self._instantiated(frozenset(observed)), observed)
        likelihoods = self._likelihoods(hard, soft, plan)
        free = [v for v in targets if v not in observed]
        dirty = self.tree.marked(list(likelihoods) + list(plan.gathered))
        calibration = propagation.collect(self.tree, plan, likelihoods, dirty, self._prior)
        if free:
            propagation.distribute(self.tree, plan, calibration, self._needed(free, plan))
        log_evidence = np.broadcast_to(calibration.log_evidence, (rows,)).copy()
        marginals, finite = propagation.marginals(plan, calibration.beliefs, free, rows)
        for v in targets:
            if v in observed:
                marginals[v] = self._one_hot(v, observed[v])
        bad = ~(np.isfinite(log_evidence) & finite)
        if bad.any():
            every = {**hard, **{v: self._one_hot(v, i) for v, i in observed.items()}}
            marginals, log_evidence = self._redo_in_log_space(every, soft, targets, rows, bad, self._needed(targets),
                                                              marginals, log_evidence, hard_indices)
        return marginals, log_evidence

    def _prior_calibration(self) -> Calibration:
        """The evidence-free pass with its beliefs, distributed on first use and kept."""
        prior = self._prior.calibration
        if self._prior_beliefs is None:
            propagation.distribute(self.tree, self.tree.plan, prior, None)
            self._prior_beliefs = prior.beliefs
        return Calibration(prior.collected, prior.up, prior.log_evidence, self._prior_beliefs)

    def _needed(self, targets: Iterable, plan: Plan | None = None) -> list[bool] | None:
        """Cliques the distribute pass must reach: the targets' homes and their ancestors (None: all)."""
        homes = {(plan or self.tree.plan).home[v] for v in targets}
        if len(homes) == len(self.cliques):
            return None
        return self.tree.marked(homes)

    def _redo_in_log_space(self, hard, soft, targets, rows, bad, needed, marginals, log_evidence, hard_indices):
        """Rows whose linear-space pass gave P(e) = 0 or non-finite beliefs, redone in log space."""
        index = np.flatnonzero(bad)

        def pick(lik):
            return lik[index] if lik.shape[0] == rows else lik

        log_liks = self._likelihoods({v: propagation.log(pick(a)) for v, a in hard.items()},
                                     {v: propagation.log(pick(a)) for v, a in soft.items()})
        calibration = propagation.collect_log(self.tree, log_liks, propagation.log_sum_exp)
        zero = ~np.isfinite(np.broadcast_to(calibration.log_evidence, (len(index),)))
        if zero.any():
            raise impossible(index[zero], hard_indices, self.model)
        propagation.distribute_log(self.tree, calibration, needed)
        fixed, _ = propagation.marginals(self.tree.plan, calibration.beliefs, targets, len(index))
        marginals = {v: np.array(m) for v, m in marginals.items()}
        for v in targets:
            marginals[v][index] = fixed[v]
        log_evidence[index] = calibration.log_evidence
        return marginals, log_evidence

    # ------------------------------------------------------------ public API
    def query(self, targets: Sequence | None = None, evidence=None,
              soft_evidence: Mapping | None = None) -> QueryResult | BatchQueryResult:
        r"""Posterior marginals and :math:`\ln P(e)`, for one evidence or a batch.

        The arguments come in the order of :func:`credo.query` (targets, then
        evidence); evidence passed first, the order of credo 0.1, is refused
        with a :class:`~credo.ModelError` that says so.

        Parameters
        ----------
        targets : variable or sequence of variables, optional
            Variables whose marginals to return. Default: every unobserved
            variable for one evidence, every variable for a batch.
        evidence : mapping, list of mappings or pandas.DataFrame, optional
            One ``{variable: state}`` (returns a QueryResult), or a batch: a
            list of such mappings or a DataFrame with one row per case, one
            column per observed variable, states by name and NaN/None where
            unobserved (returns a :class:`BatchQueryResult`).
        soft_evidence : mapping, optional
            ``{variable: likelihood}``, a non-negative vector of shape
            ``(states,)`` (or ``(rows, states)`` in a batch) multiplied into
            the joint: virtual evidence, as if from an observed child whose
            CPT column is the likelihood.

        Returns
        -------
        QueryResult or BatchQueryResult

        Raises
        ------
        ImpossibleEvidenceError
            If P(e) = 0 (for a batch, naming the rows).
        UnknownVariableError, UnknownStateError
        """
        if looks_like_evidence(targets):
            raise ModelError("JunctionTree.query takes (targets, evidence), in the order of credo.query; the "
                             "first argument looks like evidence (credo 0.1 took evidence first): write "
                             "engine.query(evidence=...) or engine.query(targets, evidence)")
        if is_batch(evidence):
            return self._query_batch(evidence, targets, soft_evidence)
        return self._query_single(evidence, targets, soft_evidence)

    def _query_single(self, evidence, targets, soft_evidence) -> QueryResult:
        model = self.model
        evidence = model.check_evidence(evidence)
        targets = self._targets(targets, [v for v in model.variables if v not in evidence])
        rank = self.tree.state_rank  # check_evidence made every state its canonical name
        indices = {v: np.array([rank[v][s]]) for v, s in evidence.items()}
        hard = {v: self._one_hot(v, i) for v, i in indices.items()}
        soft, soft_scale = rescaled(self.model.check_soft_evidence(soft_evidence, 1) if soft_evidence else {})
        free = [v for v in targets if v not in evidence]
        try:
            arrays, log_evidence = self._run(hard, soft, free, 1, indices)
        except ImpossibleEvidenceError:
            raise ImpossibleEvidenceError(evidence) from None
        log_evidence = log_evidence + soft_scale
        marginals = {}
        for v in targets:
            if v in evidence:
                marginals[v] = {s: float(s == evidence[v]) for s in model.states(v)}
            else:
                marginals[v] = dict(zip(model.states(v), arrays[v][0].tolist()))
        value = 0.0 if model.is_directed and not evidence and not soft else float(log_evidence[0])
        return QueryResult(marginals=marginals, log_evidence=value, evidence=evidence, method="jt")

    def _query_batch(self, evidence, targets, soft_evidence) -> BatchQueryResult:
        rows, indices = self._batch_indices(evidence)
        targets = self._targets(targets, list(self.model.variables))
        soft, soft_scale = rescaled(self.model.check_soft_evidence(soft_evidence, rows))
        if rows == 0:
            empty = {v: np.zeros((0, self.tree.cards[v])) for v in targets}
            return BatchQueryResult(empty, np.zeros(0), {v: self.model.states(v) for v in targets})
        marginals, log_evidence = self._batch_distinct(rows, indices, targets, soft)
        log_evidence = log_evidence + soft_scale
        if self.model.is_directed:
            # P(no evidence) = 1 for a Bayesian network; don't let rounded tables say otherwise.
            unobserved = np.ones(rows, dtype=bool)
            for i in indices.values():
                unobserved &= i < 0
            if not soft:
                log_evidence[unobserved] = 0.0
        return BatchQueryResult(marginals, log_evidence, {v: self.model.states(v) for v in targets})

    def _batch_distinct(self, rows: int, indices: Mapping, targets: Sequence, soft: Mapping):
        """:meth:`_batch_rows` on the distinct evidence rows only, expanded back to all ``rows``."""
        if not indices or any(a.shape[0] == rows and rows > 1 for a in soft.values()):
            return self._batch_rows(rows, indices, targets, soft)
        matrix = np.stack(list(indices.values()), axis=1)
        distinct, first, inverse = np.unique(matrix, axis=0, return_index=True, return_inverse=True)
        if len(distinct) > 0.9 * rows:
            return self._batch_rows(rows, indices, targets, soft)
        inverse = inverse.reshape(-1)
        try:
            marginals, log_evidence = self._batch_rows(
                len(distinct), {v: distinct[:, k] for k, v in enumerate(indices)}, targets, soft)
        except ImpossibleEvidenceError as error:
            bad = np.flatnonzero(np.isin(inverse, getattr(error, "rows", [])))
            raise impossible(bad, indices, self.model) from None
        return {v: m[inverse] for v, m in marginals.items()}, log_evidence[inverse]

    def _batch_rows(self, rows: int, indices: Mapping, targets: Sequence, soft: Mapping):
        """Marginals ``{v: (rows, k)}`` and ln P(e) ``(rows,)`` of a batch, in chunks that fit in memory.

        Variables observed in every row of a chunk are clamped
        (:meth:`_run_instantiated`); the others enter as likelihoods.
        """
        chunk = max(1, _CHUNK_ENTRIES // (2 * self._entries))
        parts = []
        for start in range(0, rows, chunk):
            stop = min(rows, start + chunk)
            part_indices = {v: i[start:stop] for v, i in indices.items()}
            part_soft = {v: (a[start:stop] if a.shape[0] == rows else a) for v, a in soft.items()}
            clamped = {v: i for v, i in part_indices.items() if v not in part_soft and (i >= 0).all()}
            hard = {v: self._one_hot(v, i) for v, i in part_indices.items() if v not in clamped}
            try:
                if clamped:
                    parts.append(self._run_instantiated(clamped, hard, part_soft, targets, stop - start,
                                                        part_indices))
                else:
                    parts.append(self._run(hard, part_soft, targets, stop - start, part_indices))
            except ImpossibleEvidenceError as error:
                raise shift_rows(error, start, self.model, indices) from None
        marginals = {v: np.concatenate([np.asarray(m[v]) for m, _ in parts]) for v in targets}
        return marginals, np.concatenate([le for _, le in parts])

    def _targets(self, targets, default: list) -> list:
        if targets is None:
            return default
        if isinstance(targets, (str, bytes)) or not isinstance(targets, Iterable):
            targets = [targets]
        targets = list(dict.fromkeys(targets))
        for v in targets:
            self.model.states(v)  # validates the name
        return targets

    def _batch_indices(self, evidence) -> tuple[int, dict]:
        """Number of rows and ``{variable: state index per row, -1 where unobserved}``."""
        if isinstance(evidence, Mapping):  # pragma: no cover - routed to the single path
            evidence = [evidence]
        return self.model.data_indices(evidence)

    def log_evidence(self, evidence=None, soft_evidence: Mapping | None = None):
        r""":math:`\ln P(e)` only (one collect pass): a float, or an array for a batch."""
        result = self.query([], evidence=evidence, soft_evidence=soft_evidence)
        return result.log_evidence

    def joint(self, variables: Sequence, evidence: Mapping | None = None,
              soft_evidence: Mapping | None = None) -> DiscreteFactor:
        """Posterior joint of ``variables`` that share a clique, as a DiscreteFactor over them in the given order.

        Raises
        ------
        ModelError
            If no clique holds all of ``variables`` (use
            ``credo.query(..., joint=True)`` for arbitrary sets).
        """
        variables = self._targets(variables, [])
        evidence = self.model.check_evidence(evidence)
        want = set(variables)
        holders = [i for i, c in enumerate(self.cliques) if want <= set(c)]
        if not holders:
            raise ModelError(f"no clique of this junction tree holds all of {variables}; "
                             f"use credo.query(model, targets, evidence, joint=True) instead")
        home = min(holders, key=lambda i: (int(np.prod(self.tree.shapes[i])), i))
        indices = {v: np.array([self.model.state_index(v, s)]) for v, s in evidence.items()}
        hard = {v: self._one_hot(v, i) for v, i in indices.items()}
        soft, _ = rescaled(self.model.check_soft_evidence(soft_evidence, 1))
        likelihoods = self._likelihoods(hard, soft)
        needed = self.tree.marked([home])
        calibration = self._collect(likelihoods) if likelihoods else \
            self._prior_calibration()
        if calibration.beliefs is None:
            propagation.distribute(self.tree, self.tree.plan, calibration, needed)
        if not np.isfinite(calibration.log_evidence).all():
            raise ImpossibleEvidenceError(evidence)
        clique = self.cliques[home]
        table = calibration.beliefs[home][0]
        table = table.sum(axis=tuple(a for a, v in enumerate(clique) if v not in want))
        kept = tuple(v for v in clique if v in want)
        table = np.transpose(table / table.sum(), [kept.index(v) for v in variables])
        return DiscreteFactor(variables, table, {v: self.model.states(v) for v in variables})

    def log_likelihood_fn(self):
        r"""A jittable JAX function ``f(log_tables, likelihoods) -> (rows,)`` of :math:`\ln P(e_r)`.

        ``log_tables`` are the log factor tables in ``model.factors`` order (for
        a BN, log CPTs shaped like ``factor.values``); ``likelihoods`` maps
        observed variables to ``(rows, states)`` likelihood arrays (one-hot for
        hard evidence). Differentiable: ``jax.grad`` of the summed result with
        respect to ``log_tables`` gives the expected counts EM needs. Runs in
        the dtype of its inputs: enable ``jax_enable_x64`` for agreement with
        the numpy engine to 1e-6 and beyond, else it computes in float32.
        See :mod:`credo.exact.jt_jax`.
        """
        from credo.exact.jt_jax import log_likelihood_fn

        return log_likelihood_fn(self)

    def mpe(self, evidence=None, soft_evidence: Mapping | None = None) -> MPEResult | BatchMPEResult:
        r"""Most probable explanation by max-product calibration in log space.

        The collect pass keeps each clique's max-marginal given its subtree;
        decoding walks the tree from the root, maximizing each clique's table
        with its separator fixed to the states already chosen, so ties are
        broken consistently (first state in model order).

        Parameters
        ----------
        evidence : mapping, list of mappings or pandas.DataFrame, optional
            One ``{variable: state}``, or a batch of rows as in :meth:`query`
            (None/NaN where unobserved).
        soft_evidence : mapping, optional
            ``{variable: likelihood}``, ``(states,)`` or ``(rows, states)``.

        Returns
        -------
        MPEResult or BatchMPEResult
            ``.assignment`` of every variable and ``.log_joint`` :math:`= \ln \max_x P(x, e)`;
            for a batch, one of each per row.

        Raises
        ------
        ImpossibleEvidenceError
            If some evidence has probability zero (for a batch, naming the rows).
        """
        if is_batch(evidence):
            return self._mpe_batch(evidence, soft_evidence)
        model = self.model
        evidence = model.check_evidence(evidence)
        indices = {v: np.array([model.state_index(v, s)]) for v, s in evidence.items()}
        soft = model.check_soft_evidence(soft_evidence, 1)
        try:
            chosen, log_joint = self._max_product(indices, soft, 1)
        except ImpossibleEvidenceError:
            raise ImpossibleEvidenceError(evidence) from None
        assignment = {v: evidence[v] if v in evidence else model.states(v)[chosen[v][0]] for v in model.variables}
        return MPEResult(assignment=assignment, log_joint=float(log_joint[0]), evidence=evidence)

    def _mpe_batch(self, evidence, soft_evidence) -> BatchMPEResult:
        rows, indices = self._batch_indices(evidence)
        soft = self.model.check_soft_evidence(soft_evidence, rows)
        chunk = max(1, _CHUNK_ENTRIES // (2 * self._entries))
        chosen = {v: np.zeros(rows, dtype=np.intp) for v in self.model.variables}
        log_joint = np.zeros(rows)
        for start in range(0, rows, chunk):
            stop = min(rows, start + chunk)
            part_soft = {v: (a[start:stop] if a.shape[0] == rows else a) for v, a in soft.items()}
            try:
                part, value = self._max_product({v: i[start:stop] for v, i in indices.items()}, part_soft,
                                                stop - start)
            except ImpossibleEvidenceError as error:
                raise shift_rows(error, start, self.model, indices) from None
            for v, picked in part.items():
                chosen[v][start:stop] = picked
            log_joint[start:stop] = value
        return BatchMPEResult(chosen, log_joint, {v: self.model.states(v) for v in self.model.variables})

    def _max_product(self, indices: Mapping, soft: Mapping, rows: int) -> tuple[dict, np.ndarray]:
        """Max-product collect and decoding: ``({variable: state index (rows,)}, ln max_x P(x, e) (rows,))``."""
        hard = {v: propagation.log(self._one_hot(v, i)) for v, i in indices.items()}
        soft, soft_scale = rescaled(soft)
        soft = {v: propagation.log(a) for v, a in soft.items()}
        calibration = propagation.collect_log(self.tree, self._likelihoods(hard, soft), propagation.max_reduce)
        log_joint = np.broadcast_to(calibration.log_evidence + soft_scale, (rows,)).copy()
        bad = ~np.isfinite(log_joint)
        if bad.any():
            raise impossible(np.flatnonzero(bad), indices, self.model)
        return propagation.decode_max(self.tree, calibration, rows), log_joint


# ------------------------------------------------------------------ the "jt" method
#: Attribute of a model that holds its compiled engines, one per heuristic.
_ENGINE_ATTRIBUTE = "_credo_junction_trees"


def cached_engine(model: DiscreteModel, heuristic: str | Sequence = "min-fill") -> JunctionTree:
    """The compiled :class:`JunctionTree` of ``model`` for ``heuristic``, compiled on first use.

    One engine per (model, heuristic name) is stored on the model itself;
    an explicit elimination order (a sequence) always compiles a new one.

    The engine refers to its model, so a cache keyed by the model (even a
    weak one) would keep every queried model alive; on the model, the two
    form a cycle that the garbage collector frees with the model.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork or FactorGraph
    heuristic : str or sequence
        As for :class:`JunctionTree`.

    Returns
    -------
    JunctionTree
    """
    if not isinstance(heuristic, str):
        return JunctionTree(model, heuristic)
    engines = getattr(model, _ENGINE_ATTRIBUTE, None)
    if engines is None:
        engines = {}
        try:
            setattr(model, _ENGINE_ATTRIBUTE, engines)
        except AttributeError:  # a model class with slots: no cache
            return JunctionTree(model, heuristic)
    if heuristic not in engines:
        engines[heuristic] = JunctionTree(model, heuristic)
    return engines[heuristic]


def junction_tree_query(
    model: DiscreteModel,
    targets: Sequence | None = None,
    evidence: Mapping | None = None,
    joint: bool = False,
    elimination_order: str | Sequence = "min-fill",
    soft_evidence: Mapping | None = None,
    memory_limit: int | None = None,
) -> QueryResult:
    r"""Posterior marginals and :math:`\ln P(e)` by junction tree propagation.

    Same parameters and result as :func:`~credo.exact.variable_elimination`;
    the compiled :class:`JunctionTree` is cached per model and heuristic, so
    repeated queries on one model pay the compilation once.

    Parameters
    ----------
    model : BayesianNetwork, MarkovNetwork or FactorGraph
    targets : sequence, optional
        Query variables; default every non-evidence variable.
    evidence : mapping, list of mappings or pandas.DataFrame, optional
        ``{variable: state}``; a list or DataFrame is a batch of evidence rows,
        answered in one vectorized pass (see :meth:`JunctionTree.query`).
    joint : bool
        Also return the joint posterior of ``targets`` (from a clique when one
        holds them all, else by variable elimination); single evidence only.
    elimination_order : str or sequence
        Heuristic name or explicit order used to triangulate.
    soft_evidence : mapping, optional
        ``{variable: likelihood}`` (see :meth:`JunctionTree.query`).

    Returns
    -------
    QueryResult, or BatchQueryResult for a batch
    """
    # an explicit memory limit gets its own engine: the cached one was checked against the default
    engine = cached_engine(model, elimination_order) if memory_limit is None else \
        JunctionTree(model, elimination_order, memory_limit=memory_limit)
    if is_batch(evidence):
        if joint:
            raise ModelError("joint=True takes one evidence dict, not a batch of rows")
        return engine.query(targets, evidence=evidence, soft_evidence=soft_evidence)
    result = engine.query(targets, evidence=evidence, soft_evidence=soft_evidence)
    if not joint:
        return result
    free = [v for v in result.marginals if v not in result.evidence]
    if not free:
        return result
    try:
        factor = engine.joint(free, result.evidence, soft_evidence=soft_evidence)
    except ModelError:
        factor = variable_elimination(model, free, result.evidence, joint=True,
                                      elimination_order=elimination_order, soft_evidence=soft_evidence).joint
    return QueryResult(marginals=result.marginals, log_evidence=result.log_evidence, evidence=result.evidence,
                       joint=factor, method="jt")
