"""``numpy.linalg`` with gradients: ``fnp.linalg.solve``, ``cholesky``, ``eigh``, ``svd``...

Every function takes NumPy's arguments and returns what NumPy returns, over stacks of
matrices (leading axes are a batch, as in NumPy >= 2); float32 stays float32, integers
compute in float64, complex arrays are refused. The factorizations are the primitives of
``funcgrad.primitives.linalg`` (see there for the derivative rules and their caveats);
the rest are composites of them.

Where a factor is unique only up to signs (eigenvectors, singular vectors, Q and R),
funcgrad fixes them: each eigenvector's, and each right singular vector's, largest entry
is positive, and diag(R) >= 0. NumPy returns whatever LAPACK gives, so those columns may
differ from NumPy's by a sign; the products (``U @ diag(s) @ Vh``, ``Q @ R``) agree.

Called on concrete arrays, a matrix LAPACK cannot factor raises NumPy's ``LinAlgError``
(``"Matrix is not positive definite"``, ``"Singular matrix"``). Inside ``jit`` the values
are not known when the program is built: the failing matrix's result is NaN, as in JAX.
Gradients of eigenvectors and singular vectors are NaN where the spectrum is degenerate
(repeated eigenvalues or singular values), as in JAX and PyTorch.

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
>>> fnp.linalg.det(a)
np.float64(7.999999999999998)
>>> fg.grad(lambda a: fnp.linalg.slogdet(a).logabsdet)(a)  # inv(a).T
array([[ 0.375, -0.25 ],
       [-0.25 ,  0.5  ]])
"""

import builtins
import math
import operator
from typing import NamedTuple

import numpy as np

from .. import primitives as P
from ..core import Tracer
from ..errors import DtypeError, ShapeError
from ..primitives import linalg as PL
from . import _base, _indexing, _products, _reductions
from ._base import _error, _normalize_axis, asarray, operator_index, result_type
from ._elementwise import (
    abs,
    divide,
    exp,
    greater,
    multiply,
    not_equal,
    power,
    sqrt,
    subtract,
)
from ._products import dot, matmul
from ._reductions import max, min, sum
from ._shapes import concatenate, reshape, swapaxes, transpose

__all__ = [
    "LinAlgError",
    "cholesky",
    "cond",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "matrix_transpose",
    "multi_dot",
    "norm",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "tensorinv",
    "tensorsolve",
    "trace",
    "vecdot",
    "vector_norm",
]

LinAlgError = np.linalg.LinAlgError


class _LinAlgShapeError(ShapeError, LinAlgError):
    """A shape numpy.linalg refuses with LinAlgError: catchable as either."""


class SlogdetResult(NamedTuple):
    sign: object
    logabsdet: object


class EighResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class SVDResult(NamedTuple):
    U: object
    S: object
    Vh: object


class QRResult(NamedTuple):
    Q: object
    R: object


# ---------------------------------------------------------------- operands and checks

_LAPACK = (np.dtype(np.float32), np.dtype(np.float64))


