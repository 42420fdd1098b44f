"""Elementwise functions: NumPy's ufuncs, with its dtype rules."""

import math
import numbers

import numpy as np

from .. import primitives as P
from ..core import is_float
from ..errors import DtypeError
from . import _base
from ._base import _error, _no_out, _to_float, asarray, operator_index, promote, result_type, shape
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
    "expm1",
    "exp2",
    "cbrt",
    "arcsin",
    "arccos",
    "arctan",
    "arctan2",
    "arccosh",
    "arctanh",
    "hypot",
    "logaddexp",
    "logaddexp2",
    "sinc",
    "deg2rad",
    "rad2deg",
    "radians",
    "degrees",
    "heaviside",
    "fabs",
    "copysign",
    "float_power",
    "floor",
    "ceil",
    "trunc",
    "fix",
    "rint",
    "round",
    "around",
    "fmod",
    "mod",
    "remainder",
    "floor_divide",
    "divmod",
    "nan_to_num",
    "isinf",
    "isposinf",
    "isneginf",
    "signbit",
    "logical_xor",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_not",
    "bitwise_invert",
    "invert",
    "left_shift",
    "right_shift",
    "bitwise_left_shift",
    "bitwise_right_shift",
    "positive",
    "conj",
    "conjugate",
    "real",
    "imag",
    "isclose",
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
    """``1 / x``; integers stay integers, as in NumPy (``1.0 / x`` cast back: 0 for
    ``|x| > 1``), bools become int8.

    >>> reciprocal(np.array([1, 2, -1]))
    array([ 1,  0, -1])
    """
    dtype = result_type(x)
    if dtype.kind in "iub":
        integer = np.dtype(np.int8) if dtype.kind == "b" else dtype
        return asarray(divide(1.0, asarray(x, np.float64)), integer)
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


def clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):
    """Limit ``a`` to ``[a_min, a_max]`` (either may be None; NumPy 2's ``min=`` and
    ``max=`` are the same bounds by keyword).

    >>> clip(np.array([-1.0, 0.5, 2.0]), min=0.0, max=1.0)
    array([0. , 0.5, 1. ])
    """
    _no_out("clip", out)
    if (min is not None or max is not None) and (a_min is not None or a_max is not None):
        raise _error(
            ValueError,
            "clip: passing `min` or `max` keyword argument when `a_min` and `a_max` are "
            "provided is forbidden",
        )
    if a_min is None and a_max is None:
        a_min, a_max = min, max
    x = a
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


# ---------------------------------------------------------------- transcendental and trig

expm1 = _unary(P.expm1, floating=True)
cbrt = _unary(P.cbrt, floating=True)


def _lit(value, like):
    """A scalar of ``like``'s dtype (the primitives take operands of one dtype)."""
    return np.array(value, dtype=like.dtype)


def _float_pair(x, y):
    """Two operands in the float type NumPy's ufuncs compute in (ints: the smallest float
    that holds them, float16 for 8 bits, float32 for 16, else float64)."""
    dtype = result_type(x, y)
    if not is_float(dtype):
        dtype = np.promote_types(dtype, np.float16)
    return promote(x, y, dtype=dtype)


def arctan2(x1, x2):
    """The angle of the point ``(x2, x1)``, in ``[-pi, pi]``.

    >>> arctan2(np.array([1.0, -1.0]), np.array([-1.0, -1.0])) / np.pi
    array([ 0.75, -0.75])
    """
    return P.arctan2(*_float_pair(x1, x2))


def arctan(x):
    """Elementwise arctangent, as ``arctan2(x, 1)``."""
    x = _to_float(x)
    return P.arctan2(x, _lit(1, x))


def _cos_of_arcsin(x):
    """sqrt(1 - x^2), as sqrt((1 - x)(1 + x)): exact near |x| = 1 where 1 - x*x is not."""
    one = _lit(1, x)
    return P.sqrt(P.mul(P.sub(one, x), P.add(one, x)))


def arcsin(x):
    """Elementwise arcsine (NaN outside [-1, 1])."""
    x = _to_float(x)
    return P.arctan2(x, _cos_of_arcsin(x))


def arccos(x):
    """Elementwise arccosine (NaN outside [-1, 1])."""
    x = _to_float(x)
    return P.arctan2(_cos_of_arcsin(x), x)


def arccosh(x):
    """Elementwise inverse hyperbolic cosine: log1p(t + sqrt(t (t + 2))) with t = x - 1
    (exact near 1), log(x) + log(2) for large x (where t * t would overflow)."""
    x = _to_float(x)
    big = greater(x, 1e8)  # beyond, the formulas agree to below float64's rounding
    t = subtract(where(big, 2.0, x), 1.0)  # (the unused branch is kept finite for grad)
    near = log1p(add(t, sqrt(multiply(t, add(t, 2.0)))))
    far = add(log(where(big, x, 2.0)), math.log(2.0))
    return where(big, far, where(less(x, 1.0), np.nan, near))  # (t * t overflows far below 1)


