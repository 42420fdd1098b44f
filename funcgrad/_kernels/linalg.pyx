# cython: language_level=3, boundscheck=False, cdivision=True
"""Batched LAPACK kernels (SciPy's ``cython_lapack``) for the linear-algebra primitives.

Each function takes a stack of matrices (any leading batch axes, float32 or float64) and
calls LAPACK once per matrix from a C loop without the GIL: no Python per matrix. They
return what ``numpy.linalg`` returns, except that a matrix LAPACK refuses (``info > 0``:
not positive definite, singular, no convergence) gives NaN for that matrix alone.

LAPACK is column-major and NumPy row-major: a row-major matrix is its transpose to
LAPACK. Each kernel works on that transpose where it can (the triangle it reads and the
operation are swapped: a lower Cholesky factor of A is LAPACK's upper factor of A^T; a
triangular solve from the left is BLAS's from the right), and copies operands into
column-major order where it cannot (general solves, QR, SVD). The triangular solve is
BLAS's trsm, which unlike LAPACK's trtrs can split its right-hand sides among threads.

They are the "lapack" lowering of the primitives of the same names (compiler/lapack.py
packs their results as the primitives do) and are checked against the primitives' NumPy
references (tests/test_linalg_kernels.py).
"""

import math

import numpy as np

from libc.math cimport INFINITY, NAN, log, sqrt
from libc.stdlib cimport free, malloc
from cython.parallel cimport prange
from openmp cimport omp_in_parallel
from scipy.linalg cimport cython_blas as blas
from scipy.linalg cimport cython_lapack as lapack

ctypedef fused real:
    float
    double

# Flops (n * n * k) below which a triangular solve stays on the calling thread.
cdef double TRSM_PAR_MIN = 1 << 20
# The Cholesky factorization's block (columns), and the order from which one matrix's is
# split among threads.
cdef int POTRF_BLOCK = 128
cdef int POTRF_SPLIT_MIN = 512


cdef inline void _nan_fill(real *x, Py_ssize_t count) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(count):
        x[i] = <real>NAN


cdef inline real *_work(real query, int *lwork) noexcept nogil:
    """The workspace LAPACK asked for (``query``: its answer to lwork = -1)."""
    lwork[0] = <int> query + 1
    return <real *> malloc(lwork[0] * sizeof(real))


cdef inline bint _missing(void *work, void *iwork) noexcept nogil:
    """True (both freed) if either allocation failed."""
    if work != NULL and iwork != NULL:
        return False
    free(work)
    free(iwork)
    return True


def _stack(a, dims):
    """``a`` as a C-contiguous float32/float64 stack (B, *dims), and the batch shape."""
    a = np.asarray(a)
    dtype = np.float32 if a.dtype == np.float32 else np.float64
    batch = a.shape[: a.ndim - dims]
    out = np.array(a, dtype=dtype, order="C", copy=True)
    return out.reshape((int(np.prod(batch, dtype=np.int64)),) + a.shape[a.ndim - dims :]), batch


def _matrices(a):
    """``a`` as a C-contiguous float32/float64 stack (B, n, m) (a view where it is one
    already: for kernels that only read it), and the batch shape."""
    a = np.asarray(a)
    dtype = np.float32 if a.dtype == np.float32 else np.float64
    x = np.ascontiguousarray(a, dtype=dtype)
    return x.reshape((math.prod(a.shape[:-2]),) + a.shape[-2:]), a.shape[:-2]


def _result(b, dtype, out):
    """``b`` copied into ``out`` (or a new array): the buffer a kernel overwrites."""
    if out is None:
        return np.array(b, dtype=dtype, order="C", copy=True)
    np.copyto(out, b)
    return out


def _column_major(b):
    """Matrices (B, n, k) as LAPACK's column-major n x k: the (B, k, n) transpose, copied."""
    return np.ascontiguousarray(np.swapaxes(b, -1, -2))


# ---------------------------------------------------------------- Cholesky: potrf


