"""Layers as stax pairs: ``init_fn, apply_fn = Dense(10)``.

* ``out_shape, params = init_fn(key, input_shape)``, with the batch dimension given as -1.
* ``y = apply_fn(params, x, *, rng=None, train=False)``: ``rng`` is a key from
  ``fg.random.key`` (needed by Dropout when ``train=True``); ``serial`` splits it among its
  layers.
* Params: a dict of arrays for layers with weights (``{"w", "b"}`` for Dense and Conv), the
  empty tuple ``()`` for layers without, a tuple of the children's params for ``serial``
  and ``parallel``.
* State: BatchNorm keeps its running statistics in its params dict (``"running_mean"``,
  ``"running_var"``), read through ``stop_gradient`` so their gradient is exactly zero.
  An ``apply_fn`` whose ``has_state`` attribute is True (BatchNorm, and serial or parallel
  holding one) returns ``(y, new_params)`` when ``train=True``, with the statistics updated
  in ``new_params``, and plain ``y`` otherwise. In a train step, return ``new_params`` as
  the aux of ``value_and_grad(..., has_aux=True)`` and apply the updates to it (its zero
  gradients leave the statistics as updated, except under weight decay: mask them there).

Every constructor returns a :class:`Layer`, a NamedTuple ``(init, apply)``, so it unpacks
as a pair. Layers that take no arguments (``Relu``, ``Flatten``, ...) are values, not
constructors, as in stax.

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> init_fn, apply_fn = serial(Dense(16), Relu, Dense(3), LogSoftmax)
>>> out_shape, params = init_fn(fg.random.key(0), (-1, 4))
>>> out_shape, fg.tree.map(fnp.shape, params[0])
((-1, 3), {'b': (16,), 'w': (4, 16)})
>>> apply_fn(params, fnp.ones((2, 4), fnp.float32)).shape
(2, 3)
"""

import functools
import math
import numbers
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .. import numpy as fnp
from .. import random
from ..errors import ShapeError, user_frame
from . import activations as A
from . import functional as F
from .initializers import glorot_normal, he_normal, normal, ones, zeros


class Layer(NamedTuple):
    """A stax layer: ``init(key, input_shape) -> (out_shape, params)`` and
    ``apply(params, x, *, rng=None, train=False) -> y``. Unpacks as a pair."""

    init: Callable
    apply: Callable


def _split(key, num):
    """``num`` keys from ``key`` (``None`` stays ``None``: layers without randomness)."""
    if key is None:
        return [None] * num
    keys = random.split(key, num)
    return [keys[i] for i in range(num)]


def _require_key(name, key):
    if key is None:
        raise ValueError(f"{name}: init needs a key, e.g. fg.random.key(0), at {user_frame()}")
    return key


def _has_state(apply_fn):
    return getattr(apply_fn, "has_state", False)


def _shape(name, input_shape, ndim=None):
    shape = tuple(int(d) for d in input_shape)
    if ndim is not None and len(shape) != ndim:
        raise ShapeError(
            f"{name}: expected an input shape of rank {ndim}, got {shape} at {user_frame()}"
        )
    return shape


def elementwise(fn, **fn_kwargs):
    """A layer without params applying ``fn(x, **fn_kwargs)``; the shape is unchanged.

    >>> _, apply_fn = elementwise(fnp.clip, a_min=0.0, a_max=1.0)
    >>> apply_fn((), np.array([-1.0, 0.5, 2.0]))
    array([0. , 0.5, 1. ])
    """

    def init(key, input_shape):
        return tuple(input_shape), ()

    def apply(params, x, *, rng=None, train=False):
        return fn(x, **fn_kwargs)

    return Layer(init, apply)


class _SlopeLayer(Layer):
    """LeakyRelu: a layer with slope 0.01 that, called with a slope, makes another."""

    __slots__ = ()

    def __call__(self, negative_slope=0.01):
        return elementwise(F.leaky_relu, negative_slope=negative_slope)


Identity = elementwise(lambda x: x)
Relu = elementwise(F.relu)
LeakyRelu = _SlopeLayer(*elementwise(F.leaky_relu, negative_slope=0.01))
"""``LeakyRelu`` is a layer (slope 0.01); ``LeakyRelu(0.2)`` is one with slope 0.2."""
Tanh = elementwise(fnp.tanh)
Sigmoid = elementwise(F.sigmoid)
Softmax = elementwise(F.softmax, axis=-1)
LogSoftmax = elementwise(F.log_softmax, axis=-1)


Softplus = elementwise(F.softplus)


