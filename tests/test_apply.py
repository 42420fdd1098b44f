"""apply_along_axis, apply_over_axes, fromfunction and piecewise against NumPy, with
gradients through the applied functions and under jit."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import testing as fgt

X = np.arange(24.0).reshape(2, 3, 4) / 7.0

ROW_FUNCTIONS = {
    "reverse": lambda r: r[::-1],
    "sum": lambda r: r.sum(),
    "outer": lambda r: fnp.outer(r, r) if not isinstance(r, np.ndarray) else np.outer(r, r),
}


@pytest.mark.parametrize("name", sorted(ROW_FUNCTIONS))
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_apply_along_axis_matches_numpy(name, axis):
    f = ROW_FUNCTIONS[name]
    expected = np.apply_along_axis(f, axis, X)
    got = fnp.apply_along_axis(f, axis, X)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected)
    np.testing.assert_allclose(fg.jit(lambda x: fnp.apply_along_axis(f, axis, x))(X), expected)


def test_apply_along_axis_differentiates_and_refuses_empty_arrays():
    fgt.check_grads(lambda x: fnp.apply_along_axis(lambda r: fnp.sum(r**3), 1, x), (X,))
    with pytest.raises(ValueError, match="0-sized"):
        fnp.apply_along_axis(lambda r: r, 0, np.zeros((2, 0)))


@pytest.mark.parametrize("axes", [0, [0, 2], [-1]])
def test_apply_over_axes_matches_numpy(axes):
    expected = np.apply_over_axes(np.sum, X, axes)
    np.testing.assert_allclose(fnp.apply_over_axes(fnp.sum, X, axes), expected)
    fgt.check_grads(lambda x: fnp.apply_over_axes(fnp.sum, x**2, axes), (X,), order=1)


@pytest.mark.parametrize("dtype", [float, int, np.float32])
def test_fromfunction_matches_numpy(dtype):
    f = lambda i, j: i * 3 + j  # noqa: E731
    got, expected = (
        fnp.fromfunction(f, (3, 2), dtype=dtype),
        np.fromfunction(f, (3, 2), dtype=dtype),
    )
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


XS = np.linspace(-2.5, 2.5, 6)
PIECES = [
    ([XS < 0, XS >= 0], [lambda x: -x, lambda x: x**2]),
    ([XS < 0], [lambda x: -x, 7.0]),
    (XS > 1, [1.0]),
    ([XS < 0, XS < 1], [1, 2, 3]),
    ([XS < 0, XS < 1], [lambda x: x, lambda x: 2 * x]),
]


@pytest.mark.parametrize("case", range(len(PIECES)))
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_piecewise_matches_numpy(case, dtype):
    condlist, funclist = PIECES[case]
    x = XS.astype(dtype)
    expected = np.piecewise(x, condlist, funclist)
    got = fnp.piecewise(x, condlist, funclist)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(
        fg.jit(lambda x: fnp.piecewise(x, condlist, funclist))(x), expected
    )


def test_piecewise_differentiates_each_piece_and_counts_functions():
    g = fg.grad(lambda x: fnp.sum(fnp.piecewise(x, [x < 0], [lambda x: -x, lambda x: x**2])))(XS)
    np.testing.assert_allclose(g, np.where(XS < 0, -1.0, 2 * XS))
    with pytest.raises(ValueError, match="either 1 or 2 functions"):
        fnp.piecewise(XS, [XS < 0], [1, 2, 3])
