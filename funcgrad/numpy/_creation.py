"""Array creation: constants (concrete NumPy arrays), ranges whose endpoints may be
traced, grids, and the triangular and diagonal constructions."""

import builtins

import numpy as np

from .. import primitives as P
from ..core import Tracer
from . import _base
from ._base import (
    _dtype,
    _error,
    _holds_tracer,
    _numpy_constant,
    _via_numpy,
    array,
    asarray,
    ndim,
    operator_index,
    result_type,
    shape,
)
from ._elementwise import add, divide, greater, log10, multiply, power, sign, subtract, where
from ._indexing import diagonal
from ._shapes import (
    _slice_axis,
    broadcast_arrays,
    broadcast_shapes,
    broadcast_to,
    concatenate,
    expand_dims,
    moveaxis,
    ravel,
    reshape,
)

__all__ = [
    "zeros",
    "ones",
    "full",
    "empty",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "arange",
    "eye",
    "identity",
    "tri",
    "tril",
    "triu",
    "diag",
    "diagflat",
    "linspace",
    "logspace",
    "geomspace",
    "meshgrid",
    "copy",
    "ascontiguousarray",
]

arange, eye, identity, tri = map(_numpy_constant, (np.arange, np.eye, np.identity, np.tri))
zeros, ones = _numpy_constant(np.zeros), _numpy_constant(np.ones)


empty = zeros  # its values are unspecified: zeros are as good as any


def _fill(shape, fill_value, dtype):
    """``fill_value`` broadcast to ``shape``: a constant unless the value is traced."""
    if isinstance(fill_value, Tracer) or _holds_tracer(fill_value):
        value = asarray(fill_value, dtype)
        target = tuple(shape) if isinstance(shape, (tuple, list)) else (operator_index(shape),)
        return broadcast_to(value, target)
    return _via_numpy("full", np.full, shape, fill_value, dtype)


def full(shape, fill_value, dtype=None, order="C"):
    """``shape`` filled with ``fill_value`` (which may be traced, and broadcasts).

    >>> full((2,), 7)
    array([7, 7])
    """
    return _fill(shape, fill_value, dtype)


def _like(a, dtype, shape_):
    return (shape(a) if shape_ is None else shape_), (_dtype(a) if dtype is None else dtype)


def zeros_like(a, dtype=None, order="K", subok=True, shape=None):
    """Zeros of ``a``'s shape and dtype (or the given ones)."""
    return _via_numpy("zeros_like", np.zeros, *_like(a, dtype, shape))


def ones_like(a, dtype=None, order="K", subok=True, shape=None):
    """Ones of ``a``'s shape and dtype (or the given ones)."""
    return _via_numpy("ones_like", np.ones, *_like(a, dtype, shape))


empty_like = zeros_like


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None):
    """``a``'s shape filled with ``fill_value`` in ``a``'s dtype (or the given ones).

    >>> full_like(np.ones(2, np.float32), 3)
    array([3., 3.], dtype=float32)
    """
    target, dtype = _like(a, dtype, shape)
    return _fill(target, fill_value, dtype)


def copy(a, order="K", subok=False):
    """A copy of ``a`` (a tracer is immutable: it is its own copy).

    >>> copy([1, 2])
    array([1, 2])
    """
    if isinstance(a, Tracer) or _holds_tracer(a):
        return asarray(a)
    return np.array(a, order=order, copy=True)


def ascontiguousarray(a, dtype=None):
    """``a`` as a C-contiguous array of at least one axis, as NumPy.

    >>> ascontiguousarray(2.0)
    array([2.])
    """
    return array(a, dtype=dtype, copy=None, ndmin=1, order="C")


# ---------------------------------------------------------------- triangles and diagonals


def _triangle(name, m, k, upper):
    x = asarray(m)
    if x.ndim == 0:
        raise _error(TypeError, f"{name}: the input must have at least one axis")
    rows, cols = (x.shape[0], x.shape[0]) if x.ndim == 1 else x.shape[-2:]
    lower = np.tri(rows, cols, k=operator_index(k) - upper, dtype=bool)
    zero = np.zeros((), x.dtype)
    return P.select(lower, zero, x) if upper else P.select(lower, x, zero)


def tril(m, k=0):
    """The lower triangle of the last two axes (entries above diagonal ``k`` zeroed).

    >>> tril(np.ones((2, 3)), k=1)
    array([[1., 1., 0.],
           [1., 1., 1.]])
    """
    return _triangle("tril", m, k, upper=False)


def triu(m, k=0):
    """The upper triangle of the last two axes (entries below diagonal ``k`` zeroed).

    >>> triu(np.ones((2, 2)))
    array([[1., 1.],
           [0., 1.]])
    """
    return _triangle("triu", m, k, upper=True)


def diag(v, k=0):
    """A 1-D ``v`` as the ``k``-th diagonal of a square 2-D array; the ``k``-th
    diagonal of a 2-D ``v``.

    >>> diag(np.array([1, 2]), k=1)
    array([[0, 1, 0],
           [0, 0, 2],
           [0, 0, 0]])
    """
    x = asarray(v)
    k = operator_index(k)
    if x.ndim == 2:
        return diagonal(x, k)
    if x.ndim != 1:
        raise _error(ValueError, f"diag: input must be 1- or 2-d, got shape {x.shape}")
    # The flattened n x n result is v with n zeros between its elements, shifted to
    # the diagonal's first entry: one pad.
    count = x.shape[0]
    n = count + builtins.abs(k)
    if count == 0:  # (a pad of an empty axis is just its widths)
        lo, hi = n * n, 0
    else:
        lo = k if k >= 0 else -k * n
        hi = n * n - (lo + (count - 1) * (n + 1) + 1)
    flat = P.pad(x, lo=(lo,), hi=(hi,), interior=(n,), value=0.0)
    return reshape(flat, (n, n))


