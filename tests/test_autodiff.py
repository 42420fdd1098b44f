"""grad, value_and_grad, vjp, jvp, jacobian and hessian: values, structure, higher order."""

import collections
import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import testing
from funcgrad.core import Primitive

Layer = collections.namedtuple("Layer", ["w", "b"])


def mlp_loss(params, x, y):
    h = x
    for layer in params["layers"]:
        h = fnp.tanh(h @ layer.w + layer.b)
    return fnp.mean((h - y) ** 2)


def make_params(rng, dtype=np.float64):
    sizes = [3, 5, 2]
    layers = [
        Layer(rng.standard_normal((m, n)).astype(dtype), np.zeros(n, dtype))
        for m, n in zip(sizes[:-1], sizes[1:])
    ]
    return {"layers": layers, "unused": None}


def numeric_grad(f, x, eps=1e-6):
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in range(x.size):
        d = np.zeros_like(x)
        d.flat[i] = eps
        g.flat[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


def test_grad_matches_analytic():
    x = np.array([0.1, -0.7, 2.0])
    g = fg.grad(lambda x: fnp.sum(fnp.sin(x) * x))(x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-12)


def test_value_and_grad_returns_both():
    value, g = fg.value_and_grad(lambda x: fnp.sum(x**2))(np.array([1.0, 2.0]))
    assert float(value) == 5.0
    np.testing.assert_array_equal(g, [2.0, 4.0])


def test_grads_follow_param_pytree_and_dtypes():
    rng = np.random.default_rng(0)
    params = make_params(rng, np.float32)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    y = rng.standard_normal((4, 2)).astype(np.float32)
    grads = fg.grad(mlp_loss)(params, x, y)
    assert fg.tree.structure(grads) == fg.tree.structure(params)
    assert isinstance(grads["layers"][0], Layer)
    for g, p in zip(fg.tree.leaves(grads), fg.tree.leaves(params)):
        assert g.dtype == np.float32 and g.shape == p.shape


def test_mlp_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    params = make_params(rng)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    grads = fg.grad(mlp_loss)(params, x, y)
    w0 = params["layers"][0].w

    def loss_of_w0(w):
        layers = [Layer(w, params["layers"][0].b)] + params["layers"][1:]
        return float(mlp_loss({"layers": layers, "unused": None}, x, y))

    np.testing.assert_allclose(grads["layers"][0].w, numeric_grad(loss_of_w0, w0), atol=1e-8)


def test_argnums_tuple_order_and_kwargs():
    f = lambda a, b, c=1.0: fnp.sum(a * b * c)
    a, b = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    gb, ga = fg.grad(f, argnums=(1, 0))(a, b, c=2.0)
    np.testing.assert_array_equal(ga, 2 * b)
    np.testing.assert_array_equal(gb, 2 * a)
    np.testing.assert_array_equal(fg.grad(f, argnums=-1)(a, b), a)


def test_has_aux():
    def loss(w):
        pred = w * 2.0
        return fnp.sum(pred), {"pred": pred}

    (value, aux), g = fg.value_and_grad(loss, has_aux=True)(np.array([1.0, 3.0]))
    assert float(value) == 8.0
    np.testing.assert_array_equal(aux["pred"], [2.0, 6.0])
    g2, aux2 = fg.grad(loss, has_aux=True)(np.array([1.0, 3.0]))
    np.testing.assert_array_equal(g, [2.0, 2.0])
    np.testing.assert_array_equal(g2, g)
    np.testing.assert_array_equal(aux2["pred"], aux["pred"])


def test_python_float_argument_is_float64():
    g = fg.grad(lambda x: x * x)(3.0)
    assert g.dtype == np.float64 and float(g) == 6.0


def test_integer_arguments_cannot_be_differentiated():
    with pytest.raises(fg.DtypeError, match=r"argument 'p' at \['n'\] has dtype int64"):
        fg.grad(lambda p: fnp.sum(p["x"]))({"x": np.ones(2), "n": np.arange(2)})
    with pytest.raises(TypeError, match="has type int"):
        fg.grad(lambda x: x * 1.0)(3)


def test_integer_inputs_flow_through_undifferentiated():
    labels = np.array([0, 2, 1])
    logits = np.eye(3) * 2.0

    def loss(z, labels):
        return -fnp.sum(fg.nn.log_softmax(z)[np.arange(3), labels])

    g = fg.grad(loss)(logits, labels)
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected[np.arange(3), labels] -= 1
    np.testing.assert_allclose(g, expected, atol=1e-12)


def test_non_scalar_output_is_a_clear_error():
    with pytest.raises(fg.ShapeError, match=r"scalar floating-point value, got f64\[2\]"):
        fg.grad(lambda x: x * 2.0)(np.ones(2))


def test_higher_order():
    d3 = fg.grad(fg.grad(fg.grad(fnp.sin)))
    for x in (0.3, 1.7, -2.0):
        np.testing.assert_allclose(d3(x), -np.cos(x), rtol=1e-12)


def test_hessian_and_jacobian_of_grad():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 3))
    x = rng.standard_normal(3)
    f = lambda x: x @ (a @ x) + fnp.sum(x**3)
    expected = a + a.T + np.diag(6 * x)
    np.testing.assert_allclose(fg.hessian(f)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(fg.jacobian(fg.grad(f))(x), expected, rtol=1e-12)


def test_jacobian_shapes_and_values():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    jac = fg.jacobian(lambda x: fnp.sum(x**2, axis=0))(x)
    assert jac.shape == (2, 2, 2)
    expected = np.zeros((2, 2, 2))
    for j in range(2):
        expected[j, :, j] = 2 * x[:, j]
    np.testing.assert_array_equal(jac, expected)
    ja, jb = fg.jacobian(lambda a, b: a * b, argnums=(0, 1))(np.ones(2), np.array([2.0, 3.0]))
    np.testing.assert_array_equal(ja, np.diag([2.0, 3.0]))
    np.testing.assert_array_equal(jb, np.eye(2))


def test_vjp_and_jvp_agree():
    rng = np.random.default_rng(3)
    x, v = rng.standard_normal(4), rng.standard_normal(4)
    f = lambda x: fnp.tanh(x) * fnp.sum(x)
    out, f_vjp = fg.vjp(f, x)
    u = rng.standard_normal(out.shape)
    (xbar,) = f_vjp(u)
    _, tangent = fg.jvp(f, (x,), (v,))
    np.testing.assert_allclose(np.dot(u, tangent), np.dot(xbar, v), rtol=1e-12)


def test_vjp_rejects_mismatched_cotangent():
    _, f_vjp = fg.vjp(lambda x: x * 2.0, np.ones(3))
    with pytest.raises(fg.ShapeError, match="cotangent of shape"):
        f_vjp(np.ones(2))


def test_value_dependent_control_flow_outside_jit():
    def f(x):
        if fnp.sum(x) > 0:
            return fnp.sum(x**2)
        return fnp.sum(fnp.sin(x))

    np.testing.assert_array_equal(fg.grad(f)(np.array([1.0, 2.0])), [2.0, 4.0])
    x = np.array([-1.0, -2.0])
    np.testing.assert_allclose(fg.grad(f)(x), np.cos(x))


def test_loop_until_converged_outside_jit():
    def sqrt_newton(a):
        x = a
        while fnp.abs(x * x - a) > 1e-12:  # (a traced bool: its value decides)
            x = 0.5 * (x + a / x)
        return x

    np.testing.assert_allclose(fg.grad(sqrt_newton)(4.0), 0.25, rtol=1e-9)


@pytest.mark.parametrize(
    "f",
    [lambda x: math.exp(x), lambda x: float(x) * x, lambda x: x.item() * x, lambda x: x.tolist()],
    ids=["math.exp", "float", "item", "tolist"],
)
def test_python_floats_of_traced_values_are_refused_not_cut_off_from_the_gradient(f):
    # float(x) would carry no gradient: grad would be silently wrong (0, or half of it)
    with pytest.raises(fg.ConcretizationError, match="test_autodiff.*no gradient"):
        fg.grad(f)(3.0)


def test_ints_and_bools_of_traced_values_still_steer_python():
    f = lambda x: fnp.sum(x[int(x[0])] * x) if bool(x[1] > 0) else x[0]  # noqa: E731
    np.testing.assert_allclose(fg.grad(f)(np.array([1.0, 2.0])), [2.0, 5.0])


def test_globals_are_read_fresh_each_call():
    state = {"scale": np.array([1.0, 1.0])}
    f = lambda x: fnp.sum(x * state["scale"])
    np.testing.assert_array_equal(fg.grad(f)(np.ones(2)), [1.0, 1.0])
    state["scale"] = np.array([3.0, -1.0])
    np.testing.assert_array_equal(fg.grad(f)(np.ones(2)), [3.0, -1.0])


def test_closure_over_outer_tracer():
    # d/dx [ d/dy (x * y**2) at y=3 ] = d/dx (6x) = 6
    g = fg.grad(lambda x: fg.grad(lambda y: x * y**2)(3.0))(2.0)
    assert float(g) == 6.0


def test_stop_gradient():
    g = fg.grad(lambda x: fnp.sum(x * fg.stop_gradient(x)))(np.array([2.0, 3.0]))
    np.testing.assert_array_equal(g, [2.0, 3.0])


def test_unused_argument_gets_zero_gradient():
    g = fg.grad(lambda x, y: fnp.sum(x), argnums=1)(np.ones(2), np.ones(3))
    np.testing.assert_array_equal(g, np.zeros(3))
    assert g.flags.writeable


def test_long_chain_has_no_recursion_limit():
    def chain(x):
        for _ in range(100_000):
            x = x * 1.00001
        return x

    start = time.perf_counter()
    g = fg.grad(chain)(1.0)
    np.testing.assert_allclose(g, 1.00001**100_000, rtol=1e-8)
    assert time.perf_counter() - start < 120  # a hang guard, not a benchmark


@settings(max_examples=25, deadline=None)
@given(
    testing.arrays(shape=testing.shapes(min_dims=1, max_dims=2, min_side=1)),
    st.sampled_from(["tanh", "sin", "softplus", "sigmoid", "logsumexp"]),
)
def test_check_grads_on_composites(x, name):
    fn = {
        "tanh": fnp.tanh,
        "sin": fnp.sin,
        "softplus": fg.nn.softplus,
        "sigmoid": fg.nn.sigmoid,
        "logsumexp": fg.nn.logsumexp,
    }[name]
    testing.check_grads(lambda x: fnp.sum(fn(x) * fnp.cos(x)), (x,), order=2)


def test_check_grads_catches_a_wrong_rule():
    from funcgrad import primitives as P

    bad = Primitive(
        "bad_square",
        lambda x: (x.shape, x.dtype),
        lambda x: x * x,
        (lambda g, ans, x: P.mul(g, x),),  # wrong: should be 2 * x * g
        lambda ts, ans, x: P.mul(ts[0], x),
    )
    with pytest.raises(AssertionError, match="reverse-mode"):
        testing.check_grads(lambda x: bad(x), (np.array([1.0, 2.0]),), modes=("rev",))
    with pytest.raises(AssertionError, match="forward-mode"):
        testing.check_grads(lambda x: bad(x), (np.array([1.0, 2.0]),), modes=("fwd",))
