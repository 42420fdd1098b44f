"""Loops over images: consecutive per-image steps run a few images at a time.

A CNN's step streams each activation through memory once per kernel: the convolution
writes it, the bias + activation kernel reads it and writes its result, the pooling reads
that. Each of these steps works image by image (a convolution or pooling over the images
of a batch, an elementwise kernel over ``[n, ...]``), so a run of them with the same
batch can instead run as one loop: every thread takes its share of the images, a chunk at
a time, and runs all the steps on the chunk while it is in the thread's cache. A value
written and read only inside the loop then never leaves that thread's scratch (a chunk's
worth), and the steps' other inputs and outputs are read and written once.

What a step's operands are to a loop (its "roles"):

- ``batch``: an array of ``[n, ...]`` the step reads or writes image by image;
- ``shared``: read whole by every image (weights, a bias broadcast over the images);
- ``workspace``: a convolution's im2col scratch (one image's, per thread);
- ``Partial``: a result summed (or maxed) over the images: a filter gradient, a bias
  gradient's reduction. Each thread accumulates its own, and the loop combines them in
  thread order at the end (deterministic for a given number of threads), so nothing later
  in the loop may read it.

The executor's side is ``run_images`` in funcgrad/_kernels/executor.pyx.
"""

import math
from dataclasses import dataclass

import numpy as np

from .._kernels.executor import CONV_KERNELS, IMAGE_ROLES, REDUCE_KINDS

# A chunk's values are meant to stay in the thread's L2 cache (2 MB a core here); larger
# chunks than this many bytes of images spill it.
CHUNK_BYTES = 1 << 19
# Loops over fewer bytes than this run on one thread (waking the others costs more).
THREADED_MIN_BYTES = 1 << 20
_ALIGN = 64

ROLE_CODES = IMAGE_ROLES  # the executor's codes of the roles

_K = CONV_KERNELS
# Conv kernels: the roles of their operands (a, b, output). Filter gradients sum over the
# images.
_CONV_ROLES = {
    _K["conv2d"]: ("batch", "shared", "batch"),
    _K["conv2d_input_grad"]: ("batch", "shared", "batch"),
    _K["conv2d_filter_grad"]: ("batch", "batch", "partial"),
    _K["max_pool2d"]: ("batch", None, "batch"),
    _K["max_pool2d_select"]: ("batch", "batch", "batch"),
    _K["max_pool2d_scatter"]: ("batch", "batch", "batch"),
    _K["avg_pool2d"]: ("batch", None, "batch"),
    _K["avg_pool2d_transpose"]: ("batch", None, "batch"),
    _K["max_pool2d_index"]: ("batch", None, "batch"),
    _K["max_pool2d_scatter_index"]: (None, "batch", "batch"),
}


@dataclass(frozen=True)
class Partial:
    """A per-thread partial result: its reduction (REDUCE_KINDS) and dtype."""

    kind: str
    dtype: np.dtype


@dataclass
class ImageLoop:
    """The payload of an ``images`` step (see the module docstring)."""

    n: int  # images
    chunk: int  # images a thread runs every step on at a time
    steps: list  # (kind, payload): "conv" and "fused" steps
    roles: dict  # storage -> "batch" | "scratch" (lives in the loop) | "workspace" | Partial
    sizes: dict  # storage -> bytes (all images; a thread's, for workspaces and partials)
    offsets: dict  # storage -> where its region starts in a thread's scratch (bytes)
    scratch: int  # the storage holding every thread's scratch
    per_thread: int  # bytes of scratch a thread uses
    threads: int  # threads the scratch is for (1: the loop stays on the calling thread)

    @property
    def inside(self):
        """The storages that live only in the loop: they have no buffer of their own."""
        return {s for s, role in self.roles.items() if role in ("scratch", "workspace")}


def step_roles(step, storage):
    """``(n, {storage: role})`` for a step that works image by image over n >= 2 images,
    else None. ``storage`` maps the step's Vars to their storages."""
    kind, p = step
    if kind == "conv":
        kernel, geom, a, b, dst, ws, _, out, slots = p[:9]
        n, roles = geom[0], {}
        role_a, role_b, role_out = _CONV_ROLES[kernel]
        if slots is not None:  # the argmax slots a pool writes and its scatter reads
            roles[slots] = "batch"
        for var, role in ((a, role_a), (b, role_b)):
            if role is not None and not _add(roles, storage[var], role):
                return None
        out_role = Partial("sum", out.dtype) if role_out == "partial" else role_out
        if not _add(roles, dst, out_role):
            return None
        roles[ws] = "workspace"
        return (n, roles) if n >= 2 else None
    if kind != "fused":
        return None
    dtype, shape, in_desc, outs, _, reductions = p
    if len(shape) < 2 or shape[0] < 2:
        return None
    roles = {}
    for a, strides in in_desc:
        role = "batch" if strides and strides[0] != 0 else "shared"
        if not _add(roles, storage[a], role):
            return None
    for _, s, _ in outs:
        if not _add(roles, s, "batch"):
            return None
    for _, s, how, strides in reductions:
        if strides[0] != 0 or not _add(roles, s, Partial(how, np.dtype(dtype))):
            return None  # a reduction keeping the images apart: not over the loop
    return shape[0], roles


