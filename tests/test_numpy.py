"""funcgrad.numpy against NumPy: values, shapes and dtypes eagerly, the same under ``jit``
(abstract tracing), and gradients under ``grad``/``vjp``/``jvp`` against finite differences."""

import operator

import numpy as np
import pytest
from compare import assert_numpy_type, numpy_then_ours, transformed
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.testing import check_grads

SETTINGS = settings(max_examples=25, deadline=None)

seeds = st.integers(0, 2**32 - 1)


# ----------------------------------------------------------------------------- helpers


def _rtol(dtype):
    return {np.dtype(np.float32): 1e-5, np.dtype(np.float16): 1e-3}.get(np.dtype(dtype), 1e-12)


def assert_same(actual, expected, rtol=None):
    """NumPy's type, same shape, same dtype, same values (exact for ints/bools, tight for
    floats)."""
    assert_numpy_type(actual, expected)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    if expected.dtype.kind in "fc":
        tol = _rtol(expected.dtype) if rtol is None else rtol
        np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected)


def check_eager_and_jit(fn, args, expected, rtol=None):
    """``fn(*args)`` eagerly equals ``expected``; ``jit(fn)(*args)`` equals the eager result
    (0-d as a NumPy scalar, as every transformation hands it back)."""
    eager = fn(*args)
    assert_same(eager, expected, rtol)
    jitted = fg.jit(fn)(*args)
    assert_same(jitted, transformed(eager), rtol)
    return eager


def check_grad(f, *args, order=1):
    """``f`` (scalar-valued) has the right derivatives at float64 ``args``: check_grads
    (vjp and jvp against finite differences) and ``grad`` along a random direction."""
    args = tuple(np.asarray(a, np.float64) for a in args)
    check_grads(f, args, order=order)
    grads = fg.grad(f, argnums=tuple(range(len(args))))(*args)
    for g, a in zip(grads, args):
        assert_numpy_type(g, transformed(a))
        assert g.shape == a.shape and g.dtype == np.float64
    rng = np.random.default_rng(1)
    vs = [rng.standard_normal(a.shape) for a in args]
    eps = 1e-6
    plus = f(*[a + eps * v for a, v in zip(args, vs)])
    minus = f(*[a - eps * v for a, v in zip(args, vs)])
    numeric = (float(plus) - float(minus)) / (2 * eps)
    analytic = sum(float(np.vdot(g, v)) for g, v in zip(grads, vs))
    assert np.isclose(analytic, numeric, rtol=1e-5, atol=1e-5), (analytic, numeric)


def weighted_sum(fn, out_shape, seed=0):
    """A scalar reduction of ``fn``'s output with fixed random weights."""
    w = np.random.default_rng(seed).standard_normal(out_shape)
    return lambda *xs: fnp.sum(fn(*xs) * w)


def _raises_here(exc, pattern, thunk, filename="test_numpy.py"):
    """``thunk()`` raises ``exc`` matching ``pattern`` and naming the line of ``thunk``
    (a one-line lambda written in this file) as where the error happened."""
    line = thunk.__code__.co_firstlineno
    with pytest.raises(exc, match=pattern) as info:
        thunk()
    assert f"{filename}:{line}" in str(info.value), str(info.value)
    return info.value


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
shapes_with_zero = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
float_dtypes = st.sampled_from([np.float32, np.float64])


