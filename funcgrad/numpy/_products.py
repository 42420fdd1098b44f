"""Products: matmul, dot, tensordot, inner, outer, vdot, kron, cross, convolve, correlate
and NumPy 2's matrix_transpose, vecdot, matvec and vecmat. The contractions go through
einsum's planner (``_einsum.contract``): transposes, reshapes and one GEMM each."""

import math
import operator
import warnings

import numpy as np

from .. import primitives as P
from ..errors import ShapeError
from . import _base
from ._base import _error, _normalize_axis, asarray, promote
from ._einsum import contract
from ._elementwise import multiply, negative, subtract
from ._indexing import getitem
from ._shapes import moveaxis, pad, ravel, reshape, squeeze, stack, swapaxes

__all__ = [
    "matmul",
    "dot",
    "tensordot",
    "outer",
    "inner",
    "vdot",
    "kron",
    "cross",
    "convolve",
    "correlate",
    "matrix_transpose",
    "vecdot",
    "matvec",
    "vecmat",
]


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


def _labelled(a, b, axes_a, axes_b):
    """``a`` times ``b`` summed over the paired axes (normalized, checked), free axes of
    ``a`` first, then those of ``b``: tensordot's result, through einsum's planner."""
    la = list(range(a.ndim))
    lb = list(range(a.ndim, a.ndim + b.ndim))
    for i, j in zip(axes_a, axes_b):
        lb[j] = la[i]
    out = [label for label in la if label not in lb] + [label for label in lb if label not in la]
    return contract([a, b], [tuple(la), tuple(lb)], tuple(out))


def _not_aligned(name, a, b, i, j):
    """NumPy's error for a sum over axes ``i`` of ``a`` and ``j`` of ``b`` that differ."""
    if a.shape[i] != b.shape[j]:
        raise _error(
            ShapeError,
            f"{name}: shapes {a.shape} and {b.shape} not aligned: "
            f"{a.shape[i]} (dim {i}) != {b.shape[j]} (dim {j})",
        )


