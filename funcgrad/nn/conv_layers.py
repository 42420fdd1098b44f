"""Convolution layers in any layout, as stax's ``GeneralConv``: the layout named by
``dimension_numbers`` (channels-last ``("NHWC", "HWIO", "NHWC")``, 1-D ``("NWC", "WIO",
"NWC")``, ...), run by :func:`funcgrad.lax.conv_general_dilated` (and the transposed ones by
:func:`funcgrad.lax.conv_transpose`). ``Conv`` in layers.py is the NCHW layer; ``Conv1D`` and
``ConvTranspose`` here are stax's channels-last ones.
"""

from .. import lax
from .. import numpy as fnp
from ..errors import ShapeError, user_frame
from .initializers import glorot_normal, normal
from .layers import Layer, _require_key, _split

_B_INIT = normal(1e-6)  # (stax's)


def _spatial(spec):
    return [c for c in spec if c not in "NC" and c not in "IO"]


def GeneralConv(
    dimension_numbers,
    out_chan,
    filter_shape,
    strides=None,
    padding="VALID",
    W_init=None,
    b_init=_B_INIT,
    _transposed=False,
):
    """A convolution layer in the layouts ``dimension_numbers = (lhs, rhs, out)`` (strings
    such as ``("NHWC", "HWIO", "NHWC")``), as ``jax.example_libraries.stax.GeneralConv``:
    params ``(W, b)`` with ``W`` in the ``rhs`` layout and ``b`` shaped to broadcast over the
    output. ``W_init`` defaults to Glorot normal over the kernel's I and O axes.

    >>> import funcgrad as fg
    >>> layer = GeneralConv(("NHWC", "HWIO", "NHWC"), 8, (3, 3), padding="SAME")
    >>> out_shape, (w, b) = layer.init(fg.random.key(0), (-1, 5, 5, 3))
    >>> out_shape, w.shape, b.shape
    ((-1, 5, 5, 8), (3, 3, 3, 8), (1, 1, 1, 8))
    """
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    filter_shape = tuple(filter_shape)
    if len(filter_shape) != len(_spatial(rhs_spec)):
        raise ShapeError(
            f"GeneralConv: filter_shape {filter_shape} for the kernel layout {rhs_spec!r} "
            f"needs {len(_spatial(rhs_spec))} sizes at {user_frame()}"
        )
    strides = (1,) * len(filter_shape) if strides is None else tuple(strides)
    w_init = W_init or glorot_normal(rhs_spec.index("I"), rhs_spec.index("O"))

    def init(key, input_shape):
        if len(input_shape) != len(lhs_spec):
            raise ShapeError(
                f"GeneralConv: input shape {tuple(input_shape)} for the layout {lhs_spec!r} "
                f"at {user_frame()}"
            )
        k_w, k_b = _split(_require_key("GeneralConv", key), 2)
        sizes = dict(
            zip(_spatial(rhs_spec), filter_shape), I=input_shape[lhs_spec.index("C")], O=out_chan
        )
        w = w_init(k_w, tuple(sizes[c] for c in rhs_spec))
        b = b_init(k_b, tuple(out_chan if c == "C" else 1 for c in out_spec))
        # the output shape: the layer applied to an example of ones (batch 1 for -1)
        example = [1 if d == -1 else d for d in input_shape]
        out = fnp.shape(apply((w, b), fnp.ones(example, w.dtype)))
        n_axis = out_spec.index("N")
        out = tuple(
            -1 if (k == n_axis and input_shape[lhs_spec.index("N")] == -1) else d
            for k, d in enumerate(out)
        )
        return out, (w, b)

    def apply(params, x, *, rng=None, train=False):
        w, b = params
        if _transposed:
            y = lax.conv_transpose(x, w, strides, padding, dimension_numbers=dimension_numbers)
        else:
            y = lax.conv_general_dilated(
                x, w, strides, padding, dimension_numbers=dimension_numbers
            )
        return y + b

    return Layer(init, apply)


def Conv1D(out_chan, filter_shape, strides=None, padding="VALID", W_init=None, b_init=_B_INIT):
    """A 1-D channels-last convolution layer, ``GeneralConv(("NWC", "WIO", "NWC"), ...)``
    (stax's ``Conv1D``)."""
    return GeneralConv(
        ("NWC", "WIO", "NWC"), out_chan, filter_shape, strides, padding, W_init, b_init
    )


def GeneralConvTranspose(
    dimension_numbers, out_chan, filter_shape, strides=None, padding="VALID", W_init=None,
    b_init=_B_INIT,
):  # fmt: skip
    """A transposed convolution layer (:func:`funcgrad.lax.conv_transpose`) in the layouts
    ``dimension_numbers``, as stax's ``GeneralConvTranspose``: "SAME" padding multiplies the
    spatial sizes by ``strides``.

    >>> import funcgrad as fg
    >>> up = GeneralConvTranspose(("NHWC", "HWIO", "NHWC"), 4, (3, 3), (2, 2), "SAME")
    >>> up.init(fg.random.key(0), (-1, 5, 5, 3))[0]
    (-1, 10, 10, 4)
    """
    return GeneralConv(
        dimension_numbers, out_chan, filter_shape, strides, padding, W_init, b_init, True
    )


def ConvTranspose(
    out_chan, filter_shape, strides=None, padding="VALID", W_init=None, b_init=_B_INIT
):
    """A channels-last 2-D transposed convolution (stax's ``ConvTranspose``)."""
    dims = ("NHWC", "HWIO", "NHWC")
    return GeneralConvTranspose(dims, out_chan, filter_shape, strides, padding, W_init, b_init)


def Conv1DTranspose(
    out_chan, filter_shape, strides=None, padding="VALID", W_init=None, b_init=_B_INIT
):
    """A channels-last 1-D transposed convolution (stax's ``Conv1DTranspose``)."""
    dims = ("NWC", "WIO", "NWC")
    return GeneralConvTranspose(dims, out_chan, filter_shape, strides, padding, W_init, b_init)


__all__ = ["Conv1D", "Conv1DTranspose", "ConvTranspose", "GeneralConv", "GeneralConvTranspose"]
