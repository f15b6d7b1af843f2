"""Leapfrog: second-order energy error, exact reversibility, one gradient per step."""

import jax
import jax.numpy as jnp
import numpy as np

from credo.mcmc.integrators import IntegratorState, velocity_verlet
from credo.mcmc.metrics import gaussian_euclidean


def _oscillator_state(q, p):
    # H(q, p) = q^2 / 2 + p^2 / 2: log density -q^2 / 2, unit mass
    return IntegratorState(jnp.array([q]), jnp.array([p]), jnp.asarray(-0.5 * q * q),
                           jnp.array([-q]))


def _max_energy_error(step_size, duration=3.0):
    step = velocity_verlet(lambda x: -0.5 * jnp.sum(x ** 2), lambda p: p)
    state = _oscillator_state(1.0, 0.5)
    h0 = 0.5 * (1.0 + 0.25)

    def body(z, _):
        z = step(z, step_size)
        return z, -z.logdensity + 0.5 * jnp.sum(z.momentum ** 2) - h0

    n = int(round(duration / step_size))
    _, errors = jax.lax.scan(body, state, None, length=n)
    return float(jnp.max(jnp.abs(errors)))


def test_energy_error_is_second_order():
    errors = [_max_energy_error(h) for h in (0.2, 0.1, 0.05)]
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    np.testing.assert_allclose(ratios, 4.0, rtol=0.1)
    assert errors[-1] < 1e-3


def test_leapfrog_is_exactly_time_reversible():
    # a non-quadratic, correlated target and a dense metric
    def logdensity(x):
        return -0.25 * jnp.sum(x ** 4) - 0.5 * x @ jnp.array([[2.0, 0.8], [0.8, 1.0]]) @ x

    metric = gaussian_euclidean(jnp.array([[1.5, 0.3], [0.3, 0.7]]))
    step = jax.jit(velocity_verlet(logdensity, metric.kinetic_energy_grad))
    x0 = jnp.array([0.7, -1.2])
    z = start = IntegratorState(x0, jnp.array([0.4, 0.9]), logdensity(x0), jax.grad(logdensity)(x0))
    for _ in range(50):
        z = step(z, 0.05)
    assert not np.allclose(z.position, x0)
    z = z._replace(momentum=-z.momentum)
    for _ in range(50):
        z = step(z, 0.05)
    np.testing.assert_allclose(z.position, start.position, atol=1e-12)
    np.testing.assert_allclose(-z.momentum, start.momentum, atol=1e-12)
    np.testing.assert_allclose(z.logdensity, start.logdensity, atol=1e-12)
    # integrating backward in time is the same as flipping the momentum
    back = step(start, -0.05)
    flipped = step(start._replace(momentum=-start.momentum), 0.05)
    np.testing.assert_allclose(back.position, flipped.position, atol=1e-14)
    np.testing.assert_allclose(back.momentum, -flipped.momentum, atol=1e-14)


def test_one_gradient_evaluation_per_step():
    calls = []

    def logdensity(x):
        calls.append(1)
        return -0.5 * jnp.sum(x ** 2)

    step = velocity_verlet(logdensity, lambda p: p)
    z = IntegratorState(jnp.ones(3), jnp.ones(3), jnp.asarray(-1.5), -jnp.ones(3))
    z = step(z, 0.1)
    assert len(calls) == 1
    np.testing.assert_allclose(z.logdensity_grad, -z.position)
    np.testing.assert_allclose(z.logdensity, -0.5 * jnp.sum(z.position ** 2))


def test_diagonal_and_dense_identity_metrics_agree():
    def logdensity(x):
        return -0.5 * jnp.sum(x ** 2) + jnp.sin(x[0])

    x0 = jnp.array([0.3, -0.2, 1.0])
    z0 = IntegratorState(x0, jnp.array([1.0, 0.5, -0.5]), logdensity(x0), jax.grad(logdensity)(x0))
    diag = velocity_verlet(logdensity, gaussian_euclidean(jnp.full(3, 2.0)).kinetic_energy_grad)
    dense = velocity_verlet(logdensity, gaussian_euclidean(2.0 * jnp.eye(3)).kinetic_energy_grad)
    a, b = diag(z0, 0.1), dense(z0, 0.1)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=1e-14)
