# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Softmax-family row kernels (see softmax.pxd): one read of each row from memory, the max,
exp-sum and outputs computed while it is in cache."""

from cython.parallel cimport prange
from libc.stdint cimport int64_t

from .types cimport real

cdef extern from "softmax.h":
    int FG_SOFTMAX_COLS
    void fg_softmax_row_f(int kind, const float* x, float* y, long n) nogil
    void fg_softmax_row_d(int kind, const double* x, double* y, long n) nogil
    void fg_softmax_cols_f(int kind, const float* x, float* y, long n, long inner,
                           long w) nogil
    void fg_softmax_cols_d(int kind, const double* x, double* y, long n, long inner,
                           long w) nogil


cdef inline void _task(int kind, const real* x, real* y, int64_t n, int64_t inner,
                       int64_t chunks, int64_t u) noexcept nogil:
    """Task u: row u (inner == 1), or column chunk u % chunks of slab u // chunks."""
    cdef int64_t o, i0, w
    if inner == 1:
        if real is float:
            fg_softmax_row_f(kind, x + u * n, y + (u if kind == SOFTMAX_LSE else u * n), n)
        else:
            fg_softmax_row_d(kind, x + u * n, y + (u if kind == SOFTMAX_LSE else u * n), n)
        return
    o = u // chunks
    i0 = (u % chunks) * FG_SOFTMAX_COLS
    w = inner - i0 if inner - i0 < FG_SOFTMAX_COLS else FG_SOFTMAX_COLS
    x = x + o * n * inner + i0
    y = y + (o * inner + i0 if kind == SOFTMAX_LSE else o * n * inner + i0)
    if real is float:
        fg_softmax_cols_f(kind, x, y, n, inner, w)
    else:
        fg_softmax_cols_d(kind, x, y, n, inner, w)


cdef void softmax_rows(int kind, const real* x, real* y, int64_t outer, int64_t n,
                       int64_t inner, int threads) noexcept nogil:
    cdef int64_t chunks = 1 if inner == 1 else (inner + FG_SOFTMAX_COLS - 1) // FG_SOFTMAX_COLS
    cdef int64_t tasks = outer * chunks, u
    cdef int nt = threads
    if outer == 0 or inner == 0:
        return
    if nt > tasks:
        nt = <int>tasks
    if nt <= 1:
        for u in range(tasks):
            _task(kind, x, y, n, inner, chunks, u)
        return
    for u in prange(tasks, schedule="static", num_threads=nt):
        _task(kind, x, y, n, inner, chunks, u)

