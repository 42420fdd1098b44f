"""Graph rewrites (funcgrad/compiler/passes.py): each returns an equivalent graph, checked
against the reference interpreter, and the rewritten graph (or the program it lowers to)
has what the rewrite promises."""

import numpy as np
import pytest
from compiled import assert_same, flat_instructions, run_both
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.compiler.passes import optimize
from funcgrad.compiler.program import CompiledProgram


def test_simplify_keeps_negation():
    # Regression: the identity rule for no-op casts/reshapes once swallowed `neg`.
    np.testing.assert_array_equal(fg.jit(lambda x: -x)(np.ones(2)), [-1.0, -1.0])
    np.testing.assert_array_equal(fg.grad(lambda x: fnp.sum(-x))(np.ones(2)), [-1.0, -1.0])


def test_nested_broadcasts_become_one():
    f = lambda x: fnp.broadcast_to(fnp.broadcast_to(x, (3, 4)), (2, 3, 4))
    graph = optimize(fg.make_graph(f)(np.ones(4)))
    assert [e.prim.name for e in graph.eqns] == ["broadcast_in_dim"], graph
    np.testing.assert_array_equal(
        fg.jit(f)(np.arange(4.0)), np.broadcast_to(np.arange(4.0), (2, 3, 4))
    )


@pytest.mark.parametrize(
    "shape, dims, full",
    [((5,), (0,), (5, 7)), ((5, 3), (0, 2), (5, 4, 3)), ((4,), (1,), (2, 4, 3))],
)
def test_broadcasts_of_leading_dimensions_stay_implicit(shape, dims, full):
    # A row sum spread back over its rows (the softmax gradient) is read in place with a
    # zero stride, not copied out to the full shape first.
    x = np.random.default_rng(1).standard_normal(shape)
    y = np.random.default_rng(2).standard_normal(full)
    f = lambda x, y: (
        fg.primitives.broadcast_in_dim(fnp.tanh(x), shape=full, broadcast_dimensions=dims) * y
    )
    program = str(CompiledProgram(fg.make_graph(f)(x, y)))
    assert "copy" not in program, program
    assert_same(*run_both(f, x, y), np.float64)


def test_gradients_of_where_select_once():
    # leaky_relu's gradient: select(p, g, 0) + 0.01 * select(p, 0, g) -> select(p, g, 0.01 g)
    x = np.linspace(-2, 2, 12).reshape(3, 4)
    grad = fg.grad(lambda x, w: fnp.sum(fg.nn.leaky_relu(x) * w))
    graph = optimize(fg.make_graph(grad)(x, x))
    assert [e.prim.name for e in graph.eqns] == ["gt", "mul", "select"], graph
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((9, 7)), rng.standard_normal((9, 7))
    x[0, :3] = [0.0, -0.0, np.nan]
    for f in [
        lambda x, w: fnp.sum(fg.nn.leaky_relu(x, 0.2) * w),
        lambda x, w: fnp.sum(fnp.where(x > 0.5, fnp.sin(x), -3.0 * x) * w),
        lambda x, w: fnp.sum(fnp.where(x < 0, x * w, x * 2.0)),
        lambda x, w: fnp.sum(fnp.where(x > 0, x, x * np.inf) * w),  # 0 * inf stays NaN
    ]:
        with np.errstate(invalid="ignore"):  # (that 0 * inf, which NumPy warns of)
            expected, got = run_both(fg.grad(f), x, w)
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-12, atol=1e-12)


def weighted_cross_entropy(logits, labels, w):
    logp = fg.nn.log_softmax(logits)
    return -fnp.sum(w * logp[fnp.arange(logits.shape[0]), labels])


def test_cross_entropy_gradient_takes_one_pass_per_row():
    # scatter_add(u, arange, labels) -> select(classes == position, u, 0), whose row sum
    # is u: with the rest of log_softmax's gradient, one fused kernel over the logits.
    logits, labels = np.zeros((6, 5), np.float32), np.array([0, 4, -1, 2, 2, 1])
    loss = fg.nn.losses.softmax_cross_entropy
    for f, args in [
        (loss, (logits, labels)),
        (weighted_cross_entropy, (logits, labels, logits[:, 0])),
    ]:
        program = CompiledProgram(fg.make_graph(fg.value_and_grad(f))(*args))
        steps = flat_instructions(program)
        assert "scatter_add" not in [ins.kind for ins in steps], program
        assert not [i for i in steps if i.kind == "reduce" and i.x.shape == (6, 5)], program
        row_kernels = [i for i in steps if i.kind == "fused" and i.shape == (6, 5)]
        assert len(row_kernels) == 1, program
        assert {"exp", "eq", "select"} <= {op.op for op in row_kernels[0].code}, program


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 300),
    st.sampled_from([np.float32, np.float64]),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_cross_entropy_gradients_match_the_reference(n, c, dtype, weighted, seed):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((n, c)) * 3).astype(dtype)
    labels = rng.integers(0, c, n).astype(rng.choice([np.int32, np.int64]))
    if weighted:
        args, f = (logits, labels, rng.random(n).astype(dtype)), weighted_cross_entropy
    else:
        args, f = (logits, labels), fg.nn.losses.softmax_cross_entropy
    for transform in (fg.grad, fg.value_and_grad):
        expected, got = run_both(transform(f), *args)
        assert_same(fg.tree.leaves(expected), fg.tree.leaves(got), dtype)


@pytest.mark.parametrize("transform", [fg.grad, fg.value_and_grad])
def test_cross_entropy_gradient_still_checks_its_labels(transform):
    step = fg.jit(transform(fg.nn.losses.softmax_cross_entropy))
    logits = np.zeros((4, 3), np.float32)
    step(logits, np.array([0, 1, 2, 0]))
    for bad in ([0, 1, 3, 0], [0, -1, 0, 0], [0, -4, 0, 0]):  # negatives are not classes
        with pytest.raises(IndexError):
            step(logits, np.array(bad))


def test_one_hot_rule_leaves_positions_it_did_not_make_alone():
    # A row sum of select(iota == column, v, 0) is v only when the column holds gathered
    # positions; here it is an input (regression: the rule once failed on it).
    from funcgrad import primitives as P

    f = lambda col, v: fnp.sum(fnp.where(P.iota(size=3, dtype=np.float64) == col, v, 0.0), axis=1)
    col, v = np.array([[0.0], [2.0], [5.0], [1.0]]), np.arange(4.0).reshape(4, 1)
    assert_same(*run_both(f, col, v), np.float64)
    np.testing.assert_array_equal(fg.jit(f)(col, v), [0.0, 1.0, 0.0, 3.0])
