"""Ready-made example models, documented for the tutorials and tests."""

from credo.examples.discrete import clinic, sprinkler

__all__ = ["clinic", "sprinkler"]
