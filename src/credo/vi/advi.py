r"""Automatic differentiation variational inference (ADVI).

ADVI (Kucukelbir et al. 2017) maps every latent variable to
:math:`\mathbb{R}^d` (the model's flat unconstrained space, Jacobians
included in the density), chooses a family :math:`q_\theta` there, and
maximises the ELBO

.. math::

    \mathcal L(\theta) = E_{q_\theta}[\log p(x, y)] - E_{q_\theta}[\log q_\theta(x)]
    \le \log p(y)

(**higher is better**) by stochastic gradient ascent with Monte Carlo
gradients (:mod:`credo.vi.objectives`) and an optax optimiser (Adam by
default). Maximising the ELBO minimises :math:`\mathrm{KL}(q \,\|\, p)`, the
*reverse* KL, which is mode seeking: a unimodal :math:`q` settles on one
mode of a multimodal posterior and tends to understate variances.

The optimisation runs compiled in chunks of ``chunk_size`` steps
(:func:`jax.lax.scan`); between chunks the progress bar shows the smoothed
ELBO (the mean estimate over the last few chunks), and the run stops when its
relative change over that window falls below ``tolerance``, or after ``steps``.
The returned parameters are the average of the iterates of the last few
chunks (Polyak-Ruppert averaging), which removes most of the step-to-step
jitter of the stochastic optimiser.

The compiled chunk (and Pathfinder's compiled path) take the model's array
data as arguments (:class:`credo.ppl.LogJoint`), so they are compiled
once per model structure (the model, its non-array arguments, the shapes and
dtypes of its array data), family and static settings: a later fit of the
same model with new data values of the same shapes, or another seed, reuses
them.

By default the family is *preconditioned* by a quick single-path Pathfinder
run (see ``precondition`` in :func:`advi`): the same family and optimum, but
parameterised in posterior units, so that Adam's fixed step size suits every
coordinate. Plain ADVI (``precondition=None``) needs standardised
parameters to reach comparable accuracy.

References
----------
Kucukelbir, A., Tran, D., Ranganath, R., Gelman, A., & Blei, D. M. (2017).
Automatic differentiation variational inference. *JMLR* 18(14).

Kingma, D. P., & Ba, J. (2015). Adam: a method for stochastic optimization. *ICLR*.

Huang, C.-W., Tan, S., Lacoste, A., & Courville, A. (2018). Improving
explorability in variational inference with annealed variational objectives.
*NeurIPS*.

Polyak, B. T., & Juditsky, A. B. (1992). Acceleration of stochastic
approximation by averaging. *SIAM J. Control Optim.* 30(4).
"""

from __future__ import annotations

import functools
import math
import warnings
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from credo.errors import ArgumentError, ModelError
from credo.random import as_key

from . import _checks
from .svi import prepare_target
from .approximation import Approximation
from .families import Family, FullRank, LowRank, MeanField, inverse_softplus, raw_tril
from .flows import Flow
from .objectives import elbo_reparam, elbo_reparam_entropy, iwae_bound
from .optimize import relative_change, run_chunks, scan_steps, skip_nonfinite

__all__ = ["advi", "fit", "initial_family", "Preconditioned", "FAMILIES", "DEFAULT_LEARNING_RATES",
           "DEFAULT_ESTIMATORS"]

FAMILIES = ("meanfield", "fullrank", "lowrank", "flow")

#: Adam step sizes per family.
DEFAULT_LEARNING_RATES = {"meanfield": 0.01, "fullrank": 0.01, "lowrank": 0.01, "flow": 0.003}

_ESTIMATORS = ("stl", "reparam", "entropy", "iwae")

#: Gradient estimator per family: sticking-the-landing where the family can match the
#: posterior (its variance then vanishes), the plain pathwise gradient for restricted
#: families (where STL's score term adds noise: Roeder et al. 2017, Sec. 5).
DEFAULT_ESTIMATORS = {"meanfield": "reparam", "fullrank": "stl", "lowrank": "reparam",
                      "flow": "stl"}


