"""Issue 21: an empty network is a ParseError at read time, and the CLI says so in one line."""

from __future__ import annotations

import pytest

import credo
from credo.cli import main

EMPTY = {
    "empty.bif": "",
    "blank.bif": "network x {}\n",
    "empty.xml": '<?xml version="1.0"?><BIF VERSION="0.3"><NETWORK><NAME>x</NAME></NETWORK></BIF>',
    "empty.uai": "MARKOV\n0\n0\n",
}


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_a_file_without_variables_is_a_parse_error(name, tmp_path, capsys):
    path = tmp_path / name
    path.write_text(EMPTY[name])
    reader = {"bif": credo.read_bif, "xml": credo.read_xmlbif, "uai": credo.read_uai}[name.rsplit(".", 1)[1]]
    with pytest.raises(credo.ParseError, match="no variable"):
        reader(path)
    assert main(["query", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("credo: error:") and "no variable" in err and "Traceback" not in err


def test_an_engine_on_a_model_without_variables_is_a_model_error():
    with pytest.raises(credo.ModelError, match="no variables"):
        credo.JunctionTree(credo.MarkovNetwork([]))
