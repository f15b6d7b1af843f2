"""Plates: broadcasting, nesting, dims, subsampling."""

import jax.numpy as jnp
import numpy as np
import pytest

import credo.ppl as ppl
from credo import distributions as dist
from credo.errors import ModelError


def run(model, *args, key=0, **kwargs):
    return ppl.trace(ppl.seed(model, key)).get_trace(*args, **kwargs)


def test_plate_broadcasts_batch_shape():
    def m():
        with ppl.plate("N", 5):
            ppl.sample("x", dist.Normal(0.0, 1.0))
            ppl.sample("v", dist.Normal(jnp.zeros(5), 1.0))

    tr = run(m)
    assert tr["x"].value.shape == (5,) and tr["x"].fn.batch_shape == (5,)
    assert tr["v"].value.shape == (5,)
    assert tr["x"].plates == (ppl.PlateFrame("N", 5, 5, -1),)
    assert tr["N"].type == "plate" and tr["N"].kwargs["dim"] == -1
    np.testing.assert_array_equal(tr["N"].value, np.arange(5))


def test_nested_plates_allocate_dims_right_to_left():
    def m():
        with ppl.plate("outer", 3):
            a = ppl.sample("a", dist.Normal(0.0, 1.0))
            with ppl.plate("inner", 4):
                b = ppl.sample("b", dist.Normal(0.0, 1.0))
        return a, b

    tr = run(m)
    assert tr["a"].value.shape == (3,)
    assert tr["b"].value.shape == (4, 3)  # inner plate takes the next dim to the left
    assert tr["b"].plate_names == ("outer", "inner")
    assert [f.dim for f in tr["b"].plates] == [-1, -2]


def test_explicit_plate_dims():
    def m():
        with ppl.plate("rows", 3, dim=-2):
            with ppl.plate("cols", 4):
                ppl.sample("x", dist.Normal(0.0, 1.0))

    tr = run(m)
    assert tr["x"].value.shape == (3, 4)
    assert tr["cols"].kwargs["dim"] == -1


def test_plate_dim_clash_and_bad_broadcast_raise():
    def clash():
        with ppl.plate("a", 2, dim=-1):
            with ppl.plate("b", 3, dim=-1):
                pass

    with pytest.raises(ModelError, match="dim"):
        run(clash)

    def bad():
        with ppl.plate("N", 3):
            ppl.sample("x", dist.Normal(jnp.zeros(4), 1.0))

    with pytest.raises(ModelError, match="broadcast"):
        run(bad)


def test_plate_with_event_dims():
    def m():
        with ppl.plate("N", 6):
            ppl.sample("x", dist.Normal(jnp.zeros(2), 1.0).to_event(1))

    tr = run(m)
    assert tr["x"].value.shape == (6, 2)
    assert tr["x"].log_prob.shape == (6,)


DATA = jnp.linspace(-2.0, 2.0, 20)


def subsampled(data):
    mu = ppl.sample("mu", dist.Normal(0.0, 1.0))
    with ppl.plate("N", data.shape[0], subsample_size=5) as idx:
        ppl.sample("obs", dist.Normal(mu, 1.0), obs=data[idx])
    return idx


def test_subsample_scales_log_likelihood_exactly():
    tr = run(subsampled, DATA)
    idx = tr["N"].value
    assert idx.shape == (5,) and len(set(np.asarray(idx).tolist())) == 5
    mu = tr["mu"].value
    lp = dist.Normal(mu, 1.0).log_prob(DATA[idx])
    assert tr["obs"].scale == 4.0
    np.testing.assert_allclose(jnp.sum(tr["obs"].log_prob), 4.0 * jnp.sum(lp), rtol=1e-12)
    assert tr["mu"].scale is None  # sites outside the plate are not scaled


def test_subsample_indices_reproducible_from_seed():
    a = run(subsampled, DATA, key=7)["N"].value
    b = run(subsampled, DATA, key=7)["N"].value
    c = run(subsampled, DATA, key=8)["N"].value
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # the value returned by the context manager is the recorded one
    np.testing.assert_array_equal(ppl.seed(subsampled, 7)(DATA), a)


def test_subsample_without_seed_raises_and_indices_can_be_substituted():
    with pytest.raises(ppl.MissingKeyError, match="'N'"):
        ppl.trace(ppl.substitute(subsampled, {"mu": 0.0})).get_trace(DATA)
    idx = jnp.array([0, 1, 2, 3, 4])
    tr = ppl.trace(ppl.substitute(subsampled, {"mu": 0.0, "N": idx})).get_trace(DATA)
    np.testing.assert_array_equal(tr["obs"].value, DATA[:5])


def test_logdensity_applies_subsample_scaling():
    with pytest.raises(ModelError, match="seed"):
        ppl.logdensity(subsampled, {"data": DATA})
    ld = ppl.logdensity(subsampled, {"data": DATA}, seed=3)
    idx = run(subsampled, DATA, key=3)["N"].value
    x = jnp.array([0.4])
    expected = dist.Normal(0.0, 1.0).log_prob(0.4) + 4 * jnp.sum(dist.Normal(0.4, 1.0).log_prob(DATA[idx]))
    np.testing.assert_allclose(ld.fn(x), expected, rtol=1e-12)
    # indices given in data fix the subsample instead of a seed
    ld_idx = ppl.logdensity(subsampled, {"data": DATA, "N": idx})
    np.testing.assert_allclose(ld_idx.fn(x), expected, rtol=1e-12)


def test_bad_subsample_size():
    with pytest.raises(ModelError):
        ppl.plate("N", 3, subsample_size=4)
