"""Exact inference on discrete models."""

from credo.exact.result import MPEResult, QueryResult
from credo.exact.elimination import log_partition, mpe, variable_elimination

__all__ = ["QueryResult", "MPEResult", "variable_elimination", "mpe", "log_partition"]
