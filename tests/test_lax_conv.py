"""fg.lax.conv_general_dilated: XLA's convolution with JAX's signature, its gradients, its
batching, and the three 2-D forms the compiled kernels take."""

import numpy as np
import pytest
from conv_reference import ref_conv_general_dilated
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.compiler.program import CompiledProgram
from funcgrad.errors import ShapeError
from funcgrad.testing import check_grads

SETTINGS = settings(max_examples=40, deadline=None)
LAYOUTS = {
    1: [("NCH", "OIH", "NCH"), ("NHC", "HIO", "NHC"), ("CNH", "IOH", "HNC")],
    2: [("NCHW", "OIHW", "NCHW"), ("NHWC", "HWIO", "NHWC"), ("NCHW", "HWIO", "NHWC")],
    3: [("NCDHW", "OIDHW", "NCDHW"), ("NDHWC", "DHWIO", "NDHWC")],
}


def _layout(shape_of_roles, spec):
    """The operand shape for a layout string, from sizes by role letter."""
    return tuple(shape_of_roles[c] for c in spec)


@st.composite
def convolutions(draw):
    """(x, w, keyword arguments, dims as permutations) of a valid convolution."""
    nd = draw(st.integers(1, 3))
    lhs_l, rhs_l, out_l = draw(st.sampled_from(LAYOUTS[nd]))
    groups = draw(st.sampled_from([1, 1, 2]))
    batch_groups = 1 if groups > 1 else draw(st.sampled_from([1, 1, 2]))
    spatial = [c for c in rhs_l if c not in "OI"]
    window = {c: draw(st.integers(1, 3)) for c in spatial}
    strides = [draw(st.integers(1, 2)) for _ in spatial]
    lhs_dil = [draw(st.integers(1, 2)) for _ in spatial]
    rhs_dil = [draw(st.integers(1, 2)) for _ in spatial]
    padding = draw(
        st.sampled_from(["SAME", "VALID", "SAME_LOWER"])
        | st.lists(st.tuples(st.integers(-1, 2), st.integers(-1, 2)), min_size=nd, max_size=nd)
    )
    sizes = {c: (window[c] - 1) * d + 1 + draw(st.integers(0, 3)) for c, d in zip(spatial, rhs_dil)}
    n = draw(st.integers(1, 2)) * batch_groups
    c_in = draw(st.integers(1, 2)) * groups
    o = draw(st.integers(1, 2)) * groups * batch_groups
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal(_layout({"N": n, "C": c_in, **sizes}, lhs_l))
    w = rng.standard_normal(_layout({"O": o, "I": c_in // groups, **window}, rhs_l))
    kwargs = dict(
        window_strides=strides,
        padding=padding,
        lhs_dilation=lhs_dil,
        rhs_dilation=rhs_dil,
        dimension_numbers=(lhs_l, rhs_l, out_l),
        feature_group_count=groups,
        batch_group_count=batch_groups,
    )
    return x, w, kwargs


def _reference(x, w, kwargs):
    """The definition, with the padding and dimension numbers normalized by fg.lax."""
    dims = fg.lax.conv_dimension_numbers(x.shape, w.shape, kwargs["dimension_numbers"])
    padding = kwargs["padding"]
    if isinstance(padding, str):
        in_shape = [
            (x.shape[a] - 1) * d + 1 for a, d in zip(dims.lhs_spec[2:], kwargs["lhs_dilation"])
        ]
        win = [(w.shape[a] - 1) * d + 1 for a, d in zip(dims.rhs_spec[2:], kwargs["rhs_dilation"])]
        padding = fg.lax.padtype_to_pads(in_shape, win, kwargs["window_strides"], padding)
    return ref_conv_general_dilated(
        x,
        w,
        kwargs["window_strides"],
        padding,
        kwargs["lhs_dilation"],
        kwargs["rhs_dilation"],
        tuple(dims),
        kwargs["feature_group_count"],
        kwargs["batch_group_count"],
    )


def _fits(x, w, kwargs):
    try:
        return _reference(x, w, kwargs).size > 0
    except ValueError:  # negative output sizes: padding crops more than the input holds
        return False


@SETTINGS
@given(convolutions())
def test_matches_the_definition_eager_and_compiled(case):
    x, w, kwargs = case
    try:
        expected = _reference(x, w, kwargs)
    except ValueError:
        with pytest.raises(fg.ShapeError):
            fg.lax.conv_general_dilated(x, w, **kwargs)
        return
    got = fg.lax.conv_general_dilated(x, w, **kwargs)
    assert got.shape == expected.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    jitted = fg.jit(lambda x, w: fg.lax.conv_general_dilated(x, w, **kwargs))(x, w)
    np.testing.assert_allclose(jitted, expected, rtol=1e-10, atol=1e-10)


@settings(max_examples=15, deadline=None)
@given(convolutions())
def test_gradients_match_finite_differences_to_second_order(case):
    x, w, kwargs = case
    if not _fits(x, w, kwargs):
        return
    probe = np.random.default_rng(0).standard_normal(_reference(x, w, kwargs).shape)

    def loss(x, w):
        return fnp.sum(fnp.tanh(fg.lax.conv_general_dilated(x, w, **kwargs)) * probe)

    check_grads(loss, (x, w), order=2)


@settings(max_examples=15, deadline=None)
@given(convolutions(), st.integers(1, 3), st.booleans())
def test_vmap_matches_a_loop(case, batch, kernel_batched):
    x, w, kwargs = case
    if not _fits(x, w, kwargs):
        return
    xs = np.stack([x + i for i in range(batch)])
    ws = np.stack([w * (i + 1) for i in range(batch)]) if kernel_batched else w

    def conv(x, w):
        return fg.lax.conv_general_dilated(x, w, **kwargs)

    got = fg.vmap(conv, in_axes=(0, 0 if kernel_batched else None))(xs, ws)
    expected = [_reference(xs[i], ws[i] if kernel_batched else w, kwargs) for i in range(batch)]
    np.testing.assert_allclose(got, np.stack(expected), rtol=1e-10, atol=1e-10)


def test_layouts_name_the_same_convolution():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    nchw = fg.lax.conv_general_dilated(x, w, (2, 1), "SAME", rhs_dilation=(1, 2))
    nhwc = fg.lax.conv_general_dilated(
        x.transpose(0, 2, 3, 1),
        w.transpose(2, 3, 1, 0),
        (2, 1),
        "SAME",
        rhs_dilation=(1, 2),
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )
    np.testing.assert_allclose(nhwc, nchw.transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        fg.lax.conv(x, w, (2, 1), "VALID"), fg.nn.conv2d(x, w, stride=(2, 1))
    )


def test_padtype_to_pads_gives_ceil_of_size_over_stride():
    for n in range(1, 9):
        for k in range(1, 4):
            for s in range(1, 4):
                for mode in ("SAME", "SAME_LOWER"):
                    ((lo, hi),) = fg.lax.padtype_to_pads((n,), (k,), (s,), mode)
                    assert (n + lo + hi - k) // s + 1 == -(-n // s)
                    assert abs(lo - hi) <= 1 and (lo <= hi) == (mode == "SAME" or lo == hi)


def _conv_loss(stride, padding, dilation, dtype=np.float32):
    def loss(x, w):
        y = fg.nn.conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
        return fnp.sum(fnp.tanh(y) ** 2)

    return loss


@pytest.mark.parametrize(
    "stride, padding, dilation",
    [(1, "SAME", 1), (2, 1, 1), ((2, 3), ((0, 2), (1, 0)), (1, 2)), (3, 0, 2), (2, "VALID", 1)],
)
def test_a_conv_step_runs_on_the_three_kernels(stride, padding, dilation):
    """The gradient's two convolutions (the flipped-kernel one and the batch/feature
    exchanged one) are lowered to col2im and the filter-gradient kernel; no step of the
    program calls a NumPy reference, and the results match the reference interpreter."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 11, 10)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    step = fg.value_and_grad(_conv_loss(stride, padding, dilation), argnums=(0, 1))
    text = str(CompiledProgram(fg.make_graph(step)(x, w)))
    assert "NumPy reference" not in text
    for kernel in ("conv2d ", "conv2d_input_grad", "conv2d_filter_grad"):
        assert kernel in text
    (value, grads) = fg.jit(step)(x, w)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    ref_value, ref_grads = step(x64, w64)
    np.testing.assert_allclose(value, ref_value, rtol=1e-4)
    for got, expected in zip(grads, ref_grads):
        np.testing.assert_allclose(got, expected, rtol=2e-3, atol=2e-3 * np.abs(expected).max())


def test_forms_without_a_kernel_run_the_reference_and_say_so():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 6, 6, 3)), rng.standard_normal((3, 3, 3, 4))
    kwargs = dict(padding="SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def f(x, w):
        return fg.lax.conv_general_dilated(x, w, (1, 1), **kwargs)

    text = str(CompiledProgram(fg.make_graph(f)(x, w)))
    assert "conv_general_dilated (NumPy reference" in text
    np.testing.assert_allclose(fg.jit(f)(x, w), f(x, w), rtol=1e-12)


def test_a_transposed_convolution_by_lhs_dilation():
    """ConvTranspose as users write it with lax (lhs_dilation = the stride, flipped kernel):
    the kernels take it when the kernel is flipped in the graph."""
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 4, 5, 5)), rng.standard_normal((4, 3, 3, 3))

    def up(x, w):
        return fg.lax.conv_general_dilated(
            x,
            fnp.flip(w, axis=(2, 3)),
            (1, 1),
            ((2, 2), (2, 2)),
            lhs_dilation=(2, 2),
            dimension_numbers=((0, 1, 2, 3), (1, 0, 2, 3), (0, 1, 2, 3)),
        )

    got = fg.jit(up)(x, w)
    assert got.shape == (2, 3, 11, 11)
    expected = ref_conv_general_dilated(
        x,
        w[:, :, ::-1, ::-1],
        (1, 1),
        ((2, 2), (2, 2)),
        (2, 2),
        (1, 1),
        ((0, 1, 2, 3), (1, 0, 2, 3), (0, 1, 2, 3)),
        1,
        1,
    )
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    text = str(CompiledProgram(fg.make_graph(up)(x, w)))
    assert "conv2d_input_grad" in text and "NumPy reference" not in text


def _raises_here(exc, pattern, thunk):
    with pytest.raises(exc, match=pattern) as info:
        thunk()
    assert f"test_lax_conv.py:{thunk.__code__.co_firstlineno}" in str(info.value)


def test_bad_arguments_are_named_at_the_callers_line():
    x, w = np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3))
    conv = fg.lax.conv_general_dilated
    _raises_here(
        fg.ShapeError,
        "layout 'NHWD'",
        lambda: conv(x, w, (1, 1), "SAME", dimension_numbers=("NHWD", "OIHW", "NCHW")),
    )
    _raises_here(fg.ShapeError, "window_strides must be 2 ints", lambda: conv(x, w, (1,), "SAME"))
    _raises_here(
        fg.ShapeError,
        "rhs_dilation must be 2 ints >= 1",
        lambda: conv(x, w, (1, 1), "SAME", rhs_dilation=(0, 1)),
    )
    _raises_here(fg.ShapeError, "padding must be a name or 2", lambda: conv(x, w, (1, 1), [(1, 1)]))
    _raises_here(ValueError, "padding must be 'SAME'", lambda: conv(x, w, (1, 1), "FULL"))
    _raises_here(
        fg.ShapeError,
        "2 features but the kernel takes 1",
        lambda: conv(x, np.ones((3, 1, 3, 3)), (1, 1), "SAME"),
    )
    _raises_here(
        fg.ShapeError, "crops more than the input", lambda: conv(x, w, (1, 1), [(-4, -4), (0, 0)])
    )
    _raises_here(fg.ShapeError, "same rank", lambda: conv(x, w[0], (1, 1), "SAME"))


@pytest.mark.parametrize(
    "dims,w_shape",
    [
        (("NHWC", "HWIO", "NHWC"), (3, 2, 3, 4)),
        (("NCHW", "OIHW", "NCHW"), (4, 3, 2, 3)),
        (("NWC", "WIO", "NWC"), (3, 2, 5)),
    ],
)
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_transpose_with_transposed_kernel_is_the_convolutions_input_gradient(
    dims, w_shape, stride
):
    rng = np.random.default_rng(stride)
    w = rng.normal(size=w_shape)
    lhs, rhs, _ = dims
    kernel = {c: w_shape[rhs.index(c)] for c in rhs if c not in "IO"}
    # an input every window position fits exactly: 3 outputs along each spatial axis
    sizes = {"N": 2, "C": w_shape[rhs.index("I")]}
    sizes.update({c: 2 * stride + k for c, k in kernel.items()})
    x = rng.normal(size=tuple(sizes[c] for c in lhs))
    strides = (stride,) * len(kernel)

    def conv(x):
        return fg.lax.conv_general_dilated(x, w, strides, "VALID", dimension_numbers=dims)

    y, pullback = fg.vjp(conv, x)
    ct = rng.normal(size=y.shape)
    (want,) = pullback(ct)
    got = fg.lax.conv_transpose(
        ct, w, strides, "VALID", dimension_numbers=dims, transpose_kernel=True
    )
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_conv_transpose_sizes_and_errors():
    x, w = np.ones((1, 4, 5, 2)), np.ones((3, 3, 2, 6))
    assert fg.lax.conv_transpose(x, w, (2, 3), "SAME").shape == (1, 8, 15, 6)
    assert fg.lax.conv_transpose(x, w, (2, 3), "VALID").shape == (1, 9, 15, 6)
    assert fg.lax.conv_transpose(x, w, (1, 1), [(0, 0), (1, 1)]).shape == (1, 2, 5, 6)
    with pytest.raises(ShapeError, match="padding"):
        fg.lax.conv_transpose(x, w, (1, 1), "FULL")
    with pytest.raises(ShapeError, match="same rank"):
        fg.lax.conv_transpose(x, np.ones((3, 2, 6)), (1, 1), "SAME")
