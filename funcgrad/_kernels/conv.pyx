# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled 2-D convolution and pooling kernels (NCHW activations, OIHW weights).

The ``cdef`` kernels declared in conv.pxd are what the executor calls (raw pointers, a
caller-owned workspace, no GIL). The ``def`` functions below mirror funcgrad.conv_numpy's
signatures, validate everything they are given and allocate their own outputs; they exist
for tests, benchmarks and eager use.

Convolution is im2col + BLAS, one image at a time: im2col gives ``cols[(c, i, j), (oh, ow)]``
(K = C*kh*kw rows of P = OH*OW columns, conv_numpy's per-image layout), and the GEMMs read and
write the NCHW arrays in place. A batch runs in ONE OpenMP parallel region in which each thread
owns whole images (its own slice of the workspace; filter-grad partial sums are reduced at the
end in thread order, so results are deterministic for a given thread count). The GEMMs of a
thread are cut into pieces of at most 4 * 65536 multiply-adds, below which OpenBLAS never starts
threads of its own, so BLAS threads never oversubscribe the cores. Measured on the reference CNN
(2 cores): per-image GEMMs use OpenBLAS's small-matrix kernels (~150 GFLOP/s a core, no packing
pass) where one GEMM over a chunk of images packs its operands (~80-110 GFLOP/s), and a single
parallel region per call avoids the barrier storms that per-chunk regions suffer on a busy machine.
"""

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY, copysign
from libc.stdint cimport uint8_t
from libc.string cimport memcpy, memset
from openmp cimport omp_in_parallel
from scipy.linalg.cython_blas cimport dgemm, sgemm

cimport numpy as cnp

import numpy as np

cnp.import_array()


# funcgrad's own setting: other libraries may change OpenMP's default. With 1, no OpenMP
# region is entered at all (what a forked child needs: GNU libgomp's pool does not survive
# fork, and a parallel region there waits forever for threads that do not exist).
cdef int _n_threads = 1


def set_num_threads(int n):
    """Threads for the compiled kernels (conv, pooling, the executor's large GEMMs and
    elementwise kernels). Use :func:`funcgrad.set_num_threads`, which also keeps BLAS from
    starting threads of its own while funcgrad's run."""
    global _n_threads
    if n < 1:
        raise ValueError(f"the number of threads must be at least 1, got {n}")
    _n_threads = n


def get_num_threads():
    return _n_threads


cdef int num_threads() noexcept nogil:
    return _n_threads


cdef bint _blas_threaded = True  # False while funcgrad.threads holds BLAS to one thread


def set_blas_threaded(bint threaded):
    """Whether BLAS may start threads of its own: if so, GEMMs issued from our threads are
    cut into pieces below its multithreading threshold (see _gemm_pieces)."""
    global _blas_threaded
    _blas_threaded = threaded



ctypedef fused real:
    float
    double

cdef extern from "limits.h":
    cdef int INT_MAX

# Work items (elements touched) below which loops stay on the calling thread.
cdef Py_ssize_t PAR_MIN = 32768
# Largest M*N*K that OpenBLAS runs on the calling thread (SMP_THRESHOLD_MIN 65536 times the
# default GEMM_MULTITHREAD_THRESHOLD 4): GEMMs issued inside a parallel region stay below it.
cdef double GEMM_SERIAL_MNK = 262144.0
# Shortest K = C*KH*KW for which the filter gradient transposes gy for a faster GEMM.
cdef Py_ssize_t FILTER_GRAD_TRANSPOSE_MIN_K = 64


# ----------------------------------------------------------------------------- geometry


cdef inline Py_ssize_t _out_size(Py_ssize_t n, Py_ssize_t k, Py_ssize_t s, Py_ssize_t lo,
                                 Py_ssize_t hi, Py_ssize_t d) noexcept nogil:
    return (n + lo + hi - d * (k - 1) - 1) // s + 1


cdef int geom_init(ConvGeom* g) noexcept nogil:
    # Every field fits a BLAS int, so products of two fields cannot overflow Py_ssize_t.
    if (g.n < 0 or g.c < 0 or g.h < 0 or g.w < 0 or g.o < 0 or g.pt < 0 or g.pb < 0
            or g.pl < 0 or g.pr < 0 or g.kh < 1 or g.kw < 1 or g.sh < 1 or g.sw < 1
            or g.dh < 1 or g.dw < 1):
        return -1
    if (g.n > INT_MAX or g.c > INT_MAX or g.h > INT_MAX or g.w > INT_MAX or g.o > INT_MAX
            or g.kh > INT_MAX or g.kw > INT_MAX or g.sh > INT_MAX or g.sw > INT_MAX
            or g.dh > INT_MAX or g.dw > INT_MAX or g.pt > INT_MAX or g.pb > INT_MAX
            or g.pl > INT_MAX or g.pr > INT_MAX):
        return -1
    if g.dh * (g.kh - 1) + 1 > g.h + g.pt + g.pb or g.dw * (g.kw - 1) + 1 > g.w + g.pl + g.pr:
        return -1
    g.oh = _out_size(g.h, g.kh, g.sh, g.pt, g.pb, g.dh)
    g.ow = _out_size(g.w, g.kw, g.sw, g.pl, g.pr, g.dw)
    if g.oh > INT_MAX or g.ow > INT_MAX or g.oh * g.ow > INT_MAX:
        return -1
    if g.c * g.kh > INT_MAX or g.c * g.kh * g.kw > INT_MAX:
        return -1
    return 0


cdef inline bint _geom_ok(const ConvGeom* g) noexcept nogil:
    """Re-validates a caller's struct (cheap) so a stale or hand-made one cannot overrun."""
    cdef ConvGeom copy = g[0]
    return geom_init(&copy) == 0 and copy.oh == g.oh and copy.ow == g.ow


cdef inline Py_ssize_t _ws_per_thread(const ConvGeom* g, int kernel) noexcept nogil:
    """One image's im2col buffer (+ a dW accumulator and a transposed gy for the filter
    gradient; + the halos of _col2im_halo for the input gradient)."""
    cdef Py_ssize_t k = g.c * g.kh * g.kw, p = g.oh * g.ow, halo
    if kernel == CONV_FILTER_GRAD:
        return k * p + (k + p) * g.o
    if kernel == CONV_INPUT_GRAD:
        halo = _col2im_halo(g)
        if halo > 0:
            return k * p + (k + 1) * halo
    return k * p


cdef inline int _max_threads() noexcept nogil:
    """Threads a kernel may start: 1 inside another parallel region (the executor's loops
    over images give each thread its own images, and nested regions only add overhead)."""
    return 1 if omp_in_parallel() else _n_threads


cdef Py_ssize_t conv_workspace_size(const ConvGeom* g, int kernel) noexcept nogil:
    if not _geom_ok(g) or kernel < CONV_FORWARD or kernel > CONV_FILTER_GRAD:
        return -1
    return _ws_per_thread(g, kernel) * _max_threads()


cdef Py_ssize_t conv_workspace_min(const ConvGeom* g, int kernel) noexcept nogil:
    if not _geom_ok(g) or kernel < CONV_FORWARD or kernel > CONV_FILTER_GRAD:
        return -1
    return _ws_per_thread(g, kernel)


cdef inline int _threads(const ConvGeom* g, int kernel, Py_ssize_t ws_size) noexcept nogil:
    """Threads for a batch: 1 for tiny work or a single image; limited by the workspace."""
    cdef Py_ssize_t per = _ws_per_thread(g, kernel), work, t
    work = g.n * (g.c * g.h * g.w + g.o * g.oh * g.ow + per)
    if g.n < 2 or work < PAR_MIN:
        return 1
    t = _max_threads()
    if t > g.n:
        t = g.n
    if per > 0 and t > ws_size // per:
        t = ws_size // per
    return <int>t if t > 1 else 1


# ----------------------------------------------------------------------------- BLAS


cdef inline void _gemm(char* ta, char* tb, int m, int n, int k, const real* a, int lda,
                       const real* b, int ldb, real beta, real* c, int ldc) noexcept nogil:
    """Column-major C = op(A) @ op(B) + beta * C."""
    cdef real one = 1
    if real is float:
        sgemm(ta, tb, &m, &n, &k, &one, <float*>a, &lda, <float*>b, &ldb, &beta, c, &ldc)
    else:
        dgemm(ta, tb, &m, &n, &k, &one, <double*>a, &lda, <double*>b, &ldb, &beta, c, &ldc)


cdef void _gemm_pieces(char* ta, char* tb, int m, int n, int k, const real* a, int lda,
                       const real* b, int ldb, real beta, real* c, int ldc,
                       bint split) noexcept nogil:
    """_gemm, cut (if split and BLAS may use threads) along m (when ta == "N") or else n (tb
    must be "N") into pieces below GEMM_SERIAL_MNK, so that OpenBLAS runs each one on the
    calling thread: two thread pools fighting for the cores cost more than small GEMMs."""
    cdef int step, i0, cnt
    cdef double mnk = <double>m * n * k
    if not split or not _blas_threaded or mnk <= GEMM_SERIAL_MNK:
        _gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)
        return
    if ta[0] == b"N"[0]:
        step = <int>(GEMM_SERIAL_MNK / (<double>n * k))
        step = step if step > 0 else 1
        i0 = 0
        while i0 < m:  # rows of column-major A and C
            cnt = step if m - i0 > step else m - i0
            _gemm(ta, tb, cnt, n, k, a + i0, lda, b, ldb, beta, c + i0, ldc)
            i0 += cnt
    else:  # tb == "N": columns of column-major B and C
        step = <int>(GEMM_SERIAL_MNK / (<double>m * k))
        step = step if step > 0 else 1
        i0 = 0
        while i0 < n:
            cnt = step if n - i0 > step else n - i0
            _gemm(ta, tb, m, cnt, k, a, lda, b + <Py_ssize_t>i0 * ldb, ldb, beta,
                  c + <Py_ssize_t>i0 * ldc, ldc)
            i0 += cnt


# ----------------------------------------------------------------------------- im2col / col2im


cdef inline void _valid_cols(const ConvGeom* g, Py_ssize_t j, Py_ssize_t* lo,
                             Py_ssize_t* hi) noexcept nogil:
    """Output columns [lo, hi) whose window offset j lands inside the input row."""
    cdef Py_ssize_t iw0 = j * g.dw - g.pl  # input column of output column 0
    if g.sw == 1:  # without divisions, which cost as much as a short row's copy
        lo[0] = -iw0 if iw0 < 0 else 0
        hi[0] = g.w - iw0 if g.w > iw0 else 0
    else:
        lo[0] = (-iw0 + g.sw - 1) // g.sw if iw0 < 0 else 0
        hi[0] = (g.w - iw0 + g.sw - 1) // g.sw if g.w > iw0 else 0
    if lo[0] > g.ow:
        lo[0] = g.ow
    if hi[0] > g.ow:
        hi[0] = g.ow
    if hi[0] < lo[0]:
        hi[0] = lo[0]


