"""``scipy.linalg``'s triangular and Cholesky solves with gradients: solve_triangular,
cholesky, cho_factor, cho_solve. They take SciPy's arguments and return what it returns,
over stacks of matrices (leading axes a batch, as SciPy >= 1.15 allows); the finite
check, ``overwrite_*`` and ``debug`` flags are accepted and have no effect (funcgrad's
arrays are never overwritten).

>>> import funcgrad as fg, funcgrad.scipy.linalg as fsl
>>> a = np.array([[4.0, 2.0], [2.0, 3.0]])
>>> c = fsl.cho_factor(a)
>>> fsl.cho_solve(c, np.array([1.0, 0.0]))
array([ 0.375, -0.25 ])
"""

import numpy as np

from .. import numpy as fnp
from ..errors import ShapeError
from ..numpy import linalg as fla
from ..numpy._base import _error
from ..primitives import linalg as PL

__all__ = ["cho_factor", "cho_solve", "cholesky", "solve_triangular"]

_TRANS = {0: False, "N": False, 1: True, "T": True, 2: True, "C": True}  # (real: C is T)


def solve_triangular(
    a,
    b,
    trans=0,
    lower=False,
    unit_diagonal=False,
    overwrite_b=False,
    check_finite=True,
):
    """Solve ``a x = b`` (or ``a.T x = b`` with ``trans``) for triangular ``a``, reading
    only its ``lower`` (or upper) triangle, and assuming ones on its diagonal with
    ``unit_diagonal``. ``b`` is a vector (n,) or a stack of (n, k) right-hand sides."""
    if trans not in _TRANS:
        raise _error(ValueError, f"solve_triangular: invalid trans {trans!r}")
    a = fla._matrices("solve_triangular", a)
    b = fnp.asarray(b, np.result_type(a.dtype, fnp.result_type(b)))
    a = fnp.asarray(a, b.dtype)
    vector = b.ndim == 1
    if vector:
        b = fnp.reshape(b, (-1, 1))
    n = a.shape[-1]
    if b.ndim < 2 or b.shape[-2] != n:
        raise _error(
            ShapeError, f"solve_triangular: shapes of a {a.shape} and b {b.shape} are incompatible"
        )
    if unit_diagonal:
        eye = np.eye(n, dtype=a.dtype)
        a = fnp.add(fnp.multiply(a, 1 - eye), eye)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = fnp.broadcast_to(a, batch + a.shape[-2:])
    b = fnp.broadcast_to(b, batch + b.shape[-2:])
    x = PL.triangular_solve(a, b, lower=bool(lower), transpose_a=_TRANS[trans], left_side=True)
    return fnp.reshape(x, x.shape[:-1]) if vector else x


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """The Cholesky factor of symmetric positive-definite ``a``: upper ``U`` with
    ``U.T @ U = a`` by default (SciPy's), lower ``L`` with ``lower=True``."""
    return fla.cholesky(a, upper=not lower)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """``(c, lower)`` for :func:`cho_solve`: ``c`` holds the Cholesky factor in the
    ``lower`` (or upper) triangle and, as SciPy's, ``a``'s own entries in the other."""
    a = fla._matrices("cho_factor", a)
    factor = cholesky(a, lower=lower)
    n = a.shape[-1]
    ones = np.ones((n, n), a.dtype)
    other = np.tril(ones, -1) if not lower else np.triu(ones, 1)
    c = fnp.add(fnp.multiply(factor, 1 - other), fnp.multiply(a, other))
    return c, lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """Solve ``a x = b`` from ``cho_factor(a)``: two triangular solves."""
    c, lower = c_and_lower
    if lower:
        y = solve_triangular(c, b, lower=True)
        return solve_triangular(c, y, trans=1, lower=True)
    y = solve_triangular(c, b, trans=1, lower=False)
    return solve_triangular(c, y, lower=False)