Gelu = elementwise(A.gelu)
Elu = elementwise(A.elu)
Selu = elementwise(A.selu)
Celu = elementwise(A.celu)
Silu = elementwise(A.silu)
LogSigmoid = elementwise(A.log_sigmoid)
Softsign = elementwise(A.softsign)
Relu6 = elementwise(A.relu6)
HardTanh = elementwise(A.hard_tanh)

_DENSE_W_INIT = glorot_normal()
_DENSE_B_INIT = normal()
_CONV_W_INIT = he_normal(in_axis=1, out_axis=0)


def Dense(out_dim, W_init=_DENSE_W_INIT, b_init=_DENSE_B_INIT):
    """A fully connected layer ``x @ w + b`` on the last axis; params ``{"w", "b"}`` with
    ``w`` of shape (in_dim, out_dim). Defaults as stax: ``W_init=glorot_normal()``,
    ``b_init=normal()`` (stddev 0.01).

    >>> import funcgrad as fg
    >>> out_shape, params = Dense(3).init(fg.random.key(0), (-1, 5))
    >>> out_shape, params["w"].shape, params["b"].shape
    ((-1, 3), (5, 3), (3,))
    """

    def init(key, input_shape):
        input_shape = _shape("Dense", input_shape)
        if not input_shape:
            raise ShapeError(f"Dense: the input needs at least one axis at {user_frame()}")
        k_w, k_b = _split(_require_key("Dense", key), 2)
        params = {"w": W_init(k_w, (input_shape[-1], out_dim)), "b": b_init(k_b, (out_dim,))}
        return input_shape[:-1] + (out_dim,), params

    def apply(params, x, *, rng=None, train=False):
        return fnp.add(fnp.matmul(x, params["w"]), params["b"])

    return Layer(init, apply)


def _window_out(name, in_hw, window, strides, padding, dilation=(1, 1)):
    """Output height and width, as the conv and pooling primitives compute them."""
    pads = F._padding(name, padding, in_hw, window, strides, dilation)
    out = []
    for n, k, s, (lo, hi), d in zip(in_hw, window, strides, pads, dilation):
        size = (n + lo + hi - d * (k - 1) - 1) // s + 1
        if size < 1:
            raise ShapeError(
                f"{name}: the window {window} is larger than the input {tuple(in_hw)} with "
                f"padding {pads} at {user_frame()}"
            )
        out.append(size)
    return tuple(out)


def Conv(
    out_channels,
    filter_shape,
    strides=(1, 1),
    padding="VALID",
    W_init=_CONV_W_INIT,
    b_init=zeros,
):
    """2-D convolution of NCHW inputs (see :func:`funcgrad.nn.conv2d`); params
    ``{"w", "b"}`` with OIHW weights ``w`` and ``b`` of shape (out_channels,).

    ``padding`` is "VALID", "SAME" (output size ``ceil(n / stride)``) or explicit padding.
    Defaults: ``W_init=he_normal(in_axis=1, out_axis=0)``, ``b_init=zeros``.

    >>> import funcgrad as fg
    >>> out_shape, params = Conv(8, (3, 3), padding="SAME").init(fg.random.key(0), (-1, 3, 5, 5))
    >>> out_shape, params["w"].shape
    ((-1, 8, 5, 5), (8, 3, 3, 3))
    """
    filter_shape = F._pair("Conv", "filter_shape", filter_shape)
    strides = F._pair("Conv", "strides", strides)

    def init(key, input_shape):
        n, c, h, w = _shape("Conv", input_shape, 4)
        out_hw = _window_out("Conv", (h, w), filter_shape, strides, padding)
        k_w, k_b = _split(_require_key("Conv", key), 2)
        params = {
            "w": W_init(k_w, (out_channels, c) + filter_shape),
            "b": b_init(k_b, (out_channels,)),
        }
        return (n, out_channels) + out_hw, params

    def apply(params, x, *, rng=None, train=False):
        return F.conv2d(x, params["w"], params["b"], stride=strides, padding=padding)

    return Layer(init, apply)


def _pool_layer(name, pool, window, strides, padding, normalize=False):
    window = F._pair(name, "window", window)
    strides = window if strides is None else F._pair(name, "strides", strides)

    def init(key, input_shape):
        n, c, h, w = _shape(name, input_shape, 4)
        return (n, c) + _window_out(name, (h, w), window, strides, padding), ()

    def apply(params, x, *, rng=None, train=False):
        y = pool(x, window, stride=strides, padding=padding)
        if normalize and F._padding(name, padding, fnp.shape(x)[2:], window, strides, (1, 1)) != (
            (0, 0),
            (0, 0),
        ):
            # Count only real elements in each window (as stax), not the padding.
            counts = F.avg_pool2d(np.ones((1, 1) + fnp.shape(x)[2:]), window, strides, padding)
            y = fnp.divide(y, fnp.astype(counts, y.dtype))
        return y

    return Layer(init, apply)


