"""Which convolutions the compiled 2-D kernels compute, and with what geometry.

The registry has one convolution (``conv_general_dilated``); a CNN's step runs three forms
of it, each of which has its own kernel:

- forward: NCHW input, OIHW kernel, no input dilation, no groups, non-negative padding
  (im2col + GEMM);
- input gradient: the cotangent dilated by the forward strides, convolved at stride 1 with
  the flipped kernel read with its features exchanged (col2im of a GEMM: no multiplication
  by the inserted zeros);
- kernel gradient: the input convolved with the cotangent, batch and features exchanged
  on all three operands (one GEMM per image, summed).

``match`` names the form and recovers the forward convolution's geometry, which is what
the kernels take. The flip of the input-gradient form is a ``rev`` equation in the graph;
the lowering folds it (the kernel reads the unflipped weights), as it folds a transpose
into a GEMM.
"""

from ..conv_numpy import (
    FILTER_GRAD_SPECS,
    INPUT_GRAD_SPECS,
    NCHW,
    filter_grad_padding,
    input_grad_padding,
)

_ONES = (1, 1)


def _plain(params):
    return params["feature_group_count"] == params["batch_group_count"] == 1


def match(params, lhs_shape, rhs_shape, out_shape, flipped=None):
    """``(kind, x_shape, w_shape, stride, padding, dilation)`` of the kernel computing
    the convolution, with kind "forward", "input_grad" or "filter_grad"; None when no
    kernel does (it then runs its NumPy reference). ``flipped``: the axes of a ``rev``
    that made the kernel operand, whose source the kernel would read instead."""
    if len(lhs_shape) != 4 or not _plain(params):
        return None
    if 0 in tuple(lhs_shape) + tuple(rhs_shape) + tuple(out_shape):
        return None  # nothing for a kernel to do: the reference returns the empty result
    dims, pads = params["dimension_numbers"], params["padding"]
    strides, lhs_dil, rhs_dil = (
        params["window_strides"],
        params["lhs_dilation"],
        params["rhs_dilation"],
    )
    if flipped is not None:
        if dims != INPUT_GRAD_SPECS or sorted(flipped) != [2, 3] or strides != _ONES:
            return None
        window = rhs_shape[2:]
        forward = input_grad_padding(window, out_shape[2:], lhs_shape[2:], lhs_dil, rhs_dil, pads)
        if forward is None:
            return None
        return "input_grad", tuple(out_shape), tuple(rhs_shape), lhs_dil, forward, rhs_dil
    if lhs_dil != _ONES:
        return None
    if dims == NCHW and min(p for pair in pads for p in pair) >= 0:
        return "forward", tuple(lhs_shape), tuple(rhs_shape), strides, pads, rhs_dil
    if dims == FILTER_GRAD_SPECS:
        forward = filter_grad_padding(
            out_shape[2:], lhs_shape[2:], rhs_shape[2:], rhs_dil, strides, [lo for lo, _ in pads]
        )
        if forward is None:
            return None
        return "filter_grad", tuple(lhs_shape), tuple(out_shape), rhs_dil, forward, strides
    return None
