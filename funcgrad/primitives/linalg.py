"""Linear-algebra primitives: factorizations and solves over the last two axes.

Every primitive here acts on the last two axes and treats the leading ones as a batch (as
NumPy >= 2 does), so its batching rule is the primitive itself on the batched operand.
They are primitives, not composites, because a factorization is one LAPACK call that no
composite of elementwise and GEMM primitives can express.

An equation has one output, so a decomposition with several results returns one *packed*
array that ``funcgrad.numpy.linalg`` slices apart (the slices' VJPs zero-pad, so the VJP
here receives one packed cotangent). Each primitive's comment gives its packing.

Conventions shared by all of them:

- A matrix LAPACK cannot factor (not positive definite, singular) gives NaN for that
  matrix alone, not an exception: one bad matrix of a batch leaves the others intact, as
  a kernel reporting LAPACK's ``info`` per matrix would. ``fnp.linalg`` raises NumPy's
  ``LinAlgError`` for such inputs when it is called on concrete arrays.
- Symmetric inputs (cholesky, eigh) read the lower triangle only, as NumPy's UPLO='L'.
- The NumPy/SciPy functions are the references; compiled programs run the batched LAPACK
  kernels of ``_kernels/linalg.pyx`` instead (the "lapack" lowering), which give the same
  results to rounding.
- Factors unique only up to signs are made unique: eigenvectors and singular-vector pairs
  have their largest-magnitude entry positive (in V), QR has diag(R) >= 0. The signs are
  locally constant, so the derivative rules are those of the factorization.
- Gradients follow the published matrix-calculus rules (Giles 2008 for solve and slogdet,
  Murray 2016 for Cholesky, the eigenvector rule F_ij = 1/(w_j - w_i), Townsend 2016 /
  JAX's for the SVD, Walter & Lehmann 2018 / JAX's for QR, Golub & Pereyra 1973 for the
  pseudo-inverse). Where the spectrum is degenerate (a repeated eigenvalue or singular
  value) the vectors are not differentiable: their gradients are NaN, as in JAX and
  PyTorch. A cotangent of exactly zero on the vectors (only eigenvalues used) contributes
  nothing, so such functions keep finite gradients.
"""

import numpy as np
import scipy.linalg

from ..core import is_float
from ..errors import DtypeError, ShapeError
from . import (
    _fmt,
    _lit,
    _register,
    _same_dtype,
    add,
    broadcast_in_dim,
    concatenate,
    div,
    matmul,
    mul,
    ne,
    reduce_sum,
    reshape,
    select,
    slice,
    sub,
    swap_last,
    with_batch,
    zeros,
)

LinAlgError = np.linalg.LinAlgError

# ---------------------------------------------------------------- shape rules


def _matrix(name, a, square=True):
    if not is_float(np.dtype(a.dtype)) or np.dtype(a.dtype).kind == "c":
        raise DtypeError(f"{name}: expected a real floating-point array, got {a.dtype}")
    if len(a.shape) < 2 or (square and a.shape[-1] != a.shape[-2]):
        what = "square matrices" if square else "matrices"
        raise ShapeError(f"{name}: expected a stack of {what} (..., m, n), got {tuple(a.shape)}")
    return tuple(a.shape)


def _pair_rule(name):
    """a (..., n, n) and b (..., n, k) with the same batch: the result is b's shape."""

    def rule(a, b, **params):
        dtype = _same_dtype(name, [a, b])
        _matrix(name, a)
        _matrix(name, b, square=False)
        if a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-2]:
            raise ShapeError(f"{name}: shapes {_fmt([a.shape, b.shape])} do not match")
        return tuple(b.shape), dtype

    return rule


# ---------------------------------------------------------------- reference helpers


def _lapack_dtype(a):
    """LAPACK computes in float32 and float64: float16 rounds up, long double down."""
    return np.float32 if a.dtype.itemsize <= 4 else np.float64


