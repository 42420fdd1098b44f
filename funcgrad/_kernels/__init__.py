"""Compiled kernels (Cython): the executor and the convolution/pooling kernels.

``executor`` runs a lowered program, taking each instruction's kernel from the module of its
job (vm, gemm, reduce, copy, gather, rows, random, cast, integer, images); ``conv`` wraps
the convolution and pooling kernels (convolution, pool) for Python and re-exports the
thread settings (threads); ``linalg`` is the batched LAPACK kernels. C lives in the ``.h``
files.

Two settings of the thread pools, read once when the libraries load (here, unless the
process loaded them before) and never overriding a value the user set:

- OpenBLAS's idle threads spin for about 2**28 cycles after each GEMM by default; on two
  cores that steals the core our kernels run on (a cnn training step ran about 1.5x longer).
  ``OPENBLAS_THREAD_TIMEOUT=24``: they spin for a few milliseconds, then sleep.
- OpenMP's idle threads (funcgrad's pool) spin ``GOMP_SPINCOUNT`` times before they sleep.
  libgomp's default (300,000) keeps a thread spinning through the time slice it shares with
  any other busy process: with one core loaded, the mlp step ran some 20x longer.
  10,000 spins bridge the gaps between the kernels of one step and then yield the core.

The environment is restored afterwards, so child processes do not inherit these values.

Kernels compiled for AVX2/FMA (see setup.py) would die of an illegal instruction on a CPU
without them; importing this package raises ImportError instead, before any of them loads,
and funcgrad runs on the NumPy reference interpreter with a warning.
"""

import os

from ._cpu import built_for, missing

if missing():
    raise ImportError(
        f"funcgrad's kernels were compiled for {', '.join(built_for())}, which this CPU lacks "
        f"({', '.join(missing())}); rebuild them here, or portably with "
        "`FUNCGRAD_PORTABLE=1 pip install .`"
    )

_THREAD_ENV = {"OPENBLAS_THREAD_TIMEOUT": "24", "GOMP_SPINCOUNT": "10000"}
_unset = [name for name in _THREAD_ENV if name not in os.environ]
os.environ.update({name: _THREAD_ENV[name] for name in _unset})
try:
    # conv loads libgomp and SciPy's OpenBLAS, which read them
    from . import conv, executor  # noqa: F401
finally:
    for name in _unset:
        os.environ.pop(name, None)

from .thread_count import default_num_threads  # noqa: E402

conv.set_num_threads(default_num_threads())