def _data(seed, shape, lo=-2.0, hi=2.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.uniform(lo, hi, size=shape)
    if np.dtype(dtype).kind in "iu":
        return np.round(x).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return x > (lo + hi) / 2
    return x.astype(dtype)


def _away_from(x, points, margin=0.05):
    """Push values of ``x`` at least ``margin`` away from each of ``points`` (kinks)."""
    x = np.array(x, dtype=np.float64)
    for p in points:
        near = np.abs(x - p) < margin
        x[near] = p + np.where(x[near] >= p, margin, -margin)
    return x


def _distinct(seed, shape, dtype=np.float64):
    """Values with gaps >= 0.25 between any two elements (so max/min have no ties)."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape, dtype=np.int64))
    return ((rng.permutation(size) - size / 2) * 0.25).reshape(shape).astype(dtype)


@st.composite
def axes_for(draw, ndim, allow_none=True):
    """None, an int (maybe negative) or a tuple of distinct axes (maybe negative)."""
    options = ["none"] if allow_none or ndim == 0 else []
    if ndim:
        options += ["int", "tuple"]
    kind = draw(st.sampled_from(options))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=0, max_size=ndim, unique=True))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


def _reduced_count(shape, axis):
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


# ----------------------------------------------------------------------------- elementwise

# name -> (fnp function, NumPy function, value range, kinks)
UNARY = {
    "negative": (fnp.negative, np.negative, (-2, 2), ()),
    "exp": (fnp.exp, np.exp, (-2, 2), ()),
    "log": (fnp.log, np.log, (0.2, 3), ()),
    "log1p": (fnp.log1p, np.log1p, (-0.5, 3), ()),
    "tanh": (fnp.tanh, np.tanh, (-2, 2), ()),
    "sin": (fnp.sin, np.sin, (-3, 3), ()),
    "cos": (fnp.cos, np.cos, (-3, 3), ()),
    "sqrt": (fnp.sqrt, np.sqrt, (0.2, 3), ()),
    "sinh": (fnp.sinh, np.sinh, (-2, 2), ()),
    "cosh": (fnp.cosh, np.cosh, (-2, 2), ()),
    "arcsinh": (fnp.arcsinh, np.arcsinh, (-3, 3), ()),
    "abs": (fnp.abs, np.abs, (-2, 2), (0.0,)),
    "sign": (fnp.sign, np.sign, (-2, 2), (0.0,)),
    "square": (fnp.square, np.square, (-2, 2), ()),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64, np.int32]), seed=seeds)
def test_unary_matches_numpy_jit_and_grad(name, shape, dtype, seed):
    fn, ref, (lo, hi), kinks = UNARY[name]
    x = _data(seed, shape, lo, hi, dtype)
    expected, eager = numpy_then_ours(lambda: ref(x), lambda: fn(x))  # (int draws hold 0)
    assert_same(eager, expected)
    assert_same(fg.jit(fn)(x), transformed(eager))
    if dtype == np.float64:
        x = _away_from(x, kinks)
        check_grad(weighted_sum(fn, shape, seed), x)


def test_unary_on_python_scalars_and_lists():
    assert_same(fnp.exp(1.0), np.exp(1.0))
    assert_same(fnp.sqrt(4), np.sqrt(4))  # a Python int alone computes in float64
    assert_same(fnp.abs([-1, 2]), np.abs([-1, 2]))
    assert_same(fnp.sign(np.array([-2.0, 0.0, 3.0])), np.array([-1.0, 0.0, 1.0]))


def test_sign_and_abs_gradients():
    x = np.array([-1.5, -0.3, 0.4, 2.0])
    assert_same(fg.grad(lambda x: fnp.sum(fnp.sign(x)))(x), transformed(np.zeros(4)))
    assert_same(fg.grad(lambda x: fnp.sum(fnp.abs(x)))(x), transformed(np.sign(x)))


BINARY = {
    "add": (fnp.add, np.add, operator.add, (-2, 2)),
    "subtract": (fnp.subtract, np.subtract, operator.sub, (-2, 2)),
    "multiply": (fnp.multiply, np.multiply, operator.mul, (-2, 2)),
    "divide": (fnp.divide, np.divide, operator.truediv, (0.5, 2)),
    "power": (fnp.power, np.power, operator.pow, (0.5, 2)),
    "maximum": (fnp.maximum, np.maximum, None, (-2, 2)),
    "minimum": (fnp.minimum, np.minimum, None, (-2, 2)),
}
binary_shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(
    shapes=binary_shapes,
    dtypes=st.sampled_from(
        [(np.float64, np.float64), (np.float32, np.float32), (np.float32, np.float64)]
    ),
    seed=seeds,
)
def test_binary_matches_numpy_jit_and_grad(name, shapes, dtypes, seed):
    fn, ref, op, (lo, hi) = BINARY[name]
    (sx, sy), out_shape = shapes.input_shapes, shapes.result_shape
    x = _data(seed, sx, lo, hi, dtypes[0])
    y = _data(seed + 1, sy, lo, hi, dtypes[1])
    expected = ref(x, y)
    check_eager_and_jit(fn, (x, y), expected)
    if op is not None:  # the operator on tracers, and with a NumPy array on either side
        assert_same(fg.jit(op)(x, y), transformed(expected))
        assert_same(fg.jit(lambda x: op(x, y))(x), transformed(expected))
        assert_same(fg.jit(lambda y: op(x, y))(y), transformed(expected))
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    if name in ("maximum", "minimum"):  # keep away from ties, where the slope jumps
        y64 = np.where(np.abs(x64 - y64) < 0.05, y64 + 0.2, y64)
    check_grad(weighted_sum(fn, out_shape, seed), x64, y64)


@pytest.mark.parametrize(
    "op, ref",
    [
        (lambda x: 2.0 - x, lambda x: 2.0 - x),
        (lambda x: 3.0 / x, lambda x: 3.0 / x),
        (lambda x: 2.0**x, lambda x: 2.0**x),
        (lambda x: x**2, lambda x: x**2),
        (lambda x: x**3, lambda x: x**3),
        (lambda x: x**0.5, lambda x: x**0.5),
        (lambda x: x**-1.5, lambda x: x**-1.5),
        (lambda x: -x, lambda x: -x),
        (lambda x: +x, lambda x: +x),
        (lambda x: abs(x - 1.0), lambda x: abs(x - 1.0)),
        (lambda x: 1 + x * 2 - x / 4, lambda x: 1 + x * 2 - x / 4),
    ],
)
def test_scalar_operators_under_jit_and_grad(op, ref):
    x = np.array([[0.3, 1.7, 2.2], [0.6, 1.2, 0.5]])
    for dtype in (np.float32, np.float64):
        xd = x.astype(dtype)
        assert_same(fg.jit(op)(xd), transformed(ref(xd)))
    check_grad(lambda x: fnp.sum(op(x)), x, order=2)


@SETTINGS
@given(
    shapes=binary_shapes,
    dtype=st.sampled_from([np.int8, np.int32, np.int64, np.uint8]),
    n=st.integers(0, 6),
    seed=seeds,
)
def test_integer_powers_stay_integers(shapes, dtype, n, seed):
    (sx, sy), _ = shapes.input_shapes, shapes.result_shape
    lo = 0 if dtype == np.uint8 else -4
    x = _data(seed, sx, lo, 4, dtype)
    e = _data(seed + 1, sy, 0, 4, dtype)
    check_eager_and_jit(lambda x: fnp.power(x, n), (x,), np.power(x, n))
    assert_same(fg.jit(lambda x: x**n)(x), transformed(x**n))
    check_eager_and_jit(fnp.power, (x, e), np.power(x, e))
    assert_same(fg.jit(lambda e: 3**e)(e), transformed(3**e))


def test_integer_to_negative_power_raises():
    x = np.array([1, 2], np.int32)
    _raises_here(ValueError, "negative integer powers", lambda: fnp.power(x, -1))


def test_maximum_splits_the_gradient_on_ties():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 0.0, 5.0])
    gx, gy = fg.grad(lambda x, y: fnp.sum(fnp.maximum(x, y)), argnums=(0, 1))(x, y)
    assert_same(gx, np.array([0.5, 1.0, 0.0]))
    assert_same(gy, np.array([0.5, 0.0, 1.0]))


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3), seed=seeds)
def test_where_matches_numpy_jit_and_grad(shapes, seed):
    (sc, sx, sy), out_shape = shapes.input_shapes, shapes.result_shape
    cond = _data(seed, sc, dtype=np.bool_)
    x, y = _data(seed + 1, sx), _data(seed + 2, sy, dtype=np.float32)
    check_eager_and_jit(fnp.where, (cond, x, y), np.where(cond, x, y))
    check_eager_and_jit(lambda c, y: fnp.where(c, y, 0), (cond, y), np.where(cond, y, 0))
    icond = _data(seed, sc, dtype=np.int32)  # nonzero means true
    check_eager_and_jit(fnp.where, (icond, x, y), np.where(icond, x, y))
    f = lambda x, y: fnp.where(cond, x, y)  # noqa: E731
    check_grad(weighted_sum(f, out_shape, seed), x, y.astype(np.float64))


@SETTINGS
@given(
    shape=shapes,
    bounds=st.sampled_from([(-1.0, 1.0), (None, 0.5), (-0.5, None), (0, 1)]),
    dtype=st.sampled_from([np.float32, np.float64, np.int32]),
    seed=seeds,
)
def test_clip_matches_numpy_jit_and_grad(shape, bounds, dtype, seed):
    x = _data(seed, shape, -2, 2, dtype)
    lo, hi = bounds
    check_eager_and_jit(lambda x: fnp.clip(x, lo, hi), (x,), np.clip(x, lo, hi))
    assert_same(fg.jit(lambda x: x.clip(lo, hi))(x), transformed(np.clip(x, lo, hi)))
    if dtype == np.float64:
        x = _away_from(x, [b for b in bounds if b is not None])
        check_grad(weighted_sum(lambda x: fnp.clip(x, lo, hi), shape, seed), x)


def _special_values(seed, shape):
    x = _data(seed, shape, -3, 3)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0])
    mask = np.random.default_rng(seed).random(shape) < 0.4
    return np.where(mask, np.resize(specials, shape) if x.size else x, x)


COMPARISONS = [
    (fnp.greater, np.greater, operator.gt),
    (fnp.greater_equal, np.greater_equal, operator.ge),
    (fnp.less, np.less, operator.lt),
    (fnp.less_equal, np.less_equal, operator.le),
    (fnp.equal, np.equal, operator.eq),
    (fnp.not_equal, np.not_equal, operator.ne),
]


@SETTINGS
@given(shapes=binary_shapes, seed=seeds)
def test_comparisons_and_logical_ops(shapes, seed):
    sx, sy = shapes.input_shapes
    x, y = _data(seed, sx, -2, 2, np.int32), _data(seed + 1, sy, -2, 2, np.float32)
    for fn, ref, op in COMPARISONS:
        check_eager_and_jit(fn, (x, y), ref(x, y))
        assert_same(fg.jit(op)(x, y), transformed(ref(x, y)))
    a, b = _data(seed, sx, dtype=np.bool_), _data(seed + 1, sy, dtype=np.bool_)
    check_eager_and_jit(fnp.logical_and, (a, b), np.logical_and(a, b))
    check_eager_and_jit(fnp.logical_or, (a, b), np.logical_or(a, b))
    check_eager_and_jit(fnp.logical_not, (a,), np.logical_not(a))
    check_eager_and_jit(fnp.logical_and, (x, y), np.logical_and(x, y))  # nonzero is true
    check_eager_and_jit(fnp.logical_or, (x, y), np.logical_or(x, y))
    check_eager_and_jit(fnp.logical_not, (y,), np.logical_not(y))
    assert_same(fg.jit(operator.and_)(a, b), transformed(a & b))
    assert_same(fg.jit(operator.or_)(a, b), transformed(a | b))
    assert_same(fg.jit(operator.invert)(a), transformed(~a))


@SETTINGS
@given(shape=shapes_with_zero, dtype=float_dtypes, seed=seeds)
def test_isfinite_and_isnan(shape, dtype, seed):
    x = _special_values(seed, shape).astype(dtype)
    check_eager_and_jit(fnp.isfinite, (x,), np.isfinite(x))
    check_eager_and_jit(fnp.isnan, (x,), np.isnan(x))
    i = _data(seed, shape, dtype=np.int32)
    check_eager_and_jit(fnp.isfinite, (i,), np.isfinite(i))
    check_eager_and_jit(fnp.isnan, (i,), np.isnan(i))


# ----------------------------------------------------------------------------- reductions

REDUCTIONS = {
    "sum": (fnp.sum, np.sum),
    "mean": (fnp.mean, np.mean),
    "max": (fnp.max, np.max),
    "min": (fnp.min, np.min),
    "var": (fnp.var, np.var),
    "std": (fnp.std, np.std),
}


@st.composite
def shape_and_axis(draw, min_side=1):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=min_side, max_side=4))
    return shape, draw(axes_for(len(shape)))


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@SETTINGS
@given(
    shape_axis=shape_and_axis(),
    keepdims=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64, np.int32]),
    seed=seeds,
)
def test_reduction_matches_numpy_jit_and_grad(name, shape_axis, keepdims, dtype, seed):
    fn, ref = REDUCTIONS[name]
    shape, axis = shape_axis
    x = _distinct(seed, shape, dtype) if dtype != np.int32 else _data(seed, shape, -9, 9, dtype)
    expected = ref(x, axis=axis, keepdims=keepdims)
    check_eager_and_jit(lambda x: fn(x, axis=axis, keepdims=keepdims), (x,), expected)
    assert_same(
        fg.jit(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims))(x), transformed(expected)
    )
    if dtype == np.float64 and not (name == "std" and _reduced_count(shape, axis) < 2):
        out_shape = np.shape(expected)
        check_grad(weighted_sum(lambda x: fn(x, axis=axis, keepdims=keepdims), out_shape), x)


@SETTINGS
@given(shape_axis=shape_and_axis(min_side=0), keepdims=st.booleans(), seed=seeds)
def test_sum_with_zero_size_axes_and_int_dtypes(shape_axis, keepdims, seed):
    shape, axis = shape_axis
    for dtype in (np.float64, np.int32, np.int8, np.bool_, np.uint8):
        x = (
            _data(seed, shape, -5, 5, dtype)
            if dtype != np.uint8
            else _data(seed, shape, 0, 9, dtype)
        )
        expected = np.sum(x, axis=axis, keepdims=keepdims)
        check_eager_and_jit(lambda x: fnp.sum(x, axis=axis, keepdims=keepdims), (x,), expected)


@SETTINGS
@given(
    shape_axis=shape_and_axis(min_side=2).filter(lambda sa: _reduced_count(*sa) >= 2),
    ddof=st.integers(0, 1),
    seed=seeds,
)
def test_var_and_std_with_ddof(shape_axis, ddof, seed):
    shape, axis = shape_axis
    x = _data(seed, shape)
    check_eager_and_jit(
        lambda x: fnp.var(x, axis=axis, ddof=ddof), (x,), np.var(x, axis, ddof=ddof)
    )
    check_eager_and_jit(
        lambda x: fnp.std(x, axis=axis, ddof=ddof), (x,), np.std(x, axis, ddof=ddof)
    )
    out_shape = np.shape(np.std(x, axis=axis))
    check_grad(weighted_sum(lambda x: fnp.std(x, axis=axis, ddof=ddof), out_shape), x)


def test_max_min_gradient_splits_ties():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]])
    assert_same(
        fg.grad(lambda x: fnp.sum(fnp.max(x, axis=1)))(x), transformed([[0, 0.5, 0.5], [1, 0, 0]])
    )
    assert_same(fg.grad(lambda x: fnp.min(x))(x), transformed([[0, 0, 0], [0, 0, 1.0]]))


@st.composite
def shape_and_single_axis(draw, min_dims=0):
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=4))
    ndim = len(shape)
    axis = draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1))) if ndim else None
    return shape, axis


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@SETTINGS
@given(
    shape_axis=shape_and_single_axis(),
    keepdims=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int8, np.uint8, np.bool_]),
    seed=seeds,
)
def test_argmax_argmin(name, shape_axis, keepdims, dtype, seed):
    shape, axis = shape_axis
    lo = 0 if dtype in (np.uint8, np.bool_) else -3
    x = _data(seed, shape, lo, 3, dtype)  # with ties: the first occurrence wins
    fn, ref = getattr(fnp, name), getattr(np, name)
    expected = ref(x, axis=axis, keepdims=keepdims)
    check_eager_and_jit(lambda x: fn(x, axis=axis, keepdims=keepdims), (x,), expected)
    assert_same(
        fg.jit(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims))(x), transformed(expected)
    )


def test_argmin_at_the_integer_limits():
    for dtype in (np.int8, np.int32, np.uint8):
        info = np.iinfo(dtype)
        x = np.array([3, info.min, info.max, 0], dtype)
        assert_same(fnp.argmin(x), np.argmin(x))
        assert_same(fnp.argmax(x), np.argmax(x))


def test_argmax_is_not_differentiable_but_flows_through():
    x = np.array([[0.1, 0.9], [0.7, 0.2]])
    g = fg.grad(lambda x: fnp.sum(x * fnp.argmax(x, axis=1)))(x)
    assert_same(g, np.array([[1.0, 0.0], [1.0, 0.0]]))  # x * [1, 0] along the last axis


# ----------------------------------------------------------------------------- shapes


@st.composite
def reshape_targets(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4))
    size = int(np.prod(shape, dtype=np.int64))
    target, rest = [], size
    for _ in range(draw(st.integers(0, 3))):
        d = draw(st.sampled_from([k for k in range(1, rest + 1) if rest % k == 0]))
        target.append(d)
        rest //= d
    target.append(rest)
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return shape, tuple(target)


@SETTINGS
@given(shape_target=reshape_targets(), dtype=float_dtypes, seed=seeds)
def test_reshape(shape_target, dtype, seed):
    shape, target = shape_target
    x = _data(seed, shape, dtype=dtype)
    expected = np.reshape(x, target)
    check_eager_and_jit(lambda x: fnp.reshape(x, target), (x,), expected)
    assert_same(fg.jit(lambda x: x.reshape(target))(x), transformed(expected))
    assert_same(fg.jit(lambda x: x.reshape(*target))(x), transformed(expected))
    assert_same(fg.jit(fnp.ravel)(x), transformed(np.ravel(x)))
    check_grad(weighted_sum(lambda x: fnp.reshape(x, target), expected.shape, seed), x)


@SETTINGS
@given(shape=shapes, data=st.data(), seed=seeds)
def test_transpose(shape, data, seed):
    ndim = len(shape)
    perm = data.draw(st.permutations(range(ndim)))
    perm = tuple(p - ndim if data.draw(st.booleans()) else p for p in perm)
    x = _data(seed, shape)
    expected = np.transpose(x, perm)
    check_eager_and_jit(lambda x: fnp.transpose(x, perm), (x,), expected)
    check_eager_and_jit(fnp.transpose, (x,), np.transpose(x))
    assert_same(fg.jit(lambda x: x.T)(x), transformed(x.T))
    assert_same(fg.jit(lambda x: x.transpose(perm))(x), transformed(expected))
    assert_same(fg.jit(lambda x: x.transpose(*perm))(x), transformed(expected))
    check_grad(weighted_sum(lambda x: fnp.transpose(x, perm), expected.shape, seed), x)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3), data=st.data())
def test_swapaxes_and_moveaxis(shape, data):
    ndim = len(shape)
    a, b = (data.draw(st.integers(-ndim, ndim - 1)) for _ in range(2))
    x = _data(0, shape)
    swapped = np.swapaxes(x, a, b)
    check_eager_and_jit(lambda x: fnp.swapaxes(x, a, b), (x,), swapped)
    assert_same(fg.jit(lambda x: x.swapaxes(a, b))(x), transformed(swapped))
    moved = np.moveaxis(x, a, b)
    check_eager_and_jit(lambda x: fnp.moveaxis(x, a, b), (x,), moved)
    check_grad(weighted_sum(lambda x: fnp.swapaxes(x, a, b), swapped.shape), x)
    check_grad(weighted_sum(lambda x: fnp.moveaxis(x, a, b), moved.shape), x)


@SETTINGS
@given(shape=shapes, data=st.data())
def test_expand_dims(shape, data):
    out_ndim = len(shape) + data.draw(st.integers(1, 2))
    axes = data.draw(
        st.lists(
            st.integers(0, out_ndim - 1),
            min_size=out_ndim - len(shape),
            max_size=out_ndim - len(shape),
            unique=True,
        )
    )
    axes = tuple(a - out_ndim if data.draw(st.booleans()) else a for a in axes)
    axis = axes[0] if len(axes) == 1 and data.draw(st.booleans()) else axes
    x = _data(1, shape)
    expected = np.expand_dims(x, axis)
    check_eager_and_jit(lambda x: fnp.expand_dims(x, axis), (x,), expected)
    check_grad(weighted_sum(lambda x: fnp.expand_dims(x, axis), expected.shape), x)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=2), data=st.data())
def test_squeeze(shape, data):
    ones = [i for i, d in enumerate(shape) if d == 1]
    axis = data.draw(
        st.one_of(
            st.none(),
            st.lists(st.sampled_from(ones), unique=True).map(tuple) if ones else st.none(),
            st.sampled_from([i - len(shape) for i in ones]) if ones else st.none(),
        )
    )
    x = _data(2, shape)
    expected = np.squeeze(x, axis)
    check_eager_and_jit(lambda x: fnp.squeeze(x, axis), (x,), expected)
    assert_same(fg.jit(lambda x: x.squeeze(axis))(x), transformed(expected))
    check_grad(weighted_sum(lambda x: fnp.squeeze(x, axis), expected.shape), x)


@st.composite
def concat_inputs(draw):
    base = list(draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)))
    axis = draw(st.integers(-len(base), len(base) - 1))
    count = draw(st.integers(1, 3))
    shapes = []
    for _ in range(count):
        s = list(base)
        s[axis] = draw(st.integers(0, 3))
        shapes.append(tuple(s))
    dtypes = draw(st.lists(float_dtypes, min_size=count, max_size=count))
    return shapes, axis, dtypes


@SETTINGS
@given(inputs=concat_inputs(), seed=seeds)
def test_concatenate(inputs, seed):
    shapes, axis, dtypes = inputs
    xs = [_data(seed + i, s, dtype=d) for i, (s, d) in enumerate(zip(shapes, dtypes))]
    expected = np.concatenate(xs, axis=axis)
    check_eager_and_jit(lambda *xs: fnp.concatenate(xs, axis=axis), xs, expected)
    f = weighted_sum(lambda *xs: fnp.concatenate(xs, axis=axis), expected.shape, seed)
    check_grad(f, *xs)


def test_concatenate_promotes_like_numpy():
    a, b = np.ones((2, 2), np.int32), np.zeros((1, 2), np.float32)
    check_eager_and_jit(lambda a, b: fnp.concatenate([a, b]), (a, b), np.concatenate([a, b]))


@SETTINGS
@given(shape=shapes, count=st.integers(1, 3), data=st.data(), seed=seeds)
def test_stack(shape, count, data, seed):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    xs = [_data(seed + i, shape) for i in range(count)]
    expected = np.stack(xs, axis=axis)
    check_eager_and_jit(lambda *xs: fnp.stack(xs, axis=axis), xs, expected)
    check_grad(weighted_sum(lambda *xs: fnp.stack(xs, axis=axis), expected.shape, seed), *xs)


@st.composite
def pad_widths(draw, ndim):
    width = st.integers(0, 2)
    kind = draw(st.sampled_from(["int", "pair", "per_axis"]))
    if kind == "int":
        return draw(width)
    if kind == "pair":
        return (draw(width), draw(width))
    return tuple((draw(width), draw(width)) for _ in range(ndim))


@SETTINGS
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4),
    data=st.data(),
    value=st.sampled_from([0, 1.5, -2]),
)
def test_pad(shape, data, value):
    widths = data.draw(pad_widths(len(shape)))
    for dtype in (np.float32, np.float64, np.int32):
        x = _data(3, shape, dtype=dtype)
        expected = np.pad(x, widths, constant_values=value)
        check_eager_and_jit(lambda x: fnp.pad(x, widths, constant_values=value), (x,), expected)
    x = _data(3, shape)
    f = weighted_sum(lambda x: fnp.pad(x, widths, constant_values=value), expected.shape)
    check_grad(f, x)


@SETTINGS
@given(shape_axis=shape_and_axis(min_side=0), seed=seeds)
def test_flip(shape_axis, seed):
    shape, axis = shape_axis
    x = _data(seed, shape)
    expected = np.flip(x, axis)
    check_eager_and_jit(lambda x: fnp.flip(x, axis), (x,), expected)
    check_grad(weighted_sum(lambda x: fnp.flip(x, axis), expected.shape, seed), x)


@SETTINGS
@given(
    shape_axis=shape_and_single_axis(min_dims=1),
    ishape=hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3),
    seed=seeds,
)
def test_take(shape_axis, ishape, seed):
    shape, axis = shape_axis
    x = _data(seed, shape)
    n = x.size if axis is None else shape[axis]
    idx = np.random.default_rng(seed).integers(-n, n, size=ishape)
    expected = np.take(x, idx, axis=axis)
    check_eager_and_jit(lambda x: fnp.take(x, idx, axis=axis), (x,), expected)
    k = int(idx.flat[0])  # a Python int index drops the axis
    check_eager_and_jit(lambda x: fnp.take(x, k, axis=axis), (x,), np.take(x, k, axis=axis))
    check_grad(weighted_sum(lambda x: fnp.take(x, idx, axis=axis), expected.shape, seed), x)


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
def test_broadcast_to(shapes):
    shape, target = shapes.input_shapes[0], shapes.result_shape
    x = _data(4, shape)
    expected = np.broadcast_to(x, target)
    check_eager_and_jit(lambda x: fnp.broadcast_to(x, target), (x,), expected)
    check_grad(weighted_sum(lambda x: fnp.broadcast_to(x, target), target), x)


@pytest.mark.parametrize(
    "f, x",
    [
        (lambda x: fnp.sum(x * 2.0), np.zeros(0)),
        (lambda x: fnp.sum(x[:0]), np.ones(1)),
        (lambda x: fnp.sum(x[:0, np.array(0)]), np.ones((1, 1))),
        (lambda x: fnp.sum(x[..., np.array([0]), :0]), np.ones((1, 1))),
    ],
)
def test_gradients_of_zero_size_arrays(f, x):
    assert_same(fg.grad(f)(x), transformed(np.zeros_like(x)))


def test_jit_of_a_zero_size_gather():
    x = np.ones((1, 1))
    assert_same(
        fg.jit(lambda x: x[..., np.array([0]), :0])(x), transformed(x[..., np.array([0]), :0])
    )


def test_tracer_attributes_and_methods():
    x = _data(0, (2, 3, 4), dtype=np.float32)
    seen = {}

    def f(x):
        seen.update(shape=x.shape, dtype=x.dtype, ndim=x.ndim, size=x.size, len=len(x))
        seen.update(fshape=fnp.shape(x), fndim=fnp.ndim(x), tshape=x.T.shape)
        return x.flatten(), x.ravel(), x.T, x.mean(axis=-1), x.astype(fnp.float64).sum()

    outs = fg.jit(f)(x)
    assert seen == dict(
        shape=(2, 3, 4),
        dtype=np.float32,
        ndim=3,
        size=24,
        len=2,
        fshape=(2, 3, 4),
        fndim=3,
        tshape=(4, 3, 2),
    )
    for out, expected in zip(outs, (x.ravel(), x.ravel(), x.T, x.mean(-1), x.astype(float).sum())):
        assert_same(out, expected)
    assert [o.shape for o in fg.jit(lambda x: list(x))(x)] == [(3, 4), (3, 4)]


@pytest.mark.parametrize(
    "index", [([0, 2], [1, 3]), ([2], [True, False, True, True]), ([], [1]), ([1, 0],)]
)
def test_ix_matches_numpy_and_indexes_under_grad_jit_vmap(index):
    x = _data(1, (3, 4))
    expected = np.ix_(*index)
    got = fnp.ix_(*index)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert_same(g, e)
    assert_same(x[fnp.ix_(*index)], x[np.ix_(*index)])
    rows = np.array(index[0], np.intp)
    rest = index[1:]
    assert_same(
        fg.jit(lambda x, r: x[fnp.ix_(r, *rest)])(x, rows), transformed(x[np.ix_(rows, *rest)])
    )
    g = fg.grad(lambda x: fnp.sum(x[fnp.ix_(*index)] ** 2))(x)
    mask = np.zeros_like(x)
    mask[np.ix_(*index)] = 1.0
    np.testing.assert_allclose(g, 2 * x * mask)
    if rows.size:
        batched = fg.vmap(lambda r, x: x[fnp.ix_(r, *rest)], in_axes=(0, None))(rows[None], x)
        assert_same(batched, x[np.ix_(rows, *rest)][None])


def test_ix_refuses_what_numpy_refuses():
    with pytest.raises(ValueError, match="1 dimensional"):
        fnp.ix_(np.ones((2, 2), int))
    with pytest.raises(fg.ConcretizationError, match="ix_"):
        fg.jit(lambda m: fnp.ix_(m > 0))(np.ones(3))


def test_isdtype_is_numpys():
    assert fnp.isdtype is np.isdtype
    assert fnp.isdtype(fnp.float32, "real floating") and not fnp.isdtype(fnp.int32, "bool")


def test_item_assignment_on_a_tracer_says_arrays_are_immutable():
    def f(x):
        x[0] = 1.0
        return x

    def g(x):
        x[1:] += 2.0
        return fnp.sum(x)

    for transform in (fg.jit, fg.grad, fg.vmap):
        fn = g if transform is fg.grad else f
        with pytest.raises(TypeError, match=r"item assignment.*fnp\.where.*test_numpy"):
            transform(fn)(np.ones((2, 3)))


# ----------------------------------------------------------------------------- creation


def test_creation_functions_match_numpy():
    assert_same(fnp.zeros((2, 3)), np.zeros((2, 3)))
    assert_same(fnp.zeros(4, fnp.int32), np.zeros(4, np.int32))
    assert_same(fnp.ones((2,), fnp.float32), np.ones((2,), np.float32))
    assert_same(fnp.ones(()), np.ones(()))
    assert_same(fnp.full((2, 2), 7), np.full((2, 2), 7))
    assert_same(fnp.full((3,), 1.5, fnp.float32), np.full((3,), 1.5, np.float32))
    x = np.ones((2, 3), np.float32)
    assert_same(fnp.zeros_like(x), np.zeros_like(x))
    assert_same(fnp.ones_like(x), np.ones_like(x))
    assert_same(fnp.ones_like(x, dtype=fnp.int32), np.ones_like(x, dtype=np.int32))
    assert_same(fnp.full_like(x, 3), np.full_like(x, 3))
    assert_same(fnp.arange(5), np.arange(5))
    assert_same(fnp.arange(1.0, 2.0, 0.25), np.arange(1.0, 2.0, 0.25))
    assert_same(fnp.arange(6, 0, -2), np.arange(6, 0, -2))
    assert_same(fnp.eye(3), np.eye(3))
    assert_same(fnp.eye(2, 4, k=1, dtype=fnp.float32), np.eye(2, 4, k=1, dtype=np.float32))


def test_creation_functions_inside_jit_and_grad():
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)

    def f(x):
        return (
            x * fnp.ones_like(x)
            + fnp.zeros_like(x)
            + fnp.full(x.shape, 2, x.dtype) @ fnp.eye(3, dtype=x.dtype)
        )

    assert_same(fg.jit(f)(x), transformed(x + 2))
    check_grad(lambda x: fnp.sum(f(x) * fnp.arange(3.0)), x)


@pytest.mark.parametrize(
    "src, dst",
    [
        (np.float32, np.float64),
        (np.float64, np.float32),
        (np.float64, np.int32),
        (np.int32, np.float32),
        (np.int64, np.bool_),
        (np.bool_, np.float64),
    ],
)
def test_astype(src, dst):
    x = np.array([[-1.7, 0.0, 2.5], [3.2, -0.4, 1.0]]).astype(src)
    check_eager_and_jit(lambda x: fnp.astype(x, dst), (x,), x.astype(dst))
    assert_same(fg.jit(lambda x: x.astype(dst))(x), transformed(x.astype(dst)))


def test_astype_gradients_keep_the_input_dtype():
    x = np.array([1.5, -2.0], np.float32)
    g = fg.grad(lambda x: fnp.sum(fnp.astype(x, fnp.float64) ** 2))(x)
    assert_same(g, 2 * x)
    check_grad(lambda x: fnp.sum(fnp.astype(x, fnp.float64) ** 3), x.astype(np.float64))
    gi = fg.grad(lambda x: fnp.sum(x * fnp.astype(x > 0, fnp.float64)))(x.astype(np.float64))
    assert_same(gi, np.array([1.0, 0.0]))


# ----------------------------------------------------------------------------- products


@st.composite
def matmul_shapes(draw):
    ra, rb = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    ba, bb = batch.input_shapes
    ba, bb = ba[len(ba) - max(ra - 2, 0) :], bb[len(bb) - max(rb - 2, 0) :]
    if ra > 2 and len(ba) < ra - 2 or rb > 2 and len(bb) < rb - 2:
        ba, bb = batch.input_shapes
    a = tuple(ba) + (m, k) if ra >= 2 else (k,)
    b = tuple(bb) + (k, n) if rb >= 2 else (k,)
    return a, b


@SETTINGS
@given(shapes=matmul_shapes(), dtype=float_dtypes, seed=seeds)
def test_matmul(shapes, dtype, seed):
    sa, sb = shapes
    a, b = _data(seed, sa, dtype=dtype), _data(seed + 1, sb, dtype=dtype)
    expected = np.matmul(a, b)
    check_eager_and_jit(fnp.matmul, (a, b), expected)
    assert_same(fg.jit(operator.matmul)(a, b), transformed(expected))
    assert_same(fg.jit(lambda b: a @ b)(b), transformed(expected))  # a NumPy array on the left
    f = weighted_sum(fnp.matmul, expected.shape, seed)
    check_grad(f, a.astype(np.float64), b.astype(np.float64))


@pytest.mark.parametrize(
    "sa, sb",
    [
        ((3,), (3,)),  # 1-D @ 1-D
        ((2, 3), (3, 4)),  # 2-D
        ((5, 2, 3), (3, 4)),  # N-D @ 2-D
        ((2, 1, 2, 3), (4, 3, 5)),  # batched, with broadcasting
        ((3,), (2, 3, 4)),  # 1-D @ N-D
        ((2, 3, 4), (4,)),  # N-D @ 1-D
    ],
)
def test_matmul_cases(sa, sb):
    a, b = _data(11, sa), _data(12, sb)
    expected = np.matmul(a, b)
    check_eager_and_jit(fnp.matmul, (a, b), expected)
    check_grad(weighted_sum(fnp.matmul, expected.shape), a, b, order=2)


@pytest.mark.parametrize(
    "sa, sb",
    [
        ((3,), (3,)),
        ((2, 3), (3,)),
        ((3,), (3, 4)),
        ((2, 3), (3, 4)),
        ((5, 2, 3), (3, 4)),
        ((5, 2, 3), (3,)),
        ((), (2, 3)),
        ((2, 3), ()),
    ],
)
def test_dot(sa, sb):
    a, b = _data(5, sa), _data(6, sb)
    expected = np.dot(a, b)
    check_eager_and_jit(fnp.dot, (a, b), expected)
    if np.ndim(a):
        assert_same(fg.jit(lambda a, b: a.dot(b))(a, b), transformed(expected))
    check_grad(weighted_sum(fnp.dot, expected.shape), a, b)


@pytest.mark.parametrize("sa, sb", [((3,), (4,)), ((2, 2), (3,)), ((1,), (2, 3))])
def test_outer(sa, sb):
    a, b = _data(7, sa), _data(8, sb)
    check_eager_and_jit(fnp.outer, (a, b), np.outer(a, b))
    check_grad(weighted_sum(fnp.outer, np.outer(a, b).shape), a, b)


@pytest.mark.parametrize(
    "sa, sb", [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (4, 3)), ((2, 1, 3), (3,))]
)
def test_inner(sa, sb):
    a, b = _data(9, sa), _data(10, sb)
    expected = np.inner(a, b)
    check_eager_and_jit(fnp.inner, (a, b), expected)
    check_grad(weighted_sum(fnp.inner, expected.shape), a, b)


# ----------------------------------------------------------------------------- indexing


@st.composite
def index_expressions(draw):
    """An array shape and an index into it: ints (maybe negative), slices with any start,
    stop and step, None, one Ellipsis, and integer arrays (or lists) anywhere."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5))
    ndim = len(shape)
    ellipsis = draw(st.booleans())
    explicit = draw(st.integers(0 if ellipsis else 1, ndim))
    before = draw(st.integers(0, explicit)) if ellipsis else explicit
    dims = list(range(before)) + list(range(ndim - (explicit - before), ndim))
    ishape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    items = []
    for d in dims:
        n = shape[d]
        kind = draw(st.sampled_from(["int", "slice", "slice", "array"]))
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            bound = st.one_of(st.none(), st.integers(-n - 2, n + 2))
            step = st.one_of(st.none(), st.sampled_from([-3, -2, -1, 1, 2, 3]))
            items.append(slice(draw(bound), draw(bound), draw(step)))
        else:  # broadcastable against the other index arrays
            s = tuple(1 if draw(st.booleans()) else k for k in ishape)
            s = s[draw(st.integers(0, len(s))) :]
            values = draw(hnp.arrays(np.int64, s, elements=st.integers(-n, n - 1)))
            items.append(values.tolist() if values.ndim == 1 and draw(st.booleans()) else values)
    if ellipsis:
        items.insert(before, Ellipsis)
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    index = tuple(items) if len(items) != 1 or draw(st.booleans()) else items[0]
    return shape, index


def _scatter(shape, index, w):
    out = np.zeros(shape)
    np.add.at(out, index, w)
    return out


@settings(max_examples=50, deadline=None)
@given(expr=index_expressions(), seed=seeds)
def test_getitem_matches_numpy(expr, seed):
    shape, index = expr
    x = _data(seed, shape)
    expected = x[index]
    assert_same(fnp.getitem(x, index), expected)
    w = np.random.default_rng(seed).standard_normal(np.shape(expected))
    assert_same(fg.jit(lambda x: x[index])(x), transformed(expected))
    g = fg.grad(lambda x: fnp.sum(x[index] * w))(x)
    assert_same(g, transformed(_scatter(shape, index, w)))


@SETTINGS
@given(
    shape=hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4),
    ishape=hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6),
    seed=seeds,
)
def test_gather_gradient_with_repeated_indices(shape, ishape, seed):
    rng = np.random.default_rng(seed)
    x = _data(seed, shape)
    rows = rng.integers(-shape[0], shape[0], size=ishape)  # repeats are likely
    cols = rng.integers(0, shape[1], size=ishape[-1:])
    for index in (rows, (rows, cols), (slice(None), cols), (rows, slice(None), 0)[: x.ndim]):
        expected = x[index]
        assert_same(fnp.getitem(x, index), expected)
        assert_same(fg.jit(lambda x: x[index])(x), transformed(expected))
        w = rng.standard_normal(expected.shape)
        assert_same(
            fg.grad(lambda x: fnp.sum(x[index] * w))(x), transformed(_scatter(shape, index, w))
        )
        order = 2 if isinstance(index, tuple) and len(index) == 2 else 1  # x[rows, cols]
        check_grad(lambda x: fnp.sum(x[index] * w) ** 2, x, order=order)


