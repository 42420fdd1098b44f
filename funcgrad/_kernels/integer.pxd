# Integer kernels (integer.pyx).

from libc.stdint cimport int64_t

from .state cimport Run

# OP_INT: [op (FG_INT_OPS of vm_ops.h), result dtype code, result buffer, ndim, shape...,
# n_in, operand descriptions (2 + ndim each)*].
cdef int run_int(const int64_t* ins, const Run* run) noexcept nogil
# OP_INT_REDUCE: [dtype code, kind (REDUCE_KINDS), src, dst, out_size, ndim, shape...,
# out_strides...].
cdef int run_int_reduce(const int64_t* ins, const Run* run) noexcept nogil
