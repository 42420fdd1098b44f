# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The executor's matrix products (OP_GEMM) and GEMMs with a fused kernel on their output
(OP_GEMM_EPILOGUE). Its own module: one BLAS call per instruction or per thread's rows, and
the epilogue's fused kernel is one call into vm.pyx per thread."""

from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.string cimport memset

from .blas cimport gemm
from .state cimport BLOCK, DONE, GEMM_PAR_MIN, Run
from .threads cimport threads_for
from .vm cimport run_fused_op, run_fused_range


cdef void gemm_rows(const int64_t* ins, char** bufs, int is_double, int64_t i,
                    int64_t r0, int64_t r1) noexcept nogil:
    """Rows [r0, r1) of product i of a batched GEMM (see run_gemm)."""
    cdef char ta = b'T' if ins[3] else b'N'
    cdef char tb = b'T' if ins[4] else b'N'
    cdef int m = <int>(r1 - r0), n = <int>ins[6], k = <int>ins[7]
    cdef int lda = <int>ins[5] if ins[3] else k
    cdef int ldb = k if ins[4] else n
    # Row r of op(A) starts at A + r * lda, or at A + r when A is stored transposed.
    cdef int64_t a_off = i * ins[9] + (r0 if ins[3] else r0 * lda)
    cdef int64_t b_off = i * ins[10], c_off = i * ins[11] + r0 * n
    # BLAS is column-major: it computes C^T = op(B)^T op(A)^T.
    if is_double:
        gemm(&tb, &ta, n, m, k, <double*>bufs[ins[1]] + b_off, ldb,
             <double*>bufs[ins[0]] + a_off, lda, 0, <double*>bufs[ins[2]] + c_off, n)
    else:
        gemm(&tb, &ta, n, m, k, <float*>bufs[ins[1]] + b_off, ldb,
             <float*>bufs[ins[0]] + a_off, lda, 0, <float*>bufs[ins[2]] + c_off, n)


cdef inline int gemm_row_threads(const int64_t* ins, int max_threads) noexcept nogil:
    """Threads that split one (unbatched) GEMM by rows of C, in pieces of >= 16 rows."""
    return threads_for(<double>ins[5] * ins[6] * ins[7], GEMM_PAR_MIN, ins[5] // 16,
                       max_threads)


cdef int run_gemm(const int64_t* ins, const Run* run) noexcept nogil:
    """ins: [a, b, c, trans_a, trans_b, M, N, K, batch, stride_a, stride_b, stride_c,
    is_double] for row-major C = op(A) @ op(B).

    With several OpenMP threads, large products are split among them by batch entries or
    by rows of C, each piece one BLAS call on its thread. This assumes BLAS itself runs
    single-threaded then (see funcgrad/threads.py): two pools of threads spinning
    for the same cores make every kernel many times slower."""
    cdef int64_t m = ins[5], n = ins[6], k = ins[7], batch = ins[8], i, t
    cdef int nt, is_double = <int>ins[12]
    cdef char** bufs = run.bufs
    if m == 0 or n == 0 or batch == 0:
        return DONE
    if k == 0:
        memset(bufs[ins[2]], 0, batch * m * n * (8 if is_double else 4))
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
    """ins: a GEMM's fields (as run_gemm, 13 values: the last is is_double), then a fused
    kernel's (is_double, then as run_fused) over the GEMM's M*N output elements. Split among
    threads, each thread runs the kernel on its own rows right after computing them, while
    they are in its cache; on one thread, the GEMM and then the kernel."""
    cdef int64_t m = ins[5], n = ins[6], t
    cdef const int64_t* fused = ins + 13
    cdef int is_double = <int>ins[12], nt = 1
    cdef int64_t regs = run.n_regs * BLOCK  # (one thread's)
    if ins[8] == 1 and ins[7] > 0:
        nt = gemm_row_threads(ins, run.max_threads)
    if nt == 1:
        run_gemm(ins, run)
        return run_fused_op(fused, run)
    for t in prange(nt, num_threads=nt, schedule="static"):
        gemm_rows(ins, run.bufs, is_double, 0, t * m // nt, (t + 1) * m // nt)
        if fused[0]:
            run_fused_range(run.regs + t * regs, <double**>run.ptrs + t * run.n_regs,
                            fused + 1, run.consts, run.bufs, t * m // nt * n,
                            (t + 1) * m // nt * n, NULL)
        else:
            run_fused_range(<float*>run.regs + t * regs, <float**>run.ptrs + t * run.n_regs,
                            fused + 1, run.consts, run.bufs, t * m // nt * n,
                            (t + 1) * m // nt * n, NULL)
    return DONE