def _per_matrix(fn, out_shape, *args):
    """``fn`` over the batch at once; if LAPACK refuses some matrix, one matrix at a time
    with NaN for those it refuses."""
    dtype = _lapack_dtype(args[0])
    args = [np.asarray(a, dtype) for a in args]
    try:
        with np.errstate(all="ignore"):
            return np.asarray(fn(*args)).astype(args[0].dtype, copy=False)
    except LinAlgError:
        if args[0].ndim == 2:
            return np.full(out_shape, np.nan, dtype)
    out = np.empty(out_shape, dtype)
    for i in np.ndindex(args[0].shape[:-2]):
        out[i] = _per_matrix(fn, out_shape[len(i) :], *(a[i] for a in args))
    return out


def _largest_positive(v):
    """Signs (..., k) making each column of v (..., n, k) have its largest entry positive."""
    if v.shape[-2] == 0:
        return np.ones(v.shape[:-2] + v.shape[-1:], v.dtype)
    top = np.take_along_axis(v, np.argmax(np.abs(v), axis=-2)[..., None, :], axis=-2)[..., 0, :]
    return np.where(top < 0, -1, 1).astype(v.dtype)


def _batch_of(prim):
    """The batching rule of a primitive over trailing matrices: the batch is one more
    leading axis; unbatched operands get it by a broadcast."""

    def rule(batched, *args, **params):
        size = next(a.shape[0] for a, b in zip(args, batched) if b)
        return prim(*[a if b else with_batch(a, size) for a, b in zip(args, batched)], **params)

    return rule


def _linalg(name, rule, impl, vjp, jvp):
    """A primitive over trailing matrices, whose compiled programs run its batched LAPACK
    kernel (compiler/lapack.py's runner of the same name)."""
    prim = _register(
        name, rule, impl, vjp, jvp, traits=["float_only"], kernel=name, lowering=("lapack",)
    )
    prim.batch = _batch_of(prim)
    return prim


# ---------------------------------------------------------------- graph-building helpers


def _cut(x, axis, lo, hi):
    """x[..., lo:hi, ...] along ``axis`` (negative: from the end)."""
    axis %= len(x.shape)
    start = tuple(lo if i == axis else 0 for i in range(len(x.shape)))
    limit = tuple(hi if i == axis else d for i, d in enumerate(x.shape))
    return slice(x, start=start, limit=limit, strides=(1,) * len(x.shape))


def _rows(v, n):
    """(..., k) -> (..., n, k): v repeated down the rows (entry [i, j] is v[j])."""
    nb = len(v.shape) - 1
    dims = tuple(range(nb)) + (nb + 1,)
    return broadcast_in_dim(
        v, shape=tuple(v.shape[:-1]) + (n, v.shape[-1]), broadcast_dimensions=dims
    )


def _from_row(row):
    """(..., 1, k) -> (..., k)."""
    return reshape(row, new_shape=tuple(row.shape[:-2]) + (row.shape[-1],))


def _cols(v, n):
    """(..., k) -> (..., k, n): v repeated across the columns (entry [i, j] is v[i])."""
    return swap_last(_rows(v, n))


def _mask(n, m, k, dtype=bool):
    """The constant np.tri(n, m, k) pattern: 1 on and below diagonal k."""
    return np.tri(n, m, k, dtype=dtype)


def _where(mask, x, y=0.0):
    return select(mask, x, _lit(y, x) if isinstance(y, float) else y)


def _tril(x, k=0):
    return _where(_mask(*x.shape[-2:], k), x)


def _triu(x, k=0):
    return _where(~_mask(*x.shape[-2:], k - 1), x)


def _diag(x):
    """The diagonal (..., n) of square matrices (..., n, n)."""
    return reduce_sum(_tril(_triu(x)), axes=(len(x.shape) - 1,))


