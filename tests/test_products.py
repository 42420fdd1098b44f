"""The products family against NumPy (tensordot, N-d dot, inner, outer, vdot, kron, cross,
convolve, correlate, matrix_transpose, vecdot, matvec, vecmat): values and dtypes eagerly
and under jit, vmap against a loop, gradients against finite differences, errors."""

import warnings

import numpy as np
import pytest
from compare import assert_same, transformed
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.testing import check_grads

# name -> list of (shapes, keyword arguments)
CASES = {
    "dot": [
        ([(2, 3), (4, 3, 5)], {}),
        ([(3,), (4, 3, 5)], {}),
        ([(2, 3, 4), (4,)], {}),
        ([(2, 3, 4), (2, 4, 3)], {}),
        ([(2, 3), (3, 4)], {}),
        ([(), (2, 3)], {}),
    ],
    "tensordot": [
        ([(2, 3, 4), (3, 4, 5)], {}),
        ([(2, 3), (3, 2)], {"axes": 0}),
        ([(2, 3), (3, 2)], {"axes": 1}),
        ([(2, 3), (3, 2)], {"axes": ([0], [1])}),
        ([(2, 3, 4), (4, 2, 3)], {"axes": ([2, 0], [0, 1])}),
        ([(2, 3), (3, 2)], {"axes": (1, 0)}),
        ([(2, 3), (2, 3)], {"axes": ([-1, -2], [1, 0])}),
    ],
    "inner": [
        ([(2, 3), (4, 3)], {}),
        ([(3,), (3,)], {}),
        ([(2, 1, 3), (3,)], {}),
        ([(), (3,)], {}),
    ],
    "outer": [([(3,), (4,)], {}), ([(2, 2), (3,)], {})],
    "vdot": [([(2, 3), (3, 2)], {}), ([(4,), (4,)], {})],
    "kron": [([(2, 3), (4,)], {}), ([(), (4,)], {}), ([(2, 1, 3), (2, 2)], {})],
    "cross": [
        ([(3,), (3,)], {}),
        ([(4, 3), (2, 1, 3)], {}),
        ([(2, 3), (3, 2)], {"axisb": 0}),
        ([(2, 3), (3, 2)], {"axisb": 0, "axisc": 0}),
        ([(3, 2), (3, 2)], {"axis": 0}),
        ([(2,), (2,)], {}),
        ([(3, 2), (3,)], {}),
        ([(3,), (2, 2)], {}),
    ],
    "convolve": [
        ([(5,), (3,)], {}),
        ([(3,), (5,)], {"mode": "same"}),
        ([(6,), (4,)], {"mode": "valid"}),
        ([(4,), (6,)], {"mode": "valid"}),
        ([(5,), (1,)], {"mode": 1}),
        ([(), (3,)], {}),
    ],
    "correlate": [
        ([(5,), (3,)], {}),
        ([(3,), (5,)], {"mode": "same"}),
        ([(3,), (5,)], {"mode": "full"}),
        ([(6,), (4,)], {"mode": "same"}),
        ([(6,), (5,)], {"mode": "full"}),
        ([(3,), (5,)], {}),
    ],
    "matrix_transpose": [([(3, 2, 4)], {}), ([(2, 3)], {})],
    "vecdot": [([(3, 4), (4,)], {}), ([(3, 4), (3,)], {"axis": 0}), ([(2, 1, 3), (4, 3)], {})],
    "matvec": [([(2, 3, 4), (5, 1, 4)], {}), ([(3, 4), (4,)], {})],
    "vecmat": [([(4,), (2, 4, 3)], {}), ([(2, 1, 3), (4, 3, 2)], {})],
}
TABLE = [(name, shapes, kw) for name, rows in CASES.items() for shapes, kw in rows]


def _call(lib, name, args, kw):
    with warnings.catch_warnings():  # 2-vector cross products are deprecated in NumPy 2
        warnings.simplefilter("ignore", DeprecationWarning)
        return getattr(lib, name)(*args, **kw)


def _args(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-2, 2, size=s).astype(dtype) for s in shapes]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, shapes, kw", TABLE)
def test_matches_numpy_eagerly_under_jit_and_vmap(name, shapes, kw, dtype):
    args = _args(shapes, dtype)
    expected = _call(np, name, args, kw)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert_same(_call(fnp, name, args, kw), expected, rtol)
    assert_same(fg.jit(lambda *xs: _call(fnp, name, xs, kw))(*args), transformed(expected), rtol)
    stack = np.stack([args[-1], 1 - args[-1]])  # the last operand mapped, the others not
    batched = fg.vmap(lambda x: _call(fnp, name, args[:-1] + [x], kw))(stack)
    assert_same(batched, np.stack([_call(np, name, args[:-1] + [x], kw) for x in stack]), rtol)


