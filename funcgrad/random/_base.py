"""Keys (key, split, fold_in) and the draws everything else is built from: uniform, normal,
bernoulli, randint, permutation, choice and raw bits.

>>> import funcgrad as fg
>>> fg.random.uniform(fg.random.key(0), (2,)).shape
(2,)
"""

import math
import numbers
import operator

import numpy as np

from .. import numpy as fnp
from .. import primitives as P
from ..core import Tracer, handed_back
from ..errors import ConcretizationError, DtypeError, ShapeError, user_frame

_U32 = np.dtype(np.uint32)
_F64 = np.dtype(np.float64)
_MASK32 = 0xFFFFFFFF
_MASK64 = 2**64 - 1
# fold_in hashes data under two keys drawn from the last four counters of the key's stream,
# which split(key, n) reaches only for n >= 2**31 - 1: folded keys and split children are
# unrelated hashes (a plain "counter d" scheme would make fold_in(k, d) a row of split(k)).
_FOLD_COUNTERS = np.arange(2**32 - 4, 2**32, dtype=np.uint64).astype(_U32)


# ---------------------------------------------------------------- argument checks


def _check_key(where, key):
    """``key`` as an array (a tracer stays one), or an error naming the caller's line."""
    key = key if isinstance(key, Tracer) else np.asarray(key)
    if np.dtype(key.dtype) != _U32 or tuple(key.shape) != (2,):
        raise DtypeError(
            f"{where}: expected a key made by fg.random.key(seed) or split (uint32 of shape "
            f"(2,)), got {np.dtype(key.dtype).name} of shape {tuple(key.shape)} at {user_frame()}"
        )
    return key


def _check_shape(where, shape):
    try:
        shape = (operator.index(shape),) if not isinstance(shape, (tuple, list)) else shape
        shape = tuple(operator.index(d) for d in shape)
    except TypeError:
        raise ShapeError(
            f"{where}: shape must be an int or a tuple of ints, got {shape!r} at {user_frame()}"
        ) from None
    if any(d < 0 for d in shape):
        raise ShapeError(f"{where}: negative dimension in shape {shape} at {user_frame()}")
    return shape


def _check_float(where, dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise DtypeError(
            f"{where}: dtype must be float32 or float64, got {dtype.name} at {user_frame()}"
        )
    return dtype


def _counters(where, shape):
    size = math.prod(shape)
    if size > 2**32:
        raise ShapeError(f"{where}: cannot draw more than 2**32 numbers from one key")
    return np.arange(size, dtype=np.uint64).astype(_U32).reshape(shape)


def _check_result_shape(where, out, shape):
    """``out``, of the requested ``shape``; one draw (shape ()) as a NumPy scalar, as
    every 0-d value funcgrad hands back (:func:`core.handed_back`)."""
    if tuple(fnp.shape(out)) != shape:
        raise ShapeError(
            f"{where}: the bounds broadcast the result to shape {tuple(fnp.shape(out))}, "
            f"not the requested {shape} at {user_frame()}"
        )
    return handed_back(out)


def _concrete(where, value):
    """The value of ``value``, which NumPy code must read: impossible for a jit-traced key."""
    if not isinstance(value, Tracer):
        return np.asarray(value)
    try:
        return value.concrete(where)
    except ConcretizationError:
        raise ConcretizationError(
            f"{where} sorts or searches concrete random numbers with NumPy, so it cannot run "
            f"under jit with a traced key or probabilities (at {user_frame()}): call it "
            "outside jit and pass its result in"
        ) from None


def _check_axis(where, axis, ndim):
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"{where}: axis must be an int, got {axis!r} at {user_frame()}") from None
    if not -ndim <= axis < ndim:
        raise ShapeError(
            f"{where}: axis {axis} is out of bounds for an array of rank {ndim} at {user_frame()}"
        )
    return axis % ndim


def _is_number(x, value):
    return isinstance(x, numbers.Real) and not isinstance(x, Tracer) and x == value


def _is_int(x):
    return isinstance(x, numbers.Integral) or (
        isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iu"
    )


# ---------------------------------------------------------------- keys


