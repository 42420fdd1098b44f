"""What scripts ported from JAX and autograd depend on (issue 17's regression tests):
arguments grad does not differentiate stay as they are, derivatives at the edge cases
those scripts hit, the names they import, and errors that say what to do."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.flatten_util import ravel_pytree

# ---------------------------------------------------------------- grad's other arguments


def test_grad_passes_an_int_step_counter_through_as_an_int():
    seen = []

    def loss(w, step, scale=1.0):
        seen.append((type(step), type(scale)))
        return fnp.sum(w) * (step % 3) * scale

    np.testing.assert_allclose(fg.grad(loss)(np.ones(2), 4), [1.0, 1.0])
    np.testing.assert_allclose(fg.grad(loss)(np.ones(2), 5, scale=2.0), [4.0, 4.0])
    assert seen == [(int, float), (int, float)]


def test_python_control_flow_on_an_undifferentiated_array_works_under_grad():
    def loss(w, x):
        return fnp.sum(w * x) if x.sum() > 0 else -fnp.sum(w)

    np.testing.assert_allclose(fg.grad(loss)(np.ones(2), np.array([1.0, 2.0])), [1.0, 2.0])
    np.testing.assert_allclose(fg.grad(loss)(np.ones(2), -np.ones(2)), [-1.0, -1.0])


def test_an_undifferentiated_argument_holding_an_outer_trace_still_carries_its_gradient():
    def inner(y):  # d/dy of sum over w of d/dw sum(w * y * y) = 2 * y
        return fnp.sum(fg.grad(lambda w, z: fnp.sum(w * z * z))(np.ones(2), y))

    np.testing.assert_allclose(fg.grad(inner)(np.array([3.0, -1.0])), [6.0, -2.0])


def test_undifferentiated_arrays_of_new_values_reuse_the_program():
    loss = lambda w, x: fnp.sum(fnp.tanh(w * x))  # noqa: E731
    w = np.ones(3)
    fg.grad(loss)(w, np.zeros(3))
    before = fg.runtime.stats["misses"]
    for k in range(3):
        x = np.full(3, float(k))
        np.testing.assert_allclose(fg.grad(loss)(w, x), x / np.cosh(w * x) ** 2)
    assert fg.runtime.stats["misses"] == before


# ---------------------------------------------------------------- derivatives at edges


def test_the_derivative_of_x_to_the_zero_is_zero_at_zero_to_second_order():
    assert fg.grad(lambda x: x**0.0)(0.0) == 0.0
    assert fg.grad(fg.grad(lambda x: x**0.0))(0.0) == 0.0
    np.testing.assert_array_equal(
        fg.grad(lambda x: fnp.sum(x ** np.array([0.0, 2.0])))(np.zeros(2)), [0.0, 0.0]
    )
    # and the slope in the exponent is unchanged beside it
    np.testing.assert_allclose(fg.grad(lambda y: 0.5**y)(0.0), np.log(0.5))


@pytest.mark.parametrize("shape, axis", [((1,), None), ((3, 1), 1), ((1, 2), 0)])
def test_std_over_one_element_has_zero_gradient(shape, axis):
    x = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    np.testing.assert_array_equal(fnp.std(x, axis=axis), np.std(x, axis=axis))
    g = fg.grad(lambda x: fnp.sum(fnp.std(x, axis=axis)))(x)
    np.testing.assert_array_equal(g, np.zeros(shape))


def test_grad_of_a_complex_output_is_refused():
    with pytest.raises(TypeError, match="complex value.*test_porting"):
        fg.grad(lambda x: fnp.sum(x * 1j))(np.ones(2))


def test_check_grads_does_not_fail_falsely_near_a_kink():
    x = np.array([1.0, 1.0 + 1.6e-5])
    fg.testing.check_grads(lambda x: fnp.min(x), (x,), order=2)
    with pytest.raises(AssertionError, match="differs"):  # and still catches a wrong one
        fg.testing.check_grads(lambda x: fnp.min(fg.stop_gradient(x)) + x[0], (x,), order=1)


# ---------------------------------------------------------------- names and aliases


def test_testing_is_available_after_import_funcgrad():
    assert fg.testing.check_grads is not None


def test_jit_with_static_argnums_is_a_decorator_factory():
    @fg.jit(static_argnums=(1,))
    def power(x, n):
        return x**n

    np.testing.assert_allclose(power(np.array([2.0]), 3), [8.0])
    with pytest.raises(TypeError, match="expected a function"):
        fg.jit(3)


def test_elementwise_grad_and_hessian_vector_product():
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(fg.elementwise_grad(fnp.tanh)(x), 1 / np.cosh(x) ** 2)
    hvp = fg.hessian_vector_product(lambda x, s: s * fnp.sum(x**3))
    v = np.array([1.0, 0.5, -2.0])
    np.testing.assert_allclose(hvp(x, 2.0, v), 2.0 * 6 * x * v)


def test_ravel_pytree_round_trips_and_differentiates():
    params = {"w": np.ones((2, 3), np.float32), "b": [np.zeros(3, np.float32), 1.5]}
    flat, unravel = ravel_pytree(params)
    assert flat.shape == (10,) and flat.dtype == np.float64  # (the float 1.5 promotes)
    back = unravel(flat)
    assert back["w"].dtype == np.float32 and back["w"].shape == (2, 3)
    np.testing.assert_array_equal(back["b"][1], 1.5)
    g = fg.grad(lambda v: fnp.sum(unravel(v)["w"] ** 2))(flat)
    np.testing.assert_allclose(g, np.r_[np.zeros(4), 2 * np.ones(6)])  # keys in order: b, w
    with pytest.raises(ValueError, match=r"shape \(10,\)"):
        unravel(np.zeros(9))


def test_a_missing_name_says_why_and_what_is_close():
    with pytest.raises(AttributeError, match="funcgrad.io"):
        fnp.savez  # noqa: B018
    with pytest.raises(AttributeError, match="Did you mean: square"):
        fnp.sqaure  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'not_a_numpy_name'$"):
        fnp.not_a_numpy_name  # noqa: B018
    assert fnp.finfo(fnp.float32).eps == np.finfo(np.float32).eps
