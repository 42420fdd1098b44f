"""Slices at traced positions and the small ``jax.lax`` helpers ported code reaches for:
``dynamic_slice``, ``dynamic_update_slice`` (and their ``_in_dim`` forms), ``select``,
``clamp``, ``stop_gradient``. Composites of ``funcgrad.numpy`` (gathers and selects), so they
differentiate, batch and compile as those do.

Start indices are clamped so the slice fits, as in JAX: ``dynamic_slice(x, (8,), (4,))`` of
a length-10 ``x`` starts at 6.
"""

import numpy as np

from .. import numpy as fnp
from ..api import stop_gradient
from ..errors import ShapeError, user_frame


def _starts(operand, start_indices, sizes, who):
    shape = fnp.shape(operand)
    if len(start_indices) != len(shape) or len(sizes) != len(shape):
        raise ShapeError(
            f"{who}: an operand of shape {shape} needs {len(shape)} start indices and sizes, "
            f"got {len(start_indices)} and {len(sizes)} at {user_frame()}"
        )
    for size, dim in zip(sizes, shape):
        if not 0 <= size <= dim:
            raise ShapeError(
                f"{who}: slice sizes {tuple(sizes)} do not fit in shape {shape} at {user_frame()}"
            )
    return [
        fnp.clip(fnp.asarray(s).astype(np.int64), 0, dim - size)
        for s, size, dim in zip(start_indices, sizes, shape)
    ]


def dynamic_slice(operand, start_indices, slice_sizes):
    """``operand[s0:s0+n0, s1:s1+n1, ...]`` with starts that may be traced, as
    ``jax.lax.dynamic_slice`` (starts clamped so the slice fits).

    >>> import numpy as np, funcgrad as fg
    >>> fg.lax.dynamic_slice(np.arange(10), (np.int64(8),), (4,)).tolist()
    [6, 7, 8, 9]
    """
    sizes = tuple(int(n) for n in slice_sizes)
    out = operand
    for axis, (start, size) in enumerate(
        zip(_starts(operand, start_indices, sizes, "dynamic_slice"), sizes)
    ):
        out = fnp.take(out, start + np.arange(size), axis=axis)
    return out


def dynamic_update_slice(operand, update, start_indices):
    """``operand`` with ``update`` written at the (possibly traced) ``start_indices``, as
    ``jax.lax.dynamic_update_slice`` (starts clamped so the update fits).

    >>> import numpy as np, funcgrad as fg
    >>> fg.lax.dynamic_update_slice(np.zeros(5), np.ones(2), (np.int64(1),)).tolist()
    [0.0, 1.0, 1.0, 0.0, 0.0]
    """
    shape, sizes = fnp.shape(operand), fnp.shape(update)
    if len(shape) != len(sizes):
        raise ShapeError(
            f"dynamic_update_slice: update of shape {sizes} for an operand of shape {shape} "
            f"at {user_frame()}"
        )
    starts = _starts(operand, start_indices, sizes, "dynamic_update_slice")
    placed, inside = fnp.asarray(update, fnp.result_type(operand)), True
    for axis, (start, size, dim) in enumerate(zip(starts, sizes, shape)):
        offset = np.arange(dim) - start
        hit = (offset >= 0) & (offset < size)
        placed = (
            fnp.take(placed, fnp.clip(offset, 0, max(size - 1, 0)), axis=axis) if size else placed
        )
        inside = inside & fnp.reshape(hit, (dim,) + (1,) * (len(shape) - axis - 1))
    if 0 in sizes:
        return fnp.asarray(operand)
    return fnp.where(inside, placed, operand)


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0):
    """:func:`dynamic_slice` along one axis."""
    starts = [0] * fnp.ndim(operand)
    sizes = list(fnp.shape(operand))
    starts[axis], sizes[axis] = start_index, slice_size
    return dynamic_slice(operand, starts, sizes)


def dynamic_update_slice_in_dim(operand, update, start_index, axis):
    """:func:`dynamic_update_slice` along one axis."""
    starts = [0] * fnp.ndim(operand)
    starts[axis] = start_index
    return dynamic_update_slice(operand, update, starts)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True):
    """The slice at (possibly traced) ``index`` along ``axis``, as JAX's."""
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    return out if keepdims else fnp.squeeze(out, axis)


def select(pred, on_true, on_false):
    """``on_true`` where ``pred`` else ``on_false``, elementwise (``jax.lax.select``: the
    three of one shape, ``pred`` boolean)."""
    if fnp.result_type(pred) != np.bool_:
        raise TypeError(
            f"select: pred must be boolean, got {fnp.result_type(pred)} at {user_frame()}"
        )
    shapes = {fnp.shape(pred), fnp.shape(on_true), fnp.shape(on_false)}
    if len(shapes) != 1:
        raise ShapeError(f"select: the operands' shapes differ: {sorted(shapes)} at {user_frame()}")
    return fnp.where(pred, on_true, on_false)


def clamp(min, x, max):  # noqa: A002  (jax.lax.clamp's names)
    """``x`` clipped to ``[min, max]`` (``jax.lax.clamp``: note the argument order)."""
    return fnp.clip(x, min, max)


__all__ = [
    "clamp",
    "dynamic_index_in_dim",
    "dynamic_slice",
    "dynamic_slice_in_dim",
    "dynamic_update_slice",
    "dynamic_update_slice_in_dim",
    "select",
    "stop_gradient",
]
