"""Graph -> Program: fusion, memory planning and instruction encoding for the executor.

After :func:`~funcgrad.compiler.passes.optimize`, each equation becomes one of:
a view (reshape: no work), part of a fused elementwise kernel (maximal groups of
same-shape float operations, broadcasting operands read with zero strides), a GEMM
(transposes of the last two axes folded into the BLAS call), a reduction, a strided
copy (transpose, broadcast, slice, flip, concatenate, pad), a row kernel (softmax family,
argmax), a convolution or pooling kernel, random bits, a dtype conversion, an integer
operation or reduction, or a call back into the NumPy reference for what has no compiled
kernel. Runs of per-image steps then become
loops over images (image_loops.py). Buffers are assigned by liveness and allocated once
per program; each call allocates only its outputs.
"""

import ctypes
import itertools
import logging
import math
import mmap
import os
import threading
import weakref

import numpy as np

from .. import primitives as P
from .. import threads
from .._kernels import conv as conv_kernels
from .._kernels.executor import (
    CAST_DTYPES,
    COMPILED_INT_OPS,
    COMPILED_VM_OPS,
    CONV_KERNELS,
    MAX_DIMS,
    MAX_POOL_SLOTS,
    OPCODES,
    PARALLEL_MIN,
    RANDOM_BITS_KINDS,
    REDUCE_KINDS,
    SOFTMAX_KINDS,
    TEMPLATE_KINDS,
    Executor,
)
from ..core import Eqn, Literal, Var, aval_str, eval_impl, native
from ..errors import user_frame
from . import conv_forms, isa, lapack
from .fusion import fuse_elementwise, is_fused_reduction, vm_dtype
from .image_loops import ROLE_CODES, Partial, form_image_loops, partial_code
from .image_loops import describe as describe_loop
from .isa import INT_OPS, vm_code
from .passes import optimize
from .templates import match as match_template

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_CONV_FORM_KERNELS = {
    "forward": "conv2d",
    "input_grad": "conv2d_input_grad",
    "filter_grad": "conv2d_filter_grad",
}
# The executor's dtype codes, keyed by the dtype itself (native byte order), never by its
# name: ">f4" is named float32 too.
_DTYPE_CODES = {np.dtype(name): code for name, code in CAST_DTYPES.items()}
_RANDOM_BITS_CODES = {np.dtype(name): code for name, code in RANDOM_BITS_KINDS.items()}
# What a fill writes (value + index * step), in the executor's order.
_FILL_DTYPES = tuple(map(np.dtype, (np.float32, np.float64, np.int32, np.int64)))
TEMPLATE_NAMES = {code: name for name, code in TEMPLATE_KINDS.items()}
isa.check_build(COMPILED_VM_OPS, COMPILED_INT_OPS)
_log = logging.getLogger("funcgrad.compiler")
_reported = set()  # primitives whose NumPy fallback was logged (once each)


def _contiguous_strides(shape):
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= d
    return list(reversed(strides))


def _collapse(shape, *stride_lists):
    """Merge adjacent dimensions that every operand walks contiguously; drop size-1 ones."""
    dims = [(d, [s[i] for s in stride_lists]) for i, d in enumerate(shape) if d != 1]
    if not dims:
        return [1], [[0] for _ in stride_lists]
    out = [dims[0]]
    for d, strides in dims[1:]:
        pd, pstrides = out[-1]
        if all(ps == s * d for ps, s in zip(pstrides, strides)):
            out[-1] = (pd * d, strides)
        else:
            out.append((d, strides))
    if len(out) > MAX_DIMS:
        raise NotImplementedError(f"more than {MAX_DIMS} dimensions that cannot be merged")
    return [d for d, _ in out], [[s[k] for _, s in out] for k in range(len(stride_lists))]


def _reduced_strides(shape, out_shape, axes):
    """Element strides into a contiguous ``out_shape`` result of reducing ``shape`` over
    ``axes``, walking ``shape``: 0 along the reduced axes."""
    out_strides = iter(_contiguous_strides(out_shape))
    return [0 if i in axes else next(out_strides) for i in range(len(shape))]


def _broadcast_strides(shape, out_shape):
    """Element strides reading a contiguous ``shape`` array broadcast to ``out_shape``."""
    base = _contiguous_strides(shape)
    lead = len(out_shape) - len(shape)
    return [0] * lead + [
        0 if d == 1 and o != 1 else s for d, s, o in zip(shape, base, out_shape[lead:])
    ]


