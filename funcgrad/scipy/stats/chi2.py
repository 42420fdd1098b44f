"""The chi-squared distribution, ``scipy.stats.chi2``: the gamma distribution of shape
``df / 2`` and scale ``2 scale`` (cdf and sf not differentiable in ``df``).

>>> import funcgrad.scipy.stats as fst
>>> round(float(fst.chi2.cdf(3.841458820694124, 1)), 6)
0.95
"""

from ... import numpy as fnp
from ...numpy._base import numpy_results
from . import gamma
from ._common import floats

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def _as_gamma(df, scale):
    df, scale = floats(df, scale)
    return fnp.multiply(df, 0.5), fnp.multiply(scale, 2.0)


def _method(name):
    def method(x, df, loc=0, scale=1):
        a, s = _as_gamma(df, scale)
        return getattr(gamma, name)(x, a, loc, s)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``gamma.{name}(x, df / 2, loc, 2 scale)``."
    return method


logpdf, pdf, cdf, logcdf, sf, logsf = map(_method, __all__)


numpy_results(globals())
