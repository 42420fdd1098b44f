"""Casts, integer and bool kernels, argmax: bit for bit what NumPy gives."""

import math

import numpy as np
import pytest
from compiled import kinds, may_use_threads, run_both
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.compiler.program import CompiledProgram
from funcgrad.reference import ReferenceProgram

CAST_DTYPES = [np.dtype(t) for t in (bool, "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8")]
CAST_DTYPES += [np.dtype(np.float32), np.dtype(np.float64)]


def _any_values(dtype, n, rng):
    """n values of dtype across its whole range, its extremes and (floats) NaN, infinities,
    signed zeros, subnormals and values that round when narrowed."""
    if dtype == np.bool_:
        return rng.integers(0, 2, n).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
        x[: min(n, 4)] = [info.min, info.max, 0, 1][: min(n, 4)]
        return x
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-310, 1e39, 0.1, 2.0**24 + 1, -2.5]
    with np.errstate(over="ignore"):  # (out of the narrow types' range: inf, on purpose)
        x = (rng.standard_normal(n) * 10.0 ** rng.integers(-40, 40, n)).astype(dtype)
        x[: min(n, len(special))] = np.array(special[: min(n, len(special))]).astype(dtype)
    return x


@settings(max_examples=80, deadline=None)
@given(
    src=st.sampled_from(CAST_DTYPES),
    dst=st.sampled_from(CAST_DTYPES),
    n=st.integers(0, 70),
    seed=st.integers(0, 2**31),
)
def test_casts_convert_like_numpy(src, dst, n, seed):
    # Bit for bit what astype gives; float -> integer casts (NaN, out of range: undefined
    # in C) run on NumPy instead.
    x = _any_values(src, n, np.random.default_rng(seed))
    graph = fg.make_graph(lambda x: fnp.reshape(x.astype(dst), (-1, 1)))(x)
    program = CompiledProgram(graph)
    with np.errstate(invalid="ignore", over="ignore"):
        got = program(graph.consts, [x])[0]
        expected = x.astype(dst).reshape(-1, 1)
    assert got.dtype == dst
    np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))
    if src != dst:  # bool -> float is a load of 0/1 in a fused kernel
        kind = "fused" if src == np.bool_ and dst.kind == "f" else "cast"
        kind = "python" if src.kind == "f" and dst.kind in "iu" else kind
        assert kinds(program) == [kind]


def test_large_casts_and_random_draws_run_on_threads():
    # Sizes above the threaded-kernel threshold, against NumPy and the reference.
    rng = np.random.default_rng(4)
    x = rng.integers(-(2**40), 2**40, 300_001)
    got = fg.jit(lambda x: x.astype(np.float32))(x)
    np.testing.assert_array_equal(got, x.astype(np.float32))
    key = fg.random.key(7)
    for dtype in (np.float32, np.float64):
        draw = lambda k: fg.random.uniform(k, (301, 1001), dtype)  # noqa: E731
        expected, got = run_both(draw, key)
        np.testing.assert_array_equal(got[0], expected[0])
    graph = fg.make_graph(draw)(key)
    assert "random_bits" in kinds(CompiledProgram(graph))
    # Programs whose kernels may start threads hold BLAS to one thread while they run (two
    # pools of spinning threads: an Adam + dropout step took 2.6 instead of 1.8 ms).
    assert may_use_threads(CompiledProgram(graph))
    small = fg.make_graph(lambda k: fg.random.uniform(k, (100,)) + x[:100].astype(np.float32))
    assert not may_use_threads(CompiledProgram(small(key)))
    assert may_use_threads(CompiledProgram(fg.make_graph(lambda x: x.astype(np.float32))(x)))


INT_DTYPES = [np.dtype(t) for t in (bool, "i1", "u1", "i2", "u2", "i4", "u4", "i8")]


INT_BINARY = ["add", "sub", "mul", "max", "min", "gt", "ge", "lt", "le", "eq", "ne"]