def test_getitem_rows_cols_and_non_adjacent_placement():
    x = np.arange(60.0).reshape(3, 4, 5)
    rows, cols = np.array([[0, 2], [1, 1]]), np.array([3, -1])
    cases = [
        (rows, cols),  # x[rows, cols]
        (slice(None), rows, cols),  # adjacent, not first: stays in place
        (rows, slice(None), cols),  # non-adjacent: broadcast dims go first
        (0, slice(None), cols),  # an int counts as an index array
        (rows, None, cols),  # None separates them too
        (Ellipsis, cols),
        (np.array([2, -3]), Ellipsis),
        (slice(None, None, -1), [2, 0, 0], slice(1, None, 2)),
    ]
    for index in cases:
        assert_same(fnp.getitem(x, index), x[index])
        assert_same(fg.jit(lambda x: x[index])(x), transformed(x[index]))


def test_getitem_with_traced_index_arrays():
    x = np.arange(12.0).reshape(3, 4)
    idx = np.array([2, 0, 2])
    assert_same(fg.jit(lambda x, i: x[i])(x, idx), transformed(x[idx]))
    assert_same(fg.jit(lambda x, i: x[i, i])(x, idx), transformed(x[idx, idx]))
    assert_same(
        fg.jit(lambda x, i: fnp.take(x, i, axis=1))(x, idx), transformed(np.take(x, idx, axis=1))
    )
    g = fg.grad(lambda x, i: fnp.sum(x[:, i] ** 2))(x, idx)
    assert_same(g, _scatter(x.shape, (slice(None), idx), 2 * x[:, idx]))
    neg = np.array([-1, 0, -1, -3])  # negative traced indices count from the end
    assert_same(fg.jit(lambda x, i: x[i])(x, neg), transformed(x[neg]))
    g = fg.jit(fg.grad(lambda x, i: fnp.sum(x[i, 1:] * 2.0)))(x, neg)
    assert_same(g, _scatter(x.shape, (neg, slice(1, None)), np.full((4, 3), 2.0)))


