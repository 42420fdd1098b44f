# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Convolution and pooling instructions (OP_CONV) and loops over images (OP_IMAGES).

The kernels are convolution.pyx's and pool.pyx's; a loop over images runs a few steps
(convolutions, fused kernels) on a few images at a time per thread. A module of its own:
it calls the kernels once per instruction, or once per step and chunk of images.

The compiler's side of the loops is funcgrad/compiler/image_loops.py.
"""

from cython.parallel cimport prange
from libc.stdint cimport int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from .convolution cimport CONV_FILTER_GRAD, CONV_FORWARD, CONV_INPUT_GRAD, conv_kernel
from .geometry cimport ConvGeom, geom_init
from .opcodes cimport OP_CONV
from .pool cimport (
    NO_SLOT, POOL_AVG, POOL_AVG_T, POOL_MAX, POOL_MAX_INDEX, POOL_SCATTER, POOL_SCATTER_INDEX,
    POOL_SELECT, pool_kernel,
)
from .reduce cimport reduce_block, reduce_identity
from .state cimport BAD_GEOMETRY, BLOCK, DONE, NO_MEMORY, Run
from .strided cimport fill_value, shape_size
from .types cimport real
from .vm cimport run_fused_range

# The kernels of OP_CONV: the convolutions by their CONV_* number, the pooling kinds after
# them (kernel POOLED + POOL_*).
cdef enum:
    POOLED = 3

CONV_KERNELS = {
    "conv2d": CONV_FORWARD, "conv2d_input_grad": CONV_INPUT_GRAD,
    "conv2d_filter_grad": CONV_FILTER_GRAD, "max_pool2d": POOLED + POOL_MAX,
    "max_pool2d_select": POOLED + POOL_SELECT, "max_pool2d_scatter": POOLED + POOL_SCATTER,
    "avg_pool2d": POOLED + POOL_AVG, "avg_pool2d_transpose": POOLED + POOL_AVG_T,
    # max_pool2d writing its argmax slots, and max_pool2d_scatter reading them (lowering pairs
    # a pool with its gradient's scatter; the slots are their own buffer)
    "max_pool2d_index": POOLED + POOL_MAX_INDEX,
    "max_pool2d_scatter_index": POOLED + POOL_SCATTER_INDEX,
}
MAX_POOL_SLOTS = NO_SLOT  # window elements max_pool2d_index can save slots for (one byte each)


cdef int conv_typed(const real* dtype, const int64_t* ins, char** bufs, const ConvGeom* g,
                    bint accumulate) noexcept nogil:
    """run_conv's kernel call, on operands of the type of ``dtype`` (not read)."""
    cdef int kernel = <int>ins[0], kind = kernel - POOLED
    cdef real* a = <real*>bufs[ins[17]]
    cdef real* b = <real*>bufs[ins[18]]
    cdef real* out = <real*>bufs[ins[19]]
    if kernel < POOLED:  # a filter gradient may add onto its output
        return conv_kernel(kernel, g, a, b, NULL, out, <real*>bufs[ins[20]], ins[21],
                           accumulate and kernel == CONV_FILTER_GRAD)
    if kind == POOL_MAX_INDEX:  # b: the argmax slots, written
        return pool_kernel(kind, g, a, a, out, <uint8_t*>b, False)
    if kind == POOL_SCATTER_INDEX:  # a: the argmax slots
        return pool_kernel(kind, g, b, b, out, <uint8_t*>a, False)
    if kind == POOL_SELECT or kind == POOL_SCATTER:
        return pool_kernel(kind, g, a, b, out, NULL, False)
    return pool_kernel(kind, g, a, a, out, NULL, False)


