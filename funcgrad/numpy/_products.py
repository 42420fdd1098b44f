"""Products: matmul, dot, inner, outer."""

import math

import numpy as np

from .. import primitives as P
from ..errors import ShapeError
from ._base import _error, asarray, promote
from ._elementwise import multiply
from ._shapes import reshape, squeeze, transpose

__all__ = ["matmul", "dot", "outer", "inner"]


def matmul(a, b):
    """Matrix product with NumPy's rules for 1-D operands and batch broadcasting."""
    a, b = promote(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise _error(ShapeError, "matmul: operands must not be scalars (use *)")
    if a.ndim == 1 and b.ndim == 1:
        if a.shape != b.shape:
            raise _error(ShapeError, f"matmul: shapes {a.shape} and {b.shape} do not align")
        return P.reduce_sum(P.mul(a, b), axes=(0,))
    a2 = reshape(a, (1,) + a.shape) if a.ndim == 1 else a
    b2 = reshape(b, b.shape + (1,)) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise _error(
            ShapeError,
            f"matmul: shapes {a.shape} and {b.shape} do not align "
            f"({a2.shape[-1]} != {b2.shape[-2]})",
        )
    if b2.ndim == 2 and a2.ndim > 2:  # fold batch into rows: one GEMM, no broadcast
        out = P.matmul(reshape(a2, (math.prod(a2.shape[:-1]), a2.shape[-1])), b2)
        out = reshape(out, a2.shape[:-1] + b2.shape[-1:])
    else:
        try:
            batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        except ValueError:
            raise _error(
                ShapeError, f"matmul: batch shapes of {a.shape} and {b.shape} do not broadcast"
            ) from None
        a2 = P.broadcast_to(a2, batch + a2.shape[-2:])
        b2 = P.broadcast_to(b2, batch + b2.shape[-2:])
        out = P.matmul(a2, b2)
    if a.ndim == 1:
        out = squeeze(out, -2)
    if b.ndim == 1:
        out = squeeze(out, -1)
    return out


def dot(a, b):
    """NumPy's ``dot`` for operands of rank <= 2 (and N-D by 1-D/2-D)."""
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if b.ndim > 2:
        raise _error(ShapeError, "dot: use matmul for operands of rank > 2")
    return matmul(a, b)


def outer(a, b):
    """Outer product of the flattened inputs."""
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def inner(a, b):
    """Sum product over the last axes: shape ``a.shape[:-1] + b.shape[:-1]``, as NumPy."""
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if b.ndim == 1:
        return matmul(a, b)
    b2 = reshape(b, (math.prod(b.shape[:-1]), b.shape[-1]))
    return reshape(matmul(a, transpose(b2)), a.shape[:-1] + b.shape[:-1])
