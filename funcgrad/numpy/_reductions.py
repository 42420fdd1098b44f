"""Reductions and scans: sum, prod, mean, var, max, argmax, cumsum, diff, nan-aware
reductions, average, cov..."""

import builtins
import math

import numpy as np

from .. import primitives as P
from ..core import Tracer, is_weak
from ..errors import ShapeError, user_frame
from . import _base
from ._base import (
    _axes,
    _error,
    _keep,
    _no_out,
    _normalize_axis,
    _to_mean_float,
    asarray,
    operator_index,
    promote,
    result_type,
    shape,
)
from ._elementwise import (
    add,
    clip,
    divide,
    equal,
    greater,
    isclose,
    isnan,
    logical_and,
    logical_not,
    logical_or,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    sqrt,
    square,
    subtract,
    where,
)
from ._indexing import getitem
from ._products import matmul
from ._shapes import broadcast_to, concatenate, ravel, reshape, squeeze, transpose

__all__ = [
    "sum",
    "mean",
    "var",
    "std",
    "max",
    "amax",
    "min",
    "amin",
    "argmax",
    "argmin",
    "prod",
    "cumsum",
    "cumprod",
    "cumulative_sum",
    "cumulative_prod",
    "diff",
    "ediff1d",
    "all",
    "any",
    "count_nonzero",
    "nansum",
    "nanprod",
    "nancumsum",
    "nancumprod",
    "nanmean",
    "nanmax",
    "nanmin",
    "nanvar",
    "nanstd",
    "nanargmax",
    "nanargmin",
    "average",
    "ptp",
    "cov",
    "corrcoef",
    "trace",
    "allclose",
    "array_equal",
    "array_equiv",
]


def _accumulator(x, dtype):
    """``x`` in the dtype NumPy sums and multiplies it in: bools and small ints as int64
    (small unsigned ints as uint64), unless ``dtype`` is given."""
    x = asarray(x)
    if dtype is None and x.dtype.kind in "biu" and x.dtype.itemsize < 8:
        dtype = np.uint64 if x.dtype.kind == "u" else np.int64
    return asarray(x, dtype)


def _mask(mask, shape):
    """A reduction's ``where=`` mask broadcast to ``shape`` (None refused, as NumPy: it
    would read as all False)."""
    if mask is None:
        raise TypeError(f"where= must be True or a boolean array, not None (at {user_frame()})")
    return broadcast_to(asarray(mask, bool), shape)


def _masked(x, mask, fill):
    """``x`` with ``fill`` where the ``where=`` mask of a reduction is False."""
    if mask is True:
        return x
    return where(_mask(mask, x.shape), x, asarray(fill, x.dtype))


def _with_initial(reduced, initial, combine):
    """``combine(reduced, initial)`` with ``initial`` in the result's dtype, as NumPy."""
    if initial is None:
        return reduced
    return combine(reduced, asarray(initial, asarray(reduced).dtype))


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """Sum over ``axis`` (all axes by default) of the elements ``where`` is True, plus
    ``initial``; bools and small ints sum as int64 (small unsigned ints as uint64), as in
    NumPy.

    >>> sum(np.array([1.0, 2.0, 4.0]), where=np.array([True, False, True]), initial=10)
    np.float64(15.0)
    """
    _no_out("sum", out)
    x = _masked(_accumulator(a, dtype), where, 0)
    axes = _axes("sum", axis, x.ndim)
    total = _keep(x, P.reduce_sum(x, axes=axes) if axes else x, axes, keepdims)
    return _with_initial(total, initial, add)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    """Product over ``axis`` (integers as :func:`sum`). Its gradient at an element is the
    product of all the others, exact where some are 0.

    >>> prod(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    array([ 2., 12.])
    """
    _no_out("prod", out)
    x = _masked(_accumulator(a, dtype), where, 1)
    axes = _axes("prod", axis, x.ndim)
    out = _keep(x, P.reduce_prod(x, axes=axes) if axes else x, axes, keepdims)
    return _with_initial(out, initial, multiply)


