"""Test-session configuration.

The library never changes JAX's global configuration; the tests ask for
float64 once here so that comparisons with scipy and exact references can use
tight tolerances.
"""

import jax

jax.config.update("jax_enable_x64", True)
