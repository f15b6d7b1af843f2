"""Discrete graphical models."""

from credo.models.base import DiscreteModel
from credo.models.bayesian_network import BayesianNetwork
from credo.models.markov_network import FactorGraph, MarkovNetwork

__all__ = ["DiscreteModel", "BayesianNetwork", "MarkovNetwork", "FactorGraph"]
