"""Parameter initializers, as in ``jax.nn.initializers``.

A factory such as ``he_normal()`` returns ``init(key, shape, dtype=np.float32) -> array``;
``zeros`` and ``ones`` are such ``init`` functions themselves. The variance-scaling family
computes fans from ``in_axis`` and ``out_axis`` times the receptive field (the product of
the other dimensions): Dense weights are ``(in, out)``, the defaults; convolution weights
are OIHW, so conv layers use ``in_axis=1, out_axis=0``.

The ``*_normal`` initializers draw a plain normal with the variance-scaling standard
deviation ``sqrt(scale / fan)``, not a truncated normal: the variance is then exactly the
target, and no rescaling constant is needed.

>>> import funcgrad as fg
>>> w = fg.nn.initializers.he_normal(in_axis=1, out_axis=0)(fg.random.key(0), (16, 3, 3, 3))
>>> w.shape, w.dtype.name
((16, 3, 3, 3), 'float32')
"""

import math

import numpy as np

from .. import random
from ..errors import ShapeError, user_frame

_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("normal", "uniform")


def _fans(shape, in_axis, out_axis):
    """``(fan_in, fan_out)`` of a weight shape: the in/out dims times the receptive field."""
    ndim = len(shape)
    if ndim < 2:
        raise ShapeError(
            f"variance scaling needs a weight shape of rank >= 2 to find its fans, got "
            f"{shape} at {user_frame()}: initialize biases with zeros or normal()"
        )
    try:
        axes = [range(ndim)[a] for a in (in_axis, out_axis)]
    except IndexError:
        raise ShapeError(
            f"in_axis={in_axis} and out_axis={out_axis} are invalid for shape {shape} at "
            f"{user_frame()}"
        ) from None
    if axes[0] == axes[1]:
        raise ShapeError(f"in_axis and out_axis are both axis {axes[0]} at {user_frame()}")
    receptive = math.prod(d for i, d in enumerate(shape) if i not in axes)
    return shape[axes[0]] * receptive, shape[axes[1]] * receptive


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1):
    """Weights with variance ``scale / n``, ``n`` the fan named by ``mode``.

    Args:
      scale: the target variance times the fan.
      mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"`` (the mean of the two).
      distribution: ``"normal"`` (plain, not truncated) or ``"uniform"`` (on
        ``[-sqrt(3 * variance), sqrt(3 * variance))``).
      in_axis, out_axis: the input and output axes of the weight shape.

    >>> import funcgrad as fg
    >>> init = fg.nn.initializers.variance_scaling(2.0, "fan_in", "normal")
    >>> w = init(fg.random.key(0), (1000, 100))
    >>> round(float(w.std() ** 2 * 1000), 1)
    2.0
    """
    if mode not in _MODES:
        raise ValueError(f"variance_scaling: mode must be one of {_MODES}, got {mode!r}")
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(
            f"variance_scaling: distribution must be one of {_DISTRIBUTIONS}, got {distribution!r}"
        )

    def init(key, shape, dtype=np.float32):
        shape = tuple(shape)
        fan_in, fan_out = _fans(shape, in_axis, out_axis)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / max(fan, 1)  # zero-size shapes: an empty array, not a crash
        if distribution == "normal":
            return random.normal(key, shape, dtype) * math.sqrt(variance)
        limit = math.sqrt(3.0 * variance)
        return random.uniform(key, shape, dtype, minval=-limit, maxval=limit)

    return init


def glorot_uniform(in_axis=-2, out_axis=-1):
    """Glorot (Xavier) uniform: variance ``2 / (fan_in + fan_out)``."""
    return variance_scaling(1.0, "fan_avg", "uniform", in_axis, out_axis)


def glorot_normal(in_axis=-2, out_axis=-1):
    """Glorot (Xavier) normal: variance ``2 / (fan_in + fan_out)``."""
    return variance_scaling(1.0, "fan_avg", "normal", in_axis, out_axis)


def he_uniform(in_axis=-2, out_axis=-1):
    """He (Kaiming) uniform: variance ``2 / fan_in``, for ReLU networks."""
    return variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis)


def he_normal(in_axis=-2, out_axis=-1):
    """He (Kaiming) normal: variance ``2 / fan_in``, for ReLU networks.

    >>> import funcgrad as fg
    >>> w = fg.nn.initializers.he_normal()(fg.random.key(0), (784, 128))
    >>> round(float(w.std()) * 28, 1)  # sqrt(2 / 784) = 1 / 19.8 (28 / 19.8 = 1.41)
    1.4
    """
    return variance_scaling(2.0, "fan_in", "normal", in_axis, out_axis)


def lecun_normal(in_axis=-2, out_axis=-1):
    """LeCun normal: variance ``1 / fan_in``, for SELU and tanh networks."""
    return variance_scaling(1.0, "fan_in", "normal", in_axis, out_axis)


def lecun_uniform(in_axis=-2, out_axis=-1):
    """LeCun uniform: variance ``1 / fan_in``."""
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis)


def normal(stddev=1e-2):
    """Normal weights with standard deviation ``stddev``, for any shape (biases too).

    >>> import funcgrad as fg
    >>> fg.nn.initializers.normal(0.1)(fg.random.key(0), (3,)).dtype.name
    'float32'
    """

    def init(key, shape, dtype=np.float32):
        return random.normal(key, shape, dtype) * float(stddev)

    return init


def uniform(scale=1e-2):
    """Uniform weights on ``[0, scale)``, as ``jax.nn.initializers.uniform``."""

    def init(key, shape, dtype=np.float32):
        return random.uniform(key, shape, dtype, minval=0.0, maxval=float(scale))

    return init


def zeros(key, shape, dtype=np.float32):
    """All zeros; ``key`` is ignored (it is there so every initializer has one signature).

    >>> import funcgrad as fg
    >>> fg.nn.initializers.zeros(fg.random.key(0), (2,))
    array([0., 0.], dtype=float32)
    """
    return np.zeros(shape, dtype)


def ones(key, shape, dtype=np.float32):
    """All ones; ``key`` is ignored."""
    return np.ones(shape, dtype)


__all__ = [
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "uniform",
    "variance_scaling",
    "zeros",
]
