"""Instructions over batches of NCHW images: convolution and pooling kernels, and loops
that run per-image instructions a chunk of images at a time (schedule.py forms them).

They answer what every instruction does (base.py); a loop's steps are instructions
of their own, listed and timed inside it.
"""

from dataclasses import dataclass, replace

from .. import isa
from ..isa import CONV_GEOMETRY, CONV_KERNELS, IMAGE_ROLES
from .base import Instruction, Partial, View, add_role, is_double

# ---------------------------------------------------------------------- convolution and pooling

# Each kernel's operands (a, b, result) to a loop over images: "batch" (image by image),
# "shared" (read whole by every image), "partial" (summed over the images), None (unused).
_CONV_ROLES = {
    "conv2d": ("batch", "shared", "batch"),
    "conv2d_input_grad": ("batch", "shared", "batch"),
    "conv2d_filter_grad": ("batch", "batch", "partial"),
    "max_pool2d": ("batch", None, "batch"),
    "max_pool2d_select": ("batch", "batch", "batch"),
    "max_pool2d_scatter": ("batch", "batch", "batch"),
    "avg_pool2d": ("batch", None, "batch"),
    "avg_pool2d_transpose": ("batch", None, "batch"),
    "max_pool2d_index": ("batch", None, "batch"),  # and writes the argmax slots
    "max_pool2d_scatter_index": (None, "batch", "batch"),  # reads the slots, not a
}
assert set(_CONV_ROLES) == set(CONV_KERNELS)


@dataclass(frozen=True)
class Conv(Instruction):
    """A convolution or pooling kernel over NCHW images (``kernel``: a CONV_KERNELS name).

    ``geometry``: x's shape, output features, window, stride, padding (lo, then hi) and
    dilation; ``b`` is ``a`` again for one-operand pools. The workspace (im2col) is a
    storage of its own, counted as read so that it is released right after. A max pool
    whose gradient's scatter has the same geometry saves its argmax ``slots`` (a byte per
    output, kernel max_pool2d_index) and the scatter reads them (max_pool2d_scatter_index)
    instead of searching the input again."""

    kind = "conv"
    kernel: str
    geometry: tuple
    a: View
    b: View
    out: View
    workspace: int  # storage
    workspace_size: int  # elements
    workspace_min: int  # elements for one image (in a loop, a thread runs one at a time)
    slots: int | None = None  # storage of the argmax slots

    @property
    def reads(self):
        if self.kernel == "max_pool2d_index":
            return [self.a.storage, self.workspace]
        if self.kernel == "max_pool2d_scatter_index":  # the slots, not the input
            return [self.slots, self.b.storage, self.workspace]
        return [self.a.storage, self.b.storage, self.workspace]

    @property
    def writes(self):
        if self.kernel == "max_pool2d_index":
            return [self.out.storage, self.workspace, self.slots]
        return [self.out.storage, self.workspace]

    may_use_threads = True

    @property
    def hidden(self):
        return {self.workspace}  # scratch, not a value

    @property
    def workspaces(self):
        return {self.workspace: self.workspace_size * self.out.dtype.itemsize}

    def describe(self, listing=False):
        return f"{self.kernel} -> {self.out.shape} geometry {list(self.geometry)}"

    def loop_roles(self):
        n, roles = self.geometry[0], {}
        role_a, role_b, role_out = _CONV_ROLES[self.kernel]
        if self.slots is not None:  # the argmax slots a pool writes and its scatter reads
            roles[self.slots] = "batch"
        for view, role in ((self.a, role_a), (self.b, role_b)):
            if role is not None and not add_role(roles, view.storage, role):
                return None
        out_role = Partial("sum", self.out.dtype) if role_out == "partial" else role_out
        if not add_role(roles, self.out.storage, out_role):
            return None
        roles[self.workspace] = "workspace"
        return (n, roles) if n >= 2 else None

    def in_loop(self):
        return replace(self, workspace_size=self.workspace_min)

    def fields(self, enc):
        a, b = enc.buffer(self.a.storage), enc.buffer(self.b.storage)
        if self.kernel == "max_pool2d_index":  # kernel operand b: the slots written
            b = enc.buffer(self.slots)
        elif self.kernel == "max_pool2d_scatter_index":  # a: the slots read
            a = enc.buffer(self.slots)
        return dict(
            zip(CONV_GEOMETRY.split(), self.geometry, strict=True),
            kernel=CONV_KERNELS[self.kernel],
            is_double=is_double(self.out),
            a=a,
            b=b,
            out=enc.buffer(self.out.storage),
            workspace=enc.buffer(self.workspace),
            workspace_size=self.workspace_size,
        )


