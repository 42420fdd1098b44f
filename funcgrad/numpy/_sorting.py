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
from ..core import Tracer, is_weak
from ..errors import ConcretizationError
from . import _base
from ._base import (
    _axes,
    _error,
    _keep,
    _no_out,
    _normalize_axis,
    _via_numpy,
    asarray,
    operator_index,
    promote,
    result_type,
    shape,
)
from ._elementwise import (
    absolute,
    add,
    around,
    ceil,
    clip,
    divide,
    equal,
    floor,
    greater,
    greater_equal,
    isfinite,
    isnan,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    maximum,
    minimum,
    multiply,
    remainder,
    subtract,
    where,
)
from ._indexing import getitem, take, take_along_axis
from ._reductions import cumsum, mean, nanmean, sum
from ._shapes import concatenate, expand_dims, ravel, reshape, transpose

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


def _partitioned(name, a, kth, axis, kind, order):
    """``(a, axis)`` after NumPy's checks of a partition's arguments."""
    a, axis = _flat_or(a, axis)
    if kind != "introselect":
        raise _error(ValueError, f"{name}: select kind must be 'introselect' (got {kind!r})")
    if order is not None:
        raise _error(ValueError, f"{name}: Cannot specify order when the array has no fields.")
    if isinstance(kth, Tracer):
        kth = kth.concrete(f"{name}'s kth")
    k = np.asarray(kth)
    if k.dtype == np.bool_:
        raise _error(ValueError, f"{name}: Booleans unacceptable as partition index")
    if k.dtype.kind not in "iu":
        raise _error(TypeError, f"{name}: Partition index must be integer")
    if k.ndim > 1:
        raise _error(ValueError, f"{name}: object too deep for desired array")
    n = a.shape[axis]
    for i in k.ravel().tolist() if n else ():  # (nothing to check on an empty axis)
        i = i + n if i < 0 else i
        if not 0 <= i < n:
            raise _error(ValueError, f"{name}: kth(={i}) out of bounds ({n})")
    return a, axis


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """A partition of ``a`` around ``kth``, which is here a full sort (one of the
    arrangements NumPy allows: it fixes only the kth elements, the others on their side);
    differentiable as :func:`sort`.

    >>> partition(np.array([5.0, 1.0, 4.0, 2.0]), 1)
    array([1., 2., 4., 5.])
    """
    a, axis = _partitioned("partition", a, kth, axis, kind, order)
    return sort(a, axis)


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """Indices that partition ``a`` around ``kth``: here the sorting ones (stable; see
    :func:`partition`).

    >>> argpartition(np.array([5.0, 1.0, 4.0, 2.0]), 1)
    array([1, 3, 2, 0])
    """
    a, axis = _partitioned("argpartition", a, kth, axis, kind, order)
    return argsort(a, axis)


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
    axes = _axes("quantile", axis, a.ndim)
    rest = [d for d in range(a.ndim) if d not in axes]
    moved = transpose(a, rest + list(axes))
    n = math.prod(a.shape[d] for d in axes)
    return reshape(moved, tuple(a.shape[d] for d in rest) + (n,)), axes


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


# NumPy >= 2's methods (its _QuantileMethods, after H&F 1996): where quantile q lies in a
# sorted row of n values. The (alpha, beta) family interpolates at n q + alpha + q (1 - alpha
# - beta) - 1, with NumPy's constants (its integer ones keep an integer q's index integer).
_ALPHA_BETA = {
    "interpolated_inverted_cdf": (0, 1),
    "hazen": (0.5, 0.5),
    "weibull": (0, 0),
    "median_unbiased": (1 / 3.0, 1 / 3.0),
    "normal_unbiased": (3 / 8.0, 3 / 8.0),
}
# the methods that pick one element (no interpolation: the data's dtype, as NumPy)
_PICK = ("inverted_cdf", "closest_observation", "lower", "higher", "nearest")
_METHODS = (*_PICK, "averaged_inverted_cdf", *_ALPHA_BETA, "linear", "midpoint")


def _boundary(index, lower_if):
    """NumPy's discrete rule: floor(index) where ``lower_if(gamma, index)``, else the next
    element, and never below the first."""
    below = floor(index)
    chosen = where(lower_if(subtract(index, below), index), below, add(below, 1))
    return maximum(asarray(chosen, np.int64), 0)


