# Random bits (random.pyx).

from libc.stdint cimport int64_t

from .state cimport Run

# OP_RANDOM_BITS (fields: isa.py).
cdef int run_random_bits(const int64_t* ins, const Run* run) noexcept nogil
