"""Shape operations: reshape, transpose, joins, pads, flips."""

import builtins
import math

import numpy as np

from .. import primitives as P
from ..core import Tracer
from ..errors import ShapeError
from . import _base
from ._base import (
    _axes,
    _error,
    _holds_tracer,
    _no_out,
    _normalize_axis,
    asarray,
    operator_index,
    promote,
    result_type,
)

__all__ = [
    "rollaxis",
    "reshape",
    "ravel",
    "transpose",
    "swapaxes",
    "moveaxis",
    "expand_dims",
    "squeeze",
    "broadcast_to",
    "broadcast_arrays",
    "broadcast_shapes",
    "concatenate",
    "stack",
    "pad",
    "flip",
    "fliplr",
    "flipud",
    "rot90",
    "roll",
    "tile",
    "repeat",
    "resize",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
]

_ORDERS = ("C", "F", "A", "K")


def _memory_order(name, x, order):
    """ "C" or "F": what ``order`` means for ``x`` (a tracer is C-contiguous)."""
    if order not in _ORDERS:
        raise _error(
            ValueError, f"{name}: order must be one of 'C', 'F', 'A', or 'K' (got {order!r})"
        )
    if order in "AK":
        fortran = isinstance(x, np.ndarray) and x.flags.f_contiguous and not x.flags.c_contiguous
        return "F" if fortran else "C"
    return order


def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    """Reshape, with one ``-1`` inferred as in NumPy; ``order="F"`` reads and writes
    the elements in column-major order.

    >>> reshape(np.arange(6), (2, -1), order="F")
    array([[0, 2, 4],
           [1, 3, 5]])
    """
    x = asarray(a)
    shape = newshape if shape is None else shape
    if shape is None:
        raise _error(TypeError, "reshape: missing the new shape")
    if order == "K":
        raise _error(ValueError, "reshape: order 'K' is not permitted for reshaping")
    if _memory_order("reshape", a, order) == "F":
        newshape = shape if isinstance(shape, (tuple, list)) else (shape,)
        return transpose(_reshape_c(transpose(x), tuple(newshape)[::-1]))
    return _reshape_c(x, shape)


def _reshape_method(self, *shape, order="C", copy=None):
    """``x.reshape(2, 3)`` as well as ``x.reshape((2, 3))``."""
    return reshape(self, shape[0] if len(shape) == 1 else shape, order=order)


def _reshape_c(x, newshape):
    if not isinstance(newshape, (tuple, list)):
        newshape = (newshape,)
    newshape = [operator_index(d) for d in newshape]
    if newshape.count(-1) > 1:
        raise _error(ShapeError, f"reshape: can only infer one dimension in {tuple(newshape)}")
    if -1 in newshape:
        known = math.prod(d for d in newshape if d != -1)
        if known == 0 or x.size % known:
            raise _error(
                ShapeError, f"reshape: cannot reshape an array of shape {x.shape} into {newshape}"
            )
        newshape[newshape.index(-1)] = x.size // known
    newshape = tuple(newshape)
    return x if newshape == x.shape else P.reshape(x, new_shape=newshape)


def ravel(a, order="C"):
    """The elements of ``a`` as a 1-D array, in ``order`` ("C" rows first, "F" columns).

    >>> ravel(np.array([[1, 2], [3, 4]]), order="F")
    array([1, 3, 2, 4])
    """
    if order == "K" and isinstance(a, np.ndarray):
        return np.ravel(a, order="K")  # memory order of a strided array: NumPy's own walk
    return reshape(a, (-1,), order=order)


