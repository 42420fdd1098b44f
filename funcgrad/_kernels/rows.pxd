# Instructions over rows along an axis (rows.pyx).

from libc.stdint cimport int64_t

from .state cimport Run

# OP_SOFTMAX (see softmax.pxd) and OP_ARGMAX (fields: isa.py).
cdef int run_softmax(const int64_t* ins, const Run* run) noexcept nogil
cdef int run_argmax(const int64_t* ins, const Run* run) noexcept nogil
