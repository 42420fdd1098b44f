# BLAS's GEMM over the fused type: one inline call, compiled into each module that cimports
# it (the executor's GEMMs in gemm.pyx, the convolutions in convolution.pyx).

from scipy.linalg.cython_blas cimport dgemm, sgemm

from .types cimport real


cdef inline void gemm(char* ta, char* tb, int m, int n, int k, const real* a, int lda,
                      const real* b, int ldb, real beta, real* c, int ldc) noexcept nogil:
    """Column-major C = op(A) @ op(B) + beta * C."""
    cdef real one = 1
    if real is float:
        sgemm(ta, tb, &m, &n, &k, &one, <float*>a, &lda, <float*>b, &ldb, &beta, c, &ldc)
    else:
        dgemm(ta, tb, &m, &n, &k, &one, <double*>a, &lda, <double*>b, &ldb, &beta, c, &ldc)
