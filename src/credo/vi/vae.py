r"""Variational autoencoders: an MLP encoder amortizes inference for an MLP decoder.

A VAE (Kingma & Welling 2014; Rezende, Mohamed & Wierstra 2014) is the model

.. math::

    z_i \sim N(0, I_L), \qquad x_i \mid z_i \sim p_\theta(x_i \mid z_i)
    \quad (\text{decoder } \theta),

fitted together with an encoder :math:`q_\phi(z \mid x) = N(\mu_\phi(x),
\operatorname{diag}\sigma_\phi(x)^2)` by maximising the per-point ELBO

.. math::

    \mathrm{ELBO}(x) = E_{q_\phi(z\mid x)}[\log p_\theta(x \mid z)]
    - \mathrm{KL}(q_\phi(z \mid x) \,\|\, N(0, I)) \le \log p_\theta(x)

with the reparameterization :math:`z = \mu_\phi(x) + \sigma_\phi(x)\odot\varepsilon`
on minibatches (optax Adam). All numbers are **mean nats per data point,
higher is better**: :meth:`VAE.elbo`, :meth:`VAE.iwae` (the importance-weighted
bound :math:`\mathcal L_K`, Burda et al. 2016, with
:math:`\mathrm{ELBO} \le \mathcal L_K \le \log p_\theta(x)`) and
:func:`amortization_gap` (Cremer, Li & Duvenaud 2018), the ELBO lost because
one encoder serves every data point instead of a :math:`q` optimized per point.

Likelihoods
-----------
``"bernoulli"``
    The **continuous Bernoulli** (Loaiza-Ganem & Cunningham 2019),
    :math:`p(x \mid \lambda) = C(\lambda)\,\lambda^x(1-\lambda)^{1-x}` on
    :math:`x \in [0, 1]`, per pixel, with :math:`\lambda = \operatorname{sigmoid}(\eta)`
    and :math:`C = \eta / \tanh(\eta/2)`. Chosen over the plain Bernoulli because
    intensities in [0, 1] (digit pixels / 16) are not binary: the plain
    Bernoulli "log-likelihood" of grey pixels is not a log density, so its ELBO
    bounds nothing and ELBO/IWAE/gap comparisons in nats would be meaningless.
    Densities on [0, 1] may exceed 1, so these ELBOs can be positive.
    :meth:`VAE.decode` returns the distribution's mean, not :math:`\lambda`.
``"gaussian"``
    :math:`N(x \mid \mu_\theta(z), \operatorname{diag}\sigma^2)` with a learned
    per-dimension :math:`\sigma = 0.01 + \operatorname{softplus}(\rho)` (the floor
    keeps constant pixels from collapsing the variance to zero).

References
----------
Burda, Y., Grosse, R., & Salakhutdinov, R. (2016). Importance weighted
autoencoders. *ICLR*.

Cremer, C., Li, X., & Duvenaud, D. (2018). Inference suboptimality in
variational autoencoders. *ICML*.

Kingma, D. P., & Welling, M. (2014). Auto-encoding variational Bayes. *ICLR*.

Loaiza-Ganem, G., & Cunningham, J. P. (2019). The continuous Bernoulli: fixing
a pervasive error in variational autoencoders. *NeurIPS*.

Rezende, D. J., Mohamed, S., & Wierstra, D. (2014). Stochastic
backpropagation and approximate inference in deep generative models. *ICML*.

Examples
--------
Train, evaluate, save (runs in ``docs/vae.md``)::

    from credo.vi.vae import VAE
    from credo.examples.datasets import digits, train_test_split
    images, labels = digits()
    x_train, y_train, x_test, y_test = train_test_split(images, labels, seed=0)
    vae, history = VAE(64, 2).fit(x_train, epochs=1000, validation=x_test)
    vae.elbo(x_test), vae.iwae(x_test, num_samples=100), vae.amortization_gap(x_test).gap
    vae.save("digits-vae.npz")
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
from pathlib import Path
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from credo.distributions import continuous_bernoulli as _cb
from credo.errors import ArgumentError, DistributionError, ModelError, ParseError
from credo.random import as_key

from .optimize import run_chunks, scan_steps
from .vae_gap import GapResult, _gaussian_elbo_points, amortization_gap

__all__ = ["VAE", "History", "GapResult", "amortization_gap", "continuous_bernoulli_log_prob",
           "continuous_bernoulli_mean", "LIKELIHOODS"]

LIKELIHOODS = ("bernoulli", "gaussian")

#: File format tag and version written by :meth:`VAE.save`.
FORMAT, FORMAT_VERSION = "credo.vae", 1

_HEADER = "__header__"
_LOG_2PI = math.log(2.0 * math.pi)
_GAUSSIAN_MIN_SCALE = 0.01
#: Data points per compiled chunk when evaluating bounds (bounds memory for large K).
_EVAL_CHUNK = 256


# ------------------------------------------------------------------ likelihoods
#: The continuous Bernoulli's log density and mean now live in
#: :mod:`credo.distributions.continuous_bernoulli`; these names stay for existing callers.
continuous_bernoulli_log_prob = _cb.log_prob
continuous_bernoulli_mean = _cb.mean


# ------------------------------------------------------------------ networks
def _mlp(sizes, key) -> tuple:
    keys = jax.random.split(key, len(sizes) - 1)
    return tuple(eqx.nn.Linear(a, b, key=k, dtype=jnp.float32)
                 for a, b, k in zip(sizes[:-1], sizes[1:], keys))


def _forward(layers, x):
    """MLP with ReLU hidden layers on a batch ``x`` of shape ``(..., in)``."""
    for i, layer in enumerate(layers):
        x = x @ layer.weight.T + layer.bias
        if i < len(layers) - 1:
            x = jax.nn.relu(x)
    return x


class History(NamedTuple):
    """ELBO per epoch (mean nats per data point, higher is better).

    ``train_elbo`` averages the minibatch estimates during each epoch;
    ``validation_elbo`` is evaluated after each epoch (empty without validation data).
    """

    train_elbo: np.ndarray
    validation_elbo: np.ndarray


class VAE(eqx.Module):
    r"""A variational autoencoder with MLP encoder and decoder (an :class:`equinox.Module`).

    Immutable: :meth:`fit` returns a new, trained VAE.

    Parameters
    ----------
    input_dim : int
        :math:`D`, length of a (flattened) data point.
    latent_dim : int
        :math:`L`.
    hidden : tuple of int
        Widths of the hidden ReLU layers of the encoder; the decoder mirrors them.
    likelihood : {"bernoulli", "gaussian"}
        ``"bernoulli"`` is the continuous Bernoulli on [0, 1] (see the module notes).
    seed : int
        Seed of the weight initialisation.

    Attributes
    ----------
    encoder : tuple of eqx.nn.Linear
        :math:`x \mapsto (\mu, \rho)`, output width :math:`2L`, :math:`\sigma = \operatorname{softplus}(\rho)`.
    decoder : tuple of eqx.nn.Linear
        :math:`z \mapsto` logits (bernoulli) or means (gaussian), width :math:`D`.
    raw_noise : array, shape ``(D,)``
        Gaussian likelihood's unconstrained scales (unused for bernoulli).
    """

    encoder: tuple
    decoder: tuple
    raw_noise: jax.Array
    input_dim: int = eqx.field(static=True)
    latent_dim: int = eqx.field(static=True)
    hidden: tuple = eqx.field(static=True)
    likelihood: str = eqx.field(static=True)
    seed: int = eqx.field(static=True)

    def __init__(self, input_dim: int, latent_dim: int, hidden=(128,), likelihood: str = "bernoulli",
                 seed: int = 0):
        if likelihood not in LIKELIHOODS:
            raise ModelError(f"unknown likelihood {likelihood!r}; use one of {LIKELIHOODS}")
        hidden = tuple(int(h) for h in hidden)
        if int(input_dim) < 1 or int(latent_dim) < 1 or any(h < 1 for h in hidden):
            raise ModelError(f"sizes must be positive: input_dim={input_dim}, "
                             f"latent_dim={latent_dim}, hidden={hidden}")
        self.input_dim, self.latent_dim, self.hidden = int(input_dim), int(latent_dim), hidden
        self.likelihood, self.seed = likelihood, int(seed)
        k_enc, k_dec = jax.random.split(jax.random.PRNGKey(self.seed))
        self.encoder = _mlp((self.input_dim, *hidden, 2 * self.latent_dim), k_enc)
        self.decoder = _mlp((self.latent_dim, *hidden[::-1], self.input_dim), k_dec)
        # sigma starts at 0.01 + softplus(0) ~ 0.7: about the spread of pixel intensities
        self.raw_noise = jnp.zeros(self.input_dim, jnp.float32)

    @property
    def config(self) -> dict:
        """The constructor arguments (what :meth:`save` writes as JSON)."""
        return {"input_dim": self.input_dim, "latent_dim": self.latent_dim,
                "hidden": list(self.hidden), "likelihood": self.likelihood, "seed": self.seed}

    # -- the model and the encoder, on batches (pure, jittable) ---------------------------
    def _posterior(self, x):
        out = _forward(self.encoder, x)
        return out[..., : self.latent_dim], jax.nn.softplus(out[..., self.latent_dim:])

    def _log_likelihood(self, x, z):
        """:math:`\\log p(x \\mid z)` summed over dimensions; ``z`` may have extra leading axes."""
        out = _forward(self.decoder, z)
        if self.likelihood == "bernoulli":
            return jnp.sum(continuous_bernoulli_log_prob(x, out), axis=-1)
        sigma = _GAUSSIAN_MIN_SCALE + jax.nn.softplus(self.raw_noise)
        r = (x - out) / sigma
        return jnp.sum(-0.5 * r**2 - jnp.log(sigma) - 0.5 * _LOG_2PI, axis=-1)

    def _elbo_points(self, x, key, num_samples: int = 1):
        r"""Per-point ELBO, shape ``(B,)``: MC expected log-likelihood minus the closed-form KL."""
        loc, scale = self._posterior(x)
        return _gaussian_elbo_points(self, x, loc, scale, key, num_samples)

    def _iwae_points(self, x, key, num_samples: int):
        r"""Per-point :math:`\log\frac1K\sum_k p(x, z_k)/q(z_k\mid x)`, shape ``(B,)``."""
        loc, scale = self._posterior(x)
        eps = jax.random.normal(key, (num_samples, *loc.shape), loc.dtype)
        z = loc + scale * eps
        log_prior = -0.5 * jnp.sum(z**2, axis=-1)
        log_q = -0.5 * jnp.sum(eps**2, axis=-1) - jnp.sum(jnp.log(scale), axis=-1)
        log_w = self._log_likelihood(x, z) + log_prior - log_q  # the 2 pi terms cancel
        return jax.scipy.special.logsumexp(log_w, axis=0) - math.log(num_samples)

    # -- data ---------------------------------------------------------------------------------
    def _check(self, X, name: str = "X") -> jax.Array:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.input_dim:
            raise ModelError(f"{name} must have shape (n, {self.input_dim}), got {X.shape}")
        if len(X) == 0:
            raise ModelError(f"{name} is empty")
        if not np.all(np.isfinite(X)):
            raise DistributionError(f"{name} has non-finite values")
        if self.likelihood == "bernoulli" and (X.min() < 0.0 or X.max() > 1.0):
            raise DistributionError(
                f"{name} lies in [{X.min():g}, {X.max():g}]; the continuous Bernoulli likelihood "
                "needs values in [0, 1] (scale the pixels, e.g. digits / 16 or MNIST / 255)")
        return jnp.asarray(X)

    # -- training -------------------------------------------------------------------------------
    def fit(self, X, epochs: int = 100, batch_size: int = 128, learning_rate: float = 1e-3, *,
            progress: bool = True, validation=None, seed=0, optimizer=None):
        """Maximise the ELBO over the data, minibatched; returns ``(trained_vae, history)``.

        Each epoch shuffles the rows of ``X`` and takes ``len(X) // batch_size``
        Adam steps (a trailing partial batch is dropped; it is in the next
        epoch's shuffle), one compiled program per epoch (:func:`jax.lax.scan`).

        Parameters
        ----------
        X : array, shape ``(n, input_dim)``
            Values in [0, 1] for the bernoulli likelihood.
        epochs : int
        batch_size : int
            Clipped to ``n``.
        learning_rate : float
            Adam's step size (ignored when ``optimizer`` is given).
        progress : bool
            A progress bar with the epoch's training (and validation) ELBO.
        validation : array, shape ``(m, input_dim)``, optional
            Held-out data whose ELBO (single-sample estimate, fixed key per
            epoch) is recorded after every epoch.
        seed : int or PRNG key
            Shuffles and reparameterization noise.
        optimizer : optax.GradientTransformation, optional
            Default ``optax.adam(learning_rate)``.

        Returns
        -------
        (VAE, History)
        """
        X = self._check(X)
        V = None if validation is None else self._check(validation, "validation")
        epochs, batch_size = int(epochs), min(int(batch_size), len(X))
        if epochs < 0 or batch_size < 1:
            raise ArgumentError("epochs" if epochs < 0 else "batch_size",
                                f"need epochs >= 0 and batch_size >= 1, got {epochs}, {batch_size}")
        if optimizer is None:
            optimizer = _adam(float(learning_rate))
        opt_state = optimizer.init(eqx.filter(self, eqx.is_inexact_array))
        key = as_key(seed)
        state = {"vae": self, "opt_state": opt_state}
        train, valid = [], []

        def one_epoch(epoch):
            # the epoch's keys are derived inside the compiled program: no eager dispatch per epoch
            state["vae"], state["opt_state"], elbo, k_valid = _train_epoch(
                state["vae"], state["opt_state"], X, key, np.asarray(epoch, np.int32), optimizer,
                batch_size)
            train.append(float(elbo))
            if V is not None:
                valid.append(float(_mean_elbo(state["vae"], V, k_valid, 1)))
            return {"elbo": f"{train[-1]:.2f}", **({"val": f"{valid[-1]:.2f}"} if valid else {})}, False

        run_chunks(one_epoch, epochs, 1, desc="VAE", unit="epoch", progress=progress)
        vae = state["vae"]
        if not all(np.isfinite(train)):
            raise DistributionError("the ELBO became non-finite during training; lower the "
                                    "learning rate")
        return vae, History(np.asarray(train), np.asarray(valid))

    # -- evaluation -----------------------------------------------------------------------------
    def elbo(self, X, num_samples: int = 10, seed=0, *, per_point: bool = False):
        """Mean ELBO per data point, in nats (higher is better).

        :math:`E_q[\\log p(x\\mid z)]` by ``num_samples`` reparameterized draws
        per point, the KL to the prior in closed form. ``per_point=True``
        returns the ``(n,)`` values instead of their mean (e.g. for standard errors).
        """
        values = _chunked("elbo", self, self._check(X), seed, int(num_samples))
        return values if per_point else float(np.mean(values))

    def iwae(self, X, num_samples: int = 100, seed=0, *, per_point: bool = False):
        r"""Mean importance-weighted bound :math:`\mathcal L_K` per data point, in nats.

        :math:`\mathcal L_K = E\bigl[\log\frac1K\sum_k p(x, z_k)/q(z_k \mid x)\bigr]`
        with ``num_samples`` :math:`= K` draws of the encoder's :math:`q`;
        :math:`\mathrm{ELBO} = \mathcal L_1 \le \mathcal L_K \le \log p(x)`
        (Burda et al. 2016). One estimate per point; ``per_point=True``
        returns the ``(n,)`` estimates instead of their mean.
        """
        values = _chunked("iwae", self, self._check(X), seed, int(num_samples))
        return values if per_point else float(np.mean(values))

    def amortization_gap(self, X, **kwargs) -> GapResult:
        """See :func:`amortization_gap`."""
        return amortization_gap(self, X, **kwargs)

    # -- encoder, decoder ---------------------------------------------------------------------
    def encode(self, X) -> tuple[np.ndarray, np.ndarray]:
        """:math:`q(z \\mid x)` in one forward pass: ``(loc, scale)``, each shape ``(n, latent_dim)``."""
        loc, scale = _posterior_jit(self, self._check(X))
        return np.asarray(loc), np.asarray(scale)

    def decode(self, Z) -> np.ndarray:
        """Mean of :math:`p(x \\mid z)` for latents ``Z`` of shape ``(n, latent_dim)``: ``(n, input_dim)``."""
        Z = jnp.asarray(np.asarray(Z, dtype=np.float32))
        if Z.ndim != 2 or Z.shape[1] != self.latent_dim:
            raise ModelError(f"Z must have shape (n, {self.latent_dim}), got {Z.shape}")
        return np.asarray(_decode_mean(self, Z))

    def reconstruct(self, X) -> np.ndarray:
        """Decoder mean at the encoder's mean: ``decode(encode(X)[0])``."""
        return self.decode(self.encode(X)[0])

    def sample(self, num_samples: int, seed=0, *, mean: bool = True) -> np.ndarray:
        """Data generated from the prior, shape ``(num_samples, input_dim)``.

        ``mean=True`` returns the decoder's mean at :math:`z \\sim N(0, I)` (the
        usual picture); ``mean=False`` also draws :math:`x \\sim p(x \\mid z)`
        (gaussian only; the continuous Bernoulli's draws are by inverse CDF).
        """
        k_z, k_x = jax.random.split(as_key(seed))
        z = jax.random.normal(k_z, (int(num_samples), self.latent_dim), jnp.float32)
        if mean:
            return np.asarray(_decode_mean(self, z))
        return np.asarray(_decode_draw(self, z, k_x))

    # -- files ----------------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write the VAE to ``path`` (``.npz``): arrays plus a JSON header; no pickle.

        The header holds the format tag and version, :attr:`config`, each
        array's shape and dtype, and the SHA-256 of the array bytes, which
        :meth:`load` verifies.
        """
        path = Path(path)
        leaves = [np.asarray(a) for a in jax.tree.leaves(eqx.filter(self, eqx.is_array))]
        header = {"format": FORMAT, "version": FORMAT_VERSION, "config": self.config,
                  "arrays": [[list(a.shape), a.dtype.str] for a in leaves],
                  "sha256": _digest(leaves)}
        arrays = {f"a{i:03d}": a for i, a in enumerate(leaves)}
        arrays[_HEADER] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        path.write_bytes(buffer.getvalue())
        return path

    @classmethod
    def load(cls, path) -> "VAE":
        """Read a VAE written by :meth:`save` without executing code (``allow_pickle=False``).

        Raises
        ------
        ParseError
            Not an ``.npz`` of this format, a header that does not parse or
            does not match the arrays, or arrays whose checksum differs from
            the header's (a modified file).
        """
        source = str(path)

        def fail(message):
            return ParseError(message, 1, 1, source)

        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
        except FileNotFoundError:
            raise
        except Exception as err:  # zip, npy header and pickle refusals all mean "malformed"
            raise fail(f"not a readable .npz file without pickled objects ({type(err).__name__}: "
                       f"{err})") from None
        if _HEADER not in arrays or arrays[_HEADER].dtype != np.uint8:
            raise fail(f"no {_HEADER} entry: not a file written by VAE.save")
        try:
            header = json.loads(arrays.pop(_HEADER).tobytes().decode())
            if header["format"] != FORMAT or header["version"] != FORMAT_VERSION:
                raise fail(f"format {header['format']!r} version {header['version']!r}; expected "
                           f"{FORMAT!r} version {FORMAT_VERSION}")
            config, specs, digest = header["config"], header["arrays"], header["sha256"]
            skeleton = cls(**config)
        except ParseError:
            raise
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
            raise fail(f"malformed header ({type(err).__name__}: {err})") from None
        params, static = eqx.partition(skeleton, eqx.is_array)
        expected, treedef = jax.tree.flatten(params)
        names = [f"a{i:03d}" for i in range(len(expected))]
        if sorted(arrays) != names or len(specs) != len(names):
            raise fail(f"expected arrays {names[:3]}... ({len(names)}), found {sorted(arrays)[:3]}... "
                       f"({len(arrays)})")
        leaves = [arrays[n] for n in names]
        for name, leaf, ref, spec in zip(names, leaves, expected, specs):
            if leaf.shape != ref.shape or leaf.dtype != np.asarray(ref).dtype or \
                    [list(leaf.shape), leaf.dtype.str] != spec:
                raise fail(f"array {name} has shape {leaf.shape} and dtype {leaf.dtype}; the "
                           f"configuration needs {ref.shape} {np.asarray(ref).dtype}")
        if _digest(leaves) != digest:
            raise fail("array checksum differs from the header's: the file was modified")
        return eqx.combine(jax.tree.unflatten(treedef, [jnp.asarray(a) for a in leaves]), static)

    def __repr__(self):
        return (f"VAE(input_dim={self.input_dim}, latent_dim={self.latent_dim}, "
                f"hidden={self.hidden}, likelihood={self.likelihood!r})")


def _digest(leaves) -> str:
    h = hashlib.sha256()
    for a in leaves:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=16)
def _adam(learning_rate: float):
    """Adam for one fit, made per call (no optimizer shared through module state).

    Cached by rate only so that a refit at the same rate reuses its compiled
    epoch (the optimizer is a static argument of :func:`_train_epoch`).
    ``inject_hyperparams`` keeps Adam's constants as float32 state, as VAE fits
    have always computed them (plain ``optax.adam`` folds them in double
    precision, which changes the last bits of every fit).
    """
    return optax.inject_hyperparams(optax.adam)(learning_rate=learning_rate)


@eqx.filter_jit
def _train_epoch(vae, opt_state, X, key, epoch, optimizer, batch_size: int):
    """Epoch ``epoch`` of a fit seeded by ``key``: ``len(X) // batch_size`` Adam steps on a
    shuffle, in a scan. Returns the VAE, the optimizer state, the mean minibatch ELBO and the
    key of the epoch's validation estimate."""
    key, k_valid = jax.random.split(jax.random.fold_in(key, epoch))
    params, static = eqx.partition(vae, eqx.is_inexact_array)
    num_batches = X.shape[0] // batch_size
    k_perm, k_noise = jax.random.split(key)
    batches = jax.random.permutation(k_perm, X.shape[0])[: num_batches * batch_size]
    batches = batches.reshape(num_batches, batch_size)

    def loss(p, inputs):
        idx, k = inputs
        return -jnp.mean(eqx.combine(p, static)._elbo_points(X[idx], k))

    params, opt_state, values = scan_steps(loss, params, opt_state, optimizer,
                                           (batches, jax.random.split(k_noise, num_batches)))
    elbos = -values
    return eqx.combine(params, static), opt_state, jnp.mean(elbos), k_valid


@eqx.filter_jit
def _mean_elbo(vae, X, key, num_samples: int):
    return jnp.mean(vae._elbo_points(X, key, num_samples))


@eqx.filter_jit
def _bound_points(bound: str, vae, X, key, num_samples: int):
    points = vae._elbo_points if bound == "elbo" else vae._iwae_points
    return points(X, key, num_samples)


def _chunked(bound: str, vae, X, seed, num_samples: int) -> np.ndarray:
    """A per-point bound on the rows of ``X``, in equal chunks (bounded memory, one
    compilation: the last chunk is padded and the padding dropped)."""
    if num_samples < 1:
        raise ArgumentError("num_samples", f"must be >= 1, got {num_samples}")
    key = as_key(seed)
    n = len(X)
    size = min(_EVAL_CHUNK, n)
    out = []
    for start in range(0, n, size):
        chunk = X[start:start + size]
        padded = jnp.pad(chunk, ((0, size - len(chunk)), (0, 0)))
        values = _bound_points(bound, vae, padded, jax.random.fold_in(key, start), num_samples)
        out.append(np.asarray(values)[: len(chunk)])
    return np.concatenate(out).astype(np.float64)


@eqx.filter_jit
def _posterior_jit(vae, X):
    return vae._posterior(X)


@eqx.filter_jit
def _decode_mean(vae, Z):
    out = _forward(vae.decoder, Z)
    return continuous_bernoulli_mean(out) if vae.likelihood == "bernoulli" else out


@eqx.filter_jit
def _decode_draw(vae, Z, key):
    out = _forward(vae.decoder, Z)
    if vae.likelihood == "gaussian":
        sigma = _GAUSSIAN_MIN_SCALE + jax.nn.softplus(vae.raw_noise)
        return out + sigma * jax.random.normal(key, out.shape, out.dtype)
    # the continuous Bernoulli's draws by its inverse CDF
    return _cb.icdf(jax.random.uniform(key, out.shape, out.dtype), out)
