"""``credo.vae``: variational autoencoders (a re-export of :mod:`credo.vi.vae` and of the digits demo
in :mod:`credo.vae_demo`; imports JAX)."""

from credo.vae_demo import *  # noqa: F401,F403
from credo.vae_demo import __all__ as _demo_names
from credo.vi.vae import *  # noqa: F401,F403
from credo.vi.vae import __all__ as _model_names

__all__ = list(_model_names) + list(_demo_names)
