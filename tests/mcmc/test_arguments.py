"""Bad argument values to the samplers are ArgumentErrors naming the argument and the value,
raised before anything compiles; any int is a seed (issue 19)."""

import jax
import numpy as np
import pytest

import credo
from credo.mcmc import rng, runner
from credo.ppl.examples import flu_prevalence

from tests.mcmc.flu import FLU


def _nuts(**kw):
    return lambda: credo.nuts(flu_prevalence, FLU, progress=False, **kw)


def _hmc(**kw):
    return lambda: credo.hmc(flu_prevalence, FLU, progress=False, **kw)


def _mh(**kw):
    return lambda: credo.mh(flu_prevalence, FLU, progress=False, **kw)


def _gibbs(**kw):
    return lambda: credo.gibbs(flu_prevalence, FLU, progress=False, **kw)


#: (call, argument named, text the message must contain)
CASES = [
    (_nuts(chains=0), "chains", "got 0"),
    (_nuts(chains=2.0), "chains", "got 2.0"),
    (_nuts(chains=True), "chains", "bool"),
    (_nuts(warmup=-1), "warmup", "got -1"),
    (_nuts(draws=50.5), "draws", "got 50.5"),
    (_nuts(draws="100"), "draws", "'100'"),
    (_nuts(target_accept=1.0), "target_accept", "got 1.0"),
    (_nuts(target_accept=0), "target_accept", "got 0"),
    (_nuts(target_accept=float("nan")), "target_accept", "nan"),
    (_nuts(max_tree_depth=0), "max_tree_depth", "got 0"),
    (_nuts(max_tree_depth=31), "max_tree_depth", "got 31"),
    (_nuts(max_tree_depth=2.5), "max_tree_depth", "got 2.5"),
    (_nuts(step_size=0.0), "step_size", "got 0.0"),
    (_nuts(step_size=float("inf")), "step_size", "inf"),
    (_nuts(chunk_size=0), "chunk_size", "got 0"),
    (_nuts(chunk_size=7.5), "chunk_size", "got 7.5"),
    (_nuts(chain_method="vectorised"), "chain_method", "'vectorised'"),
    (_hmc(num_steps=0), "num_steps", "got 0"),
    (_hmc(num_steps=4.5), "num_steps", "got 4.5"),
    (_mh(thin=0), "thin", "got 0"),
    (_mh(thin=2.5), "thin", "got 2.5"),
    (_mh(chains=0), "chains", "got 0"),
    (_mh(target_accept=1.5), "target_accept", "got 1.5"),
    (_mh(scale=-1.0), "scale", "got -1.0"),
    (_mh(proposal="gaussian"), "proposal", "'gaussian'"),
    (_gibbs(chains=-2), "chains", "got -2"),
    (_gibbs(draws=1.5), "draws", "got 1.5"),
    (_gibbs(target_accept=0.0), "target_accept", "got 0.0"),
    (_gibbs(max_tree_depth=0), "max_tree_depth", "got 0"),
    (_gibbs(fallback="hmc"), "fallback", "'hmc'"),
    (_gibbs(steps={"theta": "magic"}), "steps", "'magic'"),
    (lambda: runner.sample(runner.as_target(flu_prevalence, FLU), runner.NUTS(), init="pathfinder",
                           progress=False), "init", "pathfinder"),
]


@pytest.mark.parametrize("call, argument, text", CASES,
                         ids=[f"{i}-{c[1]}" for i, c in enumerate(CASES)])
def test_bad_argument_values_are_argument_errors(call, argument, text):
    with pytest.raises(credo.ArgumentError) as info:
        call()
    assert info.value.argument == argument
    assert str(info.value).startswith(f"{argument}: ") and text in str(info.value), str(info.value)
    assert isinstance(info.value, ValueError)  # callers that caught ValueError still do


def test_any_int_is_a_seed():
    # main: OverflowError for 2**80 (and, with x64 off, seeds 0 and 2**32 gave the same draws)
    for seed in (0, 7, 2 ** 31, 2 ** 32 - 1):  # JAX's PRNGKey in either x64 mode
        np.testing.assert_array_equal(rng.key_from_seed(seed), jax.random.PRNGKey(seed))
    assert jax.config.jax_enable_x64  # tests/conftest.py: PRNGKey keeps all 64 bits
    for seed in (-1, 2 ** 32, 2 ** 40 + 3, 2 ** 63 - 1, -2 ** 63, np.int64(-5), np.uint32(9)):
        np.testing.assert_array_equal(rng.key_from_seed(seed), jax.random.PRNGKey(seed))
    # beyond 64 bits: the low 64 bits, then the rest folded in
    np.testing.assert_array_equal(rng.key_from_seed(2 ** 64 - 1), rng.key_from_seed(-1))
    np.testing.assert_array_equal(rng.key_from_seed(np.uint64(2 ** 64 - 1)), rng.key_from_seed(-1))
    keys = {tuple(np.asarray(rng.key_from_seed(s)).tolist())
            for s in (0, 2 ** 64, 2 ** 80, -2 ** 80, 2 ** 200, -2 ** 63 - 1, 2 ** 63 - 1)}
    assert len(keys) == 7
    with pytest.raises(TypeError, match="seed must be an int or a JAX PRNG key"):
        rng.key_from_seed(1.5)
    # the run: the programs of tests/mcmc/test_runner.py's flu runs
    kwargs = dict(chains=2, warmup=128, draws=64, progress=False)
    big = credo.nuts(flu_prevalence, FLU, seed=2 ** 80, **kwargs)
    again = credo.nuts(flu_prevalence, FLU, seed=rng.key_from_seed(2 ** 80), **kwargs)
    np.testing.assert_array_equal(big.draws["theta"], again.draws["theta"])
    assert not np.array_equal(big.draws["theta"],
                              credo.nuts(flu_prevalence, FLU, seed=0, **kwargs).draws["theta"])
