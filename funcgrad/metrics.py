"""Classification metrics that work on arrays eagerly and on tracers under ``jit``.

Predictions may be given as scores (logits or probabilities, one more axis than the
labels: the class is the argmax over the last axis) or as class indices (the same shape
as the labels). One-hot labels are not accepted: pass ``fnp.argmax(one_hot, -1)``.

>>> import numpy as np
>>> accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
np.float32(0.5)
"""

import numpy as np

from . import numpy as fnp
from .core import Tracer
from .errors import ShapeError, user_frame

__all__ = ["accuracy", "confusion_matrix"]


def _predicted_classes(name, preds, labels):
    """Class indices from ``preds``: argmax of scores, or ``preds`` itself."""
    if not isinstance(preds, Tracer):
        preds = np.asarray(preds)
    if not isinstance(labels, Tracer):
        labels = np.asarray(labels)
    if preds.ndim == labels.ndim + 1:
        lead = preds.shape[:-1]
        preds = fnp.argmax(preds, axis=-1)
    elif preds.ndim == labels.ndim:
        lead = preds.shape
    else:
        raise ShapeError(
            f"{name}: predictions of shape {tuple(preds.shape)} do not fit labels of shape "
            f"{tuple(labels.shape)}; pass scores with one more (class) axis than the labels, "
            f"or class indices of the labels' shape, at {user_frame()}"
        )
    if tuple(lead) != tuple(labels.shape):
        raise ShapeError(
            f"{name}: predictions of shape {tuple(lead)} (before the class axis) and labels of "
            f"shape {tuple(labels.shape)} differ at {user_frame()}"
        )
    return preds, labels


def accuracy(logits_or_preds, labels):
    """The fraction of predictions equal to the labels, as a float32 scalar array.

    Args:
      logits_or_preds: scores of shape ``labels.shape + (num_classes,)`` (the argmax of
        the last axis is the prediction), or predicted class indices of ``labels.shape``.
      labels: integer class indices.

    Returns:
      A 0-d float32 array (a tracer under ``jit``); ``float(acc)`` gives a Python float.

    Raises:
      ShapeError: the shapes fit neither form.

    >>> import numpy as np
    >>> accuracy(np.array([1, 2, 2, 0]), np.array([1, 2, 0, 0]))
    np.float32(0.75)
    """
    preds, labels = _predicted_classes("accuracy", logits_or_preds, labels)
    return fnp.mean(fnp.astype(fnp.equal(preds, labels), np.float32))


def confusion_matrix(preds, labels, num_classes):
    """Counts of (true class, predicted class) pairs: rows are true labels, columns predictions.

    ``cm[i, j]`` is the number of samples whose label is ``i`` and prediction ``j`` (the
    convention of scikit-learn), so ``cm.sum(1)`` is the class support and the diagonal
    holds the hits.

    Args:
      preds: scores with a trailing class axis, or predicted class indices (as in
        :func:`accuracy`).
      labels: integer class indices.
      num_classes: a Python int (static under ``jit``).

    Returns:
      An int64 array of shape ``(num_classes, num_classes)``.

    Raises:
      ShapeError: shapes fit neither form.
      ValueError: on concrete arrays, a label or prediction outside ``[0, num_classes)``.
        Under ``jit`` values cannot be checked; out-of-range ones are not counted.

    >>> import numpy as np
    >>> confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), 3)
    array([[1, 0, 0],
           [0, 1, 0],
           [0, 1, 1]])
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(
            f"confusion_matrix: num_classes must be a Python int, got {num_classes!r} "
            f"at {user_frame()}"
        )
    if num_classes < 1:
        raise ValueError(
            f"confusion_matrix: num_classes must be >= 1, got {num_classes} at {user_frame()}"
        )
    preds, labels = _predicted_classes("confusion_matrix", preds, labels)
    for what, value in (("label", labels), ("prediction", preds)):
        if isinstance(value, np.ndarray) and value.size:
            low, high = value.min(), value.max()
            if low < 0 or high >= num_classes:
                bad = low if low < 0 else high
                raise ValueError(
                    f"confusion_matrix: {what} {bad} is outside [0, {num_classes}) "
                    f"at {user_frame()}"
                )
    classes = np.arange(num_classes)
    # float64 one-hot products count exactly up to 2**53 samples and stay traceable.
    true_t = fnp.astype(fnp.equal(classes[:, None], fnp.reshape(labels, (1, -1))), np.float64)
    pred = fnp.astype(fnp.equal(fnp.reshape(preds, (-1, 1)), classes), np.float64)
    return fnp.astype(fnp.matmul(true_t, pred), np.int64)