def _scan(prim, name):
    def fn(a, axis=None, dtype=None, out=None):
        _no_out(name, out)
        x = _accumulator(a, dtype)
        if axis is None:
            x, axis = ravel(x), 0
        return prim(x, axis=_normalize_axis(name, operator_index(axis), x.ndim))

    fn.__name__ = name
    return fn


cumsum = _scan(P.cumsum, "cumsum")
cumsum.__doc__ = """Cumulative sums along ``axis`` (the flattened array for None).

    >>> cumsum(np.array([[1, 2], [3, 4]]), axis=0)
    array([[1, 2],
           [4, 6]])
    """
cumprod = _scan(P.scan_prod, "cumprod")
cumprod.__doc__ = """Cumulative products along ``axis`` (the flattened array for None), by a
    doubling scan of multiplications: its gradients are exact where elements are 0 (the
    products may round differently from NumPy's running product, within a few ulp)."""


def _cumulative(scan, first):
    """NumPy 2's ``cumulative_*`` of ``scan``; ``first``: the initial value (0 or 1)."""

    def fn(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        _no_out(scan.__name__, out)
        x = asarray(x)
        if axis is None:
            if x.ndim > 1:
                raise _error(ValueError, "axis must be given for arrays of more than one axis")
            axis = 0
        out = scan(x, axis=axis, dtype=dtype)
        if not include_initial:
            return out
        axis = _normalize_axis(scan.__name__, axis, out.ndim)
        shape = tuple(1 if i == axis else d for i, d in enumerate(out.shape))
        return concatenate([broadcast_to(np.array(first, out.dtype), shape), out], axis=axis)

    fn.__doc__ = f"NumPy 2's array-API {scan.__name__} (``include_initial`` prepends it)."
    return fn


cumulative_sum = _cumulative(cumsum, 0)
cumulative_prod = _cumulative(cumprod, 1)


class _NoValue:
    """NumPy's marker for an argument not given (``None`` is a value for prepend)."""


def _along(x, axis, start, stop):
    index = [builtins.slice(None)] * x.ndim
    index[axis] = builtins.slice(start, stop)
    return getitem(x, tuple(index))


def _edge(value, like, axis):
    """A prepend/append value as an array that joins ``like`` along ``axis``."""
    value = asarray(value)
    if value.ndim == 0:
        shape = tuple(1 if i == axis else d for i, d in enumerate(like.shape))
        value = broadcast_to(value, shape)
    return value


def diff(a, n=1, axis=-1, prepend=_NoValue, append=_NoValue):
    """The ``n``-th differences along ``axis`` (bools: ``!=``), with optional values joined
    before/after first.

    >>> diff(np.array([1.0, 4.0, 9.0, 16.0]), n=2)
    array([2., 2.])
    """
    n = operator_index(n)
    if n < 0:
        raise _error(ValueError, f"diff: order must be non-negative but got {n}")
    a = asarray(a)
    if a.ndim == 0:
        raise _error(ValueError, "diff requires input that is at least one dimensional")
    axis = _normalize_axis("diff", operator_index(axis), a.ndim)
    parts = [a]
    if prepend is not _NoValue:
        parts.insert(0, _edge(prepend, a, axis))
    if append is not _NoValue:
        parts.append(_edge(append, a, axis))
    if len(parts) > 1:
        parts = promote(*parts)
        a = concatenate(parts, axis=axis)
    for _ in range(n):
        hi, lo = _along(a, axis, 1, None), _along(a, axis, None, -1)
        a = not_equal(hi, lo) if a.dtype == np.bool_ else subtract(hi, lo)
    return a


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences of the flattened array, with ``to_begin``/``to_end`` joined on."""
    ary = ravel(asarray(ary))
    parts = [diff(ary)] if ary.shape[0] else [ary]
    dtype = parts[0].dtype
    for name, edge in (("to_begin", to_begin), ("to_end", to_end)):
        if edge is not None and not np.can_cast(result_type(edge), dtype, "same_kind"):
            raise _error(TypeError, f"dtype of `{name}` must be compatible with input `ary`")
    if to_begin is not None:
        parts.insert(0, ravel(asarray(to_begin, dtype)))
    if to_end is not None:
        parts.append(ravel(asarray(to_end, dtype)))
    return concatenate(parts) if len(parts) > 1 else parts[0]


def _truth(a):
    a = asarray(a)
    return a if a.dtype == np.bool_ else not_equal(a, 0)


def any(a, axis=None, out=None, keepdims=False, *, where=True):
    """Whether any element along ``axis`` (where ``where`` is True) is true (nonzero;
    NaN counts as true)."""
    _no_out("any", out)
    return greater(sum(_truth(a), axis=axis, keepdims=keepdims, where=where), 0)


def all(a, axis=None, out=None, keepdims=False, *, where=True):
    """Whether every element along ``axis`` (where ``where`` is True) is true (True for an
    empty slice)."""
    _no_out("all", out)
    return equal(sum(logical_not(_truth(a)), axis=axis, keepdims=keepdims, where=where), 0)


def count_nonzero(a, axis=None, *, keepdims=False):
    """The number of nonzero elements along ``axis`` (int64)."""
    return sum(_truth(a), axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------- NaN-aware reductions


def _is_float_array(a):
    return asarray(a).dtype.kind == "f"


def _without_nans(a, fill):
    a = asarray(a)
    return where(isnan(a), fill, a) if a.dtype.kind == "f" else a


def nansum(a, axis=None, dtype=None, out=None, keepdims=False):
    """Sum treating NaN as 0."""
    _no_out("nansum", out)
    return sum(_without_nans(a, 0), axis=axis, keepdims=keepdims, dtype=dtype)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False):
    """Product treating NaN as 1."""
    _no_out("nanprod", out)
    return prod(_without_nans(a, 1), axis=axis, dtype=dtype, keepdims=keepdims)


def nancumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sums treating NaN as 0."""
    _no_out("nancumsum", out)
    return cumsum(_without_nans(a, 0), axis=axis, dtype=dtype)


def nancumprod(a, axis=None, dtype=None, out=None):
    """Cumulative products treating NaN as 1."""
    _no_out("nancumprod", out)
    return cumprod(_without_nans(a, 1), axis=axis, dtype=dtype)


def _nan_count(a, axis, keepdims):
    a = asarray(a)
    return sum(logical_not(isnan(a)), axis=axis, keepdims=keepdims)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False):
    """Mean of the non-NaN elements (NaN where all are NaN)."""
    _no_out("nanmean", out)
    a = _in_dtype(a, dtype)
    if not _is_float_array(a):
        return mean(a, axis=axis, keepdims=keepdims)
    count = _nan_count(a, axis, keepdims)
    return divide(nansum(a, axis=axis, keepdims=keepdims), asarray(count, asarray(a).dtype))


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Variance of the non-NaN elements."""
    _no_out("nanvar", out)
    a = _in_dtype(a, dtype)
    if not _is_float_array(a):
        return var(a, axis=axis, keepdims=keepdims, ddof=ddof)
    a = asarray(a)
    centered = _without_nans(subtract(a, nanmean(a, axis=axis, keepdims=True)), 0)
    dof = subtract(asarray(_nan_count(a, axis, keepdims), a.dtype), ddof)
    total = sum(square(centered), axis=axis, keepdims=keepdims)
    return where(greater(dof, 0), divide(total, dof), np.nan)  # (NaN with no dof, as NumPy)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Standard deviation of the non-NaN elements."""
    _no_out("nanstd", out)
    return sqrt(nanvar(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims))