def initial_family(family: str, dim: int, loc, key, *, init_scale: float = 0.1,
                   rank: int | None = None, flow_depth: int = 4, flow_hidden: int = 32):
    """The starting point of the optimisation: ``N(loc, init_scale^2 I)`` in the chosen family.

    ``lowrank`` starts its factor at ``init_scale / 10`` times a standard normal
    matrix (a zero factor is a stationary point of the ELBO); ``rank``
    defaults to ``min(dim, max(1, ceil(sqrt(dim))))``. Flows start at the
    identity map around the same Gaussian.
    """
    _checks.choice("family", family, FAMILIES)
    loc = jnp.asarray(loc)
    if family == "meanfield":
        return MeanField(loc, init_scale)
    if family == "fullrank":
        return FullRank(loc, init_scale)
    if family == "lowrank":
        rank = rank if rank is not None else min(dim, max(1, math.ceil(math.sqrt(dim))))
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 1 <= rank <= dim:
            raise ArgumentError("rank", f"must be an integer in [1, {dim}] (the dimension), got {rank!r}")
        factor = 0.1 * init_scale * jax.random.normal(key, (dim, rank), loc.dtype)
        return LowRank(loc, factor, init_scale)
    if family == "flow":
        return Flow.realnvp(dim, key, depth=flow_depth, hidden=flow_hidden, loc=loc,
                            scale_tril=init_scale)
    raise AssertionError(family)  # pragma: no cover - checked above


def _has_entropy(q) -> bool:
    """Whether the family ``q`` has a closed-form entropy (overrides :meth:`Family.entropy`)."""
    if isinstance(q, Preconditioned):
        q = q.inner
    entropy = getattr(type(q), "entropy", None)
    return entropy is not None and entropy is not Family.entropy


@functools.lru_cache(maxsize=64)
def _objective(estimator: str, num_particles: int):
    """The ELBO estimator (cached: an equal object lets compiled chunks be reused)."""
    if estimator == "stl":
        return partial(elbo_reparam, num_particles=num_particles, stick_the_landing=True)
    if estimator == "reparam":
        return partial(elbo_reparam, num_particles=num_particles)
    if estimator == "entropy":
        return partial(elbo_reparam_entropy, num_particles=num_particles)
    if estimator == "iwae":
        return partial(iwae_bound, num_samples=num_particles)
    raise AssertionError(estimator)  # pragma: no cover - checked by fit


@eqx.filter_jit
def _run_chunk(params, static, opt_state, key, betas, batches, *, log_p, objective, optimizer):
    """``len(betas)`` optimisation steps on the tempered targets ``beta * log_p``.

    ``batches`` is None, or a pytree of arrays with leading dimension
    ``len(betas)``: the minibatch of each step, passed as ``log_p(x, batch)``.
    Returns the new state, the (tempered) ELBO estimates and the mean iterate.
    """

    def loss(p, inputs):
        key, beta, batch = inputs

        def target(x):
            return beta * (log_p(x) if batch is None else log_p(x, batch))

        return -objective(eqx.combine(p, static), target, key)

    params, opt_state, values, mean = scan_steps(
        loss, params, opt_state, optimizer, (jax.random.split(key, betas.shape[0]), betas, batches),
        average=True)
    return params, opt_state, -values, mean


@functools.lru_cache(maxsize=64)
def _adam(learning_rate: float):
    """``optax.adam(learning_rate)`` (cached, like :func:`_objective`)."""
    return optax.adam(learning_rate)


@jax.jit
def _tree_mean(trees):
    return jax.tree.map(lambda *xs: sum(xs) / len(xs), *trees)


