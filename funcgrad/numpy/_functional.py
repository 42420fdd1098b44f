"""Functions that call a Python function on arrays: apply_along_axis, apply_over_axes,
fromfunction (piecewise is with select, in _indexing). The function is called on traced
values, so it must itself be written with fnp (it runs once per slice: the graph grows with
their number)."""

import numpy as np

from . import _base
from ._base import _error, _normalize_axis, asarray, shape
from ._indexing import getitem
from ._shapes import expand_dims, moveaxis, reshape, stack, transpose
from ._windows import indices

__all__ = ["apply_along_axis", "apply_over_axes", "fromfunction"]


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """``func1d`` on every 1-D slice of ``arr`` along ``axis``; its result's axes take
    the place of ``axis``, as in NumPy.

    >>> apply_along_axis(lambda r: r[::-1], 1, np.array([[1, 2], [3, 4]]))
    array([[2, 1],
           [4, 3]])
    """
    arr = asarray(arr)
    axis = _normalize_axis("apply_along_axis", axis, arr.ndim)
    moved = moveaxis(arr, axis, -1)
    outer = shape(moved)[:-1]
    if 0 in outer:
        raise _error(ValueError, "apply_along_axis: cannot apply to a 0-sized array")
    rows = [asarray(func1d(getitem(moved, i), *args, **kwargs)) for i in np.ndindex(outer)]
    out = reshape(stack(rows), outer + shape(rows[0]))
    rank = len(shape(rows[0]))  # the result's own axes go where `axis` was
    perm = list(range(axis)) + [len(outer) + k for k in range(rank)]
    return transpose(out, perm + list(range(axis, len(outer))))


def apply_over_axes(func, a, axes):
    """``func(a, axis)`` for each axis in turn, keeping the rank (NumPy's rule: a result
    one rank lower gets the axis back as size 1).

    >>> import funcgrad.numpy as fnp
    >>> apply_over_axes(fnp.sum, np.ones((2, 3)), [0, 1])
    array([[6.]])
    """
    a = asarray(a)
    for ax in [axes] if np.ndim(axes) == 0 else axes:
        ax = _normalize_axis("apply_over_axes", ax, a.ndim)
        out = asarray(func(a, ax))
        if out.ndim == a.ndim - 1:
            out = expand_dims(out, ax)
        elif out.ndim != a.ndim:
            raise _error(
                ValueError,
                "apply_over_axes: function is not returning an array of the correct shape",
            )
        a = out
    return a


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """``function(*index_arrays)`` over a grid of ``shape`` (one index array per axis).

    >>> fromfunction(lambda i, j: i + 10 * j, (2, 2), dtype=int)
    array([[ 0, 10],
           [ 1, 11]])
    """
    return function(*indices(shape, dtype=dtype), **kwargs)


_base.numpy_results(globals())
