r"""Amortized variational inference: an encoder predicts each data point's local posterior.

For a model with global latents :math:`\theta` and one local latent
:math:`z_i` per data point :math:`x_i` inside a plate,

.. math::

    p(\theta, z, x) = p(\theta) \prod_{i=1}^N p(z_i \mid \theta)\, p(x_i \mid z_i, \theta),

the amortized family is

.. math::

    q(\theta, z) = q_\lambda(\theta) \prod_{i=1}^N
    N\bigl(u_i \mid \mu_\phi(x_i), \operatorname{diag}\sigma_\phi(x_i)^2\bigr),

with :math:`u_i` the unconstrained value of :math:`z_i` (the transform's
log-Jacobian enters the model's log density, as in ADVI) and one encoder
:math:`\phi` shared by all points (Gershman & Goodman 2014; Kingma & Welling
2014). The ELBO is maximised with reparameterized draws on minibatches
:math:`B` of the plate: the unbiased estimate

.. math::

    \log p(\theta) - \log q_\lambda(\theta) + \frac{N}{|B|}\sum_{i\in B}
    \bigl[\log p(z_i \mid \theta) + \log p(x_i \mid z_i, \theta) - \log q_\phi(z_i \mid x_i)\bigr]

(Hoffman et al. 2013). A new data point then needs one encoder pass instead
of an optimisation.

The plate's size must follow the data (``plate("obs", len(y))``): each step
runs the model on the minibatch's rows, with the sites inside the plate
weighted by :math:`N/|B|`.

References
----------
Gershman, S. J., & Goodman, N. D. (2014). Amortized inference in
probabilistic reasoning. *CogSci*.

Hoffman, M. D., Blei, D. M., Wang, C., & Paisley, J. (2013). Stochastic
variational inference. *JMLR* 14.

Kingma, D. P., & Welling, M. (2014). Auto-encoding variational Bayes. *ICLR*.

Examples
--------
A Gaussian latent per observation under a global mean (runs in ``docs/vae.md``)::

    import equinox as eqx, jax, jax.numpy as jnp, numpy as np
    import credo.ppl as ppl
    from credo import distributions as dist
    from credo.vi.amortized import amortized_guide
    def model(y):
        mu = ppl.sample("mu", dist.Normal(0.0, 5.0))
        with ppl.plate("obs", len(y)):
            z = ppl.sample("z", dist.Normal(mu, 1.0))
            ppl.sample("y", dist.Normal(z, 0.5), obs=y)
    y = np.random.default_rng(0).normal(2.0, 1.1, size=200).astype(np.float32)
    encoder = eqx.nn.Linear(1, 2, key=jax.random.PRNGKey(0))   # y_i -> (loc, raw scale)
    approx = amortized_guide(encoder, model, {"y": y}, local="z", steps=1000, batch_size=50,
                             progress=False)
    loc, scale = approx.local(y[:3, None])                       # q(z | y) in one pass
    loc.shape, sorted(approx.sample(100))
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from credo.errors import ModelError
from credo.ppl import Handler, Site, as_target, logdensity, require_latents
from credo.random import as_key

from .approximation import Approximation
from .families import Family, MeanField
from .optimize import relative_change, run_chunks, scan_steps, skip_nonfinite

__all__ = ["amortized_guide", "amortized_problem", "AmortizedProblem", "AmortizedGuide",
           "AmortizedJoint", "AmortizedApproximation"]

_LOG_2PI = math.log(2.0 * math.pi)


class _ScaleInPlate(Handler):
    """Multiply the log density of sample/factor sites inside plate ``name`` by ``ratio``.

    Pushed inside the model, hence below the plate on the stack: the plate has
    already recorded its frame when this handler sees a site.
    """

    def __init__(self, name: str, ratio: float):
        super().__init__()
        self.name, self.ratio = name, ratio

    def process_message(self, msg: Site) -> None:
        if msg.type in ("sample", "factor") and self.name in msg.plate_names:
            msg.scale = self.ratio if msg.scale is None else msg.scale * self.ratio


def _scaled(model, plate: str, ratio: float):
    # functools.wraps keeps the signature, so data still splits into arguments and observations
    @functools.wraps(model)
    def scaled(*args, **kwargs):
        with _ScaleInPlate(plate, ratio):
            return model(*args, **kwargs)

    return scaled


def _normal_log_prob(u, loc, scale):
    r = (u - loc) / scale
    return jnp.sum(-0.5 * r**2 - jnp.log(scale) - 0.5 * _LOG_2PI, axis=-1)


class AmortizedGuide(eqx.Module):
    r"""The trainable parts: an encoder for the local latent and a family for the globals.

    Attributes
    ----------
    encoder : callable (an equinox module)
        One data point's input (``inputs[i]``) :math:`\mapsto` a vector of length
        :math:`2 d_z`: the location, then the unconstrained scale
        :math:`\rho` (:math:`\sigma = \operatorname{softplus}(\rho)`) of
        :math:`q(u_i \mid x_i)` on the local latent's unconstrained space.
    global_q : Family or None
        :math:`q_\lambda(\theta)` on the globals' flat unconstrained space (None
        when the model has no global latents).
    local_dim : int
        :math:`d_z`, the size of one data point's unconstrained local latent.
    """

    encoder: object
    global_q: Family | None
    local_dim: int = eqx.field(static=True)

    def local_params(self, x):
        """``(loc, scale)`` of :math:`q(u \\mid x)` for one input ``x``; each shape ``(d_z,)``."""
        out = jnp.reshape(self.encoder(x), (-1,))
        if out.shape != (2 * self.local_dim,):
            raise ModelError(f"the encoder returned shape {out.shape}; it must return a vector of "
                             f"length 2 * {self.local_dim} (location, then unconstrained scale)")
        return out[: self.local_dim], jax.nn.softplus(out[self.local_dim:])

    def local_batch(self, inputs):
        """:meth:`local_params` for a batch ``inputs`` of shape ``(n, ...)``: two ``(n, d_z)`` arrays."""
        return jax.vmap(self.local_params)(inputs)


class AmortizedJoint(Family):
    r""":math:`q(\theta)\prod_i q(u_i \mid x_i)` on a model's full flat unconstrained space.

    A family (``sample``, ``log_prob``) over the same layout as the compiled
    model, so :class:`~credo.vi.Approximation` can draw, summarise and check it.

    Attributes
    ----------
    global_q : Family or None
    local_loc, local_scale : array, shape ``(N, d_z)``
        The encoder's output on every data point.
    layout : tuple
        ``(kind, start, stop)`` blocks of the flat vector in order, kind
        ``"global"`` (a block of ``global_q``'s vector) or ``"local"``.
    """

    global_q: Family | None
    local_loc: jax.Array
    local_scale: jax.Array
    layout: tuple = eqx.field(static=True)

    @property
    def dim(self) -> int:
        return self.layout[-1][2] if self.layout else 0

    def _split(self, x):
        parts = {"global": [], "local": None}
        for kind, start, stop in self.layout:
            block = x[..., start:stop]
            if kind == "local":
                parts["local"] = block
            else:
                parts["global"].append(block)
        g = jnp.concatenate(parts["global"], axis=-1) if parts["global"] else None
        return g, parts["local"]

    def _assemble(self, g, local):
        blocks, g_at = [], 0
        for kind, start, stop in self.layout:
            if kind == "local":
                blocks.append(local)
            else:
                blocks.append(g[..., g_at:g_at + stop - start])
                g_at += stop - start
        return jnp.concatenate(blocks, axis=-1)

    def sample_and_log_prob(self, key, n: int):
        return _weighted_draws(self, key, n, 1.0)

    def sample(self, key, n: int):
        return self.sample_and_log_prob(key, n)[0]

    def log_prob(self, x):
        g, local = self._split(x)
        u = local.reshape(*local.shape[:-1], *self.local_loc.shape)
        lq = _normal_log_prob(u, self.local_loc, self.local_scale).sum(-1)
        return lq if self.global_q is None else lq + self.global_q.log_prob(g)


class AmortizedProblem:
    """A model, its data and a local site, compiled for amortized VI (built by :func:`amortized_problem`).

    Attributes
    ----------
    target : credo.ppl.Target
        The model on all the data (for draws, summaries and diagnostics).
    local, plate : str
    size : int
        :math:`N`, the plate's size.
    batch_size : int
    local_dim : int
        :math:`d_z`.
    global_dim : int
    inputs : array, shape ``(N, ...)``
        The encoder's input per data point.
    batched : tuple of str
        The data arrays split by data point (first axis of length :math:`N`).
    """

    def __init__(self, model, data, *, local: str, plate: str | None, inputs, batch_size: int,
                 batched=None):
        data = dict(data or {})
        self.target = as_target(model, data)
        require_latents(self.target.dim, "approximate", self.target.summed)
        full = self.target.source
        if local not in full.sites or full.sites[local].offset is None or \
                full.sites[local].type != "sample":
            latents = [n for n in full.names if full.sites[n].type == "sample"]
            raise ModelError(f"{local!r} is not a latent sample site of the model (latents: {latents})")
        site_plates = full.sites[local].plates
        if plate is None:
            if len(site_plates) != 1:
                raise ModelError(f"site {local!r} is inside plates {list(site_plates)}; name the "
                                 "data-point plate with plate=")
            plate = site_plates[0]
        if plate not in site_plates:
            raise ModelError(f"site {local!r} is not inside plate {plate!r} (its plates: "
                             f"{list(site_plates)})")
        self.local, self.plate, self.size = local, plate, int(full.plates[plate])
        others = [n for n in full.names if n != local and plate in full.sites[n].plates]
        if others:
            raise ModelError(f"latent sites {others} are also inside plate {plate!r}; amortized_guide "
                             "handles one local site per data point")
        n = self.size
        if batched is None:
            batched = [k for k, v in full.data.items() if np.ndim(v) >= 1 and np.shape(v)[0] == n]
        self.batched = tuple(batched)
        if not self.batched:
            raise ModelError(f"no data array has a first axis of length {n} (the size of plate "
                             f"{plate!r}); pass the per-point data in data=")
        if inputs is None:
            inputs = np.concatenate([np.asarray(full.data[k]).reshape(n, -1) for k in self.batched], 1)
        self.inputs = jnp.asarray(inputs)
        if self.inputs.shape[0] != n:
            raise ModelError(f"inputs has {self.inputs.shape[0]} rows; plate {plate!r} has {n}")
        self.batch_size = max(1, min(int(batch_size), n))
        self.data = {k: jnp.asarray(full.data[k]) for k in self.batched}
        first = {**data, **{k: np.asarray(full.data[k])[: self.batch_size] for k in self.batched}}
        self.batch_density = logdensity(_scaled(model, plate, n / self.batch_size), first)
        ushape = self.batch_density.sites[local].unconstrained_shape
        if not ushape or ushape[0] != self.batch_size:
            raise ModelError(f"site {local!r} has unconstrained shape {ushape} on a minibatch of "
                             f"{self.batch_size}; the plate {plate!r} must follow the data's length "
                             "(plate(name, len(data))) and be the site's first axis")
        self.local_dim = int(np.prod(ushape[1:], dtype=int))
        self.global_dim = self.batch_density.dim - self.batch_size * self.local_dim
        self.constraint = full.sites[local].constraint
        self.local_shape = tuple(full.sites[local].shape[1:])
        self._batch_layout = _layout(self.batch_density, local)
        self._full_layout = _layout(full, local)

    def init_guide(self, encoder, global_q=None, *, seed=0) -> AmortizedGuide:
        """A guide with ``encoder`` and ``global_q`` (default :class:`MeanField` at a random
        initial point of the model, scale 0.1)."""
        if global_q is None and self.global_dim > 0:
            init = self.target.init(as_key(seed))
            g, _ = _split_layout(self._full_layout, init)
            global_q = MeanField(g, 0.1)
        return AmortizedGuide(encoder, global_q, self.local_dim)

    def joint(self, guide: AmortizedGuide) -> AmortizedJoint:
        """The guide as one family over the model's full flat space (encoder run on every input)."""
        loc, scale = guide.local_batch(self.inputs)
        return AmortizedJoint(guide.global_q, loc, scale, self._full_layout)

    def elbo(self, guide: AmortizedGuide, key, num_particles: int = 1):
        r"""Minibatch estimate of the ELBO (reparameterized; unbiased; higher is better).

        Draws ``batch_size`` data points without replacement, runs the
        encoder on them, and weights their terms by :math:`N/|B|`.
        """
        k_idx, k_q = jax.random.split(key)
        n, b = self.size, self.batch_size
        idx = jnp.arange(n) if b == n else jax.random.choice(k_idx, n, (b,), replace=False)
        loc, scale = guide.local_batch(self.inputs[idx])
        q = AmortizedJoint(guide.global_q, loc, scale, self._batch_layout)
        flat, lq = _weighted_draws(q, k_q, num_particles, n / b)
        batch = {k: v[idx] for k, v in self.data.items()}
        log_p = jax.vmap(lambda f: self.batch_density.fn_with(f, batch))(flat)
        return jnp.mean(log_p - lq)


def _weighted_draws(q: AmortizedJoint, key, n: int, ratio: float):
    """Draws of ``q`` with :math:`\\log q_\\lambda(\\theta) + r\\sum_i \\log q(u_i \\mid x_i)`."""
    k_g, k_z = jax.random.split(key)
    eps = jax.random.normal(k_z, (n, *q.local_loc.shape), q.local_loc.dtype)
    u = q.local_loc + q.local_scale * eps
    lq = ratio * _normal_log_prob(u, q.local_loc, q.local_scale).sum(-1)
    g = None
    if q.global_q is not None:
        g, lq_g = q.global_q.sample_and_log_prob(k_g, n)
        lq = lq + lq_g
    return q._assemble(g, u.reshape(n, -1)), lq


def _layout(ld, local: str) -> tuple:
    return tuple(("local" if name == local else "global", ld.sites[name].offset,
                  ld.sites[name].offset + ld.sites[name].size) for name in ld.names)


def _split_layout(layout, flat):
    g = [flat[..., a:b] for kind, a, b in layout if kind == "global"]
    loc = [flat[..., a:b] for kind, a, b in layout if kind == "local"]
    return (jnp.concatenate(g, -1) if g else None), loc[0]


def amortized_problem(model, data=None, *, local: str, plate: str | None = None, inputs=None,
                      batch_size: int = 64, batched=None) -> AmortizedProblem:
    """Compile ``model`` for amortized VI over the data points of the plate around ``local``.

    See :func:`amortized_guide` for the parameters; this is its first half,
    exposed for custom training loops and tests.
    """
    return AmortizedProblem(model, data, local=local, plate=plate, inputs=inputs,
                            batch_size=batch_size, batched=batched)


class AmortizedApproximation(Approximation):
    r"""An :class:`~credo.vi.Approximation` whose local factors come from an encoder.

    Everything of :class:`~credo.vi.Approximation` (``sample``, ``summary``,
    ``psis_khat``, ``elbo``, ``to_arviz``) applies to the training data, with
    ``q`` the :class:`AmortizedJoint`. In addition :meth:`local` and
    :meth:`sample_local` give :math:`q(z \mid x)` for new inputs in one encoder pass.

    Attributes
    ----------
    guide : AmortizedGuide
        The trained encoder and global family.
    problem : AmortizedProblem
    """

    def __init__(self, guide: AmortizedGuide, problem: AmortizedProblem, **kwargs):
        super().__init__(problem.joint(guide), problem.target, family="amortized", **kwargs)
        self.guide, self.problem = guide, problem

    def local(self, inputs) -> tuple[np.ndarray, np.ndarray]:
        """``(loc, scale)`` of :math:`q(u \\mid x)` (unconstrained) for each row of ``inputs``.

        Parameters
        ----------
        inputs : array, shape ``(n, ...)``
            Encoder inputs, laid out like the training ``inputs``.

        Returns
        -------
        loc, scale : ndarray, shape ``(n, d_z)``
        """
        loc, scale = _local_jit(self.guide, jnp.asarray(inputs))
        return np.asarray(loc), np.asarray(scale)

    def sample_local(self, inputs, num_samples: int = 1000, seed=0) -> np.ndarray:
        """Draws of the local latent given new inputs, on the constrained scale.

        Returns
        -------
        ndarray, shape ``(num_samples, n, *site_shape)``
        """
        from credo.distributions import biject_to

        loc, scale = _local_jit(self.guide, jnp.asarray(inputs))
        eps = jax.random.normal(as_key(seed), (int(num_samples), *loc.shape), loc.dtype)
        u = (loc + scale * eps).reshape(int(num_samples), loc.shape[0], -1)
        z = biject_to(self.problem.constraint)(u.reshape(u.shape[0], u.shape[1],
                                                         *_ushape(self.problem)))
        return np.asarray(z)


def _ushape(problem: AmortizedProblem) -> tuple:
    return tuple(problem.batch_density.sites[problem.local].unconstrained_shape[1:])


@eqx.filter_jit
def _local_jit(guide, inputs):
    return guide.local_batch(inputs)


@eqx.filter_jit
def _train_chunk(guide, opt_state, key, problem, optimizer, num_particles: int, steps: int):
    params, static = eqx.partition(guide, eqx.is_inexact_array)

    def loss(p, k):
        return -problem.elbo(eqx.combine(p, static), k, num_particles)

    # ``optimizer`` comes wrapped in skip_nonfinite (see amortized_guide)
    params, opt_state, values = scan_steps(loss, params, opt_state, optimizer,
                                           jax.random.split(key, steps))
    return eqx.combine(params, static), opt_state, -values


def amortized_guide(encoder, model, data=None, *, local: str, plate: str | None = None,
                    inputs=None, global_q=None, steps: int = 5000, batch_size: int = 64,
                    learning_rate: float = 1e-2, optimizer=None, num_particles: int = 1,
                    chunk_size: int = 500, seed=0, progress: bool = True,
                    batched=None) -> AmortizedApproximation:
    r"""Fit an amortized guide to a model with a local latent per data point.

    Parameters
    ----------
    encoder : equinox module (callable)
        ``encoder(inputs[i])`` returns a vector of length :math:`2 d_z`: the
        location and the unconstrained scale (softplus) of the diagonal
        Gaussian :math:`q(u_i \mid x_i)` on site ``local``'s unconstrained
        space (:math:`d_z` = that space's size per data point).
    model : callable
        A credo model; the plate around ``local`` must have the length of the
        per-point data (``plate("obs", len(y))``).
    data : dict
        As for :func:`credo.ppl.logdensity`. Arrays whose first axis has the
        plate's size are split by data point (or name them in ``batched``).
    local : str
        The local latent site (one per data point, first axis = the plate).
    plate : str, optional
        The data-point plate, when ``local`` is inside several.
    inputs : array, shape ``(N, ...)``, optional
        Encoder inputs per data point; default: the per-point data arrays,
        flattened per point and concatenated.
    global_q : Family, optional
        Family of the global latents on their flat unconstrained space
        (default :class:`~credo.vi.MeanField`).
    steps : int
        Adam steps (rounded up to whole chunks).
    batch_size : int
        Data points per step (:math:`|B|`); the plate's terms are weighted :math:`N/|B|`.
    learning_rate : float
    optimizer : optax.GradientTransformation, optional
        Default ``optax.adam(learning_rate)``.
    num_particles : int
        Draws of :math:`q` per step.
    chunk_size : int
        Steps per compiled :func:`jax.lax.scan` (and between progress updates).
    seed : int or PRNG key
    progress : bool
    batched : list of str, optional

    Returns
    -------
    AmortizedApproximation
        ``elbo_history`` holds the per-step minibatch ELBO estimates; ``converged``
    says that the means of the last two chunks differ by less than 0.1 %.
    """
    problem = amortized_problem(model, data, local=local, plate=plate, inputs=inputs,
                                batch_size=batch_size, batched=batched)
    key = as_key(seed)
    k_init, k_fit = jax.random.split(key)
    guide = problem.init_guide(encoder, global_q, seed=k_init)
    # a minibatch with a non-finite gradient is skipped, as in ADVI; the guard changes how XLA
    # fuses the Adam step, so fits that never meet one moved by a float32 ulp (rel. <= 2e-7)
    optimizer = skip_nonfinite(optax.adam(learning_rate) if optimizer is None else optimizer)
    state = {"guide": guide, "opt_state": optimizer.init(eqx.filter(guide, eqx.is_inexact_array))}
    chunk = max(1, min(int(chunk_size), int(steps)))
    num_chunks = max(1, math.ceil(int(steps) / chunk))
    history = []

    def one_chunk(index):
        state["guide"], state["opt_state"], elbos = _train_chunk(
            state["guide"], state["opt_state"], jax.random.fold_in(k_fit, index), problem,
            optimizer, int(num_particles), chunk)
        history.append(np.asarray(elbos))
        return {"elbo": f"{np.mean(history[-1]):.4g}"}, False

    run_chunks(one_chunk, num_chunks, chunk, desc="amortized VI", unit="step", progress=progress)
    guide = state["guide"]
    means = [float(np.mean(h)) for h in history]
    # the minibatch ELBO is noisy: call it converged when the last two chunks' means agree
    converged = len(means) >= 2 and relative_change(means[-1], means[-2]) < 1e-3
    return AmortizedApproximation(guide, problem, elbo_history=np.concatenate(history),
                                  converged=bool(converged), num_steps=num_chunks * chunk)
