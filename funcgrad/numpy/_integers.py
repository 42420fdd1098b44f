"""Number theory on integer arrays: gcd and lcm (NumPy's ufuncs; no gradient)."""

import numpy as np

from ..core import Tracer
from . import _base
from ._base import _error, promote
from ._elementwise import absolute, equal, floor_divide, multiply, not_equal, remainder, where

__all__ = ["gcd", "lcm"]

# Euclid's algorithm takes the most steps on consecutive Fibonacci numbers: at most this
# many for operands of each width, so a traced gcd is that many (fused) steps.
_EUCLID_STEPS = {1: 12, 2: 24, 4: 47, 8: 93}


def _integers(name, x1, x2):
    x1, x2 = promote(x1, x2)
    if x1.dtype.kind not in "iu":  # (bools too, as NumPy)
        raise _error(TypeError, f"{name}: expected integer arrays, got {x1.dtype.name}")
    return x1, x2


def gcd(x1, x2):
    """The greatest common divisor of ``|x1|`` and ``|x2|``, elementwise.

    >>> gcd(np.array([12, 20, 0]), np.array([18, -8, 5]))
    array([6, 4, 5])
    """
    if not isinstance(x1, Tracer) and not isinstance(x2, Tracer):
        return np.gcd(x1, x2)
    a, b = (absolute(x) for x in _integers("gcd", x1, x2))
    for _ in range(_EUCLID_STEPS[a.dtype.itemsize]):
        live = not_equal(b, 0)
        a, b = where(live, b, a), where(live, remainder(a, where(live, b, 1)), 0)
    return a


def lcm(x1, x2):
    """The least common multiple of ``|x1|`` and ``|x2|``, elementwise (0 if either is 0).

    >>> lcm(np.array([4, 6, 0]), np.array([6, -4, 3]))
    array([12, 12,  0])
    """
    if not isinstance(x1, Tracer) and not isinstance(x2, Tracer):
        return np.lcm(x1, x2)
    a, b = (absolute(x) for x in _integers("lcm", x1, x2))
    g = gcd(a, b)
    return where(equal(g, 0), 0, multiply(floor_divide(a, where(equal(g, 0), 1, g)), b))


_base.numpy_results(globals())