def transpose(a, axes=None):
    """Permute axes (reverse them by default)."""
    x = asarray(a)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    axes = tuple(_normalize_axis("transpose", operator_index(a), x.ndim) for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise _error(ShapeError, f"transpose: {axes} is not a permutation of {x.ndim} axes")
    return x if axes == tuple(range(x.ndim)) else P.transpose(x, perm=axes)


def swapaxes(a, axis1, axis2):
    x = asarray(a)
    perm = list(range(x.ndim))
    a, b = (_normalize_axis("swapaxes", ax, x.ndim) for ax in (axis1, axis2))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


def moveaxis(a, source, destination):
    """Move axes ``source`` (int or sequence) to positions ``destination``.

    >>> moveaxis(np.ones((2, 3, 4)), (0, 1), (-1, -2)).shape
    (4, 3, 2)
    """
    x = asarray(a)
    src = _axis_tuple("moveaxis", source, x.ndim)
    dst = _axis_tuple("moveaxis", destination, x.ndim)
    if len(src) != len(dst):
        raise _error(
            ValueError,
            "moveaxis: `source` and `destination` arguments must have the same number of elements",
        )
    perm = [a for a in range(x.ndim) if a not in src]
    for d, a in sorted(zip(dst, src)):
        perm.insert(d, a)
    return transpose(x, perm)


def _axis_tuple(name, axis, ndim):
    """``axis`` (int or sequence) normalized, in the given order, without repeats."""
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = tuple(_normalize_axis(name, operator_index(a), ndim) for a in axes)
    if len(set(out)) != len(out):
        raise _error(ShapeError, f"{name}: repeated axis in {axis}")
    return out


def expand_dims(a, axis):
    """Insert size-1 axes at ``axis`` (int or tuple) of the result."""
    x = asarray(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_ndim = x.ndim + len(axes)
    axes = _axes("expand_dims", axes, out_ndim)
    dims = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(dims) for i in range(out_ndim)))


def squeeze(a, axis=None):
    """Remove size-1 axes (all of them, or those in ``axis``)."""
    x = asarray(a)
    if x.ndim == 0 and axis is not None:  # NumPy lets a scalar's "axis 0" be squeezed
        _axes("squeeze", axis, 1)
        return x
    if axis is None:
        axes = tuple(i for i, d in enumerate(x.shape) if d == 1)
    else:
        axes = _axes("squeeze", axis, x.ndim)
        if any(x.shape[a] != 1 for a in axes):
            raise _error(ShapeError, f"squeeze: axis {axis} of shape {x.shape} is not of size 1")
    return reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes))