def _diag_embed(v):
    """Square matrices (..., n, n) with diagonal v (..., n)."""
    n = v.shape[-1]
    return _where(np.eye(n, dtype=bool), _rows(v, n))


def _sym_from_lower(t):
    """The symmetric matrix whose lower triangle is that of t (what eigh/cholesky read)."""
    return add(_tril(t), swap_last(_tril(t, -1)))


def _sym_from_lower_vjp(g):
    """The transpose of :func:`_sym_from_lower`: G + G^T below the diagonal, G on it."""
    n = g.shape[-1]
    return _where(_mask(n, n, -1), add(g, swap_last(g)), _where(np.eye(n, dtype=bool), g))


def _pairwise_quotient(x, d):
    """x_ij / d_ij off the diagonal and 0 on it, for d_ij = f(w_j) - f(w_i).

    Where d_ij == 0 (a degenerate spectrum) the quotient is NaN unless x_ij is exactly 0:
    an unused output's zero cotangent contributes nothing, a used one gives NaN. The
    divisor is made safe before dividing so that no 0/0 reaches a second derivative."""
    off = ~np.eye(d.shape[-1], dtype=bool)
    ok = select(off, ne(d, _lit(0, d)), np.array(False))
    quotient = _where(ok, div(x, _where(ok, d, 1.0)))
    degenerate = select(ok, np.array(False), select(off, ne(x, _lit(0, x)), np.array(False)))
    return _where(degenerate, _lit(np.nan, x), quotient)


def _differences(w):
    """d_ij = w_j - w_i for w (..., k)."""
    k = w.shape[-1]
    return sub(_rows(w, k), _cols(w, k))


def _right_solve(lower_l, x, transpose_l):
    """x L^{-1} (or x L^{-T}) for lower-triangular L."""
    return triangular_solve(lower_l, x, lower=True, transpose_a=transpose_l, left_side=False)


# ---------------------------------------------------------------- cholesky
# cholesky(a) -> L (..., n, n), lower, with a = L L^T; reads a's lower triangle.


def _cholesky_impl(a):
    return _per_matrix(np.linalg.cholesky, a.shape, a).astype(a.dtype)


def _phi(x):
    """Murray's Phi: the lower triangle with the diagonal halved."""
    n = x.shape[-1]
    return mul(x, (_mask(n, n, 0, x.dtype) + _mask(n, n, -1, x.dtype)) / 2)


def _cholesky_vjp(g, ans, a):
    # Murray (2016): abar = L^{-T} Phi(L^T Lbar) L^{-1}, read back through the lower triangle.
    p = _phi(triangular_matmul(ans, g, lower=True, transpose_a=True))
    y = triangular_solve(ans, p, lower=True, transpose_a=True, left_side=True)
    return _sym_from_lower_vjp(_right_solve(ans, y, transpose_l=False))


def _cholesky_jvp(tangents, ans, a):
    # dL = L Phi(L^{-1} dA L^{-T})
    (t,) = tangents
    z = triangular_solve(ans, _sym_from_lower(t), lower=True, transpose_a=False, left_side=True)
    x = _phi(_right_solve(ans, z, transpose_l=True))
    return triangular_matmul(ans, x, lower=True, transpose_a=False)


cholesky = _linalg(
    "cholesky",
    lambda a: (_matrix("cholesky", a), a.dtype),
    _cholesky_impl,
    (_cholesky_vjp,),
    _cholesky_jvp,
)

# ---------------------------------------------------------------- triangular_solve
# triangular_solve(a, b, lower, transpose_a, left_side) -> x with op(a) x = b for b
# (..., n, k), or with x op(a) = b for b (..., k, n) when not left_side; op(a) is a or a^T,
# and a's other triangle is not read. (The right side is a parameter because x L^{-1} is
# one BLAS call, where (L^{-T} x^T)^T would add two transposed copies of x.)


