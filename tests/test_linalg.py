"""``funcgrad.numpy.linalg`` against ``numpy.linalg``: values (float32 and float64, batched,
size 0 and 1x1), gradients against finite differences (to second order), jit, vmap, and
NumPy's errors for bad input.

Factors unique only up to signs are compared in one canonical form (see ``_canonical``):
funcgrad fixes the signs, NumPy returns LAPACK's.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import testing as fgt

L = fnp.linalg
F64, F32 = np.dtype(np.float64), np.dtype(np.float32)


# ---------------------------------------------------------------- well-conditioned operands


def _orthogonal(rng, batch, n):
    return np.linalg.qr(rng.standard_normal(batch + (n, n)))[0]


def _spaced(rng, batch, k, low):
    return low + np.cumsum(0.5 + rng.uniform(0, 1, batch + (k,)), axis=-1)


def general(rng, shape):
    n = shape[-1]
    return rng.uniform(-1, 1, shape) + (n + 1) * np.eye(n) * rng.choice([-1, 1], shape[:-1] + (1,))


def spd(rng, shape):
    x = rng.standard_normal(shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


def symmetric(rng, shape):
    q = _orthogonal(rng, shape[:-2], shape[-1])
    w = rng.permuted(_spaced(rng, shape[:-2], shape[-1], -2.0), axis=-1)
    return q @ (w[..., None] * np.swapaxes(q, -1, -2))


def rectangular(rng, shape):
    *batch, m, n = shape
    k = min(m, n)
    u, v = _orthogonal(rng, tuple(batch), m)[..., :k], _orthogonal(rng, tuple(batch), n)[..., :k]
    s = rng.permuted(_spaced(rng, tuple(batch), k, 0.5), axis=-1)
    return u @ (s[..., None] * np.swapaxes(v, -1, -2))


SQUARE = [(1, 1), (3, 3), (2, 3, 3), (2, 1, 2, 2), (0, 3, 3), (0, 0)]
RECT = SQUARE + [(4, 2), (2, 4), (2, 3, 1), (0, 2, 3)]


def _rhs(rng, a, k=2):
    return rng.standard_normal(a.shape[:-1] + (k,))


def _vec(rng, a):
    return rng.standard_normal(a.shape[-1:])


def _one(kind):
    return lambda rng, shape: (kind(rng, shape),)


# ---------------------------------------------------------------- the table
# name -> (fnp function, numpy function, operands(rng, shape), shapes, differentiable)


def _power(n):
    return (
        lambda a: L.matrix_power(a, n),
        lambda a: np.linalg.matrix_power(a, n),
        _one(general),
        SQUARE,
        True,
    )


def _norm(**kw):
    return (
        lambda x: L.norm(x, **kw),
        lambda x: np.linalg.norm(x, **kw),
        _one(rectangular),
        [(3, 3), (4, 2), (2, 3, 4)],
        True,
    )


def _vector_norm(**kw):
    return (
        lambda x: L.norm(x, **kw),
        lambda x: np.linalg.norm(x, **kw),
        lambda rng, shape: (rng.standard_normal(shape) + 0.25,),
        [(5,), (3, 4), (2, 3, 2)],
        True,
    )


TABLE = {
    "inv": (L.inv, np.linalg.inv, _one(general), SQUARE, True),
    "solve": (
        L.solve,
        np.linalg.solve,
        lambda rng, s: (a := general(rng, s), _rhs(rng, a)),
        SQUARE,
        True,
    ),
    "solve_vector": (
        L.solve,
        np.linalg.solve,
        lambda rng, s: (a := general(rng, s), _vec(rng, a)),
        SQUARE,
        True,
    ),
    "solve_broadcast": (  # a batch against one right-hand side
        L.solve,
        np.linalg.solve,
        lambda rng, s: (general(rng, (2,) + s), rng.standard_normal(s[-1:] + (3,))),
        [(1, 1), (3, 3)],
        True,
    ),
    "det": (L.det, np.linalg.det, _one(general), SQUARE, True),
    "slogdet": (L.slogdet, np.linalg.slogdet, _one(general), SQUARE, True),
    "cholesky": (L.cholesky, np.linalg.cholesky, _one(spd), SQUARE, True),
    "cholesky_upper": (
        lambda a: L.cholesky(a, upper=True),
        lambda a: np.linalg.cholesky(a, upper=True),
        _one(spd),
        SQUARE,
        True,
    ),
    "eigh": (L.eigh, np.linalg.eigh, _one(symmetric), SQUARE, True),
    "eigh_upper": (
        lambda a: L.eigh(a, UPLO="U"),
        lambda a: np.linalg.eigh(a, UPLO="U"),
        lambda rng, s: (np.triu(symmetric(rng, s)) + np.tril(rng.standard_normal(s), -1),),
        SQUARE,
        True,
    ),
    "eigvalsh": (L.eigvalsh, np.linalg.eigvalsh, _one(symmetric), SQUARE, True),
    "svd": (
        lambda a: L.svd(a, full_matrices=False),
        lambda a: np.linalg.svd(a, full_matrices=False),
        _one(rectangular),
        RECT,
        True,
    ),
    "svd_full": (L.svd, np.linalg.svd, _one(rectangular), RECT, False),
    "svd_full_square": (L.svd, np.linalg.svd, _one(rectangular), SQUARE, True),
    "svd_values": (
        lambda a: L.svd(a, compute_uv=False),
        lambda a: np.linalg.svd(a, compute_uv=False),
        _one(rectangular),
        RECT,
        True,
    ),
    "svd_hermitian": (
        lambda a: L.svd(a, hermitian=True),
        lambda a: np.linalg.svd(a, hermitian=True),
        _one(symmetric),
        [(1, 1), (3, 3), (2, 3, 3)],
        False,  # (|eigenvalues| may coincide: a degenerate spectrum)
    ),
    "svdvals": (L.svdvals, np.linalg.svdvals, _one(rectangular), RECT, True),
    "qr": (L.qr, np.linalg.qr, _one(rectangular), RECT, True),
    "qr_complete": (
        lambda a: L.qr(a, mode="complete"),
        lambda a: np.linalg.qr(a, mode="complete"),
        _one(rectangular),
        RECT,
        False,
    ),
    "qr_r": (
        lambda a: L.qr(a, mode="r"),
        lambda a: np.linalg.qr(a, mode="r"),
        _one(rectangular),
        RECT,
        True,
    ),
    "pinv": (L.pinv, np.linalg.pinv, _one(rectangular), RECT, True),
    "pinv_rtol": (
        lambda a: L.pinv(a, rtol=None),
        lambda a: np.linalg.pinv(a, rtol=None),
        _one(rectangular),
        [(3, 2)],
        True,
    ),
    "pinv_hermitian": (
        lambda a: L.pinv(a, hermitian=True),
        lambda a: np.linalg.pinv(a, hermitian=True),
        _one(symmetric),
        [(3, 3), (2, 2, 2)],
        True,
    ),
    "matrix_power_0": _power(0),
    "matrix_power_1": _power(1),
    "matrix_power_3": _power(3),
    "matrix_power_6": _power(6),
    "matrix_power_-1": _power(-1),
    "matrix_power_-2": _power(-2),
    "lstsq": (
        L.lstsq,
        lambda a, b: np.linalg.lstsq(a, b),
        lambda rng, s: (rectangular(rng, s), rng.standard_normal((s[0], 2))),
        [(4, 2), (2, 4), (3, 3), (1, 1)],
        True,
    ),
    "lstsq_vector": (
        L.lstsq,
        lambda a, b: np.linalg.lstsq(a, b),
        lambda rng, s: (rectangular(rng, s), rng.standard_normal(s[:1])),
        [(4, 2), (2, 4)],
        True,
    ),
    "multi_dot": (
        lambda *xs: L.multi_dot(xs),
        lambda *xs: np.linalg.multi_dot(xs),
        lambda rng, s: tuple(rng.standard_normal(d) for d in [(3,), (3, 5), (5, 2), (2, 4)]),
        [()],
        True,
    ),
    "multi_dot_matrices": (
        lambda *xs: L.multi_dot(xs),
        lambda *xs: np.linalg.multi_dot(xs),
        lambda rng, s: tuple(rng.standard_normal(d) for d in [(6, 1), (1, 5), (5, 2)]),
        [()],
        True,
    ),
    "tensorsolve": (
        L.tensorsolve,
        np.linalg.tensorsolve,
        lambda rng, s: (general(rng, (6, 6)).reshape(2, 3, 6), rng.standard_normal((2, 3))),
        [()],
        True,
    ),
    "tensorinv": (
        lambda a: L.tensorinv(a, ind=1),
        lambda a: np.linalg.tensorinv(a, ind=1),
        lambda rng, s: (general(rng, (4, 4)).reshape(4, 2, 2),),
        [()],
        True,
    ),
    "cond": (L.cond, np.linalg.cond, _one(rectangular), [(3, 3), (4, 2), (2, 3, 3)], True),
    "cond_fro": (
        lambda a: L.cond(a, "fro"),
        lambda a: np.linalg.cond(a, "fro"),
        _one(general),
        [(3, 3)],
        True,
    ),
    "matrix_rank": (
        L.matrix_rank,
        np.linalg.matrix_rank,
        lambda rng, s: (rectangular(rng, s) @ np.diag([1.0] * (s[-1] - 1) + [0.0]),),
        [(3, 3), (4, 3), (2, 3, 2)],
        False,
    ),
    "matrix_rank_hermitian": (
        lambda a: L.matrix_rank(a, hermitian=True),
        lambda a: np.linalg.matrix_rank(a, hermitian=True),
        _one(symmetric),
        [(3, 3)],
        False,
    ),
    "matrix_rank_vector": (
        L.matrix_rank,
        np.linalg.matrix_rank,
        lambda rng, s: (rng.standard_normal(s),),
        [(3,)],
        False,
    ),
    "norm_default": _norm(),
    "norm_fro": _norm(ord="fro", axis=(-2, -1)),
    "norm_nuc": _norm(ord="nuc", axis=(-2, -1)),
    "norm_2": _norm(ord=2, axis=(-2, -1)),
    "norm_-2": _norm(ord=-2, axis=(-2, -1)),
    "norm_1": _norm(ord=1, axis=(-2, -1)),
    "norm_-1": _norm(ord=-1, axis=(-1, -2)),
    "norm_inf": _norm(ord=np.inf, axis=(-2, -1)),
    "norm_-inf": _norm(ord=-np.inf, axis=(-1, -2), keepdims=True),
    "norm_keepdims": _norm(ord="fro", axis=(0, -1), keepdims=True),
    "vector_norm_default": _vector_norm(axis=-1),
    "vector_norm_keepdims": _vector_norm(axis=0, keepdims=True),
    "vector_norm_1": _vector_norm(ord=1, axis=-1),
    "vector_norm_inf": _vector_norm(ord=np.inf, axis=-1),
    "vector_norm_-inf": _vector_norm(ord=-np.inf, axis=0),
    "vector_norm_3": _vector_norm(ord=3, axis=-1),
    "vector_norm_0.5": _vector_norm(ord=0.5, axis=-1),
    "vector_norm_-1.5": _vector_norm(ord=-1.5, axis=-1),
    "vector_norm_0": _vector_norm(ord=0, axis=-1),
    "vector_norm_array_api": (
        lambda x: L.vector_norm(x, axis=(0, -1), ord=3),
        lambda x: np.linalg.vector_norm(x, axis=(0, -1), ord=3),
        lambda rng, s: (rng.standard_normal(s) + 0.25,),
        [(3, 4), (2, 3, 2)],
        True,
    ),
    "matrix_norm_array_api": (
        lambda x: L.matrix_norm(x, ord="nuc", keepdims=True),
        lambda x: np.linalg.matrix_norm(x, ord="nuc", keepdims=True),
        _one(rectangular),
        [(3, 3), (2, 4, 2)],
        True,
    ),
    "matrix_transpose": (
        L.matrix_transpose,
        np.linalg.matrix_transpose,
        _one(rectangular),
        [(2, 3), (2, 3, 1)],
        True,
    ),
    "matmul": (
        L.matmul,
        np.linalg.matmul,
        lambda rng, s: (rng.standard_normal((2, 3)), rng.standard_normal((3, 4))),
        [()],
        True,
    ),
}
NAMES = sorted(TABLE)
# the derivative of a count of nonzeros is 0 almost everywhere: nothing to check by differences
DIFFERENTIABLE = [n for n in NAMES if TABLE[n][4] and n != "vector_norm_0"]


def _signs_by_largest(v):
    """+1/-1 per column of v (..., n, k) making its largest-magnitude entry positive."""
    if v.shape[-2] == 0:
        return np.ones(v.shape[:-2] + v.shape[-1:])
    top = np.take_along_axis(v, np.argmax(np.abs(v), axis=-2)[..., None, :], axis=-2)[..., 0, :]
    return np.where(top < 0, -1.0, 1.0)


def _canonical(name, out):
    """A list of arrays, with sign-ambiguous factors in funcgrad's sign convention."""
    if name.startswith("eigh"):
        w, v = out
        return [w, v * _signs_by_largest(v)[..., None, :]]
    if name.startswith("svd") and isinstance(out, tuple):
        u, s, vh = out
        k = s.shape[-1]
        signs = _signs_by_largest(np.swapaxes(vh[..., :k, :], -1, -2))
        out = [u[..., :k] * signs[..., None, :], s, vh[..., :k, :] * signs[..., :, None]]
        return out + [np.abs(np.swapaxes(u, -1, -2) @ u), np.abs(vh @ np.swapaxes(vh, -1, -2))]
    if name.startswith("qr") and isinstance(out, tuple):
        q, r = out
        k = min(r.shape[-2:])
        d = np.diagonal(r[..., :k, :k], axis1=-2, axis2=-1)
        signs = np.where(d < 0, -1.0, 1.0)
        return [q[..., :k] * signs[..., None, :], r[..., :k, :] * signs[..., :, None], q @ r]
    if name == "qr_r":
        k = min(out.shape[-2:])
        d = np.diagonal(out[..., :k, :k], axis1=-2, axis2=-1)
        return [out * np.where(d < 0, -1.0, 1.0)[..., :, None]]
    return [np.asarray(o) for o in (out if isinstance(out, tuple) else (out,))]