def _nan_chooser(chooser, fill):
    def fn(a, axis=None, out=None, keepdims=False):
        _no_out("nan" + chooser.__name__, out)
        if not _is_float_array(a):
            return chooser(a, axis=axis, keepdims=keepdims)
        a = asarray(a)
        best = chooser(_without_nans(a, fill), axis=axis, keepdims=keepdims)
        return where(all(isnan(a), axis=axis, keepdims=keepdims), np.nan, best)

    fn.__name__ = "nan" + chooser.__name__
    fn.__doc__ = f"The {chooser.__name__} ignoring NaNs (NaN where all are NaN)."
    return fn


def _nan_arg(arg, fill):
    def fn(a, axis=None, out=None, *, keepdims=False):
        _no_out("nan" + arg.__name__, out)
        if not _is_float_array(a):
            return arg(a, axis=axis, keepdims=keepdims)
        a = asarray(a)
        if not isinstance(a, Tracer) and np.any(np.all(np.isnan(a), axis=axis)):
            raise _error(ValueError, "All-NaN slice encountered")  # (traced: the fill's index)
        return arg(_without_nans(a, fill), axis=axis, keepdims=keepdims)

    fn.__name__ = "nan" + arg.__name__
    fn.__doc__ = f"The {arg.__name__} ignoring NaNs."
    return fn


