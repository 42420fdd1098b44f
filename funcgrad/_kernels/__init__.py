"""Compiled kernels (Cython): the executor and the convolution/pooling kernels.

OpenBLAS's idle threads spin for about 2**28 cycles after each GEMM by default; on two cores
that steals the core our single-threaded kernels run on (a cnn training step took 65 ms
instead of 42). Here they spin 2**24 cycles (~5 ms) and then sleep, which keeps them warm
between the GEMMs of one step. It takes effect only if SciPy's BLAS is not loaded yet, and
never overrides a value the user set.
"""

import os

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "24")
