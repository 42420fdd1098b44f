"""How the NumPy-breadth tests compare funcgrad's results with NumPy's: an ndarray of
the same shape and dtype, floats to a relative tolerance, everything else exactly."""

import warnings

import numpy as np


def assert_same(actual, expected, rtol=1e-12):
    assert isinstance(actual, np.ndarray), type(actual)
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