# ---------------------------------------------------------------------- loops over images


@dataclass(frozen=True)
class ImageLoop(Instruction):
    """Per-image instructions run a chunk of images at a time by each thread (see
    schedule.py). Roles: "batch", "shared", "scratch" (lives in the loop), "workspace" or a
    Partial."""

    kind = "images"
    in_loop_bodies = False
    n: int  # images
    chunk: int  # images a thread runs every step on at a time
    steps: tuple  # Conv and Fused instructions
    roles: dict  # storage -> role
    sizes: dict  # storage -> bytes (all images; a thread's, for workspaces and partials)
    offsets: dict  # storage -> where its region starts in a thread's scratch (bytes)
    scratch: int  # the storage holding every thread's scratch
    per_thread: int  # bytes of scratch a thread uses
    threads: int  # threads the scratch is for (1: the loop stays on the calling thread)

    @property
    def inside(self):
        """The storages that live only in the loop: they have no buffer of their own."""
        return {s for s, role in self.roles.items() if role in ("scratch", "workspace")}

    @property
    def inner(self):
        return self.steps

    @property
    def scratch_bytes(self):
        return max(self.per_thread * self.threads, 1)

    @property
    def reads(self):
        """What it reads from outside, and its scratch."""
        reads, written, inside = {}, set(), self.inside
        for q in self.steps:
            reads.update(dict.fromkeys(s for s in q.reads if s not in written))
            written.update(q.writes)
        return [s for s in reads if s not in inside] + [self.scratch]

    @property
    def writes(self):
        inside = self.inside
        sub = [s for q in self.steps for s in q.writes if s not in inside]
        return list(dict.fromkeys(sub)) + [self.scratch]

    may_use_threads = True

    @property
    def hidden(self):
        return {self.scratch}

    @property
    def registers(self):
        return max(q.registers for q in self.steps)

    def describe(self, listing=False):
        if listing:
            return f"{self.n} images, {self.chunk} at a time on {self.threads} thread(s):"
        what = "; ".join(str(q).split(" geometry")[0] for q in self.steps)
        return f"{self.n} images, {self.chunk} at a time: {what}"

    def lines(self, name, indent="  "):
        head = super().lines(name, indent)
        return head + [line for q in self.steps for line in q.lines(name, indent + "    ")]

    def fields(self, enc):
        """As run_images (funcgrad/_kernels/images.pyx) reads it."""
        roles = []
        for s, role in sorted(self.roles.items()):
            if role == "shared":  # every thread reads it where it is
                continue
            if role == "batch":
                kind, where, size, reduction = "batch", self.sizes[s] // self.n, 0, 0
            elif isinstance(role, Partial):
                kind, where, size, reduction = "partial", self.offsets[s], self.sizes[s], role.code
            else:  # scratch, workspace
                kind, where, size, reduction = "scratch", self.offsets[s], 0, 0
            roles.append(
                isa.encoders.role(
                    buf=enc.buffer(s),
                    kind=IMAGE_ROLES[kind],
                    where=where,
                    bytes=size,
                    reduction=reduction,
                )
            )
        fields = dict(
            n=self.n,
            chunk=self.chunk,
            scratch=enc.buffer(self.scratch),
            per_thread=self.per_thread,
            threads=self.threads,
            width=enc.n_buffers,
            profile_slot=enc.profile_slots,
            n_roles=len(roles),
            roles=roles,
            n_steps=len(self.steps),
        )
        enc.profile_slots += len(self.steps)  # its steps' times follow the instructions'
        return dict(fields, steps=[enc.instruction(q) for q in self.steps])