def test_getitem_with_a_concrete_boolean_mask():
    x = np.arange(12.0).reshape(3, 4) - 5
    mask = x > 0
    assert_same(fnp.getitem(x, mask), x[mask])
    assert_same(fnp.getitem(x, mask[:, 0]), x[mask[:, 0]])
    assert_same(fnp.getitem(x, (slice(None), mask[0])), x[:, mask[0]])
    assert_same(
        fg.grad(lambda x: fnp.sum(x[x > 0] ** 2))(x), transformed(np.where(mask, 2 * x, 0.0))
    )
    assert_same(fg.jit(lambda x: x[mask])(x), transformed(x[mask]))  # a constant mask is fine


def test_getitem_with_a_traced_boolean_mask_under_jit_raises():
    x = np.arange(4.0)
    _raises_here(fg.ConcretizationError, "boolean mask", lambda: fg.jit(lambda x: x[x > 1])(x))


# ----------------------------------------------------------------------------- dtype promotion

x32, x64 = np.ones(3, np.float32), np.ones(3, np.float64)
i32, b_ = np.ones(3, np.int32), np.ones(3, np.bool_)


@pytest.mark.parametrize(
    "fn, args, dtype",
    [
        (fnp.multiply, (x32, 2.0), np.float32),
        (fnp.add, (2.0, x32), np.float32),
        (fnp.subtract, (x32, 1), np.float32),
        (fnp.divide, (x32, 3.0), np.float32),
        (fnp.power, (x32, 2.5), np.float32),
        (fnp.maximum, (x32, 0.0), np.float32),
        (fnp.add, (i32, 1.5), np.float64),
        (fnp.add, (i32, 1), np.int32),
        (fnp.add, (x32, x64), np.float64),
        (fnp.add, (x32, i32), np.float64),
        (fnp.add, (b_, 1), np.int64),
        (fnp.add, (b_, i32), np.int32),
        (fnp.add, (b_, 1.0), np.float64),
        (fnp.divide, (i32, i32), np.float64),
        (fnp.divide, (np.arange(3), 2), np.float64),
        (fnp.exp, (i32,), np.float64),
        (fnp.sqrt, (np.arange(3),), np.float64),
        (fnp.mean, (i32,), np.float64),
        (fnp.multiply, (2.0, 3.0), np.float64),
        (fnp.add, (1, 2), np.int64),
        (fnp.exp, (1.0,), np.float64),
        (fnp.where, (b_, x32, 0.0), np.float32),
        (fnp.where, (b_, x32, x64), np.float64),
        (fnp.clip, (x32, 0.0, 0.5), np.float32),
        (fnp.clip, (i32, 0, 1), np.int32),
        (fnp.multiply, (np.ones(2, np.float16), 2.0), np.float16),
        (fnp.add, (np.ones(2, np.uint8), 1), np.uint8),
        (fnp.add, (np.ones(3, np.int8), i32), np.int32),
        (fnp.divide, (x32, 2), np.float32),
        (fnp.power, (i32, 3), np.int32),
        (fnp.power, (2, i32), np.int32),
        (fnp.power, (i32, 0.5), np.float64),
        (fnp.sum, (b_,), np.int64),
        (fnp.sum, (np.ones(2, np.uint8),), np.uint64),
    ],
)
def test_dtype_promotion_table(fn, args, dtype):
    out = fn(*args)
    assert out.dtype == dtype
    assert out.dtype == np.asarray(getattr(np, fn.__name__, fn)(*args)).dtype
    if any(isinstance(a, np.ndarray) for a in args):  # the same under jit (scalars static)
        arrays = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]

        def traced(*xs):
            full = list(args)
            for i, v in zip(arrays, xs):
                full[i] = v
            return fn(*full)

        assert fg.jit(traced)(*[args[i] for i in arrays]).dtype == dtype
    # Python scalars passed to jit as arguments stay weak.
    assert fg.jit(fn)(*args).dtype == dtype


