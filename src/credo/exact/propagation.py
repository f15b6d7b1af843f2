r"""Collect and distribute passes over a :class:`~credo.exact.clique_tree.CliqueTree`, as pure functions.

Every pass reads a tree and a :class:`~credo.exact.clique_tree.Plan`, and
returns a :class:`Calibration`; none keeps state between calls, so the
evidence-free pass a :class:`~credo.exact.junction_tree.JunctionTree` reuses
is an argument (:class:`Prior`), not an attribute read behind the caller's back.

Linear space (Hugin propagation: Jensen, Lauritzen & Olesen 1990): every
collect message is divided by its maximum and the logarithm of that maximum
is accumulated, so :math:`\ln P(e)` of large networks never underflows. Log
space (:func:`collect_log`, :func:`distribute_log`): the fallback for rows the
linear pass cannot tell from impossible, and max-product for the MPE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np

from credo.exact.clique_tree import CliqueTree, Plan

__all__ = ["Calibration", "Prior", "collect", "distribute", "marginals", "collect_log", "distribute_log",
           "decode_max", "log_sum_exp", "max_reduce", "reduce", "place", "log"]


@dataclass
class Calibration:
    r"""Beliefs of one pass: collected (before distribute) and calibrated tables, batch-first.

    Attributes
    ----------
    collected : list
        ``collected[i]``: clique ``i``'s potential times its likelihoods and
        the messages from its children.
    up : list
        ``up[i]``: the (scaled, in linear space) message to its parent.
    log_evidence : numpy.ndarray
        :math:`\ln P(e)` per row, shape ``(1,)`` or ``(rows,)``.
    beliefs : list or None
        The calibrated, normalized tables (None where not needed).
    up_log : dict or None
        The prior pass only: ``ln`` of each message's scale, which a later
        pass reusing the message subtracts again.
    """

    collected: list
    up: list
    log_evidence: np.ndarray
    beliefs: list | None = None
    up_log: dict | None = None


class Prior(NamedTuple):
    """The evidence-free collect pass whose clean messages every later pass reuses.

    Attributes
    ----------
    calibration : Calibration
        From :func:`collect` with ``prior=None``.
    log_scale : float
        Sum of ``calibration.up_log``.
    """

    calibration: Calibration
    log_scale: float


def log(array: np.ndarray) -> np.ndarray:
    """``np.log`` with ``log(0) = -inf`` and no warning: zero likelihoods are expected."""
    with np.errstate(divide="ignore"):
        return np.log(array)


def log_sum_exp(array: np.ndarray, axis: tuple) -> np.ndarray:
    """``log(sum(exp(array)))`` over ``axis``, ``-inf`` (not NaN) where every entry is ``-inf``."""
    top = np.max(array, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(array - top), axis=axis, keepdims=True)) + top
    return np.squeeze(out, axis=axis)


def max_reduce(array: np.ndarray, axis: tuple) -> np.ndarray:
    """The max-product reduction of :func:`collect_log` (same signature as :func:`log_sum_exp`)."""
    return np.max(array, axis=axis)


def _log_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator - denominator`` in log space with ``-inf - -inf = -inf`` (Hugin's 0/0 = 0)."""
    with np.errstate(invalid="ignore"):
        out = numerator - denominator
    return np.where(np.isneginf(denominator), -np.inf, out)


def reduce(table: np.ndarray, plan: tuple) -> np.ndarray:
    """Sum ``table`` (batch first) as planned by :func:`~credo.exact.clique_tree.reducer`."""
    steps, out = plan
    for ones, n, post in steps:
        table = table.reshape(-1, n) @ ones if post == 1 else ones @ table.reshape(-1, n, post)
    return table.reshape(out)


def place(message: np.ndarray, permutation: tuple | None, shape: tuple) -> np.ndarray:
    """A separator message laid out to broadcast against a clique table."""
    if permutation is not None:
        message = message.transpose(permutation)
    return message.reshape(shape)


