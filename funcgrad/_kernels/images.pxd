# Convolution and pooling instructions, and loops over images (images.pyx).

from libc.stdint cimport int64_t

from .state cimport Run

# OP_CONV and OP_IMAGES (fields: isa.py; see run_images in images.pyx).
cdef int run_conv(const int64_t* ins, const Run* run) noexcept nogil
cdef int run_images(const int64_t* ins, const Run* run) noexcept nogil