def MaxPool(window, strides=None, padding="VALID"):
    """Max pooling of NCHW inputs; ``strides`` defaults to the window (non-overlapping
    windows, as :func:`funcgrad.nn.max_pool2d`; stax defaults to stride 1).

    >>> MaxPool((2, 2)).init(None, (-1, 3, 8, 6))[0]
    (-1, 3, 4, 3)
    """
    return _pool_layer("MaxPool", F.max_pool2d, window, strides, padding)


def AvgPool(window, strides=None, padding="VALID"):
    """Average pooling of NCHW inputs; ``strides`` defaults to the window. With padding,
    each output averages only the input elements its window covers (as stax).

    >>> AvgPool((2, 2)).apply((), np.arange(4.0).reshape(1, 1, 2, 2))
    array([[[[1.5]]]])
    """
    return _pool_layer("AvgPool", F.avg_pool2d, window, strides, padding, normalize=True)


_EMBEDDING_INIT = normal(1.0)


def SumPool(window, strides=None, padding="VALID"):
    """Sum pooling of NCHW inputs (each window's sum); ``strides`` defaults to the window.

    >>> SumPool((2, 2)).apply((), np.arange(4.0).reshape(1, 1, 2, 2))
    array([[[[6.]]]])
    """
    size = math.prod(F._pair("SumPool", "window", window))

    def summed(x, window, stride, padding):
        return F.avg_pool2d(x, window, stride, padding) * size

    return _pool_layer("SumPool", summed, window, strides, padding)


def Embedding(num_embeddings, features, W_init=_EMBEDDING_INIT):
    """A table of ``num_embeddings`` vectors of ``features``: integer ids of any shape in,
    their vectors out (``[..., features]``). Params ``{"embedding"}``.

    >>> import funcgrad as fg
    >>> out_shape, params = Embedding(10, 4).init(fg.random.key(0), (-1, 7))
    >>> out_shape, params["embedding"].shape
    ((-1, 7, 4), (10, 4))
    """

    def init(key, input_shape):
        key = _require_key("Embedding", key)
        return (*input_shape, features), {"embedding": W_init(key, (num_embeddings, features))}

    def apply(params, ids, *, rng=None, train=False):
        return fnp.take(params["embedding"], ids, axis=0)

    return Layer(init, apply)


def shape_dependent(make_layer):
    """A layer built from the input's shape: ``make_layer(shape) -> Layer``, called at init
    with the input shape and at apply with the array's (as stax's)."""

    def init(key, input_shape):
        return make_layer(tuple(input_shape)).init(key, input_shape)

    def apply(params, x, *, rng=None, train=False):
        return make_layer(fnp.shape(x)).apply(params, x, rng=rng, train=train)

    return Layer(init, apply)


def Residual(*layers):
    """``x + serial(*layers)(x)``: a residual block (the layers keep the shape)."""
    return serial(FanOut(2), parallel(serial(*layers), Identity), FanInSum)


def _flatten_init(key, input_shape):
    input_shape = _shape("Flatten", input_shape)
    if not input_shape:
        raise ShapeError(f"Flatten: the input needs a batch axis at {user_frame()}")
    return (input_shape[0], math.prod(input_shape[1:])), ()


def _flatten_apply(params, x, *, rng=None, train=False):
    shape = fnp.shape(x)
    return fnp.reshape(x, (shape[0], math.prod(shape[1:])))


Flatten = Layer(_flatten_init, _flatten_apply)
"""Reshapes ``(N, ...)`` inputs to ``(N, prod(...))``."""


def Dropout(rate):
    """Inverted dropout: with ``train=True``, zeroes each element with probability ``rate``
    (the DROP probability, as PyTorch and Flax; stax's argument is the keep probability)
    and scales the rest by ``1 / (1 - rate)``; the identity when ``train=False``. Needs
    ``rng`` when training.

    >>> _, apply_fn = Dropout(0.5)
    >>> apply_fn((), np.ones(3))  # train=False
    array([1., 1., 1.])
    """
    if not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
        raise ValueError(
            f"Dropout: rate must be a number in [0, 1), got {rate!r} at {user_frame()}"
        )

    def init(key, input_shape):
        return tuple(input_shape), ()

    def apply(params, x, *, rng=None, train=False):
        if not train or rate == 0:
            return x
        if rng is None:
            raise ValueError(
                "Dropout: train=True needs a random key: call "
                f"apply_fn(params, x, rng=fg.random.key(...), train=True) at {user_frame()}"
            )
        return F.dropout(x, rate, rng)

    return Layer(init, apply)