# ------------------------------------------------------------ sum-product, linear space
def collect(tree: CliqueTree, plan: Plan, likelihoods: Mapping[int, list], dirty: list[bool] | None,
            prior: Prior | None) -> Calibration:
    """Collect pass in linear space with every message scaled to max 1.

    Parameters
    ----------
    tree : CliqueTree
    plan : Plan
        ``tree.plan`` or an instantiated plan; its clean cliques must be
        those of the full plan, whose messages come from ``prior``.
    likelihoods : mapping
        ``{clique: [arrays]}`` broadcastable against the clique (batch first).
    dirty : list of bool or None
        Cliques whose message depends on the evidence; None, with
        ``prior=None``, computes every clique (the prior pass itself).
    prior : Prior or None

    Returns
    -------
    Calibration
        Without beliefs; the prior pass also fills ``up_log``.
    """
    n = len(tree.cliques)
    if prior is None:
        collected, up = [None] * n, [None] * n
        log_evidence = np.full(1, tree.log_constant)
        dirty = [True] * n
        up_log: dict | None = {}
    else:
        collected, up = list(prior.calibration.collected), list(prior.calibration.up)
        log_evidence = np.full(1, tree.log_constant + prior.log_scale)
        prior_up_log, up_log = prior.calibration.up_log, None
    potentials, children, to_parent, root = plan.potentials, tree.children, plan.to_parent, tree.root
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in tree.postorder:
            if not dirty[i]:
                continue
            table = potentials[i]
            for lik in likelihoods.get(i, ()):
                table = table * lik
            for c in children[i]:
                table = table * place(up[c], *to_parent[c])
            collected[i] = table
            if i == root:
                total = table.reshape(table.shape[0], -1).sum(axis=1)
                log_evidence = log_evidence + np.log(total)
                break
            message = reduce(table, plan.up_plan[i])
            top = message.reshape(message.shape[0], -1).max(axis=1)
            if prior is not None:
                # the reused total scale counted this message's prior scale: take it out again
                log_evidence = log_evidence - prior_up_log[i]
            log_evidence = log_evidence + np.log(top)
            up[i] = message / np.where(top > 0, top, 1.0).reshape((-1,) + (1,) * (message.ndim - 1))
            if prior is None:
                up_log[i] = float(np.log(top[0])) if top[0] > 0 else 0.0
    return Calibration(collected, up, log_evidence, up_log=up_log)


def distribute(tree: CliqueTree, plan: Plan, calibration: Calibration, needed: list[bool] | None) -> None:
    """Hugin distribute pass: ``belief_i = collected_i * (sum of parent belief over the separator) / up_i``.

    The root belief is normalized, and the Hugin update keeps every belief
    summing to one. ``0/0`` is taken as 0: where the upward message is
    zero, the child's collected table is zero too.

    Parameters
    ----------
    tree : CliqueTree
    plan : Plan
        The plan ``calibration`` was collected with.
    calibration : Calibration
        Its ``beliefs`` are set in place.
    needed : list of bool or None
        Cliques to reach (None: all).
    """
    collected, up = calibration.collected, calibration.up
    root_table = collected[tree.root]
    total = root_table.reshape(root_table.shape[0], -1).sum(axis=1)
    beliefs = [None] * len(tree.cliques)
    with np.errstate(divide="ignore", invalid="ignore"):
        beliefs[tree.root] = root_table / total.reshape((-1,) + (1,) * (root_table.ndim - 1))
        for i in tree.preorder[1:]:
            if needed is not None and not needed[i]:
                continue
            permutation, shape = plan.to_child[i]
            message = reduce(beliefs[tree.parent[i]], plan.down_plan[i])
            if permutation is not None:
                message = message.transpose(permutation)
            message = message / np.where(up[i] > 0, up[i], 1.0)
            beliefs[i] = collected[i] * message.reshape(shape)
    calibration.beliefs = beliefs


def marginals(plan: Plan, beliefs: list, targets: Sequence, rows: int) -> tuple[dict, np.ndarray]:
    """Normalized marginals ``{v: (rows, k)}`` and which rows came out finite (a positive, finite total).

    Parameters
    ----------
    plan : Plan
    beliefs : list
        Calibrated tables (:func:`distribute` or :func:`distribute_log`).
    targets : sequence
    rows : int

    Returns
    -------
    marginals : dict
    finite : numpy.ndarray of bool, shape (rows,)
    """
    out, totals = {}, []
    with np.errstate(divide="ignore", invalid="ignore"):
        for v in targets:
            table = reduce(beliefs[plan.home[v]], plan.marg_plan[v])
            total = table.sum(axis=1, keepdims=True)
            totals.append(total)
            table = table / total
            out[v] = np.broadcast_to(table, (rows, table.shape[1])) if table.shape[0] != rows else table
    if not totals:
        return out, np.ones(rows, dtype=bool)
    if any(t.shape != totals[0].shape for t in totals):
        totals = np.broadcast_arrays(*totals)
    totals = np.concatenate(totals, axis=1)
    finite = (np.isfinite(totals) & (totals > 0)).all(axis=1)
    return out, finite if finite.shape == (rows,) else np.broadcast_to(finite, (rows,))


