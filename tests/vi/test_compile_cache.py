"""Compiled VI programs are reused across fits of one model with new data values or seeds (issue 21)."""

import sys

import jax
import numpy as np
import pytest

import credo.ppl as ppl
from credo import distributions as dist
from credo.vi import advi, pathfinder

ADVI = sys.modules["credo.vi.advi"]          # the module (credo.vi.advi is the function)
PATHFINDER = sys.modules["credo.vi.pathfinder"]


def normal_mean(y, scale):
    """Defined here, so that no other test's fit has compiled programs for it."""
    mu = ppl.sample("mu", dist.Normal(0.0, 10.0))
    sigma = ppl.sample("sigma", dist.HalfNormal(scale))
    with ppl.plate("n", y.shape[0]):
        ppl.sample("y", dist.Normal(mu, sigma), obs=y)


def subsampled_mean(y):
    mu = ppl.sample("mu", dist.Normal(0.0, 10.0))
    with ppl.plate("n", y.shape[0], subsample_size=4) as idx:
        ppl.sample("y", dist.Normal(mu, 1.0), obs=y[idx])


Y1 = np.array([0.3, -1.2, 2.0, 0.7, 1.1, -0.4])
Y2 = np.array([1.3, 0.2, 2.5, 1.9, 0.1, 0.8])


def _compiled(fn) -> int:
    return fn._cached._cache_size()


def _leaves(approx):
    return [np.asarray(leaf) for leaf in jax.tree.leaves(approx.q)]


def _assert_identical(a, b):
    np.testing.assert_array_equal(a.elbo_history, b.elbo_history)
    for x, y in zip(_leaves(a), _leaves(b), strict=True):
        np.testing.assert_array_equal(x, y)


def _fit(y, seed):
    return advi(normal_mean, {"y": y, "scale": 2.0}, steps=200, tolerance=0, seed=seed,
                progress=False)


def test_advi_compiles_its_programs_once_per_model_structure():
    chunks, paths = _compiled(ADVI._run_chunk), _compiled(PATHFINDER._single_path)
    first = _fit(Y1, 0)
    assert _compiled(ADVI._run_chunk) == chunks + 1
    assert _compiled(PATHFINDER._single_path) == paths + 1  # the preconditioner
    second = _fit(Y2, 1)  # new data values, new seed: no new trace
    assert _compiled(ADVI._run_chunk) == chunks + 1
    assert _compiled(PATHFINDER._single_path) == paths + 1
    assert not np.array_equal(first.elbo_history, second.elbo_history)
    # another data shape, or another fixed (non-array) argument, is another program
    _fit(Y1[:4], 0)
    assert _compiled(ADVI._run_chunk) == chunks + 2
    advi(normal_mean, {"y": Y1, "scale": 3.0}, steps=200, tolerance=0, progress=False)
    assert _compiled(ADVI._run_chunk) == chunks + 3
    # the reused program gives what a fresh compilation gives
    jax.clear_caches()
    _assert_identical(second, _fit(Y2, 1))


def test_pathfinder_compiles_once_per_model_structure():
    paths = _compiled(PATHFINDER._single_path)
    pathfinder(normal_mean, {"y": Y1, "scale": 1.5}, num_paths=2, seed=0, progress=False)
    assert _compiled(PATHFINDER._single_path) == paths + 1
    second = pathfinder(normal_mean, {"y": Y2, "scale": 1.5}, num_paths=2, seed=3, progress=False)
    assert _compiled(PATHFINDER._single_path) == paths + 1
    draws = second.sample(50, seed=0)["mu"]
    jax.clear_caches()
    again = pathfinder(normal_mean, {"y": Y2, "scale": 1.5}, num_paths=2, seed=3, progress=False)
    for x, y in zip(jax.tree.leaves(second.q), jax.tree.leaves(again.q), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    np.testing.assert_array_equal(draws, again.sample(50, seed=0)["mu"])


def test_minibatch_svi_reuses_its_step_program_for_new_data_values_and_seeds():
    chunks = _compiled(ADVI._run_chunk)
    kwargs = dict(steps=100, tolerance=0, progress=False, precondition=None)
    first = advi(subsampled_mean, {"y": np.linspace(-1, 1, 12)}, seed=0, **kwargs)
    assert _compiled(ADVI._run_chunk) == chunks + 1
    second = advi(subsampled_mean, {"y": np.linspace(0, 2, 12)}, seed=1, **kwargs)
    assert _compiled(ADVI._run_chunk) == chunks + 1
    assert first.info["minibatch"] == second.info["minibatch"]
    jax.clear_caches()
    _assert_identical(second, advi(subsampled_mean, {"y": np.linspace(0, 2, 12)}, seed=1, **kwargs))
    # outside minibatch SVI (pathfinder evaluates the model as it is) a subsampling plate's
    # seed fixes its subsample, so it is static there
    paths = _compiled(PATHFINDER._single_path)
    y = np.linspace(-1, 1, 12)
    for seed in (0, 1):
        pathfinder(ppl.logdensity(subsampled_mean, {"y": y}, seed=seed), num_paths=1,
                   progress=False)
    assert _compiled(PATHFINDER._single_path) == paths + 2
