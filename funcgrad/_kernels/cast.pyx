# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""dtype conversions (OP_CAST; the loops are cast.h's C). A module of its own: one call per
instruction, or per thread's share of the elements."""

from cython.parallel cimport prange
from libc.stdint cimport int64_t

from .state cimport DONE, FUSED_PAR_MIN, NO_CAST, Run
from .threads cimport threads_for

CAST_DTYPES = {"bool": FG_BOOL, "int8": FG_INT8, "uint8": FG_UINT8, "int16": FG_INT16,
               "uint16": FG_UINT16, "int32": FG_INT32, "uint32": FG_UINT32, "int64": FG_INT64,
               "uint64": FG_UINT64, "float32": FG_FLOAT32, "float64": FG_FLOAT64}


cdef int run_cast(const int64_t* ins, const Run* run) noexcept nogil:
    """NO_CAST if cast.h has no such pair."""
    cdef int64_t n = ins[4]
    cdef char** bufs = run.bufs
    cdef int nt = threads_for(<double>n, FUSED_PAR_MIN, n, run.max_threads), t, status = 0
    if nt == 1:
        status = fg_cast(<int>ins[0], <int>ins[1], bufs[ins[2]], bufs[ins[3]], 0, n)
    else:
        for t in prange(nt, num_threads=nt, schedule="static"):
            status |= fg_cast(<int>ins[0], <int>ins[1], bufs[ins[2]], bufs[ins[3]],
                              t * n // nt, (t + 1) * n // nt)
    return NO_CAST if status else DONE
