"""NumPy's ufunc methods on fnp's binary functions: ``fnp.add.outer(a, b)``,
``fnp.multiply.reduce(x, axis=0)``, ``fnp.logaddexp.reduce``, ``fnp.add.accumulate``.
Reductions and scans with a primitive or a composite behind them use it (add.reduce is
sum); any other binary function folds along the axis, one step per element."""

import numpy as np

from .. import primitives as P
from ._base import _error, _keep, _normalize_axis, _to_float, asarray, numpy_typed, shape
from ._elementwise import (
    add,
    arctan2,
    bitwise_and,
    bitwise_or,
    bitwise_xor,
    copysign,
    divide,
    equal,
    floor_divide,
    fmod,
    greater,
    greater_equal,
    heaviside,
    hypot,
    left_shift,
    less,
    less_equal,
    logaddexp,
    logaddexp2,
    logical_and,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    multiply,
    not_equal,
    power,
    remainder,
    right_shift,
    subtract,
)
from ._floating import fmax, fmin, ldexp
from ._joins import unstack
from ._reductions import all, any, cumprod, cumsum, max, min, prod, sum
from ._shapes import broadcast_to, moveaxis, reshape, stack


def _logsumexp(x, axis):
    x = _to_float(x)
    return P.logsumexp(x, axes=(axis,)) if shape(x)[axis] else sum(x, axis=axis)


def _logsumexp2(x, axis):
    return divide(_logsumexp(multiply(_to_float(x), 0.6931471805599453), axis), 0.6931471805599453)


_REDUCE = {
    add: sum,
    multiply: prod,
    maximum: max,
    minimum: min,
    logical_and: all,
    logical_or: any,
    logaddexp: lambda x, axis: _logsumexp(x, axis),
    logaddexp2: lambda x, axis: _logsumexp2(x, axis),
}
_ACCUMULATE = {add: cumsum, multiply: cumprod}


def _methods(fn):
    def outer(a, b):
        """``f(a[i, ..., None...], b[j, ...])`` over every pair of elements."""
        a, b = asarray(a), asarray(b)
        return fn(reshape(a, shape(a) + (1,) * len(shape(b))), b)

    def reduce(array, axis=0, dtype=None, out=None, keepdims=False):
        """The function folded along ``axis`` (NumPy's default 0; None: all axes)."""
        if out is not None:
            raise _error(TypeError, f"{fn.__name__}.reduce: out= is not supported")
        x = original = asarray(array, dtype)
        if axis is None:
            x, axis, kept = reshape(x, (-1,)), 0, tuple(range(x.ndim))
        else:
            axis = _normalize_axis(f"{fn.__name__}.reduce", axis, x.ndim)
            kept = (axis,)
        folded = _REDUCE[fn](x, axis=axis) if fn in _REDUCE else _fold(fn, x, axis)
        return _keep(original, folded, kept, keepdims)

    def accumulate(array, axis=0, dtype=None, out=None):
        """The running fold along ``axis``: ``out[i] = f(out[i-1], x[i])``."""
        if out is not None:
            raise _error(TypeError, f"{fn.__name__}.accumulate: out= is not supported")
        x = asarray(array, dtype)
        axis = _normalize_axis(f"{fn.__name__}.accumulate", axis, x.ndim)
        if fn in _ACCUMULATE:
            return _ACCUMULATE[fn](x, axis=axis)
        rows = unstack(x, axis=axis)
        running = list(rows[:1])
        for row in rows[1:]:
            running.append(fn(running[-1], row))
        return moveaxis(stack(running), 0, axis) if running else x

    for method in (outer, reduce, accumulate):
        method.__name__ = f"{fn.__name__}.{method.__name__}"
        setattr(fn, method.__name__.split(".")[-1], numpy_typed(method))


def _fold(fn, x, axis):
    rows = unstack(x, axis=axis)
    identity = getattr(np, fn.__name__).identity
    if not rows and identity is not None:
        rest = shape(x)[:axis] + shape(x)[axis + 1 :]
        return broadcast_to(np.array(identity, x.dtype), rest)
    if not rows:
        raise _error(
            ValueError,
            f"zero-size array to reduction operation {fn.__name__} which has no identity",
        )
    out = rows[0]
    for row in rows[1:]:
        out = fn(out, row)
    return out


for _fn in (
    add, subtract, multiply, divide, floor_divide, remainder, fmod, power, maximum, minimum,
    fmax, fmin, logaddexp, logaddexp2, hypot, arctan2, copysign, heaviside, ldexp,
    logical_and, logical_or, logical_xor, bitwise_and, bitwise_or, bitwise_xor, left_shift,
    right_shift, equal, not_equal, less, less_equal, greater, greater_equal,
):  # fmt: skip
    _methods(_fn)
