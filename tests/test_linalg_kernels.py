"""The batched LAPACK kernels (funcgrad/_kernels/linalg.pyx) against the linear-algebra
primitives' NumPy references: the same packed results, float32 and float64, batched and
empty, and NaN for exactly the matrices LAPACK refuses; and compiled programs run them
(the "lapack" lowering) for float32 and float64, the reference for other dtypes."""

import itertools

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.primitives as P
from funcgrad._kernels import linalg as K
from funcgrad.compiler import lapack
from funcgrad.compiler.program import CompiledProgram

PL = P.linalg
SHAPES = [(3, 3), (2, 4, 4), (2, 1, 2, 2), (1, 1), (0, 3, 3), (2, 0, 0)]
RECTANGULAR = SHAPES + [(5, 3), (2, 3, 5), (4, 1), (0, 2, 3), (3, 0)]


def _close(got, expected, dtype):
    tol = 1e-10 if dtype == np.float64 else 1e-4
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def _draw(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    n = shape[-1]
    x = rng.standard_normal(shape)
    spd = x @ np.swapaxes(x, -1, -2) + n * np.eye(n) if shape[-1] == shape[-2] else x
    return rng, spd.astype(dtype), x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES)
def test_square_kernels_match_the_references(shape, dtype):
    rng, spd, x = _draw(shape, dtype)
    garbage = spd + np.triu(rng.standard_normal(shape), 1).astype(dtype)  # not read
    _close(K.cholesky(garbage), PL.cholesky.impl(garbage), dtype)
    _close(PL.pack_eigh(*K.eigh(garbage)), PL.eigh.impl(garbage, vectors=True), dtype)
    _close(K.eigh(garbage, vectors=False), PL.eigh.impl(garbage, vectors=False), dtype)
    b = rng.standard_normal(shape[:-1] + (2,)).astype(dtype)
    dominant = x + 3 * shape[-1] * np.eye(shape[-1], dtype=dtype)
    _close(K.solve(dominant, b), PL.solve.impl(dominant, b), dtype)
    _close(np.stack(K.slogdet(dominant), axis=-1), PL.slogdet.impl(dominant), dtype)
    for lower, transpose_a, left_side, threads in itertools.product(*[(False, True)] * 3, (1, 2)):
        rhs = b if left_side else np.swapaxes(b, -1, -2)
        got = K.triangular_solve(dominant, rhs, lower, transpose_a, left_side, threads=threads)
        expected = PL.triangular_solve.impl(dominant, rhs, lower, transpose_a, left_side)
        _close(got, expected, dtype)
        if left_side:
            got = K.triangular_matmul(dominant, b, lower, transpose_a, threads=threads)
            _close(got, PL.triangular_matmul.impl(dominant, b, lower, transpose_a), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", RECTANGULAR)
def test_svd_qr_and_pinv_kernels_match_the_references(shape, dtype):
    _, _, x = _draw(shape, dtype)
    _close(PL.pack_svd(*K.svd(x)), PL.svd.impl(x, compute_uv=True), dtype)
    _close(K.svd(x, compute_uv=False), PL.svd.impl(x, compute_uv=False), dtype)
    pinv = lapack.RUNNERS["pinv"]
    for rcond in (1e-15, 0.5):  # (0.5: singular values dropped)
        _close(pinv(x, rcond), PL.pinv.impl(x, rcond=rcond), dtype)
    if shape[-2] >= shape[-1]:
        for complete in (False, True):
            _close(PL.pack_qr(*K.qr(x, complete)), PL.qr.impl(x, complete=complete), dtype)
    else:
        with pytest.raises(ValueError, match="m >= n"):
            K.qr(x)


@pytest.mark.parametrize("batch", [(), (3,)])
def test_triangular_solves_split_among_threads(batch):
    # large enough for the kernel to split one matrix's right-hand sides, or the batch
    rng, _, x = _draw(batch + (128, 128), np.float64)
    a = x + 3 * 128 * np.eye(128)
    a[(0,) * len(batch) + (5, 5)] = 0  # the first matrix singular: NaN, the others not
    for lower, transpose_a, left_side in itertools.product(*[(False, True)] * 3):
        b = rng.standard_normal(batch + ((128, 96) if left_side else (96, 128)))
        expected = PL.triangular_solve.impl(a, b, lower, transpose_a, left_side)
        got = K.triangular_solve(a, b, lower, transpose_a, left_side, threads=2)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        _close(got, expected, np.float64)
        if left_side:
            got = K.triangular_matmul(a, b, lower, transpose_a, threads=2)
            _close(got, PL.triangular_matmul.impl(a, b, lower, transpose_a), np.float64)


@pytest.mark.parametrize("batch", [(), (3,)])
def test_cholesky_split_among_threads(batch):
    # one matrix of order >= 512 is factored by blocks, a batch a matrix per thread
    _, spd, _ = _draw(batch + (520, 520), np.float64)
    refused = spd.copy()
    refused[(0,) * len(batch) + (200, 200)] = -1  # not positive definite: NaN alone
    for a in (spd, refused):
        expected = PL.cholesky.impl(a)
        got = K.cholesky(a, threads=2)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        _close(got, expected, np.float64)


def test_refused_matrices_are_nan_alone():
    a = np.stack([np.eye(2), -np.eye(2), 2 * np.eye(2)])
    np.testing.assert_array_equal(np.isnan(K.cholesky(a)), np.isnan(PL.cholesky.impl(a)))
    assert np.isnan(K.cholesky(a)[1]).all() and not np.isnan(K.cholesky(a)[[0, 2]]).any()
    singular = np.stack([np.eye(2), np.zeros((2, 2))])
    b = np.ones((2, 2, 1))
    np.testing.assert_array_equal(K.solve(singular, b), PL.solve.impl(singular, b))
    sign, logdet = K.slogdet(singular)
    np.testing.assert_array_equal(np.stack([sign, logdet], -1), PL.slogdet.impl(singular))
    for threads in (1, 2):
        got = K.triangular_solve(singular, b, True, False, threads=threads)
        np.testing.assert_array_equal(got, PL.triangular_solve.impl(singular, b, True, False, True))


WIRED = {
    "cholesky": ((np.eye(3),), {}),
    "triangular_solve": (
        (np.eye(3), np.ones((3, 2))),
        {"lower": True, "transpose_a": False, "left_side": True},
    ),
    "triangular_matmul": ((np.eye(3), np.ones((3, 2))), {"lower": True, "transpose_a": False}),
    "solve": ((np.eye(3), np.ones((3, 2))), {}),
    "slogdet": ((np.eye(3),), {}),
    "eigh": ((np.eye(3),), {"vectors": True}),
    "svd": ((np.ones((3, 2)),), {"compute_uv": True}),
    "qr": ((np.ones((3, 2)),), {"complete": False}),
    "pinv": ((np.ones((3, 2)),), {"rcond": 1e-15}),
}


@pytest.mark.parametrize("name", sorted(WIRED))
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_compiled_programs_run_the_kernels_for_lapack_dtypes(name, dtype):
    args, params = WIRED[name]
    args = [a.astype(dtype) for a in args]
    prim = P.REGISTRY[name]
    program = str(CompiledProgram(fg.make_graph(lambda *xs: prim(*xs, **params))(*args)))
    kind = "python" if dtype == np.float16 else "lapack"
    assert f"= {kind} " in program, program
