# cython: language_level=3
"""The compiled kernels' thread settings (see threads.pxd); ``conv`` re-exports the Python
functions, which funcgrad.threads calls."""

# funcgrad's own setting: other libraries may change OpenMP's default. With 1, no OpenMP
# region is entered at all (what a forked child needs: GNU libgomp's pool does not survive
# fork, and a parallel region there waits forever for threads that do not exist).
cdef int _n_threads = 1
cdef bint _blas_threaded = True


def set_num_threads(int n):
    """Threads for the compiled kernels (conv, pooling, the executor's large GEMMs and
    elementwise kernels). Use :func:`funcgrad.set_num_threads`, which also keeps BLAS from
    starting threads of its own while funcgrad's run."""
    global _n_threads
    if n < 1:
        raise ValueError(f"the number of threads must be at least 1, got {n}")
    _n_threads = n


def get_num_threads():
    return _n_threads


def set_blas_threaded(bint threaded):
    """Whether BLAS may start threads of its own: if so, GEMMs issued from our threads are
    cut into pieces below its multithreading threshold (convolution.pyx's _gemm_pieces)."""
    global _blas_threaded
    _blas_threaded = threaded


cdef int num_threads() noexcept nogil:
    return _n_threads


cdef bint blas_threaded() noexcept nogil:
    return _blas_threaded
