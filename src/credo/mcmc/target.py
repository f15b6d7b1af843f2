"""What a sampler needs from a model: :class:`credo.ppl.Target`, re-exported.

The one model-to-target adapter lives in :mod:`credo.ppl.target`; these names
stay importable from here for the modules that have not yet switched to
``credo.ppl``.
"""

from credo.ppl import Target, as_target, initial_positions, require_latents

__all__ = ["Target", "as_target", "initial_positions", "require_latents"]