def broadcast_to(array, shape):
    """``array`` broadcast to ``shape`` (NumPy's rules)."""
    x = asarray(array)
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (operator_index(shape),)
    try:
        target = np.broadcast_shapes(x.shape, shape)
    except ValueError:
        target = None
    if target != shape:
        raise _error(ShapeError, f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return P.broadcast_to(x, shape)


def broadcast_shapes(*shapes):
    """The shape ``shapes`` broadcast to together.

    >>> broadcast_shapes((2, 1), (3,))
    (2, 3)
    """
    shapes = [tuple(s) if isinstance(s, (tuple, list)) else (operator_index(s),) for s in shapes]
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise _error(
            ShapeError,
            f"broadcast_shapes: shapes {' and '.join(map(str, shapes))} cannot be "
            "broadcast to a single shape",
        ) from None


def broadcast_arrays(*args):
    """The arrays broadcast against each other (a tuple, as NumPy 2).

    >>> [a.shape for a in broadcast_arrays(np.ones((2, 1)), np.ones(3))]
    [(2, 3), (2, 3)]
    """
    arrays = [asarray(a) for a in args]
    target = broadcast_shapes(*[a.shape for a in arrays])
    return tuple(a if a.shape == target else P.broadcast_to(a, target) for a in arrays)


def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Join arrays along an existing axis (of the flattened arrays if ``axis`` is None).

    >>> concatenate([np.ones((1, 2)), np.zeros((1, 2))], axis=None)
    array([1., 1., 0., 0.])
    """
    _no_out("concatenate", out)
    arrays = _joined("concatenate", arrays, dtype, casting)
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    if arrays[0].ndim == 0:
        raise _error(ShapeError, "concatenate: zero-dimensional arrays cannot be concatenated")
    axis = _normalize_axis("concatenate", operator_index(axis), arrays[0].ndim)
    ranks = [a.ndim for a in arrays]
    if len(set(ranks)) > 1:
        raise _error(
            ShapeError,
            "concatenate: all the input arrays must have the same number of dimensions, got "
            f"shapes {', '.join(str(a.shape) for a in arrays)}",
        )
    if len(arrays) == 1:
        return arrays[0]
    return P.concatenate(*arrays, axis=axis)


def _joined(name, arrays, dtype, casting):
    """The arrays to join, in their common dtype (or ``dtype``, if ``casting`` allows)."""
    arrays = list(arrays)
    if not arrays:
        raise _error(ValueError, f"{name}: need at least one array to {name}")
    if dtype is None:
        return promote(*arrays)
    common = result_type(*arrays)
    if not np.can_cast(common, dtype, casting):
        raise _error(
            TypeError,
            f"{name}: cannot cast {common.name} to {np.dtype(dtype).name} under "
            f"casting={casting!r}",
        )
    return promote(*arrays, dtype=dtype)


def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Join arrays of one shape along a new axis.

    >>> stack([np.ones(2), np.zeros(2)], axis=-1).shape
    (2, 2)
    """
    _no_out("stack", out)
    arrays = _joined("stack", arrays, dtype, casting)
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise _error(ShapeError, f"stack: all input arrays must have the same shape, got {shapes}")
    axis = _normalize_axis("stack", operator_index(axis), arrays[0].ndim + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


# Where each output position along an axis reads from, for the pad modes that copy.
def _edge(i, n):
    return np.clip(i, 0, n - 1)


def _wrap(i, n):
    return i % n


def _symmetric(i, n):
    j = i % (2 * n)
    return np.where(j < n, j, 2 * n - 1 - j)


def _reflect(i, n):
    if n == 1:
        return np.zeros_like(i)
    j = i % (2 * (n - 1))
    return np.where(j < n, j, 2 * (n - 1) - j)


_PAD_SOURCES = {"edge": _edge, "wrap": _wrap, "symmetric": _symmetric, "reflect": _reflect}


def pad(array, pad_width, mode="constant", constant_values=0):
    """Pad ``array``; ``pad_width`` in NumPy's forms (int, (before, after), or per axis).

    Modes: "constant" (``constant_values``: a number, which may be traced, or concrete
    per-axis (before, after) pairs), "edge", "wrap", "symmetric" and "reflect" (NumPy's
    default even reflection).

    >>> pad(np.array([1, 2, 3]), (2, 1), mode="reflect")
    array([3, 2, 1, 2, 3, 2])
    """
    x = asarray(array)
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu":
        raise _error(TypeError, "pad: `pad_width` must be of integral type")
    widths = np.broadcast_to(widths.astype(np.int64), (x.ndim, 2))
    if (widths < 0).any():
        raise _error(ShapeError, f"pad: negative pad width {pad_width}")
    if x.ndim == 0:
        return x
    if mode in ("constant", "empty"):
        return _pad_constant(x, widths, 0 if mode == "empty" else constant_values)
    if mode not in _PAD_SOURCES:
        modes = ", ".join(repr(m) for m in ("constant", "empty", *_PAD_SOURCES))
        raise _error(ValueError, f"pad: mode {mode!r} is not supported (supported: {modes})")
    for axis, (lo, hi) in enumerate(widths.tolist()):
        if lo or hi:
            n = x.shape[axis]
            if n == 0:
                raise _error(ValueError, f"pad: can't extend empty axis {axis} using mode {mode!r}")
            source = _PAD_SOURCES[mode](np.arange(-lo, n + hi), n)
            x = _take_static(x, source, axis)
    return x


def _pad_constant(x, widths, constant_values):
    if isinstance(constant_values, Tracer) and constant_values.ndim == 0:
        # A traced fill: pad with zeros, then select the value where a mask marks the border.
        lo, hi = tuple(widths[:, 0].tolist()), tuple(widths[:, 1].tolist())
        interior = (0,) * x.ndim
        border = np.pad(np.zeros(x.shape, bool), widths, constant_values=True)
        value = asarray(constant_values, x.dtype)
        zero_padded = P.pad(x, lo=lo, hi=hi, interior=interior, value=0.0)
        return P.select(border, P.broadcast_to(value, border.shape), zero_padded)
    if isinstance(constant_values, Tracer) or _holds_tracer(constant_values):
        raise _error(
            TypeError, "pad: a traced constant_values must be a scalar (per-axis values: concrete)"
        )
    values = np.broadcast_to(np.asarray(constant_values, dtype=np.float64), (x.ndim, 2))
    if np.all(values == values.flat[0]):  # one pad for all axes
        lo, hi = tuple(widths[:, 0].tolist()), tuple(widths[:, 1].tolist())
        return P.pad(x, lo=lo, hi=hi, interior=(0,) * x.ndim, value=float(values.flat[0]))
    for axis in range(x.ndim):  # axis by axis: the later axes' values fill the corners
        for side in (0, 1):
            if widths[axis, side]:
                lo = [0] * x.ndim
                hi = [0] * x.ndim
                (lo, hi)[side][axis] = int(widths[axis, side])
                value = float(values[axis, side])
                x = P.pad(x, lo=tuple(lo), hi=tuple(hi), interior=(0,) * x.ndim, value=value)
    return x


def _take_static(x, index, axis):
    """``x``'s entries ``index`` (a concrete 1-D array of non-negative ints) along ``axis``."""
    index = np.asarray(index, dtype=np.int64)
    if index.size == x.shape[axis] and np.array_equal(index, np.arange(index.size)):
        return x
    return moveaxis(P.gather(moveaxis(x, axis, 0), index), 0, axis)


def _slice_axis(x, axis, start, stop):
    """``x[..., start:stop, ...]`` along ``axis`` (0 <= start <= stop <= size)."""
    begin = tuple(start if a == axis else 0 for a in range(x.ndim))
    limit = tuple(stop if a == axis else d for a, d in enumerate(x.shape))
    return P.slice(x, start=begin, limit=limit, strides=(1,) * x.ndim)


def flip(m, axis=None):
    """Reverse the order of elements along ``axis`` (int, tuple, or all axes).

    >>> flip(np.arange(4).reshape(2, 2), axis=(0, 1))
    array([[3, 2],
           [1, 0]])
    """
    x = asarray(m)
    axes = _axes("flip", axis, x.ndim)
    return P.rev(x, axes=axes) if axes else x


def fliplr(m):
    """Reverse the columns (axis 1) of an array of rank >= 2.

    >>> fliplr(np.array([[1, 2, 3]]))
    array([[3, 2, 1]])
    """
    x = asarray(m)
    if x.ndim < 2:
        raise _error(ValueError, "fliplr: input must be >= 2-d")
    return flip(x, 1)


def flipud(m):
    """Reverse the rows (axis 0) of an array of rank >= 1.

    >>> flipud(np.array([1, 2, 3]))
    array([3, 2, 1])
    """
    x = asarray(m)
    if x.ndim < 1:
        raise _error(ValueError, "flipud: input must be >= 1-d")
    return flip(x, 0)


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (from the first axis
    towards the second).

    >>> rot90(np.array([[1, 2], [3, 4]]))
    array([[2, 4],
           [1, 3]])
    """
    x = asarray(m)
    axes = tuple(axes)
    if len(axes) != 2:
        raise _error(ValueError, "rot90: len(axes) must be 2")
    a, b = (operator_index(i) for i in axes)
    if a == b or abs(a - b) == x.ndim:
        raise _error(ValueError, f"rot90: axes {axes} must be different")
    a, b = (_normalize_axis("rot90", i, x.ndim) for i in (a, b))
    k = operator_index(k) % 4
    if k == 0:
        return x
    if k == 2:
        return flip(x, (a, b))
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(flip(x, b), perm) if k == 1 else flip(transpose(x, perm), b)


def roll(a, shift, axis=None):
    """Shift elements cyclically by ``shift`` along ``axis`` (ints or sequences
    broadcast together; the flattened array by default).

    >>> roll(np.arange(5), 2)
    array([3, 4, 0, 1, 2])
    """
    x = asarray(a)
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), x.shape)
    try:
        pairs = np.broadcast(np.asarray(shift), np.asarray(axis))
    except ValueError:
        raise _error(
            ValueError, f"roll: shift {shift} and axis {axis} cannot be broadcast together"
        ) from None
    if pairs.nd > 1:
        raise _error(ValueError, "roll: 'shift' and 'axis' should be scalars or 1D sequences")
    total = {}
    for s, ax in pairs:
        ax = _normalize_axis("roll", operator_index(ax), x.ndim)
        total[ax] = total.get(ax, 0) + operator_index(s)
    for ax, s in sorted(total.items()):
        n = x.shape[ax]
        s = s % n if n else 0
        if s:
            x = P.concatenate(_slice_axis(x, ax, n - s, n), _slice_axis(x, ax, 0, n - s), axis=ax)
    return x


def _reps(name, reps):
    reps = tuple(reps) if isinstance(reps, (tuple, list)) else (reps,)
    reps = tuple(operator_index(r) for r in reps)
    if any(r < 0 for r in reps):
        raise _error(ValueError, f"{name}: negative repetitions in {reps}")
    return reps


def tile(A, reps):
    """``A`` repeated ``reps`` times along each axis (``reps`` aligned to the last axes).

    >>> tile(np.array([1, 2]), (2, 2))
    array([[1, 2, 1, 2],
           [1, 2, 1, 2]])
    """
    x = asarray(A)
    reps = _reps("tile", reps)
    ndim = builtins.max(x.ndim, len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    dims = (1,) * (ndim - x.ndim) + x.shape
    x = reshape(x, dims)
    if all(r == 1 for r in reps):
        return x
    spread = tuple(v for r, d in zip(reps, dims) for v in (r, d))
    x = P.broadcast_in_dim(x, shape=spread, broadcast_dimensions=tuple(range(1, 2 * ndim, 2)))
    return reshape(x, tuple(r * d for r, d in zip(reps, dims)))


def repeat(a, repeats, axis=None):
    """Repeat each element ``repeats`` times (an int, or one count per element: concrete
    values) along ``axis`` (the flattened array by default).

    >>> repeat(np.array([1, 2, 3]), [1, 0, 2])
    array([1, 3, 3])
    """
    x = asarray(a)
    if axis is None:
        x, axis = ravel(x), 0
    axis = _normalize_axis("repeat", operator_index(axis), x.ndim)
    if isinstance(repeats, Tracer):
        repeats = repeats.concrete("repeat count (an output size)")
    n = x.shape[axis]
    try:  # NumPy validates the counts (broadcasting, signs, dtype) on the positions
        source = np.repeat(np.arange(n), repeats)
    except (ValueError, TypeError) as e:
        raise _error(type(e), f"repeat: {e}") from None
    counts = np.asarray(repeats)
    if counts.size != 1 or n == 0:
        return _take_static(x, source, axis)
    r = int(counts.reshape(()))
    spread = x.shape[: axis + 1] + (r,) + x.shape[axis + 1 :]
    dims = tuple(range(axis + 1)) + tuple(range(axis + 2, x.ndim + 1))
    x = P.broadcast_in_dim(x, shape=spread, broadcast_dimensions=dims)
    return reshape(x, spread[:axis] + (n * r,) + spread[axis + 2 :])


def resize(a, new_shape):
    """``a``'s elements, flattened and repeated cyclically, in ``new_shape``.

    >>> resize(np.array([1, 2, 3]), (2, 2))
    array([[1, 2],
           [3, 1]])
    """
    x = ravel(asarray(a))
    shape = new_shape if isinstance(new_shape, (tuple, list)) else (new_shape,)
    shape = tuple(operator_index(d) for d in shape)
    if any(d < 0 for d in shape):
        raise _error(
            ValueError, f"resize: all elements of `new_shape` {shape} must be non-negative"
        )
    size = math.prod(shape)
    if size == 0 or x.size == 0:
        return P.zeros(shape, x.dtype) if isinstance(x, Tracer) else np.zeros(shape, x.dtype)
    x = tile(x, -(-size // x.size))
    return reshape(_slice_axis(x, 0, 0, size), shape)


def _at_least(arys, make):
    out = [make(asarray(a)) for a in arys]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*arys):
    """Each array with at least one axis (0-d becomes shape (1,)).

    >>> atleast_1d(1.0)
    array([1.])
    """
    return _at_least(arys, lambda x: reshape(x, (1,)) if x.ndim == 0 else x)


def atleast_2d(*arys):
    """Each array with at least two axes: (N,) becomes (1, N).

    >>> atleast_2d(np.arange(3)).shape
    (1, 3)
    """
    return _at_least(arys, lambda x: reshape(x, (1,) * (2 - x.ndim) + x.shape))


def _to_3d(x):
    if x.ndim >= 3:
        return x
    return reshape(x, {0: (1, 1, 1), 1: (1,) + x.shape + (1,), 2: x.shape + (1,)}[x.ndim])


def atleast_3d(*arys):
    """Each array with at least three axes: (N,) becomes (1, N, 1), (M, N) (M, N, 1).

    >>> [a.shape for a in atleast_3d(np.arange(3), np.ones((2, 3)))]
    [(1, 3, 1), (2, 3, 1)]
    """
    return _at_least(arys, _to_3d)


def rollaxis(a, axis, start=0):
    """Move ``axis`` to before position ``start`` (the older spelling of moveaxis).

    >>> rollaxis(np.ones((3, 4, 5)), 2).shape
    (5, 3, 4)
    """
    a = asarray(a)
    n = a.ndim
    axis = _normalize_axis("rollaxis", axis, n)
    start = operator_index(start)
    start += n if start < 0 else 0
    if not 0 <= start <= n:
        raise _error(ShapeError, f"rollaxis: start {start} is out of bounds for rank {n}")
    if axis < start:
        start -= 1
    return moveaxis(a, axis, start) if axis != start else a


_base.numpy_results(globals())