def annealing_schedule(step, anneal_steps: int, anneal_start: float = 0.05):
    """Inverse temperature at ``step``: linear from ``anneal_start`` to 1 over ``anneal_steps``."""
    step = np.asarray(step, dtype=float)
    if anneal_steps <= 0:
        return np.ones_like(step)
    return np.minimum(1.0, anneal_start + (1.0 - anneal_start) * step / anneal_steps)


def _dtype(params):
    leaves = jax.tree.leaves(params)
    return leaves[0].dtype if leaves else float


def _chunk_mean(chunks) -> float:
    """Mean of the finite ELBO estimates of ``chunks`` (the smoothed ELBO)."""
    elbos = np.concatenate(chunks)
    finite = elbos[np.isfinite(elbos)]
    return float(np.mean(finite)) if finite.size else -math.inf


def fit(q, log_p, *, optimizer, steps: int, seed=0, num_particles: int = 1,
        estimator: str = "stl", tolerance: float = 1e-4, chunk_size: int = 100,
        window: int = 5, anneal_steps: int = 0, anneal_start: float = 0.05,
        progress: bool = True, batches=None, callback=None):
    r"""Maximise the ELBO of family ``q`` for the log density ``log_p`` with an optax optimiser.

    The engine behind :func:`advi`, usable with any family (an equinox
    module with ``sample``/``log_prob``) and any optax ``GradientTransformation``.

    Parameters
    ----------
    q : Family
        The starting point; its inexact array leaves are optimised.
    log_p : callable
        ``(dim,) -> scalar``, or ``(dim,), batch -> scalar`` with ``batches``.
    optimizer : optax.GradientTransformation
        Wrapped in :func:`optax.apply_if_finite`, so a step with a
        non-finite gradient is skipped.
    steps : int
        Upper bound, rounded up to whole chunks.
    seed : int or PRNG key
    num_particles : int
    estimator : {"stl", "reparam", "entropy", "iwae"}
        :func:`~credo.vi.objectives.elbo_reparam` with sticking-the-landing
        gradients (default) or plain,
        :func:`~credo.vi.objectives.elbo_reparam_entropy`, or
        :func:`~credo.vi.objectives.iwae_bound` with ``K = num_particles``
        (importance-weighted VI: a more mass-covering fit; the history then
        holds the bound, not the ELBO).
    tolerance : float
        The smoothed ELBO :math:`\bar L_k` is the mean of the estimates of the
        last ``window`` chunks; the run stops when
        :math:`|\bar L_k - \bar L_{k-w}| / |\bar L_k| <` ``tolerance``, i.e. when
        it changed by less than that (relative) over the last ``window``
        chunks. Comparing windows rather than single chunks detects slow
        drifts that chunk-to-chunk noise would hide. 0 runs all ``steps``.
    chunk_size : int
    anneal_steps : int
        Length of an annealing phase (0: none). The first ``anneal_steps``
        steps maximise the tempered objective
        :math:`E_q[\beta_t\log p(x)] + H[q]` with :math:`\beta_t` rising
        linearly from ``anneal_start`` to 1: at small :math:`\beta` the target
        :math:`p^\beta` is flat, so :math:`q` spreads over all modes before they
        sharpen, which keeps a flexible family (a flow) from collapsing onto
        one mode (Huang et al. 2018). The ELBO history holds the tempered
        objective during this phase; convergence is tested only after it.
    anneal_start : float
        :math:`\beta_0`.
    window : int
        Chunks per smoothing window. The result is also the mean of the
        iterates of the last ``window`` chunks (at most half of the chunks
        run): Polyak-Ruppert averaging.
    progress : bool
    batches : MinibatchStream, optional
        Minibatch SVI (:mod:`credo.vi.svi`): each step's ``log_p`` gets the
        next minibatch; the rows of a chunk are gathered (on the host, while
        the previous chunk runs) and moved to the device together.
    callback : callable, optional
        ``callback(num_steps, q)`` after every chunk, with the chunk's mean
        iterate ``q`` (what the fit would return if it stopped there); a true
        return value stops the run (e.g. a time budget, or a benchmark's trace).

    Returns
    -------
    q : Family
        The averaged iterate.
    history : ndarray
        Per-step ELBO estimates.
    converged : bool
    """
    _checks.choice("estimator", estimator, _ESTIMATORS)
    if estimator == "entropy" and not _has_entropy(q):
        raise ArgumentError("estimator", f"'entropy' needs a family with a closed-form entropy; "
                                         f"{type(q).__name__} has none")
    steps = _checks.count("steps", steps)
    num_particles = _checks.count("num_particles", num_particles)
    tolerance = _checks.number("tolerance", tolerance)
    chunk_size = _checks.count("chunk_size", chunk_size)
    window = _checks.count("window", window)
    anneal_steps = _checks.count("anneal_steps", anneal_steps, minimum=0)
    if anneal_steps and not 0 < _checks.number("anneal_start", anneal_start, positive=True) <= 1:
        raise ArgumentError("anneal_start", f"must be in (0, 1], got {anneal_start!r}")
    key = as_key(seed)
    optimizer = skip_nonfinite(optimizer)
    params, static = eqx.partition(q, eqx.is_inexact_array)
    opt_state = optimizer.init(params)
    chunk = max(1, min(int(chunk_size), int(steps)))
    num_chunks = max(1, math.ceil(int(steps) / chunk))
    run = partial(_run_chunk, log_p=log_p, objective=_objective(estimator, num_particles),
                  optimizer=optimizer)
    history, means, smoothed = [], [], []
    state = {"params": params, "opt_state": opt_state, "key": key, "settled": 0,
             "converged": False, "rows": batches.chunk(0, chunk) if batches is not None else None}

    def one_chunk(index):
        state["key"], sub = jax.random.split(state["key"])
        betas = annealing_schedule(np.arange(index * chunk, (index + 1) * chunk),
                                   anneal_steps, anneal_start)
        state["params"], state["opt_state"], elbos, mean = run(
            state["params"], static, state["opt_state"], sub,
            jnp.asarray(betas, dtype=_dtype(state["params"])), state["rows"])
        if batches is not None and index + 1 < num_chunks:  # overlaps the running chunk
            state["rows"] = batches.chunk((index + 1) * chunk, chunk)
        history.append(np.asarray(elbos))
        means.append(mean)
        # chunks run entirely at the full target (after annealing): only they test convergence
        state["settled"] = state["settled"] + 1 if betas[0] >= 1 else 0
        if callback is not None and callback((index + 1) * chunk, eqx.combine(mean, static)):
            return None, True
        current = _chunk_mean(history[-window:])
        smoothed.append(current)
        if tolerance > 0 and state["settled"] >= 2 * window and \
                relative_change(current, smoothed[-1 - window]) < tolerance:
            state["converged"] = True
        return {"elbo": f"{current:.4g}"}, state["converged"]

    run_chunks(one_chunk, num_chunks, chunk, desc="SVI" if batches else "ADVI", unit="step",
               progress=progress)
    converged = state["converged"]
    average = _tree_mean(means[-min(window, max(1, len(means) // 2)):])
    return eqx.combine(average, static), np.concatenate(history), converged


def _preconditioner(target, key, init):
    """``(shift, tril, scale)`` from single-path Pathfinder: its mean, the Cholesky factor of
    its covariance and its marginal standard deviations (``None`` if Pathfinder fails)."""
    from .pathfinder import pathfinder

    try:
        pf = pathfinder(target, num_paths=1, seed=key, progress=False, init=init)
    except ModelError as err:
        warnings.warn(f"Pathfinder preconditioning failed ({err}); running ADVI unpreconditioned",
                      UserWarning, stacklevel=3)
        return None
    shift, tril, scale = _affine_from(pf.q)
    if not bool(jnp.all(jnp.isfinite(tril))):
        tril = jnp.diag(scale)
    return shift, tril, scale


@eqx.filter_jit
def _affine_from(q):
    cov = q.covariance()
    return q.mean, jnp.linalg.cholesky(0.5 * (cov + cov.T)), jnp.sqrt(jnp.diag(cov))


class Preconditioned(Family):
    r"""A family parameterised in preconditioned units, with a frozen affine preconditioner.

    ``inner`` holds the free parameters; :meth:`x_family` builds the family
    that is actually used, of the same type as ``inner``:

    * location :math:`\mu = m + C\nu` (:math:`\nu` = ``inner.loc``), with
      :math:`C` lower triangular (the Cholesky factor of a covariance estimate);
    * ``fullrank``, ``flow``: Cholesky factor (outer linear map) :math:`C L_\nu`;
    * ``lowrank``: factor :math:`C F_\nu`, diagonal multiplied elementwise by
      the marginal scales :math:`c` (still low rank plus diagonal);
    * ``meanfield``: standard deviations multiplied elementwise by :math:`c`
      (still diagonal).

    A gradient step in :math:`\nu` moves :math:`\mu` by
    :math:`C\,\Delta\nu`, i.e. the mean's gradient is preconditioned by
    :math:`CC^\top`: Newton-like steps in posterior units. ``shift``,
    ``tril`` and ``scale`` are held fixed by ``stop_gradient``.
    """

    inner: Family
    shift: jax.Array
    tril: jax.Array
    scale: jax.Array

    def x_family(self) -> Family:
        """The family on the original space."""
        shift, tril, c = (jax.lax.stop_gradient(a) for a in (self.shift, self.tril, self.scale))
        q = eqx.tree_at(lambda f: f.loc, self.inner, shift + tril @ self.inner.loc)
        if isinstance(q, FullRank):
            return FullRank(q.loc, tril @ q.scale_tril)
        if isinstance(q, Flow):
            return eqx.tree_at(lambda f: f.raw_tril, q, raw_tril(tril @ q.scale_tril, q.dim))
        if isinstance(q, MeanField):
            return eqx.tree_at(lambda f: f.raw_scale, q, inverse_softplus(c * q.scale))
        if isinstance(q, LowRank):
            return eqx.tree_at(lambda f: (f.cov_factor, f.raw_diag), q,
                               (tril @ q.cov_factor, inverse_softplus(c * q.diag_scale)))
        raise TypeError(f"cannot precondition a {type(q).__name__}")

    @property
    def dim(self) -> int:
        return self.inner.dim

    def sample(self, key, n: int):
        return self.x_family().sample(key, n)

    def sample_and_log_prob(self, key, n: int):
        return self.x_family().sample_and_log_prob(key, n)

    def log_prob(self, x):
        return self.x_family().log_prob(x)

    def entropy(self):
        return self.x_family().entropy()


#: :meth:`Preconditioned.x_family`, jitted once (a wrapper made per call would compile per call).
_x_family = eqx.filter_jit(Preconditioned.x_family)


def _require_finite(q, history) -> None:
    """Raise if the fit ended with non-finite variational parameters, or never saw a finite ELBO.

    Steps with a non-finite gradient are skipped (``optax.apply_if_finite``), so
    a log density that is NaN everywhere leaves q at its start: the ELBO
    history is what shows it.
    """
    leaves = jax.tree_util.tree_leaves(eqx.filter(q, eqx.is_array))
    history = np.asarray(history, dtype=float)
    if all(np.isfinite(np.asarray(leaf)).all() for leaf in leaves) and np.isfinite(history).any():
        return
    last = float(history[-1]) if history.size else float("nan")
    raise ModelError(f"ADVI diverged: the ELBO or the variational parameters are not finite after "
                     f"{history.size} steps (last ELBO estimate {last}). The log density or its gradient "
                     f"is not finite where q puts its mass: check the model's support and data, or lower "
                     f"learning_rate")


def advi(model, data=None, *, family: str = "meanfield", steps: int = 10000,
         learning_rate: float | None = None, num_particles: int = 1, seed=0,
         progress: bool = True, tolerance: float = 1e-4, rank: int | None = None,
         flow_depth: int = 4, flow_hidden: int = 32, estimator: str | None = None,
         precondition: str | None = "pathfinder", chunk_size: int = 100, init=None,
         init_scale: float | None = None, anneal_steps: int = 0, optimizer=None,
         dim: int | None = None, callback=None) -> Approximation:
    r"""Fit a variational approximation to a model's posterior by ADVI.

    Parameters
    ----------
    model : callable or LogDensity
        A model function (with ``data``), a compiled :class:`~credo.ppl.LogDensity`,
        or a plain log density of one flat vector (with ``dim=``; its draws are
        named ``"x"``). A model with a subsampled plate,
        ``plate(name, N, subsample_size=B)``, is fitted by minibatch SVI
        (:mod:`credo.vi.svi`): every step sees ``B`` fresh rows of the data
        arrays with ``N`` rows, its likelihood scaled by ``N / B``.
    data : dict, optional
        Array data may be numpy arrays on the host; with minibatches only
        the rows of each chunk of steps are moved to the device.
    family : {"meanfield", "fullrank", "lowrank", "flow"}
        Gaussian with diagonal, dense (Cholesky) or factor-plus-diagonal
        covariance, or a normalizing flow (:mod:`credo.vi.flows`).
    steps : int
        Maximum optimisation steps (rounded up to whole chunks).
    learning_rate : float, optional
        Adam's step size; default :data:`DEFAULT_LEARNING_RATES` (0.01 for
        Gaussians, 0.003 for flows). Ignored when ``optimizer`` is given.
    num_particles : int
        Monte Carlo draws per gradient estimate.
    seed : int or PRNG key
        The same seed gives the same result.
    progress : bool
        Show a progress bar with the smoothed ELBO.
    tolerance : float
        Relative change of the smoothed ELBO that counts as converged (see
        :func:`fit`); 0 runs all ``steps``.
    rank : int, optional
        Rank of the ``lowrank`` factor (default ``ceil(sqrt(dim))``).
    flow_depth, flow_hidden : int
        Coupling layers and hidden width of the ``flow`` family.
    estimator : {"stl", "reparam", "entropy", "iwae"}, optional
        Gradient estimator (see :func:`fit`); default :data:`DEFAULT_ESTIMATORS`.
    precondition : {"pathfinder", None}
        ``"pathfinder"`` (default): run single-path :func:`~credo.vi.pathfinder`
        first; with its mean :math:`m`, the Cholesky factor :math:`C` of its
        covariance and its marginal sds :math:`c`, optimise parameters in
        posterior units (:class:`Preconditioned`): the mean is
        :math:`m + C\nu`, the Cholesky factor (``fullrank``, ``flow``) or
        the factor (``lowrank``) is :math:`C` times the free one, diagonal
        scales are :math:`c` times the free ones. This only reparameterises
        the family (same optimum) but Adam's steps are then in posterior-scale
        units and the mean's gradient is preconditioned by :math:`CC^\top`:
        without it, coordinates whose posterior sd is much smaller than the
        learning rate jitter, and strongly correlated posteriors converge
        slowly. The free parameters start at :math:`\nu = 0` and unit scales
        times ``init_scale`` (so ``fullrank`` starts at Pathfinder's Gaussian).
        ``None``: plain ADVI from ``init``.
    chunk_size : int
        Steps per compiled chunk (and between progress updates).
    init : array, shape ``(dim,)``, optional
        Initial point in unconstrained space (default: the model's
        ``"uniform"`` initial point, Uniform(-2, 2)); Pathfinder's start when
        preconditioning.
    init_scale : float, optional
        Initial standard deviation of every coordinate: default 1 with a
        preconditioner (relative to it), else 0.1.
    anneal_steps : int
        Steps of tempering before plain ELBO maximisation (see :func:`fit`);
        helps flows find every mode of a multimodal posterior (then use
        ``precondition=None`` and a broad ``init_scale``, since a
        preconditioner sits on a single mode).
    optimizer : optax.GradientTransformation, optional
    dim : int, optional
        Dimension of a plain log-density function.
    callback : callable, optional
        ``callback(num_steps, q)`` after every chunk (see :func:`fit`); ``q``
        may be a :class:`Preconditioned` family.

    Returns
    -------
    Approximation

    Examples
    --------
    >>> from credo.ppl.examples import flu_prevalence
    >>> from credo.vi import advi
    >>> approx = advi(flu_prevalence, precondition=None, steps=2000, progress=False)
    >>> draws = approx.sample(1000)
    >>> bool(0.09 < draws["theta"].mean() < 0.16)   # posterior mean 13/102
    True
    """
    _checks.choice("family", family, FAMILIES)
    steps = _checks.count("steps", steps)
    _checks.choice("precondition", precondition, ("pathfinder", None))
    estimator = _checks.choice("estimator", estimator or DEFAULT_ESTIMATORS[family], _ESTIMATORS)
    if learning_rate is not None:
        learning_rate = _checks.number("learning_rate", learning_rate, positive=True)
    num_particles = _checks.count("num_particles", num_particles)
    tolerance = _checks.number("tolerance", tolerance)
    chunk_size = _checks.count("chunk_size", chunk_size)
    anneal_steps = _checks.count("anneal_steps", anneal_steps, minimum=0)
    flow_depth = _checks.count("flow_depth", flow_depth)
    flow_hidden = _checks.count("flow_hidden", flow_hidden)
    if init_scale is not None:
        init_scale = _checks.number("init_scale", init_scale, positive=True)
    key = as_key(seed)
    k_init, k_family, k_fit = jax.random.split(key, 3)
    target, batches, log_p_batch = prepare_target(model, data, dim=dim,
                                                  key=jax.random.fold_in(key, 1))
    if init is not None:
        init = jnp.asarray(init, dtype=float)
        if init.shape != (target.dim,):
            raise ModelError(f"init has shape {init.shape}; expected ({target.dim},)")
    affine = _preconditioner(target, k_init, init) if precondition else None
    if affine is None:
        loc = target.init(k_init) if init is None else init
        init_scale = 0.1 if init_scale is None else init_scale
    else:
        loc = jnp.zeros(target.dim)
        init_scale = 1.0 if init_scale is None else init_scale
    q0 = initial_family(family, target.dim, loc, k_family, init_scale=init_scale, rank=rank,
                        flow_depth=flow_depth, flow_hidden=flow_hidden)
    if affine is not None:
        q0 = Preconditioned(q0, *affine)
    if optimizer is None:
        optimizer = _adam(DEFAULT_LEARNING_RATES[family] if learning_rate is None else learning_rate)
    q, history, converged = fit(q0, log_p_batch or target.log_p, optimizer=optimizer,
                                steps=steps, seed=k_fit, num_particles=num_particles,
                                estimator=estimator, tolerance=tolerance, chunk_size=chunk_size,
                                anneal_steps=anneal_steps, progress=progress, batches=batches,
                                callback=callback)
    _require_finite(q, history)
    info = {"estimator": estimator, "num_particles": num_particles,
            "precondition": precondition if affine is not None else None}
    if batches is not None:
        info["minibatch"] = {"size": batches.size, "batch_size": batches.batch_size,
                             "rows": sorted(batches.rows)}
    if isinstance(q, Preconditioned):
        q = _x_family(q)
    return Approximation(q, target, family=family, elbo_history=history, converged=converged,
                         num_steps=len(history), info=info)