def _virtual_index(n, q, method):
    """Where quantile ``q`` lies in a sorted row of ``n`` (a Python int, or per-row counts in
    the dtype a Python int would meet ``q`` in), computed as NumPy does, in ``q``'s dtype: an
    integer position for the methods that pick, a float (or integer for an integer ``q``)
    one for those that interpolate."""
    if method == "inverted_cdf":
        return _boundary(subtract(multiply(n, q), 1), lambda g, _: equal(g, 0))
    if method == "closest_observation":  # (the even order statistic, 1-based, at g = 0)
        odd = lambda g, i: logical_and(equal(g, 0), equal(remainder(floor(i), 2), 1))  # noqa: E731
        return _boundary(subtract(subtract(multiply(n, q), 1), 0.5), odd)
    last = multiply(n - 1, q)  # (n - 1 in Python for an int n: it stays weak)
    if method in ("lower", "higher", "nearest"):
        return asarray({"lower": floor, "higher": ceil, "nearest": around}[method](last), np.int64)
    if method == "linear":
        return last
    if method == "midpoint":
        return multiply(0.5, add(floor(last), ceil(last)))
    if method == "averaged_inverted_cdf":
        return subtract(multiply(n, q), 1)
    alpha, beta = _ALPHA_BETA[method]
    return subtract(add(multiply(n, q), add(alpha, multiply(q, 1 - alpha - beta))), 1)


def _neighbours(virtual, n):
    """NumPy's two positions around ``virtual`` (its floor and the next): both the row's
    last (``n - 1``) at or past its end and for a NaN, both its first before its start."""
    above = logical_or(greater_equal(virtual, n - 1), isnan(virtual))
    below = less(virtual, 0)

    def bounded(i):
        return asarray(where(below, 0, where(above, n - 1, i)), np.int64)

    prev = floor(virtual)
    return bounded(prev), bounded(add(prev, 1))


def _gamma(virtual, prev, method):
    """The interpolation weight of the next element, in ``virtual``'s dtype as NumPy's."""
    gamma = asarray(subtract(virtual, prev), virtual.dtype)
    if method == "averaged_inverted_cdf":
        return asarray(where(equal(gamma, 0), 0.5, 1.0), virtual.dtype)
    if method == "midpoint":
        return asarray(where(equal(remainder(virtual, 1), 0), 0.0, 0.5), virtual.dtype)
    return gamma


def _lerp(a, b, t, weak):
    """NumPy's interpolation, from the nearer end (so t = 1 gives b exactly). A weak ``q``
    (a Python scalar) makes ``t`` and ``1 - t`` Python floats, which meet the data's dtype
    as Python scalars do."""
    rest, upper = subtract(1, t), greater_equal(t, 0.5)
    if weak:
        dtype = result_type(a, 0.0)
        t, rest = asarray(t, dtype), asarray(rest, dtype)
    d = subtract(b, a)
    low = add(a, multiply(d, t))
    return where(upper, asarray(subtract(b, multiply(d, rest)), low.dtype), low)


def _gather(s, index):
    """``s[..., index]`` row by row: ``index`` has q's axes first, then s's rows (or 1s)."""
    lead = index.ndim - (s.ndim - 1)
    index = clip(index, 0, s.shape[-1] - 1)  # (an all-NaN row's positions; NaN later)
    rows = reshape(s, (1,) * lead + s.shape)
    return _last(take_along_axis(rows, expand_dims(index, -1), -1), 0)


def _quantiles_of(name, q, percent):
    """``q`` as NumPy reads it: (an array or tracer in [0, 1], whether it was a Python
    scalar, whose interpolation weights stay weak)."""
    weak = type(q) in (int, float) or (isinstance(q, Tracer) and is_weak(q) and q.dtype.kind != "b")
    if isinstance(q, Tracer):
        q = divide(q, 100) if percent else q
    else:
        q = np.true_divide(q, 100) if percent else np.asarray(q)
        if not _in_unit_range(name, q):
            what, span = ("Percentiles", "[0, 100]") if percent else ("Quantiles", "[0, 1]")
            raise _error(ValueError, f"{name}: {what} must be in the range {span}")
    if q.ndim > 2:
        raise _error(ValueError, f"{name}: q must be a scalar or 1d")
    return q, weak


