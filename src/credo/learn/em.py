r"""Expectation-maximization for the CPTs of a Bayesian network with missing values.

E-step: the expected family counts :math:`\bar n_{x,u} = \sum_r P(X=x, U=u \mid e_r)`
are the gradient of :math:`\sum_r \ln P(e_r)` with respect to the log CPT
entries (Darwiche 2003), computed in one batched, jitted junction-tree pass
over all rows. M-step: :math:`\theta_{x|u} \propto \bar n_{x,u} + \alpha`, the
maximum a posteriori estimate under a symmetric Dirichlet(:math:`\alpha + 1`)
prior (:math:`\alpha = 0` is maximum likelihood). Each iteration cannot
decrease :math:`\sum_r \ln P(e_r) + \alpha \sum \ln \theta` (Dempster, Laird &
Rubin 1977; Lauritzen 1995).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from credo.errors import ArgumentError, ModelError
from credo.factors import TabularCPD
from credo.models import BayesianNetwork

__all__ = ["fit_em", "EMResult"]


@dataclass(frozen=True)
class EMResult:
    """Outcome of :func:`fit_em`.

    Attributes
    ----------
    model : BayesianNetwork
        The network with the fitted CPTs.
    objective : list of float
        :math:`\\sum_r \\ln P(e_r) + \\alpha \\sum \\ln \\theta` before each M-step
        (non-decreasing), then at the returned parameters.
    converged : bool
        Whether the relative improvement fell below the tolerance.
    """

    model: BayesianNetwork
    objective: list = field(default_factory=list)
    converged: bool = False

    @property
    def iterations(self) -> int:
        return max(len(self.objective) - 1, 0)


def _uniform(model: BayesianNetwork) -> BayesianNetwork:
    return model.with_cpds([
        TabularCPD(cpd.variable, cpd.states, np.full(cpd.table.shape, 1.0 / cpd.cardinality), cpd.parents)
        for cpd in model.cpds
    ])


def _log(tables):
    with np.errstate(divide="ignore"):
        return [np.log(t) for t in tables]


def _objective(log_likelihood: float, tables, pseudo_count: float) -> float:
    if not pseudo_count:
        return log_likelihood
    with np.errstate(divide="ignore"):
        return log_likelihood + pseudo_count * float(sum(np.log(t).sum() for t in tables))


def _check_observed(model: BayesianNetwork, data) -> None:
    """Unknown columns, unknown states and data with nothing observed, named before any JAX work."""
    rows, indices = model.data_indices(data)  # UnknownVariableError, UnknownStateError
    if not any(np.any(index >= 0) for index in indices.values()):
        raise ArgumentError("data", f"has {rows} row{'s' if rows != 1 else ''} but no observed value "
                                    "(every entry is missing): EM has nothing to learn from")


def _check_initial(model: BayesianNetwork, initial) -> None:
    """``initial`` must be a network with CPDs on ``model``'s variables, parents and states."""
    if not isinstance(initial, BayesianNetwork) or initial.is_structure_only:
        raise ArgumentError("initial", "must be a BayesianNetwork with CPDs (the starting tables), "
                                       f"got {type(initial).__name__}"
                                       + (" without CPDs" if isinstance(initial, BayesianNetwork) else ""))
    if set(initial.variables) != set(model.variables):
        missing = [v for v in model.variables if v not in set(initial.variables)]
        extra = [v for v in initial.variables if v not in set(model.variables)]
        raise ArgumentError("initial", f"has other variables than the model: missing {missing}, "
                                       f"extra {extra}")
    for v in model.variables:
        if set(initial.parents(v)) != set(model.parents(v)):
            raise ArgumentError("initial", f"the parents of {v!r} are {list(initial.parents(v))}; the "
                                           f"model's are {list(model.parents(v))}")
        if tuple(initial.states(v)) != tuple(model.states(v)):
            raise ArgumentError("initial", f"the states of {v!r} are {list(initial.states(v))}; the "
                                           f"model's are {list(model.states(v))}")


