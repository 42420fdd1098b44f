"""gradient, trapezoid and vander against NumPy: values and dtypes, derivatives against
finite differences, under jit and vmap."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import testing as fgt

RNG = np.random.default_rng(0)
F = RNG.standard_normal((5, 4))
X5 = np.cumsum(RNG.uniform(0.5, 1.5, 5))
X4 = np.cumsum(RNG.uniform(0.5, 1.5, 4))

GRADIENT_CASES = [
    ((F,), {}),
    ((F, 0.5), {}),
    ((F, X5, X4), {}),
    ((F, X5, X4), {"edge_order": 2}),
    ((F, 2.0), {"axis": 0, "edge_order": 2}),
    ((F, X5), {"axis": 0, "edge_order": 2}),
    ((F[:, 0], X5), {"edge_order": 1}),
    ((F[:2, 0],), {}),
    ((np.arange(6).reshape(2, 3),), {"axis": -1}),
]


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", range(len(GRADIENT_CASES)))
def test_gradient_matches_numpy(case, dtype):
    args, kwargs = GRADIENT_CASES[case]
    f = args[0] if args[0].dtype.kind == "i" else args[0].astype(dtype)
    args = (f,) + args[1:]
    expected = _as_tuple(np.gradient(*args, **kwargs))
    for got in (
        fnp.gradient(*args, **kwargs),
        fg.jit(lambda f: fnp.gradient(f, *args[1:], **kwargs))(f),
    ):
        got = _as_tuple(got)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.dtype == e.dtype and g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_differentiates_in_samples_and_coordinates(edge_order):
    fgt.check_grads(lambda f, x: fnp.gradient(f, x, axis=0, edge_order=edge_order), (F, X5))
    batched = fg.vmap(lambda f: fnp.gradient(f, 0.5, edge_order=edge_order))(F)
    np.testing.assert_allclose(batched, np.gradient(F, 0.5, axis=1, edge_order=edge_order))


@pytest.mark.parametrize(
    "args, kwargs, error",
    [
        ((F[:1],), {"axis": 0}, "too small"),
        ((F[:2],), {"axis": 0, "edge_order": 2}, "too small"),
        ((F,), {"edge_order": 3}, "not supported"),
        ((F, X4), {"axis": 0}, "must match"),
        ((F, 1.0, 2.0, 3.0), {}, "invalid number"),
    ],
)
def test_gradient_refuses_what_numpy_refuses(args, kwargs, error):
    with pytest.raises((ValueError, TypeError)):
        np.gradient(*args, **kwargs)
    with pytest.raises((ValueError, TypeError), match=error):
        fnp.gradient(*args, **kwargs)


@pytest.mark.parametrize(
    "y, kwargs",
    [
        (F, {}),
        (F, {"dx": 0.25, "axis": 0}),
        (F, {"x": X5, "axis": 0}),
        (F, {"x": np.broadcast_to(X4, F.shape)}),
        (np.arange(5), {}),
        (F[:1], {"axis": 0}),
        (F.astype(np.float32), {"dx": 0.5}),
    ],
)
def test_trapezoid_matches_numpy(y, kwargs):
    expected = np.trapezoid(y, **kwargs)
    got = fnp.trapezoid(y, **kwargs)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(fg.jit(lambda y: fnp.trapezoid(y, **kwargs))(y), expected, rtol=1e-6)


def test_trapezoid_differentiates_in_samples_and_coordinates():
    fgt.check_grads(lambda y, x: fnp.trapezoid(y, x, axis=0), (F, X5))


@pytest.mark.parametrize("x", [np.array([1, 2, 3]), np.array([0.5, -2.0]), np.zeros(0)])
@pytest.mark.parametrize("n, increasing", [(None, False), (4, True), (1, False), (0, False)])
def test_vander_matches_numpy(x, n, increasing):
    expected = np.vander(x, n, increasing)
    got = fnp.vander(x, n, increasing)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_vander_differentiates_and_refuses_matrices():
    fgt.check_grads(lambda x: fnp.vander(x, 4), (np.array([0.5, -1.5, 2.0]),))
    with pytest.raises(ValueError, match="one-dimensional"):
        fnp.vander(np.ones((2, 2)))
