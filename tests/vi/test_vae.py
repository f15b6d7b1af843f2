"""Variational autoencoder (credo.vi.vae): likelihood, bounds against quadrature, training,
the amortization gap, files, and the MNIST/digits loaders."""

import gzip
import json
import math
import struct

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from credo.errors import DistributionError, ModelError, ParseError
from credo.examples.datasets import digits, load_mnist, read_idx, train_test_split
from credo.vi.vae import VAE, continuous_bernoulli_log_prob, continuous_bernoulli_mean


@pytest.mark.parametrize("logit", [-6.0, -0.4, 0.0, 0.004, 1.3, 9.0])
def test_continuous_bernoulli_is_a_density_with_the_stated_mean(logit):
    x = np.linspace(0.0, 1.0, 20001)
    density = np.exp(np.asarray(continuous_bernoulli_log_prob(jnp.asarray(x), logit), dtype=float))
    # the float32 log density limits the agreement to ~1e-6 relative
    assert integrate.simpson(density, x=x) == pytest.approx(1.0, abs=1e-5)
    mean = integrate.simpson(x * density, x=x)
    assert float(continuous_bernoulli_mean(jnp.float32(logit))) == pytest.approx(mean, abs=1e-5)


@pytest.fixture(scope="module")
def split():
    images, labels = digits()
    return train_test_split(images, labels, seed=0)


@pytest.fixture(scope="module")
def trained(split):
    """A small VAE (latent 1, so that log p(x) can be done by quadrature) before and after
    40 epochs on the digits' training split."""
    x_train, _, x_test, _ = split
    vae = VAE(64, 1, hidden=(32,), seed=0)
    fitted, history = vae.fit(x_train, epochs=40, batch_size=64, learning_rate=3e-3,
                              validation=x_test[:200], progress=False, seed=0)
    return vae, fitted, history


def test_training_improves_the_test_elbo(trained, split):
    x_test = split[2]
    untrained, fitted, history = trained
    before, after = untrained.elbo(x_test, seed=1), fitted.elbo(x_test, seed=1)
    # measured: 0.2 -> 98.8 nats per image; the margin leaves room for platform round-off
    assert after - before > 60.0
    assert history.train_elbo.shape == history.validation_elbo.shape == (40,)
    assert history.validation_elbo[-1] > history.validation_elbo[0] + 60.0  # measured 13.7 -> 98.1
    assert untrained.encoder[0].weight is not fitted.encoder[0].weight  # immutable: a new VAE


def test_iwae_is_above_the_elbo_and_grows_with_k(trained, split):
    x = np.tile(split[2], (4, 1))  # 4 independent estimates per test image: 2 x smaller errors
    fitted = trained[1]
    # per-point estimates on the same images, independent noise: paired differences, whose
    # standard error excludes the spread between images
    values = {k: fitted.iwae(x, num_samples=k, seed=k, per_point=True) for k in (1, 10, 1000)}
    elbo = fitted.elbo(x, num_samples=100, seed=3, per_point=True)
    def paired(a, b):
        d = a - b
        return d.mean(), d.std(ddof=1) / math.sqrt(len(d))
    gap, se = paired(values[1], elbo)
    assert abs(gap) < 4 * se  # L_1 is the ELBO
    assert fitted.iwae(x, num_samples=100) >= elbo.mean()
    for small, large in ((1, 10), (10, 1000)):
        diff, se = paired(values[large], values[small])
        assert diff > 3 * se, (small, large, diff, se)  # measured: 9.2 and 5.6 standard errors


