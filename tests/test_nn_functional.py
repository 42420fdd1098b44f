"""funcgrad.nn.functional against hand-written NumPy (and scipy.special): values, stability
for huge logits in float32 and float64, gradients against finite differences, convolution
and pooling geometry (SAME/VALID/int/pair/explicit padding), and errors."""

import numpy as np
import pytest
import scipy.special
from compare import assert_numpy_type, transformed
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad as fg
import funcgrad.nn.functional as F
import funcgrad.numpy as fnp
from funcgrad.testing import check_grads

SETTINGS = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**32 - 1)
float_dtypes = st.sampled_from([np.float32, np.float64])


# ----------------------------------------------------------------------------- helpers


def assert_same(actual, expected, rtol=None):
    """NumPy's type, same shape and dtype, close values (tight, per dtype), nan only where
    expected."""
    assert_numpy_type(actual, expected)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    if rtol is None:
        rtol = 1e-5 if expected.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol)


def check_eager_and_jit(fn, args, expected, rtol=None):
    eager = fn(*args)
    assert_same(eager, expected, rtol)
    assert_same(fg.jit(fn)(*args), transformed(eager), rtol)
    return eager


def check_grad(f, *args, order=1):
    """check_grads (vjp and jvp against finite differences) in float64, and ``grad`` against
    a central difference along a random direction."""
    args = tuple(np.asarray(a, np.float64) for a in args)
    check_grads(f, args, order=order)
    grads = fg.grad(f, argnums=tuple(range(len(args))))(*args)
    rng = np.random.default_rng(1)
    vs = [rng.standard_normal(a.shape) for a in args]
    eps = 1e-6
    plus = float(f(*[a + eps * v for a, v in zip(args, vs)]))
    minus = float(f(*[a - eps * v for a, v in zip(args, vs)]))
    analytic = sum(float(np.vdot(g, v)) for g, v in zip(grads, vs))
    assert np.isclose(analytic, (plus - minus) / (2 * eps), rtol=1e-5, atol=1e-5)
    for g, a in zip(grads, args):
        assert g.shape == a.shape and g.dtype == np.float64 and np.all(np.isfinite(g))


def weighted_sum(fn, out_shape, seed=0):
    w = np.random.default_rng(seed).standard_normal(out_shape)
    return lambda *xs: fnp.sum(fn(*xs) * w)


def _raises_here(exc, pattern, thunk):
    """``thunk`` (a one-line lambda in this file) raises ``exc`` naming its own line."""
    with pytest.raises(exc, match=pattern) as info:
        thunk()
    assert f"test_nn_functional.py:{thunk.__code__.co_firstlineno}" in str(info.value)
    return info.value


def _data(seed, shape, lo=-3.0, hi=3.0, dtype=np.float64):
    return np.random.default_rng(seed).uniform(lo, hi, size=shape).astype(dtype)


shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)


# ----------------------------------------------------------------------------- activations


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


ACTIVATIONS = {
    "relu": (F.relu, lambda x: np.maximum(x, 0), (0.0,)),
    "leaky_relu": (F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), (0.0,)),
    "leaky_relu_0.2": (
        lambda x: F.leaky_relu(x, negative_slope=0.2),
        lambda x: np.where(x > 0, x, 0.2 * x),
        (0.0,),
    ),
    "sigmoid": (F.sigmoid, _np_sigmoid, ()),
    "softplus": (F.softplus, lambda x: np.log1p(np.exp(x)), ()),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@SETTINGS
@given(shape=shapes, dtype=float_dtypes, seed=seeds)
def test_activation_values_jit_and_grad(name, shape, dtype, seed):
    fn, ref, kinks = ACTIVATIONS[name]
    x = _data(seed, shape, dtype=dtype)
    expected = ref(x.astype(np.float64)).astype(dtype)
    check_eager_and_jit(fn, (x,), expected)
    x64 = x.astype(np.float64)
    for k in kinks:  # finite differences need the points away from the kink
        x64 = np.where(np.abs(x64 - k) < 0.05, k + 0.1, x64)
    check_grad(weighted_sum(fn, shape, seed), x64, order=2)