def _linalg_dtype(name, dtype):
    """NumPy's linalg dtypes: float32/float64 kept, bools and integers to float64."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        raise _error(DtypeError, f"linalg.{name}: complex arrays are not supported by funcgrad")
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    if dtype not in _LAPACK:
        raise _error(DtypeError, f"linalg.{name}: array type {dtype} is unsupported in linalg")
    return dtype


def _matrices(name, *arrays, square=True, vectors=()):
    """``arrays`` as stacks of matrices of one float dtype, with NumPy's shape errors
    (those at the positions in ``vectors`` may be 1-D)."""
    arrays = [asarray(a) for a in arrays]
    dtype = _linalg_dtype(name, result_type(*arrays))
    out = []
    for k, a in enumerate(arrays):
        if k in vectors and a.ndim == 1:
            out.append(asarray(a, dtype))
            continue
        if a.ndim < 2:
            raise _error(
                _LinAlgShapeError,
                f"linalg.{name}: {a.ndim}-dimensional array given. Array must be at least "
                "two-dimensional",
            )
        if square and not vectors and a.shape[-1] != a.shape[-2]:
            raise _error(
                _LinAlgShapeError,
                f"linalg.{name}: last 2 dimensions of the array must be square, got {a.shape}",
            )
        out.append(asarray(a, dtype))
    return out if len(out) > 1 else out[0]


def _failed(out, a, message):
    """NumPy's LinAlgError when LAPACK refused a concrete finite matrix (the primitive
    gives NaN for it); traced values pass (their values are not known yet)."""
    if isinstance(out, Tracer) or isinstance(a, Tracer):
        return out
    if np.isnan(out).any() and np.isfinite(a).all():
        raise _error(LinAlgError, message)
    return out


def _mT(x):
    return P.swap_last(x)


def _rows(x, lo, hi):
    return PL._cut(x, -2, lo, hi)


def _batch_broadcast(name, a, b):
    """a (..., n, n) and b (..., n, k) broadcast to one batch."""
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise _error(
            ShapeError, f"linalg.{name}: batch shapes of {a.shape} and {b.shape} do not broadcast"
        ) from None
    return P.broadcast_to(a, batch + a.shape[-2:]), P.broadcast_to(b, batch + b.shape[-2:])


def _eye_like(a):
    return P.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)


# ---------------------------------------------------------------- solves and determinants


def solve(a, b):
    """The solution x of ``a @ x = b``; b is (..., n, k), or (n,) for one vector.

    >>> solve(np.array([[2.0, 1.0], [1.0, 3.0]]), np.array([3.0, 5.0]))
    array([0.8, 1.4])
    """
    a, b = _matrices("solve", a, b, vectors=(1,))
    if a.shape[-1] != a.shape[-2]:
        _matrices("solve", a)  # raises NumPy's error
    vector = b.ndim == 1
    b = reshape(b, b.shape + (1,)) if vector else b
    if b.shape[-2] != a.shape[-1]:
        raise _error(
            ShapeError,
            f"linalg.solve: a of shape {a.shape} and b of shape {b.shape} do not align "
            f"({a.shape[-1]} != {b.shape[-2]})",
        )
    x = _failed(PL.solve(*_batch_broadcast("solve", a, b)), a, "Singular matrix")
    return reshape(x, x.shape[:-1]) if vector else x


def inv(a):
    """The inverse of each matrix in ``a``.

    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    a = _matrices("inv", a)
    return _failed(PL.solve(a, _eye_like(a)), a, "Singular matrix")


def slogdet(a):
    """(sign, log|det a|) of each matrix, as NumPy's SlogdetResult.

    >>> slogdet(np.array([[0.0, 2.0], [3.0, 0.0]]))
    SlogdetResult(sign=np.float64(-1.0), logabsdet=np.float64(1.791759469228055))
    """
    a = _matrices("slogdet", a)
    packed = PL.slogdet(a)
    batch = a.shape[:-2]
    sign = reshape(PL._cut(packed, -1, 0, 1), batch)
    return SlogdetResult(sign, reshape(PL._cut(packed, -1, 1, 2), batch))


def det(a):
    """The determinant, as sign * exp(log|det|): its gradient is det * inv(a).T
    (Giles 2008), NaN at a singular matrix.

    >>> det(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.float64(-2.0000000000000004)
    """
    sign, logabsdet = slogdet(a)
    return multiply(sign, exp(logabsdet))


def cholesky(a, /, *, upper=False):
    """The Cholesky factor L (lower, ``a = L @ L.T``), or U = L.T with ``upper=True``;
    reads the lower (upper) triangle only. Not positive definite: LinAlgError.

    >>> cholesky(np.array([[4.0, 2.0], [2.0, 2.0]]))
    array([[2., 0.],
           [1., 1.]])
    """
    a = _matrices("cholesky", a)
    factor = _failed(PL.cholesky(_mT(a) if upper else a), a, "Matrix is not positive definite")
    return _mT(factor) if upper else factor