@pytest.mark.parametrize("op", INT_BINARY + ["neg", "abs", "sign", "select"])
@settings(max_examples=25, deadline=None)
@given(
    dtype=st.sampled_from(INT_DTYPES),
    shapes=st.sampled_from(
        [((), ()), ((5,), ()), ((), (3, 1)), ((4, 1), (1, 7)), ((2, 3, 4),) * 2, ((3, 701), (701,))]
    ),
    literal=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_integer_operations_wrap_and_compare_like_numpy(op, dtype, shapes, literal, seed):
    # The integer kernel against the reference (NumPy), bit for bit: extremes of each dtype
    # make sums, products, negations and abs wrap around; operands broadcast; a scalar
    # literal second operand is inlined.
    if dtype == np.bool_ and op not in ("max", "min", "gt", "ge", "lt", "le", "eq", "ne"):
        dtype = np.dtype(np.int8)  # (NumPy has no bool arithmetic to compare with)
    rng = np.random.default_rng(seed)
    x, y = (_any_values(dtype, math.prod(s), rng).reshape(s) for s in shapes)
    prim = fg.primitives.REGISTRY[op]
    if op in ("neg", "abs", "sign"):
        f, args = (lambda x: prim(x)), [x]
    elif op == "select":
        p = rng.integers(0, 2, shapes[0]).astype(bool)
        f, args = (lambda p, x, y: prim(p, x, y)), [p, x, y]
    elif literal:
        c = y.reshape(-1)[0] if y.size else dtype.type(3)
        f, args = (lambda x: prim(x, c)), [x]
    else:
        f, args = (lambda x, y: prim(x, y)), [x, y]
    graph = fg.make_graph(f)(*args)
    program = CompiledProgram(graph)
    found = kinds(program)  # (bool comparisons: the register machine's)
    assert found in ([], ["int"]) or (dtype == np.bool_ and found == ["fused"]), found
    with np.errstate(over="ignore"):
        expected = ReferenceProgram(graph)(graph.consts, args)[0]
    got = program(graph.consts, args)[0]
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    axis=st.integers(0, 2),
    dtype=st.sampled_from([np.float32, np.float64]),
    index=st.sampled_from([np.int32, np.int64]),
    nans=st.integers(0, 3),
    seed=st.integers(0, 2**31),
)
def test_argmax_picks_the_first_maximum_or_the_first_nan(shape, axis, dtype, index, nans, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, shape).astype(dtype)  # many ties
    x.flat[rng.integers(0, x.size, nans)] = np.nan
    axis = axis % len(shape)
    f = lambda x: fg.primitives.argmax(x, axis=axis, index_dtype=np.dtype(index))  # noqa: E731
    graph = fg.make_graph(f)(x)
    program = CompiledProgram(graph)
    assert kinds(program) == ["argmax"]
    got = program(graph.consts, [x])[0]
    assert got.dtype == index
    np.testing.assert_array_equal(got, np.argmax(x, axis=axis))


@pytest.mark.parametrize("name", ["reduce_sum", "reduce_max", "reduce_min"])
@settings(max_examples=30, deadline=None)
@given(
    dtype=st.sampled_from(INT_DTYPES),
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)
    | st.just((3, 1201)),  # more than a block along a row
    axes=st.sets(st.integers(0, 2)),
    seed=st.integers(0, 2**31),
)
def test_integer_reductions_wrap_like_numpy(name, dtype, shape, axes, seed):
    if dtype == np.bool_ and name == "reduce_sum":
        dtype = np.dtype(np.uint8)  # (NumPy sums bools as integers)
    x = _any_values(dtype, math.prod(shape), np.random.default_rng(seed)).reshape(shape)
    axes = tuple(sorted({a % len(shape) for a in axes}))
    f = lambda x: fg.primitives.REGISTRY[name](x, axes=axes)  # noqa: E731
    graph = fg.make_graph(f)(x)
    program = CompiledProgram(graph)
    assert kinds(program) in ([], ["int_reduce"]), program
    got = program(graph.consts, [x])[0]
    expected = ReferenceProgram(graph)(graph.consts, [x])[0]
    assert got.dtype == expected.dtype == dtype
    np.testing.assert_array_equal(got, expected)
