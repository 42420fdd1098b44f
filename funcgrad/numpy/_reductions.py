"""Reductions: sum, mean, var, max, argmax..."""

import math

import numpy as np

from .. import primitives as P
from ._base import _axes, _keep, _normalize_axis, _to_mean_float, asarray
from ._elementwise import divide, logical_not, negative, sqrt, square, subtract
from ._shapes import ravel, reshape

__all__ = ["sum", "mean", "var", "std", "max", "amax", "min", "amin", "argmax", "argmin"]


def sum(x, axis=None, keepdims=False, dtype=None):
    """Sum over ``axis`` (all axes by default); bools and small ints sum as int64
    (small unsigned ints as uint64), as in NumPy."""
    x = asarray(x)
    if dtype is None and x.dtype.kind in "biu" and x.dtype.itemsize < 8:
        dtype = np.uint64 if x.dtype.kind == "u" else np.int64
    x = asarray(x, dtype)
    axes = _axes("sum", axis, x.ndim)
    return _keep(x, P.reduce_sum(x, axes=axes) if axes else x, axes, keepdims)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``; integers average in float64."""
    x = _to_mean_float(x)
    axes = _axes("mean", axis, x.ndim)
    count = math.prod(x.shape[a] for a in axes)
    return divide(sum(x, axis=axes, keepdims=keepdims), float(count))


def var(x, axis=None, keepdims=False, ddof=0):
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom."""
    x = _to_mean_float(x)
    axes = _axes("var", axis, x.ndim)
    count = math.prod(x.shape[a] for a in axes)
    centered = subtract(x, mean(x, axis=axes, keepdims=True))
    return divide(sum(square(centered), axis=axes, keepdims=keepdims), float(count - ddof))


def std(x, axis=None, keepdims=False, ddof=0):
    """Standard deviation over ``axis``.

    >>> std(np.array([1.0, 3.0]))
    array(1.)
    """
    v = var(x, axis=axis, keepdims=keepdims, ddof=ddof)
    if ddof == 0 and math.prod(np.shape(v)) == math.prod(np.shape(x)):
        return v  # over one element: identically 0, with slope 0 (sqrt's is infinite at 0)
    return sqrt(v)


def _chooser(prim, name):
    def fn(x, axis=None, keepdims=False):
        x = asarray(x)
        axes = _axes(name, axis, x.ndim)
        return _keep(x, prim(x, axes=axes) if axes else x, axes, keepdims)

    fn.__name__ = name
    fn.__doc__ = f"The {name} over ``axis`` (all axes by default)."
    return fn


max = amax = _chooser(P.reduce_max, "max")
min = amin = _chooser(P.reduce_min, "min")


def argmax(x, axis=None, keepdims=False):
    """Indices of the maxima (not differentiable)."""
    x = asarray(x)
    if axis is None:  # over the flattened array; keepdims keeps every axis, as NumPy
        out = argmax(ravel(x), axis=0)
        return reshape(out, (1,) * x.ndim) if keepdims else out
    axis = _normalize_axis("argmax", axis, x.ndim)
    out = P.argmax(x, axis=axis, index_dtype=np.dtype(np.int64))
    return _keep(x, out, (axis,), keepdims)


def argmin(x, axis=None, keepdims=False):
    """Indices of the minima (not differentiable)."""
    x = asarray(x)
    # The argmax of an order-reversing map that cannot wrap around (-x overflows at the
    # signed minimum, wraps for unsigned ints, and is undefined for bools).
    if x.dtype.kind == "b":
        flipped = logical_not(x)
    elif x.dtype.kind == "u":
        flipped = subtract(int(np.iinfo(x.dtype).max), x)
    elif x.dtype.kind == "i":
        flipped = subtract(-1, x)  # ~x
    else:
        flipped = negative(x)
    return argmax(flipped, axis=axis, keepdims=keepdims)
