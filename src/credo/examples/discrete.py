"""Small discrete networks used in the documentation."""

from __future__ import annotations

import numpy as np

from credo.factors import NoisyOrCPD, TabularCPD
from credo.models import BayesianNetwork

__all__ = ["clinic", "sprinkler", "network", "NETWORK_NAMES"]

#: The bnlearn networks shipped with credo (Scutari 2010, www.bnlearn.com/bnrepository), by size.
NETWORK_NAMES = ("cancer", "earthquake", "asia", "survey", "sachs", "child", "insurance", "alarm", "win95pts",
                 "hailfinder", "andes")

YES_NO = ("yes", "no")


def _binary(variable, p_yes_rows, parents=()):
    """CPD of a yes/no variable from P(yes) per parent configuration (first parent slowest)."""
    p_yes = np.asarray(p_yes_rows, dtype=float)
    table = np.stack([p_yes, 1.0 - p_yes], axis=-1)
    return TabularCPD(variable, YES_NO, table, parents=parents)


def clinic() -> BayesianNetwork:
    r"""The clinic network of the background article.

    Three conditions and four symptoms, every variable ``("yes", "no")``::

        Cold ---------> Cough <--------- Flu -----> Fever
          \                              |
           `---> Runny <--- Allergies ---+---> Fatigue

    - Priors: P(Cold) = 0.20, P(Flu) = 0.05, P(Allergies) = 0.15.
    - Symptoms are noisy-ORs of their causes, exactly the article's 13 numbers:
      ``Fever | Flu`` needs 1 (P(fever | flu) = 0.80; no fever without flu),
      ``Cough | Cold, Flu``, ``Runny | Cold, Allergies`` and
      ``Fatigue | Flu, Allergies`` need 3 each (two causes and a leak):

      ========  ============  ============  =====
      symptom   cause 1       cause 2       leak
      ========  ============  ============  =====
      Cough     Cold 0.60     Flu 0.80      0.05
      Runny     Cold 0.70     Allergies 0.75  0.05
      Fatigue   Flu 0.85      Allergies 0.30  0.10
      ========  ============  ============  =====

    ``num_parameters()`` is 3 + 1 + 3 + 3 + 3 = 13; the same network with
    full tables would need 17.

    Examples
    --------
    >>> import credo
    >>> bn = credo.examples.clinic()
    >>> bn.num_parameters()
    13
    """
    return BayesianNetwork(
        cpds=[
            _binary("Cold", 0.20),
            _binary("Flu", 0.05),
            _binary("Allergies", 0.15),
            NoisyOrCPD("Fever", ["Flu"], [0.80]),
            NoisyOrCPD("Cough", ["Cold", "Flu"], [0.60, 0.80], leak=0.05),
            NoisyOrCPD("Runny", ["Cold", "Allergies"], [0.70, 0.75], leak=0.05),
            NoisyOrCPD("Fatigue", ["Flu", "Allergies"], [0.85, 0.30], leak=0.10),
        ],
        name="clinic",
    )


def sprinkler() -> BayesianNetwork:
    """The classic Cloudy -> {Sprinkler, Rain} -> WetGrass network (Russell & Norvig)."""
    return BayesianNetwork(
        cpds=[
            _binary("Cloudy", 0.5),
            _binary("Sprinkler", [0.1, 0.5], parents=["Cloudy"]),
            _binary("Rain", [0.8, 0.2], parents=["Cloudy"]),
            _binary("WetGrass", [[0.99, 0.90], [0.90, 0.0]], parents=["Sprinkler", "Rain"]),
        ],
        name="sprinkler",
    )


def network(name: str) -> BayesianNetwork:
    """A classic network of the bnlearn repository, read from the BIF file shipped with credo.

    Parameters
    ----------
    name : str
        One of :data:`NETWORK_NAMES` (``"alarm"``, ``"asia"``, ...), or ``"clinic"``
        and ``"sprinkler"`` for the two tutorial networks built in code.

    Raises
    ------
    ModelError
        For an unknown name, listing the available ones.

    Examples
    --------
    >>> alarm = network("alarm")
    >>> len(alarm.variables), alarm.num_parameters()
    (37, 509)
    """
    from importlib import resources

    from credo.errors import ModelError, suggestion
    from credo.io import read_bif

    builtin = {"clinic": clinic, "sprinkler": sprinkler}
    if name in builtin:
        return builtin[name]()
    if name not in NETWORK_NAMES:
        raise ModelError(f"no example network {name!r}{suggestion(name, NETWORK_NAMES + tuple(builtin))}; "
                         f"available: {', '.join(NETWORK_NAMES + tuple(builtin))}")
    source = resources.files("credo.examples").joinpath("data", "networks", f"{name}.bif")
    with resources.as_file(source) as path:
        model = read_bif(path)
    model.name = name  # the files call most networks "unknown"
    return model
