"""The instructions of a compiled program: one immutable record per kind.

Lowering (lower.py) makes them from equations, scheduling (schedule.py) joins some of them
(GEMM epilogues, loops over images), nested.py turns scans into loops, memory planning
(memory.py) reads what they read and write, and the program (program.py) encodes them for
the executor. Operands are
:class:`View`s: a storage (a buffer to be; the views of one value share theirs) seen with
a shape and dtype. Each record knows

- ``kind``: its name in listings and profiles (and, but for ``lapack``, its opcode);
- ``reads`` / ``writes``: the storages it reads and writes;
- ``donors``: {storage written: storages it may overwrite in place};
- ``may_use_threads``: whether the executor may split it among threads;
- ``describe()`` (and ``str()``): one line about it, for profiles and listings;
- ``fields(encoding)``: its operands by the names of its opcode's layout in isa.py, which
  ``encode(encoding)`` turns into the int64s the executor reads (the encoding, program.py's,
  numbers the buffers and collects float constants and callbacks).

The kinds, by module: fused.py (register-machine kernels, GEMMs), arrays.py (one-pass
kernels over arrays), images.py (convolution, pooling, loops over images), loops.py (scans),
calls.py (Python callbacks).

>>> import numpy as np
>>> x, y = View(0, (4, 3), np.dtype(np.float32)), View(1, (4, 3), np.dtype(np.float64))
>>> cast = Cast(x, y)
>>> cast.kind, cast.reads, cast.writes, str(cast)
('cast', [0], [1], 'float32 -> float64, [4, 3]')
"""

from .arrays import (
    DTYPE_CODES,
    FILL_DTYPES,
    Argmax,
    Cast,
    Copy,
    Fill,
    Gather,
    Index,
    IntOp,
    IntOperand,
    IntReduce,
    RandomBits,
    Reduce,
    ScatterAdd,
    Softmax,
)
from .base import Instruction, Partial, View
from .calls import Callback, Lapack
from .fused import Fused, FusedInput, FusedOutput, FusedReduction, Gemm, GemmEpilogue, Op
from .images import Conv, ImageLoop
from .loops import Cond, Loop, WhileLoop

__all__ = [
    "DTYPE_CODES",
    "FILL_DTYPES",
    "Argmax",
    "Callback",
    "Cast",
    "Cond",
    "Conv",
    "Copy",
    "Fill",
    "Fused",
    "FusedInput",
    "FusedOutput",
    "FusedReduction",
    "Gather",
    "Gemm",
    "GemmEpilogue",
    "ImageLoop",
    "Index",
    "Instruction",
    "IntOp",
    "IntOperand",
    "IntReduce",
    "Lapack",
    "Loop",
    "Op",
    "Partial",
    "RandomBits",
    "Reduce",
    "ScatterAdd",
    "Softmax",
    "View",
    "WhileLoop",
]
