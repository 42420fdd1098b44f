"""The elementwise fnp functions against NumPy: values and dtypes (float32, float64, ints,
broadcasting, size 0/1), NaN/inf/-0.0 inputs, gradients vs finite differences in float64,
and the same results under jit and vmap; the ``%``, ``//``, ``divmod`` and bitwise
operators on tracers."""

import operator
import warnings
from typing import NamedTuple

import numpy as np
import pytest
from compare import numpy_then_ours
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import testing as fgt

SETTINGS = settings(max_examples=10, deadline=None)
FLOATS = [np.float64, np.float32]
INTS = [np.int8, np.int16, np.int32, np.int64, np.uint8]


class U(NamedTuple):
    """An elementwise function's test: the domain of its smooth draws, whether it has a
    gradient worth checking, and whether NumPy takes integers."""

    lo: float = -3.0
    hi: float = 3.0
    grads: bool = True
    ints: bool = True
    adjust: object = None  # draws -> draws (off kinks)


def _off_zero(x):
    return np.where(x >= 0, x + 0.25, x - 0.25)


def _off_integers(x):
    return np.floor(x) + 0.3  # rounding functions are smooth (flat) there


def _half_quotients(x, y):
    """y away from 0 and x / y a half-integer: the remainder family is smooth there."""
    y = _off_zero(y)
    return y * (np.trunc(x) + 0.5 * np.sign(x)), y


UNARY = {
    "expm1": U(),
    "exp2": U(),
    "cbrt": U(adjust=_off_zero),
    "sinh": U(),
    "cosh": U(),
    "arcsinh": U(),
    "arcsin": U(-0.9, 0.9),
    "arccos": U(-0.9, 0.9),
    "arctan": U(),
    "arccosh": U(1.1, 6.0),
    "arctanh": U(-0.9, 0.9),
    "sinc": U(),
    "deg2rad": U(),
    "rad2deg": U(),
    "radians": U(),
    "degrees": U(),
    "fabs": U(adjust=_off_zero),
    "floor": U(adjust=_off_integers),
    "ceil": U(adjust=_off_integers),
    "trunc": U(adjust=_off_integers),
    "fix": U(adjust=_off_integers),
    "rint": U(adjust=_off_integers),
    "round": U(adjust=_off_integers),
    "around": U(adjust=_off_integers),
    "nan_to_num": U(),
    "positive": U(),
    "conj": U(),
    "conjugate": U(),
    "real": U(),
    "imag": U(),
    "isinf": U(grads=False),
    "isposinf": U(grads=False),
    "isneginf": U(grads=False),
    "signbit": U(grads=False),
}
BINARY = {
    "arctan2": U(adjust=lambda y, x: (_off_zero(y), x)),
    "hypot": U(adjust=lambda x, y: (_off_zero(x), _off_zero(y))),
    "logaddexp": U(),
    "logaddexp2": U(),
    "copysign": U(adjust=lambda x, y: (_off_zero(x), _off_zero(y))),
    "heaviside": U(adjust=lambda x, y: (_off_zero(x), y)),
    "float_power": U(0.5, 3.0),
    "fmod": U(adjust=_half_quotients),
    "remainder": U(adjust=_half_quotients),
    "mod": U(adjust=_half_quotients),
    "floor_divide": U(adjust=_half_quotients),
    "logical_xor": U(grads=False),
    "isclose": U(grads=False),
}
INT_ONLY = ["bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift"]
SPECIALS = np.array(
    [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 3.0, 1e-30, -1e-30, 1e30, 1e300, -1e300]
    + [np.inf, -np.inf, np.nan, 0.9999999, 1.0000001, np.pi, -7.25]
)


def _specials(dtype):
    with np.errstate(over="ignore"):  # (1e300 is inf in float32 and float16: on purpose)
        return SPECIALS.astype(dtype)


