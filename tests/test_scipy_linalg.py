"""funcgrad.scipy.linalg against scipy.linalg: values and dtypes (float32, float64,
batched), gradients against finite differences to second order, jit, vmap, errors."""

import numpy as np
import pytest
import scipy.linalg as sl

import funcgrad as fg
import funcgrad.scipy.linalg as fsl
from funcgrad import testing as fgt

RNG = np.random.default_rng(0)
A = RNG.standard_normal((4, 4))
SPD = A @ A.T + 4 * np.eye(4)
LOW = np.tril(A) + 4 * np.eye(4)
B = RNG.standard_normal((4, 2))

TRIANGULAR = [
    {"lower": True},
    {},
    {"trans": 1},
    {"trans": "T", "lower": True},
    {"trans": "C"},
    {"unit_diagonal": True, "lower": True},
]


def _tri(kwargs):
    return LOW if kwargs.get("lower") else LOW.T


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("b", [B, B[:, 0]], ids=["matrix", "vector"])
@pytest.mark.parametrize("kwargs", TRIANGULAR, ids=str)
def test_solve_triangular_matches_scipy(kwargs, b, dtype):
    a, b = _tri(kwargs).astype(dtype), b.astype(dtype)
    expected = sl.solve_triangular(a, b, **kwargs)
    for got in (
        fsl.solve_triangular(a, b, **kwargs),
        fg.jit(lambda a, b: fsl.solve_triangular(a, b, **kwargs))(a, b),
    ):
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_solve_triangular_takes_stacks_and_reads_one_triangle():
    stack = np.stack([LOW, 2 * LOW])
    expected = sl.solve_triangular(stack, np.stack([B, B]), lower=True)
    np.testing.assert_allclose(fsl.solve_triangular(stack, np.stack([B, B]), lower=True), expected)
    garbage = LOW + np.triu(np.full((4, 4), 7.0), 1)  # the upper triangle is not read
    np.testing.assert_allclose(
        fsl.solve_triangular(garbage, B, lower=True), sl.solve_triangular(LOW, B, lower=True)
    )
    per = fg.vmap(lambda a: fsl.solve_triangular(a, B, lower=True))(stack)
    np.testing.assert_allclose(per, expected)


@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cholesky_family_matches_scipy(lower, dtype):
    s, b = SPD.astype(dtype), B.astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    c, c_lower = fsl.cho_factor(s, lower=lower)
    expected_c, expected_lower = sl.cho_factor(s, lower=lower)
    assert c_lower == expected_lower and c.dtype == expected_c.dtype
    np.testing.assert_allclose(c, expected_c, rtol=tol)  # both triangles, as SciPy's
    np.testing.assert_allclose(
        fsl.cho_solve((c, c_lower), b), sl.cho_solve((expected_c, expected_lower), b), rtol=tol
    )
    np.testing.assert_allclose(fsl.cholesky(s, lower=lower), sl.cholesky(s, lower=lower), rtol=tol)
    solve = fg.jit(lambda s, b: fsl.cho_solve(fsl.cho_factor(s, lower=lower), b))
    np.testing.assert_allclose(
        solve(s, b), np.linalg.solve(s, b), rtol=1e-4 if dtype == np.float32 else 1e-10
    )


@pytest.mark.parametrize("kwargs", TRIANGULAR[:4], ids=str)
def test_solve_triangular_gradients(kwargs):
    fgt.check_grads(lambda a, b: fsl.solve_triangular(a, b, **kwargs), (_tri(kwargs), B), order=2)


@pytest.mark.parametrize("lower", [False, True])
def test_cholesky_solve_gradients(lower):
    def f(a, b):
        return fsl.cho_solve(fsl.cho_factor(a @ a.T + 4 * np.eye(4), lower=lower), b)

    fgt.check_grads(f, (A, B), order=2)


@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("solve_triangular", (LOW, np.ones(3)), {}),
        ("solve_triangular", (np.ones((2, 3)), np.ones(2)), {}),
        ("cho_factor", (np.ones((2, 3)),), {}),
    ],
)
def test_refuses_what_scipy_refuses(name, args, kwargs):
    with pytest.raises(ValueError):
        getattr(sl, name)(*args, **kwargs)
    with pytest.raises(ValueError, match="test_scipy_linalg"):
        getattr(fsl, name)(*args, **kwargs)


def test_solve_triangular_refuses_an_unknown_trans():
    with pytest.raises(ValueError, match="trans"):
        fsl.solve_triangular(LOW, B, trans=5)
