"""Numerical calculus on samples: trapezoid, gradient, unwrap; the Vandermonde matrix. All
are differentiable in the samples (and in the coordinates, where NumPy takes them)."""

import builtins

import numpy as np

from . import _base
from ._base import (
    _error,
    _normalize_axis,
    _to_float,
    _to_mean_float,
    asarray,
    operator_index,
    shape,
)
from ._elementwise import (
    absolute,
    add,
    divide,
    equal,
    greater,
    less,
    logical_and,
    mod,
    multiply,
    power,
    subtract,
    where,
)
from ._indexing import getitem
from ._reductions import _along, cumsum, diff, sum
from ._shapes import concatenate, reshape, stack

__all__ = ["gradient", "trapezoid", "unwrap", "vander"]


def _spread(v, ndim, axis):
    """A 1-D ``v`` shaped to broadcast along ``axis`` of an ``ndim``-array."""
    return reshape(v, tuple(-1 if a == axis else 1 for a in range(ndim)))


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of samples ``y`` by the trapezoidal rule, over ``axis``.

    >>> trapezoid(np.array([1.0, 2.0, 3.0]), dx=0.5)
    np.float64(2.0)
    """
    y = _to_mean_float(y)
    axis = _normalize_axis("trapezoid", axis, y.ndim)
    n = shape(y)[axis]
    if x is None:
        d = dx
    else:
        x = asarray(x)
        d = diff(x, axis=0 if x.ndim == 1 else axis)
        if x.ndim == 1:
            d = _spread(d, y.ndim, axis)
    mid = multiply(add(_along(y, axis, 1, n), _along(y, axis, 0, n - 1)), 0.5)
    return sum(multiply(d, mid), axis=axis)


def _spacings(name, f, varargs, axes):
    """Per axis: a Python float step or a 1-D coordinate array (NumPy's ``varargs``)."""
    if not varargs:
        return [1.0] * len(axes)
    if len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        return [varargs[0]] * len(axes)
    if len(varargs) != len(axes):
        raise _error(TypeError, f"{name}: invalid number of arguments")
    out = []
    for v, axis in zip(varargs, axes):
        if np.ndim(v) == 0:
            out.append(v)
            continue
        v = asarray(v)
        if v.ndim != 1:
            raise _error(ValueError, f"{name}: distances must be either scalars or 1d")
        if shape(v)[0] != shape(f)[axis]:
            raise _error(
                ValueError, f"{name}: when 1d, distances must match the length of the axis"
            )
        out.append(v)
    return out


def _gradient_axis(f, axis, h, edge_order):
    n = shape(f)[axis]
    ends = lambda a, b: _along(f, axis, a, b)  # noqa: E731
    if np.ndim(h) == 0:
        interior = divide(subtract(ends(2, n), ends(0, n - 2)), 2.0 * h)
        if edge_order == 1:
            first = divide(subtract(ends(1, 2), ends(0, 1)), h)
            last = divide(subtract(ends(n - 1, n), ends(n - 2, n - 1)), h)
        else:
            first = divide(
                add(
                    add(multiply(ends(0, 1), -1.5), multiply(ends(1, 2), 2.0)),
                    multiply(ends(2, 3), -0.5),
                ),
                h,
            )
            last = divide(
                add(
                    add(multiply(ends(n - 3, n - 2), 0.5), multiply(ends(n - 2, n - 1), -2.0)),
                    multiply(ends(n - 1, n), 1.5),
                ),
                h,
            )
        return concatenate([first, interior, last], axis=axis)
    # Non-uniform coordinates: the second-order accurate three-point weights.
    d = diff(asarray(h, _to_float(h).dtype))
    d1, d2 = getitem(d, builtins.slice(0, n - 2)), getitem(d, builtins.slice(1, n - 1))
    a = divide(-d2, multiply(d1, add(d1, d2)))
    b = divide(subtract(d2, d1), multiply(d1, d2))
    c = divide(d1, multiply(d2, add(d1, d2)))
    ndim = len(shape(f))
    interior = add(
        add(
            multiply(_spread(a, ndim, axis), ends(0, n - 2)),
            multiply(_spread(b, ndim, axis), ends(1, n - 1)),
        ),
        multiply(_spread(c, ndim, axis), ends(2, n)),
    )
    if edge_order == 1:
        first = divide(subtract(ends(1, 2), ends(0, 1)), getitem(d, 0))
        last = divide(subtract(ends(n - 1, n), ends(n - 2, n - 1)), getitem(d, n - 2))
    else:
        first = _edge2(ends(0, 1), ends(1, 2), ends(2, 3), getitem(d, 0), getitem(d, 1))
        last = _edge2(
            ends(n - 1, n),
            ends(n - 2, n - 1),
            ends(n - 3, n - 2),
            -getitem(d, n - 2),
            -getitem(d, n - 3),
        )
    return concatenate([first, interior, last], axis=axis)


def _edge2(f0, f1, f2, d1, d2):
    """The one-sided second-order derivative at f0 from f1 = f(x0 + d1), f2 = f(x0 + d1 + d2)."""
    a = divide(-(2.0 * d1 + d2), multiply(d1, add(d1, d2)))
    b = divide(add(d1, d2), multiply(d1, d2))
    c = divide(-d1, multiply(d2, add(d1, d2)))
    return add(add(multiply(a, f0), multiply(b, f1)), multiply(c, f2))


def gradient(f, *varargs, axis=None, edge_order=1):
    """NumPy's ``gradient``: central differences inside, one-sided at the ends (first or
    second order, ``edge_order``); one array per axis when there are several.

    >>> gradient(np.array([1.0, 4.0, 9.0, 16.0]))
    array([3., 4., 6., 7.])
    """
    f = _to_mean_float(f)
    ndim = f.ndim
    if axis is None:
        axes = tuple(range(ndim))
    else:
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        axes = tuple(_normalize_axis("gradient", operator_index(a), ndim) for a in axes)
    edge_order = operator_index(edge_order)
    if edge_order not in (1, 2):
        raise _error(ValueError, "gradient: 'edge_order' greater than 2 not supported")
    spacings = _spacings("gradient", f, varargs, axes)
    out = []
    for ax, h in zip(axes, spacings):
        if shape(f)[ax] < edge_order + 1:
            raise _error(
                ValueError,
                "gradient: shape of array too small to calculate a numerical gradient, at "
                "least (edge_order + 1) elements are required",
            )
        out.append(asarray(_gradient_axis(f, ax, h, edge_order), f.dtype))  # f's, as NumPy
    return out[0] if len(out) == 1 else tuple(out)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of 1-D ``x``: columns ``x**(N-1), ..., x, 1`` (reversed when
    ``increasing``).

    >>> vander(np.array([1, 2, 3]), 3)
    array([[1, 1, 1],
           [4, 2, 1],
           [9, 3, 1]])
    """
    x = asarray(x)
    if x.ndim != 1:
        raise _error(ValueError, "vander: x must be a one-dimensional array or sequence.")
    n = shape(x)[0] if N is None else operator_index(N)
    powers = range(n) if increasing else range(n - 1, -1, -1)
    if n == 0:
        return np.zeros((shape(x)[0], 0), np.result_type(x.dtype, int))
    return stack([power(x, p) if p else power(x, 0) for p in powers], axis=1)


def unwrap(p, discont=None, axis=-1, *, period=2 * np.pi):
    """Remove jumps larger than ``discont`` (default ``period / 2``) between neighbours
    along ``axis`` by adding multiples of ``period``, as NumPy (float samples).

    >>> unwrap(np.array([0.0, 3.0, 6.5]), period=4.0)
    array([ 0. , -1. , -1.5])
    """
    p = _to_mean_float(p)
    axis = _normalize_axis("unwrap", axis, p.ndim)
    n = shape(p)[axis]
    if n < 2:
        return p
    discont = period / 2 if discont is None else discont
    high = period / 2
    dd = diff(p, axis=axis)
    ddmod = add(mod(add(dd, high), period), -high)
    # the half-period boundary goes to +high for a rising step, as NumPy
    ddmod = where(logical_and(equal(ddmod, -high), greater(dd, 0)), high, ddmod)
    correct = where(less(absolute(dd), discont), 0.0, subtract(ddmod, dd))
    rest = add(_along(p, axis, 1, n), cumsum(correct, axis=axis))
    return asarray(concatenate([_along(p, axis, 0, 1), rest], axis=axis), p.dtype)


_base.numpy_results(globals())
