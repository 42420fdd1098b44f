# The kernels' thread settings (threads.pyx). Their own extension module because they are
# state every kernel module reads: a C header would give each module a copy of its own.
# Read once per kernel call or per instruction, never in an inner loop.

from libc.stdint cimport int64_t
from openmp cimport omp_in_parallel

# Threads the kernels use (funcgrad's setting, not OpenMP's default, which other libraries
# in the process may change); set from Python with set_num_threads.
cdef int num_threads() noexcept nogil
# False while funcgrad.threads holds BLAS to one thread (set_blas_threaded).
cdef bint blas_threaded() noexcept nogil


cdef inline int max_threads() noexcept nogil:
    """Threads a kernel may start: 1 inside another parallel region (the executor's loops
    over images give each thread its own images, and nested regions only add overhead)."""
    return 1 if omp_in_parallel() else num_threads()


cdef inline int threads_for(double work, double minimum, int64_t pieces,
                            int t) noexcept nogil:
    """OpenMP threads, at most t, worth using for ``work`` split into at most ``pieces`` parts.
    (t is the count a run allocated registers for: the setting may change meanwhile.)"""
    if t <= 1 or work < minimum or pieces < 2:
        return 1
    return <int>pieces if pieces < t else t
