"""Indexing: ``x[index]`` with NumPy's basic and advanced rules, and take."""

import builtins

import numpy as np

from .. import primitives as P
from ..core import Tracer, current_builder
from ..errors import ConcretizationError, ShapeError
from . import _base
from ._base import (
    _error,
    _holds_tracer,
    _normalize_axis,
    _via_numpy,
    asarray,
    operator_index,
    result_type,
    shape,
)
from ._elementwise import add, less, logical_not, logical_or, not_equal, where
from ._shapes import broadcast_arrays, broadcast_shapes, moveaxis, ravel, reshape, transpose

__all__ = [
    "compress",
    "extract",
    "getitem",
    "ix_",
    "take",
    "trim_zeros",
    "take_along_axis",
    "diagonal",
    "nonzero",
    "argwhere",
    "flatnonzero",
    "ravel_multi_index",
    "unravel_index",
    "select",
    "choose",
    "piecewise",
]


def _is_arange(idx):
    """Whether a concrete index array is 0, 1, ..., n-1 (the rows of a batch)."""
    return idx.ndim == 1 and idx.size > 0 and np.array_equal(idx, np.arange(idx.size))


def _is_index_array(i):
    return isinstance(i, (Tracer, np.ndarray, list)) and not isinstance(i, str)


def getitem(x, index):
    """``x[index]``: ints, slices (any step), None, Ellipsis, integer and boolean arrays."""
    x = asarray(x)
    index = list(index) if isinstance(index, tuple) else [index]
    index = [_concrete_mask(i) if _is_bool_mask(i) else i for i in index]
    index = [np.asarray(i) if isinstance(i, list) else i for i in index]
    flat = []  # a bool mask of rank k stands for k integer index arrays
    for i in index:
        flat.extend(i if isinstance(i, tuple) else (i,))
    return _index(x, flat)


def _is_basic(i):
    return i is None or i is Ellipsis or isinstance(i, builtins.slice)


def _is_bool_mask(i):
    return isinstance(i, (Tracer, np.ndarray)) and i.dtype == np.bool_


def _concrete_mask(mask):
    if isinstance(mask, Tracer):
        try:
            mask = mask.concrete("boolean mask index")
        except ConcretizationError:
            raise _error(
                ConcretizationError,
                "indexing with a traced boolean mask gives a data-dependent shape, which jit "
                "cannot compile: use fnp.where(mask, x, 0) instead",
            ) from None
    return tuple(np.nonzero(mask))


