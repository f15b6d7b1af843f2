"""Fixed-seed results of every sampler and optimiser on three small models.

Recorded once before the refactor of issue 20 (``python -m tests.golden.record``
writes ``tests/data/golden_draws.npz``); ``test_golden.py`` checks that the
same seeds still give the same numbers, bit for bit. Re-record only for an
intended change of behaviour, and say why in the commit.
"""

from __future__ import annotations

import pathlib

import jax
import numpy as np

PATH = pathlib.Path(__file__).resolve().parents[1] / "data" / "golden_draws.npz"


def _regression(x, y=None):
    import credo.distributions as dist
    from credo.ppl import plate, sample

    alpha = sample("alpha", dist.Normal(0.0, 2.0))
    beta = sample("beta", dist.Normal(0.0, 1.0).expand((x.shape[1],)).to_event(1))
    sigma = sample("sigma", dist.HalfNormal(1.0))
    with plate("n", x.shape[0]):
        sample("y", dist.Normal(alpha + x @ beta, sigma), obs=y)


def models() -> dict:
    """Name -> (model, data): a conjugate scalar, a funnel-ish hierarchy, a regression."""
    from credo.ppl.examples import EIGHT_SCHOOLS_DATA, eight_schools_noncentered, flu_prevalence

    rng = np.random.default_rng(20)
    x = rng.normal(size=(30, 3))
    y = 0.5 + x @ np.array([1.0, -0.5, 0.0]) + 0.7 * rng.normal(size=30)
    return {
        "flu": (flu_prevalence, {"n": 100, "y": 12}),
        "schools": (eight_schools_noncentered, dict(EIGHT_SCHOOLS_DATA)),
        "regression": (_regression, {"x": x, "y": y}),
    }


def _draws(posterior) -> dict:
    return {name: np.asarray(v) for name, v in posterior.draws.items()}


def _fit(approximation) -> dict:
    out = {f"param/{k}": np.asarray(v) for k, v in approximation.params.items()}
    out["elbo_history"] = np.asarray(approximation.elbo_history)
    return out


def runs() -> dict:
    """Run name -> zero-argument function returning a dict of arrays."""
    import credo

    settings = dict(chains=2, warmup=150, draws=40, seed=3, progress=False)
    out = {}
    for name, (model, data) in models().items():
        out[f"{name}/nuts"] = lambda m=model, d=data: _draws(credo.nuts(m, d, **settings))
        out[f"{name}/hmc"] = lambda m=model, d=data: _draws(credo.hmc(m, d, num_steps=8, **settings))
        out[f"{name}/mh"] = lambda m=model, d=data: _draws(credo.mh(m, d, **settings))
        out[f"{name}/gibbs"] = lambda m=model, d=data: _draws(credo.gibbs(m, d, **settings))
        for family in ("meanfield", "fullrank", "flow"):
            out[f"{name}/advi_{family}"] = lambda m=model, d=data, f=family: _fit(credo.advi(
                m, d, family=f, steps=200, seed=5, progress=False, flow_depth=2, flow_hidden=8))
        out[f"{name}/pathfinder"] = lambda m=model, d=data: _fit(credo.pathfinder(
            m, d, num_paths=2, seed=7, num_draws=50, progress=False))
    return out


def flatten(results: dict) -> dict:
    return {f"{run}::{key}": value for run, arrays in results.items() for key, value in arrays.items()}


def main() -> None:
    jax.config.update("jax_enable_x64", True)  # as the test session runs
    results = {run: fn() for run, fn in runs().items()}
    np.savez_compressed(PATH, **flatten(results))
    print(f"wrote {len(results)} runs to {PATH}")


if __name__ == "__main__":
    main()
