"""Discrete latents summed out: credo's enumerated models against hand marginals and NumPyro + funsor.

Four models with finite discrete latent sites, simulated data (fixed seed):

- ``mixture``: Gaussian mixture, N = 1,000, K = 3, ``z[n] ~ Categorical(w)``,
  ``y[n] ~ Normal(mu[z[n]], sigma)``, ``mu`` ordered (flat on the ordered
  vectors plus a Normal(0, 5) factor);
- ``change_point``: Poisson counts, T = 200, switch ``tau ~ DiscreteUniform(0, T - 1)``,
  rates ``early``, ``late`` ~ Gamma(2, 0.5) (coal-mining style);
- ``hmm``: hidden Markov model, T = 1,000, K = 3, Gaussian emissions with ordered
  means, transition rows ~ Dirichlet(1), the state before the first step fixed
  to 0 (so the first state is drawn from row 0), written as a scan;
- ``zip``: zero-inflated Poisson regression, N = 2,000, a Bernoulli(pi) switch per
  row (1 = structural zero), ``log rate = alpha + X beta`` with 3 predictors.

Peers, each sampling its *own* model (front ends differ here, unlike ``bench/mcmc.py``):

- ``credo-enum``: ``credo.nuts`` on the model with its discrete sites written out
  (``credo.ppl.enumeration`` sums them; the HMM through ``credo.scan``);
- ``credo-hand``: ``credo.nuts`` on the same model marginalized by hand
  (``logsumexp`` in a ``ppl.factor``; the HMM's forward algorithm by ``jax.lax.scan``);
- ``numpyro``: NumPyro NUTS on the model with discrete sites, enumerated by funsor
  (``config_enumerate(model)``; NumPyro's ``initialize_model``, which its ``NUTS``
  calls, guesses ``max_plate_nesting`` from the plates, 1 here, 0 for the HMM, and
  wraps the model in ``enum(..., -max_plate_nesting - 1)``; the HMM with
  ``numpyro.contrib.control_flow.scan``). It runs through NumPyro's
  functional API (``initialize_model`` + ``numpyro.infer.hmc.hmc``'s ``init_kernel`` /
  ``sample_kernel`` scanned under ``jit(vmap(...))``), as in ``bench/mcmc.py``,
  because ``MCMC.run`` recompiles on every call.

Every peer: same chains, warmup, draws, target acceptance 0.8, max tree depth 10,
diagonal mass matrix; each library's own initialization (uniform in [-2, 2] on
the unconstrained scale). Per model and peer: compile (first run minus the
fastest hot run), hot wall time (fastest of ``--rounds`` hot runs, the peers
alternating, a new seed per round), min bulk ESS over the continuous
parameters, min-ESS/s, gradient evaluations (leapfrog steps) per draw, and the
ratios credo-enum / peer.

``--check`` first asserts, on small data, that each enumerated credo model and
its hand-marginalized twin give the same log density and gradient at the same
points. ``--long-T`` (default 10,000) times the compile of the enumerated HMM at
that length (``0`` skips it).

Writes ``bench/results/enumeration.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

jax.config.update("jax_enable_x64", True)  # a benchmark script, not the library

import credo  # noqa: E402
import credo.ppl as ppl  # noqa: E402
from credo import distributions as dist  # noqa: E402
from credo.diagnostics import ess_bulk  # noqa: E402
from credo.distributions import constraints  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
K_MIX, K_HMM, N_PRED = 3, 3, 3
MU_PRIOR_SD = 5.0


# -- data -----------------------------------------------------------------------------------
def simulate(name, size, seed=0):
    rng = np.random.default_rng(seed)
    if name == "mixture":
        w, mu, sigma = np.array([0.3, 0.5, 0.2]), np.array([-3.0, 0.0, 3.0]), 1.0
        z = rng.choice(K_MIX, size=size, p=w)
        return {"y": rng.normal(mu[z], sigma)}
    if name == "change_point":
        tau = int(0.4 * size)
        rate = np.where(np.arange(size) < tau, 3.0, 1.0)
        return {"y": rng.poisson(rate).astype(np.float64)}
    if name == "hmm":
        A = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]])
        mu, sigma = np.array([-2.0, 0.0, 2.0]), 0.7
        z, prev = np.zeros(size, int), 0
        for t in range(size):
            prev = z[t] = rng.choice(K_HMM, p=A[prev])
        return {"y": rng.normal(mu[z], sigma)}
    if name == "zip":
        X = rng.normal(size=(size, N_PRED))
        beta, alpha, pi = np.array([0.5, -0.3, 0.2]), 0.8, 0.3
        zero = rng.random(size) < pi
        y = np.where(zero, 0, rng.poisson(np.exp(alpha + X @ beta)))
        return {"X": X, "y": y.astype(np.float64)}
    raise KeyError(name)


SIZES = {"mixture": 1000, "change_point": 200, "hmm": 1000, "zip": 2000}
CHECK_SIZES = {"mixture": 25, "change_point": 15, "hmm": 12, "zip": 30}


# -- credo models ---------------------------------------------------------------------------
def _ordered_mu(K):
    mu = ppl.sample("mu", dist.ImproperUniform(constraints.ordered_vector, (), (K,)))
    ppl.factor("mu_prior", dist.Normal(0.0, MU_PRIOR_SD).log_prob(mu).sum())
    return mu


def mixture_enum(y):
    w = ppl.sample("w", dist.Dirichlet(jnp.ones(K_MIX)))
    mu = _ordered_mu(K_MIX)
    sigma = ppl.sample("sigma", dist.HalfNormal(2.0))
    with ppl.plate("N", len(y)):
        z = ppl.sample("z", dist.Categorical(w))
        ppl.sample("y", dist.Normal(mu[z], sigma), obs=y)


def mixture_hand(y):
    w = ppl.sample("w", dist.Dirichlet(jnp.ones(K_MIX)))
    mu = _ordered_mu(K_MIX)
    sigma = ppl.sample("sigma", dist.HalfNormal(2.0))
    per_point = logsumexp(jnp.log(w) + dist.Normal(mu, sigma).log_prob(jnp.asarray(y)[:, None]), axis=-1)
    ppl.factor("y", per_point.sum())


def change_point_enum(y):
    T = len(y)
    early = ppl.sample("early", dist.Gamma(2.0, 0.5))
    late = ppl.sample("late", dist.Gamma(2.0, 0.5))
    tau = ppl.sample("tau", dist.DiscreteUniform(0, T - 1))
    with ppl.plate("T", T):
        rate = jnp.where(jnp.arange(T) < tau, early, late)
        ppl.sample("y", dist.Poisson(rate), obs=y)


def change_point_hand(y):
    y = jnp.asarray(y)
    T = len(y)
    early = ppl.sample("early", dist.Gamma(2.0, 0.5))
    late = ppl.sample("late", dist.Gamma(2.0, 0.5))
    a, b = dist.Poisson(early).log_prob(y), dist.Poisson(late).log_prob(y)
    # tau = k: points t < k early, t >= k late; exclusive cumulative sums, k = 0..T-1
    before = jnp.concatenate([jnp.zeros(1), jnp.cumsum(a)[:-1]])
    after = b.sum() - jnp.concatenate([jnp.zeros(1), jnp.cumsum(b)[:-1]])
    ppl.factor("y", logsumexp(before + after) - jnp.log(T))


def _hmm_params():
    A = ppl.sample("A", dist.Dirichlet(jnp.ones((K_HMM, K_HMM))).to_event(1))
    mu = _ordered_mu(K_HMM)
    sigma = ppl.sample("sigma", dist.HalfNormal(2.0))
    return A, mu, sigma


def hmm_enum(y):
    A, mu, sigma = _hmm_params()

    def step(previous, y_t):
        z = ppl.sample("z", dist.Categorical(A[previous]))
        ppl.sample("y", dist.Normal(mu[z], sigma), obs=y_t)
        return z, None

    ppl.scan(step, 0, jnp.asarray(y), name="states")


def hmm_hand(y):
    A, mu, sigma = _hmm_params()
    log_emission = dist.Normal(mu, sigma).log_prob(jnp.asarray(y)[:, None])  # (T, K)
    log_A = jnp.log(A)

    def forward(alpha, e):
        return logsumexp(alpha[:, None] + log_A, axis=0) + e, None

    alpha, _ = jax.lax.scan(forward, log_A[0] + log_emission[0], log_emission[1:])
    ppl.factor("y", logsumexp(alpha))


def _zip_params(X):
    alpha = ppl.sample("alpha", dist.Normal(0.0, 2.0))
    beta = ppl.sample("beta", dist.Normal(0.0, 1.0).expand((N_PRED,)).to_event(1))
    pi = ppl.sample("pi", dist.Beta(1.0, 1.0))
    return pi, alpha + jnp.asarray(X) @ beta


def _zip_log_lik(y, zero, log_rate):
    """log p(y | switch): structural zero (switch 1) puts all mass on 0; else Poisson(exp(log_rate))."""
    poisson = dist.Poisson(jnp.exp(log_rate)).log_prob(y)
    return jnp.where(zero == 1, jnp.where(y == 0, 0.0, -jnp.inf), poisson)


def zip_enum(X, y):
    pi, log_rate = _zip_params(X)
    with ppl.plate("N", len(y)):
        zero = ppl.sample("zero", dist.Bernoulli(pi))
        ppl.factor("y", _zip_log_lik(jnp.asarray(y), zero, log_rate))


def zip_hand(X, y):
    y = jnp.asarray(y)
    pi, log_rate = _zip_params(X)
    poisson = dist.Poisson(jnp.exp(log_rate)).log_prob(y)
    per_row = jnp.where(y == 0, jnp.logaddexp(jnp.log(pi), jnp.log1p(-pi) + poisson),
                        jnp.log1p(-pi) + poisson)
    ppl.factor("y", per_row.sum())


CREDO = {"mixture": (mixture_enum, mixture_hand), "change_point": (change_point_enum, change_point_hand),
         "hmm": (hmm_enum, hmm_hand), "zip": (zip_enum, zip_hand)}


# -- NumPyro models (discrete sites enumerated by funsor) ------------------------------------
def numpyro_model(name):
    """(model, max_plate_nesting) for NumPyro; the data come as keyword arguments."""
    import numpyro
    import numpyro.distributions as nd
    from numpyro.contrib.control_flow import scan as np_scan
    from numpyro.distributions import constraints as nc

    def ordered_mu(K):
        mu = numpyro.sample("mu", nd.ImproperUniform(nc.ordered_vector, (), (K,)))
        numpyro.factor("mu_prior", nd.Normal(0.0, MU_PRIOR_SD).log_prob(mu).sum())
        return mu

    def mixture(y):
        w = numpyro.sample("w", nd.Dirichlet(jnp.ones(K_MIX)))
        mu = ordered_mu(K_MIX)
        sigma = numpyro.sample("sigma", nd.HalfNormal(2.0))
        with numpyro.plate("N", len(y)):
            z = numpyro.sample("z", nd.Categorical(w))
            numpyro.sample("y", nd.Normal(mu[z], sigma), obs=y)

    def change_point(y):
        T = len(y)
        early = numpyro.sample("early", nd.Gamma(2.0, 0.5))
        late = numpyro.sample("late", nd.Gamma(2.0, 0.5))
        tau = numpyro.sample("tau", nd.DiscreteUniform(0, T - 1))
        with numpyro.plate("T", T):
            rate = jnp.where(jnp.arange(T) < tau, early, late)
            numpyro.sample("y", nd.Poisson(rate), obs=y)

    def hmm(y):
        A = numpyro.sample("A", nd.Dirichlet(jnp.ones((K_HMM, K_HMM))).to_event(1))
        mu = ordered_mu(K_HMM)
        sigma = numpyro.sample("sigma", nd.HalfNormal(2.0))

        def step(previous, y_t):
            z = numpyro.sample("z", nd.Categorical(A[previous]))
            numpyro.sample("y", nd.Normal(mu[z], sigma), obs=y_t)
            return z, None

        np_scan(step, 0, jnp.asarray(y))

    def zip_(X, y):
        alpha = numpyro.sample("alpha", nd.Normal(0.0, 2.0))
        beta = numpyro.sample("beta", nd.Normal(0.0, 1.0).expand((N_PRED,)).to_event(1))
        pi = numpyro.sample("pi", nd.Beta(1.0, 1.0))
        log_rate = alpha + jnp.asarray(X) @ beta
        with numpyro.plate("N", len(y)):
            zero = numpyro.sample("zero", nd.Bernoulli(pi))
            poisson = nd.Poisson(jnp.exp(log_rate)).log_prob(y)
            numpyro.factor("y", jnp.where(zero == 1, jnp.where(y == 0, 0.0, -jnp.inf), poisson))

    return {"mixture": (mixture, 1), "change_point": (change_point, 1), "hmm": (hmm, 0),
            "zip": (zip_, 1)}[name]


def _funsor_missing():
    try:
        import funsor  # noqa: F401
        return None
    except ImportError as err:
        return f"funsor is not installed ({err}); pip install funsor (bench extra)"


# -- measurements ---------------------------------------------------------------------------
def _min_ess_of(draws: dict) -> float:
    worst = np.inf
    for v in draws.values():
        v = np.asarray(v)
        flat = v.reshape(v.shape[0], v.shape[1], -1)
        for i in range(flat.shape[2]):
            if np.ptp(flat[:, :, i]) > 0:
                worst = min(worst, float(ess_bulk(flat[:, :, i])))
    return worst


def _timed(run, *args):
    start = time.perf_counter()
    out = run(*args)
    jax.block_until_ready(out)
    return out, time.perf_counter() - start


def _prepare_credo(model, data, names):
    def prepare(args, seed):
        kw = dict(chains=args.chains, warmup=args.warmup, draws=args.draws, progress=False)
        start = time.perf_counter()
        credo.nuts(model, data, seed=seed + 1000, **kw)
        first = time.perf_counter() - start

        def hot(round_):
            start = time.perf_counter()
            post = credo.nuts(model, data, seed=seed + round_, **kw)
            wall = time.perf_counter() - start
            draws = {k: post.draws[k] for k in names}
            return dict(wall=wall, min_ess=_min_ess_of(draws),
                        steps=np.asarray(post.stats["num_integration_steps"]),
                        divergences=int(np.sum(post.divergences)))

        return first, hot

    return prepare


def _prepare_numpyro(name, data, names):
    def prepare(args, seed):
        from numpyro.contrib.funsor import config_enumerate
        from numpyro.infer.hmc import hmc
        from numpyro.infer.util import initialize_model

        # initialize_model traces the model, guesses max_plate_nesting from its plates (NumPyro
        # 0.22's NUTS has no such argument) and wraps it in enum(..., -max_plate_nesting - 1)
        model, _ = numpyro_model(name)
        model = config_enumerate(model)
        data_j = {k: jnp.asarray(v) for k, v in data.items()}

        def init(s):
            info = initialize_model(jax.random.split(jax.random.PRNGKey(s), args.chains), model,
                                    model_kwargs=data_j)
            return info

        info = init(seed)
        init_kernel, sample_kernel = hmc(potential_fn=info.potential_fn, algo="NUTS")
        postprocess = jax.jit(jax.vmap(jax.vmap(info.postprocess_fn)))

        def one_chain(key, position):
            state = init_kernel(position, num_warmup=args.warmup, target_accept_prob=0.8,
                                max_tree_depth=10, rng_key=key)

            def body(state, _):
                state = sample_kernel(state)
                return state, (state.z, state.num_steps, state.diverging)

            _, (z, steps, divergent) = jax.lax.scan(body, state, None, length=args.warmup + args.draws)
            return (jax.tree_util.tree_map(lambda a: a[args.warmup:], z), steps[args.warmup:],
                    divergent[args.warmup:])

        program = jax.jit(jax.vmap(one_chain))
        keys = lambda s: jax.random.split(jax.random.PRNGKey(s), args.chains)  # noqa: E731
        start = time.perf_counter()
        jax.block_until_ready(program(keys(seed + 1000), info.param_info.z))
        first = time.perf_counter() - start

        def hot(round_):
            position = init(seed + round_).param_info.z  # a new init per round, like credo's
            (z, steps, divergent), wall = _timed(program, keys(seed + round_), position)
            values = postprocess(z)
            return dict(wall=wall, min_ess=_min_ess_of({k: values[k] for k in names}),
                        steps=np.asarray(steps), divergences=int(np.sum(divergent)))

        return first, hot

    return prepare


def bench_model(name, args):
    data = simulate(name, SIZES[name], seed=args.seed)
    enum_model, hand_model = CREDO[name]
    ld = credo.logdensity(enum_model, data)
    names = tuple(ld.names)
    peers = {"credo-enum": lambda: _prepare_credo(enum_model, data, names),
             "credo-hand": lambda: _prepare_credo(hand_model, data, names),
             "numpyro": lambda: _prepare_numpyro(name, data, names)}
    prepared, rows, runs = {}, {}, {}
    for peer, build in peers.items():
        if args.peers and peer not in args.peers:
            continue
        if peer == "numpyro" and (missing := _funsor_missing()):
            print(f"skipping numpyro on {name}: {missing}", flush=True)
            rows[peer] = {"error": missing}
            continue
        try:
            prepared[peer] = build()(args, args.seed)
        except Exception as err:  # a peer failing must not hide the others
            rows[peer] = {"error": f"{type(err).__name__}: {err}"[:400]}
            print(f"{peer} on {name} failed: {rows[peer]['error']}", flush=True)
    for round_ in range(args.rounds):
        for peer, (_, hot) in prepared.items():
            runs.setdefault(peer, []).append(hot(round_))
    for peer, (first, _) in prepared.items():
        best = min(runs[peer], key=lambda r: r["wall"])
        rows[peer] = {
            "compile_s": max(0.0, first - best["wall"]), "wall_s": best["wall"], "first_run_s": first,
            "walls_s": [r["wall"] for r in runs[peer]],
            "min_ess_rounds": [r["min_ess"] for r in runs[peer]],
            "ess_per_s_median": float(np.median([r["min_ess"] / r["wall"] for r in runs[peer]])),
            "min_ess": best["min_ess"], "ess_per_s": best["min_ess"] / best["wall"],
            "grads_per_draw": float(best["steps"].mean()), "divergences": best["divergences"]}
    return {"size": SIZES[name], "parameters": list(names), "dim": int(ld.dim),
            "enumeration": str(ld.enumeration), "peers": rows}


def long_hmm_compile(T, args):
    """Compile time of the enumerated HMM at length T: the density's first jitted value-and-gradient
    (logdensity construction included) minus a hot call, and a short ``credo.nuts`` run's first call
    minus its second (same shapes, new seed)."""
    data = simulate("hmm", T, seed=args.seed)
    start = time.perf_counter()
    ld = credo.logdensity(hmm_enum, data)
    vg = jax.jit(jax.value_and_grad(ld.fn))
    x = ld.init(jax.random.PRNGKey(0))
    jax.block_until_ready(vg(x))
    first = time.perf_counter() - start
    _, hot = _timed(vg, x + 0.01)
    kw = dict(chains=args.chains, warmup=20, draws=20, progress=False)
    start = time.perf_counter()
    credo.nuts(hmm_enum, data, seed=1, **kw)
    nuts_first = time.perf_counter() - start
    start = time.perf_counter()
    credo.nuts(hmm_enum, data, seed=2, **kw)
    nuts_hot = time.perf_counter() - start
    return {"T": T, "density_first_call_s": first, "density_hot_call_s": hot,
            "density_compile_s": first - hot, "nuts_first_run_s": nuts_first, "nuts_hot_run_s": nuts_hot,
            "nuts_compile_s": nuts_first - nuts_hot,
            "nuts_settings": f"{args.chains} chains x 20 warmup + 20 draws"}


def check(args):
    """Enumerated and hand-marginalized credo models: same log density and gradient at the same points."""
    for name, (enum_model, hand_model) in CREDO.items():
        if args.models and name not in args.models:
            continue
        data = simulate(name, CHECK_SIZES[name], seed=args.seed + 7)
        ld_e, ld_h = credo.logdensity(enum_model, data), credo.logdensity(hand_model, data)
        assert ld_e.names == ld_h.names and ld_e.dim == ld_h.dim, (name, ld_e.names, ld_h.names)
        assert ld_e.enumeration is not None, name
        worst = 0.0
        for s in range(3):
            x = ld_e.init(jax.random.PRNGKey(s))
            v_e, g_e = jax.value_and_grad(ld_e.fn)(x)
            v_h, g_h = jax.value_and_grad(ld_h.fn)(x)
            np.testing.assert_allclose(v_e, v_h, rtol=1e-10, atol=1e-9, err_msg=name)
            np.testing.assert_allclose(g_e, g_h, rtol=1e-8, atol=1e-8, err_msg=name)
            worst = max(worst, abs(float(v_e - v_h)))
        print(f"check {name}: enumerated == hand-marginalized (dim {ld_e.dim}, max |diff| {worst:.1e}); "
              + str(ld_e.enumeration).replace("\n", "; "), flush=True)


def _table(results, args):
    lines = [f"NUTS, {args.chains} chains x {args.draws} draws after {args.warmup} warmup, "
             f"{args.rounds} rounds; machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
             f"jax {jax.__version__}", "",
             "| model | peer | compile s | wall s | min ESS | min ESS/s | credo-enum / peer ESS/s | "
             "credo-enum / peer, median over rounds | credo-enum / peer wall | min ESS over rounds | "
             "grads/draw | div |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for model, res in results["models"].items():
        rows = res["peers"]
        mine = rows.get("credo-enum", {})
        for peer, r in rows.items():
            label = f"{model} (n={res['size']})"
            if "error" in r:
                lines.append(f"| {label} | {peer} | error: {r['error'][:80]} | | | | | | | | | |")
                continue
            other = peer != "credo-enum" and "ess_per_s" in mine
            ratio = f"{mine['ess_per_s'] / r['ess_per_s']:.2f}" if other else ""
            ratio_med = f"{mine['ess_per_s_median'] / r['ess_per_s_median']:.2f}" if other else ""
            wall = f"{mine['wall_s'] / r['wall_s']:.2f}" if other else ""
            spread = "-".join(f"{e:.0f}" for e in (min(r["min_ess_rounds"]), max(r["min_ess_rounds"])))
            lines.append(f"| {label} | {peer} | {r['compile_s']:.1f} | {r['wall_s']:.2f} | "
                         f"{r['min_ess']:.0f} | {r['ess_per_s']:.0f} | {ratio} | {ratio_med} | {wall} | "
                         f"{spread} | {r['grads_per_draw']:.1f} | {r['divergences']} |")
    if results.get("long_hmm"):
        h = results["long_hmm"]
        lines += ["", f"Enumerated HMM at T = {h['T']}: density first jitted value-and-gradient "
                      f"{h['density_first_call_s']:.1f} s (compile {h['density_compile_s']:.1f} s, hot "
                      f"{h['density_hot_call_s'] * 1e3:.1f} ms); credo.nuts ({h['nuts_settings']}) first run "
                      f"{h['nuts_first_run_s']:.1f} s, hot {h['nuts_hot_run_s']:.1f} s, "
                      f"compile {h['nuts_compile_s']:.1f} s"]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None, help=f"of {list(CREDO)}")
    parser.add_argument("--peers", nargs="*", default=None, help="of credo-enum credo-hand numpyro")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3, help="hot runs per peer, alternating")
    parser.add_argument("--long-T", type=int, default=10_000, help="HMM length for the compile check; 0 skips")
    parser.add_argument("--check", action="store_true", help="only assert enumerated == hand-marginalized")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "enumeration.json"))
    args = parser.parse_args(argv)
    if args.check:
        check(args)
        return
    check(args)  # a benchmark of a wrong model is worthless
    results = {"models": {}}
    for name in CREDO:
        if args.models and name not in args.models:
            continue
        results["models"][name] = bench_model(name, args)
        print(name, json.dumps({p: {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
                                for p, r in results["models"][name]["peers"].items()}), flush=True)
    if args.long_T:
        results["long_hmm"] = long_hmm_compile(args.long_T, args)
        print("long_hmm", json.dumps(results["long_hmm"]), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"settings": vars(args), "jax": jax.__version__,
                                          "machine": platform.machine(), **results}, indent=1))
    print(_table(results, args))


if __name__ == "__main__":
    main()
