"""Discrete factors and conditional probability tables."""

from credo.factors.cpd import ROW_SUM_TOLERANCE, NoisyOrCPD, TabularCPD
from credo.factors.discrete import DiscreteFactor, contract, position_index, state_index

__all__ = ["DiscreteFactor", "TabularCPD", "NoisyOrCPD", "ROW_SUM_TOLERANCE", "contract", "state_index", "position_index"]
