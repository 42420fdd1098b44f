"""Sorting and order statistics: sort, argsort, searchsorted, unique, median, quantile.

One primitive, ``argsort`` (the stable permutation, NaN last, as NumPy's sort orders);
``sort`` is the gather by it, so its gradient is the gather's scatter, and the quantiles
(gathers of the sorted array, interpolated) differentiate in the array and in ``q``.
"""

import builtins
import math
from typing import NamedTuple

import numpy as np

from .. import primitives as P
from ..core import Tracer
from ..errors import ConcretizationError
from . import _base
from ._base import (
    _error,
    _keep,
    _no_out,
    _normalize_axis,
    asarray,
    operator_index,
    promote,
    result_type,
    shape,
)
from ._elementwise import (
    absolute,
    add,
    clip,
    divide,
    equal,
    floor,
    greater,
    greater_equal,
    isnan,
    less,
    less_equal,
    logical_not,
    maximum,
    minimum,
    multiply,
    remainder,
    rint,
    subtract,
    where,
)
from ._indexing import getitem, take, take_along_axis
from ._reductions import mean, sum
from ._shapes import concatenate, moveaxis, ravel, reshape, transpose

__all__ = [
    "sort",
    "argsort",
    "partition",
    "argpartition",
    "searchsorted",
    "digitize",
    "interp",
    "unique",
    "unique_all",
    "unique_counts",
    "unique_inverse",
    "unique_values",
    "lexsort",
    "median",
    "nanmedian",
    "quantile",
    "percentile",
    "nanquantile",
    "nanpercentile",
]


