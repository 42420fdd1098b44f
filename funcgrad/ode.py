"""A differentiable ODE solver: :func:`odeint`, as ``jax.experimental.ode.odeint``.

Dormand-Prince 5(4) with adaptive steps (``fg.lax.while_loop``), stepping exactly onto each
requested time (no interpolation). Gradients by the adjoint method: the backward pass
solves the adjoint ODE backwards in time with the same solver (a ``custom_vjp``), so memory
does not grow with the number of steps; its accuracy is the tolerances'.
"""

import numpy as np

from . import numpy as fnp
from . import tree
from .api import vjp
from .custom_derivatives import custom_vjp
from .errors import ShapeError, user_frame
from .flatten_util import ravel_pytree
from .lax import scan, while_loop

# Dormand-Prince 5(4): the nodes, the stages' weights, the 5th-order solution's weights
# (the last stage's weights, so the last stage is the next step's first: FSAL) and the
# difference between the 5th- and 4th-order weights (the error estimate).
_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_E = (
    71 / 57600,
    0.0,
    -71 / 16695,
    71 / 1920,
    -17253 / 339200,
    22 / 525,
    -1 / 40,
)
_SAFETY, _SHRINK, _GROW = 0.9, 0.2, 10.0


def _step(fun, y, f0, t, dt):
    """One Dormand-Prince step from (t, y) with derivative f0: (y1, f1, error)."""
    ks = [f0]
    for c, a in zip(_C[1:], _A[1:]):
        yi = y + dt * sum(w * k for w, k in zip(a, ks) if w != 0.0)
        ks.append(fun(yi, t + c * dt))
    y1 = y + dt * sum(w * k for w, k in zip(_A[6], ks) if w != 0.0)
    error = dt * sum(w * k for w, k in zip(_E, ks) if w != 0.0)
    return y1, ks[-1], error


def _error_ratio(error, y0, y1, rtol, atol):
    scale = atol + rtol * fnp.maximum(fnp.abs(y0), fnp.abs(y1))
    return fnp.sqrt(fnp.mean((error / scale) ** 2))


def _first_dt(fun, y0, f0, t0, rtol, atol):
    """A first step from the sizes of y0, f0 and f's change (Hairer, Norsett and Wanner)."""
    scale = atol + rtol * fnp.abs(y0)
    d0 = fnp.sqrt(fnp.mean((y0 / scale) ** 2))
    d1 = fnp.sqrt(fnp.mean((f0 / scale) ** 2))
    h0 = fnp.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / fnp.maximum(d1, 1e-300))
    f1 = fun(y0 + h0 * f0, t0 + h0)
    d2 = fnp.sqrt(fnp.mean(((f1 - f0) / scale) ** 2)) / h0
    big = fnp.maximum(d1, d2)
    h1 = fnp.where(
        big <= 1e-15, fnp.maximum(1e-6, h0 * 1e-3), (0.01 / fnp.maximum(big, 1e-300)) ** 0.2
    )
    return fnp.minimum(100 * h0, h1)


def _solve(fun, y0, ts, rtol, atol, mxstep):
    """y at each time of ``ts`` (increasing) from y0 at ts[0]: a (len(ts), n) array. Where
    ``mxstep`` steps between two times did not reach the next, the rest is inf (as JAX)."""
    f0 = fun(y0, ts[0])
    dt0 = _first_dt(fun, y0, f0, ts[0], rtol, atol)

    def advance(carry, target):
        def going(state):
            y, f, t, dt, n = state
            return (t < target) & (n < mxstep)

        def attempt(state):
            y, f, t, dt, n = state
            clipped = t + dt >= target
            h = fnp.where(clipped, target - t, dt)
            y1, f1, error = _step(fun, y, f, t, h)
            ratio = _error_ratio(error, y, y1, rtol, atol)
            ok = ratio <= 1.0
            factor = fnp.clip(_SAFETY * fnp.maximum(ratio, 1e-10) ** -0.2, _SHRINK, _GROW)
            t1 = fnp.where(clipped, target, t + h)
            return (
                fnp.where(ok, y1, y),
                fnp.where(ok, f1, f),
                fnp.where(ok, t1, t),
                h * factor,
                n + 1,
            )

        y, f, t, dt = carry
        y, f, t, dt, _ = while_loop(going, attempt, (y, f, t, dt, 0))
        y = fnp.where(t >= target, y, np.inf)
        return (y, f, t, dt), y

    _, ys = scan(advance, (y0, f0, ts[0], dt0), ts[1:])
    return fnp.concatenate([y0[None], ys])