def key(seed):
    """A new key from an integer seed.

    Seeds in ``[-2**63, 2**64)`` map to ``[seed >> 32, seed & 0xFFFFFFFF]`` of their 64-bit
    two's complement (as ``jax.random.PRNGKey``, so -1 and 2**64 - 1 give the same key);
    larger ints fold their higher 32-bit words and their length and sign into that key.
    Under ``jit`` the seed may be a traced integer scalar (signed seeds sign-extend to 64
    bits, so a jitted ``key(seed)`` equals the eager one).

    >>> import funcgrad as fg
    >>> fg.random.key(42)
    array([ 0, 42], dtype=uint32)
    >>> fg.random.key(2**32 + 7)
    array([1, 7], dtype=uint32)
    """
    if isinstance(seed, Tracer):
        if np.dtype(seed.dtype).kind not in "iu" or tuple(seed.shape) != ():
            raise DtypeError(
                f"fg.random.key: a traced seed must be an integer scalar, got "
                f"{np.dtype(seed.dtype).name} of shape {tuple(seed.shape)} at {user_frame()}"
            )
        s = fnp.astype(seed, np.int64)  # uint64 seeds wrap to the same two's complement
        hi = fnp.astype(fnp.right_shift(s, 32), _U32)  # the arithmetic shift's -1 is 0xFFFFFFFF
        lo = fnp.astype(fnp.bitwise_and(s, _MASK32), _U32)
        return fnp.stack([hi, lo])
    if isinstance(seed, (bool, np.bool_)) or not _is_int(seed):
        raise TypeError(f"fg.random.key: seed must be an int, got {seed!r} at {user_frame()}")
    seed = operator.index(seed)
    if -(2**63) <= seed < 2**64:
        s = seed & _MASK64
        return np.array([s >> 32, s & _MASK32], dtype=_U32)
    magnitude = abs(seed)
    k = key(magnitude & _MASK64)
    words = []
    rest = magnitude >> 64
    while rest:
        words.append(rest & _MASK32)
        rest >>= 32
    for w in words:
        k = fold_in(k, w)
    return fold_in(k, 2 * len(words) + (seed < 0))  # length and sign: no structural clashes


def split(key, num=2):
    """``num`` new keys, as an array of shape ``(num, 2)``; unpack it or index its rows.

    >>> import funcgrad as fg
    >>> keys = fg.random.split(fg.random.key(0), 3)
    >>> keys.shape, keys.dtype.name
    ((3, 2), 'uint32')
    >>> bool((keys[0] != keys[1]).any())
    True
    """
    key = _check_key("split", key)
    num = operator.index(num)
    if num < 0:
        raise ShapeError(f"split: num must be non-negative, got {num} at {user_frame()}")
    return fnp.reshape(P.random_bits(key, _counters("split", (2 * num,))), (num, 2))


def fold_in(key, data):
    """A new key from ``key`` and a 32-bit integer ``data`` (e.g. a step or a worker id).

    ``data`` may be a Python int in ``[-2**31, 2**32)`` or an integer array of shape ()
    (traced under jit, too); negative values count modulo 2**32.

    >>> import funcgrad as fg
    >>> k = fg.random.key(0)
    >>> bool((fg.random.fold_in(k, 1) != fg.random.fold_in(k, 2)).any())
    True
    """
    key = _check_key("fold_in", key)
    if isinstance(data, Tracer) or (isinstance(data, np.ndarray) and not _is_int(data)):
        if np.dtype(data.dtype).kind not in "iu" or tuple(data.shape) != ():
            raise DtypeError(
                f"fold_in: data must be an integer scalar, got {np.dtype(data.dtype).name} of "
                f"shape {tuple(data.shape)} at {user_frame()}"
            )
        data = fnp.reshape(fnp.astype(data, _U32), (1,))
    else:
        if isinstance(data, (bool, np.bool_)) or not _is_int(data):
            raise TypeError(f"fold_in: data must be an int, got {data!r} at {user_frame()}")
        data = operator.index(data)
        if not -(2**31) <= data < 2**32:
            raise ValueError(
                f"fold_in: data {data} does not fit in 32 bits at {user_frame()}: fold in its "
                "32-bit words one at a time"
            )
        data = np.array([data & _MASK32], dtype=_U32)
    outer = P.random_bits(key, _FOLD_COUNTERS)
    hi = P.random_bits(outer[0:2], data)
    lo = P.random_bits(outer[2:4], data)
    return fnp.concatenate([hi, lo])


