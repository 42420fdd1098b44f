# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled 2-D convolutions and their gradients (NCHW activations, OIHW weights).

Convolution is im2col + BLAS, one image at a time: im2col (im2col.pxi) gives
``cols[(c, i, j), (oh, ow)]`` (K = C*kh*kw rows of P = OH*OW columns, conv_numpy's per-image
layout), and the GEMMs read and write the NCHW arrays in place. A batch runs in ONE OpenMP
parallel region in which each thread owns whole images (its own slice of the workspace;
filter-grad partial sums are reduced at the end in thread order, so results are
deterministic for a given thread count). The GEMMs of a thread are cut into pieces of at
most 4 * 65536 multiply-adds, below which OpenBLAS never starts threads of its own, so BLAS
threads never oversubscribe the cores. Measured on the reference CNN (2 cores): per-image
GEMMs use OpenBLAS's small-matrix kernels (~150 GFLOP/s a core, no packing pass) where one
GEMM over a chunk of images packs its operands (~80-110 GFLOP/s), and a single parallel
region per call avoids the barrier storms that per-chunk regions suffer on a busy machine.

One extension module with im2col.pxi included: its loops run per plane and per row, called
from here per image. Its entry point (conv_kernel, see convolution.pxd) runs once per
instruction or per chunk of images; conv.pyx wraps it for Python.
"""

from cython.parallel cimport prange, threadid
from libc.math cimport copysign
from libc.string cimport memcpy, memset

from .blas cimport gemm
from .geometry cimport PAR_MIN, ConvGeom, geom_ok
from .threads cimport blas_threaded, max_threads
from .types cimport real

cdef extern from "transpose.h":
    void fg_transpose_f(const float* src, long rows, long cols, float* dst) nogil
    void fg_transpose_d(const double* src, long rows, long cols, double* dst) nogil

# Largest M*N*K that OpenBLAS runs on the calling thread (SMP_THRESHOLD_MIN 65536 times the
# default GEMM_MULTITHREAD_THRESHOLD 4): GEMMs issued inside a parallel region stay below it.
cdef double GEMM_SERIAL_MNK = 262144.0
# Shortest K = C*KH*KW for which the filter gradient transposes gy for a faster GEMM.
cdef Py_ssize_t FILTER_GRAD_TRANSPOSE_MIN_K = 64

include "im2col.pxi"


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


cdef Py_ssize_t conv_workspace_size(const ConvGeom* g, int kernel) noexcept nogil:
    if not geom_ok(g) or kernel < CONV_FORWARD or kernel > CONV_FILTER_GRAD:
        return -1
    return _ws_per_thread(g, kernel) * max_threads()


cdef Py_ssize_t conv_workspace_min(const ConvGeom* g, int kernel) noexcept nogil:
    if not geom_ok(g) or kernel < CONV_FORWARD or kernel > CONV_FILTER_GRAD:
        return -1
    return _ws_per_thread(g, kernel)


cdef inline int _threads(const ConvGeom* g, int kernel, Py_ssize_t ws_size) noexcept nogil:
    """Threads for a batch: 1 for tiny work or a single image; limited by the workspace."""
    cdef Py_ssize_t per = _ws_per_thread(g, kernel), work, t
    work = g.n * (g.c * g.h * g.w + g.o * g.oh * g.ow + per)
    if g.n < 2 or work < PAR_MIN:
        return 1
    t = max_threads()
    if t > g.n:
        t = g.n
    if per > 0 and t > ws_size // per:
        t = ws_size // per
    return <int>t if t > 1 else 1


cdef void _gemm_pieces(char* ta, char* tb, int m, int n, int k, const real* a, int lda,
                       const real* b, int ldb, real beta, real* c, int ldc,
                       bint split) noexcept nogil:
    """gemm, cut (if split and BLAS may use threads) along m (when ta == "N") or else n (tb
    must be "N") into pieces below GEMM_SERIAL_MNK, so that OpenBLAS runs each one on the
    calling thread: two thread pools fighting for the cores cost more than small GEMMs."""
    cdef int step, i0, cnt
    cdef double mnk = <double>m * n * k
    if not split or not blas_threaded() or mnk <= GEMM_SERIAL_MNK:
        gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc)
        return
    if ta[0] == b"N"[0]:
        step = <int>(GEMM_SERIAL_MNK / (<double>n * k))
        step = step if step > 0 else 1
        i0 = 0
        while i0 < m:  # rows of column-major A and C
            cnt = step if m - i0 > step else m - i0
            gemm(ta, tb, cnt, n, k, a + i0, lda, b, ldb, beta, c + i0, ldc)
            i0 += cnt
    else:  # tb == "N": columns of column-major B and C
        step = <int>(GEMM_SERIAL_MNK / (<double>m * k))
        step = step if step > 0 else 1
        i0 = 0
        while i0 < n:
            cnt = step if n - i0 > step else n - i0
            gemm(ta, tb, m, cnt, k, a, lda, b + <Py_ssize_t>i0 * ldb, ldb, beta,
                 c + <Py_ssize_t>i0 * ldc, ldc)
            i0 += cnt


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
    if not geom_ok(g) or ws_size < per:
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


cdef inline int _gradient_threads(const ConvGeom* g, int kind, Py_ssize_t ws_size, real* out,
                                  bint accumulate) noexcept nogil:
    """The threads a gradient kernel runs on; 0 if it has nothing to compute (an empty
    output, or a sum of no terms: zeros, written into out unless it accumulates); -1 if the
    geometry is invalid or the workspace too small."""
    cdef Py_ssize_t p = g.oh * g.ow, chw = g.c * g.h * g.w, k = g.c * g.kh * g.kw, size
    cdef bint empty, no_terms
    if not geom_ok(g) or ws_size < _ws_per_thread(g, kind):
        return -1
    if kind == CONV_INPUT_GRAD:  # out: dx, a sum over output channels and positions
        empty, no_terms, size = g.n == 0 or chw == 0, g.o == 0 or p == 0, g.n * chw
    else:  # out: dw, a sum over images and positions
        empty, no_terms, size = g.o == 0 or k == 0, g.n == 0 or p == 0, g.o * k
    if not empty and no_terms and not accumulate:
        memset(out, 0, size * sizeof(real))
    if empty or no_terms:
        return 0
    return _threads(g, kind, ws_size)


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
    cdef int nt = _gradient_threads(g, CONV_INPUT_GRAD, ws_size, dx, accumulate)
    if nt <= 0:
        return nt
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
    cdef real s
    cdef int nt = _gradient_threads(g, CONV_FILTER_GRAD, ws_size, dw, accumulate)
    if nt <= 0:
        return nt
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


cdef int conv_kernel(int kind, const ConvGeom* g, const real* a, const real* b,
                     const real* bias, real* out, real* ws, Py_ssize_t ws_size,
                     bint accumulate) noexcept nogil:
    if kind == CONV_FORWARD:
        return _conv_forward(g, a, b, bias, out, ws, ws_size)
    if kind == CONV_INPUT_GRAD:
        return _conv_input_grad(g, a, b, out, ws, ws_size, accumulate)
    if kind == CONV_FILTER_GRAD:
        return _conv_filter_grad(g, a, b, out, ws, ws_size, accumulate)
    return -1