cdef inline bint _rows_contiguous(const ConvGeom* g) noexcept nogil:
    """Strides 1 and OW == W (e.g. SAME padding): output row r + 1 reads the input row after
    the one output row r reads, at the same columns, so a window offset's rows of cols are
    one contiguous run of the input plane, apart from the columns that fall in the padding."""
    return g.sh == 1 and g.sw == 1 and g.ow == g.w


cdef inline void _valid_rows(const ConvGeom* g, Py_ssize_t i, Py_ssize_t* r0,
                             Py_ssize_t* r1) noexcept nogil:
    """Output rows [r0, r1) whose window offset i lands inside the input (stride 1)."""
    cdef Py_ssize_t ih0 = i * g.dh - g.pt  # input row of output row 0
    r0[0] = -ih0 if ih0 < 0 else 0
    r1[0] = g.h - ih0 if g.h - ih0 < g.oh else g.oh
    if r0[0] > g.oh:
        r0[0] = g.oh
    if r1[0] < r0[0]:
        r1[0] = r0[0]


cdef inline Py_ssize_t _tap_offset(const ConvGeom* g, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    """When _rows_contiguous: entry q of window offset (i, j)'s row of cols is entry
    q + offset of the input plane (inside the run of _fill_outside_run)."""
    return (i * g.dh - g.pt) * g.ow + (j * g.dw - g.pl)


cdef inline void _fill_outside_run(const ConvGeom* g, real* row, Py_ssize_t lo, Py_ssize_t hi,
                                   Py_ssize_t r0, Py_ssize_t r1, real value) noexcept nogil:
    """value into the entries of a window offset's row of cols (output rows [r0, r1) and
    columns [lo, hi) valid, r0 < r1, lo < hi) that fall in the padding: before the run
    row[r0 * ow + lo:(r1 - 1) * ow + hi], after it, and the columns [hi, ow) of one output
    row and [0, lo) of the next inside it. Those last go column by column: GCC turns a loop
    along a row into a memset call, slower than the one or two stores of a SAME padding."""
    cdef Py_ssize_t q, t, ow = g.ow, end = (r1 - 1) * ow + hi
    for q in range(r0 * ow + lo):
        row[q] = value
    for q in range(end, g.oh * ow):
        row[q] = value
    for q in range(hi, ow + lo):
        for t in range(r0, r1 - 1):
            row[t * ow + q] = value


cdef void _im2col_plane_contiguous(const ConvGeom* g, const real* xin, real* cols,
                                   Py_ssize_t ld, Py_ssize_t ch) noexcept nogil:
    """_im2col_plane when _rows_contiguous: one memcpy per window offset (its run wraps
    around into the neighbouring input rows), then the padding zeroed (2x faster than row
    by row on the reference CNN, whose rows are short)."""
    cdef Py_ssize_t i, j, lo, hi, r0, r1, ow = g.ow, p = g.oh * g.ow
    cdef real* row
    for i in range(g.kh):
        _valid_rows(g, i, &r0, &r1)
        for j in range(g.kw):
            row = cols + ((ch * g.kh + i) * g.kw + j) * ld
            _valid_cols(g, j, &lo, &hi)
            if r0 == r1 or lo == hi:
                memset(row, 0, p * sizeof(real))
                continue
            memcpy(row + r0 * ow + lo, xin + r0 * ow + lo + _tap_offset(g, i, j),
                   ((r1 - 1 - r0) * ow + hi - lo) * sizeof(real))
            _fill_outside_run(g, row, lo, hi, r0, r1, 0)


cdef void _im2col_plane(const ConvGeom* g, const real* xin, real* cols, Py_ssize_t ld,
                        Py_ssize_t ch) noexcept nogil:
    """Rows (ch, i, j) of cols (ld apart) from one input plane; padding reads as 0."""
    cdef Py_ssize_t i, j, r, q, ih, lo, hi, iw0, sw = g.sw, ow = g.ow
    cdef real* row
    cdef real* dst
    cdef const real* src
    for i in range(g.kh):
        for j in range(g.kw):
            row = cols + ((ch * g.kh + i) * g.kw + j) * ld
            _valid_cols(g, j, &lo, &hi)
            iw0 = j * g.dw - g.pl
            for r in range(g.oh):
                ih = r * g.sh + i * g.dh - g.pt
                dst = row + r * ow
                if ih < 0 or ih >= g.h:
                    memset(dst, 0, ow * sizeof(real))
                    continue
                # Rows are short (OW ~ 14-28): inline loops beat libc calls here.
                src = xin + ih * g.w + iw0
                for q in range(lo):
                    dst[q] = 0
                if sw == 1:
                    for q in range(lo, hi):
                        dst[q] = src[q]
                else:
                    for q in range(lo, hi):
                        dst[q] = src[q * sw]
                for q in range(hi, ow):
                    dst[q] = 0


cdef enum:
    # Most window offsets (taps) that _col2im_plane_fused sums in one pass (5x5 windows).
    _MAX_TAPS = 25
    # Elements of dx per block there: several vectors, so that the CPU overlaps the chains
    # of dependent additions.
    _BLOCK = 16


cdef Py_ssize_t _col2im_halo(const ConvGeom* g) noexcept nogil:
    """Entries around each row of the input gradient's cols for _col2im_plane_fused, or -1
    where that path is not taken (strides > 1, OW != W, more than _MAX_TAPS taps, or a halo
    longer than a row, which would more than double the workspace)."""
    cdef Py_ssize_t i, j, lo, hi, r0, r1, off, halo = 0, p = g.oh * g.ow
    if not _rows_contiguous(g) or g.kh * g.kw > _MAX_TAPS:
        return -1
    for i in range(g.kh):
        _valid_rows(g, i, &r0, &r1)
        for j in range(g.kw):
            _valid_cols(g, j, &lo, &hi)
            if r0 == r1 or lo == hi:
                continue
            # Tap (i, j) adds row[t - off] onto dx[t] for t in [0, H*W), so reads as far as
            # off before its row and H*W - P - off after it.
            off = _tap_offset(g, i, j)
            halo = off if off > halo else halo
            halo = g.h * g.w - p - off if g.h * g.w - p - off > halo else halo
    return halo if halo <= p else -1


cdef void _col2im_plane_fused(const ConvGeom* g, real* cols, Py_ssize_t ld, real* xout,
                              Py_ssize_t ch) noexcept nogil:
    """_col2im_plane's additions on the layout of _col2im_halo: row m of cols at cols + m * ld,
    with -0.0 in the ld - P >= halo entries between rows (and before the first, after the
    last). Each block of dx is loaded once, gets one term from each tap (window offset) in
    window order and is stored once. Entries of a row outside its tap's run (padding) are set
    to -0.0 first, and -0.0 adds nothing to any value (not even to -0.0), so every element
    gets exactly the terms, in the order, of adding each tap's run one after the other.
    That order of work was 2x slower for the reference CNN: each run reloads dx one element
    off from the vector stores of the run before, which the CPU cannot forward from its
    store buffer."""
    cdef Py_ssize_t i, j, t, q, u, lo, hi, r0, r1, ntaps = 0, ow = g.ow
    cdef Py_ssize_t t_lo = g.h * g.w, t_hi = 0, start, end
    cdef Py_ssize_t offs[_MAX_TAPS]
    cdef real* rows[_MAX_TAPS]
    cdef real* row
    cdef const real* src
    cdef real acc[_BLOCK]
    cdef real nz = copysign(0.0, -1.0)
    for i in range(g.kh):
        _valid_rows(g, i, &r0, &r1)
        for j in range(g.kw):
            _valid_cols(g, j, &lo, &hi)
            if r0 == r1 or lo == hi:
                continue
            row = cols + ((ch * g.kh + i) * g.kw + j) * ld
            _fill_outside_run(g, row, lo, hi, r0, r1, nz)
            start = r0 * ow + lo  # the run: row[start:end] -> dx[start + off:end + off]
            end = (r1 - 1) * ow + hi
            rows[ntaps] = row
            offs[ntaps] = _tap_offset(g, i, j)
            t_lo = start + offs[ntaps] if start + offs[ntaps] < t_lo else t_lo
            t_hi = end + offs[ntaps] if end + offs[ntaps] > t_hi else t_hi
            ntaps += 1
    t = t_lo
    while t + _BLOCK <= t_hi:
        for u in range(_BLOCK):
            acc[u] = xout[t + u]
        for q in range(ntaps):
            src = rows[q] + (t - offs[q])
            for u in range(_BLOCK):
                acc[u] += src[u]
        for u in range(_BLOCK):
            xout[t + u] = acc[u]
        t += _BLOCK
    while t < t_hi:
        acc[0] = xout[t]
        for q in range(ntaps):
            acc[0] += rows[q][t - offs[q]]
        xout[t] = acc[0]
        t += 1


cdef void _col2im_plane(const ConvGeom* g, real* cols, Py_ssize_t ld, real* xout,
                        Py_ssize_t ch, bint accumulate, bint fused) noexcept nogil:
    """Adjoint of _im2col_plane: add rows (ch, i, j) of cols onto one plane of dx; fused:
    cols has the layout of _col2im_halo, whose padding entries this overwrites."""
    cdef Py_ssize_t i, j, r, q, ih, lo, hi, iw0
    cdef const real* row
    cdef const real* src
    cdef real* dst
    if not accumulate:
        memset(xout, 0, g.h * g.w * sizeof(real))
    if fused:
        _col2im_plane_fused(g, cols, ld, xout, ch)
        return
    for i in range(g.kh):
        for j in range(g.kw):
            row = cols + ((ch * g.kh + i) * g.kw + j) * ld
            _valid_cols(g, j, &lo, &hi)
            iw0 = j * g.dw - g.pl
            for r in range(g.oh):
                ih = r * g.sh + i * g.dh - g.pt
                if ih < 0 or ih >= g.h:
                    continue
                src = row + r * g.ow
                dst = xout + ih * g.w + iw0
                if g.sw == 1:
                    for q in range(lo, hi):
                        dst[q] += src[q]
                else:
                    for q in range(lo, hi):
                        dst[q * g.sw] += src[q]


cdef void _im2col(const ConvGeom* g, const real* x, real* cols, bint par) noexcept nogil:
    """cols (K, P) of one image; threaded over channels if par."""
    cdef Py_ssize_t p = g.oh * g.ow, hw = g.h * g.w, ch
    cdef bint contiguous = _rows_contiguous(g)
    if par and _max_threads() > 1:
        for ch in prange(g.c, schedule="static", num_threads=_n_threads):
            if contiguous:
                _im2col_plane_contiguous(g, x + ch * hw, cols, p, ch)
            else:
                _im2col_plane(g, x + ch * hw, cols, p, ch)
    elif contiguous:
        for ch in range(g.c):
            _im2col_plane_contiguous(g, x + ch * hw, cols, p, ch)
    else:
        for ch in range(g.c):
            _im2col_plane(g, x + ch * hw, cols, p, ch)


cdef void _col2im(const ConvGeom* g, real* cols, Py_ssize_t ld, real* dx, bint accumulate,
                  bint fused, bint par) noexcept nogil:
    """dx (C, H, W) of one image (+)= col2im of cols (K rows ld apart); threaded over channels
    if par."""
    cdef Py_ssize_t hw = g.h * g.w, ch
    if par and _max_threads() > 1:
        for ch in prange(g.c, schedule="static", num_threads=_n_threads):
            _col2im_plane(g, cols, ld, dx + ch * hw, ch, accumulate, fused)
    else:
        for ch in range(g.c):
            _col2im_plane(g, cols, ld, dx + ch * hw, ch, accumulate, fused)


cdef inline bint _big_image(const ConvGeom* g) noexcept nogil:
    """A single image worth threading its im2col/col2im over channels."""
    return g.c > 1 and g.c * g.kh * g.kw * g.oh * g.ow >= PAR_MIN


# ----------------------------------------------------------------------------- convolution


cdef void _forward_image(const ConvGeom* g, const real* x, const real* w, const real* bias,
                         real* y, real* cols, bint split, bint par) noexcept nogil:
    cdef Py_ssize_t k = g.c * g.kh * g.kw, p = g.oh * g.ow, oc, q
    cdef real beta = 0
    if bias != NULL:  # the GEMM adds onto it
        beta = 1
        for oc in range(g.o):
            for q in range(p):
                y[oc * p + q] = bias[oc]
    _im2col(g, x, cols, par)
    # y (O, P) = W (O, K) @ cols (K, P): column-major y^T = cols^T @ W^T.
    _gemm_pieces(b"N", b"N", <int>p, <int>g.o, <int>k, cols, <int>p, w, <int>k, beta, y,
                 <int>p, split)


cdef int _conv_forward(const ConvGeom* g, const real* x, const real* w, const real* bias,
                       real* y, real* ws, Py_ssize_t ws_size) noexcept nogil:
    cdef Py_ssize_t k = g.c * g.kh * g.kw, p = g.oh * g.ow, chw = g.c * g.h * g.w
    cdef Py_ssize_t op = g.o * p, per = _ws_per_thread(g, CONV_FORWARD), b, oc, q
    cdef int nt
    if not _geom_ok(g) or ws_size < per:
        return -1
    if g.n == 0 or g.o == 0 or p == 0:
        return 0
    if k == 0:  # no input channels: the output is the bias
        for b in range(g.n):
            for oc in range(g.o):
                for q in range(p):
                    y[b * op + oc * p + q] = bias[oc] if bias != NULL else 0
        return 0
    nt = _threads(g, CONV_FORWARD, ws_size)
    if nt == 1:
        for b in range(g.n):
            _forward_image(g, x + b * chw, w, bias, y + b * op, ws, False, _big_image(g))
        return 0
    for b in prange(g.n, schedule="static", num_threads=nt):
        _forward_image(g, x + b * chw, w, bias, y + b * op, ws + threadid() * per, True, False)
    return 0


cdef void _input_grad_image(const ConvGeom* g, const real* gy, const real* w, real* dx,
                            real* ws, Py_ssize_t halo, bint accumulate, bint split,
                            bint par) noexcept nogil:
    """halo: _col2im_halo(g); the halos of ws hold -0.0 (_fill_halos) when it is >= 0."""
    cdef Py_ssize_t k = g.c * g.kh * g.kw, p = g.oh * g.ow
    cdef Py_ssize_t ld = p + halo if halo > 0 else p
    cdef real* dcols = ws + halo if halo > 0 else ws
    # dcols (K, P) = W^T (K, O) @ gy (O, P): column-major dcols^T = gy^T @ W.
    _gemm_pieces(b"N", b"T", <int>p, <int>k, <int>g.o, gy, <int>p, w, <int>k, 0, dcols,
                 <int>ld, split)
    _col2im(g, dcols, ld, dx, accumulate, halo >= 0, par)


cdef void _fill_halos(const ConvGeom* g, real* ws, Py_ssize_t halo) noexcept nogil:
    """-0.0 before, between and after the rows of one thread's dcols (_col2im_halo): the
    GEMMs write the rows only, so this holds for every image of a call."""
    cdef Py_ssize_t k = g.c * g.kh * g.kw, ld = g.oh * g.ow + halo, m, q
    cdef real nz = copysign(0.0, -1.0)
    for m in range(k + 1):
        for q in range(halo):
            ws[m * ld + q] = nz


cdef int _conv_input_grad(const ConvGeom* g, const real* gy, const real* w, real* dx,
                          real* ws, Py_ssize_t ws_size, bint accumulate) noexcept nogil:
    cdef Py_ssize_t p = g.oh * g.ow, chw = g.c * g.h * g.w, op = g.o * p
    cdef Py_ssize_t per = _ws_per_thread(g, CONV_INPUT_GRAD), b, t, halo
    cdef int nt
    if not _geom_ok(g) or ws_size < per:
        return -1
    if g.n == 0 or chw == 0:
        return 0
    if g.o == 0 or p == 0:
        if not accumulate:
            memset(dx, 0, g.n * chw * sizeof(real))
        return 0
    nt = _threads(g, CONV_INPUT_GRAD, ws_size)
    halo = _col2im_halo(g)
    if halo > 0:
        for t in range(nt):
            _fill_halos(g, ws + t * per, halo)
    if nt == 1:
        for b in range(g.n):
            _input_grad_image(g, gy + b * op, w, dx + b * chw, ws, halo, accumulate, False,
                              _big_image(g))
        return 0
    for b in prange(g.n, schedule="static", num_threads=nt):
        _input_grad_image(g, gy + b * op, w, dx + b * chw, ws + threadid() * per, halo,
                          accumulate, True, False)
    return 0


cdef extern from *:
    """
    #ifdef __AVX__
    #include <immintrin.h>
    #endif
    /* dst (cols, rows) = src (rows, cols) transposed, both C-contiguous. With AVX, in 8x8
       (float) or 4x4 (double) tiles of vector loads, shuffles and stores: one element at a
       time, the stores alone were a large part of the reference CNN's filter gradient. */
    /* rows [r0, r1) and columns [c0, cols) of the transpose, one element at a time: what
       the tiles below leave at the edges */
    #define FG_TRANSPOSE_EDGE(T, S)                                                         \
    static void fg_transpose_edge_##S(const T *src, long rows, long cols, T *dst, long r0,  \
                                      long r1, long c0) {                                   \
        for (long r = r0; r < r1; r++)                                                      \
            for (long c = c0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];         \
    }
    FG_TRANSPOSE_EDGE(float, f)
    FG_TRANSPOSE_EDGE(double, d)
    #ifdef __AVX__
    /* One 8x8 float tile: s its first element (rows `cols` apart), d where its transpose
       goes (rows `rows` apart). Pairs of rows interleaved, then groups of four, then the
       128-bit halves. */
    static inline void fg_transpose_tile_f(const float *s, long cols, float *d, long rows) {
        __m256 a0 = _mm256_loadu_ps(s), a1 = _mm256_loadu_ps(s + cols),
               a2 = _mm256_loadu_ps(s + 2 * cols), a3 = _mm256_loadu_ps(s + 3 * cols),
               a4 = _mm256_loadu_ps(s + 4 * cols), a5 = _mm256_loadu_ps(s + 5 * cols),
               a6 = _mm256_loadu_ps(s + 6 * cols), a7 = _mm256_loadu_ps(s + 7 * cols);
        __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1),
               t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3),
               t4 = _mm256_unpacklo_ps(a4, a5), t5 = _mm256_unpackhi_ps(a4, a5),
               t6 = _mm256_unpacklo_ps(a6, a7), t7 = _mm256_unpackhi_ps(a6, a7);
        __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
               u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
               u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
               u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
        _mm256_storeu_ps(d + rows, _mm256_permute2f128_ps(u1, u5, 0x20));
        _mm256_storeu_ps(d + 2 * rows, _mm256_permute2f128_ps(u2, u6, 0x20));
        _mm256_storeu_ps(d + 3 * rows, _mm256_permute2f128_ps(u3, u7, 0x20));
        _mm256_storeu_ps(d + 4 * rows, _mm256_permute2f128_ps(u0, u4, 0x31));
        _mm256_storeu_ps(d + 5 * rows, _mm256_permute2f128_ps(u1, u5, 0x31));
        _mm256_storeu_ps(d + 6 * rows, _mm256_permute2f128_ps(u2, u6, 0x31));
        _mm256_storeu_ps(d + 7 * rows, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
    /* One 4x4 double tile, likewise */
    static inline void fg_transpose_tile_d(const double *s, long cols, double *d, long rows) {
        __m256d a0 = _mm256_loadu_pd(s), a1 = _mm256_loadu_pd(s + cols),
                a2 = _mm256_loadu_pd(s + 2 * cols), a3 = _mm256_loadu_pd(s + 3 * cols);
        __m256d t0 = _mm256_unpacklo_pd(a0, a1), t1 = _mm256_unpackhi_pd(a0, a1),
                t2 = _mm256_unpacklo_pd(a2, a3), t3 = _mm256_unpackhi_pd(a2, a3);
        _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
        _mm256_storeu_pd(d + rows, _mm256_permute2f128_pd(t1, t3, 0x20));
        _mm256_storeu_pd(d + 2 * rows, _mm256_permute2f128_pd(t0, t2, 0x31));
        _mm256_storeu_pd(d + 3 * rows, _mm256_permute2f128_pd(t1, t3, 0x31));
    }
    #endif
    /* The whole transpose: W x W tiles (with AVX), the rest element by element */
    #ifdef __AVX__
    #define FG_TRANSPOSE_TILES(S, W)                                                        \
        for (; r + W <= rows; r += W) {                                                     \
            for (c = 0; c + W <= cols; c += W)                                              \
                fg_transpose_tile_##S(src + r * cols + c, cols, dst + c * rows + r, rows);  \
            fg_transpose_edge_##S(src, rows, cols, dst, r, r + W, c);                       \
        }
    #else
    #define FG_TRANSPOSE_TILES(S, W)
    #endif
    #define FG_TRANSPOSE(T, S, W)                                                           \
    static void fg_transpose_##S(const T *src, long rows, long cols, T *dst) {             \
        long r = 0, c;                                                                      \
        FG_TRANSPOSE_TILES(S, W)                                                            \
        (void)c;                                                                            \
        fg_transpose_edge_##S(src, rows, cols, dst, r, rows, 0);                            \
    }
    FG_TRANSPOSE(float, f, 8)
    FG_TRANSPOSE(double, d, 4)
    """
    void fg_transpose_f(const float* src, long rows, long cols, float* dst) nogil
    void fg_transpose_d(const double* src, long rows, long cols, double* dst) nogil


cdef void _filter_grad_image(const ConvGeom* g, const real* x, const real* gy, real* cols,
                             real* acc, real beta, bint split, bint par) noexcept nogil:
    cdef Py_ssize_t k = g.c * g.kh * g.kw, p = g.oh * g.ow
    cdef real* gyt = acc + k * g.o  # gy^T (P, O)
    _im2col(g, x, cols, par)
    # Column-major acc (O, K) (+)= gy (O, P) @ cols^T (P, K). OpenBLAS ran it 2x faster with gy
    # transposed first, both operands then untransposed (the reference CNN's second layer,
    # K = 144, 256 images on one thread); for a short K (its first layer, K = 9) the
    # transpose costs more than the product.
    if k < FILTER_GRAD_TRANSPOSE_MIN_K:
        _gemm_pieces(b"T", b"N", <int>g.o, <int>k, <int>p, gy, <int>p, cols, <int>p, beta, acc,
                     <int>g.o, split)
        return
    if real is float:
        fg_transpose_f(gy, g.o, p, gyt)
    else:
        fg_transpose_d(gy, g.o, p, gyt)
    _gemm_pieces(b"N", b"N", <int>g.o, <int>k, <int>p, gyt, <int>g.o, cols, <int>p, beta, acc,
                 <int>g.o, split)


cdef int _conv_filter_grad(const ConvGeom* g, const real* x, const real* gy, real* dw,
                           real* ws, Py_ssize_t ws_size, bint accumulate) noexcept nogil:
    cdef Py_ssize_t k = g.c * g.kh * g.kw, p = g.oh * g.ow, chw = g.c * g.h * g.w
    cdef Py_ssize_t op = g.o * p, per = _ws_per_thread(g, CONV_FILTER_GRAD), kp = k * p
    cdef Py_ssize_t b, t, oc, kk, lo, hi
    cdef int nt
    cdef real s
    if not _geom_ok(g) or ws_size < per:
        return -1
    if g.o == 0 or k == 0:
        return 0
    if g.n == 0 or p == 0:
        if not accumulate:
            memset(dw, 0, g.o * k * sizeof(real))
        return 0
    nt = _threads(g, CONV_FILTER_GRAD, ws_size)
    if nt == 1:
        for b in range(g.n):
            _filter_grad_image(g, x + b * chw, gy + b * op, ws, ws + kp, 0 if b == 0 else 1,
                               False, _big_image(g))
    else:
        # Thread t sums the contiguous images [t*n/nt, (t+1)*n/nt), in order, into its own
        # accumulator; the accumulators are added below in thread order.
        for t in prange(nt, schedule="static", num_threads=nt):
            lo = t * g.n // nt
            hi = (t + 1) * g.n // nt
            for b in range(lo, hi):
                _filter_grad_image(g, x + b * chw, gy + b * op, ws + t * per,
                                   ws + t * per + kp, 0 if b == lo else 1, True, False)
    for oc in range(g.o):
        for kk in range(k):
            s = ws[kp + kk * g.o + oc]
            for t in range(1, nt):
                s = s + ws[t * per + kp + kk * g.o + oc]
            dw[oc * k + kk] = dw[oc * k + kk] + s if accumulate else s
    return 0


cdef int conv2d_forward_f32(const ConvGeom* g, const float* x, const float* w,
                            const float* bias, float* y,
                            float* ws, Py_ssize_t ws_size) noexcept nogil:
    return _conv_forward(g, x, w, bias, y, ws, ws_size)


cdef int conv2d_forward_f64(const ConvGeom* g, const double* x, const double* w,
                            const double* bias, double* y,
                            double* ws, Py_ssize_t ws_size) noexcept nogil:
    return _conv_forward(g, x, w, bias, y, ws, ws_size)


cdef int conv2d_input_grad_f32(const ConvGeom* g, const float* gy, const float* w, float* dx,
                               float* ws, Py_ssize_t ws_size, bint accumulate) noexcept nogil:
    return _conv_input_grad(g, gy, w, dx, ws, ws_size, accumulate)


cdef int conv2d_input_grad_f64(const ConvGeom* g, const double* gy, const double* w,
                               double* dx, double* ws, Py_ssize_t ws_size,
                               bint accumulate) noexcept nogil:
    return _conv_input_grad(g, gy, w, dx, ws, ws_size, accumulate)


cdef int conv2d_filter_grad_f32(const ConvGeom* g, const float* x, const float* gy, float* dw,
                                float* ws, Py_ssize_t ws_size, bint accumulate) noexcept nogil:
    return _conv_filter_grad(g, x, gy, dw, ws, ws_size, accumulate)


cdef int conv2d_filter_grad_f64(const ConvGeom* g, const double* x, const double* gy,
                                double* dw, double* ws, Py_ssize_t ws_size,
                                bint accumulate) noexcept nogil:
    return _conv_filter_grad(g, x, gy, dw, ws, ws_size, accumulate)


# ----------------------------------------------------------------------------- pooling

cdef enum:
    _MAX = 0
    _SELECT = 1
    _SCATTER = 2
    _AVG = 3
    _AVG_T = 4
    _MAX_INDEX = 5  # _MAX that also writes each window's argmax slot (i * kw + j) as a uint8
    _SCATTER_INDEX = 6  # _SCATTER onto the slots _MAX_INDEX wrote, without reading x


# The slot a window's argmax has no in-bounds position (the window sees only padding).
DEF NO_SLOT = 255


# 2x2 windows with stride 2 over a plane without padding and of even height and width (the
# usual CNN pooling): plain C over one pair of input rows at a time, with constant offsets, so
# that GCC vectorizes the loads and stores. The general _pool_block reads src[q * sw] with a
# run-time stride, which it cannot vectorize well (5-8x slower on the reference CNN).
# "Later beats earlier" is a total preorder with NaN on top, so the first maximum of the window
# is the first maximum of the two row pairs' first maxima: same ties and NaNs as _argmax.
cdef extern from *:
    """
    /* v, later in window order, replaces the running max m: larger, or the first NaN.
       Written with || and ?: on floats only (no int flags), so that GCC if-converts and
       vectorizes the loops below; the spellings with int flags we tried stayed scalar. */
    #define FG_BEATS(v, m) ((v) > (m) || ((v) != (v) && (m) == (m)))
    /* Saved argmax slots between bytes and the int / float lanes the pooling loops use, in
       blocks of 8 or 4. GCC leaves these conversions scalar (and slow) whatever the
       spelling, so the common float32 case uses AVX2 when it is there. */
    #define FG_BYTE_LOOPS(T, S, B)                                                          \
    static inline void fg_byte_to_##S##B(const unsigned char *s, T *k) {                    \
        for (long q = 0; q < B; q++) k[q] = (T)s[q];                                        \
    }
    FG_BYTE_LOOPS(double, d, 4)
    FG_BYTE_LOOPS(double, d, 8)
    #ifdef __AVX2__
    static inline void fg_int_to_byte4(const int *slot, unsigned char *s) {
        __m128i w = _mm_packus_epi32(_mm_loadu_si128((const __m128i *)slot), _mm_setzero_si128());
        int four = _mm_cvtsi128_si32(_mm_packus_epi16(w, w));
        memcpy(s, &four, 4);
    }
    static inline void fg_byte_to_f4(const unsigned char *s, float *k) {
        int four;
        memcpy(&four, s, 4);
        _mm_storeu_ps(k, _mm_cvtepi32_ps(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(four))));
    }
    static inline void fg_int_to_byte8(const int *slot, unsigned char *s) {
        __m256i v = _mm256_loadu_si256((const __m256i *)slot);
        __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)s, _mm_packus_epi16(w, w));
    }
    static inline void fg_byte_to_f8(const unsigned char *s, float *k) {
        __m128i b = _mm_loadl_epi64((const __m128i *)s);
        _mm256_storeu_ps(k, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b)));
    }
    #else
    static inline void fg_int_to_byte4(const int *slot, unsigned char *s) {
        for (long q = 0; q < 4; q++) s[q] = (unsigned char)slot[q];
    }
    static inline void fg_int_to_byte8(const int *slot, unsigned char *s) {
        for (long q = 0; q < 8; q++) s[q] = (unsigned char)slot[q];
    }
    FG_BYTE_LOOPS(float, f, 4)
    FG_BYTE_LOOPS(float, f, 8)
    #endif
    /* Blocks of B output columns of one row pair (a, b = a + w), a fixed trip count so that
       there is no scalar remainder loop: with 7 or 14 columns per row (the reference CNN)
       its branchy compares cost more than the vector part. "unroll 1" keeps GCC from fully
       unrolling the loop before if-conversion, which leaves the compares as branches. */
    #define FG_P2_BLOCKS(T, S, B)                                                           \
    static inline void fg_p2_max##B##_##S(const T *restrict a, const T *restrict b,       \
                                          T *restrict y) {                                  \
        _Pragma("GCC unroll 1") for (long q = 0; q < B; q++) {                              \
            T a0 = a[2 * q], a1 = a[2 * q + 1], b0 = b[2 * q], b1 = b[2 * q + 1];           \
            T ma = FG_BEATS(a1, a0) ? a1 : a0, mb = FG_BEATS(b1, b0) ? b1 : b0;             \
            y[q] = FG_BEATS(mb, ma) ? mb : ma;                                              \
        }                                                                                   \
    }                                                                                       \
    /* t is loaded unconditionally: conditional loads are not vectorized */                  \
    static inline void fg_p2_select##B##_##S(const T *restrict a, const T *restrict b,    \
                                             const T *restrict ta, const T *restrict tb,    \
                                             T *restrict y) {                               \
        _Pragma("GCC unroll 1") for (long q = 0; q < B; q++) {                              \
            T a0 = a[2 * q], a1 = a[2 * q + 1], b0 = b[2 * q], b1 = b[2 * q + 1];           \
            T t0 = ta[2 * q], t1 = ta[2 * q + 1], t2 = tb[2 * q], t3 = tb[2 * q + 1];       \
            T ma = FG_BEATS(a1, a0) ? a1 : a0, mb = FG_BEATS(b1, b0) ? b1 : b0;             \
            T va = FG_BEATS(a1, a0) ? t1 : t0, vb = FG_BEATS(b1, b0) ? t3 : t2;             \
            y[q] = FG_BEATS(mb, ma) ? vb : va;                                              \
        }                                                                                   \
    }                                                                                       \
    /* the max and its window slot (0..3, row-major), the slot the scatter below picks;    \
       slots go through an int array: GCC vectorizes neither loop if it mixes the types */ \
    static inline void fg_p2_maxidx##B##_##S(const T *restrict a, const T *restrict b,    \
                                             T *restrict y, unsigned char *restrict s) {    \
        int slot[B];                                                                        \
        _Pragma("GCC unroll 1") for (long q = 0; q < B; q++) {                              \
            T a0 = a[2 * q], a1 = a[2 * q + 1], b0 = b[2 * q], b1 = b[2 * q + 1];           \
            T ma = FG_BEATS(a1, a0) ? a1 : a0, mb = FG_BEATS(b1, b0) ? b1 : b0;             \
            T m = FG_BEATS(mb, ma) ? mb : ma;                                               \
            /* the first slot holding the max, or the first NaN (only a NaN max has one) */ \
            int k = (b1 == m || b1 != b1) ? 3 : 0;                                          \
            k = (b0 == m || b0 != b0) ? 2 : k;                                              \
            k = (a1 == m || a1 != a1) ? 1 : k;                                              \
            y[q] = m, slot[q] = (a0 == m || a0 != a0) ? 0 : k;                              \
        }                                                                                   \
        fg_int_to_byte##B(slot, s);                                                         \
    }                                                                                       \
    /* g at the saved slot, 0 at the other three: every dx element written */              \
    static inline void fg_p2_scatidx##B##_##S(const unsigned char *restrict s,            \
                                              const T *restrict g, T *restrict da,          \
                                              T *restrict db) {                             \
        T slot[B];                                                                          \
        fg_byte_to_##S##B(s, slot);                                                         \
        _Pragma("GCC unroll 1") for (long q = 0; q < B; q++) {                              \
            T gv = g[q], k = slot[q];                                                       \
            da[2 * q] = k == (T)0 ? gv : (T)0, da[2 * q + 1] = k == (T)1 ? gv : (T)0;       \
            db[2 * q] = k == (T)2 ? gv : (T)0, db[2 * q + 1] = k == (T)3 ? gv : (T)0;       \
        }                                                                                   \
    }                                                                                       \
    /* g at the argmax, z at the other three slots. Accumulating adds with z = -0.0, which  \
       leaves every value (-0.0 too) unchanged: GCC turns "keep the old value" selects into \
       masked stores that it cannot vectorize. Lanes below lo were added already. */      \
    static inline void fg_p2_scatter##B##_##S(const T *restrict a, const T *restrict b,   \
                                              const T *restrict g, T *restrict da,          \
                                              T *restrict db, long lo, int accumulate) {    \
        T z = accumulate ? (T)-0.0 : (T)0.0;                                                \
        _Pragma("GCC unroll 1") for (long q = 0; q < B; q++) {                              \
            T a0 = a[2 * q], a1 = a[2 * q + 1], b0 = b[2 * q], b1 = b[2 * q + 1];           \
            T ma = FG_BEATS(a1, a0) ? a1 : a0, mb = FG_BEATS(b1, b0) ? b1 : b0;             \
            T gv = accumulate && q < lo ? z : g[q];                                         \
            T ga = FG_BEATS(mb, ma) ? z : gv, gb = FG_BEATS(mb, ma) ? gv : z;               \
            T e0 = FG_BEATS(a1, a0) ? z : ga, o0 = FG_BEATS(a1, a0) ? ga : z;               \
            T e1 = FG_BEATS(b1, b0) ? z : gb, o1 = FG_BEATS(b1, b0) ? gb : z;               \
            if (accumulate) {                                                               \
                e0 += da[2 * q], o0 += da[2 * q + 1], e1 += db[2 * q], o1 += db[2 * q + 1]; \
            }                                                                               \
            da[2 * q] = e0, da[2 * q + 1] = o0, db[2 * q] = e1, db[2 * q + 1] = o1;         \
        }                                                                                   \
    }
    /* Planes of 2 * oh rows of 2 * ow (ow >= 4); y: oh rows of ow. Blocks of 8 columns (4
       when ow < 8); the last block of a row ends at ow and may overlap the one before it:
       max, select and an assigning scatter recompute equal values there, and an
       accumulating scatter skips the lanes below lo. */
    #define FG_P2_ROW(BLOCK, ...)                                                           \
        for (long q = 0, lo = 0, nb = ow >= 8 ? 8 : 4; q < ow; q += nb) {                   \
            if (q + nb > ow) lo = q - (ow - nb), q = ow - nb;                               \
            (void)lo;  /* used by the scatter only */                                       \
            if (nb == 8) BLOCK##8##__VA_ARGS__; else BLOCK##4##__VA_ARGS__;                 \
        }
    #define FG_POOL2(T, S)                                                                  \
    FG_P2_BLOCKS(T, S, 8)                                                                   \
    FG_P2_BLOCKS(T, S, 4)                                                                   \
    static void fg_pool2_max_##S(const T *x, T *y, long oh, long ow) {                      \
        for (long r = 0; r < oh; r++) {                                                     \
            const T *a = x + 4 * ow * r, *b = a + 2 * ow;                                   \
            T *yr = y + ow * r;                                                             \
            FG_P2_ROW(fg_p2_max, _##S(a + 2 * q, b + 2 * q, yr + q))                        \
        }                                                                                   \
    }                                                                                       \
    static void fg_pool2_select_##S(const T *x, const T *t, T *y, long oh, long ow) {       \
        for (long r = 0; r < oh; r++) {                                                     \
            const T *a = x + 4 * ow * r, *b = a + 2 * ow;                                   \
            const T *ta = t + 4 * ow * r, *tb = ta + 2 * ow;                                \
            T *yr = y + ow * r;                                                             \
            FG_P2_ROW(fg_p2_select, _##S(a + 2 * q, b + 2 * q, ta + 2 * q, tb + 2 * q, yr + q)) \
        }                                                                                   \
    }                                                                                       \
    static void fg_pool2_scatter_##S(const T *x, const T *g, T *dx, long oh, long ow,      \
                                     int accumulate) {                                      \
        for (long r = 0; r < oh; r++) {                                                     \
            const T *a = x + 4 * ow * r, *b = a + 2 * ow, *gr = g + ow * r;                 \
            T *da = dx + 4 * ow * r, *db = da + 2 * ow;                                     \
            FG_P2_ROW(fg_p2_scatter, _##S(a + 2 * q, b + 2 * q, gr + q, da + 2 * q,         \
                                          db + 2 * q, lo, accumulate))                      \
        }                                                                                   \
    }                                                                                       \
    /* with saved argmax slots: the forward writes them, the scatter reads them, not x */  \
    static void fg_pool2_max_index_##S(const T *x, T *y, unsigned char *s, long oh,        \
                                       long ow) {                                           \
        for (long r = 0; r < oh; r++) {                                                     \
            const T *a = x + 4 * ow * r, *b = a + 2 * ow;                                   \
            T *yr = y + ow * r;                                                             \
            unsigned char *sr = s + ow * r;                                                 \
            FG_P2_ROW(fg_p2_maxidx, _##S(a + 2 * q, b + 2 * q, yr + q, sr + q))             \
        }                                                                                   \
    }                                                                                       \
    static void fg_pool2_scatter_index_##S(const unsigned char *s, const T *g, T *dx,     \
                                           long oh, long ow) {                              \
        for (long r = 0; r < oh; r++) {                                                     \
            const unsigned char *sr = s + ow * r;                                           \
            const T *gr = g + ow * r;                                                       \
            T *da = dx + 4 * ow * r, *db = da + 2 * ow;                                     \
            FG_P2_ROW(fg_p2_scatidx, _##S(sr + q, gr + q, da + 2 * q, db + 2 * q))          \
        }                                                                                   \
    }
    FG_POOL2(float, f)
    FG_POOL2(double, d)
    """
    void fg_pool2_max_f(const float* x, float* y, long oh, long ow) nogil
    void fg_pool2_max_d(const double* x, double* y, long oh, long ow) nogil
    void fg_pool2_select_f(const float* x, const float* t, float* y, long oh, long ow) nogil
    void fg_pool2_select_d(const double* x, const double* t, double* y, long oh,
                           long ow) nogil
    void fg_pool2_scatter_f(const float* x, const float* g, float* dx, long oh, long ow,
                            int accumulate) nogil
    void fg_pool2_scatter_d(const double* x, const double* g, double* dx, long oh, long ow,
                            int accumulate) nogil
    void fg_pool2_max_index_f(const float* x, float* y, uint8_t* s, long oh, long ow) nogil
    void fg_pool2_max_index_d(const double* x, double* y, uint8_t* s, long oh, long ow) nogil
    void fg_pool2_scatter_index_f(const uint8_t* s, const float* g, float* dx, long oh,
                                  long ow) nogil
    void fg_pool2_scatter_index_d(const uint8_t* s, const double* g, double* dx, long oh,
                                  long ow) nogil


cdef inline Py_ssize_t _argmax(const ConvGeom* g, const real* xp, Py_ssize_t ih0,
                               Py_ssize_t iw0, real* best_out) noexcept nogil:
    """Plane index of the window's first maximum (-1: a padding slot), value in best_out.

    Padding is -inf; a NaN beats everything and the first NaN wins, like numpy.argmax.
    """
    cdef Py_ssize_t i, j, ih, iw, best_i = -1
    cdef real best = -INFINITY, v
    if 0 <= ih0 < g.h and 0 <= iw0 < g.w:  # slot (0, 0) is the initial candidate
        best = xp[ih0 * g.w + iw0]
        best_i = ih0 * g.w + iw0
    for i in range(g.kh):
        ih = ih0 + i
        if ih < 0 or ih >= g.h:
            continue
        for j in range(g.kw):
            iw = iw0 + j
            if iw < 0 or iw >= g.w:
                continue
            v = xp[ih * g.w + iw]
            if best == best and not (v <= best):
                best = v
                best_i = ih * g.w + iw
    best_out[0] = best
    return best_i


cdef void _pool_border(const ConvGeom* g, int kind, const real* xp, const real* tp,
                       real* outp, uint8_t* ip, Py_ssize_t r, Py_ssize_t q) noexcept nogil:
    """Output pixel (r, q) of a window that may overlap padding (scalar, bounds-checked)."""
    cdef Py_ssize_t ih0 = r * g.sh - g.pt, iw0 = q * g.sw - g.pl, idx, i, j
    cdef real best, acc, area = <real>(g.kh * g.kw)
    if kind == _MAX:
        _argmax(g, xp, ih0, iw0, &best)
        outp[r * g.ow + q] = best
    elif kind == _MAX_INDEX:
        idx = _argmax(g, xp, ih0, iw0, &best)
        outp[r * g.ow + q] = best
        ip[r * g.ow + q] = NO_SLOT if idx < 0 else (idx // g.w - ih0) * g.kw + idx % g.w - iw0
    elif kind == _SELECT:
        idx = _argmax(g, xp, ih0, iw0, &best)
        outp[r * g.ow + q] = tp[idx] if idx >= 0 else 0
    elif kind == _SCATTER:
        idx = _argmax(g, xp, ih0, iw0, &best)
        if idx >= 0:
            outp[idx] += tp[r * g.ow + q]
    elif kind == _AVG:
        acc = 0
        for i in range(g.kh):
            if 0 <= ih0 + i < g.h:
                for j in range(g.kw):
                    if 0 <= iw0 + j < g.w:
                        acc = acc + xp[(ih0 + i) * g.w + iw0 + j]
        outp[r * g.ow + q] = acc / area
    else:  # _AVG_T: xp is the cotangent (output-shaped), outp is dx
        acc = xp[r * g.ow + q] / area
        for i in range(g.kh):
            if 0 <= ih0 + i < g.h:
                for j in range(g.kw):
                    if 0 <= iw0 + j < g.w:
                        outp[(ih0 + i) * g.w + iw0 + j] += acc


DEF SPAN = 256  # outputs per vectorized block (stack buffers)


cdef void _pool_block(const ConvGeom* g, int kind, const real* xp, const real* tp, real* outp,
                      uint8_t* ip, Py_ssize_t r0, Py_ssize_t nr, Py_ssize_t q0, Py_ssize_t nq,
                      bint assign) noexcept nogil:
    """Outputs (r0:r0+nr, q0:q0+nq), nr*nq <= SPAN, whose windows lie inside the input.

    assign: _SCATTER writes its windows instead of adding (they tile dx, which is not zeroed).

    Loops run window slot by slot over the whole block so the compiler vectorizes across
    output columns; updates are branch-free selects, which keeps first-max/NaN semantics.
    """
    cdef real m[SPAN]
    cdef real slot[SPAN]  # window offset of the max, as a real so selects vectorize
    cdef Py_ssize_t i, j, rr, q, sw = g.sw, w = g.w, ow = g.ow, rstep = g.sh * g.w, k
    cdef real s
    cdef real v, gv, area = <real>(g.kh * g.kw)
    cdef int upd
    cdef Py_ssize_t off = (r0 * g.sh - g.pt) * w + q0 * sw - g.pl  # window (0, 0) of (r0, q0)
    cdef const real* src
    cdef real* mr
    cdef real* sr
    cdef real* dst
    cdef const real* gr
    if kind == _AVG_T:  # tp is the cotangent, outp is dx
        for rr in range(nr):
            for q in range(nq):
                m[rr * nq + q] = tp[(r0 + rr) * ow + q0 + q] / area
        for i in range(g.kh):
            for j in range(g.kw):
                for rr in range(nr):
                    dst = outp + off + rr * rstep + i * w + j
                    mr = m + rr * nq
                    for q in range(nq):
                        dst[q * sw] += mr[q]
        return
    for rr in range(nr):
        src = xp + off + rr * rstep
        mr = m + rr * nq
        sr = slot + rr * nq
        for q in range(nq):
            mr[q] = 0 if kind == _AVG else src[q * sw]
            sr[q] = 0
    for i in range(g.kh):
        for j in range(g.kw):
            s = <real>(i * w + j)
            for rr in range(nr):
                src = xp + off + rr * rstep + i * w + j
                mr = m + rr * nq
                sr = slot + rr * nq
                if kind == _AVG:
                    for q in range(nq):
                        mr[q] = mr[q] + src[q * sw]
                elif kind == _MAX:  # any NaN makes the max NaN; otherwise the plain max
                    for q in range(nq):
                        v = src[q * sw]
                        mr[q] = v if (v > mr[q]) | (v != v) else mr[q]
                else:
                    for q in range(nq):
                        v = src[q * sw]
                        upd = (v > mr[q]) | ((v != v) & (mr[q] == mr[q]))  # no branches
                        mr[q] = v if upd else mr[q]
                        sr[q] = s if upd else sr[q]
    for rr in range(nr):
        mr = m + rr * nq
        sr = slot + rr * nq
        dst = outp + (r0 + rr) * ow + q0
        if kind == _AVG:
            for q in range(nq):
                dst[q] = mr[q] / area
        elif kind == _MAX:
            for q in range(nq):
                dst[q] = mr[q]
        elif kind == _MAX_INDEX:  # the slot as a window offset of the plane -> i * kw + j
            for q in range(nq):
                dst[q] = mr[q]
                k = <Py_ssize_t>sr[q]
                ip[(r0 + rr) * ow + q0 + q] = (k // w) * g.kw + k % w
        elif kind == _SELECT:
            src = tp + off + rr * rstep
            for q in range(nq):
                dst[q] = src[q * sw + <Py_ssize_t>sr[q]]
        elif assign and g.kw == 2:  # _SCATTER, windows tiling dx: write whole row pairs
            gr = tp + (r0 + rr) * ow + q0
            for i in range(g.kh):
                s = <real>(i * w)
                v = <real>(i * w + 1)
                dst = outp + off + rr * rstep + i * w
                for q in range(nq):
                    gv = gr[q]  # loaded unconditionally so the selects vectorize
                    dst[2 * q] = gv if sr[q] == s else 0
                    dst[2 * q + 1] = gv if sr[q] == v else 0
        else:  # _SCATTER, overlapping windows: a plain loop
            dst = outp + off + rr * rstep
            gr = tp + (r0 + rr) * ow + q0
            for q in range(nq):
                dst[q * sw + <Py_ssize_t>sr[q]] += gr[q]


cdef void _pool_plane(const ConvGeom* g, int kind, const real* xp, const real* tp,
                      real* outp, uint8_t* ip, bint accumulate) noexcept nogil:
    """One (n, c) plane of a pooling kernel. xp/outp: input- or output-shaped per kind;
    ip: the argmax slots (output-shaped) the _INDEX kinds write or read."""
    cdef Py_ssize_t r, q, lo, hi, rlo, rhi, nq, nr
    if kind == _SCATTER_INDEX:
        _scatter_index_plane(g, ip, tp, outp, accumulate)
        return
    if (kind <= _SCATTER or kind == _MAX_INDEX) and _pool2_fits(g):
        _pool2_plane(kind, xp, tp, outp, ip, g.oh, g.ow, accumulate)
        return
    # Disjoint windows tiling the whole plane (e.g. 2x2, stride 2, even sizes, no padding)
    # write every dx element, so the zero fill is skipped.
    cdef bint tiled = (kind == _SCATTER and not accumulate and g.kw == 2 and g.sw == 2
                       and g.sh == g.kh
                       and g.pt == 0 and g.pl == 0 and g.ow * g.kw == g.w and g.oh * g.kh == g.h)
    if (kind == _SCATTER or kind == _AVG_T) and not accumulate and not tiled:
        memset(outp, 0, g.h * g.w * sizeof(real))
    # Outputs [rlo, rhi) x [lo, hi) have windows inside the input; the rest see padding.
    lo = _clamp((g.pl + g.sw - 1) // g.sw, 0, g.ow)
    hi = _clamp((g.w + g.pl - g.kw) // g.sw + 1, lo, g.ow) if g.w + g.pl >= g.kw else lo
    rlo = _clamp((g.pt + g.sh - 1) // g.sh, 0, g.oh)
    rhi = _clamp((g.h + g.pt - g.kh) // g.sh + 1, rlo, g.oh) if g.h + g.pt >= g.kh else rlo
    for r in range(g.oh):
        if r < rlo or r >= rhi:
            for q in range(g.ow):
                _pool_border(g, kind, xp, tp, outp, ip, r, q)
        else:
            for q in range(lo):
                _pool_border(g, kind, xp, tp, outp, ip, r, q)
            for q in range(hi, g.ow):
                _pool_border(g, kind, xp, tp, outp, ip, r, q)
    if hi == lo:
        return
    if (g.kh - 1) * g.w + g.kw > (1 << 24):  # window offsets not exact as float32
        for r in range(rlo, rhi):
            for q in range(lo, hi):
                _pool_border(g, kind, xp, tp, outp, ip, r, q)
        return
    r = rlo
    while r < rhi:
        if hi - lo <= SPAN:  # whole rows, as many as fit a block
            nr = SPAN // (hi - lo)
            nr = nr if rhi - r > nr else rhi - r
            _pool_block(g, kind, xp, tp, outp, ip, r, nr, lo, hi - lo, tiled)
            r += nr
        else:
            q = lo
            while q < hi:
                nq = SPAN if hi - q > SPAN else hi - q
                _pool_block(g, kind, xp, tp, outp, ip, r, 1, q, nq, tiled)
                q += nq
            r += 1


cdef inline bint _pool2_fits(const ConvGeom* g) noexcept nogil:
    """2x2 windows, stride 2, no padding, even sizes (the windows tile the plane exactly) and
    at least 4 output columns (the width of the C kernels' smallest block)."""
    return (g.kh == 2 and g.kw == 2 and g.sh == 2 and g.sw == 2 and g.pt == 0 and g.pb == 0
            and g.pl == 0 and g.pr == 0 and g.h == 2 * g.oh and g.w == 2 * g.ow and g.ow >= 4)


cdef inline void _pool2_plane(int kind, const real* xp, const real* tp, real* outp,
                              uint8_t* ip, Py_ssize_t oh, Py_ssize_t ow,
                              bint accumulate) noexcept nogil:
    """A max-pool kind (_MAX, _MAX_INDEX, _SELECT, _SCATTER) on a plane that _pool2_fits."""
    if real is float:
        if kind == _MAX:
            fg_pool2_max_f(xp, outp, oh, ow)
        elif kind == _MAX_INDEX:
            fg_pool2_max_index_f(xp, outp, ip, oh, ow)
        elif kind == _SELECT:
            fg_pool2_select_f(xp, tp, outp, oh, ow)
        else:
            fg_pool2_scatter_f(xp, tp, outp, oh, ow, accumulate)
    else:
        if kind == _MAX:
            fg_pool2_max_d(xp, outp, oh, ow)
        elif kind == _MAX_INDEX:
            fg_pool2_max_index_d(xp, outp, ip, oh, ow)
        elif kind == _SELECT:
            fg_pool2_select_d(xp, tp, outp, oh, ow)
        else:
            fg_pool2_scatter_d(xp, tp, outp, oh, ow, accumulate)


cdef void _scatter_index_plane(const ConvGeom* g, const uint8_t* ip, const real* gp,
                               real* dx, bint accumulate) noexcept nogil:
    """dx of one plane from the cotangent gp and the argmax slots ip of _MAX_INDEX: the same
    sums as _SCATTER, which finds each slot again from x."""
    cdef Py_ssize_t r, q, k, ih, iw
    if not accumulate and _pool2_fits(g):  # the windows tile dx: every element written
        if real is float:
            fg_pool2_scatter_index_f(ip, gp, dx, g.oh, g.ow)
        else:
            fg_pool2_scatter_index_d(ip, gp, dx, g.oh, g.ow)
        return
    if not accumulate:
        memset(dx, 0, g.h * g.w * sizeof(real))
    for r in range(g.oh):
        for q in range(g.ow):
            k = ip[r * g.ow + q]
            ih = r * g.sh - g.pt + k // g.kw
            iw = q * g.sw - g.pl + k % g.kw
            if k != NO_SLOT and 0 <= ih < g.h and 0 <= iw < g.w:  # (slots not made here)
                dx[ih * g.w + iw] += gp[r * g.ow + q]


cdef inline Py_ssize_t _clamp(Py_ssize_t v, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    return lo if v < lo else (hi if v > hi else v)


cdef int _pool(const ConvGeom* g, int kind, const real* a, const real* b, real* out,
               uint8_t* index, bint accumulate) noexcept nogil:
    """Runs kind over all n*c planes. a: x (or gy for _AVG_T); b: t or gy for max kinds;
    index: the argmax slots the _INDEX kinds write or read (else unused)."""
    cdef Py_ssize_t planes, t, hw, pq, a_step, b_step, out_step
    if not _geom_ok(g) or g.dh != 1 or g.dw != 1:
        return -1
    if (kind == _MAX_INDEX or kind == _SCATTER_INDEX) and g.kh * g.kw > NO_SLOT:
        return -1  # slots would not fit a byte
    planes = g.n * g.c
    hw = g.h * g.w
    pq = g.oh * g.ow
    if kind == _AVG_T:
        a_step, b_step, out_step = pq, pq, hw
    elif kind == _SCATTER:
        a_step, b_step, out_step = hw, pq, hw
    elif kind == _SCATTER_INDEX:  # a is not read
        a_step, b_step, out_step = 0, pq, hw
    elif kind == _SELECT:
        a_step, b_step, out_step = hw, hw, pq
    else:
        a_step, b_step, out_step = hw, 0, pq
    if _max_threads() > 1 and planes > 1 and planes * (hw + pq * g.kh * g.kw) >= PAR_MIN:
        for t in prange(planes, schedule="static", num_threads=_n_threads):
            _pool_plane(g, kind, a + t * a_step, b + t * b_step, out + t * out_step,
                        index + t * pq if index != NULL else NULL, accumulate)
    else:
        for t in range(planes):
            _pool_plane(g, kind, a + t * a_step, b + t * b_step, out + t * out_step,
                        index + t * pq if index != NULL else NULL, accumulate)
    return 0


cdef int max_pool2d_f32(const ConvGeom* g, const float* x, float* y) noexcept nogil:
    return _pool(g, _MAX, x, x, y, NULL, False)


cdef int max_pool2d_f64(const ConvGeom* g, const double* x, double* y) noexcept nogil:
    return _pool(g, _MAX, x, x, y, NULL, False)


cdef int max_pool2d_select_f32(const ConvGeom* g, const float* x, const float* t,
                               float* y) noexcept nogil:
    return _pool(g, _SELECT, x, t, y, NULL, False)


cdef int max_pool2d_select_f64(const ConvGeom* g, const double* x, const double* t,
                               double* y) noexcept nogil:
    return _pool(g, _SELECT, x, t, y, NULL, False)


cdef int max_pool2d_scatter_f32(const ConvGeom* g, const float* x, const float* gy, float* dx,
                                bint accumulate) noexcept nogil:
    return _pool(g, _SCATTER, x, gy, dx, NULL, accumulate)


cdef int max_pool2d_scatter_f64(const ConvGeom* g, const double* x, const double* gy,
                                double* dx, bint accumulate) noexcept nogil:
    return _pool(g, _SCATTER, x, gy, dx, NULL, accumulate)


cdef int max_pool2d_index_f32(const ConvGeom* g, const float* x, float* y,
                              uint8_t* index) noexcept nogil:
    return _pool(g, _MAX_INDEX, x, x, y, index, False)


cdef int max_pool2d_index_f64(const ConvGeom* g, const double* x, double* y,
                              uint8_t* index) noexcept nogil:
    return _pool(g, _MAX_INDEX, x, x, y, index, False)


cdef int max_pool2d_scatter_index_f32(const ConvGeom* g, const uint8_t* index, const float* gy,
                                      float* dx, bint accumulate) noexcept nogil:
    return _pool(g, _SCATTER_INDEX, gy, gy, dx, <uint8_t*>index, accumulate)


cdef int max_pool2d_scatter_index_f64(const ConvGeom* g, const uint8_t* index,
                                      const double* gy, double* dx,
                                      bint accumulate) noexcept nogil:
    return _pool(g, _SCATTER_INDEX, gy, gy, dx, <uint8_t*>index, accumulate)


cdef int avg_pool2d_f32(const ConvGeom* g, const float* x, float* y) noexcept nogil:
    return _pool(g, _AVG, x, x, y, NULL, False)


cdef int avg_pool2d_f64(const ConvGeom* g, const double* x, double* y) noexcept nogil:
    return _pool(g, _AVG, x, x, y, NULL, False)


cdef int avg_pool2d_transpose_f32(const ConvGeom* g, const float* gy, float* dx,
                                  bint accumulate) noexcept nogil:
    return _pool(g, _AVG_T, gy, gy, dx, NULL, accumulate)


cdef int avg_pool2d_transpose_f64(const ConvGeom* g, const double* gy, double* dx,
                                  bint accumulate) noexcept nogil:
    return _pool(g, _AVG_T, gy, gy, dx, NULL, accumulate)


# ----------------------------------------------------------------------------- Python wrappers

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _array(name, a, ndim, dtype=None):
    """Checks one array argument; returns it unchanged."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype not in _FLOATS:
        raise TypeError(f"{name} must be float32 or float64 (native byte order), got {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{name} has dtype {a.dtype} but the other operands are {dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if not (a.flags.c_contiguous and a.flags.aligned):
        raise ValueError(f"{name} must be C-contiguous and aligned (use numpy.ascontiguousarray)")
    return a


def _ints(name, v, n):
    """A length-n tuple of Python ints from v (a sequence of integers)."""
    try:
        items = tuple(v)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of {n} ints, got {v!r}") from None
    if len(items) != n:
        raise ValueError(f"{name} must have {n} entries, got {v!r}")
    out = []
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not hasattr(item, "__index__"):
            raise TypeError(f"{name} must contain ints, got {v!r}")
        out.append(item.__index__())
    return tuple(out)


cdef ConvGeom _geom(x_shape, Py_ssize_t o, window, stride, padding, dilation) except *:
    """Validated geometry, or ValueError/TypeError naming the offending parameter."""
    cdef ConvGeom g
    n, c, h, w = _ints("x shape", x_shape, 4)
    kh, kw = _ints("window", window, 2)
    sh, sw = _ints("stride", stride, 2)
    try:
        rows, cols = padding
    except (TypeError, ValueError):
        raise TypeError(f"padding must be ((top, bottom), (left, right)), got {padding!r}") from None
    (pt, pb), (pl, pr) = _ints("padding", rows, 2), _ints("padding", cols, 2)
    dh, dw = _ints("dilation", dilation, 2)
    if min(n, c, h, w) < 0:
        raise ValueError(f"x shape must be non-negative, got {tuple(x_shape)}")
    if kh < 1 or kw < 1:
        raise ValueError(f"window must be positive, got {(kh, kw)}")
    if sh < 1 or sw < 1:
        raise ValueError(f"stride must be positive, got {(sh, sw)}")
    if dh < 1 or dw < 1:
        raise ValueError(f"dilation must be positive, got {(dh, dw)}")
    if min(pt, pb, pl, pr) < 0:
        raise ValueError(f"padding must be non-negative, got {((pt, pb), (pl, pr))}")
    eh, ew = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if eh > h + pt + pb or ew > w + pl + pr:
        raise ValueError(
            f"window {(kh, kw)} with dilation {(dh, dw)} spans {(eh, ew)}, larger than the "
            f"padded input {(h + pt + pb, w + pl + pr)}"
        )
    limit = INT_MAX
    if max(n, c, h, w, o, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr) > limit:
        raise ValueError("convolution/pooling sizes must fit a 32-bit BLAS int")
    g.n, g.c, g.h, g.w, g.o = n, c, h, w, o
    g.kh, g.kw, g.sh, g.sw, g.dh, g.dw = kh, kw, sh, sw, dh, dw
    g.pt, g.pb, g.pl, g.pr = pt, pb, pl, pr
    if geom_init(&g) != 0:
        raise ValueError("convolution/pooling sizes must fit a 32-bit BLAS int")
    return g


def _output(name, out, shape, dtype, inputs):
    """out as given (checked) or a new array."""
    if out is None:
        return np.empty(shape, dtype)
    _array(name, out, len(shape), dtype)
    return _placed(name, out, shape, inputs, True)


def _placed(name, a, shape, others, written):
    """a, checked to have the shape, to be writeable if written, and to share no memory
    with the other arrays of the call."""
    if a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {a.shape}")
    if written and not a.flags.writeable:
        raise ValueError(f"{name} must be writeable")
    for b in others:
        if np.may_share_memory(a, b):
            raise ValueError(f"{name} must not overlap the inputs")
    return a


cdef void* _ptr(a):
    return cnp.PyArray_DATA(<cnp.ndarray>a)


_KINDS = {"forward": CONV_FORWARD, "input_grad": CONV_INPUT_GRAD, "filter_grad": CONV_FILTER_GRAD}


def workspace_size(kind, x_shape, w_shape, stride, padding, dilation, minimum=False):
    """Workspace elements a conv kernel wants (or, with minimum=True, needs at least).

    kind is "forward", "input_grad" or "filter_grad"; the workspace has the kernel's dtype.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}")
    o, c, kh, kw = _ints("w shape", w_shape, 4)
    if c != _ints("x shape", x_shape, 4)[1]:
        raise ValueError(f"w shape {tuple(w_shape)} does not match x channels {x_shape[1]}")
    if o < 0:
        raise ValueError(f"w shape must be non-negative, got {tuple(w_shape)}")
    cdef ConvGeom g = _geom(x_shape, o, (kh, kw), stride, padding, dilation)
    if minimum:
        return conv_workspace_min(&g, _KINDS[kind])
    return conv_workspace_size(&g, _KINDS[kind])


cdef _workspace(workspace, ConvGeom* g, int kind, dtype):
    if workspace is None:
        return np.empty(max(conv_workspace_size(g, kind), 1), dtype)
    _array("workspace", workspace, 1, dtype)
    if not workspace.flags.writeable:
        raise ValueError("workspace must be writeable")
    if workspace.shape[0] < conv_workspace_min(g, kind):
        raise ValueError(
            f"workspace has {workspace.shape[0]} elements, needs at least "
            f"{conv_workspace_min(g, kind)}"
        )
    return workspace


def _check_cotangent(g, shape, accumulate, out):
    """A gradient kernel's cotangent g must have the forward output's shape; accumulating
    needs the array to accumulate into."""
    if g.shape != shape:
        raise ValueError(f"g must have shape {shape}, got {g.shape}")
    if accumulate and out is None:
        raise ValueError("accumulate=True needs out")


def _check_rc(int rc):
    if rc != 0:  # unreachable after validation; kept so a kernel refusal is never silent
        raise RuntimeError("conv kernel rejected its arguments")


def _conv_geom(x_shape, w, stride, padding, dilation):
    o, c = w.shape[:2]
    if c != x_shape[1]:
        raise ValueError(
            f"w has {c} input channels (shape {w.shape}) but x has {x_shape[1]} "
            f"(shape {tuple(x_shape)})"
        )
    return _geom(x_shape, o, w.shape[2:], stride, padding, dilation)


def conv2d(x, w, stride, padding, dilation, *, bias=None, out=None, workspace=None):
    """Cross-correlation of x (N, C, H, W) with w (O, C, kh, kw) [+ bias (O,)]."""
    _array("x", x, 4)
    _array("w", w, 4, x.dtype)
    if bias is not None:
        _array("bias", bias, 1, x.dtype)
        if bias.shape[0] != w.shape[0]:
            raise ValueError(f"bias must have shape ({w.shape[0]},), got {bias.shape}")
    cdef ConvGeom g = _conv_geom(x.shape, w, stride, padding, dilation)
    y = _output("out", out, (g.n, g.o, g.oh, g.ow), x.dtype, (x, w, bias))
    ws = _workspace(workspace, &g, CONV_FORWARD, x.dtype)
    cdef void* xp = _ptr(x)
    cdef void* wp = _ptr(w)
    cdef void* bp = NULL if bias is None else _ptr(bias)
    cdef void* yp = _ptr(y)
    cdef void* sp = _ptr(ws)
    cdef Py_ssize_t ns = ws.shape[0]
    cdef int rc
    if x.dtype == np.float32:
        with nogil:
            rc = conv2d_forward_f32(&g, <float*>xp, <float*>wp, <float*>bp, <float*>yp,
                                    <float*>sp, ns)
    else:
        with nogil:
            rc = conv2d_forward_f64(&g, <double*>xp, <double*>wp, <double*>bp, <double*>yp,
                                    <double*>sp, ns)
    _check_rc(rc)
    return y


def conv2d_input_grad(g, w, x_shape, stride, padding, dilation, *, out=None, workspace=None,
                      accumulate=False):
    """VJP of conv2d w.r.t. x for cotangent g (N, O, OH, OW); adds into out if accumulate."""
    _array("g", g, 4)
    _array("w", w, 4, g.dtype)
    x_shape = _ints("x_shape", x_shape, 4)
    cdef ConvGeom geo = _conv_geom(x_shape, w, stride, padding, dilation)
    _check_cotangent(g, (geo.n, geo.o, geo.oh, geo.ow), accumulate, out)
    dx = _output("out", out, x_shape, g.dtype, (g, w))
    ws = _workspace(workspace, &geo, CONV_INPUT_GRAD, g.dtype)
    cdef void* gp = _ptr(g)
    cdef void* wp = _ptr(w)
    cdef void* dp = _ptr(dx)
    cdef void* sp = _ptr(ws)
    cdef Py_ssize_t ns = ws.shape[0]
    cdef bint acc = bool(accumulate)
    cdef int rc
    if g.dtype == np.float32:
        with nogil:
            rc = conv2d_input_grad_f32(&geo, <float*>gp, <float*>wp, <float*>dp, <float*>sp,
                                       ns, acc)
    else:
        with nogil:
            rc = conv2d_input_grad_f64(&geo, <double*>gp, <double*>wp, <double*>dp,
                                       <double*>sp, ns, acc)
    _check_rc(rc)
    return dx


def conv2d_filter_grad(x, g, w_shape, stride, padding, dilation, *, out=None, workspace=None,
                       accumulate=False):
    """VJP of conv2d w.r.t. w, summed over the batch; adds into out if accumulate."""
    _array("x", x, 4)
    _array("g", g, 4, x.dtype)
    w_shape = _ints("w_shape", w_shape, 4)
    if w_shape[0] < 0:
        raise ValueError(f"w_shape must be non-negative, got {w_shape}")
    if w_shape[1] != x.shape[1]:
        raise ValueError(f"w_shape {w_shape} does not match x channels {x.shape[1]}")
    cdef ConvGeom geo = _geom(x.shape, w_shape[0], w_shape[2:], stride, padding, dilation)
    _check_cotangent(g, (geo.n, geo.o, geo.oh, geo.ow), accumulate, out)
    dw = _output("out", out, w_shape, x.dtype, (x, g))
    ws = _workspace(workspace, &geo, CONV_FILTER_GRAD, x.dtype)
    cdef void* xp = _ptr(x)
    cdef void* gp = _ptr(g)
    cdef void* dp = _ptr(dw)
    cdef void* sp = _ptr(ws)
    cdef Py_ssize_t ns = ws.shape[0]
    cdef bint acc = bool(accumulate)
    cdef int rc
    if x.dtype == np.float32:
        with nogil:
            rc = conv2d_filter_grad_f32(&geo, <float*>xp, <float*>gp, <float*>dp, <float*>sp,
                                        ns, acc)
    else:
        with nogil:
            rc = conv2d_filter_grad_f64(&geo, <double*>xp, <double*>gp, <double*>dp,
                                        <double*>sp, ns, acc)
    _check_rc(rc)
    return dw


cdef ConvGeom _pool_geom(x_shape, window, stride, padding) except *:
    return _geom(x_shape, x_shape[1], window, stride, padding, (1, 1))


cdef int _run_pool(int kind, ConvGeom* g, a, b, out, bint accumulate, index=None) except -2:
    cdef void* ap = _ptr(a)
    cdef void* bp = _ptr(b)
    cdef void* op = _ptr(out)
    cdef uint8_t* ip = <uint8_t*>_ptr(index) if index is not None else NULL
    cdef int rc
    if a.dtype == np.float32:
        with nogil:
            rc = _pool(g, kind, <float*>ap, <float*>bp, <float*>op, ip, accumulate)
    else:
        with nogil:
            rc = _pool(g, kind, <double*>ap, <double*>bp, <double*>op, ip, accumulate)
    _check_rc(rc)
    return 0


def max_pool2d(x, window, stride, padding, *, out=None):
    """Max over each window of x (N, C, H, W); padding counts as -inf."""
    _array("x", x, 4)
    cdef ConvGeom g = _pool_geom(x.shape, window, stride, padding)
    y = _output("out", out, (g.n, g.c, g.oh, g.ow), x.dtype, (x,))
    _run_pool(_MAX, &g, x, x, y, False)
    return y


def _slots(name, index, shape, window, others, written):
    """Checks an argmax-slot array (uint8, the pooled output's shape) or makes one."""
    if window[0] * window[1] > NO_SLOT:
        raise ValueError(f"saved argmax slots need windows of at most {NO_SLOT} elements, "
                         f"got {window[0]}x{window[1]}")
    if index is None and written:
        return np.empty(shape, np.uint8)
    if not isinstance(index, np.ndarray) or index.dtype != np.uint8:
        raise TypeError(f"{name} must be a uint8 numpy.ndarray")
    if not index.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    return _placed(name, index, shape, others, written)


def max_pool2d_index(x, window, stride, padding, *, out=None, index=None):
    """max_pool2d that also returns each window's first argmax as a uint8 slot i * kw + j
    (255: only padding), for max_pool2d_scatter_index: ``(y, index)``."""
    _array("x", x, 4)
    cdef ConvGeom g = _pool_geom(x.shape, window, stride, padding)
    y = _output("out", out, (g.n, g.c, g.oh, g.ow), x.dtype, (x,))
    index = _slots("index", index, y.shape, (g.kh, g.kw), (x, y), True)
    _run_pool(_MAX_INDEX, &g, x, x, y, False, index)
    return y, index


def max_pool2d_scatter_index(index, g, x_shape, window, stride, padding, *, out=None,
                             accumulate=False):
    """max_pool2d_scatter from the slots max_pool2d_index saved: x is not read again."""
    _array("g", g, 4)
    x_shape = _ints("x_shape", x_shape, 4)
    cdef ConvGeom geo = _pool_geom(x_shape, window, stride, padding)
    _check_cotangent(g, (geo.n, geo.c, geo.oh, geo.ow), accumulate, out)
    dx = _output("out", out, x_shape, g.dtype, (g,))
    index = _slots("index", index, g.shape, (geo.kh, geo.kw), (dx,), False)
    bad = index[(index != NO_SLOT) & (index >= geo.kh * geo.kw)]
    if bad.size:  # a slot past the window would write outside dx
        raise ValueError(f"index holds slot {int(bad[0])}, past a {geo.kh}x{geo.kw} window")
    _run_pool(_SCATTER_INDEX, &geo, g, g, dx, bool(accumulate), index)
    return dx


def max_pool2d_select(x, t, window, stride, padding, *, out=None):
    """t at each window's first argmax of x (0 where that is a padding slot)."""
    _array("x", x, 4)
    _array("t", t, 4, x.dtype)
    if t.shape != x.shape:
        raise ValueError(f"t must have the shape of x {x.shape}, got {t.shape}")
    cdef ConvGeom g = _pool_geom(x.shape, window, stride, padding)
    y = _output("out", out, (g.n, g.c, g.oh, g.ow), x.dtype, (x, t))
    _run_pool(_SELECT, &g, x, t, y, False)
    return y


def max_pool2d_scatter(x, g, window, stride, padding, *, out=None, accumulate=False):
    """Scatter-add g onto each window's first argmax of x (transpose of select in t)."""
    _array("x", x, 4)
    _array("g", g, 4, x.dtype)
    cdef ConvGeom geo = _pool_geom(x.shape, window, stride, padding)
    _check_cotangent(g, (geo.n, geo.c, geo.oh, geo.ow), accumulate, out)
    dx = _output("out", out, x.shape, x.dtype, (x, g))
    _run_pool(_SCATTER, &geo, x, g, dx, bool(accumulate))
    return dx


def avg_pool2d(x, window, stride, padding, *, out=None):
    """Window mean of x with zero padding counted (count_include_pad=True)."""
    _array("x", x, 4)
    cdef ConvGeom g = _pool_geom(x.shape, window, stride, padding)
    y = _output("out", out, (g.n, g.c, g.oh, g.ow), x.dtype, (x,))
    _run_pool(_AVG, &g, x, x, y, False)
    return y


def avg_pool2d_transpose(g, x_shape, window, stride, padding, *, out=None, accumulate=False):
    """Transpose of avg_pool2d: spread g / (kh*kw) over each window."""
    _array("g", g, 4)
    x_shape = _ints("x_shape", x_shape, 4)
    cdef ConvGeom geo = _pool_geom(x_shape, window, stride, padding)
    _check_cotangent(g, (geo.n, geo.c, geo.oh, geo.ow), accumulate, out)
    dx = _output("out", out, x_shape, g.dtype, (g,))
    _run_pool(_AVG_T, &geo, g, g, dx, bool(accumulate))
    return dx
