"""Discrete distributions: categorical (Gumbel-max), rademacher and poisson, with
``jax.random``'s signatures.

Poisson draws count the arrivals of a rate-1 Poisson process in ``[0, lam]`` for
``lam < 10`` (Knuth's method, in sums of exponentials rather than products of uniforms,
one round per arrival) and use Hormann's transformed rejection with squeeze (PTRS, 1993)
for ``lam >= 10`` (at least 89% of its proposals are accepted). Both run in one
``while_loop``, so poisson runs under jit.

>>> import funcgrad as fg
>>> k = fg.random.poisson(fg.random.key(0), 3.0, (10000,))
>>> k.dtype.name, round(float(k.mean()))
('int32', 3)
"""

import math

import numpy as np

from .. import numpy as fnp
from ..core import handed_back
from ..errors import DtypeError, ShapeError, user_frame
from ..lax import while_loop
from ._base import _check_axis, _check_float, _check_shape, bernoulli, fold_in, split
from ._continuous import gumbel
from ._rejection import float_params, open_uniform


def _check_int(where, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        raise DtypeError(
            f"{where}: dtype must be an integer type, got {dtype.name} at {user_frame()}"
        )
    return dtype


def categorical(key, logits, axis=-1, shape=None):
    """Indices drawn with probabilities ``softmax(logits)`` along ``axis``, as
    ``jax.random.categorical``: the argmax of ``logits`` plus Gumbel noise (int32).

    ``shape`` defaults to ``logits``' shape without ``axis``; a longer ``shape`` must end
    in a shape that broadcasts to that one (its leading dimensions are independent draws).

    >>> import numpy as np, funcgrad as fg
    >>> logits = np.log(np.array([0.1, 0.9]))
    >>> c = fg.random.categorical(fg.random.key(0), logits, shape=(10000,))
    >>> c.dtype.name, round(float(c.mean()), 1)
    ('int32', 0.9)
    """
    logits = fnp.asarray(logits)
    dtype = _check_float("categorical", logits.dtype if logits.dtype.kind == "f" else np.float32)
    logits = fnp.astype(logits, dtype)
    if logits.ndim < 1:
        raise ShapeError(f"categorical: logits must have rank >= 1, got a scalar at {user_frame()}")
    axis = _check_axis("categorical", axis, logits.ndim)
    batch = tuple(logits.shape[:axis] + logits.shape[axis + 1 :])
    shape = batch if shape is None else _check_shape("categorical", shape)
    try:
        fits = len(shape) >= len(batch) and np.broadcast_shapes(shape, batch) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(
            f"categorical: shape {shape} does not end in a shape that {batch} (the logits' "
            f"shape without axis {axis}) broadcasts to, at {user_frame()}"
        )
    lead = len(shape) - len(batch)
    draw_axis = lead + axis
    noise_shape = (*shape[:draw_axis], logits.shape[axis], *shape[draw_axis:])
    noisy = gumbel(key, noise_shape, dtype) + fnp.reshape(logits, (1,) * lead + tuple(logits.shape))
    return handed_back(fnp.astype(fnp.argmax(noisy, axis=draw_axis), np.int32))


def rademacher(key, shape, dtype=np.int32):
    """-1 or +1 with probability 1/2 each, as ``jax.random.rademacher``.

    >>> import funcgrad as fg
    >>> sorted(set(fg.random.rademacher(fg.random.key(0), (100,)).tolist()))
    [-1, 1]
    """
    shape = _check_shape("rademacher", shape)
    dtype = np.dtype(dtype)
    if dtype.kind not in "iuf" or dtype.kind == "u":
        raise DtypeError(
            f"rademacher: dtype must be a signed integer or float type, got {dtype.name} at "
            f"{user_frame()}"
        )
    b = bernoulli(key, 0.5, shape)
    return handed_back(fnp.astype(fnp.where(b, 1, -1), dtype))


_KNUTH_BELOW = 10.0
# log(k!) exactly for k < 10; Stirling's series from there (error below 3e-11).
_LOG_FACTORIALS = np.array([math.lgamma(k + 1.0) for k in range(10)])
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _log_factorial(k):
    n = fnp.maximum(k, 9.0) + 1.0
    r = 1.0 / n
    r2 = r * r
    stirling = (
        (n - 0.5) * fnp.log(n) - n + _HALF_LOG_2PI + r * (1 / 12 - r2 * (1 / 360 - r2 / 1260))
    )
    small = fnp.take(_LOG_FACTORIALS, fnp.astype(fnp.clip(k, 0.0, 9.0), np.int32))
    return fnp.where(k < 10.0, small, stirling)


def poisson(key, lam, shape=None, dtype=np.int32):
    """Poisson(``lam``) counts, as ``jax.random.poisson`` (``shape`` defaults to ``lam``'s
    shape). The method is in this module's description; ``lam`` that is negative, infinite
    or NaN gives -1.

    >>> import numpy as np, funcgrad as fg
    >>> fg.random.poisson(fg.random.key(0), np.array([0.5, 50.0]), (4, 2)).shape
    (4, 2)
    """
    dtype = _check_int("poisson", dtype)
    (lam,), shape = float_params("poisson", shape, np.float64, lam)
    invalid = fnp.logical_not(fnp.isfinite(lam) & (lam >= 0))
    small = lam < _KNUTH_BELOW
    big = fnp.where(small | invalid, _KNUTH_BELOW, lam)  # PTRS's constants, finite everywhere
    sqrt_lam, log_lam = fnp.sqrt(big), fnp.log(big)
    b = 0.931 + 2.53 * sqrt_lam
    a = -0.059 + 0.02483 * b
    log_inv_alpha = fnp.log(1.1239 + 1.1328 / (b - 3.4))
    v_r = 0.9277 - 3.6224 / (b - 2.0)

    def more(carry):
        return fnp.logical_not(fnp.all(carry[2]))

    def round_(carry):
        i, value, done, arrivals, count = carry
        k_u, k_v = split(fold_in(key, i))
        u = open_uniform(k_u, shape, np.float64)
        v = open_uniform(k_v, shape, np.float64)
        # Knuth: one more exponential gap; the count is final once the arrivals pass lam.
        arrivals = arrivals - fnp.log(u)
        knuth_done = arrivals > lam
        # PTRS: a candidate from u - 1/2 and v, accepted by the squeeze or the exact test.
        s = u - 0.5
        us = fnp.maximum(0.5 - fnp.abs(s), 1e-300)  # u = 0 would divide by 0
        k = fnp.floor((2.0 * a / us + b) * s + big + 0.43)
        fast = (us >= 0.07) & (v <= v_r)
        k_safe = fnp.clip(k, 0.0, 2.0**31 - 1)
        exact = fnp.log(v) + log_inv_alpha - fnp.log(a / (us * us) + b) <= (
            -big + k_safe * log_lam - _log_factorial(k_safe)
        )
        plausible = (k >= 0) & fnp.logical_not((us < 0.013) & (v > us))
        ptrs_done = fast | (plausible & exact)
        accepted = fnp.where(small, knuth_done, ptrs_done)
        take = accepted & fnp.logical_not(done)
        value = fnp.where(take, fnp.where(small, count, k_safe), value)
        count = fnp.where(knuth_done, count, count + 1.0)
        return i + np.int32(1), value, done | accepted, arrivals, count

    zeros = fnp.zeros(shape, np.float64)
    start = fnp.where(invalid, -1.0, 0.0)
    carry = (np.int32(0), start, invalid, zeros, zeros)
    value = while_loop(more, round_, carry)[1]
    return handed_back(fnp.astype(value, dtype))


__all__ = [
    "categorical",
    "poisson",
    "rademacher",
]
