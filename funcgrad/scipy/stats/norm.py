"""The normal distribution, ``scipy.stats.norm``.

>>> import funcgrad.scipy.stats as fst
>>> round(float(fst.norm.logpdf(0.0)), 6)  # -log(sqrt(2 pi))
-0.918939
"""

import math

from ... import numpy as fnp
from ...numpy._base import numpy_results
from .. import special
from ._common import exp_of, floats, of_standard, standardize, valid

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def logpdf(x, loc=0, scale=1):
    """``-((x - loc) / scale)^2 / 2 - log(sqrt(2 pi) scale)``."""
    z, scale, _ = standardize(x, loc, scale)
    return fnp.subtract(fnp.multiply(fnp.square(z), -0.5), fnp.add(fnp.log(scale), _LOG_SQRT_2PI))


pdf = exp_of(logpdf, "pdf")

cdf = of_standard("cdf", special.ndtr)
logcdf = of_standard("logcdf", special.log_ndtr)  # finite far into the left tail
sf = of_standard("sf", special.ndtr, negate=True)  # accurate in the right tail
logsf = of_standard("logsf", special.log_ndtr, negate=True)


def ppf(q, loc=0, scale=1):
    """The quantile function, ``loc + scale * ndtri(q)``.

    >>> round(float(ppf(0.975)), 6)
    1.959964
    """
    q, loc, scale = floats(q, loc, scale)
    return fnp.add(loc, fnp.multiply(valid(fnp.greater(scale, 0), scale), special.ndtri(q)))


numpy_results(globals())
