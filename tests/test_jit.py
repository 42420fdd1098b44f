"""jit: caching by signature, static arguments, concretization errors, composition."""

import logging
import re

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp


def test_jit_matches_eager_and_caches():
    f = fg.jit(lambda x, y: fnp.tanh(x @ y) + 1.0)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    np.testing.assert_allclose(f(x, y), np.tanh(x @ y) + 1.0, rtol=1e-12)
    f(x + 1.0, y)
    assert f.cache_info() == fg.jit(lambda: 0).cache_info()._replace(hits=1, misses=1, size=1)


def test_retrace_on_new_shape_is_logged_with_the_reason(caplog):
    f = fg.jit(lambda x: fnp.sum(x))
    with caplog.at_level(logging.INFO, logger="funcgrad"):
        f(np.ones(3))
        f(np.ones(3))
        f(np.ones(4))
    assert f.cache_info().misses == 2 and f.cache_info().hits == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any("tracing for the first time" in m for m in messages)
    assert any("argument 'x' changed from f64[3] to f64[4]" in m for m in messages)


def test_dtype_change_retraces():
    f = fg.jit(lambda x: x * 2)
    assert f(np.ones(2, np.float32)).dtype == np.float32
    assert f(np.ones(2, np.float64)).dtype == np.float64
    assert f.cache_info().misses == 2


def test_static_argnums_allow_python_control_flow():
    def power(x, n):
        out = x
        for _ in range(n - 1):
            out = out * x
        return out

    f = fg.jit(power, static_argnums=1)
    np.testing.assert_array_equal(f(np.array([2.0]), 3), [8.0])
    np.testing.assert_array_equal(f(np.array([2.0]), 4), [16.0])
    assert f.cache_info().misses == 2
    g = fg.jit(power, static_argnames="n")
    np.testing.assert_array_equal(g(np.array([2.0]), n=2), [4.0])


def test_unhashable_static_argument():
    f = fg.jit(lambda x, opts: x, static_argnums=1)
    with pytest.raises(TypeError, match="static arguments must be hashable"):
        f(np.ones(2), {"a": 1})


def test_non_array_argument_needs_static():
    f = fg.jit(lambda x, name: x)
    with pytest.raises(TypeError, match="static_argnums"):
        f(np.ones(2), "relu")


def test_concretization_error_names_line_and_fix():
    def f(x):
        if fnp.sum(x) > 0:  # the offending line
            return x
        return -x

    line = f.__code__.co_firstlineno + 1
    with pytest.raises(fg.ConcretizationError) as info:
        fg.jit(f)(np.ones(3))
    message = str(info.value)
    assert f"test_jit.py:{line}" in message
    assert "argument 'x'" in message
    assert "static_argnums" in message and "fnp.where" in message


def test_where_is_the_traceable_branch():
    f = fg.jit(lambda x: fnp.where(x > 0, x, -x))
    np.testing.assert_array_equal(f(np.array([-1.0, 2.0])), [1.0, 2.0])


def test_python_scalar_arguments_are_weak():
    f = fg.jit(lambda x, s: x * s)
    assert f(np.ones(2, np.float32), 2.0).dtype == np.float32
    assert f(3.0, 2.0).dtype == np.float64


def test_pytrees_in_and_out():
    f = fg.jit(lambda p: {"sum": p["a"] + p["b"][0], "neg": [-p["a"]]})
    out = f({"a": np.ones(2), "b": (np.full(2, 2.0),)})
    np.testing.assert_array_equal(out["sum"], [3.0, 3.0])
    np.testing.assert_array_equal(out["neg"][0], [-1.0, -1.0])


def test_outputs_are_owned_by_the_caller():
    a = np.arange(3.0)
    out = fg.jit(lambda x: x)(a)
    assert out is not a and out.flags.writeable
    out[0] = 100.0
    assert a[0] == 0.0
    b = fg.jit(lambda x: fnp.broadcast_to(x, (2, 3)))(a)
    assert b.flags.writeable


def test_jit_of_grad_and_grad_of_jit():
    f = lambda x: fnp.sum(fnp.sin(x) ** 2)
    x = np.array([0.3, -1.1])
    expected = 2 * np.sin(x) * np.cos(x)
    np.testing.assert_allclose(fg.jit(fg.grad(f))(x), expected, rtol=1e-12)
    np.testing.assert_allclose(fg.grad(fg.jit(f))(x), expected, rtol=1e-12)
    np.testing.assert_allclose(fg.jit(fg.grad(fg.jit(f)))(x), expected, rtol=1e-12)


def test_jit_closing_over_a_traced_value_is_not_cached_stale():
    inner = fg.jit(lambda x, w: x * w * w)
    outer = lambda w: fg.grad(lambda v: inner(2.0, v))(w)
    assert float(outer(3.0)) == 12.0
    assert float(outer(5.0)) == 20.0

    def closes_over(w):
        return fg.jit(lambda x: x * w * w)(2.0)

    assert float(fg.grad(closes_over)(3.0)) == 12.0
    assert float(fg.grad(closes_over)(5.0)) == 20.0


def test_leaked_tracer_is_a_clear_error():
    leaked = []

    @fg.jit
    def f(x):
        leaked.append(x)
        return x

    f(np.ones(2))
    with pytest.raises(fg.TracerLeakError, match="return it from the function"):
        fnp.sum(leaked[0])


def test_numpy_function_on_tracer_explains_fnp():
    with pytest.raises(fg.ConcretizationError, match=re.escape("funcgrad.numpy (fnp)")):
        fg.jit(lambda x: np.asarray(x))(np.ones(2))
