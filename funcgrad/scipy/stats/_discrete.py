"""What the discrete distributions share: the support (integers k, shifted by ``loc``)."""

import numpy as np

from ... import numpy as fnp
from ._common import floats


def counts(k, loc, *params):
    """``(k - loc, on_support, params...)`` in one float dtype: ``on_support`` is the integers
    at or above 0; off it, k is replaced by 0 (so that no log of a negative is taken)."""
    k, loc, *params = floats(k, loc, *params)
    k = fnp.subtract(k, loc)
    whole = fnp.logical_and(fnp.equal(k, fnp.floor(k)), fnp.greater_equal(k, 0))
    return fnp.where(whole, k, 0).astype(k.dtype), whole, k, params


def masked(ok, on_support, value, off):
    """``value`` on the support, ``off`` elsewhere, NaN where the parameters are invalid."""
    out = fnp.where(on_support, value, off).astype(value.dtype)
    return fnp.where(ok, out, np.nan).astype(value.dtype)
