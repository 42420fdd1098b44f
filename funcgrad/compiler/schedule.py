"""Instruction list -> instruction list: GEMM epilogues, then loops over images.

**GEMM epilogues.** A fused kernel over exactly a GEMM's output, reading it, joins the GEMM
as its epilogue: each thread then runs the kernel on the rows it just computed (bias +
activation while they are in its cache).

**Loops over images.** A CNN's step streams each activation through memory once per
kernel: the convolution writes it, the bias + activation kernel reads it and writes its
result, the pooling reads that. Each of these steps works image by image (a convolution or
pooling over the images of a batch, an elementwise kernel over ``[n, ...]``), so a run of
them with the same batch can instead run as one loop: every thread takes its share of the
images, a chunk at a time, and runs all the steps on the chunk while it is in the thread's
cache. A value written and read only inside the loop then never leaves that thread's
scratch (a chunk's worth), and the steps' other inputs and outputs are read and written
once.

What a step's operands are to a loop (their "roles", from each instruction's
``loop_roles``):

- ``batch``: an array of ``[n, ...]`` the step reads or writes image by image;
- ``shared``: read whole by every image (weights, a bias broadcast over the images);
- ``workspace``: a convolution's im2col scratch (one image's, per thread);
- ``Partial``: a result summed (or maxed) over the images: a filter gradient, a bias
  gradient's reduction. Each thread accumulates its own, and the loop combines them in
  thread order at the end (deterministic for a given number of threads), so nothing later
  in the loop may read it.

The executor's side is ``run_images`` in funcgrad/_kernels/images.pyx.
"""

import math

from .instructions import Fused, Gemm, GemmEpilogue, ImageLoop, Partial

# A chunk's values are meant to stay in the thread's L2 cache (2 MB a core here); larger
# chunks than this many bytes of images spill it.
CHUNK_BYTES = 1 << 19
# Loops over fewer bytes than this run on one thread (waking the others costs more).
THREADED_MIN_BYTES = 1 << 20
_ALIGN = 64


def gemm_epilogues(instructions):
    """Join fused kernels to the GEMMs whose results they read. A kernel moves up to its
    GEMM when all it reads is written by then (an SGD update of the weights the GEMM's
    gradient is for, scheduled last, say)."""
    out, written_at = [], {}
    for ins in instructions:
        if isinstance(ins, Fused) and not ins.reductions:
            ready = max((written_at.get(i.view.storage, -1) for i in ins.inputs), default=-1)
            later = range(max(ready, 0), len(out))
            at = next((i for i in later if _epilogue_fits(out[i], ins)), -1)
            if at >= 0:
                out[at] = GemmEpilogue(out[at], ins)
                for s in ins.writes:
                    written_at[s] = at
                continue
        for s in ins.writes:
            written_at[s] = len(out)
        out.append(ins)
    return out


def _epilogue_fits(ins, kernel):
    """Whether fused ``kernel`` may run as the epilogue of instruction ``ins``: a single
    GEMM whose result the kernel reads, with as many elements as the kernel runs over."""
    if not isinstance(ins, Gemm):
        return False
    reads_c = any(
        i.view.storage == ins.c.storage and i.view.shape == kernel.shape for i in kernel.inputs
    )
    return ins.batch == 1 and math.prod(kernel.shape) == ins.m * ins.n and reads_c


def form_image_loops(instructions, nbytes, keep, max_threads):
    """Replace runs of consecutive per-image instructions over the same images by loops
    (ImageLoop), where that keeps some value inside the loop.

    ``nbytes``: storage -> bytes, for every storage; ``keep``: storages needed after the
    program (its outputs). A loop's scratch is a new storage, numbered after those of
    ``nbytes``. Returns the new instructions and ``nbytes`` with the loops' scratch."""
    nbytes = dict(nbytes)
    out = []
    run, run_n, run_roles = [], None, {}

    def flush(end):
        nonlocal run, run_n, run_roles
        loop = _loop(run, run_n, run_roles, instructions[end:], nbytes, keep)
        if loop is None:
            out.extend(run)
        else:
            out.append(_layout(loop, run_n, nbytes, max_threads))
        run, run_n, run_roles = [], None, {}

    for i, ins in enumerate(instructions):
        found = ins.loop_roles()
        if found is not None and run and found[0] == run_n and _joins(run_roles, found[1], ins):
            run.append(ins)
            for s, role in found[1].items():
                run_roles.setdefault(s, role)
            continue
        if run:
            flush(i)
        if found is not None:
            run, run_n, run_roles = [ins], found[0], dict(found[1])
        else:
            out.append(ins)
    if run:
        flush(len(instructions))
    return out, nbytes


def _joins(run_roles, roles, ins):
    """Whether an instruction may join a loop: it reads nothing the loop sums over the
    images (that is complete only after it) and sees every storage in the same role."""
    for s in ins.reads:
        if isinstance(run_roles.get(s), Partial):
            return False
    return all(run_roles.get(s, role) == role for s, role in roles.items())


def _loop(run, n, roles, after, nbytes, keep):
    """The roles of a run's storages, with values that live and die in it as "scratch";
    None if nothing would (a loop would then only add chunking overheads)."""
    batch = [s for s, role in roles.items() if role == "batch"]
    if len(run) < 2 or any(nbytes[s] % n for s in batch):  # (images of whole bytes)
        return None
    read_after = {s for ins in after for s in ins.reads} | keep
    written = {s for ins in run for s in ins.writes}
    lives_in = {s for s in batch if s in written and s not in read_after}
    if not lives_in:
        return None
    return run, {s: ("scratch" if s in lives_in else role) for s, role in roles.items()}


def _layout(loop, n, nbytes, max_threads):
    """Place each thread's scratch: the chunk's share of every loop-internal value, the
    conv workspaces, the partial results. Returns the loop, whose scratch it adds to
    ``nbytes``."""
    run, roles = loop
    steps = tuple(ins.in_loop() for ins in run)
    sizes = {s: nbytes[s] for s, role in roles.items() if role != "shared"}
    for ins in steps:  # one image's workspace, of the kernel's dtype
        sizes.update(ins.workspaces)
    per_image = sum(nbytes[s] // n for s, role in roles.items() if role in ("batch", "scratch"))
    threads = max_threads if n * per_image >= THREADED_MIN_BYTES else 1
    threads = max(1, min(threads, n))
    chunk = max(1, min(CHUNK_BYTES // max(per_image, 1), math.ceil(n / threads)))
    offsets, at = {}, 0
    for s, role in sorted(roles.items()):
        if role == "scratch":
            size = chunk * (sizes[s] // n)
        elif role == "workspace" or isinstance(role, Partial):
            size = sizes[s]
        else:
            continue
        offsets[s] = at
        at += -(-max(size, 1) // _ALIGN) * _ALIGN
    scratch = max(nbytes, default=-1) + 1
    loop = ImageLoop(n, chunk, steps, roles, sizes, offsets, scratch, at, threads)
    nbytes[scratch] = loop.scratch_bytes
    return loop
