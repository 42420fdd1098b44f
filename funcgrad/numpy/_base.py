"""Dtypes, promotion (Python scalars weak), axis normalization: what every fnp module uses."""

import functools
import inspect

import numpy as np

from .. import primitives as P
from ..core import Literal, Tracer, handed_back, is_float, is_weak
from ..errors import FuncgradError, ShapeError, user_frame

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
    "asanyarray",
    "asarray_chkfinite",
    "array",
    "astype",
    "promote",
    "operator_index",
    "shape",
    "ndim",
    "size",
]

float16, float32, float64 = np.float16, np.float32, np.float64
int8, int16, int32, int64, uint8 = np.int8, np.int16, np.int32, np.int64, np.uint8
bool_ = np.bool_
pi, e, inf, nan, newaxis = np.pi, np.e, np.inf, np.nan, None
ndarray = np.ndarray


AxisError = np.exceptions.AxisError  # (a ValueError and an IndexError, as NumPy raises it)


def _error(cls, message):
    return cls(f"{message} at {user_frame()}")


def _no_out(name, out):
    """NumPy's ``out=`` writes into an array in place: refused, as arrays are immutable."""
    if out is not None:
        raise _error(TypeError, f"{name}: out= is not supported (arrays are immutable)")


def _via_numpy(name, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, a NumPy function, with its errors naming the user's line."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, IndexError, TypeError) as e:
        if isinstance(e, FuncgradError):
            raise
        cls = next(c for c in (AxisError, ValueError, IndexError, TypeError) if isinstance(e, c))
        raise _error(cls, f"{name}: {e}") from None


def _numpy_constant(fn):
    """A NumPy constructor whose arguments are all concrete (sizes, dtypes), with its
    errors located; its docstring is NumPy's."""

    def wrapped(*args, **kwargs):
        return _via_numpy(fn.__name__, fn, *args, **kwargs)

    wrapped.__name__ = fn.__name__
    wrapped.__doc__ = f"``np.{fn.__name__}`` (a constant array)."
    wrapped.numpy_typed = True  # NumPy's own result
    return wrapped


# ---------------------------------------------------------------- results typed as NumPy's

# NumPy hands a 0-d result back as a NumPy scalar (np.sum, the ufuncs, np.dot, np.take,
# np.linalg.det, ...), except where it builds, copies or broadcasts an array: these
# functions' 0-d results stay 0-d arrays, as they are computed (unique's are NumPy's own,
# fromfunction's the user function's).
_ARRAY_RESULTS = frozenset(
    """array asarray asanyarray asarray_chkfinite ascontiguousarray asfortranarray copy
    zeros ones empty full zeros_like ones_like empty_like full_like broadcast_to
    broadcast_arrays expand_dims atleast_1d atleast_2d atleast_3d where select piecewise
    roll tile resize pad block tensordot tensorsolve cross cov isin real_if_close i0 diff
    unique unique_all unique_counts unique_inverse unique_values apply_along_axis
    apply_over_axes fromfunction""".split()
)
# These call the argument's method in NumPy (np.reshape(a) is a.reshape()): a NumPy
# scalar gives a NumPy scalar, anything else a 0-d array.
_AS_THE_ARGUMENT = frozenset(
    """reshape squeeze transpose permute_dims matrix_transpose swapaxes moveaxis rollaxis
    astype real imag trim_zeros""".split()
)
# x[index] gives a NumPy scalar unless the index holds an Ellipsis (x[..., 0] is 0-d).
_INDEXING = frozenset(["getitem"])
# Helpers whose results are no arrays (shapes, dtypes, flags): nothing to convert.
_NO_ARRAYS = frozenset("result_type promote operator_index shape ndim size".split())


def numpy_typed(fn):
    """``fn`` handing its 0-d results back as NumPy scalars (in tuples too), as NumPy's
    functions do; tracers and other arrays pass unchanged. See :func:`core.handed_back`."""

    @functools.wraps(fn)
    def scalar_results(*args, **kwargs):
        out = fn(*args, **kwargs)
        return handed_back(out) if type(out) is np.ndarray else _in_tuple(out)

    scalar_results.numpy_typed = True
    return scalar_results


def _as_the_argument(fn):
    first = next(iter(inspect.signature(fn).parameters))

    @functools.wraps(fn)
    def as_the_argument(*args, **kwargs):
        out = fn(*args, **kwargs)
        a = args[0] if args else kwargs.get(first)
        return handed_back(out) if isinstance(a, np.generic) else out

    as_the_argument.numpy_typed = True
    return as_the_argument


def _indexed(fn):
    @functools.wraps(fn)
    def indexed(x, index):
        out = fn(x, index)
        ellipsis = index is Ellipsis or (type(index) is tuple and any(i is Ellipsis for i in index))
        return out if ellipsis else handed_back(out)

    indexed.numpy_typed = True
    return indexed


def _in_tuple(out):
    if isinstance(out, tuple) and any(type(o) is np.ndarray and not o.ndim for o in out):
        items = [handed_back(o) for o in out]
        return type(out)(*items) if hasattr(out, "_fields") else type(out)(items)
    return out


def numpy_results(namespace):
    """Make a family's functions (``namespace["__all__"]``) hand back what NumPy's do;
    called at the end of each family module, so that its own calls, its examples and the
    modules importing from it all use the same functions."""
    converted = {}  # (aliases in the family, row_stack = vstack, stay one function)
    for name in namespace["__all__"]:
        fn = namespace[name]
        if not inspect.isfunction(fn) or getattr(fn, "numpy_typed", False):
            continue  # (NumPy's own functions, aliases of functions already converted)
        if name in _ARRAY_RESULTS or name in _NO_ARRAYS:
            continue
        if fn not in converted:
            wrap = _as_the_argument if name in _AS_THE_ARGUMENT else numpy_typed
            converted[fn] = (_indexed if name in _INDEXING else wrap)(fn)
        namespace[name] = converted[fn]


# ---------------------------------------------------------------- dtypes and promotion

_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_PY_SCALAR_DTYPE = {bool: np.dtype(bool), int: np.dtype(np.int64), float: np.dtype(np.float64)}


def _dtype(x):
    if isinstance(x, (Tracer, np.ndarray, np.generic, Literal)):
        return np.dtype(x.dtype)
    if isinstance(x, (bool, int, float, complex)):
        return _PY_SCALAR_DTYPE.get(type(x), np.dtype(np.complex128))
    if _holds_tracer(x):
        return _discover(x)[1]
    return np.asarray(x).dtype


def result_type(*args):
    """The dtype NumPy would give, with Python scalars (and weak tracers) weak.

    >>> result_type(np.ones(2, np.float32), 2.0)
    dtype('float32')
    """
    strong = [_dtype(a) for a in args if not is_weak(a)]
    weak = [_dtype(a) for a in args if is_weak(a)]
    if not strong:
        return np.result_type(*weak)
    dtype = np.result_type(*strong)
    for w in weak:
        if _KIND_RANK[w.kind] > _KIND_RANK[dtype.kind]:
            dtype = np.result_type(dtype, w)
    return dtype


def asarray(a, dtype=None, order=None, *, copy=None):
    """``a`` as an array (a tracer stays a tracer), cast to ``dtype`` if given.

    Lists and tuples that hold tracers are stacked into one traced array, with the
    shape and dtype NumPy would give the list (Python scalars in a list count as int64 /
    float64, as in ``np.array``); any other list is plain ``np.asarray``.

    >>> asarray([np.float32(1.0), 2.0]).dtype
    dtype('float64')
    """
    if isinstance(a, Tracer):
        if dtype is not None and np.dtype(dtype) != a.dtype:
            return P.cast(a, dtype=np.dtype(dtype))
        return a
    if type(a) is np.ndarray and dtype is None and order is None and copy is None:
        return a  # the common case, first
    if isinstance(a, (list, tuple)) and _holds_tracer(a):
        return _stack_nested(a, _discover(a)[1] if dtype is None else np.dtype(dtype))
    return _via_numpy("asarray", np.asarray, a, dtype=dtype, order=order, copy=copy)


def asanyarray(a, dtype=None, order=None, *, copy=None):
    """:func:`asarray` (funcgrad has no array subclasses to keep)."""
    return asarray(a, dtype, order, copy=copy)


def asarray_chkfinite(a, dtype=None, order=None):
    """:func:`asarray`, refusing NaN and infinities (a check of the values: concrete
    arrays only, so not under jit).

    >>> asarray_chkfinite([1.0, 2.0])
    array([1., 2.])
    """
    x = asarray(a, dtype, order)
    finite = x.concrete("asarray_chkfinite's check") if isinstance(x, Tracer) else x
    if finite.dtype.kind in "fc" and not np.isfinite(finite).all():
        raise _error(ValueError, "asarray_chkfinite: array must not contain infs or NaNs")
    return x


def array(object, dtype=None, *, copy=True, order="K", ndmin=0):
    """``np.array``: a copy of ``object`` as an array, with at least ``ndmin`` axes;
    lists of tracers are stacked (see :func:`asarray`).

    >>> array([[1, 2]], ndmin=3).shape
    (1, 1, 2)
    """
    if not isinstance(object, Tracer) and not _holds_tracer(object):
        return _via_numpy(
            "array", np.array, object, dtype=dtype, copy=copy, order=order, ndmin=ndmin
        )
    x = asarray(object, dtype)
    if x.ndim < ndmin:
        x = P.reshape(x, new_shape=(1,) * (ndmin - x.ndim) + x.shape)
    return x


def _holds_tracer(x):
    if isinstance(x, Tracer):
        return True
    return isinstance(x, (list, tuple)) and any(map(_holds_tracer, x))


def _discover(x):
    """(shape, dtype) of the array NumPy would build from the nested sequence ``x``."""
    if not isinstance(x, (list, tuple)):
        if isinstance(x, Tracer):
            return x.shape, x.dtype
        leaf = np.asarray(x)
        return leaf.shape, leaf.dtype
    parts = [_discover(i) for i in x]
    shapes = {s for s, _ in parts}
    if len(shapes) > 1:
        raise _error(
            ShapeError,
            "array: the nested sequence is ragged (its elements have shapes "
            f"{', '.join(map(str, sorted(shapes)))}): every element must have the same shape",
        )
    inner = shapes.pop() if shapes else ()
    dtype = np.result_type(*[d for _, d in parts]) if parts else np.dtype(np.float64)
    return (len(x),) + inner, dtype


def _stack_nested(x, dtype):
    if not isinstance(x, (list, tuple)) or not _holds_tracer(x):
        return asarray(x, dtype)
    rows = [_stack_nested(i, dtype) for i in x]
    rows = [P.reshape(r, new_shape=(1,) + tuple(r.shape)) for r in rows]
    return rows[0] if len(rows) == 1 else P.concatenate(*rows, axis=0)


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


def shape(a):
    """The shape of ``a`` (an array, tracer, scalar or nested list).

    >>> shape([[1, 2, 3]])
    (1, 3)
    """
    if isinstance(a, Tracer):
        return a.shape
    return _discover(a)[0] if _holds_tracer(a) else tuple(np.shape(a))


def ndim(a):
    """The number of axes of ``a``."""
    return len(shape(a))


def size(a, axis=None):
    """The number of elements of ``a`` (along ``axis`` if given).

    >>> size(np.ones((2, 3)), axis=-1)
    3
    """
    dims = shape(a)
    if axis is None:
        return int(np.prod(dims, dtype=np.int64))
    return dims[_normalize_axis("size", operator_index(axis), len(dims))]


numpy_results(globals())
