"""The Bernoulli distribution, ``scipy.stats.bernoulli`` (``p`` of a 1), differentiable
in ``p``.

>>> import funcgrad.scipy.stats as fst
>>> float(fst.bernoulli.pmf(1, 0.25))
0.25
"""

import numpy as np

from ... import numpy as fnp
from ...numpy._base import numpy_results
from .. import special
from ._common import exp_of, log_of
from ._discrete import counts, masked

__all__ = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"]


def _ok(p):
    return fnp.logical_and(fnp.greater_equal(p, 0), fnp.less_equal(p, 1))


def logpmf(k, p, loc=0):
    """``k log(p) + (1 - k) log(1 - p)`` at k in {0, 1}, -inf elsewhere."""
    k, whole, _, (p,) = counts(k, loc, p)
    one = fnp.less_equal(k, 1)
    k = fnp.where(one, k, 0).astype(k.dtype)
    value = fnp.add(special.xlogy(k, p), special.xlog1py(fnp.subtract(1, k), fnp.negative(p)))
    return masked(_ok(p), fnp.logical_and(whole, one), value, -np.inf)


pmf = exp_of(logpmf, "pmf")


def cdf(k, p, loc=0):
    """0 below 0, ``1 - p`` on [0, 1), 1 from 1."""
    _, _, k, (p,) = counts(k, loc, p)
    value = fnp.where(fnp.less(k, 0), 0.0, fnp.where(fnp.less(k, 1), fnp.subtract(1, p), 1.0))
    return masked(_ok(p), True, value.astype(p.dtype), 0.0)


def sf(k, p, loc=0):
    _, _, k, (p,) = counts(k, loc, p)
    value = fnp.where(fnp.less(k, 0), 1.0, fnp.where(fnp.less(k, 1), p, 0.0))
    return masked(_ok(p), True, value.astype(p.dtype), 0.0)


logcdf = log_of(cdf, "logcdf")

logsf = log_of(sf, "logsf")

numpy_results(globals())
