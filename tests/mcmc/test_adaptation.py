"""Stan's warmup pieces: dual averaging, Welford, windows, initial step size, full warmup."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from credo.mcmc import hmc
from credo.mcmc.adaptation import (
    WarmupStage,
    dual_averaging,
    find_reasonable_step_size,
    restart_step_size,
    warmup_schedule,
    warmup_stages,
    welford,
    window_adaptation,
    windowed_welford,
)
from tests.mcmc.samplers import (
    gaussian,
    gaussian_params,
)


# -- dual averaging ------------------------------------------------------------------------
def _stan_learn_stepsize(accepts, step_size, delta=0.8, t0=10.0, gamma=0.05, kappa=0.75):
    """Stan's ``stepsize_adaptation::learn_stepsize``, transcribed."""
    mu, counter, s_bar, x_bar = np.log(10 * step_size), 0, 0.0, 0.0
    out = []
    for a in accepts:
        counter += 1
        a = min(a, 1.0)
        eta = 1.0 / (counter + t0)
        s_bar = (1.0 - eta) * s_bar + eta * (delta - a)
        x = mu - s_bar * np.sqrt(counter) / gamma
        x_eta = counter ** (-kappa)
        x_bar = (1.0 - x_eta) * x_bar + x_eta * x
        out.append((x, x_bar))
    return out


def test_dual_averaging_matches_stan_recursion():
    init, update = dual_averaging(0.8)
    accepts = np.random.default_rng(0).uniform(0.3, 1.2, size=30)
    state = init(0.5)
    np.testing.assert_allclose(state.mu, np.log(5.0))
    for a, (x, x_bar) in zip(accepts, _stan_learn_stepsize(accepts, 0.5)):
        state = update(state, a)
        np.testing.assert_allclose([state.log_step_size, state.log_step_size_avg], [x, x_bar],
                                   rtol=1e-12)
    assert int(state.step) == 30
    assert np.isfinite(float(update(state, jnp.nan).log_step_size))  # NaN counts as 0


def test_dual_averaging_reaches_target_on_a_toy_acceptance_curve():
    # acceptance falls with the step size; the target 0.8 is reached at eps = log(1/0.8)
    init, update = dual_averaging(0.8)

    def step(state, _):
        return update(state, jnp.exp(-jnp.exp(state.log_step_size))), None

    state, _ = jax.lax.scan(step, init(jnp.asarray(3.0)), None, length=2000)
    np.testing.assert_allclose(np.exp(float(state.log_step_size_avg)), np.log(1 / 0.8), rtol=0.02)


