"""fg.nn.losses: values against NumPy/SciPy references, both label forms, shape checks,
stability at extreme logits, gradients against finite differences, and jit."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

import funcgrad as fg
from funcgrad import testing
from funcgrad.nn import losses

SETTINGS = settings(max_examples=30, deadline=None)


@st.composite
def logits_and_labels(draw, dtype=np.float64):
    n, c = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    logits = draw(testing.arrays((n, c), dtype, -20.0, 20.0))
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    return logits, labels


def ref_softmax_ce(logits, targets):
    return np.mean(-np.sum(targets * special.log_softmax(logits, axis=-1), axis=-1))


# ---------------------------------------------------------------- values vs references


@SETTINGS
@given(testing.broadcastable_shapes(num_shapes=1, min_dims=1).map(lambda s: s[0]), st.data())
def test_mse_matches_numpy(shape, data):
    pred = data.draw(testing.arrays(shape))
    target = data.draw(testing.arrays(shape))
    expected = np.mean((pred - target) ** 2) if pred.size else np.nan
    np.testing.assert_allclose(losses.mse(pred, target), expected, rtol=1e-12)


@SETTINGS
@given(logits_and_labels())
def test_softmax_cross_entropy_integer_and_one_hot_labels_agree_with_scipy(case):
    logits, labels = case
    one_hot = np.eye(logits.shape[1])[labels]
    expected = ref_softmax_ce(logits, one_hot)
    np.testing.assert_allclose(losses.softmax_cross_entropy(logits, labels), expected, rtol=1e-10)
    np.testing.assert_allclose(losses.softmax_cross_entropy(logits, one_hot), expected, rtol=1e-10)


def test_softmax_cross_entropy_soft_targets_and_extra_batch_axes():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, 3, 4))
    soft = special.softmax(rng.standard_normal((2, 3, 4)), axis=-1)
    np.testing.assert_allclose(
        losses.softmax_cross_entropy(logits, soft), ref_softmax_ce(logits, soft), rtol=1e-12
    )
    labels = rng.integers(0, 4, (2, 3))
    np.testing.assert_allclose(
        losses.softmax_cross_entropy(logits, labels),
        ref_softmax_ce(logits, np.eye(4)[labels]),
        rtol=1e-12,
    )


@SETTINGS
@given(logits_and_labels())
def test_nll_matches_reference_and_composes_with_log_softmax(case):
    logits, labels = case
    log_probs = special.log_softmax(logits, axis=-1)
    expected = -np.mean(log_probs[np.arange(len(labels)), labels])
    np.testing.assert_allclose(losses.nll(log_probs, labels), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        losses.nll(fg.nn.log_softmax(logits), labels),
        losses.softmax_cross_entropy(logits, labels),
        rtol=1e-10,
        atol=1e-12,
    )


@SETTINGS
@given(testing.arrays(testing.shapes(min_dims=1, min_side=1), np.float64, -30.0, 30.0), st.data())
def test_sigmoid_binary_cross_entropy_matches_scipy(logits, data):
    targets = data.draw(testing.arrays(logits.shape, np.float64, 0.0, 1.0))
    # log(sigmoid(x)) = -logaddexp(0, -x), exact in SciPy's terms.
    expected = np.mean(targets * np.logaddexp(0, -logits) + (1 - targets) * np.logaddexp(0, logits))
    got = losses.sigmoid_binary_cross_entropy(logits, targets)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(testing.arrays(testing.shapes(min_dims=1, min_side=1), np.float64, 0.01, 0.99), st.data())
def test_binary_cross_entropy_matches_numpy(probs, data):
    targets = data.draw(testing.arrays(probs.shape, np.float64, 0.0, 1.0))
    expected = -np.mean(targets * np.log(probs) + (1 - targets) * np.log1p(-probs))
    np.testing.assert_allclose(losses.binary_cross_entropy(probs, targets), expected, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_clips_with_the_dtype_epsilon(dtype):
    probs = np.array([0.0, 1.0], dtype)
    targets = np.array([1.0, 0.0], dtype)
    value = losses.binary_cross_entropy(probs, targets)
    assert value.dtype == dtype
    np.testing.assert_allclose(value, -np.log(np.finfo(dtype).eps), rtol=1e-3)
    grads = fg.grad(losses.binary_cross_entropy)(probs, targets)
    assert np.all(np.isfinite(grads))


def test_hinge_matches_numpy_and_rejects_01_labels():
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((6, 2))
    labels = np.where(rng.random((6, 2)) < 0.5, -1, 1)
    expected = np.mean(np.maximum(0.0, 1.0 - labels * scores))
    np.testing.assert_allclose(losses.hinge(scores, labels), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="-1 or \\+1"):
        losses.hinge(scores, (labels > 0).astype(np.int64))


# ---------------------------------------------------------------- shapes and dtypes


def test_mismatched_shapes_raise_instead_of_broadcasting():
    pred, target = np.zeros((4, 1)), np.zeros(4)
    for loss in (losses.mse, losses.binary_cross_entropy, losses.sigmoid_binary_cross_entropy):
        with pytest.raises(fg.ShapeError, match=r"\(4, 1\).*\(4,\).*test_losses.py"):
            loss(pred, target)
    with pytest.raises(fg.ShapeError, match="hinge"):
        losses.hinge(pred, np.ones(4))


def test_bad_labels_raise():
    logits = np.zeros((3, 4))
    with pytest.raises(fg.ShapeError, match=r"shape \(3,\)"):
        losses.softmax_cross_entropy(logits, np.zeros((3, 1), np.int64))
    with pytest.raises(fg.ShapeError, match="integers"):
        losses.nll(logits, np.zeros(3))
    with pytest.raises(IndexError):
        losses.nll(logits, np.array([0, 1, 4]))


def test_float32_in_float32_out():
    x = np.zeros((2, 3), np.float32)
    assert losses.softmax_cross_entropy(x, np.array([0, 1])).dtype == np.float32
    assert losses.mse(x, x).dtype == np.float32
    assert losses.sigmoid_binary_cross_entropy(x, x).dtype == np.float32


# ---------------------------------------------------------------- stability and gradients


F32 = np.float32
EXTREME = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]], np.float32)


@pytest.mark.parametrize(
    "loss, args, expected",
    [
        (losses.softmax_cross_entropy, (EXTREME, np.array([0, 2, 1])), np.log(2) / 3),
        (losses.softmax_cross_entropy, (EXTREME, np.array([1, 0, 2])), 2e4 + np.log(2) / 3),
        (losses.softmax_cross_entropy, (EXTREME, np.eye(3, dtype=np.float32)[[1, 0, 2]]), None),
        (losses.nll, (fg.nn.log_softmax(EXTREME), np.array([1, 0, 2])), None),
        (losses.sigmoid_binary_cross_entropy, (EXTREME, (EXTREME > 0).astype(np.float32)), None),
        (losses.sigmoid_binary_cross_entropy, (EXTREME, (EXTREME < 0).astype(np.float32)), None),
        (losses.binary_cross_entropy, (fg.nn.sigmoid(EXTREME), (EXTREME < 0).astype(F32)), None),
        (losses.hinge, (EXTREME, np.where(EXTREME > 0, -1.0, 1.0).astype(np.float32)), None),
        (losses.mse, (EXTREME, -EXTREME), None),
    ],
)
def test_finite_values_and_gradients_at_extreme_float32_logits(loss, args, expected):
    value, grads = fg.value_and_grad(loss)(*args)
    assert value.dtype == np.float32 and np.isfinite(value)
    assert grads.dtype == np.float32 and np.all(np.isfinite(grads))
    if expected is not None:
        np.testing.assert_allclose(value, expected, rtol=1e-6)


def test_confident_correct_predictions_cost_nothing_at_extreme_logits():
    logits = np.array([[1e4, -1e4], [-1e4, 1e4]], np.float32)
    assert float(losses.softmax_cross_entropy(logits, np.array([0, 1]))) == 0.0
    assert float(losses.sigmoid_binary_cross_entropy(logits, (logits > 0) * 1.0)) == 0.0


def test_softmax_cross_entropy_gradient_is_softmax_minus_one_hot():
    logits = np.random.default_rng(2).standard_normal((4, 3))
    labels = np.array([0, 2, 1, 1])
    grads = fg.grad(losses.softmax_cross_entropy)(logits, labels)
    expected = (special.softmax(logits, axis=-1) - np.eye(3)[labels]) / 4
    np.testing.assert_allclose(grads, expected, rtol=1e-10, atol=1e-14)


def test_sigmoid_binary_cross_entropy_gradient_is_exact_at_zero():
    targets = np.array([0.0, 0.25, 1.0])
    grads = fg.grad(losses.sigmoid_binary_cross_entropy)(np.zeros(3), targets)
    np.testing.assert_allclose(grads, (0.5 - targets) / 3, rtol=1e-12)


@pytest.mark.parametrize(
    "name, make",
    [
        ("mse", lambda r: (losses.mse, r.standard_normal((3, 2)), r.standard_normal((3, 2)))),
        (
            "softmax_cross_entropy",
            lambda r: (
                losses.softmax_cross_entropy,
                r.standard_normal((3, 4)),
                np.array([0, 3, 1]),
            ),
        ),
        (
            "softmax_cross_entropy_soft",
            lambda r: (
                losses.softmax_cross_entropy,
                r.standard_normal((3, 4)),
                special.softmax(r.standard_normal((3, 4)), axis=-1),
            ),
        ),
        ("nll", lambda r: (losses.nll, r.standard_normal((3, 4)), np.array([2, 0, 1]))),
        (
            "sigmoid_binary_cross_entropy",
            lambda r: (losses.sigmoid_binary_cross_entropy, r.standard_normal(5), r.random(5)),
        ),
        (
            "binary_cross_entropy",
            lambda r: (losses.binary_cross_entropy, r.uniform(0.1, 0.9, 5), r.random(5)),
        ),
        ("hinge", lambda r: (losses.hinge, np.array([0.3, 2.0, -0.4]), np.array([1.0, -1.0, 1.0]))),
    ],
)
def test_gradients_match_finite_differences(name, make):
    loss, x, y = make(np.random.default_rng(3))
    testing.check_grads(lambda x: loss(x, y), (x,), order=2)


def test_losses_trace_under_jit_with_traced_integer_labels():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((5, 3)).astype(np.float32)
    labels = np.array([0, 2, 1, 1, 0])
    for loss in (losses.softmax_cross_entropy, losses.nll):
        jitted = fg.jit(fg.value_and_grad(loss))
        value, grads = jitted(logits, labels)
        eager_value, eager_grads = fg.value_and_grad(loss)(logits, labels)
        np.testing.assert_allclose(value, eager_value, rtol=1e-6)
        np.testing.assert_allclose(grads, eager_grads, rtol=1e-6)
        # A new label array of the same shape reuses the compiled graph.
        jitted(logits, labels[::-1].copy())
        assert jitted.cache_info().misses == 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_binary_cross_entropy_of_infinite_logits_is_its_limit(dtype):
    # softplus(x) - x t at x = +-inf: 0 where the target agrees, inf elsewhere (not inf - inf
    # or inf * 0); the slope in the logit is still sigmoid(x) - t.
    x = np.array([np.inf, np.inf, np.inf, -np.inf, -np.inf, -np.inf], dtype)
    t = np.array([1.0, 0.0, 0.25, 0.0, 1.0, 0.5], dtype)
    each = [losses.sigmoid_binary_cross_entropy(x[i : i + 1], t[i : i + 1]) for i in range(6)]
    assert [float(v) for v in each] == [0.0, np.inf, np.inf, 0.0, np.inf, np.inf]
    large = np.where(x > 0, 1e30, -1e30).astype(dtype)  # the limit, approached
    expected = [
        float(losses.sigmoid_binary_cross_entropy(large[i : i + 1], t[i : i + 1])) for i in range(6)
    ]
    assert [v == 0 for v in expected] == [v == 0 for v in each]
    for f in (
        fg.grad(losses.sigmoid_binary_cross_entropy),
        fg.jit(fg.grad(losses.sigmoid_binary_cross_entropy)),
    ):
        g = f(x, t)
        assert g.dtype == dtype
        np.testing.assert_allclose(g, (np.where(x > 0, 1.0, 0.0) - t) / 6, rtol=1e-6)