def _operands(name, shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(np.asarray(a, dtype) for a in TABLE[name][2](rng, shape))


def _cases(names):
    return [(n, s) for n in names for s in TABLE[n][3]]


def _assert_matches(name, got, expected, dtype):
    tol = 1e-10 if dtype == F64 else 2e-4
    got, expected = _canonical(name, got), _canonical(name, expected)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        g, e = np.asarray(g), np.asarray(e)
        assert g.shape == e.shape, (g.shape, e.shape)
        if e.dtype.kind == "f":
            assert g.dtype == e.dtype, (g.dtype, e.dtype)
        else:
            assert g.dtype.kind == e.dtype.kind
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol)


# ---------------------------------------------------------------- values


@pytest.mark.parametrize("name, shape", _cases(NAMES))
@pytest.mark.parametrize("dtype", [F64, F32])
def test_values_match_numpy(name, shape, dtype):
    fn, np_fn, *_ = TABLE[name]
    args = _operands(name, shape, dtype)
    got = fn(*args)
    for leaf in fg.tree.leaves(got):
        assert type(leaf) is np.ndarray or np.isscalar(leaf), type(leaf)
    _assert_matches(name, got, np_fn(*args), dtype)


@pytest.mark.parametrize("name", ["inv", "det", "solve", "cholesky", "eigh", "svd", "qr", "norm_2"])
def test_integers_compute_in_float64(name):
    fn, np_fn, *_ = TABLE[name]
    args = tuple(np.round(a * 4).astype(np.int64) for a in _operands(name, (3, 3), F64))
    if name in ("cholesky", "eigh"):  # keep them positive definite / well spaced
        args = tuple(a @ a.T + 3 * np.eye(3, dtype=np.int64) for a in args)
    _assert_matches(name, fn(*args), np_fn(*args), F64)


