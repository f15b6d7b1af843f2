"""Saving and loading a :class:`~credo.Posterior`: one ``.npz`` file, or ArviZ's NetCDF.

The ``.npz`` format needs nothing but numpy and keeps everything a
Posterior holds: draws, sampler statistics (of sampling and warmup), warmup
draws, observed data, adapted step sizes and mass matrices, gradient counts,
timing and flags. Arrays are stored under ``group/name`` keys
(``draws/mu``, ``stats/step_size``, ...) next to a JSON header
``__credo__`` with the scalars and a format version. Nothing is pickled, so
loading never runs code from the file (``allow_pickle=False``).

A ``.nc`` path goes through ArviZ (``Posterior.to_arviz().to_netcdf``); the
credo-only fields travel as a JSON attribute of the posterior group, so
:func:`load_posterior` restores them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from credo.errors import ArgumentError, ModelError

__all__ = ["save_posterior", "load_posterior", "FORMAT", "FORMAT_VERSION"]

FORMAT, FORMAT_VERSION = "credo.posterior", 1
_HEADER = "__credo__"
_GROUPS = ("draws", "stats", "warmup_stats", "warmup_draws", "observed")
_ARVIZ_NAMES = {"is_divergent": "diverging", "num_integration_steps": "n_steps"}


def _header(posterior) -> dict:
    return {"format": FORMAT, "version": FORMAT_VERSION, "algorithm": posterior.algorithm,
            "interrupted": bool(posterior.interrupted), "max_tree_depth": posterior.max_tree_depth,
            "timing": {k: float(v) for k, v in posterior.timing.items()},
            "num_grad_evals": [int(posterior.num_grad_evals.warmup), int(posterior.num_grad_evals.sampling)]}


def save_posterior(posterior, path) -> Path:
    """Write ``posterior`` to ``path`` (``.npz``, or ``.nc`` for ArviZ NetCDF); returns the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".nc":
        return _save_netcdf(posterior, path)
    if suffix != ".npz":
        raise ArgumentError("path", f"{str(path)!r}: a Posterior is saved as .npz (numpy only) or .nc "
                                    f"(ArviZ NetCDF), not {suffix or 'a file without an extension'}")
    arrays = {"step_size": np.asarray(posterior.step_size),
              "inverse_mass_matrix": np.asarray(posterior.inverse_mass_matrix)}
    for group in _GROUPS:
        for name, value in (getattr(posterior, group) or {}).items():
            arrays[f"{group}/{name}"] = np.asarray(value)
    arrays[_HEADER] = np.frombuffer(json.dumps(_header(posterior)).encode(), dtype=np.uint8)
    with open(path, "wb") as handle:  # np.savez would append .npz to other names
        np.savez(handle, **arrays)
    return path


def load_posterior(path):
    """Read a Posterior written by :meth:`Posterior.save` (``.npz`` or ``.nc``).

    Raises
    ------
    ModelError
        The file is not a credo posterior, or of a newer format version.
    """
    from credo.mcmc.posterior import GradEvals, Posterior

    path = Path(path)
    if path.suffix.lower() == ".nc":
        return _load_netcdf(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as error:
        raise ModelError(f"{str(path)!r} is not a saved Posterior (.npz): {error}") from None
    if _HEADER not in arrays:
        raise ModelError(f"{str(path)!r} has no credo header: not written by Posterior.save")
    header = json.loads(arrays.pop(_HEADER).tobytes().decode())
    if header.get("format") != FORMAT or header.get("version", 0) > FORMAT_VERSION:
        raise ModelError(f"{str(path)!r} holds {header.get('format')} version {header.get('version')}; this "
                         f"credo reads {FORMAT} up to version {FORMAT_VERSION}")
    groups = {g: {} for g in _GROUPS}
    for key, value in arrays.items():
        group, _, name = key.partition("/")
        if group in groups:
            groups[group][name] = value
    warmup, sampling = header["num_grad_evals"]
    return Posterior(groups["draws"], groups["stats"], num_grad_evals=GradEvals(warmup, sampling),
                     step_size=arrays["step_size"], inverse_mass_matrix=arrays["inverse_mass_matrix"],
                     observed=groups["observed"], interrupted=header["interrupted"],
                     algorithm=header["algorithm"], max_tree_depth=header["max_tree_depth"],
                     timing=header["timing"], warmup_draws=groups["warmup_draws"] or None,
                     warmup_stats=groups["warmup_stats"])


def _save_netcdf(posterior, path: Path) -> Path:
    idata = posterior.to_arviz()
    extras = _header(posterior)
    extras["step_size"] = np.asarray(posterior.step_size).tolist()
    extras["inverse_mass_matrix"] = np.asarray(posterior.inverse_mass_matrix).tolist()
    idata.posterior.attrs[_HEADER] = json.dumps(extras)
    idata.to_netcdf(str(path))
    return path


def _load_netcdf(path: Path):
    from credo.mcmc.posterior import GradEvals, Posterior

    try:
        import arviz
    except ImportError:  # pragma: no cover - depends on the environment
        raise ModelError(f"reading {str(path)!r} needs ArviZ (pip install arviz); or save as .npz") from None
    idata = arviz.from_netcdf(str(path))
    if _HEADER not in idata.posterior.attrs:
        raise ModelError(f"{str(path)!r} has no credo header: not written by Posterior.save")
    extras = json.loads(idata.posterior.attrs[_HEADER])
    draws = {k: np.asarray(v) for k, v in idata.posterior.data_vars.items()}
    back = {v: k for k, v in _ARVIZ_NAMES.items()}
    stats = {back.get(k, k): np.asarray(v) for k, v in idata.sample_stats.data_vars.items()} \
        if "sample_stats" in idata.groups() else {}
    observed = {k: np.asarray(v) for k, v in idata.observed_data.data_vars.items()} \
        if "observed_data" in idata.groups() else {}
    warmup, sampling = extras["num_grad_evals"]
    return Posterior(draws, stats, num_grad_evals=GradEvals(warmup, sampling), step_size=extras["step_size"],
                     inverse_mass_matrix=extras["inverse_mass_matrix"], observed=observed,
                     interrupted=extras["interrupted"], algorithm=extras["algorithm"],
                     max_tree_depth=extras["max_tree_depth"], timing=extras["timing"])
