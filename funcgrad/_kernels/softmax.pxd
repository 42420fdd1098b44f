# Compiled softmax-family row kernels: logsumexp, log_softmax and softmax.
#
# x is C-contiguous, viewed as (outer, n, inner): each of the outer * inner "rows" has n
# values, inner apart. For each row: m = its max (NaN wins), shift = m if finite else 0,
# s = sum(exp(x - shift)); then (kind)
#   SOFTMAX_LSE:  y[row] = shift + log(s)         y is (outer, inner)
#   SOFTMAX_LOG:  y = (x - shift) - log(s)        y is like x
#   SOFTMAX_PROB: y = exp(x - shift) / s          y is like x
# Each row is read from memory once and then worked on in cache. float32 rows sum in double.
# Rows are split among up to `threads` OpenMP threads (the caller judges whether the work is
# worth it); results do not depend on the thread count. Do not call from inside another parallel region.

from libc.stdint cimport int64_t

from .types cimport real

cdef extern from "isa.h":  # (numbered by the instruction set: SOFTMAX_KINDS)
    enum:
        SOFTMAX_LSE
        SOFTMAX_LOG
        SOFTMAX_PROB

cdef void softmax_rows(int kind, const real* x, real* y, int64_t outer, int64_t n,
                       int64_t inner, int threads) noexcept nogil
