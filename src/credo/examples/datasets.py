"""Image data sets for the variational autoencoder examples: bundled digits, user MNIST files.

Nothing here downloads anything or imports JAX: :func:`digits` reads a 45 KB
file shipped with credo, and :func:`load_mnist` / :func:`read_idx` read files
the user already has (MNIST or Fashion-MNIST, as ``.npz`` or in the IDX
format, gzipped or not). Malformed files raise :class:`credo.errors.ParseError`
naming the file and the byte at fault (``line`` is always 1 for these binary
formats; ``column`` is the 1-based byte offset).

Examples
--------
>>> from credo.examples.datasets import digits, train_test_split
>>> images, labels = digits()
>>> images.shape, images.dtype.name, float(images.max()), labels[:5].tolist()
((1797, 64), 'float32', 1.0, [0, 1, 2, 3, 4])
>>> x_train, y_train, x_test, y_test = train_test_split(images, labels, seed=0)
>>> x_train.shape, x_test.shape
((1258, 64), (539, 64))
"""

from __future__ import annotations

import gzip
import os
import struct
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from credo.errors import ArgumentError, ParseError

__all__ = ["Digits", "digits", "train_test_split", "read_idx", "load_mnist", "DIGITS_PATH"]

#: The bundled digits file: ``images`` uint8 (1797, 8, 8) with values 0..16, ``labels`` uint8.
DIGITS_PATH = Path(__file__).parent / "data" / "digits.npz"

#: Largest pixel value of the 8x8 digits (4x4 blocks of a 32x32 bitmap, counted).
DIGITS_MAX = 16

#: IDX type codes (LeCun et al. 1998) -> numpy dtype, big-endian.
_IDX_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}

#: The four files of an MNIST / Fashion-MNIST folder, by (split, part).
_MNIST_FILES = {("train", "images"): "train-images-idx3-ubyte",
                ("train", "labels"): "train-labels-idx1-ubyte",
                ("test", "images"): "t10k-images-idx3-ubyte",
                ("test", "labels"): "t10k-labels-idx1-ubyte"}


class Digits(NamedTuple):
    """Images and their digit labels."""

    images: np.ndarray
    labels: np.ndarray


def digits(*, flatten: bool = True, scale: bool = True) -> Digits:
    """The 8x8 handwritten digits bundled with credo (1,797 images, labels 0-9).

    The test set of the UCI "Optical Recognition of Handwritten Digits" data
    set (Alpaydin & Kaynak 1998), as distributed with scikit-learn
    (``sklearn.datasets.load_digits``): 32x32 bitmaps of digits written by 43
    people, each 4x4 block counted, so a pixel is an integer 0..16. Licence:
    Creative Commons Attribution 4.0 (CC BY 4.0),
    https://doi.org/10.24432/C50P49. Extracted once into
    ``credo/examples/data/digits.npz``; scikit-learn is not needed.

    Parameters
    ----------
    flatten : bool
        Return images of shape ``(1797, 64)`` (row-major) instead of ``(1797, 8, 8)``.
    scale : bool
        Divide by 16 and return float32 in [0, 1] (the VAE's input); else uint8 0..16.

    Returns
    -------
    Digits
        ``(images, labels)``; ``labels`` is int64, shape ``(1797,)``.

    References
    ----------
    Alpaydin, E., & Kaynak, C. (1998). Optical Recognition of Handwritten
    Digits [Dataset]. UCI Machine Learning Repository. https://doi.org/10.24432/C50P49
    """
    with np.load(DIGITS_PATH, allow_pickle=False) as f:
        images, labels = f["images"], f["labels"].astype(np.int64)
    if scale:
        images = images.astype(np.float32) / np.float32(DIGITS_MAX)
    if flatten:
        images = images.reshape(len(images), -1)
    return Digits(images, labels)