def _flat_or(a, axis):
    """(array, axis) with ``axis=None`` meaning the flattened array, as NumPy's sorts."""
    a = asarray(a)
    if axis is None:
        return ravel(a), 0
    return a, _normalize_axis("sort", operator_index(axis), a.ndim)


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Indices that sort ``a`` along ``axis`` (stably; NaN last). Not differentiable.

    >>> argsort(np.array([3.0, np.nan, 1.0, 3.0]))
    array([2, 0, 3, 1])
    """
    a, axis = _flat_or(a, axis)
    return P.argsort(a, axis=axis)


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """``a`` sorted along ``axis`` (flattened for None); NaN last. Its gradient sends each
    cotangent back to the element that moved there.

    >>> sort(np.array([[3.0, 1.0], [np.nan, 0.0]]))
    array([[ 1.,  3.],
           [ 0., nan]])
    """
    a, axis = _flat_or(a, axis)
    return take_along_axis(a, P.argsort(a, axis=axis), axis)


def _check_kth(kth, n):
    for k in np.atleast_1d(np.asarray(kth)).tolist():
        if not -n <= operator_index(k) < n:
            raise _error(ValueError, f"kth(={k}) out of bounds ({n})")


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """A partition of ``a`` around ``kth``: here the sorted array, which is one (NumPy's
    own arrangement of the other elements is unspecified)."""
    a, axis_ = _flat_or(a, axis)
    _check_kth(kth, a.shape[axis_] if a.ndim else 0)
    return sort(a, axis_)


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """Indices that partition ``a`` around ``kth``: here the sorting ones (see partition)."""
    a, axis_ = _flat_or(a, axis)
    _check_kth(kth, a.shape[axis_] if a.ndim else 0)
    return argsort(a, axis_)


def searchsorted(a, v, side="left", sorter=None):
    """Where ``v`` would go in the sorted 1-D ``a`` to keep it sorted (NaN sorts last).

    >>> searchsorted(np.array([1.0, 2.0, 2.0, 3.0]), np.array([2.0, 5.0]), side="right")
    array([3, 4])
    """
    a = asarray(a)
    if a.ndim != 1:
        raise _error(ValueError, f"searchsorted: a must be 1-D, got shape {a.shape}")
    if side not in ("left", "right"):
        raise _error(ValueError, f"searchsorted: side must be 'left' or 'right', got {side!r}")
    if sorter is not None:
        a = take(a, sorter)
    a, v = promote(a, v)
    return P.searchsorted(a, v, side=side)


def digitize(x, bins, right=False):
    """The index of the bin of ``bins`` (monotonic, increasing or decreasing) each ``x``
    falls in, as NumPy: by :func:`searchsorted`, so it runs under jit (integer result, no
    gradient).

    >>> digitize(np.array([0.2, 6.4, 3.0]), np.array([0.0, 1.0, 2.5, 4.0]))
    array([1, 4, 3])
    """
    bins = asarray(bins)
    if bins.ndim != 1:
        raise _error(ValueError, "digitize: object too deep for desired array (bins must be 1-D)")
    if not isinstance(bins, Tracer):
        steps = np.diff(bins)
        if not (np.all(steps >= 0) or np.all(steps <= 0)):
            raise _error(
                ValueError, "digitize: bins must be monotonically increasing or decreasing"
            )
    increasing = searchsorted(bins, x, side="left" if right else "right")
    reversed_bins = getitem(bins, builtins.slice(None, None, -1))
    decreasing = bins.shape[0] - searchsorted(reversed_bins, x, side="left" if right else "right")
    if bins.shape[0] < 2:
        return increasing
    return where(less_equal(getitem(bins, 0), getitem(bins, -1)), increasing, decreasing)


def _periodic(x, xp, fp, period):
    """NumPy's interp with ``period``: everything modulo it, the samples sorted and
    extended by one on each side across the wrap."""
    period = absolute(period)
    x, xp = remainder(x, period), remainder(xp, period)
    order = argsort(xp)
    xp, fp = take(xp, order), take(fp, order)
    xp = concatenate([subtract(xp[-1:], period), xp, add(xp[:1], period)])
    return x, xp, concatenate([fp[-1:], fp, fp[:1]])


def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation of the points (``xp``, ``fp``) (``xp`` increasing)
    at ``x``, in float64 as NumPy; ``left``/``right`` outside (default: the end values),
    or periodic with ``period``. Differentiable in ``x``, ``fp`` and ``xp``; runs under jit.

    >>> interp(np.array([0.5, 2.0, 9.0]), np.array([0.0, 1.0, 3.0]), np.array([0.0, 1.0, 2.0]))
    array([0.5, 1.5, 2. ])
    """
    x, xp, fp = (asarray(v, np.float64) for v in (x, xp, fp))
    if xp.ndim != 1 or fp.ndim != 1:
        raise _error(ValueError, "interp: xp and fp must be 1-D sequences")
    if xp.shape[0] != fp.shape[0]:
        raise _error(ValueError, "interp: fp and xp are not of the same length")
    if xp.shape[0] == 0:
        raise _error(ValueError, "interp: array of sample points is empty")
    if period is not None:
        if not isinstance(period, Tracer) and period == 0:
            raise _error(ValueError, "interp: period must be a non-zero value")
        x, xp, fp = _periodic(x, xp, fp, period)
        left = right = None
    n = xp.shape[0]
    first, last = getitem(fp, 0), getitem(fp, -1)
    inside = first  # (one sample point: the where()s below give x's shape)
    if n > 1:
        i = clip(searchsorted(xp, x, side="right"), 1, n - 1)
        x0, x1, f0, f1 = take(xp, i - 1), take(xp, i), take(fp, i - 1), take(fp, i)
        span = subtract(x1, x0)
        span = where(equal(span, 0), 1.0, span)  # (a repeated last sample: x is at it)
        inside = add(f0, multiply(divide(subtract(x, x0), span), subtract(f1, f0)))
    below = first if left is None else asarray(left, np.float64)
    above = last if right is None else asarray(right, np.float64)
    out = where(less(x, getitem(xp, 0)), below, inside)
    out = where(greater(x, getitem(xp, -1)), above, out)
    return where(equal(x, getitem(xp, -1)), last, out)


