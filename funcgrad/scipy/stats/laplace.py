"""The Laplace distribution, ``scipy.stats.laplace``.

>>> import funcgrad.scipy.stats as fst
>>> float(fst.laplace.cdf(0.0))
0.5
"""

import math

from ... import numpy as fnp
from ...numpy._base import numpy_results
from ._common import exp_of, of_standard, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def logpdf(x, loc=0, scale=1):
    """``-|z| - log(2 scale)`` with ``z = (x - loc) / scale``."""
    z, scale, _ = standardize(x, loc, scale)
    return fnp.negative(fnp.add(fnp.abs(z), fnp.add(fnp.log(scale), math.log(2.0))))


pdf = exp_of(logpdf, "pdf")


def _logcdf(z):
    negative = fnp.less(z, 0)
    zn, zp = fnp.where(negative, z, 0), fnp.where(negative, 0, z)
    return fnp.where(
        negative,
        fnp.add(zn, math.log(0.5)),
        fnp.log1p(fnp.multiply(fnp.exp(fnp.negative(zp)), -0.5)),
    )


logcdf = of_standard("logcdf", _logcdf)
cdf = exp_of(logcdf, "cdf")
logsf = of_standard("logsf", _logcdf, negate=True)
sf = exp_of(logsf, "sf")


numpy_results(globals())
