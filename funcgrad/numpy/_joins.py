"""Joining and splitting: the stacks, block, split, unstack, append, insert, delete,
``r_`` and ``c_``.

Positions are static: which element goes where is worked out on concrete indices (with
NumPy's own rules and errors, applied to ``arange``), and the data moves with slices,
concatenations and gathers, so every function is linear and differentiable.
"""

import numpy as np

from ..core import Tracer
from ..errors import ShapeError
from . import _base
from ._base import (
    _error,
    _normalize_axis,
    _via_numpy,
    array,
    asarray,
    operator_index,
    result_type,
    shape,
)
from ._creation import linspace
from ._indexing import getitem
from ._shapes import (
    _slice_axis,
    _take_static,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    broadcast_to,
    concatenate,
    moveaxis,
    ravel,
    swapaxes,
    transpose,
)

__all__ = [
    "block",
    "unstack",
    "hstack",
    "vstack",
    "row_stack",
    "dstack",
    "column_stack",
    "split",
    "array_split",
    "hsplit",
    "vsplit",
    "dsplit",
    "append",
    "insert",
    "delete",
    "r_",
    "c_",
]


def _sequence(name, tup):
    if not isinstance(tup, (list, tuple, np.ndarray, Tracer)):
        raise _error(
            TypeError, f"{name}: arrays to stack must be passed as a sequence (list or tuple)"
        )
    return list(tup)


def _at_least_each(make, tup, name):
    return [make(a) for a in _sequence(name, tup)]


def vstack(tup, *, dtype=None, casting="same_kind"):
    """Stack arrays row-wise: 1-D arrays of length N become rows of shape (1, N).

    >>> vstack([np.array([1, 2]), np.array([3, 4])])
    array([[1, 2],
           [3, 4]])
    """
    return concatenate(_at_least_each(atleast_2d, tup, "vstack"), axis=0, dtype=dtype)


row_stack = vstack


def hstack(tup, *, dtype=None, casting="same_kind"):
    """Stack arrays column-wise (along axis 1, or axis 0 for 1-D arrays).

    >>> hstack([np.array([1, 2]), np.array([3])])
    array([1, 2, 3])
    """
    arrays = _at_least_each(atleast_1d, tup, "hstack")
    axis = 0 if arrays and arrays[0].ndim == 1 else 1
    return concatenate(arrays, axis=axis, dtype=dtype)


def dstack(tup):
    """Stack arrays along the third axis (after :func:`atleast_3d`).

    >>> dstack([np.array([1, 2]), np.array([3, 4])]).shape
    (1, 2, 2)
    """
    return concatenate(_at_least_each(atleast_3d, tup, "dstack"), axis=2)


def column_stack(tup):
    """Stack 1-D arrays as the columns of a 2-D array (2-D arrays as they are).

    >>> column_stack([np.array([1, 2]), np.array([3, 4])])
    array([[1, 3],
           [2, 4]])
    """

    def column(a):
        a = asarray(a)
        return transpose(atleast_2d(a)) if a.ndim < 2 else a

    return concatenate(_at_least_each(column, tup, "column_stack"), axis=1)


# ---------------------------------------------------------------- splitting


def _block_depth(arrays, where="arrays"):
    """The nesting depth of ``block``'s lists and the largest rank among its arrays, with
    NumPy's errors for tuples, empty lists and mismatched depths."""
    if isinstance(arrays, tuple):
        raise _error(
            TypeError, f"block: {where} is a tuple; only lists can be used to arrange blocks"
        )
    if not isinstance(arrays, list):
        return 0, asarray(arrays).ndim
    if not arrays:
        raise _error(ValueError, f"block: lists cannot be empty ({where})")
    found = [_block_depth(a, f"{where}[{i}]") for i, a in enumerate(arrays)]
    odd = next((i for i, (d, _) in enumerate(found) if d != found[0][0]), None)
    if odd is not None:
        raise _error(
            ValueError,
            f"block: list depths are mismatched: {where}[0] holds lists {found[0][0]} deep, "
            f"{where}[{odd}] {found[odd][0]} deep",
        )
    return found[0][0] + 1, max(n for _, n in found)


def block(arrays):
    """Assemble an array from nested lists of blocks: the innermost lists join along the
    last axis, the next ones along the one before, each block first given leading axes
    up to the result's rank.

    >>> block([[np.eye(2), np.zeros((2, 1))], [np.ones((1, 2)), np.full((1, 1), 5.0)]])
    array([[1., 0., 0.],
           [0., 1., 0.],
           [1., 1., 5.]])
    """
    depth, ndim = _block_depth(arrays)
    ndim = max(depth, ndim)

    def assemble(item, level):
        if level == depth:
            a = asarray(item)
            return a.reshape((1,) * (ndim - a.ndim) + a.shape)
        return concatenate([assemble(part, level + 1) for part in item], axis=level - depth)

    return assemble(arrays, 0)


