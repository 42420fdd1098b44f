"""Scheduling (funcgrad/compiler/schedule.py): fused kernels joined to GEMMs as their
epilogues, and loops over images (consecutive per-image steps run a chunk of images at a
time); either must compute what the instructions compute one after the other."""

import numpy as np
import pytest
from compiled import assert_same, run_both
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.compiler import schedule
from funcgrad.compiler.program import CompiledProgram
from funcgrad.reference import ReferenceProgram

TOL = {np.float64: 1e-12, np.float32: 1e-5}


@pytest.fixture
def restore_threads():
    n = fg.get_num_threads()
    yield
    fg.set_num_threads(n)


def compiled_and_reference(fun, *args):
    graph = fg.make_graph(fun)(*args)
    flat = fg.tree.leaves(args)
    program = CompiledProgram(graph)
    return program, program(graph.consts, flat), ReferenceProgram(graph)(graph.consts, flat)


def assert_close(got, expected, dtype):
    for g, e in zip(got, expected):
        assert g.shape == e.shape and g.dtype == e.dtype
        scale = float(np.max(np.abs(e), initial=1.0))
        np.testing.assert_allclose(g, e, rtol=TOL[dtype], atol=TOL[dtype] * scale)


def loops(program):
    return [ins for ins in program.instructions if ins.kind == "images"]


def cnn_loss(p, x):
    h = fg.nn.leaky_relu(fg.nn.conv2d(x, p["w1"], p["b1"], padding="SAME"))
    h = fg.nn.max_pool2d(h, 2)
    h = fnp.tanh(fg.nn.conv2d(h, p["w2"], p["b2"], padding=1, stride=2))
    return fnp.mean(fnp.reshape(h, (h.shape[0], -1)) ** 2)


def cnn_params(rng, c, dtype):
    return {
        "w1": rng.standard_normal((4, c, 3, 3)).astype(dtype),
        "b1": rng.standard_normal(4).astype(dtype),
        "w2": rng.standard_normal((3, 4, 3, 3)).astype(dtype),
        "b2": rng.standard_normal(3).astype(dtype),
    }


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 9),
    c=st.integers(1, 3),
    hw=st.sampled_from([(4, 4), (6, 10), (9, 7)]),
    pool=st.sampled_from(["max", "max3", "avg"]),
    dilation=st.sampled_from([1, 2]),
    chunk_bytes=st.sampled_from([1, 4096, 1 << 19]),
    n_threads=st.sampled_from([1, 2, 3]),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_loops_compute_what_the_steps_do(n, c, hw, pool, dilation, chunk_bytes, n_threads, dtype):
    """A CNN's gradient, whose forward and backward run as loops (one loop, when nothing
    between them works on whole batches), against the reference: any batch, chunks that do
    not divide it, 1-3 threads, pooling kinds (the 2x2 fast path, a padded 3x3 window, the
    average) and dilated convolutions."""
    rng = np.random.default_rng(n * 100 + c)
    params = cnn_params(rng, c, dtype)
    x = rng.standard_normal((n, c, *hw)).astype(dtype)
    x[0, 0, 0, :2] = 1.0  # a tie in a pooling window

    def loss(p, x):
        h = fg.nn.conv2d(x, p["w1"], p["b1"], padding="SAME", dilation=dilation)
        h = fg.nn.leaky_relu(h)
        if pool == "max":
            h = fg.nn.max_pool2d(h, 2)
        elif pool == "max3":
            h = fg.nn.max_pool2d(h, 3, stride=2, padding=1)
        else:
            h = fg.nn.avg_pool2d(h, 2)
        h = fnp.tanh(fg.nn.conv2d(h, p["w2"], p["b2"], padding=1, stride=2))
        return fnp.mean(fnp.reshape(h, (h.shape[0], -1)) ** 2)

    old_chunk, old_min, old_threads = (
        schedule.CHUNK_BYTES,
        schedule.THREADED_MIN_BYTES,
        fg.get_num_threads(),
    )
    schedule.CHUNK_BYTES, schedule.THREADED_MIN_BYTES = chunk_bytes, 0
    fg.set_num_threads(n_threads)
    try:
        program, got, expected = compiled_and_reference(fg.value_and_grad(loss), params, x)
    finally:
        schedule.CHUNK_BYTES, schedule.THREADED_MIN_BYTES = old_chunk, old_min
        fg.set_num_threads(old_threads)
    assert_close(got, expected, dtype)
    found = loops(program)
    assert found and all(loop.n == n for loop in found)
    assert all(loop.threads == min(n_threads, n) for loop in found)
    if chunk_bytes == 1:
        assert all(loop.chunk == 1 for loop in found)
    kernels = {step.kernel for loop in found for step in loop.steps if step.kind == "conv"}
    pooling = "avg_pool2d" if pool == "avg" else "max_pool2d_index"
    assert {"conv2d", pooling, "conv2d_filter_grad"} <= kernels


