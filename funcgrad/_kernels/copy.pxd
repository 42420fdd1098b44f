# Copies and fills (copy.pyx).

from libc.stdint cimport int64_t

from .state cimport Run

# OP_COPY and OP_FILL (their fields: funcgrad/compiler/isa.py, named in isa.pxd).
cdef int run_copy(const int64_t* ins, const Run* run) noexcept nogil
cdef int run_fill(const int64_t* ins, const Run* run) noexcept nogil
