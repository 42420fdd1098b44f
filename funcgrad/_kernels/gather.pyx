# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Rows picked by integer index arrays: gathers (OP_GATHER) and scatter-adds
(OP_SCATTER_ADD). A module of their own: one call per instruction. An index outside its
axis stops the run (OUT_OF_RANGE): the executor raises IndexError."""

from libc.stdint cimport int32_t, int64_t
from libc.string cimport memcpy, memset

from .isa cimport (
    GATHER_DST, GATHER_INDEX_BUF, GATHER_INDEX_IS_INT32, GATHER_INDEX_LEN, GATHER_INDEX_SIZE,
    GATHER_INDEX_STRIDE, GATHER_INDICES, GATHER_ITEMSIZE, GATHER_K, GATHER_N_INDEX, GATHER_ROW,
    GATHER_SRC, SCATTER_ADD_DST, SCATTER_ADD_INDICES, SCATTER_ADD_IS_DOUBLE, SCATTER_ADD_K,
    SCATTER_ADD_N_INDEX, SCATTER_ADD_ROW, SCATTER_ADD_SRC, SCATTER_ADD_TOTAL,
)
from .state cimport DONE, OUT_OF_RANGE, Run
from .types cimport real


cdef inline int row_offset(const int64_t* descs, int k, int64_t b, char** bufs,
                           int64_t* off) noexcept nogil:
    """Element offset of the row that index position ``b`` selects; 1 if out of range.
    descs: k gather_index parts."""
    cdef int j
    cdef int64_t v
    cdef const int64_t* d
    off[0] = 0
    for j in range(k):
        d = descs + j * GATHER_INDEX_LEN
        if d[GATHER_INDEX_IS_INT32]:
            v = (<int32_t*>bufs[d[GATHER_INDEX_BUF]])[b]
        else:
            v = (<int64_t*>bufs[d[GATHER_INDEX_BUF]])[b]
        if v < 0:
            v += d[GATHER_INDEX_SIZE]
        if v < 0 or v >= d[GATHER_INDEX_SIZE]:
            return 1
        off[0] += v * d[GATHER_INDEX_STRIDE]
    return 0


cdef int run_gather(const int64_t* ins, const Run* run) noexcept nogil:
    """dst[b] = src[row at b]."""
    cdef int64_t itemsize = ins[GATHER_ITEMSIZE], n = ins[GATHER_N_INDEX], row = ins[GATHER_ROW]
    cdef int64_t b, off
    cdef int k = <int>ins[GATHER_K]
    cdef char** bufs = run.bufs
    cdef char* src = bufs[ins[GATHER_SRC]]
    cdef char* dst = bufs[ins[GATHER_DST]]
    for b in range(n):
        if row_offset(ins + GATHER_INDICES, k, b, bufs, &off):
            return OUT_OF_RANGE
        memcpy(dst + b * row * itemsize, src + off * itemsize, row * itemsize)
    return DONE


cdef int scatter_add(const real* g, real* dst, const int64_t* ins, char** bufs) noexcept nogil:
    """dst = 0; dst[row at b] += g[b]."""
    cdef int64_t n = ins[SCATTER_ADD_N_INDEX], row = ins[SCATTER_ADD_ROW], b, i, off
    cdef int k = <int>ins[SCATTER_ADD_K]
    memset(dst, 0, ins[SCATTER_ADD_TOTAL] * sizeof(real))
    for b in range(n):
        if row_offset(ins + SCATTER_ADD_INDICES, k, b, bufs, &off):
            return OUT_OF_RANGE
        for i in range(row):
            dst[off + i] += g[b * row + i]
    return DONE


cdef int run_scatter_add(const int64_t* ins, const Run* run) noexcept nogil:
    cdef char* src = run.bufs[ins[SCATTER_ADD_SRC]]
    cdef char* dst = run.bufs[ins[SCATTER_ADD_DST]]
    if ins[SCATTER_ADD_IS_DOUBLE]:
        return scatter_add(<double*>src, <double*>dst, ins, run.bufs)
    return scatter_add(<float*>src, <float*>dst, ins, run.bufs)