def _m_step(counts, tables, pseudo_count: float):
    new = []
    for count, old in zip(counts, tables):
        count = np.asarray(count, dtype=np.float64) + pseudo_count
        totals = count.sum(axis=-1, keepdims=True)
        # A parent configuration no row can reach keeps its previous distribution.
        new.append(np.where(totals > 0, count / np.where(totals > 0, totals, 1.0), old))
    return new


def fit_em(
    model: BayesianNetwork,
    data,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
    pseudo_count: float = 0.0,
    initial: BayesianNetwork | None = None,
) -> EMResult:
    """Fit a network's CPTs to data with missing values by EM.

    Parameters
    ----------
    model : BayesianNetwork, networkx.DiGraph or list of (parent, child) edges
        Gives the structure and state names; its CPTs are not used (EM
        starts from ``initial``, by default uniform tables). A bare structure
        takes each variable's states from the data, as
        :func:`~credo.learn.fit_mle` does.
    data : pandas.DataFrame, list of dict, or one dict
        One row per case, columns named by variables, states by name;
        NaN/None marks a missing value. At least one row and one observed value.
    max_iterations : int
        At least 0 (0 evaluates the objective of the starting tables).
    tolerance : float
        Stop when the objective improves by less than ``tolerance`` times its magnitude (>= 0).
    pseudo_count : float
        Dirichlet smoothing :math:`\\alpha \\ge 0` added to every expected count.
    initial : BayesianNetwork, optional
        Starting CPTs (same variables, parents and states); default uniform tables.

    Returns
    -------
    EMResult

    Raises
    ------
    credo.errors.ArgumentError
        ``data`` with no rows or no observed value, or that is not a table of
        rows; a negative or non-finite ``pseudo_count`` or ``tolerance``; a
        negative ``max_iterations``; an ``initial`` network that does not match
        ``model``.
    credo.errors.UnknownVariableError, credo.errors.UnknownStateError
        A column that is not a variable of the model, or a state it does not have.

    Notes
    -----
    The E-step runs in JAX in the dtype JAX is configured for: with
    ``jax_enable_x64`` off it computes in float32, which is accurate enough
    for the M-step but can make the objective wobble by ~1e-7 relative near
    convergence.
    """
    import jax
    import jax.numpy as jnp

    from credo.exact.jt_jax import one_hot_likelihoods
    from credo.exact.junction_tree import JunctionTree

    from credo.learn.structure_data import as_network, table_rows

    if isinstance(max_iterations, bool) or not isinstance(max_iterations, (int, np.integer)) \
            or max_iterations < 0:
        raise ArgumentError("max_iterations", f"must be an integer >= 0, got {max_iterations!r}")
    for name, value in (("tolerance", tolerance), ("pseudo_count", pseudo_count)):
        if not (isinstance(value, (int, float, np.number)) and math.isfinite(value) and value >= 0):
            raise ArgumentError(name, f"must be a finite number >= 0, got {value!r}")
    data = table_rows(data, "EM")
    model = as_network(model, data)
    _check_observed(model, data)
    if initial is not None:
        _check_initial(model, initial)
    current = initial if initial is not None else _uniform(model)
    engine = JunctionTree(current)
    likelihoods = one_hot_likelihoods(engine, data)
    log_likelihood = engine.log_likelihood_fn()
    value_and_counts = jax.jit(jax.value_and_grad(lambda logs: log_likelihood(logs, likelihoods).sum()))

    tables = [cpd.table for cpd in current.cpds]  # factors follow the CPDs' order and axes
    objective, converged = [], False
    for _ in range(max_iterations + 1):
        value, counts = value_and_counts([jnp.asarray(t) for t in _log(tables)])
        objective.append(_objective(float(value), tables, pseudo_count))
        if len(objective) > 1 and objective[-1] - objective[-2] <= tolerance * abs(objective[-2]):
            converged = True
            break
        if len(objective) == max_iterations + 1:
            break
        tables = _m_step(counts, tables, pseudo_count)
    fitted = current.with_cpds([TabularCPD(c.variable, c.states, t, c.parents) for c, t in zip(current.cpds, tables)])
    return EMResult(model=fitted, objective=objective, converged=converged)
