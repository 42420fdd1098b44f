"""Feeding NumPy arrays to a training loop: minibatches, a train/test split, standardizing.

These are plain NumPy helpers for the data side of a script (outside traced code).
Randomness comes from explicit keys (``fg.random``), so a run is reproducible: split a
fresh key for every epoch.

>>> import numpy as np, funcgrad as fg
>>> x, y = np.arange(10.0).reshape(5, 2), np.arange(5)
>>> [yb.tolist() for _, yb in batches((x, y), 2, shuffle=False)]
[[0, 1], [2, 3], [4]]
"""

import math
import numbers
import operator

import numpy as np

from . import random
from .errors import ShapeError, user_frame

__all__ = ["batches", "standardize", "train_test_split"]


def _as_arrays(name, arrays):
    """``arrays`` as a list of ndarrays of one common length (the number of samples)."""
    arrays = [np.asarray(a) for a in arrays]
    for i, a in enumerate(arrays):
        if a.ndim == 0:
            raise ShapeError(
                f"{name}: array {i} is 0-d; arrays need a leading sample axis at {user_frame()}"
            )
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        raise ShapeError(
            f"{name}: the arrays must have the same length (number of samples), "
            f"got lengths {lengths} at {user_frame()}"
        )
    return arrays, (lengths[0] if lengths else 0)


def _progress_bar(iterable, total):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # the bar is a convenience: run plainly without tqdm
        return iterable
    return tqdm(iterable, total=total, leave=False)


def batches(arrays, batch_size, *, key=None, shuffle=True, drop_last=False, progress=False):
    """Iterates over minibatches: tuples holding the same rows of every array.

    Args:
      arrays: a tuple or list of arrays with equally many rows (axis 0), e.g. ``(x, y)``.
      batch_size: rows per batch; the last batch is smaller unless ``drop_last``.
      key: a ``fg.random`` key; required when ``shuffle`` is True (use a new one each
        epoch: ``key, sub = fg.random.split(key)``).
      shuffle: visit the rows in a random order (drawn from ``key``).
      drop_last: skip a final batch smaller than ``batch_size``.
      progress: show a tqdm progress bar if tqdm is installed (silently none if not).

    Returns:
      An iterator of tuples of arrays, one per entry of ``arrays``. The arguments are
      checked at once, before the first batch is asked for.

    Raises:
      ShapeError: the arrays differ in length (the message lists the lengths) or are 0-d.
      ValueError: ``shuffle=True`` without a key, or ``batch_size`` < 1.
      TypeError: ``arrays`` is not a tuple or list.

    >>> import numpy as np, funcgrad as fg
    >>> x = np.arange(6)
    >>> parts = [xb for (xb,) in batches((x,), 4, key=fg.random.key(0))]
    >>> [len(p) for p in parts], sorted(np.concatenate(parts).tolist())
    ([4, 2], [0, 1, 2, 3, 4, 5])
    >>> len(list(batches((x,), 4, shuffle=False, drop_last=True)))
    1
    """
    if not isinstance(arrays, (tuple, list)):
        raise TypeError(
            f"batches: arrays must be a tuple or list of arrays such as (x, y), "
            f"got {type(arrays).__name__}; for one array write (x,) at {user_frame()}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"batches: batch_size must be an int, got {batch_size!r} at {user_frame()}")
    batch_size = operator.index(batch_size)
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be >= 1, got {batch_size} at {user_frame()}")
    if shuffle and key is None:
        raise ValueError(
            "batches: shuffle=True needs a key, e.g. batches((x, y), 32, "
            "key=fg.random.key(0)), or pass shuffle=False at " + user_frame()
        )
    arrays, n = _as_arrays("batches", arrays)
    order = random.permutation(key, n) if shuffle else None
    count = n // batch_size if drop_last else math.ceil(n / batch_size)

    def generate():
        for b in range(count):
            rows = slice(b * batch_size, (b + 1) * batch_size)
            if order is not None:
                rows = order[rows]
            yield tuple(a[rows] for a in arrays)

    return _progress_bar(generate(), count) if progress else generate()


def train_test_split(*arrays, test_size, key):
    """Splits arrays into random train and test parts, holding the same rows of each.

    Args:
      *arrays: arrays with equally many rows.
      test_size: a fraction in (0, 1) (the test part gets ``ceil(test_size * n)`` rows, as
        in scikit-learn) or a number of rows in [1, n - 1].
      key: a ``fg.random`` key choosing the rows.

    Returns:
      ``(a_train, a_test, b_train, b_test, ...)``: two arrays per input, in input order.

    Raises:
      ShapeError: the arrays differ in length; ValueError: ``test_size`` leaves a part empty.

    >>> import numpy as np, funcgrad as fg
    >>> x, y = np.arange(20).reshape(10, 2), np.arange(10)
    >>> x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, key=fg.random.key(0))
    >>> x_tr.shape, x_te.shape, bool((x_te[:, 0] == 2 * y_te).all())
    ((7, 2), (3, 2), True)
    """
    if not arrays:
        raise ValueError(f"train_test_split: pass at least one array at {user_frame()}")
    arrays, n = _as_arrays("train_test_split", arrays)
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(
            f"train_test_split: test_size must be a fraction or a count, got "
            f"{test_size!r} at {user_frame()}"
        )
    if isinstance(test_size, numbers.Integral):
        n_test = operator.index(test_size)
    elif 0.0 < test_size < 1.0:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(
            f"train_test_split: a fractional test_size must lie in (0, 1), got "
            f"{test_size} at {user_frame()}"
        )
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"train_test_split: test_size={test_size} gives {n_test} test rows of "
            f"{n}; both parts need at least one row at {user_frame()}"
        )
    order = random.permutation(key, n)
    train, test = order[: n - n_test], order[n - n_test :]
    return tuple(part for a in arrays for part in (a[train], a[test]))


def standardize(x, axis=0, eps=1e-8):
    """Shifts and scales ``x`` to mean 0 and standard deviation 1 along ``axis``.

    Returns ``(z, mean, std)`` where ``z`` is ``(x - mean) / std``; ``mean`` and ``std`` keep
    the reduced axes (size 1), so ``(x_test - mean) / std`` applies the same transform to
    new data. Where the standard deviation is below ``eps`` (a constant feature), ``std``
    is 1, as in scikit-learn's StandardScaler, so such features become 0 rather than
    blowing up. Floating inputs keep their dtype; other inputs become float32. Statistics
    are accumulated in float64.

    >>> import numpy as np
    >>> z, mean, std = standardize(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> z, mean, std
    (array([[-1.,  0.],
           [ 1.,  0.]]), array([[2., 5.]]), array([[1., 1.]]))
    """
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    mean = np.mean(x, axis=axis, keepdims=True, dtype=np.float64)
    std = np.std(x, axis=axis, keepdims=True, dtype=np.float64)
    std = np.where(std < eps, 1.0, std)
    z = (x - mean) / std
    return z.astype(dtype), mean.astype(dtype), std.astype(dtype)