def _close(actual, expected, dtype, exact=False):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert type(actual) is np.ndarray
    assert (actual.shape, actual.dtype) == (expected.shape, expected.dtype)
    if exact or actual.dtype.kind != "f":
        np.testing.assert_array_equal(actual, expected)
        assert np.array_equal(np.signbit(actual), np.signbit(expected))
        return
    tol = {2: 2e-3, 4: 2e-6}.get(actual.dtype.itemsize, 1e-13)  # (float16, float32, 64)
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


def _draw(data, shape, dtype, lo, hi):
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        elements = st.integers(max(info.min, -100), min(info.max, 100))
        return data.draw(hnp.arrays(dtype, shape, elements=elements))
    return data.draw(fgt.arrays(shape, min_value=lo, max_value=hi)).astype(dtype)


def _shape(data, count=1):
    return data.draw(fgt.broadcastable_shapes(count, max_side=3))


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", FLOATS + [np.int16, np.int64])
@SETTINGS
@given(data=st.data())
def test_unary_matches_numpy(name, dtype, data):
    case = UNARY[name]
    x = _draw(data, _shape(data)[0], dtype, case.lo, case.hi)
    expected, got = numpy_then_ours(lambda: getattr(np, name)(x), lambda: getattr(fnp, name)(x))
    _close(got, expected, dtype)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", FLOATS + [np.int16, np.int64])
@SETTINGS
@given(data=st.data())
def test_binary_matches_numpy_with_broadcasting(name, dtype, data):
    case = BINARY[name]
    sx, sy = _shape(data, 2)
    x, y = (_draw(data, s, dtype, case.lo, case.hi) for s in (sx, sy))
    expected, got = numpy_then_ours(
        lambda: getattr(np, name)(x, y), lambda: getattr(fnp, name)(x, y)
    )
    _close(got, expected, dtype)


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", FLOATS)
def test_unary_special_values(name, dtype):
    x = _specials(dtype)
    # (composites and float32's constants may differ from NumPy's by an ulp)
    inexact = ("arcsin", "arccos", "arctan", "arccosh", "arctanh", "sinc", "exp2")
    exact = name not in inexact + ("rad2deg", "degrees", "deg2rad", "radians")
    expected, got = numpy_then_ours(lambda: getattr(np, name)(x), lambda: getattr(fnp, name)(x))
    _close(got, expected, dtype, exact=exact)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", FLOATS)
def test_binary_special_values(name, dtype):
    # Every pair of special values, -0.0 and NaN included: the remainder family matches
    # NumPy bit for bit (signs of zeros too).
    x, y = _specials(dtype)[:, None], _specials(dtype)[None, :]
    exact = name in ("fmod", "remainder", "mod", "floor_divide", "copysign", "heaviside")
    expected, got = numpy_then_ours(
        lambda: getattr(np, name)(x, y), lambda: getattr(fnp, name)(x, y)
    )
    _close(got, expected, dtype, exact=exact)


def test_weak_scalars_keep_float32():
    x = np.linspace(-2, 2, 5, dtype=np.float32)
    for name in ("arctan2", "hypot", "logaddexp", "copysign", "remainder", "floor_divide"):
        assert getattr(fnp, name)(x, 2.0).dtype == np.float32, name
    assert fnp.float_power(x, 2.0).dtype == np.float64
    assert fnp.round(x, 2).dtype == np.float32
    assert fnp.arctan(np.arange(3, dtype=np.int16)).dtype == np.float32


# ---------------------------------------------------------------- integers


def _int_operands(dtype):
    info = np.iinfo(dtype)
    values = [0, 1, -1, 2, -2, 3, 7, -7, 100, -100, info.min, info.max]
    values = np.array(sorted({v for v in values if info.min <= v <= info.max}), dtype)
    return values[:, None], values[None, :]