def _arctanh_positive(a):
    """0.5 * log1p(2a / (1 - a)) for a >= 0: no cancellation near 1 (it would lose digits
    near -1, hence the symmetry below)."""
    return multiply(0.5, log1p(divide(multiply(2.0, a), subtract(1.0, a))))


def arctanh(x):
    """Elementwise inverse hyperbolic tangent (odd, built from its accurate half)."""
    x = _to_float(x)
    negative_x = less(x, 0)
    return where(negative_x, negative(_arctanh_positive(negative(x))), _arctanh_positive(x))


def hypot(x1, x2):
    """``sqrt(x1**2 + x2**2)`` without overflow or underflow (scaled by the larger), inf
    where either is infinite (even with a NaN), as C's hypot."""
    x, y = _float_pair(x1, x2)
    ax, ay = absolute(x), absolute(y)
    big, small = maximum(ax, ay), minimum(ax, ay)
    zero = equal(big, 0)
    # (0/0 would poison the gradient at the origin, inf/inf warn: neither is divided)
    plain = logical_not(logical_or(zero, isinf(big)))
    ratio = divide(where(plain, small, 0.0), where(plain, big, 1.0))
    scaled = multiply(big, sqrt(add(1.0, multiply(ratio, ratio))))
    out = where(zero, 0.0, scaled)
    return where(logical_or(isinf(x), isinf(y)), np.inf, out)


def _logaddexp(x1, x2, base_log):
    x, y = _float_pair(x1, x2)
    # Equal operands (the infinities among them) take the tail log1p(1): inf - inf is NaN,
    # and is not computed (it would warn).
    same = equal(x, y)
    d = subtract(where(same, 0.0, x), where(same, 0.0, y))
    tail = exp(multiply(negative(absolute(d)), base_log))
    return add(maximum(x, y), divide(log1p(tail), base_log))


def logaddexp(x1, x2):
    """``log(exp(x1) + exp(x2))`` as max + log1p(exp(-|x1 - x2|)): no overflow, and at
    equal inputs (the infinities too) NumPy's values and an even split of the gradient.

    >>> logaddexp(np.array([1000.0, -np.inf]), np.array([1000.0, -np.inf]))
    array([1000.69314718,         -inf])
    """
    return _logaddexp(x1, x2, 1.0)


def logaddexp2(x1, x2):
    """``log2(2**x1 + 2**x2)``, as :func:`logaddexp` in base 2."""
    return _logaddexp(x1, x2, math.log(2.0))


def exp2(x):
    """``2**x`` (exact at integers, as libm's pow)."""
    x = _to_float(x)
    return P.pow(_lit(2, x), x)


def sinc(x):
    """``sin(pi x) / (pi x)``, 1 at 0; near 0 its Taylor series, so that every derivative
    is right there too."""
    x = asarray(x)
    x = x if is_float(x.dtype) else asarray(x, np.float64)  # (not a ufunc: float64, as NumPy)
    z = multiply(x, math.pi)
    near = less(absolute(z), 1e-3)  # z**6 / 5040 is below float64's rounding there
    safe = where(near, 1.0, z)
    z2 = multiply(where(near, z, 0.0), where(near, z, 0.0))  # (z**2 alone overflows: far)
    series = subtract(1.0, multiply(z2, subtract(1 / 6, divide(z2, 120.0))))
    return where(near, series, divide(sin(safe), safe))


def deg2rad(x):
    """Degrees to radians."""
    return multiply(_to_float(x), math.pi / 180.0)


def rad2deg(x):
    """Radians to degrees."""
    return multiply(_to_float(x), 180.0 / math.pi)


radians, degrees = deg2rad, rad2deg


def heaviside(x1, x2):
    """The step function: 0 below 0, ``x2`` at 0, 1 above (NaN stays NaN)."""
    x, h0 = _float_pair(x1, x2)
    step = where(equal(x, 0), h0, where(less(x, 0), _lit(0, x), _lit(1, x)))
    return where(isnan(x), x, step)


def fabs(x):
    """Absolute value as a float (ints convert, as NumPy's fabs)."""
    return absolute(_to_float(x))


def copysign(x1, x2):
    """``|x1|`` with the sign of ``x2`` (the sign bit: -0.0 and -nan count as negative)."""
    return P.copysign(*_float_pair(x1, x2))


def float_power(x1, x2):
    """``x1 ** x2`` computed in float64 at least (as NumPy's float_power)."""
    dtype = np.promote_types(result_type(x1, x2), np.float64)
    return P.pow(*promote(x1, x2, dtype=dtype))


# ---------------------------------------------------------------- rounding (zero gradient)


