"""Binning and interpolation: digitize and interp trace (differentiable in the values
interpolated); bincount's weights are differentiable; histograms count concrete values."""

import numpy as np

from .. import primitives as P
from ..core import Tracer
from ._base import _error, asarray, shape
from ._elementwise import add, divide, equal, greater, less, mod, multiply, subtract, where
from ._indexing import _host_value, getitem, host_function
from ._shapes import concatenate
from ._sorting import argsort, searchsorted

__all__ = [
    "bincount",
    "digitize",
    "histogram",
    "histogram2d",
    "histogram_bin_edges",
    "histogramdd",
    "interp",
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


def digitize(x, bins, right=False):
    """The index of the bin of each element of ``x`` (``bins`` concrete and monotonic).

    >>> digitize(np.array([0.2, 6.4, 3.0]), np.array([0.0, 1.0, 2.5, 4.0]))
    array([1, 4, 3])
    """
    bins = np.asarray(_host_value("digitize", bins, "concrete bins"))
    if not isinstance(x, Tracer):
        return np.digitize(x, bins, right)
    if bins.ndim != 1:
        raise _error(ValueError, "digitize: object too deep for desired array")
    delta, side = np.diff(bins), "left" if right else "right"
    if np.all(delta >= 0):
        return searchsorted(bins, x, side=side)
    if not np.all(delta <= 0):
        raise _error(ValueError, "digitize: bins must be monotonically increasing or decreasing")
    return subtract(len(bins), searchsorted(bins[::-1], x, side=side))


def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation of the points ``(xp, fp)`` at ``x`` (``xp``
    increasing), in float64 as NumPy; differentiable in ``x``, ``xp`` and ``fp``.

    >>> interp(np.array([0.5, 3.0]), np.array([0.0, 1.0, 2.0]), np.array([0.0, 10.0, 0.0]))
    array([5., 0.])
    """
    x, xp, fp = (asarray(a, np.float64) for a in (x, xp, fp))
    if xp.ndim != 1 or fp.ndim != 1:
        raise _error(ValueError, "interp: data points must be 1-D sequences")
    if shape(xp) != shape(fp):
        raise _error(ValueError, "interp: fp and xp are not of the same length")
    if shape(xp)[0] == 0:
        raise _error(ValueError, "interp: array of sample points is empty")
    if period is not None:
        if period == 0:
            raise _error(ValueError, "interp: period must be a non-zero value")
        period = abs(period)
        x, xp = mod(x, period), mod(xp, period)
        order = argsort(xp)
        xp, fp = getitem(xp, order), getitem(fp, order)
        xp = concatenate([subtract(xp[-1:], period), xp, add(xp[:1], period)])
        fp = concatenate([fp[-1:], fp, fp[:1]])
        left = right = None
    n = shape(xp)[0]
    if n == 1:
        y = multiply(add(multiply(x, 0.0), 1.0), fp[0])
    else:
        i = searchsorted(xp, x, side="right")
        i = where(less(i, 1), 1, where(greater(i, n - 1), n - 1, i))
        x0, x1 = getitem(xp, subtract(i, 1)), getitem(xp, i)
        y0, y1 = getitem(fp, subtract(i, 1)), getitem(fp, i)
        width = subtract(x1, x0)
        flat = equal(width, 0.0)  # (a repeated xp: take its left value)
        t = divide(subtract(x, x0), where(flat, 1.0, width))
        y = add(y0, multiply(where(flat, 0.0, t), subtract(y1, y0)))
        y = where(equal(x, xp[-1]), fp[-1], y)
    y = where(less(x, xp[0]), fp[0] if left is None else left, y)
    return where(greater(x, xp[-1]), fp[-1] if right is None else right, y)


_INSTEAD = "bincount with digitize for differentiable weighted counts"
histogram = host_function("histogram", _INSTEAD)
histogram2d = host_function("histogram2d", _INSTEAD)
histogramdd = host_function("histogramdd", _INSTEAD)
histogram_bin_edges = host_function("histogram_bin_edges", _INSTEAD)
