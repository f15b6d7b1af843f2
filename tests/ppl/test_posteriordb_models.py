"""The posteriordb example models (credo.examples.posteriordb) against their Stan programs.

- Each model compiles; every posteriordb reference key is an element of a site
  of the right shape; the unconstrained dimension is Stan's.
- The log density is checked against an independent numpy/scipy transcription
  of each Stan program (log joint on the constrained scale plus the log
  Jacobians of Stan's constraining transforms, written out here by hand):
  differences between points agree to 1e-8 relative, so the two agree up to
  a constant. The points are built from the reference posterior means.
- Gradients match central finite differences for every example model
  (the posteriordb ones, ``flu_prevalence`` and ``eight_schools_centered``;
  ``eight_schools_noncentered`` is the posteriordb eight schools model).
- ``jax.jit(jax.vmap(ld.fn))`` over 1000 points equals the unbatched values.
"""

import functools
import json
import subprocess
import sys
from importlib import resources

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

import credo.examples
import credo.ppl as ppl
from credo.examples import POSTERIORDB_NAMES, load_posteriordb
from credo.ppl.examples import EXAMPLES
from tests.posteriordb_reference import load_reference, parse_key, site_value, to_credo_key

#: Number of unconstrained parameters of each Stan program.
STAN_DIM = {
    "arK-arK": 7,  # alpha, beta[5], sigma
    "earnings-logearn_height": 3,
    "eight_schools-eight_schools_noncentered": 10,  # theta_trans[8], mu, tau
    "garch-garch11": 4,
    "gp_pois_regr-gp_pois_regr": 13,  # rho, alpha, f_tilde[11]
    "hmm_example-hmm_example": 4,  # two 2-simplexes (1 each), positive_ordered[2]
    "kidiq-kidscore_momiq": 3,
    "low_dim_gauss_mix-low_dim_gauss_mix": 5,
    "mesquite-logmesquite": 8,
    "nes1972-nes": 10,
    "sblrc-blr": 6,
}

#: The data each model takes: the Stan data block, without posteriordb's extra entries
#: (the eight schools model takes no ``J``: it is the length of ``y``).
STAN_DATA = {
    "arK-arK": {"K", "T", "y"},
    "earnings-logearn_height": {"N", "earn", "height"},
    "eight_schools-eight_schools_noncentered": {"y", "sigma"},
    "garch-garch11": {"T", "y", "sigma1"},
    "gp_pois_regr-gp_pois_regr": {"N", "x", "k"},
    "hmm_example-hmm_example": {"N", "K", "y"},
    "kidiq-kidscore_momiq": {"N", "kid_score", "mom_iq"},
    "low_dim_gauss_mix-low_dim_gauss_mix": {"N", "y"},
    "mesquite-logmesquite": {"N", "weight", "diam1", "diam2", "canopy_height", "total_height",
                             "density", "group"},
    "nes1972-nes": {"N", "partyid7", "real_ideo", "race_adj", "educ1", "gender", "income",
                    "age_discrete"},
    "sblrc-blr": {"N", "D", "X", "y"},
}

#: Every example model: the posteriordb ones and the other credo.ppl.examples.
ALL_MODELS = POSTERIORDB_NAMES + ("flu_prevalence", "eight_schools_centered")


@functools.lru_cache(maxsize=None)
def compiled(name):
    """``(LogDensity, data, jitted value_and_grad)``, compiled once per test session."""
    model, data = EXAMPLES[name] if name in EXAMPLES else load_posteriordb(name)
    ld = ppl.logdensity(model, data)
    return ld, data, jax.jit(jax.value_and_grad(ld.fn))


# -- independent transcriptions of the Stan programs -------------------------------------------
# Each returns (log joint as Stan's target, up to a constant; log|Jacobian| of the map from
# unconstrained space) at constrained values ``v``. Constants (such as HalfNormal's log 2)
# are left out, as Stan leaves them out; they cancel in the differences compared.

norm, cauchy = stats.norm.logpdf, stats.cauchy.logpdf


def jac_positive(x):  # x = exp(u)
    return np.sum(np.log(x))


def jac_interval(x, a, b):  # x = a + (b - a) logistic(u)
    return np.log((x - a) * (b - x) / (b - a))


def jac_ordered(x):  # x_0 = u_0, x_k = x_(k-1) + exp(u_k)
    return np.sum(np.log(np.diff(x)))


