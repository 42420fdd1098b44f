# Gathers and scatter-adds of rows (gather.pyx).

from libc.stdint cimport int64_t

from .state cimport Run

# OP_GATHER and OP_SCATTER_ADD (fields: isa.py).
cdef int run_gather(const int64_t* ins, const Run* run) noexcept nogil
cdef int run_scatter_add(const int64_t* ins, const Run* run) noexcept nogil
