"""Register-machine kernels (fused elementwise operations and reductions) and GEMMs,
alone or with a fused kernel as their epilogue."""

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import isa
from ..isa import PARALLEL_MIN, REDUCE_KINDS, TEMPLATE_KINDS, vm_code
from ..layout import collapse, contiguous_strides
from ..templates import match as match_template
from .base import Instruction, Partial, View, add_role, is_double

TEMPLATE_NAMES = {code: name for name, code in TEMPLATE_KINDS.items()}
_NO_TEMPLATE = isa.encoders.template(kind=0, a=0, b=0, slope=-1, result=0, mask=-1)  # (T_NONE)


class FusedInput(NamedTuple):
    view: View
    strides: tuple  # element strides over the iteration shape (() for a scalar kernel)


class FusedOutput(NamedTuple):
    view: View
    register: int  # the register holding its value


class FusedReduction(NamedTuple):
    view: View
    how: str  # "sum", "max" or "min"
    strides: tuple  # into the result, over the iteration shape (0 along reduced axes)


class Op(NamedTuple):
    """One step of the register machine: ``op`` (a vm_ops.h name, "load", "const" or
    "reduce") into register ``dst`` from ``a, b, c`` (an input for a load, a value for a
    const, a reduction's number as dst of a reduce)."""

    op: str
    dst: int
    a: object
    b: int
    c: int


@dataclass(frozen=True)
class Fused(Instruction):
    """Elementwise operations run by the register machine block by block over ``shape``,
    operands broadcast by strides, and reductions accumulating its values."""

    kind = "fused"
    dtype: np.dtype  # the float dtype it computes in
    shape: tuple
    inputs: tuple  # FusedInput
    outputs: tuple  # FusedOutput
    code: tuple  # Op
    reductions: tuple = ()  # FusedReduction

    @property
    def reads(self):
        return [i.view.storage for i in self.inputs]

    @property
    def writes(self):
        return [o.view.storage for o in self.outputs] + [r.view.storage for r in self.reductions]

    @property
    def donors(self):
        """Each output laid out like the iteration may overwrite an input read the same way
        with its item size (a block is loaded before the block is stored)."""

        def dense(view):
            return (view.shape or (1,)) == self.shape

        return {
            o.view.storage: [
                i.view.storage
                for i in self.inputs
                if dense(i.view) and i.view.dtype.itemsize == o.view.dtype.itemsize
            ]
            for o in self.outputs
            if dense(o.view)
        }

    @property
    def may_use_threads(self):
        return math.prod(self.shape) >= PARALLEL_MIN["fused"]

    @property
    def registers(self):
        return 1 + max((op.dst for op in self.code if op.op != "reduce"), default=-1)

    def describe(self, listing=False):
        ops = " ".join(
            f"reduce_{self.reductions[op.dst].how}" if op.op == "reduce" else op.op
            for op in self.code
            if op.op not in ("load", "const")
        )
        template = match_template(self)
        how = f", one pass ({TEMPLATE_NAMES[template[0]]})" if template else ""
        return f"[{ops}] over {list(self.shape)} {np.dtype(self.dtype).name}{how}"

    def loop_roles(self):
        shape = self.shape
        if len(shape) < 2 or shape[0] < 2:
            return None
        roles = {}
        for i in self.inputs:
            role = "batch" if i.strides and i.strides[0] != 0 else "shared"
            if not add_role(roles, i.view.storage, role):
                return None
        for o in self.outputs:
            if not add_role(roles, o.view.storage, "batch"):
                return None
        for r in self.reductions:
            partial = Partial(r.how, np.dtype(self.dtype))
            if r.strides[0] != 0 or not add_role(roles, r.view.storage, partial):
                return None  # a reduction keeping the images apart: not over the loop
        return shape[0], roles

    def fields(self, enc):
        return {"is_double": int(self.dtype == np.float64), "kernel": self._kernel(enc)}

    def _kernel(self, enc):
        """The register machine's program (isa.py's kernel part)."""
        walked = [i.strides for i in self.inputs] + [r.strides for r in self.reductions]
        n = len(self.shape)
        shape, strides = (
            collapse(self.shape, *[s or (0,) * n for s in walked])
            if walked
            else ([math.prod(self.shape)], [])
        )
        dense = contiguous_strides(shape)
        inputs = [
            isa.encoders.fused_input(
                buf=enc.buffer(i.view.storage),
                # 1: bools, converted; 2: laid out like the iteration, read in place; 3: both
                how=(2 if s == dense else 0) + (i.view.dtype == np.bool_),
                strides=s,
            )
            for i, s in zip(self.inputs, strides)
        ]
        outputs = [
            isa.encoders.fused_output(
                buf=enc.buffer(o.view.storage),
                is_bool=int(o.view.dtype == np.bool_),
                register=o.register,
            )
            for o in self.outputs
        ]
        reductions = [
            isa.encoders.fused_reduction(
                buf=enc.buffer(r.view.storage),
                kind=REDUCE_KINDS[r.how],
                size=r.view.size,
                strides=s,
            )
            for r, s in zip(self.reductions, strides[len(self.inputs) :])
        ]
        code = [
            isa.encoders.vm_step(
                op=vm_code(op), dst=dst, a=enc.const(a) if op == "const" else a, b=b, c=c
            )
            for op, dst, a, b, c in self.code
        ]
        return isa.encoders.kernel(
            ndim=len(shape),
            shape=shape,
            n_in=len(inputs),
            inputs=inputs,
            n_out=len(outputs),
            outputs=outputs,
            n_red=len(reductions),
            reductions=reductions,
            n_code=len(code),
            code=code,
            template=self._template(enc),
        )

    def _template(self, enc):
        """The template part (templates.py): the kernel's one-pass form, if it has one."""
        found = match_template(self)
        if found is None:
            return _NO_TEMPLATE
        kind, a, b, slope, result, mask = found
        slope = -1 if slope is None else enc.const(slope)
        return isa.encoders.template(kind=kind, a=a, b=b, slope=slope, result=result, mask=mask)