def test_bounds_against_the_exact_likelihood_by_quadrature(trained, split):
    """Latent size 1: log p(x) is a 1-D integral, done on a grid. ELBO <= IWAE_K <= log p(x)
    for the initial and the trained weights, and IWAE with K = 1000 comes within 0.5 (initial) and 0.1 nats (trained) of it."""
    x_test = split[2][:50]
    grid = jnp.linspace(-10.0, 10.0, 4001)
    for vae, tol in zip(trained[:2], (0.5, 0.1)):
        loglik = vae._log_likelihood(jnp.asarray(x_test)[:, None, :], grid[None, :, None])
        log_joint = np.asarray(loglik - 0.5 * grid**2 - 0.5 * math.log(2 * math.pi), dtype=float)
        top = log_joint.max(1, keepdims=True)
        exact = np.mean(top[:, 0] + np.log(integrate.trapezoid(np.exp(log_joint - top),
                                                               np.asarray(grid))))
        elbo = vae.elbo(x_test, num_samples=100)
        iwae = vae.iwae(x_test, num_samples=1000)
        assert elbo < iwae < exact + 0.02
        assert iwae == pytest.approx(exact, abs=tol)


def test_amortization_gap_is_positive(trained, split):
    result = trained[1].amortization_gap(split[2][:100], steps=150, seed=0)
    # per-image VI starts at the encoder's q and climbs: never worse on average, and
    # measured 0.31 nats better after 150 steps on this briefly trained model
    assert result.gap > 0.1
    assert result.optimized_elbo == pytest.approx(result.amortized_elbo + result.gap, abs=1e-3)
    assert result.per_point.shape == (100,)


def test_encode_decode_sample_shapes_and_ranges(trained, split):
    fitted = trained[1]
    loc, scale = fitted.encode(split[2][:5])
    assert loc.shape == scale.shape == (5, 1) and np.all(scale > 0)
    assert fitted.reconstruct(split[2][:5]).shape == (5, 64)
    for mean in (True, False):
        draws = fitted.sample(7, seed=0, mean=mean)
        assert draws.shape == (7, 64) and draws.min() >= 0 and draws.max() <= 1
    with pytest.raises(DistributionError, match=r"\[0, 1\]"):
        fitted.elbo(split[2][:5] * 16)
    with pytest.raises(ModelError, match="shape"):
        fitted.encode(np.zeros((3, 10)))


def test_gaussian_likelihood_against_scipy(split):
    from scipy import stats

    vae = VAE(64, 2, hidden=(16,), likelihood="gaussian", seed=1)
    x, z = split[2][:3], np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32)
    sigma = 0.01 + np.log1p(np.exp(np.asarray(vae.raw_noise, dtype=float)))
    expected = stats.norm(vae.decode(z), sigma).logpdf(x).sum(1)
    np.testing.assert_allclose(vae._log_likelihood(jnp.asarray(x), jnp.asarray(z)), expected, rtol=1e-5)


# ------------------------------------------------------------------ files
def test_save_load_round_trip(trained, tmp_path, split):
    fitted = trained[1]
    path = fitted.save(tmp_path / "model.npz")
    loaded = VAE.load(path)
    assert loaded.config == fitted.config
    for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(fitted)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(loaded.encode(split[2][:4])[0], fitted.encode(split[2][:4])[0])


def _rewrite(path, out, change):
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    change(arrays)
    with open(out, "wb") as f:
        np.savez(f, **arrays)
    return out


def _header(arrays):
    return json.loads(arrays["__header__"].tobytes().decode())


def _set_header(arrays, header):
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)


@pytest.mark.parametrize("case", ["value", "shape", "format", "config", "not-json", "pickle",
                                  "garbage", "missing"])
def test_tampered_or_malformed_files_raise_parse_error(trained, tmp_path, case):
    good = trained[1].save(tmp_path / "good.npz")
    bad = tmp_path / "bad.npz"
    if case == "value":
        def change(a):
            a["a000"] = a["a000"] + np.float32(1e-3)
    elif case == "shape":
        def change(a):
            a["a000"] = a["a000"][:-1]
    elif case == "format":
        def change(a):
            _set_header(a, {**_header(a), "format": "something.else"})
    elif case == "config":
        def change(a):
            _set_header(a, {**_header(a), "config": {**_header(a)["config"], "latent_dim": 3}})
    elif case == "not-json":
        def change(a):
            a["__header__"] = np.frombuffer(b"{not json", np.uint8)
    elif case == "missing":
        def change(a):
            del a["a001"]
    if case == "pickle":
        with open(bad, "wb") as f:
            np.savez(f, __header__=np.array([{"format": "credo.vae"}], dtype=object))
    elif case == "garbage":
        bad.write_bytes(b"PK\x03\x04 definitely not a zip archive")
    else:
        _rewrite(good, bad, change)
    with pytest.raises(ParseError):
        VAE.load(bad)