class _Swapped:
    """An abstract value with its last two axes swapped (for the shape rule)."""

    def __init__(self, x):
        self.shape = tuple(x.shape[:-2]) + (x.shape[-1], x.shape[-2])
        self.dtype = x.dtype


def _triangular_rule(a, b, lower, transpose_a, left_side):
    _, dtype = _pair_rule("triangular_solve")(a, b if left_side else _Swapped(b))
    return tuple(b.shape), dtype


def _triangular_impl(a, b, lower, transpose_a, left_side):
    if not left_side:  # x op(a) = b is op(a)^T x^T = b^T
        x = _triangular_impl(a, np.swapaxes(b, -1, -2), lower, not transpose_a, True)
        return np.swapaxes(x, -1, -2)

    def solve(a, b):
        out = np.empty(b.shape, b.dtype)
        for i in np.ndindex(a.shape[:-2]):
            out[i] = scipy.linalg.solve_triangular(
                a[i], b[i], trans=int(transpose_a), lower=lower, check_finite=False
            )
        return out

    return _per_matrix(solve, b.shape, a, b).astype(b.dtype)


def _triangle(x, lower):
    return _tril(x) if lower else _triu(x)


def _triangular_vjp_b(g, ans, a, b, lower, transpose_a, left_side):
    return triangular_solve(a, g, lower=lower, transpose_a=not transpose_a, left_side=left_side)


def _triangular_vjp_a(g, ans, a, b, lower, transpose_a, left_side):
    # op(a) x = b: op(a)bar = -bbar x^T; x op(a) = b: op(a)bar = -x^T bbar
    bbar = _triangular_vjp_b(g, ans, a, b, lower, transpose_a, left_side)
    if left_side:
        outer = matmul(ans, swap_last(bbar)) if transpose_a else matmul(bbar, swap_last(ans))
    else:
        outer = matmul(swap_last(bbar), ans) if transpose_a else matmul(swap_last(ans), bbar)
    return _triangle(mul(outer, _lit(-1, outer)), lower)


def _triangular_jvp(tangents, ans, a, b, lower, transpose_a, left_side):
    ta, tb = tangents
    rhs = tb
    if ta is not None:
        op_ta = swap_last(_triangle(ta, lower)) if transpose_a else _triangle(ta, lower)
        da_x = matmul(op_ta, ans) if left_side else matmul(ans, op_ta)
        rhs = mul(da_x, _lit(-1, da_x)) if tb is None else sub(tb, da_x)
    return triangular_solve(a, rhs, lower=lower, transpose_a=transpose_a, left_side=left_side)


triangular_solve = _linalg(
    "triangular_solve",
    _triangular_rule,
    _triangular_impl,
    (_triangular_vjp_a, _triangular_vjp_b),
    _triangular_jvp,
)

# ---------------------------------------------------------------- triangular_matmul
# triangular_matmul(a, b, lower, transpose_a) -> op(t) @ b (..., n, k) for t the lower (or
# upper) triangle of a (..., n, n), the other not read; op(t) is t or t^T. A primitive
# for the Cholesky rules: BLAS's trmm does half a general product's work.


def _triangular_matmul_rule(a, b, lower, transpose_a):
    return _pair_rule("triangular_matmul")(a, b)


def _triangular_matmul_impl(a, b, lower, transpose_a):
    t = np.tril(a) if lower else np.triu(a)
    return np.matmul(np.swapaxes(t, -1, -2) if transpose_a else t, b)


def _triangular_matmul_vjp_a(g, ans, a, b, lower, transpose_a):
    outer = matmul(b, swap_last(g)) if transpose_a else matmul(g, swap_last(b))
    return _triangle(outer, lower)


def _triangular_matmul_vjp_b(g, ans, a, b, lower, transpose_a):
    return triangular_matmul(a, g, lower=lower, transpose_a=not transpose_a)


