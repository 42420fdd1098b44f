"""vmap, batching rules, and the Jacobians built on them (jacfwd, jacrev, hessian)."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import primitives as P
from funcgrad.batching import RULES, UNSUPPORTED, batch_graph
from funcgrad.testing import broadcastable_shapes, check_grads

F64 = np.float64

# ---------------------------------------------------------------- one case per primitive
# A case draws per-example operands and params: (operands, params); operand k of example
# b is operands[k](rng). Positive values keep log/sqrt/pow/div finite.


def _pos(shape):
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def _any(shape):
    return lambda rng: rng.standard_normal(shape)


def _ints(shape, high):
    return lambda rng: rng.integers(0, high, shape)


def _shape(draw, min_dims=0, max_dims=3):
    return draw(st.lists(st.integers(1, 3), min_size=min_dims, max_size=max_dims).map(tuple))


def _unary(draw):
    return [_pos(_shape(draw))], {}


def _binary(draw):
    a, b = draw(broadcastable_shapes(2, max_dims=3, max_side=3))
    return [_pos(a), _pos(b)], {}


def _compare(draw):  # ties matter for comparisons: draw small integers
    a, b = draw(broadcastable_shapes(2, max_dims=3, max_side=3))
    return [lambda rng: rng.integers(0, 3, a) * 1.0, lambda rng: rng.integers(0, 3, b) * 1.0], {}


def _select(draw):
    p, a, b = draw(broadcastable_shapes(3, max_dims=3, max_side=3))
    return [lambda rng: rng.random(p) > 0.5, _any(a), _any(b)], {}


def _cast(draw):
    return [_any(_shape(draw))], {"dtype": np.dtype(draw(st.sampled_from([np.int32, F64])))}


def _reduce(draw):
    shape = _shape(draw, 1)
    axes = draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))
    return [_any(shape)], {"axes": tuple(sorted(axes))}


def _argmax(draw):
    shape = _shape(draw, 1)
    return [_any(shape)], {"axis": draw(st.integers(0, len(shape) - 1)), "index_dtype": np.int64}


def _reshape(draw):
    shape = _shape(draw)
    return [_any(shape)], {
        "new_shape": draw(st.sampled_from([shape[::-1], (int(np.prod(shape)),)]))
    }


def _transpose(draw):
    shape = _shape(draw)
    return [_any(shape)], {"perm": tuple(draw(st.permutations(range(len(shape)))))}


def _broadcast_in_dim(draw):
    shape = _shape(draw)
    stretched = tuple(1 if draw(st.booleans()) else d for d in shape)
    out = (2,) + shape
    return [_any(stretched)], {
        "shape": out,
        "broadcast_dimensions": tuple(range(1, len(out))),
    }


def _slice(draw):
    shape = _shape(draw, 1)
    start = tuple(draw(st.integers(0, d - 1)) for d in shape)
    limit = tuple(draw(st.integers(s + 1, d)) for s, d in zip(start, shape))
    strides = tuple(draw(st.integers(1, 2)) for _ in shape)
    return [_any(shape)], {"start": start, "limit": limit, "strides": strides}


def _rev(draw):
    shape = _shape(draw, 1)
    axes = draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))
    return [_any(shape)], {"axes": tuple(sorted(axes))}


def _pad(draw):
    shape = _shape(draw, 1)
    widths = [tuple(draw(st.integers(0, 2)) for _ in shape) for _ in range(2)]
    interior = tuple(draw(st.integers(0, 1)) for _ in shape)
    return [_any(shape)], {"lo": widths[0], "hi": widths[1], "interior": interior, "value": 0.0}


def _concatenate(draw):
    shape = _shape(draw, 1)
    axis = draw(st.integers(0, len(shape) - 1))
    parts = [shape[:axis] + (draw(st.integers(1, 3)),) + shape[axis + 1 :] for _ in range(3)]
    return [_any(s) for s in parts], {"axis": axis}


def _gather(draw):
    x_shape = (4, 3, 2)
    count = draw(st.integers(1, 2))
    idx = draw(broadcastable_shapes(count, max_dims=2, max_side=3))
    return [_any(x_shape)] + [_ints(s, x_shape[k]) for k, s in enumerate(idx)], {}


def _scatter_add(draw):
    shape = (4, 3, 2)
    count = draw(st.integers(1, 2))
    idx = draw(broadcastable_shapes(count, max_dims=2, max_side=3))
    g_shape = np.broadcast_shapes(*idx) + shape[count:]
    return [_any(g_shape)] + [_ints(s, shape[k]) for k, s in enumerate(idx)], {"shape": shape}


def _matmul(draw):
    lead = draw(st.sampled_from([(), (2,)]))
    m, k, n = (draw(st.integers(1, 3)) for _ in range(3))
    return [_any(lead + (m, k)), _any(lead + (k, n))], {}


_CONV = {"stride": (1, 2), "padding": ((1, 0), (1, 1)), "dilation": (1, 1)}
_POOL = {"window": (2, 2), "stride": (1, 2), "padding": ((0, 1), (0, 0))}


def _conv_shapes(draw):
    n, c, o = (draw(st.integers(1, 2)) for _ in range(3))
    x, w = (n, c, 4, 5), (o, c, 2, 3)
    out, _ = P._conv2d_rule(np.empty(x), np.empty(w), **_CONV)
    return x, w, out


def _conv2d(draw):
    x, w, _ = _conv_shapes(draw)
    return [_any(x), _any(w)], dict(_CONV)


def _conv2d_input_grad(draw):
    x, w, out = _conv_shapes(draw)
    return [_any(out), _any(w)], dict(_CONV, x_shape=x)


def _conv2d_filter_grad(draw):
    x, w, out = _conv_shapes(draw)
    return [_any(x), _any(out)], dict(_CONV, w_shape=w)


def _pool_shapes(draw):
    x = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), 4, 5)
    return x, P._max_pool_rule(np.empty(x), **_POOL)[0]


def _pool(draw):
    return [_any(_pool_shapes(draw)[0])], dict(_POOL)


def _pool_pair(second):
    def case(draw):
        x, out = _pool_shapes(draw)
        return [_any(x), _any(x if second == "x" else out)], dict(_POOL)

    return case


def _avg_pool2d_transpose(draw):
    x, out = _pool_shapes(draw)
    return [_any(out)], dict(_POOL, x_shape=x)


def _random_bits(draw):
    shape = _shape(draw, 1)
    key = lambda rng: rng.integers(0, 2**32, 2, dtype=np.uint32)  # noqa: E731
    counts = lambda rng: rng.integers(0, 2**32, shape, dtype=np.uint32)  # noqa: E731
    return [key, counts], {"dtype": np.dtype(draw(st.sampled_from([np.uint32, F64])))}


CASES = {
    **{n: _unary for n in "neg exp log log1p tanh sin cos sqrt abs sign stop_gradient".split()},
    **{n: _binary for n in "add sub mul div pow max min".split()},
    **{n: _compare for n in "gt ge lt le eq ne".split()},
    "select": _select,
    "cast": _cast,
    "reduce_sum": _reduce,
    "reduce_max": _reduce,
    "reduce_min": _reduce,
    "logsumexp": _reduce,
    "log_softmax": _reduce,
    "softmax": _reduce,
    "argmax": _argmax,
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_in_dim": _broadcast_in_dim,
    "slice": _slice,
    "rev": _rev,
    "pad": _pad,
    "concatenate": _concatenate,
    "gather": _gather,
    "scatter_add": _scatter_add,
    "matmul": _matmul,
    "conv2d": _conv2d,
    "conv2d_input_grad": _conv2d_input_grad,
    "conv2d_filter_grad": _conv2d_filter_grad,
    "max_pool2d": _pool,
    "avg_pool2d": _pool,
    "max_pool2d_select": _pool_pair("x"),
    "max_pool2d_scatter": _pool_pair("out"),
    "avg_pool2d_transpose": _avg_pool2d_transpose,
    "random_bits": _random_bits,
}


def test_every_primitive_has_a_rule_or_a_stated_reason():
    for name in set(P.REGISTRY) - {"iota"}:  # (no operands: never batched; see below)
        assert name in RULES or UNSUPPORTED.get(name), f"{name}: no batching rule, no reason"
        assert name in CASES, f"{name}: no batching test case"


def test_operandless_primitives_stay_unbatched():
    rows = np.arange(6.0).reshape(2, 3)
    got = fg.vmap(lambda x: x + P.iota(size=3, dtype=np.float64))(rows)
    np.testing.assert_array_equal(got, rows + np.arange(3.0))
    picked = fg.vmap(lambda x, i: x[fnp.arange(2), i])(rows.reshape(1, 2, 3), np.array([[2, 0]]))
    np.testing.assert_array_equal(picked, [[2.0, 3.0]])


@pytest.mark.parametrize("name", sorted(RULES))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_batching_rule_matches_a_loop(name, data):
    draw = data.draw
    makers, params = CASES[name](draw)
    size = draw(st.integers(1, 3))
    mask = draw(st.lists(st.booleans(), min_size=len(makers), max_size=len(makers)))
    if not any(mask):
        mask[draw(st.integers(0, len(makers) - 1))] = True
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    per_example = [[make(rng) for _ in range(size)] for make in makers]
    operands, in_axes = [], []
    for examples, batched in zip(per_example, mask):
        if not batched:
            operands.append(examples[0])
            in_axes.append(None)
            continue
        rank = np.ndim(examples[0])
        axis = draw(st.integers(-rank - 1, rank))  # negative axes too
        operands.append(np.moveaxis(np.stack(examples), 0, axis))
        in_axes.append(axis)
    prim = P.REGISTRY[name]
    expected = np.stack(
        [
            prim(*[ex[b] if m else ex[0] for ex, m in zip(per_example, mask)], **params)
            for b in range(size)
        ]
    )
    out_axis = draw(st.integers(-expected.ndim, expected.ndim - 1))
    got = fg.vmap(lambda *xs: prim(*xs, **params), in_axes=tuple(in_axes), out_axes=out_axis)(
        *operands
    )
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, np.moveaxis(expected, 0, out_axis), rtol=1e-12, atol=1e-12)


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
