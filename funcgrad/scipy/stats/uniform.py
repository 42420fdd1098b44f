"""The uniform distribution on ``[loc, loc + scale]``, ``scipy.stats.uniform``.

>>> import funcgrad.scipy.stats as fst
>>> float(fst.uniform.cdf(0.25))
0.25
"""

import numpy as np

from ... import numpy as fnp
from ...numpy._base import numpy_results
from ._common import exp_of, log_of, standardize, where_inside

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def _support(z):
    return fnp.logical_and(fnp.greater_equal(z, 0), fnp.less_equal(z, 1))


def logpdf(x, loc=0, scale=1):
    """``-log(scale)`` on the interval, -inf outside."""
    z, scale, _ = standardize(x, loc, scale)
    inside = fnp.add(fnp.negative(fnp.log(scale)), fnp.multiply(z, 0))  # (z's NaN and shape)
    return where_inside(_support(z), inside, -np.inf)


pdf = exp_of(logpdf, "pdf")


def cdf(x, loc=0, scale=1):
    """``(x - loc) / scale`` clipped to [0, 1]."""
    z = standardize(x, loc, scale)[0]
    return fnp.where(fnp.isnan(z), z, fnp.clip(z, 0, 1)).astype(z.dtype)


def sf(x, loc=0, scale=1):
    z = standardize(x, loc, scale)[0]
    return fnp.where(fnp.isnan(z), z, fnp.clip(fnp.subtract(1, z), 0, 1)).astype(z.dtype)


logcdf = log_of(cdf, "logcdf")

logsf = log_of(sf, "logsf")

numpy_results(globals())
