# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Float sums, maxima and minima over axes (OP_REDUCE), walking the input in order.

reduce_block itself is inline in reduce.pxd (the fused kernels call it on every block);
this module has the instruction, one call per instruction."""

from libc.stdint cimport int64_t

from .state cimport DONE, Run
from .strided cimport shape_size
from .types cimport real

REDUCE_KINDS = {"sum": REDUCE_SUM, "max": REDUCE_MAX, "min": REDUCE_MIN}


cdef void reduce_axes(const real* src, real* dst, const int64_t* ins) noexcept nogil:
    """ins: [kind, src, dst, out_size, ndim, shape..., out_strides...]; out_strides are 0
    along reduced dimensions."""
    cdef int ndim = <int>ins[4]
    cdef int64_t total = shape_size(ins + 5, ndim), j
    for j in range(ins[3]):
        dst[j] = <real>reduce_identity(<int>ins[0])
    if total:
        reduce_block(dst, src, <int>ins[0], ndim, ins + 5, ins + 5 + ndim, 0, total)


cdef int run_reduce(const int64_t* ins, const Run* run) noexcept nogil:
    if ins[0]:
        reduce_axes(<double*>run.bufs[ins[2]], <double*>run.bufs[ins[3]], ins + 1)
    else:
        reduce_axes(<float*>run.bufs[ins[2]], <float*>run.bufs[ins[3]], ins + 1)
    return DONE