def jac_simplex2(x):  # K = 2 stick breaking: x_0 = logistic(u), x_1 = 1 - x_0
    return np.log(x[0]) + np.log(x[1])


def stan_arK(v, d):
    y, K = d["y"], d["K"]
    lp = norm(v["alpha"], 0, 10) + np.sum(norm(v["beta"], 0, 10)) + cauchy(v["sigma"], 0, 2.5)
    for t in range(K, len(y)):
        mu = v["alpha"] + sum(v["beta"][k] * y[t - k - 1] for k in range(K))
        lp += norm(y[t], mu, v["sigma"])
    return lp, jac_positive(v["sigma"])


def stan_logearn_height(v, d):
    b = v["beta"]
    lp = np.sum(norm(np.log(d["earn"]), b[0] + b[1] * d["height"], v["sigma"]))
    return lp, jac_positive(v["sigma"])


def stan_eight_schools_noncentered(v, d):
    theta = v["theta_trans"] * v["tau"] + v["mu"]
    lp = (np.sum(norm(v["theta_trans"], 0, 1)) + np.sum(norm(d["y"], theta, d["sigma"]))
          + norm(v["mu"], 0, 5) + cauchy(v["tau"], 0, 5))
    return lp, jac_positive(v["tau"])


def stan_garch11(v, d):
    y = d["y"]
    sigma = np.empty(len(y))
    sigma[0] = d["sigma1"]
    for t in range(1, len(y)):
        sigma[t] = np.sqrt(v["alpha0"] + v["alpha1"] * (y[t - 1] - v["mu"]) ** 2
                           + v["beta1"] * sigma[t - 1] ** 2)
    lp = np.sum(norm(y, v["mu"], sigma))  # no prior statements at all
    jac = (jac_positive(v["alpha0"]) + jac_interval(v["alpha1"], 0, 1)
           + jac_interval(v["beta1"], 0, 1 - v["alpha1"]))
    return lp, jac


def gp_cholesky(x, alpha, rho):
    cov = alpha**2 * np.exp(-np.subtract.outer(x, x) ** 2 / (2 * rho**2)) + 1e-10 * np.eye(len(x))
    return np.linalg.cholesky(cov)


def stan_gp_pois_regr(v, d):
    f = gp_cholesky(d["x"], v["alpha"], v["rho"]) @ v["f_tilde"]
    lp = (stats.gamma.logpdf(v["rho"], 25, scale=1 / 4) + norm(v["alpha"], 0, 2)
          + np.sum(norm(v["f_tilde"], 0, 1)) + np.sum(stats.poisson.logpmf(d["k"], np.exp(f))))
    return lp, jac_positive(v["rho"]) + jac_positive(v["alpha"])


def stan_hmm_example(v, d):
    y, mu = d["y"], v["mu"]
    theta = [v["theta1"], v["theta2"]]
    lp = norm(mu[0], 3, 1) + norm(mu[1], 10, 1)
    gamma = [norm(y[0], mu[k], 1) for k in range(2)]
    for t in range(1, len(y)):
        gamma = [special.logsumexp([gamma[j] + np.log(theta[j][k]) + norm(y[t], mu[k], 1)
                                    for j in range(2)]) for k in range(2)]
    lp += special.logsumexp(gamma)
    # positive_ordered: x_0 = exp(u_0), x_1 = x_0 + exp(u_1)
    jac = jac_simplex2(v["theta1"]) + jac_simplex2(v["theta2"]) + np.log(mu[0]) + jac_ordered(mu)
    return lp, jac


def stan_kidscore_momiq(v, d):
    b = v["beta"]
    lp = cauchy(v["sigma"], 0, 2.5) + np.sum(norm(d["kid_score"], b[0] + b[1] * d["mom_iq"], v["sigma"]))
    return lp, jac_positive(v["sigma"])


def stan_low_dim_gauss_mix(v, d):
    mu, sigma, theta = v["mu"], v["sigma"], v["theta"]
    lp = np.sum(norm(sigma, 0, 2)) + np.sum(norm(mu, 0, 2)) + stats.beta.logpdf(theta, 5, 5)
    y = d["y"]
    # log_mix(theta, a, b) = log(theta e^a + (1 - theta) e^b)
    lp += np.sum(np.logaddexp(np.log(theta) + norm(y, mu[0], sigma[0]),
                              np.log(1 - theta) + norm(y, mu[1], sigma[1])))
    return lp, jac_ordered(mu) + jac_positive(sigma) + jac_interval(theta, 0, 1)


