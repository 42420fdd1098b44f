# Gathers and scatter-adds of rows (gather.pyx).

from libc.stdint cimport int64_t

from .state cimport Run

# OP_GATHER: [itemsize, src, dst, n_index, row, k, descs...].
cdef int run_gather(const int64_t* ins, const Run* run) noexcept nogil
# OP_SCATTER_ADD: [is_double, g, dst, n_index, row, k, total, descs...].
cdef int run_scatter_add(const int64_t* ins, const Run* run) noexcept nogil