# ---------------------------------------------------------------- transformations


def _smallest_shape(name):
    shapes = [s for s in TABLE[name][3] if 0 not in s]
    return max(shapes, key=lambda s: (len(s) > 2, np.prod(s)))  # batched where one is listed


def _flat(out):
    return tuple(fg.tree.leaves(out))


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradients_match_finite_differences(name):
    fn = TABLE[name][0]
    args = _operands(name, _smallest_shape(name), F64, seed=1)
    floats = [k for k, a in enumerate(args) if a.dtype.kind == "f"]

    def f(*xs):
        merged = list(args)
        for k, x in zip(floats, xs):
            merged[k] = x
        return tuple(o for o in _flat(fn(*merged)) if fnp.asarray(o).dtype.kind == "f")

    fgt.check_grads(f, tuple(args[k] for k in floats), order=2)


@pytest.mark.parametrize("name", NAMES)
def test_jit_matches_eager(name):
    fn = TABLE[name][0]
    args = _operands(name, _smallest_shape(name), F64, seed=2)
    got = fg.jit(lambda *xs: _flat(fn(*xs)))(*args)
    for g, e in zip(got, _flat(fn(*args))):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_vmap_matches_a_loop(name):
    fn = TABLE[name][0]
    examples = [_operands(name, _smallest_shape(name), F64, seed=s) for s in (3, 4, 5)]
    stacked = [np.stack(column) for column in zip(*examples)]
    got = fg.vmap(lambda *xs: _flat(fn(*xs)))(*stacked)
    for k, e in enumerate(zip(*[_flat(fn(*ex)) for ex in examples])):
        np.testing.assert_allclose(got[k], np.stack(e), rtol=1e-10, atol=1e-10)