@pytest.mark.parametrize("how", ["max", "min", "sum"])
def test_reductions_over_the_images_are_combined_across_threads(how, restore_threads, monkeypatch):
    """Reductions over the images (per channel) accumulate per thread and are combined after
    the loop; a step reading one waits for the loop to end."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((37, 2, 8, 8))
    w = rng.standard_normal((3, 2, 3, 3))
    reduce = {"max": fnp.max, "min": fnp.min, "sum": fnp.sum}[how]

    def f(x, w):
        t = fnp.tanh(fg.nn.conv2d(x, w, padding=1))
        per_channel = reduce(t, axis=(0, 2, 3), keepdims=True)
        return [per_channel, fg.nn.avg_pool2d(t, 2) * per_channel]

    monkeypatch.setattr(schedule, "THREADED_MIN_BYTES", 0)
    monkeypatch.setattr(schedule, "CHUNK_BYTES", 20000)  # a few images at a time
    fg.set_num_threads(2)
    program, got, expected = compiled_and_reference(f, x, w)
    assert_close(got, expected, np.float64)
    (loop,) = loops(program)  # conv, tanh + reduction, pool; the product reads the result
    assert [step.kind for step in loop.steps] == ["conv", "fused", "conv"]
    assert loop.threads == 2 and 1 < loop.chunk < 19
    assert program.instructions[-1].kind == "fused"


def test_no_loop_when_every_value_leaves_it():
    """Steps whose results are all needed afterwards gain nothing from a loop."""
    x = np.ones((4, 1, 6, 6))
    w = np.ones((2, 1, 3, 3))
    program, got, expected = compiled_and_reference(
        lambda x, w: [fg.nn.conv2d(x, w), fnp.tanh(fg.nn.conv2d(x, w))], x, w
    )
    assert_close(got, expected, np.float64)
    assert not loops(program)


def test_program_listing_shows_the_steps_of_a_loop():
    rng = np.random.default_rng(0)
    params, x = cnn_params(rng, 1, np.float32), rng.standard_normal((8, 1, 8, 8))
    graph = fg.make_graph(fg.value_and_grad(cnn_loss))(params, x.astype(np.float32))
    text = str(CompiledProgram(graph))
    assert "images" in text and "8 images" in text
    assert "max_pool2d_index" in text and "conv2d_filter_grad" in text


def test_profile_times_the_steps_of_a_loop():
    rng = np.random.default_rng(0)
    params = cnn_params(rng, 1, np.float64)
    x = rng.standard_normal((16, 1, 12, 12))
    graph = fg.make_graph(fg.value_and_grad(cnn_loss))(params, x)
    program = CompiledProgram(graph)
    rows = program.profile(graph.consts, fg.tree.leaves((params, x)), repeats=3)
    loop_time = sum(t for t, kind, _ in rows if kind == "images")
    inside = [(t, kind) for t, kind, _ in rows if kind.startswith("images/")]
    assert len(inside) == sum(len(p.steps) for p in loops(program))
    assert {kind for _, kind in inside} == {"images/conv", "images/fused"}
    assert all(t > 0 for t, _ in inside) and sum(t for t, _ in inside) <= loop_time


# ---------------------------------------------------------------- GEMM epilogues


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_epilogues(dtype):
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((37, 29)).astype(dtype), rng.standard_normal((29, 23)).astype(dtype)
    b = rng.standard_normal(23).astype(dtype)
    fused = [  # a kernel over exactly the GEMM's output runs as its epilogue
        lambda x, w, b: fg.nn.leaky_relu(x @ w + b),
        lambda x, w, b: fg.nn.relu(fnp.transpose(x) @ fnp.tanh(x @ w)),  # a transposed A
        lambda x, w, b: fnp.tanh(x @ fnp.transpose(fnp.transpose(w) * 2.0)) > b,  # bool out
        lambda x, w, b: (x @ w, (x @ w) * b),  # the GEMM's result is an output too
        lambda x, w, b: fnp.tanh(fnp.stack([x, x]) @ w),  # leading axes merged into M
    ]
    apart = [  # a reduction, or a batched GEMM: the kernel runs after the GEMM
        lambda x, w, b: fnp.sum(fnp.tanh(x @ w), axis=0),
        lambda x, w, b: fnp.tanh(fnp.stack([x, x]) @ fnp.stack([w, w * 2.0])),
    ]
    for funs, joined in ((fused, True), (apart, False)):
        for f in funs:
            program = CompiledProgram(fg.make_graph(f)(x, w, b))
            assert ("gemm_epilogue" in str(program)) == joined, str(program)
            assert_same(*run_both(f, x, w, b), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_updates_join_their_gradients_gemm(dtype):
    """An SGD update runs last in a step, after the whole backward pass; it moves up to
    the GEMM computing its gradient, as that GEMM's epilogue, when nothing it reads is
    computed later. One that waits for a later value stays where it is."""
    rng = np.random.default_rng(9)
    x, w1 = rng.standard_normal((16, 8)).astype(dtype), rng.standard_normal((8, 6)).astype(dtype)
    w2 = rng.standard_normal((6, 3)).astype(dtype)

    def loss(ws, x):
        w1, w2 = ws
        return fnp.sum(fnp.tanh(fnp.tanh(x @ w1) @ w2) ** 2)

    def sgd(ws, x):
        g1, g2 = fg.grad(loss)(ws, x)
        return w1 - 0.1 * g1, w2 - 0.1 * g2

    def late(ws, x):  # w2's update reads a scalar computed after its gradient's GEMM
        g1, g2 = fg.grad(loss)(ws, x)
        return w1 - 0.1 * g1, w2 - fnp.sum(g1) * g2

    for step, kinds in ((sgd, ["gemm_epilogue"] * 2), (late, ["gemm_epilogue", "fused"])):
        program = CompiledProgram(fg.make_graph(step)((w1, w2), x))
        updates = [ins.kind for ins in program.instructions if "[mul sub]" in str(ins)]
        assert updates == kinds, str(program)
        assert_same(*run_both(step, (w1, w2), x), dtype)
