"""The NumPy methods and operators of tracers (``x.sum()``, ``x @ w``, ``x[i]``)."""

from ..core import Tracer
from ._base import _error, asarray, astype
from ._elementwise import (
    _power,
    absolute,
    add,
    bitwise_and,
    bitwise_or,
    bitwise_xor,
    clip,
    conj,
    divide,
    divmod,
    equal,
    floor_divide,
    greater,
    greater_equal,
    imag,
    invert,
    left_shift,
    less,
    less_equal,
    multiply,
    negative,
    not_equal,
    positive,
    power,
    remainder,
    right_shift,
    round,
    subtract,
)
from ._indexing import diagonal, getitem, nonzero, take
from ._products import dot, matmul
from ._reductions import (
    all,
    any,
    argmax,
    argmin,
    cumprod,
    cumsum,
    max,
    mean,
    min,
    prod,
    std,
    sum,
    trace,
    var,
)
from ._shapes import _reshape_method, ravel, repeat, squeeze, swapaxes, transpose
from ._sorting import argsort


def _transpose_method(self, *axes):
    """``x.transpose()``, ``x.transpose(1, 0)``, ``x.transpose((1, 0))`` and NumPy's
    ``np.transpose(x)``, which calls ``x.transpose(None)``."""
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        axes = axes[0]
    return transpose(self, axes or None)


def _setitem(self, index, value):
    raise _error(
        TypeError,
        "a traced array does not support item assignment (x[i] = v): arrays are immutable "
        "inside grad/jit/vmap; build the new array instead, e.g. fnp.where(mask, v, x) with "
        "a boolean mask of the positions, or fnp.concatenate of the pieces",
    )


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
        "__mod__": remainder,
        "__rmod__": flipped(remainder),
        "__floordiv__": floor_divide,
        "__rfloordiv__": flipped(floor_divide),
        "__divmod__": divmod,
        "__rdivmod__": flipped(divmod),
        "__pos__": positive,
        "__abs__": absolute,
        "__lt__": less,
        "__le__": less_equal,
        "__gt__": greater,
        "__ge__": greater_equal,
        "__eq__": equal,
        "__ne__": not_equal,
        # bitwise for integers, logical for bools, as NumPy's operators
        "__and__": bitwise_and,
        "__rand__": flipped(bitwise_and),
        "__or__": bitwise_or,
        "__ror__": flipped(bitwise_or),
        "__xor__": bitwise_xor,
        "__rxor__": flipped(bitwise_xor),
        "__lshift__": left_shift,
        "__rlshift__": flipped(left_shift),
        "__rshift__": right_shift,
        "__rrshift__": flipped(right_shift),
        "__invert__": invert,
        "__getitem__": getitem,
        "__setitem__": _setitem,
        "reshape": _reshape_method,
        "transpose": _transpose_method,
        "sum": sum,
        "mean": mean,
        "var": var,
        "std": std,
        "max": max,
        "min": min,
        "argmax": argmax,
        "argmin": argmin,
        "prod": prod,
        "cumsum": cumsum,
        "cumprod": cumprod,
        "all": all,
        "any": any,
        "trace": trace,
        "argsort": argsort,  # (not sort: NumPy's sorts in place)
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
        "round": round,
        "conj": conj,
        "conjugate": conj,
        "real": property(conj),
        "imag": property(imag),
        "dot": dot,
        "T": property(lambda self: transpose(self)),
    }
    for name, fn in methods.items():
        setattr(Tracer, name, fn)
    Tracer.__hash__ = None  # __eq__ is elementwise, as in NumPy


_install_tracer_methods()
