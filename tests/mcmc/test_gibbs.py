"""Gibbs sampling: conjugate, enumerated, slice, MH and NUTS updates against closed forms,
exact posteriors by quadrature and posteriordb references."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import credo.ppl as ppl
from credo import distributions as dist
from credo.diagnostics import ess_bulk, summary
from credo.errors import ModelError
from credo.examples import load_posteriordb
from credo.mcmc.gibbs import gibbs, plan
from credo.ppl.examples import flu_prevalence
from tests.posteriordb_reference import assert_matches_reference, load_reference

from tests.mcmc.flu import BETA_13_89, FLU
from tests.mcmc.flu import within_mcse as _within_mcse


def _within_mcse_of_exact(draws: dict, exact: dict, *, k=4.0, rhat=1.01):
    """Every key of ``exact`` (``{key: (mean, sd)}``, the exact posterior): sample mean and
    sd within ``k`` Monte Carlo standard errors, and R-hat below ``rhat``."""
    table = summary(draws)
    assert set(exact) <= set(table.index), set(exact) - set(table.index)
    for key, (mean, sd) in exact.items():
        row = table.loc[key]
        assert abs(row["mean"] - mean) < k * row["mcse_mean"], (key, row["mean"], mean, row["mcse_mean"])
        assert abs(row["sd"] - sd) < k * row["mcse_sd"], (key, row["sd"], sd, row["mcse_sd"])
        assert row["r_hat"] < rhat, (key, row["r_hat"])


def _grid_mixture_moments(log_weight, means, variances):
    """Mean and sd per column of the mixture over a grid: unnormalised log weights ``(G,)``,
    conditional means and variances ``(G, K)`` (law of total variance)."""
    w = np.exp(log_weight - logsumexp(log_weight))
    mean = w @ means
    return mean, np.sqrt(w @ (variances + means**2) - mean**2)


# ----------------------------------------------------------------------------- flu prevalence
def test_flu_conjugate_beta_binomial():
    post = gibbs(flu_prevalence, FLU, chains=4, warmup=50, draws=1000, seed=0, progress=False)
    assert post.gibbs_updates == {"theta": "conjugate Beta-Binomial -> Beta"}
    _within_mcse(post, "theta", BETA_13_89.mean(), BETA_13_89.std())
    # exact draws from the conditional: independent, so the ESS is about the draw count
    assert post.summary().loc["theta", "ess_bulk"] > 3000
    assert post.algorithm == "gibbs" and post.draws["theta"].shape == (4, 1000)
    assert np.all(post.stats["acceptance_rate"] == 1)


@pytest.mark.parametrize("method", ["slice", "mh"])
def test_flu_slice_and_metropolis_within_gibbs(method):
    post = gibbs(flu_prevalence, FLU, steps={"theta": method}, chains=4, warmup=300, draws=1500,
                 seed=1, progress=False)
    assert post.gibbs_updates["theta"].startswith({"slice": "slice", "mh": "Metropolis"}[method])
    _within_mcse(post, "theta", BETA_13_89.mean(), BETA_13_89.std())
    if method == "mh":  # one coordinate: adapted toward 0.44, then frozen
        assert abs(post.stats["acceptance_rate"].mean() - 0.44) < 0.08


# ----------------------------------------------------------------------------- exact posteriors
# Both models are conjugate given one positive scalar (tau2, s2): the other latents are Gaussian
# given it, and its marginal posterior is one-dimensional. Quadrature over a fine grid of its
# logarithm gives the exact posterior means and sds of every latent.
def hierarchical(sigma, y=None):
    mu = ppl.sample("mu", dist.Normal(0.0, 5.0))
    tau2 = ppl.sample("tau2", dist.InverseGamma(3.0, 4.0))
    with ppl.plate("J", len(sigma)):
        theta = ppl.sample("theta", dist.Normal(mu, jnp.sqrt(tau2)))
        ppl.sample("y", dist.Normal(theta, sigma), obs=y)


HIER = {"sigma": np.array([1.0, 1.5, 0.8, 1.2, 1.0, 2.0, 0.9, 1.1]),
        "y": np.array([2.8, 0.8, -0.3, 0.7, -0.1, 1.0, 1.8, 1.2])}


def _hierarchical_exact() -> dict:
    """``{site: (mean, sd)}`` of the exact posterior of ``hierarchical`` given ``HIER``."""
    sigma, y = HIER["sigma"], HIER["y"]
    log_tau2 = np.linspace(-12.0, 8.0, 8001)
    tau2 = np.exp(log_tau2)[:, None]
    v = sigma**2 + tau2                      # y_j | mu, tau2 ~ N(mu, v_j)
    prec_mu = 1 / 25 + (1 / v).sum(1)       # mu | tau2, y ~ N(m_mu, 1 / prec_mu)
    m_mu = (y / v).sum(1) / prec_mu
    # log p(y | tau2), mu integrated out (up to a constant)
    log_lik = (-0.5 * np.log(v).sum(1) - 0.5 * (y**2 / v).sum(1)
               - 0.5 * np.log(prec_mu) + 0.5 * prec_mu * m_mu**2)
    # the grid is uniform in log tau2: d tau2 = tau2 d log tau2
    log_weight = stats.invgamma(3.0, scale=4.0).logpdf(tau2[:, 0]) + log_lik + log_tau2
    prec_theta = 1 / sigma**2 + 1 / tau2    # theta_j | mu, tau2, y
    shrink = (1 / tau2) / prec_theta
    m_theta = (y / sigma**2) / prec_theta + shrink * m_mu[:, None]
    v_theta = 1 / prec_theta + shrink**2 / prec_mu[:, None]  # mu integrated out
    mean, sd = _grid_mixture_moments(
        log_weight, np.column_stack([m_mu, tau2, m_theta]),
        np.column_stack([1 / prec_mu, np.zeros_like(tau2), v_theta]))
    names = ["mu", "tau2"] + [f"theta[{j}]" for j in range(len(y))]
    return dict(zip(names, zip(mean, sd)))


def test_hierarchical_normal_matches_the_exact_posterior():
    assert plan(hierarchical, HIER) == {
        "mu": "conjugate Normal-Normal -> Normal",
        "tau2": "conjugate InverseGamma-Normal -> InverseGamma",
        "theta": "conjugate Normal-Normal -> Normal"}
    post = gibbs(hierarchical, HIER, chains=4, warmup=100, draws=1500, seed=2, progress=False)
    _within_mcse_of_exact(post.draws, _hierarchical_exact())


def regression(X, y=None):
    a = ppl.sample("a", dist.Normal(0.0, 10.0))
    b = ppl.sample("b", dist.Normal(0.0, 10.0).expand((X.shape[1],)).to_event(1))
    s2 = ppl.sample("s2", dist.InverseGamma(2.0, 2.0))
    with ppl.plate("N", X.shape[0]):
        ppl.sample("y", dist.Normal(a + X @ b, jnp.sqrt(s2)), obs=y)


def _regression_data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 3))
    X[:, 1] += 0.8 * X[:, 0]  # correlated predictors: the coefficients' conditional is not diagonal
    X -= X.mean(0)
    y = 1.0 + X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=40)
    return {"X": X, "y": y}


def _regression_exact(data) -> dict:
    """``{site: (mean, sd)}`` of the exact posterior of ``regression`` given ``data``."""
    Z = np.column_stack([np.ones(len(data["y"])), data["X"]])  # (a, b) are jointly Gaussian given s2
    lam, U = np.linalg.eigh(Z.T @ Z)
    u = U.T @ (Z.T @ data["y"])
    log_s2 = np.linspace(-10.0, 6.0, 8001)
    s2 = np.exp(log_s2)[:, None]
    prec = lam / s2 + 1 / 100                # eigenvalues of the precision Z'Z / s2 + I / 100
    m = (u / s2 / prec) @ U.T                # the conditional mean of (a, b)
    var = (1 / prec) @ (U**2).T              # and its variances
    y = data["y"]
    # log p(y | s2), (a, b) integrated out (up to a constant)
    log_lik = (-0.5 * len(y) * np.log(s2[:, 0]) - 0.5 * np.log(prec).sum(1)
               - 0.5 * (y @ y / s2[:, 0] - (u**2 / s2**2 / prec).sum(1)))
    log_weight = stats.invgamma(2.0, scale=2.0).logpdf(s2[:, 0]) + log_lik + log_s2
    mean, sd = _grid_mixture_moments(log_weight, np.column_stack([m, s2]),
                                     np.column_stack([var, np.zeros_like(s2)]))
    return dict(zip(["a", "b[0]", "b[1]", "b[2]", "s2"], zip(mean, sd)))


def test_linear_regression_matches_the_exact_posterior():
    data = _regression_data()
    post = gibbs(regression, data, chains=4, warmup=100, draws=1500, seed=4, progress=False)
    assert post.gibbs_updates["b"] == "conjugate Normal-linear -> MultivariateNormal"
    assert post.gibbs_updates["s2"] == "conjugate InverseGamma-Normal -> InverseGamma"
    _within_mcse_of_exact(post.draws, _regression_exact(data))


# ----------------------------------------------------------------------------- discrete latents
def mixture(y):
    """low_dim_gauss_mix with explicit assignments: z[n] ~ Categorical(theta, 1 - theta).

    The Beta(5, 5) prior on theta is the Dirichlet(5, 5) prior on (theta, 1 - theta).
    """
    mu = ppl.sample("mu", dist.Normal(0.0, 2.0).expand((2,)).to_event(1))
    sigma = ppl.sample("sigma", dist.HalfNormal(2.0).expand((2,)).to_event(1))
    w = ppl.sample("w", dist.Dirichlet(jnp.array([5.0, 5.0])))
    ppl.deterministic("theta", w[0])
    with ppl.plate("data", len(y)):
        z = ppl.sample("z", dist.Categorical(probs=w))
        ppl.sample("y", dist.Normal(mu[z], sigma[z]), obs=y)


def test_mixture_with_assignments_matches_posteriordb():
    name = "low_dim_gauss_mix-low_dim_gauss_mix"
    _, data = load_posteriordb(name)
    y = np.asarray(data["y"])
    post = gibbs(mixture, {"y": y}, steps={"sigma": "nuts"}, chains=4, warmup=200, draws=1000,
                 seed=0, progress=False)
    assert post.gibbs_updates["z"] == "enumerate 2 values (vectorized over the plate)"
    assert post.gibbs_updates["mu"] == "conjugate Normal-Normal -> Normal"
    assert post.gibbs_updates["w"] == "conjugate Dirichlet-Categorical -> Dirichlet"
    assert post.gibbs_updates["sigma"].startswith("NUTS")
    assert list(post.gibbs_updates)[0] == "z"  # discrete sites are imputed first
    z = post.draws["z"]
    assert z.shape == (4, 1000, len(y)) and np.issubdtype(z.dtype, np.integer)
    assert set(np.unique(z)) <= {0, 1}
    # posteriordb orders mu; the explicit model's posterior is symmetric under
    # swapping the labels, so relabel each draw by sorting mu (label switching)
    order = np.argsort(post.draws["mu"], axis=-1)
    relabelled = {"mu": np.take_along_axis(post.draws["mu"], order, -1),
                  "sigma": np.take_along_axis(post.draws["sigma"], order, -1),
                  "theta": np.take_along_axis(post.draws["w"], order, -1)[..., 0]}
    assert_matches_reference(relabelled, load_reference(name))


def test_bernoulli_enumeration_exact_posterior():
    # z[n] ~ Bernoulli(0.3), y[n] ~ Normal(2 z[n], 1): P(z[n] = 1 | y[n]) in closed form
    y = np.array([-1.0, 0.5, 1.0, 2.5, 4.0])

    def model(y):
        with ppl.plate("N", len(y)):
            z = ppl.sample("z", dist.Bernoulli(0.3))
            ppl.sample("y", dist.Normal(2.0 * z, 1.0), obs=y)

    post = gibbs(model, {"y": y}, chains=2, warmup=10, draws=4000, seed=3, progress=False)
    like1, like0 = stats.norm(2, 1).pdf(y), stats.norm(0, 1).pdf(y)
    exact = 0.3 * like1 / (0.3 * like1 + 0.7 * like0)
    freq = post.draws["z"].mean(axis=(0, 1))
    se = np.sqrt(exact * (1 - exact) / 8000)
    np.testing.assert_array_less(np.abs(freq - exact), 4 * se + 1e-12)


def test_dependent_discrete_elements_enumerated_one_at_a_time():
    # the observation depends on the sum of z: z's elements are not conditionally
    # independent, so they are enumerated one after another; compare with brute force
    def model(obs):
        with ppl.plate("K", 3):
            z = ppl.sample("z", dist.Bernoulli(jnp.array([0.2, 0.5, 0.7])))
        ppl.sample("s", dist.Normal(jnp.sum(z), 0.7), obs=obs)

    assert plan(model, {"obs": 2.6}) == {"z": "enumerate 2 values (one element at a time)"}
    post = gibbs(model, {"obs": 2.6}, chains=2, warmup=10, draws=4000, seed=5, progress=False)
    grid = np.array(np.meshgrid(*[[0, 1]] * 3, indexing="ij")).reshape(3, -1).T
    p = np.array([0.2, 0.5, 0.7])
    weight = np.prod(np.where(grid == 1, p, 1 - p), axis=1) * stats.norm(grid.sum(1), 0.7).pdf(2.6)
    exact = (weight[:, None] * grid).sum(0) / weight.sum()
    freq = post.draws["z"].mean(axis=(0, 1))
    # 8000 draws; single-element updates autocorrelate a little: count 2000
    np.testing.assert_array_less(np.abs(freq - exact), 4 * np.sqrt(exact * (1 - exact) / 2000))


# ----------------------------------------------------------------------------- zig-zag
def correlated(rho=0.99):
    x = ppl.sample("x", dist.Normal(0.0, 1.0))
    ppl.sample("y", dist.Normal(rho * x, np.sqrt(1 - rho**2)))


def test_gibbs_zigzags_on_a_correlated_gaussian():
    post = gibbs(correlated, None, chains=4, warmup=100, draws=2000, seed=6, progress=False)
    # y's loc is 0.99 x: linear in x, not x itself
    assert plan(correlated) == {"x": "conjugate Normal-linear -> Normal",
                                "y": "exact: prior (Normal, no stochastic children)"}
    ess_per_draw = float(np.min(ess_bulk(post.draws["x"]))) / post.draws["x"].size
    # lag-one autocorrelation of x per sweep is rho^2 = 0.98: ESS/draw ~ (1 - 0.98) / (1 + 0.98)
    assert ess_per_draw < 0.05


# ----------------------------------------------------------------------------- errors
def test_step_errors():
    with pytest.raises(ModelError, match="no conjugate"):
        plan(mixture, {"y": np.zeros(4)}, steps={"sigma": "conjugate"})
    with pytest.raises(ModelError, match="enumerate"):
        plan(mixture, {"y": np.zeros(4)}, steps={"mu": "enumerate"})
    with pytest.raises(ModelError, match="discrete"):
        plan(mixture, {"y": np.zeros(4)}, steps={"z": "slice"})
    with pytest.raises(ModelError, match="not latent"):
        plan(mixture, {"y": np.zeros(4)}, steps={"y": "slice"})
    with pytest.raises(ValueError, match="unknown update"):
        plan(mixture, {"y": np.zeros(4)}, steps={"mu": "hmc"})
    blocks = plan(mixture, {"y": np.zeros(4)}, steps={("mu", "sigma"): "mh"}, fallback="mh")
    assert blocks[("mu", "sigma")] == "Metropolis random walk"
