"""The smaller families of funcgrad.numpy against NumPy: binning and interpolation,
block/unstack/rollaxis, compress/extract/trim_zeros/ix_, lexsort and the array API's
unique_*, gcd/lcm, unwrap and the checked conversions. Values and dtypes eagerly and
under jit (where the function traces), gradients where there are any, NumPy's errors."""

import numpy as np
import pytest
from compare import assert_same

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import testing as fgt
from funcgrad.errors import ConcretizationError

RNG = np.random.default_rng(0)
XP = np.sort(RNG.uniform(0, 10, 6))
FP = RNG.standard_normal(6)
XS = np.r_[RNG.uniform(-2, 12, 20), XP, -5.0, 20.0]
PHASE = np.angle(np.exp(1j * np.cumsum(RNG.uniform(-2, 2, (3, 30)), axis=1)))
KEYS = (RNG.integers(0, 3, 20), RNG.integers(0, 3, 20), RNG.standard_normal(20))
M = np.arange(12.0).reshape(4, 3)
Z = np.zeros((4, 4))
Z[1:3, 2] = 1.0

# name -> (NumPy's function, fnp's, arguments, whether the arguments may be traced)
CASES = {
    "interp": (np.interp, fnp.interp, (XS, XP, FP), True),
    "interp_left_right": (
        lambda x: np.interp(x, XP, FP, left=-1.0, right=7.0),
        lambda x: fnp.interp(x, XP, FP, left=-1.0, right=7.0),
        (XS,),
        True,
    ),
    "interp_period": (
        lambda x: np.interp(x, XP, FP, period=4.0),
        lambda x: fnp.interp(x, XP, FP, period=4.0),
        (XS,),
        True,
    ),
    "interp_one_point": (
        lambda x: np.interp(x, [3.0], [4.0]),
        lambda x: fnp.interp(x, [3.0], [4.0]),
        (XS,),
        True,
    ),
    "interp_repeated_xp": (
        lambda x: np.interp(x, [0.0, 1.0, 1.0, 2.0], [0.0, 5.0, 9.0, 10.0]),
        lambda x: fnp.interp(x, [0.0, 1.0, 1.0, 2.0], [0.0, 5.0, 9.0, 10.0]),
        (np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5]),),
        True,
    ),
    "digitize": (
        lambda x: np.digitize(x, [0.0, 1.0, 2.5, 4.0]),
        lambda x: fnp.digitize(x, [0.0, 1.0, 2.5, 4.0]),
        (np.array([-1, 0, 0.5, 1, 2.5, 3, 4, 5.0]),),
        True,
    ),
    "digitize_decreasing_right": (
        lambda x: np.digitize(x, [4.0, 2.5, 1.0, 0.0], right=True),
        lambda x: fnp.digitize(x, [4.0, 2.5, 1.0, 0.0], right=True),
        (np.array([-1, 0, 0.5, 1, 2.5, 3, 4, 5.0]),),
        True,
    ),
    "bincount_weights": (
        lambda w: np.bincount([0, 2, 2, 5], w, minlength=8),
        lambda w: fnp.bincount([0, 2, 2, 5], w, minlength=8),
        (np.array([0.5, 1.0, 2.0, 3.0]),),
        True,
    ),
    "bincount": (np.bincount, fnp.bincount, (np.array([1, 1, 4]),), False),
    "histogram": (
        lambda a: np.histogram(a, bins=3)[0],
        lambda a: fnp.histogram(a, bins=3)[0],
        (XS,),
        False,
    ),
    "unwrap": (np.unwrap, fnp.unwrap, (PHASE,), True),
    "unwrap_axis0_period": (
        lambda p: np.unwrap(p, axis=0, period=3.0),
        lambda p: fnp.unwrap(p, axis=0, period=3.0),
        (PHASE,),
        True,
    ),
    "block": (
        lambda a, b: np.block([[a, b], [b, a]]),
        lambda a, b: fnp.block([[a, b], [b, a]]),
        (np.eye(2), np.arange(6.0).reshape(2, 3)[:, :2]),
        True,
    ),
    "block_scalars": (
        lambda a: np.block([[1.0, 2.0], [a, 4.0]]),
        lambda a: fnp.block([[1.0, 2.0], [a, 4.0]]),
        (np.float64(3.0),),
        True,
    ),
    "unstack": (
        lambda x: np.unstack(x, axis=1),
        lambda x: fnp.unstack(x, axis=1),
        (M,),
        True,
    ),
    "rollaxis": (
        lambda x: np.rollaxis(x, 2, 1),
        lambda x: fnp.rollaxis(x, 2, 1),
        (np.ones((2, 3, 4)),),
        True,
    ),
    "compress": (
        lambda x: np.compress([False, True, True], x, axis=0),
        lambda x: fnp.compress([False, True, True], x, axis=0),
        (M,),
        True,
    ),
    "extract": (
        lambda x: np.extract(M > 4, x),
        lambda x: fnp.extract(M > 4, x),
        (M,),
        True,
    ),
    "ix_": (
        lambda x: x[np.ix_([0, 2], [1, 0])],
        lambda x: x[fnp.ix_([0, 2], [1, 0])],
        (M,),
        True,
    ),
    "trim_zeros": (
        np.trim_zeros,
        fnp.trim_zeros,
        (np.array([0.0, 0.0, 1.0, 0.0, 2.0, 0.0]),),
        False,
    ),
    "trim_zeros_back_2d": (
        lambda z: np.trim_zeros(z, "b", axis=1),
        lambda z: fnp.trim_zeros(z, "b", axis=1),
        (Z,),
        False,
    ),
    "lexsort": (lambda *k: np.lexsort(k), lambda *k: fnp.lexsort(k), KEYS, True),
    "lexsort_rows": (
        lambda k: np.lexsort(k, axis=0),
        lambda k: fnp.lexsort(k, axis=0),
        (RNG.integers(0, 3, (2, 3, 4)),),
        True,
    ),
    "gcd": (np.gcd, fnp.gcd, (np.array([12, 20, 0, -7, 34]), np.array([18, -8, 5, 0, 55])), True),
    "lcm": (np.lcm, fnp.lcm, (np.array([4, 6, 0, -3]), np.array([6, -4, 3, 5])), True),
    "gcd_int8": (
        np.gcd,
        fnp.gcd,
        (np.array([89, -55, 0], np.int8), np.array([55, 34, 0], np.int8)),
        True,
    ),
}


