# Convolution and pooling instructions, and loops over images (images.pyx).

from libc.stdint cimport int64_t

from .state cimport Run

# OP_CONV: [kernel (CONV_KERNELS), is_double, n, c, h, w, o, kh, kw, sh, sw, pt, pb, pl, pr,
# dh, dw, a, b, out, workspace, workspace_size].
cdef int run_conv(const int64_t* ins, const Run* run) noexcept nogil
# OP_IMAGES: see run_images in images.pyx.
cdef int run_images(const int64_t* ins, const Run* run) noexcept nogil
