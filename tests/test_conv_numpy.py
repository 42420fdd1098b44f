"""Tests for funcgrad.conv_numpy: naive loop references, adjoint identities, finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funcgrad import conv_numpy as cn

SETTINGS = settings(max_examples=100, deadline=None)


# ----------------------------------------------------------------------------- strategies


@st.composite
def geometries(draw, pool=False):
    """Random (x_shape, window, stride, padding, dilation) with at least one output pixel."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = (1, 1) if pool else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    # Pooling padding stays below the window so no window lies entirely in padding.
    pmax_h, pmax_w = (min(2, kh - 1), min(2, kw - 1)) if pool else (2, 2)
    pt, pb = draw(st.integers(0, pmax_h)), draw(st.integers(0, pmax_h))
    pl, pr = draw(st.integers(0, pmax_w)), draw(st.integers(0, pmax_w))
    h = max(1, dh * (kh - 1) + 1 - pt - pb) + draw(st.integers(0, 4))
    w = max(1, dw * (kw - 1) + 1 - pl - pr) + draw(st.integers(0, 4))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    return (n, c, h, w), (kh, kw), (sh, sw), ((pt, pb), (pl, pr)), (dh, dw)


def _rng(seed):
    return np.random.default_rng(seed)


seeds = st.integers(0, 2**32 - 1)


# ----------------------------------------------------------------------------- references


def _pad(x, padding, value):
    return np.pad(x, ((0, 0), (0, 0)) + tuple(padding), constant_values=value)


def _out(x_shape, window, stride, padding, dilation):
    oh = cn.conv_output_size(x_shape[2], window[0], stride[0], *padding[0], dilation[0])
    ow = cn.conv_output_size(x_shape[3], window[1], stride[1], *padding[1], dilation[1])
    return oh, ow


def ref_im2col(x, window, stride, padding, dilation, pad_value=0.0):
    n, c = x.shape[:2]
    kh, kw = window
    oh, ow = _out(x.shape, window, stride, padding, dilation)
    xp = _pad(x, padding, pad_value)
    cols = np.zeros((n, c, kh, kw, oh, ow))
    for b in range(n):
        for ch in range(c):
            for i in range(kh):
                for j in range(kw):
                    for p in range(oh):
                        for q in range(ow):
                            r = p * stride[0] + i * dilation[0]
                            s = q * stride[1] + j * dilation[1]
                            cols[b, ch, i, j, p, q] = xp[b, ch, r, s]
    return cols


def ref_conv2d(x, w, stride, padding, dilation):
    n = x.shape[0]
    o, c, kh, kw = w.shape
    oh, ow = _out(x.shape, (kh, kw), stride, padding, dilation)
    xp = _pad(x, padding, 0.0)
    y = np.zeros((n, o, oh, ow))
    for b in range(n):
        for f in range(o):
            for p in range(oh):
                for q in range(ow):
                    acc = 0.0
                    for ch in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                r = p * stride[0] + i * dilation[0]
                                s = q * stride[1] + j * dilation[1]
                                acc += xp[b, ch, r, s] * w[f, ch, i, j]
                    y[b, f, p, q] = acc
    return y


def ref_pool(x, t, window, stride, padding):
    """Returns (max, value of t at first argmax, average) by direct loops."""
    n, c = x.shape[:2]
    kh, kw = window
    oh, ow = _out(x.shape, window, stride, padding, (1, 1))
    xp, tp, zp = _pad(x, padding, -np.inf), _pad(t, padding, 0.0), _pad(x, padding, 0.0)
    mx, sel, avg = (np.zeros((n, c, oh, ow)) for _ in range(3))
    for b in range(n):
        for ch in range(c):
            for p in range(oh):
                for q in range(ow):
                    best, best_t, acc = -np.inf, None, 0.0
                    for i in range(kh):
                        for j in range(kw):
                            r, s = p * stride[0] + i, q * stride[1] + j
                            if best_t is None or xp[b, ch, r, s] > best:
                                best, best_t = xp[b, ch, r, s], tp[b, ch, r, s]
                            acc += zp[b, ch, r, s]
                    mx[b, ch, p, q], sel[b, ch, p, q] = best, best_t
                    avg[b, ch, p, q] = acc / (kh * kw)
    return mx, sel, avg


# ----------------------------------------------------------------------------- forward vs refs


def test_conv_output_size():
    assert cn.conv_output_size(5, 3, 1, 0, 0, 1) == 3
    assert cn.conv_output_size(5, 3, 2, 1, 1, 1) == 3
    assert cn.conv_output_size(7, 3, 1, 0, 0, 2) == 3
    assert cn.conv_output_size(4, 2, 3, 1, 0, 1) == 2


@SETTINGS
@given(geometries(), seeds)
def test_im2col_matches_reference(geo, seed):
    x_shape, window, stride, padding, dilation = geo
    x = _rng(seed).standard_normal(x_shape)
    for pv in (0.0, -np.inf):
        got = cn.im2col(x, window, stride, padding, dilation, pad_value=pv)
        np.testing.assert_array_equal(got, ref_im2col(x, window, stride, padding, dilation, pv))