@pytest.mark.parametrize("name, shapes, kw", TABLE)
def test_gradients_match_finite_differences(name, shapes, kw):
    args = _args(shapes, np.float64, seed=1)
    w = np.random.default_rng(2).standard_normal(np.shape(_call(np, name, args, kw)))
    check_grads(lambda *xs: fnp.sum(fnp.sin(_call(fnp, name, xs, kw)) * w), tuple(args), order=2)


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint8, np.bool_])
@pytest.mark.parametrize("name", sorted(CASES))
def test_integer_and_bool_dtypes_as_numpy(name, dtype):
    shapes, kw = CASES[name][0]
    rng = np.random.default_rng(3)
    args = [rng.integers(0, 3, size=s).astype(dtype) for s in shapes]
    try:
        expected = _call(np, name, args, kw)
    except TypeError:  # NumPy refuses (cross of bools subtracts): so must we
        with pytest.raises(TypeError):
            _call(fnp, name, args, kw)
        return
    assert_same(_call(fnp, name, args, kw), expected)
    assert_same(fg.jit(lambda *xs: _call(fnp, name, xs, kw))(*args), transformed(expected))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 7),
    m=st.integers(1, 7),
    mode=st.sampled_from(["full", "same", "valid"]),
    seed=st.integers(0, 2**31),
)
def test_convolve_and_correlate_all_lengths_and_modes(n, m, mode, seed):
    a, v = _args([(n,), (m,)], np.float64, seed)
    for name in ("convolve", "correlate"):
        expected = getattr(np, name)(a, v, mode)
        assert_same(getattr(fnp, name)(a, v, mode), expected)
        w = np.random.default_rng(seed).standard_normal(expected.shape)
        check_grads(lambda a, v: fnp.sum(getattr(fnp, name)(a, v, mode) * w), (a, v), order=1)


def test_cross_warns_about_two_vectors_as_numpy():
    with pytest.warns(DeprecationWarning, match="2-dimensional vectors"):
        fnp.cross(np.ones(2), np.ones(2))


def test_dot_of_nd_operands_is_one_gemm():
    graph = fg.make_graph(fnp.dot)(np.ones((2, 3, 4)), np.ones((5, 4, 6)))
    assert [e.prim.name for e in graph.eqns].count("matmul") == 1


ERRORS = [
    ("dot", [(2, 3), (4, 5)], {}),
    ("dot", [(3,), (4,)], {}),
    ("dot", [(2, 3), (4, 2, 5)], {}),
    ("inner", [(2, 3), (4,)], {}),
    ("tensordot", [(2, 3), (3, 2)], {"axes": 3}),
    ("tensordot", [(2, 3), (3, 2)], {"axes": ([0, 1], [1])}),
    ("tensordot", [(2, 3), (3, 2)], {"axes": ([1, 1], [0, 0])}),
    ("tensordot", [(2, 3), (3, 2)], {"axes": ([0], [0])}),
    ("vdot", [(2, 3), (4,)], {}),
    ("cross", [(4,), (4,)], {}),
    ("cross", [(3, 2), (3, 2)], {"axis": 5}),
    ("convolve", [(3,), (0,)], {}),
    ("convolve", [(0,), (1,)], {}),
    ("convolve", [(3,), (1,)], {"mode": "x"}),
    ("convolve", [(3,), (1,)], {"mode": 5}),
    ("correlate", [(2, 2), (1,)], {}),
    ("matrix_transpose", [(3,)], {}),
    ("vecdot", [(3, 4), (3,)], {}),
    ("vecdot", [(), (3,)], {}),
    ("matvec", [(2, 3, 4), (3,)], {}),
    ("matvec", [(2, 3, 4), (3, 4)], {}),
    ("vecmat", [(3,), (3,)], {}),
]


@pytest.mark.parametrize("name, shapes, kw", ERRORS)
def test_errors_as_numpy(name, shapes, kw):
    args = [np.ones(s) for s in shapes]
    with pytest.raises(Exception) as numpy_error:
        _call(np, name, args, kw)
    expected = numpy_error.type
    if issubclass(expected, np.exceptions.AxisError):
        expected = ValueError  # funcgrad's axis errors are ShapeErrors: ValueErrors, as AxisError
    with pytest.raises(expected) as info:
        _call(fnp, name, args, kw)
    assert "test_products.py" in str(info.value), str(info.value)  # names the user's line