def diagflat(v, k=0):
    """The flattened ``v`` as the ``k``-th diagonal of a square 2-D array.

    >>> diagflat(np.array([[1, 2]]))
    array([[1, 0],
           [0, 2]])
    """
    return diag(ravel(asarray(v)), k)


# ---------------------------------------------------------------- ranges with traced ends


def _traced(*args):
    return builtins.any(isinstance(a, Tracer) or _holds_tracer(a) for a in args)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop`` (arrays broadcast, and
    may be traced: the values are differentiable in both endpoints).

    >>> linspace(0.0, 1.0, 5)
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    if not _traced(start, stop):
        return _via_numpy("linspace", np.linspace, start, stop, num, endpoint, retstep, dtype, axis)
    num = operator_index(num)
    if num < 0:
        raise _error(ValueError, f"linspace: number of samples, {num}, must be non-negative")
    dt = result_type(start, stop)
    dt = dt if dt.kind in "fc" else np.dtype(np.float64)
    start, stop = asarray(start, dt), asarray(stop, dt)
    lead = broadcast_shapes(start.shape, stop.shape)
    delta = subtract(stop, start)
    steps = np.arange(num, dtype=dt).reshape((num,) + (1,) * len(lead))
    div = num - 1 if endpoint else num
    step = divide(delta, div) if div > 0 else np.nan
    y = add(multiply(steps, step if div > 0 else delta), start)
    if endpoint and num > 1:
        last = reshape(broadcast_to(stop, lead), (1,) + lead)
        y = concatenate([_slice_axis(y, 0, 0, num - 1), last], axis=0)
    y = moveaxis(y, 0, axis)
    if dtype is not None:
        y = _cast_floor(y, np.dtype(dtype))
    return (y, step) if retstep else y


def _cast_floor(y, dtype):
    """``y`` in ``dtype``, rounded down first for integer dtypes (as NumPy's linspace)."""
    if dtype.kind not in "iu":
        return asarray(y, dtype)
    truncated = asarray(y, dtype)
    return where(greater(asarray(truncated, y.dtype), y), subtract(truncated, 1), truncated)


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``base ** linspace(start, stop, num)`` (endpoints may be traced).

    >>> logspace(0.0, 2.0, 3)
    array([  1.,  10., 100.])
    """
    if not _traced(start, stop, base):
        return _via_numpy("logspace", np.logspace, start, stop, num, endpoint, base, dtype, axis)
    if not isinstance(base, (float, int)) and ndim(base):
        rank = len(broadcast_shapes(shape(start), shape(stop), shape(base)))
        start, stop, base = (array(a, ndmin=rank) for a in (start, stop, base))
        base = expand_dims(base, axis)
    y = power(base, linspace(start, stop, num=num, endpoint=endpoint, axis=axis))
    return y if dtype is None else asarray(y, dtype)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` values from ``start`` to ``stop`` spaced evenly on a log scale
    (endpoints may be traced: real and of one sign, as zero cannot be checked then).

    >>> geomspace(1.0, 100.0, 3)
    array([  1.,  10., 100.])
    """
    if not _traced(start, stop):
        return _via_numpy("geomspace", np.geomspace, start, stop, num, endpoint, dtype, axis)
    dt = result_type(asarray(start), asarray(stop), float(num), np.zeros((), dtype))
    start, stop = asarray(start, dt), asarray(stop, dt)
    signs = sign(start)
    start, stop = divide(start, signs), divide(stop, signs)
    y = logspace(log10(start), log10(stop), num=num, endpoint=endpoint, dtype=dt)
    if num > 0:  # the ends exactly (10 ** log10(x) need not be x)
        lead = y.shape[1:]
        ends = [reshape(broadcast_to(start, lead), (1,) + lead)]
        inner = (1, num - 1) if endpoint and num > 1 else (1, num)
        ends.append(_slice_axis(y, 0, *inner))
        if endpoint and num > 1:
            ends.append(reshape(broadcast_to(stop, lead), (1,) + lead))
        y = concatenate(ends, axis=0)
    y = moveaxis(multiply(y, signs), 0, axis)
    return y if dtype is None else asarray(y, dtype)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate arrays from 1-D coordinate vectors (``indexing="xy"``: Cartesian,
    the first two axes swapped; ``"ij"``: matrix indexing). Returns a tuple.

    >>> [g.shape for g in meshgrid(np.arange(3), np.arange(2))]
    [(2, 3), (2, 3)]
    """
    if indexing not in ("xy", "ij"):
        raise _error(ValueError, "meshgrid: valid values for `indexing` are 'xy' and 'ij'")
    rank = len(xi)
    grids = []
    for i, x in enumerate(xi):
        dims = [1] * rank
        dims[i] = -1
        if indexing == "xy" and rank > 1 and i < 2:
            dims[0], dims[1] = dims[1], dims[0]
        grids.append(reshape(ravel(asarray(x)), tuple(dims)))
    return tuple(grids) if sparse else broadcast_arrays(*grids)


_base.numpy_results(globals())
