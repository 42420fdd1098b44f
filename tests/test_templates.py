"""Whole-kernel templates (funcgrad/compiler/templates.py): the fused kernels the executor runs
in one pass must compute exactly what the register machine computes for them."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.compiler import lower
from funcgrad.compiler.lower import CompiledProgram
from funcgrad.compiler.templates import match
from funcgrad.reference import ReferenceProgram

TOL = {np.float64: 1e-12, np.float32: 1e-5}
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30]


def templates(program):
    """The template kinds of a program's fused kernels (loops and epilogues included)."""
    found = []
    for kind, p in program._steps:
        steps = (
            p.steps if kind == "images" else [("fused", p[1])] if kind == "gemm_epilogue" else []
        )
        for k, q in steps or [(kind, p)]:
            hit = match(*q[1:]) if k == "fused" else None
            found += [hit[0]] if hit else []
    return sorted(found)


def run(fun, args, use_templates=True):
    graph = fg.make_graph(fun)(*args)
    with pytest.MonkeyPatch.context() as patch:
        if not use_templates:  # the register machine only
            patch.setattr(lower, "match_template", lambda *a: None)
        program = CompiledProgram(graph)
    return program, program(graph.consts, fg.tree.leaves(args))


def activation(slope):
    if slope is None:
        return fg.nn.relu
    return lambda x: fg.nn.leaky_relu(x, slope)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(0, 9), min_size=1, max_size=4),
    bias_axis=st.integers(-1, 3),
    slope=st.sampled_from([None, 0.01, 0.2, 0.0, -1.5]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**31),
)
def test_activation_templates_compute_what_the_register_machine_does(
    shape, bias_axis, slope, dtype, seed
):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[: len(SPECIAL)] = SPECIAL[: x.size]
    # A bias along one axis (broadcast), or none.
    axis = bias_axis if bias_axis < len(shape) else None
    b_shape = (
        [shape[axis] if k == axis else 1 for k in range(len(shape))] if axis is not None else None
    )
    b = rng.standard_normal(b_shape or [1]).astype(dtype)
    w = rng.standard_normal((shape[-1], 3)).astype(dtype)
    act = activation(slope)

    def loss(x, b, w):  # a GEMM between the activation and its gradient, as in a network
        h = act(x + b) if b_shape else act(x)
        return fnp.sum(fnp.sin(fnp.reshape(h, (int(np.prod(shape[:-1])), shape[-1])) @ w))

    reduce_axes = tuple(k for k in range(len(shape)) if k != axis)

    def step(x, b, w):  # the forward with its mask, the backward with the bias gradient
        g = fg.grad(lambda x, b: loss(x, b, w), argnums=(0, 1))(x, b)
        return act(x + b) if b_shape else act(x), g, fnp.sum(g[0], axis=reduce_axes)

    program, got = run(step, (x, b, w))
    _, machine = run(step, (x, b, w), use_templates=False)
    for t, m in zip(got, machine):
        np.testing.assert_array_equal(t, m)  # the same operations: bit for bit, NaN for NaN
    graph = fg.make_graph(step)(x, b, w)
    with np.errstate(invalid="ignore"):  # (sin and GEMMs of the infinities: NumPy's warnings)
        expected = ReferenceProgram(graph)(graph.consts, fg.tree.leaves((x, b, w)))
    for t, e in zip(got, expected):
        np.testing.assert_allclose(t, e, rtol=TOL[dtype], atol=TOL[dtype])
    if x.size:
        assert templates(program) == [1, 2], program


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [None, 0.01])
def test_per_channel_bias_runs_cross_block_boundaries(dtype, slope):
    # A conv-like bias, constant along each 13x17 plane: the executor walks those runs with
    # one bias value each, and its blocks of elements end in the middle of a run.
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 5, 13, 17)).astype(dtype)
    b = rng.standard_normal((5, 1, 1)).astype(dtype)
    act = activation(slope)
    f = lambda x, b: (act(x + b), x + b > 0)  # noqa: E731
    program, got = run(f, (x, b))
    _, machine = run(f, (x, b), use_templates=False)
    assert templates(program) == [1], program
    for t, m in zip(got, machine):
        np.testing.assert_array_equal(t, m)
    np.testing.assert_array_equal(got[1], x + b > 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_templates_overwrite_the_gemm_output_they_read(dtype):
    # A GEMM epilogue writes its result over the GEMM's: every element is read first.
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((67, 33)).astype(dtype), rng.standard_normal((33, 45)).astype(dtype)
    b = rng.standard_normal(45).astype(dtype)
    f = lambda x, w, b: fg.nn.leaky_relu(x @ w + b, 0.1)
    graph = fg.make_graph(f)(x, w, b)
    program = CompiledProgram(graph)
    assert "gemm_epilogue" in str(program) and templates(program) == [1], program
    got = program(graph.consts, [x, w, b])[0]
    expected = ReferenceProgram(graph)(graph.consts, [x, w, b])[0]
    np.testing.assert_allclose(got, expected, rtol=TOL[dtype], atol=TOL[dtype] * 10)


def test_the_cnn_steps_kernels_run_as_templates():
    # Both activations' forward kernels and both gradients, in the loops over images, and
    # the dense layer's bias + leaky_relu epilogue.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
    params = {
        "w1": rng.standard_normal((4, 1, 3, 3)).astype(np.float32),
        "b1": np.zeros(4, np.float32),
        "w2": rng.standard_normal((4, 4, 3, 3)).astype(np.float32),
        "b2": np.zeros(4, np.float32),
        "w3": rng.standard_normal((64, 10)).astype(np.float32),
        "b3": np.zeros(10, np.float32),
        "w4": rng.standard_normal((10, 3)).astype(np.float32),
    }

    def loss(p, x):
        h = fg.nn.leaky_relu(fg.nn.conv2d(x, p["w1"], p["b1"], padding="SAME"))
        h = fg.nn.max_pool2d(h, 2)
        h = fg.nn.leaky_relu(fg.nn.conv2d(h, p["w2"], p["b2"], padding="SAME"))
        h = fg.nn.leaky_relu(fnp.reshape(h, (4, -1)) @ p["w3"] + p["b3"])
        return fnp.sum(fnp.sin(h @ p["w4"]))

    program, _ = run(fg.grad(loss), (params, x))
    assert templates(program) == [1, 1, 1, 2, 2, 2], program
