"""The Cauchy distribution, ``scipy.stats.cauchy``.

>>> import funcgrad.scipy.stats as fst
>>> float(fst.cauchy.cdf(1.0))
0.75
"""

import math

from ... import numpy as fnp
from ...numpy._base import numpy_results
from ._common import exp_of, floats, log_of, of_standard, standardize, valid

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf"]


def logpdf(x, loc=0, scale=1):
    """``-log(pi scale (1 + z^2))`` with ``z = (x - loc) / scale``."""
    z, scale, _ = standardize(x, loc, scale)
    return fnp.negative(
        fnp.add(fnp.log1p(fnp.square(z)), fnp.add(fnp.log(scale), math.log(math.pi)))
    )


pdf = exp_of(logpdf, "pdf")


def _cdf(z):
    # arctan(1 / -z) / pi for z < 0 keeps the left tail's digits (1/2 + arctan(z)/pi cancels)
    negative = fnp.less(z, 0)
    left = fnp.divide(fnp.arctan2(1.0, fnp.negative(fnp.where(negative, z, -1.0))), math.pi)
    return fnp.where(negative, left, fnp.add(0.5, fnp.divide(fnp.arctan(z), math.pi)))


cdf = of_standard("cdf", _cdf)


logcdf = log_of(cdf, "logcdf")

sf = of_standard("sf", _cdf, negate=True)


logsf = log_of(sf, "logsf")


def ppf(q, loc=0, scale=1):
    """``loc + scale * tan(pi (q - 1/2))``."""
    q, loc, scale = floats(q, loc, scale)
    return fnp.add(
        loc,
        fnp.multiply(
            valid(fnp.greater(scale, 0), scale),
            fnp.tan(fnp.multiply(fnp.subtract(q, 0.5), math.pi)),
        ),
    )


numpy_results(globals())
