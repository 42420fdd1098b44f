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
from .isa cimport (
    FUSED_INPUT_BUF, FUSED_INPUT_HOW, FUSED_INPUT_STRIDES, FUSED_IS_DOUBLE, FUSED_KERNEL,
    FUSED_OUTPUT_BUF, FUSED_OUTPUT_IS_BOOL, FUSED_OUTPUT_LEN, FUSED_OUTPUT_REGISTER,
    FUSED_PAR_MIN, FUSED_REDUCTION_BUF, FUSED_REDUCTION_KIND, FUSED_REDUCTION_SIZE,
    FUSED_REDUCTION_STRIDES, KERNEL_NDIM, KERNEL_SHAPE, MAXDIM, T_ACTIVATION,
    T_ACTIVATION_GRAD, T_NONE, TEMPLATE_A, TEMPLATE_B, TEMPLATE_KIND, TEMPLATE_MASK,
    TEMPLATE_RESULT, TEMPLATE_SLOPE, VM_STEP_A, VM_STEP_B, VM_STEP_C, VM_STEP_DST, VM_STEP_LEN,
    VM_STEP_OP,
)
from .state cimport BLOCK, DONE, Run
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


cdef int64_t L1_BYTES = 32768  # (of 48 KB here: room for the inputs read in place)

# Whole-kernel templates (funcgrad/compiler/templates.py; numbered by the instruction set)
TEMPLATE_KINDS = {"activation": T_ACTIVATION, "activation_grad": T_ACTIVATION_GRAD}
BLOCK_SIZE = BLOCK
# vm_ops.h's table as this build compiled it (the compiler checks it against the file)
COMPILED_VM_OPS = {fg_vm_names[i].decode(): fg_vm_numbers[i] for i in range(FG_VM_COUNT)}


cdef int run_fused_op(const int64_t* ins, const Run* run) noexcept nogil:
    if ins[FUSED_IS_DOUBLE]:
        run_fused(run.regs, run, ins + FUSED_KERNEL)
    else:
        run_fused(<float*>run.regs, run, ins + FUSED_KERNEL)
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


