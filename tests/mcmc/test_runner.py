"""The NUTS/HMC runner: correctness on closed forms, determinism, chunking, interruption, compile reuse."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import credo
from credo.mcmc import chunks, runner
from credo.ppl.logdensity import _init_candidate
from credo.ppl.examples import EIGHT_SCHOOLS_DATA, eight_schools_noncentered, flu_prevalence

from tests.mcmc.flu import BETA_13_89, FLU
from tests.mcmc.flu import within_mcse as _within_mcse


@pytest.fixture(scope="module")
def flu_nuts():
    return credo.nuts(flu_prevalence, FLU, chains=4, warmup=500, draws=1000, seed=1, progress=False)


def test_nuts_flu_matches_beta_13_89(flu_nuts):
    _within_mcse(flu_nuts, "theta", BETA_13_89.mean(), BETA_13_89.std())
    assert flu_nuts.summary().loc["theta", "r_hat"] < 1.01
    assert not flu_nuts.divergences.any()


def test_posterior_predictive_takes_the_posterior(flu_nuts):
    from scipy import stats

    replicated = credo.ppl.posterior_predictive(flu_prevalence, flu_nuts, {"n": 100, "y": None}, seed=0)["y"]
    assert replicated.shape == (4, 1000)
    # Replicated counts follow BetaBinomial(100, 13, 89). Each draw's y adds binomial noise to the
    # chain's theta, so theta's bulk ESS is a conservative effective size for the mean.
    exact = stats.betabinom(100, 13, 89)
    ess = flu_nuts.summary().loc["theta", "ess_bulk"]
    assert abs(replicated.mean() - exact.mean()) < 4 * exact.std() / np.sqrt(ess)
    assert abs(replicated.std() - exact.std()) < 0.1 * exact.std()


def test_hmc_flu_matches_beta_13_89():
    post = credo.hmc(flu_prevalence, FLU, num_steps=8, chains=4, warmup=500, draws=1000, seed=2,
                     progress=False)
    _within_mcse(post, "theta", BETA_13_89.mean(), BETA_13_89.std())
    assert post.num_grad_evals.sampling == 4 * 1000 * 8


def test_posterior_layout(flu_nuts):
    post = flu_nuts
    assert post.draws["theta"].shape == (4, 1000)
    assert post.divergences.shape == (4, 1000) and post.divergences.dtype == bool
    for name in ("step_size", "acceptance_rate", "energy", "tree_depth", "num_integration_steps", "lp"):
        assert post.stats[name].shape == (4, 1000), name
    assert post.num_grad_evals.sampling == int(post.stats["num_integration_steps"].sum())
    assert post.num_grad_evals.warmup > 0
    warm = post.warmup_stats
    assert warm["num_integration_steps"].shape == (4, 500)  # the fixture's warmup
    assert post.num_grad_evals.warmup == int(warm["num_integration_steps"].sum())
    assert np.ptp(warm["step_size"], axis=1).min() > 0  # the step size used while it adapts
    # the step size is constant after warmup, equal to the adapted one
    np.testing.assert_allclose(post.stats["step_size"], post.step_size[:, None] * np.ones((1, 1000)))
    assert post.inverse_mass_matrix.shape == (4, 1)
    summary = post.summary()
    assert list(summary.columns) == ["mean", "sd", "hdi_3%", "hdi_97%", "mcse_mean", "mcse_sd",
                                     "ess_bulk", "ess_tail", "r_hat"]
    assert post.warnings == []
    assert "NUTS" in post.report()


def test_adapted_inverse_mass_matrix_estimates_posterior_variance(flu_nuts):
    # the unconstrained draws are logit(theta); Welford's estimate over the last
    # slow window should be close to their variance
    logit = np.log(flu_nuts.draws["theta"] / (1 - flu_nuts.draws["theta"]))
    np.testing.assert_allclose(flu_nuts.inverse_mass_matrix[:, 0], logit.var(), rtol=0.35)


def test_deterministic_sites_and_to_arviz():
    post = credo.nuts(eight_schools_noncentered, EIGHT_SCHOOLS_DATA, chains=2, warmup=200,
                      draws=200, seed=0, progress=False, target_accept=0.9)
    assert set(post.draws) == {"mu", "tau", "theta_trans", "theta"}
    assert post.draws["theta"].shape == (2, 200, 8)
    np.testing.assert_allclose(post.draws["theta"],
                               post.draws["mu"][..., None] + post.draws["tau"][..., None]
                               * post.draws["theta_trans"], rtol=1e-10)
    idata = post.to_arviz()
    assert {"posterior", "sample_stats", "observed_data"} <= set(idata.groups())
    assert idata.posterior["theta"].shape == (2, 200, 8)
    assert "diverging" in idata.sample_stats and "n_steps" in idata.sample_stats
    np.testing.assert_array_equal(idata.observed_data["y"].values, EIGHT_SCHOOLS_DATA["y"])
    fig = post.plot_trace(["mu", "tau"])
    assert len(fig.axes) == 4


def _assert_runs_identical(a, b, chains=slice(None)):
    for field in ("draws", "stats", "warmup_stats"):
        x, y = getattr(a, field), getattr(b, field)
        assert set(x) == set(y), field
        for name in x:
            np.testing.assert_array_equal(x[name][chains], y[name][chains], err_msg=f"{field}[{name}]")
    np.testing.assert_array_equal(a.step_size[chains], b.step_size[chains])
    np.testing.assert_array_equal(a.inverse_mass_matrix[chains], b.inverse_mass_matrix[chains])


def test_same_seed_chain_method_and_chains_give_bit_identical_runs_for_any_chunk_size():
    # docs/mcmc.md, "Randomness and reproducibility": bit-identical, whatever the chunking
    kwargs = dict(chains=2, warmup=128, draws=64, seed=7, progress=False)
    a = credo.nuts(flu_prevalence, FLU, **kwargs)
    _assert_runs_identical(a, credo.nuts(flu_prevalence, FLU, **kwargs))
    _assert_runs_identical(a, credo.nuts(flu_prevalence, FLU, chunk_size=7, **kwargs))
    other = credo.nuts(flu_prevalence, FLU, **{**kwargs, "seed": 8})
    assert not np.allclose(other.draws["theta"], a.draws["theta"])


@pytest.mark.slow  # 8-15 s: a program compiled under another Threefry setting
def test_a_chain_depends_only_on_the_seed_and_its_index():
    # Chain c's key and start are row c of a split that does not depend on the number of
    # chains, even under JAX's older (non-partitionable) Threefry, where jax.random.split(k, n)
    # rows depend on n: on main, chains=1 and chain 0 of chains=3 got different keys there.
    kwargs = dict(warmup=64, draws=64, seed=5, progress=False)
    with jax.threefry_partitionable(False):
        one = credo.nuts(flu_prevalence, FLU, chains=1, **kwargs)
        three = credo.nuts(flu_prevalence, FLU, chains=3, chain_method="sequential", **kwargs)
    _assert_runs_identical(one, three, slice(0, 1))
    assert not np.array_equal(three.draws["theta"][1], three.draws["theta"][0])


def test_chain_methods_share_random_streams_and_agree_within_mcse():
    # Across chain methods the chains have the same starts and random numbers but XLA rounds the
    # batched arithmetic differently, so only the first iterations agree (to round-off; on
    # the eight schools 15 units of mu apart after 300 iterations) and the runs are two samples
    # of one posterior. A sequential chain runs alone: bit-identical for any number of chains.
    kwargs = dict(chains=2, warmup=200, draws=1000, seed=11, progress=False, save_warmup=True)
    vec = credo.nuts(flu_prevalence, FLU, **kwargs)
    seq = credo.nuts(flu_prevalence, FLU, chain_method="sequential", **kwargs)
    np.testing.assert_allclose(seq.warmup_draws["theta"][:, :5], vec.warmup_draws["theta"][:, :5],
                               rtol=1e-6)
    a, b = vec.summary().loc["theta"], seq.summary().loc["theta"]
    for stat in ("mean", "sd"):
        assert abs(a[stat] - b[stat]) < 4 * np.hypot(a[f"mcse_{stat}"], b[f"mcse_{stat}"]), stat
    _within_mcse(seq, "theta", BETA_13_89.mean(), BETA_13_89.std())
    one = credo.nuts(flu_prevalence, FLU, **{**kwargs, "chains": 1})
    _assert_runs_identical(one, seq, slice(0, 1))


def test_unsynchronized_chains_make_the_lockstep_draws():
    # Vectorized NUTS chains do not wait for each other's trajectories; each
    # chain still uses the random numbers and arithmetic of a plain vmap
    # (lockstep), with its own adaptation. The two programs round differently
    # in the last bit, which a U-turn or acceptance decision can amplify, so
    # the check runs in float64 on a Gaussian, where nothing is that sensitive.
    with jax.enable_x64(True):
        target = runner.as_target(lambda x: -0.5 * jnp.sum((x / jnp.arange(1.0, 4.0)) ** 2),
                                  dim=3)
        kwargs = dict(chains=4, warmup=200, draws=100, seed=3, progress=False, chunk_size=40,
                      save_warmup=True)
        fast = runner.sample(target, runner.NUTS(), **kwargs)
        slow = runner.sample(target, runner.NUTS(), lockstep=True, **kwargs)
    steps = fast.stats["num_integration_steps"]
    np.testing.assert_array_equal(steps, slow.stats["num_integration_steps"])
    assert fast.num_grad_evals == slow.num_grad_evals
    # the chains' trajectories differ in length, so waiting would have cost steps
    assert np.mean(steps.max(axis=0) > steps.min(axis=0)) > 0.5
    np.testing.assert_allclose(fast.warmup_draws["x"], slow.warmup_draws["x"], atol=1e-5)
    np.testing.assert_allclose(fast.draws["x"], slow.draws["x"], atol=1e-5)
    np.testing.assert_allclose(fast.step_size, slow.step_size, rtol=1e-6)
    np.testing.assert_allclose(fast.inverse_mass_matrix, slow.inverse_mass_matrix, rtol=1e-6)


def test_new_data_of_same_shape_does_not_recompile():
    kwargs = dict(chains=2, warmup=50, draws=50, seed=0, progress=False)
    credo.nuts(eight_schools_noncentered, EIGHT_SCHOOLS_DATA, **kwargs)
    compiled = chunks._chunk_unsynchronized_jit._cache_size()
    # the initial points (and their log density and gradient) are compiled once per structure too
    init_compiled = _init_candidate._cache_size()
    assert compiled >= 1 and init_compiled >= 1
    other = {"y": EIGHT_SCHOOLS_DATA["y"] * 0.5, "sigma": EIGHT_SCHOOLS_DATA["sigma"] + 1.0}
    post = credo.nuts(eight_schools_noncentered, other, **kwargs)
    assert chunks._chunk_unsynchronized_jit._cache_size() == compiled
    assert _init_candidate._cache_size() == init_compiled
    assert post.draws["mu"].shape == (2, 50)
    # and the new data are really used: the observed data differ
    np.testing.assert_array_equal(post.observed["y"], other["y"])


def test_runs_of_other_lengths_and_targets_share_one_program():
    assert [runner._choose_chunk_size(n, None) for n in (1, 200, 1280, 1281, 2000, 10**5)] == \
        [64, 64, 64, 128, 128, 8192]
    kwargs = dict(chains=2, seed=0, progress=False)
    a = credo.nuts(flu_prevalence, FLU, warmup=100, draws=100, **kwargs)
    compiled = chunks._chunk_unsynchronized_jit._cache_size()
    b = credo.nuts(flu_prevalence, FLU, warmup=300, draws=200, target_accept=0.99, **kwargs)
    assert chunks._chunk_unsynchronized_jit._cache_size() == compiled
    # the target is a value the compiled adaptation really reads: aiming higher, smaller steps
    assert np.all(b.step_size < 0.8 * a.step_size), (a.step_size, b.step_size)
    assert b.stats["acceptance_rate"].mean() > 0.97


def test_plain_log_density_function():
    cov = np.array([[1.0, 0.8], [0.8, 1.0]])
    prec = np.linalg.inv(cov)

    def logdensity(x):
        return -0.5 * x @ prec @ x

    post = credo.nuts(logdensity, dim=2, chains=4, warmup=500, draws=1000, seed=3, progress=False,
                      dense_mass=True)
    x = post.draws["x"]
    assert x.shape == (4, 1000, 2)
    summary = post.summary()
    for i in range(2):
        row = summary.loc[f"x[{i}]"]
        assert abs(row["mean"]) < 4 * row["mcse_mean"]
        assert abs(row["sd"] - 1.0) < 4 * row["mcse_sd"]
    assert post.inverse_mass_matrix.shape == (4, 2, 2)
    np.testing.assert_allclose(post.inverse_mass_matrix.mean(0), cov, atol=0.2)


def test_init_strategies_and_values():
    post = credo.nuts(flu_prevalence, FLU, chains=2, warmup=0, draws=1, seed=0, progress=False,
                      init={"theta": 0.3}, step_size=1e-9)
    np.testing.assert_allclose(post.draws["theta"], 0.3, rtol=1e-4)
    flat = np.array([[0.0], [1.0]])
    post = credo.nuts(flu_prevalence, FLU, chains=2, warmup=0, draws=1, seed=0, progress=False,
                      init=flat, step_size=1e-9)
    np.testing.assert_allclose(post.draws["theta"][:, 0], 1 / (1 + np.exp(-flat[:, 0])), rtol=1e-4)
    with pytest.raises(credo.ModelError):
        credo.nuts(flu_prevalence, FLU, chains=3, init=np.zeros((2, 1)), progress=False)


def test_bad_starts_and_settings_are_reported_before_sampling():
    from credo.ppl import as_target, initial_positions

    # outside (0, 1): since 7e58831 the model's Binomial refuses probs=1.5 while the dict is
    # unconstrained, before the start is evaluated; either way a ModelError naming the culprit
    with pytest.raises(credo.ModelError, match=r"not finite at the given init of chain\(s\) \[0, 1\]"
                                               r"|site 'theta'.*probs.*unit_interval"):
        credo.nuts(flu_prevalence, FLU, chains=2, init={"theta": 1.5}, progress=False)
    with pytest.raises(credo.ModelError, match=r"chain\(s\) \[1\]"):
        credo.nuts(lambda x: -jnp.log(x[0]), chains=2, init=np.array([[1.0], [-1.0]]), progress=False)
    # A plain log density finite only for x > 0: Uniform(-2, 2) starts are redrawn until finite.
    half = as_target(lambda x: jnp.where(x[0] > 0, -x[0], -jnp.inf), dim=1)
    starts = np.asarray(initial_positions(half, jax.random.PRNGKey(0), 16, "uniform"))
    assert starts.shape == (16, 1) and (starts > 0).all() and (starts < 2).all()
    nowhere = as_target(lambda x: jnp.sum(x) * jnp.nan, dim=2)
    with pytest.raises(credo.ModelError, match="no initial point"):
        initial_positions(nowhere, jax.random.PRNGKey(0), 2, "uniform")
    with pytest.raises(ValueError, match="target_accept"):
        credo.nuts(flu_prevalence, FLU, target_accept=1.5, progress=False)
    def needs_k(n, k):
        flu_prevalence(n, k)

    with pytest.raises(credo.ModelError, match=r"needs_k\(\) needs argument\(s\) \['k'\].*keys: \['n', 'kk'\]"):
        credo.nuts(needs_k, {"n": 100, "kk": 12}, progress=False)
    with pytest.raises(credo.ModelError, match=r"data keys \['kk'\] are neither arguments"):
        credo.nuts(flu_prevalence, {"n": 100, "kk": 12}, progress=False)
    with pytest.raises(credo.ModelError, match="dim= or an init array"):
        credo.nuts(lambda x: -jnp.sum(x ** 2), progress=False)


def test_seeds_empty_runs_and_models_without_latents():
    # runs of this size share the program of the interrupt test below
    run = dict(chains=2, warmup=128, draws=64, progress=False)
    plain = credo.nuts(flu_prevalence, FLU, seed=3, **run)
    numpy_int = credo.nuts(flu_prevalence, FLU, seed=np.int64(3), **run)
    np.testing.assert_array_equal(plain.draws["theta"], numpy_int.draws["theta"])
    with pytest.raises(TypeError, match="seed must be an int or a JAX PRNG key"):
        credo.nuts(flu_prevalence, FLU, seed=None, **run)
    warmup_only = credo.nuts(flu_prevalence, FLU, seed=3, **{**run, "draws": 0})
    assert warmup_only.draws["theta"].shape == (2, 0)
    with pytest.raises(ValueError, match="no draws to summarize"):
        warmup_only.summary()
    with pytest.raises(ValueError, match="no draws to plot"):
        warmup_only.plot_trace()

    def all_observed():
        credo.sample("y", credo.distributions.Normal(0.0, 1.0), obs=0.3)

    with pytest.raises(credo.ModelError, match="no latent variables to sample"):
        credo.nuts(all_observed, progress=False)


def test_interrupt_keeps_completed_draws(monkeypatch):
    calls = {"n": 0}
    real = jax.device_get

    def flaky(x):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(x)

    monkeypatch.setattr(runner.jax, "device_get", flaky)
    # default chunks of 64 iterations (the program other flu tests compile)
    post = credo.nuts(flu_prevalence, FLU, chains=2, warmup=128, draws=256, seed=0,
                      progress=False)
    assert post.interrupted
    # chunks 1-2 were warmup, chunk 3 was the first 64 draws, chunk 4 was lost in flight
    assert post.draws["theta"].shape == (2, 64)
    assert any("interrupted" in w for w in post.warnings)
    monkeypatch.setattr(runner.jax, "device_get", real)
    whole = credo.nuts(flu_prevalence, FLU, chains=2, warmup=128, draws=256, seed=0, progress=False)
    # the draws kept are the uninterrupted run's first ones, bit for bit
    np.testing.assert_array_equal(post.draws["theta"], whole.draws["theta"][:, :64])
    for name, values in whole.stats.items():
        np.testing.assert_array_equal(post.stats[name], values[:, :64])
        np.testing.assert_array_equal(post.warmup_stats[name], whole.warmup_stats[name])


def test_every_statistic_is_there_without_warmup_or_draws():
    # main left warmup_stats {} without warmup and stats with 3 of the 7 keys without draws
    kwargs = dict(chains=2, seed=0, progress=False, save_warmup=True)
    expected = {"acceptance_rate", "energy", "is_divergent", "lp", "num_integration_steps",
                "step_size", "tree_depth"}
    for warmup, draws in ((0, 8), (8, 0)):
        post = credo.nuts(flu_prevalence, FLU, warmup=warmup, draws=draws, **kwargs)
        assert set(post.stats) == set(post.warmup_stats) == expected
        for name in expected:
            assert post.stats[name].shape == (2, draws) and post.warmup_stats[name].shape == (2, warmup)
            assert post.stats[name].dtype == post.warmup_stats[name].dtype
        assert post.warmup_draws["theta"].shape == (2, warmup)
    assert post.warmup_stats["step_size"].shape == (2, 8)
    mh = credo.mh(flu_prevalence, FLU, warmup=8, draws=0, **kwargs)
    assert {"acceptance_rate", "is_accepted", "step_size"} <= set(mh.stats)
    assert mh.acceptance_rate.shape == (2,)


def test_schedule_flags_follow_stan():
    sched = chunks.build_schedule(1000, 10, 100, adapt_mass=True)
    ends = np.nonzero(sched.window_end)[0]
    np.testing.assert_array_equal(ends, [99, 149, 249, 449, 949])
    assert sched.slow[75:950].all() and not sched.slow[:75].any() and not sched.slow[950:].any()
    np.testing.assert_array_equal(np.nonzero(sched.search)[0], [0, 100, 150, 250, 450, 950])
    assert sched.last_warmup[999] and sched.last_warmup.sum() == 1
    assert sched.active.sum() == 1010 and len(sched.iteration) == 1100


def test_eight_schools_noncentered_no_divergences_at_095():
    post = credo.nuts(eight_schools_noncentered, EIGHT_SCHOOLS_DATA, chains=4, warmup=1000,
                      draws=1000, seed=0, target_accept=0.95, progress=False)
    assert int(post.divergences.sum()) == 0
    assert post.summary()["r_hat"].max() < 1.01


def test_parallel_chains_on_two_host_devices(tmp_path):
    # Only the sharded run needs two host devices (a fresh process); the vectorized run
    # it must equal is made here, where this worker may already have compiled it.
    kw = dict(chains=4, warmup=100, draws=100, seed=5, progress=False)
    script = textwrap.dedent(f"""
        import jax, numpy as np
        jax.config.update("jax_enable_x64", True)
        assert jax.device_count() == 2, jax.devices()
        import credo
        from credo.ppl.examples import flu_prevalence
        from credo.mcmc import chunks
        par = credo.nuts(flu_prevalence, {{"n": 100, "y": 12}}, chain_method="parallel", **{kw!r})
        np.save({str(tmp_path / "par.npy")!r}, par.draws["theta"])
        # a second run reuses the sharded program: no new jitted function, no new compile
        sharded = chunks._parallel_chunk(tuple(jax.devices()), chunks._chunk_unsynchronized)
        compiled = sharded._cache_size()
        credo.nuts(flu_prevalence, {{"n": 100, "y": 12}}, chain_method="parallel", **{{**{kw!r}, "seed": 6}})
        assert chunks._parallel_chunk.cache_info().currsize == 1, chunks._parallel_chunk.cache_info()
        assert sharded._cache_size() == compiled, (sharded._cache_size(), compiled)
        print("ok", par.draws["theta"].shape)
    """)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ok (4, 100)" in out.stdout
    vec = credo.nuts(flu_prevalence, {"n": 100, "y": 12}, **kw)
    np.testing.assert_allclose(np.load(tmp_path / "par.npy"), vec.draws["theta"], rtol=1e-8)


def test_progress_bar_and_warnings_but_no_print(capsys):
    """Issue 20: the runner prints nothing; the summary is report()'s, problems are warnings."""
    from credo.mcmc.posterior import SamplerWarning

    post = credo.nuts(flu_prevalence, FLU, chains=2, warmup=50, draws=50, seed=0, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "100%" in captured.err  # a tqdm bar on a terminal, plain progress lines here
    assert "theta" in post.report() and "NUTS" in post.report()
    with pytest.warns(SamplerWarning, match="too few draws"):
        credo.nuts(flu_prevalence, FLU, chains=2, warmup=20, draws=2, seed=0, progress=True)


def test_pathfinder_initialisation():
    post = credo.nuts(flu_prevalence, FLU, chains=2, warmup=100, draws=100, seed=0, progress=False,
                      init="pathfinder")
    assert post.draws["theta"].shape == (2, 100)
    assert abs(post.draws["theta"].mean() - BETA_13_89.mean()) < 0.02


def test_an_initialiser_may_be_passed_in_and_pathfinder_is_resolved_above_mcmc():
    """credo.mcmc does not import credo.vi: init="pathfinder" is credo.nuts's (credo.workflow)."""
    seen = {}

    def init(model, data, chains, key):
        seen.update(model=model, chains=chains)
        return np.full((chains, 1), -1.5)

    post = runner.nuts(flu_prevalence, FLU, chains=2, warmup=20, draws=5, seed=0, progress=False,
                       init=init)
    assert seen == {"model": flu_prevalence, "chains": 2} and post.draws["theta"].shape == (2, 5)
    with pytest.raises(credo.ArgumentError, match="credo.vi.pathfinder_init"):
        runner.nuts(flu_prevalence, FLU, progress=False, init="pathfinder")
    from credo import workflow

    assert credo.nuts is workflow.nuts and credo.hmc is workflow.hmc


def test_progress_in_a_log_file_is_a_few_plain_lines(capsys):
    """Issue 21: tqdm wrote runs of carriage returns into log files."""
    credo.nuts(flu_prevalence, FLU, chains=2, warmup=300, draws=300, seed=2, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err and 2 <= len(err.splitlines()) <= 14
    assert "divergences=" in err


@pytest.mark.parametrize("suffix", [".npz", ".nc"])
def test_posterior_save_and_load_round_trip(tmp_path, suffix):
    """Issue 21: a Posterior can be saved and read back."""
    post = credo.nuts(flu_prevalence, FLU, chains=2, warmup=100, draws=50, seed=4, progress=False)
    back = credo.load_posterior(post.save(tmp_path / f"flu{suffix}"))
    assert set(back.draws) == set(post.draws) and back.algorithm == post.algorithm
    for name in post.draws:
        np.testing.assert_array_equal(back.draws[name], post.draws[name])
    for name in post.stats:
        np.testing.assert_array_equal(back.stats[name], post.stats[name])
    np.testing.assert_array_equal(back.step_size, post.step_size)
    np.testing.assert_array_equal(back.inverse_mass_matrix, post.inverse_mass_matrix)
    assert back.num_grad_evals == post.num_grad_evals
    import pandas as pd

    pd.testing.assert_frame_equal(back.summary(), post.summary(), check_dtype=False)
    if suffix == ".npz":
        for name in post.warmup_stats:
            np.testing.assert_array_equal(back.warmup_stats[name], post.warmup_stats[name])
    with pytest.raises(credo.ArgumentError, match="path"):
        post.save(tmp_path / "flu.pkl")
    (tmp_path / "other.npz").write_bytes(b"not a zip")
    with pytest.raises(credo.ModelError, match="not a saved Posterior"):
        credo.load_posterior(tmp_path / "other.npz")
