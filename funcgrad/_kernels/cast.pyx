# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""dtype conversions (OP_CAST; the loops are cast.h's C). A module of its own: one call per
instruction, or per thread's share of the elements."""

from cython.parallel cimport prange
from libc.stdint cimport int64_t

from .isa cimport CAST_COUNT, CAST_DST, CAST_DST_DTYPE, CAST_SRC, CAST_SRC_DTYPE, FUSED_PAR_MIN
from .state cimport DONE, NO_CAST, Run
from .threads cimport threads_for

CAST_DTYPES = {"bool": FG_BOOL, "int8": FG_INT8, "uint8": FG_UINT8, "int16": FG_INT16,
               "uint16": FG_UINT16, "int32": FG_INT32, "uint32": FG_UINT32, "int64": FG_INT64,
               "uint64": FG_UINT64, "float32": FG_FLOAT32, "float64": FG_FLOAT64}


cdef int run_cast(const int64_t* ins, const Run* run) noexcept nogil:
    """NO_CAST if cast.h has no such pair."""
    cdef int64_t n = ins[CAST_COUNT]
    cdef char** bufs = run.bufs
    cdef int nt = threads_for(<double>n, FUSED_PAR_MIN, n, run.max_threads), t, status = 0
    cdef int src_dtype = <int>ins[CAST_SRC_DTYPE], dst_dtype = <int>ins[CAST_DST_DTYPE]
    cdef char* src = bufs[ins[CAST_SRC]]
    cdef char* dst = bufs[ins[CAST_DST]]
    if nt == 1:
        status = fg_cast(src_dtype, dst_dtype, src, dst, 0, n)
    else:
        for t in prange(nt, num_threads=nt, schedule="static"):
            status |= fg_cast(src_dtype, dst_dtype, src, dst, t * n // nt, (t + 1) * n // nt)
    return NO_CAST if status else DONE