@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide"] + INT_ONLY)
@pytest.mark.parametrize("dtype", INTS)
def test_integer_operations_match_numpy_eagerly_and_compiled(name, dtype):
    x, y = _int_operands(dtype)
    if "shift" in name:
        y = np.array([0, 1, 3, 7, 8, 31, 63], dtype)[None, :]
    expected, got = numpy_then_ours(
        lambda: getattr(np, name)(x, y), lambda: getattr(fnp, name)(x, y)
    )
    _close(got, expected, dtype)
    _close(fg.jit(getattr(fnp, name))(x, y), expected, dtype)


@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor", "logical_xor"])
def test_bitwise_operations_of_bools_are_logical(name):
    x, y = np.array([True, True, False, False]), np.array([True, False, True, False])
    _close(getattr(fnp, name)(x, y), getattr(np, name)(x, y), bool)
    _close(fnp.invert(x), np.invert(x), bool)
    _close(fnp.left_shift(x, y), np.left_shift(x, y), np.int8)
    _close(fnp.remainder(x, y | True), np.remainder(x, y | True), np.int8)


@pytest.mark.parametrize("dtype", INTS)
def test_integer_rounding_and_invert(dtype):
    x = _int_operands(dtype)[0].ravel()
    for name in ("floor", "ceil", "trunc", "fix", "rint", "invert", "nan_to_num", "signbit"):
        _close(getattr(fnp, name)(x), getattr(np, name)(x), dtype)
    for decimals in (0, 1, -1, -2):
        expected, got = numpy_then_ours(
            lambda: np.round(x, decimals), lambda: fnp.round(x, decimals)
        )
        _close(got, expected, dtype)


@pytest.mark.parametrize("dtype", INTS + [bool])
def test_reciprocal_of_integers_stays_integer_as_numpy(dtype):
    x = np.array([True]) if dtype is bool else _int_operands(dtype)[0].ravel()
    x = x[x != 0]  # (1 / 0 cast to an integer is the platform's)
    _close(fnp.reciprocal(x), np.reciprocal(x), np.int8 if dtype is bool else dtype)
    _close(fg.jit(fnp.reciprocal)(x), np.reciprocal(x), np.int8 if dtype is bool else dtype)


def test_bitwise_functions_refuse_floats():
    with pytest.raises(fg.DtypeError, match="bitwise_and"):
        fnp.bitwise_and(np.ones(2), np.ones(2))
    with pytest.raises(fg.DtypeError, match="invert"):
        fnp.invert(np.ones(2))
    with pytest.raises(fg.DtypeError, match="positive"):
        fnp.positive(np.array([True]))


@pytest.mark.parametrize("decimals", [0, 1, 2, 3, -1, -2])
@pytest.mark.parametrize("dtype", FLOATS)
def test_round_decimals_halves_to_even_as_numpy(decimals, dtype):
    x = np.array([0.5, 1.5, 2.5, -0.5, 2.675, 1.005, 0.125, 1234.5678, -1250.0, 1e30], dtype)
    for ours, theirs in ((fnp.round, np.round), (fnp.around, np.around)):
        expected, got = numpy_then_ours(lambda: theirs(x, decimals), lambda: ours(x, decimals))
        _close(got, expected, dtype, exact=True)


# ---------------------------------------------------------------- grad, jit, vmap


def _smooth_operands(name, case, arity, seed):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,)][:arity]
    xs = [rng.uniform(case.lo, case.hi, s) for s in shapes]
    if case.adjust is None:
        return xs
    return [case.adjust(*xs)] if arity == 1 else list(case.adjust(*xs))


DIFFERENTIABLE = [(n, 1) for n in sorted(UNARY) if UNARY[n].grads] + [
    (n, 2) for n in sorted(BINARY) if BINARY[n].grads
]


@pytest.mark.parametrize("name, arity", DIFFERENTIABLE)
def test_gradients_match_finite_differences(name, arity):
    case = (UNARY if arity == 1 else BINARY)[name]
    args = _smooth_operands(name, case, arity, seed=len(name))
    fgt.check_grads(getattr(fnp, name), args, order=2)


