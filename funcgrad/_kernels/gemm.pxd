# The executor's matrix products (gemm.pyx).

from libc.stdint cimport int64_t

from .state cimport Run

# OP_GEMM and OP_GEMM_EPILOGUE (fields: isa.py).
cdef int run_gemm(const int64_t* ins, const Run* run) noexcept nogil
cdef int run_gemm_epilogue(const int64_t* ins, const Run* run) noexcept nogil
