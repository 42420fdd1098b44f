"""Window functions and index generators: NumPy's own, re-exported. They take sizes and
offsets (Python ints), never arrays to differentiate, and return constant arrays."""

from numpy import (
    bartlett,
    blackman,
    diag_indices,
    hamming,
    hanning,
    indices,
    kaiser,
    mask_indices,
    tril_indices,
    triu_indices,
)

from . import _base
from ._base import _error, shape

__all__ = [
    "bartlett",
    "blackman",
    "diag_indices",
    "diag_indices_from",
    "hamming",
    "hanning",
    "indices",
    "kaiser",
    "mask_indices",
    "tril_indices",
    "tril_indices_from",
    "triu_indices",
    "triu_indices_from",
]


def _matrix_shape(name, x):
    s = shape(x)
    if len(s) != 2:
        raise _error(ValueError, f"{name}: input array must be 2-d, got shape {s}")
    return s


def diag_indices_from(arr):
    """The indices of the main diagonal of a square array (of any rank, as NumPy).

    >>> import numpy as np
    >>> diag_indices_from(np.zeros((2, 2)))
    (array([0, 1]), array([0, 1]))
    """
    s = shape(arr)
    if len(s) < 2 or len(set(s)) != 1:
        raise _error(
            ValueError, f"diag_indices_from: all dimensions of input must be equal, got {s}"
        )
    return diag_indices(s[0], len(s))


def tril_indices_from(arr, k=0):
    """The indices of the lower triangle of a 2-D array (only its shape is read)."""
    n, m = _matrix_shape("tril_indices_from", arr)
    return tril_indices(n, k, m)


def triu_indices_from(arr, k=0):
    """The indices of the upper triangle of a 2-D array (only its shape is read)."""
    n, m = _matrix_shape("triu_indices_from", arr)
    return triu_indices(n, k, m)


_base.numpy_results(globals())
