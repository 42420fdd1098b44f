"""Tests for the compiled conv/pool kernels (funcgrad._kernels.conv) against funcgrad.conv_numpy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funcgrad import conv_numpy as cn
from funcgrad._kernels import conv as ck

SETTINGS = settings(max_examples=60, deadline=None)
TOL = {np.float32: 1e-5, np.float64: 1e-12}
seeds = st.integers(0, 2**32 - 1)
dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def geometries(draw, pool=False):
    """Random (x_shape, window, stride, padding, dilation); the window fits the padded input."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = (1, 1) if pool else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pt, pb, pl, pr = (draw(st.integers(0, 2)) for _ in range(4))
    h = max(0, dh * (kh - 1) + 1 - pt - pb) + draw(st.integers(0, 5))
    w = max(0, dw * (kw - 1) + 1 - pl - pr) + draw(st.integers(0, 5))
    n, c = draw(st.sampled_from([0, 1, 2, 3, 5])), draw(st.sampled_from([1, 2, 3, 4, 8, 12]))
    return (n, c, h, w), (kh, kw), (sh, sw), ((pt, pb), (pl, pr)), (dh, dw)


def _rand(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _abs64(a):
    return np.abs(a).astype(np.float64)


def _assert_close(got, ref, scale, dtype):
    """|got - ref| <= tol * scale elementwise; scale bounds the magnitude of the summed terms."""
    assert got.shape == ref.shape and got.dtype == ref.dtype
    assert np.all(np.isfinite(got))
    bound = TOL[dtype] * (np.asarray(scale, np.float64) + 1e-30)
    err = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    assert np.all(err <= bound), f"max error {err.max()} (bound {bound.max()})"


def _workspace(kind, x_shape, w_shape, geo, dtype, choice):
    """None (kernel allocates), or a workspace for 1, 2 or 3 threads' images."""
    if choice == "default":
        return None
    need1 = ck.workspace_size(kind, x_shape, w_shape, *geo, minimum=True)
    return np.empty(max(int(choice) * need1, 1), dtype)


ws_choices = st.sampled_from(["default", "1", "2", "3"])


# ----------------------------------------------------------------------------- convolution


@SETTINGS
@given(geometries(), st.integers(1, 4), dtypes, ws_choices, seeds)
def test_conv2d_matches_numpy(geo, o, dtype, ws_choice, seed):
    x_shape, window, stride, padding, dilation = geo
    rng = np.random.default_rng(seed)
    x, w = _rand(rng, x_shape, dtype), _rand(rng, (o, x_shape[1]) + window, dtype)
    x0, w0 = x.copy(), w.copy()
    ws = _workspace("forward", x_shape, w.shape, geo[2:], dtype, ws_choice)
    got = ck.conv2d(x, w, stride, padding, dilation, workspace=ws)
    ref = cn.conv2d(x, w, stride, padding, dilation)
    scale = cn.conv2d(_abs64(x0), _abs64(w0), *geo[2:])
    _assert_close(got, ref, scale, dtype)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


@SETTINGS
@given(geometries(), st.integers(1, 4), dtypes, ws_choices, seeds)
def test_conv2d_input_grad_matches_numpy(geo, o, dtype, ws_choice, seed):
    x_shape, window, stride, padding, dilation = geo
    rng = np.random.default_rng(seed)
    w = _rand(rng, (o, x_shape[1]) + window, dtype)
    g = _rand(rng, (x_shape[0], o) + cn._out_hw(x_shape, window, stride, padding, dilation), dtype)
    ws = _workspace("input_grad", x_shape, w.shape, geo[2:], dtype, ws_choice)
    got = ck.conv2d_input_grad(g, w, x_shape, stride, padding, dilation, workspace=ws)
    ref = cn.conv2d_input_grad(g, w, x_shape, stride, padding, dilation)
    scale = cn.conv2d_input_grad(_abs64(g), _abs64(w), x_shape, *geo[2:])
    _assert_close(got, ref, scale, dtype)


@SETTINGS
@given(geometries(), st.integers(1, 4), dtypes, ws_choices, seeds)
def test_conv2d_filter_grad_matches_numpy(geo, o, dtype, ws_choice, seed):
    x_shape, window, stride, padding, dilation = geo
    rng = np.random.default_rng(seed)
    x = _rand(rng, x_shape, dtype)
    g = _rand(rng, (x_shape[0], o) + cn._out_hw(x_shape, window, stride, padding, dilation), dtype)
    w_shape = (o, x_shape[1]) + window
    ws = _workspace("filter_grad", x_shape, w_shape, geo[2:], dtype, ws_choice)
    got = ck.conv2d_filter_grad(x, g, w_shape, stride, padding, dilation, workspace=ws)
    ref = cn.conv2d_filter_grad(x, g, w_shape, stride, padding, dilation)
    scale = cn.conv2d_filter_grad(_abs64(x), _abs64(g), w_shape, *geo[2:])
    _assert_close(got, ref, scale, dtype)


@st.composite
def contiguous_geometries(draw):
    """Stride 1 and OW == W (pl + pr == dw * (kw - 1), e.g. SAME padding): the kernels' one-run
    im2col and one-pass col2im. Windows of up to 5 x 7 (over the 25 offsets that col2im sums
    in one pass) and heights below OH (halos longer than a row) take their fallbacks."""
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 7))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pl = draw(st.integers(0, dw * (kw - 1)))
    pt, pb = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    h = max(1, dh * (kh - 1) + 1 - pt - pb) + draw(st.integers(0, 6))
    w = draw(st.integers(1, 17))
    n, c = draw(st.sampled_from([1, 2, 3, 5])), draw(st.sampled_from([1, 2, 3, 8]))
    padding = ((pt, pb), (pl, dw * (kw - 1) - pl))
    return (n, c, h, w), (kh, kw), (1, 1), padding, (dh, dw)


