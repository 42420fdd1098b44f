# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Threefry random bits (OP_RANDOM_BITS; the hash is threefry.h's C). A module of its own:
one call per instruction, or per thread's share of the counters."""

from cython.parallel cimport prange
from libc.stdint cimport int64_t, uint32_t

from .state cimport DONE, FUSED_PAR_MIN, Run
from .threads cimport threads_for

cdef extern from "threefry.h":
    int FG_BITS_U32, FG_BITS_F32, FG_BITS_F64
    void fg_random_bits(int kind, uint32_t k0, uint32_t k1, const uint32_t* counters, void* out,
                        long lo, long hi) nogil

RANDOM_BITS_KINDS = {"uint32": FG_BITS_U32, "float32": FG_BITS_F32, "float64": FG_BITS_F64}


cdef int run_random_bits(const int64_t* ins, const Run* run) noexcept nogil:
    cdef int64_t n = ins[4]
    cdef char** bufs = run.bufs
    cdef const uint32_t* key = <const uint32_t*>bufs[ins[1]]
    cdef int nt = threads_for(<double>n * RANDOM_BITS_COST, FUSED_PAR_MIN, n, run.max_threads), t
    if nt == 1:
        fg_random_bits(<int>ins[0], key[0], key[1], <const uint32_t*>bufs[ins[2]], bufs[ins[3]],
                       0, n)
        return DONE
    for t in prange(nt, num_threads=nt, schedule="static"):
        fg_random_bits(<int>ins[0], key[0], key[1], <const uint32_t*>bufs[ins[2]], bufs[ins[3]],
                       t * n // nt, (t + 1) * n // nt)
    return DONE
