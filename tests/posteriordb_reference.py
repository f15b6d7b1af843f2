"""posteriordb reference summaries for the tests, with keys in credo's 0-based naming.

The summaries were copied from posteriordb into
``tests/data/posteriordb/<posterior>/reference_summary.json``. posteriordb names
elements Stan's way, 1-based (``beta[1]``, ``theta[1,2]``); here they become
``beta[0]``, ``theta[0,1]``, and :func:`site_value` picks that element out of
a dict of per-site arrays.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "posteriordb"

_KEY = re.compile(r"^(?P<name>[^\[\]]+)(?:\[(?P<index>[0-9, ]+)\])?$")


def parse_key(key: str) -> tuple[str, tuple[int, ...]]:
    """``"beta[0]"`` -> ``("beta", (0,))``; ``"sigma"`` -> ``("sigma", ())``."""
    match = _KEY.match(key)
    if match is None:
        raise ValueError(f"not a parameter key: {key!r}")
    index = match["index"]
    return match["name"], tuple(int(i) for i in index.split(",")) if index else ()


def to_credo_key(stan_key: str) -> str:
    """Stan's 1-based ``"beta[1]"`` -> credo's ``"beta[0]"``."""
    name, index = parse_key(stan_key)
    if not index:
        return name
    if min(index) < 1:
        raise ValueError(f"Stan indices start at 1: {stan_key!r}")
    return f"{name}[{','.join(str(i - 1) for i in index)}]"


def load_reference(name: str) -> dict[str, dict]:
    """Reference summary of posterior ``name``: credo key -> ``{mean, sd, q05, q50, q95}``.

    Keys keep posteriordb's order.
    """
    path = DATA / name / "reference_summary.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {to_credo_key(key): dict(stats) for key, stats in raw.items()}


def site_value(values: dict, key: str):
    """The element ``key`` (credo naming) of per-site arrays ``values``.

    ``values[name]`` has the site's shape as its trailing dimensions and any
    leading ones (chains, draws), so ``site_value(post.draws, "beta[0]")`` is
    ``post.draws["beta"][..., 0]``, shape ``(chains, draws)``, and a dict of
    single values gives a scalar.
    """
    name, index = parse_key(key)
    return np.asarray(values[name])[(Ellipsis, *index)]


def assert_matches_reference(draws: dict, reference: dict, *, mean_tol=0.1, sd_tol=0.10, rhat=1.01):
    """Every key of ``reference`` (``{key: {mean, sd}}``): mean within ``mean_tol`` reference sds,
    sd within ``sd_tol`` relative, R-hat below ``rhat`` (the NUTS issue's bar)."""
    from credo.diagnostics import summary

    table = summary(draws)
    for key, ref in reference.items():
        row = table.loc[key]
        assert abs(row["mean"] - ref["mean"]) < mean_tol * ref["sd"], (key, row["mean"], ref)
        assert abs(row["sd"] / ref["sd"] - 1) < sd_tol, (key, row["sd"], ref)
        assert row["r_hat"] < rhat, (key, row["r_hat"])