def _add(roles, s, role):
    """Record storage s's role; False if it already has another (read two ways)."""
    return roles.setdefault(s, role) == role


def form_image_loops(steps, storage, nbytes, reads, writes, keep, new_scratch, max_threads):
    """Replace runs of consecutive per-image steps over the same images by ``images`` steps,
    where that keeps some value inside the loop. Returns the new steps and the storages
    that live only in loops (they get no buffer of their own).

    ``nbytes``: storage -> bytes; ``reads``/``writes``: step -> storages; ``keep``: storages
    needed after the program (its outputs); ``new_scratch(nbytes)`` makes a storage."""
    out, internal = [], set()
    run, run_n, run_roles = [], None, {}

    def flush(end):
        nonlocal run, run_n, run_roles
        loop = _loop(run, run_n, run_roles, steps[end:], nbytes, reads, writes, keep)
        if loop is None:
            out.extend(run)
        else:
            loop_step, lives_in = _layout(loop, run_n, nbytes, new_scratch, max_threads)
            internal.update(lives_in)
            out.append(loop_step)
        run, run_n, run_roles = [], None, {}

    for i, step in enumerate(steps):
        found = step_roles(step, storage)
        if (
            found is not None
            and run
            and found[0] == run_n
            and _joins(run_roles, found[1], step, reads)
        ):
            run.append(step)
            for s, role in found[1].items():
                run_roles.setdefault(s, role)
            continue
        if run:
            flush(i)
        if found is not None:
            run, run_n, run_roles = [step], found[0], dict(found[1])
        else:
            out.append(step)
    if run:
        flush(len(steps))
    return out, internal


def _joins(run_roles, roles, step, reads):
    """Whether a step may join a loop: it reads nothing the loop sums over the images (that
    is complete only after it) and sees every storage in the same role."""
    for s in reads(step):
        if isinstance(run_roles.get(s), Partial):
            return False
    return all(run_roles.get(s, role) == role for s, role in roles.items())


def _loop(run, n, roles, after, nbytes, reads, writes, keep):
    """The roles of a run's storages, with values that live and die in it as "scratch";
    None if nothing would (a loop would then only add chunking overheads)."""
    batch = [s for s, role in roles.items() if role == "batch"]
    if len(run) < 2 or any(nbytes[s] % n for s in batch):  # (images of whole bytes)
        return None
    read_after = {s for step in after for s in reads(step)} | keep
    written = {s for step in run for s in writes(step)}
    lives_in = {s for s in batch if s in written and s not in read_after}
    if not lives_in:
        return None
    return run, {s: ("scratch" if s in lives_in else role) for s, role in roles.items()}


def _layout(loop, n, nbytes, new_scratch, max_threads):
    """Place each thread's scratch: the chunk's share of every loop-internal value, the
    conv workspaces, the partial results. Returns the ``images`` step and the storages
    that live only in it."""
    run, roles = loop
    steps = [_minimal_workspace(step) for step in run]
    sizes = {s: nbytes[s] for s, role in roles.items() if role != "shared"}
    for kind, p in steps:  # one image's workspace, of the kernel's dtype
        if kind == "conv":
            sizes[p[5]] = p[6] * p[7].dtype.itemsize
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
    scratch = new_scratch(max(at * threads, 1))
    loop = ImageLoop(n, chunk, steps, roles, sizes, offsets, scratch, at, threads)
    return ("images", loop), loop.inside


def _minimal_workspace(step):
    """A conv step inside a loop runs on one thread: one image's workspace is enough."""
    kind, p = step
    if kind != "conv":
        return step
    return kind, (*p[:6], p[9], *p[7:])


def partial_code(role):
    """The executor's code of a partial result's reduction and dtype."""
    return REDUCE_KINDS[role.kind] + 4 * int(role.dtype == np.float64)


def describe(loop, describe_step):
    """One line about a loop, for profiles."""
    what = "; ".join(describe_step(kind, p).split(" geometry")[0] for kind, p in loop.steps)
    return f"{loop.n} images, {loop.chunk} at a time: {what}"
