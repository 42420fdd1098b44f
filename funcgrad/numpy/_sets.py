"""Set operations. ``isin`` traces (a binary search in the concrete test values); the
others return arrays whose length depends on the values, so they take concrete arrays."""

import numpy as np

from ..core import Tracer
from . import _base
from ._base import asarray, result_type, shape
from ._elementwise import equal, logical_not, minimum
from ._indexing import _host_argument, host_function, take
from ._shapes import broadcast_to
from ._sorting import searchsorted

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
    test = np.unique(test.ravel())  # sorted: a binary search per element
    if test.size == 0:
        return broadcast_to(np.array(invert), shape(element))
    test = asarray(test, result_type(element, test))
    at = minimum(searchsorted(test, element), test.size - 1)
    hit = equal(take(test, at), element)
    return logical_not(hit) if invert else hit


_INSTEAD = "fnp.isin for membership tests, which traces"
intersect1d = host_function("intersect1d", _INSTEAD)
union1d = host_function("union1d", _INSTEAD)
setdiff1d = host_function("setdiff1d", _INSTEAD)
setxor1d = host_function("setxor1d", _INSTEAD)


_base.numpy_results(globals())
