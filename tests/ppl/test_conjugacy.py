"""Conjugacy detection: each conjugate pair's exact conditional against a hand computation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import credo.ppl as ppl
from credo import distributions as dist
from credo.errors import ModelError
from credo.ppl.conjugacy import ModelStructure, conjugate_conditional, conjugate_conditionals
from credo.ppl.examples import flu_prevalence

RNG = np.random.default_rng(20240601)
DRAWS = 4000


def _params(cond, values):
    return {k: np.asarray(v) for k, v in cond.parameters(values).items()}


def _check_draws(cond, values, mean, sd):
    """The conditional's draws have the closed form's mean and sd (5 standard errors)."""
    keys = jax.random.split(jax.random.PRNGKey(1), DRAWS)
    draws = np.asarray(jax.jit(jax.vmap(lambda k: cond.sample(k, values)))(keys))
    assert draws.shape == (DRAWS,) + cond.shape
    mean, sd = np.asarray(mean), np.asarray(sd)
    se_mean = sd / np.sqrt(DRAWS)
    np.testing.assert_array_less(np.abs(draws.mean(0) - mean), 5 * se_mean)
    # sd of the sample sd ~ sd / sqrt(2 n) for near-normal draws; allow skew
    np.testing.assert_array_less(np.abs(draws.std(0) - sd), 8 * sd / np.sqrt(2 * DRAWS))


# ----------------------------------------------------------------------------- Beta
def test_beta_binomial_flu():
    cond = conjugate_conditional(flu_prevalence, {"n": 100, "y": 12}, "theta")
    assert (cond.kind, cond.family, cond.children) == ("Beta-Binomial", "Beta", ("y",))
    p = _params(cond, {"theta": 0.5})
    assert p == {"concentration1": 13.0, "concentration0": 89.0}
    _check_draws(cond, {"theta": 0.5}, 13 / 102, np.sqrt(13 * 89 / (102**2 * 103)))


def test_beta_bernoulli_in_plate():
    y = RNG.integers(0, 2, size=25)

    def model(y):
        theta = ppl.sample("theta", dist.Beta(2.0, 3.0))
        with ppl.plate("N", len(y)):
            ppl.sample("y", dist.Bernoulli(theta), obs=y)

    cond = conjugate_conditional(model, {"y": y}, "theta")
    assert cond.kind == "Beta-Bernoulli"
    p = _params(cond, {"theta": 0.1})
    assert p["concentration1"] == pytest.approx(2 + y.sum())
    assert p["concentration0"] == pytest.approx(3 + len(y) - y.sum())


def test_beta_geometric():
    y = RNG.geometric(0.3, size=20) - 1  # failures before the first success

    def model(y):
        p = ppl.sample("p", dist.Beta(1.5, 1.0))
        with ppl.plate("N", len(y)):
            ppl.sample("y", dist.Geometric(probs=p), obs=y)

    cond = conjugate_conditional(model, {"y": y}, "p")
    assert cond.kind == "Beta-Geometric"
    p = _params(cond, {"p": 0.5})
    assert p["concentration1"] == pytest.approx(1.5 + len(y))
    assert p["concentration0"] == pytest.approx(1.0 + y.sum())


def test_beta_per_group_with_plates_and_mask():
    # theta[j] per group; y[n] ~ Bernoulli(theta[g[n]]); masked points do not count
    g = np.array([0, 0, 1, 1, 1, 2])
    y = np.array([1, 0, 1, 1, 0, 1])
    keep = np.array([True, True, True, False, True, True])

    def model(g, y, keep):
        with ppl.plate("J", 3):
            theta = ppl.sample("theta", dist.Beta(1.0, 1.0))
        with ppl.plate("N", len(y)), ppl.mask(mask=keep):
            ppl.sample("y", dist.Bernoulli(theta[g]), obs=y)

    cond = conjugate_conditional(model, {"g": g, "y": y, "keep": keep}, "theta")
    assert cond.kind == "Beta-Bernoulli" and cond.shape == (3,)
    p = _params(cond, {"theta": jnp.full(3, 0.5)})
    np.testing.assert_allclose(p["concentration1"], 1 + np.array([1, 1, 1]))
    np.testing.assert_allclose(p["concentration0"], 1 + np.array([1, 1, 0]))


# ----------------------------------------------------------------------------- Gamma
def test_gamma_poisson_and_exponential():
    counts = RNG.poisson(3.0, size=15)
    waits = RNG.exponential(0.5, size=10)

    def poisson(y):
        lam = ppl.sample("lam", dist.Gamma(2.0, 1.0))
        with ppl.plate("N", len(y)):
            ppl.sample("y", dist.Poisson(lam), obs=y)

    def exponential(y):
        rate = ppl.sample("rate", dist.Gamma(2.0, 0.5))
        with ppl.plate("N", len(y)):
            ppl.sample("y", dist.Exponential(rate), obs=y)

    cond = conjugate_conditional(poisson, {"y": counts}, "lam")
    assert cond.kind == "Gamma-Poisson"
    p = _params(cond, {"lam": 1.0})
    a, b = 2 + counts.sum(), 1.0 + len(counts)
    assert (p["concentration"], p["rate"]) == (pytest.approx(a), pytest.approx(b))
    _check_draws(cond, {"lam": 1.0}, a / b, np.sqrt(a) / b)

    cond = conjugate_conditional(exponential, {"y": waits}, "rate")
    assert cond.kind == "Gamma-Exponential"
    p = _params(cond, {"rate": 1.0})
    assert p["concentration"] == pytest.approx(2 + len(waits))
    assert p["rate"] == pytest.approx(0.5 + waits.sum())


def test_gamma_on_normal_precision_uses_current_mean():
    y = RNG.normal(1.0, 2.0, size=30)

    def model(y):
        mu = ppl.sample("mu", dist.Normal(0.0, 10.0))
        tau = ppl.sample("tau", dist.Gamma(2.0, 3.0))
        with ppl.plate("N", len(y)):
            ppl.sample("y", dist.Normal(mu, 1.0 / jnp.sqrt(tau)), obs=y)

    conds = conjugate_conditionals(model, {"y": y})
    assert conds["tau"].kind == "Gamma-Normal" and conds["tau"].family == "Gamma"
    p = _params(conds["tau"], {"mu": 0.7, "tau": 1.0})
    assert p["concentration"] == pytest.approx(2 + len(y) / 2)
    assert p["rate"] == pytest.approx(3 + np.sum((y - 0.7) ** 2) / 2)
    # mu's conditional given the precision: Normal-Normal
    assert conds["mu"].kind == "Normal-Normal"
    q = _params(conds["mu"], {"mu": 0.0, "tau": 0.25})
    prec = 1 / 100 + len(y) * 0.25
    assert q["scale"] == pytest.approx(prec ** -0.5)
    assert q["loc"] == pytest.approx(0.25 * y.sum() / prec)


def test_inverse_gamma_on_normal_variance():
    y = RNG.normal(1.0, 1.5, size=20)

    def model(y):
        s2 = ppl.sample("s2", dist.InverseGamma(3.0, 2.0))
        with ppl.plate("N", len(y)):
            ppl.sample("y", dist.Normal(1.0, jnp.sqrt(s2)), obs=y)

    cond = conjugate_conditional(model, {"y": y}, "s2")
    assert (cond.kind, cond.family) == ("InverseGamma-Normal", "InverseGamma")
    p = _params(cond, {"s2": 1.0})
    a, b = 3 + len(y) / 2, 2 + np.sum((y - 1.0) ** 2) / 2
    assert (p["concentration"], p["rate"]) == (pytest.approx(a), pytest.approx(b))
    _check_draws(cond, {"s2": 1.0}, b / (a - 1), b / ((a - 1) * np.sqrt(a - 2)))


# ----------------------------------------------------------------------------- Dirichlet
def test_dirichlet_categorical_and_multinomial():
    labels = RNG.integers(0, 3, size=40)
    counts = RNG.multinomial(10, [0.2, 0.3, 0.5], size=4)

    def categorical(y):
        p = ppl.sample("p", dist.Dirichlet(jnp.array([1.0, 2.0, 3.0])))
        with ppl.plate("N", len(y)):
            ppl.sample("y", dist.Categorical(probs=p), obs=y)

    def multinomial(y):
        p = ppl.sample("p", dist.Dirichlet(jnp.ones(3)))
        with ppl.plate("N", len(y)):
            ppl.sample("y", dist.Multinomial(10, probs=p), obs=y)

    cond = conjugate_conditional(categorical, {"y": labels}, "p")
    assert (cond.kind, cond.shape) == ("Dirichlet-Categorical", (3,))
    conc = np.array([1.0, 2.0, 3.0]) + np.bincount(labels, minlength=3)
    np.testing.assert_allclose(_params(cond, {"p": jnp.full(3, 1 / 3)})["concentration"], conc)
    total = conc.sum()
    _check_draws(cond, {"p": jnp.full(3, 1 / 3)}, conc / total,
                 np.sqrt(conc * (total - conc) / (total**2 * (total + 1))))

    cond = conjugate_conditional(multinomial, {"y": counts}, "p")
    assert cond.kind == "Dirichlet-Multinomial"
    np.testing.assert_allclose(_params(cond, {"p": jnp.full(3, 1 / 3)})["concentration"],
                               1 + counts.sum(0))


# ----------------------------------------------------------------------------- Normal
def test_normal_normal_known_variance():
    y = RNG.normal(2.0, 1.0, size=12)

    def model(y):
        mu = ppl.sample("mu", dist.Normal(1.0, 3.0))
        with ppl.plate("N", len(y)):
            ppl.sample("y", dist.Normal(mu, 2.0), obs=y)

    cond = conjugate_conditional(model, {"y": y}, "mu")
    assert (cond.kind, cond.family) == ("Normal-Normal", "Normal")
    prec = 1 / 9 + len(y) / 4
    mean = (1.0 / 9 + y.sum() / 4) / prec
    p = _params(cond, {"mu": 0.0})
    assert p["loc"] == pytest.approx(mean) and p["scale"] == pytest.approx(prec ** -0.5)
    _check_draws(cond, {"mu": 5.0}, mean, prec ** -0.5)


def hierarchical(sigma, y=None):
    mu = ppl.sample("mu", dist.Normal(0.0, 5.0))
    tau2 = ppl.sample("tau2", dist.InverseGamma(3.0, 4.0))
    with ppl.plate("J", len(sigma)):
        theta = ppl.sample("theta", dist.Normal(mu, jnp.sqrt(tau2)))
        ppl.sample("y", dist.Normal(theta, sigma), obs=y)


def test_hierarchical_normal_all_conjugate():
    sigma = np.array([1.0, 2.0, 0.5, 1.5])
    y = np.array([0.3, 2.0, -1.0, 1.2])
    conds = conjugate_conditionals(hierarchical, {"sigma": sigma, "y": y})
    assert {k: c.kind for k, c in conds.items()} == {
        "mu": "Normal-Normal", "tau2": "InverseGamma-Normal", "theta": "Normal-Normal"}
    theta = np.array([0.1, 1.0, -0.5, 0.8])
    values = {"mu": 0.4, "tau2": 2.0, "theta": jnp.asarray(theta)}
    # theta_j | rest: precision 1/tau2 + 1/sigma_j^2
    p = _params(conds["theta"], values)
    prec = 1 / 2.0 + 1 / sigma**2
    np.testing.assert_allclose(p["loc"], (0.4 / 2.0 + y / sigma**2) / prec)
    np.testing.assert_allclose(p["scale"], prec ** -0.5)
    # mu | theta, tau2: the thetas are its Normal children
    p = _params(conds["mu"], values)
    prec = 1 / 25 + len(theta) / 2.0
    assert p["loc"] == pytest.approx(theta.sum() / 2.0 / prec)
    # tau2 | theta, mu
    p = _params(conds["tau2"], values)
    assert p["concentration"] == pytest.approx(3 + len(theta) / 2)
    assert p["rate"] == pytest.approx(4 + np.sum((theta - 0.4) ** 2) / 2)


def regression(X, y=None):
    beta = ppl.sample("beta", dist.Normal(0.0, 10.0).expand((X.shape[1],)).to_event(1))
    with ppl.plate("N", X.shape[0]):
        ppl.sample("y", dist.Normal(X @ beta + 1.0, 0.5), obs=y)


def test_linear_regression_coefficients_multivariate_normal():
    X = RNG.normal(size=(30, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 1.0 + RNG.normal(0, 0.5, size=30)
    cond = conjugate_conditional(regression, {"X": X, "y": y}, "beta")
    assert (cond.kind, cond.family) == ("Normal-linear", "MultivariateNormal")
    precision = np.eye(3) / 100 + X.T @ X / 0.25
    mean = np.linalg.solve(precision, X.T @ (y - 1.0) / 0.25)
    p = _params(cond, {"beta": jnp.zeros(3)})
    np.testing.assert_allclose(p["precision_matrix"], precision, rtol=1e-10)
    np.testing.assert_allclose(p["loc"], mean, rtol=1e-8)
    _check_draws(cond, {"beta": jnp.zeros(3)}, mean, np.sqrt(np.diag(np.linalg.inv(precision))))


def test_multivariate_normal_prior():
    X = RNG.normal(size=(10, 2))
    y = RNG.normal(size=10)
    prior_cov = np.array([[2.0, 0.5], [0.5, 1.0]])

    def model(X, y):
        b = ppl.sample("b", dist.MultivariateNormal(jnp.array([1.0, -1.0]), prior_cov))
        with ppl.plate("N", len(y)):
            ppl.sample("y", dist.Normal(X @ b, 1.0), obs=y)

    cond = conjugate_conditional(model, {"X": X, "y": y}, "b")
    assert cond.family == "MultivariateNormal"
    p0 = np.linalg.inv(prior_cov)
    precision = p0 + X.T @ X
    mean = np.linalg.solve(precision, p0 @ np.array([1.0, -1.0]) + X.T @ y)
    p = _params(cond, {"b": jnp.zeros(2)})
    np.testing.assert_allclose(p["loc"], mean, rtol=1e-8)


def test_mixture_component_means_given_assignments():
    y = np.array([-2.0, -1.5, 3.0, 2.5, 2.0])

    def model(y):
        mu = ppl.sample("mu", dist.Normal(0.0, 2.0).expand((2,)).to_event(1))
        w = ppl.sample("w", dist.Dirichlet(jnp.ones(2)))
        with ppl.plate("N", len(y)):
            z = ppl.sample("z", dist.Categorical(probs=w))
            ppl.sample("y", dist.Normal(mu[z], 1.0), obs=y)

    conds = conjugate_conditionals(model, {"y": y})
    assert set(conds) == {"mu", "w"}  # z is discrete: enumerated, not conjugate
    z = jnp.array([0, 0, 1, 1, 0])
    p = _params(conds["mu"], {"mu": jnp.zeros(2), "w": jnp.array([0.5, 0.5]), "z": z})
    counts = np.array([3, 2])
    sums = np.array([-2.0 - 1.5 + 2.0, 3.0 + 2.5])
    np.testing.assert_allclose(p["scale"], (0.25 + counts) ** -0.5)
    np.testing.assert_allclose(p["loc"], sums / (0.25 + counts))
    np.testing.assert_allclose(_params(conds["w"], {"mu": jnp.zeros(2), "w": jnp.ones(2) / 2,
                                                    "z": z})["concentration"], 1 + counts)


def test_site_without_children_draws_from_its_prior():
    def model():
        mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
        ppl.sample("x", dist.Normal(mu, 0.1))

    cond = conjugate_conditional(model, None, "x")
    assert (cond.kind, cond.family) == ("prior", "Normal")
    assert float(cond.parameters({"mu": 3.0, "x": 0.0})["loc"]) == 3.0


# ----------------------------------------------------------------------------- not conjugate
def test_non_conjugate_pairs_are_refused():
    y = np.array([1, 0, 1])

    def squared(y):
        theta = ppl.sample("theta", dist.Beta(1.0, 1.0))
        with ppl.plate("N", 3):
            ppl.sample("y", dist.Bernoulli(theta**2), obs=y)

    def nonlinear_loc(y):
        mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
        with ppl.plate("N", 3):
            ppl.sample("y", dist.Normal(mu**3, 1.0), obs=y)

    def scale_depends(y):
        mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
        with ppl.plate("N", 3):
            ppl.sample("y", dist.Normal(mu, jnp.exp(mu)), obs=y)

    def precision_and_mean(y):
        tau = ppl.sample("tau", dist.Gamma(1.0, 1.0))
        with ppl.plate("N", 3):
            ppl.sample("y", dist.Normal(tau, 1 / jnp.sqrt(tau)), obs=y)

    def half_normal(y):
        sigma = ppl.sample("sigma", dist.HalfNormal(1.0))
        with ppl.plate("N", 3):
            ppl.sample("y", dist.Normal(0.0, sigma), obs=y)

    def factor_child(y):
        mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
        ppl.factor("f", -mu**2)

    for model, site in [(squared, "theta"), (nonlinear_loc, "mu"), (scale_depends, "mu"),
                        (precision_and_mean, "tau"), (half_normal, "sigma"), (factor_child, "mu")]:
        assert conjugate_conditional(model, {"y": y.astype(float)}, site) is None, model.__name__


def test_structure_children_look_through_deterministic_sites():
    def model(y):
        mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
        shifted = ppl.deterministic("shifted", mu + 1.0)
        with ppl.plate("N", 2):
            ppl.sample("y", dist.Normal(shifted, 1.0), obs=y)

    struct = ModelStructure(model, {"y": np.zeros(2)})
    assert struct.children["mu"] == ("y",)
    cond = conjugate_conditional(None, site="mu", structure=struct)
    assert cond.kind == "Normal-Normal"
    assert float(cond.parameters({"mu": 0.0})["loc"]) == pytest.approx(-2.0 / 3.0)
    with pytest.raises(ModelError):
        conjugate_conditional(None, site="y", structure=struct)