def _reduced_axes(axis, ndim):
    axes = tuple(a for a in range(ndim) if a != 1) if axis is None else axis
    axes = (axes,) if isinstance(axes, numbers.Integral) else tuple(axes)
    if not all(-ndim <= a < ndim for a in axes):
        raise ShapeError(
            f"BatchNorm: axis {axis} is out of range for rank {ndim} at {user_frame()}"
        )
    return tuple(sorted({a % ndim for a in axes}))


def BatchNorm(axis=None, momentum=0.9, eps=1e-5):
    """Batch normalization over the axes ``axis`` (default: all but axis 1, the channels
    of (N, C) and (N, C, H, W) inputs), with a learned ``scale`` and ``bias``.

    Params ``{"scale", "bias", "running_mean", "running_var"}``, each of the input's shape
    without the reduced axes. With ``train=True`` it normalizes by the batch's statistics
    and returns ``(y, new_params)``, where ``running = momentum * running + (1 - momentum) *
    batch`` (the biased batch variance); with ``train=False`` it uses the running statistics
    and returns ``y``. The running statistics are read through ``stop_gradient``: their
    gradient is zero, so ``apply_updates(new_params, updates)`` keeps them as updated.

    >>> init_fn, apply_fn = BatchNorm()
    >>> _, params = init_fn(None, (-1, 2))
    >>> y, new_params = apply_fn(params, np.array([[0.0, 1.0], [2.0, 5.0]]), train=True)
    >>> y.round(3).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    >>> new_params["running_mean"]  # 0.9 * 0 + 0.1 * [1, 3]
    array([0.1, 0.3], dtype=float32)
    """

    def init(key, input_shape):
        input_shape = _shape("BatchNorm", input_shape)
        axes = _reduced_axes(axis, len(input_shape))
        shape = tuple(d for i, d in enumerate(input_shape) if i not in axes)
        if any(d < 0 for d in shape):
            raise ShapeError(
                f"BatchNorm: axis {axis} must include the batch axis of {input_shape} at "
                f"{user_frame()}"
            )
        params = {
            "scale": ones(key, shape, np.float32),
            "bias": zeros(key, shape, np.float32),
            "running_mean": zeros(key, shape, np.float32),
            "running_var": ones(key, shape, np.float32),
        }
        return input_shape, params

    def apply(params, x, *, rng=None, train=False):
        x = fnp.asarray(x)
        axes = _reduced_axes(axis, x.ndim)
        kept = tuple(d for i, d in enumerate(x.shape) if i not in axes)
        bshape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))

        def expand(v):
            return fnp.reshape(v, bshape)

        if train:
            mean = fnp.mean(x, axis=axes, keepdims=True)
            var = fnp.mean(fnp.square(fnp.subtract(x, mean)), axis=axes, keepdims=True)
        else:
            mean = expand(fnp.stop_gradient(params["running_mean"]))
            var = expand(fnp.stop_gradient(params["running_var"]))
        inv = fnp.divide(expand(params["scale"]), fnp.sqrt(fnp.add(var, eps)))
        y = fnp.add(fnp.multiply(fnp.subtract(x, mean), inv), expand(params["bias"]))
        if not train:
            return y
        new_params = dict(params)
        for name, batch in (("running_mean", mean), ("running_var", var)):
            old = params[name]
            batch = fnp.stop_gradient(fnp.reshape(batch, kept))
            new = fnp.add(fnp.multiply(fnp.stop_gradient(old), momentum), batch * (1 - momentum))
            new_params[name] = fnp.astype(new, fnp.asarray(old).dtype)
        return y, new_params

    apply.has_state = True
    return Layer(init, apply)


def serial(*layers):
    """Compose layers in sequence; params are a tuple with one entry per layer.

    ``rng`` is split among the layers. Stateful if any layer is (see the module docstring).

    >>> import funcgrad as fg
    >>> init_fn, apply_fn = serial(Dense(4), Relu)
    >>> init_fn(fg.random.key(0), (-1, 2))[0]
    (-1, 4)
    """
    inits, applies = zip(*layers) if layers else ((), ())
    stateful = any(map(_has_state, applies))

    def init(key, input_shape):
        params = []
        for init_fn, k in zip(inits, _split(key, len(inits))):
            input_shape, p = init_fn(k, input_shape)
            params.append(p)
        return input_shape, tuple(params)

    def apply(params, x, *, rng=None, train=False):
        _check_params("serial", params, len(applies))
        new_params = []
        for apply_fn, p, r in zip(applies, params, _split(rng, len(applies))):
            x = apply_fn(p, x, rng=r, train=train)
            if train and _has_state(apply_fn):
                x, p = x
            new_params.append(p)
        return (x, tuple(new_params)) if train and stateful else x

    apply.has_state = stateful
    return Layer(init, apply)


