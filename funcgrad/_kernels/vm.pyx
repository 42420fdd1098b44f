# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The fused elementwise kernels (OP_FUSED): a register machine over blocks of BLOCK values.

One extension module: the machine's steps (vm_ops.h's operations, loads, reductions,
templates) run once per block, so they are inline C or functions of this module, never a
call into another module. Its entry points run once per instruction (OP_FUSED here, the
GEMM epilogue in gemm.pyx, the loops over images in images.pyx).
"""

from cython.parallel cimport prange
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from .reduce cimport reduce_block, reduce_identity
from .state cimport BLOCK, DONE, FUSED_PAR_MIN, MAXDIM, Run
from .strided cimport fill_value, next_run, run_length, shape_size, start_offset
from .threads cimport threads_for
from .types cimport real
from .vm_ops cimport (
    FG_VM_CONST, FG_VM_COUNT, FG_VM_LOAD, FG_VM_REDUCE, fg_vm_d, fg_vm_f, fg_vm_names,
    fg_vm_numbers,
)

# Plain C loops, so that GCC vectorizes them: in Cython a conditional expression keeps its
# branch, which mispredicts on half the elements of random data.
cdef extern from "activation.h":
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


# Whole-kernel templates (keep in sync with funcgrad/compiler/templates.py).
cdef enum:
    T_NONE = 0
    T_ACTIVATION = 1
    T_ACTIVATION_GRAD = 2

cdef int64_t L1_BYTES = 32768  # (of 48 KB here: room for the inputs read in place)

TEMPLATE_KINDS = {"activation": T_ACTIVATION, "activation_grad": T_ACTIVATION_GRAD}
BLOCK_SIZE = BLOCK
# vm_ops.h's table as this build compiled it (the compiler checks it against the file)
COMPILED_VM_OPS = {fg_vm_names[i].decode(): fg_vm_numbers[i] for i in range(FG_VM_COUNT)}


cdef int run_fused_op(const int64_t* ins, const Run* run) noexcept nogil:
    if ins[0]:
        run_fused(run.regs, run, ins + 1)
    else:
        run_fused(<float*>run.regs, run, ins + 1)
    return DONE


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


cdef void run_fused(real* regs, const Run* run, const int64_t* ins) noexcept nogil:
    """A fused kernel. Large ones are split among OpenMP threads by contiguous runs of blocks,
    each thread with its own registers; reductions then accumulate into per-thread partial
    results, combined in thread order (deterministic for a given number of threads)."""
    cdef char** bufs = run.bufs
    cdef const double* consts = run.consts
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
    nt = threads_for(<double>total, FUSED_PAR_MIN, nblocks, run.max_threads)
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
        run_fused_range(regs, <real**>run.ptrs, ins, consts, bufs, 0, total, NULL)
        return
    for t in prange(nt, num_threads=nt, schedule="static"):
        if n_red > 0:
            init_reductions(partial + t * red_size, red, n_red, ndim, bufs)
        run_fused_range(regs + t * run.n_regs * BLOCK, <real**>run.ptrs + t * run.n_regs, ins,
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

