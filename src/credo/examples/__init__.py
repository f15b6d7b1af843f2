"""Ready-made example models, documented for the tutorials and tests.

Discrete networks (:func:`clinic`, :func:`sprinkler`) load eagerly. The
model-language examples load on first use, so that ``import credo`` does not
import JAX:

- :func:`flu_prevalence`, :func:`eight_schools_centered`,
  :func:`eight_schools_noncentered` (from :mod:`credo.ppl.examples`);
- the posteriordb posteriors of :mod:`credo.examples.posteriordb`: the model
  functions by their Stan model names (:func:`arK`, :func:`garch11`, ...),
  ``POSTERIORDB`` (posterior name -> model function) and
  :func:`load_posteriordb`.

Examples
--------
>>> import credo.examples as ex
>>> len(ex.POSTERIORDB_NAMES)
11
>>> model, data = ex.load_posteriordb("eight_schools-eight_schools_noncentered")
>>> model is ex.eight_schools_noncentered, sorted(data)
(True, ['sigma', 'y'])
"""

from credo.examples.datasets import digits, load_mnist, read_idx, train_test_split
from credo.examples.discrete import NETWORK_NAMES, clinic, network, sprinkler

#: The bundled posteriordb posteriors (``<data>-<model>``), in a fixed order.
POSTERIORDB_NAMES = (
    "arK-arK",
    "earnings-logearn_height",
    "eight_schools-eight_schools_noncentered",
    "garch-garch11",
    "gp_pois_regr-gp_pois_regr",
    "hmm_example-hmm_example",
    "kidiq-kidscore_momiq",
    "low_dim_gauss_mix-low_dim_gauss_mix",
    "mesquite-logmesquite",
    "nes1972-nes",
    "sblrc-blr",
)

# Lazy attributes (PEP 562): name -> module that defines it. Both modules import JAX.
_PPL_EXAMPLES = "credo.ppl.examples"
_POSTERIORDB = "credo.examples.posteriordb"
_LAZY = {
    "flu_prevalence": _PPL_EXAMPLES,
    "eight_schools_centered": _PPL_EXAMPLES,
    "eight_schools_noncentered": _PPL_EXAMPLES,
    "EIGHT_SCHOOLS_DATA": _PPL_EXAMPLES,
    "EXAMPLES": _PPL_EXAMPLES,
    "hierarchical_normal": _PPL_EXAMPLES,
    "sbc_hierarchical": _PPL_EXAMPLES,
    "POSTERIORDB": _POSTERIORDB,
    "arK": _POSTERIORDB,
    "logearn_height": _POSTERIORDB,
    "garch11": _POSTERIORDB,
    "gp_pois_regr": _POSTERIORDB,
    "hmm_example": _POSTERIORDB,
    "kidscore_momiq": _POSTERIORDB,
    "low_dim_gauss_mix": _POSTERIORDB,
    "logmesquite": _POSTERIORDB,
    "nes": _POSTERIORDB,
    "blr": _POSTERIORDB,
}


def load_posteriordb(name: str):
    """Model and data of the bundled posteriordb posterior ``name`` (one of :data:`POSTERIORDB_NAMES`).

    Returns ``(model, data)`` for ``credo.ppl.logdensity(model, data)``; see
    :func:`credo.examples.posteriordb.load`. Imports JAX.
    """
    from credo.examples.posteriordb import load

    return load(name)


def __getattr__(name):
    import importlib

    if name == "posteriordb":
        return importlib.import_module(_POSTERIORDB)
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'credo.examples' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | {"posteriordb"})


__all__ = ["clinic", "sprinkler", "digits", "train_test_split", "load_mnist", "read_idx",
           "POSTERIORDB_NAMES", "load_posteriordb", *_LAZY]
