"""Learning model parameters from data."""

from credo.learn.em import EMResult, fit_em

__all__ = ["fit_em", "EMResult"]