def tensorsolve(a, b, axes=None):
    """NumPy's ``tensorsolve``: x with ``tensordot(a, x, x.ndim) == b``.

    >>> tensorsolve(np.eye(4).reshape(2, 2, 2, 2), np.ones((2, 2))).shape
    (2, 2)
    """
    a, b = asarray(a), asarray(b)
    if axes is not None:
        rest = [k for k in range(a.ndim) if k not in axes]
        a = transpose(a, tuple(rest + list(axes)))
    tail = a.shape[b.ndim :]
    n = math.prod(tail)
    if a.size != n * n:
        raise _error(
            _LinAlgShapeError,
            "Input arrays must satisfy the requirement "
            "prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim])",
        )
    return reshape(solve(reshape(a, (n, n)), reshape(b, (n,))), tail)


def tensorinv(a, ind=2):
    """NumPy's ``tensorinv``: the inverse of ``a`` seen as a matrix split after ``ind`` axes.

    >>> tensorinv(np.eye(4).reshape(4, 2, 2), ind=1).shape
    (2, 2, 4)
    """
    a = asarray(a)
    ind = operator_index(ind)
    if ind <= 0:
        raise _error(ValueError, "Invalid ind argument.")
    head, tail = a.shape[:ind], a.shape[ind:]
    n = math.prod(head)
    return reshape(inv(reshape(a, (n, math.prod(tail)))), tail + head)


# ---------------------------------------------------------------- decompositions


def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices, read from
    the lower (``UPLO='L'``) or upper triangle, as NumPy's EighResult.

    >>> w, v = eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w
    array([1., 3.])
    """
    a = _matrices("eigh", _upper_to_lower(a, UPLO))
    n = a.shape[-1]
    packed = _failed(PL.eigh(a, vectors=True), a, "Eigenvalues did not converge")
    return EighResult(PL._from_row(_rows(packed, 0, 1)), _rows(packed, 1, n + 1))


def eigvalsh(a, UPLO="L"):
    """The eigenvalues (ascending) of symmetric matrices.

    >>> eigvalsh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    array([1., 3.])
    """
    a = _matrices("eigvalsh", _upper_to_lower(a, UPLO))
    return _failed(PL.eigh(a, vectors=False), a, "Eigenvalues did not converge")


def _upper_to_lower(a, uplo):
    if not isinstance(uplo, str) or uplo.upper() not in ("L", "U"):
        raise _error(ValueError, "UPLO argument must be 'L' or 'U'")
    return _mT(asarray(a)) if uplo.upper() == "U" and np.ndim(a) >= 2 else a


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Singular value decomposition ``a = U @ diag(S) @ Vh``, as NumPy's SVDResult.

    Gradients need ``full_matrices=False`` for non-square matrices (the completed columns
    of U or V are any orthonormal basis, not a function of ``a``), as in JAX.
    ``hermitian=True`` reads the lower triangle, like NumPy's.

    >>> svd(np.array([[3.0, 0.0], [0.0, -2.0]]), compute_uv=False)
    array([3., 2.])
    """
    a = _matrices("svd", a, square=hermitian)
    if hermitian:
        a = PL._sym_from_lower(a)
    if not compute_uv:
        return _failed(PL.svd(a, compute_uv=False), a, "SVD did not converge")
    m, n = a.shape[-2:]
    packed = _failed(PL.svd(a, compute_uv=True), a, "SVD did not converge")
    u, s, v = PL._svd_parts(packed, m)
    if full_matrices:
        u, v = _completed(u), _completed(v)
    return SVDResult(u, s, _mT(v))


def svdvals(x, /):
    """The singular values, descending (NumPy 2's ``svdvals``).

    >>> svdvals(np.diag([1.0, 4.0]))
    array([4., 1.])
    """
    return svd(x, compute_uv=False)


def _completed(u):
    """u (..., m, k) with orthonormal columns, completed to an orthogonal (..., m, m)."""
    m, k = u.shape[-2:]
    if m == k:
        return u
    q = _rows(PL.qr(u, complete=True), 0, m)
    return concatenate([u, PL._cut(q, -1, k, m)], axis=-1)


