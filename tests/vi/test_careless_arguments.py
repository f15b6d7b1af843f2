"""Bad arguments to the VI entry points are ArgumentErrors naming them; Pathfinder refuses flat
(improper) densities instead of reporting them converged."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from credo.errors import ArgumentError, ModelError
from credo.vi import MeanField, advi, fit, pathfinder
from credo.vi.flows import Flow


def log_normal(x):
    return -0.5 * jnp.sum(x**2)


ADVI_CASES = [
    ({"family": "gauss"}, "family", ["'gauss'", "'meanfield'", "'fullrank'", "'lowrank'", "'flow'"]),
    ({"family": "fullRank"}, "family", ["did you mean 'fullrank'"]),
    ({"estimator": "score"}, "estimator", ["'score'", "'stl'", "'iwae'"]),
    ({"precondition": "laplace"}, "precondition", ["'laplace'", "'pathfinder'", "None"]),
    ({"steps": 0}, "steps", [">= 1", "0"]),
    ({"steps": 2.5}, "steps", ["integer"]),
    ({"learning_rate": 0.0}, "learning_rate", ["> 0"]),
    ({"learning_rate": -0.01}, "learning_rate", ["-0.01"]),
    ({"learning_rate": math.nan}, "learning_rate", ["nan"]),
    ({"num_particles": 0}, "num_particles", [">= 1"]),
    ({"chunk_size": 0}, "chunk_size", [">= 1"]),
    ({"tolerance": -1.0}, "tolerance", [">= 0"]),
    ({"init_scale": 0.0}, "init_scale", ["> 0"]),
    ({"anneal_steps": -5}, "anneal_steps", [">= 0"]),
    ({"family": "lowrank", "rank": 5, "precondition": None}, "rank", ["[1, 2]", "5"]),
]


@pytest.mark.parametrize(("kwargs", "argument", "texts"), ADVI_CASES)
def test_advi_names_the_bad_argument(kwargs, argument, texts):
    with pytest.raises(ArgumentError) as info:
        advi(log_normal, dim=2, progress=False, **kwargs)
    assert info.value.argument == argument
    for text in texts:
        assert text in str(info.value)


def test_fit_checks_its_arguments():
    q = MeanField(jnp.zeros(2), 0.1)
    for kwargs, argument in [({"steps": 0}, "steps"), ({"estimator": "reinforce"}, "estimator"),
                             ({"window": 0}, "window"),
                             ({"anneal_steps": 10, "anneal_start": 1.5}, "anneal_start")]:
        with pytest.raises(ArgumentError) as info:
            fit(q, log_normal, optimizer=optax.adam(0.01), progress=False,
                **{"steps": 100, **kwargs})
        assert info.value.argument == argument
    flow = Flow.realnvp(2, jax.random.PRNGKey(0), depth=2, hidden=4)
    with pytest.raises(ArgumentError, match="estimator.*'entropy'.*Flow"):
        fit(flow, log_normal, optimizer=optax.adam(0.01), steps=10, estimator="entropy",
            progress=False)


PATHFINDER_CASES = [
    ({"num_paths": 0}, "num_paths"), ({"num_draws": 0}, "num_draws"),
    ({"num_elbo_draws": 0}, "num_elbo_draws"), ({"history_size": 0}, "history_size"),
    ({"max_iterations": 0}, "max_iterations"), ({"ftol": -1.0}, "ftol"),
    ({"gtol": math.nan}, "gtol"), ({"proposal_scale": "wide"}, "proposal_scale"),
    ({"proposal_scale": -1.0}, "proposal_scale"),
]


@pytest.mark.parametrize(("kwargs", "argument"), PATHFINDER_CASES)
def test_pathfinder_names_the_bad_argument(kwargs, argument):
    with pytest.raises(ArgumentError) as info:
        pathfinder(log_normal, dim=2, progress=False, **kwargs)
    assert info.value.argument == argument and repr(next(iter(kwargs.values()))) in str(info.value)


@pytest.mark.parametrize("density", [lambda x: 0.0 * x.sum(), lambda x: jnp.asarray(3.0)],
                         ids=["zero", "constant"])
def test_pathfinder_refuses_a_flat_density(density):
    # main reported every path converged after one iteration, with N(x0, I) as the "posterior"
    with pytest.raises(ModelError, match="looks flat.*improper"):
        pathfinder(density, dim=2, num_paths=2, progress=False)


def test_pathfinder_refuses_a_density_without_curvature():
    # linear: unbounded above, so improper; L-BFGS never sees curvature
    with pytest.raises(ModelError, match="curvature.*improper"):
        pathfinder(lambda x: x.sum(), dim=2, num_paths=1, max_iterations=20, progress=False)


def test_a_path_stuck_on_a_plateau_is_left_out_with_a_warning():
    # N(0, 0.5^2) near the origin, exactly flat beyond |x| > 6: the second start is on the plateau
    def density(x):
        return jnp.where(jnp.all(jnp.abs(x) < 6.0), -2.0 * jnp.sum(x**2), -72.0)

    init = np.array([[0.5, -0.3], [9.0, 9.0]])
    with pytest.warns(UserWarning, match=r"path\(s\) 1 accepted no L-BFGS curvature pair.*left out"):
        approx = pathfinder(density, dim=2, num_paths=2, init=init, progress=False,
                            importance_resampling=False)
    assert approx.info["path_converged"].tolist() == [True, False]
    assert approx.info["curvature_pairs"][1] == 0 and not approx.converged
    # the approximation is the first path's Gaussian alone: N(0, 0.5^2 I)
    np.testing.assert_allclose(np.asarray(approx.q.mean), 0.0, atol=1e-3)
    np.testing.assert_allclose(np.sqrt(np.diag(np.asarray(approx.q.covariance()))), 0.5, rtol=0.05)
