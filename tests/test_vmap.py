"""vmap, the batching transform, and the Jacobians built on them (jacfwd, jacrev, hessian)."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import primitives as P
from funcgrad.batching import batch_graph
from funcgrad.testing import check_grads

F64 = np.float64

# The batching rule of every primitive is checked against a loop in test_primitives.py,
# from the one per-primitive table there.


def test_operandless_primitives_stay_unbatched():
    rows = np.arange(6.0).reshape(2, 3)
    got = fg.vmap(lambda x: x + P.iota(size=3, dtype=np.float64))(rows)
    np.testing.assert_array_equal(got, rows + np.arange(3.0))
    picked = fg.vmap(lambda x, i: x[fnp.arange(2), i])(rows.reshape(1, 2, 3), np.array([[2, 0]]))
    np.testing.assert_array_equal(picked, [[2.0, 3.0]])


def test_batch_graph_batches_every_output():
    graph = fg.make_graph(lambda x, y: (fnp.sum(x), y * 2.0))(np.ones(3), np.ones(2))
    batched = batch_graph(graph, (True, False), 4)
    assert [v.shape for v in batched.invars] == [(4, 3), (2,)]
    assert [v.shape for v in batched.outvars] == [(4,), (4, 2)]


# ---------------------------------------------------------------- axes, pytrees, composition


def test_in_axes_pytree_prefix_and_out_axes_pytree():
    def f(p, x):
        return {"a": p["w"] * x, "b": p["s"]}

    p = {"w": np.arange(6.0).reshape(2, 3), "s": np.float64(5.0)}
    x = np.arange(3.0)
    out = fg.vmap(f, in_axes=({"w": 1, "s": None}, 0), out_axes={"a": 1, "b": None})(p, x)
    np.testing.assert_array_equal(out["a"], p["w"] * x)
    assert np.asarray(out["b"]).shape == ()
    out = fg.vmap(f, in_axes=({"w": 1, "s": None}, 0))(p, x)  # unbatched output broadcast
    np.testing.assert_array_equal(out["b"], np.full(3, 5.0))


def test_kwargs_none_args_and_scalars_broadcast():
    out = fg.vmap(lambda x, c, scale=None: x * c + scale, in_axes=(0, None))(
        np.arange(3.0), 2.0, scale=np.ones(3)
    )
    np.testing.assert_array_equal(out, np.arange(3.0) * 2 + 1)


def test_nested_vmap_is_an_outer_product():
    a, b = np.arange(3.0), np.arange(4.0)
    outer = fg.vmap(fg.vmap(lambda x, y: x * y, in_axes=(None, 0)), in_axes=(0, None))(a, b)
    np.testing.assert_array_equal(outer, np.outer(a, b))
    mat = np.arange(24.0).reshape(2, 3, 4)
    sums = fg.vmap(fg.vmap(fnp.sum, in_axes=1), in_axes=2)(mat)  # (4, 3)
    np.testing.assert_array_equal(sums, mat.sum(0).T)
    closure = fg.vmap(lambda x: fg.vmap(lambda y: x * y)(b))(a)  # inner closes over outer
    np.testing.assert_array_equal(closure, np.outer(a, b))


def test_vmap_of_jacobians():
    xs = np.random.default_rng(6).standard_normal((4, 3))
    hess = fg.vmap(fg.hessian(lambda x: fnp.sum(x**3) * x[0]))(xs)
    for x, h in zip(xs, hess):
        np.testing.assert_allclose(h, fg.jacrev(fg.grad(lambda x: fnp.sum(x**3) * x[0]))(x))


def test_vmap_under_jit_traces_once():
    f = fg.jit(fg.vmap(lambda x, w: fnp.tanh(x @ w), in_axes=(0, None)))
    x, w = np.random.default_rng(0).standard_normal((2, 5, 3)), np.ones((3, 2))
    for xi in x:
        np.testing.assert_allclose(f(xi, w), np.tanh(xi @ w))
    assert f.cache_info().misses == 1


def test_grad_of_vmap():
    w = np.random.default_rng(1).standard_normal((3, 2))
    x = np.random.default_rng(2).standard_normal((5, 3))

    def loss(w):
        return fnp.sum(fg.vmap(lambda xi: fnp.sum(fnp.tanh(xi @ w) ** 2))(x))

    np.testing.assert_allclose(
        fg.grad(loss)(w), fg.grad(lambda w: fnp.sum(fnp.tanh(x @ w) ** 2))(w), rtol=1e-12
    )
    check_grads(loss, (w,), order=2)


def _mlp_loss(params, x, y):
    h = x
    for layer in params[:-1]:
        h = fg.nn.relu(h @ layer["w"] + layer["b"])
    logits = h @ params[-1]["w"] + params[-1]["b"]
    return -fnp.sum(fg.nn.log_softmax(logits) * fg.nn.one_hot(y, logits.shape[-1]))


def _mlp(rng, sizes):
    return [
        {"w": rng.standard_normal((m, n)) / np.sqrt(m), "b": rng.standard_normal(n) * 0.1}
        for m, n in zip(sizes[:-1], sizes[1:])
    ]


@pytest.mark.parametrize("jit", [False, True])
def test_per_example_gradients_match_a_loop(jit):
    rng = np.random.default_rng(3)
    params, x, y = _mlp(rng, [6, 5, 4, 3]), rng.standard_normal((7, 6)), rng.integers(0, 3, 7)
    per_example = fg.vmap(fg.grad(_mlp_loss), in_axes=(None, 0, 0))
    got = (fg.jit(per_example) if jit else per_example)(params, x, y)
    loop = [fg.grad(_mlp_loss)(params, x[i], y[i]) for i in range(7)]
    want = fg.tree.map(lambda *gs: np.stack(gs), *loop)
    fg.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12), got, want)


def test_per_example_gradients_of_a_cnn():
    rng = np.random.default_rng(4)
    w, x = rng.standard_normal((2, 1, 3, 3)), rng.standard_normal((3, 1, 1, 6, 6))

    def loss(w, x):
        h = fg.nn.max_pool2d(fnp.tanh(fg.nn.conv2d(x, w, padding="SAME")), 2)
        return fnp.sum(h**2)

    got = fg.vmap(fg.grad(loss), in_axes=(None, 0))(w, x)
    want = np.stack([fg.grad(loss)(w, xi) for xi in x])
    np.testing.assert_allclose(got, want, rtol=1e-10)


# ---------------------------------------------------------------- Jacobians


def _random_function(rng):
    a = rng.standard_normal((3, 4))
    b = rng.standard_normal(3)
    return lambda x, y: {"u": fnp.tanh(a @ x) * fnp.sum(y**2), "v": fnp.sin(x[:2] * y[0]) + b[:2]}


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_jacfwd_equals_jacrev_equals_finite_differences(seed):
    rng = np.random.default_rng(seed)
    f = _random_function(rng)
    x, y = rng.standard_normal(4), rng.standard_normal(3)
    fwd = fg.jacfwd(f, argnums=(0, 1))(x, y)
    rev = fg.jacrev(f, argnums=(0, 1))(x, y)
    eps = 1e-6
    for k, arg in enumerate((x, y)):
        for i in range(arg.size):
            d = np.zeros_like(arg)
            d[i] = eps
            plus = f(*[a + d if j == k else a for j, a in enumerate((x, y))])
            minus = f(*[a - d if j == k else a for j, a in enumerate((x, y))])
            for key in ("u", "v"):
                numeric = (plus[key] - minus[key]) / (2 * eps)
                np.testing.assert_allclose(fwd[key][k][..., i], numeric, atol=1e-6)
                np.testing.assert_allclose(rev[key][k][..., i], numeric, atol=1e-6)
    for key in ("u", "v"):
        for k in range(2):
            np.testing.assert_allclose(fwd[key][k], rev[key][k], rtol=1e-12, atol=1e-12)
            assert fwd[key][k].shape == np.shape(f(x, y)[key]) + (x, y)[k].shape


def test_hessian_is_symmetric_and_matches_its_definition():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((3, 3))

    def f(x):
        return fnp.sum(fnp.tanh(a @ x) ** 2) + fnp.sum(x**3)

    x = rng.standard_normal(3)
    h = fg.hessian(f)(x)
    np.testing.assert_allclose(h, h.T, atol=1e-12)
    np.testing.assert_allclose(h, fg.jacrev(fg.grad(f))(x), atol=1e-12)
    assert fg.jacobian is fg.jacrev


def test_jacobian_of_a_scalar_input_and_under_jit():
    assert fg.jacfwd(lambda x: x**3)(2.0) == 12.0
    j = fg.jit(fg.jacfwd(lambda x: fnp.sin(x) * 2.0))(np.zeros(3))
    np.testing.assert_allclose(j, 2.0 * np.eye(3))


# ---------------------------------------------------------------- errors


def test_axis_size_mismatch_names_each_argument():
    def f(x, y):
        return x + y

    with pytest.raises(ValueError) as info:
        fg.vmap(f, in_axes=(0, 1))(np.ones((3, 2)), np.ones((2, 5)))
    msg = str(info.value)
    assert "argument 'x' of shape (3, 2) mapped along axis 0 (size 3)" in msg
    assert "argument 'y' of shape (2, 5) mapped along axis 1 (size 5)" in msg
    assert re.search(r"at .*test_vmap\.py:\d+$", msg)


def test_axis_out_of_range_names_the_argument():
    with pytest.raises(ValueError, match=r"argument 'params' at \['w'\] of shape \(3,\)") as info:
        fg.vmap(lambda params: params["w"], in_axes=({"w": 1},))({"w": np.ones(3)})
    assert re.search(r"at .*test_vmap\.py:\d+$", str(info.value))
    with pytest.raises(ValueError, match="rank 0"):
        fg.vmap(lambda x: x)(1.0)


def test_bad_in_axes_and_out_axes():
    with pytest.raises(ValueError, match="one entry per positional argument"):
        fg.vmap(lambda x, y: x, in_axes=(0,))(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="maps no array"):
        fg.vmap(lambda x: x, in_axes=None)(np.ones(2))
    with pytest.raises(ValueError, match="out_axes=None for output 0"):
        fg.vmap(lambda x: x, out_axes=None)(np.ones(2))
    with pytest.raises(ValueError, match="not a pytree prefix"):
        fg.vmap(lambda p: p["a"], in_axes=({"b": 0},))({"a": np.ones(2)})
