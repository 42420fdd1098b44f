# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Integer (and bool) kernels on int64 values: elementwise operations (OP_INT, vm_ops.h's
integer table) and sums, maxima and minima (OP_INT_REDUCE). Operands of any integer dtype
are loaded as int64 a block at a time (cast.h) and stored back in the result's dtype. A
module of their own: one call per instruction."""

from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t, uint64_t
from libc.stdlib cimport free, malloc

from .cast cimport fg_itemsize, fg_load_int, fg_store_int
from .isa cimport (
    INT_DTYPE, INT_NDIM, INT_OP, INT_OPERAND_BUF, INT_OPERAND_DTYPE, INT_OPERAND_STRIDES, INT_OUT,
    INT_REDUCE_DST, INT_REDUCE_DTYPE, INT_REDUCE_KIND, INT_REDUCE_NDIM, INT_REDUCE_OUT_SIZE,
    INT_REDUCE_SHAPE, INT_REDUCE_SRC, INT_SHAPE, MAXDIM, REDUCE_MAX, REDUCE_SUM,
)
from .state cimport BLOCK, DONE, NO_MEMORY, Run
from .strided cimport next_run, run_length, shape_size, start_offset
from .vm_ops cimport FG_INT_COUNT, fg_int_names, fg_int_numbers, fg_int_op

# vm_ops.h's integer table as this build compiled it (the compiler checks it against the file)
COMPILED_INT_OPS = {fg_int_names[i].decode(): fg_int_numbers[i] for i in range(FG_INT_COUNT)}


cdef void load_int_block(int64_t* dst, const int64_t* desc, char** bufs, int ndim,
                         const int64_t* shape, int64_t start, int64_t n) noexcept nogil:
    """Elements start.. of an integer kernel's operand (an int_operand part) as int64."""
    cdef int64_t idx[MAXDIM]
    cdef const int64_t* strides = desc + INT_OPERAND_STRIDES
    cdef int64_t off, i = 0, j, seg, dtype = desc[INT_OPERAND_DTYPE]
    if dtype < 0:  # a scalar, its value in the buffer's field
        for j in range(n):
            dst[j] = desc[INT_OPERAND_BUF]
        return
    off = start_offset(ndim, shape, strides, start, idx)
    while i < n:
        seg = run_length(ndim, shape, idx, n - i)
        fg_load_int(<int>dtype, bufs[desc[INT_OPERAND_BUF]] + off * fg_itemsize[dtype],
                    strides[ndim - 1], dst + i, seg)
        i += seg
        off = next_run(ndim, shape, strides, idx, off, seg, i < n)


cdef int run_int(const int64_t* ins, const Run* run) noexcept nogil:
    """One integer (or bool) elementwise operation, on int64 values: sums and products wrap
    modulo 2**64 and then modulo the result's size, as NumPy's do. op: FG_INT_OPS of
    vm_ops.h."""
    cdef int op = <int>ins[INT_OP], ndim = <int>ins[INT_NDIM], k
    cdef int dtype = <int>ins[INT_DTYPE]
    cdef const int64_t* shape = ins + INT_SHAPE
    cdef int n_in = <int>shape[ndim]
    cdef const int64_t* desc = shape + ndim + 1
    cdef int64_t total = shape_size(shape, ndim), start = 0, n
    cdef int64_t v[4][BLOCK]  # the operands, then the result
    cdef int64_t* r = v[3]
    cdef int64_t* a = v[0]
    cdef int64_t* b = v[1]
    cdef int64_t* c = v[2]
    cdef char** bufs = run.bufs
    while start < total:
        n = min(total - start, BLOCK)
        for k in range(n_in):
            load_int_block(v[k], desc + k * (INT_OPERAND_STRIDES + ndim), bufs, ndim, shape,
                           start, n)
        fg_int_op(op, r, a, b, c, n)
        fg_store_int(dtype, r, bufs[ins[INT_OUT]] + start * fg_itemsize[dtype], n)
        start += n
    return DONE


cdef int run_int_reduce(const int64_t* ins, const Run* run) noexcept nogil:
    """An integer (or bool) sum, max or min, on int64 values: sums wrap like NumPy's.
    NO_MEMORY if out of memory."""
    cdef int dtype = <int>ins[INT_REDUCE_DTYPE], kind = <int>ins[INT_REDUCE_KIND]
    cdef int ndim = <int>ins[INT_REDUCE_NDIM]
    cdef const int64_t* shape = ins + INT_REDUCE_SHAPE
    cdef const int64_t* strides = shape + ndim
    cdef int64_t total = shape_size(shape, ndim), size = ins[INT_REDUCE_OUT_SIZE]
    cdef int64_t i = 0, j, k, seg, off
    cdef int64_t idx[MAXDIM]
    cdef int64_t v[BLOCK]
    cdef int64_t s = strides[ndim - 1]
    cdef char** bufs = run.bufs
    cdef int64_t* acc = <int64_t*>malloc((size if size > 0 else 1) * sizeof(int64_t))
    if acc == NULL:
        return NO_MEMORY
    for j in range(size):
        acc[j] = 0 if kind == REDUCE_SUM else (INT64_MIN if kind == REDUCE_MAX else INT64_MAX)
    off = start_offset(ndim, shape, strides, 0, idx)
    while i < total:
        seg = run_length(ndim, shape, idx, BLOCK)
        fg_load_int(dtype, bufs[ins[INT_REDUCE_SRC]] + i * fg_itemsize[dtype], 1, v, seg)
        for k in range(seg):
            j = off + k * s
            if kind == REDUCE_SUM:
                acc[j] = <int64_t>(<uint64_t>acc[j] + <uint64_t>v[k])
            elif kind == REDUCE_MAX:
                acc[j] = v[k] if v[k] > acc[j] else acc[j]
            else:
                acc[j] = v[k] if v[k] < acc[j] else acc[j]
        i += seg
        off = next_run(ndim, shape, strides, idx, off, seg, i < total)
    fg_store_int(dtype, acc, bufs[ins[INT_REDUCE_DST]], size)
    free(acc)
    return DONE
