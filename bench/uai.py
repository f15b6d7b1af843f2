"""All marginals of the UAI 2014 problems in ``../shared/uai``, beside published times.

For each problem: parse, build the junction tree, answer the first query
(evidence from the ``.evid`` file), then a hot query; marginals are checked
against the ``.MAR`` solution. The published column is the 2023 evaluation
in the TensorInference.jl repository
(docs/src/assets/performance-evaluation/out/co23/2023-09-10--20-20-45/out.csv):
another machine, so it orients rather than ranks; no ratio is computed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

import credo

ROOT = Path(__file__).resolve().parents[1]

#: Seconds for all marginals, from the published CSV (TensorInference, JunctionTrees v2, Merlin, libDAI).
PUBLISHED = {
    "Alchemy_11": (0.0456, 1.045, 255.9, 4.853),
    "CSP_11": (7.839, 2.814, 11.37, 20.06),
    "Grids_11": (0.1552, 0.1187, 0.6818, 1.576),
    "Grids_12": (0.00775, 0.00311, 0.00258, 0.00899),
    "ObjectDetection_11": (0.0921, 0.1310, 3.538, 8.047),
    "ObjectDetection_12": (0.0846, 0.748, 4.366, 13.79),
    "Pedigree_11": (0.0210, 0.01856, 0.0870, 0.626),
    "Promedus_24": (0.00490, 0.00195, 0.000538, 0.00490),
    "Promedus_26": (0.01262, 0.00473, 0.000628, 0.03646),
    "Segmentation_11": (0.02826, 0.01939, 0.1271, 0.2327),
}


def read_mar(path: Path) -> list[np.ndarray]:
    tokens = path.read_text().split()
    count, position, out = int(tokens[1]), 2, []
    for _ in range(count):
        k = int(tokens[position])
        out.append(np.array(tokens[position + 1:position + 1 + k], dtype=float))
        position += 1 + k
    return out


def bench_problem(path: Path, max_width: int) -> dict:
    row: dict = {"problem": path.stem}
    start = time.perf_counter()
    model, evidence = credo.read_uai(path, evid=path.with_name(path.name + ".evid"))
    row["parse_s"] = time.perf_counter() - start
    order = credo.elimination_order(model, evidence=evidence)
    row["induced_width"] = order.induced_width
    row["max_clique_states"] = order.max_clique_states
    if order.induced_width > max_width:
        row["note"] = f"induced width {order.induced_width} > {max_width}: not attempted"
        return row
    start = time.perf_counter()
    engine = credo.JunctionTree(model)
    result = engine.query(evidence)
    row["first_s"] = time.perf_counter() - start
    start = time.perf_counter()
    result = engine.query(evidence)
    row["hot_s"] = time.perf_counter() - start
    reference = read_mar(path.with_name(path.name + ".MAR"))
    row["max_marginal_error"] = max(
        float(np.max(np.abs(np.array(list(result.marginals[v].values())) - reference[v])))
        for v in model.variables if v not in evidence)
    return row


def format_table(rows) -> str:
    header = ("problem", "width", "credo first s", "credo hot s", "max err vs .MAR",
              "TensorInference s", "JunctionTrees v2 s", "Merlin s", "libDAI s")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        published = PUBLISHED.get(r["problem"])
        cells = [r["problem"], str(r["induced_width"])]
        if "note" in r:
            cells += [r["note"], "-", "-"]
        else:
            cells += [f"{r['first_s']:.3f}", f"{r['hot_s']:.3f}", f"{r['max_marginal_error']:.1e}"]
        cells += [f"{t:g}" for t in published] if published else ["not published"] * 4
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=Path, default=ROOT.parent / "shared" / "uai")
    parser.add_argument("--max-width", type=int, default=28)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "uai.json")
    args = parser.parse_args(argv)
    rows = []
    for path in sorted(args.problems.glob("*.uai")):
        print(f"... {path.stem}", file=sys.stderr, flush=True)
        rows.append(bench_problem(path, args.max_width))
    machine = f"{platform.machine()}, Python {platform.python_version()}"
    print(f"machine: {machine}\n\n{format_table(rows)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
