"""Pytrees as one flat vector and back (as ``jax.flatten_util``): for optimizers, Hessians
and samplers written for a single parameter vector."""

import math

import numpy as np

from . import numpy as fnp
from . import tree
from .errors import ShapeError, user_frame


def ravel_pytree(pytree):
    """Flatten the array leaves of ``pytree`` into one 1-D array, in leaf order.

    Returns ``(flat, unravel)``; ``unravel(v)`` rebuilds the structure from a vector of
    the same length, each leaf with its original shape and dtype. Both work on traced
    values, so gradients flow through them.

    >>> import numpy as np
    >>> flat, unravel = ravel_pytree({"b": np.zeros(2), "w": np.ones((2, 2))})
    >>> flat
    array([0., 0., 1., 1., 1., 1.])
    >>> unravel(flat)["w"].shape
    (2, 2)
    """
    leaves, treedef = tree.flatten(pytree)
    shapes = [fnp.shape(leaf) for leaf in leaves]
    dtypes = [fnp.result_type(leaf) for leaf in leaves]
    sizes = [math.prod(s) for s in shapes]
    dtype = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
    pieces = [fnp.asarray(fnp.ravel(leaf), dtype) for leaf in leaves]
    flat = fnp.concatenate(pieces) if pieces else np.zeros(0, dtype)
    total = sum(sizes)

    def unravel(vector):
        if fnp.shape(vector) != (total,):
            raise ShapeError(
                f"unravel: expected a vector of shape ({total},), got {fnp.shape(vector)} "
                f"at {user_frame()}"
            )
        out, offset = [], 0
        for shape, size, leaf_dtype in zip(shapes, sizes, dtypes):
            piece = fnp.getitem(vector, slice(offset, offset + size))
            out.append(fnp.asarray(fnp.reshape(piece, shape), leaf_dtype))
            offset += size
        return treedef.unflatten(out)

    return flat, unravel


__all__ = ["ravel_pytree"]
