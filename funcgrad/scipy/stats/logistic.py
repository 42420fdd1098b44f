"""The logistic distribution, ``scipy.stats.logistic``.

>>> import funcgrad.scipy.stats as fst
>>> float(fst.logistic.cdf(0.0))
0.5
"""

from ... import numpy as fnp
from ...numpy._base import numpy_results
from .. import special
from ._common import exp_of, of_standard, standardize

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def logpdf(x, loc=0, scale=1):
    """``log_expit(z) + log_expit(-z) - log(scale)`` with ``z = (x - loc) / scale``."""
    z, scale, _ = standardize(x, loc, scale)
    both = fnp.add(special.log_expit(z), special.log_expit(fnp.negative(z)))
    return fnp.subtract(both, fnp.log(scale))


pdf = exp_of(logpdf, "pdf")

cdf = of_standard("cdf", special.expit)
logcdf = of_standard("logcdf", special.log_expit)
sf = of_standard("sf", special.expit, negate=True)
logsf = of_standard("logsf", special.log_expit, negate=True)


numpy_results(globals())
