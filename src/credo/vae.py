"""``credo.vae``: variational autoencoders (a re-export of :mod:`credo.vi.vae`; imports JAX)."""

from credo.vi.vae import *  # noqa: F401,F403
from credo.vi.vae import __all__  # noqa: F401