# ------------------------------------------------------------------ data loaders
def _idx_bytes(array, code=0x08):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _mnist_folder(folder, rng, zipped):
    parts = {"train": 7, "test": 3}
    expected = {}
    for split, n in parts.items():
        images = rng.integers(0, 256, size=(n, 4, 5), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        expected[split] = (images, labels)
        stem = "train" if split == "train" else "t10k"
        for name, array in ((f"{stem}-images-idx3-ubyte", images), (f"{stem}-labels-idx1-ubyte", labels)):
            data = _idx_bytes(array)
            if zipped:
                (folder / (name + ".gz")).write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
    return expected


@pytest.mark.parametrize("zipped", [False, True])
def test_mnist_idx_folder(tmp_path, zipped):
    expected = _mnist_folder(tmp_path, np.random.default_rng(0), zipped)
    loaded = load_mnist(tmp_path)
    for split in ("train", "test"):
        np.testing.assert_array_equal(loaded[split][0], expected[split][0])
        np.testing.assert_array_equal(loaded[split][1], expected[split][1])


def test_idx_other_types_and_errors(tmp_path):
    floats = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    (tmp_path / "f.idx").write_bytes(_idx_bytes(floats, 0x0D))
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), floats)
    ints = np.array([-3, 70000, 5], dtype=np.int32)
    (tmp_path / "i.idx").write_bytes(_idx_bytes(ints, 0x0C))
    np.testing.assert_array_equal(read_idx(tmp_path / "i.idx"), ints)
    cases = {"magic": b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00",
             "code": b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00",
             "short": b"\x00\x00\x08\x02" + struct.pack(">I", 2),
             "size": b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x00\x00",
             "gzip": b"\x1f\x8b\x08\x00garbage"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ParseError):
            read_idx(tmp_path / name)


def test_mnist_npz_and_its_errors(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {"x_train": rng.integers(0, 256, (5, 4, 4), dtype=np.uint8), "y_train": np.arange(5),
              "x_test": rng.integers(0, 256, (2, 4, 4), dtype=np.uint8), "y_test": np.arange(2)}
    np.savez(tmp_path / "mnist.npz", **arrays)
    loaded = load_mnist(tmp_path / "mnist.npz")
    np.testing.assert_array_equal(loaded["train"][0], arrays["x_train"])
    np.testing.assert_array_equal(loaded["test"][1], arrays["y_test"])
    np.savez(tmp_path / "partial.npz", x_train=arrays["x_train"])
    with pytest.raises(ParseError, match="missing arrays"):
        load_mnist(tmp_path / "partial.npz")
    np.savez(tmp_path / "mismatch.npz", **{**arrays, "y_test": np.arange(3)})
    with pytest.raises(ParseError, match="labels"):
        load_mnist(tmp_path / "mismatch.npz")
    np.savez(tmp_path / "pickled.npz", **{**arrays, "x_train": np.array([{}], dtype=object)})
    with pytest.raises(ParseError):
        load_mnist(tmp_path / "pickled.npz")


def test_digits_loader():
    images, labels = digits(flatten=False, scale=False)
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and images.max() == 16
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    x_train, x_test = train_test_split(images, seed=0)
    assert len(x_train) + len(x_test) == 1797 and len(x_test) == 539
    again = train_test_split(images, seed=0)
    np.testing.assert_array_equal(x_test, again[1])
