"""Activations, softmax family, convolution and pooling as plain functions.

They work eagerly on arrays and under tracing alike. Activations are compositions of
primitives (no VJP of their own): fusion recovers the speed. The softmax family and
convolutions are primitives, run by dedicated kernels.
"""

import numpy as np

from .. import conv_numpy
from .. import numpy as fnp
from .. import primitives as P
from ..errors import ShapeError, user_frame
from ..numpy._base import _axes, _keep, _to_float


def relu(x):
    """``max(x, 0)``, with slope 0 at 0 (as JAX and PyTorch).

    >>> relu(np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    return fnp.where(fnp.greater(x, 0), x, 0)


def leaky_relu(x, negative_slope=0.01):
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return fnp.where(fnp.greater(x, 0), x, fnp.multiply(x, negative_slope))


def sigmoid(x):
    """The logistic function, as ``0.5 * tanh(x / 2) + 0.5``: no overflow for any x.

    >>> sigmoid(np.array([0.0]))
    array([0.5])
    """
    x = _to_float(x)  # (integers as NumPy's transcendental functions take them)
    return fnp.add(fnp.multiply(fnp.tanh(fnp.multiply(x, 0.5)), 0.5), 0.5)


def softplus(x):
    """``log(1 + exp(x))``, computed without overflow and smooth to every order.

    >>> softplus(np.array([-1000.0, 0.0, 1000.0])).round(4).tolist()
    [0.0, 0.6931, 1000.0]
    """
    # Each branch sees only the inputs it is selected for, so neither overflows (an inf in
    # the unselected branch would still poison the gradient with 0 * inf).
    x = _to_float(x)  # (negating an unsigned integer would wrap)
    positive = fnp.greater(x, 0)
    xp, xn = fnp.where(positive, x, 0), fnp.where(positive, 0, x)
    upper = fnp.add(xp, fnp.log1p(fnp.exp(fnp.negative(xp))))
    return fnp.where(positive, upper, fnp.log1p(fnp.exp(xn)))


def _rows(name, x, axis):
    """``x`` as floats (integers as NumPy's transcendental functions take them) and
    ``axis`` as sorted axes."""
    x = _to_float(x)
    return x, _axes(name, axis, x.ndim)


def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` along ``axis`` (all axes by default), stable for any magnitude.

    >>> float(logsumexp(np.array([1000.0, 1000.0])))  # doctest: +ELLIPSIS
    1000.693...
    """
    x, axes = _rows("logsumexp", x, axis)
    return _keep(x, P.logsumexp(x, axes=axes), axes, keepdims)


def log_softmax(x, axis=-1):
    """``x - logsumexp(x)`` along ``axis``, computed as ``(x - max) - log(sum(exp(x - max)))``.

    >>> log_softmax(np.array([0.0, 0.0])).round(4).tolist()
    [-0.6931, -0.6931]
    """
    x, axes = _rows("log_softmax", x, axis)
    return P.log_softmax(x, axes=axes)


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``.

    >>> softmax(np.array([0.0, 0.0]))
    array([0.5, 0.5])
    """
    x, axes = _rows("softmax", x, axis)
    return P.softmax(x, axes=axes)


def one_hot(labels, num_classes, dtype=np.float32):
    """``labels[..., None] == arange(num_classes)`` as ``dtype``."""
    return fnp.astype(fnp.equal(fnp.expand_dims(labels, -1), np.arange(num_classes)), dtype)


# ---------------------------------------------------------------- convolution and pooling


def _pair(name, what, v):
    pair = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(pair) != 2 or not all(isinstance(p, (int, np.integer)) and p >= 1 for p in pair):
        raise ShapeError(
            f"{name}: {what} must be a positive int or a pair, got {v!r} at {user_frame()}"
        )
    return tuple(int(p) for p in pair)


def _padding(name, padding, in_hw, window, stride, dilation):
    """Normalize padding to ((top, bottom), (left, right))."""
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return ((0, 0), (0, 0))
        if mode != "SAME":
            raise ValueError(
                f"{name}: padding must be 'SAME' or 'VALID', got {padding!r} at {user_frame()}"
            )
        pads = []  # TensorFlow/JAX convention: output ceil(n / s), extra padding at the end
        for n, k, s, d in zip(in_hw, window, stride, dilation):
            out = -(-n // s)
            total = max(0, (out - 1) * s + d * (k - 1) + 1 - n)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    if isinstance(padding, (int, np.integer)):
        padding = (padding, padding)
    padding = tuple(padding)
    if len(padding) == 2 and all(isinstance(p, (int, np.integer)) for p in padding):
        padding = ((padding[0], padding[0]), (padding[1], padding[1]))
    ok = len(padding) == 2 and all(len(p) == 2 and min(p) >= 0 for p in padding)
    if not ok:
        raise ShapeError(f"{name}: invalid padding {padding!r} at {user_frame()}")
    return tuple((int(lo), int(hi)) for lo, hi in padding)


def _check_nchw(name, x):
    if fnp.ndim(x) != 4:
        raise ShapeError(
            f"{name}: expected an (N, C, H, W) input, got shape {fnp.shape(x)} at {user_frame()}"
        )


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    """2-D cross-correlation of NCHW ``x`` with OIHW ``w`` (plus bias ``b`` of shape (O,)).

    ``padding`` is an int, a pair, ``((top, bottom), (left, right))``, "SAME" or "VALID".

    >>> conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))).shape
    (1, 1, 2, 2)
    """
    _check_nchw("conv2d", x)
    x, w = fnp.asarray(x), fnp.asarray(w)
    x, w = fnp.promote(x, w)
    if w.ndim != 4:
        raise ShapeError(
            f"conv2d: expected (O, C, kh, kw) weights, got {w.shape} at {user_frame()}"
        )
    stride = _pair("conv2d", "stride", stride)
    dilation = _pair("conv2d", "dilation", dilation)
    pads = _padding("conv2d", padding, x.shape[2:], w.shape[2:], stride, dilation)
    if x.shape[1] != w.shape[1]:
        raise ShapeError(
            f"conv2d: input has {x.shape[1]} channels but the weights expect {w.shape[1]} "
            f"(shapes {x.shape} and {w.shape}) at {user_frame()}"
        )
    for n, k, s, (lo, hi), d in zip(x.shape[2:], w.shape[2:], stride, pads, dilation):
        if conv_numpy.conv_output_size(n, k, s, lo, hi, d) < 1:
            raise ShapeError(
                f"conv2d: the window {w.shape[2:]} (dilation {dilation}) is larger than the "
                f"padded input {x.shape[2:]} + padding {pads} at {user_frame()}"
            )
    y = P.conv_general_dilated(
        x,
        w,
        window_strides=stride,
        padding=pads,
        lhs_dilation=(1, 1),
        rhs_dilation=dilation,
        dimension_numbers=conv_numpy.NCHW,
        feature_group_count=1,
        batch_group_count=1,
    )
    if b is not None:
        y = fnp.add(y, fnp.reshape(b, (1, -1, 1, 1)))
    return y


def _pool(name, prim, x, window, stride, padding):
    _check_nchw(name, x)
    x = fnp.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = fnp.astype(x, np.float64)
    window = _pair(name, "window", window)
    stride = window if stride is None else _pair(name, "stride", stride)
    pads = _padding(name, padding, x.shape[2:], window, stride, (1, 1))
    return prim(x, window=window, stride=stride, padding=pads)


def max_pool2d(x, window, stride=None, padding=0):
    """Max over ``window``-sized patches of NCHW ``x`` (stride defaults to the window).

    >>> max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    return _pool("max_pool2d", P.max_pool2d, x, window, stride, padding)


