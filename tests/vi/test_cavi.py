"""CAVI against closed forms: exact conjugate posteriors and evidences, Bishop's update
equations transcribed in numpy here, recovery of mixture components, the exact ELBO against
a Monte Carlo estimate with scipy densities, and typed errors for non-conjugate models."""

import numpy as np
import jax.numpy as jnp
import pytest
from scipy import special, stats

import credo
from credo import distributions as dist
from credo.errors import ModelError
from credo.ppl.examples import flu_prevalence
from credo.vi.cavi import CAVIApproximation, NotConjugateError, cavi

ROUND_OFF = 1e-9  # relative slack for "non-decreasing" in float64


def assert_monotone(history):
    history = np.asarray(history)
    drops = np.diff(history)
    assert np.all(drops >= -ROUND_OFF * np.abs(history[1:])), drops.min()


# ----------------------------------------------------------------------------- single blocks
def test_beta_binomial_is_the_exact_posterior_and_the_elbo_the_evidence(capsys):
    q = cavi(flu_prevalence, {"n": 100, "y": 12}, progress=False)
    assert capsys.readouterr().err == ""
    cavi(None, init=q, max_iters=2, tol=0.0, progress=True)  # continues without recompiling
    bar = capsys.readouterr().err
    assert "CAVI" in bar and "elbo=-4.61512" in bar
    a, b = (float(v) for v in q.states["theta"])
    assert (a, b) == pytest.approx((13.0, 89.0), rel=1e-12)
    assert isinstance(q.factors["theta"], dist.Beta)
    # with q = posterior the ELBO is log p(y): Beta(1,1)-Binomial gives 1 / (n + 1)
    assert q.elbo_history[-1] == pytest.approx(-np.log(101.0), rel=1e-10)
    assert_monotone(q.elbo_history)
    assert q.converged


def _poisson(y):
    lam = credo.sample("lam", dist.Gamma(2.0, 0.5))
    with credo.plate("data", len(y)):
        credo.sample("y", dist.Poisson(lam), obs=y)


def _normal_known(y):
    mu = credo.sample("mu", dist.Normal(1.0, 2.0))
    with credo.plate("data", len(y)):
        credo.sample("y", dist.Normal(mu, 0.5), obs=y)


def _dirichlet_categorical(y):
    p = credo.sample("p", dist.Dirichlet(jnp.array([1.0, 2.0, 0.5])))
    with credo.plate("data", len(y)):
        credo.sample("y", dist.Categorical(p), obs=y)


def _beta_bernoulli(y):
    p = credo.sample("p", dist.Beta(2.0, 3.0))
    with credo.plate("data", len(y)):
        credo.sample("y", dist.Bernoulli(p), obs=y)


def _gamma_poisson_exact(y):
    a, b = 2.0 + y.sum(), 0.5 + len(y)
    evidence = (2.0 * np.log(0.5) - special.gammaln(2.0) + special.gammaln(a) - a * np.log(b)
                - special.gammaln(y + 1).sum())
    return (a, b), evidence


def _normal_known_exact(y):
    prec = 2.0 ** -2 + len(y) / 0.5 ** 2
    mean = (1.0 / 4.0 + y.sum() / 0.25) / prec
    cov = 4.0 + 0.25 * np.eye(len(y))
    evidence = stats.multivariate_normal(np.ones(len(y)), cov + 4.0 * (np.ones((len(y),) * 2) - 1)
                                         ).logpdf(y)
    return (mean, prec ** -0.5), evidence


def _dirichlet_categorical_exact(y):
    alpha = np.array([1.0, 2.0, 0.5])
    post = alpha + np.bincount(y, minlength=3)
    evidence = (special.gammaln(alpha.sum()) - special.gammaln(post.sum())
                + np.sum(special.gammaln(post) - special.gammaln(alpha)))
    return (post,), evidence


def _beta_bernoulli_exact(y):
    a, b = 2.0 + y.sum(), 3.0 + len(y) - y.sum()
    return (a, b), special.betaln(a, b) - special.betaln(2.0, 3.0)


