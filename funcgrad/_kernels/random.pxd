# Random bits (random.pyx).

from libc.stdint cimport int64_t

from .state cimport Run

# A Threefry hash costs about as much as a dozen elementwise operations.
cdef enum:
    RANDOM_BITS_COST = 12

# OP_RANDOM_BITS: [kind (RANDOM_BITS_KINDS), key (uint32[2]), counters (uint32), out, count].
cdef int run_random_bits(const int64_t* ins, const Run* run) noexcept nogil
