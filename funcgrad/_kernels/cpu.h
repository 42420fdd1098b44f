/* What the kernels were compiled for (setup.py's FG_BUILT_FOR_* macros) and what this CPU
   has; _cpu.pyx, built without SIMD flags, asks it before any kernel loads. */
#ifndef FUNCGRAD_CPU_H
#define FUNCGRAD_CPU_H


#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define FG_HAS(feature) (__builtin_cpu_init(), __builtin_cpu_supports(feature))
#else
#define FG_HAS(feature) 0
#endif
#ifdef FG_BUILT_FOR_AVX2
#define FG_BUILT_AVX2 1
#else
#define FG_BUILT_AVX2 0
#endif
#ifdef FG_BUILT_FOR_FMA
#define FG_BUILT_FMA 1
#else
#define FG_BUILT_FMA 0
#endif
#ifdef FG_BUILT_FOR_AVX512
#define FG_BUILT_AVX512 1
#else
#define FG_BUILT_AVX512 0
#endif
/* The features, in setup.py's order: AVX2, FMA, then the AVX-512 subsets it uses. */
static const int fg_built[6] = {FG_BUILT_AVX2, FG_BUILT_FMA, FG_BUILT_AVX512,
                                FG_BUILT_AVX512, FG_BUILT_AVX512, FG_BUILT_AVX512};
static int fg_has(int k) {
    switch (k) {
        case 0: return FG_HAS("avx2");
        case 1: return FG_HAS("fma");
        case 2: return FG_HAS("avx512f");
        case 3: return FG_HAS("avx512vl");
        case 4: return FG_HAS("avx512bw");
        default: return FG_HAS("avx512dq");
    }
}

#endif
