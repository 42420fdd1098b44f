"""Indexing: ``x[index]`` with NumPy's basic and advanced rules, and take."""

import builtins

import numpy as np

from .. import primitives as P
from ..core import Tracer, current_builder
from ..errors import ConcretizationError, ShapeError
from ._base import _error, _normalize_axis, asarray, operator_index
from ._shapes import ravel, reshape, transpose

__all__ = ["getitem", "take"]


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


def take(x, indices, axis=None):
    """Gather ``x[..., indices, ...]`` along ``axis`` (the flattened array by default)."""
    x = asarray(x)
    if axis is None:
        x, axis = ravel(x), 0
    axis = _normalize_axis("take", axis, x.ndim)
    index = (builtins.slice(None),) * axis + (indices,)
    return getitem(x, index)  # not x[index]: eagerly that would be NumPy's, returning scalars
