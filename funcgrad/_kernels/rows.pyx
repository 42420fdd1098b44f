# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Instructions over rows along an axis: the softmax family (OP_SOFTMAX, whose kernels are
softmax.pyx's) and argmax (OP_ARGMAX). A module of their own: one call per instruction."""

from libc.stdint cimport int32_t, int64_t

from .softmax cimport SOFTMAX_LOG, SOFTMAX_LSE, SOFTMAX_PROB, softmax_rows
from .state cimport DONE, FUSED_PAR_MIN, Run
from .threads cimport threads_for
from .types cimport real

SOFTMAX_KINDS = {"logsumexp": SOFTMAX_LSE, "log_softmax": SOFTMAX_LOG, "softmax": SOFTMAX_PROB}


cdef int run_softmax(const int64_t* ins, const Run* run) noexcept nogil:
    cdef int nt = threads_for(<double>ins[4] * ins[5] * ins[6], FUSED_PAR_MIN, ins[4] * ins[6],
                              run.max_threads)
    if ins[0]:
        softmax_rows(<int>ins[1], <double*>run.bufs[ins[2]], <double*>run.bufs[ins[3]], ins[4],
                     ins[5], ins[6], nt)
    else:
        softmax_rows(<int>ins[1], <float*>run.bufs[ins[2]], <float*>run.bufs[ins[3]], ins[4],
                     ins[5], ins[6], nt)
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
    if ins[0]:
        argmax_rows(<double*>run.bufs[ins[1]], run.bufs[ins[2]], ins[3] != 0, ins[4], ins[5],
                    ins[6])
    else:
        argmax_rows(<float*>run.bufs[ins[1]], run.bufs[ins[2]], ins[3] != 0, ins[4], ins[5],
                    ins[6])
    return DONE