def avg_pool2d(x, window, stride=None, padding=0):
    """Mean over ``window``-sized patches of NCHW ``x``; padded zeros count (as PyTorch's
    default ``count_include_pad=True``)."""
    return _pool("avg_pool2d", P.avg_pool2d, x, window, stride, padding)


# ---------------------------------------------------------------- regularization

tanh = fnp.tanh  # re-exported so every activation is in fg.nn


def dropout(x, rate, rng):
    """Inverted dropout: zero each element of ``x`` with probability ``rate`` and scale the
    rest by ``1 / (1 - rate)``, so the expected value is unchanged.

    ``rng`` is a key from ``fg.random.key`` (traced keys work under jit); ``rate`` is a
    Python number in [0, 1].

    >>> import funcgrad as fg
    >>> y = dropout(np.ones(1000, np.float32), 0.25, fg.random.key(0))
    >>> sorted(set(y.tolist())), round(float(y.mean()), 1)
    ([0.0, 1.3333333730697632], 1.0)
    """
    from .. import random  # local: this section was appended to a shared file

    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(
            f"dropout: rate must be a number in [0, 1], got {rate!r} at {user_frame()}"
        )
    x = fnp.asarray(x)
    if rate == 0:
        return x
    if rate == 1:
        return fnp.multiply(x, 0)
    keep = random.bernoulli(rng, 1.0 - rate, fnp.shape(x))
    return fnp.where(keep, fnp.divide(x, 1.0 - rate), 0)


__all__ = [
    "avg_pool2d",
    "conv2d",
    "dropout",
    "leaky_relu",
    "log_softmax",
    "logsumexp",
    "max_pool2d",
    "one_hot",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
]