def qr(a, mode="reduced"):
    """QR factorization with diag(R) >= 0, as NumPy's QRResult; ``mode`` 'reduced',
    'complete' or 'r' (R alone). Gradients need mode 'reduced' or 'r' (or a square or
    wide ``a``): mode='complete' of a tall matrix completes Q arbitrarily.

    >>> q, r = qr(np.array([[3.0, 1.0], [4.0, 2.0]]))
    >>> r
    array([[5. , 2.2],
           [0. , 0.4]])
    """
    if mode not in ("reduced", "complete", "r", "raw"):
        raise _error(ValueError, f"Unrecognized mode '{mode}'")
    if mode == "raw":
        raise _error(
            ValueError,
            "linalg.qr: mode='raw' (LAPACK's Householder reflectors) is not supported by "
            "funcgrad; use 'reduced', 'complete' or 'r'",
        )
    a = _matrices("qr", a, square=False)
    m, n = a.shape[-2:]
    if m >= n:
        packed = PL.qr(a, complete=mode == "complete")
        q, r = _rows(packed, 0, m), _mT(_rows(packed, m, m + n))
    else:  # wide: a = [X | Y] = Q [R_X | Q^T Y] with X square
        packed = PL.qr(PL._cut(a, -1, 0, m), complete=False)
        q, r_x = _rows(packed, 0, m), _mT(_rows(packed, m, 2 * m))
        r = concatenate([r_x, matmul(_mT(q), PL._cut(a, -1, m, n))], axis=-1)
    return r if mode == "r" else QRResult(q, r)


# ---------------------------------------------------------------- norms