@pytest.mark.parametrize("name, arity", [(n, 1) for n in sorted(UNARY)] + [(n, 2) for n in BINARY])
def test_jit_and_vmap_agree_with_eager(name, arity):
    case = (UNARY if arity == 1 else BINARY)[name]
    args = _smooth_operands(name, case, arity, seed=1)
    fn = getattr(fnp, name)
    expected = fn(*args)
    _close(fg.jit(fn)(*args), expected, np.float64)
    batched = fg.vmap(fn, in_axes=(0,) + (None,) * (arity - 1))(np.stack([args[0]] * 2), *args[1:])
    _close(batched[1], expected, np.float64)


def test_accurate_where_naive_formulas_lose_digits():
    tiny = np.array([1e-10, -1e-12, 1e-300])
    np.testing.assert_allclose(fnp.expm1(tiny), np.expm1(tiny), rtol=1e-15)
    np.testing.assert_allclose(fnp.sinh(tiny), tiny, rtol=1e-15)
    np.testing.assert_allclose(fnp.arctanh(tiny), tiny, rtol=1e-15)
    near_one = 1 - np.array([1e-10, 1e-14])
    np.testing.assert_allclose(fnp.arctanh(-near_one), np.arctanh(-near_one), rtol=1e-13)
    np.testing.assert_allclose(fnp.arccos(near_one), np.arccos(near_one), rtol=1e-13)
    big = np.array([1e200, 1e-200])
    np.testing.assert_allclose(fnp.hypot(big, big), np.hypot(big, big), rtol=1e-15)
    assert fnp.cbrt(np.array(27.0)) == 3.0
    assert fnp.exp2(np.array(10.0)) == 1024.0


def test_gradients_at_the_special_points():
    # logaddexp at equal inputs splits evenly, with no NaN at the infinities; sinc at 0 has
    # slope 0 and curvature -pi^2/3; hypot at the origin and arccosh far out stay finite.
    x = np.array([1.0, -np.inf, 2.0])
    gx, gy = fg.grad(lambda a, b: fnp.sum(fnp.logaddexp(a, b)), argnums=(0, 1))(x, x)
    np.testing.assert_allclose(gx, [0.5, 0.5, 0.5])  # (the diagonal's limit at -inf too)
    np.testing.assert_allclose(gy, [0.5, 0.5, 0.5])
    assert fg.grad(fnp.sinc)(0.0) == 0.0
    np.testing.assert_allclose(fg.grad(fg.grad(fnp.sinc))(0.0), -(np.pi**2) / 3)
    fgt.check_grads(fnp.sinc, (np.array([0.0, 1e-4, -2e-3]),), order=2)
    assert np.all(np.isfinite(fg.grad(lambda a: fnp.sum(fnp.hypot(a, a)))(np.zeros(2)) * 0))
    np.testing.assert_allclose(fg.grad(fnp.arccosh)(1e10), 1e-10)
    np.testing.assert_allclose(fg.grad(fnp.arctanh)(0.0), 1.0)
    # remainder's slope in the divisor is -floor(x / y); floor_divide has none
    gx, gy = fg.grad(lambda a, b: fnp.remainder(a, b), argnums=(0, 1))(-7.5, 2.0)
    assert (gx, gy) == (1.0, 4.0)
    assert fg.grad(lambda a: fnp.floor_divide(a, 2.0))(7.5) == 0.0


OPERATORS = [
    (operator.mod, np.float64),
    (operator.floordiv, np.float64),
    (divmod, np.float64),
    (operator.mod, np.int32),
    (operator.floordiv, np.int32),
    (divmod, np.int32),
    (operator.xor, np.int32),
    (operator.and_, np.int32),
    (operator.or_, np.int32),
    (operator.lshift, np.int32),
    (operator.rshift, np.int32),
]


def _as_tuple(v):
    return v if isinstance(v, tuple) else (v,)


