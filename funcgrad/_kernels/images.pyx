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
from .isa cimport (
    CONV_A, CONV_B, CONV_C, CONV_DH, CONV_DW, CONV_H, CONV_IS_DOUBLE, CONV_KERNEL, CONV_KH,
    CONV_KW, CONV_N, CONV_O, CONV_OUT, CONV_PB, CONV_PL, CONV_PR, CONV_PT, CONV_SH, CONV_SW,
    CONV_W, CONV_WORKSPACE, CONV_WORKSPACE_SIZE, FUSED_IS_DOUBLE, FUSED_KERNEL, IMAGES_CHUNK,
    IMAGES_N, IMAGES_N_ROLES, IMAGES_PER_THREAD, IMAGES_PROFILE_SLOT, IMAGES_ROLES,
    IMAGES_SCRATCH, IMAGES_THREADS, IMAGES_WIDTH, INSTRUCTION_FIELDS, INSTRUCTION_LENGTH,
    INSTRUCTION_OPCODE, KERNEL_NDIM, KERNEL_SHAPE, OP_CONV, POOLED, ROLE_BATCH, ROLE_BUF,
    ROLE_BYTES, ROLE_KIND, ROLE_LEN, ROLE_PARTIAL, ROLE_REDUCTION, ROLE_SCRATCH, ROLE_WHERE,
)
from .pool cimport (
    NO_SLOT, POOL_AVG, POOL_AVG_T, POOL_MAX, POOL_MAX_INDEX, POOL_SCATTER, POOL_SCATTER_INDEX,
    POOL_SELECT, pool_kernel,
)
from .reduce cimport reduce_block, reduce_identity
from .state cimport BAD_GEOMETRY, BLOCK, DONE, NO_MEMORY, Run
from .strided cimport fill_value, shape_size
from .types cimport real
from .vm cimport run_fused_range

# The kernels of OP_CONV (the instruction set numbers them): the convolutions by their
# CONV_* number, the pooling kinds after them (kernel POOLED + POOL_*).
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
    cdef int kernel = <int>ins[CONV_KERNEL], kind = kernel - POOLED
    cdef real* a = <real*>bufs[ins[CONV_A]]
    cdef real* b = <real*>bufs[ins[CONV_B]]
    cdef real* out = <real*>bufs[ins[CONV_OUT]]
    if kernel < POOLED:  # a filter gradient may add onto its output
        return conv_kernel(kernel, g, a, b, NULL, out, <real*>bufs[ins[CONV_WORKSPACE]],
                           ins[CONV_WORKSPACE_SIZE], accumulate and kernel == CONV_FILTER_GRAD)
    if kind == POOL_MAX_INDEX:  # b: the argmax slots, written
        return pool_kernel(kind, g, a, a, out, <uint8_t*>b, False)
    if kind == POOL_SCATTER_INDEX:  # a: the argmax slots
        return pool_kernel(kind, g, b, b, out, <uint8_t*>a, False)
    if kind == POOL_SELECT or kind == POOL_SCATTER:
        return pool_kernel(kind, g, a, b, out, NULL, False)
    return pool_kernel(kind, g, a, a, out, NULL, False)


cdef int conv_images(const int64_t* ins, char** bufs, int64_t n, bint accumulate) noexcept nogil:
    """OP_CONV's fields on a batch of n images (its n field, or a loop's share of them);
    ``accumulate``: a filter gradient adds onto its output."""
    cdef ConvGeom g
    cdef int rc
    g.n, g.c, g.h, g.w, g.o = n, ins[CONV_C], ins[CONV_H], ins[CONV_W], ins[CONV_O]
    g.kh, g.kw, g.sh, g.sw = ins[CONV_KH], ins[CONV_KW], ins[CONV_SH], ins[CONV_SW]
    g.pt, g.pb, g.pl, g.pr = ins[CONV_PT], ins[CONV_PB], ins[CONV_PL], ins[CONV_PR]
    g.dh, g.dw = ins[CONV_DH], ins[CONV_DW]
    if geom_init(&g) != 0:
        return BAD_GEOMETRY
    if ins[CONV_IS_DOUBLE]:
        rc = conv_typed(<double*>NULL, ins, bufs, &g, accumulate)
    else:
        rc = conv_typed(<float*>NULL, ins, bufs, &g, accumulate)
    return DONE if rc == 0 else BAD_GEOMETRY


cdef int run_conv(const int64_t* ins, const Run* run) noexcept nogil:
    return conv_images(ins, run.bufs, ins[CONV_N], False)


# How a loop over images (run_images) sees each buffer it touches (the instruction set numbers
# them): the images in hand of it (ROLE_BATCH); a region of the thread's scratch (a value
# that lives and dies in the loop, for the images in hand, or a conv workspace:
# ROLE_SCRATCH); or the thread's partial result (a reduction over the images, a filter
# gradient: ROLE_PARTIAL), combined in thread order after the loop.
IMAGE_ROLES = {"batch": ROLE_BATCH, "scratch": ROLE_SCRATCH, "partial": ROLE_PARTIAL}


