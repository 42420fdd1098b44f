# Copies and fills (copy.pyx).

from libc.stdint cimport int64_t

from .state cimport Run

# OP_COPY: [itemsize, src, src_offset, dst, dst_offset, ndim, shape..., src_strides...,
# dst_strides...] (offsets and strides in elements).
cdef int run_copy(const int64_t* ins, const Run* run) noexcept nogil
# OP_FILL: [dtype (float32, float64, int32, int64), dst, count, const_index].
cdef int run_fill(const int64_t* ins, const Run* run) noexcept nogil
