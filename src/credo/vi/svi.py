r"""Minibatch stochastic variational inference through subsampled plates.

A model whose likelihood sits in ``credo.ppl.plate(name, N, subsample_size=B)``
is fitted by :func:`credo.vi.advi` with minibatches (Hoffman et al. 2013):
every optimisation step evaluates the model on ``B`` rows only, the plate
scales their log likelihood by :math:`N/B`, and

.. math::

    \widehat{\log p}(x) = \log p(x) \big|_\text{outside the plate}
        + \frac{N}{B}\sum_{i \in \text{batch}} \log p(y_i \mid x)

is an unbiased estimate of the log joint, hence its ELBO gradient is an
unbiased estimate of the full-data ELBO gradient.

The rows live wherever the caller put them (numpy arrays on the host are
fine): :class:`MinibatchStream` gathers the rows of each compiled chunk of
steps on the host and only those, shape ``(chunk, B, ...)``, go to the device.
Each epoch is a fresh permutation of the ``N`` rows (drawn from an explicit
key), cut into ``N // B`` batches, so every batch is a uniform random subset
drawn without replacement and a run is a deterministic function of the seed.
The compiled step sees arrays of batch shape only: its program does not
depend on the data and is compiled once per fit.

Data arrays whose leading dimension is the plate's full size ``N`` are the
plate's rows; inside the compiled step they have ``B`` rows and the plate's
indices are ``0 .. B - 1``, so the model may index them with the plate's
indices (``y[idx]``) or use them whole, and may take the plate's size from
their length (the plate keeps its full size).

References
----------
Hoffman, M. D., Blei, D. M., Wang, C., & Paisley, J. (2013). Stochastic
variational inference. *JMLR* 14, 1303-1347.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from credo.errors import ModelError
from credo.ppl import LogDensity, Target, as_target, logdensity, minibatch_target, require_latents

__all__ = ["MinibatchStream", "prepare_target"]


class MinibatchStream:
    """The rows of a subsampled plate, served one compiled chunk of steps at a time.

    Parameters
    ----------
    rows : dict of str -> array, each of shape ``(size, ...)``
        Kept where they are (host numpy arrays stay on the host).
    size : int
        Rows per epoch, ``N``.
    batch_size : int
        Rows per step, ``B``.
    key : PRNG key
        Seeds the per-epoch permutations.
    """

    def __init__(self, rows: dict, size: int, batch_size: int, key):
        self.rows = rows
        self.size, self.batch_size = int(size), int(batch_size)
        self.batches_per_epoch = self.size // self.batch_size
        self._entropy = [int(v) for v in np.asarray(jax.random.key_data(key)).ravel()]
        self._epoch, self._perm = None, None

    def _permutation(self, epoch: int) -> np.ndarray:
        if epoch != self._epoch:
            rng = np.random.default_rng(self._entropy + [epoch])
            self._epoch, self._perm = epoch, rng.permutation(self.size)
        return self._perm

    def indices(self, step: int) -> np.ndarray:
        """Row indices of step ``step``, shape ``(batch_size,)``."""
        epoch, position = divmod(int(step), self.batches_per_epoch)
        start = position * self.batch_size
        return self._permutation(epoch)[start:start + self.batch_size]

    def batch(self, step: int) -> dict:
        """The rows of step ``step``: name -> array ``(batch_size, ...)``."""
        idx = self.indices(step)
        return {k: np.asarray(v[idx]) for k, v in self.rows.items()}

    def chunk(self, first_step: int, length: int) -> dict:
        """The rows of steps ``first_step .. first_step + length - 1``: name -> ``(length, batch_size, ...)``."""
        idx = np.stack([self.indices(s) for s in range(first_step, first_step + length)])
        return {k: np.asarray(v[idx.ravel()]).reshape(idx.shape + np.shape(v)[1:])
                for k, v in self.rows.items()}


def prepare_target(model, data, *, dim, key):
    """The VI target of ``model``, and its :class:`MinibatchStream` if a plate subsamples.

    Returns
    -------
    target : credo.ppl.Target
        For a subsampled model, its ``log_p`` and ``constrain_fn`` evaluate the
        first minibatch (an unbiased but noisy estimate of the log joint; the
        fit itself draws a new batch every step).
    stream : MinibatchStream or None
    log_p_batch : callable or None
        ``(flat, batch) -> scalar``: the minibatch estimate of the log joint.

    Raises
    ------
    ModelError
        If the model has no latent variables, or more than one plate subsamples.
    """
    if dim is None and callable(model) and not isinstance(model, (LogDensity, Target)):
        # a seed fixes the prototype's subsample; other models are compiled without one, so
        # that the programs cached per model structure (initial points) serve every seed
        seeded = logdensity(model, data, seed=key)
        model, data = (seeded if seeded.subsampled else logdensity(model, data)), None
    if not (isinstance(model, LogDensity) and model.subsampled):
        target = as_target(model, data, dim=dim)
        require_latents(target.dim, "approximate", target.summed)
        return target, None, None
    return _minibatch_target(model, key)


def _minibatch_target(ld, key):
    if len(ld.subsampled) > 1:
        raise ModelError(f"plates {sorted(ld.subsampled)} subsample; minibatch VI supports one "
                         "subsampled plate")
    (plate, (size, batch_size)), = ld.subsampled.items()
    rows = {k: v for k, v in ld.data.items() if np.shape(v)[0] == size}
    if not rows:
        raise ModelError(f"plate {plate!r} subsamples {batch_size} of {size} rows but no array "
                         f"data has {size} rows (array data: "
                         f"{ {k: np.shape(v) for k, v in ld.data.items()} })")
    require_latents(ld.dim, "approximate", () if ld.enumeration is None else ld.enumeration.names)
    stream = MinibatchStream(rows, size, batch_size, key)
    first = {k: jnp.asarray(v) for k, v in stream.batch(0).items()}
    target, log_p_batch = minibatch_target(ld, first)
    return target, stream, log_p_batch
