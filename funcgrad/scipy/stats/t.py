"""Student's t distribution, ``scipy.stats.t`` (``df`` degrees of freedom). Its cdf and sf
go through the incomplete beta function: differentiable in ``x``, ``loc`` and ``scale``,
not in ``df`` (a gradient asking for one raises).

>>> import funcgrad.scipy.stats as fst
>>> float(fst.t.cdf(0.0, 3.0))
0.5
"""

import math

from ... import numpy as fnp
from ...numpy._base import numpy_results
from .. import special
from ._common import exp_of, log_of, standardize, valid

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]


def logpdf(x, df, loc=0, scale=1):
    """``gammaln((df + 1) / 2) - gammaln(df / 2) - log(pi df) / 2 - (df + 1) / 2 log(1 +
    z^2 / df) - log(scale)``."""
    z, scale, (df,) = standardize(x, loc, scale, df)
    df = valid(fnp.greater(df, 0), df)
    half = fnp.multiply(fnp.add(df, 1), 0.5)
    tail = fnp.multiply(half, fnp.log1p(fnp.divide(fnp.square(z), df)))
    return fnp.subtract(fnp.subtract(_log_norm(df), tail), fnp.log(scale))


def _log_norm(df):
    """The log density at 0: gammaln((df + 1) / 2) - gammaln(df / 2) - log(pi df) / 2."""
    half = fnp.multiply(fnp.add(df, 1), 0.5)
    norm = fnp.subtract(special.gammaln(half), special.gammaln(fnp.multiply(df, 0.5)))
    return fnp.subtract(norm, fnp.multiply(fnp.log(fnp.multiply(df, math.pi)), 0.5))


pdf = exp_of(logpdf, "pdf")


def _cdf(z, df):
    """P(T <= z): near 0 its tangent line (exact to rounding below |z| = 1e-8, and the
    slope there is finite: the incomplete beta's is not at 0), up to z^2 = df the central
    form 1/2 + sign(z) betainc(1/2, df/2, z^2 / (df + z^2)) / 2, beyond it the tail
    betainc(df/2, 1/2, df / (df + z^2)) / 2 (each keeps its digits where the other's
    argument rounds to 1). Each form sees only its own points (a stand-in elsewhere)."""
    small = fnp.less(fnp.abs(z), 1e-8)
    central = fnp.logical_and(fnp.logical_not(small), fnp.less(fnp.square(z), df))
    tails = fnp.logical_not(fnp.logical_or(small, central))
    root = fnp.sqrt(df)
    zc = fnp.where(central, z, fnp.multiply(root, 0.5))
    zt = fnp.where(tails, z, fnp.multiply(root, 2.0))
    zc2, zt2 = fnp.square(zc), fnp.square(zt)
    inner = special.betainc(0.5, fnp.multiply(df, 0.5), fnp.divide(zc2, fnp.add(df, zc2)))
    middle = fnp.add(0.5, fnp.multiply(fnp.multiply(fnp.sign(zc), inner), 0.5))
    lower = fnp.multiply(
        special.betainc(fnp.multiply(df, 0.5), 0.5, fnp.divide(df, fnp.add(df, zt2))), 0.5
    )
    tail = fnp.where(fnp.less(zt, 0), lower, fnp.subtract(1, lower))
    line = fnp.add(0.5, fnp.multiply(z, fnp.exp(_log_norm(df))))
    return fnp.where(small, line, fnp.where(central, middle, tail))


def cdf(x, df, loc=0, scale=1):
    z, _, (df,) = standardize(x, loc, scale, df)
    return _cdf(z, valid(fnp.greater(df, 0), df))


def sf(x, df, loc=0, scale=1):
    z, _, (df,) = standardize(x, loc, scale, df)
    return _cdf(fnp.negative(z), valid(fnp.greater(df, 0), df))


logcdf = log_of(cdf, "logcdf")

logsf = log_of(sf, "logsf")

numpy_results(globals())