@SETTINGS
@given(
    contiguous_geometries(),
    st.sampled_from([1, 4, 9, 19]),
    dtypes,
    ws_choices,
    st.booleans(),
    seeds,
)
def test_conv_kernels_contiguous_rows(geo, o, dtype, ws_choice, accumulate, seed):
    # o >= 8 with c * kh * kw >= 64: the filter gradient's tiled transpose of g, with edges
    x_shape, window, stride, padding, dilation = geo
    rng = np.random.default_rng(seed)
    x, w = _rand(rng, x_shape, dtype), _rand(rng, (o, x_shape[1]) + window, dtype)
    g = _rand(rng, (x_shape[0], o) + cn._out_hw(x_shape, window, stride, padding, dilation), dtype)
    assert g.shape[3] == x_shape[3]
    x64, w64, g64 = _abs64(x), _abs64(w), _abs64(g)
    ws = {
        k: _workspace(k, x_shape, w.shape, geo[2:], dtype, ws_choice)
        for k in ("forward", "input_grad", "filter_grad")
    }
    _assert_close(
        ck.conv2d(x, w, *geo[2:], workspace=ws["forward"]),
        cn.conv2d(x, w, *geo[2:]),
        cn.conv2d(x64, w64, *geo[2:]),
        dtype,
    )
    dx0 = _rand(rng, x_shape, dtype) if accumulate else np.zeros(x_shape, dtype)
    dw0 = _rand(rng, w.shape, dtype) if accumulate else np.zeros(w.shape, dtype)
    dx, dw = dx0.copy(), dw0.copy()
    ck.conv2d_input_grad(
        g, w, x_shape, *geo[2:], out=dx, workspace=ws["input_grad"], accumulate=accumulate
    )
    ck.conv2d_filter_grad(
        x, g, w.shape, *geo[2:], out=dw, workspace=ws["filter_grad"], accumulate=accumulate
    )
    _assert_close(
        dx,
        dx0 + cn.conv2d_input_grad(g, w, x_shape, *geo[2:]),
        _abs64(dx0) + cn.conv2d_input_grad(g64, w64, x_shape, *geo[2:]),
        dtype,
    )
    _assert_close(
        dw,
        dw0 + cn.conv2d_filter_grad(x, g, w.shape, *geo[2:]),
        _abs64(dw0) + cn.conv2d_filter_grad(x64, g64, w.shape, *geo[2:]),
        dtype,
    )


