"""The binomial distribution, ``scipy.stats.binom`` (``n`` trials of probability ``p``),
differentiable in ``p`` (cdf and sf through the incomplete beta function in ``p``).

>>> import funcgrad.scipy.stats as fst
>>> round(float(fst.binom.pmf(1, 2, 0.5)), 6)
0.5
"""

import numpy as np

from ... import numpy as fnp
from ...numpy._base import numpy_results
from .. import special
from ._common import exp_of, log_of
from ._discrete import counts, masked

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"]


def _ok(n, p):
    whole = fnp.logical_and(fnp.equal(n, fnp.floor(n)), fnp.greater_equal(n, 0))
    return fnp.logical_and(whole, fnp.logical_and(fnp.greater_equal(p, 0), fnp.less_equal(p, 1)))


def logpmf(k, n, p, loc=0):
    """``log C(n, k) + k log(p) + (n - k) log(1 - p)`` at integers 0 <= k <= n."""
    k, whole, _, (n, p) = counts(k, loc, n, p)
    inside = fnp.logical_and(whole, fnp.less_equal(k, n))
    k = fnp.where(inside, k, 0).astype(k.dtype)
    choose = fnp.subtract(special.gammaln(fnp.add(n, 1)), special.gammaln(fnp.add(k, 1)))
    choose = fnp.subtract(choose, special.gammaln(fnp.add(fnp.subtract(n, k), 1)))
    value = fnp.add(choose, special.xlogy(k, p))
    value = fnp.add(value, special.xlog1py(fnp.subtract(n, k), fnp.negative(p)))
    return masked(_ok(n, p), inside, value, -np.inf)


pmf = exp_of(logpmf, "pmf")


def _between(k, n, p, loc):
    _, _, raw, (n, p) = counts(k, loc, n, p)
    j = fnp.floor(raw)
    inside = fnp.logical_and(fnp.greater_equal(j, 0), fnp.less(j, n))
    return fnp.where(inside, j, 0).astype(raw.dtype), inside, j, n, p


def cdf(k, n, p, loc=0):
    """``betainc(n - k, k + 1, 1 - p)`` for 0 <= k < n (floor of k); 0 below, 1 above."""
    j, inside, raw, n, p = _between(k, n, p, loc)
    value = special.betainc(fnp.subtract(n, j), fnp.add(j, 1), fnp.subtract(1, p))
    return masked(_ok(n, p), inside, value, fnp.where(fnp.less(raw, 0), 0.0, 1.0))


def sf(k, n, p, loc=0):
    """``betainc(k + 1, n - k, p)``, accurate in the right tail."""
    j, inside, raw, n, p = _between(k, n, p, loc)
    value = special.betainc(fnp.add(j, 1), fnp.subtract(n, j), p)
    return masked(_ok(n, p), inside, value, fnp.where(fnp.less(raw, 0), 1.0, 0.0))


logcdf = log_of(cdf, "logcdf")

logsf = log_of(sf, "logsf")

numpy_results(globals())
