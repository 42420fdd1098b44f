# cython: language_level=3
"""What the kernels were compiled for, and whether this CPU has it. Built without SIMD
flags, so that it runs anywhere and can be asked before the kernels are loaded."""

cdef extern from *:
    """
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    static int fg_has_avx2(void) { __builtin_cpu_init(); return __builtin_cpu_supports("avx2"); }
    static int fg_has_fma(void) { __builtin_cpu_init(); return __builtin_cpu_supports("fma"); }
    #else
    static int fg_has_avx2(void) { return 0; }
    static int fg_has_fma(void) { return 0; }
    #endif
    #ifdef FG_BUILT_FOR_AVX2
    static const int fg_built_avx2 = 1;
    #else
    static const int fg_built_avx2 = 0;
    #endif
    #ifdef FG_BUILT_FOR_FMA
    static const int fg_built_fma = 1;
    #else
    static const int fg_built_fma = 0;
    #endif
    """
    int fg_has_avx2()
    int fg_has_fma()
    const int fg_built_avx2
    const int fg_built_fma


def built_for():
    """The instruction-set extensions the kernels were compiled for (may be empty)."""
    return tuple(name for name, on in (("avx2", fg_built_avx2), ("fma", fg_built_fma)) if on)


def missing():
    """Those of :func:`built_for` that the running CPU does not have."""
    has = {"avx2": fg_has_avx2(), "fma": fg_has_fma()}
    return tuple(name for name in built_for() if not has[name])
