# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Float sums, maxima and minima over axes (OP_REDUCE), walking the input in order.

reduce_block itself is inline in reduce.pxd (the fused kernels call it on every block);
this module has the instruction, one call per instruction."""

from libc.stdint cimport int64_t

from .isa cimport (
    REDUCE_DST, REDUCE_IS_DOUBLE, REDUCE_KIND, REDUCE_NDIM, REDUCE_OUT_SIZE, REDUCE_SHAPE,
    REDUCE_SRC,
)
from .state cimport DONE, Run
from .strided cimport shape_size
from .types cimport real

REDUCE_KINDS = {"sum": REDUCE_SUM, "max": REDUCE_MAX, "min": REDUCE_MIN}


cdef void reduce_axes(const real* src, real* dst, const int64_t* ins) noexcept nogil:
    """An OP_REDUCE's; its out_strides are 0 along reduced dimensions."""
    cdef int ndim = <int>ins[REDUCE_NDIM], kind = <int>ins[REDUCE_KIND]
    cdef const int64_t* shape = ins + REDUCE_SHAPE
    cdef int64_t total = shape_size(shape, ndim), j
    for j in range(ins[REDUCE_OUT_SIZE]):
        dst[j] = <real>reduce_identity(kind)
    if total:
        reduce_block(dst, src, kind, ndim, shape, shape + ndim, 0, total)


cdef int run_reduce(const int64_t* ins, const Run* run) noexcept nogil:
    cdef char* src = run.bufs[ins[REDUCE_SRC]]
    cdef char* dst = run.bufs[ins[REDUCE_DST]]
    if ins[REDUCE_IS_DOUBLE]:
        reduce_axes(<double*>src, <double*>dst, ins)
    else:
        reduce_axes(<float*>src, <float*>dst, ins)
    return DONE
