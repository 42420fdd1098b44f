# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The executor: one loop over a program's instructions, run without the GIL.

A program is a flat int64 array of instructions (each starts with its length and opcode)
over numbered buffers, plus a float64 array of constants. The Python side
(``funcgrad/compiler/lower.py``) builds it; this module only runs it. Instructions that
have no compiled kernel call back into Python (the NumPy reference) with the GIL held.
"""

cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport INFINITY
from libc.stdint cimport INT64_MAX, INT64_MIN, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec
from scipy.linalg.cython_blas cimport dgemm, sgemm

from .conv cimport (
    ConvGeom, avg_pool2d_f32, avg_pool2d_f64, avg_pool2d_transpose_f32,
    avg_pool2d_transpose_f64, conv2d_filter_grad_f32, conv2d_filter_grad_f64,
    conv2d_forward_f32, conv2d_forward_f64, conv2d_input_grad_f32, conv2d_input_grad_f64,
    geom_init, max_pool2d_f32, max_pool2d_f64, max_pool2d_index_f32, max_pool2d_index_f64,
    max_pool2d_scatter_f32, max_pool2d_scatter_f64, max_pool2d_scatter_index_f32,
    max_pool2d_scatter_index_f64, max_pool2d_select_f32, max_pool2d_select_f64, num_threads,
)
from .softmax cimport (
    SOFTMAX_LOG, SOFTMAX_LSE, SOFTMAX_PROB, softmax_rows_f32, softmax_rows_f64,
)

import numpy as np

cnp.import_array()

# Opcodes of instructions (keep in sync with funcgrad/compiler/lower.py).
cdef enum:
    OP_GEMM = 1
    OP_FUSED = 2
    OP_REDUCE = 3
    OP_COPY = 4
    OP_FILL = 5
    OP_PYTHON = 6
    OP_GATHER = 7
    OP_SCATTER_ADD = 8
    OP_CONV = 9
    OP_GEMM_EPILOGUE = 10
    OP_SOFTMAX = 11
    OP_IMAGES = 12
    OP_RANDOM_BITS = 13
    OP_CAST = 14
    OP_INT = 15
    OP_ARGMAX = 16
    OP_INT_REDUCE = 17


# The elementwise operations of fused and integer kernels: their numbers and their C
# live in one table, vm_ops.h, which the compiler reads too (funcgrad/compiler/isa.py).
cdef extern from "vm_ops.h":
    enum:
        FG_VM_LOAD
        FG_VM_CONST
        FG_VM_REDUCE
    int fg_vm_f(int op, float* r, const float* a, const float* b, const float* c,
                long n) nogil
    int fg_vm_d(int op, double* r, const double* a, const double* b, const double* c,
                long n) nogil
    int fg_int_op(int op, int64_t* r, const int64_t* a, const int64_t* b, const int64_t* c,
                  long n) nogil
    const char** fg_vm_names
    const int* fg_vm_numbers
    const char** fg_int_names
    const int* fg_int_numbers
    int FG_VM_COUNT, FG_INT_COUNT


# Whole-kernel templates (keep in sync with funcgrad/compiler/templates.py).
cdef enum:
    T_NONE = 0
    T_ACTIVATION = 1
    T_ACTIVATION_GRAD = 2


cdef enum:
    BLOCK = 1024
    MAXDIM = 8

# Work below which an instruction stays on the calling thread. Waking a thread costs a few
# microseconds on an idle machine but up to a scheduler time slice when another process
# holds the core: splitting the mlp benchmark's GEMMs (1.3e7 M*N*K) and parameter updates
# (1e5 elements) made its step 4x slower under load for a 3% gain when idle.
cdef int64_t FUSED_PAR_MIN = 262144  # elements
cdef int64_t L1_BYTES = 32768  # (of 48 KB here: room for the inputs read in place)
cdef double GEMM_PAR_MIN = 2.0 ** 25  # M*N*K


cdef struct RegFile:
    # A run's fused-kernel registers: per thread n_regs blocks of BLOCK values (doubles, or
    # floats in the same bytes) and n_regs pointers to the values each register holds now.
    double* regs
    void** ptrs
    int64_t n_regs
    int max_threads  # the threads they were allocated for


cdef inline int threads_for(double work, double minimum, int64_t pieces,
                            int t) noexcept nogil:
    """OpenMP threads, at most t, worth using for ``work`` split into at most ``pieces`` parts.
    (t is the count a run allocated registers for: the setting may change meanwhile.)"""
    if t <= 1 or work < minimum or pieces < 2:
        return 1
    return <int>pieces if pieces < t else t


cdef inline int64_t shape_size(const int64_t* shape, int ndim) noexcept nogil:
    """The number of elements of a shape."""
    cdef int64_t total = 1
    cdef int d
    for d in range(ndim):
        total *= shape[d]
    return total



cdef extern from *:
    """
    /* Loops written in plain C so that GCC vectorizes them. In Cython a conditional
       expression keeps its branch, which mispredicts on half the elements of random data;
       here both operands are loaded first and the choice becomes a blend. */
    /* act(x + bias) and its mask, in type T; the bias is the expression B of j (r, m, x,
       slope, leaky and n in scope) */
    #define FG_ACTIVATION_LOOPS(T, B)                                                       \
        if (leaky) {                                                                        \
            _Pragma("GCC ivdep")                                                            \
            for (long j = 0; j < n; j++) {                                                  \
                T s = x[j] + (B); r[j] = s > 0 ? s : s * slope; m[j] = s > 0;               \
            }                                                                               \
        } else {                                                                            \
            _Pragma("GCC ivdep")                                                            \
            for (long j = 0; j < n; j++) {                                                  \
                T s = x[j] + (B); r[j] = s > 0 ? s : 0; m[j] = s > 0;                       \
            }                                                                               \
        }
    #define FG_LOOPS(T, S)                                                                  \
    /* The templates (compiler/templates.py), one pass each. r may be x or g itself (a     \
       kernel overwriting a dying operand): each element is read before it is written. */   \
    static void fg_activation_##S(T *r, uint8_t *m, const T *x, const T *b, T slope,       \
                                  int leaky, long n) {                                      \
        FG_ACTIVATION_LOOPS(T, b[j])                                                        \
    }                                                                                       \
    /* the same with one bias value for the whole run (a per-channel bias is constant     \
       along a plane): no block of bias values to fill first */                             \
    static void fg_activation_run_##S(T *r, uint8_t *m, const T *x, T b, T slope,          \
                                      int leaky, long n) {                                  \
        FG_ACTIVATION_LOOPS(T, b)                                                           \
    }                                                                                       \
    static void fg_activation_grad_##S(T *r, const uint8_t *m, const T *g, T slope,        \
                                       int leaky, long n) {                                 \
        if (leaky) {                                                                        \
            _Pragma("GCC ivdep")                                                            \
            for (long j = 0; j < n; j++) { T v = g[j]; r[j] = m[j] ? v : v * slope; }       \
        } else {                                                                            \
            _Pragma("GCC ivdep")                                                            \
            for (long j = 0; j < n; j++) { T v = g[j]; r[j] = m[j] ? v : 0; }               \
        }                                                                                   \
    }
    FG_LOOPS(float, f)
    FG_LOOPS(double, d)

    """
    void fg_activation_f(float* r, uint8_t* m, const float* x, const float* b, float slope,
                         int leaky, long n) nogil
    void fg_activation_d(double* r, uint8_t* m, const double* x, const double* b,
                         double slope, int leaky, long n) nogil
    void fg_activation_run_f(float* r, uint8_t* m, const float* x, float b, float slope,
                             int leaky, long n) nogil
    void fg_activation_run_d(double* r, uint8_t* m, const double* x, double b, double slope,
                             int leaky, long n) nogil
    void fg_activation_grad_f(float* r, const uint8_t* m, const float* g, float slope,
                              int leaky, long n) nogil
    void fg_activation_grad_d(double* r, const uint8_t* m, const double* g, double slope,
                              int leaky, long n) nogil


cdef extern from "threefry.h":
    int FG_BITS_U32, FG_BITS_F32, FG_BITS_F64
    void fg_random_bits(int kind, uint32_t k0, uint32_t k1, const uint32_t* counters, void* out,
                        long lo, long hi) nogil


cdef extern from "cast.h":
    int FG_BOOL, FG_INT8, FG_UINT8, FG_INT16, FG_UINT16, FG_INT32, FG_UINT32, FG_INT64
    int FG_UINT64, FG_FLOAT32, FG_FLOAT64
    int fg_cast(int from_, int to, const void* src, void* dst, long lo, long hi) nogil
    void fg_load_int(int from_, const void* src, long stride, int64_t* dst, long n) nogil
    void fg_store_int(int to, const int64_t* src, void* dst, long n) nogil


cdef extern from "vecmath.h":
    void fg_exp_f(float* y, const float* x, float shift, long n) nogil
    void fg_exp_d(double* y, const double* x, double shift, long n) nogil
    float fg_row_sum_f(const float* x, long n, float acc) nogil
    double fg_row_sum_d(const double* x, long n, double acc) nogil
    float fg_row_extreme_f(const float* x, long n, float acc, int sign) nogil
    double fg_row_extreme_d(const double* x, long n, double acc, int sign) nogil


ctypedef unsigned int uint32_like
ctypedef unsigned long long uint64_like

ctypedef fused real:
    float
    double


# ---------------------------------------------------------------- strided walking


cdef inline int64_t start_offset(int ndim, const int64_t* shape, const int64_t* strides,
                                 int64_t start, int64_t* idx) noexcept nogil:
    """Multi-index (into idx) and element offset of flat position ``start``."""
    cdef int d
    cdef int64_t off = 0
    for d in range(ndim - 1, -1, -1):
        idx[d] = start % shape[d]
        start //= shape[d]
        off += idx[d] * strides[d]
    return off


cdef inline int64_t advance(int ndim, const int64_t* shape, const int64_t* strides,
                            int64_t* idx, int64_t off) noexcept nogil:
    """Carry a finished innermost row into the outer dimensions; returns the new offset."""
    cdef int d = ndim - 1
    off -= shape[d] * strides[d]
    idx[d] = 0
    d -= 1
    while d >= 0:
        idx[d] += 1
        off += strides[d]
        if idx[d] < shape[d]:
            return off
        off -= shape[d] * strides[d]
        idx[d] = 0
        d -= 1
    return off


cdef inline int64_t run_length(int ndim, const int64_t* shape, const int64_t* idx,
                               int64_t most) noexcept nogil:
    """Elements from idx to the end of its innermost row, at most ``most``."""
    cdef int64_t seg = shape[ndim - 1] - idx[ndim - 1]
    return seg if seg < most else most


cdef inline int64_t next_run(int ndim, const int64_t* shape, const int64_t* strides,
                             int64_t* idx, int64_t off, int64_t seg, bint more) noexcept nogil:
    """idx and its offset (returned) moved past a run of ``seg`` elements along the innermost
    row, and on into the next row when that row is done and ``more`` elements follow."""
    idx[ndim - 1] += seg
    off += seg * strides[ndim - 1]
    if idx[ndim - 1] == shape[ndim - 1] and more:
        off = advance(ndim, shape, strides, idx, off)
    return off


cdef inline void fill_value(real* dst, real v, int64_t n) noexcept nogil:
    cdef int64_t j
    for j in range(n):
        dst[j] = v


cdef void load_block(real* dst, const char* base, int is_bool, int ndim, const int64_t* shape,
                     const int64_t* strides, int64_t start, int64_t n) noexcept nogil:
    cdef int64_t idx[MAXDIM]
    cdef int64_t off = start_offset(ndim, shape, strides, start, idx)
    cdef int64_t s = strides[ndim - 1], i = 0, j, seg
    cdef const real* p
    cdef const uint8_t* q
    while i < n:
        seg = run_length(ndim, shape, idx, n - i)
        if is_bool:
            q = <const uint8_t*>base + off
            if s == 1:  # (a loop GCC vectorizes; the strided one below it does not)
                for j in range(seg):
                    dst[i + j] = q[j]
            else:
                for j in range(seg):
                    dst[i + j] = q[j * s]
        else:
            p = <const real*>base + off
            if s == 1:
                memcpy(dst + i, p, seg * sizeof(real))
            elif s == 0:  # broadcast along the row (a bias): a fill, which vectorizes
                fill_value(dst + i, p[0], seg)
            else:
                for j in range(seg):
                    dst[i + j] = p[j * s]
        i += seg
        off = next_run(ndim, shape, strides, idx, off, seg, i < n)


# ---------------------------------------------------------------- fused elementwise


cdef void reduce_block(real* dst, const real* r, int kind, int ndim, const int64_t* shape,
                       const int64_t* strides, int64_t start, int64_t n) noexcept nogil:
    """Accumulate block r (flat positions start..start+n of shape) into dst, whose element
    strides are 0 along the reduced dimensions. kind: 0 sum, 1 max, 2 min (NaN wins)."""
    cdef int64_t idx[MAXDIM]
    cdef int64_t off = start_offset(ndim, shape, strides, start, idx)
    cdef int64_t s = strides[ndim - 1], i = 0, j, seg
    cdef real acc, v
    while i < n:
        seg = run_length(ndim, shape, idx, n - i)
        if s == 0:  # a piece of a reduced row: into one output element
            acc = dst[off]
            if kind == 0:
                if real is float:
                    acc = fg_row_sum_f(r + i, seg, acc)
                else:
                    acc = fg_row_sum_d(r + i, seg, acc)
            elif real is float:
                acc = fg_row_extreme_f(r + i, seg, acc, 1 if kind == 1 else -1)
            else:
                acc = fg_row_extreme_d(r + i, seg, acc, 1 if kind == 1 else -1)
            dst[off] = acc
        elif kind == 0:  # a kept row: elementwise into the output row
            for j in range(seg):
                dst[off + j * s] += r[i + j]
        elif kind == 1:
            for j in range(seg):
                v = r[i + j]
                if v > dst[off + j * s] or v != v:
                    dst[off + j * s] = v
        else:
            for j in range(seg):
                v = r[i + j]
                if v < dst[off + j * s] or v != v:
                    dst[off + j * s] = v
        i += seg
        off = next_run(ndim, shape, strides, idx, off, seg, i < n)


cdef inline double reduce_identity(int kind) noexcept nogil:
    return 0 if kind == 0 else (-INFINITY if kind == 1 else INFINITY)


cdef void run_fused(real* regs, const RegFile* rf, const int64_t* ins, const double* consts,
                    char** bufs) noexcept nogil:
    """A fused kernel. Large ones are split among OpenMP threads by contiguous runs of blocks,
    each thread with its own registers; reductions then accumulate into per-thread partial
    results, combined in thread order (deterministic for a given number of threads)."""
    cdef int ndim = <int>ins[0], k, nt, t
    cdef int64_t total = shape_size(ins + 1, ndim), j, nblocks, red_size = 0, size
    cdef const int64_t* p = ins + 1 + ndim
    p = p + 1 + p[0] * (2 + ndim)  # past the inputs
    p = p + 1 + p[0] * 3  # past the outputs, to the reductions
    cdef int n_red = <int>p[0]
    cdef const int64_t* red = p + 1  # n_red * (buf, kind, size, strides...)
    for k in range(n_red):
        red_size += red[k * (3 + ndim) + 2]
    nblocks = (total + BLOCK - 1) // BLOCK
    nt = threads_for(<double>total, FUSED_PAR_MIN, nblocks, rf.max_threads)
    cdef real* partial = NULL
    if nt > 1 and n_red > 0:
        # Partial results must stay small next to the work (a sum over rows, not columns).
        if red_size * nt * 16 <= total:
            partial = <real*>malloc(red_size * nt * sizeof(real))
        if partial == NULL:
            nt = 1
    cdef int64_t one = 1
    if nt == 1:
        init_reductions(<real*>NULL, red, n_red, ndim, bufs)
        run_fused_range(regs, <real**>rf.ptrs, ins, consts, bufs, 0, total, NULL)
        return
    for t in prange(nt, num_threads=nt, schedule="static"):
        if n_red > 0:
            init_reductions(partial + t * red_size, red, n_red, ndim, bufs)
        run_fused_range(regs + t * rf.n_regs * BLOCK, <real**>rf.ptrs + t * rf.n_regs, ins,
                        consts, bufs, t * nblocks // nt * BLOCK,
                        (t + 1) * nblocks // nt * BLOCK, partial + t * red_size if n_red else NULL)
    if n_red == 0:
        return
    # Thread t's results, in thread order, reduced into thread 0's (the same reduction, over
    # the thread axis), then copied out.
    for t in range(1, nt):
        size = 0
        for k in range(n_red):
            j = red[k * (3 + ndim) + 2]
            if j > 0:
                reduce_block(partial + size, partial + t * red_size + size,
                             <int>red[k * (3 + ndim) + 1], 1, &j, &one, 0, j)
            size += j
    size = 0
    for k in range(n_red):
        j = red[k * (3 + ndim) + 2]
        memcpy(bufs[red[k * (3 + ndim)]], partial + size, j * sizeof(real))
        size += j
    free(partial)


cdef void init_reductions(real* partial, const int64_t* red, int n_red, int ndim,
                          char** bufs) noexcept nogil:
    """Reductions' results start from their identity: in their buffers, or, if ``partial`` is
    given, in it (one after the other)."""
    cdef int k
    cdef int64_t j, size = 0
    cdef real* dst
    for k in range(n_red):
        dst = <real*>bufs[red[k * (3 + ndim)]] if partial == NULL else partial + size
        for j in range(red[k * (3 + ndim) + 2]):
            dst[j] = <real>reduce_identity(<int>red[k * (3 + ndim) + 1])
        size += red[k * (3 + ndim) + 2]


cdef inline void reduce_into(int k, const int64_t* red_desc, const real* r, int ndim,
                             const int64_t* shape, char** bufs, real* partial, int64_t start,
                             int64_t n) noexcept nogil:
    """Reduction number k of a fused kernel accumulates block r (its elements start..)."""
    cdef const int64_t* desc = red_desc + k * (3 + ndim)
    cdef real* dst = <real*>bufs[desc[0]]
    cdef int j
    if partial != NULL:
        dst = partial
        for j in range(k):  # past the results before this one
            dst += red_desc[j * (3 + ndim) + 2]
    reduce_block(dst, r, <int>desc[1], ndim, shape, desc + 3, start, n)


cdef void activation_runs(real* out, uint8_t* mask, const real* x, const real* bias, int ndim,
                          const int64_t* shape, const int64_t* strides, int64_t start,
                          int64_t n, real slope, int leaky) noexcept nogil:
    """The activation template on elements [start, start + n) when the bias is constant along
    the innermost dimension (strides[ndim - 1] == 0): one call per run of it, with its bias
    value."""
    cdef int64_t idx[MAXDIM]
    cdef int64_t off = start_offset(ndim, shape, strides, start, idx)
    cdef int64_t i = 0, seg
    while i < n:
        seg = run_length(ndim, shape, idx, n - i)
        if real is float:
            fg_activation_run_f(out + i, mask + i, x + i, bias[off], slope, leaky, seg)
        else:
            fg_activation_run_d(out + i, mask + i, x + i, bias[off], slope, leaky, seg)
        i += seg
        off = next_run(ndim, shape, strides, idx, off, seg, i < n)


cdef bint run_template_range(real* regs, const int64_t* t, int ndim, const int64_t* shape,
                             const int64_t* in_desc, const int64_t* out_desc, int n_red,
                             const int64_t* red_desc, const double* consts, char** bufs,
                             int64_t lo, int64_t hi, real* partial,
                             int64_t span) noexcept nogil:
    """Elements [lo, hi) of a fused kernel (parsed by run_fused_range; t its template), in
    one pass per span of elements (<= BLOCK): False (nothing done) if it has no template, or
    if its operands are not laid out for it."""
    cdef int kind = <int>t[0], k
    cdef const int64_t* a = in_desc + t[1] * (2 + ndim)
    cdef const int64_t* b = in_desc + t[2] * (2 + ndim)
    cdef int leaky = t[3] >= 0
    cdef real slope = <real>consts[t[3]] if leaky else 0
    cdef uint8_t* mask = <uint8_t*>(regs + BLOCK)  # (a bool output no one reads)
    cdef real* bias = regs
    cdef real* out
    cdef int64_t start, n
    if kind == T_NONE or a[1] != 2 or (kind == T_ACTIVATION_GRAD and b[1] != 3):
        return False
    if kind == T_ACTIVATION and t[2] < 0:  # no bias: add zeros
        fill_value(regs, <real>0, BLOCK)
    start = lo
    while start < hi:
        n = min(hi - start, span)
        out = <real*>bufs[out_desc[3 * t[4]]] + start
        if kind == T_ACTIVATION:
            if t[5] >= 0:
                mask = <uint8_t*>bufs[out_desc[3 * t[5]]] + start
            if t[2] >= 0 and b[1] != 2 and b[1 + ndim] == 0:  # bias constant along rows
                activation_runs(out, mask, <real*>bufs[a[0]] + start, <real*>bufs[b[0]],
                                ndim, shape, b + 2, start, n, slope, leaky)
            else:
                if t[2] >= 0 and b[1] == 2:
                    bias = <real*>bufs[b[0]] + start
                elif t[2] >= 0:
                    load_block(regs, bufs[b[0]], 0, ndim, shape, b + 2, start, n)
                if real is float:
                    fg_activation_f(out, mask, <float*>bufs[a[0]] + start, bias, slope, leaky,
                                    n)
                else:
                    fg_activation_d(out, mask, <double*>bufs[a[0]] + start, bias, slope, leaky,
                                    n)
        else:
            mask = <uint8_t*>bufs[b[0]] + start
            if real is float:
                fg_activation_grad_f(out, mask, <float*>bufs[a[0]] + start, slope, leaky, n)
            else:
                fg_activation_grad_d(out, mask, <double*>bufs[a[0]] + start, slope, leaky, n)
        for k in range(n_red):  # (of the result: templates.py sees to it)
            reduce_into(k, red_desc, out, ndim, shape, bufs, partial, start, n)
        start += n
    return True


cdef void run_fused_range(real* regs, real** rp, const int64_t* ins, const double* consts,
                          char** bufs, int64_t lo, int64_t hi, real* partial) noexcept nogil:
    """Elements [lo, hi) (flat positions of the shape), block by block, of a fused kernel.
    ins: [ndim, shape..., n_in, (buf, is_bool, strides...)*, n_out, (buf, is_bool, reg)*,
    n_red, (buf, kind, size, strides...)*, n_code, (op, dst, a, b, c)*, template (kind, a, b,
    slope's constant, result output, mask output)]. Reductions accumulate into their buffers,
    or, if ``partial`` is given, into it (results one after the other).

    rp[i] is where register i's block is: its own storage in regs, or, for an input loaded
    from a buffer laid out like the iteration (input flag 2; 3 for bools), that buffer itself
    (no copy). A kernel with a template runs as one loop instead (run_template_range)."""
    cdef int ndim = <int>ins[0]
    cdef const int64_t* shape = ins + 1
    cdef int64_t total = shape_size(shape, ndim)
    cdef int k
    cdef const int64_t* p = ins + 1 + ndim
    cdef int n_in = <int>p[0]
    cdef const int64_t* in_desc = p + 1
    p = in_desc + n_in * (2 + ndim)
    cdef int n_out = <int>p[0]
    cdef const int64_t* out_desc = p + 1
    p = out_desc + 3 * n_out
    cdef const int64_t* red_desc = p + 1
    cdef int n_red = <int>p[0]
    p = red_desc + n_red * (3 + ndim)
    cdef int n_code = <int>p[0]
    cdef const int64_t* code = p + 1
    cdef int64_t start, n, j
    cdef int op
    cdef real* r
    cdef real* a
    cdef real* b
    cdef real* c
    cdef const int64_t* desc
    cdef uint8_t* q
    cdef real cv
    if hi > total:
        hi = total
    cdef int64_t span = BLOCK, used = 0
    for k in range(n_code):  # a register's values live in its own block unless loaded in place
        if code[5 * k] != FG_VM_REDUCE:  # (whose dst is a reduction's number)
            rp[code[5 * k + 1]] = regs + code[5 * k + 1] * BLOCK
            used = max(used, code[5 * k + 1] + 1)
    # Spans short enough for all the kernel's registers to stay in L1 (an Adam update has
    # 14, and ran measurably faster so), but long enough that each operation
    # is a loop of its own worth calling. A template works on the same spans, so that its
    # reductions add the same partial sums.
    while span > 128 and used * span * sizeof(real) > L1_BYTES:
        span //= 2
    if run_template_range(regs, code + 5 * n_code, ndim, shape, in_desc, out_desc, n_red,
                          red_desc, consts, bufs, lo, hi, partial, span):
        return
    start = lo
    while start < hi:
        n = hi - start
        if n > span:
            n = span
        for k in range(n_code):
            op = <int>code[5 * k]
            r = regs + code[5 * k + 1] * BLOCK
            if op == FG_VM_LOAD:
                desc = in_desc + code[5 * k + 2] * (2 + ndim)
                if desc[1] == 2:  # laid out like the iteration: read it where it is
                    rp[code[5 * k + 1]] = <real*>bufs[desc[0]] + start
                else:
                    load_block(r, bufs[desc[0]], <int>desc[1], ndim, shape, desc + 2, start, n)
                    rp[code[5 * k + 1]] = r
                continue
            if op == FG_VM_CONST:  # constant registers are filled once, on the first block
                if start == lo:
                    cv = <real>consts[code[5 * k + 2]]
                    for j in range(BLOCK):
                        r[j] = cv
                continue
            a = rp[code[5 * k + 2]]
            b = rp[code[5 * k + 3]]
            c = rp[code[5 * k + 4]]
            if op == FG_VM_REDUCE:  # reduction number dst of register a
                reduce_into(<int>code[5 * k + 1], red_desc, a, ndim, shape, bufs, partial,
                            start, n)
                continue
            rp[code[5 * k + 1]] = r
            if real is float:  # an operation of vm_ops.h's table
                fg_vm_f(op, r, a, b, c, n)
            else:
                fg_vm_d(op, r, a, b, c, n)
        for k in range(n_out):
            desc = out_desc + 3 * k
            r = rp[desc[2]]
            if desc[1]:
                q = <uint8_t*>bufs[desc[0]] + start
                for j in range(n):
                    q[j] = r[j] != 0
            else:
                memcpy(<real*>bufs[desc[0]] + start, r, n * sizeof(real))
        start += n


# ---------------------------------------------------------------- GEMM


cdef void gemm_rows(const int64_t* ins, char** bufs, int is_double, int64_t i,
                    int64_t r0, int64_t r1) noexcept nogil:
    """Rows [r0, r1) of product i of a batched GEMM (see run_gemm)."""
    cdef char ta = b'T' if ins[3] else b'N'
    cdef char tb = b'T' if ins[4] else b'N'
    cdef int m = <int>(r1 - r0), n = <int>ins[6], k = <int>ins[7]
    cdef int lda = <int>ins[5] if ins[3] else k
    cdef int ldb = k if ins[4] else n
    # Row r of op(A) starts at A + r * lda, or at A + r when A is stored transposed.
    cdef int64_t a_off = i * ins[9] + (r0 if ins[3] else r0 * lda)
    cdef int64_t b_off = i * ins[10], c_off = i * ins[11] + r0 * n
    cdef float falpha = 1, fbeta = 0
    cdef double dalpha = 1, dbeta = 0
    if is_double:
        dgemm(&tb, &ta, &n, &m, &k, &dalpha, <double*>bufs[ins[1]] + b_off, &ldb,
              <double*>bufs[ins[0]] + a_off, &lda, &dbeta, <double*>bufs[ins[2]] + c_off, &n)
    else:
        sgemm(&tb, &ta, &n, &m, &k, &falpha, <float*>bufs[ins[1]] + b_off, &ldb,
              <float*>bufs[ins[0]] + a_off, &lda, &fbeta, <float*>bufs[ins[2]] + c_off, &n)


cdef inline int gemm_row_threads(const int64_t* ins, int max_threads) noexcept nogil:
    """Threads that split one (unbatched) GEMM by rows of C, in pieces of >= 16 rows."""
    return threads_for(<double>ins[5] * ins[6] * ins[7], GEMM_PAR_MIN, ins[5] // 16,
                       max_threads)


cdef void run_gemm(const int64_t* ins, char** bufs, int is_double,
                   int max_threads) noexcept nogil:
    """ins: [a, b, c, trans_a, trans_b, M, N, K, batch, stride_a, stride_b, stride_c] for
    row-major C = op(A) @ op(B); BLAS is column-major, so it computes C^T = op(B)^T op(A)^T.

    With several OpenMP threads, large products are split among them by batch entries or
    by rows of C, each piece one BLAS call on its thread. This assumes BLAS itself runs
    single-threaded then (see funcgrad/_kernels/threads.py): two pools of threads spinning
    for the same cores make every kernel many times slower."""
    cdef int64_t m = ins[5], n = ins[6], k = ins[7], batch = ins[8], i, t
    cdef int nt
    if m == 0 or n == 0 or batch == 0:
        return
    if k == 0:
        memset(bufs[ins[2]], 0, batch * m * n * (8 if is_double else 4))
        return
    if batch > 1:
        nt = threads_for(<double>batch * m * n * k, GEMM_PAR_MIN, batch, max_threads)
        for i in prange(batch, num_threads=nt, schedule="static"):
            gemm_rows(ins, bufs, is_double, i, 0, m)
        return
    nt = gemm_row_threads(ins, max_threads)
    if nt == 1:
        gemm_rows(ins, bufs, is_double, 0, 0, m)
        return
    for t in prange(nt, num_threads=nt, schedule="static"):
        gemm_rows(ins, bufs, is_double, 0, t * m // nt, (t + 1) * m // nt)


cdef void run_gemm_epilogue(const int64_t* ins, char** bufs, const RegFile* rf,
                            const double* consts) noexcept nogil:
    """ins: a GEMM's fields (as run_gemm, 13 values: the last is is_double), then a fused
    kernel's (is_double, then as run_fused) over the GEMM's M*N output elements. Split among
    threads, each thread runs the kernel on its own rows right after computing them, while
    they are in its cache; on one thread, the GEMM and then the kernel."""
    cdef int64_t m = ins[5], n = ins[6], t
    cdef const int64_t* fused = ins + 13
    cdef int is_double = <int>ins[12], nt = 1
    if ins[8] == 1 and ins[7] > 0:
        nt = gemm_row_threads(ins, rf.max_threads)
    if nt == 1:
        run_gemm(ins, bufs, is_double, rf.max_threads)
        if fused[0]:
            run_fused(rf.regs, rf, fused + 1, consts, bufs)
        else:
            run_fused(<float*>rf.regs, rf, fused + 1, consts, bufs)
        return
    for t in prange(nt, num_threads=nt, schedule="static"):
        gemm_rows(ins, bufs, is_double, 0, t * m // nt, (t + 1) * m // nt)
        if fused[0]:
            run_fused_range(rf.regs + t * rf.n_regs * BLOCK, <double**>rf.ptrs + t * rf.n_regs,
                            fused + 1, consts, bufs, t * m // nt * n, (t + 1) * m // nt * n,
                            NULL)
        else:
            run_fused_range(<float*>rf.regs + t * rf.n_regs * BLOCK,
                            <float**>rf.ptrs + t * rf.n_regs, fused + 1, consts, bufs,
                            t * m // nt * n, (t + 1) * m // nt * n, NULL)


# ---------------------------------------------------------------- softmax rows


cdef void run_softmax(const int64_t* ins, char** bufs, int max_threads) noexcept nogil:
    """ins: [is_double, kind (SOFTMAX_KINDS), x, y, outer, n, inner] (see softmax.pxd)."""
    cdef int nt = threads_for(<double>ins[4] * ins[5] * ins[6], FUSED_PAR_MIN, ins[4] * ins[6],
                              max_threads)
    if ins[0]:
        softmax_rows_f64(<int>ins[1], <double*>bufs[ins[2]], <double*>bufs[ins[3]], ins[4],
                         ins[5], ins[6], nt)
    else:
        softmax_rows_f32(<int>ins[1], <float*>bufs[ins[2]], <float*>bufs[ins[3]], ins[4],
                         ins[5], ins[6], nt)


# ---------------------------------------------------------------- reductions


cdef void run_reduce(const real* src, real* dst, const int64_t* ins) noexcept nogil:
    """ins: [kind(0 sum, 1 max, 2 min), src, dst, out_size, ndim, shape..., out_strides...]
    Walks the input in order; out_strides are 0 along reduced dimensions."""
    cdef int ndim = <int>ins[4]
    cdef int64_t total = shape_size(ins + 5, ndim), j
    for j in range(ins[3]):
        dst[j] = <real>reduce_identity(<int>ins[0])
    if total:
        reduce_block(dst, src, <int>ins[0], ndim, ins + 5, ins + 5 + ndim, 0, total)


# ---------------------------------------------------------------- copies and fills


cdef void copy_transposed(char* dst, const char* src, int64_t rows, int64_t cols,
                          int64_t dst_row, int64_t src_col, int64_t itemsize) noexcept nogil:
    """dst[i * dst_row + j] = src[i + j * src_col] (in elements) by 32 x 32 tiles: a
    transposition read row by row would miss the cache on every element of a large one."""
    cdef int64_t i0, j0, i, j, i1, j1
    for i0 in range(0, rows, 32):
        i1 = i0 + 32 if i0 + 32 < rows else rows
        for j0 in range(0, cols, 32):
            j1 = j0 + 32 if j0 + 32 < cols else cols
            for i in range(i0, i1):
                if itemsize == 8:
                    for j in range(j0, j1):
                        (<uint64_like*>dst)[i * dst_row + j] = (<uint64_like*>src)[i + j * src_col]
                else:
                    for j in range(j0, j1):
                        (<uint32_like*>dst)[i * dst_row + j] = (<uint32_like*>src)[i + j * src_col]


cdef void run_copy(const int64_t* ins, char** bufs) noexcept nogil:
    """ins: [itemsize, src, src_offset, dst, dst_offset, ndim, shape..., src_strides...,
    dst_strides...] (offsets and strides in elements)."""
    cdef int64_t itemsize = ins[0]
    cdef char* src = bufs[ins[1]] + ins[2] * itemsize
    cdef char* dst = bufs[ins[3]] + ins[4] * itemsize
    cdef int ndim = <int>ins[5]
    cdef const int64_t* shape = ins + 6
    cdef const int64_t* sstr = ins + 6 + ndim
    cdef const int64_t* dstr = ins + 6 + 2 * ndim
    cdef int64_t sidx[MAXDIM]
    cdef int64_t didx[MAXDIM]
    cdef int64_t total = shape_size(shape, ndim), i = 0, j, soff, doff, inner, ss, ds
    cdef int d
    if total == 0:
        return
    inner = shape[ndim - 1]
    ss = sstr[ndim - 1]
    ds = dstr[ndim - 1]
    if (ndim >= 2 and ds == 1 and ss != 1 and sstr[ndim - 2] == 1 and inner >= 32
            and shape[ndim - 2] >= 32 and (itemsize == 4 or itemsize == 8)):
        for i in range(total // (inner * shape[ndim - 2])):  # each matrix of the batch
            soff = start_offset(ndim - 2, shape, sstr, i, sidx)
            doff = start_offset(ndim - 2, shape, dstr, i, didx)
            copy_transposed(dst + doff * itemsize, src + soff * itemsize, shape[ndim - 2],
                            inner, dstr[ndim - 2], ss, itemsize)
        return
    soff = start_offset(ndim, shape, sstr, 0, sidx)
    doff = start_offset(ndim, shape, dstr, 0, didx)
    while i < total:
        if ss == 1 and ds == 1:
            memcpy(dst + doff * itemsize, src + soff * itemsize, inner * itemsize)
        elif itemsize == 4:
            for j in range(inner):
                (<uint32_like*>dst)[doff + j * ds] = (<uint32_like*>src)[soff + j * ss]
        elif itemsize == 8:
            for j in range(inner):
                (<uint64_like*>dst)[doff + j * ds] = (<uint64_like*>src)[soff + j * ss]
        else:
            for j in range(inner):
                memcpy(dst + (doff + j * ds) * itemsize, src + (soff + j * ss) * itemsize, itemsize)
        i += inner
        soff += inner * ss
        doff += inner * ds
        sidx[ndim - 1] = inner
        didx[ndim - 1] = inner
        if i < total:
            soff = advance(ndim, shape, sstr, sidx, soff)
            doff = advance(ndim, shape, dstr, didx, doff)



cdef void run_fill(const int64_t* ins, const double* consts, char** bufs) noexcept nogil:
    """ins: [dtype (float32, float64, int32, int64), dst, count, const_index]: element j is
    value + j * step, value and step the constants at const_index and the next (a step of
    1 from 0 is an iota)."""
    cdef int64_t n = ins[2], j
    cdef double value = consts[ins[3]], step = consts[ins[3] + 1]
    cdef float* f = <float*>bufs[ins[1]]
    cdef double* g = <double*>bufs[ins[1]]
    cdef int32_t* i32 = <int32_t*>bufs[ins[1]]
    cdef int64_t* i64 = <int64_t*>bufs[ins[1]]
    cdef double v
    for j in range(n):
        v = value + j * step if step != 0 else value  # (a fill keeps the sign of a zero)
        if ins[0] == 0:
            f[j] = <float>v
        elif ins[0] == 1:
            g[j] = v
        elif ins[0] == 2:
            i32[j] = <int32_t>v
        else:
            i64[j] = <int64_t>v


# ---------------------------------------------------------------- random bits


# A Threefry hash costs about as much as a dozen elementwise operations.
cdef int64_t RANDOM_BITS_COST = 12


cdef void run_random_bits(const int64_t* ins, char** bufs, int max_threads) noexcept nogil:
    """ins: [kind (RANDOM_BITS_KINDS), key (uint32[2]), counters (uint32), out, count]."""
    cdef int64_t n = ins[4]
    cdef const uint32_t* key = <const uint32_t*>bufs[ins[1]]
    cdef int nt = threads_for(<double>n * RANDOM_BITS_COST, FUSED_PAR_MIN, n, max_threads), t
    if nt == 1:
        fg_random_bits(<int>ins[0], key[0], key[1], <const uint32_t*>bufs[ins[2]], bufs[ins[3]],
                       0, n)
        return
    for t in prange(nt, num_threads=nt, schedule="static"):
        fg_random_bits(<int>ins[0], key[0], key[1], <const uint32_t*>bufs[ins[2]], bufs[ins[3]],
                       t * n // nt, (t + 1) * n // nt)


# ---------------------------------------------------------------- dtype conversions


# Bytes per element of the dtypes of cast.h, by code (FG_BOOL .. FG_FLOAT64).
cdef int64_t CAST_ITEMSIZE[11]
CAST_ITEMSIZE[:] = [1, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8]


cdef int run_cast(const int64_t* ins, char** bufs, int max_threads) noexcept nogil:
    """ins: [from, to (CAST_DTYPES codes), src, dst, count]: 4 if cast.h has no such pair."""
    cdef int64_t n = ins[4]
    cdef int nt = threads_for(<double>n, FUSED_PAR_MIN, n, max_threads), t, status = 0
    if nt == 1:
        status = fg_cast(<int>ins[0], <int>ins[1], bufs[ins[2]], bufs[ins[3]], 0, n)
    else:
        for t in prange(nt, num_threads=nt, schedule="static"):
            status |= fg_cast(<int>ins[0], <int>ins[1], bufs[ins[2]], bufs[ins[3]],
                              t * n // nt, (t + 1) * n // nt)
    return 4 if status else 0


cdef int run_int_reduce(const int64_t* ins, char** bufs) noexcept nogil:
    """An integer (or bool) sum, max or min, on int64 values: sums wrap like NumPy's. ins:
    [dtype code (cast.h: the operand's and the result's), kind (0 sum, 1 max, 2 min), src,
    dst, out_size, ndim, shape..., out_strides...]. 3 if out of memory."""
    cdef int dtype = <int>ins[0], kind = <int>ins[1], ndim = <int>ins[5]
    cdef const int64_t* shape = ins + 6
    cdef const int64_t* strides = ins + 6 + ndim
    cdef int64_t total = shape_size(shape, ndim), size = ins[4], i = 0, j, k, seg, off
    cdef int64_t idx[MAXDIM]
    cdef int64_t v[BLOCK]
    cdef int64_t s = strides[ndim - 1]
    cdef int64_t* acc = <int64_t*>malloc((size if size > 0 else 1) * sizeof(int64_t))
    if acc == NULL:
        return 3
    for j in range(size):
        acc[j] = 0 if kind == 0 else (INT64_MIN if kind == 1 else INT64_MAX)
    off = start_offset(ndim, shape, strides, 0, idx)
    while i < total:
        seg = run_length(ndim, shape, idx, BLOCK)
        fg_load_int(dtype, bufs[ins[2]] + i * CAST_ITEMSIZE[dtype], 1, v, seg)
        for k in range(seg):
            j = off + k * s
            if kind == 0:
                acc[j] = <int64_t>(<uint64_t>acc[j] + <uint64_t>v[k])
            elif kind == 1:
                acc[j] = v[k] if v[k] > acc[j] else acc[j]
            else:
                acc[j] = v[k] if v[k] < acc[j] else acc[j]
        i += seg
        off = next_run(ndim, shape, strides, idx, off, seg, i < total)
    fg_store_int(dtype, acc, bufs[ins[3]], size)
    free(acc)
    return 0


# ---------------------------------------------------------------- argmax


cdef void argmax_rows(const real* x, char* dst, bint int32, int64_t outer, int64_t n,
                      int64_t inner) noexcept nogil:
    """Index of the largest of the n values of each row (x as (outer, n, inner), rows along
    the middle axis), as NumPy's argmax: the first of equal maxima, or the first NaN."""
    cdef int64_t o, i, j, best_j
    cdef real best, v
    for o in range(outer):
        for i in range(inner):
            best, best_j = x[o * n * inner + i], 0
            j = 1
            while j < n and best == best:
                v = x[(o * n + j) * inner + i]
                if v > best or v != v:
                    best, best_j = v, j
                j += 1
            if int32:
                (<int32_t*>dst)[o * inner + i] = <int32_t>best_j
            else:
                (<int64_t*>dst)[o * inner + i] = best_j


cdef void run_argmax(const int64_t* ins, char** bufs) noexcept nogil:
    """ins: [is_double, x, dst, index is int32, outer, n, inner]."""
    if ins[0]:
        argmax_rows(<double*>bufs[ins[1]], bufs[ins[2]], ins[3] != 0, ins[4], ins[5], ins[6])
    else:
        argmax_rows(<float*>bufs[ins[1]], bufs[ins[2]], ins[3] != 0, ins[4], ins[5], ins[6])


# ---------------------------------------------------------------- integer elementwise


cdef void load_int_block(int64_t* dst, const int64_t* desc, char** bufs, int ndim,
                         const int64_t* shape, int64_t start, int64_t n) noexcept nogil:
    """Elements start.. of an integer kernel's operand as int64. desc: [dtype code (cast.h),
    buffer, strides...], or [-1, value] for a constant."""
    cdef int64_t idx[MAXDIM]
    cdef const int64_t* strides = desc + 2
    cdef int64_t off, i = 0, j, seg
    if desc[0] < 0:
        for j in range(n):
            dst[j] = desc[1]
        return
    off = start_offset(ndim, shape, strides, start, idx)
    while i < n:
        seg = run_length(ndim, shape, idx, n - i)
        fg_load_int(<int>desc[0], bufs[desc[1]] + off * CAST_ITEMSIZE[desc[0]],
                    strides[ndim - 1], dst + i, seg)
        i += seg
        off = next_run(ndim, shape, strides, idx, off, seg, i < n)


cdef void run_int(const int64_t* ins, char** bufs) noexcept nogil:
    """One integer (or bool) elementwise operation, on int64 values: sums and products wrap
    modulo 2**64 and then modulo the result's size, as NumPy's do. ins: [op (FG_INT_OPS of
    vm_ops.h), result dtype code, result buffer, ndim, shape..., n_in, operand descriptions
    (load_int_block's, 2 + ndim each)*]."""
    cdef int op = <int>ins[0], ndim = <int>ins[3], k
    cdef const int64_t* shape = ins + 4
    cdef int n_in = <int>ins[4 + ndim]
    cdef const int64_t* desc = ins + 5 + ndim
    cdef int64_t total = shape_size(shape, ndim), start = 0, n
    cdef int64_t v[4][BLOCK]  # the operands, then the result
    cdef int64_t* r = v[3]
    cdef int64_t* a = v[0]
    cdef int64_t* b = v[1]
    cdef int64_t* c = v[2]
    while start < total:
        n = min(total - start, BLOCK)
        for k in range(n_in):
            load_int_block(v[k], desc + k * (2 + ndim), bufs, ndim, shape, start, n)
        fg_int_op(op, r, a, b, c, n)
        fg_store_int(<int>ins[1], r, bufs[ins[2]] + start * CAST_ITEMSIZE[ins[1]], n)
        start += n


# ---------------------------------------------------------------- gather / scatter-add


cdef inline int row_offset(const int64_t* descs, int k, int64_t b, char** bufs,
                           int64_t* off) noexcept nogil:
    """Element offset of the row that index position ``b`` selects; 1 if out of range.
    descs: k * (index_buf, is_int32, dim_size, row_stride)."""
    cdef int j
    cdef int64_t v
    off[0] = 0
    for j in range(k):
        if descs[4 * j + 1]:
            v = (<int32_t*>bufs[descs[4 * j]])[b]
        else:
            v = (<int64_t*>bufs[descs[4 * j]])[b]
        if v < 0:
            v += descs[4 * j + 2]
        if v < 0 or v >= descs[4 * j + 2]:
            return 1
        off[0] += v * descs[4 * j + 3]
    return 0


cdef int run_gather(const int64_t* ins, char** bufs) noexcept nogil:
    """ins: [itemsize, src, dst, n_index, row, k, descs...]: dst[b] = src[row at b]."""
    cdef int64_t itemsize = ins[0], n = ins[3], row = ins[4], b, off
    cdef int k = <int>ins[5]
    for b in range(n):
        if row_offset(ins + 6, k, b, bufs, &off):
            return 1
        memcpy(bufs[ins[2]] + b * row * itemsize, bufs[ins[1]] + off * itemsize, row * itemsize)
    return 0


cdef int run_scatter_add(const real* g, real* dst, const int64_t* ins, char** bufs) noexcept nogil:
    """ins: [_, g, dst, n_index, row, k, total, descs...]: dst = 0; dst[row at b] += g[b]."""
    cdef int64_t n = ins[3], row = ins[4], total = ins[6], b, i, off
    cdef int k = <int>ins[5]
    memset(dst, 0, total * sizeof(real))
    for b in range(n):
        if row_offset(ins + 7, k, b, bufs, &off):
            return 1
        for i in range(row):
            dst[off + i] += g[b * row + i]
    return 0


# ---------------------------------------------------------------- convolution and pooling


cdef int run_conv(const int64_t* ins, char** bufs, int64_t n, bint accumulate) noexcept nogil:
    """ins: [kernel, is_double, n, c, h, w, o, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw,
    a, b, out, workspace, workspace_size]; kernels as in conv.pxd (see CONV_KERNELS). The
    batch is n images (ins[2], or a loop's share of them); ``accumulate``: a filter gradient
    adds onto its output."""
    cdef ConvGeom g
    g.n, g.c, g.h, g.w, g.o = n, ins[3], ins[4], ins[5], ins[6]
    g.kh, g.kw, g.sh, g.sw = ins[7], ins[8], ins[9], ins[10]
    g.pt, g.pb, g.pl, g.pr, g.dh, g.dw = ins[11], ins[12], ins[13], ins[14], ins[15], ins[16]
    if geom_init(&g) != 0:
        return 2
    cdef int kernel = <int>ins[0]
    cdef char* a = bufs[ins[17]]
    cdef char* b = bufs[ins[18]]
    cdef char* out = bufs[ins[19]]
    cdef char* ws = bufs[ins[20]]
    cdef Py_ssize_t wsn = ins[21]
    cdef int rc = 0
    if ins[1]:
        if kernel == 0:
            rc = conv2d_forward_f64(&g, <double*>a, <double*>b, NULL, <double*>out, <double*>ws, wsn)
        elif kernel == 1:
            rc = conv2d_input_grad_f64(&g, <double*>a, <double*>b, <double*>out, <double*>ws, wsn, 0)
        elif kernel == 2:
            rc = conv2d_filter_grad_f64(&g, <double*>a, <double*>b, <double*>out, <double*>ws, wsn,
                                        accumulate)
        elif kernel == 3:
            rc = max_pool2d_f64(&g, <double*>a, <double*>out)
        elif kernel == 4:
            rc = max_pool2d_select_f64(&g, <double*>a, <double*>b, <double*>out)
        elif kernel == 5:
            rc = max_pool2d_scatter_f64(&g, <double*>a, <double*>b, <double*>out, 0)
        elif kernel == 6:
            rc = avg_pool2d_f64(&g, <double*>a, <double*>out)
        elif kernel == 7:
            rc = avg_pool2d_transpose_f64(&g, <double*>a, <double*>out, 0)
        elif kernel == 8:  # b: the argmax slots, written
            rc = max_pool2d_index_f64(&g, <double*>a, <double*>out, <uint8_t*>b)
        else:  # a: the argmax slots
            rc = max_pool2d_scatter_index_f64(&g, <uint8_t*>a, <double*>b, <double*>out, 0)
    else:
        if kernel == 0:
            rc = conv2d_forward_f32(&g, <float*>a, <float*>b, NULL, <float*>out, <float*>ws, wsn)
        elif kernel == 1:
            rc = conv2d_input_grad_f32(&g, <float*>a, <float*>b, <float*>out, <float*>ws, wsn, 0)
        elif kernel == 2:
            rc = conv2d_filter_grad_f32(&g, <float*>a, <float*>b, <float*>out, <float*>ws, wsn,
                                        accumulate)
        elif kernel == 3:
            rc = max_pool2d_f32(&g, <float*>a, <float*>out)
        elif kernel == 4:
            rc = max_pool2d_select_f32(&g, <float*>a, <float*>b, <float*>out)
        elif kernel == 5:
            rc = max_pool2d_scatter_f32(&g, <float*>a, <float*>b, <float*>out, 0)
        elif kernel == 6:
            rc = avg_pool2d_f32(&g, <float*>a, <float*>out)
        elif kernel == 7:
            rc = avg_pool2d_transpose_f32(&g, <float*>a, <float*>out, 0)
        elif kernel == 8:  # b: the argmax slots, written
            rc = max_pool2d_index_f32(&g, <float*>a, <float*>out, <uint8_t*>b)
        else:  # a: the argmax slots
            rc = max_pool2d_scatter_index_f32(&g, <uint8_t*>a, <float*>b, <float*>out, 0)
    return 0 if rc == 0 else 2


# ---------------------------------------------------------------- loops over images


cdef enum:
    # How a loop over images (run_images) sees a buffer: the images in hand of it; a region
    # of the thread's scratch (a value that lives and dies in the loop, for the images in
    # hand, or a conv workspace); or the thread's partial result (a reduction over the
    # images, a filter gradient), combined in thread order after the loop.
    ROLE_BATCH = 0
    ROLE_SCRATCH = 1
    ROLE_PARTIAL = 2


cdef int images_on_thread(const int64_t* ins, char** bufs, char** tbufs, const RegFile* rf,
                          const double* consts, int t, int nt, double* times) noexcept nogil:
    """Thread t's share of a loop over images (see run_images), a chunk of them at a time;
    with ``times``, it adds the wall time of each step to times[k]."""
    cdef int64_t n = ins[0], chunk = ins[1], n_roles = ins[7]
    cdef const int64_t* roles = ins + 8
    cdef const int64_t* steps = roles + 5 * n_roles
    cdef int64_t lo = t * n // nt, hi = (t + 1) * n // nt, b0, cnt, k, j
    cdef const int64_t* role
    cdef const int64_t* step
    cdef char* base = bufs[ins[2]] + t * ins[3]
    cdef int status = 0
    cdef timespec t0, t1
    for k in range(n_roles):
        role = roles + 5 * k
        if role[1] == ROLE_BATCH:
            continue
        tbufs[role[0]] = base + role[2]
        if role[1] == ROLE_PARTIAL:  # from the identity of its reduction
            if role[4] & 4:
                fill_value(<double*>tbufs[role[0]], <double>reduce_identity(role[4] & 3),
                           role[3] // 8)
            else:
                fill_value(<float*>tbufs[role[0]], <float>reduce_identity(role[4] & 3),
                           role[3] // 4)
    b0 = lo
    while b0 < hi and status == 0:
        cnt = hi - b0 if hi - b0 < chunk else chunk
        for k in range(n_roles):
            role = roles + 5 * k
            if role[1] == ROLE_BATCH:
                tbufs[role[0]] = bufs[role[0]] + b0 * role[2]
        step = steps + 1
        for k in range(steps[0]):
            if times != NULL:
                clock_gettime(CLOCK_MONOTONIC, &t0)
            if step[1] == OP_CONV:  # a filter gradient adds onto the partial
                status = run_conv(step + 2, tbufs, cnt, True)
            else:  # a fused kernel, on the elements of cnt images
                j = cnt * shape_size(step + 4, <int>step[3]) // n
                if step[2]:
                    run_fused_range(rf.regs + t * rf.n_regs * BLOCK,
                                    <double**>rf.ptrs + t * rf.n_regs, step + 3, consts, tbufs,
                                    0, j, NULL)
                else:
                    run_fused_range(<float*>rf.regs + t * rf.n_regs * BLOCK,
                                    <float**>rf.ptrs + t * rf.n_regs, step + 3, consts, tbufs,
                                    0, j, NULL)
            if times != NULL:
                clock_gettime(CLOCK_MONOTONIC, &t1)
                times[k] += (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec)
            if status:
                break
            step += step[0]
        b0 += cnt
    return status


cdef int run_images(const int64_t* ins, char** bufs, int64_t nbuf, const RegFile* rf,
                    const double* consts, double* times) noexcept nogil:
    """A loop over images. Its threads split the batch; each runs every step of the loop on
    a few images at a time, while they are in its cache, so values that live and die in the
    loop never leave the thread's scratch.

    ins: [n, chunk, scratch buffer, scratch bytes per thread, threads the scratch is for,
    buffers a thread sees (>= nbuf), where the steps' times go in a profile, n_roles, (buf,
    role, bytes per image | offset in the thread's scratch, partial bytes, partial kind:
    REDUCE_KINDS + 4 * is_double)*, n_steps, (length, opcode, operands)*]. Steps are OP_CONV (filter gradients add onto a partial)
    and OP_FUSED over [n, ...] (their reductions, over the images, into partials). With a
    profile (``times``), the first thread's time in each step is added to it."""
    cdef int64_t n = ins[0], n_roles = ins[7], k, count
    cdef int64_t one = 1
    cdef const int64_t* role
    cdef int nt = rf.max_threads, t, status = 0
    cdef int64_t width = ins[5] if ins[5] > nbuf else nbuf  # pointers per thread
    if nt > ins[4]:
        nt = <int>ins[4]
    if nt > n:
        nt = <int>n
    if nt < 1:
        nt = 1
    cdef char** tbufs = <char**>malloc(nt * width * sizeof(char*))
    cdef int* statuses = <int*>malloc(nt * sizeof(int))
    if tbufs == NULL or statuses == NULL:
        free(tbufs)
        free(statuses)
        return 3
    for t in range(nt):
        memcpy(tbufs + t * width, bufs, nbuf * sizeof(char*))
    if nt == 1:
        statuses[0] = images_on_thread(ins, bufs, tbufs, rf, consts, 0, 1,
                                       times + ins[6] if times != NULL else NULL)
    else:
        for t in prange(nt, num_threads=nt, schedule="static"):
            statuses[t] = images_on_thread(ins, bufs, tbufs + t * width, rf, consts, t, nt,
                                           times + ins[6] if times != NULL and t == 0 else NULL)
    for t in range(nt):
        if statuses[t]:
            status = statuses[t]
    for k in range(n_roles):  # partial results, in thread order, into their buffers
        role = ins + 8 + 5 * k
        if role[1] != ROLE_PARTIAL or status:
            continue
        memcpy(bufs[role[0]], tbufs[role[0]], role[3])
        for t in range(1, nt):
            if role[4] & 4:
                count = role[3] // 8
                reduce_block(<double*>bufs[role[0]], <double*>tbufs[t * width + role[0]],
                             <int>(role[4] & 3), 1, &count, &one, 0, count)
            else:
                count = role[3] // 4
                reduce_block(<float*>bufs[role[0]], <float*>tbufs[t * width + role[0]],
                             <int>(role[4] & 3), 1, &count, &one, 0, count)
    free(tbufs)
    free(statuses)
    return status


# ---------------------------------------------------------------- the loop


cdef class Executor:
    """Runs one lowered program. ``code``: int64 instructions; ``consts``: float64;
    ``callbacks``: Python functions for OP_PYTHON instructions, called as ``fn(arrays)``
    with the list of buffer arrays; ``n_regs``: registers the fused kernels need."""

    cdef cnp.int64_t[::1] code
    cdef double[::1] consts
    cdef list callbacks
    cdef int n_regs

    def __init__(self, cnp.int64_t[::1] code, double[::1] consts, list callbacks, int n_regs):
        self.code = code
        self.consts = consts
        self.callbacks = callbacks
        self.n_regs = n_regs if n_regs > 0 else 1

    def run(self, list arrays, double[::1] profile=None):
        """Execute over ``arrays`` (one contiguous ndarray per buffer). With ``profile`` (one
        float64 per instruction), add each instruction's wall time in seconds to it."""
        cdef Py_ssize_t nbuf = len(arrays), i
        cdef char** bufs = <char**>malloc(nbuf * sizeof(char*))
        cdef RegFile rf
        rf.max_threads = num_threads()  # fixed for this run: registers are allocated for it
        rf.max_threads = rf.max_threads if rf.max_threads > 1 else 1
        rf.n_regs = self.n_regs
        rf.regs = <double*>malloc(self.n_regs * BLOCK * sizeof(double) * rf.max_threads)
        rf.ptrs = <void**>malloc(self.n_regs * sizeof(void*) * rf.max_threads)
        if bufs == NULL or rf.regs == NULL or rf.ptrs == NULL:
            free(bufs)
            free(rf.regs)
            free(rf.ptrs)
            raise MemoryError()
        cdef cnp.ndarray arr
        for i in range(nbuf):
            arr = arrays[i]
            bufs[i] = <char*>cnp.PyArray_DATA(arr)
        cdef double* times = NULL
        if profile is not None and profile.shape[0] > 0:
            times = &profile[0]
        try:
            self._loop(bufs, &rf, arrays, times)
        finally:
            free(bufs)
            free(rf.regs)
            free(rf.ptrs)

    cdef _loop(self, char** bufs, const RegFile* rf, list arrays, double* times):
        cdef const int64_t* code = <const int64_t*>&self.code[0]
        cdef const double* consts = &self.consts[0] if self.consts.shape[0] else NULL
        cdef int64_t pc = 0, end = self.code.shape[0]
        cdef int64_t length, op
        cdef const int64_t* ins
        cdef int status = 0
        cdef int64_t k = 0, nbuf = len(arrays)
        cdef timespec t0, t1
        while pc < end:
            with nogil:
                while pc < end and status == 0:
                    if times != NULL:
                        clock_gettime(CLOCK_MONOTONIC, &t0)
                    length = code[pc]
                    op = code[pc + 1]
                    ins = code + pc + 2
                    if op == OP_GEMM:
                        run_gemm(ins, bufs, <int>ins[12], rf.max_threads)
                    elif op == OP_FUSED:
                        if ins[0]:
                            run_fused(rf.regs, rf, ins + 1, consts, bufs)
                        else:
                            run_fused(<float*>rf.regs, rf, ins + 1, consts, bufs)
                    elif op == OP_REDUCE:
                        if ins[0]:
                            run_reduce(<double*>bufs[ins[2]], <double*>bufs[ins[3]], ins + 1)
                        else:
                            run_reduce(<float*>bufs[ins[2]], <float*>bufs[ins[3]], ins + 1)
                    elif op == OP_COPY:
                        run_copy(ins, bufs)
                    elif op == OP_FILL:
                        run_fill(ins, consts, bufs)
                    elif op == OP_GATHER:
                        status = run_gather(ins, bufs)
                    elif op == OP_SCATTER_ADD:
                        if ins[0]:
                            status = run_scatter_add(<double*>bufs[ins[1]], <double*>bufs[ins[2]], ins, bufs)
                        else:
                            status = run_scatter_add(<float*>bufs[ins[1]], <float*>bufs[ins[2]], ins, bufs)
                    elif op == OP_CONV:
                        status = run_conv(ins, bufs, ins[2], False)
                    elif op == OP_IMAGES:
                        status = run_images(ins, bufs, nbuf, rf, consts, times)
                    elif op == OP_GEMM_EPILOGUE:
                        run_gemm_epilogue(ins, bufs, rf, consts)
                    elif op == OP_SOFTMAX:
                        run_softmax(ins, bufs, rf.max_threads)
                    elif op == OP_RANDOM_BITS:
                        run_random_bits(ins, bufs, rf.max_threads)
                    elif op == OP_CAST:
                        status = run_cast(ins, bufs, rf.max_threads)
                    elif op == OP_INT:
                        run_int(ins, bufs)
                    elif op == OP_ARGMAX:
                        run_argmax(ins, bufs)
                    elif op == OP_INT_REDUCE:
                        status = run_int_reduce(ins, bufs)
                    elif op == OP_PYTHON:
                        break
                    if times != NULL:
                        clock_gettime(CLOCK_MONOTONIC, &t1)
                        times[k] += (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec)
                    if status == 0:
                        pc += length
                        k += 1
            if status == 2:
                raise RuntimeError("a convolution or pooling kernel rejected its geometry")
            if status == 3:
                raise MemoryError()
            if status == 4:
                raise RuntimeError("the cast kernel has no conversion between these dtypes")
            if status:  # (the program names the value, shapes and line from instruction k)
                raise IndexError("index out of range in a gather or scatter (an integer index "
                                 "array holds a value outside the indexed axis)", k)
            if pc < end:  # a Python callback, with the GIL
                self.callbacks[code[pc + 2]](arrays)
                pc += code[pc]
                k += 1


# The numbering above, for the compiler (one source of truth).
OPCODES = {"gemm": OP_GEMM, "fused": OP_FUSED, "reduce": OP_REDUCE, "copy": OP_COPY,
           "fill": OP_FILL, "python": OP_PYTHON, "gather": OP_GATHER,
           "scatter_add": OP_SCATTER_ADD, "conv": OP_CONV, "gemm_epilogue": OP_GEMM_EPILOGUE,
           "softmax": OP_SOFTMAX, "images": OP_IMAGES, "random_bits": OP_RANDOM_BITS,
           "cast": OP_CAST, "int": OP_INT, "argmax": OP_ARGMAX,
           "int_reduce": OP_INT_REDUCE}
CAST_DTYPES = {"bool": FG_BOOL, "int8": FG_INT8, "uint8": FG_UINT8, "int16": FG_INT16,
               "uint16": FG_UINT16, "int32": FG_INT32, "uint32": FG_UINT32, "int64": FG_INT64,
               "uint64": FG_UINT64, "float32": FG_FLOAT32, "float64": FG_FLOAT64}
RANDOM_BITS_KINDS = {"uint32": FG_BITS_U32, "float32": FG_BITS_F32, "float64": FG_BITS_F64}
SOFTMAX_KINDS = {"logsumexp": SOFTMAX_LSE, "log_softmax": SOFTMAX_LOG, "softmax": SOFTMAX_PROB}
CONV_KERNELS = {
    "conv2d": 0, "conv2d_input_grad": 1, "conv2d_filter_grad": 2, "max_pool2d": 3,
    "max_pool2d_select": 4, "max_pool2d_scatter": 5, "avg_pool2d": 6,
    "avg_pool2d_transpose": 7,
    # max_pool2d writing its argmax slots, and max_pool2d_scatter reading them (lowering pairs
    # a pool with its gradient's scatter; the slots are their own buffer)
    "max_pool2d_index": 8, "max_pool2d_scatter_index": 9,
}
TEMPLATE_KINDS = {"activation": T_ACTIVATION, "activation_grad": T_ACTIVATION_GRAD}
REDUCE_KINDS = {"sum": 0, "max": 1, "min": 2}  # the ``kind`` of reductions (reduce_block)
# How a loop over images sees each buffer it touches (run_images); workspaces are scratch.
IMAGE_ROLES = {"batch": ROLE_BATCH, "scratch": ROLE_SCRATCH, "partial": ROLE_PARTIAL}
BLOCK_SIZE = BLOCK
# vm_ops.h's tables as this build compiled them (the compiler checks them against the file)
COMPILED_VM_OPS = {fg_vm_names[i].decode(): fg_vm_numbers[i] for i in range(FG_VM_COUNT)}
COMPILED_INT_OPS = {fg_int_names[i].decode(): fg_int_numbers[i] for i in range(FG_INT_COUNT)}
# Work below which a kind of instruction runs on one thread: elements; M*N*K for GEMMs.
# Sizes from which an instruction may run on several threads (its elements; M*N*K).
PARALLEL_MIN = {"fused": FUSED_PAR_MIN, "softmax": FUSED_PAR_MIN, "gemm": GEMM_PAR_MIN,
                "cast": FUSED_PAR_MIN, "random_bits": FUSED_PAR_MIN // RANDOM_BITS_COST}
MAX_DIMS = MAXDIM
MAX_POOL_SLOTS = 255  # window elements max_pool2d_index can save slots for (one byte each)
