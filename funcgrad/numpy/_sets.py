"""Set operations. ``isin`` traces (a comparison against concrete test values); the
others return arrays whose length depends on the values, so they take concrete arrays."""

import numpy as np

from ..core import Tracer
from ..errors import ConcretizationError
from ._base import _error, asarray, shape
from ._elementwise import equal, not_equal
from ._reductions import sum
from ._shapes import reshape

__all__ = ["intersect1d", "isin", "setdiff1d", "setxor1d", "union1d"]


def _concrete(name, *arrays):
    if any(isinstance(a, Tracer) for a in arrays):
        raise _error(
            ConcretizationError,
            f"{name} returns an array whose length depends on the values, and it has no "
            "gradient: call it on concrete arrays (outside the transformed function, or "
            "on arguments that are not differentiated)",
        )
    return [np.asarray(a) for a in arrays]


def isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    """Whether each element of ``element`` is in ``test_elements`` (which must be concrete).

    >>> isin(np.array([1, 2, 3]), [2, 5])
    array([False,  True, False])
    """
    (test,) = _concrete("isin's test_elements", test_elements)
    element = asarray(element)
    if not isinstance(element, Tracer):
        return np.isin(element, test, assume_unique, invert, kind=kind)
    test = np.unique(test.ravel())
    hits = sum(equal(reshape(element, shape(element) + (1,)), test), axis=-1)
    return equal(hits, 0) if invert else not_equal(hits, 0)


def _host(name):
    np_fn = getattr(np, name)

    def fn(*arrays, **kwargs):
        return np_fn(*_concrete(name, *arrays), **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"NumPy's ``{name}`` on concrete arrays (its output length depends on the values)."
    return fn


intersect1d = _host("intersect1d")
union1d = _host("union1d")
setdiff1d = _host("setdiff1d")
setxor1d = _host("setxor1d")