# ---------------------------------------------------------------- weighted and paired


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """The (weighted) average along ``axis``; with ``returned``, also the sum of weights.

    >>> average(np.array([1.0, 2.0, 4.0]), weights=np.array([1.0, 1.0, 2.0]))
    np.float64(2.75)
    """
    a = asarray(a)
    if weights is None:
        avg = mean(a, axis=axis, keepdims=keepdims)
        count = a.size / builtins.max(int(np.prod(avg.shape)), 1) if a.size else 0
        return (avg, broadcast_to(np.array(count, avg.dtype), avg.shape)) if returned else avg
    w = asarray(weights)
    dtype = result_type(a, w) if a.dtype.kind == "f" else np.result_type(a.dtype, w.dtype, "f8")
    a, w = asarray(a, dtype), asarray(w, dtype)
    if w.shape != a.shape:
        if axis is None:
            raise _error(TypeError, "Axis must be specified when shapes of a and weights differ.")
        if w.ndim != 1:
            raise _error(TypeError, "1D weights expected when shapes of a and weights differ.")
        ax = _normalize_axis("average", operator_index(axis), a.ndim)
        if w.shape[0] != a.shape[ax]:
            raise _error(ShapeError, "Length of weights not compatible with specified axis.")
        w = reshape(w, tuple(-1 if i == ax else 1 for i in range(a.ndim)))
        w = broadcast_to(w, a.shape)
    scale = sum(w, axis=axis, keepdims=keepdims)
    if not isinstance(scale, Tracer) and np.any(scale == 0.0):
        raise _error(ZeroDivisionError, "Weights sum to zero, can't be normalized")
    avg = divide(sum(multiply(a, w), axis=axis, keepdims=keepdims), scale)
    return (avg, broadcast_to(scale, avg.shape)) if returned else avg


def ptp(a, axis=None, out=None, keepdims=False):
    """Peak to peak: max - min along ``axis``."""
    _no_out("ptp", out)
    return subtract(max(a, axis=axis, keepdims=keepdims), min(a, axis=axis, keepdims=keepdims))


def _rows(m, rowvar, dtype):
    m = asarray(m, dtype)
    if m.ndim > 2:
        raise _error(ValueError, "m has more than 2 dimensions")
    x = reshape(m, (1, -1) if m.ndim < 2 else m.shape)
    return transpose(x) if not rowvar and m.ndim != 1 else x


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    """The covariance matrix of the variables (rows, or columns with ``rowvar=False``),
    with NumPy's ``bias``, ``ddof`` and frequency/analytic weights; squeezed as NumPy."""
    if dtype is None:
        dtype = np.result_type(*(asarray(v).dtype for v in (m, y) if v is not None), np.float64)
    x = _rows(m, rowvar, dtype)
    if y is not None:
        x = concatenate([x, _rows(y, rowvar, dtype)], axis=0)
    ddof = (0 if bias else 1) if ddof is None else ddof
    w = None
    for given in (fweights, aweights):
        if given is not None:
            given = asarray(given, dtype)
            w = given if w is None else multiply(w, given)
    if w is None:
        n = x.shape[1]
        avg = mean(x, axis=1, keepdims=True)
        fact = n - ddof
        centered = subtract(x, avg)
        c = divide(matmul(centered, transpose(centered)), float(fact))
    else:
        v1 = sum(w)
        avg = reshape(divide(sum(multiply(x, w), axis=1), v1), (-1, 1))
        if aweights is None:
            fact = subtract(v1, ddof)
        else:
            fact = subtract(
                v1, divide(multiply(ddof, sum(multiply(w, asarray(aweights, dtype)))), v1)
            )
        centered = subtract(x, avg)
        c = divide(matmul(multiply(centered, w), transpose(centered)), fact)
    return squeeze(c)


