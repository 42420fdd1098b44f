"""The beta distribution, ``scipy.stats.beta`` (shapes ``a``, ``b``). Its cdf and sf
differentiate in ``x``, ``loc`` and ``scale``, not in ``a`` or ``b`` (a gradient asking
for one raises).

>>> import funcgrad.scipy.stats as fst
>>> float(fst.beta.cdf(0.25, 1.0, 1.0))  # the uniform
0.25
"""

import numpy as np

from ... import numpy as fnp
from ...numpy._base import numpy_results
from .. import special
from ._common import exp_of, log_of, standardize, valid, where_inside

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def _standard(x, a, b, loc, scale):
    z, scale, (a, b) = standardize(x, loc, scale, a, b)
    support = fnp.logical_and(fnp.greater_equal(z, 0), fnp.less_equal(z, 1))
    zs = fnp.where(support | fnp.isnan(z), z, 0.5).astype(z.dtype)
    ok = fnp.logical_and(fnp.greater(a, 0), fnp.greater(b, 0))
    return zs, support, valid(ok, a), valid(ok, b), scale, z


def logpdf(x, a, b, loc=0, scale=1):
    """``(a - 1) log z + (b - 1) log(1 - z) - betaln(a, b) - log(scale)`` on [0, 1]."""
    z, support, a, b, scale, _ = _standard(x, a, b, loc, scale)
    log_z = special.xlogy(fnp.subtract(a, 1), z)
    log_1mz = special.xlog1py(fnp.subtract(b, 1), fnp.negative(z))
    inner = fnp.subtract(fnp.add(log_z, log_1mz), special.betaln(a, b))
    return where_inside(support, fnp.subtract(inner, fnp.log(scale)), -np.inf)


pdf = exp_of(logpdf, "pdf")


def cdf(x, a, b, loc=0, scale=1):
    """``betainc(a, b, z)`` (0 below the support, 1 above)."""
    z, support, a, b, _, raw = _standard(x, a, b, loc, scale)
    return where_inside(support, special.betainc(a, b, z), fnp.where(fnp.greater(raw, 1), 1.0, 0.0))


def sf(x, a, b, loc=0, scale=1):
    """``betainc(b, a, 1 - z)``, accurate in the right tail."""
    z, support, a, b, _, raw = _standard(x, a, b, loc, scale)
    right = special.betainc(b, a, fnp.subtract(1, z))
    return where_inside(support, right, fnp.where(fnp.greater(raw, 1), 0.0, 1.0))


logcdf = log_of(cdf, "logcdf")

logsf = log_of(sf, "logsf")

numpy_results(globals())
