"""Draws of vectors and matrices: multivariate normal and Haar-random orthogonal
matrices, with ``jax.random``'s signatures.

>>> import numpy as np, funcgrad as fg
>>> q = fg.random.orthogonal(fg.random.key(0), 3)
>>> bool(np.allclose(q @ q.T, np.eye(3), atol=1e-5))
True
"""

import operator

import numpy as np

from .. import numpy as fnp
from ..core import handed_back
from ..errors import ShapeError, user_frame
from ._base import _check_float, _check_shape, normal

_METHODS = ("cholesky", "eigh", "svd")


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky"):
    """Draws from N(``mean``, ``cov``), as ``jax.random.multivariate_normal``: of shape
    ``shape + mean.shape[-1:]``, ``shape`` defaulting to the broadcast of
    ``mean.shape[:-1]`` and ``cov.shape[:-2]`` (batches of means and covariances).

    ``mean + A z`` for standard normals ``z`` and a factor ``A A^T = cov``: its Cholesky
    factor (``method="cholesky"``), or ``U sqrt(S)`` from ``eigh`` or ``svd``, which also
    take positive semi-definite ``cov``. Differentiable in ``mean`` and ``cov``. ``dtype``
    defaults to the parameters' float type (float32 for ints).

    >>> import numpy as np, funcgrad as fg
    >>> cov = np.array([[1.0, 0.9], [0.9, 1.0]])
    >>> x = fg.random.multivariate_normal(fg.random.key(0), np.zeros(2), cov, (5000,))
    >>> x.shape, round(float(np.corrcoef(x.T)[0, 1]), 1)
    ((5000, 2), 0.9)
    """
    if method not in _METHODS:
        raise ValueError(
            f"multivariate_normal: method must be one of {_METHODS}, got {method!r} at "
            f"{user_frame()}"
        )
    mean, cov = fnp.asarray(mean), fnp.asarray(cov)
    if dtype is None:
        dtype = np.result_type(mean.dtype, cov.dtype)
        dtype = dtype if dtype in (np.float32, np.float64) else np.float32
    dtype = _check_float("multivariate_normal", dtype)
    mean, cov = fnp.astype(mean, dtype), fnp.astype(cov, dtype)
    if mean.ndim < 1 or cov.ndim < 2 or cov.shape[-2:] != (mean.shape[-1],) * 2:
        raise ShapeError(
            f"multivariate_normal: mean must have shape (..., n) and cov (..., n, n), got "
            f"{tuple(mean.shape)} and {tuple(cov.shape)} at {user_frame()}"
        )
    n = mean.shape[-1]
    batch = np.broadcast_shapes(tuple(mean.shape[:-1]), tuple(cov.shape[:-2]))
    if shape is None:
        shape = batch
    else:
        shape = _check_shape("multivariate_normal", shape)
        try:
            fits = np.broadcast_shapes(shape, batch) == shape
        except ValueError:
            fits = False
        if not fits:
            raise ShapeError(
                f"multivariate_normal: the parameters' batch shape {batch} does not broadcast "
                f"to shape {shape} at {user_frame()}"
            )
    if method == "cholesky":
        factor = fnp.linalg.cholesky(cov)
    elif method == "eigh":
        w, v = fnp.linalg.eigh(cov)
        factor = v * fnp.sqrt(fnp.maximum(w, 0.0))[..., None, :]
    else:
        u, s, _ = fnp.linalg.svd(cov)
        factor = u * fnp.sqrt(s)[..., None, :]
    z = normal(key, (*shape, n), dtype)
    return handed_back(mean + fnp.matmul(factor, z[..., None])[..., 0])


def orthogonal(key, n, shape=(), dtype=np.float32):
    """Orthogonal ``n x n`` matrices drawn uniformly (Haar measure), of shape
    ``shape + (n, n)``, as ``jax.random.orthogonal``: the Q of the QR factorization of a
    Gaussian matrix, its columns' signs fixed by R's diagonal (Mezzadri 2007).

    >>> import funcgrad as fg
    >>> fg.random.orthogonal(fg.random.key(0), 4, (2,)).shape
    (2, 4, 4)
    """
    dtype = _check_float("orthogonal", dtype)
    shape = _check_shape("orthogonal", shape)
    n = operator.index(n)
    if n < 0:
        raise ShapeError(f"orthogonal: n must be non-negative, got {n} at {user_frame()}")
    q, r = fnp.linalg.qr(normal(key, (*shape, n, n), dtype))
    d = fnp.diagonal(r, axis1=-2, axis2=-1)
    signs = fnp.astype(fnp.where(d < 0, -1.0, 1.0), dtype)
    return handed_back(q * signs[..., None, :])


__all__ = [
    "multivariate_normal",
    "orthogonal",
]
