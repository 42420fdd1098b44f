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
