# Integer kernels (integer.pyx).

from libc.stdint cimport int64_t

from .state cimport Run

# OP_INT (op: FG_INT_OPS of vm_ops.h) and OP_INT_REDUCE (fields: isa.py).
cdef int run_int(const int64_t* ins, const Run* run) noexcept nogil
cdef int run_int_reduce(const int64_t* ins, const Run* run) noexcept nogil
