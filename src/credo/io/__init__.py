"""Reading and writing models in standard file formats: BIF, XMLBIF and UAI.

Every reader turns any malformed input into a :class:`credo.ParseError` that
carries the 1-based line and column of the problem.
"""

from credo.io.bif import parse_bif, read_bif, to_bif_text, write_bif
from credo.io.uai import parse_uai, parse_uai_evidence, read_uai, to_uai_evidence_text, to_uai_text, write_uai
from credo.io.xmlbif import parse_xmlbif, read_xmlbif, to_xmlbif_text, write_xmlbif

__all__ = [
    "read_bif", "parse_bif", "write_bif", "to_bif_text",
    "read_xmlbif", "parse_xmlbif", "write_xmlbif", "to_xmlbif_text",
    "read_uai", "parse_uai", "parse_uai_evidence", "write_uai", "to_uai_text", "to_uai_evidence_text",
]
