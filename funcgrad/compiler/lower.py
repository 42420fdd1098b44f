"""Graph -> instructions: each equation of an optimized graph becomes one of the records of
instructions.py.

After the folds (folds.py) and fusion (fusion.py), an equation becomes a view (reshape: no
work, the same storage), part of a fused elementwise kernel (maximal groups of same-shape
float operations, broadcasting operands read with zero strides), a GEMM (transposes of the
last two axes folded into the BLAS call), a reduction, a strided copy (transpose, broadcast,
slice, flip, concatenate, pad), a row kernel (softmax family, argmax), a convolution or
pooling kernel, random bits, a dtype conversion, an integer operation or reduction, a
batched LAPACK call, or a call back into the NumPy reference for what has no compiled
kernel. Each value gets a storage (a buffer to be, see memory.py).
"""

import logging
import math
from typing import NamedTuple

import numpy as np

from .. import primitives as P
from .._kernels import conv as conv_kernels
from ..core import Literal, Var, aval_str
from . import conv_forms, lapack
from .folds import fold, pool_key
from .fusion import fuse_elementwise, is_fused_reduction, vm_dtype
from .instructions import (
    DTYPE_CODES,
    FILL_DTYPES,
    Argmax,
    Callback,
    Cast,
    Conv,
    Copy,
    Fill,
    Fused,
    FusedInput,
    FusedOutput,
    FusedReduction,
    Gather,
    Gemm,
    Index,
    IntOp,
    IntOperand,
    IntReduce,
    Lapack,
    Op,
    RandomBits,
    Reduce,
    ScatterAdd,
    Softmax,
    View,
)
from .isa import INT_OPS
from .layout import broadcast_strides, collapse, contiguous_strides, reduced_strides

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_CONV_FORM_KERNELS = {
    "forward": "conv2d",
    "input_grad": "conv2d_input_grad",
    "filter_grad": "conv2d_filter_grad",
}
# The integer kernel's dtypes: uint64 alone does not convert to int64 exactly.
_INT_DTYPES = frozenset(
    np.dtype(t) for t in (bool, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32)
) | {np.dtype(np.int64)}
_log = logging.getLogger("funcgrad.compiler")
_reported = set()  # primitives whose NumPy fallback was logged (once each)


class Lowered(NamedTuple):
    """A graph's instructions, and the storages they read and write."""

    instructions: list  # in execution order
    storage: dict  # Var -> storage (views share their source's); inputs first
    scratch: dict  # storage -> bytes, for storages with no Var (workspaces, argmax slots)
    n_inputs: int  # storages 0 .. n_inputs - 1: the graph's constants, then its arguments

    def nbytes(self):
        """storage -> bytes (the largest of the Vars viewing it)."""
        nbytes = dict(self.scratch)
        for v, s in self.storage.items():
            size = int(np.prod(v.shape, dtype=np.int64)) * v.dtype.itemsize
            nbytes[s] = max(nbytes.get(s, 0), size)
        return nbytes


def lower(graph):
    """The instructions computing an optimized graph (passes.optimize's)."""
    lowering = _Lowering(graph)
    return Lowered(lowering.instructions, lowering.storage, lowering.scratch, lowering.n_inputs)


