# dtype conversions (cast.pyx) and cast.h's dtype codes, which the integer kernels
# (integer.pyx) use too.

from libc.stdint cimport int64_t

from .state cimport Run

cdef extern from "cast.h":
    int FG_BOOL, FG_INT8, FG_UINT8, FG_INT16, FG_UINT16, FG_INT32, FG_UINT32, FG_INT64
    int FG_UINT64, FG_FLOAT32, FG_FLOAT64
    const int64_t* fg_itemsize  # bytes per element, by dtype code
    int fg_cast(int from_, int to, const void* src, void* dst, long lo, long hi) nogil
    void fg_load_int(int from_, const void* src, long stride, int64_t* dst, long n) nogil
    void fg_store_int(int to, const int64_t* src, void* dst, long n) nogil

# OP_CAST (fields: isa.py).
cdef int run_cast(const int64_t* ins, const Run* run) noexcept nogil
