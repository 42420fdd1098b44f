"""fg.ode.odeint: solutions vs SciPy's and closed forms, gradients (adjoint) vs finite
differences and closed forms, under jit and vmap."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import errors

odeint = fg.ode.odeint


def _lotka_volterra(y, t, a, b):
    prey, predator = y[0], y[1]
    return fnp.stack([a * prey - b * prey * predator, -predator + b * prey * predator])


def test_solution_matches_scipy_on_a_nonlinear_system():
    t = np.linspace(0.0, 5.0, 11)
    y0 = np.array([1.0, 0.5])
    got = odeint(_lotka_volterra, y0, t, 1.1, 0.7)
    ref = solve_ivp(
        lambda t, y: [1.1 * y[0] - 0.7 * y[0] * y[1], -y[1] + 0.7 * y[0] * y[1]],
        (0.0, 5.0),
        y0,
        t_eval=t,
        method="DOP853",
        rtol=1e-12,
        atol=1e-12,
    )
    assert got.shape == (11, 2) and got.dtype == np.float64
    np.testing.assert_allclose(got, ref.y.T, rtol=1e-6, atol=1e-7)


@settings(max_examples=15, deadline=None)
@given(k=st.floats(0.1, 3.0), y0=st.floats(-2.0, 2.0), n=st.integers(2, 6))
def test_exponential_decay_and_its_gradients_in_closed_form(k, y0, n):
    t = np.linspace(0.0, 1.5, n)

    def total(y0, t, k):
        return fnp.sum(odeint(lambda y, t, k: -k * y, y0, t, k))

    np.testing.assert_allclose(
        odeint(lambda y, t, k: -k * y, y0, t, k), y0 * np.exp(-k * t), atol=1e-7
    )
    g_y0, g_t, g_k = fg.grad(total, argnums=(0, 1, 2))(y0, t, k)
    np.testing.assert_allclose(g_y0, np.sum(np.exp(-k * t)), rtol=1e-6)
    np.testing.assert_allclose(g_k, np.sum(-t * y0 * np.exp(-k * t)), rtol=1e-5, atol=1e-7)
    want_t = -k * y0 * np.exp(-k * t)
    want_t[0] = k * y0 * np.sum(np.exp(-k * t[1:]))
    np.testing.assert_allclose(g_t, want_t, rtol=1e-5, atol=1e-7)


def test_gradients_of_a_pytree_state_vs_finite_differences():
    t = np.array([0.0, 0.7, 1.9])

    def oscillator(y, t, w):
        return {"x": y["v"], "v": -(w**2) * y["x"] - 0.1 * y["v"]}

    def loss(x0, w):
        out = odeint(oscillator, {"x": x0, "v": np.float64(0.2)}, t, w)
        return fnp.sum(out["x"] ** 2) + fnp.sum(out["v"])

    fg.testing.check_grads(loss, (np.float64(1.0), np.float64(1.7)), order=1, modes=("rev",))


def test_neural_ode_under_jit_and_vmap():
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(2, 8)) * 0.5, rng.normal(size=(8, 2)) * 0.5
    t = np.linspace(0.0, 1.0, 4)

    def field(y, t, w1, w2):
        return fnp.tanh(y @ w1) @ w2

    def loss(w1, w2, y0):
        return fnp.sum(odeint(field, y0, t, w1, w2)[-1] ** 2)

    y0 = np.array([0.3, -0.4])
    g = fg.jit(fg.grad(loss, argnums=(0, 1)))(w1, w2, y0)
    eps = 1e-6
    e = np.zeros_like(w1)
    e[1, 3] = eps
    fd = (loss(w1 + e, w2, y0) - loss(w1 - e, w2, y0)) / (2 * eps)
    np.testing.assert_allclose(g[0][1, 3], fd, rtol=1e-5)
    y0s = np.array([[0.3, -0.4], [1.0, 0.2], [-0.5, 0.5]])
    batched = fg.vmap(lambda y0: odeint(field, y0, t, w1, w2))(y0s)
    for k in range(3):
        np.testing.assert_allclose(
            batched[k], odeint(field, y0s[k], t, w1, w2), rtol=1e-9, atol=1e-12
        )


def test_float32_and_errors():
    t = np.linspace(0, 1, 3).astype(np.float32)
    out = odeint(lambda y, t: -y, np.ones(2, np.float32), t, rtol=1e-5, atol=1e-6)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0], np.exp(-t), rtol=1e-4)
    with pytest.raises(errors.ShapeError, match="1-D"):
        odeint(lambda y, t: -y, 1.0, 0.5)
    with pytest.raises(errors.ShapeError, match="func returned"):
        odeint(lambda y, t: fnp.concatenate([y, y]), np.ones(2), np.array([0.0, 1.0]))
    # too few steps allowed: inf, as JAX's odeint
    stiff = odeint(lambda y, t: -1000.0 * (y - fnp.cos(t)), 0.0, np.array([0.0, 10.0]), mxstep=5)
    assert np.isinf(stiff[1])
