"""Time per epoch of ``credo.vi.vae.VAE.fit`` against a minimal hand-written JAX + optax loop.

Both train the same architecture (MLP encoder 64-128-2L and decoder L-128-64,
ReLU, continuous Bernoulli likelihood, closed-form KL, one reparameterized
draw per image) with Adam (1e-3) on the same data (the 1,258 training digits
of the 70/30 split), batch size 64, float32:

- credo: ``vae.fit(X, epochs=...)`` after a first call that compiled the
  epoch program; per round, (time of 2 + E epochs - time of 2 epochs) / E:
  the steady-state epoch. The per-call setup (input checks, optimizer
  state) is the rest of the 2-epoch call, reported as ``credo_setup_ms``;
- hand-written: a ``jax.jit`` train step on a dict of weights, called once
  per minibatch from a Python loop over a numpy permutation (the usual
  minimal training script); median epoch time per round;
- hand-written, scanned: the same step inside one jitted ``jax.lax.scan``
  per epoch (what credo does): the fastest plain-JAX version.

Rounds alternate between the two, so a machine shared with other jobs slows
both alike; the table reports the median over rounds. Writes
``bench/results/vae.json`` and prints a markdown table.

    .venv/bin/python bench/vae.py [--rounds 7] [--epochs 10]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from credo.examples.datasets import digits, train_test_split
from credo.vi.vae import VAE, continuous_bernoulli_log_prob

ROOT = Path(__file__).resolve().parents[1]
BATCH, HIDDEN, LR = 64, 128, 1e-3


def _init(key, sizes):
    params = []
    for k, (a, b) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        kw, kb = jax.random.split(k)
        bound = 1 / math.sqrt(a)
        params.append({"w": jax.random.uniform(kw, (a, b), jnp.float32, -bound, bound),
                       "b": jax.random.uniform(kb, (b,), jnp.float32, -bound, bound)})
    return params


def _mlp(params, x):
    for i, layer in enumerate(params):
        x = x @ layer["w"] + layer["b"]
        if i < len(params) - 1:
            x = jax.nn.relu(x)
    return x


def hand_written(X, latent, epochs, seed=0, scanned=False):
    """The minimal training script; returns seconds per epoch for each epoch after the first."""
    key = jax.random.PRNGKey(seed)
    k_enc, k_dec, key = jax.random.split(key, 3)
    params = {"enc": _init(k_enc, (64, HIDDEN, 2 * latent)), "dec": _init(k_dec, (latent, HIDDEN, 64))}
    opt = optax.adam(LR)
    opt_state = opt.init(params)

    def loss(p, x, k):
        out = _mlp(p["enc"], x)
        loc, scale = out[:, :latent], jax.nn.softplus(out[:, latent:])
        z = loc + scale * jax.random.normal(k, loc.shape)
        ll = jnp.sum(continuous_bernoulli_log_prob(x, _mlp(p["dec"], z)), -1)
        kl = 0.5 * jnp.sum(scale**2 + loc**2 - 1 - 2 * jnp.log(scale), -1)
        return -jnp.mean(ll - kl)

    @jax.jit
    def step(p, state, x, k):
        value, grads = jax.value_and_grad(loss)(p, x, k)
        updates, state = opt.update(grads, state, p)
        return optax.apply_updates(p, updates), state, value

    Xd = jnp.asarray(X)
    if scanned:
        nb = len(X) // BATCH

        @jax.jit
        def epoch_fn(p, state, k):
            k_perm, k_steps = jax.random.split(k)
            idx = jax.random.permutation(k_perm, len(X))[: nb * BATCH].reshape(nb, BATCH)

            def body(carry, inputs):
                p, state = carry
                p, state, value = step(p, state, Xd[inputs[0]], inputs[1])
                return (p, state), value

            (p, state), values = jax.lax.scan(body, (p, state), (idx, jax.random.split(k_steps, nb)))
            return p, state, values.mean()

        times = []
        for epoch in range(epochs + 1):
            start = time.perf_counter()
            params, opt_state, value = epoch_fn(params, opt_state, jax.random.fold_in(key, epoch))
            value.block_until_ready()
            times.append(time.perf_counter() - start)
        return times[1:]
    rng = np.random.default_rng(seed)
    times = []
    for epoch in range(epochs + 1):
        start = time.perf_counter()
        perm = rng.permutation(len(X))
        for b in range(len(X) // BATCH):
            key, sub = jax.random.split(key)
            params, opt_state, value = step(params, opt_state, Xd[perm[b * BATCH:(b + 1) * BATCH]], sub)
        value.block_until_ready()
        times.append(time.perf_counter() - start)
    return times[1:]


def credo_fit(vae, X, epochs):
    """Steady-state seconds per epoch: the slope between fits of 2 and 2 + ``epochs`` epochs
    (so the per-call setup, reported separately, is excluded), and that setup."""
    times = []
    for e in (2, 2 + epochs):
        start = time.perf_counter()
        vae.fit(X, epochs=e, batch_size=BATCH, learning_rate=LR, progress=False)
        times.append(time.perf_counter() - start)
    slope = (times[1] - times[0]) / epochs
    return slope, times[0] - 2 * slope


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=10, help="epochs per timed round")
    args = parser.parse_args()
    images, labels = digits()
    X = train_test_split(images, labels, seed=0)[0]
    rows = []
    for latent in (2, 8):
        vae = VAE(64, latent, hidden=(HIDDEN,), seed=0)
        vae.fit(X, epochs=1, batch_size=BATCH, learning_rate=LR, progress=False)  # compile
        hand_written(X, latent, 1)  # compile
        hand_written(X, latent, 1, scanned=True)
        ours, theirs, scan, setups = [], [], [], []
        for _ in range(args.rounds):
            slope, setup = credo_fit(vae, X, args.epochs)
            ours.append(slope)
            setups.append(setup)
            theirs.append(float(np.median(hand_written(X, latent, args.epochs))))
            scan.append(float(np.median(hand_written(X, latent, args.epochs, scanned=True))))
        row = {"latent": latent, "credo_ms": 1e3 * float(np.median(ours)),
               "credo_setup_ms": 1e3 * float(np.median(setups)),
               "hand_written_ms": 1e3 * float(np.median(theirs)),
               "hand_written_scan_ms": 1e3 * float(np.median(scan)),
               "credo_rounds_ms": [1e3 * t for t in ours], "hand_written_rounds_ms": [1e3 * t for t in theirs],
               "hand_written_scan_rounds_ms": [1e3 * t for t in scan]}
        row["ratio"] = row["credo_ms"] / row["hand_written_ms"]
        row["ratio_scan"] = row["credo_ms"] / row["hand_written_scan_ms"]
        rows.append(row)
    result = {"benchmark": "VAE epoch time, digits (1258 training images), batch 64, hidden 128",
              "steps_per_epoch": len(X) // BATCH, "rounds": args.rounds, "epochs_per_round": args.epochs,
              "jax": jax.__version__, "machine": platform.machine(), "platform": platform.platform(),
              "rows": rows}
    out = ROOT / "bench" / "results" / "vae.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("| latent | credo `VAE.fit` (per epoch) | hand-written, jit step per batch | ratio "
          "| hand-written, jit scan per epoch | ratio | credo setup per `fit` call |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['latent']} | {r['credo_ms']:.1f} ms | {r['hand_written_ms']:.1f} ms | {r['ratio']:.2f} "
              f"| {r['hand_written_scan_ms']:.1f} ms | {r['ratio_scan']:.2f} | {r['credo_setup_ms']:.1f} ms |")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
