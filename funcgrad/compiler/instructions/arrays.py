"""One-pass kernels over arrays: reductions, row kernels, copies and fills, casts, random
bits, gathers and scatters, integer operations."""

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ...core import aval_str
from .. import isa
from ..isa import CAST_DTYPES, INT_OPS, PARALLEL_MIN, RANDOM_BITS_KINDS, REDUCE_KINDS, SOFTMAX_KINDS
from .base import Instruction, View, is_double

# The executor's dtype codes, keyed by the dtype itself (native byte order), never by its
# name: ">f4" is named float32 too.
DTYPE_CODES = {np.dtype(name): code for name, code in CAST_DTYPES.items()}
_RANDOM_BITS_CODES = {np.dtype(name): code for name, code in RANDOM_BITS_KINDS.items()}
# What a fill writes (value + index * step), in the executor's order.
FILL_DTYPES = tuple(map(np.dtype, (np.float32, np.float64, np.int32, np.int64)))


# ---------------------------------------------------------------------- row and reduction kernels


def _row_fields(rows):
    outer, n, inner = rows
    return {"outer": outer, "n": n, "inner": inner}


def _rows(rows):
    """A row kernel's (outer, n, inner) layout, in words."""
    outer, n, inner = rows
    return f"of {n}-element rows, {outer}x{inner} of them"


@dataclass(frozen=True)
class Reduce(Instruction):
    """A float reduction of ``x`` walked over ``shape`` (strides into ``out``: 0 along the
    reduced axes)."""

    _reads = ("x",)
    kind = "reduce"
    how: str  # "sum", "max" or "min"
    x: View
    out: View
    shape: tuple
    strides: tuple

    def describe(self, listing=False):
        return f"shape {list(self.shape)}"

    _dtype_field = "is_double"

    def _dtype_code(self):
        return is_double(self.out)

    def fields(self, enc):
        return dict(
            {self._dtype_field: self._dtype_code()},
            kind=REDUCE_KINDS[self.how],
            src=enc.buffer(self.x.storage),
            dst=enc.buffer(self.out.storage),
            out_size=self.out.size,
            ndim=len(self.shape),
            shape=self.shape,
            out_strides=self.strides,
        )


@dataclass(frozen=True)
class IntReduce(Reduce):
    """An integer or bool reduction (wrapping as NumPy's does)."""

    kind = "int_reduce"
    _dtype_field = "dtype"

    def _dtype_code(self):
        return DTYPE_CODES[self.out.dtype]


@dataclass(frozen=True)
class Softmax(Instruction):
    """A row kernel of the softmax family over x viewed as (outer, n, inner)."""

    _reads = ("x",)
    kind = "softmax"
    function: str  # "logsumexp", "log_softmax" or "softmax"
    x: View
    out: View
    rows: tuple  # (outer, n, inner)

    @property
    def may_use_threads(self):
        return math.prod(self.rows) >= PARALLEL_MIN["softmax"]

    def describe(self, listing=False):
        return f"{self.function} {_rows(self.rows)}"

    def fields(self, enc):
        x, y = enc.buffer(self.x.storage), enc.buffer(self.out.storage)
        kind = SOFTMAX_KINDS[self.function]
        return dict(is_double=is_double(self.x), kind=kind, x=x, y=y, **_row_fields(self.rows))


@dataclass(frozen=True)
class Argmax(Instruction):
    """The first maximum (or NaN) of each row of x viewed as (outer, n, inner)."""

    _reads = ("x",)
    kind = "argmax"
    x: View
    out: View
    rows: tuple

    def describe(self, listing=False):
        return _rows(self.rows)

    def fields(self, enc):
        x, out = enc.buffer(self.x.storage), enc.buffer(self.out.storage)
        is_int32 = int(self.out.dtype == np.int32)
        return dict(
            is_double=is_double(self.x), x=x, out=out, is_int32=is_int32, **_row_fields(self.rows)
        )


# ---------------------------------------------------------------------- copies and fills


@dataclass(frozen=True)
class Copy(Instruction):
    """A strided copy of ``shape`` elements from src to dst (transpose, broadcast, slice,
    flip, a part of a concatenation or of a padding)."""

    _reads = ("src",)
    _writes = ("dst",)
    kind = "copy"
    src: View
    src_offset: int
    src_strides: tuple
    dst: View
    dst_offset: int
    dst_strides: tuple
    shape: tuple

    def fields(self, enc):
        return dict(
            itemsize=self.dst.dtype.itemsize,
            src=enc.buffer(self.src.storage),
            src_offset=self.src_offset,
            dst=enc.buffer(self.dst.storage),
            dst_offset=self.dst_offset,
            ndim=len(self.shape),
            shape=self.shape,
            src_strides=self.src_strides,
            dst_strides=self.dst_strides,
        )


@dataclass(frozen=True)
class Fill(Instruction):
    """``out[i] = value + i * step`` (a constant, or iota)."""

    kind = "fill"
    out: View
    value: float
    step: float

    def describe(self, listing=False):
        value, step = self.value, self.step
        what = f"{value:g}, {value + step:g}, ..." if step else f"{value:g}"
        return f"{what} as {list(self.out.shape)} {self.out.dtype.name}"

    def fields(self, enc):
        first = enc.const(self.value)
        enc.const(self.step)  # (the next constant)
        dtype = FILL_DTYPES.index(self.out.dtype)
        return dict(dtype=dtype, dst=enc.buffer(self.out.storage), count=self.out.size, const=first)