RNG = np.random.default_rng(7)
PAIRS = [
    ("Gamma-Poisson", _poisson, RNG.poisson(3.0, 20), "lam", dist.Gamma, _gamma_poisson_exact),
    ("Normal-Normal", _normal_known, RNG.normal(0.3, 0.5, 15), "mu", dist.Normal,
     _normal_known_exact),
    ("Dirichlet-Categorical", _dirichlet_categorical, RNG.integers(0, 3, 30), "p",
     dist.Dirichlet, _dirichlet_categorical_exact),
    ("Beta-Bernoulli", _beta_bernoulli, RNG.integers(0, 2, 25), "p", dist.Beta,
     _beta_bernoulli_exact),
]


@pytest.mark.parametrize("name, model, y, site, family, exact", PAIRS, ids=[p[0] for p in PAIRS])
def test_conjugate_pairs_give_the_exact_posterior_and_evidence(name, model, y, site, family, exact):
    q = cavi(model, {"y": y}, progress=False)
    params, evidence = exact(y)
    assert isinstance(q.factors[site], family)
    for got, want in zip(q.states[site], params):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10)
    assert q.elbo_history[-1] == pytest.approx(evidence, rel=1e-10)
    assert_monotone(q.elbo_history)


# ----------------------------------------------------------------------------- Bishop sec. 10.1.3
def _normal_gamma(y, mu0=0.0, lambda0=0.5, a0=2.0, b0=1.0):
    tau = credo.sample("tau", dist.Gamma(a0, b0))
    mu = credo.sample("mu", dist.Normal(mu0, 1.0 / jnp.sqrt(lambda0 * tau)))
    with credo.plate("data", len(y)):
        credo.sample("y", dist.Normal(mu, 1.0 / jnp.sqrt(tau)), obs=y)


def _bishop_10_1_3_sweep(y, state, mu0=0.0, lambda0=0.5, a0=2.0, b0=1.0):
    """Bishop (2006) eqs. 10.26-10.30 in the site order of the model: tau, then mu."""
    (a, b), (m, s) = state["tau"], state["mu"]
    n, e_mu, e_mu2 = len(y), m, s ** 2 + m ** 2
    a_n = a0 + (n + 1) / 2                                                    # 10.29
    b_n = b0 + 0.5 * (np.sum(y ** 2 - 2 * y * e_mu + e_mu2)                   # 10.30
                      + lambda0 * (e_mu2 - 2 * mu0 * e_mu + mu0 ** 2))
    mu_n = (lambda0 * mu0 + n * y.mean()) / (lambda0 + n)                    # 10.26
    lambda_n = (lambda0 + n) * a_n / b_n                                      # 10.27
    return {"tau": (a_n, b_n), "mu": (mu_n, lambda_n ** -0.5)}


def test_univariate_normal_gamma_follows_bishop_10_1_3():
    y = np.random.default_rng(3).normal(1.5, 0.8, 12)
    start = cavi(_normal_gamma, {"y": y}, max_iters=1, progress=False)
    state = {k: tuple(np.asarray(v) for v in s) for k, s in start.states.items()}
    for _ in range(200):
        state = _bishop_10_1_3_sweep(y, state)
    q = cavi(None, init=start, max_iters=500, tol=1e-15, progress=False)
    for site in ("tau", "mu"):
        np.testing.assert_allclose(np.array(q.states[site]), np.array(state[site]), rtol=1e-8)
    assert_monotone(np.concatenate([start.elbo_history, q.elbo_history]))


# ----------------------------------------------------------------------------- Bishop sec. 10.3
A0, B0, C0, D0 = 1e-2, 1e-2, 1e-2, 1e-2


def _regression(X, y=None):
    alpha = credo.sample("alpha", dist.Gamma(A0, B0))
    beta = credo.sample("beta", dist.Gamma(C0, D0))
    with credo.plate("feature", X.shape[1]):
        w = credo.sample("w", dist.Normal(0.0, 1.0 / jnp.sqrt(alpha)))
    with credo.plate("data", X.shape[0]):
        credo.sample("y", dist.Normal(X @ w, 1.0 / jnp.sqrt(beta)), obs=y)