def train_test_split(images, labels=None, *, test_fraction: float = 0.3, seed: int = 0):
    """A fixed-seed random split (by default 70/30) of the rows of ``images`` (and ``labels``).

    Parameters
    ----------
    images : array, shape ``(n, ...)``
    labels : array, shape ``(n,)``, optional
    test_fraction : float
        In (0, 1); the test set has ``round(test_fraction * n)`` rows.
    seed : int
        Seed of the permutation (numpy's PCG64), so the split is reproducible.

    Returns
    -------
    tuple
        ``(x_train, y_train, x_test, y_test)``, or ``(x_train, x_test)`` without labels.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ArgumentError("test_fraction", f"must lie in (0, 1), got {test_fraction}")
    images = np.asarray(images)
    n = len(images)
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(test_fraction * n))
    test, train = perm[:n_test], perm[n_test:]
    if labels is None:
        return images[train], images[test]
    labels = np.asarray(labels)
    if len(labels) != n:
        raise ArgumentError("labels", f"{len(labels)} labels for {n} images")
    return images[train], labels[train], images[test], labels[test]


def _read_bytes(path) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ParseError(f"corrupt gzip stream ({err})", 1, 1, str(path)) from None
    return raw


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not.

    Layout (LeCun et al. 1998): two zero bytes, a type code (0x08 uint8,
    0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number
    of dimensions, one big-endian uint32 per dimension, then the data in
    row-major order.

    Returns
    -------
    ndarray
        Shape as declared, native byte order.

    Raises
    ------
    ParseError
        Bad magic number, unknown type code, or a data size that does not match
        the header (``column`` is the 1-based byte offset).

    References
    ----------
    LeCun, Y., Cortes, C., & Burges, C. J. C. The MNIST database of
    handwritten digits. http://yann.lecun.com/exdb/mnist/
    """
    raw = _read_bytes(path)
    source = str(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ParseError("not an IDX file: it must start with two zero bytes", 1, 1, source)
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ParseError(f"unknown IDX type code 0x{code:02X} (expected one of "
                         f"{', '.join(f'0x{c:02X}' for c in _IDX_DTYPES)})", 1, 3, source)
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ParseError(f"IDX header declares {ndim} dimensions but the file ends at byte "
                         f"{len(raw)}", 1, 4, source)
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ParseError(f"IDX header declares shape {shape} ({expected} data bytes) but the file "
                         f"holds {len(raw) - header}", 1, header + 1, source)
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find_idx(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(f"{folder} has no {stem} or {stem}.gz (MNIST file names)")


def _check_pair(images, labels, what: str, source: str) -> tuple:
    if images.ndim != 3:
        raise ParseError(f"{what} images must have 3 dimensions (n, rows, cols), got shape "
                         f"{images.shape}", 1, 1, source)
    if labels.ndim != 1 or len(labels) != len(images):
        raise ParseError(f"{what}: {labels.shape} labels for {len(images)} images", 1, 1, source)
    return images, labels.astype(np.int64)


def load_mnist(path) -> dict:
    """Load a user-provided MNIST or Fashion-MNIST copy; nothing is downloaded.

    Parameters
    ----------
    path : str or Path
        Either a ``.npz`` file with arrays ``x_train, y_train, x_test, y_test``
        (the layout of ``keras.datasets.mnist``; read with
        ``allow_pickle=False``), or a folder with the four IDX files
        ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each possibly
        ``.gz``), as both data sets are distributed.

    Returns
    -------
    dict
        ``{"train": (images, labels), "test": (images, labels)}``; images as
        stored (uint8 0..255, shape ``(n, 28, 28)``), labels int64. Scale with
        ``images.reshape(n, -1) / 255.0`` for :class:`credo.vi.vae.VAE`.

    Raises
    ------
    ParseError
        A malformed file, missing arrays, or images and labels that do not match.
    FileNotFoundError
    """
    path = Path(path)
    if path.is_dir():
        out = {}
        for split in ("train", "test"):
            img_path = _find_idx(path, _MNIST_FILES[(split, "images")])
            lab_path = _find_idx(path, _MNIST_FILES[(split, "labels")])
            out[split] = _check_pair(read_idx(img_path), read_idx(lab_path), split, str(img_path))
        return out
    if not path.exists():
        raise FileNotFoundError(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise ParseError(f"not a readable .npz file without pickled objects ({err})",
                         1, 1, os.fspath(path)) from None
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays]
    if missing:
        raise ParseError(f"missing arrays {missing} (found {sorted(arrays)})", 1, 1, os.fspath(path))
    return {split: _check_pair(arrays[f"x_{split}"], arrays[f"y_{split}"], split, os.fspath(path))
            for split in ("train", "test")}
