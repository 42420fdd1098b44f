"""The NumPy methods and operators of tracers (``x.sum()``, ``x @ w``, ``x[i]``)."""

from ..core import Tracer
from ._base import asarray, astype
from ._elementwise import (
    _power,
    absolute,
    add,
    clip,
    divide,
    equal,
    greater,
    greater_equal,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    multiply,
    negative,
    not_equal,
    power,
    subtract,
)
from ._indexing import diagonal, getitem, nonzero, take
from ._products import dot, matmul
from ._reductions import argmax, argmin, max, mean, min, std, sum, var
from ._shapes import _reshape_method, ravel, repeat, squeeze, swapaxes, transpose


def _install_tracer_methods():
    def flipped(fn):
        return lambda self, other: fn(other, self)

    methods = {
        "__add__": add,
        "__radd__": flipped(add),
        "__sub__": subtract,
        "__rsub__": flipped(subtract),
        "__mul__": multiply,
        "__rmul__": flipped(multiply),
        "__truediv__": divide,
        "__rtruediv__": flipped(divide),
        "__pow__": _power,
        "__rpow__": flipped(power),
        "__matmul__": matmul,
        "__rmatmul__": flipped(matmul),
        "__neg__": negative,
        "__pos__": asarray,
        "__abs__": absolute,
        "__lt__": less,
        "__le__": less_equal,
        "__gt__": greater,
        "__ge__": greater_equal,
        "__eq__": equal,
        "__ne__": not_equal,
        "__and__": logical_and,
        "__rand__": flipped(logical_and),
        "__or__": logical_or,
        "__ror__": flipped(logical_or),
        "__invert__": logical_not,
        "__getitem__": getitem,
        "reshape": _reshape_method,
        "transpose": lambda self, *axes: transpose(
            self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes or None
        ),
        "sum": sum,
        "mean": mean,
        "var": var,
        "std": std,
        "max": max,
        "min": min,
        "argmax": argmax,
        "argmin": argmin,
        "astype": astype,
        "squeeze": squeeze,
        "ravel": ravel,
        "flatten": ravel,
        "repeat": repeat,
        "diagonal": diagonal,
        "take": take,
        "nonzero": nonzero,
        "copy": asarray,  # tracers are immutable: a copy is the same value
        "swapaxes": swapaxes,
        "clip": clip,
        "dot": dot,
        "T": property(lambda self: transpose(self)),
    }
    for name, fn in methods.items():
        setattr(Tracer, name, fn)
    Tracer.__hash__ = None  # __eq__ is elementwise, as in NumPy


_install_tracer_methods()