# ---------------------------------------------------------------- continuous


def uniform(key, shape=(), dtype=np.float32, minval=0.0, maxval=1.0):
    """Uniform numbers in ``[minval, maxval)``.

    Each number takes 24 (float32) or 53 (float64) random bits, so the values are the
    multiples of 2**-24 or 2**-53 in [0, 1), scaled; results that round up to ``maxval``
    are moved to the largest float below it (for concrete ``maxval``).

    >>> import funcgrad as fg
    >>> u = fg.random.uniform(fg.random.key(0), (1000,), minval=-1.0, maxval=1.0)
    >>> u.dtype.name, bool(u.min() >= -1.0), bool(u.max() < 1.0)
    ('float32', True, True)
    """
    key = _check_key("uniform", key)
    shape = _check_shape("uniform", shape)
    dtype = _check_float("uniform", dtype)
    bits = P.random_bits(key, _counters("uniform", shape), dtype=dtype)
    if _is_number(minval, 0.0) and _is_number(maxval, 1.0):
        return handed_back(bits)
    lo, hi = fnp.astype(minval, dtype), fnp.astype(maxval, dtype)
    out = fnp.maximum(lo, lo + bits * (hi - lo))
    if not isinstance(maxval, Tracer):
        out = fnp.minimum(out, np.nextafter(hi, np.asarray(-np.inf, dtype)))
    return _check_result_shape("uniform", out, shape)


def normal(key, shape=(), dtype=np.float32):
    """Standard normal numbers (Box-Muller: each pair of uniforms gives two normals).

    The radius uses ``log(1 - u)`` with ``u < 1``, so no draw is ever inf or nan; the tails
    end at 5.8 (float32) or 8.6 (float64) standard deviations.

    >>> import funcgrad as fg
    >>> z = fg.random.normal(fg.random.key(0), (10000,))
    >>> z.dtype.name, bool(abs(z.mean()) < 0.05), round(float(z.std()), 1)
    ('float32', True, 1.0)
    """
    key = _check_key("normal", key)
    shape = _check_shape("normal", shape)
    dtype = _check_float("normal", dtype)
    n = math.prod(shape)
    m = (n + 1) // 2
    u = P.random_bits(key, _counters("normal", (2 * m,)), dtype=dtype)
    radius = fnp.sqrt(fnp.log(1.0 - u[:m]) * -2.0)  # 1 - u is exact and in (0, 1]
    theta = (2 * math.pi) * u[m:]
    z = fnp.concatenate([radius * fnp.cos(theta), radius * fnp.sin(theta)])
    return handed_back(fnp.reshape(z[:n], shape))


# ---------------------------------------------------------------- discrete


def bernoulli(key, p=0.5, shape=None):
    """Booleans that are True with probability ``p`` (``shape`` defaults to ``p``'s shape).

    >>> import funcgrad as fg
    >>> b = fg.random.bernoulli(fg.random.key(0), 0.3, (10000,))
    >>> b.dtype.name, round(float(b.mean()), 1)
    ('bool', 0.3)
    """
    key = _check_key("bernoulli", key)
    p_dtype = np.dtype(getattr(p, "dtype", np.float32))
    dtype = p_dtype if p_dtype in (np.float32, np.float64) else np.dtype(np.float32)
    shape = tuple(fnp.shape(p)) if shape is None else _check_shape("bernoulli", shape)
    u = P.random_bits(key, _counters("bernoulli", shape), dtype=dtype)
    return _check_result_shape("bernoulli", fnp.less(u, p), shape)


