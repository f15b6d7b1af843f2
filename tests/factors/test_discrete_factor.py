"""DiscreteFactor operations against direct numpy computations."""

import numpy as np
import pytest

import credo
from credo import DiscreteFactor

STATES = {"a": ["a0", "a1"], "b": ["b0", "b1", "b2"], "c": ["c0", "c1"]}


def _factor(rng, variables):
    shape = [len(STATES[v]) for v in variables]
    return DiscreteFactor(variables, rng.random(shape), STATES)


def test_product_marginalize_reduce_normalize():
    rng = np.random.default_rng(0)
    f = _factor(rng, ["a", "b"])
    g = _factor(rng, ["b", "c"])
    h = f * g
    assert h.variables == ("a", "b", "c")
    np.testing.assert_allclose(h.values, f.values[:, :, None] * g.values[None, :, :])
    np.testing.assert_allclose(h.marginalize(["b"]).values, np.einsum("ab,bc->ac", f.values, g.values))
    np.testing.assert_allclose(h.maximize(["b", "c"]).values, h.values.max(axis=(1, 2)))
    r = h.reduce({"b": "b2", "z": "ignored"})
    assert r.variables == ("a", "c")
    np.testing.assert_allclose(r.values, h.values[:, 2, :])
    assert h.normalize().values.sum() == pytest.approx(1.0)
    assert h.value(a="a1", b="b0", c="c1") == pytest.approx(h.values[1, 0, 1])


def test_factors_are_immutable():
    f = DiscreteFactor(["a"], [0.2, 0.8], STATES)
    with pytest.raises(ValueError):
        f.values[0] = 1.0
    f.normalize()
    assert f.values[0] == 0.2


def test_transpose_and_allclose():
    rng = np.random.default_rng(1)
    f = _factor(rng, ["a", "b", "c"])
    t = f.transpose(["c", "a", "b"])
    assert t.variables == ("c", "a", "b") and t.allclose(f)
    assert not t.allclose(_factor(rng, ["a", "b", "c"]))


def test_log_values_round_trip():
    f = DiscreteFactor(["a", "c"], [[0.0, 1e-300], [0.5, 0.5]], STATES)
    assert f.log_values[0, 0] == -np.inf
    g = DiscreteFactor.from_log_values(["a", "c"], f.log_values, STATES)
    np.testing.assert_allclose(g.normalize().values, f.normalize().values)


def test_bad_factors_raise_typed_errors():
    with pytest.raises(credo.ModelError, match="negative"):
        DiscreteFactor(["a"], [-1.0, 2.0])
    with pytest.raises(credo.ModelError, match="2 state names but 3"):
        DiscreteFactor(["a"], [1, 2, 3], {"a": ["x", "y"]})
    with pytest.raises(credo.ModelError, match="twice"):
        DiscreteFactor(["a", "a"], np.ones((2, 2)))
    with pytest.raises(credo.UnknownStateError, match="a9.*'a0', 'a1'"):
        DiscreteFactor(["a"], [1, 2], STATES).reduce({"a": "a9"})
    with pytest.raises(credo.UnknownVariableError, match="zz"):
        DiscreteFactor(["a"], [1, 2], STATES).marginalize(["zz"])
    with pytest.raises(credo.ModelError, match="states"):
        DiscreteFactor(["a"], [1, 2], STATES) * DiscreteFactor(["a"], [1, 2], {"a": ["x", "y"]})


def test_contract_handles_many_variables_and_operands():
    from credo.factors import contract

    rng = np.random.default_rng(2)
    # 60 distinct labels over many small tables (einsum alone allows 52 letters).
    operands = [(rng.random((2, 2)), (i, i + 1)) for i in range(60)]
    chain = np.eye(2)
    for array, _ in operands:
        chain = chain @ array
    result = contract(operands, (0, 60))
    np.testing.assert_allclose(result, chain, rtol=1e-10)
