"""NumPy reference implementations of 2-D convolution and pooling.

These functions are the correctness oracle for the compiled kernels: simple, vectorized
NumPy built on im2col / col2im. Layouts are NCHW for activations and OIHW for weights.
All parameters arrive already normalized by the caller:

    window   = (kh, kw)
    stride   = (sh, sw)
    padding  = ((top, bottom), (left, right))   non-negative ints
    dilation = (dh, dw)

im2col layout: ``cols[n, c, i, j, oh, ow] == xpad[n, c, oh*sh + i*dh, ow*sw + j*dw]`` with
shape (N, C, kh, kw, OH, OW), where ``xpad`` is ``x`` padded with ``pad_value``. It is
built with one strided slice per window offset (i, j); there are no loops over batch or
pixels. col2im is the exact adjoint of im2col (with pad_value 0).

Every function keeps the input dtype (float32 or float64; GEMMs run in that dtype), never
mutates its inputs, and tolerates size-0 dimensions. Input validation is the caller's job.
"""

import numpy as np


def conv_output_size(in_size, k, stride, pad_lo, pad_hi, dilation):
    """Output length of a strided, padded, dilated 1-D window sweep."""
    return (in_size + pad_lo + pad_hi - dilation * (k - 1) - 1) // stride + 1


def _out_hw(x_shape, window, stride, padding, dilation):
    (kh, kw), (sh, sw), ((pt, pb), (pl, pr)), (dh, dw) = window, stride, padding, dilation
    oh = conv_output_size(x_shape[2], kh, sh, pt, pb, dh)
    ow = conv_output_size(x_shape[3], kw, sw, pl, pr, dw)
    return max(oh, 0), max(ow, 0)


def _offsets(window, stride, dilation, oh, ow):
    """Yield (i, j, row_slice, col_slice) of the padded input for each window offset."""
    (kh, kw), (sh, sw), (dh, dw) = window, stride, dilation
    for i in range(kh):
        # Stop is start + oh*sh (not the tight bound) so it is never negative when oh == 0.
        rows = slice(i * dh, i * dh + oh * sh, sh)
        for j in range(kw):
            yield i, j, rows, slice(j * dw, j * dw + ow * sw, sw)


def im2col(x, window, stride, padding, dilation, pad_value=0.0):
    """Gather sliding windows of x (N, C, H, W) into cols (N, C, kh, kw, OH, OW)."""
    n, c = x.shape[:2]
    oh, ow = _out_hw(x.shape, window, stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(padding), constant_values=pad_value)
    cols = np.empty((n, c) + tuple(window) + (oh, ow), dtype=x.dtype)
    for i, j, rows, cs in _offsets(window, stride, dilation, oh, ow):
        cols[:, :, i, j] = xp[:, :, rows, cs]
    return cols


def col2im(cols, x_shape, window, stride, padding, dilation):
    """Adjoint of im2col: scatter-add cols back onto an x_shape array, dropping padding."""
    n, c, h, w = x_shape
    (pt, pb), (pl, pr) = padding
    oh, ow = cols.shape[-2:]
    xp = np.zeros((n, c, h + pt + pb, w + pl + pr), dtype=cols.dtype)
    for i, j, rows, cs in _offsets(window, stride, dilation, oh, ow):
        # Positions within one offset's strided slice are distinct, so += does not drop adds.
        xp[:, :, rows, cs] += cols[:, :, i, j]
    return np.ascontiguousarray(xp[:, :, pt : pt + h, pl : pl + w])


def conv2d(x, w, stride, padding, dilation):
    """Cross-correlation of x (N, C, H, W) with w (O, C, kh, kw) -> (N, O, OH, OW)."""
    cols = im2col(x, w.shape[2:], stride, padding, dilation)
    y = np.tensordot(w, cols, axes=([1, 2, 3], [1, 2, 3]))  # (O, N, OH, OW)
    return np.ascontiguousarray(y.transpose(1, 0, 2, 3))


def conv2d_input_grad(g, w, x_shape, stride, padding, dilation):
    """VJP of conv2d w.r.t. x for cotangent g (N, O, OH, OW)."""
    dcols = np.tensordot(g, w, axes=([1], [0]))  # (N, OH, OW, C, kh, kw)
    dcols = dcols.transpose(0, 3, 4, 5, 1, 2)
    return col2im(dcols, x_shape, w.shape[2:], stride, padding, dilation)


def conv2d_filter_grad(x, g, w_shape, stride, padding, dilation):
    """VJP of conv2d w.r.t. w for cotangent g (N, O, OH, OW)."""
    cols = im2col(x, tuple(w_shape[2:]), stride, padding, dilation)
    dw = np.tensordot(g, cols, axes=([0, 2, 3], [0, 4, 5]))  # (O, C, kh, kw)
    return np.ascontiguousarray(dw.reshape(w_shape))


_NO_DILATION = (1, 1)


