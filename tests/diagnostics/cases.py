"""Shared draws for the diagnostics tests, and ArviZ imported quietly."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest


def import_arviz():
    """ArviZ with its import-time FutureWarnings and its NaN/shape log messages silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        az = pytest.importorskip("arviz")
    logging.getLogger("arviz").setLevel(logging.CRITICAL)
    return az


def ar1(rng: np.random.Generator, shape: tuple[int, ...], phi: float) -> np.ndarray:
    """Stationary AR(1) chains ``x_t = phi x_{t-1} + e_t`` of shape (chains, draws, *params)."""
    noise = rng.normal(size=shape)
    x = np.empty(shape)
    x[:, 0] = noise[:, 0] / np.sqrt(1 - phi**2)
    for t in range(1, shape[1]):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    return x


def make_cases() -> dict[str, np.ndarray]:
    """Named draws, shape (chains, draws, *params), covering ordinary and awkward cases."""
    rng = np.random.default_rng(20210101)
    with_inf = rng.normal(size=(2, 50, 2))
    with_inf[1, 3, 0] = np.inf
    with_inf[0, 7, 1] = -np.inf
    return {
        "iid": rng.normal(size=(4, 500)),
        "ar1_0.9": ar1(rng, (4, 400), 0.9),
        "ar1_0.99": ar1(rng, (4, 1000), 0.99),
        "ar1_negative": ar1(rng, (3, 200), -0.7),
        "cauchy": rng.standard_cauchy(size=(4, 300)),
        "shifted_means": rng.normal(size=(4, 200)) + np.arange(4)[:, None],
        "one_chain": ar1(rng, (1, 301), 0.5),
        "odd_draws": ar1(rng, (3, 101), 0.7),
        "multi_dim": ar1(rng, (2, 150, 2, 3), 0.6),
        "four_draws": rng.normal(size=(2, 4)),
        "seven_draws": rng.normal(size=(3, 7)),
        "ties": rng.poisson(2.0, size=(4, 200)).astype(float),
        "constant": np.full((4, 100), 2.5),
        "with_inf": with_inf,
    }


CASES = make_cases()