def _triangular_matmul_jvp(tangents, ans, a, b, lower, transpose_a):
    ta, tb = tangents
    terms = [] if ta is None else [triangular_matmul(ta, b, lower=lower, transpose_a=transpose_a)]
    if tb is not None:
        terms.append(triangular_matmul(a, tb, lower=lower, transpose_a=transpose_a))
    return terms[0] if len(terms) == 1 else add(*terms)


triangular_matmul = _linalg(
    "triangular_matmul",
    _triangular_matmul_rule,
    _triangular_matmul_impl,
    (_triangular_matmul_vjp_a, _triangular_matmul_vjp_b),
    _triangular_matmul_jvp,
)

# ---------------------------------------------------------------- solve
# solve(a, b) -> x (..., n, k) with a x = b (LU with partial pivoting).


def _solve_impl(a, b):
    return _per_matrix(np.linalg.solve, b.shape, a, b).astype(b.dtype)


def _solve_vjp_b(g, ans, a, b):
    return solve(swap_last(a), g)  # Giles (2008): bbar = A^{-T} xbar


def _solve_vjp_a(g, ans, a, b):
    bbar = solve(swap_last(a), g)  # abar = -bbar x^T
    return mul(matmul(bbar, swap_last(ans)), _lit(-1, bbar))


def _solve_jvp(tangents, ans, a, b):
    ta, tb = tangents
    rhs = tb
    if ta is not None:
        da_x = matmul(ta, ans)
        rhs = mul(da_x, _lit(-1, da_x)) if tb is None else sub(tb, da_x)
    return solve(a, rhs)


solve = _linalg("solve", _pair_rule("solve"), _solve_impl, (_solve_vjp_a, _solve_vjp_b), _solve_jvp)

# ---------------------------------------------------------------- slogdet
# slogdet(a) -> (..., 2): [sign, log|det a|]; sign 0 and -inf for a singular matrix.


def _slogdet_impl(a):
    dtype = _lapack_dtype(a)
    sign, logdet = np.linalg.slogdet(np.asarray(a, dtype))
    return np.stack([sign, logdet], axis=-1).astype(a.dtype)


def _slogdet_vjp(g, ans, a):
    # d log|det A| = tr(A^{-1} dA), so abar = gbar A^{-T} (the sign has no slope).
    n = a.shape[-1]
    batch = tuple(a.shape[:-2])
    scale = broadcast_in_dim(
        _cut(g, -1, 1, 2), shape=batch + (n, n), broadcast_dimensions=tuple(range(len(batch) + 1))
    )
    return solve(swap_last(a), _where(np.eye(n, dtype=bool), scale))


def _slogdet_jvp(tangents, ans, a):
    (t,) = tangents
    trace = reduce_sum(_diag(solve(a, t)), axes=(len(a.shape) - 2,))
    batch = tuple(a.shape[:-2])
    d = broadcast_in_dim(trace, shape=batch + (1,), broadcast_dimensions=tuple(range(len(batch))))
    return concatenate(zeros(batch + (1,), a.dtype), d, axis=len(batch))


slogdet = _linalg(
    "slogdet",
    lambda a: (_matrix("slogdet", a)[:-2] + (2,), a.dtype),
    _slogdet_impl,
    (_slogdet_vjp,),
    _slogdet_jvp,
)

# ---------------------------------------------------------------- eigh
# eigh(a, vectors=True) -> (..., n+1, n): row 0 the eigenvalues w (ascending), rows 1..n
# the eigenvectors V (columns), a = V diag(w) V^T. vectors=False -> w (..., n) alone.


def pack_eigh(w, v):
    """The packed eigh result from LAPACK's (w, v), with the signs made unique."""
    v = v * _largest_positive(v)[..., None, :]
    return np.concatenate([w[..., None, :], v], axis=-2)


def _eigh_impl(a, vectors):
    shape, _ = _eigh_rule(a, vectors)
    fn = (lambda x: pack_eigh(*np.linalg.eigh(x))) if vectors else np.linalg.eigvalsh
    return _per_matrix(fn, shape, a).astype(a.dtype)