def test_grad_of_eigenvalues_is_finite_at_a_repeated_eigenvalue():
    # the zero cotangent of unused eigenvectors adds nothing: d(sum w)/dA = I
    a = np.eye(3)
    np.testing.assert_allclose(fg.grad(lambda a: fnp.sum(L.eigh(a)[0]))(a), np.eye(3))
    np.testing.assert_allclose(fg.grad(lambda a: fnp.sum(L.eigvalsh(a)))(a), np.eye(3))
    np.testing.assert_allclose(fg.grad(lambda a: L.norm(a, "nuc"))(a), np.eye(3))


def test_grad_of_eigenvectors_blows_up_at_a_repeated_eigenvalue():
    # NaN where the computed eigenvalues are equal, huge where rounding split them
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    g = fg.grad(lambda a: fnp.sum(L.eigh(a)[1] ** 3))(q @ np.diag([1.0, 1.0, 2.0]) @ q.T)
    assert not (np.abs(g) < 1e8).all()


def test_pinv_gradient_is_finite_for_an_orthogonal_matrix():
    # (its singular values all repeat: the SVD rule would give NaN)
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    fgt.check_grads(lambda a: L.pinv(a), (q,), order=2)


def test_full_svd_and_complete_qr_of_a_tall_matrix_have_no_gradient():
    a = rectangular(np.random.default_rng(0), (4, 2))
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        fg.grad(lambda a: fnp.sum(L.svd(a)[0]))(a)
    with pytest.raises(NotImplementedError, match="mode='reduced'"):
        fg.grad(lambda a: fnp.sum(L.qr(a, mode="complete")[0]))(a)
    # the singular values alone are differentiable in reverse mode (forward mode, which
    # derives every equation, refuses the completion, as JAX does)
    fgt.check_grads(lambda a: L.svd(a)[1], (a,), order=1, modes=("rev",))


