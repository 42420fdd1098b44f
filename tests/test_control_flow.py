"""fg.lax control flow: scan, map, fori_loop, while_loop, cond, switch.

The contract: each equals the Python loop or ``if`` it stands for (values, dtypes, shapes),
and so do its derivatives (grad, second order, jvp) and vmap, on both backends; the
equation holds its body as a sub-graph (the graph does not grow with the trip count), and
only the taken branch of a conditional runs.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import errors
from funcgrad.lax import conditionals, loops

L = fg.lax


@pytest.fixture(params=["compiled", "numpy"])
def backend(request, monkeypatch):
    monkeypatch.setenv("FUNCGRAD_BACKEND", request.param)
    return request.param


def _rnn_scan(w, h0, xs, reverse=False):
    def step(h, x):
        h = fnp.tanh(h @ w + x)
        return h, fnp.sum(h * h)

    return L.scan(step, h0, xs, reverse=reverse)


def _rnn_loop(w, h0, xs, reverse=False):
    h, ys = h0, []
    for x in xs[::-1] if reverse else xs:
        h = fnp.tanh(h @ w + x)
        ys.append(fnp.sum(h * h))
    ys = ys[::-1] if reverse else ys
    return h, fnp.stack(ys) if ys else fnp.zeros((0,), h0.dtype)


def _loss(run):
    def loss(w, h0, xs):
        h, ys = run(w, h0, xs)
        return fnp.sum(h) + fnp.sum(ys * fnp.arange(1.0, ys.shape[0] + 1))

    return loss


@settings(max_examples=25, deadline=None)
@given(
    length=st.integers(0, 6),
    hidden=st.integers(1, 4),
    reverse=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_scan_equals_the_unrolled_loop_in_value_and_gradient(length, hidden, reverse, seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(hidden, hidden)) * 0.5
    h0 = rng.normal(size=hidden)
    xs = rng.normal(size=(length, hidden))
    got = _rnn_scan(w, h0, xs, reverse)
    want = _rnn_loop(w, h0, xs, reverse)
    for g, e in zip(got, want):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)
        assert np.shape(g) == np.shape(e)
    loss_scan = _loss(lambda *a: _rnn_scan(*a, reverse))
    loss_loop = _loss(lambda *a: _rnn_loop(*a, reverse))
    for argnum in range(3):
        np.testing.assert_allclose(
            fg.grad(loss_scan, argnums=argnum)(w, h0, xs),
            fg.grad(loss_loop, argnums=argnum)(w, h0, xs),
            rtol=1e-10,
            atol=1e-12,
        )


def test_scan_derivatives_on_both_backends(backend):
    rng = np.random.default_rng(0)
    w, h0, xs = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3), rng.normal(size=(5, 3))
    loss_scan, loss_loop = _loss(_rnn_scan), _loss(_rnn_loop)
    np.testing.assert_allclose(loss_scan(w, h0, xs), loss_loop(w, h0, xs), rtol=1e-12)
    np.testing.assert_allclose(
        fg.jit(fg.grad(loss_scan))(w, h0, xs), fg.grad(loss_loop)(w, h0, xs), rtol=1e-10
    )
    # second order: the Hessian-vector product through the reverse scan
    v = rng.normal(size=(3, 3))

    def hvp(loss):
        return fg.jvp(lambda w: fg.grad(loss)(w, h0, xs), (w,), (v,))[1]

    np.testing.assert_allclose(hvp(loss_scan), hvp(loss_loop), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        fg.hessian(lambda h: loss_scan(w, h, xs))(h0),
        fg.hessian(lambda h: loss_loop(w, h, xs))(h0),
        rtol=1e-9,
        atol=1e-12,
    )
    # forward mode
    t = rng.normal(size=(5, 3))
    _, got = fg.jvp(lambda xs: loss_scan(w, h0, xs), (xs,), (t,))
    _, want = fg.jvp(lambda xs: loss_loop(w, h0, xs), (xs,), (t,))
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_scan_checks_gradients_against_finite_differences():
    rng = np.random.default_rng(1)
    w, h0, xs = rng.normal(size=(2, 2)) * 0.5, rng.normal(size=2), rng.normal(size=(4, 2))
    fg.testing.check_grads(_loss(_rnn_scan), (w, h0, xs), order=2)


@pytest.mark.parametrize("in_axes", [(0, None, None), (None, 0, None), (None, None, 0)])
def test_vmap_of_scan_equals_a_loop_over_examples(in_axes, backend):
    rng = np.random.default_rng(2)
    w, h0, xs = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3), rng.normal(size=(4, 3))
    args = [w, h0, xs]
    batched = [np.stack([a, a * 0.5 + 0.1, -a]) if ax == 0 else a for a, ax in zip(args, in_axes)]
    got = fg.vmap(lambda *a: _rnn_scan(*a), in_axes=in_axes)(*batched)
    for k in range(3):
        one = [b[k] if ax == 0 else b for b, ax in zip(batched, in_axes)]
        want = _rnn_loop(*one)
        np.testing.assert_allclose(got[0][k], want[0], rtol=1e-12)
        np.testing.assert_allclose(got[1][k], want[1], rtol=1e-12)
    # per-example gradients: vmap of grad through the scan
    grads = fg.vmap(fg.grad(_loss(_rnn_scan)), in_axes=in_axes)(*batched)
    for k in range(3):
        one = [b[k] if ax == 0 else b for b, ax in zip(batched, in_axes)]
        np.testing.assert_allclose(grads[k], fg.grad(_loss(_rnn_loop))(*one), rtol=1e-10)


def test_scan_pytrees_none_outputs_and_length_without_xs():
    def step(carry, _):
        return {"n": carry["n"] + 1, "acc": carry["acc"] * 2.0}, None

    carry, ys = L.scan(step, {"n": np.int32(0), "acc": np.ones(2, np.float32)}, None, length=3)
    assert ys is None
    assert carry["n"] == 3 and carry["n"].dtype == np.int32
    assert carry["acc"].dtype == np.float32
    np.testing.assert_array_equal(carry["acc"], [8.0, 8.0])
    # xs a pytree, outputs a tuple
    xs = {"a": np.arange(3.0), "b": np.ones((3, 2))}
    total, (p, q) = L.scan(lambda c, x: (c + x["a"], (x["a"] * 2, x["b"].sum())), 0.0, xs)
    assert float(total) == 3.0
    np.testing.assert_array_equal(p, [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(q, [2.0, 2.0, 2.0])


def test_scan_keeps_float32_and_a_python_scalar_carry_adopts_the_bodys_dtype():
    xs = np.ones(4, np.float32)
    carry, ys = L.scan(lambda c, x: (c + x, c * 2), 0.0, xs)
    assert carry.dtype == np.float32 and ys.dtype == np.float32
    assert carry == 4.0
    np.testing.assert_array_equal(ys, [0.0, 2.0, 4.0, 6.0])
    g = fg.grad(lambda xs: fnp.sum(L.scan(lambda c, x: (c + x * x, None), 0.0, xs)[0]))(xs)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, 2 * xs)


def test_the_graph_holds_one_body_whatever_the_length():
    def f(xs):
        return L.scan(lambda c, x: (c * x + 1.0, c), 1.0, xs)[0]

    small = fg.make_graph(f)(np.ones(3))
    large = fg.make_graph(f)(np.ones(3000))
    assert len(small.eqns) == len(large.eqns) == 1
    text = str(large)
    assert "scan[body={ lambda" in text and "length=3000" in text
    back = fg.make_graph(fg.grad(f))(np.ones(3000))
    assert len(back.eqns) < 20  # a forward and a reverse scan, not 3000 steps
    assert "subgraph cluster_" in large.to_dot()


def test_scan_errors_name_the_users_line():
    with pytest.raises(errors.ShapeError, match="keeps its structure, shapes") as info:
        L.scan(lambda c, x: (fnp.concatenate([c, x]), None), np.zeros(1), np.ones((3, 1)))
    assert "test_control_flow.py" in str(info.value)
    with pytest.raises(TypeError, match="structure"):
        L.scan(lambda c, x: ((c, c), None), 0.0, np.ones(3))
    with pytest.raises(errors.ShapeError, match="f64"):  # an int carry turned float
        L.scan(lambda c, x: (c + x, None), 0, np.ones(3))
    with pytest.raises(TypeError, match="must return a pair"):
        L.scan(lambda c, x: c + x, 0.0, np.ones(3))
    with pytest.raises(errors.ShapeError, match="must agree"):
        L.scan(lambda c, x: (c, None), 0.0, (np.ones(3), np.ones(4)))
    with pytest.raises(errors.ShapeError, match="length="):
        L.scan(lambda c, x: (c, None), 0.0, None)
    with pytest.raises(errors.ShapeError, match="leading axis"):
        L.scan(lambda c, x: (c, None), 0.0, np.float64(1.0))
    with pytest.raises(errors.ConcretizationError):  # Python control flow on a step's value
        L.scan(lambda c, x: (c + 1 if x > 0 else c, None), 0.0, np.ones(3))
    with pytest.raises(TypeError, match="pytree of arrays"):
        L.scan(lambda c, x: (c, None), "text", np.ones(3))


def test_map_and_fori_loop():
    np.testing.assert_array_equal(L.map(lambda x: x**2, np.arange(4.0)), [0.0, 1.0, 4.0, 9.0])
    assert int(L.fori_loop(0, 10, lambda i, s: s + i, 0)) == 45
    assert int(L.fori_loop(5, 2, lambda i, s: s + i, 7)) == 7  # an empty range
    # static bounds: a scan, differentiable in reverse mode
    f = lambda x: L.fori_loop(0, 4, lambda i, v: v * x + i, 1.0)  # noqa: E731
    graph = fg.make_graph(f)(2.0)
    assert [e.prim.name for e in graph.eqns] == ["scan"]
    x = 1.3
    assert np.isclose(f(x), _horner(x))
    np.testing.assert_allclose(
        fg.grad(f)(x), (_horner(x + 1e-6) - _horner(x - 1e-6)) / 2e-6, rtol=1e-7
    )

    # traced bounds: a while loop
    @fg.jit
    def count(n):
        return L.fori_loop(0, n, lambda i, s: s + i, np.int64(0))

    assert int(count(np.int64(5))) == 10
    assert "while_loop" in str(fg.make_graph(count)(np.int64(5)))


def _horner(x):
    v = 1.0
    for i in range(4):
        v = v * x + i
    return v


def _power_while(x, n=5, max_steps=None):
    def body(c):
        return c[0] + 1, c[1] * x + 0.1 * c[1] ** 2

    return L.while_loop(lambda c: c[0] < n, body, (0, 1.0), max_steps=max_steps)[1]


def _power_loop(x, n=5):
    v = 1.0
    for _ in range(n):
        v = v * x + 0.1 * v**2
    return v


@pytest.mark.parametrize("max_steps", [None, 5, 9])
def test_while_loop_derivatives_in_both_modes(max_steps, backend):
    x = 0.7
    f = lambda x: _power_while(x, max_steps=max_steps)  # noqa: E731
    np.testing.assert_allclose(f(x), _power_loop(x), rtol=1e-12)
    np.testing.assert_allclose(fg.grad(f)(x), fg.grad(_power_loop)(x), rtol=1e-10)
    np.testing.assert_allclose(fg.jit(fg.grad(f))(x), fg.grad(_power_loop)(x), rtol=1e-10)
    np.testing.assert_allclose(fg.jvp(f, (x,), (1.0,))[1], fg.grad(_power_loop)(x), rtol=1e-10)
    np.testing.assert_allclose(fg.grad(fg.grad(f))(x), fg.grad(fg.grad(_power_loop))(x), rtol=1e-9)


def test_while_loop_max_steps_stops_the_loop():
    np.testing.assert_allclose(_power_while(0.7, n=50, max_steps=3), _power_loop(0.7, 3))


@given(n=st.integers(0, 7), x=st.floats(0.2, 1.1))
@settings(max_examples=20, deadline=None)
def test_while_loop_gradient_for_any_trip_count(n, x):
    got = fg.grad(lambda x: _power_while(x, n))(x)
    np.testing.assert_allclose(got, fg.grad(lambda x: _power_loop(x, n))(x), rtol=1e-10, atol=1e-14)


def test_while_loop_gradient_wrt_init_and_closed_over_arrays():
    w = np.array([0.5, -0.3])

    def f(w, h):
        return fnp.sum(
            L.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, fnp.sin(c[1] * w)), (0, h))[1]
        )

    def g(w, h):
        for _ in range(3):
            h = fnp.sin(h * w)
        return fnp.sum(h)

    h = np.array([1.0, 2.0])
    for argnum in (0, 1):
        np.testing.assert_allclose(
            fg.grad(f, argnums=argnum)(w, h), fg.grad(g, argnums=argnum)(w, h), rtol=1e-12
        )


def test_vmap_of_while_loop_with_a_batched_condition_runs_until_all_are_done(backend):
    def grow(x):
        return L.while_loop(lambda c: c < 10.0, lambda c: c * x, 1.0)

    xs = np.array([2.0, 3.0, 1.5, 11.0])
    got = fg.vmap(grow)(xs)
    want = [float(grow(x)) for x in xs]
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(got, [16.0, 27.0, 1.5**6, 11.0])
    np.testing.assert_allclose(fg.vmap(fg.grad(grow))(xs), [fg.grad(grow)(x) for x in xs])


def test_while_loop_errors():
    with pytest.raises(TypeError, match="boolean scalar"):
        L.while_loop(lambda c: c, lambda c: c + 1.0, 1.0)
    with pytest.raises(errors.ShapeError, match="keeps its structure"):
        L.while_loop(lambda c: fnp.sum(c) < 3, lambda c: fnp.concatenate([c, c]), np.ones(1))
    with pytest.raises(ValueError, match="max_steps"):
        L.while_loop(lambda c: c < 1, lambda c: c + 1, 0, max_steps=-1)


def _piecewise(x, y):
    return L.cond(x > 0, lambda a, b: fnp.sin(a) * b, lambda a, b: a**2 + b, x, y)


def _piecewise_python(x, y):
    return fnp.sin(x) * y if x > 0 else x**2 + y


@pytest.mark.parametrize("x", [0.8, -1.5])
def test_cond_values_and_derivatives(x, backend):
    y = 1.7
    np.testing.assert_allclose(_piecewise(x, y), _piecewise_python(x, y))
    for argnum in (0, 1):
        want = fg.grad(_piecewise_python, argnums=argnum)(x, y)
        np.testing.assert_allclose(fg.grad(_piecewise, argnums=argnum)(x, y), want)
        np.testing.assert_allclose(fg.jit(fg.grad(_piecewise, argnums=argnum))(x, y), want)
    np.testing.assert_allclose(
        fg.grad(fg.grad(_piecewise))(x, y), fg.grad(fg.grad(_piecewise_python))(x, y)
    )
    np.testing.assert_allclose(
        fg.jvp(lambda x: _piecewise(x, y), (x,), (1.0,))[1],
        fg.grad(_piecewise_python)(x, y),
    )


def test_vmap_of_cond_batched_and_unbatched_predicates(backend):
    xs = np.array([0.8, -1.5, 2.0])
    got = fg.vmap(_piecewise, in_axes=(0, None))(xs, 1.7)
    np.testing.assert_allclose(got, [_piecewise_python(x, 1.7) for x in xs])
    graph = fg.make_graph(fg.vmap(_piecewise, in_axes=(0, None)))(xs, 1.7)
    assert "cond" not in {e.prim.name for e in graph.eqns}  # a batched index: a select
    ys = np.array([1.0, 2.0, 3.0])
    got = fg.vmap(_piecewise, in_axes=(None, 0))(0.8, ys)
    np.testing.assert_allclose(got, [_piecewise_python(0.8, y) for y in ys])
    graph = fg.make_graph(fg.vmap(_piecewise, in_axes=(None, 0)))(0.8, ys)
    assert "cond" in {e.prim.name for e in graph.eqns}  # an unbatched one stays a cond
    grads = fg.vmap(fg.grad(_piecewise), in_axes=(0, None))(xs, 1.7)
    np.testing.assert_allclose(grads, [fg.grad(_piecewise_python)(x, 1.7) for x in xs])


def test_only_the_taken_branch_runs(monkeypatch):
    ran = []
    program = conditionals.runtime.program

    def recording(graph):
        ran.append(graph)
        return program(graph)

    monkeypatch.setattr(conditionals.runtime, "program", recording)
    graph = fg.make_graph(_piecewise)(0.5, 1.0)
    (eqn,) = [e for e in graph.eqns if e.prim.name == "cond"]
    _piecewise(0.5, 1.0)
    _piecewise(-0.5, 1.0)
    assert ran == [eqn.params["branches"][1], eqn.params["branches"][0]]


def test_switch_clamps_its_index_and_checks_branches():
    branches = [lambda x: x + 1.0, lambda x: x * 10.0, lambda x: -x]
    assert [float(L.switch(i, branches, 2.0)) for i in (-3, 0, 1, 2, 9)] == [
        3.0,
        3.0,
        20.0,
        -2.0,
        -2.0,
    ]
    f = fg.jit(lambda i, x: L.switch(i, branches, x))
    assert float(f(np.int32(1), 2.0)) == 20.0
    assert float(fg.grad(lambda x: L.switch(1, branches, x))(2.0)) == 10.0
    # a Python scalar result yields to the other branch's dtype
    out = L.cond(True, lambda x: x, lambda x: 0.0, np.float32(1.0))
    assert out.dtype == np.float32
    with pytest.raises(errors.ShapeError, match="same shapes") as info:
        L.cond(True, lambda x: x, lambda x: fnp.stack([x, x]), 1.0)
    assert "test_control_flow.py" in str(info.value)
    with pytest.raises(TypeError, match="structure"):
        L.cond(True, lambda x: (x, x), lambda x: x, 1.0)
    with pytest.raises(TypeError, match="integer scalar"):
        L.switch(1.5, branches, 1.0)
    with pytest.raises(TypeError, match="scalar"):
        L.cond(np.ones(2) > 0, lambda x: x, lambda x: x, 1.0)


def test_control_flow_composes_with_custom_vjp_and_checkpoint():
    @fg.custom_vjp
    def clip_grad(x):
        return x

    clip_grad.defvjp(lambda x: (x, None), lambda _, g: (fnp.clip(g, -0.1, 0.1),))

    def f(x):
        return L.scan(
            lambda c, _: (fg.checkpoint(fnp.sin)(clip_grad(c)) * 2.0, None), x, None, length=3
        )[0]

    def unrolled(x):
        for _ in range(3):
            x = fnp.sin(clip_grad(x)) * 2.0
        return x

    np.testing.assert_allclose(fg.grad(f)(0.4), fg.grad(unrolled)(0.4))
    np.testing.assert_allclose(
        fg.vmap(fg.grad(f))(np.array([0.4, 1.0])), [fg.grad(unrolled)(x) for x in (0.4, 1.0)]
    )


def test_nested_loops_and_conditionals():
    def f(x):
        def outer(c, _):
            inner = L.fori_loop(
                0, 3, lambda i, v: L.cond(i % 2 == 0, lambda v: v * x, lambda v: v + x, v), c
            )
            return inner, inner

        return fnp.sum(L.scan(outer, 1.0, None, length=2)[1])

    def g(x):
        c, total = 1.0, 0.0
        for _ in range(2):
            for i in range(3):
                c = c * x if i % 2 == 0 else c + x
            total = total + c
        return total

    np.testing.assert_allclose(f(1.3), g(1.3))
    np.testing.assert_allclose(fg.grad(f)(1.3), fg.grad(g)(1.3))
    np.testing.assert_allclose(fg.grad(fg.grad(f))(1.3), fg.grad(fg.grad(g))(1.3))


def test_loop_primitives_are_records_with_multiple_results():
    for prim in (loops.scan_p, loops.while_p, conditionals.cond_p):
        assert prim.multiple_results
        assert prim.vjp is not None and prim.jvp is not None and prim.batch is not None


def test_while_loop_gradients_against_finite_differences():
    w = np.array([0.4, -0.2, 0.3])

    def f(w, h):
        def body(c):
            n, h = c
            return n + 1, fnp.tanh(h * w + 0.1 * fnp.sum(h))

        return fnp.sum(L.while_loop(lambda c: c[0] < 4, body, (0, h))[1] ** 2)

    h = np.array([0.5, 1.0, -0.7])
    fg.testing.check_grads(f, (w, h), order=2, modes=("rev",))
    fg.testing.check_grads(lambda w, h: f(w, h) * 1.0, (w, h), order=1, modes=("fwd",))


def test_a_deliberately_wrong_custom_rule_reaches_the_gradient_through_scan():
    @fg.custom_vjp
    def double(x):
        return 2.0 * x

    double.defvjp(lambda x: (2.0 * x, None), lambda _, g: (3.0 * g,))  # (3, not 2)

    f = lambda x: L.scan(lambda c, _: (double(c), None), x, None, length=2)[0]  # noqa: E731
    assert float(f(1.0)) == 4.0
    assert float(fg.grad(f)(1.0)) == 9.0
    assert float(fg.jit(fg.grad(f))(1.0)) == 9.0
