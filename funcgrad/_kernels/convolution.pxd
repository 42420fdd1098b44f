# Compiled 2-D convolutions and their gradients (convolution.pyx; NCHW activations, OIHW
# weights).
#
# The kernels take a ConvGeom filled in by geom_init (geometry.pxd), raw C-contiguous
# pointers and a caller-owned workspace of ws_size elements of their dtype
# (conv_workspace_size: one image's im2col buffer and the gradients' scratch per OpenMP
# thread; any size down to conv_workspace_min works, using fewer threads), so a training
# step allocates nothing per call. They return 0 on success and -1 when the geometry is
# invalid or the workspace is below the minimum; they never touch the GIL. Each call runs at
# most one OpenMP parallel region (threads own whole images, so results do not depend on
# scheduling); from inside it, BLAS calls stay below OpenBLAS's multithreading threshold
# unless funcgrad.threads holds BLAS to one thread (set_blas_threaded). Inside another
# parallel region (the executor's loops over images) a call stays on its thread.

from .geometry cimport ConvGeom
from .types cimport real

# The kernels (numbered by the instruction set: a conv instruction's kernel field)
cdef extern from "isa.h":
    enum:
        CONV_FORWARD
        CONV_INPUT_GRAD
        CONV_FILTER_GRAD

# Workspace elements (of the kernel's dtype) that kernel CONV_* wants for this geometry (one
# image per OpenMP thread, the thread setting at the time of the call), and the least it
# accepts (one image; the kernel then runs on the calling thread). -1: invalid geometry/kernel.
cdef Py_ssize_t conv_workspace_size(const ConvGeom* g, int kernel) noexcept nogil
cdef Py_ssize_t conv_workspace_min(const ConvGeom* g, int kernel) noexcept nogil

# kind (a CONV_* kernel), a and b its operands, out its result:
#   CONV_FORWARD:     out y (n, o, oh, ow) = conv(a x (n, c, h, w), b w (o, c, kh, kw))
#                     [+ bias (o,) when bias != NULL]
#   CONV_INPUT_GRAD:  out dx (n, c, h, w) [+]= VJP of conv2d w.r.t. x for cotangent
#                     a gy (n, o, oh, ow), b w
#   CONV_FILTER_GRAD: out dw (o, c, kh, kw) [+]= VJP of conv2d w.r.t. w, summed over the
#                     batch, from a x and b gy
# [+]=: added onto out if accumulate (the forward ignores it and bias is only its own).
cdef int conv_kernel(int kind, const ConvGeom* g, const real* a, const real* b,
                     const real* bias, real* out, real* ws, Py_ssize_t ws_size,
                     bint accumulate) noexcept nogil
