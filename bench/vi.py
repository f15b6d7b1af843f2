"""ADVI side by side: credo against NumPyro SVI on the posteriordb regressions.

Peers, per model (kidiq, earnings, mesquite, sblrc, nes1972):

- ``credo meanfield`` / ``credo fullrank``: :func:`credo.vi.advi` as shipped,
  i.e. preconditioned by a single-path Pathfinder run (its time included);
- ``credo meanfield (plain)`` / ``credo fullrank (plain)``: ``precondition=None``,
  the like-for-like setting: N(init, 0.1^2) around a Uniform(-2, 2) point in
  unconstrained space, exactly NumPyro's AutoNormal / AutoMultivariateNormal
  start (``init_to_uniform``, ``init_scale=0.1``);
- ``numpyro AutoNormal`` / ``numpyro AutoMultivariateNormal``: ``numpyro.infer.SVI``
  with ``Trace_ELBO``, the models written below in NumPyro (same densities:
  checked against credo's log density at random points before timing).

Same optimiser for all: Adam, learning rate ``--lr`` (0.01), one particle,
compiled chunks of 100 steps (credo's ``lax.scan`` chunks; NumPyro's
``svi.update`` in a jitted ``lax.scan`` of 100 steps). Each library uses its
default gradient estimator (credo: pathwise for mean-field,
sticking-the-landing for full-rank; NumPyro: pathwise).

After every chunk the parameters a run would return if stopped there (credo:
the chunk's mean iterate, which is what ``advi`` returns; NumPyro: the current
parameters) are recorded, outside the timed region. Their ELBO is evaluated
afterwards with one common estimator (credo's log density, 4000 draws, a fixed
key). ``time to ELBO`` is the wall time of the first chunk whose ELBO is within
``--tol`` (0.5) nats of the best final ELBO over all peers. ``compile`` is the
first (cold) run's total minus the median hot total. Hot runs are repeated
``--rounds`` times, the peers alternating, and medians are reported.

Writes ``bench/results/vi.json`` and prints a markdown table.
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

jax.config.update("jax_enable_x64", True)  # a benchmark script, not the library

import credo.ppl as ppl  # noqa: E402
from credo.examples import load_posteriordb  # noqa: E402
from credo.vi.advi import advi  # noqa: E402
from credo.vi.families import FullRank, MeanField  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("kidiq-kidscore_momiq", "earnings-logearn_height", "mesquite-logmesquite",
          "sblrc-blr", "nes1972-nes")
CHUNK = 100
EVAL_DRAWS = 4000


# -- the models in NumPyro: regressions y ~ Normal(design @ beta, sigma) ------------------------
def _design(name, data):
    """Design matrix and response of posteriordb regression ``name`` (as in credo.examples)."""
    d = {k: np.asarray(v, dtype=float) for k, v in data.items() if np.ndim(v) >= 1}
    if name == "kidiq-kidscore_momiq":
        return np.column_stack([np.ones_like(d["mom_iq"]), d["mom_iq"]]), d["kid_score"]
    if name == "earnings-logearn_height":
        return np.column_stack([np.ones_like(d["height"]), d["height"]]), np.log(d["earn"])
    if name == "mesquite-logmesquite":
        logs = [np.log(d[k]) for k in ("diam1", "diam2", "canopy_height", "total_height",
                                       "density")]
        return np.column_stack([np.ones_like(d["weight"])] + logs + [d["group"]]), np.log(d["weight"])
    if name == "nes1972-nes":
        ages = [(d["age_discrete"] == g).astype(float) for g in (2, 3, 4)]
        cols = ([np.ones_like(d["partyid7"]), d["real_ideo"], d["race_adj"]] + ages
                + [d["educ1"], d["gender"], d["income"]])
        return np.column_stack(cols), d["partyid7"]
    if name == "sblrc-blr":
        return d["X"], d["y"]
    raise KeyError(name)


def numpyro_model(name):
    """The NumPyro program of regression ``name``: ``model(design, y)``."""
    import numpyro
    import numpyro.distributions as nd
    from numpyro.distributions import constraints

    def priors(d):
        if name == "sblrc-blr":
            return nd.Normal(0.0, 10.0).expand((d,)).to_event(1), nd.HalfNormal(10.0)
        flat = nd.ImproperUniform(constraints.real, (), (d,))
        if name == "kidiq-kidscore_momiq":
            return flat, nd.HalfCauchy(2.5)
        return flat, nd.ImproperUniform(constraints.positive, (), ())

    def model(design, y):
        beta_prior, sigma_prior = priors(design.shape[1])
        beta = numpyro.sample("beta", beta_prior)
        sigma = numpyro.sample("sigma", sigma_prior)
        with numpyro.plate("data", design.shape[0]):
            numpyro.sample("y", nd.Normal(design @ beta, sigma), obs=y)

    return model


def _check_same_density(ld, model, args, key):
    """credo's and NumPyro's log joints agree (same unconstrained parameterisation)."""
    from numpyro.infer.util import potential_energy

    for x in jax.random.uniform(key, (5, ld.dim), minval=-1.0, maxval=1.0):
        params = {"beta": x[:-1], "sigma": x[-1]}
        theirs = -potential_energy(model, args, {}, params)
        np.testing.assert_allclose(ld.fn(x), theirs, rtol=1e-9, atol=1e-9)


# -- runners: each returns (total wall time, [(seconds since start, q on credo's flat space)]) ----
def credo_runner(ld, family, precondition, steps, lr):
    import optax

    optimizer = optax.adam(lr)  # one object: hot runs reuse the compiled chunks

    def run(seed):
        trace, start, untimed = [], time.perf_counter(), [0.0]

        def record(num_steps, q):
            now = time.perf_counter()
            trace.append((now - start - untimed[0], jax.block_until_ready(q)))
            untimed[0] += time.perf_counter() - now

        advi(ld, family=family, steps=steps, optimizer=optimizer, precondition=precondition,
             tolerance=0, chunk_size=CHUNK, progress=False, seed=seed, callback=record)
        # the recorded families are converted afterwards (Preconditioned -> plain)
        return (time.perf_counter() - start - untimed[0],
                [(t, q.x_family() if hasattr(q, "x_family") else q) for t, q in trace])

    return run


def numpyro_runner(name, guide_kind, design, y, steps, lr):
    import numpyro.optim
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoMultivariateNormal, AutoNormal

    model = numpyro_model(name)
    guide = (AutoNormal if guide_kind == "AutoNormal" else AutoMultivariateNormal)(model)
    svi = SVI(model, guide, numpyro.optim.Adam(lr), Trace_ELBO(num_particles=1))
    args = (jnp.asarray(design), jnp.asarray(y))

    @jax.jit
    def chunk(state):
        return jax.lax.scan(lambda s, _: (svi.update(s, *args)[0], None), state, None,
                            length=CHUNK)[0]

    init = jax.jit(lambda key: svi.init(key, *args))
    to_q = jax.jit(lambda state: _as_credo_family(guide, guide_kind, svi.get_params(state)))

    def run(seed):
        trace, start, untimed = [], time.perf_counter(), 0.0
        state = init(jax.random.PRNGKey(seed))
        for _ in range(steps // CHUNK):
            state = jax.block_until_ready(chunk(state))
            now = time.perf_counter()
            trace.append((now - start - untimed, state))
            untimed += time.perf_counter() - now
        return time.perf_counter() - start - untimed, [(t, to_q(s)) for t, s in trace]

    return run


def _as_credo_family(guide, kind, params):
    """NumPyro's fitted guide as a credo family on credo's flat space ``[beta..., log sigma]``."""
    if kind == "AutoNormal":
        loc = jnp.concatenate([params["beta_auto_loc"], params["sigma_auto_loc"][None]])
        scale = jnp.concatenate([params["beta_auto_scale"], params["sigma_auto_scale"][None]])
        return MeanField(loc, scale)
    # AutoMultivariateNormal's latent vector is ravelled in its own site order: permute it
    dim = params["auto_loc"].shape[0]
    unpacked = guide._unpack_latent(jnp.arange(dim, dtype=float))
    order = jnp.concatenate([jnp.ravel(unpacked["beta"]), jnp.ravel(unpacked["sigma"])]).astype(int)
    return FullRank(params["auto_loc"][order], params["auto_scale_tril"][order][:, order])


def _elbo_fn(ld):
    @jax.jit
    def elbo(loc, scale_tril, key):
        q = FullRank(loc, scale_tril)
        x, log_q = q.sample_and_log_prob(key, EVAL_DRAWS)
        return jnp.mean(jax.vmap(ld.fn)(x) - log_q)

    def evaluate(q):
        tril = q.scale_tril if isinstance(q, FullRank) else jnp.diag(q.scale)
        return float(elbo(q.loc, tril, jax.random.PRNGKey(12345)))

    return evaluate


def bench_model(name, args):
    model, data = load_posteriordb(name)
    ld = ppl.logdensity(model, data)
    design, y = _design(name, data)
    _check_same_density(ld, numpyro_model(name), (jnp.asarray(design), jnp.asarray(y)),
                        jax.random.PRNGKey(0))
    peers = {
        "credo meanfield": credo_runner(ld, "meanfield", "pathfinder", args.steps, args.lr),
        "credo meanfield (plain)": credo_runner(ld, "meanfield", None, args.steps, args.lr),
        "numpyro AutoNormal": numpyro_runner(name, "AutoNormal", design, y, args.steps, args.lr),
        "credo fullrank": credo_runner(ld, "fullrank", "pathfinder", args.steps, args.lr),
        "credo fullrank (plain)": credo_runner(ld, "fullrank", None, args.steps, args.lr),
        "numpyro AutoMultivariateNormal": numpyro_runner(name, "AutoMultivariateNormal", design, y,
                                                         args.steps, args.lr),
    }
    evaluate = _elbo_fn(ld)
    cold = {peer: run(0)[0] for peer, run in peers.items()}
    hot = {peer: [] for peer in peers}
    for round_ in range(args.rounds):  # peers alternate, so machine load hits all alike
        for peer, run in peers.items():
            hot[peer].append(run(1 + round_))
    out = {}
    for peer in peers:
        rounds = []
        for total, trace in hot[peer]:
            rounds.append({"total_s": total, "times": [t for t, _ in trace],
                           "elbos": [evaluate(q) for _, q in trace]})
        out[peer] = {"cold_total_s": cold[peer], "rounds": rounds}
    for v in out.values():
        v["final_elbo"] = float(np.median([r["elbos"][-1] for r in v["rounds"]]))
    best = {family: max(v["final_elbo"] for peer, v in out.items() if _family(peer) == family)
            for family in ("meanfield", "fullrank")}
    for peer, v in out.items():
        v["target_elbo"] = best[_family(peer)] - args.tol
        reach = []
        for r in v["rounds"]:
            hits = [t for t, e in zip(r["times"], r["elbos"]) if e >= v["target_elbo"]]
            reach.append(hits[0] if hits else float("inf"))  # not reached within --steps
        v["time_to_elbo_s"] = float(np.median(reach))
        v["hot_total_s"] = float(np.median([r["total_s"] for r in v["rounds"]]))
        v["compile_s"] = v["cold_total_s"] - v["hot_total_s"]
    return {"dim": ld.dim, "best_final_elbo": best, "peers": out}


def _family(peer):
    return "meanfield" if ("meanfield" in peer or "AutoNormal" in peer) else "fullrank"


def _seconds(v):
    t = v["time_to_elbo_s"]
    return f"{t:.3f}" if np.isfinite(t) else f"not in {v['hot_total_s']:.2f}"


def _ratio(numpyro, credo):
    a, b = numpyro["time_to_elbo_s"], credo["time_to_elbo_s"]
    if not np.isfinite(b):
        return "-"
    if not np.isfinite(a):  # NumPyro never got there: its whole run is a lower bound
        return f">{numpyro['hot_total_s'] / b:.1f}x"
    return f"{a / b:.2f}x"


def _table(results, args):
    lines = [f"Time to an ELBO within {args.tol} nats of the best final ELBO (Adam, lr {args.lr}, "
             f"1 particle, chunks of {CHUNK} steps; median of {args.rounds} hot runs; compile "
             "separate).", "",
             "| model | dim | family | credo (s) | credo plain (s) | NumPyro (s) | speed-up "
             "credo / plain vs NumPyro | final ELBO credo / plain / NumPyro | compile credo / "
             "plain / NumPyro (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        for family, peer in (("meanfield", "numpyro AutoNormal"),
                             ("fullrank", "numpyro AutoMultivariateNormal")):
            c, p, n = (r["peers"][k] for k in (f"credo {family}", f"credo {family} (plain)", peer))
            lines.append(
                f"| {name.split('-')[0]} | {r['dim']} | {family} | {_seconds(c)} | "
                f"{_seconds(p)} | {_seconds(n)} | {_ratio(n, c)} / {_ratio(n, p)} | "
                f"{c['final_elbo']:.2f} / {p['final_elbo']:.2f} / {n['final_elbo']:.2f} | "
                f"{c['compile_s']:.1f} / {p['compile_s']:.1f} / {n['compile_s']:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--tol", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "vi.json"))
    args = parser.parse_args(argv)
    meta = {"machine": platform.platform(), "processor": platform.processor(),
            "jax": jax.__version__, "steps": args.steps, "lr": args.lr, "tol": args.tol,
            "rounds": args.rounds, "chunk": CHUNK, "eval_draws": EVAL_DRAWS}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.models:  # written after every model, so a long run keeps what it measured
        print(f"{name} ...", flush=True)
        results[name] = bench_model(name, args)
        table = _table(results, args)
        out.write_text(json.dumps({"meta": meta, "results": results, "table": table}, indent=1))
    print(table)


if __name__ == "__main__":
    main()