def _in_unit_range(name, q):
    if q.ndim == 1 and q.size < 10:  # (NumPy's test: NaN fails; an empty 1-D q passes)
        return bool(np.all(q >= 0) and np.all(q <= 1))
    return bool(_via_numpy(name, lambda: q.min() >= 0 and q.max() <= 1))


def _weights_of(name, weights, a, axis, method):
    """NumPy's checks of ``weights`` (concrete: the result is piecewise constant in them),
    broadcast to ``a``'s shape."""
    if method != "inverted_cdf":
        raise _error(
            ValueError, f"{name}: Only method 'inverted_cdf' supports weights. Got: {method}."
        )
    if isinstance(weights, Tracer):
        weights = weights.concrete(f"{name}'s weights (checked as NumPy checks them)")
    w = np.asarray(weights)
    if w.shape != a.shape:
        if axis is None:
            raise _error(
                TypeError, f"{name}: Axis must be specified when shapes of a and weights differ."
            )
        given = axis if isinstance(axis, (tuple, list)) else (axis,)
        given = [_normalize_axis(name, operator_index(d), a.ndim) for d in given]
        if w.shape != tuple(a.shape[d] for d in given):
            raise _error(
                ValueError,
                f"{name}: Shape of weights must be consistent with shape of a along "
                "specified axis.",
            )
        w = w.transpose(np.argsort(given))
        w = w.reshape([a.shape[d] if d in given else 1 for d in range(a.ndim)])
    if np.any(w < 0):
        raise _error(ValueError, f"{name}: Weights must be non-negative.")
    return np.broadcast_to(w, a.shape)


def _weighted_index(s, ws, q, n):
    """NumPy's weighted inverted_cdf: the first element whose share of the weight, summed
    in sorted order, reaches q (a searchsorted, as a count, row by row)."""
    cdf = cumsum(asarray(ws, np.float64), axis=-1)
    total = _last(cdf, -1)
    bad = logical_not(logical_and(isfinite(total), greater(total, 0)))
    cdf = divide(cdf, expand_dims(where(bad, 1.0, total), -1))
    if q.dtype.kind == "f":
        cdf = asarray(cdf, q.dtype)
    cdf = where(equal(cdf, 0), -1, cdf)  # (leading zero weights: q = 0 takes a weighted one)
    qq = reshape(q, q.shape + (1,) * cdf.ndim)
    index = sum(less(reshape(cdf, (1,) * q.ndim + cdf.shape), qq), axis=-1)
    return asarray(minimum(index, n - 1), np.int64), bad


def _quantile(name, a, q, axis, method, keepdims, weights, skip_nan, percent=False):
    if method not in _METHODS:
        raise _error(
            ValueError, f"{name}: {method!r} is not a valid method. Use one of: {_METHODS}"
        )
    a = asarray(a)
    if a.dtype.kind == "c":
        raise _error(TypeError, f"{name}: a must be an array of real numbers")
    q, weak = _quantiles_of(name, q, percent)
    w = None if weights is None else _weights_of(name, weights, a, axis, method)
    if skip_nan and a.size == 0:
        return nanmean(a, axis, keepdims=keepdims)  # (NumPy's answer, q aside)
    flat, axes = _moved_last(a, axis)
    order = P.argsort(flat, axis=flat.ndim - 1)
    s = take_along_axis(flat, order, -1)
    if s.shape[-1] == 0:
        raise _error(IndexError, f"{name}: cannot take a quantile of an empty slice")
    skip_nan = skip_nan and a.dtype.kind == "f"
    n = s.shape[-1]
    if skip_nan:  # NaN sorts last: each row's first `count` values
        count = sum(logical_not(isnan(s)), axis=-1)
        n = asarray(count, q.dtype if q.dtype.kind == "f" else np.int64)
    if w is not None:
        w = _rows_last(w, axes)
        _check_weight_totals(name, w, flat, skip_nan)
        ws = take_along_axis(w, order, -1)
        index, bad = _weighted_index(s, where(isnan(s), 0, ws) if skip_nan else ws, q, n)
        out = _gather(s, index)
    else:
        virtual = _virtual_index(n, reshape(q, q.shape + (1,) * (s.ndim - 1)), method)
        if method in _PICK or (method == "linear" and virtual.dtype.kind in "biu"):
            out = _gather(s, virtual)
        else:
            prev, nxt = _neighbours(virtual, n)
            gamma = _gamma(virtual, prev, method)
            out = _lerp(_gather(s, prev), _gather(s, nxt), gamma, weak)
    if skip_nan:
        missing = equal(count, 0)
        out = where(missing if w is None else logical_or(missing, bad), np.nan, out)
    elif a.dtype.kind == "f":
        out = where(isnan(_last(s, -1)), np.nan, out)
    return _keep_q(a, out, axes, keepdims, q.ndim)