def _pool_cols(x, window, stride, padding, pad_value):
    """im2col for pooling, with the window axes flattened: (N, C, kh*kw, OH, OW)."""
    cols = im2col(x, window, stride, padding, _NO_DILATION, pad_value)
    n, c, kh, kw, oh, ow = cols.shape
    return cols.reshape(n, c, kh * kw, oh, ow)


def _pool_argmax(x, window, stride, padding):
    """Flat in-window index of each window's first maximum, shape (N, C, 1, OH, OW)."""
    cols = _pool_cols(x, window, stride, padding, -np.inf)
    # A window lying fully in padding yields index 0 (a padded slot), so t/g get 0 / are dropped.
    return np.expand_dims(np.argmax(cols, axis=2), 2)


def max_pool2d(x, window, stride, padding):
    """Max over each window; padding counts as -inf."""
    return _pool_cols(x, window, stride, padding, -np.inf).max(axis=2)


def max_pool2d_select(x, t, window, stride, padding):
    """Value of t at each window's argmax of x (JVP of max_pool2d in direction t)."""
    idx = _pool_argmax(x, window, stride, padding)
    tcols = _pool_cols(t, window, stride, padding, 0.0)
    return np.take_along_axis(tcols, idx, axis=2)[:, :, 0]


def max_pool2d_scatter(x, g, window, stride, padding):
    """Transpose of max_pool2d_select in t: scatter-add g onto each window's argmax."""
    idx = _pool_argmax(x, window, stride, padding)
    n, c, _, oh, ow = idx.shape
    kh, kw = window
    dcols = np.zeros((n, c, kh * kw, oh, ow), dtype=g.dtype)
    np.put_along_axis(dcols, idx, g[:, :, None], axis=2)
    dcols = dcols.reshape(n, c, kh, kw, oh, ow)
    return col2im(dcols, x.shape, window, stride, padding, _NO_DILATION)


def avg_pool2d(x, window, stride, padding):
    """Window sum (zero padding) divided by kh*kw, i.e. count_include_pad=True."""
    cols = im2col(x, window, stride, padding, _NO_DILATION)
    return cols.sum(axis=(2, 3)) / (window[0] * window[1])


def avg_pool2d_transpose(g, x_shape, window, stride, padding):
    """Transpose of avg_pool2d: spread g / (kh*kw) evenly over each window."""
    n, c, oh, ow = g.shape
    scaled = g / (window[0] * window[1])
    dcols = np.broadcast_to(scaled[:, :, None, None], (n, c) + tuple(window) + (oh, ow))
    return col2im(dcols, x_shape, window, stride, padding, _NO_DILATION)


# ---------------------------------------------------------------- the general convolution
# conv_general_dilated is XLA's convolution (JAX's lax.conv_general_dilated): any number of
# spatial dimensions, the operands' axes named by dimension numbers, lhs (input) dilation,
# rhs (kernel) dilation, padding that may be negative (a crop), feature and batch groups.
# The transposes of a convolution are convolutions again, so it is the one convolution
# primitive; the 2-D forms the compiled kernels compute are recognised below.


def dilated_size(n, d):
    """Length of n elements with d - 1 zeros between neighbours."""
    return 0 if n == 0 else (n - 1) * d + 1


def _dilate_and_pad(x, dilation, padding):
    """x (N, C, *S) with zeros inserted between spatial elements, then padded (a negative
    width crops)."""
    spatial = x.shape[2:]
    if any(d > 1 for d in dilation):
        shape = x.shape[:2] + tuple(dilated_size(n, d) for n, d in zip(spatial, dilation))
        out = np.zeros(shape, x.dtype)
        out[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in dilation)] = x
        x = out
    grow = ((0, 0), (0, 0)) + tuple((max(lo, 0), max(hi, 0)) for lo, hi in padding)
    if any(p for pair in grow for p in pair):
        x = np.pad(x, grow)
    crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(x.shape[2:], padding))
    return x[(slice(None), slice(None)) + crop]


