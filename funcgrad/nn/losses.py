"""Loss functions: each returns the mean over the batch as a scalar.

Predictions and targets must have the same shape (integer labels: the predictions' shape
without the class axis). Silent broadcasting of an ``(N, 1)`` prediction against ``(N,)``
targets into an ``(N, N)`` loss is a classic bug, so mismatched shapes raise a ShapeError.
Every loss is stable in float32 at logits of magnitude 1e4: finite values and gradients.

>>> import funcgrad.numpy as fnp
>>> from funcgrad.nn import losses
>>> float(losses.softmax_cross_entropy(fnp.array([[0.0, 0.0]]), fnp.array([1])))  # log 2
0.6931471805599453
"""

import math

import numpy as np

from .. import numpy as fnp
from ..core import Tracer
from ..errors import ConcretizationError, ShapeError, user_frame
from .functional import log_softmax, relu, softplus


def _same_shape(name, a, b, what=("predictions", "targets")):
    a, b = fnp.asarray(a), fnp.asarray(b)
    if a.shape != b.shape:
        raise ShapeError(
            f"{name}: {what[0]} of shape {a.shape} and {what[1]} of shape {b.shape} differ "
            f"(reshape one of them; broadcasting them is usually a bug) at {user_frame()}"
        )
    return a, b


def _as_float(*xs):
    dtype = fnp.result_type(*xs)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    return fnp.promote(*xs, dtype=dtype)


def _is_int(x):
    return np.issubdtype(fnp.asarray(x).dtype, np.integer)


def _pick(name, log_probs, labels):
    """``log_probs[..., labels]`` for integer ``labels`` of shape ``log_probs.shape[:-1]``."""
    log_probs, labels = fnp.asarray(log_probs), fnp.asarray(labels)
    if not _is_int(labels):
        raise ShapeError(f"{name}: labels must be integers, got {labels.dtype} at {user_frame()}")
    if log_probs.ndim == 0 or labels.shape != log_probs.shape[:-1]:
        raise ShapeError(
            f"{name}: integer labels must have shape {log_probs.shape[:-1]} (the inputs' shape "
            f"without the class axis), got {labels.shape} at {user_frame()}"
        )
    classes = log_probs.shape[-1]
    try:  # known eagerly and under grad; abstract under jit
        known = np.asarray(labels.concrete("label") if isinstance(labels, Tracer) else labels)
    except ConcretizationError:
        # A negative label is refused rather than taken as a class counted from the end (as
        # PyTorch does): it becomes `classes`, which indexing refuses when the step runs.
        labels = fnp.where(fnp.less(labels, 0), classes, labels)
    else:
        bad = (known < 0) | (known >= classes)
        if bad.any():
            raise IndexError(
                f"{name}: label {known[bad][0]} is not a class of {classes} (labels are "
                f"0..{classes - 1}; negative ones are refused too) at {user_frame()}"
            )
    flat = fnp.reshape(log_probs, (math.prod(labels.shape), classes))
    return flat[fnp.arange(flat.shape[0]), fnp.reshape(labels, (-1,))]


def mse(pred, target):
    """Mean squared error over all elements.

    >>> float(mse(np.array([1.0, 2.0]), np.array([1.0, 4.0])))
    2.0
    """
    pred, target = _as_float(*_same_shape("mse", pred, target))
    return fnp.mean(fnp.square(fnp.subtract(pred, target)))


def binary_cross_entropy(probs, targets):
    """Binary cross-entropy of probabilities ``probs`` against targets in [0, 1], averaged
    over all elements.

    ``probs`` are clipped to ``[eps, 1 - eps]`` with ``eps`` the machine epsilon of their
    dtype, so probabilities of exactly 0 or 1 give a large finite loss, not inf. From
    logits, :func:`sigmoid_binary_cross_entropy` is more accurate.

    >>> round(float(binary_cross_entropy(np.array([0.5]), np.array([1.0]))), 4)  # log 2
    0.6931
    """
    probs, targets = _as_float(*_same_shape("binary_cross_entropy", probs, targets))
    eps = float(np.finfo(probs.dtype).eps)
    p = fnp.clip(probs, eps, 1.0 - eps)
    log_p, log_not_p = fnp.log(p), fnp.log1p(fnp.negative(p))
    return fnp.negative(
        fnp.mean(fnp.add(fnp.multiply(targets, log_p), fnp.multiply(1.0 - targets, log_not_p)))
    )


