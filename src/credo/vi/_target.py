"""What variational inference needs from a model: :class:`credo.ppl.Target`.

The one model-to-target adapter lives in :mod:`credo.ppl.target`
(:attr:`~credo.ppl.Target.log_p` and :attr:`~credo.ppl.Target.constrain_fn`
carry a model's array data as pytree leaves, so the compiled programs of a
fit are reused by every later fit of the same model with data of the same
shapes). This module keeps the names the VI modules imported before that move.
"""

from __future__ import annotations

from credo.ppl import LogJoint, Target, require_latents
from credo.ppl import as_target as _as_target

__all__ = ["VITarget", "as_target", "LogJoint"]


class VITarget(Target):
    """A :class:`credo.ppl.Target` whose ``logdensity`` is its compiled model.

    Transitional: ``vi/amortized.py`` reads ``target.logdensity`` as the
    :class:`~credo.ppl.LogDensity`, which :class:`~credo.ppl.Target` calls
    :attr:`~credo.ppl.Target.source` (its ``logdensity`` is the method MCMC
    calls). Remove once that module reads ``source``.
    """

    @property
    def logdensity(self):
        return self.source


def as_target(model, data=None, *, dim=None) -> VITarget:
    """:func:`credo.ppl.as_target`, refusing a model without latent variables.

    Returns
    -------
    VITarget
    """
    target = _as_target(model, data, dim=dim)
    require_latents(target.dim, "approximate")
    view = VITarget.__new__(VITarget)
    view.__dict__.update(target.__dict__)
    return view