def _diagonal_last(a, offset=0):
    """The diagonal of the last two axes (shifted by ``offset``), as the last axis."""
    d1, d2 = a.shape[-2], a.shape[-1]
    n = builtins.max(
        0, builtins.min(d1, d2 - offset) if offset >= 0 else builtins.min(d1 + offset, d2)
    )
    i = np.arange(n)
    rows, cols = (i, i + offset) if offset >= 0 else (i - offset, i)
    return getitem(a, (Ellipsis, rows, cols))


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Pearson correlation coefficients (:func:`cov` normalized, clipped to [-1, 1])."""
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return divide(c, c)
    std = sqrt(_diagonal_last(c))
    c = divide(divide(c, reshape(std, (-1, 1))), reshape(std, (1, -1)))
    return clip(c, -1, 1)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """The sum along a diagonal of the (``axis1``, ``axis2``) planes (integers as sum)."""
    _no_out("trace", out)
    a = asarray(a)
    if a.ndim < 2:
        raise _error(ValueError, "diag requires an array of at least two dimensions")
    a1 = _normalize_axis("trace", operator_index(axis1), a.ndim)
    a2 = _normalize_axis("trace", operator_index(axis2), a.ndim)
    if a1 == a2:
        raise _error(ValueError, "axis1 and axis2 cannot be the same")
    moved = transpose(a, [d for d in range(a.ndim) if d not in (a1, a2)] + [a1, a2])
    return sum(_diagonal_last(moved, operator_index(offset)), axis=-1, dtype=dtype)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element of ``a`` is close to ``b`` (see isclose); a Python bool on
    arrays, a traced bool inside transformations."""
    return _as_bool(all(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def array_equal(a1, a2, equal_nan=False):
    """Whether two arrays have the same shape and elements."""
    a1, a2 = asarray(a1), asarray(a2)
    if a1.shape != a2.shape:
        return False
    same = equal(a1, a2)
    if equal_nan:
        same = logical_or(same, logical_and(isnan(a1), isnan(a2)))
    return _as_bool(all(same))


def array_equiv(a1, a2):
    """Whether two arrays broadcast together and are equal everywhere."""
    a1, a2 = asarray(a1), asarray(a2)
    try:
        np.broadcast_shapes(a1.shape, a2.shape)
    except ValueError:
        return False
    return _as_bool(all(equal(a1, a2)))


def _as_bool(x):
    return x if isinstance(x, Tracer) else bool(x)


def _in_dtype(a, dtype):
    """``a`` converted to ``dtype`` when one is given (the dtype NumPy computes in)."""
    return asarray(a) if dtype is None else asarray(a, dtype)


def _in_result_dtype(result, dtype):
    """A float mean of an integer ``dtype`` cast back to it, as NumPy returns it."""
    return result if dtype is None else asarray(result, dtype)


def _count(x, axes, keepdims, mask):
    """How many elements a reduction over ``axes`` takes: a Python int, or with a
    ``where=`` mask an array of counts in ``x``'s dtype."""
    if mask is True:
        return float(math.prod(x.shape[a] for a in axes))
    counts = sum(_mask(mask, x.shape), axis=axes, keepdims=keepdims)
    return asarray(counts, x.dtype)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """Arithmetic mean over ``axis`` of the elements ``where`` is True, computed in
    ``dtype`` if given; integers average in float64.

    >>> mean(np.array([1, 2]), dtype=np.float32)
    np.float32(1.5)
    """
    _no_out("mean", out)
    x = _to_mean_float(_in_dtype(a, dtype))
    axes = _axes("mean", axis, x.ndim)
    total = sum(x, axis=axes, keepdims=keepdims, where=where)
    return _in_result_dtype(divide(total, _count(x, axes, keepdims, where)), dtype)


def _ddof(ddof, correction):
    if correction is None:
        return ddof
    if ddof != 0:
        raise _error(ValueError, "ddof and correction can't be provided simultaneously.")
    return correction


def _spread(name, finish):
    """var and std: the mean squared deviation over ``axis``, then ``finish(v, a, ddof)``."""

    def fn(
        a,
        axis=None,
        dtype=None,
        out=None,
        ddof=0,
        keepdims=False,
        *,
        where=True,
        mean=None,
        correction=None,
    ):
        _no_out(name, out)
        ddof = _ddof(ddof, correction)
        x = _to_mean_float(_in_dtype(a, dtype))
        axes = _axes(name, axis, x.ndim)
        if mean is None:
            mean = _mean(x, axis=axes, keepdims=True, where=where)
        total = sum(square(subtract(x, mean)), axis=axes, keepdims=keepdims, where=where)
        count = _count(x, axes, keepdims, where)
        dof = count - ddof if is_weak(count) else subtract(count, ddof)  # (a Python float)
        return finish(_in_result_dtype(divide(total, dof), dtype), a, ddof)

    fn.__name__ = fn.__qualname__ = name
    return fn


def _root(v, a, ddof):
    if ddof == 0 and math.prod(shape(v)) == math.prod(shape(a)):
        return v  # over one element: identically 0, with slope 0 (sqrt's is infinite at 0)
    return sqrt(v)


_mean = mean  # (the spread's ``mean`` argument shadows the function there)
var = _spread("var", lambda v, a, ddof: v)
var.__doc__ = """Variance over ``axis`` with ``ddof`` (or ``correction``) delta degrees of
    freedom, in ``dtype`` if given, of the elements ``where`` is True; ``mean``, if given,
    is the mean with ``keepdims=True``.

    >>> var(np.array([1.0, 2.0, 4.0]), ddof=1)
    np.float64(2.333333333333333)
    """
std = _spread("std", _root)
std.__doc__ = """Standard deviation over ``axis`` (arguments as :func:`var`).

    >>> std(np.array([1.0, 3.0]))
    np.float64(1.0)
    """


def _chooser(prim, name, pairwise):
    def fn(a, axis=None, out=None, keepdims=False, initial=None, where=True):
        _no_out(name, out)
        x = asarray(a)
        if where is not True:
            if initial is None:
                raise _error(
                    ValueError,
                    f"reduction operation '{pairwise.__name__}' does not have an identity, "
                    "so to use a where mask one has to specify 'initial'",
                )
            x = _masked(x, where, initial)
        axes = _axes(name, axis, x.ndim)
        if initial is not None and math.prod(x.shape[a] for a in axes) == 0:
            x = concatenate(
                [x, broadcast_to(asarray(initial, x.dtype), _one_along(x, axes))], axes[0]
            )
        best = _keep(x, prim(x, axes=axes) if axes else x, axes, keepdims)
        return _with_initial(best, initial, pairwise)

    fn.__name__ = name
    fn.__doc__ = (
        f"The {name} over ``axis`` (all axes by default), with ``initial`` taking part; a "
        "``where=`` mask needs ``initial``, as in NumPy."
    )
    return fn


def _one_along(x, axes):
    """``x``'s shape with the first of ``axes`` of size 1 (room for ``initial``)."""
    return tuple(1 if i == axes[0] else d for i, d in enumerate(x.shape))


max = amax = _chooser(P.reduce_max, "max", maximum)
min = amin = _chooser(P.reduce_min, "min", minimum)


def argmax(a, axis=None, out=None, *, keepdims=False):
    """Indices of the maxima (not differentiable)."""
    _no_out("argmax", out)
    x = asarray(a)
    if axis is None:  # over the flattened array; keepdims keeps every axis, as NumPy
        out = argmax(ravel(x), axis=0)
        return reshape(out, (1,) * x.ndim) if keepdims else out
    axis = _normalize_axis("argmax", axis, x.ndim)
    out = P.argmax(x, axis=axis, index_dtype=np.dtype(np.int64))
    return _keep(x, out, (axis,), keepdims)


def argmin(a, axis=None, out=None, *, keepdims=False):
    """Indices of the minima (not differentiable)."""
    _no_out("argmin", out)
    x = asarray(a)
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


nanmax = _nan_chooser(max, -np.inf)
nanmin = _nan_chooser(min, np.inf)
nanargmax = _nan_arg(argmax, -np.inf)
nanargmin = _nan_arg(argmin, np.inf)


_base.numpy_results(globals())
