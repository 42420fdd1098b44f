"""The exponential distribution, ``scipy.stats.expon``.

>>> import funcgrad.scipy.stats as fst
>>> float(fst.expon.logpdf(2.0))
-2.0
"""

import numpy as np

from ... import numpy as fnp
from ...numpy._base import numpy_results
from ._common import exp_of, log1mexp, standardize, where_inside

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def _z(x, loc, scale):
    z, scale, _ = standardize(x, loc, scale)
    support = fnp.greater_equal(z, 0)
    return fnp.where(support | fnp.isnan(z), z, 0).astype(z.dtype), support, z, scale


def logpdf(x, loc=0, scale=1):
    """``-z - log(scale)`` for ``z = (x - loc) / scale >= 0``, -inf below."""
    zs, support, z, scale = _z(x, loc, scale)
    return where_inside(support, fnp.subtract(fnp.negative(zs), fnp.log(scale)), -np.inf)


pdf = exp_of(logpdf, "pdf")


def cdf(x, loc=0, scale=1):
    zs, support, z, _ = _z(x, loc, scale)
    return where_inside(support, fnp.negative(fnp.expm1(fnp.negative(zs))), 0.0)


def logcdf(x, loc=0, scale=1):
    zs, support, z, _ = _z(x, loc, scale)
    return where_inside(support, log1mexp(fnp.negative(zs)), -np.inf)


def logsf(x, loc=0, scale=1):
    zs, support, z, _ = _z(x, loc, scale)
    return where_inside(support, fnp.negative(zs), 0.0)


sf = exp_of(logsf, "sf")


numpy_results(globals())
