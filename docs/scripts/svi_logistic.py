"""Minibatch SVI on a 1,000,000-row Bayesian logistic regression, checked against NUTS and Laplace.

Data: ``N`` rows, ``D`` standard-normal features, ``y ~ Bernoulli(sigmoid(X beta))``
with ``beta ~ N(0, 0.5^2)`` drawn once; model ``beta ~ N(0, I)``. Fits and checks:

1. mean-field minibatch SVI (``credo.vi.advi`` through ``plate(..., subsample_size=B)``)
   on all ``N`` rows, the rows numpy arrays on the host;
2. NUTS (``credo.nuts``, 4 chains) on the full-data posterior of the first
   ``SUBSET`` rows, the issue's reference. This is a *different posterior*
   (50 times less data: sds about 7 times larger), so the SVI-vs-NUTS mean
   difference mixes the SVI error with the subset's own sampling noise;
3. hence also: the same minibatch SVI on the subset, against NUTS on the same
   subset (same posterior: in NUTS sd units), and the SVI fit on all rows
   against the Laplace approximation of the full-data posterior (Newton's
   method on all rows; at ``N = 10^6`` with 20 parameters the posterior is
   Gaussian to high accuracy, Bernstein-von Mises).

Prints a JSON report (wall times, peak RSS, differences) and writes it to
``--out``. ``--quick`` runs a small version in seconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import credo
import credo.ppl as ppl
from credo import distributions as dist
from credo.vi.advi import advi


def logistic(X, y, batch_size=None):
    """``beta ~ N(0, I)``, ``y_n ~ Bernoulli(sigmoid(x_n . beta))``; minibatches of ``batch_size`` rows."""
    beta = ppl.sample("beta", dist.Normal(0.0, 1.0).expand((X.shape[1],)).to_event(1))
    with ppl.plate("rows", X.shape[0], subsample_size=batch_size) as idx:
        ppl.sample("y", dist.Bernoulli(logits=X[idx] @ beta), obs=y[idx])


def simulate(n, d, seed=0):
    rng = np.random.default_rng(seed)
    beta = rng.normal(0.0, 0.5, d)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ beta)))).astype(np.float32)
    return X, y, beta


def svi_fit(X, y, batch_size, steps, seed=0):
    """Mean-field minibatch SVI; Adam with a step size decaying from 0.02 to 0.0002.

    In posterior units the minibatch gradient's noise has sd about
    ``sqrt(N / B)``: the batch size sets how far the iterates fluctuate, the
    decaying step size how long they take to settle. Mean-field, because with
    independent features the posterior's correlations are near 0 and the
    fluctuations of a full-rank factor's 190 off-diagonal entries would all
    add to the sds.
    """
    schedule = optax.exponential_decay(0.02, transition_steps=steps, decay_rate=0.01)
    start = time.perf_counter()
    approx = advi(logistic, {"X": X, "y": y, "batch_size": batch_size}, family="meanfield",
                  steps=steps, tolerance=0, optimizer=optax.adam(schedule), seed=seed,
                  progress=False)
    draws = approx.sample(4000, seed=1)["beta"]
    return approx, draws.mean(0), draws.std(0), time.perf_counter() - start


def laplace(X, y, iterations=25):
    """Mode and covariance of the full-data posterior by Newton's method (float64, blocks of rows)."""
    d = X.shape[1]
    beta = np.zeros(d)
    for _ in range(iterations):
        grad, hess = -beta.copy(), -np.eye(d)
        for start in range(0, X.shape[0], 200_000):
            xb = X[start:start + 200_000].astype(float)
            p = 1.0 / (1.0 + np.exp(-(xb @ beta)))
            grad += xb.T @ (y[start:start + 200_000] - p)
            hess -= (xb * (p * (1 - p))[:, None]).T @ xb
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return beta, np.linalg.inv(-hess)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--subset", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="a small run in seconds")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.subset, args.steps, args.features, args.batch = 20_000, 2_000, 3000, 5, 1000
    report = {"rows": args.rows, "features": args.features, "subset": args.subset,
              "batch_size": args.batch, "steps": args.steps}

    X, y, truth = simulate(args.rows, args.features)
    report["data_mb"] = (X.nbytes + y.nbytes) / 2**20

    approx, svi_mean, svi_sd, report["svi_wall_s"] = svi_fit(X, y, args.batch, args.steps)
    report["svi_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    start = time.perf_counter()
    lap_mean, lap_cov = laplace(X, y)
    lap_sd = np.sqrt(np.diag(lap_cov))
    report["laplace_wall_s"] = time.perf_counter() - start

    Xs, ys = jnp.asarray(X[:args.subset]), jnp.asarray(y[:args.subset])
    start = time.perf_counter()
    posterior = credo.nuts(logistic, {"X": Xs, "y": ys}, chains=4, warmup=1000, draws=1000,
                           seed=0, progress=False)
    report["nuts_subset_wall_s"] = time.perf_counter() - start
    nuts = posterior["beta"].reshape(-1, args.features)
    nuts_mean, nuts_sd = nuts.mean(0), nuts.std(0)
    report["nuts_max_rhat"] = float(posterior.summary()["r_hat"].max())

    _, sub_mean, sub_sd, report["svi_subset_wall_s"] = svi_fit(
        X[:args.subset], y[:args.subset], args.batch, args.steps)
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    report.update({
        # the figure: SVI on all rows vs NUTS on the subset (different posteriors)
        "max_abs_diff_svi_full_vs_nuts_subset": float(np.max(np.abs(svi_mean - nuts_mean))),
        "nuts_subset_sd_range": [float(nuts_sd.min()), float(nuts_sd.max())],
        # same posterior: minibatch SVI on the subset vs NUTS on the subset
        "max_abs_diff_svi_subset_vs_nuts_subset": float(np.max(np.abs(sub_mean - nuts_mean))),
        "max_diff_in_nuts_sd_svi_subset": float(np.max(np.abs(sub_mean - nuts_mean) / nuts_sd)),
        "sd_ratio_svi_subset_over_nuts": [float(np.min(sub_sd / nuts_sd)),
                                          float(np.max(sub_sd / nuts_sd))],
        # same posterior: SVI on all rows vs the Laplace approximation on all rows
        "max_abs_diff_svi_full_vs_laplace": float(np.max(np.abs(svi_mean - lap_mean))),
        "max_diff_in_laplace_sd_svi_full": float(np.max(np.abs(svi_mean - lap_mean) / lap_sd)),
        "sd_ratio_svi_full_over_laplace": [float(np.min(svi_sd / lap_sd)),
                                           float(np.max(svi_sd / lap_sd))],
        "laplace_sd_range": [float(lap_sd.min()), float(lap_sd.max())],
        "max_abs_diff_svi_full_vs_truth": float(np.max(np.abs(svi_mean - truth))),
    })
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    jax.config.update("jax_enable_x64", True)  # a script: NUTS and Laplace in double precision
    main()
