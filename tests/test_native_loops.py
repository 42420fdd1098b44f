"""Scans the executor runs itself (compiler/nested.py, run_loop in executor.pyx): the
program holds a loop instruction, and its results are the NumPy reference's for every
shape of body the compiler takes (pass-through carries, repeated outputs, outputs that are
carries, constants, literal starts, integer carries, reversed, zero and one steps)."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.compiler.program import CompiledProgram
from funcgrad.reference import ReferenceProgram

L = fg.lax
rng = np.random.default_rng(0)
W = rng.normal(size=(3, 3)) * 0.5


def _rnn(h, xs):
    return L.scan(lambda h, x: (fnp.tanh(h @ W + x), fnp.sum(h)), h, xs)


def _pass_through(h, xs):  # a carry the body does not change, an output repeated
    def step(c, x):
        a, b = c
        y = a * x
        return (y, b), (y, y, b)

    return L.scan(step, (h, h * 2), xs)


def _literal_start(xs):
    return L.scan(lambda c, x: (c * 0.5 + fnp.sum(x), c), 0.0, xs)


def _int_carry(xs):
    def step(c, x):
        n, s = c
        return (n + 1, s + x * n), n

    return L.scan(step, (np.int32(0), fnp.zeros(3)), xs)


CASES = {
    "rnn": (_rnn, lambda n: (rng.normal(size=3), rng.normal(size=(n, 3)))),
    "pass_through": (_pass_through, lambda n: (rng.normal(size=3), rng.normal(size=(n, 3)))),
    "literal_start": (_literal_start, lambda n: (rng.normal(size=(n, 2)),)),
    "int_carry": (_int_carry, lambda n: (rng.normal(size=(n, 3)),)),
    "reversed": (
        lambda h, xs: L.scan(lambda h, x: (h * 0.9 + x, h), h, xs, reverse=True),
        lambda n: (rng.normal(size=2), rng.normal(size=(n, 2))),
    ),
    "grad": (
        fg.grad(lambda h, xs: fnp.sum(_rnn(h, xs)[1]) + fnp.sum(_rnn(h, xs)[0] ** 2)),
        lambda n: (rng.normal(size=3), rng.normal(size=(n, 3))),
    ),
}


def _kinds(program):
    return {ins.kind for ins in program.instructions}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("length", [0, 1, 2, 5])
def test_loop_instruction_matches_the_reference(name, length):
    fun, make = CASES[name]
    args = make(length)
    graph = fg.make_graph(fun)(*args)
    compiled = CompiledProgram(fg.core.inline_calls(graph))
    assert "loop" in _kinds(compiled)
    assert "python" not in _kinds(compiled)
    want = ReferenceProgram(graph)(graph.consts, args)
    got = compiled(graph.consts, args)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-13)
    again = compiled(graph.consts, args)  # (buffers reused across calls)
    for g, w in zip(again, want):
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-13)


def _counted_power(x, n, max_steps=None):
    def body(c):
        k, v, seen = c
        return k + 1, v * x + 0.1, fnp.maximum(seen, v)

    return L.while_loop(
        lambda c: c[0] < n, body, (0, fnp.ones(2) * 0.5, fnp.zeros(2)), max_steps=max_steps
    )


WHILE_CASES = {
    "counted": (lambda x, n: _counted_power(x, n), ()),
    "bounded": (lambda x, n: _counted_power(x, n, max_steps=3), ()),
    "threshold": (
        lambda x, n: L.while_loop(lambda c: fnp.sum(c) < n, lambda c: c * x, fnp.ones(3)),
        (),
    ),
    "grad_replay": (fg.grad(lambda x, n: fnp.sum(_counted_power(x, n)[1])), ()),
}


@pytest.mark.parametrize("name", sorted(WHILE_CASES))
@pytest.mark.parametrize("n", [0, 1, 4, 7])
def test_while_loop_instruction_matches_the_reference(name, n):
    fun, _ = WHILE_CASES[name]
    args = (np.float64(1.3), np.int64(n) if name != "threshold" else np.float64(n + 2.5))
    graph = fg.make_graph(fun)(*args)
    compiled = CompiledProgram(fg.core.inline_calls(graph))
    assert "while_loop" in _kinds(compiled)
    want = ReferenceProgram(graph)(graph.consts, args)
    for _ in range(2):
        got = compiled(graph.consts, args)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-13)


def _branches(x, y, i):
    return L.switch(
        i,
        [lambda a, b: (fnp.sin(a) * b, a), lambda a, b: (a**2 + b, b), lambda a, b: (b, a + 1.0)],
        x,
        y,
    )


@pytest.mark.parametrize("index", [-1, 0, 1, 2, 5])
def test_cond_instruction_matches_the_reference_and_runs_one_branch(index):
    args = (rng.normal(size=3), rng.normal(size=3), np.int32(index))
    graph = fg.make_graph(_branches)(*args)
    compiled = CompiledProgram(graph)
    assert "cond" in _kinds(compiled)
    want = ReferenceProgram(graph)(graph.consts, args)
    for g, w in zip(compiled(graph.consts, args), want):
        np.testing.assert_allclose(g, w, rtol=1e-14)
    # the branch not taken reads out of range: running it would raise
    table = np.arange(4.0)

    def guarded(i, k):
        return L.cond(k < 4, lambda k: fnp.take(table, k), lambda k: -1.0 * k, i)

    f = fg.jit(lambda i: guarded(i, i))
    assert float(f(np.int64(2))) == 2.0 and float(f(np.int64(99))) == -99.0


def test_bodies_the_executor_cannot_loop_over_stay_callbacks():
    # a NumPy-reference step (sort) in the body: the scan runs its body program from Python
    def f(xs):
        return L.scan(lambda c, x: (c + fnp.sort(x), None), fnp.zeros(3), xs)[0]

    xs = rng.normal(size=(4, 3))
    graph = fg.make_graph(f)(xs)
    program = CompiledProgram(graph)
    assert _kinds(program) == {"python"}
    np.testing.assert_allclose(program(graph.consts, [xs])[0], np.sort(xs, axis=1).sum(0))


def test_a_loop_is_listed_with_its_body():
    graph = fg.make_graph(_rnn)(np.zeros(3), np.ones((4, 3)))
    text = str(CompiledProgram(graph))
    assert "loop" in text and "scan of 4 steps" in text and "gemm_epilogue b" in text


def test_loops_inside_loop_bodies_run_in_the_executor_too():
    def f(x):
        def outer(c, _):
            inner = L.fori_loop(0, 3, lambda i, v: v * x + 1.0, c)
            grown = L.while_loop(lambda v: v < 50.0, lambda v: v * 2.0, inner)
            return grown, inner

        return L.scan(outer, 1.0, None, length=4)

    graph = fg.make_graph(f)(np.float64(0.9))
    program = CompiledProgram(graph)
    assert _kinds(program) == {"fill", "loop"}
    (loop,) = [ins for ins in program.instructions if ins.kind == "loop"]
    assert {ins.kind for ins in loop.body.instructions} >= {"loop", "while_loop"}
    want = ReferenceProgram(graph)(graph.consts, [np.float64(0.9)])
    for g, w in zip(program(graph.consts, [np.float64(0.9)]), want):
        np.testing.assert_allclose(g, w, rtol=1e-14)