def test_python_scalar_argument_is_weak_under_jit():
    assert fg.jit(lambda x, s: x * s)(x32, 2.0).dtype == np.float32
    assert_same(fg.jit(lambda x, s: x * s)(x32 + 1, 2.5), transformed((x32 + 1) * np.float32(2.5)))
    g = fg.grad(lambda x, s: fnp.sum(x * s))(x32, 2.0)
    assert_same(g, np.full(3, 2.0, np.float32))
    gs = fg.grad(lambda x, s: fnp.sum(x * s), argnums=1)(x32, 2.0)
    assert_same(gs, np.float64(3.0))  # a Python float is differentiated as float64


def test_python_scalar_argument_under_jit_promotes_ints_to_float64():
    out = fg.jit(lambda x, s: x + s)(i32, 1.5)
    assert_same(out, i32 + 1.5)
    assert_same(fg.jit(lambda x, s: x + s)(x64, 2.0), transformed(x64 + 2.0))


def test_weak_scalar_in_graph_is_cast_to_the_array_dtype():
    graph = fg.make_graph(lambda x, s: x * s)(x32, 2.0)
    assert graph.outvars[0].dtype == np.float32


def test_float32_stays_float32_through_composites_under_grad():
    x = np.array([0.5, -1.0, 2.0], np.float32)

    def f(x):
        return fnp.mean(fnp.tanh(x) * 3.0 + fnp.exp(-x) / 2 - x**2) + fnp.var(x) + fnp.std(x)

    assert np.asarray(f(x)).dtype == np.float32
    assert fg.jit(f)(x).dtype == np.float32
    assert fg.grad(f)(x).dtype == np.float32


