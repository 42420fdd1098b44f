"""The gamma distribution, ``scipy.stats.gamma`` (shape ``a``). Its cdf and sf
differentiate in ``x``, ``loc`` and ``scale``, not in ``a`` (the incomplete gamma function
has no closed-form derivative in its shape: a gradient asking for one raises).

>>> import funcgrad.scipy.stats as fst
>>> float(fst.gamma.logpdf(1.0, 1.0))  # the exponential
-1.0
"""

import numpy as np

from ... import numpy as fnp
from ...numpy._base import numpy_results
from .. import special
from ._common import exp_of, log_of, standardize, valid, where_inside

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def _standard(x, a, loc, scale):
    z, scale, (a,) = standardize(x, loc, scale, a)
    support = fnp.greater_equal(z, 0)
    zs = fnp.where(support | fnp.isnan(z), z, 1).astype(z.dtype)
    return zs, support, valid(fnp.greater(a, 0), a), scale


def logpdf(x, a, loc=0, scale=1):
    """``(a - 1) log z - z - gammaln(a) - log(scale)`` for ``z = (x - loc) / scale >= 0``."""
    z, support, a, scale = _standard(x, a, loc, scale)
    inner = fnp.subtract(fnp.subtract(special.xlogy(fnp.subtract(a, 1), z), z), special.gammaln(a))
    return where_inside(support, fnp.subtract(inner, fnp.log(scale)), -np.inf)


pdf = exp_of(logpdf, "pdf")


def cdf(x, a, loc=0, scale=1):
    """``gammainc(a, z)``."""
    z, support, a, _ = _standard(x, a, loc, scale)
    return where_inside(support, special.gammainc(a, z), 0.0)


def sf(x, a, loc=0, scale=1):
    """``gammaincc(a, z)``, accurate in the right tail."""
    z, support, a, _ = _standard(x, a, loc, scale)
    return where_inside(support, special.gammaincc(a, z), 1.0)


logcdf = log_of(cdf, "logcdf")

logsf = log_of(sf, "logsf")

numpy_results(globals())