def stan_logmesquite(v, d):
    b = v["beta"]
    mean = (b[0] + b[1] * np.log(d["diam1"]) + b[2] * np.log(d["diam2"])
            + b[3] * np.log(d["canopy_height"]) + b[4] * np.log(d["total_height"])
            + b[5] * np.log(d["density"]) + b[6] * d["group"])
    return np.sum(norm(np.log(d["weight"]), mean, v["sigma"])), jac_positive(v["sigma"])


def stan_nes(v, d):
    b, age = v["beta"], d["age_discrete"]
    mean = (b[0] + b[1] * d["real_ideo"] + b[2] * d["race_adj"] + b[3] * (age == 2)
            + b[4] * (age == 3) + b[5] * (age == 4) + b[6] * d["educ1"] + b[7] * d["gender"]
            + b[8] * d["income"])
    return np.sum(norm(d["partyid7"], mean, v["sigma"])), jac_positive(v["sigma"])


def stan_blr(v, d):
    lp = (np.sum(norm(v["beta"], 0, 10)) + norm(v["sigma"], 0, 10)
          + np.sum(norm(d["y"], d["X"] @ v["beta"], v["sigma"])))
    return lp, jac_positive(v["sigma"])


STAN = {
    "arK-arK": stan_arK,
    "earnings-logearn_height": stan_logearn_height,
    "eight_schools-eight_schools_noncentered": stan_eight_schools_noncentered,
    "garch-garch11": stan_garch11,
    "gp_pois_regr-gp_pois_regr": stan_gp_pois_regr,
    "hmm_example-hmm_example": stan_hmm_example,
    "kidiq-kidscore_momiq": stan_kidscore_momiq,
    "low_dim_gauss_mix-low_dim_gauss_mix": stan_low_dim_gauss_mix,
    "mesquite-logmesquite": stan_logmesquite,
    "nes1972-nes": stan_nes,
    "sblrc-blr": stan_blr,
}

#: Points are ``mean + SHIFT * sd`` elementwise, with alternating signs along each site.
SHIFTS = (0.0, 0.3, -0.4)


def reference_point(name, shift):
    """Constrained values of the free sites near the reference posterior mean."""
    ld, data, _ = compiled(name)
    ref = load_reference(name)
    values = {}
    for key, stats_ in ref.items():
        site, index = parse_key(key)
        sign = (-1) ** sum(index)
        values.setdefault(site, np.zeros(ld.sites[site].shape))[index] = (
            stats_["mean"] + sign * shift * stats_["sd"])
    # Parameters posteriordb reports only through a transformed parameter, and simplexes.
    if name == "eight_schools-eight_schools_noncentered":
        values["theta_trans"] = (values.pop("theta") - values["mu"]) / values["tau"]
    elif name == "gp_pois_regr-gp_pois_regr":
        # Shifting f elementwise would make it rough, and L^-1 f huge; so whiten the mean of
        # f and shift in whitened space, where the posterior scale is about 1.
        L = gp_cholesky(data["x"], values["alpha"], values["rho"])
        f_mean = np.array([ref[f"f[{i}]"]["mean"] for i in range(len(values.pop("f")))])
        signs = (-1.0) ** np.arange(len(f_mean))
        values["f_tilde"] = np.linalg.solve(L, f_mean) + shift * signs
    elif name == "hmm_example-hmm_example":
        for simplex in ("theta1", "theta2"):
            values[simplex][1] = 1 - values[simplex][0]
    assert set(values) == set(ld.names)
    return values


@functools.lru_cache(maxsize=None)
def points(name):
    """Flat unconstrained vectors: reference-based ones (one per shift), or initial points."""
    ld, _, _ = compiled(name)
    if name in STAN:
        return tuple(np.asarray(ld.unconstrain(reference_point(name, s))) for s in SHIFTS)
    return tuple(np.asarray(ld.init(seed)) for seed in range(3))


# -- tests ----------------------------------------------------------------------------------------


def test_names_and_registry():
    from credo.examples import posteriordb

    assert tuple(posteriordb.POSTERIORDB) == POSTERIORDB_NAMES == tuple(STAN_DIM)
    assert credo.examples.POSTERIORDB is posteriordb.POSTERIORDB
    assert credo.examples.eight_schools_noncentered is EXAMPLES["eight_schools_noncentered"][0]
    for name, model in posteriordb.POSTERIORDB.items():
        assert getattr(credo.examples, model.__name__) is model
    with pytest.raises(KeyError, match="unknown posteriordb posterior"):
        load_posteriordb("eight_schools-eight_schools_centered")


