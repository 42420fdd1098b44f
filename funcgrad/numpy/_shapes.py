"""Shape operations: reshape, transpose, joins, pads, flips."""

import math

import numpy as np

from .. import primitives as P
from ..core import Tracer
from ..errors import ShapeError
from ._base import _axes, _error, _normalize_axis, asarray, operator_index, promote, shape

__all__ = [
    "reshape",
    "ravel",
    "transpose",
    "swapaxes",
    "moveaxis",
    "expand_dims",
    "squeeze",
    "broadcast_to",
    "concatenate",
    "stack",
    "pad",
    "flip",
]


def reshape(x, newshape, *more):
    """Reshape, with one ``-1`` inferred as in NumPy."""
    x = asarray(x)
    if more:
        newshape = (newshape,) + more
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


def ravel(x):
    return reshape(x, (-1,))


def transpose(x, axes=None):
    """Permute axes (reverse them by default)."""
    x = asarray(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    axes = tuple(_normalize_axis("transpose", operator_index(a), x.ndim) for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise _error(ShapeError, f"transpose: {axes} is not a permutation of {x.ndim} axes")
    return x if axes == tuple(range(x.ndim)) else P.transpose(x, perm=axes)


def swapaxes(x, axis1, axis2):
    x = asarray(x)
    perm = list(range(x.ndim))
    a, b = (_normalize_axis("swapaxes", ax, x.ndim) for ax in (axis1, axis2))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


def moveaxis(x, source, destination):
    x = asarray(x)
    src = _normalize_axis("moveaxis", source, x.ndim)
    dst = _normalize_axis("moveaxis", destination, x.ndim)
    perm = [a for a in range(x.ndim) if a != src]
    perm.insert(dst, src)
    return transpose(x, perm)


def expand_dims(x, axis):
    """Insert size-1 axes at ``axis`` (int or tuple) of the result."""
    x = asarray(x)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_ndim = x.ndim + len(axes)
    axes = _axes("expand_dims", axes, out_ndim)
    dims = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(dims) for i in range(out_ndim)))


def squeeze(x, axis=None):
    """Remove size-1 axes (all of them, or those in ``axis``)."""
    x = asarray(x)
    if axis is None:
        axes = tuple(i for i, d in enumerate(x.shape) if d == 1)
    else:
        axes = _axes("squeeze", axis, x.ndim)
        if any(x.shape[a] != 1 for a in axes):
            raise _error(ShapeError, f"squeeze: axis {axis} of shape {x.shape} is not of size 1")
    return reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes))


def broadcast_to(x, shape):
    x = asarray(x)
    shape = tuple(shape)
    try:
        target = np.broadcast_shapes(x.shape, shape)
    except ValueError:
        target = None
    if target != shape:
        raise _error(ShapeError, f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return P.broadcast_to(x, shape)


def concatenate(arrays, axis=0):
    """Join arrays along an existing axis."""
    arrays = promote(*arrays)
    if not arrays:
        raise _error(ValueError, "concatenate: need at least one array")
    if arrays[0].ndim == 0:
        raise _error(ShapeError, "concatenate: zero-dimensional arrays cannot be concatenated")
    axis = _normalize_axis("concatenate", axis, arrays[0].ndim)
    if len(arrays) == 1:
        return arrays[0]
    return P.concatenate(*arrays, axis=axis)


def stack(arrays, axis=0):
    """Join arrays along a new axis."""
    arrays = list(arrays)
    if not arrays:
        raise _error(ValueError, "stack: need at least one array")
    shapes = {tuple(shape(a)) for a in arrays}
    if len(shapes) > 1:
        raise _error(ShapeError, f"stack: all input arrays must have the same shape, got {shapes}")
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


def pad(x, pad_width, mode="constant", constant_values=0):
    """Pad with a constant, NumPy's ``pad_width`` forms: int, (before, after), or per axis."""
    if mode != "constant":
        raise _error(ValueError, f"pad: only mode='constant' is supported, got {mode!r}")
    x = asarray(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if (widths < 0).any():
        raise _error(ShapeError, f"pad: negative pad width {pad_width}")
    lo, hi = tuple(widths[:, 0].tolist()), tuple(widths[:, 1].tolist())
    if isinstance(constant_values, Tracer):
        raise _error(TypeError, "pad: constant_values must be a Python number")
    return P.pad(x, lo=lo, hi=hi, interior=(0,) * x.ndim, value=float(constant_values))


def flip(x, axis=None):
    x = asarray(x)
    return P.rev(x, axes=_axes("flip", axis, x.ndim))
