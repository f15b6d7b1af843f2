"""Coordinate-ascent variational inference for conditionally conjugate models.

:func:`cavi` fits a mean-field approximation with closed-form updates and the
exact ELBO after every sweep; see ``docs/cavi.md``.

References
----------
Bishop, C. M. (2006). *Pattern Recognition and Machine Learning*, ch. 10.

Blei, D. M., Kucukelbir, A. and McAuliffe, J. D. (2017). Variational
inference: a review for statisticians. *JASA* 112(518), 859-877.
"""

from credo.errors import NotConjugateError

from .expected import ExpectedLogJoint
from .factors import (BetaFactor, CategoricalFactor, DirichletFactor, Factor, GammaFactor,
                      MVNFactor, NormalFactor)
from .fit import CAVIApproximation, cavi

__all__ = ["cavi", "CAVIApproximation", "NotConjugateError", "ExpectedLogJoint", "Factor",
           "NormalFactor", "MVNFactor", "GammaFactor", "BetaFactor", "DirichletFactor",
           "CategoricalFactor"]