def sigmoid_binary_cross_entropy(logits, targets):
    """Binary cross-entropy of ``sigmoid(logits)`` against targets in [0, 1], averaged over
    all elements, computed as ``softplus(x) - x * t`` (no overflow, exact gradient
    ``sigmoid(x) - t`` everywhere, including at 0). Infinite logits give the limits: 0 for
    a logit of +inf against a target of 1 (-inf against 0), inf against any other target.

    >>> float(sigmoid_binary_cross_entropy(np.array([1e4, -np.inf]), np.array([1.0, 0.0])))
    0.0
    """
    x, t = _as_float(*_same_shape("sigmoid_binary_cross_entropy", logits, targets))
    # softplus(x) - x t is x (1 - t) + softplus(-x) for x > 0: the products are the only
    # terms that can be inf * 0 (the limit 0), and each branch sees only its own logits.
    positive = fnp.greater(x, 0)
    xp, xn = fnp.where(positive, x, 0), fnp.where(positive, 0, x)
    upper = fnp.add(softplus(fnp.negative(xp)), _times(xp, fnp.subtract(1, t)))
    lower = fnp.subtract(softplus(xn), _times(xn, t))
    return fnp.mean(fnp.where(positive, upper, lower))


def _times(x, c):
    """``x * c``, with 0 where x is infinite and c is 0 (the loss's limit)."""
    return fnp.multiply(fnp.where(fnp.logical_and(fnp.isinf(x), fnp.equal(c, 0)), 0, x), c)


def softmax_cross_entropy(logits, labels):
    """Cross-entropy of ``softmax(logits)`` over the last axis, averaged over the batch.

    ``labels`` are either integer class indices of shape ``logits.shape[:-1]``, or targets
    of the logits' shape (one-hot or any probability distributions). Computed with
    :func:`log_softmax`, so logits of any magnitude are safe. A label outside
    ``0..C-1``, negative ones included, raises IndexError (under ``jit``, when the step
    runs, reported as index ``C`` for a negative label).

    >>> logits = np.array([[2.0, 0.0, -1.0]])
    >>> a = softmax_cross_entropy(logits, np.array([0]))
    >>> b = softmax_cross_entropy(logits, np.array([[1.0, 0.0, 0.0]]))
    >>> bool(np.isclose(a, b))
    True
    """
    logits = fnp.asarray(logits)
    logits = _as_float(logits)[0]
    log_probs = log_softmax(logits, axis=-1)
    labels = fnp.asarray(labels)
    if labels.shape == logits.shape:
        targets = fnp.astype(labels, logits.dtype)
        per_example = fnp.negative(fnp.sum(fnp.multiply(targets, log_probs), axis=-1))
        return fnp.mean(per_example)
    return fnp.negative(fnp.mean(_pick("softmax_cross_entropy", log_probs, labels)))


def nll(log_probs, labels):
    """Negative log-likelihood of integer ``labels`` under ``log_probs`` (e.g. the output of
    a LogSoftmax layer; classes on the last axis), averaged over the batch.

    >>> float(nll(np.log(np.array([[0.25, 0.75]])), np.array([1])))  # -log 0.75
    0.2876820724517809
    """
    log_probs = _as_float(fnp.asarray(log_probs))[0]
    return fnp.negative(fnp.mean(_pick("nll", log_probs, labels)))


def hinge(scores, labels_pm1):
    """Hinge loss ``max(0, 1 - y * s)`` for labels ``y`` in {-1, +1}, averaged over all
    elements. Labels given as concrete arrays are checked to be +-1.

    >>> float(hinge(np.array([2.0, 0.5, -1.5]), np.array([1, 1, 1])))
    1.0
    """
    scores, labels = _same_shape("hinge", scores, labels_pm1, ("scores", "labels"))
    if isinstance(labels, np.ndarray) and not np.all((labels == 1) | (labels == -1)):
        found = np.unique(labels)[:5].tolist()
        raise ValueError(f"hinge: labels must be -1 or +1, got values {found} at {user_frame()}")
    scores, labels = _as_float(scores, labels)
    return fnp.mean(relu(fnp.subtract(1.0, fnp.multiply(labels, scores))))


__all__ = [
    "binary_cross_entropy",
    "hinge",
    "mse",
    "nll",
    "sigmoid_binary_cross_entropy",
    "softmax_cross_entropy",
]