def _eigh_rule(a, vectors):
    shape = _matrix("eigh", a)
    return (shape[:-2] + (shape[-1] + 1, shape[-1]) if vectors else shape[:-1]), a.dtype


def _eigh_parts(packed):
    n = packed.shape[-1]
    return _from_row(_cut(packed, -2, 0, 1)), _cut(packed, -2, 1, n + 1)


def _sandwich(v, inner):
    """V inner V^T."""
    return matmul(matmul(v, inner), swap_last(v))


def _eigh_vjp(g, ans, a, vectors):
    if not vectors:  # dw_i = v_i^T dA v_i
        _, v = _eigh_parts(eigh(a, vectors=True))
        return _sym_from_lower_vjp(_sandwich(v, _diag_embed(g)))
    w, v = _eigh_parts(ans)
    wbar, vbar = _eigh_parts(g)
    inner = add(_diag_embed(wbar), _pairwise_quotient(matmul(swap_last(v), vbar), _differences(w)))
    return _sym_from_lower_vjp(_sandwich(v, inner))


def _eigh_jvp(tangents, ans, a, vectors):
    (t,) = tangents
    w, v = _eigh_parts(ans if vectors else eigh(a, vectors=True))
    c = matmul(matmul(swap_last(v), _sym_from_lower(t)), v)
    dw = _diag(c)
    if not vectors:
        return dw
    dv = matmul(v, _pairwise_quotient(c, _differences(w)))
    return concatenate(_rows(dw, 1), dv, axis=len(dv.shape) - 2)


eigh = _linalg("eigh", _eigh_rule, _eigh_impl, (_eigh_vjp,), _eigh_jvp)

# ---------------------------------------------------------------- svd
# svd(a, compute_uv=True) -> (..., m+1+n, k) for a (..., m, n), k = min(m, n): rows 0..m-1
# U (m, k), row m the singular values s (descending), rows m+1.. V (n, k), with
# a = U diag(s) V^T (reduced). compute_uv=False -> s (..., k) alone.


def _svd_rule(a, compute_uv):
    *batch, m, n = _matrix("svd", a, square=False)
    k = min(m, n)
    return tuple(batch) + ((m + 1 + n, k) if compute_uv else (k,)), a.dtype


def pack_svd(u, s, vt):
    """The packed svd result from LAPACK's reduced (u, s, vt), with the signs unique."""
    v = np.swapaxes(vt, -1, -2)
    signs = _largest_positive(v)[..., None, :]
    return np.concatenate([u * signs, s[..., None, :], v * signs], axis=-2)


def _svd_impl(a, compute_uv):
    shape, _ = _svd_rule(a, compute_uv)
    if compute_uv:
        fn = lambda x: pack_svd(*np.linalg.svd(x, full_matrices=False))
    else:
        fn = lambda x: np.linalg.svd(x, compute_uv=False)
    return _per_matrix(fn, shape, a).astype(a.dtype)


def _svd_parts(packed, m):
    s = _from_row(_cut(packed, -2, m, m + 1))
    return _cut(packed, -2, 0, m), s, _cut(packed, -2, m + 1, packed.shape[-2])


def _safe_inverse(s):
    """1/s where s != 0, else 0 (JAX's choice for the rank-deficient projections)."""
    nonzero = ne(s, _lit(0, s))
    return _where(nonzero, div(_lit(1, s), _where(nonzero, s, 1.0)))


def _svd_setup(a, packed):
    m, n = a.shape[-2:]
    u, s, v = _svd_parts(packed, m)
    k = s.shape[-1]
    srow, scol = _rows(s, k), _cols(s, k)
    return m, n, k, u, s, v, srow, scol, sub(mul(srow, srow), mul(scol, scol))