# ----------------------------------------------------------------------------- errors


def test_bad_axis_errors_name_the_axis_and_the_caller():
    x = np.ones((2, 3))
    _raises_here(fg.ShapeError, r"sum: axis 2 is out of bounds .* rank 2", lambda: fnp.sum(x, 2))
    _raises_here(fg.ShapeError, r"mean: axis -3 is out of bounds", lambda: fnp.mean(x, axis=-3))
    _raises_here(fg.ShapeError, r"max: repeated axis", lambda: fnp.max(x, axis=(1, -1)))
    _raises_here(fg.ShapeError, r"argmax: axis 5", lambda: fnp.argmax(x, axis=5))
    _raises_here(fg.ShapeError, r"squeeze: axis 0 .* not of size 1", lambda: fnp.squeeze(x, 0))
    _raises_here(fg.ShapeError, r"concatenate: axis 2", lambda: fnp.concatenate([x, x], 2))
    _raises_here(fg.ShapeError, r"sum: axis 2", lambda: fg.jit(lambda x: fnp.sum(x, 2))(x))
    _raises_here(fg.ShapeError, r"transpose", lambda: fnp.transpose(x, (0, 0)))


def test_reshape_size_mismatch():
    x = np.ones((3, 4))
    _raises_here(
        fg.ShapeError,
        r"reshape: cannot reshape .* \(3, 4\) into \(5, 2\)",
        lambda: fnp.reshape(x, (5, 2)),
    )
    _raises_here(fg.ShapeError, r"reshape: cannot reshape", lambda: fnp.reshape(x, (5, -1)))
    _raises_here(fg.ShapeError, r"only infer one dimension", lambda: fnp.reshape(x, (-1, -1)))
    _raises_here(fg.ShapeError, r"reshape", lambda: fg.jit(lambda x: x.reshape(7))(x))