def _rows_last(w, axes):
    """The concrete weights laid out as :func:`_moved_last` lays out the data (in NumPy:
    under jit, funcgrad's functions would trace them)."""
    rest = [d for d in range(w.ndim) if d not in axes]
    return np.transpose(w, rest + list(axes)).reshape([w.shape[d] for d in rest] + [-1])


def _check_weight_totals(name, w, flat, skip_nan):
    """NumPy's error for a row whose (kept) weights sum to zero or are not finite; for the
    NaN-skipping kinds it depends on the data: under jit such a row gives NaN instead."""
    kept = np.asarray(w, np.float64)
    if skip_nan:
        try:
            data = flat.concrete(f"{name}'s weights check") if isinstance(flat, Tracer) else flat
        except ConcretizationError:
            return
        kept = np.where(np.isnan(data), 0.0, kept)
    total = np.sum(kept, axis=-1)
    bad = ~(np.isfinite(total) & (total > 0))
    if skip_nan:
        bad &= ~np.all(np.isnan(data), axis=-1)
    if np.any(bad):
        raise _error(ValueError, f"{name}: Weights included NaN, inf or were all zero.")


def _keep_q(a, out, axes, keepdims, q_ndim):
    if not keepdims:
        return out
    shape = tuple(out.shape[:q_ndim]) + tuple(1 if i in axes else d for i, d in enumerate(a.shape))
    return reshape(out, shape)


def _quantile_function(name, doc):
    """One of NumPy's four quantile functions, with its signature (``out=`` refused)."""
    skip_nan, percent = name.startswith("nan"), name.endswith("percentile")

    def function(
        a,
        q,
        axis=None,
        out=None,
        overwrite_input=False,
        method="linear",
        keepdims=False,
        *,
        weights=None,
    ):
        _no_out(name, out)
        return _quantile(name, a, q, axis, method, keepdims, weights, skip_nan, percent)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


quantile = _quantile_function(
    "quantile",
    """The ``q``-th quantiles (``q`` in [0, 1], scalar or array: its axes come first) along
    ``axis``, by any of NumPy's methods, with its dtypes; ``weights`` (method
    'inverted_cdf', concrete) as NumPy's. Sort-based: the gradient goes to the elements
    picked or interpolated between, and for the interpolating methods also to ``q``.

    >>> quantile(np.array([1.0, 2.0, 4.0, 8.0]), [0.25, 0.5])
    array([1.75, 3.  ])
    >>> quantile(np.array([1.0, 2.0, 4.0, 8.0]), [0.5, 0.6], method="inverted_cdf")
    array([2., 4.])
    """,
)
percentile = _quantile_function(
    "percentile",
    """The ``q``-th percentiles (``q`` in [0, 100]): :func:`quantile` of ``q / 100``.

    >>> percentile(np.array([1.0, 2.0, 4.0, 8.0]), [50, 90], method="weibull")
    array([3., 8.])
    """,
)
nanquantile = _quantile_function(
    "nanquantile",
    """:func:`quantile` of each slice's non-NaN values; NaN for an all-NaN slice.

    >>> nanquantile(np.array([[1.0, np.nan, 3.0], [np.nan] * 3]), 0.5, axis=1)
    array([ 2., nan])
    """,
)
nanpercentile = _quantile_function(
    "nanpercentile",
    """:func:`percentile` of each slice's non-NaN values.

    >>> nanpercentile(np.array([1.0, np.nan, 3.0]), [0, 100])
    array([1., 3.])
    """,
)


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
