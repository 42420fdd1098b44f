"""Set operations. ``isin`` traces (a comparison against concrete test values); the
others return arrays whose length depends on the values, so they take concrete arrays."""

import numpy as np

from ..core import Tracer
from ._base import asarray, shape
from ._elementwise import equal, not_equal
from ._indexing import _host_argument, host_function
from ._reductions import sum
from ._shapes import reshape

__all__ = ["intersect1d", "isin", "setdiff1d", "setxor1d", "union1d"]


def isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    """Whether each element of ``element`` is in ``test_elements`` (which must be concrete).

    >>> isin(np.array([1, 2, 3]), [2, 5])
    array([False,  True, False])
    """
    test = _host_argument("isin's test_elements", test_elements, "concrete test values")
    element = asarray(element)
    if not isinstance(element, Tracer):
        return np.isin(element, test, assume_unique, invert, kind=kind)
    test = np.unique(test.ravel())
    hits = sum(equal(reshape(element, shape(element) + (1,)), test), axis=-1)
    return equal(hits, 0) if invert else not_equal(hits, 0)


_INSTEAD = "fnp.isin for membership tests, which traces"
intersect1d = host_function("intersect1d", _INSTEAD)
union1d = host_function("union1d", _INSTEAD)
setdiff1d = host_function("setdiff1d", _INSTEAD)
setxor1d = host_function("setxor1d", _INSTEAD)