def _svd_vjp(g, ans, a, compute_uv):
    if not compute_uv:  # ds_i = u_i^T dA v_i
        m, n, k, u, s, v, *_ = _svd_setup(a, svd(a, compute_uv=True))
        return matmul(mul(u, _rows(g, m)), swap_last(v))
    m, n, k, u, s, v, srow, scol, d = _svd_setup(a, ans)
    ubar, sbar, vbar = _svd_parts(g, m)
    j = _pairwise_quotient(matmul(swap_last(u), ubar), d)
    kk = _pairwise_quotient(matmul(swap_last(v), vbar), d)
    inner = add(mul(add(j, swap_last(j)), srow), _diag_embed(sbar))
    inner = add(inner, mul(scol, add(kk, swap_last(kk))))
    abar = matmul(matmul(u, inner), swap_last(v))
    sinv = _safe_inverse(s)
    if m > k:  # (I - U U^T) Ubar S^{-1} V^T
        perp = sub(ubar, matmul(u, matmul(swap_last(u), ubar)))
        abar = add(abar, matmul(mul(perp, _rows(sinv, m)), swap_last(v)))
    if n > k:  # U S^{-1} Vbar^T (I - V V^T)
        perp = sub(vbar, matmul(v, matmul(swap_last(v), vbar)))
        abar = add(abar, matmul(u, swap_last(mul(perp, _rows(sinv, n)))))
    return abar


def _svd_jvp(tangents, ans, a, compute_uv):
    (t,) = tangents
    m, n, k, u, s, v, srow, scol, d = _svd_setup(a, ans if compute_uv else svd(a, compute_uv=True))
    c = matmul(matmul(swap_last(u), t), v)
    ds = _diag(c)
    if not compute_uv:
        return ds
    cs, sc = mul(c, srow), mul(scol, c)
    du = matmul(u, _pairwise_quotient(add(cs, swap_last(cs)), d))
    dv = matmul(v, _pairwise_quotient(add(sc, swap_last(sc)), d))
    sinv = _safe_inverse(s)
    if m > k:
        du = add(du, mul(sub(matmul(t, v), matmul(u, c)), _rows(sinv, m)))
    if n > k:
        dv = add(dv, mul(sub(matmul(swap_last(t), u), matmul(v, swap_last(c))), _rows(sinv, n)))
    return concatenate(du, _rows(ds, 1), dv, axis=len(du.shape) - 2)


svd = _linalg("svd", _svd_rule, _svd_impl, (_svd_vjp,), _svd_jvp)

# ---------------------------------------------------------------- qr
# qr(a, complete=False) -> (..., m+n, k) for a (..., m, n) with m >= n: rows 0..m-1 Q
# (m, k), rows m.. R^T (n, k), with a = Q R, diag(R) >= 0; k = n (reduced) or m
# (complete). Wide matrices are factored by fnp.linalg.qr from their square part.


def _qr_rule(a, complete):
    *batch, m, n = _matrix("qr", a, square=False)
    if m < n:
        raise ShapeError(f"qr: expected m >= n, got {tuple(a.shape)} (fnp.linalg.qr takes any)")
    return tuple(batch) + (m + n, m if complete else n), a.dtype


def pack_qr(q, r):
    """The packed qr result from LAPACK's (q, r) (m >= n), with diag(R) >= 0."""
    n = r.shape[-1]
    signs = np.where(np.diagonal(r[..., :n, :], axis1=-2, axis2=-1) < 0, -1, 1).astype(q.dtype)
    q[..., :, :n] *= signs[..., None, :]
    r[..., :n, :] *= signs[..., :, None]
    return np.concatenate([q, np.swapaxes(r, -1, -2)], axis=-2)


def _qr_impl(a, complete):
    shape, _ = _qr_rule(a, complete)
    mode = "complete" if complete else "reduced"
    return _per_matrix(lambda x: pack_qr(*np.linalg.qr(x, mode=mode)), shape, a).astype(a.dtype)