def _index(x, index):
    consumed = builtins.sum(1 for i in index if i is not None and i is not Ellipsis)
    ellipses = [k for k, i in enumerate(index) if i is Ellipsis]  # `in` would compare arrays
    if len(ellipses) > 1:
        raise _error(IndexError, "an index can only have a single ellipsis ('...')")
    # NumPy counts an ellipsis between advanced indices (arrays, and ints beside arrays) as
    # separating them, even when it stands for no axis (then the gathered axes go first).
    at = []
    if builtins.any(_is_index_array(i) for i in index):
        at = [k for k, i in enumerate(index) if not _is_basic(i)]
    split_by_ellipsis = bool(ellipses and at) and at[0] < ellipses[0] < at[-1]
    if ellipses:
        k = ellipses[0]
        index = index[:k] + [builtins.slice(None)] * (x.ndim - consumed) + index[k + 1 :]
    elif consumed < x.ndim:
        index = index + [builtins.slice(None)] * (x.ndim - consumed)
    if consumed > x.ndim:
        raise _error(ShapeError, f"too many indices for an array of shape {x.shape}")
    advanced = builtins.any(_is_index_array(i) for i in index)
    # Basic pass: slices and ints (as size-1 slices), None as new axes.
    start, limit, strides, flips, out_shape, adv, dim = [], [], [], [], [], [], 0
    for i in index:
        if i is None:
            out_shape.append(1)
            continue
        n = x.shape[dim]
        if isinstance(i, builtins.slice):
            s, e, st = i.indices(n)
            if st < 0:  # walk backwards: flip the axis, then slice forwards
                flips.append(dim)
                s, e, st = n - 1 - s, n - 1 - e, -st
            start.append(s)
            limit.append(builtins.max(s, e))
            strides.append(st)
            out_shape.append(len(range(s, builtins.max(s, e), st)))
        elif _is_index_array(i) or advanced:
            start.append(0), limit.append(n), strides.append(1)
            adv.append((len(out_shape), asarray(i)))
            out_shape.append(n)
        else:
            k = operator_index(i)
            if not -n <= k < n:
                raise _error(IndexError, f"index {k} is out of bounds for axis {dim} with size {n}")
            k %= n
            start.append(k), limit.append(k + 1), strides.append(1)
        dim += 1
    if flips:
        x = P.rev(x, axes=tuple(flips))
    if (tuple(start), tuple(limit), tuple(strides)) != ((0,) * x.ndim, x.shape, (1,) * x.ndim):
        x = P.slice(x, start=tuple(start), limit=tuple(limit), strides=tuple(strides))
    if not adv:
        return reshape(x, tuple(out_shape))
    # Advanced pass: gather along the indexed axes, placed where NumPy puts them.
    x = reshape(x, tuple(out_shape))
    axes = [a for a, _ in adv]
    rest = [a for a in range(x.ndim) if a not in axes]
    indices = []
    for a, idx in adv:
        if not np.issubdtype(idx.dtype, np.integer):
            raise _error(IndexError, f"index arrays must be integers, got {idx.dtype}")
        if not isinstance(idx, Tracer):
            n = x.shape[a]
            if idx.size and (idx.min() < -n or idx.max() >= n):
                bad = idx.min() if idx.min() < -n else idx.max()
                raise _error(IndexError, f"index {bad} is out of bounds for axis with size {n}")
            idx = np.where(idx < 0, idx + n, idx)
            if current_builder() is not None and _is_arange(idx):
                idx = P.iota(size=idx.size, dtype=idx.dtype)  # known to the compiler
        indices.append(idx)
    x = transpose(x, axes + rest)
    out = P.gather(x, *indices)
    batch = out.ndim - len(rest)
    # NumPy keeps the gathered axes in place when the index arrays are adjacent.
    contiguous = axes == list(range(axes[0], axes[0] + len(axes))) and not split_by_ellipsis
    if contiguous and axes[0] > 0:
        first = builtins.sum(1 for a in rest if a < axes[0])
        perm = (
            list(range(batch, batch + first))
            + list(range(batch))
            + list(range(batch + first, out.ndim))
        )
        out = transpose(out, perm)
    return out


def take(a, indices, axis=None, out=None, mode="raise"):
    """Gather ``a[..., indices, ...]`` along ``axis`` (the flattened array by default).

    >>> take(np.array([[1, 2], [3, 4]]), [1, 0], axis=1)
    array([[2, 1],
           [4, 3]])
    """
    if out is not None or mode != "raise":
        raise _error(TypeError, "take: out= and modes other than 'raise' are not supported")
    x = asarray(a)
    if axis is None:
        x, axis = ravel(x), 0
    axis = _normalize_axis("take", axis, x.ndim)
    index = (builtins.slice(None),) * axis + (indices,)
    return getitem(x, index)  # not x[index]: eagerly that would be NumPy's, returning scalars