@SETTINGS
@given(geometries(), st.integers(1, 3), seeds)
def test_conv2d_matches_reference(geo, o, seed):
    x_shape, window, stride, padding, dilation = geo
    rng = _rng(seed)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((o, x_shape[1]) + window)
    np.testing.assert_allclose(
        cn.conv2d(x, w, stride, padding, dilation),
        ref_conv2d(x, w, stride, padding, dilation),
        rtol=1e-12,
        atol=1e-12,
    )


@SETTINGS
@given(geometries(pool=True), seeds)
def test_pooling_matches_reference(geo, seed):
    x_shape, window, stride, padding, _ = geo
    rng = _rng(seed)
    x, t = rng.standard_normal(x_shape), rng.standard_normal(x_shape)
    mx, sel, avg = ref_pool(x, t, window, stride, padding)
    np.testing.assert_array_equal(cn.max_pool2d(x, window, stride, padding), mx)
    np.testing.assert_array_equal(cn.max_pool2d_select(x, t, window, stride, padding), sel)
    np.testing.assert_allclose(cn.avg_pool2d(x, window, stride, padding), avg, rtol=1e-12)


@SETTINGS
@given(geometries(pool=True), seeds)
def test_max_pool_ties_pick_first(geo, seed):
    x_shape, window, stride, padding, _ = geo
    rng = _rng(seed)
    x = rng.integers(0, 2, x_shape).astype(np.float64)  # many ties
    t = rng.standard_normal(x_shape)
    _, sel, _ = ref_pool(x, t, window, stride, padding)
    np.testing.assert_array_equal(cn.max_pool2d_select(x, t, window, stride, padding), sel)


@SETTINGS
@given(geometries(pool=True), seeds)
def test_max_pool_select_self_is_max_pool(geo, seed):
    x_shape, window, stride, padding, _ = geo
    x = _rng(seed).standard_normal(x_shape)
    np.testing.assert_array_equal(
        cn.max_pool2d_select(x, x, window, stride, padding),
        cn.max_pool2d(x, window, stride, padding),
    )


def test_max_pool_window_entirely_in_padding():
    x = np.ones((1, 1, 1, 1))
    y = cn.max_pool2d(x, (1, 1), (1, 1), ((1, 0), (0, 0)))
    np.testing.assert_array_equal(y, [[[[-np.inf], [1.0]]]])
    s = cn.max_pool2d_select(x, 2 * x, (1, 1), (1, 1), ((1, 0), (0, 0)))
    np.testing.assert_array_equal(s, [[[[0.0], [2.0]]]])
    g = cn.max_pool2d_scatter(x, np.array([[[[5.0], [3.0]]]]), (1, 1), (1, 1), ((1, 0), (0, 0)))
    np.testing.assert_array_equal(g, [[[[3.0]]]])


# ----------------------------------------------------------------------------- adjoints


def _dot(a, b):
    return float(np.sum(a * b))


def _assert_adjoint(lhs, rhs):
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)


@SETTINGS
@given(geometries(), seeds)
def test_col2im_is_adjoint_of_im2col(geo, seed):
    x_shape, window, stride, padding, dilation = geo
    rng = _rng(seed)
    x = rng.standard_normal(x_shape)
    cols = cn.im2col(x, window, stride, padding, dilation)
    y = rng.standard_normal(cols.shape)
    back = cn.col2im(y, x_shape, window, stride, padding, dilation)
    assert back.shape == x_shape
    _assert_adjoint(_dot(cols, y), _dot(x, back))


@SETTINGS
@given(geometries(), st.integers(1, 3), seeds)
def test_conv2d_grads_are_adjoints(geo, o, seed):
    x_shape, window, stride, padding, dilation = geo
    rng = _rng(seed)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((o, x_shape[1]) + window)
    y = cn.conv2d(x, w, stride, padding, dilation)
    g = rng.standard_normal(y.shape)
    dx = cn.conv2d_input_grad(g, w, x_shape, stride, padding, dilation)
    dw = cn.conv2d_filter_grad(x, g, w.shape, stride, padding, dilation)
    assert dx.shape == x.shape and dw.shape == w.shape
    _assert_adjoint(_dot(y, g), _dot(x, dx))
    _assert_adjoint(_dot(y, g), _dot(w, dw))


@SETTINGS
@given(geometries(pool=True), seeds)
def test_max_pool_scatter_is_adjoint_of_select(geo, seed):
    x_shape, window, stride, padding, _ = geo
    rng = _rng(seed)
    x, t = rng.standard_normal(x_shape), rng.standard_normal(x_shape)
    y = cn.max_pool2d_select(x, t, window, stride, padding)
    g = rng.standard_normal(y.shape)
    back = cn.max_pool2d_scatter(x, g, window, stride, padding)
    assert back.shape == x_shape
    _assert_adjoint(_dot(y, g), _dot(t, back))