cdef void run_fused(real* regs, const Run* run, const int64_t* kernel) noexcept nogil:
    """A fused kernel. Large ones are split among OpenMP threads by contiguous runs of blocks,
    each thread with its own registers; reductions then accumulate into per-thread partial
    results, combined in thread order (deterministic for a given number of threads)."""
    cdef char** bufs = run.bufs
    cdef const double* consts = run.consts
    cdef int ndim = <int>kernel[KERNEL_NDIM], k, nt, t
    cdef int64_t total = shape_size(kernel + KERNEL_SHAPE, ndim), j, nblocks, red_size = 0, size
    cdef const int64_t* p = kernel + KERNEL_SHAPE + ndim
    p = p + 1 + p[0] * (FUSED_INPUT_STRIDES + ndim)  # past the inputs
    p = p + 1 + p[0] * FUSED_OUTPUT_LEN  # past the outputs, to the reductions
    cdef int n_red = <int>p[0]
    cdef const int64_t* red = p + 1  # n_red fused_reduction parts
    cdef int64_t red_len = FUSED_REDUCTION_STRIDES + ndim
    for k in range(n_red):
        red_size += red[k * red_len + FUSED_REDUCTION_SIZE]
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
        run_fused_range(regs, <real**>run.ptrs, kernel, consts, bufs, 0, total, NULL)
        return
    for t in prange(nt, num_threads=nt, schedule="static"):
        if n_red > 0:
            init_reductions(partial + t * red_size, red, n_red, ndim, bufs)
        run_fused_range(regs + t * run.n_regs * BLOCK, <real**>run.ptrs + t * run.n_regs,
                        kernel, consts, bufs, t * nblocks // nt * BLOCK,
                        (t + 1) * nblocks // nt * BLOCK, partial + t * red_size if n_red else NULL)
    if n_red == 0:
        return
    # Thread t's results, in thread order, reduced into thread 0's (the same reduction, over
    # the thread axis), then copied out.
    for t in range(1, nt):
        size = 0
        for k in range(n_red):
            j = red[k * red_len + FUSED_REDUCTION_SIZE]
            if j > 0:
                reduce_block(partial + size, partial + t * red_size + size,
                             <int>red[k * red_len + FUSED_REDUCTION_KIND], 1, &j, &one, 0, j)
            size += j
    size = 0
    for k in range(n_red):
        j = red[k * red_len + FUSED_REDUCTION_SIZE]
        memcpy(bufs[red[k * red_len + FUSED_REDUCTION_BUF]], partial + size, j * sizeof(real))
        size += j
    free(partial)


cdef void init_reductions(real* partial, const int64_t* red, int n_red, int ndim,
                          char** bufs) noexcept nogil:
    """Reductions' results start from their identity: in their buffers, or, if ``partial`` is
    given, in it (one after the other)."""
    cdef int k
    cdef int64_t j, size = 0
    cdef real* dst
    cdef const int64_t* desc
    for k in range(n_red):
        desc = red + k * (FUSED_REDUCTION_STRIDES + ndim)
        dst = <real*>bufs[desc[FUSED_REDUCTION_BUF]] if partial == NULL else partial + size
        for j in range(desc[FUSED_REDUCTION_SIZE]):
            dst[j] = <real>reduce_identity(<int>desc[FUSED_REDUCTION_KIND])
        size += desc[FUSED_REDUCTION_SIZE]


cdef inline void reduce_into(int k, const int64_t* red_desc, const real* r, int ndim,
                             const int64_t* shape, char** bufs, real* partial, int64_t start,
                             int64_t n) noexcept nogil:
    """Reduction number k of a fused kernel accumulates block r (its elements start..)."""
    cdef const int64_t* desc = red_desc + k * (FUSED_REDUCTION_STRIDES + ndim)
    cdef real* dst = <real*>bufs[desc[FUSED_REDUCTION_BUF]]
    cdef int j
    if partial != NULL:
        dst = partial
        for j in range(k):  # past the results before this one
            dst += red_desc[j * (FUSED_REDUCTION_STRIDES + ndim) + FUSED_REDUCTION_SIZE]
    reduce_block(dst, r, <int>desc[FUSED_REDUCTION_KIND], ndim, shape,
                 desc + FUSED_REDUCTION_STRIDES, start, n)


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
    cdef int kind = <int>t[TEMPLATE_KIND], k
    cdef int64_t in_len = FUSED_INPUT_STRIDES + ndim
    cdef const int64_t* a = in_desc + t[TEMPLATE_A] * in_len
    cdef const int64_t* b = in_desc + t[TEMPLATE_B] * in_len
    cdef bint has_bias = t[TEMPLATE_B] >= 0
    cdef int leaky = t[TEMPLATE_SLOPE] >= 0
    cdef real slope = <real>consts[t[TEMPLATE_SLOPE]] if leaky else 0
    cdef uint8_t* mask = <uint8_t*>(regs + BLOCK)  # (a bool output no one reads)
    cdef real* bias = regs
    cdef real* out
    cdef real* x
    cdef int64_t start, n
    if (kind == T_NONE or a[FUSED_INPUT_HOW] != 2
            or (kind == T_ACTIVATION_GRAD and b[FUSED_INPUT_HOW] != 3)):
        return False
    if kind == T_ACTIVATION and not has_bias:  # no bias: add zeros
        fill_value(regs, <real>0, BLOCK)
    start = lo
    while start < hi:
        n = min(hi - start, span)
        out = <real*>bufs[out_desc[FUSED_OUTPUT_LEN * t[TEMPLATE_RESULT] + FUSED_OUTPUT_BUF]]
        out += start
        x = <real*>bufs[a[FUSED_INPUT_BUF]] + start
        if kind == T_ACTIVATION:
            if t[TEMPLATE_MASK] >= 0:
                mask = <uint8_t*>bufs[out_desc[FUSED_OUTPUT_LEN * t[TEMPLATE_MASK]
                                               + FUSED_OUTPUT_BUF]] + start
            # a bias constant along rows
            if (has_bias and b[FUSED_INPUT_HOW] != 2
                    and b[FUSED_INPUT_STRIDES + ndim - 1] == 0):
                activation_runs(out, mask, x, <real*>bufs[b[FUSED_INPUT_BUF]], ndim, shape,
                                b + FUSED_INPUT_STRIDES, start, n, slope, leaky)
            else:
                if has_bias and b[FUSED_INPUT_HOW] == 2:
                    bias = <real*>bufs[b[FUSED_INPUT_BUF]] + start
                elif has_bias:
                    load_block(regs, bufs[b[FUSED_INPUT_BUF]], 0, ndim, shape,
                               b + FUSED_INPUT_STRIDES, start, n)
                if real is float:
                    fg_activation_f(out, mask, x, bias, slope, leaky, n)
                else:
                    fg_activation_d(out, mask, x, bias, slope, leaky, n)
        else:
            mask = <uint8_t*>bufs[b[FUSED_INPUT_BUF]] + start
            if real is float:
                fg_activation_grad_f(out, mask, x, slope, leaky, n)
            else:
                fg_activation_grad_d(out, mask, x, slope, leaky, n)
        for k in range(n_red):  # (of the result: templates.py sees to it)
            reduce_into(k, red_desc, out, ndim, shape, bufs, partial, start, n)
        start += n
    return True


cdef void run_fused_range(real* regs, real** rp, const int64_t* kernel, const double* consts,
                          char** bufs, int64_t lo, int64_t hi, real* partial) noexcept nogil:
    """Elements [lo, hi) (flat positions of the shape), block by block, of a fused kernel (a
    kernel part: isa.py). Reductions accumulate into their buffers, or, if ``partial`` is
    given, into it (results one after the other).

    rp[i] is where register i's block is: its own storage in regs, or, for an input loaded
    from a buffer laid out like the iteration (input flag 2; 3 for bools), that buffer itself
    (no copy). A kernel with a template runs as one loop instead (run_template_range)."""
    cdef int ndim = <int>kernel[KERNEL_NDIM]
    cdef const int64_t* shape = kernel + KERNEL_SHAPE
    cdef int64_t total = shape_size(shape, ndim)
    cdef int k
    cdef const int64_t* p = shape + ndim
    cdef int n_in = <int>p[0]
    cdef const int64_t* in_desc = p + 1
    p = in_desc + n_in * (FUSED_INPUT_STRIDES + ndim)
    cdef int n_out = <int>p[0]
    cdef const int64_t* out_desc = p + 1
    p = out_desc + FUSED_OUTPUT_LEN * n_out
    cdef const int64_t* red_desc = p + 1
    cdef int n_red = <int>p[0]
    p = red_desc + n_red * (FUSED_REDUCTION_STRIDES + ndim)
    cdef int n_code = <int>p[0]
    cdef const int64_t* code = p + 1
    cdef const int64_t* step
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
        step = code + VM_STEP_LEN * k
        if step[VM_STEP_OP] != FG_VM_REDUCE:  # (whose dst is a reduction's number)
            rp[step[VM_STEP_DST]] = regs + step[VM_STEP_DST] * BLOCK
            used = max(used, step[VM_STEP_DST] + 1)
    # Spans short enough for all the kernel's registers to stay in L1 (an Adam update has
    # 14, and ran measurably faster so), but long enough that each operation
    # is a loop of its own worth calling. A template works on the same spans, so that its
    # reductions add the same partial sums.
    while span > 128 and used * span * <int64_t>sizeof(real) > L1_BYTES:
        span //= 2
    if run_template_range(regs, code + VM_STEP_LEN * n_code, ndim, shape, in_desc, out_desc,
                          n_red, red_desc, consts, bufs, lo, hi, partial, span):
        return
    start = lo
    while start < hi:
        n = hi - start
        if n > span:
            n = span
        for k in range(n_code):
            step = code + VM_STEP_LEN * k
            op = <int>step[VM_STEP_OP]
            r = regs + step[VM_STEP_DST] * BLOCK
            if op == FG_VM_LOAD:
                desc = in_desc + step[VM_STEP_A] * (FUSED_INPUT_STRIDES + ndim)
                if desc[FUSED_INPUT_HOW] == 2:  # laid out like the iteration: read it in place
                    rp[step[VM_STEP_DST]] = <real*>bufs[desc[FUSED_INPUT_BUF]] + start
                else:
                    load_block(r, bufs[desc[FUSED_INPUT_BUF]], <int>desc[FUSED_INPUT_HOW], ndim,
                               shape, desc + FUSED_INPUT_STRIDES, start, n)
                    rp[step[VM_STEP_DST]] = r
                continue
            if op == FG_VM_CONST:  # constant registers are filled once, on the first block
                if start == lo:
                    cv = <real>consts[step[VM_STEP_A]]
                    for j in range(BLOCK):
                        r[j] = cv
                continue
            a = rp[step[VM_STEP_A]]
            b = rp[step[VM_STEP_B]]
            c = rp[step[VM_STEP_C]]
            if op == FG_VM_REDUCE:  # reduction number dst of register a
                reduce_into(<int>step[VM_STEP_DST], red_desc, a, ndim, shape, bufs, partial,
                            start, n)
                continue
            rp[step[VM_STEP_DST]] = r
            if real is float:  # an operation of vm_ops.h's table
                fg_vm_f(op, r, a, b, c, n)
            else:
                fg_vm_d(op, r, a, b, c, n)
        for k in range(n_out):
            desc = out_desc + FUSED_OUTPUT_LEN * k
            r = rp[desc[FUSED_OUTPUT_REGISTER]]
            if desc[FUSED_OUTPUT_IS_BOOL]:
                q = <uint8_t*>bufs[desc[FUSED_OUTPUT_BUF]] + start
                for j in range(n):
                    q[j] = r[j] != 0
            else:
                memcpy(<real*>bufs[desc[FUSED_OUTPUT_BUF]] + start, r, n * sizeof(real))
        start += n