cdef inline int _potrf_block(real *a, int lda, int b) noexcept nogil:
    """LAPACK's upper factor of the b x b block at a (of A^T: our lower factor of A)."""
    cdef char uplo = b"U"
    cdef int info = 0
    if real is float:
        lapack.spotrf(&uplo, &b, a, &lda, &info)
    else:
        lapack.dpotrf(&uplo, &b, a, &lda, &info)
    return info


cdef inline void _trsm_panel(real *u11, real *u12, int n, int b, int cols) noexcept nogil:
    """U12 = U11^{-T} A12 (column-major, leading dimension n) for ``cols`` columns."""
    cdef char side = b"L", uplo = b"U", trans = b"T", diag = b"N"
    cdef real one = 1
    if cols <= 0:
        return
    if real is float:
        blas.strsm(&side, &uplo, &trans, &diag, &b, &cols, &one, u11, &n, u12, &n)
    else:
        blas.dtrsm(&side, &uplo, &trans, &diag, &b, &cols, &one, u11, &n, u12, &n)


cdef inline void _syrk_columns(real *u12, real *a22, int n, int b, int c0, int c1) noexcept nogil:
    """Columns [c0, c1) of A22's upper triangle minus U12^T U12: the rectangle above the
    diagonal block (a GEMM) and the block (a SYRK)."""
    cdef char up = b"U", tr = b"T", nn = b"N"
    cdef real one = 1, minus = -1
    cdef int cnt = c1 - c0
    if cnt <= 0:
        return
    if real is float:
        if c0 > 0:
            blas.sgemm(&tr, &nn, &c0, &cnt, &b, &minus, u12, &n, u12 + c0 * n, &n, &one,
                       a22 + c0 * n, &n)
        blas.ssyrk(&up, &tr, &cnt, &b, &minus, u12 + c0 * n, &n, &one, a22 + c0 + c0 * n, &n)
    else:
        if c0 > 0:
            blas.dgemm(&tr, &nn, &c0, &cnt, &b, &minus, u12, &n, u12 + c0 * n, &n, &one,
                       a22 + c0 * n, &n)
        blas.dsyrk(&up, &tr, &cnt, &b, &minus, u12 + c0 * n, &n, &one, a22 + c0 + c0 * n, &n)