@pytest.mark.parametrize("op, dtype", OPERATORS)
def test_operators_on_tracers(op, dtype):
    x = np.array([7, -7, 5, -5, 0, 3], dtype)
    y = np.array([2, 2, -3, -3, 4, 1], dtype)
    calls = [
        (lambda a, b: op(a, b), (x, y)),
        (lambda a: op(a, 3), (x,)),  # Python scalars on either side stay weak
        (lambda b: op(9, b), (y,)),
    ]
    for fn, args in calls:
        expected, got = numpy_then_ours(lambda: fn(*args), lambda: fg.jit(fn)(*args))
        expected, got = _as_tuple(expected), _as_tuple(got)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            _close(g, e, dtype)


def test_invert_and_logical_operators_on_tracers():
    x = np.array([5, -3, 0], np.int16)
    got = fg.jit(lambda a: (~a, ~(a > 0), (a > 0) ^ (a < 1), (a > 0) & (a < 4), -(+a)))(x)
    expected = (~x, ~(x > 0), (x > 0) ^ (x < 1), (x > 0) & (x < 4), -(+x))
    for g, e in zip(got, expected):
        _close(g, e, e.dtype)


def test_isclose_matches_numpy():
    a = np.array([1.0, np.inf, np.nan, -np.inf, 1e-9, 1.0])
    b = np.array([1.0 + 1e-6, np.inf, np.nan, np.inf, 0.0, 1.1])
    for equal_nan in (False, True):
        _close(fnp.isclose(a, b, equal_nan=equal_nan), np.isclose(a, b, equal_nan=equal_nan), bool)
    _close(fnp.isclose(a, b, rtol=0.2), np.isclose(a, b, rtol=0.2), bool)


# ---------------------------------------------------------------- warnings

INF, NAN = np.inf, np.nan
# Calls NumPy makes silently where funcgrad's composites once warned (an inf - inf, an
# overflow or 0/0 in a branch that `where` then discarded): users saw those warnings.
SILENT = {
    "logaddexp of equal infinities": ("logaddexp", ([-INF, INF, 1e3], [-INF, INF, 1e3])),
    "logaddexp2 of equal infinities": ("logaddexp2", ([-INF, INF], [-INF, INF])),
    "hypot of infinities": ("hypot", ([INF, INF, -INF, NAN], [INF, 1e300, 2.0, INF])),
    "isclose of infinities": ("isclose", ([INF, -INF, INF, 1.0], [INF, INF, 1.0, INF])),
    "allclose of infinities": ("allclose", ([INF, -INF], [INF, -INF])),
    "modf of infinities": ("modf", ([INF, -INF, NAN, 2.5],)),
    "remainder by a subnormal": ("remainder", ([1.0, 1e300], [2.2e-309, 1e-310])),
    "sinc far out": ("sinc", ([1e300, -1e300, 0.0],)),
}


@pytest.mark.parametrize("case", sorted(SILENT))
def test_no_warning_where_numpy_gives_none(case):
    name, args = SILENT[case]
    args = [np.array(a) for a in args]
    expected, got = numpy_then_ours(
        lambda: getattr(np, name)(*args), lambda: getattr(fnp, name)(*args)
    )
    for g, e in zip(_as_tuple(got), _as_tuple(expected)):
        _close(g, e, np.asarray(e).dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        getattr(np, name)(*args)  # (the premise: NumPy is silent)
        getattr(fnp, name)(*args)
        fg.jit(getattr(fnp, name))(*args)


def test_the_warning_check_fails_on_a_warning_of_ours_only():
    def ours():
        warnings.warn("overflow", RuntimeWarning, stacklevel=2)

    with pytest.raises(AssertionError, match="NumPy does not warn, funcgrad does: overflow"):
        numpy_then_ours(lambda: None, ours)
    numpy_then_ours(lambda: np.log(np.zeros(1)), ours)  # NumPy warns too: a test's input