def _rounding(name, float_fn, doc):
    def fn(x):
        x = asarray(x)
        return float_fn(x) if is_float(x.dtype) else x  # integers are their own rounding

    fn.__name__ = name
    fn.__doc__ = doc + " Integers and bools pass through (NumPy 2). Zero gradient."
    return fn


def _ceil(x):
    return negative(P.floor(negative(x)))


def _trunc(x):
    return where(less(x, 0), _ceil(x), P.floor(x))


floor = _rounding("floor", P.floor, "The largest integer not above ``x``.")
ceil = _rounding("ceil", _ceil, "The smallest integer not below ``x``.")
trunc = _rounding("trunc", _trunc, "``x`` rounded towards zero.")
fix = _rounding("fix", _trunc, "``x`` rounded towards zero (as trunc).")


def rint(x):
    """``x`` rounded to the nearest integer, halves to even (ints become floats, as
    NumPy's rint). Zero gradient."""
    return P.rint(_to_float(x))


def round(a, decimals=0, out=None):
    """``a`` rounded to ``decimals`` decimals, halves to even, computed as NumPy does
    (``rint(a * 10**decimals) / 10**decimals``). Zero gradient.

    >>> round(np.array([0.5, 1.5, 2.675]), 2), round(np.array([1250, 1350]), -2)
    (array([0.5 , 1.5 , 2.68]), array([1200, 1400]))
    """
    _no_out("round", out)
    a = asarray(a)
    decimals = operator_index(decimals)
    if not is_float(a.dtype):
        if decimals >= 0:
            return a
        f = 10.0**-decimals
        return asarray(multiply(P.rint(divide(asarray(a, np.float64), f)), f), a.dtype)
    if decimals >= 0:
        f = 10.0**decimals
        return divide(P.rint(multiply(a, f)), f)
    f = 10.0**-decimals
    return multiply(P.rint(divide(a, f)), f)


around = round


# ---------------------------------------------------------------- division and remainder


def _division_pair(name, x1, x2):
    """Operands of a division-like ufunc: one dtype, bools as int8 (NumPy's loops)."""
    x, y = promote(x1, x2)
    if x.dtype == np.bool_:
        x, y = promote(x, y, dtype=np.int8)
    if x.dtype.kind not in "fiu":
        raise _error(DtypeError, f"{name}: not supported for {x.dtype.name} operands")
    return x, y


def fmod(x1, x2):
    """C's remainder: the sign of the dividend (exact). Integers: 0 for a zero divisor."""
    return P.fmod(*_division_pair("fmod", x1, x2))


def _zero_like_sign(of, like):
    return P.copysign(_lit(0, like), of)


def _float_divmod(x, y):
    """(floor_divide, remainder) of floats as NumPy computes them (npy_divmod): C's fmod,
    its sign moved to the divisor's, and the quotient snapped to the nearest integer."""
    mod = P.fmod(x, y)
    div = divide(subtract(x, mod), y)
    nonzero = not_equal(mod, 0)
    adjust = logical_and(nonzero, not_equal(less(y, 0), less(mod, 0)))
    rem = where(adjust, add(mod, y), where(nonzero, mod, _zero_like_sign(y, mod)))
    div = where(adjust, subtract(div, 1.0), div)
    whole = P.floor(div)
    snapped = add(whole, asarray(greater(subtract(div, whole), 0.5), div.dtype))
    quotient = where(not_equal(div, 0), snapped, _zero_like_sign(divide(x, y), div))
    by_zero = equal(y, 0)  # (fmod and x / y give NumPy's NaN and infinities there)
    return where(by_zero, divide(x, y), quotient), where(by_zero, mod, rem)


def _int_divmod(x, y):
    """Integer floor division and remainder: C's truncating ones, moved down by one where
    the remainder's sign differs from the divisor's; 0 for a zero divisor (NumPy's)."""
    mod = P.fmod(x, y)
    adjust = logical_and(not_equal(mod, 0), not_equal(less(y, 0), less(mod, 0)))
    quotient = subtract(P.int_div(x, y), asarray(adjust, x.dtype))
    return quotient, where(adjust, add(mod, y), mod)


