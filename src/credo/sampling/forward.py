r"""Forward (ancestral) sampling of a Bayesian network, vectorized over samples.

Variables are drawn parents first (Koller & Friedman 2009, *Probabilistic
Graphical Models*, Alg. 12.1): for each variable in topological order, the
CPT row of every sample is looked up from its already-drawn parents and one
uniform :math:`u \sim U[0, 1)` per sample picks the state by inverting the
row's cumulative distribution,

.. math:: x_i = \min\{k : u < F_i(k \mid \mathrm{pa}_i)\}, \qquad
          F_i(k \mid \mathrm{pa}_i) = \sum_{j \le k} P(x_i = j \mid \mathrm{pa}_i).

All ``n`` samples of one variable are drawn with a few numpy operations, so
the cost is one pass over the variables, not a Python loop over samples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Mapping

import numpy as np

from credo.sampling._common import (
    CompiledNetwork,
    as_generator,
    check_count,
    check_network_memory,
    draw_from_cumulative,
    require_directed,
)

if TYPE_CHECKING:
    import pandas

__all__ = ["forward_sample", "ancestral_draws"]

#: Samples drawn per numpy pass; bounds memory at about ``BATCH_SIZE * V`` integers.
BATCH_SIZE = 65_536
#: ``num_samples * V`` arrays forward_sample holds at once: the batches, their concatenation, the
#: table's columns (state names or indices) and the DataFrame's own copy.
_RESULT_COPIES = 4


def ancestral_draws(network: CompiledNetwork, num_samples: int, rng: np.random.Generator,
                    clamp: Mapping[int, int] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    r"""Draw ``num_samples`` joint states of a compiled network.

    Parameters
    ----------
    network : CompiledNetwork
    num_samples : int
    rng : numpy.random.Generator
    clamp : mapping {position: state index}, optional
        Variables fixed to a state instead of drawn (likelihood weighting).

    Returns
    -------
    x : ndarray of int64, shape (num_samples, V)
        State indices, columns in ``network.variables`` order.
    log_weights : ndarray, shape (num_samples,), or None
        With ``clamp``: :math:`\ln w = \sum_{i \in E} \ln P(x_i = e_i \mid \mathrm{pa}_i)`
        (``-inf`` where a clamped state has probability zero); None otherwise.
    """
    clamp = dict(clamp or {})
    x = np.empty((num_samples, len(network.variables)), dtype=np.int64)
    log_weights = np.zeros(num_samples) if clamp else None
    for i in range(len(network.variables)):
        rows = network.rows(i, x)
        if i in clamp:
            state = clamp[i]
            x[:, i] = state
            with np.errstate(divide="ignore"):
                log_weights += np.log(network.tables[i][rows, state])
            continue
        u = rng.random(num_samples)
        cumulative = network.cumulative[i]
        if len(cumulative) == 1:  # a root: one row for everybody
            x[:, i] = np.searchsorted(cumulative[0], u, side="right")
        else:
            x[:, i] = draw_from_cumulative(cumulative[rows], u)
    return x, log_weights


def batches(num_samples: int, batch_size: int = BATCH_SIZE) -> Iterator[int]:
    """Sizes of consecutive batches adding up to ``num_samples``."""
    full, rest = divmod(num_samples, batch_size)
    yield from [batch_size] * full
    if rest:
        yield rest


def forward_sample(model, num_samples: int, seed=None, as_indices: bool = False,
                   memory_limit: int | None = None) -> "pandas.DataFrame":
    """Ancestral samples of a Bayesian network as a table.

    Parameters
    ----------
    model : BayesianNetwork
    num_samples : int
    seed : int or numpy.random.Generator, optional
        ``numpy.random.default_rng(seed)``; the same seed gives the same draws.
    as_indices : bool
        Return state indices (int columns) instead of state names.
    memory_limit : int, optional
        Bytes the compiled CPTs and the draws may take; default 80% of the
        available memory. More raises :class:`~credo.errors.ContractionTooLargeError`
        before anything is drawn.

    Returns
    -------
    pandas.DataFrame, shape (num_samples, len(model.variables))
        One row per draw, one column per variable in model order.

    References
    ----------
    Koller, D. & Friedman, N. (2009). *Probabilistic Graphical Models*, §12.1.1.

    Examples
    --------
    >>> import credo
    >>> from credo.sampling import forward_sample
    >>> draws = forward_sample(credo.examples.sprinkler(), 1000, seed=0)
    >>> draws.shape
    (1000, 4)
    """
    import pandas as pd  # deferred like BayesianNetwork.sample

    require_directed(model, "forward")
    num_samples = check_count("num_samples", num_samples, 0)
    check_network_memory(model, model.variables, f"forward sampling of {num_samples} draws of "
                         f"{len(model.variables)} variables", memory_limit, num_samples, _RESULT_COPIES,
                         advice="Draw fewer samples at a time (the draws come back as one table), or give a "
                                "larger memory_limit if the memory is there.")
    network = CompiledNetwork(model)
    rng = as_generator(seed)
    parts = [ancestral_draws(network, size, rng)[0] for size in batches(num_samples)]
    x = np.concatenate(parts) if parts else np.empty((0, len(network.variables)), dtype=np.int64)
    columns = {}
    for v in model.variables:
        column = x[:, network.position[v]]
        columns[v] = column if as_indices else np.asarray(model.states(v), dtype=object)[column]
    return pd.DataFrame(columns)
