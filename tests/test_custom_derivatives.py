"""fg.custom_vjp and fg.custom_jvp: the user's rules are the ones used, under every
transform and to higher order, and the functions still compute their own values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.compiler.program import CompiledProgram
from funcgrad.testing import check_grads

SETTINGS = settings(max_examples=25, deadline=None)


# A deliberately wrong but recognisable rule: the gradient of `doubled_grad` is 2, its
# value is x. Any transform that ignored the rule would give 1.
@fg.custom_vjp
def doubled_grad(x):
    return x


doubled_grad.defvjp(lambda x: (x, None), lambda res, g: (2.0 * g,))


@fg.custom_jvp
def tripled_tangent(x):
    return fnp.sin(x)


@tripled_tangent.defjvp
def _tripled_tangent_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return fnp.sin(x), 3.0 * fnp.cos(x) * t


# Correct rules, with pytrees, residuals and a static argument.
@fg.custom_vjp
def scaled_pair(p, x):
    return {"prod": fnp.sin(p["a"]) * x, "sum": p["b"] + x}


def _scaled_pair_fwd(p, x):
    return scaled_pair(p, x), (p["a"], x)


def _scaled_pair_bwd(res, g):
    a, x = res
    grad_p = {"a": fnp.cos(a) * x * g["prod"], "b": g["sum"]}
    return grad_p, fnp.sin(a) * g["prod"] + g["sum"]


scaled_pair.defvjp(_scaled_pair_fwd, _scaled_pair_bwd)


def _power(n, x):
    return x**n


power = fg.custom_jvp(_power, nondiff_argnums=(0,))


@power.defjvp
def _power_jvp(n, primals, tangents):
    (x,), (t,) = primals, tangents
    return x**n, n * x ** (n - 1) * t


power_vjp = fg.custom_vjp(_power, nondiff_argnums=(0,))
power_vjp.defvjp(lambda n, x: (x**n, x), lambda n, x, g: (n * x ** (n - 1) * g,))

floats = st.floats(-2.0, 2.0)


@SETTINGS
@given(floats)
def test_custom_vjp_rule_is_the_gradient_eager_jit_vmap(x):
    assert fg.grad(doubled_grad)(x) == 2.0
    assert fg.jit(fg.grad(doubled_grad))(x) == 2.0
    np.testing.assert_array_equal(fg.vmap(fg.grad(doubled_grad))(np.full(3, x)), 2.0)
    assert doubled_grad(x) == x and fg.jit(doubled_grad)(x) == x
    # inside a bigger function, and through the chain rule
    assert np.isclose(fg.grad(lambda x: fnp.sin(doubled_grad(x) * 3.0))(x), 6.0 * np.cos(3 * x))


@SETTINGS
@given(floats)
def test_custom_jvp_rule_gives_both_modes(x):
    _, t = fg.jvp(tripled_tangent, (x,), (1.0,))
    np.testing.assert_allclose(t, 3.0 * np.cos(x))
    np.testing.assert_allclose(fg.grad(tripled_tangent)(x), 3.0 * np.cos(x))
    np.testing.assert_allclose(fg.jit(fg.grad(tripled_tangent))(x), 3.0 * np.cos(x))
    np.testing.assert_allclose(fg.vmap(fg.grad(tripled_tangent))(np.full(2, x)), 3.0 * np.cos(x))
    # second order differentiates the rule: d/dx 3 cos x
    np.testing.assert_allclose(fg.grad(fg.grad(tripled_tangent))(x), -3.0 * np.sin(x), atol=1e-12)


@SETTINGS
@given(st.integers(0, 2**16))
def test_correct_rules_match_finite_differences_to_second_order(seed):
    rng = np.random.default_rng(seed)
    p = {"a": rng.standard_normal(3), "b": rng.standard_normal(3)}
    x = rng.standard_normal(3)

    def loss(p, x):
        out = scaled_pair(p, x)
        return fnp.sum(fnp.tanh(out["prod"]) * out["sum"])

    check_grads(loss, (p, x), order=2, modes=("rev",))
    for n in (2, 3):
        check_grads(lambda x: fnp.sum(fnp.sin(power(n, x))), (x,), order=2)
        check_grads(lambda x: fnp.sum(fnp.sin(power_vjp(n, x))), (x,), order=2, modes=("rev",))


def test_values_and_structures_are_the_functions_own():
    p, x = {"a": np.array([0.5, 1.0]), "b": np.array([2.0, 3.0])}, np.array([1.0, -1.0])
    out = scaled_pair(p, x)
    assert sorted(out) == ["prod", "sum"]
    np.testing.assert_allclose(out["prod"], np.sin(p["a"]) * x)
    np.testing.assert_allclose(fg.jit(scaled_pair)(p, x)["sum"], p["b"] + x)
    grads = fg.grad(lambda p, x: fnp.sum(scaled_pair(p, x)["prod"]), argnums=(0, 1))(p, x)
    np.testing.assert_allclose(grads[0]["a"], np.cos(p["a"]) * x)
    np.testing.assert_allclose(grads[0]["b"], 0.0)
    np.testing.assert_allclose(grads[1], np.sin(p["a"]))
    assert power(3, 2.0) == 8.0 and fg.grad(power, argnums=1)(3, 2.0) == 12.0


def test_programs_run_the_calls_as_their_own_equations():
    """A call equation is expanded into the function's equations before a program is
    built: nothing runs a NumPy reference, and the two outputs share one computation."""
    p, x = {"a": np.ones(4), "b": np.ones(4)}, np.ones(4)

    def loss(p, x):
        out = scaled_pair(p, x)
        return fnp.sum(out["prod"] * out["sum"])

    graph = fg.make_graph(fg.grad(loss))(p, x)
    assert "custom_vjp_call" in str(graph)
    text = str(CompiledProgram(fg.core.inline_calls(graph)))
    assert "NumPy reference" not in text and "custom" not in text


def test_forward_mode_of_a_custom_vjp_function_raises():
    with pytest.raises(TypeError, match="custom_vjp function: it has no forward-mode"):
        fg.jvp(doubled_grad, (1.0,), (1.0,))


def test_identical_calls_share_their_derived_graph():
    f = fg.grad(lambda x: fnp.sum(doubled_grad(x) ** 2))
    g1 = fg.make_graph(f)(np.ones(3))
    g2 = fg.make_graph(f)(np.ones(3))
    assert g1 == g2 and hash(g1) == hash(g2)


def _raises_here(exc, pattern, thunk):
    with pytest.raises(exc, match=pattern) as info:
        thunk()
    assert f"test_custom_derivatives.py:{thunk.__code__.co_firstlineno}" in str(info.value)


def test_mistakes_are_named_at_the_callers_line():
    undefined = fg.custom_vjp(lambda x: x)
    _raises_here(TypeError, "no VJP defined", lambda: undefined(1.0))
    bad_structure = fg.custom_vjp(lambda x, y: x * y)
    bad_structure.defvjp(lambda x, y: (x * y, None), lambda res, g: (g,))
    _raises_here(TypeError, "one cotangent per argument", lambda: fg.grad(bad_structure)(1.0, 2.0))
    bad_shape = fg.custom_vjp(lambda x: x)
    bad_shape.defvjp(lambda x: (x, None), lambda res, g: (fnp.ones(5),))
    _raises_here(
        fg.ShapeError, "shape", lambda: fg.grad(lambda x: fnp.sum(bad_shape(x)))(np.ones(3))
    )
    _raises_here(TypeError, "not arrays", lambda: doubled_grad("text"))

    def closes_over(y):
        inner = fg.custom_vjp(lambda x: x * y)
        inner.defvjp(lambda x: (x * y, None), lambda res, g: (g,))
        return inner(1.0)

    with pytest.raises(TypeError, match="enclosing scope") as info:
        fg.grad(closes_over)(2.0)
    line = closes_over.__code__.co_firstlineno + 3  # the call of the custom function
    assert f"test_custom_derivatives.py:{line}" in str(info.value)
    _raises_here(TypeError, "hashable", lambda: power([1], 2.0))


@fg.custom_vjp
def sin_times(x, w):
    return fnp.sin(x) * w


sin_times.defvjp(
    lambda x, w: (fnp.sin(x) * w, (x, w)),
    lambda res, g: (2.0 * fnp.cos(res[0]) * res[1] * g, fnp.sin(res[0]) * g),  # 2x in x
)


@pytest.mark.parametrize("size", [1, 4])
def test_vmap_batches_the_rules_instead_of_looping(size):
    xs, w = np.linspace(0.0, 1.0, size), np.array(3.0)
    per_example = fg.vmap(fg.grad(sin_times, argnums=(0, 1)), in_axes=(0, None))(xs, w)
    np.testing.assert_allclose(per_example[0], 2.0 * np.cos(xs) * 3.0)
    np.testing.assert_allclose(per_example[1], np.sin(xs))
    # the shared operand's cotangent is summed over the batch
    total = fg.grad(lambda w: fnp.sum(fg.vmap(sin_times, in_axes=(0, None))(xs, w)))(w)
    np.testing.assert_allclose(total, np.sin(xs).sum())
    nested = fg.vmap(fg.vmap(fg.grad(sin_times), in_axes=(0, None)), in_axes=(0, None))
    np.testing.assert_allclose(nested(np.ones((2, size)), w), 6.0 * np.cos(1.0))
    np.testing.assert_allclose(fg.vmap(fg.grad(tripled_tangent))(xs), 3.0 * np.cos(xs))
    np.testing.assert_allclose(
        fg.jvp(fg.vmap(tripled_tangent), (xs,), (np.ones(size),))[1], 3.0 * np.cos(xs)
    )


def test_vmap_graph_does_not_grow_with_the_batch():
    def graph(size):
        f = fg.vmap(fg.grad(sin_times), in_axes=(0, None))
        return fg.make_graph(f)(np.ones(size), np.array(2.0))

    assert len(graph(2).eqns) == len(graph(50).eqns)


# ---------------------------------------------------------------- checkpoint


def _block(w, x):
    for _ in range(3):
        x = fnp.tanh(x @ w)
    return x


def _net(segment, ws, x):
    for w in ws:
        x = segment(w, x)
    return fnp.sum(x**2)


@SETTINGS
@given(st.integers(0, 2**16))
def test_checkpoint_gives_the_same_values_and_gradients(seed):
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal((4, 4)) * 0.5 for _ in range(3)]
    x = rng.standard_normal((2, 4))
    remat = fg.checkpoint(_block)
    for transform in (fg.value_and_grad, lambda f: fg.jit(fg.value_and_grad(f))):
        (v1, g1) = transform(lambda ws, x: _net(_block, ws, x))(ws, x)
        (v2, g2) = transform(lambda ws, x: _net(remat, ws, x))(ws, x)
        np.testing.assert_allclose(v2, v1, rtol=1e-13)
        for a, b in zip(g2, g1):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    check_grads(lambda w: _net(remat, [w], x), (ws[0],), order=2)
    per_example = fg.vmap(fg.grad(lambda w, x: _net(remat, [w], x)), in_axes=(None, 0))(ws[0], x)
    loop = [fg.grad(lambda w: _net(_block, [w], x[i]))(ws[0]) for i in range(2)]
    np.testing.assert_allclose(per_example, np.stack(loop), rtol=1e-12)


def _temporary_bytes(f, *args):
    header = str(CompiledProgram(fg.core.inline_calls(fg.make_graph(f)(*args)))).splitlines()[0]
    return int(header.split("temporaries (")[1].split(" bytes")[0])


def test_checkpoint_lowers_the_programs_peak_memory():
    """Six checkpointed blocks of three layers: the program keeps the blocks' inputs and
    recomputes one block at a time, instead of keeping all eighteen activations."""
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((64, 64)) * 0.1 for _ in range(6)]
    x = rng.standard_normal((256, 64))
    plain = _temporary_bytes(fg.value_and_grad(lambda ws, x: _net(_block, ws, x)), ws, x)
    remat = fg.checkpoint(_block)
    saved = _temporary_bytes(fg.value_and_grad(lambda ws, x: _net(remat, ws, x)), ws, x)
    assert saved < 0.7 * plain


def test_checkpoint_differentiates_what_it_closes_over_and_passes_statics():
    w = np.array([[0.5, -0.2], [0.1, 0.3]])
    x = np.ones((3, 2))

    def loss(w):
        layer = fg.checkpoint(lambda x: fnp.tanh(x @ w))  # w: a traced closure
        return fnp.sum(layer(x))

    np.testing.assert_allclose(fg.grad(loss)(w), fg.grad(lambda w: fnp.sum(fnp.tanh(x @ w)))(w))
    scaled = fg.checkpoint(lambda k, x: k * fnp.sin(x), static_argnums=(0,))
    np.testing.assert_allclose(fg.grad(lambda x: scaled(3, x))(0.0), 3.0)
    with pytest.raises(NotImplementedError, match="policies"):
        fg.checkpoint(_block, policy=lambda *a: True)
    assert fg.remat is fg.checkpoint


def test_a_bwd_that_loops_on_values_runs_on_them_even_under_jit():
    """A backward rule with a Python loop to convergence cannot be traced; it runs on the
    values as the program runs (first order), compiled or not."""

    @fg.custom_vjp
    def sqrt(a):
        return fnp.sqrt(a)

    def bwd(res, g):
        a, x = res, 1.0  # 1 / (2 sqrt(a)) by Newton's iteration for 1/sqrt(a), to 1e-14
        while abs(x * x * a - 1.0) > 1e-14:
            x = x * (1.5 - 0.5 * a * x * x)
        return (g * 0.5 * x,)

    sqrt.defvjp(lambda a: (fnp.sqrt(a), a), lambda res, g: bwd(float(res), g))
    for transform in (fg.grad, lambda f: fg.jit(fg.grad(f))):
        np.testing.assert_allclose(transform(sqrt)(0.7), 0.5 / np.sqrt(0.7), rtol=1e-12)
    text = str(CompiledProgram(fg.core.inline_calls(fg.make_graph(fg.grad(sqrt))(0.7))))
    assert "custom_vjp_bwd (NumPy reference" in text
