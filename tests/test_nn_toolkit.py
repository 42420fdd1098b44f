"""fg.nn's activations, attention and layers beyond the seeds' (issue 21): values against
NumPy formulas written here, gradients against finite differences, layers' init shapes
against their outputs."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import errors, nn

# the formulas, in NumPy (float64)
_SELU = (1.6732632423543772848170429916717, 1.0507009873554804934193349852946)
FORMULAS = {
    "silu": lambda x: x / (1 + np.exp(-x)),
    "log_sigmoid": lambda x: -np.logaddexp(0, -x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "celu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: _SELU[1] * np.where(x > 0, x, _SELU[0] * np.expm1(np.minimum(x, 0))),
    "softsign": lambda x: x / (np.abs(x) + 1),
    "relu6": lambda x: np.clip(x, 0, 6),
    "hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
@settings(max_examples=20, deadline=None)
@given(x=st.lists(st.floats(-30, 30), min_size=1, max_size=8))
def test_activations_match_their_formulas_and_keep_float32(name, x):
    fn = getattr(nn, name)
    x64 = np.array(x)
    np.testing.assert_allclose(fn(x64), FORMULAS[name](x64), rtol=1e-12, atol=1e-12)
    out32 = fn(x64.astype(np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, FORMULAS[name](x64), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_activation_gradients_are_finite_and_match_differences(name):
    fn = getattr(nn, name)
    # away from kinks (0, +-1, +-3, 6), where the one-sided slopes differ
    x = np.array([-7.3, -2.2, -0.4, 0.3, 0.8, 2.1, 4.7, 1e4, -1e4])
    g = fg.vmap(fg.grad(fn))(x)
    assert np.all(np.isfinite(g))
    eps = 1e-6
    fd = (FORMULAS[name](x + eps) - FORMULAS[name](x - eps)) / (2 * eps)
    np.testing.assert_allclose(g[:-2], fd[:-2], rtol=1e-6, atol=1e-8)


def test_glu_standardize_and_the_where_mask():
    x = np.arange(8.0).reshape(2, 4) - 3
    np.testing.assert_allclose(nn.glu(x), x[:, :2] / (1 + np.exp(-x[:, 2:])))
    with pytest.raises(errors.ShapeError, match="odd"):
        nn.glu(np.ones((2, 3)))
    want = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(nn.standardize(x), want, rtol=1e-12)
    mask = np.array([[True, True, False, True]] * 2)
    got = nn.standardize(x, where=mask)
    m = x[:, [0, 1, 3]]
    want = (x - m.mean(-1, keepdims=True)) / np.sqrt(m.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(TypeError, match="where="):  # as NumPy (a None mask read as all False)
        fnp.mean(x, where=None)


def _attention_reference(q, k, v, bias=None, mask=None, causal=False, scale=None):
    """A loop over batch, heads and queries, in NumPy."""
    b, t, n, h = q.shape
    s, kh = k.shape[1], k.shape[2]
    scale = 1 / math.sqrt(h) if scale is None else scale
    out = np.zeros_like(q)
    for bi in range(b):
        for ni in range(n):
            kv = ni // (n // kh)
            for ti in range(t):
                logits = k[bi, :, kv] @ q[bi, ti, ni] * scale
                if bias is not None:
                    logits = logits + np.broadcast_to(bias, (b, n, t, s))[bi, ni, ti]
                keep = np.ones(s, bool)
                if mask is not None:
                    keep &= np.broadcast_to(mask, (b, n, t, s))[bi, ni, ti]
                if causal:
                    keep &= np.arange(s) <= ti
                logits = np.where(keep, logits, -1e300)
                w = np.exp(logits - logits.max())
                out[bi, ti, ni] = (w / w.sum()) @ v[bi, :, kv]
    return out


@pytest.mark.parametrize("heads,kv_heads", [(2, 2), (4, 2), (3, 1)])
@pytest.mark.parametrize("causal", [False, True])
def test_dot_product_attention_matches_a_loop(heads, kv_heads, causal):
    rng = np.random.default_rng(heads * 10 + kv_heads)
    q = rng.normal(size=(2, 5, heads, 4))
    k, v = rng.normal(size=(2, 5, kv_heads, 4)), rng.normal(size=(2, 5, kv_heads, 4))
    bias = rng.normal(size=(1, heads, 5, 5))
    mask = rng.random((2, 1, 5, 5)) > 0.3
    got = nn.dot_product_attention(q, k, v, bias=bias, mask=mask, is_causal=causal)
    want = _attention_reference(q, k, v, bias, mask, causal)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        nn.dot_product_attention(q[0], k[0], v[0], scale=0.3),
        _attention_reference(q[:1], k[:1], v[:1], scale=0.3)[0],
        rtol=1e-12,
    )


def test_dot_product_attention_gradients_and_errors():
    rng = np.random.default_rng(7)
    q, k, v = (rng.normal(size=(1, 3, 2, 2)) for _ in range(3))

    def loss(q, k, v):
        return fnp.sum(nn.dot_product_attention(q, k, v, is_causal=True) ** 2)

    fg.testing.check_grads(loss, (q, k, v), order=1)
    with pytest.raises(errors.ShapeError, match="dividing"):
        nn.dot_product_attention(
            np.ones((1, 3, 3, 2)), np.ones((1, 3, 2, 2)), np.ones((1, 3, 2, 2))
        )


def _init_apply(layer, shape, x, seed=0):
    init_fn, apply_fn = layer
    out_shape, params = init_fn(fg.random.key(seed), shape)
    y = apply_fn(params, x)
    assert (
        tuple(d for d in out_shape if d != -1) == y.shape[-len([d for d in out_shape if d != -1]) :]
    )
    return params, y


def test_layer_norm_and_group_norm_against_numpy():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 6))
    params, y = _init_apply(nn.LayerNorm(), (-1, 6), x)
    want = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, want, rtol=1e-6)
    params = {"scale": np.arange(1.0, 7.0), "bias": np.full(6, 0.5)}
    np.testing.assert_allclose(
        nn.LayerNorm().apply(params, x), want * params["scale"] + 0.5, rtol=1e-12
    )
    images = rng.normal(size=(2, 4, 3, 3))
    params, y = _init_apply(nn.GroupNorm(2), (-1, 4, 3, 3), images)
    g = images.reshape(2, 2, 2 * 9)
    want = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)).reshape(
        images.shape
    )
    np.testing.assert_allclose(y, want, rtol=1e-6)
    with pytest.raises(errors.ShapeError, match="divide"):
        nn.GroupNorm(3).init(fg.random.key(0), (-1, 4, 3, 3))
    fg.testing.check_grads(
        lambda x: fnp.sum(nn.LayerNorm().apply({"scale": np.ones(6), "bias": np.zeros(6)}, x) ** 3),
        (x,),
        order=1,
    )


def test_embedding_sum_pool_residual_and_activation_layers():
    params, y = _init_apply(nn.Embedding(10, 3), (-1, 4), np.array([[1, 2, 2, 9]]))
    np.testing.assert_array_equal(y[0, 1], params["embedding"][2])
    assert y.shape == (1, 4, 3)
    g = fg.grad(lambda p: fnp.sum(nn.Embedding(10, 3).apply(p, np.array([2, 2, 5]))))(params)
    np.testing.assert_array_equal(g["embedding"][:, 0], [0, 0, 2, 0, 0, 1, 0, 0, 0, 0])
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    _, y = _init_apply(nn.SumPool((2, 2)), (-1, 1, 4, 4), x)
    np.testing.assert_array_equal(y[0, 0], [[10, 18], [42, 50]])
    block = nn.Residual(nn.Dense(5), nn.Tanh)
    params, y = _init_apply(block, (-1, 5), np.ones((2, 5)))
    inner = nn.serial(nn.Dense(5), nn.Tanh).apply(params[1][0], np.ones((2, 5)))
    np.testing.assert_allclose(y, 1 + inner)
    for layer in (
        nn.Gelu,
        nn.Elu,
        nn.Selu,
        nn.Celu,
        nn.Silu,
        nn.LogSigmoid,
        nn.Softsign,
        nn.Relu6,
        nn.HardTanh,
        nn.Softplus,
    ):
        _init_apply(layer, (-1, 3), np.array([[-1.0, 0.5, 2.0]]))
    grow = nn.shape_dependent(lambda shape: nn.Dense(shape[-1] * 2))
    _, y = _init_apply(grow, (-1, 3), np.ones((4, 3)))
    assert y.shape == (4, 6)


def test_multi_head_attention_layer_is_causal_and_differentiable():
    rng = np.random.default_rng(5)
    layer = nn.MultiHeadAttention(num_heads=2, causal=True)
    x = rng.normal(size=(3, 6, 8)).astype(np.float32)
    params, y = _init_apply(layer, (-1, 6, 8), x)
    assert y.shape == x.shape and y.dtype == np.float32
    changed = x.copy()
    changed[:, 4:] += 1.0  # the future cannot reach the first four positions
    y2 = layer.apply(params, changed)
    np.testing.assert_allclose(y2[:, :4], y[:, :4], rtol=1e-5, atol=1e-6)
    assert not np.allclose(y2[:, 4:], y[:, 4:])
    params64 = fg.tree.map(lambda p: p.astype(np.float64), params)
    fg.testing.check_grads(
        lambda p: fnp.sum(layer.apply(p, x[:1].astype(np.float64)) ** 2), (params64,), order=1
    )


@pytest.mark.parametrize(
    "padding,strides", [("VALID", (1, 1)), ("SAME", (2, 1)), ([(1, 0), (2, 1)], (1, 2))]
)
def test_general_conv_channels_last_equals_the_nchw_convolution(padding, strides):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(2, 7, 6, 3))
    layer = nn.GeneralConv(("NHWC", "HWIO", "NHWC"), 4, (3, 2), strides=strides, padding=padding)
    out_shape, (w, b) = layer.init(fg.random.key(1), (-1, 7, 6, 3))
    y = layer.apply((w, b), x)
    assert out_shape == (-1, *y.shape[1:])
    want = nn.conv2d(
        x.transpose(0, 3, 1, 2),
        w.transpose(3, 2, 0, 1),
        b.reshape(-1),
        stride=strides,
        padding=padding,
    )
    np.testing.assert_allclose(y, want.transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)
    fg.testing.check_grads(
        lambda w, x: fnp.sum(layer.apply((w, b), x) ** 2), (w.astype(np.float64), x), order=1
    )


def test_conv1d_is_a_channels_last_correlation():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(2, 9, 3))
    layer = nn.Conv1D(5, (4,))
    out_shape, (w, b) = layer.init(fg.random.key(2), (-1, 9, 3))
    y = layer.apply((w, b), x)
    assert out_shape == (-1, 6, 5) and y.shape == (2, 6, 5) and w.shape == (4, 3, 5)
    want = np.zeros((2, 6, 5))
    for t in range(6):
        want[:, t] = np.einsum("nki,kio->no", x[:, t : t + 4], w)
    np.testing.assert_allclose(y, want + b, rtol=1e-12, atol=1e-12)
    with pytest.raises(errors.ShapeError, match="filter_shape"):
        nn.GeneralConv(("NHWC", "HWIO", "NHWC"), 4, (3,))


def test_transposed_conv_layers_upsample_and_differentiate():
    rng = np.random.default_rng(13)
    x = rng.normal(size=(2, 4, 5, 3))
    layer = nn.ConvTranspose(6, (3, 3), (2, 2), "SAME")
    out_shape, (w, b) = layer.init(fg.random.key(3), (-1, 4, 5, 3))
    y = layer.apply((w, b), x)
    assert out_shape == (-1, 8, 10, 6) and y.shape == (2, 8, 10, 6)
    want = fg.lax.conv_transpose(x, w, (2, 2), "SAME") + b
    np.testing.assert_allclose(y, want, rtol=1e-12)
    fg.testing.check_grads(
        lambda w: fnp.sum(layer.apply((w, b), x) ** 2), (w.astype(np.float64),), order=1
    )
    out_shape, _ = nn.Conv1DTranspose(2, (4,), (3,)).init(fg.random.key(4), (-1, 5, 3))
    assert out_shape == (-1, 3 * 4 + 4, 2)