cdef int conv_images(const int64_t* ins, char** bufs, int64_t n, bint accumulate) noexcept nogil:
    """OP_CONV's fields on a batch of n images (ins[2], or a loop's share of them);
    ``accumulate``: a filter gradient adds onto its output."""
    cdef ConvGeom g
    cdef int rc
    g.n, g.c, g.h, g.w, g.o = n, ins[3], ins[4], ins[5], ins[6]
    g.kh, g.kw, g.sh, g.sw = ins[7], ins[8], ins[9], ins[10]
    g.pt, g.pb, g.pl, g.pr, g.dh, g.dw = ins[11], ins[12], ins[13], ins[14], ins[15], ins[16]
    if geom_init(&g) != 0:
        return BAD_GEOMETRY
    if ins[1]:
        rc = conv_typed(<double*>NULL, ins, bufs, &g, accumulate)
    else:
        rc = conv_typed(<float*>NULL, ins, bufs, &g, accumulate)
    return DONE if rc == 0 else BAD_GEOMETRY


cdef int run_conv(const int64_t* ins, const Run* run) noexcept nogil:
    return conv_images(ins, run.bufs, ins[2], False)


cdef enum:
    # How a loop over images (run_images) sees a buffer: the images in hand of it; a region
    # of the thread's scratch (a value that lives and dies in the loop, for the images in
    # hand, or a conv workspace); or the thread's partial result (a reduction over the
    # images, a filter gradient), combined in thread order after the loop.
    ROLE_BATCH = 0
    ROLE_SCRATCH = 1
    ROLE_PARTIAL = 2

# How a loop over images sees each buffer it touches; workspaces are scratch.
IMAGE_ROLES = {"batch": ROLE_BATCH, "scratch": ROLE_SCRATCH, "partial": ROLE_PARTIAL}


cdef int images_on_thread(const int64_t* ins, char** bufs, char** tbufs, const Run* run,
                          int t, int nt, double* times) noexcept nogil:
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
    cdef int64_t regs = t * run.n_regs * BLOCK, ptrs = t * run.n_regs  # (this thread's)
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
                status = conv_images(step + 2, tbufs, cnt, True)
            else:  # a fused kernel, on the elements of cnt images
                j = cnt * shape_size(step + 4, <int>step[3]) // n
                if step[2]:
                    run_fused_range(run.regs + regs, <double**>run.ptrs + ptrs, step + 3,
                                    run.consts, tbufs, 0, j, NULL)
                else:
                    run_fused_range(<float*>run.regs + regs, <float**>run.ptrs + ptrs, step + 3,
                                    run.consts, tbufs, 0, j, NULL)
            if times != NULL:
                clock_gettime(CLOCK_MONOTONIC, &t1)
                times[k] += (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec)
            if status:
                break
            step += step[0]
        b0 += cnt
    return status


cdef int run_images(const int64_t* ins, const Run* run) noexcept nogil:
    """A loop over images. Its threads split the batch; each runs every step of the loop on
    a few images at a time, while they are in its cache, so values that live and die in the
    loop never leave the thread's scratch.

    ins: [n, chunk, scratch buffer, scratch bytes per thread, threads the scratch is for,
    buffers a thread sees (>= nbuf), where the steps' times go in a profile, n_roles, (buf,
    role, bytes per image | offset in the thread's scratch, partial bytes, partial kind:
    REDUCE_KINDS + 4 * is_double)*, n_steps, (length, opcode, operands)*]. Steps are OP_CONV
    (filter gradients add onto a partial) and OP_FUSED over [n, ...] (their reductions, over
    the images, into partials). With a profile (run.times), the first thread's time in each
    step is added to it."""
    cdef int64_t n = ins[0], n_roles = ins[7], k, count
    cdef int64_t one = 1
    cdef const int64_t* role
    cdef char** bufs = run.bufs
    cdef int64_t nbuf = run.nbuf
    cdef double* times = run.times + ins[6] if run.times != NULL else NULL
    cdef int nt = run.max_threads, t, status = 0
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
        return NO_MEMORY
    for t in range(nt):
        memcpy(tbufs + t * width, bufs, nbuf * sizeof(char*))
    if nt == 1:
        statuses[0] = images_on_thread(ins, bufs, tbufs, run, 0, 1, times)
    else:
        for t in prange(nt, num_threads=nt, schedule="static"):
            statuses[t] = images_on_thread(ins, bufs, tbufs + t * width, run, t, nt,
                                           times if t == 0 else NULL)
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
