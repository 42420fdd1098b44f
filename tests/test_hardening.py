"""Inputs a careless or hostile user passes: every one gives NumPy's answer or a clear
error, never a crash, a silently wrong result or a hang (issue 16's findings, each a
regression test that failed before its fix)."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import optim

RNG = np.random.default_rng(0)


def _loss(w, x):
    return fnp.sum(fg.nn.log_softmax(fnp.tanh(x @ w), axis=-1) ** 2)


# ---------------------------------------------------------------- dtypes the kernels lack


@pytest.mark.parametrize("dtype", [np.float16, np.longdouble])
@pytest.mark.parametrize("fun", [fg.nn.softmax, fg.nn.log_softmax, fg.nn.logsumexp])
def test_softmax_family_in_float16_and_long_double_gives_numpys_answer(fun, dtype):
    # These reached the float32 row kernel and overran the heap.
    import scipy.special as ss

    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]], dtype)
    expected = getattr(ss, fun.__name__)(x, axis=-1)
    rows = lambda x: fun(x, axis=-1)  # noqa: E731
    for f in (rows, fg.jit(rows)):
        got = f(x)
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=2e-3 if dtype == np.float16 else 1e-12)
    g = fg.grad(lambda x: fnp.sum(fun(x, axis=-1) * fnp.arange(2.0).reshape(2, 1)))(x)
    assert g.dtype == x.dtype and np.all(np.isfinite(g))


# ---------------------------------------------------------------- byte order and layout


def _other_order(a):
    return a.astype(a.dtype.newbyteorder(">" if a.dtype.byteorder in "=<" else "<"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_arrays_in_the_other_byte_order_give_the_same_results(dtype):
    w = RNG.standard_normal((5, 4)).astype(dtype)
    x = RNG.standard_normal((3, 5)).astype(dtype)
    expected = (fg.jit(_loss)(w, x), fg.grad(_loss)(w, x))
    for args in ((_other_order(w), x), (w, _other_order(x)), (_other_order(w), _other_order(x))):
        got = (fg.jit(_loss)(*args), fg.grad(_loss)(*args))
        for g, e in zip(got, expected):
            assert g.dtype == e.dtype and g.dtype.isnative
            np.testing.assert_allclose(g, e, rtol=1e-6)
    big = _other_order(np.array([1.0, 2.0, 3.0], dtype))
    np.testing.assert_array_equal(fg.jit(lambda x: x * 2 + 1)(big), [3.0, 5.0, 7.0])


def test_convolution_and_an_optimizer_step_in_the_other_byte_order():
    x = RNG.standard_normal((2, 3, 6, 6)).astype(np.float32)
    params = {"w": RNG.standard_normal((4, 3, 3, 3)).astype(np.float32)}

    def loss(p, x):
        return fnp.sum(fg.nn.max_pool2d(fg.nn.conv2d(x, p["w"], padding=1), 2) ** 2)

    opt = optim.adam(1e-2)

    @fg.jit
    def step(p, state, x):
        g = fg.grad(loss)(p, x)
        updates, state = opt.update(g, state, p)
        return optim.apply_updates(p, updates), state

    expected = step(params, opt.init(params), x)[0]["w"]
    swapped = {"w": _other_order(params["w"])}
    got = step(swapped, opt.init(swapped), _other_order(x))[0]["w"]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "layout",
    ["reversed", "fortran", "strided", "unaligned"],
)
def test_any_layout_of_an_argument_gives_the_contiguous_result(layout):
    base = RNG.standard_normal((6, 8))
    if layout == "reversed":
        x = base[::-1, ::-1]
    elif layout == "fortran":
        x = np.asfortranarray(base)
    elif layout == "strided":
        x = base[::2, 1::3]
    else:  # float64 values starting one byte into a buffer
        raw = np.zeros(base.nbytes + 1, np.uint8)
        x = np.frombuffer(raw.data, np.float64, base.size, offset=1).reshape(base.shape)
        x[...] = base
        assert not x.flags.aligned
    f = fg.jit(lambda x: fnp.sum(fnp.exp(x) * 2.0, axis=0) + x[0])
    np.testing.assert_allclose(f(x), f(np.ascontiguousarray(x)), rtol=1e-12)