@dataclass(frozen=True)
class Cast(Instruction):
    """A dtype conversion, as NumPy's astype converts."""

    _reads = ("x",)
    _split_by_result = True
    kind = "cast"
    x: View
    out: View

    def describe(self, listing=False):
        return f"{self.x.dtype.name} -> {self.out.dtype.name}, {list(self.out.shape)}"

    def fields(self, enc):
        return dict(
            src_dtype=DTYPE_CODES[self.x.dtype],
            dst_dtype=DTYPE_CODES[self.out.dtype],
            src=enc.buffer(self.x.storage),
            dst=enc.buffer(self.out.storage),
            count=self.out.size,
        )


@dataclass(frozen=True)
class RandomBits(Instruction):
    """Threefry-2x32 bits of ``key`` at ``counters``."""

    _reads = ("key", "counters")
    _split_by_result = True
    kind = "random_bits"
    key: View
    counters: View
    out: View

    def describe(self, listing=False):
        return f"Threefry-2x32 bits as {list(self.out.shape)} {self.out.dtype.name}"

    def fields(self, enc):
        return dict(
            kind=_RANDOM_BITS_CODES[self.out.dtype],
            key=enc.buffer(self.key.storage),
            counters=enc.buffer(self.counters.storage),
            out=enc.buffer(self.out.storage),
            count=self.out.size,
        )


# ---------------------------------------------------------------------- indexing


class Index(NamedTuple):
    view: View  # int32 or int64 index values, of the batch shape
    size: int  # the indexed axis's length
    stride: int  # elements between its rows


@dataclass(frozen=True)
class Gather(Instruction):
    """``out[b] = x[indices[b]]``: n rows of ``row`` elements, one per batch position."""

    kind = "gather"
    indexing = "indexing"  # (for an error message)
    x: View
    out: View
    n: int
    row: int
    indices: tuple  # Index

    @property
    def reads(self):
        return [self.x.storage] + [i.view.storage for i in self.indices]

    def _head(self):
        return {"itemsize": self.out.dtype.itemsize}

    def fields(self, enc):
        indices = [
            isa.encoders.gather_index(
                buf=enc.buffer(i.view.storage),
                is_int32=int(i.view.dtype == np.int32),
                size=i.size,
                stride=i.stride,
            )
            for i in self.indices
        ]
        return dict(
            self._head(),
            src=enc.buffer(self.x.storage),
            dst=enc.buffer(self.out.storage),
            n_index=self.n,
            row=self.row,
            k=len(self.indices),
            indices=indices,
        )

    def bad_index(self, read, where):
        for index in self.indices:
            values = read(index.view)
            bad = (values < -index.size) | (values >= index.size)
            if bad.any():
                value = values[np.unravel_index(np.argmax(bad), values.shape)]
                break
        else:
            return None
        view = index.view
        return IndexError(
            f"index {value} is out of bounds for an axis of size {index.size}, in "
            f"{self.indexing} by an index array of {aval_str(view.shape, view.dtype)} at "
            f"{where} (under jit and grad, index values are known only when the function runs)"
        )


@dataclass(frozen=True)
class ScatterAdd(Gather):
    """``out[indices[b]] += x[b]`` into zeros of out's shape (a gather's gradient)."""

    kind = "scatter_add"
    indexing = "the gradient of indexing"

    def _head(self):
        return {"is_double": is_double(self.out), "total": self.out.size}


# ---------------------------------------------------------------------- integers


class IntOperand(NamedTuple):
    view: View | None  # None: a scalar literal, ``value``
    strides: tuple | None  # element strides over the operation's (collapsed) shape
    value: int = 0


@dataclass(frozen=True)
class IntOp(Instruction):
    """An integer or bool elementwise operation (an INT_OPS name) over ``shape``."""

    kind = "int"
    op: str
    out: View
    shape: tuple
    operands: tuple  # IntOperand

    @property
    def reads(self):
        return [a.view.storage for a in self.operands if a.view is not None]

    def describe(self, listing=False):
        return f"{self.op} over {list(self.out.shape)} {self.out.dtype.name}"

    def fields(self, enc):
        ndim = len(self.shape)
        operands = [
            isa.encoders.int_operand(dtype=-1, buf=a.value, strides=(0,) * ndim)
            if a.view is None  # a scalar: its value in place of a buffer
            else isa.encoders.int_operand(
                dtype=DTYPE_CODES[a.view.dtype],
                buf=enc.buffer(a.view.storage),
                strides=a.strides,
            )
            for a in self.operands
        ]
        return dict(
            op=INT_OPS[self.op].code,
            dtype=DTYPE_CODES[self.out.dtype],
            out=enc.buffer(self.out.storage),
            ndim=ndim,
            shape=self.shape,
            n_in=len(self.operands),
            operands=operands,
        )