class _Lowering:
    """The state of lowering one graph: storages, and the instructions so far."""

    def __init__(self, graph):
        self.storage, self.scratch, self.instructions = {}, {}, []
        self.n_storage = 0
        inputs = graph.constvars + graph.invars
        self.n_inputs = len(inputs)
        for v in inputs:
            self._new_storage(v)
        self.outvars = graph.outvars
        self.folds = fold(graph)
        self.pool_pairs = set(self.folds.pooled)  # (a scatter met first leaves its pool's)
        self.pool_slots = {}  # pool key -> storage of the argmax slots its pool wrote
        for item in fuse_elementwise(self.folds.eqns):
            if isinstance(item, list):
                self.lower_fused(item)
            else:
                self.lower_eqn(item)

    def _new_storage(self, var):
        self.storage[var] = self.n_storage
        self.n_storage += 1
        return self.storage[var]

    def _new_scratch(self, nbytes):
        """A storage with no Var of its own (a workspace, saved argmax slots)."""
        self.scratch[self.n_storage] = nbytes
        self.n_storage += 1
        return self.n_storage - 1

    def _out(self, var):
        """A new storage for ``var``, as an operand."""
        return View(self._new_storage(var), var.shape, var.dtype)

    def _view(self, var):
        return View(self.storage[var], var.shape, var.dtype)

    def _add(self, instruction):
        self.instructions.append(instruction)

    def lower_eqn(self, e):
        """The first instruction kind of the primitive's record (``prim.lowering``) that
        takes the equation, else a call of its NumPy reference."""
        for kind in e.prim.lowering:
            lower = LOWERINGS.get(kind)
            if lower is not None and lower(self, e) is not False:
                return
        self.lower_python(e)

    # Each lowering below returns False when the equation's operands do not suit its
    # kernel (the next kind of the primitive's record is tried).

    def lower_view(self, e):
        if not isinstance(e.inputs[0], Var):
            return False
        self.storage[e.outputs[0]] = self.storage[e.inputs[0]]  # a view: same bytes

    def lower_fill(self, e):
        out = e.outputs[0]
        if e.prim is P.iota and out.dtype in FILL_DTYPES:
            self._add(Fill(self._out(out), 0.0, 1.0))
        elif e.prim is P.broadcast_in_dim and isinstance(e.inputs[0], Literal):
            if out.dtype not in _FLOATS:
                return False
            self._add(Fill(self._out(out), float(e.inputs[0].value), 0.0))
        else:
            return False

    def lower_cast(self, e):
        x, out = e.inputs[0], e.outputs[0]
        if not isinstance(x, Var) or not _compiled_cast(x, out):
            return False
        self._add(Cast(self._view(x), self._out(out)))

    def lower_argmax(self, e):
        x, out = e.inputs[0], e.outputs[0]
        if not _compiled_argmax(x, out):
            return False
        axis = e.params["axis"]
        rows = (math.prod(x.shape[:axis]), x.shape[axis], math.prod(x.shape[axis + 1 :]))
        self._add(Argmax(self._view(x), self._out(out), rows))

    def lower_random_bits(self, e):
        if not all(isinstance(a, Var) for a in e.inputs):
            return False
        key, counters = e.inputs
        self._add(RandomBits(self._view(key), self._view(counters), self._out(e.outputs[0])))

    def lower_gemm(self, e):
        flags = self.folds.transposed.get(e)
        if flags is None:  # (not a float matmul)
            return False
        (a, b), (ta, tb) = e.inputs, flags
        out = e.outputs[0]
        m, n = out.shape[-2], out.shape[-1]
        k = a.shape[-2] if ta else a.shape[-1]
        batch = math.prod(out.shape[:-2])
        if k == 1:  # an outer product: a broadcast multiply, at memory speed and threaded
            # (per-example weight gradients are a batch of these; BLAS took 4x longer)
            inputs = (  # either layout, as k == 1
                FusedInput(self._view(a), (m, 1, 0)),
                FusedInput(self._view(b), (n, 0, 1)),
            )
            code = (Op("load", 0, 0, 0, 0), Op("load", 1, 1, 0, 0), Op("mul", 2, 0, 1, 0))
            outputs = (FusedOutput(self._out(out), 2),)
            self._add(Fused(out.dtype, (batch, m, n), inputs, outputs, code))
            return
        self._add(Gemm(self._view(a), self._view(b), self._out(out), ta, tb, m, n, k, batch))

    def lower_reduce(self, e):
        (x,), out = e.inputs, e.outputs[0]
        ints = out.dtype in _INT_DTYPES and x.dtype == out.dtype
        if not isinstance(x, Var) or not (out.dtype in _FLOATS or ints):
            return False
        axes = e.params["axes"]
        shape, (strides,) = collapse(x.shape, reduced_strides(x.shape, out.shape, axes))
        record = Reduce if out.dtype in _FLOATS else IntReduce
        self._add(
            record(e.prim.kernel, self._view(x), self._out(out), tuple(shape), tuple(strides))
        )

    def lower_softmax(self, e):
        """A row kernel over x viewed as (outer, n, inner), n the size of the reduced axes;
        those must be adjacent (else False: the NumPy reference runs the equation)."""
        (x,), out = e.inputs, e.outputs[0]
        if not isinstance(x, Var) or out.dtype not in _FLOATS or x.dtype != out.dtype:
            return False
        axes = sorted(e.params["axes"])
        if axes and axes[-1] - axes[0] != len(axes) - 1:  # not adjacent
            return False
        lo, hi = (axes[0], axes[-1] + 1) if axes else (len(x.shape), len(x.shape))
        rows = (math.prod(x.shape[:lo]), math.prod(x.shape[lo:hi]), math.prod(x.shape[hi:]))
        self._add(Softmax(e.prim.kernel, self._view(x), self._out(out), rows))

    def lower_copy(self, e):
        prim, out = e.prim, e.outputs[0]
        if not all(isinstance(a, Var) for a in e.inputs) or (
            prim is P.pad and out.dtype not in _FLOATS
        ):
            return False
        x = e.inputs[0]
        dst = self._out(out)
        ostr = contiguous_strides(out.shape)
        if prim is P.concatenate:
            axis, offset = e.params["axis"], 0
            for a in e.inputs:
                start = offset * ostr[axis] if out.shape else 0
                self._copy(a, 0, contiguous_strides(a.shape), dst, start, ostr, a.shape)
                offset += a.shape[axis]
            return
        if prim is P.pad:
            self._add(Fill(dst, e.params["value"], 0.0))
            lo, interior = e.params["lo"], e.params["interior"]
            offset = sum(width * s for width, s in zip(lo, ostr))
            strides = [s * (i + 1) for s, i in zip(ostr, interior)]
            self._copy(x, 0, contiguous_strides(x.shape), dst, offset, strides, x.shape)
            return
        xstr = contiguous_strides(x.shape)
        if prim is P.transpose:
            src = [xstr[p] for p in e.params["perm"]]
            self._copy(x, 0, src, dst, 0, ostr, out.shape)
        elif prim is P.broadcast_in_dim:
            src = [0] * len(out.shape)
            for i, d in enumerate(e.params["broadcast_dimensions"]):
                if x.shape[i] == out.shape[d]:
                    src[d] = xstr[i]
            self._copy(x, 0, src, dst, 0, ostr, out.shape)
        elif prim is P.slice:
            offset = sum(s * st for s, st in zip(e.params["start"], xstr))
            src = [st * step for st, step in zip(xstr, e.params["strides"])]
            self._copy(x, offset, src, dst, 0, ostr, out.shape)
        elif prim is P.rev:
            axes = e.params["axes"]
            offset = sum((x.shape[a] - 1) * xstr[a] for a in axes if x.shape[a])
            src = [-s if i in axes else s for i, s in enumerate(xstr)]
            self._copy(x, offset, src, dst, 0, ostr, out.shape)

    def _copy(self, src_var, src_offset, src_strides, dst, dst_offset, dst_strides, shape):
        if math.prod(shape) == 0:
            return
        shape, (s, d) = collapse(shape, src_strides, dst_strides)
        src = self._view(src_var)
        self._add(Copy(src, src_offset, tuple(s), dst, dst_offset, tuple(d), tuple(shape)))

    def lower_indexed(self, e):
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
        strides = contiguous_strides(table)
        index = tuple(Index(self._view(i), table[j], strides[j]) for j, i in enumerate(indices))
        record = ScatterAdd if scatter else Gather
        self._add(record(self._view(x), self._out(out), math.prod(batch), row, index))
        return True

    def lower_conv(self, e):
        """Convolutions and pooling: the compiled im2col/GEMM and pooling kernels."""
        prim, p, out = e.prim, e.params, e.outputs[0]
        if out.dtype not in _FLOATS or not all(isinstance(a, Var) for a in e.inputs):
            return False
        a = e.inputs[0]
        b = e.inputs[1] if len(e.inputs) > 1 else a
        if prim is P.conv_general_dilated:
            flip = self.folds.flipped.get(e)
            form = conv_forms.match(p, a.shape, b.shape, out.shape, flip)
            if form is None:
                return False
            kind, x_shape, w_shape, stride, pad, dil = form
            window, o = w_shape[2:], w_shape[0]
            ws = conv_kernels.workspace_size(kind, x_shape, w_shape, stride, pad, dil)
            ws_min = conv_kernels.workspace_size(kind, x_shape, w_shape, stride, pad, dil, True)
            kernel = _CONV_FORM_KERNELS[kind]
        else:
            x_shape = p.get("x_shape", a.shape)
            window, stride, pad, dil, o = p["window"], p["stride"], p["padding"], (1, 1), 0
            ws = ws_min = 0
            kernel = prim.kernel
        workspace = self._new_scratch(max(int(ws), 1) * out.dtype.itemsize)
        geometry = (*x_shape, o, *window, *stride, *pad[0], *pad[1], *dil)
        slots = None
        key = pool_key(e) if prim in (P.max_pool2d, P.max_pool2d_scatter) else None
        if prim is P.max_pool2d and key in self.pool_pairs:
            slots = self._new_scratch(math.prod(out.shape))  # a byte per output
            kernel, self.pool_slots[key] = "max_pool2d_index", slots
        elif prim is P.max_pool2d_scatter and key in self.pool_slots:
            kernel, slots = "max_pool2d_scatter_index", self.pool_slots[key]
        elif prim is P.max_pool2d_scatter:  # before its pool: no slots for the pool to save
            self.pool_pairs.discard(key)
        a, b = self._view(a), self._view(b)
        self._add(
            Conv(kernel, geometry, a, b, self._out(out), workspace, int(ws), int(ws_min), slots)
        )

    def lower_int(self, e):
        """An integer or bool elementwise operation: one pass of its own (the register
        machine holds floats), operands broadcast by strides, scalar literals inline."""
        if e.prim.kernel not in INT_OPS or not _integer_operation(e):
            return False
        out = e.outputs[0]
        walked = [a for a in e.inputs if isinstance(a, Var)]
        shape, strides = collapse(
            out.shape, *[broadcast_strides(a.shape, out.shape) or [0] for a in walked]
        )
        strides = iter(strides)
        operands = tuple(
            IntOperand(self._view(a), tuple(next(strides)))
            if isinstance(a, Var)
            else IntOperand(None, None, int(np.asarray(a.value)))
            for a in e.inputs
        )
        self._add(IntOp(e.prim.kernel, self._out(out), tuple(shape), operands))

    def lower_lapack(self, e):
        """A linear-algebra equation: its batched LAPACK kernel (compiler/lapack.py)."""
        if lapack.runner(e) is None:
            return False
        self._add(Lapack(e, self._operands(e), self._out(e.outputs[0])))

    def lower_python(self, e):
        """No compiled kernel takes ``e``: its NumPy reference runs inside the program.
        Never silent: print(program) marks the step, and a debug log says it once."""
        if e.prim not in _reported:
            _reported.add(e.prim)
            operands = ", ".join(aval_str(a.shape, a.dtype) for a in e.inputs)
            _log.debug(
                "%s(%s) has no compiled kernel: it runs its NumPy reference inside the "
                "compiled program",
                e.prim.name,
                operands,
            )
        outs = [self._out(v) for v in e.outputs]
        self._add(Callback(e, self._operands(e), outs[0], tuple(outs[1:])))

    def _operands(self, e):
        return tuple(self._view(a) if isinstance(a, Var) else a for a in e.inputs)

    def lower_fused(self, group):
        """A group of fusion.py's: one register-machine kernel. Values needed outside the
        group are stored; the rest stay in registers."""
        inside = {e.outputs[0] for e in group}
        dtype = vm_dtype(group)
        out_shape = group[0].outputs[0].shape  # groups start elementwise: the iteration shape
        outset = {a for a in self.outvars if isinstance(a, Var)}
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
        uses = self.folds.uses
        exported = [
            e.outputs[0]
            for e in group
            if not is_fused_reduction(e.prim)
            and (e.outputs[0] in outset or uses[e.outputs[0]] > inner_uses.get(e.outputs[0], 0))
        ]
        reductions = []

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
                    code.append(Op("const", constants[key], value, 0, 0))
                return constants[key]
            if a in regs:
                return regs[a]
            if a not in inputs:
                inputs[a] = len(inputs)
            r = alloc()
            code.append(Op("load", r, inputs[a], 0, 0))
            regs[a] = r
            return r

        for k, e in enumerate(group):
            srcs = [operand(a) for a in e.inputs]
            if is_fused_reduction(e.prim):  # accumulates the block into its output at once
                v = e.outputs[0]
                strides = reduced_strides(out_shape, v.shape, e.params["axes"])
                reductions.append(FusedReduction(self._out(v), e.prim.kernel, tuple(strides)))
                code.append(Op("reduce", len(reductions) - 1, srcs[0], 0, 0))
                r = None  # no register: nothing in the group reads a reduction
            else:
                r = alloc()
                ops = srcs + [0, 0, 0]
                op = e.prim.kernel  # (a cast's is copy: bool -> float is a load of 0/1)
                code.append(Op(op, r, ops[0], ops[1], ops[2]))
                regs[e.outputs[0]] = r
            for a in set(e.inputs):
                if isinstance(a, Var) and last_use.get(a) == k and a not in exported and a in regs:
                    if regs[a] != r:
                        free.append(regs.pop(a))
        outputs = tuple(FusedOutput(self._out(v), regs[v]) for v in exported)
        fused_inputs = tuple(
            FusedInput(self._view(a), tuple(broadcast_strides(a.shape, out_shape)))
            for a, _ in sorted(inputs.items(), key=lambda kv: kv[1])
        )
        shape = tuple(out_shape) or (1,)
        self._add(Fused(dtype, shape, fused_inputs, outputs, tuple(code), tuple(reductions)))


# What each instruction kind of a record's ``lowering`` runs. "fused" is fusion's: an
# equation that reaches _Lowering.lower_eqn was not fused.
LOWERINGS = {
    "view": _Lowering.lower_view,
    "gemm": _Lowering.lower_gemm,
    "reduce": _Lowering.lower_reduce,
    "softmax": _Lowering.lower_softmax,
    "fill": _Lowering.lower_fill,
    "indexed": _Lowering.lower_indexed,
    "cast": _Lowering.lower_cast,
    "argmax": _Lowering.lower_argmax,
    "int": _Lowering.lower_int,
    "random_bits": _Lowering.lower_random_bits,
    "conv": _Lowering.lower_conv,
    "copy": _Lowering.lower_copy,
    "lapack": _Lowering.lower_lapack,
}


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
    if x.dtype not in DTYPE_CODES or out.dtype not in DTYPE_CODES:
        return False
    return not (x.dtype.kind == "f" and out.dtype.kind in "iu")
