"""The multivariate normal distribution, ``scipy.stats.multivariate_normal``: ``x`` of
shape (..., d) (a scalar or (N,) when d = 1), ``mean`` (d,), ``cov`` a scalar, a diagonal
(d,) or a full (d, d) matrix.

With a full covariance the log density goes through its Cholesky factor L: the Mahalanobis
term is |L^-1 (x - mean)|^2 and log det cov is 2 sum(log diag L); a covariance that is not
positive definite raises NumPy's LinAlgError on concrete values (NaN inside jit), as SciPy
refuses a singular one. With ``allow_singular=True`` it goes through the eigendecomposition
instead, SciPy's way: eigenvalues below SciPy's cutoff (1e6 eps times the largest, 1e3 for
float32) are dropped, the pseudo-determinant and the rank replace the determinant and d,
and points off the covariance's range have density 0. (The eigenvector derivatives are NaN
for a repeated eigenvalue, as in JAX.)

>>> import funcgrad.scipy.stats as fst
>>> round(float(fst.multivariate_normal.logpdf(np.zeros(2), np.zeros(2), np.eye(2))), 6)
-1.837877
"""

import math

import numpy as np

from ... import numpy as fnp
from ...core import Tracer
from ...numpy import linalg as fla
from ...numpy._base import _error, numpy_results
from .. import linalg as fsl
from ._common import floats

__all__ = ["logpdf", "pdf"]

_LOG_2PI = math.log(2 * math.pi)


def _operands(x, mean, cov):
    if mean is None:
        mean = 0.0
    x, mean, cov = floats(x, mean, cov)
    d = mean.shape[0] if mean.ndim else cov.shape[0] if cov.ndim else 1
    if (
        mean.ndim > 1
        or cov.ndim > 2
        or (cov.ndim == 2 and cov.shape != (d, d))
        or (cov.ndim == 1 and cov.shape != (d,))
    ):
        raise _error(
            ValueError,
            f"multivariate_normal: mean of shape {mean.shape} and cov of shape {cov.shape} "
            "do not agree",
        )
    mean = fnp.broadcast_to(mean, (d,))
    if d == 1 and (x.ndim == 0 or x.shape[-1] != 1):
        x = fnp.expand_dims(x, -1)  # SciPy reads a (N,) x as N points when d = 1
    if x.shape[-1] != d:
        raise _error(
            ValueError, f"multivariate_normal: x of shape {x.shape} has no last axis of size {d}"
        )
    return x, mean, cov, d


def logpdf(x, mean=None, cov=1, allow_singular=False):
    """``-(d log(2 pi) + log det cov + (x - mean)^T cov^-1 (x - mean)) / 2``."""
    x, mean, cov, d = _operands(x, mean, cov)
    dev = fnp.subtract(x, mean)
    if cov.ndim < 2 and not allow_singular:  # a scalar or a diagonal
        var = fnp.broadcast_to(cov, (d,))
        if not isinstance(var, Tracer) and np.any(np.asarray(var) <= 0):
            raise _error(
                np.linalg.LinAlgError,
                "multivariate_normal: the covariance is not positive definite",
            )
        maha = fnp.sum(fnp.divide(fnp.square(dev), var), axis=-1)
        return fnp.multiply(fnp.add(fnp.add(maha, fnp.sum(fnp.log(var))), d * _LOG_2PI), -0.5)
    if cov.ndim < 2:
        cov = fnp.multiply(fnp.eye(d, dtype=cov.dtype), cov)
    if allow_singular:
        return _pseudo_logpdf(dev, cov, d)
    lower = fla.cholesky(cov)
    if not isinstance(cov, Tracer) and _singular(np.asarray(cov)):
        raise _error(
            np.linalg.LinAlgError,
            "multivariate_normal: the covariance is singular or not positive definite "
            "(allow_singular=True takes a singular one)",
        )
    flat = fnp.reshape(dev, (-1, d))
    solved = fsl.solve_triangular(lower, fnp.transpose(flat), lower=True)
    maha = fnp.reshape(fnp.sum(fnp.square(solved), axis=0), dev.shape[:-1])
    log_det = fnp.multiply(fnp.sum(fnp.log(fnp.diagonal(lower))), 2.0)
    return fnp.multiply(fnp.add(fnp.add(maha, log_det), d * _LOG_2PI), -0.5)


def _cutoff(dtype):
    """SciPy's relative eigenvalue cutoff for a covariance of this dtype."""
    return (1e3 if dtype == np.float32 else 1e6) * np.finfo(dtype).eps


def _singular(cov):
    """Whether SciPy calls a concrete covariance singular (or not positive definite)."""
    s = np.linalg.eigvalsh(cov)
    return not np.all(np.isfinite(s)) or s.min() <= _cutoff(cov.dtype) * np.abs(s).max()


def _pseudo_logpdf(dev, cov, d):
    s, u = fla.eigh(cov)
    eps = _cutoff(s.dtype)
    kept = fnp.greater(s, fnp.multiply(fnp.max(fnp.abs(s)), eps))
    if not isinstance(s, Tracer) and np.any(np.asarray(s) < -np.asarray(fnp.max(fnp.abs(s))) * eps):
        raise _error(
            ValueError,
            "multivariate_normal: the input matrix must be symmetric positive semidefinite",
        )
    inv_s = fnp.where(kept, fnp.divide(1, fnp.where(kept, s, 1)), 0).astype(s.dtype)
    proj = fnp.matmul(dev, u)  # coordinates along the eigenvectors
    maha = fnp.sum(fnp.multiply(fnp.square(proj), inv_s), axis=-1)
    rank = fnp.sum(kept.astype(s.dtype))
    log_pdet = fnp.sum(fnp.where(kept, fnp.log(fnp.where(kept, s, 1)), 0))
    out = fnp.multiply(fnp.add(fnp.add(maha, log_pdet), fnp.multiply(rank, _LOG_2PI)), -0.5)
    off = fnp.sum(fnp.square(fnp.where(kept, 0, proj)), axis=-1)  # the part off the range
    scale = fnp.add(fnp.max(fnp.abs(s)), 1)
    return fnp.where(fnp.greater(off, fnp.multiply(scale, eps)), -np.inf, out).astype(out.dtype)


def pdf(x, mean=None, cov=1, allow_singular=False):
    return fnp.exp(logpdf(x, mean, cov, allow_singular))


numpy_results(globals())