# ---------------------------------------------------------------------- GEMMs


@dataclass(frozen=True)
class Gemm(Instruction):
    """``c = op(a) @ op(b)`` over ``batch`` matrices, op a transpose where flagged."""

    _reads = ("a", "b")
    _writes = ("c",)
    kind = "gemm"
    a: View
    b: View
    c: View
    trans_a: bool
    trans_b: bool
    m: int
    n: int
    k: int
    batch: int

    @property
    def may_use_threads(self):
        return self.m * self.n * self.k * self.batch >= PARALLEL_MIN["gemm"]

    def describe(self, listing=False):
        flags = ("T" if self.trans_a else "N") + ("T" if self.trans_b else "N")
        return f"{flags} m={self.m} n={self.n} k={self.k}"

    def fields(self, enc):
        m, n, k = self.m, self.n, self.k
        return dict(
            a=enc.buffer(self.a.storage),
            b=enc.buffer(self.b.storage),
            c=enc.buffer(self.c.storage),
            trans_a=int(self.trans_a),
            trans_b=int(self.trans_b),
            m=int(m),
            n=int(n),
            k=int(k),
            batch=int(self.batch),
            stride_a=int(m * k),
            stride_b=int(k * n),
            stride_c=int(m * n),
            is_double=is_double(self.c),
        )


@dataclass(frozen=True)
class GemmEpilogue(Instruction):
    """A GEMM whose threads each run a fused kernel on the rows they have just computed."""

    kind = "gemm_epilogue"
    gemm: Gemm
    epilogue: Fused

    @property
    def reads(self):
        return self.gemm.reads + self.epilogue.reads

    @property
    def writes(self):
        return self.gemm.writes + self.epilogue.writes

    @property
    def donors(self):
        """Not the GEMM's operands: other threads still read them."""
        operands = set(self.gemm.reads)
        return {s: [d for d in ds if d not in operands] for s, ds in self.epilogue.donors.items()}

    @property
    def may_use_threads(self):
        return self.gemm.may_use_threads

    @property
    def registers(self):
        return self.epilogue.registers

    def describe(self, listing=False):
        return f"{self.gemm}, then {self.epilogue}"

    def fields(self, enc):
        return dict(self.gemm.fields(enc), fused=self.epilogue.encode(enc))
