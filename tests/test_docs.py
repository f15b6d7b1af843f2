"""The documentation's examples run, and its links and figures exist.

Every fenced ```python block of every ``docs/*.md`` page is executed; the
blocks of one page run in order in one fresh namespace, as a reader would run
them in one session. They run in a temporary directory, so examples that
write files leave nothing behind, and on matplotlib's Agg backend, so no
display is needed.
"""

import importlib.util
import inspect
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.glob("*.md"))

_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")

#: Figures must stay small enough to keep the repository light.
MAX_PNG_BYTES = 200 * 1024


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """``(first line number, code)`` of each ```python block of ``page``."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in _BLOCK.finditer(text)]


def local_links(page: Path) -> list[str]:
    """Relative link targets of ``page`` (no URLs, no in-page anchors), anchors stripped."""
    targets = []
    for target in _LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue
        targets.append(target.split("#", 1)[0])
    return targets


@pytest.fixture
def in_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def agg_backend():
    import matplotlib

    # Before any pyplot import an example might do; a no-op if Agg is active.
    matplotlib.use("Agg")
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def test_docs_exist():
    names = {p.name for p in PAGES}
    expected = {"index.md", "bayesian-networks.md", "d-separation.md", "exact-inference.md",
                "markov-networks.md", "file-formats.md", "cli.md"}
    assert expected <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_examples_run(page, in_tmp_dir, agg_backend):
    blocks = python_blocks(page)
    assert blocks, f"{page.name} has no ```python example"
    run_page(page, blocks)


def run_page(page: Path, blocks) -> dict:
    """Execute a page's ``blocks`` in one namespace, as a reader pasting them in order would.

    How long each page takes is measured by ``bench/docs.py``, not here.
    """
    namespace = {"__name__": f"docs.{page.stem}"}
    for first_line, code in blocks:
        # Pad with blank lines so a traceback points at the line of the .md file.
        compiled = compile("\n" * (first_line - 1) + code, str(page), "exec")
        exec(compiled, namespace)
    return namespace


README = DOCS.parent / "README.md"
_SHELL = re.compile(r"^```sh[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


def test_readme_examples_run(in_tmp_dir, agg_backend, capsys):
    """The README's Python blocks and its ``credo ...`` command lines run from an empty directory."""
    namespace = {"__name__": "docs.README"}
    blocks = python_blocks(README)
    assert blocks
    for first_line, code in blocks:
        exec(compile("\n" * (first_line - 1) + code, str(README), "exec"), namespace)
    import shlex

    from credo.cli import main

    commands = [line.split("#", 1)[0].strip() for block in _SHELL.findall(README.read_text(encoding="utf-8"))
                for line in block.splitlines()]
    commands = [c for c in commands if c.startswith("credo ")]
    assert commands, "the README shows no credo command"
    for command in commands:
        status = main(shlex.split(command)[1:])
        assert status == 0, f"README command failed: {command}\n{capsys.readouterr().err}"


def test_readme_links_resolve():
    for target in local_links(README):
        assert (README.parent / target).exists(), f"README.md links to missing {target}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_resolve(page):
    for target in local_links(page):
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_index_links_every_page():
    linked = set(local_links(DOCS / "index.md"))
    for page in PAGES:
        if page.name != "index.md":
            assert page.name in linked, f"index.md does not link {page.name}"


def test_figures_small_and_used():
    images = sorted((DOCS / "img").glob("*.png"))
    assert images, "no figures in docs/img"
    used = {t for page in PAGES for t in local_links(page) if t.startswith("img/")}
    for image in images:
        assert image.stat().st_size < MAX_PNG_BYTES, f"{image.name} is over 200 KB"
        assert f"img/{image.name}" in used, f"{image.name} is not used by any page"


def _figure_script():
    """``docs/scripts/make_figures.py``, imported by path (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_figures", DOCS / "scripts" / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIGURES = _figure_script().FIGURES


def test_one_figure_function_per_image():
    assert len(FIGURES) == len(list((DOCS / "img").glob("*.png")))


# One test per figure, so that the slow ones (they train or sample) spread
# over the test workers instead of running one after another.
@pytest.mark.parametrize("make", FIGURES, ids=lambda f: f.__name__)
def test_figure_function_runs(make, tmp_path, agg_backend):
    # Figures that train or sample take ``quick`` and then run a smaller version.
    quick = "quick" in inspect.signature(make).parameters
    path = make(tmp_path, quick=True) if quick else make(tmp_path)
    assert path.parent == tmp_path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # it writes one of the figures the pages use (and, by the count above, all of them)
    assert (DOCS / "img" / path.name).exists(), f"{make.__name__} wrote {path.name}, not a docs figure"


def test_svi_logistic_script_runs_small(tmp_path, capsys):
    """``docs/scripts/svi_logistic.py`` (the million-row page's script) on a tiny problem.

    A smoke test, so that the script the page quotes keeps running: the report has every figure,
    NUTS converged, and the SVI sds are of the right size. The accuracy claims are the page's
    full run's; at 300 steps the means are still noisy.
    """
    import json
    import math

    spec = importlib.util.spec_from_file_location("svi_logistic", DOCS / "scripts" / "svi_logistic.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "report.json"
    script.main(["--rows", "2000", "--subset", "500", "--steps", "300", "--features", "3", "--batch", "200",
                 "--out", str(out)])
    report = json.loads(out.read_text())
    assert report == json.loads(capsys.readouterr().out)
    for key in ("max_abs_diff_svi_full_vs_nuts_subset", "max_diff_in_nuts_sd_svi_subset",
                "max_diff_in_laplace_sd_svi_full", "max_abs_diff_svi_full_vs_truth", "svi_peak_rss_mb"):
        assert math.isfinite(report[key]), key
    assert report["nuts_max_rhat"] < 1.05
    for key in ("sd_ratio_svi_subset_over_nuts", "sd_ratio_svi_full_over_laplace"):
        low, high = report[key]
        assert 0.5 < low <= high < 2.0, (key, low, high)