def test_matmul_misalignment():
    a, b = np.ones((3, 4)), np.ones((5, 2))
    pattern = r"matmul: shapes \(3, 4\) and \(5, 2\) do not align \(4 != 5\)"
    _raises_here(fg.ShapeError, pattern, lambda: fnp.matmul(a, b))
    _raises_here(fg.ShapeError, pattern, lambda: fg.jit(lambda a, b: a @ b)(a, b))
    _raises_here(fg.ShapeError, pattern, lambda: fg.grad(lambda a: fnp.sum(a @ b))(a))
    _raises_here(
        fg.ShapeError, r"matmul: shapes \(3,\) and \(4,\)", lambda: fnp.matmul(a[0, :3], a[0])
    )
    _raises_here(
        fg.ShapeError,
        r"batch shapes .* do not broadcast",
        lambda: fnp.matmul(np.ones((2, 3, 4)), np.ones((3, 4, 5))),
    )
    _raises_here(fg.ShapeError, r"not be scalars", lambda: fnp.matmul(a, 2.0))


def test_concatenate_and_stack_shape_mismatch():
    a, b = np.ones((2, 3)), np.ones((2, 4))
    pattern = r"concatenate: shapes \(2, 3\) and \(2, 4\) do not match outside axis 0"
    _raises_here(fg.ShapeError, pattern, lambda: fnp.concatenate([a, b]))
    _raises_here(fg.ShapeError, pattern, lambda: fg.jit(lambda a, b: fnp.concatenate([a, b]))(a, b))
    _raises_here(
        fg.ShapeError,
        r"stack: all input arrays must have the same shape",
        lambda: fnp.stack([a, b]),
    )
    _raises_here(fg.ShapeError, r"zero-dimensional", lambda: fnp.concatenate([1.0, 2.0]))


