# cython: language_level=3
"""What the kernels were compiled for, and whether this CPU has it. Built without SIMD
flags, so that it runs anywhere and can be asked before the kernels are loaded."""

cdef extern from "cpu.h":
    const int fg_built[6]
    int fg_has(int k)

FEATURES = ("avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq")


def built_for():
    """The instruction-set extensions the kernels were compiled for (may be empty)."""
    return tuple(name for k, name in enumerate(FEATURES) if fg_built[k])


def missing():
    """Those of :func:`built_for` that the running CPU does not have."""
    return tuple(name for k, name in enumerate(FEATURES) if fg_built[k] and not fg_has(k))
