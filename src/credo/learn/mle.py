r"""CPTs of a Bayesian network from complete data, by counting.

With every variable observed in every row, the log-likelihood splits into one
multinomial per family and parent configuration, so the maximum-likelihood
CPT is the table of normalized family counts,
:math:`\hat\theta_{x|u} = n_{x,u} / n_u` (Koller & Friedman 2009, sec. 17.2).
A symmetric Dirichlet smoothing :math:`\alpha` gives
:math:`(n_{x,u} + \alpha) / (n_u + k\alpha)`: the posterior mean under a
Dirichlet(:math:`\alpha`) prior (``pseudo_count=1`` is Laplace's rule,
pgmpy's ``BayesianEstimator(prior_type="dirichlet", pseudo_counts=1)``).
For data with missing values use :func:`~credo.learn.fit_em`.
"""

from __future__ import annotations

import numpy as np

from credo.errors import ArgumentError, ModelError
from credo.factors import TabularCPD
from credo.learn.structure_data import as_network, table_rows
from credo.models import BayesianNetwork

__all__ = ["fit_mle", "family_counts"]


def family_counts(model: BayesianNetwork, data) -> list[np.ndarray]:
    """Counts of every family configuration in complete ``data``, one array per CPD.

    Parameters
    ----------
    model : BayesianNetwork
    data : pandas.DataFrame or sequence of mappings
        One row per case, a column per variable (extra columns are an
        error), states by name.

    Returns
    -------
    list of ndarray
        ``counts[i]`` has the shape of ``model.cpds[i].table``:
        ``(parent states..., states)``.

    Raises
    ------
    ModelError
        If a variable is missing from the data or has missing values.
    UnknownVariableError, UnknownStateError
    """
    if not isinstance(model, BayesianNetwork):
        raise ModelError("family counts need a BayesianNetwork")
    if model.is_structure_only:
        raise ModelError("family counts need a network with states; fit_mle(structure, data) learns them")
    rows, indices = model.data_indices(data)
    incomplete = [v for v in model.variables if v not in indices or (indices[v] < 0).any()]
    if incomplete:
        shown = ", ".join(map(repr, incomplete[:10])) + (", ..." if len(incomplete) > 10 else "")
        raise ModelError(f"fit_mle needs every variable observed in every row; missing values in {shown} "
                         f"(use credo.learn.fit_em for incomplete data)")
    counts = []
    for cpd in model.cpds:
        shape = cpd.table.shape
        family = [indices[v] for v in (*cpd.parents, cpd.variable)]
        flat = np.ravel_multi_index(family, shape) if rows else np.zeros(0, dtype=np.intp)
        counts.append(np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(np.float64))
    return counts


def fit_mle(model: BayesianNetwork, data, pseudo_count: float = 0.0) -> BayesianNetwork:
    r"""Maximum-likelihood (or Dirichlet-smoothed) CPTs from complete data.

    Parameters
    ----------
    model : BayesianNetwork, networkx.DiGraph or list of (parent, child) edges
        Gives the structure and the state names; its CPT values are not used.
        A bare structure (``credo.BayesianNetwork(edges=...)`` without CPDs,
        a DiGraph or a list of edges) takes each variable's states from the
        data: a categorical column's categories, else its sorted distinct
        values.
    data : pandas.DataFrame or sequence of mappings
        One row per case, every variable observed, states by name.
    pseudo_count : float
        :math:`\alpha \ge 0` added to every count:
        :math:`\hat\theta_{x|u} = (n_{x,u} + \alpha) / (n_u + k\alpha)`.

    Returns
    -------
    BayesianNetwork
        The same structure with the fitted tables. A parent configuration
        that no row shows (and ``pseudo_count=0``) gets the uniform
        distribution, since the data say nothing about it.

    Examples
    --------
    >>> import credo
    >>> truth = credo.examples.sprinkler()
    >>> fitted = credo.learn.fit_mle(truth, truth.sample(20_000, seed=0))
    >>> bool(abs(fitted.cpd("Rain").table - truth.cpd("Rain").table).max() < 0.03)
    True
    """
    if isinstance(pseudo_count, bool) or not isinstance(pseudo_count, (int, float, np.integer, np.floating)) \
            or not pseudo_count >= 0 or not np.isfinite(pseudo_count):
        raise ArgumentError("pseudo_count", f"must be a finite number >= 0, got {pseudo_count!r}")
    data = table_rows(data, "maximum likelihood")
    model = as_network(model, data)
    counts = family_counts(model, data)
    tables = []
    for cpd, count in zip(model.cpds, counts):
        count = count + pseudo_count
        totals = count.sum(axis=-1, keepdims=True)
        tables.append(np.where(totals > 0, count / np.where(totals > 0, totals, 1.0), 1.0 / cpd.cardinality))
    return model.with_cpds([TabularCPD(c.variable, c.states, t, c.parents) for c, t in zip(model.cpds, tables)])