def _qr_parts(packed, a, complete):
    m, n = a.shape[-2:]
    if complete and m > n:
        raise NotImplementedError(
            "qr(mode='complete') and svd(full_matrices=True) have no derivative for a "
            f"non-square {m}x{n} matrix: the completed columns are any orthonormal basis of "
            "the complement. Use mode='reduced' or full_matrices=False (as JAX requires)"
        )
    return _cut(packed, -2, 0, m), _cut(packed, -2, m, m + n)


def _qr_vjp(g, ans, a, complete):
    # abar = (Qbar + Q copyutl(M)) R^{-T}, M = Rbar R^T - Q^T Qbar (Walter & Lehmann 2018)
    q, lower_l = _qr_parts(ans, a, complete)
    qbar, rtbar = _qr_parts(g, a, complete)
    m_ = sub(matmul(swap_last(rtbar), lower_l), matmul(swap_last(q), qbar))
    n = m_.shape[-1]
    sym = _where(_mask(n, n, -1), swap_last(m_), m_)
    return _right_solve(lower_l, add(qbar, matmul(q, sym)), transpose_l=False)


def _qr_jvp(tangents, ans, a, complete):
    (t,) = tangents
    q, lower_l = _qr_parts(ans, a, complete)
    b = _right_solve(lower_l, t, transpose_l=True)  # dA R^{-1}
    c = matmul(swap_last(q), b)
    low = _tril(c, -1)
    omega = sub(low, swap_last(low))
    dq = add(matmul(q, sub(omega, c)), b)
    drt = matmul(lower_l, swap_last(sub(c, omega)))
    return concatenate(dq, drt, axis=len(dq.shape) - 2)


qr = _linalg("qr", _qr_rule, _qr_impl, (_qr_vjp,), _qr_jvp)

# ---------------------------------------------------------------- pinv
# pinv(a, rcond) -> the Moore-Penrose pseudo-inverse (..., n, m) of a (..., m, n), with
# singular values <= rcond * max(s) treated as zero (NumPy's rule). A primitive rather
# than a composite of svd: the SVD rule's gradient is NaN wherever singular values repeat
# (the pinv of any orthogonal matrix), while Golub & Pereyra's formula used here holds
# wherever the rank is locally constant.


def _pinv_rule(a, rcond):
    *batch, m, n = _matrix("pinv", a, square=False)
    return tuple(batch) + (n, m), a.dtype


def _pinv_impl(a, rcond):
    shape, _ = _pinv_rule(a, rcond)
    return _per_matrix(lambda x: np.linalg.pinv(x, rcond=rcond), shape, a).astype(a.dtype)


def _residual_projector(x, y):
    """I - x y for x (..., p, q), y (..., q, p)."""
    xy = matmul(x, y)
    return sub(np.eye(xy.shape[-1], dtype=xy.dtype), xy)


def _pinv_vjp(g, ans, a, rcond):
    p, pt, gt = ans, swap_last(ans), swap_last(g)
    first = mul(matmul(matmul(pt, g), pt), _lit(-1, g))
    second = matmul(_residual_projector(a, p), matmul(gt, matmul(p, pt)))
    third = matmul(matmul(pt, p), matmul(gt, _residual_projector(p, a)))
    return add(add(first, second), third)


def _pinv_jvp(tangents, ans, a, rcond):
    (t,) = tangents
    p, pt, tt = ans, swap_last(ans), swap_last(t)
    first = mul(matmul(matmul(p, t), p), _lit(-1, t))
    second = matmul(matmul(p, pt), matmul(tt, _residual_projector(a, p)))
    third = matmul(_residual_projector(p, a), matmul(tt, matmul(pt, p)))
    return add(add(first, second), third)


pinv = _linalg("pinv", _pinv_rule, _pinv_impl, (_pinv_vjp,), _pinv_jvp)