def odeint(func, y0, t, *args, rtol=1.4e-8, atol=1.4e-8, mxstep=np.inf, hmax=np.inf):
    """Solve ``dy/dt = func(y, t, *args)`` from ``y(t[0]) = y0``; returns y at every time
    of ``t`` (stacked along a new leading axis), as ``jax.experimental.ode.odeint``.

    ``y0`` is a pytree of float arrays, ``t`` a 1-D increasing array; ``func`` returns a
    pytree like ``y0``. Differentiable in ``y0``, ``t`` and ``args`` (reverse mode by the
    adjoint method; to any order). ``mxstep``: the most steps between two times of ``t``
    (then inf, as JAX). ``hmax`` is accepted for JAX compatibility and not used.

    >>> import numpy as np, funcgrad as fg
    >>> ys = fg.ode.odeint(lambda y, t, k: -k * y, 1.0, np.array([0.0, 1.0]), 2.0)
    >>> bool(abs(ys[1] - np.exp(-2.0)) < 1e-7)
    True
    """
    del hmax
    if fnp.ndim(t) != 1:
        raise ShapeError(
            f"odeint: t must be a 1-D array of times, got shape {fnp.shape(t)} at {user_frame()}"
        )
    for leaf in tree.leaves((y0, args)):
        if fnp.result_type(leaf).kind not in "fiub":
            raise TypeError(f"odeint: y0 and args must hold real arrays at {user_frame()}")
    flat0, unravel = ravel_pytree(y0)
    flat0 = fnp.asarray(flat0, fnp.result_type(flat0, 1.0))  # (an int y0 integrates in floats)
    t = fnp.asarray(t, flat0.dtype)
    mxstep = int(min(mxstep, np.iinfo(np.int64).max))

    def flat_func(y, time, *a):
        dy, _ = ravel_pytree(func(unravel(y), time, *a))
        if fnp.shape(dy) != fnp.shape(y):
            raise ShapeError(
                f"odeint: func returned {fnp.shape(dy)} values for a state of "
                f"{fnp.shape(y)} at {user_frame()}"
            )
        return fnp.asarray(dy, y.dtype)

    return _unravel_rows(_odeint(flat_func, rtol, atol, mxstep, flat0, t, *args), y0)


def _unravel_rows(ys, y0):
    """The rows of ``ys`` (one flat state per time) as ``y0``'s pytree of stacked leaves."""
    leaves, td = tree.flatten(y0)
    sizes = [int(np.prod(fnp.shape(leaf))) for leaf in leaves]
    out, pos = [], 0
    for leaf, size in zip(leaves, sizes):
        piece = ys[:, pos : pos + size]
        out.append(fnp.reshape(piece, (ys.shape[0],) + tuple(fnp.shape(leaf))))
        pos += size
    return td.unflatten(out)


def _odeint_impl(func, rtol, atol, mxstep, y0, t, *args):
    return _solve(lambda y, time: func(y, time, *args), y0, t, rtol, atol, mxstep)


_odeint = custom_vjp(_odeint_impl, nondiff_argnums=(0, 1, 2, 3))


def _odeint_fwd(func, rtol, atol, mxstep, y0, t, *args):
    ys = _odeint_impl(func, rtol, atol, mxstep, y0, t, *args)
    return ys, (ys, t, args)


def _odeint_bwd(func, rtol, atol, mxstep, saved, g):
    """The adjoint ODE, backwards from t[-1] to t[0]: the state y, its adjoint a (the
    cotangent of y), and the accumulated cotangents of args, solved between each pair of
    times, the cotangent of each output added to a as the solve passes its time."""
    ys, t, args = saved
    flat_args, unravel_args = ravel_pytree(args)
    n = ys.shape[1]

    def augmented(state, minus_t):
        y, a = state[:n], state[n : 2 * n]
        time = -minus_t
        dy, pullback = vjp(lambda y, p: func(y, time, *unravel_args(p)), y, flat_args)
        a_y, a_p = pullback(a)
        return -fnp.concatenate([dy, -a_y, -a_p])

    def back(carry, step):
        a, a_p = carry
        y_i, g_i, t_i, t_before = step
        a = a + g_i
        state = fnp.concatenate([y_i, a, a_p])
        solved = _solve(augmented, state, fnp.stack([-t_i, -t_before]), rtol, atol, mxstep)[1]
        return (solved[n : 2 * n], solved[2 * n :]), fnp.dot(func(y_i, t_i, *args), g_i)

    start = (fnp.zeros(n, ys.dtype), fnp.zeros(flat_args.shape, ys.dtype))
    later = (ys[1:], g[1:], t[1:], t[:-1])
    (a, a_p), ct_later = scan(back, start, later, reverse=True)
    ct_t0 = -fnp.dot(func(ys[0], t[0], *args), a)  # (a: from the later times alone)
    return (a + g[0], fnp.concatenate([ct_t0[None], ct_later]), *unravel_args(a_p))


_odeint.defvjp(_odeint_fwd, _odeint_bwd)


__all__ = ["odeint"]
