"""All marginals of the UAI 2014 problems in ``../shared/uai``, beside published times.

For each problem: parse, estimate the cost, build the junction tree, answer
the first query (evidence from the ``.evid`` file), then a hot query;
marginals are checked against the ``.MAR`` solution. The same query by
contraction (all marginals from the gradient of ln Z) is timed beside it.

About the ``.PR`` files: they come from the ``uai2014/MAR2`` folder of
mroavi/uai, whose full text reads ``PR / 486.607890 (2.143489e+211) / STATUS
/ true: Consistent evidence``: that is Merlin's output format, which prints
the *natural* log of its estimate and, in parentheses, its exponential.
Those estimates are upper bounds, not exact values: every one lies above
the exact ln Z, and Pedigree_11's (ln 5036.8) exceeds ln 1 although that
model is a normalized network. The exact log10 values of the competition's
own PR folder agree with credo where the instances coincide
(ObjectDetection_12: ``uai2014/PR`` says -67.3803; credo -67.380330). So
the table compares ln Z with the ``.PR`` number and checks the bound. The published column is the 2023 evaluation
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

import jax
import numpy as np

import credo
from credo.errors import ContractionTooLargeError
from credo.exact.contraction import Contraction
from credo.exact.junction_tree import JunctionTree

jax.config.update("jax_enable_x64", True)  # a script, not the library

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


#: Exact log10 Z from the competition's own ``uai2014/PR`` folder, where it holds the same instance.
EXACT_LOG10_PR = {"ObjectDetection_12": -67.3803}


def max_error(result, reference, model, evidence) -> float:
    return max(float(np.max(np.abs(np.array(list(result.marginals[v].values())) - reference[v])))
               for v in model.variables if v not in evidence)


def bench_problem(path: Path, contract: bool, contract_max_flops: float) -> dict:
    row: dict = {"problem": path.stem}
    start = time.perf_counter()
    model, evidence = credo.read_uai(path, evid=path.with_name(path.name + ".evid"))
    row["parse_s"] = time.perf_counter() - start
    order = credo.elimination_order(model, evidence=evidence)
    row["induced_width"] = order.induced_width
    row["max_clique_states"] = order.max_clique_states
    reference = read_mar(path.with_name(path.name + ".MAR"))
    row["pr_file"] = float(path.with_name(path.name + ".PR").read_text().split()[1])
    try:
        start = time.perf_counter()
        engine = JunctionTree(model)
        result = engine.query(evidence=evidence)
        row["first_s"] = time.perf_counter() - start
        start = time.perf_counter()
        result = engine.query(evidence=evidence)
        row["hot_s"] = time.perf_counter() - start
        row["max_marginal_error"] = max_error(result, reference, model, evidence)
        row["log10_z"] = result.log_evidence / np.log(10)
        row["ln_z"] = result.log_evidence
    except ContractionTooLargeError as error:
        row["jt_refused"] = str(error)
        search = Contraction(model, optimize="random-greedy-order", trials=32)
        row["best_order_cost"] = str(search.cost(evidence))
        row["best_order_largest"] = search.cost(evidence).largest_entries
        return row
    if contract:
        engine = Contraction(model)
        cost = engine.cost(evidence)
        row["contract_largest"], row["contract_flops"] = cost.largest_entries, cost.flops
        if cost.flops > contract_max_flops:
            return row
        start = time.perf_counter()
        result = engine.query(evidence)
        row["contract_s"] = time.perf_counter() - start
        row["contract_error"] = max_error(result, reference, model, evidence)
        row["contract_ln_z_diff"] = abs(result.log_evidence - row["ln_z"])
    return row


def format_table(rows) -> str:
    header = ("problem", "method", "width", "largest table", "credo first s", "credo hot s", "max err vs .MAR",
              "log10 Z", "ln Z", ".PR (ln, bound)", "contract s", "contract err",
              "TensorInference s", "JunctionTrees v2 s", "Merlin s", "libDAI s")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        published = PUBLISHED.get(r["problem"])
        cells = [r["problem"]]
        if "jt_refused" in r:
            cells += ["refused", str(r["induced_width"]), f"{r['max_clique_states']:.2g} (best order found: "
                      f"{r['best_order_largest']:.2g})", "-", "-", "-", "-", "-", f"{r['pr_file']:.6f}", "-", "-"]
        else:
            bound = "ok" if r["pr_file"] >= r["ln_z"] else "VIOLATED"
            cells += ["jt", str(r["induced_width"]), f"{r['max_clique_states']:.2g}", f"{r['first_s']:.3f}",
                      f"{r['hot_s']:.3f}", f"{r['max_marginal_error']:.1e}", f"{r['log10_z']:.6f}",
                      f"{r['ln_z']:.6f}", f"{r['pr_file']:.6f} ({bound})"]
            if "contract_s" in r:
                cells += [f"{r['contract_s']:.3f}", f"{r['contract_error']:.1e}"]
            elif "contract_flops" in r:
                cells += [f"skipped ({r['contract_flops']:.2g} multiply-adds)", "-"]
            else:
                cells += ["-", "-"]
        cells += [f"{t:g}" for t in published] if published else ["not published"] * 4
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=Path, default=ROOT.parent / "shared" / "uai")
    parser.add_argument("--no-contract", action="store_true", help="skip the contraction method")
    parser.add_argument("--contract-max-flops", type=float, default=1e9,
                        help="skip the contraction where its plan needs more multiply-adds")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "uai.json")
    args = parser.parse_args(argv)
    rows = []
    for path in sorted(args.problems.glob("*.uai")):
        print(f"... {path.stem}", file=sys.stderr, flush=True)
        rows.append(bench_problem(path, not args.no_contract, args.contract_max_flops))
    machine = f"{platform.machine()}, Python {platform.python_version()}"
    print(f"machine: {machine}\n\n{format_table(rows)}")
    for r in rows:
        if r["problem"] in EXACT_LOG10_PR and "log10_z" in r:
            print(f"\n{r['problem']}: exact log10 Z in uai2014/PR {EXACT_LOG10_PR[r['problem']]}, "
                  f"credo {r['log10_z']:.6f}")
        if "jt_refused" in r:
            print(f"\n{r['problem']}: {r['jt_refused']}\n  best elimination order found: {r['best_order_cost']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