cdef int _potrf_split(real *a, int n, int threads) noexcept nogil:
    """The upper Cholesky factor of column-major a (n x n), by blocks of POTRF_BLOCK
    columns: each diagonal block on the calling thread, the panel's solve and the trailing
    update split among ``threads`` (by columns, the update's of equal area). LAPACK's
    info."""
    cdef int j, b, rest, info, t, c0, c1
    cdef real *u11
    cdef real *u12
    j = 0
    while j < n:
        b = min(POTRF_BLOCK, n - j)
        u11 = a + j + <Py_ssize_t>j * n
        info = _potrf_block(u11, n, b)
        if info != 0:
            return info + j
        rest = n - j - b
        if rest == 0:
            break
        u12 = u11 + <Py_ssize_t>b * n
        for t in prange(threads, num_threads=threads, schedule="static"):
            c0 = <int>(<Py_ssize_t>t * rest // threads)
            c1 = <int>((<Py_ssize_t>t + 1) * rest // threads)
            _trsm_panel(u11, u12 + <Py_ssize_t>c0 * n, n, b, c1 - c0)
        for t in prange(threads, num_threads=threads, schedule="static"):
            c0 = <int>(rest * sqrt(<double>t / threads))
            c1 = rest if t == threads - 1 else <int>(rest * sqrt(<double>(t + 1) / threads))
            _syrk_columns(u12, u12 + b, n, b, c0, c1)
        j += b
    return 0


cdef void _potrf(real[:, :, ::1] a, int threads) noexcept nogil:
    # threads > 1: the caller holds BLAS to one thread, and funcgrad's threads split the
    # work (the batch, or one large matrix's blocked factorization)
    cdef int n = a.shape[1], info = 0
    cdef Py_ssize_t batch = a.shape[0], k, i, j
    if n == 0:
        return
    if omp_in_parallel():
        threads = 1
    if threads > 1 and batch == 1 and n >= POTRF_SPLIT_MIN:
        info = _potrf_split(&a[0, 0, 0], n, threads)
        _potrf_finish(&a[0, 0, 0], n, info)
    elif threads > 1 and batch > 1 and <double>batch * n * n * n >= 3 * TRSM_PAR_MIN:
        for k in prange(batch, num_threads=<int>min(<Py_ssize_t>threads, batch), schedule="static"):
            _potrf_finish(&a[k, 0, 0], n, _potrf_block(&a[k, 0, 0], n, n))
    else:
        for k in range(batch):
            _potrf_finish(&a[k, 0, 0], n, _potrf_block(&a[k, 0, 0], n, n))


cdef inline void _potrf_finish(real *a, int n, int info) noexcept nogil:
    """NaN for a matrix LAPACK refused; else zeros in the triangle LAPACK did not touch
    (which still holds A)."""
    cdef Py_ssize_t i, j
    if info != 0:
        _nan_fill(a, <Py_ssize_t>n * n)
        return
    for i in range(n):
        for j in range(i + 1, n):
            a[i * n + j] = 0


def cholesky(a, out=None, threads=1):
    """The lower Cholesky factor of each matrix of ``a`` (its lower triangle read), into
    ``out`` if given (C-contiguous, a's shape and LAPACK dtype); ``threads``: funcgrad's
    threads, for callers that hold BLAS to one thread."""
    x = _result(a, np.float32 if np.asarray(a).dtype == np.float32 else np.float64, out)
    stack = x.reshape((math.prod(x.shape[:-2]),) + x.shape[x.ndim - 2 :])
    cdef int nt = threads
    cdef float[:, :, ::1] f
    cdef double[:, :, ::1] d
    if x.dtype == np.float32:
        f = stack
        with nogil:
            _potrf[float](f, nt)
    else:
        d = stack
        with nogil:
            _potrf[double](d, nt)
    return x


# ---------------------------------------------------------------- triangular solve and product: trsm, trmm


cdef void _tri_piece(real *a, real *x, int n, int k, int lo, int hi, bint lower,
                     bint transpose_a, bint left_side, bint solve) noexcept nogil:
    # Right-hand sides [lo, hi) of x, solved (or multiplied) in place. Row-major a is
    # LAPACK's a^T (the other triangle) and row-major x (n, k) is LAPACK's k x n x^T, so
    # op(a) x = b is x^T op(a^T) = b^T: BLAS's right-side solve; x op(a) = b is its
    # left-side one (and so for the product op(a) x).
    cdef char side = b"R" if left_side else b"L"
    cdef char uplo = b"U" if lower else b"L"
    cdef char trans = b"T" if transpose_a else b"N"
    cdef char diag = b"N"
    cdef int m = hi - lo, ldx = k if left_side else n
    cdef int rows = m if left_side else n, cols = n if left_side else m
    cdef real one = 1
    cdef real *piece = x + (lo if left_side else <Py_ssize_t>lo * ldx)
    if m <= 0 or n == 0:
        return
    if real is float:
        if solve:
            blas.strsm(&side, &uplo, &trans, &diag, &rows, &cols, &one, a, &n, piece, &ldx)
        else:
            blas.strmm(&side, &uplo, &trans, &diag, &rows, &cols, &one, a, &n, piece, &ldx)
    else:
        if solve:
            blas.dtrsm(&side, &uplo, &trans, &diag, &rows, &cols, &one, a, &n, piece, &ldx)
        else:
            blas.dtrmm(&side, &uplo, &trans, &diag, &rows, &cols, &one, a, &n, piece, &ldx)


cdef inline bint _singular(real *a, int n) noexcept nogil:
    """An exact zero on the diagonal (LAPACK's trtrs refuses such a matrix)."""
    cdef Py_ssize_t i
    for i in range(n):
        if a[i * (n + 1)] == 0:
            return True
    return False


cdef inline void _tri_one(real *a, real *x, int n, int k, int lo, int hi, bint lower,
                          bint transpose_a, bint left_side, bint solve) noexcept nogil:
    if solve and _singular(a, n):  # (a piece's check is its whole matrix's)
        _nan_fill(x, <Py_ssize_t>n * k)
    else:
        _tri_piece(a, x, n, k, lo, hi, lower, transpose_a, left_side, solve)


cdef void _tri(real[:, :, ::1] a, real[:, :, ::1] x, bint lower, bint transpose_a,
               bint left_side, bint solve, int threads) noexcept nogil:
    # x: (B, n, k) (left side) or (B, k, n), holding b; overwritten. With threads, the
    # batch (or one matrix's independent right-hand sides) is split among them, each piece
    # one single-threaded BLAS call (the caller holds BLAS to one thread).
    cdef int n = a.shape[1], k = x.shape[2] if left_side else x.shape[1]
    cdef Py_ssize_t batch = a.shape[0], i, t
    cdef int pieces = 1
    if n == 0 or k == 0:
        return
    if omp_in_parallel():
        threads = 1
    if batch == 1 and threads > 1 and <double>n * n * k >= TRSM_PAR_MIN:
        pieces = min(threads, max(1, k // 16))
    if pieces > 1:
        if solve and _singular(&a[0, 0, 0], n):
            _nan_fill(&x[0, 0, 0], <Py_ssize_t>n * k)
            return
        for t in prange(pieces, num_threads=pieces, schedule="static"):
            _tri_piece(&a[0, 0, 0], &x[0, 0, 0], n, k, <int>(t * k // pieces),
                       <int>((t + 1) * k // pieces), lower, transpose_a, left_side, solve)
        return
    if threads > 1 and batch > 1 and <double>batch * n * n * k >= TRSM_PAR_MIN:
        for i in prange(batch, num_threads=<int>min(<Py_ssize_t>threads, batch), schedule="static"):
            _tri_one(&a[i, 0, 0], &x[i, 0, 0], n, k, 0, k, lower, transpose_a, left_side, solve)
        return
    for i in range(batch):  # (no parallel region: a forked child has no thread pool)
        _tri_one(&a[i, 0, 0], &x[i, 0, 0], n, k, 0, k, lower, transpose_a, left_side, solve)


def _triangular(a, b, lower, transpose_a, left_side, solve, out, threads):
    x, batch = _matrices(a)
    y = _result(b, x.dtype, out)
    stack = y.reshape((x.shape[0],) + y.shape[y.ndim - 2 :])
    cdef int nt = threads
    cdef bint lo = lower, ta = transpose_a, ls = left_side, sv = solve
    cdef float[:, :, ::1] af, bf
    cdef double[:, :, ::1] ad, bd
    if x.dtype == np.float32:
        af, bf = x, stack
        with nogil:
            _tri[float](af, bf, lo, ta, ls, sv, nt)
    else:
        ad, bd = x, stack
        with nogil:
            _tri[double](ad, bd, lo, ta, ls, sv, nt)
    return y


def triangular_solve(a, b, lower, transpose_a, left_side=True, out=None, threads=1):
    """x with op(a) x = b (or, not ``left_side``, x op(a) = b) for triangular a (..., n, n)
    (the other triangle not read) and b (..., n, k) (or (..., k, n)) of the same batch;
    op(a) is a, or a^T with ``transpose_a``. ``out``: a C-contiguous array of b's shape and
    a's LAPACK dtype to write x into; ``threads``: funcgrad's threads, for callers that
    hold BLAS to one thread."""
    return _triangular(a, b, lower, transpose_a, left_side, True, out, threads)


def triangular_matmul(a, b, lower, transpose_a, out=None, threads=1):
    """op(t) @ b for t the lower (or upper) triangle of a (..., n, n) and b (..., n, k);
    ``out`` and ``threads`` as :func:`triangular_solve`'s."""
    return _triangular(a, b, lower, transpose_a, True, False, out, threads)


# ---------------------------------------------------------------- general solve: getrf + getrs


cdef void _gesv(real[:, :, ::1] a, real[:, :, ::1] b) noexcept nogil:
    cdef int n = a.shape[1], nrhs = b.shape[1], info = 0
    cdef char trans = b"T"  # LAPACK factors A^T: solve (A^T)^T x = b
    cdef Py_ssize_t k
    cdef int *ipiv = <int *> malloc(max(n, 1) * sizeof(int))
    for k in range(a.shape[0]):
        if n == 0 or nrhs == 0:
            break
        if real is float:
            lapack.sgetrf(&n, &n, &a[k, 0, 0], &n, ipiv, &info)
        else:
            lapack.dgetrf(&n, &n, &a[k, 0, 0], &n, ipiv, &info)
        if info != 0:
            _nan_fill(&b[k, 0, 0], n * nrhs)
            continue
        if real is float:
            lapack.sgetrs(&trans, &n, &nrhs, &a[k, 0, 0], &n, ipiv, &b[k, 0, 0], &n, &info)
        else:
            lapack.dgetrs(&trans, &n, &nrhs, &a[k, 0, 0], &n, ipiv, &b[k, 0, 0], &n, &info)
    free(ipiv)


def solve(a, b):
    """x with a x = b (LU with partial pivoting) for a (..., n, n), b (..., n, k)."""
    x, batch = _stack(a, 2)
    y, _ = _stack(b, 2)
    y = _column_major(y.astype(x.dtype))
    if x.dtype == np.float32:
        _gesv[float](x, y)
    else:
        _gesv[double](x, y)
    return np.swapaxes(y, -1, -2).reshape(batch + np.shape(b)[-2:])


# ---------------------------------------------------------------- slogdet: getrf


cdef void _slogdet(real[:, :, ::1] a, real[:, ::1] out) noexcept nogil:
    # out[k] = (sign, log|det|); det A = det A^T, which LAPACK factors
    cdef int n = a.shape[1], info = 0
    cdef Py_ssize_t k, i
    cdef double logdet, sign, d
    cdef int *ipiv = <int *> malloc(max(n, 1) * sizeof(int))
    for k in range(a.shape[0]):
        sign, logdet = 1, 0
        if n > 0:
            if real is float:
                lapack.sgetrf(&n, &n, &a[k, 0, 0], &n, ipiv, &info)
            else:
                lapack.dgetrf(&n, &n, &a[k, 0, 0], &n, ipiv, &info)
        for i in range(n):
            d = a[k, i, i]
            if ipiv[i] != i + 1:  # a row swap
                sign = -sign
            if d < 0:
                sign, d = -sign, -d
            logdet += log(d)
        if info > 0:  # exactly singular: NumPy's (0, -inf)
            sign, logdet = 0, -INFINITY
        out[k, 0], out[k, 1] = <real> sign, <real> logdet
    free(ipiv)


def slogdet(a):
    """``(sign, logabsdet)`` of each matrix, as ``numpy.linalg.slogdet``."""
    x, batch = _stack(a, 2)
    out = np.empty((x.shape[0], 2), x.dtype)
    if x.dtype == np.float32:
        _slogdet[float](x, out)
    else:
        _slogdet[double](x, out)
    out = out.reshape(batch + (2,))
    return out[..., 0], out[..., 1]


# ---------------------------------------------------------------- symmetric eigenproblem: syevd


cdef int _syevd(real[:, :, ::1] a, real[:, ::1] w, bint vectors) noexcept nogil:
    cdef int n = a.shape[1], info = 0, lwork = -1, liwork = -1, iquery = 0
    cdef char jobz = b"V" if vectors else b"N"
    cdef char uplo = b"U"  # LAPACK's upper triangle of A^T is our lower triangle of A
    cdef real query = 0
    cdef Py_ssize_t k
    if n == 0 or a.shape[0] == 0:
        return 0
    if real is float:  # the workspace, asked once for the whole batch
        lapack.ssyevd(&jobz, &uplo, &n, &a[0, 0, 0], &n, &w[0, 0], &query, &lwork, &iquery, &liwork, &info)
    else:
        lapack.dsyevd(&jobz, &uplo, &n, &a[0, 0, 0], &n, &w[0, 0], &query, &lwork, &iquery, &liwork, &info)
    liwork = iquery + 1
    cdef real *work = _work(query, &lwork)
    cdef int *iwork = <int *> malloc(liwork * sizeof(int))
    if _missing(work, iwork):
        return -1
    for k in range(a.shape[0]):
        if real is float:
            lapack.ssyevd(&jobz, &uplo, &n, &a[k, 0, 0], &n, &w[k, 0], work, &lwork, iwork, &liwork, &info)
        else:
            lapack.dsyevd(&jobz, &uplo, &n, &a[k, 0, 0], &n, &w[k, 0], work, &lwork, iwork, &liwork, &info)
        if info != 0:
            _nan_fill(&w[k, 0], n)
            _nan_fill(&a[k, 0, 0], n * n)
    free(work)
    free(iwork)
    return 0


def eigh(a, vectors=True):
    """Eigenvalues (ascending) and, with ``vectors``, eigenvectors (columns) of symmetric
    matrices, their lower triangle read: ``numpy.linalg.eigh`` / ``eigvalsh``."""
    x, batch = _stack(a, 2)
    n = x.shape[-1]
    w = np.empty((x.shape[0], n), x.dtype)
    status = _syevd[float](x, w, vectors) if x.dtype == np.float32 else _syevd[double](x, w, vectors)
    if status:
        raise MemoryError("eigh: no memory for LAPACK's workspace")
    w = w.reshape(batch + (n,))
    if not vectors:
        return w
    return w, np.swapaxes(x, -1, -2).reshape(batch + (n, n))  # LAPACK's columns are our rows


# ---------------------------------------------------------------- singular values: gesdd


cdef int _gesdd(real[:, :, ::1] a, real[:, ::1] s, real[:, :, ::1] u, real[:, :, ::1] v, bint vectors) noexcept nogil:
    # a: column-major (B, n, m) copies of the m x n matrices; u: (B, k, m) column-major U,
    # v: (B, n, k) whose rows are LAPACK's column-major VT (k x n), that is V itself
    cdef int m = a.shape[2], n = a.shape[1], info = 0, lwork = -1
    cdef int kk = m if m < n else n
    cdef int ldu = m if m > 1 else 1, ldvt = kk if kk > 1 else 1
    cdef char jobz = b"S" if vectors else b"N"
    cdef real query = 0
    cdef Py_ssize_t k
    cdef real *pu
    cdef real *pv
    if kk == 0 or a.shape[0] == 0:
        return 0
    cdef int *iwork = <int *> malloc(8 * kk * sizeof(int))
    pu, pv = (&u[0, 0, 0], &v[0, 0, 0]) if vectors else (&s[0, 0], &s[0, 0])
    if real is float:
        lapack.sgesdd(&jobz, &m, &n, &a[0, 0, 0], &m, &s[0, 0], pu, &ldu, pv, &ldvt, &query, &lwork, iwork, &info)
    else:
        lapack.dgesdd(&jobz, &m, &n, &a[0, 0, 0], &m, &s[0, 0], pu, &ldu, pv, &ldvt, &query, &lwork, iwork, &info)
    cdef real *work = _work(query, &lwork)
    if _missing(work, iwork):
        return -1
    for k in range(a.shape[0]):
        if vectors:
            pu, pv = &u[k, 0, 0], &v[k, 0, 0]
        if real is float:
            lapack.sgesdd(&jobz, &m, &n, &a[k, 0, 0], &m, &s[k, 0], pu, &ldu, pv, &ldvt, work, &lwork, iwork, &info)
        else:
            lapack.dgesdd(&jobz, &m, &n, &a[k, 0, 0], &m, &s[k, 0], pu, &ldu, pv, &ldvt, work, &lwork, iwork, &info)
        if info != 0:
            _nan_fill(&s[k, 0], kk)
            if vectors:
                _nan_fill(&u[k, 0, 0], kk * m)
                _nan_fill(&v[k, 0, 0], kk * n)
    free(work)
    free(iwork)
    return 0


def svd(a, compute_uv=True):
    """The reduced SVD ``(u, s, vh)`` of each matrix (or ``s`` alone), as
    ``numpy.linalg.svd(a, full_matrices=False)``."""
    x, batch = _stack(a, 2)
    m, n = x.shape[-2:]
    k = min(m, n)
    cols = _column_major(x)
    s = np.empty((x.shape[0], k), x.dtype)
    u = np.empty((x.shape[0], k, m), x.dtype)
    v = np.empty((x.shape[0], n, k), x.dtype)
    if x.dtype == np.float32:
        status = _gesdd[float](cols, s, u, v, compute_uv)
    else:
        status = _gesdd[double](cols, s, u, v, compute_uv)
    if status:
        raise MemoryError("svd: no memory for LAPACK's workspace")
    s = s.reshape(batch + (k,))
    if not compute_uv:
        return s
    u = np.swapaxes(u, -1, -2).reshape(batch + (m, k))
    return u, s, np.swapaxes(v, -1, -2).reshape(batch + (k, n))


# ---------------------------------------------------------------- QR: geqrf + orgqr


cdef int _geqrf(real[:, :, ::1] q, real[:, :, ::1] r, int n) noexcept nogil:
    # q: (B, kq, m), each a column-major m x kq buffer holding A in its first n columns;
    # r: (B, n, n), receives R^T row-major (R column-major)
    cdef int m = q.shape[2], kq = q.shape[1], info = 0, lwork = -1
    cdef real query = 0, zero = 0
    cdef Py_ssize_t k, i, j
    if m == 0 or q.shape[0] == 0:
        return 0
    cdef real *tau = <real *> malloc((n + 1) * sizeof(real))
    if real is float:
        lapack.sgeqrf(&m, &n, &q[0, 0, 0], &m, tau, &query, &lwork, &info)
    else:
        lapack.dgeqrf(&m, &n, &q[0, 0, 0], &m, tau, &query, &lwork, &info)
    cdef int lwork_qr = <int> query + 1
    lwork = -1
    if real is float:
        lapack.sorgqr(&m, &kq, &n, &q[0, 0, 0], &m, tau, &query, &lwork, &info)
    else:
        lapack.dorgqr(&m, &kq, &n, &q[0, 0, 0], &m, tau, &query, &lwork, &info)
    cdef real *work = _work(query if query > lwork_qr else <real> lwork_qr, &lwork)
    if _missing(work, tau):
        return -1
    for k in range(q.shape[0]):
        if n > 0:
            if real is float:
                lapack.sgeqrf(&m, &n, &q[k, 0, 0], &m, tau, work, &lwork, &info)
            else:
                lapack.dgeqrf(&m, &n, &q[k, 0, 0], &m, tau, work, &lwork, &info)
        for j in range(n):  # R's column j: rows 0..j of LAPACK's column j
            for i in range(n):
                r[k, j, i] = q[k, j, i] if i <= j else zero
        if real is float:
            lapack.sorgqr(&m, &kq, &n, &q[k, 0, 0], &m, tau, work, &lwork, &info)
        else:
            lapack.dorgqr(&m, &kq, &n, &q[k, 0, 0], &m, tau, work, &lwork, &info)
    free(work)
    free(tau)
    return 0


def qr(a, complete=False):
    """``(q, r)`` of each matrix (m >= n), as ``numpy.linalg.qr`` in mode 'reduced' or
    'complete'."""
    x, batch = _stack(a, 2)
    m, n = x.shape[-2:]
    if m < n:
        raise ValueError(f"qr: expected m >= n, got {x.shape[-2:]}")
    kq = m if complete else n
    q = np.zeros((x.shape[0], kq, m), x.dtype)
    q[:, :n, :] = np.swapaxes(x, -1, -2)
    r = np.empty((x.shape[0], n, n), x.dtype)
    status = _geqrf[float](q, r, n) if x.dtype == np.float32 else _geqrf[double](q, r, n)
    if status:
        raise MemoryError("qr: no memory for LAPACK's workspace")
    q = np.swapaxes(q, -1, -2).reshape(batch + (m, kq))
    r = np.swapaxes(r, -1, -2).reshape(batch + (n, n))
    if complete:  # R is m x n: zero rows below the n x n triangle
        r = np.concatenate([r, np.zeros(batch + (m - n, n), r.dtype)], axis=-2)
    return q, r
