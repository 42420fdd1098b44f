# The executor's matrix products (gemm.pyx).

from libc.stdint cimport int64_t

from .state cimport Run

# OP_GEMM: [a, b, c, trans_a, trans_b, M, N, K, batch, stride_a, stride_b, stride_c,
# is_double].
cdef int run_gemm(const int64_t* ins, const Run* run) noexcept nogil
# OP_GEMM_EPILOGUE: a GEMM's fields, then a fused kernel's (is_double, ...).
cdef int run_gemm_epilogue(const int64_t* ins, const Run* run) noexcept nogil
