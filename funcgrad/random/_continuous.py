"""Continuous distributions by inversion (exponential, laplace, logistic, cauchy, gumbel)
and the truncated normal (rejection, Robert 1995), with ``jax.random``'s signatures.

>>> import funcgrad as fg
>>> fg.random.gumbel(fg.random.key(0), (2, 3)).shape
(2, 3)
"""

import math

import numpy as np

from .. import numpy as fnp
from ..core import handed_back
from ._base import P, _check_float, _check_shape, _counters, normal, split
from ._rejection import float_params, open_uniform, until_accepted, without_gradient


def _standard(where, key, shape, dtype, inverse_cdf):
    dtype = _check_float(where, dtype)
    shape = _check_shape(where, shape)
    return handed_back(inverse_cdf(open_uniform(key, shape, dtype)))


def exponential(key, shape=(), dtype=np.float32):
    """Exponential(1) draws, ``-log(1 - u)``.

    >>> import funcgrad as fg
    >>> round(float(fg.random.exponential(fg.random.key(0), (10000,)).mean()), 1)
    1.0
    """
    return _standard("exponential", key, shape, dtype, lambda u: -fnp.log1p(-u))


def laplace(key, shape=(), dtype=np.float32):
    """Laplace(0, 1) draws (density ``exp(-|x|) / 2``): ``-sign(v) log(1 - |v|)`` for ``v``
    uniform in ``(-1, 1)``.

    >>> import funcgrad as fg
    >>> round(float(fg.random.laplace(fg.random.key(0), (10000,)).var()))
    2
    """
    dtype = _check_float("laplace", dtype)
    shape = _check_shape("laplace", shape)
    v = P.random_bits(key, _counters("laplace", shape), dtype=dtype) * 2.0 - 1.0  # exact
    v = fnp.maximum(v, np.nextafter(np.asarray(-1.0, dtype), np.asarray(0.0, dtype)))
    return handed_back(-fnp.sign(v) * fnp.log1p(-fnp.abs(v)))


def logistic(key, shape=(), dtype=np.float32):
    """Standard logistic draws, ``log(u / (1 - u))``.

    >>> import funcgrad as fg
    >>> fg.random.logistic(fg.random.key(0), (3,)).dtype.name
    'float32'
    """
    return _standard("logistic", key, shape, dtype, lambda u: fnp.log(u) - fnp.log1p(-u))


def cauchy(key, shape=(), dtype=np.float32):
    """Standard Cauchy draws, ``tan(pi (u - 1/2))``.

    >>> import funcgrad as fg
    >>> fg.random.cauchy(fg.random.key(0), (3,)).shape
    (3,)
    """
    return _standard("cauchy", key, shape, dtype, lambda u: fnp.tan(math.pi * (u - 0.5)))


def gumbel(key, shape=(), dtype=np.float32):
    """Standard Gumbel draws, ``-log(-log u)`` (the maximum of many exponentials).

    >>> import funcgrad as fg
    >>> round(float(fg.random.gumbel(fg.random.key(0), (10000,)).mean()), 1)  # Euler's gamma
    0.6
    """
    return _standard("gumbel", key, shape, dtype, lambda u: -fnp.log(-fnp.log(u)))


_bounds = without_gradient("fg.random.truncated_normal", "its bounds")
# Robert's exponential proposal is better than the uniform one on [a, b] from this width on.
_SQRT_E = math.sqrt(math.e)


def truncated_normal(key, lower, upper, shape=None, dtype=np.float32):
    """Standard normal draws conditioned on ``lower <= x <= upper`` (bounds may be
    infinite and broadcast; ``shape`` defaults to their broadcast shape), as
    ``jax.random.truncated_normal``.

    Drawn by rejection (Robert 1995), so far tails are exact: an interval containing 0 and
    wider than ``sqrt(2 pi)`` proposes normals, a narrower one uniforms; a one-sided tail
    ``[a, b]`` with ``a >= 0`` (or its mirror image) proposes ``a`` plus an exponential of
    rate ``(a + sqrt(a**2 + 4)) / 2``, or uniforms when it is narrow. Every proposal is
    accepted with probability above about 1/2. ``lower > upper`` (or NaN) gives NaN; not
    differentiable in the bounds (an error says so).

    >>> import numpy as np, funcgrad as fg
    >>> x = fg.random.truncated_normal(fg.random.key(0), 4.0, np.inf, (1000,))
    >>> bool(x.min() >= 4.0), round(float(x.mean()), 1)
    (True, 4.2)
    """
    (lower, upper), shape = float_params("truncated_normal", shape, dtype, lower, upper)
    lower, upper = _bounds(lower), _bounds(upper)
    dtype = lower.dtype
    # Mirror the intervals below 0 onto the positive side: then a < 0 < b or 0 <= a.
    flip = upper <= 0
    a = fnp.where(flip, -upper, lower)
    b = fnp.where(flip, -lower, upper)
    straddles = a < 0
    use_normal = straddles & ((b - a) >= math.sqrt(2 * math.pi))
    a_tail = fnp.where(straddles, 0.0, a)  # finite where the tail proposals are used
    rate = 0.5 * (a_tail + fnp.sqrt(a_tail * a_tail + 4.0))
    narrow_tail = (b - a_tail) < (_SQRT_E / rate) * fnp.exp(0.5 * a_tail * (a_tail - rate))
    use_uniform = fnp.where(straddles, fnp.logical_not(use_normal), narrow_tail)
    # uniform proposals only on (finite) intervals that use them: no inf - inf elsewhere
    lo = fnp.where(use_uniform, a, 0.0)
    width = fnp.where(use_uniform, b - a, 1.0)

    def propose(k):
        k_x, k_u, k_e = split(k, 3)
        z = normal(k_x, shape, dtype)
        log_u = fnp.log(open_uniform(k_u, shape, dtype))
        e = open_uniform(k_e, shape, dtype)
        flat = lo + width * e
        tail = a_tail - fnp.log(e) / rate
        x = fnp.where(use_normal, z, fnp.where(use_uniform, flat, tail))
        # log acceptance probabilities: uniform on [a, b] against the density's peak there,
        # the exponential tail against exp(-(x - rate)**2 / 2) (Robert's bound)
        peak = fnp.where(straddles, 0.0, a_tail * a_tail)
        log_p_flat = 0.5 * (peak - flat * flat)
        log_p_tail = -0.5 * (tail - rate) * (tail - rate)
        log_p = fnp.where(use_uniform, log_p_flat, log_p_tail)
        accepted = fnp.where(use_normal, (z >= a) & (z <= b), (log_u <= log_p) & (x <= b))
        return x, accepted

    degenerate = fnp.logical_not(lower < upper)  # one point, an empty interval, or NaN
    start = fnp.where(lower == upper, lower, np.nan)
    x = until_accepted(key, fnp.astype(start, dtype), degenerate, propose)
    x = fnp.clip(fnp.where(flip, -x, x), lower, upper)
    return handed_back(fnp.where(degenerate, start, x))


__all__ = [
    "cauchy",
    "exponential",
    "gumbel",
    "laplace",
    "logistic",
    "truncated_normal",
]