def unique(
    ar,
    return_index=False,
    return_inverse=False,
    return_counts=False,
    axis=None,
    *,
    equal_nan=True,
    sorted=True,
):
    """NumPy's unique, on concrete values only (its size depends on the data): eagerly,
    and under grad outside jit, where the values are the input's elements at their first
    occurrences (so they carry its gradient). Under jit: a ConcretizationError.

    >>> unique(np.array([3, 1, 3, 2]))
    array([1, 2, 3])
    """
    if not isinstance(ar, Tracer):
        return np.unique(
            ar, return_index, return_inverse, return_counts, axis=axis, equal_nan=equal_nan
        )
    try:
        value = ar.concrete("unique")
    except ConcretizationError:
        raise _error(
            ConcretizationError,
            "unique: the number of distinct values depends on the data, which jit cannot "
            "compile: call it outside jit (or on concrete values), or use fnp.sort",
        ) from None
    found = np.unique(value, True, return_inverse, return_counts, axis=axis, equal_nan=equal_nan)
    values = take(ravel(ar) if axis is None else ar, found[1], axis=0 if axis is None else axis)
    extra = [found[1]] if return_index else []
    extra += list(found[2:])
    return tuple([values] + extra) if extra else values


# ---------------------------------------------------------------- order statistics


def _moved_last(a, axis):
    """``a`` with ``axis`` (an int, a tuple, or None: all) flattened into one last axis, and
    the reduced axes (for keepdims)."""
    a = asarray(a)
    axes = tuple(range(a.ndim)) if axis is None else _axes_of(axis, a.ndim)
    rest = [d for d in range(a.ndim) if d not in axes]
    moved = transpose(a, rest + list(axes))
    n = math.prod(a.shape[d] for d in axes)
    return reshape(moved, tuple(a.shape[d] for d in rest) + (n,)), axes


def _axes_of(axis, ndim):
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(
        builtins.sorted(_normalize_axis("quantile", operator_index(d), ndim) for d in axes)
    )


def _last(x, i):
    return getitem(x, (Ellipsis, i))


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median along ``axis`` (the mean of the middle two for an even count; NaN if the
    slice holds a NaN, as NumPy)."""
    _no_out("median", out)
    a = asarray(a)
    flat, axes = _moved_last(a, axis)
    n = flat.shape[-1]
    s = sort(asarray(flat, np.float64) if a.dtype.kind in "biu" else flat, axis=-1)
    if n == 0:
        mid = mean(s, axis=-1)
    elif n % 2:
        mid = _last(s, n // 2)
    else:
        mid = mean(getitem(s, (Ellipsis, builtins.slice(n // 2 - 1, n // 2 + 1))), axis=-1)
    if n:
        mid = where(isnan(_last(s, n - 1)), np.nan, mid)
    return _keep(a, mid, axes, keepdims)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median ignoring NaNs (a quantile at 0.5 of the non-NaN values)."""
    _no_out("nanmedian", out)
    return nanquantile(a, 0.5, axis=axis, keepdims=keepdims)


# method: (alpha, beta) of the continuous family NumPy documents (H&F 1996), or a rule
_ALPHA_BETA = {
    "interpolated_inverted_cdf": (0.0, 1.0),
    "hazen": (0.5, 0.5),
    "weibull": (0.0, 0.0),
    "median_unbiased": (1 / 3, 1 / 3),
    "normal_unbiased": (3 / 8, 3 / 8),
}
_DISCRETE = {"lower", "higher", "nearest"}
_METHODS = sorted(set(_ALPHA_BETA) | _DISCRETE | {"linear", "midpoint"})


def _virtual_index(q, n, method):
    """NumPy's virtual index of quantile ``q`` in a sorted row of ``n``: a float position
    (continuous methods) or an integer one (discrete)."""
    last = n - 1
    if method == "linear":
        return multiply(q, last)
    if method == "lower":
        return floor(multiply(q, last))
    if method == "higher":
        return subtract(0.0, floor(multiply(q, -last)))  # ceil
    if method == "nearest":
        return rint(multiply(q, last))
    if method == "midpoint":
        lo = floor(multiply(q, last))
        hi = subtract(0.0, floor(multiply(q, -last)))
        return multiply(0.5, add(lo, hi))
    alpha, beta = _ALPHA_BETA[method]
    return subtract(add(multiply(q, n), add(alpha, multiply(q, 1 - alpha - beta))), 1.0)