def dot(a, b):
    """NumPy's ``dot``: a sum over the last axis of ``a`` and the second-to-last of ``b``
    (its only axis if 1-D), shape ``a.shape[:-1] + b.shape[:-2] + b.shape[-1:]``.

    >>> dot(np.ones((2, 3)), np.ones((4, 3, 5))).shape
    (2, 4, 5)
    """
    a, b = promote(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    j = max(b.ndim - 2, 0)
    _not_aligned("dot", a, b, a.ndim - 1, j)
    return _labelled(a, b, [a.ndim - 1], [j])


def tensordot(a, b, axes=2):
    """Sum over the last ``axes`` axes of ``a`` and the first of ``b``, or over the axes
    paired by ``axes = (axes_a, axes_b)``, as NumPy.

    >>> tensordot(np.ones((2, 3, 4)), np.ones((3, 4, 5))).shape
    (2, 5)
    """
    a, b = promote(a, b)
    try:
        axes_a, axes_b = axes
    except TypeError:
        n = operator.index(axes)
        axes_a, axes_b = list(range(a.ndim - n, a.ndim)) if n > 0 else [], list(range(n))
    axes_a = [axes_a] if np.ndim(axes_a) == 0 else list(axes_a)
    axes_b = [axes_b] if np.ndim(axes_b) == 0 else list(axes_b)
    if len(axes_a) != len(axes_b):
        raise _error(ShapeError, f"tensordot: shape-mismatch for sum (axes {axes_a}, {axes_b})")
    axes_a = [_tensordot_axis(i, a, "a") for i in axes_a]
    axes_b = [_tensordot_axis(j, b, "b") for j in axes_b]
    if len(set(axes_a)) != len(axes_a) or len(set(axes_b)) != len(axes_b):
        raise _error(ValueError, "tensordot: duplicate axes are not allowed")
    for i, j in zip(axes_a, axes_b):
        if a.shape[i] != b.shape[j]:
            raise _error(
                ShapeError,
                f"tensordot: shape-mismatch for sum: axis {i} of {a.shape} and axis {j} of "
                f"{b.shape}",
            )
    return _labelled(a, b, axes_a, axes_b)


def _tensordot_axis(i, x, name):
    i = operator.index(i)
    if not -x.ndim <= i < x.ndim:  # NumPy: an IndexError
        raise _error(
            IndexError, f"tensordot: axis {i} is out of range for {name} of shape {x.shape}"
        )
    return i % x.ndim


def outer(a, b):
    """Outer product of the flattened inputs."""
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def inner(a, b):
    """Sum product over the last axes: shape ``a.shape[:-1] + b.shape[:-1]``, as NumPy."""
    a, b = promote(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    _not_aligned("inner", a, b, a.ndim - 1, b.ndim - 1)
    return _labelled(a, b, [a.ndim - 1], [b.ndim - 1])


def vdot(a, b):
    """Dot product of the flattened inputs (real arrays: no conjugation is needed).

    >>> vdot(np.ones((2, 3)), np.ones((3, 2)))
    np.float64(6.0)
    """
    a, b = promote(a, b)
    if a.size != b.size:
        raise _error(ShapeError, f"vdot: the inputs have different sizes ({a.size} and {b.size})")
    return contract([ravel(a), ravel(b)], [(0,), (0,)], ())


def kron(a, b):
    """Kronecker product: blocks ``a[i, j] * b``, the shapes multiplied axis by axis
    (the shorter shape padded with leading ones).

    >>> kron(np.eye(2), np.ones((1, 2)))
    array([[1., 1., 0., 0.],
           [0., 0., 1., 1.]])
    """
    a, b = promote(a, b)
    nd = max(a.ndim, b.ndim)
    sa, sb = (1,) * (nd - a.ndim) + a.shape, (1,) * (nd - b.ndim) + b.shape
    spread_a = reshape(a, tuple(d for n in sa for d in (n, 1)))
    spread_b = reshape(b, tuple(d for n in sb for d in (1, n)))
    return reshape(multiply(spread_a, spread_b), tuple(m * n for m, n in zip(sa, sb)))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors, deprecated as in NumPy 2) along the
    given axes, broadcasting the others.

    >>> cross(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    array([0., 0., 1.])
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = promote(a, b)
    a = moveaxis(a, _normalize_axis("cross (axisa)", axisa, a.ndim), -1)
    b = moveaxis(b, _normalize_axis("cross (axisb)", axisb, b.ndim), -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise _error(
            ShapeError,
            "cross: incompatible dimensions for cross product (dimension must be 2 or 3), got "
            f"{a.shape[-1]} and {b.shape[-1]}",
        )
    if 2 in (a.shape[-1], b.shape[-1]):
        warnings.warn(
            "cross: arrays of 2-dimensional vectors are deprecated (as in NumPy 2.0); "
            "use 3-dimensional vectors",
            DeprecationWarning,
            stacklevel=2,
        )
    x = [getitem(a, (Ellipsis, i)) for i in range(a.shape[-1])]
    y = [getitem(b, (Ellipsis, i)) for i in range(b.shape[-1])]
    z = subtract(multiply(x[0], y[1]), multiply(x[1], y[0]))
    if len(x) == len(y) == 2:
        return asarray(z)  # (NumPy's: an array, 0-d for two vectors)
    components = [_cross_term(x, y, 1, 2), _cross_term(x, y, 2, 0), z]
    return stack(components, axis=_normalize_axis("cross (axisc)", axisc, z.ndim + 1))


def _cross_term(x, y, i, j):
    """x[i] y[j] - x[j] y[i], where a missing third component is zero."""
    if i < len(x) and j < len(y) and j < len(x) and i < len(y):
        return subtract(multiply(x[i], y[j]), multiply(x[j], y[i]))
    if i < len(x) and j < len(y):
        return multiply(x[i], y[j])
    return negative(multiply(x[j], y[i]))


_MODES = {"v": 0, "s": 1, "f": 2}


def _mode(mode):
    if isinstance(mode, str):
        if mode.lower()[:1] not in _MODES:
            raise _error(
                ValueError, f"mode must be one of 'valid', 'same', or 'full' (got {mode!r})"
            )
        return _MODES[mode.lower()[0]]
    if mode not in (0, 1, 2):
        raise _error(ValueError, "integer convolve/correlate mode must be 0, 1, or 2")
    return int(mode)


def _vectors(name, a, v):
    a, v = promote(a, v)
    a, v = (reshape(x, (1,)) if x.ndim == 0 else x for x in (a, v))
    if a.ndim != 1 or v.ndim != 1:
        raise _error(ShapeError, f"{name}: a and v must be 1-D, got shapes {a.shape} and {v.shape}")
    for x, what in ((a, "a"), (v, "v")):
        if x.size == 0:
            raise _error(ValueError, f"{name}: {what} cannot be empty")
    return a, v


def _slide(a, v, mode):
    """out[k] = sum_j padded_a[k + j] * v[j] for a no shorter than v: the windows of ``a``
    gathered into a (windows, len(v)) matrix (one index constant) and one matrix-vector
    product, whose gradient is a scatter and a GEMM. It holds len(v) copies of ``a``,
    which suits the short filters 1-D convolution is used with."""
    n, m = a.size, v.size
    lo, hi = {0: (0, 0), 1: (m // 2, m - 1 - m // 2), 2: (m - 1, m - 1)}[mode]
    if lo or hi:
        a = pad(a, ((lo, hi),))
    windows = np.arange(n + lo + hi - m + 1)[:, None] + np.arange(m)
    return matmul(getitem(a, windows), v)


def correlate(a, v, mode="valid"):
    """Cross-correlation of two 1-D sequences, ``c[k] = sum_n a[n + k] * v[n]``, with
    NumPy's modes and its output when ``v`` is the longer (the inputs swapped, the result
    reversed).

    >>> correlate([1.0, 2.0, 3.0], [0.0, 1.0, 0.5])
    array([3.5])
    """
    mode = _mode(mode)
    a, v = _vectors("correlate", a, v)
    if v.size > a.size:
        return P.rev(_slide(v, a, mode), axes=(0,))
    return _slide(a, v, mode)


def convolve(a, v, mode="full"):
    """Discrete linear convolution of two 1-D sequences with NumPy's modes (the longer
    one slides over the shorter, as NumPy swaps them).

    >>> convolve([1.0, 2.0, 3.0], [0.0, 1.0, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    mode = _mode(mode)
    a, v = _vectors("convolve", a, v)
    if v.size > a.size:
        a, v = v, a
    return _slide(a, P.rev(v, axes=(0,)), mode)


def matrix_transpose(x):
    """Swap the last two axes (of an array at least 2-D), as NumPy 2.

    >>> matrix_transpose(np.ones((4, 2, 3))).shape
    (4, 3, 2)
    """
    x = asarray(x)
    if x.ndim < 2:
        raise _error(
            ShapeError,
            f"matrix_transpose: input must be at least 2-dimensional, but it is {x.ndim}",
        )
    return swapaxes(x, -1, -2)


def _gufunc(name, signature, x1, x2, core1, core2, terms, output):
    """A NumPy 2 gufunc product: ``x1`` and ``x2`` with ``core1``/``core2`` trailing core
    axes, checked against the signature, the loop axes broadcast, contracted by einsum's
    planner over ``terms`` (the core labels) with ``output``."""
    x1, x2 = promote(x1, x2)
    for k, (x, core) in enumerate(((x1, core1), (x2, core2))):
        if x.ndim < core:
            raise _error(
                ShapeError,
                f"{name}: input operand {k} does not have enough dimensions (has {x.ndim}, "
                f"signature {signature} requires {core})",
            )
    sizes = {}
    for x, core, term in ((x1, core1, terms[0]), (x2, core2, terms[1])):
        for label, n in zip(term, x.shape[x.ndim - core :]):
            if sizes.setdefault(label, n) != n:
                raise _error(
                    ShapeError,
                    f"{name}: core dimension {label!r} of {signature} has sizes "
                    f"{sizes[label]} and {n}",
                )
    try:
        loop = np.broadcast_shapes(x1.shape[: x1.ndim - core1], x2.shape[: x2.ndim - core2])
    except ValueError:
        raise _error(
            ShapeError, f"{name}: shapes {x1.shape} and {x2.shape} do not broadcast"
        ) from None
    batch = tuple(range(len(loop) - 1, -1, -1))  # right-aligned, as einsum's '...'
    t1 = batch[len(batch) - (x1.ndim - core1) :] + tuple(terms[0])
    t2 = batch[len(batch) - (x2.ndim - core2) :] + tuple(terms[1])
    return contract([x1, x2], [t1, t2], batch + tuple(output))


def vecdot(x1, x2, /, *, axis=-1):
    """Dot products of vectors along ``axis``, the other axes broadcast (NumPy 2).

    >>> vecdot(np.ones((2, 3)), np.arange(3.0))
    array([3., 3.])
    """
    x1, x2 = promote(x1, x2)
    for k, x in enumerate((x1, x2)):
        if x.ndim == 0:
            raise _error(ShapeError, f"vecdot: input operand {k} must have at least 1 dimension")
    x1 = moveaxis(x1, _normalize_axis("vecdot", axis, x1.ndim), -1)
    x2 = moveaxis(x2, _normalize_axis("vecdot", axis, x2.ndim), -1)
    return _gufunc("vecdot", "(n),(n)->()", x1, x2, 1, 1, ("n", "n"), ())


def matvec(x1, x2):
    """Matrix-vector products over broadcast stacks: (..., m, n) by (..., n) (NumPy 2).

    >>> matvec(np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    return _gufunc("matvec", "(m,n),(n)->(m)", x1, x2, 2, 1, ("mn", "n"), "m")


def vecmat(x1, x2):
    """Vector-matrix products over broadcast stacks: (..., n) by (..., n, m) (NumPy 2).

    >>> vecmat(np.array([1.0, 2.0]), np.eye(2))
    array([1., 2.])
    """
    return _gufunc("vecmat", "(n),(n,m)->(m)", x1, x2, 1, 2, ("n", "nm"), "m")


_base.numpy_results(globals())