def _bishop_10_3_sweep(X, y, state):
    """Bishop (2006) eqs. 10.92-10.95 (weight precision alpha) with the noise precision beta
    Gamma-distributed too (Bishop exercise 10.26; Drugowitsch 2013), in model order."""
    n, d = X.shape
    (a, b), (c, e), (m, S) = state["alpha"], state["beta"], state["w"]
    a_n, b_n = A0 + d / 2, B0 + 0.5 * (m @ m + np.trace(S))                  # 10.94, 10.95
    r = y - X @ m
    c_n, d_n = C0 + n / 2, D0 + 0.5 * (r @ r + np.trace(X.T @ X @ S))
    S_n = np.linalg.inv(a_n / b_n * np.eye(d) + c_n / d_n * X.T @ X)           # 10.101
    m_n = c_n / d_n * S_n @ X.T @ y                                            # 10.100
    return {"alpha": (a_n, b_n), "beta": (c_n, d_n), "w": (m_n, S_n)}


@pytest.fixture(scope="module")
def regression_fit():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.normal(size=40)
    return X, y, cavi(_regression, {"X": X, "y": y}, max_iters=3, progress=False)


def test_regression_update_is_bishops_and_reaches_the_same_fixed_point(regression_fit):
    X, y, start = regression_fit
    assert isinstance(start.factors["w"], dist.MultivariateNormal)  # X couples the weights
    state = {k: tuple(np.asarray(v) for v in s) for k, s in start.states.items()}
    one = cavi(None, init=start, max_iters=1, tol=0.0, progress=False)
    expected = _bishop_10_3_sweep(X, y, state)
    for site in ("alpha", "beta", "w"):
        for got, want in zip(one.states[site], expected[site]):
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10)
    for _ in range(300):
        state = _bishop_10_3_sweep(X, y, state)
    q = cavi(None, init=start, max_iters=300, tol=1e-15, progress=False)
    for site in ("alpha", "beta", "w"):
        for got, want in zip(q.states[site], state[site]):
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-8)
    assert_monotone(np.concatenate([start.elbo_history, q.elbo_history]))


def test_factor_families_are_the_gibbs_conditionals(regression_fit):
    from credo.ppl.conjugacy import conjugate_conditionals

    _, _, q = regression_fit
    gibbs = conjugate_conditionals(None, structure=q.expected.structure)
    assert set(gibbs) == {"alpha", "beta", "w"}
    assert {s: c.family for s, c in gibbs.items()} == {s: type(f).__name__
                                                         for s, f in q.factors.items()}


# ----------------------------------------------------------------------------- Bishop sec. 10.2
K, ALPHA0, M0, BETA0, GA, GB = 5, 0.1, 0.0, 0.01, 2.0, 1.0
TRUE_MEANS, TRUE_SDS, SIZES = np.array([-6.0, 0.0, 5.0]), np.array([1.0, 0.7, 1.2]), (90, 150, 60)


def _mixture(y):
    pi = credo.sample("pi", dist.Dirichlet(jnp.full(K, ALPHA0)))
    with credo.plate("component", K):
        tau = credo.sample("tau", dist.Gamma(GA, GB))
        mu = credo.sample("mu", dist.Normal(M0, 1.0 / jnp.sqrt(BETA0 * tau)))
    with credo.plate("data", len(y)):
        z = credo.sample("z", dist.Categorical(pi))
        credo.sample("y", dist.Normal(mu[z], 1.0 / jnp.sqrt(tau[z])), obs=y)


