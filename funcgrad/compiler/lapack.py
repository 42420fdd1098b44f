"""The "lapack" lowering kind: linear-algebra equations run the batched LAPACK kernels of
``_kernels/linalg.pyx`` (one C loop over the batch, the GIL released) in place of their
NumPy references. The kernels return LAPACK's factors as ``numpy.linalg`` does; the
primitives' packing (the signs made unique, the factors stacked) is applied here, so a
compiled program and the reference interpreter agree to rounding.

The executor calls these through its Python-callback instruction: one call per equation,
none per matrix. Each runner takes the program's result buffer as ``out`` and writes into
it (the kernels that can compute there in place do, saving a copy).
"""

import math

import numpy as np

from .. import primitives as P
from .. import threads
from .._kernels import linalg as kernels
from ..core import Var

PL = P.linalg


def _pinv(a, rcond):
    """NumPy's pseudo-inverse (singular values <= rcond * max(s) dropped) from the SVD kernel."""
    u, s, vt = kernels.svd(a)
    cutoff = rcond * np.max(s, axis=-1, keepdims=True, initial=0)
    inverse = np.divide(1, s, where=s > cutoff, out=np.zeros_like(s))
    return np.swapaxes(vt, -1, -2) @ (inverse[..., None] * np.swapaxes(u, -1, -2))


def _into(fn):
    """A runner writing ``fn``'s result into ``out`` (returned), or returning it."""

    def run(*args, out=None, **params):
        result = fn(*args, **params)
        if out is None:
            return result
        np.copyto(out, result)
        return out

    return run


def _threads():
    """The threads a kernel may split its BLAS calls among: funcgrad's while a compiled
    program holds BLAS to one thread, else 1 (BLAS starts its own)."""
    return threads.get_num_threads() if threads._running else 1


def _triangular_solve(a, b, lower, transpose_a, left_side=True, out=None):
    return kernels.triangular_solve(a, b, lower, transpose_a, left_side, out, _threads())


def _triangular_matmul(a, b, lower, transpose_a, out=None):
    return kernels.triangular_matmul(a, b, lower, transpose_a, out, _threads())


RUNNERS = {
    "cholesky": lambda a, out=None: kernels.cholesky(a, out, _threads()),
    "triangular_solve": _triangular_solve,
    "triangular_matmul": _triangular_matmul,
    "solve": _into(kernels.solve),
    "slogdet": _into(lambda a: np.stack(kernels.slogdet(a), axis=-1)),
    "eigh": _into(
        lambda a, vectors: (
            PL.pack_eigh(*kernels.eigh(a)) if vectors else kernels.eigh(a, vectors=False)
        )
    ),
    "svd": _into(
        lambda a, compute_uv: (
            PL.pack_svd(*kernels.svd(a)) if compute_uv else kernels.svd(a, compute_uv=False)
        )
    ),
    "qr": _into(lambda a, complete: PL.pack_qr(*kernels.qr(a, complete))),
    "pinv": _into(_pinv),
}
# The kernels that split their BLAS calls among funcgrad's threads, and the work (output
# elements times the matrices' order) from which a program running one holds BLAS to one
# thread for them: OpenBLAS's own threads next to funcgrad's were many times slower.
SPLIT = ("cholesky", "triangular_solve", "triangular_matmul")
SPLIT_MIN = 1 << 20


def may_use_threads(eqn):
    """Whether ``eqn``'s kernel may run on funcgrad's threads."""
    out = eqn.outputs[0]
    return eqn.prim.kernel in SPLIT and math.prod(out.shape) * eqn.inputs[0].shape[-1] >= SPLIT_MIN


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def runner(eqn):
    """The kernel for ``eqn``, or None where only the reference takes it (float16 and long
    double, which LAPACK does not compute in)."""
    if eqn.prim.kernel not in RUNNERS:
        return None
    if not all(isinstance(a, Var) and a.dtype in _KERNEL_DTYPES for a in eqn.inputs):
        return None
    return RUNNERS[eqn.prim.kernel]