def _big_conv_case(dtype, stride=(1, 1), padding=((1, 1), (1, 1)), dilation=(1, 1), c=5):
    """Large enough for the threaded im2col/col2im paths and several GEMM chunks."""
    rng = np.random.default_rng(7)
    x = _rand(rng, (37, c, 19, 17), dtype)
    w = _rand(rng, (6, c, 3, 3), dtype)
    g = _rand(rng, cn.conv2d(x, w, stride, padding, dilation).shape, dtype)
    return x, w, g, (stride, padding, dilation)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "geo", [((1, 1), ((1, 1), (1, 1)), (1, 1)), ((2, 3), ((0, 2), (1, 0)), (2, 1))]
)
@pytest.mark.parametrize("c", [5, 12])  # the filter gradient's two GEMM orientations
def test_conv_kernels_large_threaded(dtype, geo, c):
    x, w, g, geo = _big_conv_case(dtype, *geo, c=c)
    x64, w64, g64 = (np.abs(a).astype(np.float64) for a in (x, w, g))
    _assert_close(ck.conv2d(x, w, *geo), cn.conv2d(x, w, *geo), cn.conv2d(x64, w64, *geo), dtype)
    _assert_close(
        ck.conv2d_input_grad(g, w, x.shape, *geo),
        cn.conv2d_input_grad(g, w, x.shape, *geo),
        cn.conv2d_input_grad(g64, w64, x.shape, *geo),
        dtype,
    )
    _assert_close(
        ck.conv2d_filter_grad(x, g, w.shape, *geo),
        cn.conv2d_filter_grad(x, g, w.shape, *geo),
        cn.conv2d_filter_grad(x64, g64, w.shape, *geo),
        dtype,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_kernels_single_image_and_minimum_workspace(dtype):
    """One big image (im2col/col2im threaded over channels) and a batch run on one thread."""
    rng = np.random.default_rng(9)
    geo = ((1, 1), ((1, 1), (1, 1)), (1, 1))
    for x_shape, ws_choice in [((1, 8, 40, 40), "default"), ((6, 8, 40, 40), "1")]:
        x, w = _rand(rng, x_shape, dtype), _rand(rng, (5, 8, 3, 3), dtype)
        g = _rand(rng, (x_shape[0], 5, 40, 40), dtype)
        x64, w64, g64 = _abs64(x), _abs64(w), _abs64(g)
        ws = {
            k: _workspace(k, x_shape, w.shape, geo, dtype, ws_choice)
            for k in ("forward", "input_grad", "filter_grad")
        }
        _assert_close(
            ck.conv2d(x, w, *geo, workspace=ws["forward"]),
            cn.conv2d(x, w, *geo),
            cn.conv2d(x64, w64, *geo),
            dtype,
        )
        _assert_close(
            ck.conv2d_input_grad(g, w, x_shape, *geo, workspace=ws["input_grad"]),
            cn.conv2d_input_grad(g, w, x_shape, *geo),
            cn.conv2d_input_grad(g64, w64, x_shape, *geo),
            dtype,
        )
        _assert_close(
            ck.conv2d_filter_grad(x, g, w.shape, *geo, workspace=ws["filter_grad"]),
            cn.conv2d_filter_grad(x, g, w.shape, *geo),
            cn.conv2d_filter_grad(x64, g64, w.shape, *geo),
            dtype,
        )


def test_conv_kernels_deterministic():
    x, w, g, geo = _big_conv_case(np.float32)
    for fn, args in [
        (ck.conv2d, (x, w)),
        (ck.conv2d_input_grad, (g, w, x.shape)),
        (ck.conv2d_filter_grad, (x, g, w.shape)),
    ]:
        np.testing.assert_array_equal(fn(*args, *geo), fn(*args, *geo))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_bias_out_and_accumulate(dtype):
    x, w, g, geo = _big_conv_case(dtype)
    rng = np.random.default_rng(3)
    b = _rand(rng, (w.shape[0],), dtype)
    y = np.full(cn.conv2d(x, w, *geo).shape, np.nan, dtype)
    assert ck.conv2d(x, w, *geo, bias=b, out=y) is y
    ref = cn.conv2d(x, w, *geo) + b[:, None, None]
    np.testing.assert_allclose(y, ref, rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)

    dx0, dw0 = _rand(rng, x.shape, dtype), _rand(rng, w.shape, dtype)
    dx, dw = dx0.copy(), dw0.copy()
    ck.conv2d_input_grad(g, w, x.shape, *geo, out=dx, accumulate=True)
    ck.conv2d_filter_grad(x, g, w.shape, *geo, out=dw, accumulate=True)
    tol = dict(rtol=TOL[dtype] * 10, atol=TOL[dtype] * 100)
    np.testing.assert_allclose(dx, dx0 + cn.conv2d_input_grad(g, w, x.shape, *geo), **tol)
    np.testing.assert_allclose(dw, dw0 + cn.conv2d_filter_grad(x, g, w.shape, *geo), **tol)


def test_conv_empty_dimensions():
    geo = ((1, 1), ((1, 0), (0, 1)), (1, 1))
    for x_shape, o in [((0, 3, 4, 4), 2), ((2, 0, 4, 4), 2), ((2, 3, 4, 4), 0)]:
        x = np.ones(x_shape)
        w = np.ones((o, x_shape[1], 2, 2))
        y = ck.conv2d(x, w, *geo, bias=np.full(o, 1.5))
        assert y.shape == (x_shape[0], o, 4, 4)
        np.testing.assert_array_equal(y, cn.conv2d(x, w, *geo) + 1.5)
        g = np.ones(y.shape)
        dx = ck.conv2d_input_grad(g, w, x_shape, *geo)
        dw = ck.conv2d_filter_grad(x, g, w.shape, *geo)
        np.testing.assert_array_equal(dx, cn.conv2d_input_grad(g, w, x_shape, *geo))
        np.testing.assert_array_equal(dw, cn.conv2d_filter_grad(x, g, w.shape, *geo))


def test_workspace_sizes():
    args = ((4, 3, 10, 10), (5, 3, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1))
    for kind in ("forward", "input_grad", "filter_grad"):
        want = ck.workspace_size(kind, *args)
        least = ck.workspace_size(kind, *args, minimum=True)
        # dW accumulator and gy^T; -0.0 halos of 11 (one row and one column of the 10 x 10
        # plane) before, between and after the 27 rows of the one-pass col2im
        extra = {"forward": 0, "input_grad": 28 * 11, "filter_grad": 5 * 27 + 100 * 5}[kind]
        assert least == 27 * 100 + extra  # one image's im2col buffer
        assert want >= least and want % least == 0  # one per OpenMP thread


# ----------------------------------------------------------------------------- pooling


@SETTINGS
@given(geometries(pool=True), dtypes, st.booleans(), seeds)
def test_pooling_matches_numpy(geo, dtype, ties, seed):
    x_shape, window, stride, padding, _ = geo
    rng = np.random.default_rng(seed)
    if ties:  # many equal values: the first maximum in row-major window order must win
        x = rng.integers(-1, 2, x_shape).astype(dtype)
    else:
        x = _rand(rng, x_shape, dtype)
    t = _rand(rng, x_shape, dtype)
    args = (window, stride, padding)
    y = ck.max_pool2d(x, *args)
    np.testing.assert_array_equal(y, cn.max_pool2d(x, *args))
    assert y.dtype == dtype
    np.testing.assert_array_equal(
        ck.max_pool2d_select(x, t, *args), cn.max_pool2d_select(x, t, *args)
    )
    g = _rand(rng, y.shape, dtype)
    for dx in (ck.max_pool2d_scatter(x, g, *args), _scatter_by_saved_slots(x, g, args)):
        _assert_close(
            dx,
            cn.max_pool2d_scatter(x, g, *args),
            cn.max_pool2d_scatter(x, _abs64(g), *args),
            dtype,
        )
    _assert_close(
        ck.avg_pool2d(x, *args), cn.avg_pool2d(x, *args), cn.avg_pool2d(_abs64(x), *args), dtype
    )
    _assert_close(
        ck.avg_pool2d_transpose(g, x_shape, *args),
        cn.avg_pool2d_transpose(g, x_shape, *args),
        cn.avg_pool2d_transpose(_abs64(g), x_shape, *args),
        dtype,
    )


def _scatter_by_saved_slots(x, g, args, **kw):
    """max_pool2d_scatter through the argmax slots max_pool2d_index saves; its pooled values
    must be max_pool2d's exactly."""
    y, slots = ck.max_pool2d_index(x, *args)
    np.testing.assert_array_equal(y, ck.max_pool2d(x, *args))
    assert slots.dtype == np.uint8 and slots.shape == y.shape
    return ck.max_pool2d_scatter_index(slots, g, x.shape, *args, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pooling_special_values(dtype):
    """NaN wins (first NaN), -inf ties with -inf padding pick the earlier slot, like numpy."""
    rng = np.random.default_rng(5)
    x = _rand(rng, (2, 3, 9, 8), dtype)
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, 20, replace=False)] = np.nan
    flat[rng.choice(flat.size, 40, replace=False)] = -np.inf
    x[0, 0] = -np.inf  # a whole plane of -inf: argmax falls on padding where padding comes first
    t = _rand(rng, x.shape, dtype)
    for args in [((2, 2), (2, 2), ((0, 0), (0, 0))), ((3, 3), (1, 2), ((2, 1), (1, 2)))]:
        np.testing.assert_array_equal(ck.max_pool2d(x, *args), cn.max_pool2d(x, *args))
        sel = ck.max_pool2d_select(x, t, *args)
        np.testing.assert_array_equal(sel, cn.max_pool2d_select(x, t, *args))
        g = _rand(rng, sel.shape, dtype)
        want = cn.max_pool2d_scatter(x, g, *args)
        np.testing.assert_allclose(ck.max_pool2d_scatter(x, g, *args), want, rtol=1e-5)
        np.testing.assert_allclose(_scatter_by_saved_slots(x, g, args), want, rtol=1e-5)


