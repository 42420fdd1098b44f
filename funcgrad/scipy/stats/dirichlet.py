"""The Dirichlet distribution, ``scipy.stats.dirichlet`` (concentrations ``alpha``, K of
them). As in SciPy, the quantiles ``x`` run along the first axis: shape (K,) or (K, N)
for N points, or K - 1 rows, the last completed as ``1 - sum``. Concrete ``x`` and
``alpha`` are checked as SciPy checks them (traced ones are not).

>>> import funcgrad.scipy.stats as fst
>>> round(float(fst.dirichlet.logpdf(np.array([0.2, 0.3, 0.5]), np.array([1.0, 2.0, 3.0]))), 6)
1.504077
"""

import numpy as np

from ... import numpy as fnp
from ...core import Tracer
from ...numpy._base import _error, numpy_results
from .. import special
from ._common import floats

__all__ = ["logpdf", "pdf"]


def _points(x, alpha):
    x, alpha = floats(x, alpha)
    if alpha.ndim != 1:
        raise _error(
            ValueError, f"dirichlet: alpha must be one-dimensional, got shape {alpha.shape}"
        )
    k = alpha.shape[0]
    if x.ndim == 0 or x.shape[0] not in (k - 1, k):
        raise _error(
            ValueError,
            f"dirichlet: x of shape {x.shape} needs {k} or {k - 1} rows for {k} concentrations",
        )
    if x.shape[0] == k - 1:
        x = fnp.concatenate([x, fnp.subtract(1, fnp.sum(x, axis=0, keepdims=True))], axis=0)
    if not isinstance(alpha, Tracer) and np.any(np.asarray(alpha) <= 0):
        raise _error(ValueError, "dirichlet: all parameters must be greater than 0")
    if not isinstance(x, Tracer):
        values = np.asarray(x)
        if np.any(values < 0) or np.any(values > 1):
            raise _error(ValueError, "dirichlet: each entry in 'x' must be in [0, 1]")
        tol = max(1e-9, 16 * np.finfo(values.dtype).eps)  # (SciPy's 1e-9; float32 rounds more)
        if np.any(np.abs(values.sum(axis=0) - 1) > tol):
            raise _error(ValueError, "dirichlet: the input vector 'x' must lie within the simplex")
    return x, alpha


def logpdf(x, alpha):
    """``sum((alpha - 1) log x) - sum(gammaln(alpha)) + gammaln(sum(alpha))``."""
    x, alpha = _points(x, alpha)
    a = fnp.reshape(alpha, alpha.shape + (1,) * (x.ndim - 1))
    norm = fnp.subtract(fnp.sum(special.gammaln(alpha)), special.gammaln(fnp.sum(alpha)))
    return fnp.subtract(fnp.sum(special.xlogy(fnp.subtract(a, 1), x), axis=0), norm)


def pdf(x, alpha):
    return fnp.exp(logpdf(x, alpha))


numpy_results(globals())