def test_relu_gradient_at_zero_is_zero():
    x = np.array([-1.0, 0.0, 2.0])
    assert_same(fg.grad(lambda x: fnp.sum(F.relu(x)))(x), transformed(np.array([0.0, 0.0, 1.0])))
    assert_same(fg.grad(lambda x: fnp.sum(F.relu(x)))(np.float64(0.0)), transformed(np.array(0.0)))
    x32 = x.astype(np.float32)
    assert_same(
        fg.grad(lambda x: fnp.sum(F.relu(x)))(x32), transformed(np.array([0, 0, 1], np.float32))
    )


def test_activations_keep_integer_and_float32_dtypes():
    i = np.array([-2, 0, 3], np.int32)
    assert_same(F.relu(i), np.array([0, 0, 3], np.int32))
    x32 = np.array([-2.0, 0.5], np.float32)
    for fn in (F.relu, F.leaky_relu, F.sigmoid, F.softplus):
        assert fn(x32).dtype == np.float32
        assert fg.jit(fn)(x32).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_softplus_are_stable_for_huge_inputs(dtype):
    x = np.array([-1e30, -1e4, -1e3, -50.0, 0.0, 50.0, 1e3, 1e4, 1e30], dtype)
    s = F.sigmoid(x)
    assert s.dtype == dtype and np.all(np.isfinite(s))
    np.testing.assert_allclose(s, _np_sigmoid(np.clip(x.astype(np.float64), -700, 700)), atol=1e-7)
    sp = F.softplus(x)
    assert sp.dtype == dtype and np.all(np.isfinite(sp))
    expected = np.logaddexp(0.0, x.astype(np.float64)).astype(dtype)
    np.testing.assert_allclose(sp, expected, rtol=1e-6)
    sig = _np_sigmoid(np.clip(x.astype(np.float64), -700, 700))
    for fn, slope in ((F.sigmoid, sig * (1 - sig)), (F.softplus, sig)):
        g = fg.grad(lambda x: fnp.sum(fn(x)))(x)
        assert g.dtype == dtype and np.all(np.isfinite(g))
        np.testing.assert_allclose(g, slope, atol=1e-6)


# ----------------------------------------------------------------------------- softmax family


@st.composite
def logits_and_axis(draw, allow_none=False, allow_tuple=False):
    shape = draw(shapes)
    ndim = len(shape)
    options = [st.integers(-ndim, ndim - 1)]
    if allow_none:
        options.append(st.none())
    if allow_tuple:
        options.append(
            st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)
        )
    return shape, draw(st.one_of(*options))


@SETTINGS
@given(
    shape_axis=logits_and_axis(allow_none=True, allow_tuple=True),
    keepdims=st.booleans(),
    dtype=float_dtypes,
    scale=st.sampled_from([1.0, 1e3]),
    seed=seeds,
)
def test_logsumexp_values_jit_and_grad(shape_axis, keepdims, dtype, scale, seed):
    shape, axis = shape_axis
    x = (_data(seed, shape) * scale).astype(dtype)
    expected = scipy.special.logsumexp(x.astype(np.float64), axis=axis, keepdims=keepdims)
    f = lambda x: F.logsumexp(x, axis=axis, keepdims=keepdims)  # noqa: E731
    check_eager_and_jit(f, (x,), np.asarray(expected).astype(dtype))
    if scale == 1.0:
        check_grad(weighted_sum(f, np.shape(expected), seed), x, order=2)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@SETTINGS
@given(
    shape_axis=logits_and_axis(allow_none=True),
    dtype=float_dtypes,
    scale=st.sampled_from([1.0, 1e3]),
    seed=seeds,
)
def test_softmax_and_log_softmax_values_jit_and_grad(name, shape_axis, dtype, scale, seed):
    shape, axis = shape_axis
    x = (_data(seed, shape) * scale).astype(dtype)
    ref = getattr(scipy.special, name)
    expected = ref(x.astype(np.float64), axis=axis).astype(dtype)
    fn = getattr(F, name)
    out = check_eager_and_jit(lambda x: fn(x, axis=axis), (x,), expected)
    if name == "softmax":
        np.testing.assert_allclose(out.sum(axis=axis), 1.0, rtol=1e-5)
    if scale == 1.0:
        check_grad(weighted_sum(lambda x: fn(x, axis=axis), shape, seed), x, order=2)


