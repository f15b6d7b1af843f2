"""Effect handlers: seed, trace, substitute, condition, scale, mask, block; the handler stack."""

import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import credo.ppl as ppl
from credo import distributions as dist
from credo.errors import ModelError
from credo.ppl.runtime import _STACK


def model(y=None):
    mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
    sd = ppl.sample("sd", dist.HalfNormal(1.0))
    z = ppl.deterministic("z", 2.0 * mu)
    ppl.factor("penalty", -0.5 * mu**2)
    ppl.sample("y", dist.Normal(z, sd), obs=y)
    return z


def test_seed_is_reproducible_and_key_dependent():
    a = ppl.trace(ppl.seed(model, 0)).get_trace()
    b = ppl.trace(ppl.seed(model, jax.random.PRNGKey(0))).get_trace()
    c = ppl.trace(ppl.seed(model, 1)).get_trace()
    assert float(a["mu"].value) == float(b["mu"].value)
    assert float(a["y"].value) == float(b["y"].value)
    assert float(a["mu"].value) != float(c["mu"].value)
    # different sites get different keys
    assert float(a["mu"].value) != float(jnp.log(a["sd"].value))


def test_seed_keys_do_not_depend_on_other_sites():
    def smaller():
        ppl.sample("mu", dist.Normal(0.0, 1.0))

    big = ppl.trace(ppl.seed(model, 3)).get_trace()
    small = ppl.trace(ppl.seed(smaller, 3)).get_trace()
    assert float(big["mu"].value) == float(small["mu"].value)


def test_sampling_without_seed_raises_clear_error():
    with pytest.raises(ppl.MissingKeyError, match="seed"):
        model()
    with pytest.raises(ppl.MissingKeyError, match="'mu'"):
        ppl.trace(model).get_trace()


def test_observed_site_needs_no_seed():
    def m():
        return ppl.sample("y", dist.Normal(0.0, 1.0), obs=1.5)

    assert m() == 1.5


def test_trace_contents():
    tr = ppl.trace(ppl.seed(model, 0)).get_trace(y=0.3)
    assert list(tr) == ["mu", "sd", "z", "penalty", "y"]
    assert [s.type for s in tr.values()] == ["sample", "sample", "deterministic", "factor", "sample"]
    assert tr["y"].is_observed and not tr["mu"].is_observed
    assert isinstance(tr["sd"].fn, dist.HalfNormal)
    assert float(tr["z"].value) == pytest.approx(2.0 * float(tr["mu"].value))
    mu, sd = tr["mu"].value, tr["sd"].value
    assert float(tr["y"].log_prob) == pytest.approx(float(dist.Normal(2 * mu, sd).log_prob(0.3)))
    assert float(tr["penalty"].log_prob) == pytest.approx(-0.5 * float(mu) ** 2)
    expected = (dist.Normal(0.0, 1.0).log_prob(mu) + dist.HalfNormal(1.0).log_prob(sd)
                - 0.5 * mu**2 + dist.Normal(2 * mu, sd).log_prob(0.3))
    assert float(tr.log_density()) == pytest.approx(float(expected))
    assert tr["z"].log_prob is None


def test_trace_rejects_duplicate_names():
    def dup():
        ppl.sample("x", dist.Normal(0.0, 1.0))
        ppl.sample("x", dist.Normal(0.0, 1.0))

    with pytest.raises(ModelError, match="twice"):
        ppl.trace(ppl.seed(dup, 0)).get_trace()


def test_trace_as_context_manager():
    with ppl.trace() as tr, ppl.seed(key=0):
        model()
    assert list(tr) == ["mu", "sd", "z", "penalty", "y"]
    assert _STACK.get() == ()


def test_substitute_keeps_site_latent_condition_observes():
    sub = ppl.trace(ppl.seed(ppl.substitute(model, {"mu": 1.25}), 0)).get_trace()
    assert float(sub["mu"].value) == 1.25 and not sub["mu"].is_observed
    assert float(sub["z"].value) == 2.5
    cond = ppl.trace(ppl.seed(ppl.condition(model, {"mu": 1.25, "y": 0.0}), 0)).get_trace()
    assert cond["mu"].is_observed and cond["y"].is_observed
    assert float(cond["y"].value) == 0.0


def test_substitute_does_not_override_observations():
    tr = ppl.trace(ppl.seed(ppl.substitute(model, {"y": 9.0}), 0)).get_trace(y=1.0)
    assert float(tr["y"].value) == 1.0


def test_uncondition_resimulates_observed_sites():
    tr = ppl.trace(ppl.seed(ppl.uncondition(model), 0)).get_trace(y=1.0)
    assert not tr["y"].is_observed and float(tr["y"].value) != 1.0


def test_scale_and_mask():
    base = ppl.trace(ppl.seed(model, 0)).get_trace(y=0.3)
    scaled = ppl.trace(ppl.seed(ppl.scale(model, 3.0), 0)).get_trace(y=0.3)
    assert float(scaled.log_density()) == pytest.approx(3 * float(base.log_density()))
    masked = ppl.trace(ppl.seed(ppl.mask(model, False), 0)).get_trace(y=0.3)
    assert float(masked.log_density()) == 0.0


def test_block_hides_sites_from_outer_handlers():
    tr = ppl.trace(ppl.block(ppl.seed(model, 0), hide=["mu", "z"])).get_trace()
    assert list(tr) == ["sd", "penalty", "y"]
    tr = ppl.trace(ppl.block(ppl.seed(model, 0), expose=["y"])).get_trace()
    assert list(tr) == ["y"]
    assert list(ppl.trace(ppl.block(ppl.seed(model, 0))).get_trace()) == []


def test_param_site():
    def m():
        return ppl.param("w", jnp.ones(2), constraint=dist.constraints.positive)

    tr = ppl.trace(m).get_trace()
    assert tr["w"].type == "param" and np.allclose(tr["w"].value, 1.0)
    with pytest.raises(ppl.MissingKeyError):
        ppl.trace(lambda: ppl.param("v", lambda key: jax.random.normal(key))).get_trace()
    assert ppl.trace(ppl.seed(lambda: ppl.param("v", lambda k: jax.random.normal(k)), 0)).get_trace()


def test_handlers_work_under_jit_and_vmap():
    def draw(key):
        return ppl.seed(model, key)()

    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    batched = jax.jit(jax.vmap(draw))(keys)
    looped = jnp.stack([draw(k) for k in keys])
    np.testing.assert_allclose(batched, looped, rtol=1e-12)


def test_handler_stack_is_per_thread():
    seen, ready, done = {}, threading.Event(), threading.Event()

    def other():
        ready.wait()
        seen["stack"] = _STACK.get()
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with ppl.seed(key=0):
        ready.set()
        done.wait()
    t.join()
    assert seen["stack"] == ()
    assert _STACK.get() == ()


def test_handler_stack_restored_after_exception():
    def bad():
        ppl.sample("x", dist.Normal(0.0, 1.0))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        ppl.trace(ppl.seed(bad, 0)).get_trace()
    assert _STACK.get() == ()