def _same(got, expected):
    if isinstance(expected, (tuple, list)):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            _same(g, e)
        return
    assert_same(got, expected)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_numpy_eagerly_and_under_jit(name):
    np_fn, fnp_fn, args, traceable = CASES[name]
    expected = np_fn(*args)
    _same(fnp_fn(*args), expected)
    if traceable:
        _same(fg.jit(fnp_fn)(*args), expected)


DIFFERENTIABLE = {
    "interp in x and fp": (lambda x, fp: fnp.interp(x, XP, fp), (XS[:20], FP)),
    "interp in xp": (lambda xp: fnp.interp(XS[:20], xp, FP), (XP,)),
    "bincount weights": (lambda w: fnp.bincount([0, 2, 2], w), (np.array([0.5, 1.0, 2.0]),)),
    "unwrap": (fnp.unwrap, (PHASE[0] + 0.01,)),
    "block": (lambda a, b: fnp.block([[a, b], [b, a]]), (np.eye(2), np.ones((2, 2)))),
    "compress": (lambda x: fnp.compress([True, False, True], x, axis=1), (M,)),
}


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_gradients_match_finite_differences(name):
    f, args = DIFFERENTIABLE[name]
    fgt.check_grads(f, args, order=1)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: fnp.interp(XS, XP, FP[:3]), ValueError, "same length"),
        (lambda: fnp.interp(XS, [], []), ValueError, "empty"),
        (lambda: fnp.digitize(XS, [0.0, 2.0, 1.0]), ValueError, "monoton"),
        (lambda: fnp.bincount([0, 1], np.ones(3)), ValueError, "same length"),
        (lambda: fnp.block([]), ValueError, "cannot be empty"),
        (lambda: fnp.block((M, M)), TypeError, "tuple"),
        (lambda: fnp.block([M, [M]]), ValueError, "depths are mismatched"),
        (lambda: fnp.unstack(np.float64(1.0)), ValueError, "at least 1-d"),
        (lambda: fnp.compress([[True]], M), ValueError, "1-d"),
        (lambda: fnp.trim_zeros(np.ones(3), "x"), ValueError, "trim"),
        (lambda: fnp.ix_(np.ones((2, 2), int)), ValueError, "1 dimensional"),
        (lambda: fnp.lexsort(()), TypeError, "keys"),
        (lambda: fnp.gcd(np.ones(2), np.ones(2)), TypeError, None),
        (lambda: fnp.rollaxis(M, 0, 5), ValueError, None),
        (lambda: fnp.asarray_chkfinite([1.0, np.inf]), ValueError, "infs or NaNs"),
    ],
)
def test_refuses_what_numpy_refuses(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_numpy_refuses_the_same_calls():
    # the cases above, on NumPy, raise the same kinds of error (so none is invented)
    for call, error in [
        (lambda: np.interp(XS, XP, FP[:3]), ValueError),
        (lambda: np.digitize(XS, [0.0, 2.0, 1.0]), ValueError),
        (lambda: np.bincount([0, 1], np.ones(3)), ValueError),
        (lambda: np.block([]), ValueError),
        (lambda: np.block((M, M)), TypeError),
        (lambda: np.unstack(np.float64(1.0)), ValueError),
        (lambda: np.compress([[True]], M), ValueError),
        (lambda: np.trim_zeros(np.ones(3), "x"), ValueError),
        (lambda: np.ix_(np.ones((2, 2), int)), ValueError),
        (lambda: np.lexsort(()), TypeError),
        (lambda: np.gcd(np.ones(2), np.ones(2)), TypeError),
        (lambda: np.rollaxis(M, 0, 5), ValueError),
        (lambda: np.asarray_chkfinite([1.0, np.inf]), ValueError),
    ]:
        with pytest.raises(error):
            call()


@pytest.mark.parametrize(
    "name, call",
    [
        ("bincount", lambda x: fnp.bincount(x)),
        ("histogram", lambda x: fnp.histogram(x)),
        ("trim_zeros", lambda x: fnp.trim_zeros(x)),
        ("compress", lambda x: fnp.compress(x > 0, x)),
    ],
)
def test_value_dependent_shapes_are_refused_under_jit(name, call):
    x = np.array([0, 1, 1, 3])
    call(x)  # concrete: fine
    with pytest.raises(ConcretizationError, match=name):
        fg.jit(call)(x)


def test_histogram_refuses_traced_weights():
    with pytest.raises(ConcretizationError, match="bincount with digitize"):
        fg.grad(lambda w: fnp.sum(fnp.histogram(XS, weights=w)[0]))(np.ones_like(XS))


def test_unique_family_matches_numpy_where_numpy_fixes_the_order():
    x = np.array([[3, 1], [3, 2]])
    for name in ["unique_all", "unique_counts", "unique_inverse"]:
        got, expected = getattr(fnp, name)(x), getattr(np, name)(x)
        assert got._fields == expected._fields
        _same(tuple(got), tuple(expected))
    # unique_values: NumPy leaves the order open; funcgrad's is sorted
    np.testing.assert_array_equal(fnp.unique_values(x), np.sort(np.unique_values(x)))
    g = fg.grad(lambda v: fnp.sum(fnp.unique_values(v) ** 2))(np.array([1.0, 2.0, 1.0]))
    np.testing.assert_array_equal(g, [2.0, 4.0, 0.0])  # to the first occurrence of each


def test_trim_zeros_passes_the_gradient_to_the_kept_elements():
    # (finite differences would move the zeros: the gradient is checked in closed form)
    x = np.array([0.0, 1.5, 0.0, -2.0, 0.0])
    g = fg.grad(lambda x: fnp.sum(fnp.trim_zeros(x) ** 2))(x)
    np.testing.assert_array_equal(g, [0.0, 3.0, 0.0, -4.0, 0.0])


def test_checked_conversions():
    assert fnp.asanyarray([1, 2]).dtype == np.asanyarray([1, 2]).dtype
    np.testing.assert_array_equal(fnp.asarray_chkfinite([1.0, 2.0]), [1.0, 2.0])
    with pytest.raises(ConcretizationError):
        fg.jit(fnp.asarray_chkfinite)(np.ones(2))


# ---------------------------------------------------------------- ufunc methods

UX = RNG.standard_normal((3, 4))
UFUNC_CASES = [
    ("add", "outer", (UX[0], UX[1, :3]), {}),
    ("subtract", "outer", (UX, UX[0]), {}),
    ("add", "reduce", (UX,), {}),
    ("add", "reduce", (UX,), {"axis": 1, "keepdims": True}),
    ("multiply", "reduce", (UX,), {"axis": None}),
    ("logaddexp", "reduce", (UX,), {"axis": 1}),
    ("logaddexp2", "reduce", (UX,), {}),
    ("maximum", "reduce", (UX,), {"axis": -1}),
    ("hypot", "reduce", (UX,), {"axis": -1}),
    ("fmax", "reduce", (UX,), {}),
    ("logical_or", "reduce", (UX > 0,), {}),
    ("add", "accumulate", (UX,), {"axis": 1}),
    ("multiply", "accumulate", (UX,), {}),
    ("maximum", "accumulate", (UX,), {"axis": 1}),
    ("add", "reduce", (np.zeros((0, 2)),), {}),
]


@pytest.mark.parametrize("ufunc, method, args, kwargs", UFUNC_CASES)
def test_ufunc_methods_match_numpy(ufunc, method, args, kwargs):
    expected = getattr(getattr(np, ufunc), method)(*args, **kwargs)
    call = getattr(getattr(fnp, ufunc), method)
    _same(call(*args, **kwargs), expected)
    _same(fg.jit(lambda *a: call(*a, **kwargs))(*args), expected)


@pytest.mark.parametrize(
    "ufunc, method", [("logaddexp", "reduce"), ("maximum", "accumulate"), ("add", "outer")]
)
def test_ufunc_methods_differentiate(ufunc, method):
    call = getattr(getattr(fnp, ufunc), method)
    args = (UX, UX[0]) if method == "outer" else (UX,)
    fgt.check_grads(call, args, order=1)


def test_a_fold_over_an_empty_axis_gives_the_identity_or_refuses():
    _same(fnp.hypot.reduce(np.zeros((0, 2))), np.hypot.reduce(np.zeros((0, 2))))
    with pytest.raises(ValueError):
        np.arctan2.reduce(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="no identity"):
        fnp.arctan2.reduce(np.zeros((0, 2)))


@pytest.mark.parametrize(
    "filt", [0.0, 1.5, 0, 3, True, np.float32(0.0), np.int64(2), np.array(0.0), np.array(2)]
)
def test_trim_zeros_of_a_scalar_gives_it_back_as_numpy_does(filt):
    expected = np.trim_zeros(filt)
    for got in (fnp.trim_zeros(filt), fnp.trim_zeros(filt, "f")):
        assert type(got) is type(expected) and got == expected
        assert np.asarray(got).dtype == np.asarray(expected).dtype
    x = np.asarray(filt, float)
    assert fg.jit(fnp.trim_zeros)(x) == x  # no values needed: nothing is trimmed
    assert fg.grad(lambda x: fnp.trim_zeros(x) * 2.0)(x) == 2.0
    for axis in (0, -1):
        with pytest.raises(np.exceptions.AxisError) as expected:
            np.trim_zeros(filt, axis=axis)
        with pytest.raises(np.exceptions.AxisError, match="trim_zeros") as got:
            fnp.trim_zeros(filt, axis=axis)
        assert str(expected.value) in str(got.value)
    with pytest.raises(ValueError, match="trim"):
        fnp.trim_zeros(filt, "x")
