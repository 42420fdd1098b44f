# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Integer (and bool) kernels on int64 values: elementwise operations (OP_INT, vm_ops.h's
integer table) and sums, maxima and minima (OP_INT_REDUCE). Operands of any integer dtype
are loaded as int64 a block at a time (cast.h) and stored back in the result's dtype. A
module of their own: one call per instruction."""

from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t, uint64_t
from libc.stdlib cimport free, malloc

from .cast cimport fg_itemsize, fg_load_int, fg_store_int
from .state cimport BLOCK, DONE, MAXDIM, NO_MEMORY, Run
from .strided cimport next_run, run_length, shape_size, start_offset
from .vm_ops cimport FG_INT_COUNT, fg_int_names, fg_int_numbers, fg_int_op

# vm_ops.h's integer table as this build compiled it (the compiler checks it against the file)
COMPILED_INT_OPS = {fg_int_names[i].decode(): fg_int_numbers[i] for i in range(FG_INT_COUNT)}


cdef void load_int_block(int64_t* dst, const int64_t* desc, char** bufs, int ndim,
                         const int64_t* shape, int64_t start, int64_t n) noexcept nogil:
    """Elements start.. of an integer kernel's operand as int64. desc: [dtype code (cast.h),
    buffer, strides...], or [-1, value] for a constant."""
    cdef int64_t idx[MAXDIM]
    cdef const int64_t* strides = desc + 2
    cdef int64_t off, i = 0, j, seg
    if desc[0] < 0:
        for j in range(n):
            dst[j] = desc[1]
        return
    off = start_offset(ndim, shape, strides, start, idx)
    while i < n:
        seg = run_length(ndim, shape, idx, n - i)
        fg_load_int(<int>desc[0], bufs[desc[1]] + off * fg_itemsize[desc[0]],
                    strides[ndim - 1], dst + i, seg)
        i += seg
        off = next_run(ndim, shape, strides, idx, off, seg, i < n)


cdef int run_int(const int64_t* ins, const Run* run) noexcept nogil:
    """One integer (or bool) elementwise operation, on int64 values: sums and products wrap
    modulo 2**64 and then modulo the result's size, as NumPy's do. ins: [op (FG_INT_OPS of
    vm_ops.h), result dtype code, result buffer, ndim, shape..., n_in, operand descriptions
    (load_int_block's, 2 + ndim each)*]."""
    cdef int op = <int>ins[0], ndim = <int>ins[3], k
    cdef const int64_t* shape = ins + 4
    cdef int n_in = <int>ins[4 + ndim]
    cdef const int64_t* desc = ins + 5 + ndim
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
            load_int_block(v[k], desc + k * (2 + ndim), bufs, ndim, shape, start, n)
        fg_int_op(op, r, a, b, c, n)
        fg_store_int(<int>ins[1], r, bufs[ins[2]] + start * fg_itemsize[ins[1]], n)
        start += n
    return DONE


cdef int run_int_reduce(const int64_t* ins, const Run* run) noexcept nogil:
    """An integer (or bool) sum, max or min, on int64 values: sums wrap like NumPy's. ins:
    [dtype code (cast.h: the operand's and the result's), kind (0 sum, 1 max, 2 min), src,
    dst, out_size, ndim, shape..., out_strides...]. NO_MEMORY if out of memory."""
    cdef int dtype = <int>ins[0], kind = <int>ins[1], ndim = <int>ins[5]
    cdef const int64_t* shape = ins + 6
    cdef const int64_t* strides = ins + 6 + ndim
    cdef int64_t total = shape_size(shape, ndim), size = ins[4], i = 0, j, k, seg, off
    cdef int64_t idx[MAXDIM]
    cdef int64_t v[BLOCK]
    cdef int64_t s = strides[ndim - 1]
    cdef char** bufs = run.bufs
    cdef int64_t* acc = <int64_t*>malloc((size if size > 0 else 1) * sizeof(int64_t))
    if acc == NULL:
        return NO_MEMORY
    for j in range(size):
        acc[j] = 0 if kind == 0 else (INT64_MIN if kind == 1 else INT64_MAX)
    off = start_offset(ndim, shape, strides, 0, idx)
    while i < total:
        seg = run_length(ndim, shape, idx, BLOCK)
        fg_load_int(dtype, bufs[ins[2]] + i * fg_itemsize[dtype], 1, v, seg)
        for k in range(seg):
            j = off + k * s
            if kind == 0:
                acc[j] = <int64_t>(<uint64_t>acc[j] + <uint64_t>v[k])
            elif kind == 1:
                acc[j] = v[k] if v[k] > acc[j] else acc[j]
            else:
                acc[j] = v[k] if v[k] < acc[j] else acc[j]
        i += seg
        off = next_run(ndim, shape, strides, idx, off, seg, i < total)
    fg_store_int(dtype, acc, bufs[ins[3]], size)
    free(acc)
    return DONE
