"""Learning model parameters from data: counting for complete data, EM for missing values."""

from credo.learn.em import EMResult, fit_em
from credo.learn.mle import family_counts, fit_mle

__all__ = ["fit_mle", "family_counts", "fit_em", "EMResult"]
