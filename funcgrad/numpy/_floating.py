"""Floating-point decomposition and NaN-aware choices: frexp, ldexp, modf, fmax, fmin;
the real-input cases of angle and the complex predicates."""

import numpy as np

from . import _base
from ._base import _error, _to_float, asarray, promote, result_type, shape
from ._elementwise import (
    absolute,
    add,
    copysign,
    equal,
    exp2,
    floor,
    greater_equal,
    isfinite,
    isinf,
    isnan,
    less,
    log2,
    logical_and,
    logical_not,
    maximum,
    minimum,
    multiply,
    negative,
    signbit,
    subtract,
    trunc,
    where,
)
from ._shapes import broadcast_to

__all__ = [
    "angle",
    "fmax",
    "fmin",
    "frexp",
    "iscomplex",
    "iscomplexobj",
    "isreal",
    "isrealobj",
    "ldexp",
    "modf",
    "real_if_close",
]


def _nan_aware(choose, name):
    def fn(x1, x2):
        x1, x2 = promote(x1, x2)
        return where(isnan(x2), x1, where(isnan(x1), x2, choose(x1, x2)))

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}``, ignoring NaNs (NaN only where both are NaN)."
    return fn


fmax = _nan_aware(maximum, "fmax")
fmin = _nan_aware(minimum, "fmin")


def ldexp(x1, x2):
    """``x1 * 2**x2`` for integer ``x2``, exact (the float dtype of ``x1``).

    >>> ldexp(np.array([1.0, 3.0]), np.array([2, -1]))
    array([4. , 1.5])
    """
    if result_type(x2).kind not in "biu":
        raise _error(TypeError, "ldexp: the exponent x2 must be an integer array")
    x1 = _to_float(x1)
    return multiply(x1, asarray(exp2(asarray(x2, np.float64)), x1.dtype))


def frexp(x):
    """``(mantissa, exponent)`` with ``x = mantissa * 2**exponent`` and
    ``0.5 <= |mantissa| < 1`` (0, inf and NaN: themselves and exponent 0), as NumPy.

    >>> frexp(np.array([8.0, -0.75, 0.0]))
    (array([ 0.5 , -0.75,  0.  ]), array([4, 0, 0], dtype=int32))
    """
    x = _to_float(x)
    finite = logical_and(isfinite(x), logical_not(equal(x, 0)))
    a = where(finite, absolute(x), 1.0)
    e = add(floor(log2(a)), 1.0)
    # log2 can be off by one next to a power of two: correct e so that 0.5 <= |x|/2**e < 1
    m = _scale(a, negative(e))
    e = where(greater_equal(m, 1.0), add(e, 1.0), where(less(m, 0.5), subtract(e, 1.0), e))
    e = where(finite, e, 0.0)
    mantissa = where(finite, _scale(x, negative(e)), x)
    return mantissa, asarray(e, np.int32)


def _scale(x, n):
    """``x * 2**n`` in two steps: 2**n alone over- or underflows for subnormal ``x``."""
    half = floor(multiply(n, 0.5))
    return multiply(multiply(x, exp2(half)), exp2(subtract(n, half)))


def modf(x):
    """``(fractional part, integral part)``, both with the sign of ``x``.

    >>> modf(np.array([2.5, -1.25]))
    (array([ 0.5 , -0.25]), array([ 2., -1.]))
    """
    x = _to_float(x)
    finite = where(isinf(x), 0.0, x)  # (inf - inf would warn; its fraction is a signed 0)
    return copysign(subtract(finite, trunc(finite)), x), trunc(x)


def angle(z, deg=False):
    """The argument of ``z``; for real ``z``: 0 where ``z >= 0``, pi where it is negative.

    >>> angle(np.array([2.0, -1.0]))
    array([0.        , 3.14159265])
    """
    z = _real(z, "angle")
    half_turn = 180.0 if deg else np.pi
    if z.dtype.kind != "f":
        return where(less(z, 0), half_turn, 0.0)
    # (-0.0 is a half turn, as arctan2(0, -0.0) is)
    return asarray(where(isnan(z), z, where(signbit(z), half_turn, 0.0)), z.dtype)


def _real(x, name):
    x = asarray(x)
    if x.dtype.kind == "c":
        raise _error(TypeError, f"{name}: complex arrays are not supported yet")
    return x


def iscomplex(x):
    """False everywhere for a real array (complex arrays are not supported yet)."""
    x = _real(x, "iscomplex")
    return broadcast_to(np.zeros((), bool), shape(x))


def isreal(x):
    """True everywhere for a real array (complex arrays are not supported yet); a Python
    bool for a Python number, as NumPy's (``imag(x) == 0``)."""
    if type(x) in (bool, int, float):
        return True
    x = _real(x, "isreal")
    return broadcast_to(np.ones((), bool), shape(x))


def iscomplexobj(x):
    return result_type(x).kind == "c"


def isrealobj(x):
    return not iscomplexobj(x)


def real_if_close(a, tol=100):
    """``a`` itself for a real array, as NumPy (which drops imaginary parts near 0)."""
    return _real(a, "real_if_close")


_base.numpy_results(globals())
