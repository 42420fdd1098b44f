# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Threefry random bits (OP_RANDOM_BITS; the hash is threefry.h's C). A module of its own:
one call per instruction, or per thread's share of the counters."""

from cython.parallel cimport prange
from libc.stdint cimport int64_t, uint32_t

from .isa cimport (
    FUSED_PAR_MIN, RANDOM_BITS_COST, RANDOM_BITS_COUNT, RANDOM_BITS_COUNTERS, RANDOM_BITS_KEY,
    RANDOM_BITS_KIND, RANDOM_BITS_OUT,
)
from .state cimport DONE, Run
from .threads cimport threads_for

cdef extern from "threefry.h":
    int FG_BITS_U32, FG_BITS_F32, FG_BITS_F64
    void fg_random_bits(int kind, uint32_t k0, uint32_t k1, const uint32_t* counters, void* out,
                        long lo, long hi) nogil

RANDOM_BITS_KINDS = {"uint32": FG_BITS_U32, "float32": FG_BITS_F32, "float64": FG_BITS_F64}


cdef int run_random_bits(const int64_t* ins, const Run* run) noexcept nogil:
    cdef int64_t n = ins[RANDOM_BITS_COUNT]
    cdef char** bufs = run.bufs
    cdef const uint32_t* key = <const uint32_t*>bufs[ins[RANDOM_BITS_KEY]]
    cdef const uint32_t* counters = <const uint32_t*>bufs[ins[RANDOM_BITS_COUNTERS]]
    cdef char* out = bufs[ins[RANDOM_BITS_OUT]]
    cdef int kind = <int>ins[RANDOM_BITS_KIND]
    cdef int nt = threads_for(<double>n * RANDOM_BITS_COST, FUSED_PAR_MIN, n, run.max_threads), t
    if nt == 1:
        fg_random_bits(kind, key[0], key[1], counters, out, 0, n)
        return DONE
    for t in prange(nt, num_threads=nt, schedule="static"):
        fg_random_bits(kind, key[0], key[1], counters, out, t * n // nt, (t + 1) * n // nt)
    return DONE
