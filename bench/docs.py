"""How long each documentation page's examples take to run, first call (compiling) included.

The docs tests (``tests/test_docs.py``) check that every page's examples
run; this script times them, one fresh process per page so that no page
profits from another's compiled programs::

    python bench/docs.py [--only mcmc.md vae.md]

The examples are meant to take a few seconds; pages that compile samplers
take longer. The table goes to bench/README.md with the machine named.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_CHILD = """
import sys, tempfile, os
sys.path.insert(0, {root!r})
from pathlib import Path
from tests.test_docs import python_blocks, run_page
import matplotlib
matplotlib.use("Agg")
page = Path({page!r})
os.chdir(tempfile.mkdtemp())
run_page(page, python_blocks(page))
"""


def time_page(page: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", _CHILD.format(root=str(ROOT), page=str(page))],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="page file names (default: every page)")
    args = parser.parse_args()
    pages = sorted(DOCS.glob("*.md"))
    if args.only:
        pages = [p for p in pages if p.name in set(args.only)]
    print("| page | seconds |\n|---|---|")
    for page in pages:
        print(f"| {page.name} | {time_page(page):.1f} |", flush=True)


if __name__ == "__main__":
    main()