class CompiledProgram:
    """A graph lowered for the Cython executor. Call it like a ReferenceProgram:
    ``program(consts, args) -> list of output arrays``."""

    def __init__(self, graph):
        self.graph = graph = optimize(graph)
        self._storage = {}  # Var -> storage id (views share their source's storage)
        self._n_storage = 0
        self._scratch = {}  # storage id -> bytes of kernel workspaces (no Var of their own)
        self._code, self._consts, self._callbacks = [], [], []
        self._n_regs = 1
        inputs = graph.constvars + graph.invars
        self.n_inputs = len(inputs)
        for v in inputs:
            self._new_storage(v)
        self._steps = []  # (kind, payload) in execution order, before encoding
        self._lower(graph)
        self._steps = self._gemm_epilogues(self._steps)
        keep = {self._storage[a] for a in graph.outvars if isinstance(a, Var)}
        self._steps, self._internal = form_image_loops(
            self._steps,
            self._storage,
            self._nbytes(),
            self._reads,
            self._writes,
            keep,
            self._new_scratch,
            conv_kernels.get_num_threads(),
        )
        self._plan_memory(graph)
        self._encode()
        self._plan_results()
        self._threaded = any(map(self._may_use_threads, self._steps))
        self._lock = threading.Lock()
        _live_programs.add(self)

    # -------------------------------------------------------------- lowering

    def _new_storage(self, var):
        self._storage[var] = self._n_storage
        self._n_storage += 1
        return self._storage[var]

    def _lower(self, graph):
        uses = {}
        for e in graph.eqns:
            for a in e.inputs:
                if isinstance(a, Var):
                    uses[a] = uses.get(a, 0) + 1
        for a in graph.outvars:
            if isinstance(a, Var):
                uses[a] = uses.get(a, 0) + 1
        eqns, transposed = self._fold_transposes(graph.eqns, uses)
        eqns, flipped = self._fold_flips(eqns, uses)
        eqns = self._live_eqns(eqns, uses)
        self._pool_pairs = self._pooled_with_scatter(eqns)
        self._pool_slots = {}  # pair key -> storage of the argmax slots its pool wrote
        for item in fuse_elementwise(eqns):
            if isinstance(item, list):
                self._lower_fused(item, uses, graph.outvars)
            else:
                self._lower_eqn(item, {**transposed, **flipped})

    @staticmethod
    def _fold_transposes(eqns, uses):
        """matmul(transpose(x)) -> a matmul reading x, with a flag for the BLAS call.

        The rewritten equation names x as its input, so the scheduler sees the real
        dependency; returns the new equation list and {matmul eqn: (flag_a, flag_b)}.
        """
        defs = {e.outputs[0]: e for e in eqns}
        out, transposed = [], {}
        for e in eqns:
            if e.prim is not P.matmul or e.outputs[0].dtype not in _FLOATS:
                out.append(e)
                continue
            inputs, flags = [], []
            for a in e.inputs:
                src = defs.get(a) if isinstance(a, Var) else None
                n = len(a.shape)
                swap = src is not None and src.prim is P.transpose
                if swap and src.params["perm"] == tuple(range(n - 2)) + (n - 1, n - 2):
                    uses[a] -= 1
                    uses[src.inputs[0]] = uses.get(src.inputs[0], 0) + 1
                    a = src.inputs[0]
                    flags.append(True)
                else:
                    flags.append(False)
                inputs.append(a)
            new = Eqn(e.prim, inputs, e.outputs, e.params)
            transposed[new] = tuple(flags)
            out.append(new)
        return out, transposed

    @staticmethod
    def _fold_flips(eqns, uses):
        """conv(g, rev(w)) in the input-gradient form -> a conv reading w, marked flipped:
        the col2im kernel reads the unflipped weights. Returns the new equation list and
        {conv eqn: ("flipped", the rev's axes)}."""
        defs = {e.outputs[0]: e for e in eqns}
        out, flipped = [], {}
        for e in eqns:
            conv = e.prim is P.conv_general_dilated and isinstance(e.inputs[1], Var)
            src = defs.get(e.inputs[1]) if conv else None
            if src is None or src.prim is not P.rev or not isinstance(src.inputs[0], Var):
                out.append(e)
                continue
            lhs, w, axes = e.inputs[0], src.inputs[0], src.params["axes"]
            # Fold only what the col2im kernel will take (every check of _lower_conv): a
            # folded equation must never reach the NumPy reference, which would not flip.
            compiled = isinstance(lhs, Var) and e.outputs[0].dtype in _FLOATS
            if (
                not compiled
                or conv_forms.match(e.params, lhs.shape, w.shape, e.outputs[0].shape, axes) is None
            ):
                out.append(e)  # not a form the kernels take: the flip stays
                continue
            uses[e.inputs[1]] -= 1
            uses[src.inputs[0]] = uses.get(src.inputs[0], 0) + 1
            new = Eqn(e.prim, [lhs, w], e.outputs, e.params)
            flipped[new] = ("flipped", axes)
            out.append(new)
        return out, flipped

    @staticmethod
    def _pool_key(e):
        """What a max-pool and the scatter of its gradient have in common: the pooled
        input and the geometry."""
        p = e.params
        return e.inputs[0], tuple(p["window"]), tuple(p["stride"]), tuple(map(tuple, p["padding"]))

    @classmethod
    def _pooled_with_scatter(cls, eqns):
        """Keys of max_pool2d equations whose input a max_pool2d_scatter routes a gradient
        through with the same geometry: the pool saves its argmax slots (a byte per output)
        and the scatter reads them instead of searching the input again, as PyTorch does."""
        found = {P.max_pool2d: set(), P.max_pool2d_scatter: set()}
        for e in eqns:
            if e.prim in found and e.outputs[0].dtype in _FLOATS and isinstance(e.inputs[0], Var):
                if math.prod(e.params["window"]) <= MAX_POOL_SLOTS:
                    found[e.prim].add(cls._pool_key(e))
        return found[P.max_pool2d] & found[P.max_pool2d_scatter]

    @staticmethod
    def _live_eqns(eqns, uses):
        """The equations whose results are still used once folds have removed some uses."""
        live = []
        for e in reversed(eqns):
            if uses.get(e.outputs[0], 0) > 0:
                live.append(e)
            else:
                for a in e.inputs:
                    if isinstance(a, Var):
                        uses[a] -= 1
        live.reverse()
        return live

    def _out(self, var):
        return self._new_storage(var)

    def _lower_eqn(self, e, folded):
        """The first instruction kind of the primitive's record (``prim.lowering``) that
        takes the equation, else a call of its NumPy reference."""
        for kind in e.prim.lowering:
            lower = self._LOWERINGS.get(kind)
            if lower is not None and lower(self, e, folded) is not False:
                return
        self._lower_python(e)

    def _lower_view(self, e, folded):
        if not isinstance(e.inputs[0], Var):
            return False
        self._storage[e.outputs[0]] = self._storage[e.inputs[0]]  # a view: same bytes

    def _lower_fill(self, e, folded):
        out = e.outputs[0]
        if e.prim is P.iota and out.dtype in _FILL_DTYPES:
            self._steps.append(("fill", (out, self._out(out), 0.0, 1.0)))
        elif e.prim is P.broadcast_in_dim and isinstance(e.inputs[0], Literal):
            if out.dtype not in _FLOATS:
                return False
            self._steps.append(("fill", (out, self._out(out), float(e.inputs[0].value), 0.0)))
        else:
            return False

    def _lower_cast(self, e, folded):
        x, out = e.inputs[0], e.outputs[0]
        if not isinstance(x, Var) or not _compiled_cast(x, out):
            return False
        self._steps.append(("cast", (x, self._out(out), out)))

    def _lower_argmax(self, e, folded):
        x, out = e.inputs[0], e.outputs[0]
        if not _compiled_argmax(x, out):
            return False
        axis = e.params["axis"]
        rows = [math.prod(x.shape[:axis]), x.shape[axis], math.prod(x.shape[axis + 1 :])]
        self._steps.append(("argmax", (x, self._out(out), out, rows)))

    def _lower_random_bits(self, e, folded):
        if not all(isinstance(a, Var) for a in e.inputs):
            return False
        key, counters = e.inputs
        self._steps.append(("random_bits", (key, counters, self._out(e.outputs[0]), e.outputs[0])))

    def _lower_gemm(self, e, folded):
        if e not in folded:  # (not a float matmul)
            return False
        (a, b), (ta, tb) = e.inputs, folded[e]
        out = e.outputs[0]
        m, n = out.shape[-2], out.shape[-1]
        k = a.shape[-2] if ta else a.shape[-1]
        batch = math.prod(out.shape[:-2])
        if k == 1:  # an outer product: a broadcast multiply, at memory speed and threaded
            # (per-example weight gradients are a batch of these; BLAS took 4x longer)
            shape = [batch, m, n]
            in_desc = [(a, [m, 1, 0]), (b, [n, 0, 1])]  # either layout, as k == 1
            code = [("load", 0, 0, 0, 0), ("load", 1, 1, 0, 0), ("mul", 2, 0, 1, 0)]
            self._n_regs = max(self._n_regs, 3)
            outs = [(out, self._out(out), 2)]
            self._steps.append(("fused", (out.dtype, shape, in_desc, outs, code, [])))
            return
        args = [a, b, self._out(out), ta, tb, m, n, k, batch, m * k, k * n, m * n]
        self._steps.append(("gemm", (args, out.dtype == np.float64)))

    def _gemm_epilogues(self, steps):
        """A fused kernel over exactly a GEMM's output, reading it, joins the GEMM as its
        epilogue: each thread then runs the kernel on the rows it just computed (bias +
        activation while they are in its cache). The kernel moves up to the GEMM when all
        it reads is written by then (an SGD update of the weights the GEMM's gradient is
        for, scheduled last, say)."""
        out, written_at = [], {}
        for step in steps:
            kind, p = step
            if kind == "fused" and not p[5]:
                ready = max((written_at.get(self._storage[a], -1) for a, _ in p[2]), default=-1)
                later = range(max(ready, 0), len(out))
                at = next((i for i in later if self._epilogue_fits(out[i], p)), -1)
                if at >= 0:
                    out[at] = ("gemm_epilogue", (out[at][1], p))
                    for s in self._writes(step):
                        written_at[s] = at
                    continue
            for s in self._writes(step):
                written_at[s] = len(out)
            out.append(step)
        return out

    def _epilogue_fits(self, step, p):
        """Whether fused kernel p may run as the epilogue of GEMM step ``step``."""
        kind, q = step
        if kind != "gemm":
            return False
        args = q[0]
        m, n, batch = args[5], args[6], args[8]
        c = args[2]  # the GEMM's result storage
        reads_c = any(self._storage[a] == c and list(a.shape) == p[1] for a, _ in p[2])
        return batch == 1 and math.prod(p[1]) == m * n and reads_c

    def _lower_reduce(self, e, folded):
        (x,), out = e.inputs, e.outputs[0]
        ints = out.dtype in _INT_DTYPES and x.dtype == out.dtype
        if not isinstance(x, Var) or not (out.dtype in _FLOATS or ints):
            return False
        axes = e.params["axes"]
        kind = REDUCE_KINDS[e.prim.kernel]
        shape, (strides,) = _collapse(x.shape, _reduced_strides(x.shape, out.shape, axes))
        size = math.prod(out.shape)
        if out.dtype not in _FLOATS:  # integers: kind, then the dtype's code for is_double
            p = (kind, x, self._out(out), size, shape, strides, _DTYPE_CODES[out.dtype])
            self._steps.append(("int_reduce", p))
            return
        self._steps.append(
            ("reduce", (kind, x, self._out(out), size, shape, strides, out.dtype == np.float64))
        )

    def _lower_softmax(self, e, folded):
        """A row kernel over x viewed as (outer, n, inner), n the size of the reduced axes;
        those must be adjacent (else False: the NumPy reference runs the equation)."""
        (x,), out = e.inputs, e.outputs[0]
        if not isinstance(x, Var) or out.dtype not in _FLOATS or x.dtype != out.dtype:
            return False
        axes = sorted(e.params["axes"])
        if axes and axes[-1] - axes[0] != len(axes) - 1:  # not adjacent
            return False
        lo, hi = (axes[0], axes[-1] + 1) if axes else (len(x.shape), len(x.shape))
        rows = [math.prod(x.shape[:lo]), math.prod(x.shape[lo:hi]), math.prod(x.shape[hi:])]
        self._steps.append(("softmax", (SOFTMAX_KINDS[e.prim.kernel], x, self._out(out), rows)))
        return True

    def _lower_copy(self, e, folded):
        prim, out = e.prim, e.outputs[0]
        if not all(isinstance(a, Var) for a in e.inputs) or (
            prim is P.pad and out.dtype not in _FLOATS
        ):
            return False
        x = e.inputs[0]
        dst = self._out(out)
        itemsize = out.dtype.itemsize
        ostr = _contiguous_strides(out.shape)
        if prim is P.concatenate:
            axis, offset = e.params["axis"], 0
            for a in e.inputs:
                self._copy(
                    a,
                    0,
                    _contiguous_strides(a.shape),
                    dst,
                    offset * ostr[axis] if out.shape else 0,
                    ostr,
                    a.shape,
                    itemsize,
                )
                offset += a.shape[axis]
            return
        if prim is P.pad:
            self._steps.append(("fill", (out, dst, e.params["value"], 0.0)))
            lo, interior = e.params["lo"], e.params["interior"]
            offset = sum(width * s for width, s in zip(lo, ostr))
            strides = [s * (i + 1) for s, i in zip(ostr, interior)]
            self._copy(x, 0, _contiguous_strides(x.shape), dst, offset, strides, x.shape, itemsize)
            return
        xstr = _contiguous_strides(x.shape)
        if prim is P.transpose:
            src = [xstr[p] for p in e.params["perm"]]
            self._copy(x, 0, src, dst, 0, ostr, out.shape, itemsize)
        elif prim is P.broadcast_in_dim:
            src = [0] * len(out.shape)
            for i, d in enumerate(e.params["broadcast_dimensions"]):
                if x.shape[i] == out.shape[d]:
                    src[d] = xstr[i]
            self._copy(x, 0, src, dst, 0, ostr, out.shape, itemsize)
        elif prim is P.slice:
            offset = sum(s * st for s, st in zip(e.params["start"], xstr))
            src = [st * step for st, step in zip(xstr, e.params["strides"])]
            self._copy(x, offset, src, dst, 0, ostr, out.shape, itemsize)
        elif prim is P.rev:
            axes = e.params["axes"]
            offset = sum((x.shape[a] - 1) * xstr[a] for a in axes if x.shape[a])
            src = [-s if i in axes else s for i, s in enumerate(xstr)]
            self._copy(x, offset, src, dst, 0, ostr, out.shape, itemsize)

    def _copy(
        self, src_var, src_offset, src_strides, dst, dst_offset, dst_strides, shape, itemsize
    ):
        if math.prod(shape) == 0:
            return
        shape, (s, d) = _collapse(shape, src_strides, dst_strides)
        self._steps.append(("copy", (itemsize, src_var, src_offset, dst, dst_offset, shape, s, d)))

    def _lower_indexed(self, e, folded):
        """gather / scatter_add whose index arrays all have the batch shape (no broadcast)."""
        x, *indices = e.inputs
        out = e.outputs[0]
        scatter = e.prim is P.scatter_add
        table = e.params["shape"] if scatter else x.shape  # the indexed array
        rows = x if scatter else out  # shape: batch + one row per index
        batch = rows.shape[: len(rows.shape) - (len(table) - len(indices))]
        ok = isinstance(x, Var) and all(
            isinstance(i, Var) and i.shape == batch and i.dtype in (np.int32, np.int64)
            for i in indices
        )
        if not ok or (scatter and out.dtype not in _FLOATS):
            return False
        row = math.prod(table[len(indices) :])
        strides = _contiguous_strides(table)
        descs = [(i, int(i.dtype == np.int32), table[j], strides[j]) for j, i in enumerate(indices)]
        payload = (x, self._out(out), math.prod(batch), row, descs, out)
        self._steps.append(("scatter_add" if scatter else "gather", payload))
        return True

    def _lower_conv(self, e, folded):
        """Convolutions and pooling: the compiled im2col/GEMM and pooling kernels."""
        prim, p, out = e.prim, e.params, e.outputs[0]
        if out.dtype not in _FLOATS or not all(isinstance(a, Var) for a in e.inputs):
            return False
        a = e.inputs[0]
        b = e.inputs[1] if len(e.inputs) > 1 else a
        if prim is P.conv_general_dilated:
            flip = folded.get(e)
            form = conv_forms.match(p, a.shape, b.shape, out.shape, flip and flip[1])
            if form is None:
                return False
            kind, x_shape, w_shape, stride, pad, dil = form
            window, o = w_shape[2:], w_shape[0]
            ws = conv_kernels.workspace_size(kind, x_shape, w_shape, stride, pad, dil)
            ws_min = conv_kernels.workspace_size(kind, x_shape, w_shape, stride, pad, dil, True)
            kernel = CONV_KERNELS[_CONV_FORM_KERNELS[kind]]
        else:
            x_shape = p.get("x_shape", a.shape)
            window, stride, pad, dil, o = p["window"], p["stride"], p["padding"], (1, 1), 0
            ws = ws_min = 0
            kernel = CONV_KERNELS[prim.kernel]
        scratch = self._new_scratch(max(int(ws), 1) * out.dtype.itemsize)
        geom = [*x_shape, o, *window, *stride, *pad[0], *pad[1], *dil]
        slots = None
        key = self._pool_key(e) if prim in (P.max_pool2d, P.max_pool2d_scatter) else None
        if prim is P.max_pool2d and key in self._pool_pairs:
            slots = self._new_scratch(math.prod(out.shape))  # a byte per output
            kernel, self._pool_slots[key] = CONV_KERNELS["max_pool2d_index"], slots
        elif prim is P.max_pool2d_scatter and key in self._pool_slots:
            kernel, slots = CONV_KERNELS["max_pool2d_scatter_index"], self._pool_slots[key]
        elif prim is P.max_pool2d_scatter:  # before its pool: no slots for the pool to save
            self._pool_pairs.discard(key)
        payload = (kernel, geom, a, b, self._out(out), scratch, int(ws), out, slots, int(ws_min))
        self._steps.append(("conv", payload))

    def _new_scratch(self, nbytes):
        """A storage with no Var of its own (a workspace, saved argmax slots)."""
        self._scratch[self._n_storage] = nbytes
        self._n_storage += 1
        return self._n_storage - 1

    def _lower_int(self, e, folded):
        """An integer or bool elementwise operation: one pass of its own (the register
        machine holds floats), operands broadcast by strides, scalar literals inline."""
        if e.prim.kernel not in INT_OPS or not _integer_operation(e):
            return False
        out = e.outputs[0]
        walked = [a for a in e.inputs if isinstance(a, Var)]
        shape, strides = _collapse(
            out.shape, *[_broadcast_strides(a.shape, out.shape) or [0] for a in walked]
        )
        strides = iter(strides)
        operands = [
            (a, next(strides)) if isinstance(a, Var) else (int(np.asarray(a.value)), None)
            for a in e.inputs
        ]
        code = INT_OPS[e.prim.kernel].code
        self._steps.append(("int", (code, out, self._out(out), shape, operands)))

    def _lower_lapack(self, e, folded):
        """A linear-algebra equation: its batched LAPACK kernel (compiler/lapack.py)."""
        if lapack.runner(e) is None:
            return False
        self._steps.append(("lapack", (e, self._out(e.outputs[0]))))

    def _lower_python(self, e):
        """No compiled kernel takes ``e``: its NumPy reference runs inside the program.
        Never silent: print(program) marks the step, and a debug log says it once."""
        out = e.outputs[0]
        if e.prim not in _reported:
            _reported.add(e.prim)
            operands = ", ".join(aval_str(a.shape, a.dtype) for a in e.inputs)
            _log.debug(
                "%s(%s) has no compiled kernel: it runs its NumPy reference inside the "
                "compiled program",
                e.prim.name,
                operands,
            )
        self._steps.append(("python", (e, self._out(out))))

    def _lower_fused(self, group, uses, outvars):
        inside = {e.outputs[0] for e in group}
        dtype = vm_dtype(group)
        out_shape = group[0].outputs[0].shape  # groups start elementwise: the iteration shape
        shape = list(out_shape) or [1]
        outset = {a for a in outvars if isinstance(a, Var)}
        regs, free, inputs, code = {}, [], {}, []
        n_regs = 0
        last_use = {}
        for k, e in enumerate(group):
            for a in e.inputs:
                last_use[a] = k
        inner_uses = {}
        for e in group:
            for a in e.inputs:
                if a in inside:
                    inner_uses[a] = inner_uses.get(a, 0) + 1
        exported = [  # values needed outside the group are stored; the rest stay in registers
            e.outputs[0]
            for e in group
            if not is_fused_reduction(e.prim)
            and (e.outputs[0] in outset or uses[e.outputs[0]] > inner_uses.get(e.outputs[0], 0))
        ]
        reductions = []  # (var, storage, kind, strides over the iteration shape)

        def alloc():
            nonlocal n_regs
            if free:
                return free.pop()
            n_regs += 1
            return n_regs - 1

        constants = {}  # value -> register: filled on the first block only, never reused

        def operand(a):
            if isinstance(a, Literal):
                value = float(a.value)
                key = value.hex()  # unlike ==, tells -0.0 from 0.0
                if key not in constants:  # a fresh register: earlier ops reuse freed ones
                    nonlocal n_regs  # every block, so a recycled one would be overwritten
                    constants[key] = n_regs
                    n_regs += 1
                    code.append(("const", constants[key], value, 0, 0))
                return constants[key]
            if a in regs:
                return regs[a]
            if a not in inputs:
                inputs[a] = len(inputs)
            r = alloc()
            code.append(("load", r, inputs[a], 0, 0))
            regs[a] = r
            return r

        for k, e in enumerate(group):
            srcs = [operand(a) for a in e.inputs]
            if is_fused_reduction(e.prim):  # accumulates the block into its output at once
                v = e.outputs[0]
                strides = _reduced_strides(out_shape, v.shape, e.params["axes"])
                reductions.append((v, self._out(v), e.prim.kernel, strides))
                code.append(("reduce", len(reductions) - 1, srcs[0], 0, 0))
                r = None  # no register: nothing in the group reads a reduction
            else:
                r = alloc()
                ops = srcs + [0, 0, 0]
                op = e.prim.kernel  # (a cast's is copy: bool -> float is a load of 0/1)
                code.append((op, r, ops[0], ops[1], ops[2]))
                regs[e.outputs[0]] = r
            for a in set(e.inputs):
                if isinstance(a, Var) and last_use.get(a) == k and a not in exported and a in regs:
                    if regs[a] != r:
                        free.append(regs.pop(a))
        outs = [(v, self._out(v), regs[v]) for v in exported]
        in_desc = []
        for a, _ in sorted(inputs.items(), key=lambda kv: kv[1]):
            in_desc.append((a, _broadcast_strides(a.shape, out_shape) if out_shape else []))
        self._n_regs = max(self._n_regs, n_regs)
        self._steps.append(("fused", (dtype, shape, in_desc, outs, code, reductions)))

    # -------------------------------------------------------------- memory

    def _plan_memory(self, graph):
        """Assign storages to buffers: inputs are the caller's, outputs fresh per call,
        temporaries share slots by liveness (exact size match) and persist across calls."""
        n_in = self.n_inputs
        var_of = {}
        for v, s in self._storage.items():
            var_of.setdefault(s, v)
        outputs = []
        seen = set()
        for a in graph.outvars:
            if isinstance(a, Literal):
                outputs.append(("literal", a))
                continue
            s = self._storage[a]
            if s < n_in or s in seen:
                outputs.append(("copy", a))
            else:
                outputs.append(("storage", s))
                seen.add(s)
        self._outputs = outputs
        out_storages = {s for kind, s in outputs if kind == "storage"}
        # Liveness over steps: last step reading each storage.
        last = {}
        for i, step in enumerate(self._steps):
            for s in self._reads(step):
                last[s] = i
        nbytes = self._nbytes()
        slot_of, free, temps = {}, {}, []
        for i, step in enumerate(self._steps):
            donors = self._in_place(step)
            donated = set()
            for s in self._writes(step):
                if s < n_in or s in out_storages or s in slot_of:
                    continue
                size = max(nbytes[s], 1)
                # In place: a temporary read for the last time, element for element, by the
                # kernel writing s (its block is loaded before the block is stored).
                d = next(
                    (
                        d
                        for d in donors.get(s, ())
                        if last.get(d) == i and d in slot_of and d not in donated
                        if d not in out_storages and temps[slot_of[d]] == size
                    ),
                    None,
                )
                if d is not None:
                    donated.add(d)
                    slot_of[s] = slot_of[d]
                    continue
                pool = free.get(size)
                slot = pool.pop() if pool else None
                if slot is None:
                    slot = len(temps)
                    temps.append(size)
                slot_of[s] = slot
            for s in set(self._reads(step)) - donated:  # a storage read twice is freed once
                if last.get(s) == i and s in slot_of and s not in out_storages:
                    free.setdefault(temps[slot_of[s]], []).append(slot_of[s])
        for s in set(self._storage.values()) | set(self._scratch):  # e.g. empty arrays
            if s >= n_in and s not in out_storages | self._internal and s not in slot_of:
                slot_of[s] = len(temps)
                temps.append(max(nbytes[s], 1))
        # Buffer numbering for the executor: inputs, then outputs, then temp slots.
        out_list = sorted(out_storages)
        self._buffer_of = {s: s for s in range(n_in)}
        for k, s in enumerate(out_list):
            self._buffer_of[s] = n_in + k
        for s, slot in slot_of.items():
            self._buffer_of[s] = n_in + len(out_list) + slot
        for k, s in enumerate(sorted(self._internal)):  # regions of a loop's thread scratch
            self._buffer_of[s] = n_in + len(out_list) + len(temps) + k
        self._n_buffers = n_in + len(out_list) + len(temps) + len(self._internal)
        self._out_storages = out_list
        self._out_meta = {s: var_of[s] for s in out_list}
        self._temp_sizes = temps
        self._temps = None  # allocated on the first call, given back when idle
        # What each slot first holds, for an allocation failure's message.
        self._temp_names = ["a kernel's workspace"] * len(temps)
        for s, slot in sorted(slot_of.items(), reverse=True):
            if s in var_of:
                v = var_of[s]
                self._temp_names[slot] = f"a temporary {aval_str(v.shape, v.dtype)}"

    def _nbytes(self):
        """storage -> bytes (the largest of the Vars viewing it)."""
        nbytes = dict(self._scratch)
        for v, s in self._storage.items():
            size = int(np.prod(v.shape, dtype=np.int64)) * v.dtype.itemsize
            nbytes[s] = max(nbytes.get(s, 0), size)
        return nbytes

    def _in_place(self, step):
        """{storage written: storages it may overwrite}: for a fused kernel, the inputs it
        reads with its own layout, shape and item size."""
        kind, p = step
        if kind == "gemm_epilogue":  # not over the GEMM's operands: other threads read them
            operands = {self._storage[a] for a in p[0][0][:2]}
            donors = self._in_place(("fused", p[1]))
            return {s: [d for d in ds if d not in operands] for s, ds in donors.items()}
        if kind != "fused":
            return {}
        shape, in_desc, outs = p[1], p[2], p[3]
        return {
            s: [
                self._storage[a]
                for a, _ in in_desc
                if list(a.shape or [1]) == shape and a.dtype.itemsize == v.dtype.itemsize
            ]
            for v, s, _ in outs
            if list(v.shape or [1]) == shape
        }

    def _reads(self, step):
        kind, p = step
        if kind == "images":  # what it reads from outside, and its scratch
            reads, written = {}, set()
            for q in p.steps:
                reads.update(dict.fromkeys(s for s in self._reads(q) if s not in written))
                written.update(self._writes(q))
            return [s for s in reads if s not in p.inside] + [p.scratch]
        if kind == "gemm_epilogue":
            return self._reads(("gemm", p[0])) + self._reads(("fused", p[1]))
        if kind == "gemm":
            return [self._storage[p[0][0]], self._storage[p[0][1]]]
        if kind in ("reduce", "int_reduce", "softmax"):
            return [self._storage[p[1]]]
        if kind == "copy":
            return [self._storage[p[1]]]
        if kind == "fused":
            return [self._storage[a] for a, _ in p[2]]
        if kind in ("python", "lapack"):
            return [self._storage[a] for a in p[0].inputs if isinstance(a, Var)]
        if kind in ("gather", "scatter_add"):
            return [self._storage[p[0]]] + [self._storage[d[0]] for d in p[4]]
        if kind == "random_bits":
            return [self._storage[p[0]], self._storage[p[1]]]
        if kind == "cast":
            return [self._storage[p[0]]]
        if kind == "int":
            return [self._storage[a] for a, s in p[4] if s is not None]
        if kind == "argmax":
            return [self._storage[p[0]]]
        if kind == "conv":  # the workspace counts as read, so it is released right after
            if p[0] == CONV_KERNELS["max_pool2d_index"]:
                return [self._storage[p[2]], p[5]]
            if p[0] == CONV_KERNELS["max_pool2d_scatter_index"]:  # the slots, not the input
                return [p[8], self._storage[p[3]], p[5]]
            return [self._storage[p[2]], self._storage[p[3]], p[5]]
        return []

    def _writes(self, step):
        kind, p = step
        if kind == "images":
            sub = [s for q in p.steps for s in self._writes(q) if s not in p.inside]
            return list(dict.fromkeys(sub)) + [p.scratch]
        if kind == "gemm_epilogue":
            return self._writes(("gemm", p[0])) + self._writes(("fused", p[1]))
        if kind == "conv" and p[0] == CONV_KERNELS["max_pool2d_index"]:
            return [p[4], p[5], p[8]]  # and the argmax slots
        return {
            "gemm": lambda: [p[0][2]],
            "reduce": lambda: [p[2]],
            "int_reduce": lambda: [p[2]],
            "softmax": lambda: [p[2]],
            "copy": lambda: [p[3]],
            "fill": lambda: [p[1]],
            "fused": lambda: [s for _, s, _ in p[3]] + [s for _, s, _, _ in p[5]],
            "python": lambda: [p[1]],
            "lapack": lambda: [p[1]],
            "gather": lambda: [p[1]],
            "scatter_add": lambda: [p[1]],
            "random_bits": lambda: [p[2]],
            "cast": lambda: [p[1]],
            "int": lambda: [p[2]],
            "argmax": lambda: [p[1]],
            "conv": lambda: [p[4], p[5]],
        }[kind]()

    # -------------------------------------------------------------- encoding

    def _encode(self):
        code, consts, callbacks = [], [], []
        self._profile_slots = len(self._steps)
        for kind, p in self._steps:
            body = self._body(kind, p, consts, callbacks)
            # (a LAPACK step is a callback of the executor's, as a NumPy reference is)
            code += [len(body) + 2, OPCODES["python" if kind == "lapack" else kind]] + body
        self._executor = Executor(
            np.asarray(code, np.int64),
            np.asarray(consts or [0.0], np.float64),
            callbacks,
            self._n_regs,
        )

    def _body(self, kind, p, consts, callbacks):
        """The operands of one instruction, as the executor reads them."""
        buf = lambda s: self._buffer_of[s]  # noqa: E731
        sbuf = lambda v: buf(self._storage[v])  # noqa: E731
        if kind == "gemm_epilogue":
            return self._body("gemm", p[0], consts, callbacks) + self._body(
                "fused", p[1], consts, callbacks
            )
        if kind == "images":
            return self._loop_body(p, consts, callbacks)
        if kind == "gemm":
            args, is_double = p
            a, b, c = args[:3]
            body = [sbuf(a), sbuf(b), buf(c)] + [int(x) for x in args[3:]] + [int(is_double)]
        elif kind in ("reduce", "int_reduce"):  # (for int_reduce, is_double is a dtype code)
            k, x, dst, size, shape, strides, is_double = p
            body = [int(is_double), k, sbuf(x), buf(dst), size, len(shape)] + shape + strides
        elif kind == "softmax":
            k, x, dst, rows = p
            body = [int(x.dtype == np.float64), k, sbuf(x), buf(dst)] + rows
        elif kind == "copy":
            itemsize, src, soff, dst, doff, shape, s, d = p
            body = [itemsize, sbuf(src), soff, buf(dst), doff, len(shape)] + shape + s + d
        elif kind == "fill":
            out, dst, value, step = p
            consts += [value, step]
            count = int(np.prod(out.shape, dtype=np.int64))
            body = [_FILL_DTYPES.index(out.dtype), buf(dst), count, len(consts) - 2]
        elif kind == "fused":
            dtype, shape, in_desc, outs, vm, reductions = p
            walked = [s for _, s in in_desc] + [s for _, _, _, s in reductions]
            shape, strides = (
                _collapse(shape, *[s or [0] * len(shape) for s in walked])
                if walked
                else ([math.prod(shape)], [])
            )
            body = [int(dtype == np.float64), len(shape)] + shape + [len(in_desc)]
            dense = _contiguous_strides(shape)
            for (a, _), s in zip(in_desc, strides):
                # 1: bools, converted; 2: laid out like the iteration, read in place; 3: both
                kind = (2 if s == dense else 0) + (a.dtype == np.bool_)
                body += [sbuf(a), kind] + s
            body += [len(outs)]
            for v, s, r in outs:
                body += [buf(s), int(v.dtype == np.bool_), r]
            body += [len(reductions)]
            for (v, s, how, _), st in zip(reductions, strides[len(in_desc) :]):
                body += [buf(s), REDUCE_KINDS[how], math.prod(v.shape)] + st
            body += [len(vm)]
            for op, dst, x, y, z in vm:
                if op == "const":
                    consts.append(x)
                    x = len(consts) - 1
                body += [vm_code(op), dst, x, y, z]
            body += self._template(p, consts)
        elif kind in ("gather", "scatter_add"):
            x, dst, n, row, descs, out = p
            flat = [v for i, is32, size, stride in descs for v in (sbuf(i), is32, size, stride)]
            if kind == "gather":
                body = [out.dtype.itemsize, sbuf(x), buf(dst), n, row, len(descs)] + flat
            else:
                total = math.prod(out.shape)
                body = [
                    int(out.dtype == np.float64),
                    sbuf(x),
                    buf(dst),
                    n,
                    row,
                    len(descs),
                    total,
                ]
                body += flat
        elif kind == "random_bits":
            key, counters, dst, out = p
            kind_code = _RANDOM_BITS_CODES[out.dtype]
            body = [kind_code, sbuf(key), sbuf(counters), buf(dst), math.prod(out.shape)]
        elif kind == "cast":
            x, dst, out = p
            codes = [_DTYPE_CODES[x.dtype], _DTYPE_CODES[out.dtype]]
            body = codes + [sbuf(x), buf(dst), math.prod(out.shape)]
        elif kind == "argmax":
            x, dst, out, rows = p
            is_double, int32 = int(x.dtype == np.float64), int(out.dtype == np.int32)
            body = [is_double, sbuf(x), buf(dst), int32] + rows
        elif kind == "int":
            op, out, dst, shape, operands = p
            body = [op, _DTYPE_CODES[out.dtype], buf(dst), len(shape), *shape, len(operands)]
            for a, strides in operands:
                if strides is None:  # a scalar literal
                    body += [-1, a] + [0] * len(shape)
                else:
                    body += [_DTYPE_CODES[a.dtype], sbuf(a)] + strides
        elif kind == "conv":
            kernel, geom, a, b, dst, scratch, ws, out, slots = p[:9]
            a, b = sbuf(a), sbuf(b)
            if kernel == CONV_KERNELS["max_pool2d_index"]:  # kernel operand b: slots written
                b = buf(slots)
            elif kernel == CONV_KERNELS["max_pool2d_scatter_index"]:  # a: the slots read
                a = buf(slots)
            body = [kernel, int(out.dtype == np.float64), *geom, a, b, buf(dst), buf(scratch), ws]
        elif kind in ("python", "lapack"):
            e, dst = p
            run = lapack.runner(e) if kind == "lapack" else None
            callbacks.append(self._callback(e, buf(dst), run))
            body = [len(callbacks) - 1]
        return body

    @staticmethod
    def _template(fused, consts):
        """The template trailer of a fused kernel's instruction (templates.py)."""
        dtype, shape, in_desc, outs, vm, reductions = fused
        found = match_template(shape, in_desc, outs, vm, reductions)
        if found is None:
            return [0, 0, 0, -1, 0, -1]
        kind, a, b, slope, result, mask = found
        if slope is not None:
            consts.append(slope)
        return [kind, a, b, -1 if slope is None else len(consts) - 1, result, mask]

    def _loop_body(self, loop, consts, callbacks):
        """A loop over images, as run_images reads it."""
        roles = []
        for s, role in sorted(loop.roles.items()):
            if role == "shared":  # every thread reads it where it is
                continue
            if role == "batch":
                row = [ROLE_CODES["batch"], loop.sizes[s] // loop.n, 0, 0]
            elif isinstance(role, Partial):
                row = [ROLE_CODES["partial"], loop.offsets[s], loop.sizes[s], partial_code(role)]
            else:  # scratch, workspace
                row = [ROLE_CODES["scratch"], loop.offsets[s], 0, 0]
            roles.append([self._buffer_of[s]] + row)
        body = [loop.n, loop.chunk, self._buffer_of[loop.scratch], loop.per_thread, loop.threads]
        body += [self._n_buffers, self._profile_slots, len(roles)]
        body += [v for r in roles for v in r] + [len(loop.steps)]
        self._profile_slots += len(loop.steps)  # its steps' times follow the instructions'
        for kind, p in loop.steps:
            sub = self._body(kind, p, consts, callbacks)
            body += [len(sub) + 2, OPCODES[kind]] + sub
        return body

    def _callback(self, e, dst_buf, kernel=None):
        """Run one equation inside the executor: its NumPy reference implementation, or
        ``kernel`` (same arguments) where a lowering supplies one."""
        ins = [
            _Viewer(None, a.value)
            if isinstance(a, Literal)
            else _Viewer(self._buffer_of[self._storage[a]], None, a.shape, a.dtype)
            for a in e.inputs
        ]
        out = e.outputs[0]
        dst_view = _Viewer(dst_buf, None, out.shape, out.dtype)

        def run(arrays):
            args = [v(arrays) for v in ins]
            dst = dst_view(arrays)
            if kernel is None:
                np.copyto(dst, eval_impl(e.prim, args, e.params, out.dtype))
            else:  # (a LAPACK runner writes its result into the buffer itself)
                kernel(*args, out=dst, **e.params)

        return run

    # -------------------------------------------------------------- running

    @staticmethod
    def _may_use_threads(step):
        """Whether the executor may split this step among threads (and call BLAS from them)."""
        kind, p = step
        if kind == "gemm_epilogue":
            kind, p = "gemm", p[0]
        if kind == "gemm":
            return math.prod(p[0][5:9]) >= PARALLEL_MIN["gemm"]
        if kind in ("fused", "softmax"):
            return math.prod(p[1] if kind == "fused" else p[3]) >= PARALLEL_MIN[kind]
        if kind in ("cast", "random_bits"):  # (their results' sizes)
            return math.prod(p[2 if kind == "cast" else 3].shape) >= PARALLEL_MIN[kind]
        if kind == "lapack":
            return lapack.may_use_threads(p[0])
        return kind in ("conv", "images")

    def _run(self, arrays, times=None):
        with self._lock:  # the temporaries are shared by every call of this program
            self._called = next(_calls)
            temps = self._temps
            if temps is None:
                temps = self._temps = [
                    _temporary(size, name) for size, name in zip(self._temp_sizes, self._temp_names)
                ]
                _bound_temporaries(self)
            arrays += temps
            try:
                if not self._threaded or threads.get_num_threads() == 1:
                    self._executor.run(arrays, times)
                    return
                threads.hold_blas()  # our threads split the GEMMs: BLAS must not add its own
                try:
                    self._executor.run(arrays, times)
                finally:
                    threads.release_blas()
            except IndexError as e:
                raise self._index_error(e, arrays) from None

    def _output_out_of_memory(self, error):
        shape, dtype = max(self._out_alloc, key=lambda a: math.prod(a[0]) * np.dtype(a[1]).itemsize)
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        return _out_of_memory(f"a result {aval_str(shape, dtype)}", nbytes, error)

    def release(self):
        """Give the temporaries back (the next call allocates them again). Returns the
        bytes freed: 0 if the program is running or holds none."""
        if not self._lock.acquire(blocking=False):
            return 0
        try:
            freed = sum(self._temp_sizes) if self._temps is not None else 0
            self._temps = None
            return freed
        finally:
            self._lock.release()

    def _index_error(self, error, arrays):
        """The executor's out-of-range index, with the value, the shapes and the line that
        called the program (its operands are abstract: the value is known only now)."""
        k = error.args[1] if len(error.args) > 1 else -1
        kind, p = self._steps[k] if 0 <= k < len(self._steps) else (None, None)
        if kind not in ("gather", "scatter_add"):
            return IndexError(f"{error.args[0]} at {user_frame()}")
        for index, _, size, _ in p[4]:  # (index var, is_int32, axis size, row stride)
            values = _view(arrays[self._buffer_of[self._storage[index]]], index.shape, index.dtype)
            bad = (values < -size) | (values >= size)
            if bad.any():
                value = values[np.unravel_index(np.argmax(bad), values.shape)]
                break
        else:
            return IndexError(f"{error.args[0]} at {user_frame()}")
        what = "indexing" if kind == "gather" else "the gradient of indexing"
        return IndexError(
            f"index {value} is out of bounds for an axis of size {size}, in {what} by an "
            f"index array of {aval_str(index.shape, index.dtype)} at {user_frame()} (under "
            "jit and grad, index values are known only when the function runs)"
        )

    def __call__(self, consts, args):
        # Arguments as the kernels walk them; the common case, already so, costs no call.
        arrays = [
            a if type(a) is np.ndarray and a.flags.carray and a.dtype.isnative else _walkable(a)
            for a in (*consts, *args)
        ]
        try:
            outs = [np.empty(shape, dtype) for shape, dtype in self._out_alloc]
        except MemoryError as e:
            raise self._output_out_of_memory(e) from None
        self._run(arrays + outs)
        results = []
        for kind, x, shape in self._results:
            if kind == "output":
                out = outs[x]
                results.append(out if out.shape == shape else out.reshape(shape))
            elif kind == "literal":
                results.append(np.array(x))
            else:  # an input, or an output seen before: a copy the caller owns
                src = arrays[x] if kind == "input" else outs[x]
                results.append(np.array(src).reshape(shape))
        return results

    def profile(self, consts, args, repeats=10):
        """Wall time of each instruction, averaged over ``repeats`` runs: a list of
        ``(seconds, kind, description)``, slowest first. The steps of a loop over images
        follow, as kind ``"images/<kind>"``: the first thread's time in each (they are part
        of their loop's time, not in addition to it)."""
        times = np.zeros(self._profile_slots)
        for _ in range(repeats):
            arrays = [_walkable(a) for a in (*consts, *args)]
            outs = [np.empty(shape, dtype) for shape, dtype in self._out_alloc]
            self._run(arrays + outs, times)
        steps = [(kind, kind, p) for kind, p in self._steps]
        for kind, p in self._steps:
            if kind == "images":
                steps += [(f"images/{sub}", sub, q) for sub, q in p.steps]
        rows = [(t / repeats, name, _describe(kind, p)) for t, (name, kind, p) in zip(times, steps)]
        return sorted(rows, key=lambda r: -r[0])

    def __str__(self):
        """The instruction list: one line per instruction over named buffers (``in``
        inputs, ``out`` outputs, ``t`` temporaries), fused kernels with their operations.

        >>> import funcgrad as fg, funcgrad.numpy as fnp, numpy as np
        >>> g = fg.make_graph(lambda x, w: fnp.tanh(x @ w) * 2.0)(np.ones((4, 3)), np.ones((3, 2)))
        >>> print(CompiledProgram(g))  # doctest: +NORMALIZE_WHITESPACE
        program: 2 inputs, 1 outputs, 1 instructions, 1 temporaries (64 bytes)
          t0, out0 = gemm_epilogue in0, in1, t0
                                        NN m=4 n=2 k=3, then [tanh mul] over [4, 2] float64
        """
        n_in, n_out = self.n_inputs, len(self._out_storages)
        n_temps = len(self._temp_sizes)

        def name(storage):
            b = self._buffer_of[storage]
            if b < n_in:
                return f"in{b}"
            if b < n_in + n_out:
                return f"out{b - n_in}"
            b -= n_in + n_out
            return f"t{b}" if b < n_temps else f"s{b - n_temps}"  # s: in a loop's scratch

        def line(step, indent):
            kind, p = step
            hidden = {p[5]} if kind == "conv" else set()  # a workspace is scratch, not a value
            if kind == "images":
                hidden = {p.scratch}
            reads = ", ".join(dict.fromkeys(name(s) for s in self._reads(step) if s not in hidden))
            writes = ", ".join(name(s) for s in self._writes(step) if s not in hidden)
            what = _describe(kind, p)
            if kind == "images":
                what = f"{p.n} images, {p.chunk} at a time on {p.threads} thread(s):"
            elif kind == "python":
                what += " (NumPy reference: no compiled kernel)"
            return f"{indent}{writes} = {kind} {reads}".ljust(32) + f"  {what}"

        lines = [
            f"program: {n_in} inputs, {n_out} outputs, {len(self._steps)} instructions, "
            f"{n_temps} temporaries ({sum(self._temp_sizes)} bytes)"
        ]
        for step in self._steps:
            lines.append(line(step, "  "))
            if step[0] == "images":
                lines += [line(sub, "      ") for sub in step[1].steps]
        return "\n".join(lines)

    def _plan_results(self):
        """How each graph output is produced by a call: precomputed, it is on the hot path."""
        position = {s: k for k, s in enumerate(self._out_storages)}
        self._out_alloc = [
            (self._out_meta[s].shape, self._out_meta[s].dtype) for s in self._out_storages
        ]
        self._results = []
        for (kind, x), var in zip(self._outputs, self.graph.outvars):
            if kind == "literal":
                self._results.append(("literal", x.value, ()))
            elif kind == "storage":
                self._results.append(("output", position[x], var.shape))
            else:
                s = self._storage[x]
                where = ("input", s) if s < self.n_inputs else ("copy", position[s])
                self._results.append((*where, var.shape))

    # What each instruction kind of a record's ``lowering`` runs. Each method returns False
    # when the equation's operands do not suit its kernel (the next kind is tried). "fused"
    # is fusion's: an equation that reaches _lower_eqn was not fused.
    _LOWERINGS = {
        "view": _lower_view,
        "gemm": _lower_gemm,
        "reduce": _lower_reduce,
        "softmax": _lower_softmax,
        "fill": _lower_fill,
        "indexed": _lower_indexed,
        "cast": _lower_cast,
        "argmax": _lower_argmax,
        "int": _lower_int,
        "random_bits": _lower_random_bits,
        "conv": _lower_conv,
        "copy": _lower_copy,
        "lapack": _lower_lapack,
    }


def _describe(kind, p):
    """One line about a lowered step, for profiles."""
    if kind == "gemm_epilogue":
        return f"{_describe('gemm', p[0])}, then {_describe('fused', p[1])}"
    if kind == "images":
        return describe_loop(p, _describe)
    if kind == "fused":
        ops = " ".join(
            f"reduce_{p[5][dst][2]}" if op == "reduce" else op
            for op, dst, *_ in p[4]
            if op not in ("load", "const")
        )
        template = match_template(*p[1:])
        how = f", one pass ({TEMPLATE_NAMES[template[0]]})" if template else ""
        return f"[{ops}] over {list(p[1])} {np.dtype(p[0]).name}{how}"
    if kind == "gemm":
        args = p[0]
        flags = ("T" if args[3] else "N") + ("T" if args[4] else "N")
        return f"{flags} m={args[5]} n={args[6]} k={args[7]}"
    if kind == "conv":
        name = next(k for k, v in CONV_KERNELS.items() if v == p[0])
        return f"{name} -> {p[7].shape} geometry {p[1]}"
    if kind == "python":
        return p[0].prim.name
    if kind == "lapack":
        return f"{p[0].prim.name} over {list(p[0].outputs[0].shape)}, batched LAPACK"
    if kind in ("reduce", "int_reduce"):
        return f"shape {p[4]}"
    if kind == "softmax":
        name = next(k for k, v in SOFTMAX_KINDS.items() if v == p[0])
        return f"{name} {_rows(p[3])}"
    if kind == "random_bits":
        return f"Threefry-2x32 bits as {list(p[3].shape)} {p[3].dtype.name}"
    if kind == "cast":
        return f"{p[0].dtype.name} -> {p[2].dtype.name}, {list(p[2].shape)}"
    if kind == "argmax":
        return _rows(p[3])
    if kind == "int":
        name = next(k for k, v in INT_OPS.items() if v.code == p[0])
        return f"{name} over {list(p[1].shape)} {p[1].dtype.name}"
    if kind == "fill":
        out, _, value, step = p
        what = f"{value:g}, {value + step:g}, ..." if step else f"{value:g}"
        return f"{what} as {list(out.shape)} {out.dtype.name}"
    return ""


def _rows(rows):
    """A row kernel's (outer, n, inner) layout, in words."""
    outer, n, inner = rows
    return f"of {n}-element rows, {outer}x{inner} of them"


# fork waits until no program runs: a child forked while another thread ran one would
# inherit its lock held by a thread it does not have (its first call would wait forever),
# and OpenBLAS's own fork handler can hang while a GEMM is in flight. Lock.acquire lets
# the GIL go while it waits, so the running thread can finish.
_live_programs = weakref.WeakSet()
_held_for_fork = []


def _before_fork():
    for program in list(_live_programs):
        program._lock.acquire()
        _held_for_fork.append(program)


def _after_fork_in_parent():
    while _held_for_fork:
        _held_for_fork.pop()._lock.release()


def _after_fork_in_child():
    _held_for_fork.clear()
    for program in list(_live_programs):
        program._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


_calls = itertools.count()  # (next() on a count is atomic under the GIL)


def _temp_limit():
    value = os.environ.get("FUNCGRAD_TEMP_BYTES", str(1 << 30))
    try:
        limit = int(value)
    except ValueError:
        limit = -1
    if limit < 0:
        raise ValueError(f"FUNCGRAD_TEMP_BYTES must be a number of bytes, got {value!r}")
    return limit


TEMP_LIMIT = _temp_limit()


def _bound_temporaries(program):
    """``program`` has just allocated its temporaries (it holds its own lock). Past
    ``TEMP_LIMIT`` bytes held by all programs, the least recently called others give
    theirs back, so a process that meets many input shapes (a program each) holds a
    bounded amount and programs called again keep theirs. A call only stamps its program
    (``_called``); the bytes and the order are worked out here, on allocation, alone."""
    holding = [p for p in list(_live_programs) if p._temps is not None and p is not program]
    held = sum(program._temp_sizes) + sum(sum(p._temp_sizes) for p in holding)
    for other in sorted(holding, key=lambda p: p._called):
        if held <= TEMP_LIMIT:
            break
        held -= other.release()  # (0 if it is running: it keeps them)


def release_temporaries():
    """Give back every idle program's temporaries (they are allocated again when needed)."""
    for program in list(_live_programs):
        program.release()
    trim_heap()


def trim_heap():
    """Return freed heap pages to the system: glibc keeps the temporaries malloc gave,
    so the process would not shrink after a clear without it."""
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to ask
        return
    trim(0)


def _walkable(a):
    """``a`` as the kernels walk it: a C-contiguous, aligned array in native byte order
    (a copy when ``a`` is not one already; NumPy's own conversion keeps the values)."""
    a = np.asarray(a)
    if a.flags.c_contiguous and a.flags.aligned and a.dtype.isnative:  # (read-only)
        return a
    return np.require(a, native(a.dtype), ("C_CONTIGUOUS", "ALIGNED"))


# The integer kernel's dtypes: uint64 alone does not convert to int64 exactly.
_INT_DTYPES = frozenset(
    np.dtype(t) for t in (bool, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32)
) | {np.dtype(np.int64)}


def _integer_operation(e):
    """Whether the integer kernel runs ``e``: integer or bool operands (buffers, or scalar
    literals) and result."""
    if e.outputs[0].dtype not in _INT_DTYPES:
        return False
    for a in e.inputs:
        if a.dtype not in _INT_DTYPES or (isinstance(a, Literal) and np.ndim(a.value)):
            return False
    return e.prim is not P.select or e.inputs[0].dtype == np.bool_


def _compiled_argmax(x, out):
    """Whether the argmax kernel takes x (a float array) to out's index dtype."""
    return isinstance(x, Var) and x.dtype in _FLOATS and out.dtype in (np.int32, np.int64)


def _compiled_cast(x, out):
    """Whether the cast kernel converts x's dtype to out's: NumPy's own conversions, except
    float -> integer (NaN and out-of-range values), which stay with NumPy."""
    if x.dtype not in _DTYPE_CODES or out.dtype not in _DTYPE_CODES:
        return False
    return not (x.dtype.kind == "f" and out.dtype.kind in "iu")


def _temporary(nbytes, name):
    """A program's scratch buffer. Large ones are mapped with plain pages: NumPy asks the
    kernel for huge pages, whose first touch cost several times more, and unpredictably so,
    for the cnn step's buffers (the kernel may compact memory to find them)."""
    try:
        if nbytes < 1 << 22:
            return np.empty(nbytes, np.uint8)
        return np.frombuffer(mmap.mmap(-1, nbytes), np.uint8)
    except (MemoryError, OSError) as e:  # mmap says OSError(ENOMEM)
        raise _out_of_memory(name, nbytes, e) from None


def _out_of_memory(name, nbytes, error):
    return MemoryError(
        f"funcgrad: cannot allocate {nbytes / 2**30:.3g} GiB ({nbytes} bytes) for {name} of a "
        f"compiled function called at {user_frame()} ({error})"
    )


class _Viewer:
    """A callback's operand: the typed view of buffer ``b`` (or a literal ``value``), its
    size worked out once (a small equation's callback would otherwise spend more time
    making views than running)."""

    __slots__ = ("b", "value", "shape", "dtype", "nbytes")

    def __init__(self, b, value, shape=(), dtype=None):
        self.b, self.value, self.shape, self.dtype = b, value, shape, dtype
        self.nbytes = math.prod(shape) * np.dtype(dtype).itemsize if b is not None else 0

    def __call__(self, arrays):
        if self.b is None:
            return self.value
        array = arrays[self.b]
        if array.dtype == self.dtype and array.shape == self.shape:
            return array
        return array.reshape(-1).view(np.uint8)[: self.nbytes].view(self.dtype).reshape(self.shape)


def _view(array, shape, dtype):
    """A typed view of a buffer (buffers may be raw bytes or arrays of another shape)."""
    flat = array.reshape(-1).view(np.uint8)
    n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    return flat[:n].view(dtype).reshape(shape)