def randint(key, shape, minval, maxval, dtype=np.int32):
    """Integers uniform in ``[minval, maxval)``; bounds broadcast against ``shape``.

    Each number is ``minval + floor(u * (maxval - minval))`` with a 53-bit uniform ``u``,
    so the bias is at most ``(maxval - minval) * 2**-53`` relative: spans are limited to
    2**32. Empty ranges raise for concrete bounds and give ``minval`` for traced ones.

    >>> import funcgrad as fg
    >>> r = fg.random.randint(fg.random.key(0), (1000,), 0, 10)
    >>> r.dtype.name, int(r.min()), int(r.max())
    ('int32', 0, 9)
    """
    key = _check_key("randint", key)
    shape = _check_shape("randint", shape)
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        raise DtypeError(f"randint: dtype must be an integer type, got {dtype.name}")
    bounds = (minval, maxval)
    for b in bounds:
        if not (_is_int(b) or np.dtype(getattr(b, "dtype", np.float64)).kind in "iu"):
            raise DtypeError(f"randint: bounds must be integers, got {b!r} at {user_frame()}")
    if not any(isinstance(b, Tracer) for b in bounds):
        lo, hi = np.asarray(minval), np.asarray(maxval)
        info = np.iinfo(dtype)
        if lo.size and hi.size and np.any(hi <= lo):
            raise ValueError(f"randint: empty range [{minval}, {maxval}) at {user_frame()}")
        if np.any(lo < info.min) or np.any(hi - 1 > info.max) or np.any(hi > 2**63 - 1):
            raise ValueError(
                f"randint: bounds [{minval}, {maxval}) do not fit {dtype.name} at {user_frame()}"
            )
        if np.any(hi.astype(object) - lo.astype(object) > 2**32):
            raise ValueError(f"randint: the span of [{minval}, {maxval}) exceeds 2**32")
    lo, hi = fnp.astype(minval, np.int64), fnp.astype(maxval, np.int64)
    span = hi - lo
    u = P.random_bits(key, _counters("randint", shape), dtype=_F64)
    offset = fnp.astype(u * fnp.astype(span, np.float64), np.int64)
    offset = fnp.maximum(fnp.minimum(offset, span - 1), 0)  # rounding up; traced empty ranges
    return _check_result_shape("randint", fnp.astype(lo + offset, dtype), shape)


def permutation(key, x, axis=0, independent=False):
    """A random permutation of ``range(x)`` for an int ``x``, else ``x`` shuffled along
    ``axis`` (as ``jax.random.permutation``); with ``independent=True`` every slice along
    ``axis`` is shuffled by a permutation of its own. Runs under jit (a stable argsort of
    53-bit random numbers).

    >>> import numpy as np, funcgrad as fg
    >>> p = fg.random.permutation(fg.random.key(0), 5)
    >>> sorted(p.tolist())
    [0, 1, 2, 3, 4]
    >>> x = np.arange(6).reshape(2, 3)
    >>> sorted(fg.random.permutation(fg.random.key(1), x, axis=1)[0].tolist())
    [0, 1, 2]
    """
    key = _check_key("permutation", key)
    if _is_int(x):
        n = operator.index(x)
        if n < 0:
            raise ShapeError(f"permutation: n must be non-negative, got {n} at {user_frame()}")
        u = P.random_bits(key, _counters("permutation", (n,)), dtype=_F64)
        return handed_back(fnp.astype(fnp.argsort(u, kind="stable"), np.int64))
    rows = fnp.asarray(x)
    if rows.ndim < 1:
        raise ShapeError(f"permutation: cannot shuffle a 0-d array at {user_frame()}")
    axis = _check_axis("permutation", axis, rows.ndim)
    n = rows.shape[axis]
    if independent:
        u = P.random_bits(key, _counters("permutation", tuple(rows.shape)), dtype=_F64)
        return fnp.take_along_axis(rows, fnp.argsort(u, axis=axis, kind="stable"), axis=axis)
    u = P.random_bits(key, _counters("permutation", (n,)), dtype=_F64)
    return fnp.take(rows, fnp.argsort(u, kind="stable"), axis=axis)


def shuffle(key, x, axis=0):
    """``x`` shuffled along ``axis``: :func:`permutation` of an array (``jax.random.shuffle``
    is deprecated in its favour; this name is kept for old scripts).

    >>> import numpy as np, funcgrad as fg
    >>> sorted(fg.random.shuffle(fg.random.key(0), np.arange(4)).tolist())
    [0, 1, 2, 3]
    """
    if _is_int(x):
        raise TypeError(f"shuffle: x must be an array, got {x!r} at {user_frame()}")
    return permutation(key, x, axis=axis)