def _windows(x, window, stride, dilation):
    """N-d im2col of an already padded x (N, C, *S): (N, C, *window, *out)."""
    out = tuple(
        max((n - dilated_size(k, d)) // s + 1, 0)
        for n, k, s, d in zip(x.shape[2:], window, stride, dilation)
    )
    cols = np.empty(x.shape[:2] + tuple(window) + out, x.dtype)
    for offset in np.ndindex(*window):
        index = tuple(
            slice(i * d, i * d + o * s, s) for i, d, o, s in zip(offset, dilation, out, stride)
        )
        cols[(slice(None), slice(None)) + offset] = x[(slice(None), slice(None)) + index]
    return cols


def _grouped_conv(x, w, stride, dilation, feature_groups, batch_groups):
    """Cross-correlation of a padded x (N, C, *S) with w (O, C / G, *K) -> (N / B, O, *out)."""
    nd = x.ndim - 2
    cols = _windows(x, w.shape[2:], stride, dilation)  # (N, C, *K, *out)
    n, c, o = x.shape[0], x.shape[1], w.shape[0]
    k_axes = list(range(2, 2 + nd))
    if feature_groups == batch_groups == 1:
        y = np.tensordot(cols, w, axes=([1] + k_axes, [1] + k_axes))  # (N, *out, O)
        return np.moveaxis(y, -1, 1)
    g, b = feature_groups, batch_groups
    # (B, N/B, G, C/G, *K, *out) against (B, G, O/(B G), C/G, *K)
    cols = cols.reshape((b, n // b, g, c // g) + cols.shape[2:])
    w = w.reshape((b, g, o // (b * g)) + w.shape[1:])
    spatial = "".join(chr(ord("h") + i) for i in range(nd))
    outs = "".join(chr(ord("r") + i) for i in range(nd))
    y = np.einsum(f"bngc{spatial}{outs},bgoc{spatial}->nbgo{outs}", cols, w, optimize=True)
    return y.reshape((n // b, o) + y.shape[4:])


def input_grad_padding(window, out_size, in_size, lhs_dilation, rhs_dilation, padding):
    """The conv2d_input_grad geometry (pads of the forward convolution) equal to a
    stride-1 convolution of a cotangent dilated by ``lhs_dilation`` with the flipped
    kernel, or None where no forward convolution has that transpose (it crops more of
    the cotangent than a forward pass could have dropped)."""
    pads = []
    for k, y, g, s, d, (lo, _) in zip(
        window, out_size, in_size, lhs_dilation, rhs_dilation, padding
    ):
        reach = d * (k - 1)
        top = reach - lo
        bottom = max((g - 1) * s + reach + 1 - y - top, 0)
        if top < 0 or (y + top + bottom - reach - 1) // s + 1 != g:
            return None
        pads.append((top, bottom))
    return tuple(pads)


def filter_grad_padding(window, in_size, out_size, stride, dilation, lo_pads):
    """The conv2d_filter_grad pads (lo as given, hi the least that gives ``out_size``), or
    None where no non-negative padding of a forward convolution does."""
    pads = []
    for k, n, o, s, d, lo in zip(window, in_size, out_size, stride, dilation, lo_pads):
        reach = d * (k - 1)
        hi = max((o - 1) * s + reach + 1 - n - lo, 0)
        if lo < 0 or (n + lo + hi - reach - 1) // s + 1 != o:
            return None
        pads.append((lo, hi))
    return tuple(pads)


NCHW = ((0, 1, 2, 3), (0, 1, 2, 3), (0, 1, 2, 3))  # the compiled kernels' layouts
FILTER_GRAD_SPECS = ((1, 0, 2, 3), (1, 0, 2, 3), (1, 0, 2, 3))
INPUT_GRAD_SPECS = ((0, 1, 2, 3), (1, 0, 2, 3), (0, 1, 2, 3))


def conv_general_dilated(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    dimension_numbers,
    feature_group_count=1,
    batch_group_count=1,
):
    """XLA's convolution of lhs with rhs; all parameters normalized tuples (see
    ``funcgrad.lax.conv_general_dilated`` for their meaning)."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    x = lhs.transpose(lhs_spec)  # (N, C, *S)
    w = rhs.transpose(rhs_spec)  # (O, I, *K)
    groups = feature_group_count == batch_group_count == 1
    undilated = all(d == 1 for d in lhs_dilation)
    if x.ndim == 4 and groups and undilated and all(p >= 0 for pair in padding for p in pair):
        y = conv2d(
            np.ascontiguousarray(x), np.ascontiguousarray(w), window_strides, padding, rhs_dilation
        )
    elif x.ndim == 4 and groups and all(s == 1 for s in window_strides):
        y = _transposed_conv2d(x, w, padding, lhs_dilation, rhs_dilation)
    else:
        y = None
    if y is None:
        x = _dilate_and_pad(x, lhs_dilation, padding)
        y = _grouped_conv(
            x, w, window_strides, rhs_dilation, feature_group_count, batch_group_count
        )
    return np.ascontiguousarray(y.transpose(np.argsort(out_spec)))


def _transposed_conv2d(g, wflip, padding, lhs_dilation, rhs_dilation):
    """A stride-1 convolution of a dilated g with a kernel: the col2im of conv2d's input
    gradient when the geometry is one (no zeros multiplied), else None."""
    window = wflip.shape[2:]
    size = tuple(
        dilated_size(n, s) + lo + hi - dilated_size(k, d) + 1
        for n, s, (lo, hi), k, d in zip(g.shape[2:], lhs_dilation, padding, window, rhs_dilation)
    )
    pads = input_grad_padding(window, size, g.shape[2:], lhs_dilation, rhs_dilation, padding)
    if pads is None or min(size) < 1:
        return None
    w = np.ascontiguousarray(wflip[:, :, ::-1, ::-1].swapaxes(0, 1))
    x_shape = (g.shape[0], w.shape[1]) + size
    return conv2d_input_grad(np.ascontiguousarray(g), w, x_shape, lhs_dilation, pads, rhs_dilation)
