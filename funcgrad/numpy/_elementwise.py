"""Elementwise functions: NumPy's ufuncs, with its dtype rules."""

import math
import numbers

import numpy as np

from .. import primitives as P
from ..core import is_float
from ._base import _error, _to_float, asarray, operator_index, promote, result_type, shape
from ._shapes import broadcast_to

__all__ = [
    "negative",
    "exp",
    "log",
    "log1p",
    "tanh",
    "sin",
    "cos",
    "sqrt",
    "sinh",
    "cosh",
    "arcsinh",
    "abs",
    "absolute",
    "sign",
    "stop_gradient",
    "add",
    "subtract",
    "multiply",
    "divide",
    "true_divide",
    "maximum",
    "minimum",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "equal",
    "not_equal",
    "square",
    "reciprocal",
    "log2",
    "log10",
    "tan",
    "power",
    "where",
    "clip",
    "logical_not",
    "logical_and",
    "logical_or",
    "isnan",
    "isfinite",
]


def _unary(prim, floating=False):
    def fn(x):
        return prim(_to_float(x) if floating else asarray(x))

    fn.__name__ = prim.name
    fn.__doc__ = f"Elementwise ``{prim.name}`` (NumPy semantics)."
    return fn


def _binary(prim, name, floating=False):
    def fn(x, y):
        x, y = promote(x, y)
        if floating and not is_float(x.dtype):
            x, y = promote(x, y, dtype=np.float64)
        return prim(x, y)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}`` with broadcasting (NumPy semantics)."
    return fn


negative = _unary(P.neg)
exp = _unary(P.exp, floating=True)
log = _unary(P.log, floating=True)
log1p = _unary(P.log1p, floating=True)
tanh = _unary(P.tanh, floating=True)
sin = _unary(P.sin, floating=True)
cos = _unary(P.cos, floating=True)
sqrt = _unary(P.sqrt, floating=True)
sinh = _unary(P.sinh, floating=True)
cosh = _unary(P.cosh, floating=True)
arcsinh = _unary(P.arcsinh, floating=True)
abs = absolute = _unary(P.abs)
sign = _unary(P.sign)
stop_gradient = _unary(P.stop_gradient)

add = _binary(P.add, "add")
subtract = _binary(P.sub, "subtract")
multiply = _binary(P.mul, "multiply")
divide = true_divide = _binary(P.div, "divide", floating=True)
_float_power = _binary(P.pow, "power", floating=True)
maximum = _binary(P.max, "maximum")
minimum = _binary(P.min, "minimum")
greater = _binary(P.gt, "greater")
greater_equal = _binary(P.ge, "greater_equal")
less = _binary(P.lt, "less")
less_equal = _binary(P.le, "less_equal")
equal = _binary(P.eq, "equal")
not_equal = _binary(P.ne, "not_equal")


def square(x):
    """``x * x``."""
    return multiply(x, x)


def reciprocal(x):
    """``1 / x``."""
    return divide(1.0, x)


def log2(x):
    return divide(log(x), math.log(2.0))


def log10(x):
    return divide(log(x), math.log(10.0))


def tan(x):
    return divide(sin(x), cos(x))


def power(x, y):
    """``x ** y`` with broadcasting; integers to integer powers stay integers, as in NumPy."""
    dtype = result_type(x, y)
    if dtype.kind not in "iu":
        return _float_power(x, y)
    if isinstance(y, numbers.Integral):  # repeated squaring: exact, wraps like NumPy
        n = operator_index(y)
        if n < 0:
            raise _error(ValueError, "power: integers to negative integer powers are not allowed")
        x = asarray(x, dtype)
        out, result_shape = None, shape(x)
        while n:
            if n & 1:
                out = x if out is None else multiply(out, x)
            n >>= 1
            if n:
                x = multiply(x, x)
        return broadcast_to(np.ones((), dtype), result_shape) if out is None else out
    # Integer exponent arrays: through float64, rounded back (exact below 2**53).
    p = _float_power(asarray(x, np.float64), asarray(y, np.float64))
    return asarray(add(p, where(less(p, 0), -0.5, 0.5)), dtype)


def _power(x, y):
    # Small integer exponents as products: exact, and their gradient needs no log.
    if isinstance(y, numbers.Integral) and not isinstance(y, bool) and 1 <= y <= 4:
        out = x = asarray(x)
        for _ in range(y - 1):
            out = multiply(out, x)
        return out
    if isinstance(y, (float, int)) and y == 0.5:
        return sqrt(x)
    return power(x, y)


_MISSING = object()


def where(condition, x=_MISSING, y=_MISSING):
    """Elementwise ``x`` where ``condition`` else ``y`` (the traceable ``if``).
    With ``condition`` alone it is ``nonzero(condition)`` (host only).

    >>> where(np.array([True, False]), 1.0, 2.0)
    array([1., 2.])
    """
    if x is _MISSING and y is _MISSING:
        from ._indexing import _nonzero  # (indexing builds on this module)

        return _nonzero("where", condition)
    if x is _MISSING or y is _MISSING:
        raise _error(TypeError, "where: either both or neither of x and y should be given")
    condition = asarray(condition)
    if condition.dtype != np.bool_:
        condition = not_equal(condition, 0)
    x, y = promote(x, y)
    return P.select(condition, x, y)


def clip(x, a_min=None, a_max=None):
    """Limit ``x`` to ``[a_min, a_max]`` (either may be None)."""
    if a_min is not None:
        x = maximum(x, a_min)
    if a_max is not None:
        x = minimum(x, a_max)
    return asarray(x)


def logical_not(x):
    return equal(asarray(x, bool), False)


def logical_and(x, y):
    return where(x, asarray(y, bool), False)


def logical_or(x, y):
    return where(x, True, asarray(y, bool))


def isnan(x):
    return not_equal(x, x)


def isfinite(x):
    return logical_and(equal(x, x), less(absolute(x), np.inf))