def _division_points(name, n, indices_or_sections):
    if isinstance(indices_or_sections, Tracer):
        indices_or_sections = indices_or_sections.concrete(f"{name} indices")
    if np.ndim(indices_or_sections) == 0:
        sections = operator_index(indices_or_sections)
        if sections <= 0:
            raise _error(ValueError, f"{name}: number sections must be larger than 0")
        each, extras = divmod(n, sections)
        sizes = [each + 1] * extras + [each] * (sections - extras)
        return np.cumsum([0] + sizes).tolist()
    return [0] + [operator_index(i) for i in indices_or_sections] + [n]


def array_split(ary, indices_or_sections, axis=0):
    """Split into ``indices_or_sections`` pieces (an int: sizes differing by at most
    one) or at the given indices, along ``axis``; returns a list.

    >>> [p.tolist() for p in array_split(np.arange(5), 3)]
    [[0, 1], [2, 3], [4]]
    """
    x = asarray(ary)
    axis = _normalize_axis("array_split", operator_index(axis), x.ndim)
    n = x.shape[axis]
    points = _division_points("array_split", n, indices_or_sections)
    pieces = []
    for begin, end in zip(points[:-1], points[1:]):
        start, stop, _ = slice(begin, end).indices(n)
        pieces.append(_slice_axis(x, axis, start, max(start, stop)))
    return pieces


def split(ary, indices_or_sections, axis=0):
    """Split into equal pieces (an int that must divide the axis) or at indices.

    >>> [p.tolist() for p in split(np.arange(4), [1])]
    [[0], [1, 2, 3]]
    """
    x = asarray(ary)
    if np.ndim(indices_or_sections) == 0 and not isinstance(indices_or_sections, Tracer):
        sections = operator_index(indices_or_sections)
        n = x.shape[_normalize_axis("split", operator_index(axis), x.ndim)]
        if sections > 0 and n % sections:
            raise _error(
                ValueError,
                f"split: an axis of length {n} does not split into {sections} equal sections",
            )
    return array_split(x, indices_or_sections, axis)


def _split_from(name, min_ndim, axis_of):
    def fn(ary, indices_or_sections):
        x = asarray(ary)
        if x.ndim < min_ndim:
            raise _error(
                ValueError, f"{name} only works on arrays of {min_ndim} or more dimensions"
            )
        return split(x, indices_or_sections, axis_of(x.ndim))

    fn.__name__ = name
    return fn


hsplit = _split_from("hsplit", 1, lambda nd: 1 if nd > 1 else 0)
hsplit.__doc__ = """Split along axis 1 (axis 0 for 1-D arrays).

    >>> [p.shape for p in hsplit(np.ones((2, 4)), 2)]
    [(2, 2), (2, 2)]
    """
vsplit = _split_from("vsplit", 2, lambda nd: 0)
vsplit.__doc__ = """Split along axis 0 (arrays of rank >= 2).

    >>> [p.shape for p in vsplit(np.ones((4, 2)), [1])]
    [(1, 2), (3, 2)]
    """
dsplit = _split_from("dsplit", 3, lambda nd: 2)
dsplit.__doc__ = """Split along axis 2 (arrays of rank >= 3).

    >>> [p.shape for p in dsplit(np.ones((1, 1, 4)), 2)]
    [(1, 1, 2), (1, 1, 2)]
    """


# ---------------------------------------------------------------- append, insert, delete


def append(arr, values, axis=None):
    """``values`` joined after ``arr`` (both flattened when ``axis`` is None).

    >>> append(np.array([1, 2]), [[3, 4]])
    array([1, 2, 3, 4])
    """
    x = asarray(arr)
    if axis is None:
        return concatenate([ravel(x), ravel(asarray(values))], axis=0)
    return concatenate([x, values], axis=axis)


def _concrete(name, obj):
    if isinstance(obj, Tracer):
        return obj.concrete(f"{name} positions (they fix the output's shape)")
    return obj


def _flat_axis(name, x, axis):
    if axis is None:
        return ravel(x), 0
    return x, _normalize_axis(name, operator_index(axis), x.ndim)


def delete(arr, obj, axis=None):
    """``arr`` without the entries ``obj`` (int, slice, index or boolean array:
    concrete) along ``axis`` (the flattened array by default).

    >>> delete(np.arange(5), [0, 3])
    array([1, 2, 4])
    """
    x, axis = _flat_axis("delete", asarray(arr), axis)
    kept = _via_numpy("delete", np.delete, np.arange(x.shape[axis]), _concrete("delete", obj))
    return _take_static(x, kept, axis)


