from libc.stdint cimport uint8_t

# Compiled 2-D convolution and pooling kernels (NCHW activations, OIHW weights).
#
# Every kernel takes a ConvGeom filled in by geom_init and raw C-contiguous pointers; the
# GEMM-based convolutions also take a caller-owned workspace of ws_size elements of their dtype
# (conv_workspace_size: one image's im2col buffer and the gradients' scratch per OpenMP thread;
# any size down to conv_workspace_min works, using fewer threads), so a training step allocates
# nothing per call.
# Kernels return 0 on success and -1 when the geometry is invalid or the workspace is below the
# minimum; they never touch the GIL. The float32 and float64 variants share one fused
# implementation in conv.pyx. Each call runs at most one OpenMP parallel region (threads own
# whole images or planes, so results do not depend on scheduling); from inside it, BLAS calls
# stay below OpenBLAS's multithreading threshold unless funcgrad.threads holds BLAS to one
# thread (set_blas_threaded). Do not call these kernels from inside another parallel region.

# Threads the kernels use (funcgrad's setting, not OpenMP's default, which other libraries
# in the process may change); set from Python with set_num_threads.
cdef int num_threads() noexcept nogil

cdef enum:
    CONV_FORWARD = 0
    CONV_INPUT_GRAD = 1
    CONV_FILTER_GRAD = 2

cdef struct ConvGeom:
    # Input (n, c, h, w); output channels o (pooling: ignored, output has c channels).
    Py_ssize_t n, c, h, w, o
    # Window, stride, padding (top, bottom, left, right) and dilation.
    Py_ssize_t kh, kw, sh, sw, pt, pb, pl, pr, dh, dw
    # Output height and width, set by geom_init.
    Py_ssize_t oh, ow

# Validates the fields above (sizes >= 0, window/stride/dilation >= 1, padding >= 0, dilated
# window within the padded input, BLAS dimensions within int range) and sets oh, ow.
cdef int geom_init(ConvGeom* g) noexcept nogil

# Workspace elements (of the kernel's dtype) that kernel CONV_* wants for this geometry (one
# image per OpenMP thread, omp_get_max_threads() at the time of the call), and the least it
# accepts (one image; the kernel then runs on the calling thread). -1: invalid geometry/kernel.
cdef Py_ssize_t conv_workspace_size(const ConvGeom* g, int kernel) noexcept nogil
cdef Py_ssize_t conv_workspace_min(const ConvGeom* g, int kernel) noexcept nogil

# y (n, o, oh, ow) = conv(x (n, c, h, w), w (o, c, kh, kw)) [+ bias (o,) when bias != NULL].
cdef int conv2d_forward_f32(const ConvGeom* g, const float* x, const float* w,
                            const float* bias, float* y,
                            float* ws, Py_ssize_t ws_size) noexcept nogil
cdef int conv2d_forward_f64(const ConvGeom* g, const double* x, const double* w,
                            const double* bias, double* y,
                            double* ws, Py_ssize_t ws_size) noexcept nogil

# dx (n, c, h, w) [+]= VJP of conv2d w.r.t. x for cotangent gy (n, o, oh, ow).
cdef int conv2d_input_grad_f32(const ConvGeom* g, const float* gy, const float* w, float* dx,
                               float* ws, Py_ssize_t ws_size, bint accumulate) noexcept nogil
cdef int conv2d_input_grad_f64(const ConvGeom* g, const double* gy, const double* w,
                               double* dx, double* ws, Py_ssize_t ws_size,
                               bint accumulate) noexcept nogil

# dw (o, c, kh, kw) [+]= VJP of conv2d w.r.t. w, summed over the batch.
cdef int conv2d_filter_grad_f32(const ConvGeom* g, const float* x, const float* gy, float* dw,
                                float* ws, Py_ssize_t ws_size, bint accumulate) noexcept nogil
cdef int conv2d_filter_grad_f64(const ConvGeom* g, const double* x, const double* gy,
                                double* dw, double* ws, Py_ssize_t ws_size,
                                bint accumulate) noexcept nogil

# Pooling (g.dh == g.dw == 1; g.o is ignored). y and t-shaped outputs are (n, c, oh, ow).
# Padding counts as -inf for max and 0 for avg (count_include_pad); ties and NaNs pick the
# first window slot in row-major order, exactly like numpy.argmax over the im2col window.
cdef int max_pool2d_f32(const ConvGeom* g, const float* x, float* y) noexcept nogil
cdef int max_pool2d_f64(const ConvGeom* g, const double* x, double* y) noexcept nogil
cdef int max_pool2d_select_f32(const ConvGeom* g, const float* x, const float* t,
                               float* y) noexcept nogil
cdef int max_pool2d_select_f64(const ConvGeom* g, const double* x, const double* t,
                               double* y) noexcept nogil
cdef int max_pool2d_scatter_f32(const ConvGeom* g, const float* x, const float* gy, float* dx,
                                bint accumulate) noexcept nogil
cdef int max_pool2d_scatter_f64(const ConvGeom* g, const double* x, const double* gy,
                                double* dx, bint accumulate) noexcept nogil
# max_pool2d that also writes each window's first argmax as a byte, the slot i * kw + j (255:
# only padding; needs kh * kw <= 255), and the scatter from those slots (x is not read again).
cdef int max_pool2d_index_f32(const ConvGeom* g, const float* x, float* y,
                              uint8_t* index) noexcept nogil
cdef int max_pool2d_index_f64(const ConvGeom* g, const double* x, double* y,
                              uint8_t* index) noexcept nogil
cdef int max_pool2d_scatter_index_f32(const ConvGeom* g, const uint8_t* index, const float* gy,
                                      float* dx, bint accumulate) noexcept nogil
cdef int max_pool2d_scatter_index_f64(const ConvGeom* g, const uint8_t* index,
                                      const double* gy, double* dx,
                                      bint accumulate) noexcept nogil
cdef int avg_pool2d_f32(const ConvGeom* g, const float* x, float* y) noexcept nogil
cdef int avg_pool2d_f64(const ConvGeom* g, const double* x, double* y) noexcept nogil
cdef int avg_pool2d_transpose_f32(const ConvGeom* g, const float* gy, float* dx,
                                  bint accumulate) noexcept nogil
cdef int avg_pool2d_transpose_f64(const ConvGeom* g, const double* gy, double* dx,
                                  bint accumulate) noexcept nogil