def _lerp(a, b, t, dtype):
    """NumPy's interpolation: ``b - a`` in the data's dtype, the rest in the result's, and
    from the nearer end, so that t = 1 gives b exactly."""
    d = asarray(subtract(b, a), dtype)
    a, b, t = asarray(a, dtype), asarray(b, dtype), asarray(t, dtype)
    return where(
        greater_equal(t, 0.5), subtract(b, multiply(d, subtract(1.0, t))), add(a, multiply(d, t))
    )


def _quantile(a, q, axis, method, keepdims, skip_nan):
    if method not in _METHODS:
        raise _error(ValueError, f"quantile: method must be one of {_METHODS}, got {method!r}")
    a = asarray(a)
    discrete = method in _DISCRETE
    dtype = a.dtype if discrete else result_type(a, q)
    if dtype.kind in "biu" and not discrete:
        dtype = np.dtype(np.float64)
    q = q if isinstance(q, Tracer) else np.asarray(q, np.float64)
    if not isinstance(q, Tracer) and q.size and (np.min(q) < 0 or np.max(q) > 1):
        raise _error(ValueError, "Quantiles must be in the range [0, 1]")
    flat, axes = _moved_last(a, axis)
    data_dtype = a.dtype if a.dtype.kind == "f" or discrete else np.dtype(np.float64)
    s = sort(asarray(flat, data_dtype), axis=-1)
    n = s.shape[-1]
    if skip_nan:
        return _nan_quantile(s, q, method, a, axes, keepdims, dtype)
    if n == 0:
        raise _error(IndexError, "quantile: cannot take a quantile of an empty slice")
    virtual = _virtual_index(q, n, method)
    below = floor(virtual)
    gamma = subtract(virtual, below)
    prev = asarray(minimum(maximum(below, 0.0), float(n - 1)), np.int64)
    nxt = asarray(minimum(maximum(add(below, 1.0), 0.0), float(n - 1)), np.int64)
    # (q first, then the kept axes, as NumPy lays the result out)
    moved = moveaxis(s, -1, 0)
    lo, hi = getitem(moved, prev), getitem(moved, nxt)
    gamma = reshape(gamma, gamma.shape + (1,) * (moved.ndim - 1))
    out = lo if discrete else _lerp(lo, hi, gamma, dtype)
    if dtype.kind == "f":
        out = where(isnan(_last(s, n - 1)), np.nan, out)
    return _keep_q(a, out, axes, keepdims, q.ndim)


def _nan_quantile(s, q, method, a, axes, keepdims, dtype):
    """Quantiles of each row's non-NaN values (NaN sorts last: the first ``valid``); an
    all-NaN row gives NaN."""
    n = s.shape[-1]
    if n == 0 or method != "linear":
        if method != "linear":
            raise _error(ValueError, "nanquantile: only method='linear' is supported here")
        raise _error(IndexError, "nanquantile: cannot take a quantile of an empty slice")
    count = sum(logical_not(isnan(s)), axis=-1)  # per row
    last = subtract(asarray(count, s.dtype), 1.0)
    qq = reshape(q, q.shape + (1,) * count.ndim)
    virtual = multiply(qq, maximum(last, 0.0))
    below = floor(virtual)
    gamma = subtract(virtual, below)
    top = maximum(last, 0.0)
    prev = asarray(minimum(below, top), np.int64)
    nxt = asarray(minimum(add(below, 1.0), top), np.int64)
    lo = take_along_axis(_broadcast_rows(s, q.ndim), reshape(prev, prev.shape + (1,)), -1)
    hi = take_along_axis(_broadcast_rows(s, q.ndim), reshape(nxt, nxt.shape + (1,)), -1)
    lo, hi = reshape(lo, lo.shape[:-1]), reshape(hi, hi.shape[:-1])
    out = _lerp(lo, hi, gamma, dtype)
    out = where(less(count, 1), np.nan, out)
    return _keep_q(a, out, axes, keepdims, q.ndim)


def _broadcast_rows(s, q_ndim):
    return reshape(s, (1,) * q_ndim + s.shape)


