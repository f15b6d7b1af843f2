"""Fuzzing the readers: any input gives a model or a ParseError, never another exception."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credo.errors import ParseError
from credo.io import parse_bif, parse_uai, parse_uai_evidence, parse_xmlbif, to_xmlbif_text
from credo.models.base import DiscreteModel

SMALL_BIF = """network test { property note = "x" ; }
variable A { type discrete [ 2 ] { yes, no }; }
variable B { type discrete [ 3 ] { lo, mid/x, hi+ }; }
// a comment
probability ( A ) { table 0.25, 0.75; }
probability ( B | A ) {
  (no) 0.1, 0.2, 0.7;
  (yes) 1e-05, 0.49999, .5;
}
"""
SMALL_UAI = "MARKOV\n3\n2 2 3\n2\n2 0 1\n2 1 2\n\n4 1.0 2.0 3.0 4.0\n6 1 2 3 4 5 6\n"
SMALL_BAYES = "BAYES\n2\n2 2\n2\n1 0\n2 0 1\n2 0.25 0.75\n4 0.5 0.5 0.1 0.9\n"
SMALL_XML = to_xmlbif_text(parse_bif(SMALL_BIF))
SMALL_EVIDENCE = "2 0 1 2 0"

PARSERS = [parse_bif, parse_xmlbif, parse_uai, parse_uai_evidence]
FUZZ = settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

# Characters that matter to the grammars, so mutations reach past the first token.
PIECES = list("{}()[],;|\"/*\n \t0123456789.eE-+<>&!=xy") + [
    "table", "default", "probability", "variable", "property", "type", "discrete", "MARKOV", "BAYES",
    "<!ENTITY", "<!DOCTYPE", "</", "\x00", "\ufeff", "é", "1e999", "nan",
]


def _parses_or_fails_cleanly(parse, data) -> None:
    try:
        result = parse(data)
    except ParseError as error:
        assert error.line >= 1 and error.column >= 1
    else:
        assert isinstance(result, (DiscreteModel, dict))


@given(data=st.binary(max_size=400))
@FUZZ
def test_arbitrary_bytes(data):
    for parse in PARSERS:
        _parses_or_fails_cleanly(parse, data)


@given(text=st.text(max_size=400))
@FUZZ
def test_arbitrary_text(text):
    for parse in PARSERS:
        _parses_or_fails_cleanly(parse, text)


_edits = st.lists(
    st.tuples(st.sampled_from(["delete", "insert", "replace"]), st.floats(0, 1), st.sampled_from(PIECES)),
    min_size=1, max_size=8,
)


def _mutate(text: str, edits) -> str:
    chars = list(text)
    for op, where, piece in edits:
        at = min(int(where * len(chars)), max(len(chars) - 1, 0))
        if op == "insert" or not chars:
            chars.insert(at, piece)
        elif op == "delete":
            del chars[at]
        else:
            chars[at] = piece
    return "".join(chars)


@given(edits=_edits, as_bytes=st.booleans())
@FUZZ
def test_mutated_valid_files(edits, as_bytes):
    for parse, base in [(parse_bif, SMALL_BIF), (parse_xmlbif, SMALL_XML), (parse_uai, SMALL_UAI),
                        (parse_uai, SMALL_BAYES), (parse_uai_evidence, SMALL_EVIDENCE)]:
        text = _mutate(base, edits)
        _parses_or_fails_cleanly(parse, text.encode("utf-8", "surrogatepass") if as_bytes else text)
