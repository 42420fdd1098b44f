"""Dtypes, promotion (Python scalars weak), axis normalization: what every fnp module uses."""

import numpy as np

from .. import primitives as P
from ..core import Literal, Tracer, is_float
from ..errors import ShapeError, user_frame

# Dtypes and constants, so user code needs only fnp.
__all__ = [
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool_",
    "pi",
    "e",
    "inf",
    "nan",
    "newaxis",
    "ndarray",
    "result_type",
    "asarray",
    "array",
    "astype",
    "promote",
    "operator_index",
    "shape",
    "ndim",
]

float16, float32, float64 = np.float16, np.float32, np.float64
int8, int16, int32, int64, uint8 = np.int8, np.int16, np.int32, np.int64, np.uint8
bool_ = np.bool_
pi, e, inf, nan, newaxis = np.pi, np.e, np.inf, np.nan, None
ndarray = np.ndarray


def _error(cls, message):
    return cls(f"{message} at {user_frame()}")


# ---------------------------------------------------------------- dtypes and promotion

_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_PY_SCALAR_DTYPE = {bool: np.dtype(bool), int: np.dtype(np.int64), float: np.dtype(np.float64)}


def _is_weak(x):
    if isinstance(x, Tracer):
        return x.variable.weak
    return isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic)


def _dtype(x):
    if isinstance(x, (Tracer, np.ndarray, np.generic, Literal)):
        return np.dtype(x.dtype)
    if isinstance(x, (bool, int, float, complex)):
        return _PY_SCALAR_DTYPE.get(type(x), np.dtype(np.complex128))
    return np.asarray(x).dtype


def result_type(*args):
    """The dtype NumPy would give, with Python scalars (and weak tracers) weak.

    >>> result_type(np.ones(2, np.float32), 2.0)
    dtype('float32')
    """
    strong = [_dtype(a) for a in args if not _is_weak(a)]
    weak = [_dtype(a) for a in args if _is_weak(a)]
    if not strong:
        return np.result_type(*weak)
    dtype = np.result_type(*strong)
    for w in weak:
        if _KIND_RANK[w.kind] > _KIND_RANK[dtype.kind]:
            dtype = np.result_type(dtype, w)
    return dtype


def asarray(x, dtype=None):
    """``x`` as an array (a tracer stays a tracer), cast to ``dtype`` if given."""
    if isinstance(x, Tracer):
        if dtype is not None and np.dtype(dtype) != x.dtype:
            return P.cast(x, dtype=np.dtype(dtype))
        return x
    return np.asarray(x, dtype=dtype)


array = asarray


def astype(x, dtype):
    """Cast ``x`` to ``dtype`` (differentiable between float types)."""
    return asarray(x, dtype)


def promote(*args, dtype=None):
    """Cast ``args`` to their common dtype (see :func:`result_type`)."""
    dtype = result_type(*args) if dtype is None else np.dtype(dtype)
    return [asarray(a, dtype) for a in args]


def _to_float(x):
    """NumPy's rule for transcendental functions: bools and integers compute in the
    smallest float type that holds them (float16 for 8 bits, float32 for 16, else float64)."""
    dtype = _dtype(x)
    return asarray(x, dtype if is_float(dtype) else np.promote_types(dtype, np.float16))


def _to_mean_float(x):
    """NumPy's rule for mean and var: bools and integers average in float64."""
    dtype = _dtype(x)
    return asarray(x, dtype if is_float(dtype) else np.float64)


def _normalize_axis(name, axis, ndim):
    a = axis + ndim if axis < 0 else axis
    if not 0 <= a < ndim:
        raise _error(
            ShapeError, f"{name}: axis {axis} is out of bounds for an array of rank {ndim}"
        )
    return a


def _axes(name, axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = tuple(sorted(_normalize_axis(name, operator_index(a), ndim) for a in axes))
    if len(set(out)) != len(out):
        raise _error(ShapeError, f"{name}: repeated axis in {axis}")
    return out


def operator_index(a):
    try:
        return a.__index__()
    except (AttributeError, TypeError):
        raise _error(TypeError, f"axis must be an integer, got {a!r}") from None


def _keep(x, reduced, axes, keepdims):
    if not keepdims:
        return reduced
    shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    return P.reshape(reduced, new_shape=shape)


def shape(x):
    return tuple(asarray(x).shape) if not isinstance(x, Tracer) else x.shape


def ndim(x):
    return len(shape(x))