def test_pool_window_entirely_in_padding():
    x = np.ones((1, 1, 1, 1))
    pad = ((1, 0), (0, 0))
    np.testing.assert_array_equal(ck.max_pool2d(x, (1, 1), (1, 1), pad), [[[[-np.inf], [1.0]]]])
    np.testing.assert_array_equal(
        ck.max_pool2d_select(x, 2 * x, (1, 1), (1, 1), pad), [[[[0.0], [2.0]]]]
    )
    g = np.array([[[[5.0], [3.0]]]])
    np.testing.assert_array_equal(ck.max_pool2d_scatter(x, g, (1, 1), (1, 1), pad), [[[[3.0]]]])
    _, slots = ck.max_pool2d_index(x, (1, 1), (1, 1), pad)
    np.testing.assert_array_equal(slots, [[[[255], [0]]]])  # 255: no slot in the input
    dx = ck.max_pool2d_scatter_index(slots, g, x.shape, (1, 1), (1, 1), pad)
    np.testing.assert_array_equal(dx, [[[[3.0]]]])
    np.testing.assert_array_equal(ck.avg_pool2d(x, (1, 1), (1, 1), pad), [[[[0.0], [1.0]]]])
    np.testing.assert_array_equal(
        ck.avg_pool2d_transpose(g, x.shape, (1, 1), (1, 1), pad), [[[[3.0]]]]
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pooling_large_threaded_and_accumulate(dtype):
    rng = np.random.default_rng(11)
    x = _rand(rng, (9, 7, 30, 29), dtype)
    args = ((2, 3), (2, 2), ((1, 0), (0, 1)))
    y = np.empty(cn.max_pool2d(x, *args).shape, dtype)
    assert ck.max_pool2d(x, *args, out=y) is y
    np.testing.assert_array_equal(y, cn.max_pool2d(x, *args))
    np.testing.assert_array_equal(ck.max_pool2d_select(x, x, *args), y)
    g, dx0 = _rand(rng, y.shape, dtype), _rand(rng, x.shape, dtype)
    tol = dict(rtol=TOL[dtype] * 10, atol=TOL[dtype] * 10)
    for scatter in (
        lambda **kw: ck.max_pool2d_scatter(x, g, *args, **kw),
        lambda **kw: _scatter_by_saved_slots(x, g, args, **kw),
    ):
        dx = dx0.copy()
        assert scatter(out=dx, accumulate=True) is dx
        np.testing.assert_allclose(dx, dx0 + cn.max_pool2d_scatter(x, g, *args), **tol)
    np.testing.assert_allclose(ck.avg_pool2d(x, *args), cn.avg_pool2d(x, *args), **tol)
    dx = dx0.copy()
    ck.avg_pool2d_transpose(g, x.shape, *args, out=dx, accumulate=True)
    np.testing.assert_allclose(dx, dx0 + cn.avg_pool2d_transpose(g, x.shape, *args), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("accumulate", [False, True])
def test_max_pool_tiled_scatter(dtype, accumulate):
    """2x2 stride-2 windows tiling x: the scatter writes dx directly instead of zero + add."""
    rng = np.random.default_rng(13)
    x = rng.integers(-2, 3, (6, 5, 16, 12)).astype(dtype)  # ties
    x[0, 0, 0, 0] = x[1, 2, 3, 4] = np.nan
    args = ((2, 2), (2, 2), ((0, 0), (0, 0)))
    g = _rand(rng, (6, 5, 8, 6), dtype)
    dx0 = _rand(rng, x.shape, dtype) if accumulate else np.full(x.shape, np.nan, dtype)
    dx = dx0.copy()
    ck.max_pool2d_scatter(x, g, *args, out=dx, accumulate=accumulate)
    want = cn.max_pool2d_scatter(x, g, *args) + (dx0 if accumulate else 0)
    np.testing.assert_array_equal(dx, want)
    np.testing.assert_array_equal(ck.max_pool2d(x, *args), cn.max_pool2d(x, *args))


# Ties, NaNs, infinities and signed zeros, for the 2x2 stride-2 fast path.
POOL2_VALUES = [np.nan, -np.inf, np.inf, -1.0, -0.0, 0.0, 1.0, 2.0]


@SETTINGS
@given(st.integers(1, 3), st.integers(2, 9), st.integers(2, 41), dtypes, st.integers(0, 2), seeds)
def test_max_pool_2x2_fast_path(c, h, w, dtype, values, seed):
    """2x2 stride-2 windows without padding: blocks of 8 or 4 output columns, the last one of a
    row overlapping the one before; odd sizes and fewer than 4 columns take the general path.
    Exact: the first maximum (the first NaN) of each window in row-major order wins."""
    rng = np.random.default_rng(seed)
    x_shape = (2, c, h, w)
    if values == 0:
        x = _rand(rng, x_shape, dtype)
    elif values == 1:  # many ties
        x = rng.integers(-1, 2, x_shape).astype(dtype)
    else:
        x = rng.choice(POOL2_VALUES, x_shape).astype(dtype)
    t = _rand(rng, x_shape, dtype)
    args = ((2, 2), (2, 2), ((0, 0), (0, 0)))
    y = ck.max_pool2d(x, *args)
    np.testing.assert_array_equal(y, cn.max_pool2d(x, *args))
    np.testing.assert_array_equal(
        ck.max_pool2d_select(x, t, *args), cn.max_pool2d_select(x, t, *args)
    )
    g = _rand(rng, y.shape, dtype)  # nonzero: dx is nonzero exactly at the argmaxes
    want = cn.max_pool2d_scatter(x, g, *args)
    dx = np.full(x_shape, np.nan, dtype)  # every element must be written
    assert ck.max_pool2d_scatter(x, g, *args, out=dx) is dx
    np.testing.assert_array_equal(dx, want)
    dx = np.full(x_shape, np.nan, dtype)  # the same from the slots the forward saved
    np.testing.assert_array_equal(_scatter_by_saved_slots(x, g, args, out=dx), want)
    dx0 = rng.choice([-0.0, 0.0, 1.5, np.nan], x_shape).astype(dtype)
    dx = dx0.copy()
    ck.max_pool2d_scatter(x, g, *args, out=dx, accumulate=True)
    np.testing.assert_array_equal(dx, dx0 + want)
    # Elements off the argmaxes are left as they were, -0.0 included (not -0.0 + 0.0).
    off = want == 0
    np.testing.assert_array_equal(np.signbit(dx[off]), np.signbit(dx0[off]))


# ----------------------------------------------------------------------------- bad inputs

X = np.zeros((2, 3, 5, 5))
W = np.zeros((4, 3, 3, 3))
G = np.zeros((2, 4, 5, 5))
OK = ((1, 1), ((1, 1), (1, 1)), (1, 1))
POOL = ((2, 2), (2, 2), ((0, 0), (0, 0)))
SLOTS = np.zeros((2, 3, 2, 2), np.uint8)  # X's pooled shape under POOL
GP = np.zeros((2, 3, 2, 2))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: ck.conv2d(X[0], W, *OK), ValueError, "x must be 4-D"),
        (lambda: ck.conv2d(X, W[0], *OK), ValueError, "w must be 4-D"),
        (lambda: ck.conv2d(X, np.zeros((4, 2, 3, 3)), *OK), ValueError, "input channels"),
        (lambda: ck.conv2d(X, np.zeros((4, 3, 9, 3)), *OK), ValueError, "larger than the padded"),
        (lambda: ck.conv2d(X, W, (1, 1), ((0, 0), (0, 0)), (3, 1)), ValueError, "larger than"),
        (lambda: ck.conv2d(X, W, (-1, 1), *OK[1:]), ValueError, "stride must be positive"),
        (lambda: ck.conv2d(X, W, (0, 1), *OK[1:]), ValueError, "stride must be positive"),
        (lambda: ck.conv2d(X, W, (1, 1), ((-1, 0), (0, 0)), (1, 1)), ValueError, "non-negative"),
        (lambda: ck.conv2d(X, W, (1, 1), ((1, 1), (1, 1)), (0, 1)), ValueError, "dilation"),
        (lambda: ck.conv2d(X, W, (1,), *OK[1:]), ValueError, "stride must have 2"),
        (lambda: ck.conv2d(X, W, (1.0, 1), *OK[1:]), TypeError, "stride must contain ints"),
        (lambda: ck.conv2d(X, W, (True, 1), *OK[1:]), TypeError, "stride must contain ints"),
        (lambda: ck.conv2d(X, W, 1, *OK[1:]), TypeError, "stride must be a sequence"),
        (lambda: ck.conv2d(X, W, (1, 1), 1, (1, 1)), TypeError, "padding"),
        (lambda: ck.conv2d(X.astype(np.int64), W, *OK), TypeError, "float32 or float64"),
        (lambda: ck.conv2d(X.astype(np.float16), W, *OK), TypeError, "float32 or float64"),
        (lambda: ck.conv2d(X.astype(">f8"), W, *OK), TypeError, "native byte order"),
        (lambda: ck.conv2d(X, W.astype(np.float32), *OK), TypeError, "other operands"),
        (lambda: ck.conv2d(X.tolist(), W, *OK), TypeError, "numpy.ndarray"),
        (lambda: ck.conv2d(X[:, :, :, ::-1], W, *OK), ValueError, "C-contiguous"),
        (lambda: ck.conv2d(X.transpose(0, 1, 3, 2), W, *OK), ValueError, "C-contiguous"),
        (lambda: ck.conv2d(X, W, *OK, bias=np.zeros(3)), ValueError, "bias"),
        (lambda: ck.conv2d(X, W, *OK, out=np.zeros((2, 4, 5, 4))), ValueError, "out must have"),
        (lambda: ck.conv2d(X, W, *OK, out=G.astype(np.float32)), TypeError, "other operands"),
        (lambda: ck.conv2d(X, W, *OK, workspace=np.zeros(10)), ValueError, "at least"),
        (lambda: ck.conv2d(X, W, *OK, workspace=np.zeros((10, 10))), ValueError, "1-D"),
        (lambda: ck.conv2d_input_grad(G[:, :3].copy(), W, X.shape, *OK), ValueError, "g must have"),
        (lambda: ck.conv2d_input_grad(G, W, (2, 3, 5), *OK), ValueError, "x_shape"),
        (lambda: ck.conv2d_input_grad(G, W, X.shape, *OK, accumulate=True), ValueError, "out"),
        (lambda: ck.conv2d_filter_grad(X, G, (4, 2, 3, 3), *OK), ValueError, "channels"),
        (lambda: ck.conv2d_filter_grad(X, G, (-4, 3, 3, 3), *OK), ValueError, "non-negative"),
        (lambda: ck.conv2d_filter_grad(X, G[:, :, :4].copy(), W.shape, *OK), ValueError, "g must"),
        (lambda: ck.max_pool2d(X[0], *POOL), ValueError, "4-D"),
        (lambda: ck.max_pool2d(X, (6, 2), *POOL[1:]), ValueError, "larger than the padded"),
        (lambda: ck.max_pool2d(X, (2, 2), (2, -2), POOL[2]), ValueError, "stride"),
        (lambda: ck.max_pool2d(X[..., ::2], *POOL), ValueError, "C-contiguous"),
        (lambda: ck.max_pool2d_select(X, X[:1], *POOL), ValueError, "t must have"),
        (lambda: ck.max_pool2d_select(X, X.astype("f4"), *POOL), TypeError, "other operands"),
        (lambda: ck.max_pool2d_scatter(X, X, *POOL), ValueError, "g must have"),
        (lambda: ck.max_pool2d_index(X, (16, 16), (1, 1), ((8, 8), (8, 8))), ValueError, "255"),
        (lambda: ck.max_pool2d_index(X, *POOL, index=SLOTS.astype(int)), TypeError, "uint8"),
        (lambda: ck.max_pool2d_index(X, *POOL, index=SLOTS[:1]), ValueError, "index must have"),
        (lambda: ck.max_pool2d_scatter_index(SLOTS, X, X.shape, *POOL), ValueError, "g must"),
        (lambda: ck.max_pool2d_scatter_index(SLOTS + 4, GP, X.shape, *POOL), ValueError, "past"),
        (lambda: ck.max_pool2d_scatter_index(SLOTS[:1], GP, X.shape, *POOL), ValueError, "index"),
        (lambda: ck.avg_pool2d(X.astype(np.complex128), *POOL), TypeError, "float32"),
        (lambda: ck.avg_pool2d_transpose(X, X.shape, *POOL), ValueError, "g must have"),
    ],
)
def test_bad_inputs_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_out_must_not_alias_inputs_and_be_writeable():
    x = np.ones((1, 1, 4, 4))
    with pytest.raises(ValueError, match="overlap"):
        ck.avg_pool2d_transpose(x, x.shape, (1, 1), (1, 1), ((0, 0), (0, 0)), out=x)
    ro = np.zeros((1, 1, 4, 4))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        ck.max_pool2d(x, (1, 1), (1, 1), ((0, 0), (0, 0)), out=ro)


