"""Progress output on a stream that is not a terminal: a few plain lines, no carriage returns (issue 21)."""

import io

import numpy as np

from credo._progress import LineProgress, progress_bar
from credo.vi import advi, pathfinder


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_file_gets_about_ten_plain_lines():
    stream = io.StringIO()
    bar = progress_bar(1000, "Fit", "step", file=stream)
    assert isinstance(bar, LineProgress)
    for i in range(1000):
        bar.set_postfix(elbo=f"{-i:.4g}")
        bar.update(1)
    bar.close()
    text = stream.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and 10 <= len(lines) <= 12
    assert lines[-1].startswith("Fit: 1000/1000 step (100%)") and lines[-1].endswith("elbo=-999")


def test_close_reports_where_an_early_stop_left_off():
    stream = io.StringIO()
    bar = progress_bar(1000, "Fit", file=stream)
    bar.update(5)
    bar.close()
    bar.close()
    assert stream.getvalue().splitlines() == [stream.getvalue().splitlines()[0]]
    assert stream.getvalue().startswith("Fit: 5/1000 it (0%)")


def test_a_terminal_gets_a_tqdm_bar():
    from tqdm import tqdm

    bar = progress_bar(10, "Fit", file=_Terminal())
    assert isinstance(bar, tqdm)
    bar.close()


def test_advi_and_pathfinder_progress_in_a_captured_stream(regression_ld, capsys):
    advi(regression_ld, family="meanfield", steps=3000, chunk_size=10, tolerance=0,
         precondition=None, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err and 2 <= len(err.splitlines()) <= 12
    assert "ADVI: 3000/3000 step (100%)" in err and "elbo=" in err
    pathfinder(regression_ld, num_paths=10, seed=0, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err and 2 <= len(err.splitlines()) <= 12
    assert "Pathfinder: 10/10 path" in err and np.isfinite(float(err.split("elbo=")[-1]))
