# Instructions over rows along an axis (rows.pyx).

from libc.stdint cimport int64_t

from .state cimport Run

# OP_SOFTMAX: [is_double, kind (SOFTMAX_KINDS), x, y, outer, n, inner] (see softmax.pxd).
cdef int run_softmax(const int64_t* ins, const Run* run) noexcept nogil
# OP_ARGMAX: [is_double, x, dst, index is int32, outer, n, inner].
cdef int run_argmax(const int64_t* ins, const Run* run) noexcept nogil
