# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Strided copies (OP_COPY) and fills (OP_FILL): a module of their own, one call per
instruction."""

from libc.stdint cimport int32_t, int64_t
from libc.string cimport memcpy

from .isa cimport (
    COPY_DST, COPY_DST_OFFSET, COPY_ITEMSIZE, COPY_NDIM, COPY_SHAPE, COPY_SRC, COPY_SRC_OFFSET,
    FILL_CONST, FILL_COUNT, FILL_DST, FILL_DTYPE, MAXDIM,
)
from .state cimport DONE, Run
from .strided cimport advance, shape_size, start_offset

ctypedef unsigned int uint32_like
ctypedef unsigned long long uint64_like


cdef void copy_transposed(char* dst, const char* src, int64_t rows, int64_t cols,
                          int64_t dst_row, int64_t src_col, int64_t itemsize) noexcept nogil:
    """dst[i * dst_row + j] = src[i + j * src_col] (in elements) by 32 x 32 tiles: a
    transposition read row by row would miss the cache on every element of a large one."""
    cdef int64_t i0, j0, i, j, i1, j1
    for i0 in range(0, rows, 32):
        i1 = i0 + 32 if i0 + 32 < rows else rows
        for j0 in range(0, cols, 32):
            j1 = j0 + 32 if j0 + 32 < cols else cols
            for i in range(i0, i1):
                if itemsize == 8:
                    for j in range(j0, j1):
                        (<uint64_like*>dst)[i * dst_row + j] = (<uint64_like*>src)[i + j * src_col]
                else:
                    for j in range(j0, j1):
                        (<uint32_like*>dst)[i * dst_row + j] = (<uint32_like*>src)[i + j * src_col]


cdef int run_copy(const int64_t* ins, const Run* run) noexcept nogil:
    """A strided copy between buffers, a row at a time, or by tiles when it transposes."""
    cdef int64_t itemsize = ins[COPY_ITEMSIZE]
    cdef char** bufs = run.bufs
    cdef char* src = bufs[ins[COPY_SRC]] + ins[COPY_SRC_OFFSET] * itemsize
    cdef char* dst = bufs[ins[COPY_DST]] + ins[COPY_DST_OFFSET] * itemsize
    cdef int ndim = <int>ins[COPY_NDIM]
    cdef const int64_t* shape = ins + COPY_SHAPE
    cdef const int64_t* sstr = shape + ndim
    cdef const int64_t* dstr = shape + 2 * ndim
    cdef int64_t sidx[MAXDIM]
    cdef int64_t didx[MAXDIM]
    cdef int64_t total = shape_size(shape, ndim), i = 0, j, soff, doff, inner, ss, ds
    cdef int d
    if total == 0:
        return DONE
    inner = shape[ndim - 1]
    ss = sstr[ndim - 1]
    ds = dstr[ndim - 1]
    if (ndim >= 2 and ds == 1 and ss != 1 and sstr[ndim - 2] == 1 and inner >= 32
            and shape[ndim - 2] >= 32 and (itemsize == 4 or itemsize == 8)):
        for i in range(total // (inner * shape[ndim - 2])):  # each matrix of the batch
            soff = start_offset(ndim - 2, shape, sstr, i, sidx)
            doff = start_offset(ndim - 2, shape, dstr, i, didx)
            copy_transposed(dst + doff * itemsize, src + soff * itemsize, shape[ndim - 2],
                            inner, dstr[ndim - 2], ss, itemsize)
        return DONE
    soff = start_offset(ndim, shape, sstr, 0, sidx)
    doff = start_offset(ndim, shape, dstr, 0, didx)
    while i < total:
        if ss == 1 and ds == 1:
            memcpy(dst + doff * itemsize, src + soff * itemsize, inner * itemsize)
        elif itemsize == 4:
            for j in range(inner):
                (<uint32_like*>dst)[doff + j * ds] = (<uint32_like*>src)[soff + j * ss]
        elif itemsize == 8:
            for j in range(inner):
                (<uint64_like*>dst)[doff + j * ds] = (<uint64_like*>src)[soff + j * ss]
        else:
            for j in range(inner):
                memcpy(dst + (doff + j * ds) * itemsize, src + (soff + j * ss) * itemsize, itemsize)
        i += inner
        soff += inner * ss
        doff += inner * ds
        sidx[ndim - 1] = inner
        didx[ndim - 1] = inner
        if i < total:
            soff = advance(ndim, shape, sstr, sidx, soff)
            doff = advance(ndim, shape, dstr, didx, doff)
    return DONE


cdef int run_fill(const int64_t* ins, const Run* run) noexcept nogil:
    """Element j is value + j * step, value and step the constants at the const field and the
    next (a step of 1 from 0 is an iota); dtype: float32, float64, int32, int64."""
    cdef int64_t n = ins[FILL_COUNT], j
    cdef double value = run.consts[ins[FILL_CONST]], step = run.consts[ins[FILL_CONST] + 1]
    cdef char** bufs = run.bufs
    cdef float* f = <float*>bufs[ins[FILL_DST]]
    cdef double* g = <double*>bufs[ins[FILL_DST]]
    cdef int32_t* i32 = <int32_t*>bufs[ins[FILL_DST]]
    cdef int64_t* i64 = <int64_t*>bufs[ins[FILL_DST]]
    cdef int64_t dtype = ins[FILL_DTYPE]
    cdef double v
    for j in range(n):
        v = value + j * step if step != 0 else value  # (a fill keeps the sign of a zero)
        if dtype == 0:
            f[j] = <float>v
        elif dtype == 1:
            g[j] = v
        elif dtype == 2:
            i32[j] = <int32_t>v
        else:
            i64[j] = <int64_t>v
    return DONE