def _keep_q(a, out, axes, keepdims, q_ndim):
    if not keepdims:
        return out
    shape = tuple(out.shape[:q_ndim]) + tuple(1 if i in axes else d for i, d in enumerate(a.shape))
    return reshape(out, shape)


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """The ``q``-th quantiles (``q`` in [0, 1], scalar or array: its axes come first) along
    ``axis``, by NumPy's methods (linear, lower, higher, nearest, midpoint, hazen, weibull,
    median_unbiased, normal_unbiased, interpolated_inverted_cdf). Differentiable in ``a``
    and, for the continuous methods, in ``q``.

    >>> quantile(np.array([1.0, 2.0, 4.0, 8.0]), [0.25, 0.5])
    array([1.75, 3.  ])
    """
    _no_out("quantile", out)
    return _quantile(a, q, axis, method, keepdims, skip_nan=False)


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """The ``q``-th percentiles (``q`` in [0, 100]): :func:`quantile` of ``q / 100``."""
    _no_out("percentile", out)
    return quantile(a, _percent(q), axis, method=method, keepdims=keepdims)


def _percent(q):
    if isinstance(q, (float, int)):
        return q / 100  # (a Python scalar stays weak: float32 data stays float32)
    return divide(q if isinstance(q, Tracer) else np.asarray(q, np.float64), 100)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """:func:`quantile` ignoring NaNs (method 'linear'); NaN for an all-NaN slice."""
    _no_out("nanquantile", out)
    return _quantile(a, q, axis, method, keepdims, skip_nan=True)


def nanpercentile(
    a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False
):
    """:func:`percentile` ignoring NaNs."""
    _no_out("nanpercentile", out)
    return nanquantile(a, _percent(q), axis, method=method, keepdims=keepdims)


class UniqueAllResult(NamedTuple):
    values: object
    indices: object
    inverse_indices: object
    counts: object


class UniqueCountsResult(NamedTuple):
    values: object
    counts: object


class UniqueInverseResult(NamedTuple):
    values: object
    inverse_indices: object


def unique_all(x):
    """The array API's ``unique`` with everything: values (sorted), first indices,
    inverse indices (x's shape) and counts; concrete values only, as :func:`unique`.

    >>> unique_all(np.array([3, 1, 3])).counts
    array([1, 2])
    """
    values, indices, inverse, counts = unique(x, True, True, True, equal_nan=False)
    return UniqueAllResult(values, indices, inverse.reshape(shape(x)), counts)


def unique_counts(x):
    """``(values, counts)`` of the flattened ``x`` (see :func:`unique_all`)."""
    values, counts = unique(x, return_counts=True, equal_nan=False)
    return UniqueCountsResult(values, counts)


def unique_inverse(x):
    """``(values, inverse_indices)``, the indices in x's shape (see :func:`unique_all`)."""
    values, inverse = unique(x, return_inverse=True, equal_nan=False)
    return UniqueInverseResult(values, inverse.reshape(shape(x)))


def unique_values(x):
    """The distinct values of the flattened ``x`` (sorted: NumPy leaves the order open)."""
    return unique(ravel(x), equal_nan=False)


def lexsort(keys, axis=-1):
    """Indices that sort by the last key, then the one before...: stable sorts by each
    key in turn, first to last. Not differentiable (integer indices).

    >>> lexsort((np.array([2, 1, 3]), np.array([0, 1, 0])))
    array([0, 2, 1])
    """
    keys = list(keys) if isinstance(keys, (list, tuple)) else [keys[i] for i in range(len(keys))]
    if not keys:
        raise _error(TypeError, "lexsort: need sequence of keys with len > 0 in lexsort")
    keys = [asarray(k) for k in keys]
    shapes = {shape(k) for k in keys}
    if len(shapes) > 1:
        raise _error(ValueError, "lexsort: all keys need to be the same shape")
    order = None
    for key in keys:
        if order is None:
            order = argsort(key, axis=axis)
        else:
            within = argsort(take_along_axis(key, order, axis=axis), axis=axis)
            order = take_along_axis(order, within, axis=axis)
    return order


_base.numpy_results(globals())
