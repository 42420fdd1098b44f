# Float reductions (reduce.pyx). reduce_block is inline, compiled into each module that
# cimports it: the fused kernels (vm.pyx) call it on every block of a reduction, and the
# loops over images (images.pyx) and OP_REDUCE (here) use it too.

from libc.math cimport INFINITY
from libc.stdint cimport int64_t

from .isa cimport MAXDIM, REDUCE_MAX, REDUCE_MIN, REDUCE_SUM
from .state cimport Run
from .strided cimport next_run, run_length, start_offset
from .types cimport real

cdef extern from "vecmath.h":
    float fg_row_sum_f(const float* x, long n, float acc) nogil
    double fg_row_sum_d(const double* x, long n, double acc) nogil
    float fg_row_extreme_f(const float* x, long n, float acc, int sign) nogil
    double fg_row_extreme_d(const double* x, long n, double acc, int sign) nogil

# OP_REDUCE (fields: isa.py). A reduction's kind: REDUCE_SUM, REDUCE_MAX or REDUCE_MIN.
cdef int run_reduce(const int64_t* ins, const Run* run) noexcept nogil


cdef inline double reduce_identity(int kind) noexcept nogil:
    return 0 if kind == REDUCE_SUM else (-INFINITY if kind == REDUCE_MAX else INFINITY)


cdef inline void reduce_block(real* dst, const real* r, int kind, int ndim,
                              const int64_t* shape, const int64_t* strides, int64_t start,
                              int64_t n) noexcept nogil:
    """Accumulate block r (flat positions start..start+n of shape) into dst, whose element
    strides are 0 along the reduced dimensions. kind: REDUCE_KINDS (NaN wins max and min)."""
    cdef int64_t idx[MAXDIM]
    cdef int64_t off = start_offset(ndim, shape, strides, start, idx)
    cdef int64_t s = strides[ndim - 1], i = 0, j, seg
    cdef real acc, v
    while i < n:
        seg = run_length(ndim, shape, idx, n - i)
        if s == 0:  # a piece of a reduced row: into one output element
            acc = dst[off]
            if kind == REDUCE_SUM:
                if real is float:
                    acc = fg_row_sum_f(r + i, seg, acc)
                else:
                    acc = fg_row_sum_d(r + i, seg, acc)
            elif real is float:
                acc = fg_row_extreme_f(r + i, seg, acc, 1 if kind == REDUCE_MAX else -1)
            else:
                acc = fg_row_extreme_d(r + i, seg, acc, 1 if kind == REDUCE_MAX else -1)
            dst[off] = acc
        elif kind == REDUCE_SUM:  # a kept row: elementwise into the output row
            for j in range(seg):
                dst[off + j * s] += r[i + j]
        elif kind == REDUCE_MAX:
            for j in range(seg):
                v = r[i + j]
                if v > dst[off + j * s] or v != v:
                    dst[off + j * s] = v
        else:
            for j in range(seg):
                v = r[i + j]
                if v < dst[off + j * s] or v != v:
                    dst[off + j * s] = v
        i += seg
        off = next_run(ndim, shape, strides, idx, off, seg, i < n)
