"""Gradient checks and hypothesis strategies for testing your own models.

``check_grads`` compares forward- and reverse-mode derivatives with central finite
differences along random directions, recursively up to ``order``. The strategies
(``arrays``, ``shapes``, ``broadcastable_shapes``) need the ``hypothesis`` package
(``pip install "funcgrad[test]"``); ``check_grads`` does not.

>>> import funcgrad.numpy as fnp
>>> check_grads(lambda x: fnp.sum(fnp.tanh(x) ** 2), (np.array([0.3, -1.2]),), order=2)
"""

import numpy as np

from . import tree
from .api import jvp, vjp
from .core import is_float

_DEFAULT_TOL = {np.dtype(np.float64): 1e-5, np.dtype(np.float32): 2e-2, np.dtype(np.float16): 1e-1}
_DEFAULT_EPS = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-2, np.dtype(np.float16): 1e-1}


def _vdot(a, b):
    return sum(
        np.vdot(np.asarray(x, np.float64), np.asarray(y, np.float64))
        for x, y in zip(tree.leaves(a), tree.leaves(b))
    )


def _axpy(alpha, v, x):
    return tree.map(lambda vi, xi: (xi + alpha * vi).astype(np.result_type(xi)), v, x)


def _random_like(rng, x):
    return tree.map(
        lambda leaf: rng.standard_normal(np.shape(leaf)).astype(np.result_type(leaf)), x
    )


def _widest_float(args):
    dtypes = [np.result_type(leaf) for leaf in tree.leaves(args)]
    floats = [d for d in dtypes if is_float(d)] or [np.dtype(np.float64)]
    return min(floats, key=lambda d: _DEFAULT_TOL.get(d, 1e-5))


def _close(who, expected, actual, atol, rtol):
    expected, actual = np.asarray(expected, np.float64), np.asarray(actual, np.float64)
    if not np.allclose(actual, expected, atol=atol, rtol=rtol, equal_nan=True):
        raise AssertionError(
            f"check_grads: {who} derivative {actual!r} differs from the finite-difference "
            f"estimate {expected!r} (atol={atol}, rtol={rtol})"
        )


def check_grads(f, args, order=2, modes=("rev", "fwd"), eps=None, atol=None, rtol=None, seed=0):
    """Check the derivatives of ``f`` at ``args`` against finite differences.

    Args:
      f: a function of the arrays (or pytrees) in ``args``, returning arrays.
      args: a tuple of arguments; all their leaves must be floating point. Use float64
        for tight checks.
      order: check derivatives up to this order (2 also checks grad-of-grad).
      modes: ``"rev"`` (vjp) and/or ``"fwd"`` (jvp).
      eps, atol, rtol: step and tolerances; defaults depend on the dtype.

    Raises:
      AssertionError naming the mode and both values when a derivative is wrong.
    """
    args = tuple(args)
    dtype = _widest_float(args)
    eps = _DEFAULT_EPS.get(dtype, 1e-4) if eps is None else eps
    atol = _DEFAULT_TOL.get(dtype, 1e-5) if atol is None else atol
    rtol = atol if rtol is None else rtol
    rng = np.random.default_rng(seed)
    _check(f, args, order, tuple(modes), eps, atol, rtol, rng)


def _check(f, args, order, modes, eps, atol, rtol, rng):
    if order < 1:
        return
    v = _random_like(rng, args)
    plus, minus = f(*_axpy(eps, v, args)), f(*_axpy(-eps, v, args))
    numeric = tree.map(
        lambda p, m: (np.asarray(p, np.float64) - np.asarray(m, np.float64)) / (2 * eps),
        plus,
        minus,
    )
    if "fwd" in modes:
        _, tangent = jvp(f, args, v)
        tree.map(lambda n, t: _close("forward-mode", n, t, atol, rtol), numeric, tangent)
        _check(lambda *xs: jvp(f, xs, v)[1], args, order - 1, modes, eps, atol, rtol, rng)
    if "rev" in modes:
        out, f_vjp = vjp(f, *args)
        u = _random_like(rng, out)
        _close("reverse-mode", _vdot(u, numeric), _vdot(f_vjp(u), v), atol, rtol)
        _check(lambda *xs: vjp(f, *xs)[1](u), args, order - 1, modes, eps, atol, rtol, rng)


# ---------------------------------------------------------------- hypothesis strategies


def shapes(min_dims=0, max_dims=3, min_side=0, max_side=4):
    """Strategy for array shapes, including size-0 and size-1 dimensions by default."""
    from hypothesis.extra import numpy as hnp

    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def arrays(shape=None, dtype=np.float64, min_value=-3.0, max_value=3.0):
    """Strategy for float arrays with finite elements in ``[min_value, max_value]``.

    ``shape`` may be a tuple or a strategy (default: :func:`shapes`).
    """
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    width = 32 if np.dtype(dtype) == np.float32 else 64
    elements = st.floats(min_value, max_value, allow_nan=False, width=width)
    return hnp.arrays(dtype, shapes() if shape is None else shape, elements=elements)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4):
    """Strategy for a tuple of ``num_shapes`` shapes that broadcast together."""
    from hypothesis.extra import numpy as hnp

    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda r: r.input_shapes)
