"""NumPy-named functions composed from primitives: ``import funcgrad.numpy as fnp``.

They follow NumPy's semantics (broadcasting, ``axis``, ``keepdims``, negative axes)
and its dtype rules, with Python scalars weak: ``x32 * 2.0`` stays float32. Called on
plain arrays they compute at once and return ``numpy.ndarray``; called on tracers they
record equations.

>>> import funcgrad.numpy as fnp
>>> fnp.sum(fnp.square(fnp.arange(4.0)))
array(14.)
"""

import builtins
import math
import numbers

import numpy as np

from . import primitives as P
from .core import Literal, Tracer, current_builder, is_float
from .errors import ConcretizationError, ShapeError, user_frame

# Dtypes and constants, so user code needs only fnp.
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


def where(condition, x, y):
    """Elementwise ``x`` where ``condition`` else ``y`` (the traceable ``if``).

    >>> where(np.array([True, False]), 1.0, 2.0)
    array([1., 2.])
    """
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


# ---------------------------------------------------------------- reductions


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


def sum(x, axis=None, keepdims=False, dtype=None):
    """Sum over ``axis`` (all axes by default); bools and small ints sum as int64
    (small unsigned ints as uint64), as in NumPy."""
    x = asarray(x)
    if dtype is None and x.dtype.kind in "biu" and x.dtype.itemsize < 8:
        dtype = np.uint64 if x.dtype.kind == "u" else np.int64
    x = asarray(x, dtype)
    axes = _axes("sum", axis, x.ndim)
    return _keep(x, P.reduce_sum(x, axes=axes) if axes else x, axes, keepdims)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``; integers average in float64."""
    x = _to_mean_float(x)
    axes = _axes("mean", axis, x.ndim)
    count = math.prod(x.shape[a] for a in axes)
    return divide(sum(x, axis=axes, keepdims=keepdims), float(count))


def var(x, axis=None, keepdims=False, ddof=0):
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom."""
    x = _to_mean_float(x)
    axes = _axes("var", axis, x.ndim)
    count = math.prod(x.shape[a] for a in axes)
    centered = subtract(x, mean(x, axis=axes, keepdims=True))
    return divide(sum(square(centered), axis=axes, keepdims=keepdims), float(count - ddof))


def std(x, axis=None, keepdims=False, ddof=0):
    """Standard deviation over ``axis``."""
    return sqrt(var(x, axis=axis, keepdims=keepdims, ddof=ddof))


def _chooser(prim, name):
    def fn(x, axis=None, keepdims=False):
        x = asarray(x)
        axes = _axes(name, axis, x.ndim)
        return _keep(x, prim(x, axes=axes) if axes else x, axes, keepdims)

    fn.__name__ = name
    fn.__doc__ = f"The {name} over ``axis`` (all axes by default)."
    return fn


max = amax = _chooser(P.reduce_max, "max")
min = amin = _chooser(P.reduce_min, "min")


def argmax(x, axis=None, keepdims=False):
    """Indices of the maxima (not differentiable)."""
    x = asarray(x)
    if axis is None:  # over the flattened array; keepdims keeps every axis, as NumPy
        out = argmax(ravel(x), axis=0)
        return reshape(out, (1,) * x.ndim) if keepdims else out
    axis = _normalize_axis("argmax", axis, x.ndim)
    out = P.argmax(x, axis=axis, index_dtype=np.dtype(np.int64))
    return _keep(x, out, (axis,), keepdims)


