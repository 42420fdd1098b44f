"""What the distributions share: operands in one float dtype, standardizing by ``loc`` and
``scale``, NaN for invalid parameters (SciPy's convention), masked log densities, and the
methods made of others (pdf = exp(logpdf), logcdf = log(cdf), cdf(z) of a standard form)."""

import functools

import numpy as np

from ... import numpy as fnp
from ...numpy._base import _dtype, asarray


def floats(*xs):
    """Operands in one float dtype: the float operands' (integers, such as counts, do not
    widen float32 to float64; with no float operand, float64)."""
    kinds = [x for x in xs if _dtype(x).kind == "f"]
    dtype = fnp.result_type(*kinds) if kinds else np.dtype(np.float64)
    return [asarray(x, dtype) for x in xs]


def valid(ok, value):
    """``value`` where the parameters are valid (``ok``), NaN elsewhere."""
    return fnp.where(ok, value, np.nan).astype(value.dtype)


def standardize(x, loc, scale, *shapes):
    """``(z, scale, shapes)``: ``z = (x - loc) / scale`` and the other operands in one
    dtype; a scale <= 0 is NaN (so is every result, as SciPy's)."""
    x, loc, scale, *shapes = floats(x, loc, scale, *shapes)
    scale = valid(fnp.greater(scale, 0), scale)
    return fnp.divide(fnp.subtract(x, loc), scale), scale, shapes


def where_inside(inside, value, outside):
    """``value`` on the support, ``outside`` (a constant: -inf, 0 or 1) elsewhere, keeping
    NaN from invalid parameters."""
    return fnp.where(fnp.logical_or(inside, fnp.isnan(value)), value, outside).astype(value.dtype)


def log1mexp(x):
    """``log(1 - exp(x))`` for x <= 0, accurate at both ends (Maechler 2012)."""
    near = fnp.greater(x, -np.log(2.0))
    xn, xf = fnp.where(near, x, -1.0), fnp.where(near, -1.0, x)
    return fnp.where(
        near, fnp.log(fnp.negative(fnp.expm1(xn))), fnp.log1p(fnp.negative(fnp.exp(xf)))
    )


def _named(fn, name, doc):
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def of_standard(name, standard, negate=False):
    """``name(x, loc=0, scale=1)``: ``standard`` of z = (x - loc) / scale (of -z: ``negate``)."""

    def method(x, loc=0, scale=1):
        z = standardize(x, loc, scale)[0]
        return standard(fnp.negative(z) if negate else z)

    arg = "-z" if negate else "z"
    return _named(method, name, f"``{standard.__name__}({arg})``, z = (x - loc) / scale.")


def _composed(outer, fn, name):
    @functools.wraps(fn)  # (SciPy's parameter names, read from fn's signature)
    def method(*args, **kwargs):
        return outer(fn(*args, **kwargs))

    return _named(method, name, f"``{outer.__name__}({fn.__name__})``.")


def exp_of(fn, name):
    """The method ``exp(fn(...))`` (pdf from logpdf), taking fn's arguments."""
    return _composed(fnp.exp, fn, name)


def log_of(fn, name):
    """The method ``log(fn(...))`` (logcdf from cdf), taking fn's arguments."""
    return _composed(fnp.log, fn, name)
