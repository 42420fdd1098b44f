"""Compiled kernels (Cython): the executor and the convolution/pooling kernels.

OpenBLAS's idle threads spin for about 2**28 cycles after each GEMM by default; on two cores
that steals the core our single-threaded kernels run on (a cnn training step took 65 ms
instead of 42). Here they spin 2**24 cycles (~5 ms) and then sleep, which keeps them warm
between the GEMMs of one step. It takes effect only if SciPy's BLAS is not loaded yet, and
never overrides a value the user set.

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

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "24")

from .. import threads  # noqa: E402
from . import conv  # noqa: E402

conv.set_num_threads(threads.default_num_threads())