def take_along_axis(arr, indices, axis=-1):
    """``arr``'s entries at ``indices`` along ``axis``, matched to ``arr`` on the other
    axes (``indices`` may be traced, e.g. from argsort/argmax with keepdims).

    >>> take_along_axis(np.array([[10, 30, 20]]), np.array([[0, 2, 1]]), axis=1)
    array([[10, 20, 30]])
    """
    x, indices = asarray(arr), asarray(indices)
    if not np.issubdtype(indices.dtype, np.integer):
        raise _error(IndexError, "take_along_axis: `indices` must be an integer array")
    if axis is None:
        if indices.ndim != 1:
            raise _error(
                ValueError, "take_along_axis: with axis=None, `indices` must have one dimension"
            )
        x, axis = ravel(x), 0
    axis = _normalize_axis("take_along_axis", operator_index(axis), x.ndim)
    if x.ndim != indices.ndim:
        raise _error(
            ValueError,
            f"take_along_axis: `indices` (shape {indices.shape}) and `arr` (shape {x.shape}) "
            "must have the same number of dimensions",
        )
    if isinstance(indices, Tracer):  # negative positions count from the end, as NumPy's
        indices = where(less(indices, 0), add(indices, x.shape[axis]), indices)
    index = []
    for dim, n in enumerate(x.shape):
        shape = [1] * x.ndim
        shape[dim] = n
        index.append(indices if dim == axis else np.arange(n).reshape(shape))
    return getitem(x, tuple(index))


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The ``offset``-th diagonal of the ``axis1`` x ``axis2`` planes, as the last axis.

    >>> diagonal(np.arange(6).reshape(2, 3), offset=1)
    array([1, 5])
    """
    x = asarray(a)
    if x.ndim < 2:
        raise _error(ValueError, "diagonal: the array must have at least two dimensions")
    axes = (operator_index(axis1), operator_index(axis2))
    a1, a2 = (_normalize_axis("diagonal", ax, x.ndim) for ax in axes)
    if a1 == a2:
        raise _error(ValueError, "diagonal: axis1 and axis2 cannot be the same")
    offset = operator_index(offset)
    x = moveaxis(x, (a1, a2), (-2, -1))
    *lead, n, m = x.shape
    # In the flattened plane the diagonal is every (m + 1)-th element from its first.
    if offset >= 0:
        count, first = builtins.max(0, builtins.min(n, m - offset)), offset
    else:
        count, first = builtins.max(0, builtins.min(n + offset, m)), -offset * m
    flat = reshape(x, (*lead, n * m))
    start = first if count else 0
    limit = first + (count - 1) * (m + 1) + 1 if count else 0
    return P.slice(
        flat,
        start=(0,) * len(lead) + (start,),
        limit=tuple(lead) + (limit,),
        strides=(1,) * len(lead) + (m + 1,),
    )


# ---------------------------------------------------------------- host-only: value-dependent shapes


def _host_value(name, x, instead):
    """The concrete value of ``x``: a tracer's only when it has one (not under jit)."""
    if not isinstance(x, Tracer):
        return np.asarray(x)
    try:
        return x.concrete(f"argument of {name}")
    except ConcretizationError:
        raise _error(
            ConcretizationError,
            f"{name}: the output's shape depends on the values, which jit cannot compile; "
            f"use {instead} instead",
        ) from None


def _host_argument(name, x, instead):
    """A concrete argument for NumPy: traced integers and bools by their values (when
    known: not under jit); traced floats are refused, as the result would carry no
    gradient back to them."""
    if isinstance(x, Tracer) and x.dtype.kind in "fc":
        raise _error(
            ConcretizationError,
            f"{name} is computed by NumPy on concrete values, so a traced floating-point "
            f"argument would get no gradient: call it on concrete arrays, or use {instead}",
        )
    return _host_value(name, x, instead)