def _vector_norm(x, ord, axis, keepdims):
    if ord is None or ord == 2:
        return sqrt(sum(multiply(x, x), axis=axis, keepdims=keepdims))
    if isinstance(ord, str):
        raise _error(ValueError, f"Invalid norm order '{ord}' for vectors")
    if ord == np.inf:
        return max(abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return min(abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return sum(asarray(not_equal(x, 0), x.dtype), axis=axis, keepdims=keepdims)
    if ord == 1:
        return sum(abs(x), axis=axis, keepdims=keepdims)
    total = sum(power(abs(x), float(ord)), axis=axis, keepdims=keepdims)
    return power(total, 1.0 / float(ord))


def _to_end(x, axes):
    """``x`` with ``axes`` moved to the end, in that order."""
    return transpose(x, tuple(k for k in range(x.ndim) if k not in axes) + tuple(axes))


def _singular_values(x, row, col):
    return PL.svd(_to_end(x, (row, col)), compute_uv=False)


def _matrix_norm(x, ord, row, col):
    """The norm over axes (row, col), those axes removed."""
    if ord in (2, -2):
        return (max if ord == 2 else min)(_singular_values(x, row, col), axis=-1)
    if ord == "nuc":
        return sum(_singular_values(x, row, col), axis=-1)
    if ord in (None, "fro", "f"):
        return sqrt(sum(multiply(x, x), axis=(row, col)))
    if ord in (1, -1, np.inf, -np.inf):
        inner, outer = (row, col) if ord in (1, -1) else (col, row)
        outer -= outer > inner  # the inner axis is gone
        return (max if ord > 0 else min)(sum(abs(x), axis=inner), axis=outer)
    raise _error(ValueError, "Invalid norm order for matrices.")


def _norm_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if not isinstance(axis, tuple):
        try:
            axis = (int(axis),)  # (NumPy's conversion: 1.0 is axis 1)
        except (TypeError, ValueError):
            message = "'axis' must be None, an integer or a tuple of integers"
            raise _error(TypeError, message) from None
    return tuple(_normalize_axis("norm", operator_index(a), ndim) for a in axis)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm with NumPy's ``ord`` (None, 'fro', 'nuc', inf, -inf, 0, 1,
    -1, 2, -2, other p), ``axis`` and ``keepdims``. The gradient of a 2-norm (or
    Frobenius norm) at zero is NaN (0/0), as in JAX; inf-norms split ties evenly.

    >>> norm(np.array([3.0, 4.0])), norm(np.eye(3), ord="nuc")
    (np.float64(5.0), np.float64(3.0))
    """
    x = asarray(x)
    x = asarray(x, _linalg_dtype("norm", x.dtype) if x.dtype.kind in "biuc" else x.dtype)
    ndim = x.ndim
    if axis is None and (
        ord is None or (ord in ("f", "fro") and ndim == 2) or (ord == 2 and ndim == 1)
    ):
        out = sqrt(sum(multiply(x, x)))
        return reshape(out, (1,) * ndim) if keepdims else out
    axes = _norm_axes(axis, ndim)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) != 2:
        raise _error(ValueError, "Improper number of dimensions to norm.")
    row, col = axes
    if row == col:
        raise _error(ValueError, "Duplicate axes given.")
    out = _matrix_norm(x, ord, row, col)
    if keepdims:
        out = reshape(out, tuple(1 if k in axes else d for k, d in enumerate(x.shape)))
    return out


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """NumPy 2's ``vector_norm``: over all axes (flattened) by default, or a tuple of axes.

    >>> vector_norm(np.ones((2, 2)), ord=1)
    np.float64(4.0)
    """
    x = asarray(x)
    axes = _norm_axes(axis, x.ndim)
    kept = tuple(d for k, d in enumerate(x.shape) if k not in axes)
    flat = reshape(_to_end(x, axes), kept + (math.prod(x.shape[k] for k in axes),))
    out = norm(flat, ord=ord, axis=-1)
    if keepdims:
        out = reshape(out, tuple(1 if k in axes else d for k, d in enumerate(x.shape)))
    return out


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """NumPy 2's ``matrix_norm``: the norm over the last two axes.

    >>> matrix_norm(np.eye(2), ord=2)
    np.float64(1.0)
    """
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


def cond(x, p=None):
    """The condition number: s_max / s_min for p None, 2 or -2 (inverted), else
    ``norm(x, p) * norm(inv(x), p)``.

    >>> cond(np.diag([1.0, 4.0]))
    np.float64(4.0)
    """
    x = _matrices("cond", x, square=p not in (None, 2, -2))
    if p in (None, 2, -2):
        s = svd(x, compute_uv=False)
        top, bottom = max(s, axis=-1), min(s, axis=-1)
        return divide(bottom, top) if p == -2 else divide(top, bottom)
    return multiply(norm(x, p, axis=(-2, -1)), norm(inv(x), p, axis=(-2, -1)))


# ---------------------------------------------------------------- pseudo-inverse, least squares

_NO_VALUE = object()


def pinv(a, rcond=None, hermitian=False, *, rtol=_NO_VALUE):
    """The Moore-Penrose pseudo-inverse; singular values <= ``rcond * max(s)`` count as
    zero (``rcond`` 1e-15 by default, or ``rtol``: NumPy 2's rules). Its gradient is
    Golub & Pereyra's, defined wherever the rank does not change.

    >>> pinv(np.array([[1.0, 0.0], [0.0, 0.0]]))
    array([[1., 0.],
           [0., 0.]])
    """
    a = _matrices("pinv", a, square=hermitian)
    if rcond is None:
        if rtol is _NO_VALUE:
            rcond = 1e-15
        elif rtol is None:
            rcond = builtins.max(a.shape[-2:]) * np.finfo(a.dtype).eps
        else:
            rcond = rtol
    elif rtol is not _NO_VALUE:
        raise _error(ValueError, "`rtol` and `rcond` can't be both set.")
    if np.ndim(rcond) != 0 or isinstance(rcond, Tracer):
        raise _error(TypeError, "linalg.pinv: funcgrad takes one Python float rcond/rtol")
    return PL.pinv(PL._sym_from_lower(a) if hermitian else a, rcond=float(rcond))


def lstsq(a, b, rcond=None):
    """Least squares ``(x, residuals, rank, s)`` as NumPy's (``rcond`` default
    ``eps * max(m, n)``). x = pinv(a, rcond) @ b, differentiable through the
    pseudo-inverse (the minimum-norm solution when a is rank-deficient).

    NumPy returns empty residuals when a is rank-deficient; a traced program cannot know
    the rank when it is built, so under jit the residuals have shape (k,) whenever m > n.

    >>> x, res, rank, s = lstsq(np.array([[1.0], [1.0]]), np.array([1.0, 3.0]))
    >>> x, res, rank
    (array([2.]), array([2.]), np.int32(1))
    """
    a, b = _matrices("lstsq", a, b, square=False, vectors=(1,))
    vector = b.ndim == 1
    b = reshape(b, b.shape + (1,)) if vector else b
    if a.ndim != 2 or b.ndim != 2:
        raise _error(
            _LinAlgShapeError, "linalg.lstsq: a and b must be two-dimensional (b may be 1-D)"
        )
    m, n = a.shape
    if b.shape[0] != m:
        raise _error(_LinAlgShapeError, "Incompatible dimensions")
    if rcond is None:
        rcond = np.finfo(np.float64).eps * builtins.max(m, n)
    x = matmul(PL.pinv(a, rcond=float(rcond)), b)
    s = PL.svd(a, compute_uv=False)
    rank = asarray(_rank(s, max(s, keepdims=True), rcond) if s.size else np.array(0), np.int32)
    residuals = sum(power(subtract(b, matmul(a, x)), 2), axis=0)
    if not (m > n and (isinstance(rank, Tracer) or int(rank) == n)):
        residuals = np.zeros((0,), a.dtype)
    return (reshape(x, (n,)) if vector else x), residuals, rank, s  # (a plain tuple, as NumPy's)


def _rank(s, top, rtol):
    """The count of singular values above ``top * rtol`` along the last axis."""
    return sum(greater(s, multiply(top, rtol)), axis=-1)


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """The rank: singular values above ``tol`` (default ``max(s) * max(m, n) * eps``, or
    ``rtol * max(s)``). Jit-compatible, not differentiable (an integer).

    >>> matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]]))
    np.int64(1)
    """
    A = asarray(A)
    if A.ndim < 2:  # NumPy: int(not all(A == 0)), a Python int
        rank = asarray(greater(sum(asarray(not_equal(A, 0), np.int64)), 0), np.int64)
        return rank if isinstance(rank, Tracer) else int(rank)
    A = _matrices("matrix_rank", A, square=hermitian)
    s = abs(eigvalsh(A)) if hermitian else svd(A, compute_uv=False)
    if s.shape[-1] == 0:
        return np.zeros(s.shape[:-1], np.int64)
    if tol is not None:
        return _rank(s, reshape(asarray(tol, s.dtype), np.shape(tol) + (1,)), 1.0)
    if rtol is None:
        rtol = builtins.max(A.shape[-2:]) * np.finfo(s.dtype).eps
    else:
        rtol = reshape(asarray(rtol, s.dtype), np.shape(rtol) + (1,))
    return _rank(s, max(s, axis=-1, keepdims=True), rtol)


# ---------------------------------------------------------------- products and powers


def matrix_power(a, n):
    """``a`` to the integer power ``n`` by repeated squaring: n == 0 gives the identity,
    n < 0 powers of ``inv(a)``. Integer matrices stay integers for n >= 0, as in NumPy.

    >>> matrix_power(np.array([[1, 1], [0, 1]]), 3)
    array([[1, 3],
           [0, 1]])
    """
    a = asarray(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        _matrices("matrix_power", a)  # raises NumPy's error
    try:
        n = operator.index(n)
    except TypeError:
        raise _error(TypeError, "exponent must be an integer") from None
    if n == 0:
        return P.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape)
    if n < 0:
        a, n = inv(a), -n
    result, z = None, a
    while True:
        if n & 1:
            result = z if result is None else matmul(result, z)
        n >>= 1
        if not n:
            return result
        z = matmul(z, z)


def multi_dot(arrays, *, out=None):
    """The product of a chain of matrices in the cheapest order (NumPy's rules: the first
    and last may be 1-D).

    >>> multi_dot([np.ones(3), np.ones((3, 4)), np.ones(4)])
    np.float64(12.0)
    """
    if out is not None:
        raise _error(TypeError, "linalg.multi_dot: out= is not supported (arrays are immutable)")
    arrays = [asarray(a) for a in arrays]
    if len(arrays) < 2:
        raise _error(ValueError, "Expecting at least two arrays.")
    if len(arrays) == 2:
        return dot(*arrays)
    first, last = arrays[0].ndim == 1, arrays[-1].ndim == 1
    if first:
        arrays[0] = reshape(arrays[0], (1, -1))
    if last:
        arrays[-1] = reshape(arrays[-1], (-1, 1))
    for a in arrays:
        if a.ndim != 2:
            raise _error(
                _LinAlgShapeError,
                f"linalg.multi_dot: {a.ndim}-dimensional array given. Array must be "
                "two-dimensional",
            )
    split = _chain_order([a.shape for a in arrays])

    def product(i, j):
        return arrays[i] if i == j else matmul(product(i, split[i, j]), product(split[i, j] + 1, j))

    result = product(0, len(arrays) - 1)
    if first or last:
        result = reshape(
            result, tuple(d for d, drop in zip(result.shape, (first, last)) if not drop)
        )
    return result


def _chain_order(shapes):
    """The split points of the cheapest parenthesization (the matrix-chain recurrence)."""
    dims = [shapes[0][0]] + [s[1] for s in shapes]
    count = len(shapes)
    cost, split = {(i, i): 0 for i in range(count)}, {}
    for length in range(1, count):
        for i in range(count - length):
            j = i + length
            options = [
                (cost[i, k] + cost[k + 1, j] + dims[i] * dims[k + 1] * dims[j + 1], k)
                for k in range(i, j)
            ]
            cost[i, j], split[i, j] = builtins.min(options)
    return split


def matrix_transpose(x, /):
    """Swap the last two axes (NumPy 2's ``matrix_transpose``).

    >>> matrix_transpose(np.ones((2, 3))).shape
    (3, 2)
    """
    x = asarray(x)
    if x.ndim < 2:
        raise _error(ValueError, "matrix_transpose: input array must be at least 2-dimensional")
    return swapaxes(x, -1, -2)


# ---------------------------------------------------------------- the array API's names
# (numpy.linalg's versions of functions fnp has: they act on the last axes)


def cross(x1, x2, /, *, axis=-1):
    """The cross product of 3-vectors along ``axis``.

    >>> cross(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    array([0., 0., 1.])
    """
    x1, x2 = asarray(x1), asarray(x2)
    for x in (x1, x2):
        if x.ndim == 0 or x.shape[_normalize_axis("cross", axis, x.ndim)] != 3:
            raise _error(
                ValueError, "cross: both input arrays must be (arrays of) 3-dimensional vectors"
            )
    return _products.cross(x1, x2, axis=axis)


def diagonal(x, /, *, offset=0):
    """The diagonals of the matrices in the last two axes."""
    return _indexing.diagonal(_stack_of_matrices("diagonal", x), offset, -2, -1)


def outer(x1, x2, /):
    """The outer product of two 1-D arrays."""
    x1, x2 = asarray(x1), asarray(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise _error(ValueError, "outer: input arrays must be one-dimensional")
    return _products.outer(x1, x2)


def tensordot(x1, x2, /, *, axes=2):
    """``fnp.tensordot`` with the array API's signature."""
    return _products.tensordot(x1, x2, axes)


def trace(x, /, *, offset=0, dtype=None):
    """The traces of the matrices in the last two axes."""
    return _reductions.trace(_stack_of_matrices("trace", x), offset, -2, -1, dtype)


def _stack_of_matrices(name, x):
    x = asarray(x)
    if x.ndim < 2:
        raise _error(ValueError, f"linalg.{name}: input array must be at least 2-dimensional")
    return x


def vecdot(x1, x2, /, *, axis=-1):
    """The dot products of vectors along ``axis``."""
    return _products.vecdot(x1, x2, axis=axis)


_base.numpy_results(globals())


def __getattr__(name):
    from ._missing import missing

    reasons = {
        "eig": "general eigenvalues are complex, which funcgrad does not support yet: for "
        "symmetric matrices use eigh",
        "eigvals": "general eigenvalues are complex, which funcgrad does not support yet: "
        "for symmetric matrices use eigvalsh",
        "test": "NumPy's own test runner",
    }
    if name in reasons:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}: {reasons[name]}")
    raise missing(__name__, name, __all__)