@SETTINGS
@given(geometries(pool=True), seeds)
def test_avg_pool_transpose_is_adjoint(geo, seed):
    x_shape, window, stride, padding, _ = geo
    rng = _rng(seed)
    x = rng.standard_normal(x_shape)
    y = cn.avg_pool2d(x, window, stride, padding)
    g = rng.standard_normal(y.shape)
    back = cn.avg_pool2d_transpose(g, x_shape, window, stride, padding)
    assert back.shape == x_shape
    _assert_adjoint(_dot(y, g), _dot(x, back))


# ----------------------------------------------------------------------------- finite differences


@pytest.mark.parametrize(
    "stride,padding,dilation",
    [((1, 1), ((0, 0), (0, 0)), (1, 1)), ((2, 1), ((1, 0), (2, 1)), (1, 2))],
)
def test_conv2d_grads_finite_differences(stride, padding, dilation):
    rng = _rng(0)
    x = rng.standard_normal((2, 2, 5, 6))
    w = rng.standard_normal((3, 2, 2, 3))
    g = rng.standard_normal(cn.conv2d(x, w, stride, padding, dilation).shape)

    def loss(xx, ww):
        return _dot(cn.conv2d(xx, ww, stride, padding, dilation), g)

    def numeric(arr, f, eps=1e-6):
        out = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            e = np.zeros_like(arr)
            e[idx] = eps
            out[idx] = (f(arr + e) - f(arr - e)) / (2 * eps)
        return out

    dx = cn.conv2d_input_grad(g, w, x.shape, stride, padding, dilation)
    dw = cn.conv2d_filter_grad(x, g, w.shape, stride, padding, dilation)
    np.testing.assert_allclose(dx, numeric(x, lambda a: loss(a, w)), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dw, numeric(w, lambda a: loss(x, a)), rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------- dtype / edge cases

GEO = ((2, 3, 6, 5), (3, 2), (2, 1), ((1, 0), (0, 1)), (1, 2))
POOL = ((2, 3, 6, 5), (3, 2), (2, 1), ((1, 0), (0, 1)))


def _all_outputs(x_shape, dtype):
    rng = _rng(1)
    _, window, stride, padding, dilation = GEO
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((4, x_shape[1]) + window).astype(dtype)
    x_copy, w_copy = x.copy(), w.copy()
    y = cn.conv2d(x, w, stride, padding, dilation)
    g = rng.standard_normal(y.shape).astype(dtype)
    cols = cn.im2col(x, window, stride, padding, dilation)
    _, pwin, pstride, ppad = POOL
    pooled = cn.max_pool2d(x, pwin, pstride, ppad)
    pg = rng.standard_normal(pooled.shape).astype(dtype)
    outs = {
        "im2col": cols,
        "col2im": cn.col2im(cols, x.shape, window, stride, padding, dilation),
        "conv2d": y,
        "input_grad": cn.conv2d_input_grad(g, w, x.shape, stride, padding, dilation),
        "filter_grad": cn.conv2d_filter_grad(x, g, w.shape, stride, padding, dilation),
        "max_pool2d": pooled,
        "select": cn.max_pool2d_select(x, x, pwin, pstride, ppad),
        "scatter": cn.max_pool2d_scatter(x, pg, pwin, pstride, ppad),
        "avg_pool2d": cn.avg_pool2d(x, pwin, pstride, ppad),
        "avg_transpose": cn.avg_pool2d_transpose(pg, x.shape, pwin, pstride, ppad),
    }
    np.testing.assert_array_equal(x, x_copy)  # inputs not mutated
    np.testing.assert_array_equal(w, w_copy)
    return outs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(dtype):
    for name, out in _all_outputs(GEO[0], dtype).items():
        assert out.dtype == dtype, name


def test_float32_close_to_float64():
    o32, o64 = _all_outputs(GEO[0], np.float32), _all_outputs(GEO[0], np.float64)
    for name in o32:
        np.testing.assert_allclose(o32[name], o64[name], rtol=1e-4, atol=1e-4, err_msg=name)


@pytest.mark.parametrize("x_shape", [(0, 3, 6, 5), (2, 0, 6, 5)])
def test_empty_batch_and_channels(x_shape):
    outs = _all_outputs(x_shape, np.float64)
    assert outs["conv2d"].shape == (x_shape[0], 4, 3, 4)
    assert outs["input_grad"].shape == x_shape
    assert outs["filter_grad"].shape == (4, x_shape[1], 3, 2)
    assert outs["scatter"].shape == x_shape and outs["avg_transpose"].shape == x_shape
    if x_shape[1] == 0:
        np.testing.assert_array_equal(outs["conv2d"], 0.0)


def test_empty_output_spatial():
    x = np.zeros((1, 1, 1, 2))
    w = np.ones((1, 1, 3, 1))
    y = cn.conv2d(x, w, (2, 2), ((0, 0), (0, 0)), (1, 1))
    assert y.shape == (1, 1, 0, 1)
    dx = cn.conv2d_input_grad(y, w, x.shape, (2, 2), ((0, 0), (0, 0)), (1, 1))
    np.testing.assert_array_equal(dx, np.zeros_like(x))
