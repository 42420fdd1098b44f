"""fg.metrics: accuracy and confusion matrices, eagerly and under jit, vs hand-computed values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
from funcgrad.metrics import accuracy, confusion_matrix

LOGITS = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]], np.float32)
LABELS = np.array([1, 0, 0, 0])  # argmax is [1, 0, 1, 0]: 3 of 4 right


def test_accuracy_of_logits_takes_the_argmax():
    acc = accuracy(LOGITS, LABELS)
    assert type(acc) is np.float32  # (a mean of float32 hits: a NumPy scalar, as NumPy's)
    assert float(acc) == 0.75


def test_accuracy_of_class_predictions_compares_directly():
    assert float(accuracy(np.array([2, 0, 1, 1, 2]), np.array([2, 1, 1, 1, 0]))) == np.float32(0.6)
    assert float(accuracy([1, 1], [1, 1])) == 1.0


def test_accuracy_over_a_sequence_axis():
    logits = np.zeros((2, 3, 4))
    logits[0, :, 1] = 1  # predicts 1 everywhere in row 0
    logits[1, :, 3] = 1  # and 3 in row 1
    labels = np.array([[1, 1, 0], [3, 2, 3]])
    assert float(accuracy(logits, labels)) == pytest.approx(4 / 6)


def test_accuracy_under_jit_matches_eager():
    f = fg.jit(accuracy)
    assert float(f(LOGITS, LABELS)) == 0.75
    assert float(f(np.array([0, 1, 1]), np.array([0, 1, 0]))) == pytest.approx(2 / 3)


def test_accuracy_inside_a_differentiated_loss_is_aux_data():
    def loss(w, x, y):
        logits = x @ w
        return fg.numpy.sum(logits**2), accuracy(logits, y)

    x = np.eye(2, dtype=np.float32)
    grads, acc = fg.grad(loss, has_aux=True)(
        np.array([[2.0, 0.0], [0.0, 1.0]], np.float32), x, np.array([0, 0])
    )
    assert float(acc) == 0.5 and grads.shape == (2, 2)


def test_accuracy_shape_errors_name_the_shapes_and_the_caller():
    with pytest.raises(fg.ShapeError, match=r"\(3,\).*\(4,\).*test_metrics.py"):
        accuracy(np.zeros((3, 2)), np.zeros(4, int))
    with pytest.raises(fg.ShapeError, match=r"\(3, 2, 2\).*\(3,\)"):
        accuracy(np.zeros((3, 2, 2)), np.zeros(3, int))


def test_confusion_matrix_rows_are_true_labels():
    preds = np.array([0, 1, 1, 2, 2, 2, 0])
    labels = np.array([0, 1, 2, 2, 2, 1, 1])
    expected = np.array(
        [
            [1, 0, 0],  # label 0: predicted 0 once
            [1, 1, 1],  # label 1: predicted 0, 1 and 2 once each
            [0, 1, 2],
        ]
    )  # label 2: predicted 1 once, 2 twice
    cm = confusion_matrix(preds, labels, 3)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, expected)


def test_confusion_matrix_of_logits_and_under_jit():
    expected = np.array([[2, 1], [0, 1]])  # labels [1, 0, 0, 0], predictions [1, 0, 1, 0]
    np.testing.assert_array_equal(confusion_matrix(LOGITS, LABELS, 2), expected)
    jitted = fg.jit(confusion_matrix, static_argnums=2)
    np.testing.assert_array_equal(jitted(LOGITS, LABELS, 2), expected)
    np.testing.assert_array_equal(jitted(np.array([1, 0, 1, 0]), LABELS, 2), expected)


def test_confusion_matrix_checks_its_inputs():
    with pytest.raises(ValueError, match="label 3 is outside"):
        confusion_matrix(np.array([0, 1]), np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="prediction -1 is outside"):
        confusion_matrix(np.array([0, -1]), np.array([0, 1]), 3)
    with pytest.raises(TypeError, match="num_classes must be a Python int"):
        confusion_matrix(np.array([0]), np.array([0]), 2.0)
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        confusion_matrix(np.array([0]), np.array([0]), 0)
    np.testing.assert_array_equal(
        confusion_matrix(np.zeros(0, int), np.zeros(0, int), 2), np.zeros((2, 2), int)
    )


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda c: st.tuples(
            st.just(c),
            st.lists(
                st.tuples(st.integers(0, c - 1), st.integers(0, c - 1)), min_size=1, max_size=30
            ),
        )
    )
)
def test_confusion_matrix_agrees_with_counting_and_accuracy(case):
    num_classes, pairs = case
    preds, labels = (np.array(column) for column in zip(*pairs))
    cm = confusion_matrix(preds, labels, num_classes)
    expected = np.zeros((num_classes, num_classes), int)
    for p, t in pairs:
        expected[t, p] += 1
    np.testing.assert_array_equal(cm, expected)
    np.testing.assert_array_equal(cm.sum(1), np.bincount(labels, minlength=num_classes))
    assert np.trace(cm) / len(pairs) == pytest.approx(float(accuracy(preds, labels)))