# -- Welford -------------------------------------------------------------------------------
@pytest.mark.parametrize("dense", [False, True])
def test_welford_matches_numpy(dense):
    x = np.random.default_rng(1).normal(size=(37, 3)) @ np.array([[1, 0.5, 0], [0, 2, 0.3],
                                                                    [0, 0, 0.2]])
    init, update, covariance = welford(dense)
    state = init(3)
    for row in x:
        state = update(state, row)
    expected = np.cov(x.T) if dense else x.var(0, ddof=1)
    np.testing.assert_allclose(state.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(covariance(state, regularize=False), expected, rtol=1e-10)
    n = 37
    shrunk = n / (n + 5) * expected + 1e-3 * 5 / (n + 5) * (np.eye(3) if dense else 1.0)
    np.testing.assert_allclose(covariance(state), shrunk, rtol=1e-10)
    assert int(state.count) == n


# -- windows -------------------------------------------------------------------------------
def _windows(schedule):
    """Lengths of the slow windows and the iterations where they end."""
    slow = schedule[schedule["is_slow_window"]]
    return np.bincount(slow["window_index"])[1:].tolist(), np.nonzero(
        schedule["is_slow_window"] & schedule["is_window_end"])[0].tolist()


def test_stan_schedule_for_1000_iterations():
    s = warmup_schedule(1000)
    assert len(s) == 1000
    assert not s["is_slow_window"][:75].any() and not s["is_slow_window"][950:].any()
    assert s["is_slow_window"][75:950].all()
    lengths, ends = _windows(s)
    assert lengths == [25, 50, 100, 200, 500]
    assert ends == [99, 149, 249, 449, 949]
    assert s["window_index"][0] == 0 and s["window_index"][-1] == 6
    assert s["is_window_end"][74] and s["is_window_end"][999]


@pytest.mark.parametrize("num_warmup, lengths, first", [
    (100, [75], 15),        # Stan's rule for short warmups: 15% / 75% / 10%
    (149, [113], 22),
    (20, [15], 3),
    (150, [25], 75),        # exactly 75 + 25 + 50
    (200, [25, 50], 75),
    (260, [25, 110], 75),   # the last window absorbs what would not fit a doubling
    (500, [25, 50, 100, 200], 75),
])
def test_stan_schedule_short_and_odd_warmups(num_warmup, lengths, first):
    s = warmup_schedule(num_warmup)
    assert _windows(s)[0] == lengths
    assert np.argmax(s["is_slow_window"]) == first
    assert not s["is_slow_window"][-1]


def test_very_short_warmup_has_no_slow_window():
    s = warmup_schedule(10)
    assert not s["is_slow_window"].any() and s["is_window_end"][-1]
    assert len(warmup_schedule(0)) == 0
    stages = warmup_stages(1000)
    assert stages.is_window_end.sum() == 5 and stages.is_last[-1] and stages.is_last.sum() == 1


# -- initial step size ---------------------------------------------------------------------
def test_find_reasonable_step_size_doubles_or_halves_until_crossing():
    logdensity = lambda x: -0.5 * jnp.sum(x ** 2)  # noqa: E731
    state = hmc.init(jnp.full(10, 0.5), logdensity)
    search = jax.jit(find_reasonable_step_size, static_argnums=(2,))
    up = float(search(jax.random.PRNGKey(0), state, logdensity, jnp.ones(10), 1e-3))
    down = float(search(jax.random.PRNGKey(0), state, logdensity, jnp.ones(10), 64.0))
    for eps, start in ((up, 1e-3), (down, 64.0)):
        ratio = np.log2(eps / start)
        assert ratio == round(ratio)  # scaled by powers of two
        assert 0.1 < eps < 4.0  # around where one step's acceptance crosses 0.8
    assert float(search(jax.random.PRNGKey(0), state, logdensity, jnp.ones(10), 0.0)) == 0.0
    # a smaller scale needs a smaller step
    tight = float(search(jax.random.PRNGKey(0), state, logdensity, jnp.full(10, 0.01), 1.0))
    assert tight > up


# -- window adaptation ---------------------------------------------------------------------
def test_window_update_sets_mass_matrix_and_restarts():
    init, update, final = window_adaptation(dense=False, target_accept=0.8)
    state = init(2, jnp.zeros(()).dtype, 0.5)
    np.testing.assert_allclose(state.inverse_mass_matrix, [1.0, 1.0])
    draws = np.random.default_rng(2).normal(size=(30, 2)) * [0.5, 2.0]
    slow = WarmupStage(jnp.asarray(True), jnp.asarray(False), jnp.asarray(False))
    for x in draws[:-1]:
        state = update(state, slow, x, 0.6)
    assert int(state.welford.count) == 29
    end = WarmupStage(jnp.asarray(True), jnp.asarray(True), jnp.asarray(False))
    state = update(state, end, draws[-1], 0.6)
    n, var = 30, draws.var(0, ddof=1)
    np.testing.assert_allclose(state.inverse_mass_matrix, n / (n + 5) * var + 5e-3 / (n + 5))
    assert int(state.welford.count) == 0
    # the step-size search restarts dual averaging (the caller's part, after each window)
    state = restart_step_size(state, 0.25)
    assert int(state.dual_averaging.step) == 0
    np.testing.assert_allclose(state.dual_averaging.mu, np.log(10 * 0.25))
    fast_last = WarmupStage(jnp.asarray(False), jnp.asarray(False), jnp.asarray(True))
    state = update(state, fast_last, draws[0], 0.9)
    np.testing.assert_allclose(state.step_size, np.exp(float(state.dual_averaging.log_step_size_avg)))
    step_size, imm = final(state)
    assert step_size is state.step_size and imm is state.inverse_mass_matrix


def test_windowed_welford_estimates_and_restarts_per_window():
    init, slow_update, slow_final = windowed_welford(dense=True)
    draws = np.random.default_rng(3).normal(size=(40, 2)) * [1.0, 3.0]
    state = init(2)
    for i, x in enumerate(draws):
        state = slow_update(state, x, i % 2 == 0)  # only even draws are in the window
    assert int(state.count) == 20
    covariance, restarted = slow_final(state, True)
    n = 20
    np.testing.assert_allclose(covariance, n / (n + 5) * np.cov(draws[::2].T)
                               + 5e-3 / (n + 5) * np.eye(2), rtol=1e-6)
    assert int(restarted.count) == 0 and not np.any(np.asarray(restarted.m2))
    _, kept = slow_final(state, False)
    assert int(kept.count) == 20


SCALES = np.geomspace(0.3, 3.0, 10)


def test_windowed_warmup_adapts_mass_matrix_and_step_size():
    """Stan's warmup on 4 chains through the runner (the one warmup driver), then its draws."""
    from credo.mcmc import NUTS, sample
    from credo.ppl import as_target

    params = gaussian_params(np.diag(SCALES ** 2))
    post = sample(as_target(gaussian(params), dim=10), NUTS(), chains=4, warmup=1000, draws=1000,
                  seed=1, progress=False)
    assert post.step_size.shape == (4,) and post.inverse_mass_matrix.shape == (4, 10)
    assert post.warmup_stats["acceptance_rate"].shape == (4, 1000)
    # the last slow window (iterations 450..949) estimates the variances
    np.testing.assert_allclose(post.inverse_mass_matrix, np.broadcast_to(SCALES ** 2, (4, 10)),
                               rtol=0.25)
    # dual averaging runs uninterrupted through that window: the acceptance
    # statistic averages to the target
    accept = post.warmup_stats["acceptance_rate"][:, 650:950].mean()
    assert abs(accept - 0.8) < 0.05, accept
    # sampling with exp(log_step_size_avg), like Stan, accepts a bit more than the target
    assert 0.75 < float(post.stats["acceptance_rate"].mean()) < 0.97
    assert float(post.stats["num_integration_steps"].mean()) < 16  # well conditioned now
    assert not post.divergences.any()