def _mixture_sweep(y, state):
    """Bishop (2006) sec. 10.2 in one dimension (Wishart -> Gamma), with q(mu_k) q(tau_k)
    factorised as in sec. 10.1.3; order: z (eqs. 10.46-10.49, 10.64-10.66), then pi (10.58),
    tau, mu."""
    (alpha,), (a, b), (m, s), _ = state["pi"], state["tau"], state["mu"], state["z"]
    e_log_pi = special.digamma(alpha) - special.digamma(alpha.sum())
    e_tau, e_log_tau = a / b, special.digamma(a) - np.log(b)
    sq = (y[:, None] - m) ** 2 + s ** 2                                    # E[(y_n - mu_k)^2]
    log_rho = e_log_pi + 0.5 * e_log_tau - 0.5 * np.log(2 * np.pi) - 0.5 * e_tau * sq
    r = np.exp(log_rho - special.logsumexp(log_rho, axis=1, keepdims=True))
    n_k = r.sum(0)
    alpha = ALPHA0 + n_k
    a = GA + 0.5 * (1 + n_k)
    b = GB + 0.5 * BETA0 * ((m - M0) ** 2 + s ** 2) + 0.5 * np.sum(r * sq, 0)
    lam = a / b * (BETA0 + n_k)
    m = (BETA0 * M0 + r.T @ y) / (BETA0 + n_k)
    return {"pi": (alpha,), "tau": (a, b), "mu": (m, lam ** -0.5), "z": (r,)}


def _numpy_state(q):
    return {k: tuple(np.asarray(v) for v in s) for k, s in q.states.items()}


@pytest.fixture(scope="module")
def mixture_fit():
    """Three sweeps from seed 0, then the fit continued to convergence (one compiled program)."""
    rng = np.random.default_rng(5)
    y = np.concatenate([rng.normal(mu, sd, n) for mu, sd, n in zip(TRUE_MEANS, TRUE_SDS, SIZES)])
    early = cavi(_mixture, {"y": y}, max_iters=3, seed=0, progress=False)
    return y, early, cavi(None, init=early, max_iters=300, tol=1e-12, progress=False)


def test_mixture_update_is_bishops(mixture_fit):
    y, early, _ = mixture_fit
    one = cavi(None, init=early, max_iters=1, tol=0.0, progress=False)
    expected = _mixture_sweep(y, _numpy_state(early))
    for site in ("pi", "tau", "mu", "z"):
        for got, want in zip(one.states[site], expected[site]):
            # empty components' means are ~1e-27: compare them on the array's scale
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-9,
                                       atol=1e-12 * np.max(np.abs(want)))


def test_mixture_fixed_point_is_bishops(mixture_fit):
    y, early, _ = mixture_fit
    state = _numpy_state(early)
    for _ in range(200):
        state = _mixture_sweep(y, state)
    q = cavi(None, init=early, max_iters=200, tol=0.0, progress=False)
    again = _mixture_sweep(y, state)
    for site in ("pi", "tau", "mu", "z"):
        for got, want, next_ in zip(q.states[site], state[site], again[site]):
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-8, atol=1e-12)
            np.testing.assert_allclose(next_, want, rtol=1e-8, atol=1e-12)  # a fixed point


def test_mixture_recovers_the_components_and_prunes_the_rest(mixture_fit):
    y, early, q = mixture_fit
    assert_monotone(np.concatenate([early.elbo_history, q.elbo_history]))
    assert q.converged
    weights = np.asarray(q.factors["pi"].mean)
    used = np.argsort(weights)[::-1][:3]
    order = used[np.argsort(np.asarray(q.factors["mu"].loc)[used])]
    np.testing.assert_allclose(np.asarray(q.factors["mu"].loc)[order], TRUE_MEANS, atol=0.25)
    np.testing.assert_allclose(np.asarray(q.factors["tau"].mean)[order] ** -0.5, TRUE_SDS,
                               rtol=0.2)
    np.testing.assert_allclose(weights[order], np.array(SIZES) / sum(SIZES), atol=0.02)
    # Dirichlet(0.1) < 1: the two unused components are switched off
    assert np.sort(weights)[:2].sum() < 0.01
    z = q.sample(1000, seed=0)["z"]
    assert z.shape == (1000, len(y)) and set(np.unique(z)) <= set(range(K))
    # z[n] is drawn from its responsibilities: the first point belongs to the leftmost cluster
    assert np.mean(z[:, 0] == order[0]) > 0.99


