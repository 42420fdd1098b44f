"""Normalization layers beside BatchNorm (in layers.py): LayerNorm and GroupNorm, which
normalize each example by itself (no running statistics, the same in training and
evaluation)."""

from .. import numpy as fnp
from ..errors import ShapeError, user_frame
from .activations import standardize
from .initializers import ones, zeros
from .layers import Layer, _split


def _axes(name, axis, ndim):
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = tuple(sorted(a % ndim for a in axes))
    if any(not -ndim <= a < ndim for a in axes):
        raise ShapeError(f"{name}: axis {axis} out of range for rank {ndim} at {user_frame()}")
    return out


def LayerNorm(axis=-1, epsilon=1e-5, center=True, scale=True, beta_init=zeros, gamma_init=ones):
    """``standardize(x)`` over ``axis`` (the features; an int or a tuple), then ``* scale +
    bias`` learned per feature. Params ``{"scale", "bias"}`` of the normalized axes' shape
    (those that ``center``/``scale`` turn off are left out).

    >>> import numpy as np, funcgrad as fg
    >>> _, apply_fn = LayerNorm()
    >>> _, params = LayerNorm().init(fg.random.key(0), (-1, 4))
    >>> apply_fn(params, np.array([[1.0, 2.0, 3.0, 4.0]])).round(3).tolist()
    [[-1.342, -0.447, 0.447, 1.342]]
    """

    def init(key, input_shape):
        axes = _axes("LayerNorm", axis, len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        k1, k2 = _split(key, 2)
        params = {}
        if scale:
            params["scale"] = gamma_init(k1, shape)
        if center:
            params["bias"] = beta_init(k2, shape)
        return tuple(input_shape), params

    def apply(params, x, *, rng=None, train=False):
        ndim = fnp.ndim(x)
        axes = _axes("LayerNorm", axis, ndim)
        y = standardize(x, axis=axes, epsilon=epsilon)
        # the params broadcast over the axes not normalized
        shape = tuple(fnp.shape(x)[a] if a in axes else 1 for a in range(ndim))
        if scale:
            y = y * fnp.reshape(params["scale"], shape)
        if center:
            y = y + fnp.reshape(params["bias"], shape)
        return y

    return Layer(init, apply)


def GroupNorm(num_groups, epsilon=1e-5, beta_init=zeros, gamma_init=ones):
    """Channels-first ([N, C, ...]) group normalization: the C channels split into
    ``num_groups`` groups, each example's group standardized over its channels and spatial
    positions, then ``* scale + bias`` per channel. Params ``{"scale", "bias"}`` of shape (C,).

    >>> import funcgrad as fg
    >>> out_shape, params = GroupNorm(2).init(fg.random.key(0), (-1, 4, 3, 3))
    >>> out_shape, params["scale"].shape
    ((-1, 4, 3, 3), (4,))
    """

    def init(key, input_shape):
        if len(input_shape) < 2 or input_shape[1] % num_groups:
            raise ShapeError(
                f"GroupNorm: {num_groups} groups must divide the channels (axis 1) of input "
                f"shape {tuple(input_shape)} at {user_frame()}"
            )
        k1, k2 = _split(key, 2)
        c = input_shape[1]
        return tuple(input_shape), {"scale": gamma_init(k1, (c,)), "bias": beta_init(k2, (c,))}

    def apply(params, x, *, rng=None, train=False):
        n, c, *rest = fnp.shape(x)
        grouped = fnp.reshape(x, (n, num_groups, c // num_groups, *rest))
        y = standardize(grouped, axis=tuple(range(2, grouped.ndim)), epsilon=epsilon)
        y = fnp.reshape(y, (n, c, *rest))
        shape = (1, c) + (1,) * len(rest)
        return y * fnp.reshape(params["scale"], shape) + fnp.reshape(params["bias"], shape)

    return Layer(init, apply)


__all__ = ["GroupNorm", "LayerNorm"]
