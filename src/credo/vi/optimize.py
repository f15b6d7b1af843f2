"""The one optimizer loop of the VI methods: a compiled scan of optax steps and its host loop.

ADVI and minibatch SVI (:mod:`credo.vi.advi`), the VAE and its per-point
fits (:mod:`credo.vi.vae`, :mod:`credo.vi.vae_gap`) and amortized VI
(:mod:`credo.vi.amortized`) all maximise an objective by many optax steps.
They share three pieces, written here once:

* :func:`scan_steps`, the traceable :func:`jax.lax.scan` over
  ``value_and_grad`` and an optax update, which each method calls inside its
  own jitted chunk (whose static arguments decide what is compiled once);
* :func:`skip_nonfinite`, the guard that skips a step whose gradient is not
  finite instead of writing NaN into every parameter (ADVI, SVI and amortized
  VI use it; the VAE stops with an error on a non-finite ELBO instead);
* :func:`run_chunks`, the host loop over compiled chunks with its progress
  bar, closed however the loop ends (a stop, an error or Ctrl-C), and
  :func:`relative_change`, the stopping and convergence rule's measure.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from credo._progress import progress_bar

__all__ = ["scan_steps", "skip_nonfinite", "run_chunks", "relative_change"]


def scan_steps(loss, params, opt_state, optimizer, xs, *, average: bool = False):
    """One optax step of ``loss`` per leading index of ``xs``, in a :func:`jax.lax.scan`.

    Traceable: call it inside a jitted function, so that the caller's static
    arguments (the model, the optimizer) decide when it is compiled.

    Parameters
    ----------
    loss : callable
        ``loss(params, x) -> scalar``, minimised; ``x`` is one step's slice of ``xs``.
    params : pytree of arrays
        The optimised leaves (e.g. ``eqx.partition(module, eqx.is_inexact_array)[0]``).
    opt_state : optax state
        ``optimizer.init(params)``, or the state a previous chunk returned.
    optimizer : optax.GradientTransformation
        Wrap it in :func:`skip_nonfinite` to skip steps with non-finite gradients.
    xs : pytree of arrays
        The per-step inputs (keys, minibatch indices, ...), leading axis = steps.
    average : bool
        Also return the mean of the iterates after each step (Polyak-Ruppert
        averaging over the chunk).

    Returns
    -------
    params, opt_state, values[, mean]
        The last iterate, the optimizer state, the loss of each step (at the
        parameters before its update) and, with ``average``, the mean iterate.
    """

    def step(carry, x):
        params, opt_state = carry[0], carry[1]
        value, grads = jax.value_and_grad(loss)(params, x)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        if not average:
            return (params, opt_state), value
        # the running sum is a separate carry only when asked for, so the other callers'
        # programs (and their last bits) are what they were before this loop was shared
        return (params, opt_state, jax.tree.map(jnp.add, carry[2], params)), value

    if not average:
        (params, opt_state), values = jax.lax.scan(step, (params, opt_state), xs)
        return params, opt_state, values
    length = jax.tree.leaves(xs)[0].shape[0]
    zeros = jax.tree.map(jnp.zeros_like, params)
    (params, opt_state, total), values = jax.lax.scan(step, (params, opt_state, zeros), xs)
    return params, opt_state, values, jax.tree.map(lambda t: t / length, total)


@functools.lru_cache(maxsize=64)
def skip_nonfinite(optimizer, max_consecutive_errors: int = 20):
    """``optimizer`` wrapped in :func:`optax.apply_if_finite`: a step whose gradient has a
    non-finite entry leaves the parameters and the inner state as they were.

    After ``max_consecutive_errors`` such steps in a row the update is applied
    anyway, so a density that is non-finite everywhere shows up as non-finite
    parameters rather than as a silent stall. Cached, so that the same
    optimizer gives an equal (hashable, static) wrapper and jitted chunks are reused.
    """
    return optax.apply_if_finite(optimizer, max_consecutive_errors=max_consecutive_errors)


def run_chunks(chunk_fn, num_chunks: int, chunk: int, *, desc: str, unit: str = "step",
               progress: bool = True) -> int:
    """The host loop: ``chunk_fn(index)`` for ``index`` in ``range(num_chunks)``, with a progress bar.

    Parameters
    ----------
    chunk_fn : callable
        ``chunk_fn(index) -> (postfix, stop)``: runs one compiled chunk and
        returns the values to show on the bar (a dict, or None) and whether
        to stop after this chunk.
    num_chunks, chunk : int
        Chunks, and units of work (steps, epochs) per chunk.
    desc, unit : str
        The bar's label and unit (:func:`credo._progress.progress_bar`).
    progress : bool

    Returns
    -------
    int
        The chunks run.

    Notes
    -----
    The bar is closed however the loop ends, so a Ctrl-C (``KeyboardInterrupt``,
    which propagates) or an error inside a chunk leaves no half-drawn bar on
    the terminal.
    """
    bar = progress_bar(num_chunks * chunk, desc, unit) if progress else None
    done = 0
    try:
        for index in range(num_chunks):
            postfix, stop = chunk_fn(index)
            done += 1
            if bar is not None:
                if postfix:
                    bar.set_postfix(refresh=False, **postfix)
                bar.update(chunk)
            if stop:
                break
    finally:
        if bar is not None:
            bar.close()
    return done


def relative_change(current: float, previous: float) -> float:
    """``|current - previous| / |current|`` (the denominator floored at 1e-12): the measure of
    the stopping and convergence rules, scale free because ELBOs have any magnitude."""
    return abs(current - previous) / max(abs(current), 1e-12)