def test_mixture_elbo_equals_a_monte_carlo_estimate_with_scipy_densities(mixture_fit):
    y, _, q = mixture_fit
    n = 4000
    draws = q.sample(n, seed=3)
    pi, tau, mu, z = draws["pi"], draws["tau"], draws["mu"], draws["z"]
    (alpha,), (a, b), (m, s), (r,) = (np.asarray(v) for v in q.states["pi"]), *(
        tuple(np.asarray(v) for v in q.states[k]) for k in ("tau", "mu", "z"))
    pi = np.clip(pi, 1e-300, None)
    pi = pi / pi.sum(1, keepdims=True)
    log_p = (stats.dirichlet(np.full(K, ALPHA0)).logpdf(pi.T)
             + stats.gamma(GA, scale=1 / GB).logpdf(tau).sum(1)
             + stats.norm(M0, 1 / np.sqrt(BETA0 * tau)).logpdf(mu).sum(1)
             + np.log(np.take_along_axis(pi, z, 1)).sum(1)
             + stats.norm(np.take_along_axis(mu, z, 1),
                          1 / np.sqrt(np.take_along_axis(tau, z, 1))).logpdf(y).sum(1))
    log_q = (stats.dirichlet(alpha).logpdf(pi.T) + stats.gamma(a, scale=1 / b).logpdf(tau).sum(1)
             + stats.norm(m, s).logpdf(mu).sum(1)
             + np.log(r[np.arange(len(y)), z]).sum(1))
    w = log_p - log_q
    se = w.std(ddof=1) / np.sqrt(n)
    assert abs(w.mean() - q.elbo_history[-1]) < 4 * se, (w.mean(), q.elbo_history[-1], se)
    assert se < 0.1  # not vacuous


def test_result_reuses_the_approximation_machinery(regression_fit, mixture_fit):
    X, y, q = regression_fit
    assert isinstance(q, CAVIApproximation) and isinstance(q, credo.vi.Approximation)
    table = q.summary(num_samples=1000)
    assert list(table.index) == ["alpha", "beta", "w[0]", "w[1]", "w[2]"]
    assert {"mean", "sd", "hdi_3%", "hdi_97%", "mcse_mean"} <= set(table.columns)
    assert np.isnan(table.loc["w[0]", "r_hat"])
    m, S = (np.asarray(v) for v in q.states["w"])
    mcse = np.sqrt(np.diag(S) / 1000)
    assert np.all(np.abs(table.loc[["w[0]", "w[1]", "w[2]"], "mean"].to_numpy() - m) < 5 * mcse)
    idata = q.to_arviz(num_samples=1000)
    assert idata.posterior["w"].shape == (1, 1000, 3)
    np.testing.assert_array_equal(idata.observed_data["y"], y)
    _, _, mix = mixture_fit
    assert isinstance(mix.factors["z"], dist.Categorical) and mix.supports["z"] == tuple(range(K))


# ----------------------------------------------------------------------------- errors
def _half_cauchy_scale(y):
    sigma = credo.sample("sigma", dist.HalfCauchy(1.0))
    with credo.plate("data", len(y)):
        credo.sample("y", dist.Normal(0.0, sigma), obs=y)


def _log_link(y):
    eta = credo.sample("eta", dist.Normal(0.0, 1.0))
    with credo.plate("data", len(y)):
        credo.sample("y", dist.Poisson(jnp.exp(eta)), obs=y)


@pytest.mark.parametrize("model, y, site, words", [
    (_half_cauchy_scale, np.array([0.3, -1.0]), "sigma", "HalfCauchy"),
    (_log_link, np.array([1, 4, 2]), "eta", "not linear"),
])
def test_non_conjugate_models_raise_a_typed_error_naming_the_site(model, y, site, words):
    with pytest.raises(NotConjugateError) as info:
        cavi(model, {"y": y}, progress=False)
    assert isinstance(info.value, ModelError)
    assert info.value.site == site and words in str(info.value)