def test_softmax_family_default_axes():
    x = _data(3, (2, 3, 4))
    assert_same(F.softmax(x), scipy.special.softmax(x, axis=-1))
    assert_same(F.log_softmax(x), scipy.special.log_softmax(x, axis=-1))
    assert_same(F.logsumexp(x), np.asarray(scipy.special.logsumexp(x)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("magnitude", [1e3, 1e4, 1e30])
def test_softmax_family_is_stable_for_huge_logits(dtype, magnitude):
    m = magnitude
    x = np.array([[m, m, m - 1], [-m, -m, -m - 1], [m, -m, 0.0], [-m, 0.0, 1.0]], dtype=dtype)
    x64 = x.astype(np.float64)
    lse = F.logsumexp(x, axis=1)
    sm = F.softmax(x, axis=1)
    lsm = F.log_softmax(x, axis=1)
    for out in (lse, sm, lsm):
        assert out.dtype == dtype
        assert np.all(np.isfinite(out)), out
    tol = 1e-6 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(lse, scipy.special.logsumexp(x64, axis=1), rtol=tol)
    np.testing.assert_allclose(sm, scipy.special.softmax(x64, axis=1), rtol=tol, atol=tol)
    # log_softmax's huge entries (-2m) are exact up to dtype rounding.
    np.testing.assert_allclose(lsm, scipy.special.log_softmax(x64, axis=1), rtol=tol, atol=tol)
    for fn in (
        lambda x: fnp.sum(F.logsumexp(x, axis=1)),
        lambda x: fnp.sum(F.log_softmax(x)[:, 0]),
    ):
        for run in (fg.grad(fn), fg.jit(fg.grad(fn))):
            g = run(x)
            assert g.dtype == dtype and np.all(np.isfinite(g)), g
    g = fg.grad(lambda x: fnp.sum(F.logsumexp(x, axis=1)))(x)
    np.testing.assert_allclose(g, scipy.special.softmax(x64, axis=1), rtol=tol, atol=tol)


def test_logsumexp_with_infinite_entries():
    x = np.array([[-np.inf, 0.0], [-np.inf, -np.inf], [np.inf, 1.0]])
    expected = scipy.special.logsumexp(x, axis=1)
    assert_same(F.logsumexp(x, axis=1), expected)
    assert_same(fg.jit(lambda x: F.logsumexp(x, axis=1))(x), transformed(expected))
    g = fg.grad(lambda x: F.logsumexp(x[0]))(x)
    assert_same(g, np.array([[0.0, 1.0], [0.0, 0.0], [0.0, 0.0]]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_gradient_at_large_logits(dtype):
    x = np.array([1000.0, 999.0, -1000.0], dtype)
    g = fg.grad(lambda x: F.log_softmax(x)[1])(x)
    expected = np.eye(3)[1] - scipy.special.softmax(x.astype(np.float64))
    np.testing.assert_allclose(g, expected, atol=1e-6)
    assert g.dtype == dtype


# ----------------------------------------------------------------------------- one_hot


@settings(max_examples=25, deadline=None)
@given(
    shape=hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=4),
    classes=st.integers(1, 5),
    dtype=st.sampled_from([None, np.float64, np.int32]),
    seed=seeds,
)
def test_one_hot(shape, classes, dtype, seed):
    labels = np.random.default_rng(seed).integers(0, classes, size=shape).astype(np.int32)
    expected = np.eye(classes, dtype=dtype or np.float32)[labels]
    kwargs = {} if dtype is None else {"dtype": dtype}
    check_eager_and_jit(lambda y: F.one_hot(y, classes, **kwargs), (labels,), expected)


def test_one_hot_in_a_differentiated_loss():
    logits, labels = _data(0, (4, 3)), np.array([0, 2, 1, 2])

    def loss(logits):
        return -fnp.mean(fnp.sum(F.one_hot(labels, 3, fnp.float64) * F.log_softmax(logits), -1))

    expected = (scipy.special.softmax(logits, axis=1) - np.eye(3)[labels]) / 4
    assert_same(fg.grad(loss)(logits), transformed(expected))
    check_grad(loss, logits, order=2)


# ----------------------------------------------------------------------------- conv and pooling


def _explicit_padding(padding, in_hw, window, stride, dilation):
    """The padding forms, spelled out by hand. SAME: output ceil(n / s), extra at the end."""
    if padding == "VALID":
        return ((0, 0), (0, 0))
    if padding == "SAME":
        pads = []
        for n, k, s, d in zip(in_hw, window, stride, dilation):
            total = max(0, (-(-n // s) - 1) * s + d * (k - 1) + 1 - n)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    if isinstance(padding, int):
        return ((padding, padding), (padding, padding))
    if isinstance(padding[0], int):
        return ((padding[0], padding[0]), (padding[1], padding[1]))
    return padding


def _windows(x, window, stride, pads, dilation, pad_value):
    """Yield (i, j, patch) with patch[n, c, a, b] the window of output pixel (i, j)."""
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads), constant_values=pad_value)
    (kh, kw), (sh, sw), (dh, dw) = window, stride, dilation
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    for i in range(oh):
        for j in range(ow):
            r, c = i * sh, j * sw
            yield (
                i,
                j,
                oh,
                ow,
                xp[:, :, r : r + dh * (kh - 1) + 1 : dh, c : c + dw * (kw - 1) + 1 : dw],
            )


def conv_ref(x, w, b, stride, pads, dilation):
    out = None
    for i, j, oh, ow, patch in _windows(x, w.shape[2:], stride, pads, dilation, 0.0):
        if out is None:
            out = np.zeros((x.shape[0], w.shape[0], oh, ow), x.dtype)
        out[:, :, i, j] = np.einsum("ncab,ocab->no", patch, w)
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def pool_ref(kind, x, window, stride, pads):
    out = None
    fill = -np.inf if kind == "max" else 0.0
    for i, j, oh, ow, patch in _windows(x, window, stride, pads, (1, 1), fill):
        if out is None:
            out = np.zeros(x.shape[:2] + (oh, ow), x.dtype)
        out[:, :, i, j] = patch.max(axis=(2, 3)) if kind == "max" else patch.mean(axis=(2, 3))
    return out


def _padding_strategy(window, dilation, pool):
    """Padding in any accepted form; for pooling, below the window (no all-padding window)."""
    limit = [min(2, k - 1) if pool else 2 for k in window]
    per = st.tuples(st.integers(0, limit[0]), st.integers(0, limit[0]))
    return st.one_of(
        st.sampled_from(["SAME", "VALID", "same", "valid"]),
        st.integers(0, min(limit)),
        st.tuples(st.integers(0, limit[0]), st.integers(0, limit[1])),
        st.tuples(per, st.tuples(st.integers(0, limit[1]), st.integers(0, limit[1]))),
    )


@st.composite
def conv_geometries(draw, pool=False):
    window = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (1, 1) if pool else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = draw(_padding_strategy(window, dilation, pool))
    extent = [d * (k - 1) + 1 for k, d in zip(window, dilation)]
    hw = tuple(e + draw(st.integers(0, 4)) for e in extent)  # the window always fits
    x_shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3))) + hw
    stride_arg = stride if draw(st.booleans()) or stride[0] != stride[1] else stride[0]
    return x_shape, window, stride_arg, padding, dilation


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


@SETTINGS
@given(
    geometry=conv_geometries(),
    out_channels=st.integers(1, 3),
    bias=st.booleans(),
    dtype=float_dtypes,
    seed=seeds,
)
def test_conv2d_values_shapes_jit_and_grad(geometry, out_channels, bias, dtype, seed):
    x_shape, window, stride, padding, dilation = geometry
    # Values in [-1, 1]: float32 sums of <= 27 products then round off by far less than 1e-4.
    x = _data(seed, x_shape, -1, 1, dtype)
    w = _data(seed + 1, (out_channels, x_shape[1]) + window, -1, 1, dtype)
    b = _data(seed + 2, (out_channels,), -1, 1, dtype) if bias else None
    pads = _explicit_padding(
        padding.upper() if isinstance(padding, str) else padding,
        x_shape[2:],
        window,
        _pair(stride),
        dilation,
    )
    expected = conv_ref(x, w, b, _pair(stride), pads, dilation)
    dil = dilation if dilation[0] != dilation[1] else dilation[0]

    def f(x, w, b=None):
        return F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dil)

    args = (x, w) if b is None else (x, w, b)
    out = check_eager_and_jit(f, args, expected, rtol=1e-4 if dtype == np.float32 else 1e-10)
    if isinstance(padding, str) and padding.upper() == "SAME":
        assert out.shape[2:] == tuple(-(-n // s) for n, s in zip(x_shape[2:], _pair(stride)))
    check_grad(weighted_sum(f, out.shape, seed), *[a.astype(np.float64) for a in args])


@pytest.mark.parametrize("kind", ["max", "avg"])
@SETTINGS
@given(geometry=conv_geometries(pool=True), dtype=float_dtypes, seed=seeds)
def test_pool_values_shapes_jit_and_grad(kind, geometry, dtype, seed):
    x_shape, window, stride, padding, _ = geometry
    fn = F.max_pool2d if kind == "max" else F.avg_pool2d
    size = int(np.prod(x_shape))
    # Distinct values (gaps 0.1) so max pooling has no ties for finite differences to trip on.
    rng = np.random.default_rng(seed)
    x = (rng.permutation(size).reshape(x_shape) * 0.1 - size * 0.05).astype(dtype)
    pads = _explicit_padding(
        padding.upper() if isinstance(padding, str) else padding,
        x_shape[2:],
        window,
        _pair(stride),
        (1, 1),
    )
    expected = pool_ref(kind, x, window, _pair(stride), pads)
    win = window if window[0] != window[1] else window[0]
    f = lambda x: fn(x, win, stride=stride, padding=padding)  # noqa: E731
    out = check_eager_and_jit(f, (x,), expected)
    if isinstance(padding, str) and padding.upper() == "SAME":
        assert out.shape[2:] == tuple(-(-n // s) for n, s in zip(x_shape[2:], _pair(stride)))
    check_grad(weighted_sum(f, out.shape, seed), x.astype(np.float64))


def test_pool_stride_defaults_to_the_window():
    x = np.arange(36.0).reshape(1, 1, 6, 6)
    assert_same(F.max_pool2d(x, 2), pool_ref("max", x, (2, 2), (2, 2), ((0, 0), (0, 0))))
    assert_same(F.avg_pool2d(x, (3, 2)), pool_ref("avg", x, (3, 2), (3, 2), ((0, 0), (0, 0))))
    assert F.max_pool2d(x, 2).shape == (1, 1, 3, 3)


@pytest.mark.parametrize(
    "n, k, s, expected",
    [(5, 3, 1, 5), (5, 3, 2, 3), (6, 3, 2, 3), (7, 2, 3, 3), (4, 5, 1, 4), (1, 3, 2, 1)],
)
def test_same_padding_output_is_ceil_n_over_stride(n, k, s, expected):
    x = np.ones((1, 2, n, n + 1))
    w = np.ones((3, 2, k, k))
    out = F.conv2d(x, w, stride=s, padding="SAME")
    assert out.shape == (1, 3, expected, -(-(n + 1) // s))
    assert F.max_pool2d(x, k, stride=s, padding="SAME").shape == (1, 2, expected, -(-(n + 1) // s))
    assert F.avg_pool2d(x, k, stride=s, padding="SAME").shape == (1, 2, expected, -(-(n + 1) // s))


def test_conv2d_bias_and_padding_forms_agree():
    x, w, b = _data(0, (2, 3, 5, 6)), _data(1, (4, 3, 3, 3)), _data(2, (4,))
    base = F.conv2d(x, w, padding=((1, 1), (1, 1)))
    assert_same(F.conv2d(x, w, padding=1), base)
    assert_same(F.conv2d(x, w, padding=(1, 1)), base)
    assert_same(F.conv2d(x, w, padding="SAME"), base)
    assert_same(F.conv2d(x, w, b, padding=1), base + b.reshape(1, 4, 1, 1))
    assert_same(F.conv2d(x, w, padding=0), F.conv2d(x, w, padding="VALID"))
    assert F.conv2d(x, w, padding=(2, 0)).shape == (2, 4, 7, 4)
    assert F.conv2d(x, w, padding=((0, 2), (1, 0))).shape == (2, 4, 5, 5)


def test_conv2d_float32_stays_float32_under_grad():
    x, w = _data(0, (1, 2, 4, 4), dtype=np.float32), _data(1, (3, 2, 3, 3), dtype=np.float32)
    b = np.zeros(3, np.float32)

    def loss(w, b):
        return fnp.mean(F.relu(F.conv2d(x, w, b, padding="SAME")) ** 2)

    gw, gb = fg.grad(loss, argnums=(0, 1))(w, b)
    assert gw.dtype == np.float32 and gb.dtype == np.float32
    assert gw.shape == w.shape and gb.shape == b.shape


# ----------------------------------------------------------------------------- errors


def test_bad_padding_strings():
    x, w = np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3))
    _raises_here(
        ValueError,
        r"conv2d: padding must be 'SAME' or 'VALID', got 'FULL'",
        lambda: F.conv2d(x, w, padding="FULL"),
    )
    _raises_here(
        ValueError,
        r"max_pool2d: padding must be 'SAME' or 'VALID'",
        lambda: F.max_pool2d(x, 2, padding="same-ish"),
    )
    _raises_here(
        ValueError,
        r"avg_pool2d: padding must be",
        lambda: fg.jit(lambda x: F.avg_pool2d(x, 2, padding=""))(x),
    )
    _raises_here(fg.ShapeError, r"conv2d: invalid padding", lambda: F.conv2d(x, w, padding=-1))
    _raises_here(
        fg.ShapeError, r"conv2d: invalid padding", lambda: F.conv2d(x, w, padding=(1, 2, 3))
    )


def test_window_larger_than_the_input():
    x = np.ones((1, 2, 3, 3))
    pattern = r"window .* is larger than the padded input"
    _raises_here(
        fg.ShapeError, "conv2d: the " + pattern, lambda: F.conv2d(x, np.ones((1, 2, 4, 4)))
    )
    _raises_here(
        fg.ShapeError,
        "conv2d: the " + pattern,
        lambda: F.conv2d(x, np.ones((1, 2, 2, 2)), dilation=3),
    )
    _raises_here(fg.ShapeError, "max_pool2d: the " + pattern, lambda: F.max_pool2d(x, 4))
    _raises_here(
        fg.ShapeError,
        "avg_pool2d: the " + pattern,
        lambda: F.avg_pool2d(x, (1, 5), padding="VALID"),
    )
    _raises_here(fg.ShapeError, pattern, lambda: fg.jit(lambda x: F.max_pool2d(x, (4, 1)))(x))
    # Padding makes room: no error, and SAME never fails.
    assert F.conv2d(x, np.ones((1, 2, 4, 4)), padding=1).shape == (1, 1, 2, 2)
    assert F.max_pool2d(x, 4, padding="SAME").shape == (1, 2, 1, 1)


def test_conv_and_pool_shape_errors():
    x = np.ones((1, 2, 5, 5))
    _raises_here(
        fg.ShapeError,
        r"conv2d: expected an \(N, C, H, W\) input",
        lambda: F.conv2d(x[0], np.ones((1, 2, 3, 3))),
    )
    _raises_here(
        fg.ShapeError,
        r"conv2d: expected \(O, C, kh, kw\) weights",
        lambda: F.conv2d(x, np.ones((2, 3, 3))),
    )
    _raises_here(
        fg.ShapeError,
        r"input has 2 channels but the weights expect 3",
        lambda: F.conv2d(x, np.ones((1, 3, 3, 3))),
    )
    _raises_here(
        fg.ShapeError,
        r"conv2d: stride must be a positive int",
        lambda: F.conv2d(x, np.ones((1, 2, 3, 3)), stride=0),
    )
    _raises_here(
        fg.ShapeError,
        r"max_pool2d: window must be a positive int",
        lambda: F.max_pool2d(x, (2, 2, 2)),
    )
    _raises_here(
        fg.ShapeError,
        r"avg_pool2d: expected an \(N, C, H, W\) input",
        lambda: F.avg_pool2d(x[0, 0], 2),
    )


def test_softmax_family_axis_errors():
    x = np.ones((2, 3))
    for name in ("softmax", "log_softmax", "logsumexp"):
        fn = getattr(F, name)
        _raises_here(fg.ShapeError, rf"{name}: axis 2 is out of bounds", lambda: fn(x, axis=2))
        _raises_here(
            fg.ShapeError, rf"{name}: repeated axis", lambda: fg.jit(lambda x: fn(x, (1, -1)))(x)
        )


def test_softmax_family_of_integers_computes_in_float64():
    labels = np.array([[1, 2], [3, 4]])
    for fn in (F.softmax, F.log_softmax, F.logsumexp):
        assert fn(labels).dtype == np.float64
        np.testing.assert_allclose(fn(labels), fn(labels.astype(np.float64)))
