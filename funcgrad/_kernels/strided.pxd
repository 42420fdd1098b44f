# Walking a strided operand in flat (row-major) order, a run of its innermost row at a time:
# inline helpers, compiled into each kernel module that cimports them (they run in the
# kernels' inner loops).

from libc.stdint cimport int64_t

from .types cimport real


cdef inline int64_t shape_size(const int64_t* shape, int ndim) noexcept nogil:
    """The number of elements of a shape."""
    cdef int64_t total = 1
    cdef int d
    for d in range(ndim):
        total *= shape[d]
    return total


cdef inline int64_t start_offset(int ndim, const int64_t* shape, const int64_t* strides,
                                 int64_t start, int64_t* idx) noexcept nogil:
    """Multi-index (into idx) and element offset of flat position ``start``."""
    cdef int d
    cdef int64_t off = 0
    for d in range(ndim - 1, -1, -1):
        idx[d] = start % shape[d]
        start //= shape[d]
        off += idx[d] * strides[d]
    return off


cdef inline int64_t advance(int ndim, const int64_t* shape, const int64_t* strides,
                            int64_t* idx, int64_t off) noexcept nogil:
    """Carry a finished innermost row into the outer dimensions; returns the new offset."""
    cdef int d = ndim - 1
    off -= shape[d] * strides[d]
    idx[d] = 0
    d -= 1
    while d >= 0:
        idx[d] += 1
        off += strides[d]
        if idx[d] < shape[d]:
            return off
        off -= shape[d] * strides[d]
        idx[d] = 0
        d -= 1
    return off


cdef inline int64_t run_length(int ndim, const int64_t* shape, const int64_t* idx,
                               int64_t most) noexcept nogil:
    """Elements from idx to the end of its innermost row, at most ``most``."""
    cdef int64_t seg = shape[ndim - 1] - idx[ndim - 1]
    return seg if seg < most else most


cdef inline int64_t next_run(int ndim, const int64_t* shape, const int64_t* strides,
                             int64_t* idx, int64_t off, int64_t seg, bint more) noexcept nogil:
    """idx and its offset (returned) moved past a run of ``seg`` elements along the innermost
    row, and on into the next row when that row is done and ``more`` elements follow."""
    idx[ndim - 1] += seg
    off += seg * strides[ndim - 1]
    if idx[ndim - 1] == shape[ndim - 1] and more:
        off = advance(ndim, shape, strides, idx, off)
    return off


cdef inline void fill_value(real* dst, real v, int64_t n) noexcept nogil:
    cdef int64_t j
    for j in range(n):
        dst[j] = v
