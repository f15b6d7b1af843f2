"""A ``lax.while_loop`` whose ``vmap`` runs the batch in lockstep, without per-step selects.

A JAX utility with no MCMC in it: NUTS trajectories use it (one leapfrog
step per turn, chains under ``vmap``), and so may any loop whose body can
leave a finished member unchanged by itself.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_batching import custom_vmap

try:
    from jax.extend.core import ClosedJaxpr, jaxpr_as_fun
except ImportError:  # older JAX
    from jax.core import ClosedJaxpr, jaxpr_as_fun

__all__ = ["while_loop_lockstep"]


def while_loop_lockstep(cond_fun: Callable, body_fun: Callable, init_val,
                         batched_body_fun: Callable | None = None):
    """``lax.while_loop`` whose ``vmap`` runs the batch in lockstep without per-step selects.

    ``vmap`` of a ``while_loop`` with a batched predicate runs until every
    member is done and, after every step, selects between the new and the old
    value of *every* carried array so that finished members stay put. With
    the NUTS checkpoints in the carry that copy costs several times the rest
    of the step. Here the batched loop simply runs ``vmap(body_fun)`` while
    any member's ``cond_fun`` holds, so ``body_fun`` must itself leave a
    finished state unchanged (in every part the caller uses). Unbatched, it
    is ``lax.while_loop``.

    ``batched_body_fun``, if given, computes the same as ``body_fun`` and
    replaces it under ``vmap`` (where, e.g., a ``lax.cond`` that skips work
    would become a select that does all of it).

    Closed-over values (batched or not) are hoisted into explicit arguments,
    as :func:`jax.custom_batching.custom_vmap` requires.
    """
    flat, tree = jax.tree.flatten(init_val)

    def trace(fun):
        return jax.make_jaxpr(lambda *c: jax.tree.leaves(fun(tree.unflatten(c))))(*flat)

    cond_closed = trace(cond_fun)
    body_closed = trace(body_fun)
    batched_closed = body_closed if batched_body_fun is None else trace(batched_body_fun)

    def run(closed, consts, carry):
        return jaxpr_as_fun(ClosedJaxpr(closed.jaxpr, consts))(*carry)

    @custom_vmap
    def loop(cond_consts, body_consts, batched_consts, carry):
        del batched_consts
        return lax.while_loop(lambda c: run(cond_closed, cond_consts, c)[0],
                              lambda c: run(body_closed, body_consts, c), carry)

    @loop.def_vmap
    def loop_batched(axis_size, in_batched, cond_consts, body_consts, batched_consts, carry):
        cond_batched, _, body_batched, carry_batched = in_batched
        carry = [c if b else jnp.broadcast_to(c, (axis_size,) + jnp.shape(c))
                 for c, b in zip(carry, carry_batched)]

        def axes(flags):
            return [0 if b else None for b in flags]

        vcond = jax.vmap(lambda k, c: run(cond_closed, k, c)[0], in_axes=(axes(cond_batched), 0))
        vbody = jax.vmap(lambda k, c: run(batched_closed, k, c), in_axes=(axes(body_batched), 0))
        out = lax.while_loop(lambda c: jnp.any(vcond(cond_consts, c)),
                             lambda c: vbody(batched_consts, c), carry)
        return out, [True] * len(out)

    out = loop(list(cond_closed.consts), list(body_closed.consts), list(batched_closed.consts),
               flat)
    return tree.unflatten(out)
