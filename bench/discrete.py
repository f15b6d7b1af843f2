"""Discrete exact inference, side by side: credo against pyAgrum and pgmpy.

For every network in ``../shared/networks`` (or ``--networks DIR``) and every
evidence case of its reference file, time an all-marginals query:

- hot: the engine already built, median over cases and repeats;
- first: building the engine plus the first query (for pyAgrum, from a
  BayesNet already in memory: its BIF reader rejects some of these files);
- batch: ``--batch`` evidence rows drawn by forward sampling, credo's batched
  junction tree (when available) against a loop of pyAgrum calls.

Prints a table of medians and ratios and writes ``bench/results/discrete.json``.
Install the peers with ``pip install -e .[bench]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import signal
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import credo

ROOT = Path(__file__).resolve().parents[1]


class _Timeout(Exception):
    pass


def _with_timeout(seconds, fn, *args):
    """Run ``fn`` with a wall-clock limit (pure-Python peers honour SIGALRM)."""
    def handler(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _median_time(fn, cases, repeats):
    times = []
    for _ in range(repeats):
        for case in cases:
            start = time.perf_counter()
            fn(case)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


# ------------------------------------------------------------------ credo
def credo_ve(model):
    def run(evidence):
        return credo.query(model, evidence=evidence, method="ve")
    return run


def credo_jt_engine(model):
    engine = credo.JunctionTree(model)
    return engine, (lambda evidence: engine.query(evidence=evidence))


# ---------------------------------------------------------------- pyAgrum
def to_pyagrum(model):
    """The same network as a pyAgrum BayesNet (its BIF reader rejects state names such as ``Asy/Patch``)."""
    import itertools

    import pyagrum as gum

    bn = gum.BayesNet(model.name or "credo")
    for v in model.variables:
        bn.add(gum.LabelizedVariable(str(v), str(v), [str(s) for s in model.states(v)]))
    for v in model.variables:
        for p in model.parents(v):
            bn.addArc(str(p), str(v))
    for v in model.variables:
        cpd = model.cpd(v)
        parent_states = [model.states(p) for p in cpd.parents]
        for config in itertools.product(*[range(len(s)) for s in parent_states]):
            where = {str(p): int(i) for p, i in zip(cpd.parents, config)}
            bn.cpt(str(v))[where] = cpd.table[config].tolist()
    return bn


def pyagrum_engine(model, kind):
    import pyagrum as gum

    bn = to_pyagrum(model)
    engine = getattr(gum, kind)(bn)
    names = list(bn.names())

    def run(evidence):
        engine.eraseAllEvidence()
        engine.setEvidence(evidence)
        engine.makeInference()
        return [engine.posterior(n) for n in names]

    return run


# ------------------------------------------------------------------ pgmpy
def pgmpy_engine(path):
    from pgmpy.inference import VariableElimination
    from pgmpy.readwrite import BIFReader

    model = BIFReader(str(path)).get_model()
    engine = VariableElimination(model)
    variables = list(model.nodes())

    def run(evidence):
        free = [v for v in variables if v not in evidence]
        return [engine.query([v], evidence=evidence, show_progress=False) for v in free]

    return run


def bench_network(path: Path, repeats: int, batch: int, pgmpy_timeout: float, seed: int) -> dict:
    reference = json.loads(path.with_suffix(".reference.json").read_text())
    cases = [case["evidence"] for case in reference["cases"]]
    row: dict = {"network": path.stem}
    start = time.perf_counter()
    model = credo.read_bif(path)
    row["variables"] = len(model.variables)
    row["credo_parse_s"] = time.perf_counter() - start

    row["credo_ve_hot_s"] = _median_time(credo_ve(model), cases, repeats)
    if hasattr(credo, "JunctionTree"):
        start = time.perf_counter()
        engine, run = credo_jt_engine(model)
        run(cases[0])
        row["credo_jt_first_s"] = time.perf_counter() - start
        row["credo_jt_hot_s"] = _median_time(run, cases, repeats)

    for kind, key in [("LazyPropagation", "pyagrum_lazy"), ("ShaferShenoyInference", "pyagrum_ss")]:
        start = time.perf_counter()
        run = pyagrum_engine(model, kind)
        run(cases[0])
        row[f"{key}_first_s"] = time.perf_counter() - start
        row[f"{key}_hot_s"] = _median_time(run, cases, repeats)

    try:
        run = _with_timeout(pgmpy_timeout, pgmpy_engine, path)
        row["pgmpy_ve_hot_s"] = _with_timeout(pgmpy_timeout, _median_time, run, cases[:2], 1)
    except _Timeout:
        row["pgmpy_ve_hot_s"] = None
        row["pgmpy_note"] = f"timed out after {pgmpy_timeout:.0f} s"

    if batch:
        row.update(bench_batch(model, cases, batch, seed))
    return row


def bench_batch(model, cases, batch, seed) -> dict:
    observed = sorted({v for case in cases for v in case}, key=model.variables.index)[:8]
    if not observed:
        return {}
    draws = model.sample(batch, seed=seed)[observed]
    rows = [dict(r) for r in draws.to_dict(orient="records")]
    out = {"batch_rows": batch, "batch_observed": len(observed)}
    run = pyagrum_engine(model, "LazyPropagation")
    start = time.perf_counter()
    for evidence in rows:
        run(evidence)
    out["pyagrum_loop_s"] = time.perf_counter() - start
    if hasattr(credo, "JunctionTree"):
        engine = credo.JunctionTree(model)
        engine.query(evidence=draws.iloc[:2])  # compile the batched path outside the timing
        start = time.perf_counter()
        engine.query(evidence=draws)
        out["credo_batch_s"] = time.perf_counter() - start
    return out


def _ratio(a, b):
    return None if a is None or b is None else a / b


def format_table(rows) -> str:
    header = ("network", "vars", "credo VE ms", "credo JT ms", "pyAgrum best ms", "JT/pyAgrum",
              "JT first/pyAgrum first", "pgmpy VE ms", "pgmpy/credo", "batch speedup")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        best = min(r["pyagrum_lazy_hot_s"], r["pyagrum_ss_hot_s"])
        best_first = min(r["pyagrum_lazy_first_s"], r["pyagrum_ss_first_s"])
        credo_best = min(filter(None, [r.get("credo_jt_hot_s"), r["credo_ve_hot_s"]]))

        def ms(x):
            return "-" if x is None else f"{1e3 * x:.2f}"

        def ratio(x):
            return "-" if x is None else f"{x:.2f}x"

        lines.append("| " + " | ".join([
            r["network"], str(r["variables"]), ms(r["credo_ve_hot_s"]), ms(r.get("credo_jt_hot_s")), ms(best),
            ratio(_ratio(r.get("credo_jt_hot_s"), best)),
            ratio(_ratio(r.get("credo_jt_first_s"), best_first)),
            ms(r.get("pgmpy_ve_hot_s")) if r.get("pgmpy_ve_hot_s") else r.get("pgmpy_note", "-"),
            ratio(_ratio(r.get("pgmpy_ve_hot_s"), credo_best)),
            ratio(_ratio(r.get("pyagrum_loop_s"), r.get("credo_batch_s"))),
        ]) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=Path, default=ROOT.parent / "shared" / "networks")
    parser.add_argument("--only", nargs="*", help="network names to run (default all)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--pgmpy-timeout", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "discrete.json")
    args = parser.parse_args(argv)

    paths = sorted(args.networks.glob("*.bif"), key=lambda p: p.stat().st_size)
    if args.only:
        paths = [p for p in paths if p.stem in args.only]
    rows = []
    for path in paths:
        print(f"... {path.stem}", file=sys.stderr, flush=True)
        rows.append(bench_network(path, args.repeats, args.batch, args.pgmpy_timeout, args.seed))
    machine = f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}"
    table = format_table(rows)
    print(f"machine: {machine}\n")
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
