"""Counting: bincount's weights are differentiable; histograms count concrete values
(digitize and interp, which trace, are with searchsorted in _sorting)."""

import numpy as np

from .. import primitives as P
from ..core import Tracer
from . import _base
from ._base import _error, asarray, shape
from ._indexing import _host_value, host_function

__all__ = [
    "bincount",
    "histogram",
    "histogram2d",
    "histogram_bin_edges",
    "histogramdd",
]

_LABELS_BEFORE_COUNTING = "concrete integers (their largest value sets the output length)"


def bincount(x, weights=None, minlength=0):
    """Occurrences of each value of the non-negative integers ``x``; with ``weights``,
    their sums (float64, as NumPy: differentiable in the weights). ``x`` must be
    concrete: its largest value sets the output length.

    >>> bincount(np.array([0, 2, 2]), weights=np.array([0.5, 1.0, 2.0]))
    array([0.5, 0. , 3. ])
    """
    labels = _host_value("bincount", x, _LABELS_BEFORE_COUNTING)
    if not isinstance(weights, Tracer):
        return np.bincount(labels, weights, minlength)
    length = np.bincount(labels, minlength=minlength).size  # (NumPy's checks of x)
    if shape(weights) != labels.shape:
        raise _error(ValueError, "bincount: the weights and list don't have the same length.")
    w = asarray(weights, np.float64)
    return P.scatter_add(w, labels.astype(np.int64), shape=(length,))


_INSTEAD = "bincount with digitize for differentiable weighted counts"
histogram = host_function("histogram", _INSTEAD)
histogram2d = host_function("histogram2d", _INSTEAD)
histogramdd = host_function("histogramdd", _INSTEAD)
histogram_bin_edges = host_function("histogram_bin_edges", _INSTEAD)


_base.numpy_results(globals())