def bits(key, shape=(), dtype=np.uint32):
    """Uniformly random unsigned integers with all their bits random, as ``jax.random.bits``
    (uint8, uint16 and uint32 take one 32-bit Threefry word each, uint64 two).

    >>> import numpy as np, funcgrad as fg
    >>> b = fg.random.bits(fg.random.key(0), (3,), np.uint8)
    >>> b.shape, b.dtype.name
    ((3,), 'uint8')
    """
    key = _check_key("bits", key)
    shape = _check_shape("bits", shape)
    dtype = np.dtype(dtype)
    if dtype not in (np.uint8, np.uint16, np.uint32, np.uint64):
        raise DtypeError(
            f"bits: dtype must be uint8, uint16, uint32 or uint64, got {dtype.name} at "
            f"{user_frame()}"
        )
    if dtype != np.uint64:
        return handed_back(fnp.astype(P.random_bits(key, _counters("bits", shape)), dtype))
    words = fnp.astype(P.random_bits(key, _counters("bits", (*shape, 2))), np.uint64)
    hi, lo = words[..., 0], words[..., 1]
    return handed_back(fnp.bitwise_or(fnp.left_shift(hi, np.uint64(32)), lo))


def choice(key, a, shape=(), replace=True, p=None):
    """Samples from ``range(a)`` for an int ``a``, else from the rows (axis 0) of ``a``.

    ``p`` gives each item's probability (normalized; items with ``p == 0`` are never
    chosen). With ``p`` the choice is eager only (it checks and searches ``p`` with
    NumPy); without ``p`` it also runs under jit. Without replacement and with
    ``p``, items are chosen in order of ``Exponential(1) / p`` (Efraimidis-Spirakis).

    >>> import funcgrad as fg
    >>> c = fg.random.choice(fg.random.key(0), 10, (5,), replace=False)
    >>> len(set(c.tolist()))
    5
    """
    key = _check_key("choice", key)
    shape = _check_shape("choice", shape)
    k = math.prod(shape)
    if _is_int(a):
        n, pool = operator.index(a), None
    else:
        pool = fnp.asarray(a)
        if pool.ndim < 1:
            raise ShapeError(f"choice: a must be an int or an array of rank >= 1 at {user_frame()}")
        n = pool.shape[0]
    if n <= 0 and k > 0:
        raise ValueError(f"choice: cannot choose from an empty population at {user_frame()}")
    if not replace and k > n:
        raise ValueError(
            f"choice: cannot take {k} samples without replacement from {n} at {user_frame()}"
        )
    if p is not None:
        p = _concrete("choice", p).astype(np.float64)
        if p.shape != (n,) or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
            raise ValueError(
                f"choice: p must be {n} finite non-negative numbers with a positive sum, got "
                f"shape {p.shape} at {user_frame()}"
            )
    if p is None and replace:
        index = randint(key, shape, 0, n, dtype=np.int64) if k else np.zeros(shape, np.int64)
    elif p is None:
        index = fnp.reshape(permutation(key, n)[:k], shape)
    elif replace:
        u = _concrete("choice", P.random_bits(key, _counters("choice", shape), dtype=_F64))
        cdf = np.cumsum(p)
        cdf = cdf / cdf[-1]  # the last entry is exactly 1 > u: no index past the end
        index = np.searchsorted(cdf, u, side="right")
    else:
        if k > np.count_nonzero(p):
            raise ValueError(
                f"choice: cannot take {k} samples without replacement from "
                f"{np.count_nonzero(p)} items of non-zero probability at {user_frame()}"
            )
        u = _concrete("choice", P.random_bits(key, _counters("choice", (n,)), dtype=_F64))
        race = np.where(p > 0, -np.log1p(-u) / np.where(p > 0, p, 1.0), np.inf)
        index = np.argsort(race, kind="stable")[:k].reshape(shape)
    return handed_back(index if pool is None else fnp.getitem(pool, index))


__all__ = [
    "bernoulli",
    "bits",
    "choice",
    "fold_in",
    "key",
    "normal",
    "permutation",
    "randint",
    "shuffle",
    "split",
    "uniform",
]