def insert(arr, obj, values, axis=None):
    """``values`` inserted before the entries ``obj`` (int, slice or index array:
    concrete) along ``axis`` (the flattened array by default), cast to ``arr``'s dtype.

    >>> insert(np.array([1, 2, 3]), 1, [7, 8])
    array([1, 7, 8, 2, 3])
    """
    x, axis = _flat_axis("insert", asarray(arr), axis)
    n = x.shape[axis]
    obj = _concrete("insert", obj)
    index = np.arange(*obj.indices(n)) if isinstance(obj, slice) else np.asarray(obj)
    if index.dtype == np.bool_:
        if index.ndim != 1:
            raise _error(ValueError, "insert: a boolean obj must be one dimensional")
        index = np.flatnonzero(index)
    elif index.ndim > 1:
        raise _error(ValueError, "insert: obj must be a scalar or one dimensional")
    values = array(values, dtype=x.dtype, ndmin=x.ndim)
    if index.size == 1:  # one place: a block of values, as NumPy's x[:, i:i+k] = values
        i = operator_index(index.reshape(()))
        if not -n <= i <= n:
            raise _error(
                IndexError, f"insert: index {i} is out of bounds for axis {axis} with size {n}"
            )
        if index.ndim == 0:
            values = moveaxis(values, 0, axis)
        block = _slot(x, axis, values.shape[axis], values)
        i = i + n if i < 0 else i
        return concatenate([_slice_axis(x, axis, 0, i), block, _slice_axis(x, axis, i, n)], axis)
    count = index.size
    block = _slot(x, axis, count, values)
    target = obj if isinstance(obj, slice) else index.astype(np.int64)
    source = _via_numpy("insert", np.insert, np.arange(n), target, np.arange(n, n + count))
    return _take_static(concatenate([x, block], axis), source, axis)


def _slot(x, axis, count, values):
    shape = x.shape[:axis] + (count,) + x.shape[axis + 1 :]
    try:
        return broadcast_to(values, shape)
    except ShapeError:
        raise _error(
            ShapeError, f"insert: values of shape {values.shape} do not fit the slot {shape}"
        ) from None


# ---------------------------------------------------------------- r_ and c_


class _Concatenator:
    """``r_[...]`` / ``c_[...]``: arrays, scalars and slices (``a:b:step`` an arange,
    ``a:b:nj`` a linspace of n points) joined along an axis; a leading string
    ``"axis"``, ``"axis,ndmin"`` or ``"axis,ndmin,trans1d"`` sets how."""

    def __init__(self, axis, ndmin, trans1d):
        self.axis, self.ndmin, self.trans1d = axis, ndmin, trans1d

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        if key and isinstance(key[0], str):
            axis, ndmin, trans1d = _directive(key[0], axis, ndmin, trans1d)
            key = key[1:]
        objs, kinds = [], []
        for item in key:
            if isinstance(item, str):
                raise _error(ValueError, "r_/c_: special directives must be the first entry")
            if isinstance(item, slice):
                obj = _slice_range(item)
                if ndmin > 1:
                    obj = array(obj, ndmin=ndmin)
                    obj = obj if trans1d == -1 else swapaxes(obj, -1, trans1d)
                kinds.append(obj)
            elif isinstance(item, (bool, int, float, complex, np.generic)):
                obj = item
                kinds.append(item)
            else:
                obj = _raise_rank(item, ndmin, trans1d)
                kinds.append(obj)
            objs.append(obj)
        if not objs:
            raise _error(ValueError, "r_/c_: need at least one array to concatenate")
        dtype = result_type(*kinds)
        return concatenate([array(o, dtype=dtype, ndmin=ndmin) for o in objs], axis=axis)

    def __len__(self):
        return 0


def _directive(text, axis, ndmin, trans1d):
    try:
        fields = [int(f) for f in text.split(",")]
    except ValueError:
        raise _error(ValueError, f"r_/c_: unknown special directive {text!r}") from None
    if not 1 <= len(fields) <= 3:
        raise _error(ValueError, f"r_/c_: unknown special directive {text!r}")
    return tuple(fields) + (axis, ndmin, trans1d)[len(fields) :]


def _slice_range(item):
    start = 0 if item.start is None else item.start
    step = 1 if item.step is None else item.step
    if isinstance(step, (complex, np.complexfloating)):
        return linspace(start, item.stop, num=int(abs(step)))
    return np.arange(start, item.stop, step)


def _raise_rank(item, ndmin, trans1d):
    """``array(item, ndmin=ndmin)`` with the old axes moved to ``trans1d`` (NumPy's rule)."""
    rank = len(shape(item))
    obj = array(item, ndmin=ndmin)
    if trans1d != -1 and rank < ndmin:
        extra = ndmin - rank
        k = trans1d + extra + 1 if trans1d < 0 else trans1d
        axes = list(range(ndmin))
        obj = transpose(obj, axes[:k] + axes[extra:] + axes[k:extra])
    return obj


r_ = _Concatenator(0, 1, -1)
c_ = _Concatenator(-1, 2, 0)


def unstack(x, /, *, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple (the inverse of ``stack``).

    >>> unstack(np.arange(4).reshape(2, 2))
    (array([0, 1]), array([2, 3]))
    """
    x = asarray(x)
    if x.ndim == 0:
        raise _error(ValueError, "unstack: Input array must be at least 1-d.")
    axis = _normalize_axis("unstack", axis, x.ndim)
    moved = moveaxis(x, axis, 0)
    return tuple(getitem(moved, k) for k in range(shape(x)[axis]))


_base.numpy_results(globals())