def divmod(x1, x2):
    """``(floor_divide(x1, x2), remainder(x1, x2))``; the quotient has zero gradient.

    >>> divmod(np.array([7.0, -7.0]), 2.0)
    (array([ 3., -4.]), array([1., 1.]))
    """
    x, y = _division_pair("divmod", x1, x2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # (NumPy's: silent)
        quotient, rem = (_float_divmod if is_float(x.dtype) else _int_divmod)(x, y)
    return P.stop_gradient(quotient), rem


def remainder(x1, x2):
    """Python's ``%``: the remainder with the sign of the divisor (NumPy's values, -0.0
    included). Gradient 1 in ``x1`` and ``-floor(x1 / x2)`` in ``x2``."""
    return divmod(x1, x2)[1]


def floor_divide(x1, x2):
    """Python's ``//`` (NumPy's values; integers: 0 for a zero divisor). Zero gradient."""
    return divmod(x1, x2)[0]


mod = remainder


# ---------------------------------------------------------------- predicates


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN to ``nan``, infinities to ``posinf``/``neginf`` (by default the largest finite
    values of the dtype); other values (and integers) unchanged."""
    x = asarray(x)
    if not is_float(x.dtype):
        return x
    info = np.finfo(x.dtype)
    top = float(info.max) if posinf is None else posinf
    bottom = float(info.min) if neginf is None else neginf
    x = where(isnan(x), nan, x)
    return where(equal(x, np.inf), top, where(equal(x, -np.inf), bottom, x))


def isinf(x):
    """Whether ``x`` is +inf or -inf."""
    x = asarray(x)
    return equal(absolute(x), np.inf) if is_float(x.dtype) else not_equal(x, x)


def isposinf(x):
    """Whether ``x`` is +inf."""
    x = asarray(x)
    return equal(x, np.inf) if is_float(x.dtype) else not_equal(x, x)


def isneginf(x):
    """Whether ``x`` is -inf."""
    x = asarray(x)
    return equal(x, -np.inf) if is_float(x.dtype) else not_equal(x, x)


def signbit(x):
    """Whether the sign bit is set (true for -0.0 and negative NaNs too)."""
    x = asarray(x)
    if not is_float(x.dtype):
        return less(x, 0)
    return less(P.copysign(_lit(1, x), x), 0)


def logical_xor(x1, x2):
    """Elementwise exclusive or of the truth values."""
    return not_equal(asarray(x1, bool), asarray(x2, bool))


# ---------------------------------------------------------------- bitwise (integers, bools)


def _bitwise(prim, name, bools=True):
    """A bitwise ufunc: integers (the integer kernels); bools logically where NumPy does
    (and, or, xor), as int8 where it computes them so (shifts)."""

    def fn(x1, x2):
        x, y = promote(x1, x2)
        if x.dtype == np.bool_ and not bools:
            x, y = promote(x, y, dtype=np.int8)
        if x.dtype.kind not in "biu":
            raise _error(
                DtypeError, f"{name}: not supported for {x.dtype.name} operands (integers only)"
            )
        return prim(x, y)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}`` of integers or bools (NumPy semantics)."
    return fn


bitwise_and = _bitwise(P.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(P.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(P.bitwise_xor, "bitwise_xor")
left_shift = bitwise_left_shift = _bitwise(P.left_shift, "left_shift", bools=False)
right_shift = bitwise_right_shift = _bitwise(P.right_shift, "right_shift", bools=False)


def invert(x):
    """Bitwise not: ``~x`` (logical not for bools)."""
    x = asarray(x)
    if x.dtype == np.bool_:
        return logical_not(x)
    if x.dtype.kind not in "iu":
        raise _error(DtypeError, f"invert: not supported for {x.dtype.name} (integers only)")
    return P.bitwise_xor(x, np.array(-1).astype(x.dtype))  # (all bits set: -1 wraps)


bitwise_not = bitwise_invert = invert


# ---------------------------------------------------------------- real-valued identities


def positive(x):
    """``+x`` (refuses bools, as NumPy)."""
    x = asarray(x)
    if x.dtype == np.bool_:
        raise _error(DtypeError, "positive: not supported for bool arrays")
    return x


def conj(x):
    """The complex conjugate: ``x`` itself for real arrays."""
    return asarray(x)


conjugate = conj


def real(val):
    """The real part: ``val`` itself for real arrays; a Python number's ``.real``, as
    NumPy's (which reads the attribute)."""
    return val.real if _is_python_number(val) else asarray(val)


def imag(val):
    """The imaginary part: zeros for real arrays; a Python number's ``.imag``."""
    if _is_python_number(val):
        return val.imag
    x = asarray(val)
    return broadcast_to(np.zeros((), x.dtype), shape(x))


def _is_python_number(x):
    return type(x) in (bool, int, float, complex)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|a - b| <= atol + rtol * |b|`` elementwise (equal infinities are close)."""
    dtype = np.result_type(result_type(b), 1.0)
    y = asarray(b, dtype)
    finite = logical_and(isfinite(a), isfinite(y))  # (others: compared, not subtracted)
    a_, y_ = where(finite, a, 0), where(finite, y, 0)
    within = less_equal(absolute(subtract(a_, y_)), add(atol, multiply(rtol, absolute(y_))))
    close = logical_or(logical_and(within, finite), equal(a, y))
    return logical_or(close, logical_and(isnan(a), isnan(y))) if equal_nan else close


_base.numpy_results(globals())
