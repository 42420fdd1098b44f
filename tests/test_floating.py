"""frexp, ldexp, modf, fmax, fmin, angle, the complex predicates on real arrays and the
whole-array comparisons, against NumPy (values, signs of zero, dtypes), eagerly and under
jit; derivatives where they have them; the array-API aliases."""

import warnings

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import testing as fgt

SPECIAL = [8.0, -0.75, 0.0, -0.0, np.inf, -np.inf, np.nan, 1e-310, 5e-324, 3.0, 0.5]
SPECIAL += [1 - 1e-16, 2.0**1023, 1.7976931348623157e308, -5.5, 2.0**-1022, 7.25]
FLOATS = [np.float64, np.float32, np.float16]


def _special(dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (overflow to inf in the narrow types is intended)
        return np.array(SPECIAL).astype(dtype)


def _same(got, expected):
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    if got.dtype.kind == "f":  # signed zeros too
        np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", ["frexp", "modf"])
def test_decompositions_match_numpy_bit_for_bit(name, dtype):
    x = _special(dtype)
    expected = getattr(np, name)(x)
    for got in (getattr(fnp, name)(x), fg.jit(getattr(fnp, name))(x)):
        for g, e in zip(got, expected):
            _same(g, e)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_ldexp_matches_numpy(dtype):
    x = np.array([1, 3, -5, 0], dtype)
    n = np.array([2, -1, 10, 3])
    _same(fnp.ldexp(x, n), np.ldexp(x, n))
    _same(fg.jit(fnp.ldexp)(x, n), np.ldexp(x, n))
    with pytest.raises(TypeError, match="integer"):
        fnp.ldexp(x, 1.5)


def test_decompositions_differentiate_in_x():
    x = np.array([3.3, -10.6, 0.3])
    fgt.check_grads(lambda x: fnp.frexp(x)[0], (x,))
    fgt.check_grads(lambda x: fnp.modf(x)[0], (x,))
    fgt.check_grads(lambda x: fnp.ldexp(x, np.array([2, -3, 0])), (x,))


@pytest.mark.parametrize("name", ["fmax", "fmin"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
def test_fmax_fmin_ignore_nans_as_numpy(name, dtype):
    a = np.array([1.0, np.nan, 3.0, np.nan, -0.0, 2.0])
    b = np.array([np.nan, np.nan, 1.0, 2.0, 0.0, 2.0])
    if dtype == np.int32:
        a, b = np.nan_to_num(a).astype(dtype), np.nan_to_num(b).astype(dtype)
    a, b = a.astype(dtype), b.astype(dtype)
    expected = getattr(np, name)(a, b)
    np.testing.assert_array_equal(getattr(fnp, name)(a, b), expected)
    np.testing.assert_array_equal(fg.jit(getattr(fnp, name))(a, b), expected)
    assert getattr(fnp, name)(a, b).dtype == expected.dtype


def test_fmax_passes_the_gradient_to_the_non_nan_side():
    g = fg.grad(lambda a: fnp.sum(fnp.fmax(a, np.array([np.nan, 0.0, 5.0]))))(np.ones(3))
    np.testing.assert_array_equal(g, [1.0, 1.0, 0.0])


@pytest.mark.parametrize("x", [np.array([2.0, -1.0, 0.0, -0.0, np.nan]), np.array([1, -2, 0])])
@pytest.mark.parametrize("deg", [False, True])
def test_angle_of_real_arrays_matches_numpy(x, deg):
    _same(fnp.angle(x, deg), np.angle(x, deg))
    _same(fnp.angle(x.astype(np.float32), deg), np.angle(x.astype(np.float32), deg))


@pytest.mark.parametrize(
    "name", ["iscomplex", "isreal", "iscomplexobj", "isrealobj", "real_if_close"]
)
def test_complex_predicates_on_real_arrays_match_numpy(name):
    x = np.array([[1.0, -2.0]], np.float32)
    expected = getattr(np, name)(x)
    got = getattr(fnp, name)(x)
    np.testing.assert_array_equal(got, expected)
    assert np.asarray(got).dtype == np.asarray(expected).dtype


@pytest.mark.parametrize(
    "a, b, kwargs",
    [
        (np.array([1.0, np.nan]), np.array([1.0, np.nan]), {}),
        (np.array([1.0, np.nan]), np.array([1.0, np.nan]), {"equal_nan": True}),
        (np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]), {}),
        (np.array([1.0, 2.0]), 1.0, {}),
        (np.ones((2, 3)), np.ones(3), {}),
        (np.ones(2), np.ones(3), None),
        (np.array([np.inf]), np.array([np.inf]), {}),
    ],
)
def test_whole_array_comparisons_match_numpy(a, b, kwargs):
    if kwargs is not None:
        assert fnp.allclose(a, b, **kwargs) is bool(np.allclose(a, b, **kwargs))
    equal_nan = {"equal_nan": kwargs.get("equal_nan", False)} if kwargs else {}
    assert fnp.array_equal(a, b, **equal_nan) == np.array_equal(a, b, **equal_nan)
    assert fnp.array_equiv(a, b) == np.array_equiv(a, b)


def test_array_api_aliases_are_the_same_functions():
    for alias, name in [("acos", "arccos"), ("atan2", "arctan2"), ("pow", "power")]:
        assert getattr(fnp, alias) is getattr(fnp, name)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(fnp.permute_dims(x, (1, 0)), np.permute_dims(x, (1, 0)))
    np.testing.assert_array_equal(fnp.concat([x, x], axis=1), np.concat([x, x], axis=1))