def host_function(name, instead):
    """NumPy's function ``name`` applied to concrete arguments (see _host_argument): for
    results whose shape depends on the values."""
    np_fn = getattr(np, name)

    def fn(*args, **kwargs):
        args = [_host_argument(name, a, instead) for a in args]
        kwargs = {
            k: _host_argument(name, v, instead) if isinstance(v, Tracer) else v
            for k, v in kwargs.items()
        }
        return np_fn(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"NumPy's ``{name}`` of concrete arrays (see the set and histogram notes)."
    fn.numpy_typed = True  # NumPy's own result
    return fn


_THREE_ARGUMENT_WHERE = "the three-argument form fnp.where(condition, x, y)"


def nonzero(a):
    """The indices of the non-zero entries, one array per axis (host only: the number
    of entries depends on the values; under jit it raises ConcretizationError).

    >>> nonzero(np.array([0, 3, 0, 4]))
    (array([1, 3]),)
    """
    return _nonzero("nonzero", a)


def _nonzero(name, a):
    value = _host_value(name, a, _THREE_ARGUMENT_WHERE)
    if value.ndim == 0:
        raise _error(ValueError, f"{name}: calling nonzero on 0d arrays is not allowed")
    return _via_numpy(name, np.nonzero, value)


def ix_(*args):
    """Open-mesh index arrays from 1-D sequences: ``x[ix_(rows, cols)]`` picks the
    cross product. Integer arrays may be traced; a boolean one is taken by its nonzero
    positions (host only, as :func:`nonzero`).

    >>> x = np.arange(12).reshape(3, 4)
    >>> x[ix_([0, 2], [1, 3])]
    array([[ 1,  3],
           [ 9, 11]])
    """
    out = []
    for k, a in enumerate(args):
        a = asarray(a)
        if a.ndim != 1:
            raise _error(ValueError, "ix_: cross index must be 1 dimensional")
        if a.dtype == np.bool_:
            a = _nonzero("ix_", a)[0]
        elif a.size == 0:
            a = asarray(a, np.intp)  # (an empty list is float64, NumPy's index is intp)
        out.append(reshape(a, (1,) * k + (a.shape[0],) + (1,) * (len(args) - k - 1)))
    return tuple(out)


def argwhere(a):
    """The indices of the non-zero entries, one row per entry (host only, as nonzero).

    >>> argwhere(np.array([[0, 1], [2, 0]]))
    array([[0, 1],
           [1, 0]])
    """
    return np.argwhere(_host_value("argwhere", a, _THREE_ARGUMENT_WHERE))


def flatnonzero(a):
    """The indices of the non-zero entries of the flattened array (host only).

    >>> flatnonzero(np.array([[0, 1], [2, 0]]))
    array([1, 2])
    """
    return np.flatnonzero(_host_value("flatnonzero", a, _THREE_ARGUMENT_WHERE))


def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    """Flat indices from per-axis indices (concrete values), as NumPy.

    >>> ravel_multi_index((np.array([1, 0]), np.array([2, 1])), (2, 3))
    array([5, 1])
    """
    parts = tuple(_host_value("ravel_multi_index", i, "concrete indices") for i in multi_index)
    return _via_numpy(
        "ravel_multi_index", np.ravel_multi_index, parts, dims, mode=mode, order=order
    )


def unravel_index(indices, shape, order="C"):
    """Per-axis indices from flat ones (concrete values), as NumPy.

    >>> unravel_index(5, (2, 3))
    (np.int64(1), np.int64(2))
    """
    flat = _host_value("unravel_index", indices, "concrete indices")
    return _via_numpy("unravel_index", np.unravel_index, flat, shape, order=order)


# ---------------------------------------------------------------- choosing


def select(condlist, choicelist, default=0):
    """The entry of the first choice whose condition holds, else ``default``
    (conditions and choices broadcast together).

    >>> select([np.array([True, False, False]), np.array([True, True, False])], [1, 2], 9)
    array([1, 2, 9])
    """
    condlist, choicelist = list(condlist), list(choicelist)
    if len(condlist) != len(choicelist):
        raise _error(ValueError, "select: list of cases must be same length as list of conditions")
    if not condlist:
        raise _error(ValueError, "select: select with an empty condition list is not possible")
    dtype = result_type(*choicelist, default)
    conds = broadcast_arrays(*condlist)
    for i, c in enumerate(conds):
        if c.dtype != np.bool_:
            raise _error(TypeError, f"select: invalid entry {i} in condlist: should be boolean")
    out = asarray(default, dtype)
    for cond, choice in zip(reversed(conds), reversed(choicelist)):
        out = P.select(cond, asarray(choice, dtype), out)
    return _broadcast_result(out, conds[0], *choicelist)


def _broadcast_result(out, *operands):
    target = broadcast_shapes(*[shape(o) for o in operands])
    return out if out.shape == target else P.broadcast_to(out, target)


def choose(a, choices, out=None, mode="raise"):
    """``choices[a[i]][i]`` at each position ``i`` (``a`` integers, which may be traced;
    all broadcast together). Mode "raise" checks concrete indices, "clip" clamps them,
    "wrap" (concrete indices only) wraps them around.

    >>> choose(np.array([1, 0, 1]), [np.array([1, 2, 3]), np.array([10, 20, 30])])
    array([10,  2, 30])
    """
    if out is not None:
        raise _error(TypeError, "choose: out= is not supported (arrays are immutable)")
    if mode not in ("raise", "clip", "wrap"):
        raise _error(ValueError, f"choose: mode must be 'raise', 'clip' or 'wrap', got {mode!r}")
    index = asarray(a)
    if not np.issubdtype(index.dtype, np.integer):
        raise _error(TypeError, "choose: the index array must hold integers")
    choices = list(choices)
    n = len(choices)
    if isinstance(index, Tracer):
        if mode == "wrap":
            raise _error(TypeError, "choose: mode='wrap' needs concrete indices")
    elif mode == "raise" and index.size and (index.min() < 0 or index.max() >= n):
        raise _error(ValueError, "choose: invalid entry in choice array")
    else:
        index = np.clip(index, 0, n - 1) if mode == "clip" else index % n
    dtype = result_type(*choices)
    picked = asarray(choices[-1], dtype)
    for k in range(n - 2, -1, -1):  # nested selects, the lowest index first; clip for free
        hit = (
            P.le(index, np.asarray(k, index.dtype))
            if mode == "clip"
            else P.eq(index, np.asarray(k, index.dtype))
        )
        picked = P.select(hit, asarray(choices[k], dtype), picked)
    return _broadcast_result(picked, index, *choices)


def piecewise(x, condlist, funclist, *args, **kw):
    """``funclist[k](x)`` (or the constant ``funclist[k]``) where ``condlist[k]`` holds,
    later conditions winning, an extra last function where none holds, else 0.

    Traced, every function runs on the whole of ``x`` and the results are selected,
    so a function must not fail off its piece (its values there are discarded).

    >>> piecewise(np.array([-1.0, 2.0]), [np.array([True, False])], [lambda v: -v, 5.0])
    array([1., 5.])
    """
    if not _holds_tracer([x, condlist, list(args)]):
        return _via_numpy("piecewise", np.piecewise, x, condlist, funclist, *args, **kw)
    x = asarray(x)
    if isinstance(condlist, (Tracer, np.ndarray, bool)) and (x.ndim != 0 or np.ndim(condlist) == 0):
        condlist = [condlist]
    conds = [asarray(c) for c in condlist]
    conds = [c if c.dtype == np.bool_ else not_equal(c, 0) for c in conds]
    funclist = list(funclist)
    if len(conds) == len(funclist) - 1:
        none = conds[0]
        for c in conds[1:]:
            none = logical_or(none, c)
        conds.append(logical_not(none))
    elif len(conds) != len(funclist):
        raise _error(
            ValueError,
            f"piecewise: with {len(conds)} condition(s), either {len(conds)} or "
            f"{len(conds) + 1} functions are expected",
        )
    y = np.zeros(x.shape, x.dtype)
    for cond, fn in zip(conds, funclist):
        value = fn(x, *args, **kw) if callable(fn) else fn
        y = P.select(P.broadcast_to(cond, x.shape), asarray(value, x.dtype), y)
    return y


def compress(condition, a, axis=None):
    """The slices of ``a`` along ``axis`` (the flattened array for None) where the
    concrete 1-D ``condition`` is true (a shorter condition selects from the start).

    >>> compress([False, True, True], np.array([[1, 2], [3, 4], [5, 6]]), axis=0)
    array([[3, 4],
           [5, 6]])
    """
    keep = np.asarray(_host_value("compress", condition, "fnp.where with a mask"), bool)
    if keep.ndim != 1:
        raise _error(ValueError, "compress: condition must be a 1-d array")
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _normalize_axis("compress", axis, a.ndim)
    if keep.size > shape(a)[axis]:
        raise _error(
            IndexError, f"compress: condition of length {keep.size} is longer than the axis"
        )
    return take(a, np.flatnonzero(keep), axis=axis)


def extract(condition, arr):
    """The elements of ``arr`` where the concrete ``condition`` is true, flattened.

    >>> extract(np.array([[True, False], [False, True]]), np.array([[1, 2], [3, 4]]))
    array([1, 4])
    """
    keep = np.asarray(_host_value("extract", condition, "fnp.where with a mask"))
    return take(ravel(arr), np.flatnonzero(keep.ravel()))


def trim_zeros(filt, trim="fb", axis=None):
    """``filt`` without its leading (``"f"``) and/or trailing (``"b"``) zeros. Which ones
    are zeros must be known: ``filt``'s values must be concrete (not under jit).

    >>> trim_zeros(np.array([0.0, 1.0, 0.0, 2.0, 0.0]))
    array([1., 0., 2.])
    """
    if isinstance(filt, Tracer) and filt.ndim == 0:  # nothing to trim: no values needed
        _via_numpy("trim_zeros", np.trim_zeros, np.zeros(()), trim, axis)  # NumPy's checks
        return filt
    value = _host_value("trim_zeros", filt, "slices with concrete bounds")
    # NumPy's checks too; a 0-d input comes back as it was given (a Python scalar too)
    kept = _via_numpy("trim_zeros", np.trim_zeros, filt if value.ndim == 0 else value, trim, axis)
    if not isinstance(filt, Tracer):
        return kept
    axes = range(value.ndim) if axis is None else [_normalize_axis("trim_zeros", axis, value.ndim)]
    index = [builtins.slice(None)] * value.ndim
    for ax in axes:
        others = tuple(a for a in range(value.ndim) if a != ax)
        along = np.flatnonzero(np.any(value != 0, axis=others))
        if not along.size:
            index[ax] = builtins.slice(0, 0)
            continue
        start = along[0] if "f" in trim.lower() else 0
        stop = along[-1] + 1 if "b" in trim.lower() else value.shape[ax]
        index[ax] = builtins.slice(int(start), int(stop))
    return getitem(filt, tuple(index))


_base.numpy_results(globals())
