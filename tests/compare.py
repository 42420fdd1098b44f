"""How the tests compare funcgrad's results with NumPy's: the type NumPy's result has (a
NumPy scalar where NumPy hands back one, else an ndarray), the same shape and dtype,
floats to a relative tolerance, everything else exactly."""

import warnings

import numpy as np


def assert_numpy_type(actual, expected):
    """``actual`` has the type of NumPy's result ``expected``: an ndarray (0-d included)
    where NumPy gives one, the same NumPy scalar class where NumPy gives a scalar. For an
    expected value written out in a test (a list, a Python number), an array or scalar."""
    if isinstance(expected, (np.ndarray, np.generic)):
        assert type(actual) is type(expected), (type(actual), type(expected))
    else:
        assert isinstance(actual, (np.ndarray, np.generic)), type(actual)


def transformed(expected):
    """What a transformation (``jit``, ``grad``, ``vmap``, ...) hands back for NumPy's
    result ``expected``: a 0-d result as a NumPy scalar, anything else as NumPy's."""
    if type(expected) is np.ndarray and expected.ndim == 0:
        return expected[()]
    return expected


def assert_same(actual, expected, rtol=1e-12):
    assert_numpy_type(actual, expected)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, (
        (actual.shape, actual.dtype),
        (expected.shape, expected.dtype),
    )
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol)
    else:
        np.testing.assert_array_equal(actual, expected)


def numpy_then_ours(numpy_call, our_call):
    """``(numpy_call(), our_call())``, each silent about what NumPy warns of (an overflow,
    0/0, an all-NaN slice: the test provokes it), and funcgrad's call failing the test if it
    warns where NumPy does not (a RuntimeWarning of funcgrad's own, which users would see)."""
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always", RuntimeWarning)
        expected = numpy_call()
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always", RuntimeWarning)
        got = our_call()
    if not [w for w in theirs if issubclass(w.category, RuntimeWarning)]:
        spurious = [w for w in ours if issubclass(w.category, RuntimeWarning)]
        assert not spurious, f"NumPy does not warn, funcgrad does: {spurious[0].message}"
    return expected, got


def assert_close(actual, expected, tol):
    """The same shape, and values within ``tol`` relative and absolute (SciPy's references
    for the special functions and distributions)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)
