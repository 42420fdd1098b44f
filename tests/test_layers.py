"""fg.nn layers: init/apply shape agreement, values against NumPy, rng and state threading,
Dropout and BatchNorm behaviour, gradients, errors, and a jitted training loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn, testing

SETTINGS = settings(max_examples=20, deadline=None)
KEY = fg.random.key(0)


def concrete(shape, batch):
    """An input shape with the batch placeholder -1 replaced by ``batch``."""
    if shape and isinstance(shape[0], tuple):
        return tuple(concrete(s, batch) for s in shape)
    return tuple(batch if d == -1 else d for d in shape)


def random_input(shape, seed=0):
    if shape and isinstance(shape[0], tuple):
        return tuple(random_input(s, seed + i) for i, s in enumerate(shape))
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def output_shape(y):
    return tuple(output_shape(v) for v in y) if isinstance(y, tuple) else y.shape


def check_shape_agreement(layer, input_shape, batch):
    """init's out_shape (batch filled in) equals apply's output shape, in eval and train."""
    init_fn, apply_fn = layer
    out_shape, params = init_fn(KEY, input_shape)
    x = random_input(concrete(input_shape, batch))
    expected = concrete(out_shape, batch)
    assert output_shape(apply_fn(params, x)) == expected
    y = apply_fn(params, x, rng=fg.random.key(1), train=True)
    if getattr(apply_fn, "has_state", False):
        y, new_params = y
        assert fg.tree.structure(new_params) == fg.tree.structure(params)
    assert output_shape(y) == expected
    for leaf in fg.tree.leaves(y):
        assert leaf.dtype == np.float32


# ---------------------------------------------------------------- shape agreement

sides = st.integers(1, 6)
batches = st.integers(1, 3)


@st.composite
def dense_cases(draw):
    rank = draw(st.integers(2, 3))
    shape = (-1,) + tuple(draw(sides) for _ in range(rank - 1))
    return nn.Dense(draw(sides)), shape


@st.composite
def conv_cases(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(kh, 7)), draw(st.integers(kw, 7))
    strides = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(st.sampled_from(["SAME", "VALID", 1, ((0, 1), (2, 0))]))
    layer = nn.Conv(draw(st.integers(1, 3)), (kh, kw), strides=strides, padding=padding)
    return layer, (-1, draw(st.integers(1, 3)), h, w)


@st.composite
def pool_cases(draw):
    window = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    h, w = draw(st.integers(window[0], 7)), draw(st.integers(window[1], 7))
    strides = draw(st.sampled_from([None, (1, 1), (2, 1)]))
    padding = draw(st.sampled_from(["SAME", "VALID"]))
    pool = draw(st.sampled_from([nn.MaxPool, nn.AvgPool]))
    return pool(window, strides, padding), (-1, draw(st.integers(1, 3)), h, w)


@st.composite
def any_shape_cases(draw):
    layer = draw(
        st.sampled_from(
            [
                nn.Relu,
                nn.LeakyRelu,
                nn.LeakyRelu(0.2),
                nn.Tanh,
                nn.Sigmoid,
                nn.Softmax,
                nn.LogSoftmax,
                nn.Identity,
                nn.Flatten,
                nn.Dropout(0.5),
                nn.elementwise(fnp.clip, a_min=-1.0, a_max=1.0),
                nn.serial(),
                nn.serial(nn.Tanh, nn.Dropout(0.1), nn.Relu),
            ]
        )
    )
    rank = draw(st.integers(1, 4))
    return layer, (-1,) + tuple(draw(sides) for _ in range(rank - 1))


@st.composite
def batch_norm_cases(draw):
    rank = draw(st.sampled_from([2, 4]))
    shape = (-1,) + tuple(draw(sides) for _ in range(rank - 1))
    return nn.BatchNorm(), shape


@st.composite
def combinator_cases(draw):
    d = draw(sides)
    layers = [
        (nn.serial(nn.FanOut(2), nn.parallel(nn.Dense(d), nn.Identity), nn.FanInSum), (-1, d)),
        (
            nn.serial(nn.FanOut(3), nn.parallel(nn.Dense(2), nn.Relu, nn.Tanh), nn.FanInConcat()),
            (-1, d),
        ),
        (nn.serial(nn.FanOut(2), nn.FanInConcat(axis=1)), (-1, 2, d, 3)),
        (nn.parallel(nn.Dense(3), nn.Flatten), ((-1, d), (-1, 2, d))),
        (nn.serial(nn.FanOut(2), nn.parallel(nn.BatchNorm(), nn.Dense(d))), (-1, d)),
        (nn.FanOut(3), (-1, d, 2)),
    ]
    return draw(st.sampled_from(layers))


@pytest.mark.parametrize(
    "cases",
    [dense_cases, conv_cases, pool_cases, any_shape_cases, batch_norm_cases, combinator_cases],
)
def test_init_out_shape_equals_apply_output_shape(cases):
    @SETTINGS
    @given(cases(), batches)
    def check(case, batch):
        layer, input_shape = case
        check_shape_agreement(layer, input_shape, batch)

    check()


def test_stax_cnn_from_the_design_doc():
    init_fn, apply_fn = nn.serial(
        nn.Conv(4, (3, 3), padding="SAME"),
        nn.LeakyRelu,
        nn.MaxPool((2, 2)),
        nn.Flatten,
        nn.Dense(10),
    )
    out_shape, params = init_fn(KEY, (-1, 3, 8, 8))
    assert out_shape == (-1, 10)
    assert fg.tree.map(np.shape, params) == (
        {"w": (4, 3, 3, 3), "b": (4,)},
        (),
        (),
        (),
        {"w": (4 * 4 * 4, 10), "b": (10,)},
    )
    assert all(leaf.dtype == np.float32 for leaf in fg.tree.leaves(params))
    x = random_input((2, 3, 8, 8))
    logits = apply_fn(params, x)
    assert logits.shape == (2, 10) and logits.dtype == np.float32
    # The same computation written out in NumPy: SAME conv of a 3x3 filter pads 1 each side.
    w, b = params[0]["w"].astype(np.float64), params[0]["b"]
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv = np.zeros((2, 4, 8, 8))
    for i in range(3):
        for j in range(3):
            conv += np.einsum("nchw,oc->nohw", xp[:, :, i : i + 8, j : j + 8], w[:, :, i, j])
    h = conv + b[None, :, None, None]
    h = np.where(h > 0, h, 0.01 * h)
    h = h.reshape(2, 4, 4, 2, 4, 2).max(axis=(3, 5)).reshape(2, -1)
    expected = h @ params[4]["w"] + params[4]["b"]
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-5)


def test_mlp_matches_numpy():
    init_fn, apply_fn = nn.serial(nn.Dense(5), nn.Relu, nn.Dense(3), nn.LogSoftmax)
    out_shape, params = init_fn(KEY, (-1, 4))
    assert out_shape == (-1, 3)
    x = random_input((6, 4))
    (l1, _, l2, _) = params
    h = np.maximum(x @ l1["w"] + l1["b"], 0) @ l2["w"] + l2["b"]
    expected = h - np.log(np.sum(np.exp(h), axis=1, keepdims=True))
    np.testing.assert_allclose(apply_fn(params, x), expected, rtol=1e-5, atol=1e-6)


def test_avg_pool_with_same_padding_averages_only_real_elements():
    x = np.arange(9.0, dtype=np.float32).reshape(1, 1, 3, 3)
    init_fn, apply_fn = nn.AvgPool((2, 2), strides=(1, 1), padding="SAME")
    assert init_fn(None, (-1, 1, 3, 3))[0] == (-1, 1, 3, 3)
    y = apply_fn((), x)[0, 0]
    # SAME pads at the end: the last row/column windows hold 2 (or 1) real elements.
    expected = [[2.0, 3.0, 3.5], [5.0, 6.0, 6.5], [6.5, 7.5, 8.0]]
    np.testing.assert_allclose(y, expected)


def test_max_pool_strides_default_to_the_window():
    x = np.arange(16.0, dtype=np.float32).reshape(1, 1, 4, 4)
    init_fn, apply_fn = nn.MaxPool((2, 2))
    assert init_fn(None, (-1, 1, 4, 4))[0] == (-1, 1, 2, 2)
    np.testing.assert_array_equal(apply_fn((), x)[0, 0], [[5.0, 7.0], [13.0, 15.0]])
    assert nn.MaxPool((2, 2), strides=(1, 1)).init(None, (-1, 1, 4, 4))[0] == (-1, 1, 3, 3)


def test_leaky_relu_is_a_layer_and_takes_a_slope():
    x = np.array([[-1.0, 2.0]], np.float32)
    init_fn, apply_fn = nn.LeakyRelu
    np.testing.assert_allclose(apply_fn((), x), [[-0.01, 2.0]], rtol=1e-6)
    _, steep = nn.LeakyRelu(0.2)
    np.testing.assert_allclose(steep((), x), [[-0.2, 2.0]], rtol=1e-6)
    assert nn.serial(nn.LeakyRelu, nn.LeakyRelu(0.5)).apply(((), ()), x)[0, 0] == np.float32(-0.005)


# ---------------------------------------------------------------- initialization and rng


def test_init_is_deterministic_per_key_and_layers_get_different_keys():
    init_fn, _ = nn.serial(nn.Dense(4), nn.Dense(4))
    _, p1 = init_fn(KEY, (-1, 4))
    _, p2 = init_fn(KEY, (-1, 4))
    _, p3 = init_fn(fg.random.key(1), (-1, 4))
    for a, b in zip(fg.tree.leaves(p1), fg.tree.leaves(p2)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(p1[0]["w"], p3[0]["w"])
    assert not np.array_equal(p1[0]["w"], p1[1]["w"])  # same shape, different key


def test_default_initializers_have_the_expected_scale():
    _, dense = nn.Dense(200).init(KEY, (-1, 300))
    np.testing.assert_allclose(dense["w"].std(), np.sqrt(2 / 500), rtol=0.05)  # glorot
    assert 0 < dense["b"].std() < 0.05
    _, conv = nn.Conv(64, (3, 3)).init(KEY, (-1, 32, 9, 9))
    np.testing.assert_allclose(conv["w"].std(), np.sqrt(2 / (32 * 9)), rtol=0.05)  # he, OIHW
    np.testing.assert_array_equal(conv["b"], np.zeros(64, np.float32))


def test_dropout_eval_is_identity_and_train_scales_survivors():
    init_fn, apply_fn = nn.Dropout(0.25)
    x = random_input((100, 50))
    assert init_fn(None, (-1, 50)) == ((-1, 50), ())
    assert apply_fn((), x) is x
    y = apply_fn((), x, rng=KEY, train=True)
    dropped = y == 0
    assert abs(dropped.mean() - 0.25) < 0.02
    np.testing.assert_allclose(y[~dropped], x[~dropped] / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(apply_fn((), x, rng=KEY, train=True), y)
    assert not np.array_equal(apply_fn((), x, rng=fg.random.key(1), train=True), y)
    np.testing.assert_allclose(
        apply_fn((), np.ones((200, 200)), rng=KEY, train=True).mean(), 1, 0.02
    )


def test_dropout_without_rng_in_training_is_a_clear_error():
    _, apply_fn = nn.serial(nn.Dense(3), nn.Dropout(0.5))
    _, params = nn.serial(nn.Dense(3), nn.Dropout(0.5)).init(KEY, (-1, 2))
    with pytest.raises(ValueError, match=r"Dropout: train=True needs .*rng=.*test_layers.py"):
        apply_fn(params, np.ones((1, 2), np.float32), train=True)
    for rate in (-0.1, 1.0, "0.5"):
        with pytest.raises(ValueError, match="rate"):
            nn.Dropout(rate)


def test_serial_and_parallel_split_the_rng_among_their_layers():
    layer = nn.serial(nn.FanOut(2), nn.parallel(nn.Dropout(0.5), nn.Dropout(0.5)))
    _, params = layer.init(KEY, (-1, 64))
    a, b = layer.apply(params, np.ones((4, 64), np.float32), rng=KEY, train=True)
    assert not np.array_equal(a == 0, b == 0)


def test_dropout_traces_under_jit_with_a_traced_key():
    _, apply_fn = nn.Dropout(0.5)
    f = fg.jit(lambda x, key: apply_fn((), x, rng=key, train=True))
    x = np.ones((8, 8), np.float32)
    y1, y2 = f(x, fg.random.key(1)), f(x, fg.random.key(2))
    assert f.cache_info().misses == 1
    assert set(np.unique(y1)) <= {0.0, 2.0} and not np.array_equal(y1, y2)
    np.testing.assert_array_equal(y1, apply_fn((), x, rng=fg.random.key(1), train=True))


# ---------------------------------------------------------------- BatchNorm and state


def test_batch_norm_normalizes_channels_in_training_and_updates_running_stats():
    init_fn, apply_fn = nn.BatchNorm(momentum=0.9, eps=1e-5)
    _, params = init_fn(None, (-1, 3, 4, 4))
    assert fg.tree.map(np.shape, params) == {
        "scale": (3,),
        "bias": (3,),
        "running_mean": (3,),
        "running_var": (3,),
    }
    x = random_input((5, 3, 4, 4)) * np.array([1.0, 2.0, 3.0], np.float32)[:, None, None] + 4.0
    y, new_params = apply_fn(params, x, train=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-3)
    batch_mean, batch_var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(new_params["running_mean"], 0.1 * batch_mean, rtol=1e-5)
    np.testing.assert_allclose(new_params["running_var"], 0.9 + 0.1 * batch_var, rtol=1e-5)
    np.testing.assert_array_equal(new_params["scale"], params["scale"])
    assert new_params["running_mean"].dtype == np.float32
    # Repeated training steps drive the running statistics to the data's.
    for _ in range(100):
        _, params = apply_fn(params, x, train=True)
    np.testing.assert_allclose(params["running_mean"], batch_mean, rtol=1e-3)
    np.testing.assert_allclose(params["running_var"], batch_var, rtol=1e-3)
    # Eval mode uses them: the output is then normalized too, and is a plain array.
    y_eval = apply_fn(params, x)
    np.testing.assert_allclose(y_eval, y, rtol=1e-3, atol=1e-3)


def test_batch_norm_eval_uses_running_statistics():
    init_fn, apply_fn = nn.BatchNorm()
    _, params = init_fn(None, (-1, 2))
    params = dict(params, running_mean=np.array([1.0, -1.0], np.float32))
    params["running_var"] = np.array([4.0, 0.25], np.float32)
    params["scale"] = np.array([2.0, 1.0], np.float32)
    params["bias"] = np.array([0.5, 0.0], np.float32)
    x = np.array([[3.0, 0.0]], np.float32)
    expected = (x - [1.0, -1.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5) * [2.0, 1.0] + [0.5, 0]
    np.testing.assert_allclose(apply_fn(params, x), expected, rtol=1e-6)


def test_batch_norm_axis_selects_the_reduced_axes():
    init_fn, apply_fn = nn.BatchNorm(axis=(0, 1))
    out_shape, params = init_fn(None, (-1, 3, 4))
    assert out_shape == (-1, 3, 4) and params["scale"].shape == (4,)
    y, _ = apply_fn(params, random_input((2, 3, 4)), train=True)
    np.testing.assert_allclose(y.mean(axis=(0, 1)), 0, atol=1e-5)
    with pytest.raises(fg.ShapeError, match="batch axis"):
        nn.BatchNorm(axis=2).init(None, (-1, 3, 4))


@pytest.mark.parametrize("train", [True, False])
def test_no_gradient_flows_into_running_statistics(train):
    init_fn, apply_fn = nn.serial(nn.Dense(4), nn.BatchNorm(), nn.Tanh, nn.Dense(1))
    _, params = init_fn(KEY, (-1, 3))
    x = random_input((8, 3))

    def loss(params):
        y = apply_fn(params, x, train=train)
        y = y[0] if train else y
        return fnp.mean(y**2)

    grads = fg.grad(loss)(params)
    assert np.all(grads[1]["running_mean"] == 0) and np.all(grads[1]["running_var"] == 0)
    assert np.any(grads[1]["scale"] != 0) and np.any(grads[0]["w"] != 0)


def test_serial_and_parallel_thread_state():
    bn = nn.BatchNorm()
    model = nn.serial(nn.Dense(3), nn.FanOut(2), nn.parallel(bn, nn.Relu), nn.FanInSum)
    assert model.apply.has_state and bn.apply.has_state
    assert not nn.serial(nn.Dense(3), nn.Relu).apply.has_state
    _, params = model.init(KEY, (-1, 2))
    x = random_input((6, 2))
    y, new_params = model.apply(params, x, train=True)
    assert y.shape == (6, 3)
    assert fg.tree.structure(new_params) == fg.tree.structure(params)
    h = x @ params[0]["w"] + params[0]["b"]
    np.testing.assert_allclose(new_params[2][0]["running_mean"], 0.1 * h.mean(0), rtol=1e-5)
    assert new_params[0] is params[0]  # stateless entries pass through untouched
    assert model.apply(params, x).shape == (6, 3)  # eval: a plain output


# ---------------------------------------------------------------- gradients and training


def test_grads_have_the_params_structure():
    init_fn, apply_fn = nn.serial(
        nn.Conv(2, (3, 3), padding="SAME"), nn.Relu, nn.AvgPool((2, 2)), nn.Flatten, nn.Dense(3)
    )
    _, params = init_fn(KEY, (-1, 1, 4, 4))
    x, labels = random_input((2, 1, 4, 4)), np.array([0, 2])
    grads = fg.grad(lambda p: nn.losses.softmax_cross_entropy(apply_fn(p, x), labels))(params)
    assert fg.tree.structure(grads) == fg.tree.structure(params)
    for g, p in zip(fg.tree.leaves(grads), fg.tree.leaves(params)):
        assert g.shape == p.shape and g.dtype == p.dtype and np.all(np.isfinite(g))


def test_gradients_of_a_tiny_model_match_finite_differences():
    init_fn, apply_fn = nn.serial(
        nn.Conv(2, (2, 2), padding="SAME"),
        nn.BatchNorm(),
        nn.Tanh,
        nn.MaxPool((2, 2)),
        nn.Flatten,
        nn.Dense(3),
        nn.LogSoftmax,
    )
    _, params = init_fn(KEY, (-1, 2, 4, 4))
    params = fg.tree.map(lambda p: p.astype(np.float64), params)
    x = np.random.default_rng(5).standard_normal((3, 2, 4, 4))
    labels = np.array([0, 1, 2])

    def loss(params, x):
        log_probs, _ = apply_fn(params, x, train=True)
        return nn.losses.nll(log_probs, labels)

    testing.check_grads(loss, (params, x), order=1)


def test_second_order_gradients_of_an_mlp():
    init_fn, apply_fn = nn.serial(nn.Dense(3), nn.Tanh, nn.Dense(2), nn.Sigmoid)
    _, params = init_fn(KEY, (-1, 2))
    params = fg.tree.map(lambda p: p.astype(np.float64), params)
    x, y = np.random.default_rng(6).standard_normal((4, 2)), np.array([[0.0, 1.0]] * 4)
    testing.check_grads(lambda p: nn.losses.mse(apply_fn(p, x), y), (params,), order=2)


def test_jitted_train_step_decreases_the_loss():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((32, 2)).astype(np.float32)
    labels = (x[:, 0] * x[:, 1] > 0).astype(np.int64)  # XOR-like: needs the hidden layer
    init_fn, apply_fn = nn.serial(nn.Dense(16), nn.Relu, nn.Dropout(0.1), nn.Dense(2))
    _, params = init_fn(KEY, (-1, 2))

    def loss(params, x, labels, key):
        logits = apply_fn(params, x, rng=key, train=True)
        return nn.losses.softmax_cross_entropy(logits, labels)

    @fg.jit
    def step(params, x, labels, key):
        value, grads = fg.value_and_grad(loss)(params, x, labels, key)
        return fg.tree.map(lambda p, g: p - 0.5 * g, params, grads), value

    def eval_loss(params):
        return float(nn.losses.softmax_cross_entropy(apply_fn(params, x), labels))

    first = eval_loss(params)
    for i in range(50):
        params, _ = step(params, x, labels, fg.random.fold_in(KEY, i))
    assert step.cache_info().misses == 1
    assert all(leaf.dtype == np.float32 for leaf in fg.tree.leaves(params))
    assert eval_loss(params) < 0.6 * first


def test_jitted_train_step_with_batch_norm_state():
    x = random_input((16, 3))
    targets = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    init_fn, apply_fn = nn.serial(nn.Dense(8), nn.BatchNorm(), nn.Relu, nn.Dense(1))
    _, params = init_fn(KEY, (-1, 3))

    def loss(params):
        y, new_params = apply_fn(params, x, train=True)
        return nn.losses.mse(y, targets), new_params

    @fg.jit
    def step(params):
        (value, new_params), grads = fg.value_and_grad(loss, has_aux=True)(params)
        return fg.tree.map(lambda p, g: p - 0.1 * g, new_params, grads), value

    params, first = step(params)
    for _ in range(30):
        params, value = step(params)
    assert value < 0.5 * first
    h = x @ params[0]["w"] + params[0]["b"]
    # The running mean tracks the (slowly moving) batch mean of the BatchNorm input.
    np.testing.assert_allclose(params[1]["running_mean"], h.mean(0), atol=0.3)


# ---------------------------------------------------------------- errors


def test_shape_errors_at_init_name_the_user_line():
    with pytest.raises(fg.ShapeError, match=r"Conv: expected an input shape of rank 4.*test_"):
        nn.Conv(2, (3, 3)).init(KEY, (-1, 3, 8))
    with pytest.raises(fg.ShapeError, match=r"Conv: the window \(5, 5\) is larger"):
        nn.Conv(2, (5, 5)).init(KEY, (-1, 1, 4, 4))
    with pytest.raises(fg.ShapeError, match="MaxPool"):
        nn.MaxPool((3, 3)).init(None, (-1, 1, 2, 2))
    with pytest.raises(fg.ShapeError, match="FanInSum"):
        nn.FanInSum.init(None, ((-1, 2), (-1, 3)))
    with pytest.raises(ValueError, match=r"Dense: init needs a key"):
        nn.Dense(3).init(None, (-1, 2))


def test_combinators_check_their_params_and_inputs():
    init_fn, apply_fn = nn.serial(nn.Dense(2), nn.Relu)
    _, params = init_fn(KEY, (-1, 2))
    with pytest.raises(fg.ShapeError, match=r"serial: expected a tuple of params for 2 layers"):
        apply_fn(params[:1], np.ones((1, 2), np.float32))
    _, apply_fn = nn.parallel(nn.Relu, nn.Relu)
    with pytest.raises(fg.ShapeError, match=r"parallel: expected a tuple of inputs for 2"):
        apply_fn(((), ()), (np.ones(2),))
