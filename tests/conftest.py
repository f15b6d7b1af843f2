"""Test-session configuration.

The library never changes JAX's global configuration; the tests ask for
float64 once here so that comparisons with scipy and exact references can use
tight tolerances.

The suite also gives JAX a persistent compilation cache for the length of one
run: many tests, documentation examples and figure scripts compile the same
programs (the same model, sampler and settings) in separate functions and in
both pytest-xdist workers, and the cache lets each identical program compile
once. The directory is made fresh for each run and removed after it, so one
run never profits from another.
"""

import shutil
import tempfile

import jax

jax.config.update("jax_enable_x64", True)

_CACHE_KEY = "credo_jax_cache_dir"


def _use_cache(directory: str) -> None:
    jax.config.update("jax_compilation_cache_dir", directory)
    # only programs worth caching: a tiny program compiles faster than it loads
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def pytest_configure(config):
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # an xdist worker: use the controller's directory
        _use_cache(workerinput[_CACHE_KEY])
        return
    config.credo_jax_cache_dir = tempfile.mkdtemp(prefix="credo-test-jax-cache-")
    _use_cache(config.credo_jax_cache_dir)


def pytest_configure_node(node):
    """xdist hook (controller side): hand the run's cache directory to each worker."""
    node.workerinput[_CACHE_KEY] = node.config.credo_jax_cache_dir


def pytest_unconfigure(config):
    if getattr(config, "workerinput", None) is None:
        shutil.rmtree(config.credo_jax_cache_dir, ignore_errors=True)