def test_import_credo_does_not_import_jax():
    code = ("import sys, credo, credo.examples; n = credo.examples.POSTERIORDB_NAMES; "
            "print('jax' in sys.modules, len(n))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "11"]


@pytest.mark.parametrize("name", POSTERIORDB_NAMES)
def test_data_are_the_stan_data_block(name):
    _, data = load_posteriordb(name)
    raw = json.loads(resources.files("credo.examples").joinpath(
        "data", "posteriordb", f"{name}.json").read_text())
    assert set(data) == STAN_DATA[name]
    for key, value in data.items():
        np.testing.assert_array_equal(value, raw[key])
        if isinstance(value, np.ndarray):
            assert value.dtype == (np.int64 if key in ("k", "age_discrete") else np.float64)


@pytest.mark.parametrize("name", POSTERIORDB_NAMES)
def test_sites_match_the_reference(name):
    ld, _, _ = compiled(name)
    assert ld.dim == STAN_DIM[name]
    ref = load_reference(name)
    for key in ref:
        site, index = parse_key(key)
        assert site in ld.sites, f"{key}: no site {site!r}"
        shape = ld.sites[site].shape
        assert len(index) == len(shape) and all(i < n for i, n in zip(index, shape)), (key, shape)
    # site_value picks the element the key names, with leading draw dimensions kept
    values = ld.constrain(points(name)[0])
    for key in ref:
        draws = {n: np.broadcast_to(np.asarray(values[n]), (2, 3) + np.shape(values[n]))
                 for n in values}
        assert site_value(draws, key).shape == (2, 3)
        np.testing.assert_allclose(site_value(values, key), ref[key]["mean"], rtol=1e-8, atol=1e-8)


def test_reference_keys_translate_to_zero_based():
    assert to_credo_key("beta[1]") == "beta[0]"
    assert to_credo_key("theta[2,1]") == "theta[1,0]"
    assert to_credo_key("sigma") == "sigma"
    assert list(load_reference("hmm_example-hmm_example"))[:2] == ["theta1[0]", "theta1[1]"]
    assert site_value({"theta": np.arange(6).reshape(2, 3)}, "theta[1,2]") == 5


@pytest.mark.parametrize("name", POSTERIORDB_NAMES)
def test_log_density_matches_stan_up_to_a_constant(name):
    ld, data, value_and_grad = compiled(name)
    credo_values, stan_values = [], []
    for shift, x in zip(SHIFTS, points(name)):
        credo_values.append(float(value_and_grad(x)[0]))
        lp, jac = STAN[name](reference_point(name, shift), data)
        stan_values.append(lp + jac)
    credo_diff = np.diff(credo_values)
    stan_diff = np.diff(stan_values)
    # round-off of the totals bounds what the differences can resolve
    atol = 1e-13 * np.max(np.abs(stan_values))
    np.testing.assert_allclose(credo_diff, stan_diff, rtol=1e-8, atol=atol)
    assert np.all(np.abs(stan_diff) > 1e3 * atol), "points too close to test anything"


@pytest.mark.parametrize("name", ALL_MODELS)
def test_gradient_matches_finite_differences(name):
    ld, _, value_and_grad = compiled(name)
    h = 1e-5
    for x in points(name):
        _, grad = value_and_grad(x)
        fd = np.empty(ld.dim)
        for i in range(ld.dim):
            e = np.zeros(ld.dim)
            e[i] = h
            fd[i] = (float(value_and_grad(x + e)[0]) - float(value_and_grad(x - e)[0])) / (2 * h)
        np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-5 * max(1.0, np.max(np.abs(fd))))


def test_jit_vmap_over_1000_points_matches_unbatched():
    name = "garch-garch11"  # a lax.scan inside the model: the batching rule matters
    ld, _, value_and_grad = compiled(name)
    x0 = points(name)[0]
    batch = x0 + 0.2 * np.random.default_rng(0).standard_normal((1000, ld.dim))
    batched = np.asarray(jax.jit(jax.vmap(ld.fn))(jnp.asarray(batch)))
    assert batched.shape == (1000,) and np.all(np.isfinite(batched))
    single = np.array([float(value_and_grad(x)[0]) for x in batch])
    np.testing.assert_allclose(batched, single, rtol=1e-10)
