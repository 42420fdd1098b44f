# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The executor's matrix products (OP_GEMM) and GEMMs with a fused kernel on their output
(OP_GEMM_EPILOGUE). Its own module: one BLAS call per instruction or per thread's rows, and
the epilogue's fused kernel is one call into vm.pyx per thread."""

from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.string cimport memset

from .blas cimport gemm
from .isa cimport (
    FUSED_IS_DOUBLE, FUSED_KERNEL, GEMM_A, GEMM_B, GEMM_BATCH, GEMM_C, GEMM_EPILOGUE_FUSED,
    GEMM_IS_DOUBLE, GEMM_K, GEMM_M, GEMM_N, GEMM_PAR_MIN, GEMM_STRIDE_A, GEMM_STRIDE_B,
    GEMM_STRIDE_C, GEMM_TRANS_A, GEMM_TRANS_B,
)
from .state cimport BLOCK, DONE, Run
from .threads cimport threads_for
from .vm cimport run_fused_op, run_fused_range


cdef void gemm_rows(const int64_t* ins, char** bufs, int is_double, int64_t i,
                    int64_t r0, int64_t r1) noexcept nogil:
    """Rows [r0, r1) of product i of a batched GEMM (see run_gemm)."""
    cdef bint trans_a = ins[GEMM_TRANS_A] != 0, trans_b = ins[GEMM_TRANS_B] != 0
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    cdef int m = <int>(r1 - r0), n = <int>ins[GEMM_N], k = <int>ins[GEMM_K]
    cdef int lda = <int>ins[GEMM_M] if trans_a else k
    cdef int ldb = k if trans_b else n
    # Row r of op(A) starts at A + r * lda, or at A + r when A is stored transposed.
    cdef int64_t a_off = i * ins[GEMM_STRIDE_A] + (r0 if trans_a else r0 * lda)
    cdef int64_t b_off = i * ins[GEMM_STRIDE_B], c_off = i * ins[GEMM_STRIDE_C] + r0 * n
    cdef char* a = bufs[ins[GEMM_A]]
    cdef char* b = bufs[ins[GEMM_B]]
    cdef char* c = bufs[ins[GEMM_C]]
    # BLAS is column-major: it computes C^T = op(B)^T op(A)^T.
    if is_double:
        gemm(&tb, &ta, n, m, k, <double*>b + b_off, ldb, <double*>a + a_off, lda, 0,
             <double*>c + c_off, n)
    else:
        gemm(&tb, &ta, n, m, k, <float*>b + b_off, ldb, <float*>a + a_off, lda, 0,
             <float*>c + c_off, n)


cdef inline int gemm_row_threads(const int64_t* ins, int max_threads) noexcept nogil:
    """Threads that split one (unbatched) GEMM by rows of C, in pieces of >= 16 rows."""
    return threads_for(<double>ins[GEMM_M] * ins[GEMM_N] * ins[GEMM_K], GEMM_PAR_MIN,
                       ins[GEMM_M] // 16, max_threads)


cdef int run_gemm(const int64_t* ins, const Run* run) noexcept nogil:
    """Row-major C = op(A) @ op(B), over a batch of products (fields: isa.py).

    With several OpenMP threads, large products are split among them by batch entries or
    by rows of C, each piece one BLAS call on its thread. This assumes BLAS itself runs
    single-threaded then (see funcgrad/threads.py): two pools of threads spinning
    for the same cores make every kernel many times slower."""
    cdef int64_t m = ins[GEMM_M], n = ins[GEMM_N], k = ins[GEMM_K], batch = ins[GEMM_BATCH], i, t
    cdef int nt, is_double = <int>ins[GEMM_IS_DOUBLE]
    cdef char** bufs = run.bufs
    if m == 0 or n == 0 or batch == 0:
        return DONE
    if k == 0:
        memset(bufs[ins[GEMM_C]], 0, batch * m * n * (8 if is_double else 4))
        return DONE
    if batch > 1:
        nt = threads_for(<double>batch * m * n * k, GEMM_PAR_MIN, batch, run.max_threads)
        for i in prange(batch, num_threads=nt, schedule="static"):
            gemm_rows(ins, bufs, is_double, i, 0, m)
        return DONE
    nt = gemm_row_threads(ins, run.max_threads)
    if nt == 1:
        gemm_rows(ins, bufs, is_double, 0, 0, m)
        return DONE
    for t in prange(nt, num_threads=nt, schedule="static"):
        gemm_rows(ins, bufs, is_double, 0, t * m // nt, (t + 1) * m // nt)
    return DONE


cdef int run_gemm_epilogue(const int64_t* ins, const Run* run) noexcept nogil:
    """A GEMM's fields (as run_gemm's), then a fused instruction's over the GEMM's M*N output
    elements. Split among threads, each thread runs the kernel on its own rows right after
    computing them, while they are in its cache; on one thread, the GEMM and then the
    kernel."""
    cdef int64_t m = ins[GEMM_M], n = ins[GEMM_N], t
    cdef const int64_t* fused = ins + GEMM_EPILOGUE_FUSED
    cdef const int64_t* kernel = fused + FUSED_KERNEL
    cdef int is_double = <int>ins[GEMM_IS_DOUBLE], nt = 1
    cdef int64_t regs = run.n_regs * BLOCK  # (one thread's)
    if ins[GEMM_BATCH] == 1 and ins[GEMM_K] > 0:
        nt = gemm_row_threads(ins, run.max_threads)
    if nt == 1:
        run_gemm(ins, run)
        return run_fused_op(fused, run)
    for t in prange(nt, num_threads=nt, schedule="static"):
        gemm_rows(ins, run.bufs, is_double, 0, t * m // nt, (t + 1) * m // nt)
        if fused[FUSED_IS_DOUBLE]:
            run_fused_range(run.regs + t * regs, <double**>run.ptrs + t * run.n_regs, kernel,
                            run.consts, run.bufs, t * m // nt * n, (t + 1) * m // nt * n, NULL)
        else:
            run_fused_range(<float*>run.regs + t * regs, <float**>run.ptrs + t * run.n_regs,
                            kernel, run.consts, run.bufs, t * m // nt * n,
                            (t + 1) * m // nt * n, NULL)
    return DONE
