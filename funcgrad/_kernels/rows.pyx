# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Instructions over rows along an axis: the softmax family (OP_SOFTMAX, whose kernels are
softmax.pyx's) and argmax (OP_ARGMAX). A module of their own: one call per instruction."""

from libc.stdint cimport int32_t, int64_t

from .softmax cimport SOFTMAX_LOG, SOFTMAX_LSE, SOFTMAX_PROB, softmax_rows
from .isa cimport (
    ARGMAX_INNER, ARGMAX_IS_DOUBLE, ARGMAX_IS_INT32, ARGMAX_N, ARGMAX_OUT, ARGMAX_OUTER, ARGMAX_X,
    FUSED_PAR_MIN, SOFTMAX_INNER, SOFTMAX_IS_DOUBLE, SOFTMAX_KIND, SOFTMAX_N, SOFTMAX_OUTER,
    SOFTMAX_X, SOFTMAX_Y,
)
from .state cimport DONE, Run
from .threads cimport threads_for
from .types cimport real

SOFTMAX_KINDS = {"logsumexp": SOFTMAX_LSE, "log_softmax": SOFTMAX_LOG, "softmax": SOFTMAX_PROB}


cdef int run_softmax(const int64_t* ins, const Run* run) noexcept nogil:
    cdef int64_t outer = ins[SOFTMAX_OUTER], n = ins[SOFTMAX_N], inner = ins[SOFTMAX_INNER]
    cdef int nt = threads_for(<double>outer * n * inner, FUSED_PAR_MIN, outer * inner,
                              run.max_threads)
    cdef int kind = <int>ins[SOFTMAX_KIND]
    cdef char* x = run.bufs[ins[SOFTMAX_X]]
    cdef char* y = run.bufs[ins[SOFTMAX_Y]]
    if ins[SOFTMAX_IS_DOUBLE]:
        softmax_rows(kind, <double*>x, <double*>y, outer, n, inner, nt)
    else:
        softmax_rows(kind, <float*>x, <float*>y, outer, n, inner, nt)
    return DONE


cdef void argmax_rows(const real* x, char* dst, bint int32, int64_t outer, int64_t n,
                      int64_t inner) noexcept nogil:
    """Index of the largest of the n values of each row (x as (outer, n, inner), rows along
    the middle axis), as NumPy's argmax: the first of equal maxima, or the first NaN."""
    cdef int64_t o, i, j, best_j
    cdef real best, v
    for o in range(outer):
        for i in range(inner):
            best, best_j = x[o * n * inner + i], 0
            j = 1
            while j < n and best == best:
                v = x[(o * n + j) * inner + i]
                if v > best or v != v:
                    best, best_j = v, j
                j += 1
            if int32:
                (<int32_t*>dst)[o * inner + i] = <int32_t>best_j
            else:
                (<int64_t*>dst)[o * inner + i] = best_j


cdef int run_argmax(const int64_t* ins, const Run* run) noexcept nogil:
    cdef char* x = run.bufs[ins[ARGMAX_X]]
    cdef char* out = run.bufs[ins[ARGMAX_OUT]]
    cdef bint int32 = ins[ARGMAX_IS_INT32] != 0
    if ins[ARGMAX_IS_DOUBLE]:
        argmax_rows(<double*>x, out, int32, ins[ARGMAX_OUTER], ins[ARGMAX_N], ins[ARGMAX_INNER])
    else:
        argmax_rows(<float*>x, out, int32, ins[ARGMAX_OUTER], ins[ARGMAX_N], ins[ARGMAX_INNER])
    return DONE