cdef int images_on_thread(const int64_t* ins, char** bufs, char** tbufs, const Run* run,
                          int t, int nt, double* times) noexcept nogil:
    """Thread t's share of a loop over images (see run_images), a chunk of them at a time;
    with ``times``, it adds the wall time of each step to times[k]."""
    cdef int64_t n = ins[IMAGES_N], chunk = ins[IMAGES_CHUNK], n_roles = ins[IMAGES_N_ROLES]
    cdef const int64_t* roles = ins + IMAGES_ROLES
    cdef const int64_t* steps = roles + ROLE_LEN * n_roles  # (n_steps, then the steps)
    cdef int64_t lo = t * n // nt, hi = (t + 1) * n // nt, b0, cnt, k, j
    cdef const int64_t* role
    cdef const int64_t* step
    cdef const int64_t* fields
    cdef const int64_t* kernel
    cdef char* base = bufs[ins[IMAGES_SCRATCH]] + t * ins[IMAGES_PER_THREAD]
    cdef int status = 0
    cdef int64_t reduction, bytes
    cdef timespec t0, t1
    cdef int64_t regs = t * run.n_regs * BLOCK, ptrs = t * run.n_regs  # (this thread's)
    for k in range(n_roles):
        role = roles + ROLE_LEN * k
        if role[ROLE_KIND] == ROLE_BATCH:
            continue
        tbufs[role[ROLE_BUF]] = base + role[ROLE_WHERE]
        if role[ROLE_KIND] == ROLE_PARTIAL:  # from the identity of its reduction
            reduction, bytes = role[ROLE_REDUCTION], role[ROLE_BYTES]
            if reduction & 4:
                fill_value(<double*>tbufs[role[ROLE_BUF]],
                           <double>reduce_identity(reduction & 3), bytes // 8)
            else:
                fill_value(<float*>tbufs[role[ROLE_BUF]], <float>reduce_identity(reduction & 3),
                           bytes // 4)
    b0 = lo
    while b0 < hi and status == 0:
        cnt = hi - b0 if hi - b0 < chunk else chunk
        for k in range(n_roles):
            role = roles + ROLE_LEN * k
            if role[ROLE_KIND] == ROLE_BATCH:
                tbufs[role[ROLE_BUF]] = bufs[role[ROLE_BUF]] + b0 * role[ROLE_WHERE]
        step = steps + 1
        for k in range(steps[0]):
            if times != NULL:
                clock_gettime(CLOCK_MONOTONIC, &t0)
            fields = step + INSTRUCTION_FIELDS
            if step[INSTRUCTION_OPCODE] == OP_CONV:  # a filter gradient adds onto the partial
                status = conv_images(fields, tbufs, cnt, True)
            else:  # a fused kernel, on the elements of cnt images
                kernel = fields + FUSED_KERNEL
                j = cnt * shape_size(kernel + KERNEL_SHAPE, <int>kernel[KERNEL_NDIM]) // n
                if fields[FUSED_IS_DOUBLE]:
                    run_fused_range(run.regs + regs, <double**>run.ptrs + ptrs, kernel,
                                    run.consts, tbufs, 0, j, NULL)
                else:
                    run_fused_range(<float*>run.regs + regs, <float**>run.ptrs + ptrs, kernel,
                                    run.consts, tbufs, 0, j, NULL)
            if times != NULL:
                clock_gettime(CLOCK_MONOTONIC, &t1)
                times[k] += (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec)
            if status:
                break
            step += step[INSTRUCTION_LENGTH]
        b0 += cnt
    return status


cdef int run_images(const int64_t* ins, const Run* run) noexcept nogil:
    """A loop over images. Its threads split the batch; each runs every step of the loop on
    a few images at a time, while they are in its cache, so values that live and die in the
    loop never leave the thread's scratch.

    Fields (isa.py): the images, how many a thread runs each step on at a time, the scratch
    buffer, its bytes per thread, the threads it is for, the buffers a thread sees (>= nbuf),
    where the steps' times go in a profile, the roles of the buffers (the role part), the
    steps. Steps are OP_CONV (filter gradients add onto a partial) and OP_FUSED over [n, ...]
    (their reductions, over the images, into partials). With a profile (run.times), the
    first thread's time in each step is added to it."""
    cdef int64_t n = ins[IMAGES_N], n_roles = ins[IMAGES_N_ROLES], k, count
    cdef int64_t one = 1, width = ins[IMAGES_WIDTH]
    cdef const int64_t* role
    cdef char** bufs = run.bufs
    cdef int64_t nbuf = run.nbuf
    cdef double* times = run.times + ins[IMAGES_PROFILE_SLOT] if run.times != NULL else NULL
    cdef int nt = run.max_threads, t, status = 0
    if width < nbuf:  # pointers per thread
        width = nbuf
    if nt > ins[IMAGES_THREADS]:
        nt = <int>ins[IMAGES_THREADS]
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
        role = ins + IMAGES_ROLES + ROLE_LEN * k
        if role[ROLE_KIND] != ROLE_PARTIAL or status:
            continue
        memcpy(bufs[role[ROLE_BUF]], tbufs[role[ROLE_BUF]], role[ROLE_BYTES])
        for t in range(1, nt):
            if role[ROLE_REDUCTION] & 4:
                count = role[ROLE_BYTES] // 8
                reduce_block(<double*>bufs[role[ROLE_BUF]],
                             <double*>tbufs[t * width + role[ROLE_BUF]],
                             <int>(role[ROLE_REDUCTION] & 3), 1, &count, &one, 0, count)
            else:
                count = role[ROLE_BYTES] // 4
                reduce_block(<float*>bufs[role[ROLE_BUF]],
                             <float*>tbufs[t * width + role[ROLE_BUF]],
                             <int>(role[ROLE_REDUCTION] & 3), 1, &count, &one, 0, count)
    free(tbufs)
    free(statuses)
    return status