def parallel(*layers):
    """Apply layer ``i`` to input ``i`` of a tuple of inputs; returns a tuple of outputs
    (and takes a tuple of input shapes). Combine with :data:`FanOut` and :data:`FanInSum`
    or :func:`FanInConcat` for branches.

    >>> import funcgrad as fg
    >>> init_fn, apply_fn = serial(FanOut(2), parallel(Dense(3), Identity), FanInConcat())
    >>> init_fn(fg.random.key(0), (-1, 2))[0]
    (-1, 5)
    """
    inits, applies = zip(*layers) if layers else ((), ())
    stateful = any(map(_has_state, applies))

    def init(key, input_shape):
        _check_params("parallel", input_shape, len(inits), what="input shapes")
        pairs = [f(k, s) for f, k, s in zip(inits, _split(key, len(inits)), input_shape)]
        return tuple(s for s, _ in pairs), tuple(p for _, p in pairs)

    def apply(params, xs, *, rng=None, train=False):
        _check_params("parallel", params, len(applies))
        _check_params("parallel", xs, len(applies), what="inputs")
        ys, new_params = [], []
        for apply_fn, p, x, r in zip(applies, params, xs, _split(rng, len(applies))):
            y = apply_fn(p, x, rng=r, train=train)
            if train and _has_state(apply_fn):
                y, p = y
            ys.append(y)
            new_params.append(p)
        return (tuple(ys), tuple(new_params)) if train and stateful else tuple(ys)

    apply.has_state = stateful
    return Layer(init, apply)


def _check_params(name, seq, num, what="params"):
    if not isinstance(seq, (tuple, list)) or len(seq) != num:
        got = f"{len(seq)}" if isinstance(seq, (tuple, list)) else f"a {type(seq).__name__}"
        raise ShapeError(
            f"{name}: expected a tuple of {what} for {num} layers, got {got} at {user_frame()}"
        )


def FanOut(num):
    """Copy the input into a tuple of ``num`` identical inputs."""

    def init(key, input_shape):
        return (tuple(input_shape),) * num, ()

    def apply(params, x, *, rng=None, train=False):
        return (x,) * num

    return Layer(init, apply)


def _fan_in_sum_init(key, input_shape):
    shapes = {tuple(s) for s in input_shape}
    if len(shapes) != 1:
        raise ShapeError(
            f"FanInSum: the inputs' shapes {list(input_shape)} differ at {user_frame()}"
        )
    return shapes.pop(), ()


def _fan_in_sum_apply(params, xs, *, rng=None, train=False):
    return functools.reduce(fnp.add, xs)


FanInSum = Layer(_fan_in_sum_init, _fan_in_sum_apply)
"""Sum a tuple of inputs of one shape."""


def FanInConcat(axis=-1):
    """Concatenate a tuple of inputs along ``axis``."""

    def init(key, input_shape):
        first = tuple(input_shape[0])
        ax = axis % len(first)
        sizes = [s[ax] for s in input_shape]
        size = -1 if any(d < 0 for d in sizes) else sum(sizes)
        return first[:ax] + (size,) + first[ax + 1 :], ()

    def apply(params, xs, *, rng=None, train=False):
        return fnp.concatenate(list(xs), axis=axis)

    return Layer(init, apply)


__all__ = [
    "AvgPool",
    "BatchNorm",
    "Celu",
    "Conv",
    "Dense",
    "Dropout",
    "Elu",
    "Embedding",
    "FanInConcat",
    "FanInSum",
    "FanOut",
    "Flatten",
    "Gelu",
    "HardTanh",
    "Identity",
    "Layer",
    "LeakyRelu",
    "LogSigmoid",
    "LogSoftmax",
    "MaxPool",
    "Relu",
    "Relu6",
    "Residual",
    "Selu",
    "Sigmoid",
    "Silu",
    "Softmax",
    "Softplus",
    "Softsign",
    "SumPool",
    "Tanh",
    "elementwise",
    "parallel",
    "serial",
    "shape_dependent",
]
