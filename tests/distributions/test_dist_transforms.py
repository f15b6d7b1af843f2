"""Transforms: round trips, landing in the codomain and log|det J| against autodiff."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from credo.distributions import constraints
from credo.distributions import transforms as T
from credo.distributions._util import tril_to_vec
from credo.distributions.transforms import biject_to

RNG = np.random.default_rng(7)


def _free(y, kind):
    """The free coordinates of a dimension-changing codomain (what the Jacobian is taken against)."""
    if kind == "simplex":
        return y[:-1]
    if kind == "strict":
        return tril_to_vec(y, diagonal=False)
    if kind == "tril":
        return tril_to_vec(y)
    return y.reshape(-1)


# name -> (transform, unconstrained input shape (batch of 3), free-coordinate kind)
CASES = {
    "identity": (T.IdentityTransform(), (3, 4), "elementwise"),
    "exp": (T.ExpTransform(), (3, 4), "elementwise"),
    "affine": (T.AffineTransform(1.5, -2.0), (3, 4), "elementwise"),
    "sigmoid": (T.SigmoidTransform(), (3, 4), "elementwise"),
    "interval": (biject_to(constraints.interval(-1.0, 3.0)), (3, 4), "elementwise"),
    "greater_than": (biject_to(constraints.greater_than(2.0)), (3, 4), "elementwise"),
    "less_than": (biject_to(constraints.less_than(-1.0)), (3, 4), "elementwise"),
    "unit_interval": (biject_to(constraints.unit_interval), (3, 4), "elementwise"),
    "positive": (biject_to(constraints.positive), (3, 4), "elementwise"),
    "stick_breaking": (T.StickBreakingTransform(), (3, 4), "simplex"),
    "ordered": (T.OrderedTransform(), (3, 4), "vector"),
    "positive_ordered": (T.PositiveOrderedTransform(), (3, 4), "vector"),
    "corr_cholesky": (T.CorrCholeskyTransform(), (3, 6), "strict"),
    "lower_cholesky": (T.LowerCholeskyTransform(), (3, 6), "tril"),
    "positive_definite": (T.PositiveDefiniteTransform(), (3, 6), "tril"),
    "real_vector": (biject_to(constraints.real_vector), (3, 4), "vector"),
    "compose": (T.ComposeTransform([T.AffineTransform(0.5, 2.0), T.StickBreakingTransform()]),
                (3, 4), "simplex"),
    "independent_exp": (T.IndependentTransform(T.ExpTransform(), 1), (3, 4), "vector"),
}


def _expected_ladj(t, x, kind):
    """log|det| of the Jacobian of ``x -> free(forward(x))`` for one unbatched input."""
    if kind == "elementwise":
        grads = jax.vmap(jax.grad(lambda v: t.forward(v)))(x.reshape(-1))
        return jnp.log(jnp.abs(grads)).reshape(x.shape)
    jac = jax.jacfwd(lambda v: _free(t.forward(v), kind))(x)
    return jnp.linalg.slogdet(jac)[1]


@pytest.mark.parametrize("name", sorted(CASES))
def test_transform(name):
    t, shape, kind = CASES[name]

    @jax.jit  # one compilation per transform keeps the suite fast
    def run(x):
        y = t(x)
        return (y, t.inverse(y), t.codomain.check(y), t.log_abs_det_jacobian(x, y),
                t.inv.log_abs_det_jacobian(y, x), jax.vmap(lambda v: _expected_ladj(t, v, kind))(x))

    x = jnp.asarray(RNG.normal(size=shape) * 1.5)
    y, back, ok, ladj, inv_ladj, expected = run(x)
    assert y.shape == t.forward_shape(x.shape)
    assert t.inverse_shape(y.shape) == x.shape
    assert np.all(np.asarray(ok))
    np.testing.assert_allclose(back, x, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(ladj, expected, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(inv_ladj, -ladj, rtol=1e-12)


@pytest.mark.parametrize("t, size", [(T.StickBreakingTransform(), 4), (T.CorrCholeskyTransform(), 6),
                                     (T.LowerCholeskyTransform(), 6), (T.OrderedTransform(), 4)])
def test_extreme_inputs_stay_finite_and_valid(t, size):
    x = jnp.asarray(np.array([[-30.0, 30.0, 5.0, -5.0, 0.0, 12.0][:size]]))

    @jax.jit
    def run(x):
        y = t(x)
        ladj = t.log_abs_det_jacobian(x, y)
        return y, ladj, jax.grad(lambda v: jnp.sum(t.log_abs_det_jacobian(v, t(v))))(x)

    for out in run(x):
        assert np.all(np.isfinite(np.asarray(out)))


def test_zero_maps_to_the_centre_of_the_simplex_and_identity_correlation():
    np.testing.assert_allclose(T.StickBreakingTransform()(jnp.zeros(3)), np.full(4, 0.25))
    np.testing.assert_allclose(T.CorrCholeskyTransform()(jnp.zeros(3)), np.eye(3))


def test_biject_to_covers_continuous_constraints():
    expected = {
        constraints.real: T.IdentityTransform,
        constraints.positive: T.ExpTransform,
        constraints.nonnegative: T.ExpTransform,
        constraints.unit_interval: T.SigmoidTransform,
        constraints.simplex: T.StickBreakingTransform,
        constraints.ordered_vector: T.OrderedTransform,
        constraints.positive_ordered_vector: T.PositiveOrderedTransform,
        constraints.corr_cholesky: T.CorrCholeskyTransform,
        constraints.lower_cholesky: T.LowerCholeskyTransform,
        constraints.positive_definite: T.PositiveDefiniteTransform,
    }
    for c, cls in expected.items():
        assert type(biject_to(c)) is cls
    ind = biject_to(constraints.independent(constraints.positive, 2))
    x = jnp.ones((2, 3, 4))
    assert ind.log_abs_det_jacobian(x, ind(x)).shape == (2,)
    with pytest.raises(NotImplementedError):
        biject_to(constraints.nonnegative_integer)


def test_compose_event_dims():
    t = T.ComposeTransform([T.ExpTransform(), T.StickBreakingTransform()])
    assert t.domain.event_dim == 1 and t.codomain.event_dim == 1
    x = jnp.asarray(RNG.normal(size=(5, 3)))
    assert t.log_abs_det_jacobian(x, t(x)).shape == (5,)


def test_constraint_checks():
    assert bool(constraints.simplex.check(jnp.array([0.2, 0.8])))
    assert not bool(constraints.simplex.check(jnp.array([0.3, 0.8])))
    assert not bool(constraints.ordered_vector.check(jnp.array([1.0, 1.0])))
    assert bool(constraints.positive_ordered_vector.check(jnp.array([0.1, 2.0])))
    assert not bool(constraints.lower_cholesky.check(jnp.array([[1.0, 1.0], [0.0, 1.0]])))
    assert not bool(constraints.positive_definite.check(jnp.array([[1.0, 2.0], [2.0, 1.0]])))
    assert constraints.integer.check(jnp.array([1.0, 1.5])).tolist() == [True, False]
    assert constraints.boolean.check(jnp.array([0, 1, 2])).tolist() == [True, True, False]
    assert constraints.interval(0.0, 1.0).event_dim == 0 and constraints.corr_cholesky.event_dim == 2
    assert constraints.real.check(jnp.array([jnp.nan, 1.0])).tolist() == [False, True]
