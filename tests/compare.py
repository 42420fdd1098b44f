"""How the NumPy-breadth tests compare funcgrad's results with NumPy's: an ndarray of
the same shape and dtype, floats to a relative tolerance, everything else exactly."""

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
