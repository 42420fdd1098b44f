# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Rows picked by integer index arrays: gathers (OP_GATHER) and scatter-adds
(OP_SCATTER_ADD). A module of their own: one call per instruction. An index outside its
axis stops the run (OUT_OF_RANGE): the executor raises IndexError."""

from libc.stdint cimport int32_t, int64_t
from libc.string cimport memcpy, memset

from .state cimport DONE, OUT_OF_RANGE, Run
from .types cimport real


cdef inline int row_offset(const int64_t* descs, int k, int64_t b, char** bufs,
                           int64_t* off) noexcept nogil:
    """Element offset of the row that index position ``b`` selects; 1 if out of range.
    descs: k * (index_buf, is_int32, dim_size, row_stride)."""
    cdef int j
    cdef int64_t v
    off[0] = 0
    for j in range(k):
        if descs[4 * j + 1]:
            v = (<int32_t*>bufs[descs[4 * j]])[b]
        else:
            v = (<int64_t*>bufs[descs[4 * j]])[b]
        if v < 0:
            v += descs[4 * j + 2]
        if v < 0 or v >= descs[4 * j + 2]:
            return 1
        off[0] += v * descs[4 * j + 3]
    return 0


cdef int run_gather(const int64_t* ins, const Run* run) noexcept nogil:
    """dst[b] = src[row at b]."""
    cdef int64_t itemsize = ins[0], n = ins[3], row = ins[4], b, off
    cdef int k = <int>ins[5]
    cdef char** bufs = run.bufs
    for b in range(n):
        if row_offset(ins + 6, k, b, bufs, &off):
            return OUT_OF_RANGE
        memcpy(bufs[ins[2]] + b * row * itemsize, bufs[ins[1]] + off * itemsize, row * itemsize)
    return DONE


cdef int scatter_add(const real* g, real* dst, const int64_t* ins, char** bufs) noexcept nogil:
    """dst = 0; dst[row at b] += g[b]."""
    cdef int64_t n = ins[3], row = ins[4], total = ins[6], b, i, off
    cdef int k = <int>ins[5]
    memset(dst, 0, total * sizeof(real))
    for b in range(n):
        if row_offset(ins + 7, k, b, bufs, &off):
            return OUT_OF_RANGE
        for i in range(row):
            dst[off + i] += g[b * row + i]
    return DONE


cdef int run_scatter_add(const int64_t* ins, const Run* run) noexcept nogil:
    if ins[0]:
        return scatter_add(<double*>run.bufs[ins[1]], <double*>run.bufs[ins[2]], ins, run.bufs)
    return scatter_add(<float*>run.bufs[ins[1]], <float*>run.bufs[ins[2]], ins, run.bufs)
