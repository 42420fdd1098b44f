"""The Poisson distribution, ``scipy.stats.poisson`` (mean ``mu``), differentiable in ``mu``.

>>> import funcgrad.scipy.stats as fst
>>> round(float(fst.poisson.pmf(2, 2.0)), 6)
0.270671
"""

import numpy as np

from ... import numpy as fnp
from ...numpy._base import numpy_results
from .. import special
from ._common import exp_of, log_of
from ._discrete import counts, masked

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"]


def logpmf(k, mu, loc=0):
    """``k log(mu) - mu - gammaln(k + 1)`` at integers k >= 0, -inf elsewhere."""
    k, whole, _, (mu,) = counts(k, loc, mu)
    value = fnp.subtract(fnp.subtract(special.xlogy(k, mu), mu), special.gammaln(fnp.add(k, 1)))
    return masked(fnp.greater_equal(mu, 0), whole, value, -np.inf)


pmf = exp_of(logpmf, "pmf")


def _floor(k, loc, mu):
    k, _, raw, (mu,) = counts(k, loc, mu)
    below = fnp.less(raw, 0)
    return fnp.where(below, 0, fnp.floor(raw)).astype(raw.dtype), below, mu


def cdf(k, mu, loc=0):
    """``gammaincc(floor(k) + 1, mu)``: differentiable in ``mu``."""
    j, below, mu = _floor(k, loc, mu)
    value = special.gammaincc(fnp.add(j, 1), mu)
    return masked(fnp.greater_equal(mu, 0), fnp.logical_not(below), value, 0.0)


def sf(k, mu, loc=0):
    """``gammainc(floor(k) + 1, mu)``, accurate in the right tail."""
    j, below, mu = _floor(k, loc, mu)
    value = special.gammainc(fnp.add(j, 1), mu)
    return masked(fnp.greater_equal(mu, 0), fnp.logical_not(below), value, 1.0)


logcdf = log_of(cdf, "logcdf")

logsf = log_of(sf, "logsf")

numpy_results(globals())