# ------------------------------------------------------------ sum-/max-product, log space
def collect_log(tree: CliqueTree, log_likelihoods: Mapping[int, list],
                reduce_: Callable[[np.ndarray, tuple], np.ndarray]) -> Calibration:
    """Collect pass in log space over the full plan.

    Parameters
    ----------
    tree : CliqueTree
    log_likelihoods : mapping
        ``{clique: [log-likelihood arrays]}``.
    reduce_ : callable
        :func:`log_sum_exp` (marginals) or :func:`max_reduce` (MPE).

    Returns
    -------
    Calibration
        ``log_evidence`` is ln P(e) (or ln max_x P(x, e)).
    """
    collected, up = [None] * len(tree.cliques), [None] * len(tree.cliques)
    potentials = tree.log_potentials
    for i in tree.postorder:
        table = potentials[i]
        for lik in log_likelihoods.get(i, ()):
            table = table + lik
        for c in tree.children[i]:
            table = table + place(up[c], *tree.to_parent[c])
        collected[i] = table
        if i != tree.root:
            up[i] = reduce_(table, tree.up_axes[i])
    root = collected[tree.root]
    top = reduce_(root.reshape(root.shape[0], -1), (1,))
    return Calibration(collected, up, top + tree.log_constant)


def distribute_log(tree: CliqueTree, calibration: Calibration, needed: list[bool] | None) -> None:
    """Distribute pass in log space after :func:`collect_log` (sum-product); beliefs leave in linear space.

    Parameters
    ----------
    tree : CliqueTree
    calibration : Calibration
        Its ``beliefs`` are set in place.
    needed : list of bool or None
        Cliques to reach (None: all).
    """
    collected, up = calibration.collected, calibration.up
    beliefs = [None] * len(tree.cliques)
    root = collected[tree.root]
    beliefs[tree.root] = root - calibration.log_evidence.reshape((-1,) + (1,) * (root.ndim - 1)) \
        + tree.log_constant
    for i in tree.preorder[1:]:
        if needed is not None and not needed[i]:
            continue
        permutation, shape = tree.to_child[i]
        message = log_sum_exp(beliefs[tree.parent[i]], tree.down_axes[i])
        if permutation is not None:
            message = message.transpose(permutation)
        beliefs[i] = collected[i] + _log_divide(message, up[i]).reshape(shape)
    calibration.beliefs = [None if b is None else np.exp(b) for b in beliefs]


def decode_max(tree: CliqueTree, calibration: Calibration, rows: int) -> dict:
    """Most probable states from a max-product :func:`collect_log`, walking the tree from the root.

    Each clique's max-marginal given its subtree is maximized with its
    separator fixed to the states already chosen, so ties are broken
    consistently (first state in model order).

    Parameters
    ----------
    tree : CliqueTree
    calibration : Calibration
        From ``collect_log(tree, ..., max_reduce)``.
    rows : int

    Returns
    -------
    dict
        ``{variable: state index (rows,)}`` for every variable.
    """
    every_row = np.arange(rows)
    chosen: dict = {}
    for i in tree.preorder:
        clique = tree.cliques[i]
        table = np.broadcast_to(calibration.collected[i], (rows, *tree.shapes[i]))
        free = [v for v in clique if v not in chosen]
        if not free:
            continue
        # rows and the states already chosen are advanced indices, broadcast to (rows,) in front
        index = (every_row,) + tuple(chosen[v] if v in chosen else slice(None) for v in clique)
        sub = table[index].reshape(rows, -1)
        best = np.unravel_index(np.argmax(sub, axis=1), [tree.cards[v] for v in free])
        chosen.update(zip(free, best))
    return chosen