def test_misaligned_input_rejected():
    buf = np.zeros(8 * 16 + 1, np.uint8)
    x = buf[1:].view(np.float64).reshape(1, 1, 4, 4)
    assert not x.flags.aligned
    with pytest.raises(ValueError, match="aligned"):
        ck.max_pool2d(x, (2, 2), (2, 2), ((0, 0), (0, 0)))


def test_huge_padding_rejected_cleanly():
    with pytest.raises(ValueError):
        ck.conv2d(X, W, (1, 1), ((2**40, 0), (0, 0)), (1, 1))
    with pytest.raises(ValueError):
        ck.max_pool2d(X, (2**31, 1), (1, 1), ((2**31, 0), (0, 0)))


# The last two keep OW == W: the im2col and col2im runs wrap around the padding columns.
@pytest.mark.parametrize(
    "padding", [((0, 0), (0, 0)), ((1, 2), (2, 1)), ((1, 1), (1, 0)), ((0, 2), (0, 1))]
)
def test_nonfinite_values_stay_where_the_reference_has_them(padding):
    # An inf in x or a NaN in w reaches exactly the outputs and gradients whose windows hold it.
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 7, 9)), rng.standard_normal((4, 3, 3, 2))
    x[0, 1, 2, 0] = np.inf  # column 0 is read past the previous output row
    w[1, 2, 0, 1] = np.nan
    geo = ((1, 1), padding, (1, 1))
    g = rng.standard_normal(cn.conv2d(x, w, *geo).shape)
    for got, ref in [
        (ck.conv2d(x, w, *geo), cn.conv2d(x, w, *geo)),
        (ck.conv2d_input_grad(g, w, x.shape, *geo), cn.conv2d_input_grad(g, w, x.shape, *geo)),
        (ck.conv2d_filter_grad(x, g, w.shape, *geo), cn.conv2d_filter_grad(x, g, w.shape, *geo)),
    ]:
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
        finite = np.isfinite(ref)
        np.testing.assert_allclose(got[finite], ref[finite], rtol=1e-12, atol=1e-12)