def test_lstsq_under_jit_returns_residuals_when_tall():
    a = rectangular(np.random.default_rng(0), (4, 2))
    b = np.arange(4.0)
    x, res, rank, s = fg.jit(L.lstsq)(a, b)
    ex, eres, erank, es = np.linalg.lstsq(a, b)
    np.testing.assert_allclose(x, ex, atol=1e-12)
    np.testing.assert_allclose(res, eres, atol=1e-12)
    assert int(rank) == erank and rank.dtype == np.int32
    assert type(L.lstsq(a, b)) is type(np.linalg.lstsq(a, b)) is tuple


def test_cholesky_of_a_non_positive_definite_matrix_under_jit_is_nan():
    out = fg.jit(L.cholesky)(np.stack([np.eye(2), -np.eye(2)]))
    np.testing.assert_array_equal(out[0], np.eye(2))
    assert np.isnan(out[1]).all()


# ---------------------------------------------------------------- errors as NumPy's

ERRORS = [
    ("inv", (np.ones((2, 3)),), {}, np.linalg.LinAlgError, "square"),
    ("inv", (np.ones(3),), {}, np.linalg.LinAlgError, "two-dimensional"),
    ("inv", (np.zeros((2, 2)),), {}, np.linalg.LinAlgError, "Singular matrix"),
    ("solve", (np.zeros((2, 2)), np.ones(2)), {}, np.linalg.LinAlgError, "Singular matrix"),
    ("solve", (np.eye(2), np.ones(3)), {}, ValueError, "do not align"),
    ("solve", (np.eye(2), np.ones((3, 2))), {}, ValueError, "do not align"),
    ("cholesky", (np.array([[1.0, 2.0], [2.0, 1.0]]),), {}, np.linalg.LinAlgError, "definite"),
    ("cholesky", (np.ones((2, 3)),), {}, np.linalg.LinAlgError, "square"),
    ("det", (np.ones((2, 3)),), {}, np.linalg.LinAlgError, "square"),
    ("eigh", (np.ones((2, 3)),), {}, np.linalg.LinAlgError, "square"),
    ("eigh", (np.eye(2),), {"UPLO": "X"}, ValueError, "UPLO"),
    ("svd", (np.ones(3),), {}, np.linalg.LinAlgError, "two-dimensional"),
    ("qr", (np.eye(2),), {"mode": "thin"}, ValueError, "mode"),
    ("inv", (np.eye(2, dtype=np.float16),), {}, TypeError, "float16"),
    ("norm", (np.ones(3),), {"ord": "fro"}, ValueError, "Invalid norm order"),
    ("norm", (np.ones((2, 2)),), {"ord": 3}, ValueError, "Invalid norm order"),
    ("norm", (np.ones((2, 2, 2)),), {"ord": 2}, ValueError, "Improper number"),
    ("norm", (np.ones((2, 2)),), {"axis": (0, 0)}, ValueError, "Duplicate axes"),
    ("norm", (np.ones((2, 2)),), {"axis": "a"}, TypeError, "axis"),
    ("pinv", (np.eye(2),), {"rcond": 1e-3, "rtol": 1e-3}, ValueError, "both"),
    ("matrix_power", (np.eye(2), 1.5), {}, TypeError, "integer"),
    ("matrix_power", (np.ones((2, 3)), 2), {}, np.linalg.LinAlgError, "square"),
    ("multi_dot", ([np.eye(2)],), {}, ValueError, "at least two"),
    ("multi_dot", ([np.eye(2), np.eye(3), np.eye(3)],), {}, ValueError, "do not align"),
    ("lstsq", (np.ones((3, 2)), np.ones(4)), {}, np.linalg.LinAlgError, "Incompatible"),
    ("tensorinv", (np.ones((2, 2)),), {"ind": 0}, ValueError, "ind"),
    ("matrix_transpose", (np.ones(3),), {}, ValueError, "2-dimensional"),
]