def argmin(x, axis=None, keepdims=False):
    """Indices of the minima (not differentiable)."""
    x = asarray(x)
    # The argmax of an order-reversing map that cannot wrap around (-x overflows at the
    # signed minimum, wraps for unsigned ints, and is undefined for bools).
    if x.dtype.kind == "b":
        flipped = logical_not(x)
    elif x.dtype.kind == "u":
        flipped = subtract(int(np.iinfo(x.dtype).max), x)
    elif x.dtype.kind == "i":
        flipped = subtract(-1, x)  # ~x
    else:
        flipped = negative(x)
    return argmax(flipped, axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------- shapes


def shape(x):
    return tuple(asarray(x).shape) if not isinstance(x, Tracer) else x.shape


def ndim(x):
    return len(shape(x))


def reshape(x, newshape, *more):
    """Reshape, with one ``-1`` inferred as in NumPy."""
    x = asarray(x)
    if more:
        newshape = (newshape,) + more
    if not isinstance(newshape, (tuple, list)):
        newshape = (newshape,)
    newshape = [operator_index(d) for d in newshape]
    if newshape.count(-1) > 1:
        raise _error(ShapeError, f"reshape: can only infer one dimension in {tuple(newshape)}")
    if -1 in newshape:
        known = math.prod(d for d in newshape if d != -1)
        if known == 0 or x.size % known:
            raise _error(
                ShapeError, f"reshape: cannot reshape an array of shape {x.shape} into {newshape}"
            )
        newshape[newshape.index(-1)] = x.size // known
    newshape = tuple(newshape)
    return x if newshape == x.shape else P.reshape(x, new_shape=newshape)


def ravel(x):
    return reshape(x, (-1,))


def transpose(x, axes=None):
    """Permute axes (reverse them by default)."""
    x = asarray(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    axes = tuple(_normalize_axis("transpose", operator_index(a), x.ndim) for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise _error(ShapeError, f"transpose: {axes} is not a permutation of {x.ndim} axes")
    return x if axes == tuple(range(x.ndim)) else P.transpose(x, perm=axes)


def swapaxes(x, axis1, axis2):
    x = asarray(x)
    perm = list(range(x.ndim))
    a, b = (_normalize_axis("swapaxes", ax, x.ndim) for ax in (axis1, axis2))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


def moveaxis(x, source, destination):
    x = asarray(x)
    src = _normalize_axis("moveaxis", source, x.ndim)
    dst = _normalize_axis("moveaxis", destination, x.ndim)
    perm = [a for a in range(x.ndim) if a != src]
    perm.insert(dst, src)
    return transpose(x, perm)


def expand_dims(x, axis):
    """Insert size-1 axes at ``axis`` (int or tuple) of the result."""
    x = asarray(x)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_ndim = x.ndim + len(axes)
    axes = _axes("expand_dims", axes, out_ndim)
    dims = iter(x.shape)
    return reshape(x, tuple(1 if i in axes else next(dims) for i in range(out_ndim)))


def squeeze(x, axis=None):
    """Remove size-1 axes (all of them, or those in ``axis``)."""
    x = asarray(x)
    if axis is None:
        axes = tuple(i for i, d in enumerate(x.shape) if d == 1)
    else:
        axes = _axes("squeeze", axis, x.ndim)
        if any(x.shape[a] != 1 for a in axes):
            raise _error(ShapeError, f"squeeze: axis {axis} of shape {x.shape} is not of size 1")
    return reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes))


def broadcast_to(x, shape):
    x = asarray(x)
    shape = tuple(shape)
    try:
        target = np.broadcast_shapes(x.shape, shape)
    except ValueError:
        target = None
    if target != shape:
        raise _error(ShapeError, f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return P.broadcast_to(x, shape)


def concatenate(arrays, axis=0):
    """Join arrays along an existing axis."""
    arrays = promote(*arrays)
    if not arrays:
        raise _error(ValueError, "concatenate: need at least one array")
    if arrays[0].ndim == 0:
        raise _error(ShapeError, "concatenate: zero-dimensional arrays cannot be concatenated")
    axis = _normalize_axis("concatenate", axis, arrays[0].ndim)
    if len(arrays) == 1:
        return arrays[0]
    return P.concatenate(*arrays, axis=axis)


def stack(arrays, axis=0):
    """Join arrays along a new axis."""
    arrays = list(arrays)
    if not arrays:
        raise _error(ValueError, "stack: need at least one array")
    shapes = {tuple(shape(a)) for a in arrays}
    if len(shapes) > 1:
        raise _error(ShapeError, f"stack: all input arrays must have the same shape, got {shapes}")
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


def pad(x, pad_width, mode="constant", constant_values=0):
    """Pad with a constant, NumPy's ``pad_width`` forms: int, (before, after), or per axis."""
    if mode != "constant":
        raise _error(ValueError, f"pad: only mode='constant' is supported, got {mode!r}")
    x = asarray(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    if (widths < 0).any():
        raise _error(ShapeError, f"pad: negative pad width {pad_width}")
    lo, hi = tuple(widths[:, 0].tolist()), tuple(widths[:, 1].tolist())
    if isinstance(constant_values, Tracer):
        raise _error(TypeError, "pad: constant_values must be a Python number")
    return P.pad(x, lo=lo, hi=hi, interior=(0,) * x.ndim, value=float(constant_values))


def flip(x, axis=None):
    x = asarray(x)
    return P.rev(x, axes=_axes("flip", axis, x.ndim))


def take(x, indices, axis=None):
    """Gather ``x[..., indices, ...]`` along ``axis`` (the flattened array by default)."""
    x = asarray(x)
    if axis is None:
        x, axis = ravel(x), 0
    axis = _normalize_axis("take", axis, x.ndim)
    index = (builtins.slice(None),) * axis + (indices,)
    return getitem(x, index)  # not x[index]: eagerly that would be NumPy's, returning scalars


# ---------------------------------------------------------------- products


def matmul(a, b):
    """Matrix product with NumPy's rules for 1-D operands and batch broadcasting."""
    a, b = promote(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise _error(ShapeError, "matmul: operands must not be scalars (use *)")
    if a.ndim == 1 and b.ndim == 1:
        if a.shape != b.shape:
            raise _error(ShapeError, f"matmul: shapes {a.shape} and {b.shape} do not align")
        return P.reduce_sum(P.mul(a, b), axes=(0,))
    a2 = reshape(a, (1,) + a.shape) if a.ndim == 1 else a
    b2 = reshape(b, b.shape + (1,)) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise _error(
            ShapeError,
            f"matmul: shapes {a.shape} and {b.shape} do not align "
            f"({a2.shape[-1]} != {b2.shape[-2]})",
        )
    if b2.ndim == 2 and a2.ndim > 2:  # fold batch into rows: one GEMM, no broadcast
        out = P.matmul(reshape(a2, (math.prod(a2.shape[:-1]), a2.shape[-1])), b2)
        out = reshape(out, a2.shape[:-1] + b2.shape[-1:])
    else:
        try:
            batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        except ValueError:
            raise _error(
                ShapeError, f"matmul: batch shapes of {a.shape} and {b.shape} do not broadcast"
            ) from None
        a2 = P.broadcast_to(a2, batch + a2.shape[-2:])
        b2 = P.broadcast_to(b2, batch + b2.shape[-2:])
        out = P.matmul(a2, b2)
    if a.ndim == 1:
        out = squeeze(out, -2)
    if b.ndim == 1:
        out = squeeze(out, -1)
    return out


def dot(a, b):
    """NumPy's ``dot`` for operands of rank <= 2 (and N-D by 1-D/2-D)."""
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if b.ndim > 2:
        raise _error(ShapeError, "dot: use matmul for operands of rank > 2")
    return matmul(a, b)


def outer(a, b):
    """Outer product of the flattened inputs."""
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def inner(a, b):
    """Sum product over the last axes: shape ``a.shape[:-1] + b.shape[:-1]``, as NumPy."""
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if b.ndim == 1:
        return matmul(a, b)
    b2 = reshape(b, (math.prod(b.shape[:-1]), b.shape[-1]))
    return reshape(matmul(a, transpose(b2)), a.shape[:-1] + b.shape[:-1])


# ---------------------------------------------------------------- creation (constants)


def zeros(shape, dtype=float):
    return np.zeros(shape, dtype)


def ones(shape, dtype=float):
    return np.ones(shape, dtype)


def full(shape, fill_value, dtype=None):
    return np.full(shape, fill_value, dtype)


def zeros_like(x, dtype=None):
    return np.zeros(shape(x), dtype or _dtype(x))


def ones_like(x, dtype=None):
    return np.ones(shape(x), dtype or _dtype(x))


def full_like(x, fill_value, dtype=None):
    return np.full(shape(x), fill_value, dtype or _dtype(x))


arange, eye, linspace = np.arange, np.eye, np.linspace


# ---------------------------------------------------------------- indexing


def _is_arange(idx):
    """Whether a concrete index array is 0, 1, ..., n-1 (the rows of a batch)."""
    return idx.ndim == 1 and idx.size > 0 and np.array_equal(idx, np.arange(idx.size))


def _is_index_array(i):
    return isinstance(i, (Tracer, np.ndarray, list)) and not isinstance(i, str)


def getitem(x, index):
    """``x[index]``: ints, slices (any step), None, Ellipsis, integer and boolean arrays."""
    x = asarray(x)
    index = list(index) if isinstance(index, tuple) else [index]
    index = [_concrete_mask(i) if _is_bool_mask(i) else i for i in index]
    index = [np.asarray(i) if isinstance(i, list) else i for i in index]
    flat = []  # a bool mask of rank k stands for k integer index arrays
    for i in index:
        flat.extend(i if isinstance(i, tuple) else (i,))
    return _index(x, flat)


def _is_bool_mask(i):
    return isinstance(i, (Tracer, np.ndarray)) and i.dtype == np.bool_


def _concrete_mask(mask):
    if isinstance(mask, Tracer):
        try:
            mask = mask.concrete("boolean mask index")
        except ConcretizationError:
            raise _error(
                ConcretizationError,
                "indexing with a traced boolean mask gives a data-dependent shape, which jit "
                "cannot compile: use fnp.where(mask, x, 0) instead",
            ) from None
    return tuple(np.nonzero(mask))


def _index(x, index):
    consumed = builtins.sum(1 for i in index if i is not None and i is not Ellipsis)
    ellipses = [k for k, i in enumerate(index) if i is Ellipsis]  # `in` would compare arrays
    if len(ellipses) > 1:
        raise _error(IndexError, "an index can only have a single ellipsis ('...')")
    if ellipses:
        k = ellipses[0]
        index = index[:k] + [builtins.slice(None)] * (x.ndim - consumed) + index[k + 1 :]
    elif consumed < x.ndim:
        index = index + [builtins.slice(None)] * (x.ndim - consumed)
    if consumed > x.ndim:
        raise _error(ShapeError, f"too many indices for an array of shape {x.shape}")
    advanced = builtins.any(_is_index_array(i) for i in index)
    # Basic pass: slices and ints (as size-1 slices), None as new axes.
    start, limit, strides, flips, out_shape, adv, dim = [], [], [], [], [], [], 0
    for i in index:
        if i is None:
            out_shape.append(1)
            continue
        n = x.shape[dim]
        if isinstance(i, builtins.slice):
            s, e, st = i.indices(n)
            if st < 0:  # walk backwards: flip the axis, then slice forwards
                flips.append(dim)
                s, e, st = n - 1 - s, n - 1 - e, -st
            start.append(s)
            limit.append(builtins.max(s, e))
            strides.append(st)
            out_shape.append(len(range(s, builtins.max(s, e), st)))
        elif _is_index_array(i) or advanced:
            start.append(0), limit.append(n), strides.append(1)
            adv.append((len(out_shape), asarray(i)))
            out_shape.append(n)
        else:
            k = operator_index(i)
            if not -n <= k < n:
                raise _error(IndexError, f"index {k} is out of bounds for axis {dim} with size {n}")
            k %= n
            start.append(k), limit.append(k + 1), strides.append(1)
        dim += 1
    if flips:
        x = P.rev(x, axes=tuple(flips))
    if (tuple(start), tuple(limit), tuple(strides)) != ((0,) * x.ndim, x.shape, (1,) * x.ndim):
        x = P.slice(x, start=tuple(start), limit=tuple(limit), strides=tuple(strides))
    if not adv:
        return reshape(x, tuple(out_shape))
    # Advanced pass: gather along the indexed axes, placed where NumPy puts them.
    x = reshape(x, tuple(out_shape))
    axes = [a for a, _ in adv]
    rest = [a for a in range(x.ndim) if a not in axes]
    indices = []
    for a, idx in adv:
        if not np.issubdtype(idx.dtype, np.integer):
            raise _error(IndexError, f"index arrays must be integers, got {idx.dtype}")
        if not isinstance(idx, Tracer):
            n = x.shape[a]
            if idx.size and (idx.min() < -n or idx.max() >= n):
                raise _error(IndexError, f"index out of bounds for axis with size {n}")
            idx = np.where(idx < 0, idx + n, idx)
            if current_builder() is not None and _is_arange(idx):
                idx = P.iota(size=idx.size, dtype=idx.dtype)  # known to the compiler
        indices.append(idx)
    x = transpose(x, axes + rest)
    out = P.gather(x, *indices)
    batch = out.ndim - len(rest)
    # NumPy keeps the gathered axes in place when the index arrays are adjacent.
    contiguous = axes == list(range(axes[0], axes[0] + len(axes)))
    if contiguous and axes[0] > 0:
        first = builtins.sum(1 for a in rest if a < axes[0])
        perm = (
            list(range(batch, batch + first))
            + list(range(batch))
            + list(range(batch + first, out.ndim))
        )
        out = transpose(out, perm)
    return out


# ---------------------------------------------------------------- tracer methods


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
        "reshape": reshape,
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
        "swapaxes": swapaxes,
        "clip": clip,
        "dot": dot,
        "T": property(lambda self: transpose(self)),
    }
    for name, fn in methods.items():
        setattr(Tracer, name, fn)
    Tracer.__hash__ = None  # __eq__ is elementwise, as in NumPy


_install_tracer_methods()