def test_broadcast_errors():
    _raises_here(
        fg.ShapeError,
        r"cannot broadcast shape \(3,\) to \(2, 4\)",
        lambda: fnp.broadcast_to(np.ones(3), (2, 4)),
    )
    _raises_here(
        fg.ShapeError,
        r"add: shapes \(3,\) and \(4,\) cannot be broadcast",
        lambda: fnp.add(np.ones(3), np.ones(4)),
    )


def test_out_of_bounds_indices():
    x = np.ones((3, 4))
    _raises_here(
        IndexError, r"index 5 is out of bounds for axis 0 with size 3", lambda: fnp.getitem(x, 5)
    )
    _raises_here(
        IndexError,
        r"index -5 is out of bounds for axis 1 with size 4",
        lambda: fnp.getitem(x, (0, -5)),
    )
    _raises_here(IndexError, r"index 7 is out of bounds", lambda: fg.jit(lambda x: x[1, 7])(x))
    _raises_here(
        IndexError, r"out of bounds for axis with size 3", lambda: fnp.getitem(x, np.array([0, 3]))
    )
    _raises_here(IndexError, r"out of bounds", lambda: fg.jit(lambda x: x[:, [1, -5]])(x))
    _raises_here(fg.ShapeError, r"too many indices", lambda: fnp.getitem(x, (0, 0, 0)))
    _raises_here(IndexError, r"single ellipsis", lambda: fnp.getitem(x, (Ellipsis, Ellipsis)))
    _raises_here(IndexError, r"must be integers", lambda: fnp.getitem(x, np.array([0.5])))