@pytest.mark.parametrize("name, args, kwargs, error, fragment", ERRORS)
def test_bad_input_raises_numpys_error(name, args, kwargs, error, fragment):
    with pytest.raises(error):
        getattr(np.linalg, name)(*args, **kwargs)
    with pytest.raises(error, match=fragment) as info:
        getattr(L, name)(*args, **kwargs)
    assert "test_linalg.py" in str(info.value)  # names the caller's line


def test_complex_arrays_are_refused_clearly():
    with pytest.raises(fg.DtypeError, match="complex"):
        L.inv(np.eye(2) * 1j)


def test_shape_errors_are_both_shape_and_linalg_errors():
    with pytest.raises(fg.ShapeError):
        L.inv(np.ones((2, 3)))


def test_results_have_numpys_field_names():
    a = spd(np.random.default_rng(0), (2, 2))
    assert L.slogdet(a).logabsdet.shape == () and L.slogdet(a).sign == 1.0
    assert L.eigh(a).eigenvectors.shape == (2, 2) and L.eigh(a).eigenvalues.shape == (2,)
    u, s, vh = L.svd(a)
    assert L.svd(a).Vh.shape == vh.shape and L.qr(a).R.shape == (2, 2)
    assert L.LinAlgError is np.linalg.LinAlgError


# ---------------------------------------------------------------- any batch, any size

PROPERTY_NAMES = ["inv", "solve", "det", "slogdet", "cholesky", "eigh", "svd", "qr", "pinv"]


@pytest.mark.parametrize("name", PROPERTY_NAMES)
@settings(max_examples=20, deadline=None)
@given(
    batch=fgt.shapes(max_dims=2, max_side=3),
    sides=st.tuples(st.integers(0, 5), st.integers(0, 5)),
    dtype=st.sampled_from([F64, F32]),
    seed=st.integers(0, 2**32 - 1),
)
def test_values_match_numpy_for_any_batch_and_size(name, batch, sides, dtype, seed):
    square = TABLE[name][3] is SQUARE
    shape = batch + ((sides[0], sides[0]) if square else sides)
    fn, np_fn, *_ = TABLE[name]
    args = _operands(name, shape, dtype, seed)
    _assert_matches(name, fn(*args), np_fn(*args), dtype)
