r"""JAX collect pass of a compiled :class:`~credo.exact.junction_tree.JunctionTree`.

:func:`log_likelihood_fn` turns an engine's evidence-independent plan
(:class:`~credo.exact.clique_tree.JaxPlan`: the clique tree, the
factor-to-clique assignment, the axes every message sums out) into a pure
function of the log factor tables and per-variable
likelihoods. It can be jitted, vmapped and differentiated. Its gradient with
respect to the log tables is the expected sufficient statistics of EM:
:math:`\partial \sum_r \ln P(e_r) / \partial \ln \theta_{x,u} = \sum_r P(x, u \mid e_r)`
(Darwiche 2003, "A differential approach to inference in Bayesian networks").

Numerics match the numpy engine: every message is divided by its maximum and
the logarithm accumulated. The maximum goes through ``stop_gradient``: the
scale cancels in the value, so its own gradient would only add zeros at a cost.
The function computes in the dtype of its inputs; the library never switches
on ``jax_enable_x64``, so without it JAX computes in float32 (about 1e-6
relative agreement at best).
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp

__all__ = ["log_likelihood_fn", "one_hot_likelihoods"]


def log_likelihood_fn(engine) -> Callable:
    """``f(log_tables, likelihoods) -> ln P(e_r)`` of shape (rows,) for a compiled junction tree.

    Parameters
    ----------
    engine : JunctionTree

    Returns
    -------
    callable
        ``log_tables``: sequence of arrays, the log of each factor of
        ``engine.model.factors`` in that order and shape. ``likelihoods``:
        mapping ``{variable: array (rows, states)}`` of the observed variables
        (missing variables are unobserved). Returns an array of shape (rows,)
        (rows = 1 when ``likelihoods`` is empty). Unlike ``JunctionTree.query``,
        an empty evidence gives the sum over the tables as written, not an
        exact 0.0, so that the gradient stays that of the value returned.
    """
    factors = engine.model.factors
    plan = engine.tree.jax_plan()
    cliques, shapes = plan.cliques, plan.shapes
    layouts = []
    for i, clique in enumerate(cliques):
        entries = []
        for position in plan.assigned[i]:
            variables = factors[position].variables
            permutation = tuple(variables.index(v) for v in clique if v in variables)
            shape = (1,) + tuple(plan.cardinalities[v] if v in variables else 1 for v in clique)
            entries.append((position, permutation, shape))
        layouts.append(entries)
    postorder, root, children = plan.postorder, plan.root, plan.children
    up_axes, to_parent, lik_shape, home = plan.up_axes, plan.to_parent, plan.lik_shape, plan.home

    def log_likelihood(log_tables: Sequence, likelihoods: Mapping) -> jnp.ndarray:
        per_clique: dict[int, list] = {}
        for v, lik in likelihoods.items():
            per_clique.setdefault(home[v], []).append(jnp.reshape(lik, lik_shape[v]))
        dtype = jnp.result_type(*log_tables, *likelihoods.values())
        log_scale = jnp.zeros((1,), dtype)
        up = {}
        for i in postorder:
            log_table = jnp.zeros((1,) + shapes[i], dtype)
            for position, permutation, shape in layouts[i]:
                log_table = log_table + jnp.reshape(jnp.transpose(log_tables[position], permutation), shape)
            # Potentials in linear space, scaled to max 1 (the scale is kept in log space).
            top = jax.lax.stop_gradient(jnp.max(log_table))
            top = jnp.where(jnp.isfinite(top), top, 0.0)
            table = jnp.exp(log_table - top)
            log_scale = log_scale + top
            for lik in per_clique.get(i, ()):
                table = table * lik
            for c in children[i]:
                permutation, shape = to_parent[c]
                message = up[c] if permutation is None else jnp.transpose(up[c], permutation)
                table = table * jnp.reshape(message, shape)
            if i == root:
                return log_scale + jnp.log(jnp.sum(jnp.reshape(table, (table.shape[0], -1)), axis=1))
            message = jnp.sum(table, axis=up_axes[i])
            peak = jax.lax.stop_gradient(jnp.max(jnp.reshape(message, (message.shape[0], -1)), axis=1))
            peak = jnp.where(peak > 0, peak, 1.0)
            up[i] = message / jnp.reshape(peak, (-1,) + (1,) * (message.ndim - 1))
            log_scale = log_scale + jnp.log(peak)
        raise AssertionError("the root closes the collect pass")  # pragma: no cover

    return log_likelihood


def one_hot_likelihoods(engine, evidence_batch) -> dict:
    """``{variable: (rows, states)}`` likelihoods (one-hot, ones where unobserved) of a batch for
    :func:`log_likelihood_fn`; ``evidence_batch`` as for ``JunctionTree.query`` (list of dicts or DataFrame)."""
    return {v: jnp.asarray(lik) for v, lik in engine.batch_likelihoods(evidence_batch).items()}
