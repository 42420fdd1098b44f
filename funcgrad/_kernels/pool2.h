/* 2x2 windows with stride 2 over a plane without padding and of even height and width (the
   usual CNN pooling): plain C over one pair of input rows at a time, with constant offsets,
   so that GCC vectorizes the loads and stores. The general _pool_block of pool.pyx reads
   src[q * sw] with a run-time stride, which it cannot vectorize well (5-8x slower on the
   reference CNN). "Later beats earlier" is a total preorder with NaN on top, so the first
   maximum of the window is the first maximum of the two row pairs' first maxima: same ties
   and NaNs as pool.pyx's _argmax. */
#ifndef FUNCGRAD_POOL2_H
#define FUNCGRAD_POOL2_H

#include <string.h>
#ifdef __AVX2__
#include <immintrin.h>
#endif

/* The kinds of pooling FG_POOL_* (pool.pxd's POOL_*; the instruction set numbers them, as
   conv instructions' kernels from POOLED on) */
#include "isa.h"

/* v, later in window order, replaces the running max m: larger, or the first NaN.
   Written with || and ?: on floats only (no int flags), so that GCC if-converts and
   vectorizes the loops below; the spellings with int flags we tried stayed scalar. */
#define FG_BEATS(v, m) ((v) > (m) || ((v) != (v) && (m) == (m)))
/* Saved argmax slots between bytes and the int / float lanes the pooling loops use, in
   blocks of 8 or 4. GCC leaves these conversions scalar (and slow) whatever the
   spelling, so the common float32 case uses AVX2 when it is there. */
#define FG_BYTE_LOOPS(T, S, B)                                                          \
static inline void fg_byte_to_##S##B(const unsigned char *s, T *k) {                    \
    for (long q = 0; q < B; q++) k[q] = (T)s[q];                                        \
}
FG_BYTE_LOOPS(double, d, 4)
FG_BYTE_LOOPS(double, d, 8)
#ifdef __AVX2__
static inline void fg_int_to_byte4(const int *slot, unsigned char *s) {
    __m128i w = _mm_packus_epi32(_mm_loadu_si128((const __m128i *)slot), _mm_setzero_si128());
    int four = _mm_cvtsi128_si32(_mm_packus_epi16(w, w));
    memcpy(s, &four, 4);
}
static inline void fg_byte_to_f4(const unsigned char *s, float *k) {
    int four;
    memcpy(&four, s, 4);
    _mm_storeu_ps(k, _mm_cvtepi32_ps(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(four))));
}
static inline void fg_int_to_byte8(const int *slot, unsigned char *s) {
    __m256i v = _mm256_loadu_si256((const __m256i *)slot);
    __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64((__m128i *)s, _mm_packus_epi16(w, w));
}
static inline void fg_byte_to_f8(const unsigned char *s, float *k) {
    __m128i b = _mm_loadl_epi64((const __m128i *)s);
    _mm256_storeu_ps(k, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b)));
}
#else
static inline void fg_int_to_byte4(const int *slot, unsigned char *s) {
    for (long q = 0; q < 4; q++) s[q] = (unsigned char)slot[q];
}
static inline void fg_int_to_byte8(const int *slot, unsigned char *s) {
    for (long q = 0; q < 8; q++) s[q] = (unsigned char)slot[q];
}
FG_BYTE_LOOPS(float, f, 4)
FG_BYTE_LOOPS(float, f, 8)
#endif
/* Blocks of B output columns of one row pair (a, b = a + w), a fixed trip count so that
   there is no scalar remainder loop: with 7 or 14 columns per row (the reference CNN)
   its branchy compares cost more than the vector part. "unroll 1" keeps GCC from fully
   unrolling the loop before if-conversion, which leaves the compares as branches. */
#define FG_P2_BLOCKS(T, S, B)                                                           \
static inline void fg_p2_max##B##_##S(const T *restrict a, const T *restrict b,       \
                                      T *restrict y) {                                  \
    _Pragma("GCC unroll 1") for (long q = 0; q < B; q++) {                              \
        T a0 = a[2 * q], a1 = a[2 * q + 1], b0 = b[2 * q], b1 = b[2 * q + 1];           \
        T ma = FG_BEATS(a1, a0) ? a1 : a0, mb = FG_BEATS(b1, b0) ? b1 : b0;             \
        y[q] = FG_BEATS(mb, ma) ? mb : ma;                                              \
    }                                                                                   \
}                                                                                       \
/* t is loaded unconditionally: conditional loads are not vectorized */                  \
static inline void fg_p2_select##B##_##S(const T *restrict a, const T *restrict b,    \
                                         const T *restrict ta, const T *restrict tb,    \
                                         T *restrict y) {                               \
    _Pragma("GCC unroll 1") for (long q = 0; q < B; q++) {                              \
        T a0 = a[2 * q], a1 = a[2 * q + 1], b0 = b[2 * q], b1 = b[2 * q + 1];           \
        T t0 = ta[2 * q], t1 = ta[2 * q + 1], t2 = tb[2 * q], t3 = tb[2 * q + 1];       \
        T ma = FG_BEATS(a1, a0) ? a1 : a0, mb = FG_BEATS(b1, b0) ? b1 : b0;             \
        T va = FG_BEATS(a1, a0) ? t1 : t0, vb = FG_BEATS(b1, b0) ? t3 : t2;             \
        y[q] = FG_BEATS(mb, ma) ? vb : va;                                              \
    }                                                                                   \
}                                                                                       \
/* the max and its window slot (0..3, row-major), the slot the scatter below picks;    \
   slots go through an int array: GCC vectorizes neither loop if it mixes the types */ \
static inline void fg_p2_maxidx##B##_##S(const T *restrict a, const T *restrict b,    \
                                         T *restrict y, unsigned char *restrict s) {    \
    int slot[B];                                                                        \
    _Pragma("GCC unroll 1") for (long q = 0; q < B; q++) {                              \
        T a0 = a[2 * q], a1 = a[2 * q + 1], b0 = b[2 * q], b1 = b[2 * q + 1];           \
        T ma = FG_BEATS(a1, a0) ? a1 : a0, mb = FG_BEATS(b1, b0) ? b1 : b0;             \
        T m = FG_BEATS(mb, ma) ? mb : ma;                                               \
        /* the first slot holding the max, or the first NaN (only a NaN max has one) */ \
        int k = (b1 == m || b1 != b1) ? 3 : 0;                                          \
        k = (b0 == m || b0 != b0) ? 2 : k;                                              \
        k = (a1 == m || a1 != a1) ? 1 : k;                                              \
        y[q] = m, slot[q] = (a0 == m || a0 != a0) ? 0 : k;                              \
    }                                                                                   \
    fg_int_to_byte##B(slot, s);                                                         \
}                                                                                       \
/* g at the saved slot, 0 at the other three: every dx element written */              \
static inline void fg_p2_scatidx##B##_##S(const unsigned char *restrict s,            \
                                          const T *restrict g, T *restrict da,          \
                                          T *restrict db) {                             \
    T slot[B];                                                                          \
    fg_byte_to_##S##B(s, slot);                                                         \
    _Pragma("GCC unroll 1") for (long q = 0; q < B; q++) {                              \
        T gv = g[q], k = slot[q];                                                       \
        da[2 * q] = k == (T)0 ? gv : (T)0, da[2 * q + 1] = k == (T)1 ? gv : (T)0;       \
        db[2 * q] = k == (T)2 ? gv : (T)0, db[2 * q + 1] = k == (T)3 ? gv : (T)0;       \
    }                                                                                   \
}                                                                                       \
/* g at the argmax, z at the other three slots. Accumulating adds with z = -0.0, which  \
   leaves every value (-0.0 too) unchanged: GCC turns "keep the old value" selects into \
   masked stores that it cannot vectorize. Lanes below lo were added already. */      \
static inline void fg_p2_scatter##B##_##S(const T *restrict a, const T *restrict b,   \
                                          const T *restrict g, T *restrict da,          \
                                          T *restrict db, long lo, int accumulate) {    \
    T z = accumulate ? (T)-0.0 : (T)0.0;                                                \
    _Pragma("GCC unroll 1") for (long q = 0; q < B; q++) {                              \
        T a0 = a[2 * q], a1 = a[2 * q + 1], b0 = b[2 * q], b1 = b[2 * q + 1];           \
        T ma = FG_BEATS(a1, a0) ? a1 : a0, mb = FG_BEATS(b1, b0) ? b1 : b0;             \
        T gv = accumulate && q < lo ? z : g[q];                                         \
        T ga = FG_BEATS(mb, ma) ? z : gv, gb = FG_BEATS(mb, ma) ? gv : z;               \
        T e0 = FG_BEATS(a1, a0) ? z : ga, o0 = FG_BEATS(a1, a0) ? ga : z;               \
        T e1 = FG_BEATS(b1, b0) ? z : gb, o1 = FG_BEATS(b1, b0) ? gb : z;               \
        if (accumulate) {                                                               \
            e0 += da[2 * q], o0 += da[2 * q + 1], e1 += db[2 * q], o1 += db[2 * q + 1]; \
        }                                                                               \
        da[2 * q] = e0, da[2 * q + 1] = o0, db[2 * q] = e1, db[2 * q + 1] = o1;         \
    }                                                                                   \
}
/* Planes of 2 * oh rows of 2 * ow (ow >= 4); y: oh rows of ow. Blocks of 8 columns (4
   when ow < 8); the last block of a row ends at ow and may overlap the one before it:
   max, select and an assigning scatter recompute equal values there, and an
   accumulating scatter skips the lanes below lo. */
#define FG_P2_ROW(BLOCK, ...)                                                           \
    for (long q = 0, lo = 0, nb = ow >= 8 ? 8 : 4; q < ow; q += nb) {                   \
        if (q + nb > ow) lo = q - (ow - nb), q = ow - nb;                               \
        (void)lo;  /* used by the scatter only */                                       \
        if (nb == 8) BLOCK##8##__VA_ARGS__; else BLOCK##4##__VA_ARGS__;                 \
    }
#define FG_POOL2(T, S)                                                                  \
FG_P2_BLOCKS(T, S, 8)                                                                   \
FG_P2_BLOCKS(T, S, 4)                                                                   \
static void fg_pool2_max_##S(const T *x, T *y, long oh, long ow) {                      \
    for (long r = 0; r < oh; r++) {                                                     \
        const T *a = x + 4 * ow * r, *b = a + 2 * ow;                                   \
        T *yr = y + ow * r;                                                             \
        FG_P2_ROW(fg_p2_max, _##S(a + 2 * q, b + 2 * q, yr + q))                        \
    }                                                                                   \
}                                                                                       \
static void fg_pool2_select_##S(const T *x, const T *t, T *y, long oh, long ow) {       \
    for (long r = 0; r < oh; r++) {                                                     \
        const T *a = x + 4 * ow * r, *b = a + 2 * ow;                                   \
        const T *ta = t + 4 * ow * r, *tb = ta + 2 * ow;                                \
        T *yr = y + ow * r;                                                             \
        FG_P2_ROW(fg_p2_select, _##S(a + 2 * q, b + 2 * q, ta + 2 * q, tb + 2 * q, yr + q)) \
    }                                                                                   \
}                                                                                       \
static void fg_pool2_scatter_##S(const T *x, const T *g, T *dx, long oh, long ow,      \
                                 int accumulate) {                                      \
    for (long r = 0; r < oh; r++) {                                                     \
        const T *a = x + 4 * ow * r, *b = a + 2 * ow, *gr = g + ow * r;                 \
        T *da = dx + 4 * ow * r, *db = da + 2 * ow;                                     \
        FG_P2_ROW(fg_p2_scatter, _##S(a + 2 * q, b + 2 * q, gr + q, da + 2 * q,         \
                                      db + 2 * q, lo, accumulate))                      \
    }                                                                                   \
}                                                                                       \
/* with saved argmax slots: the forward writes them, the scatter reads them, not x */  \
static void fg_pool2_max_index_##S(const T *x, T *y, unsigned char *s, long oh,        \
                                   long ow) {                                           \
    for (long r = 0; r < oh; r++) {                                                     \
        const T *a = x + 4 * ow * r, *b = a + 2 * ow;                                   \
        T *yr = y + ow * r;                                                             \
        unsigned char *sr = s + ow * r;                                                 \
        FG_P2_ROW(fg_p2_maxidx, _##S(a + 2 * q, b + 2 * q, yr + q, sr + q))             \
    }                                                                                   \
}                                                                                       \
static void fg_pool2_scatter_index_##S(const unsigned char *s, const T *g, T *dx,     \
                                       long oh, long ow) {                              \
    for (long r = 0; r < oh; r++) {                                                     \
        const unsigned char *sr = s + ow * r;                                           \
        const T *gr = g + ow * r;                                                       \
        T *da = dx + 4 * ow * r, *db = da + 2 * ow;                                     \
        FG_P2_ROW(fg_p2_scatidx, _##S(sr + q, gr + q, da + 2 * q, db + 2 * q))          \
    }                                                                                   \
}                                                                                       \
/* A max-pool kind on one plane: x the input, t the tensor selected from or the         \
   cotangent scattered, y the output, s the argmax slots (as the kind reads them) */    \
static inline void fg_pool2_plane_##S(int kind, const T *x, const T *t, T *y,          \
                                      unsigned char *s, long oh, long ow,               \
                                      int accumulate) {                                 \
    switch (kind) {                                                                     \
    case FG_POOL_MAX: fg_pool2_max_##S(x, y, oh, ow); break;                            \
    case FG_POOL_MAX_INDEX: fg_pool2_max_index_##S(x, y, s, oh, ow); break;             \
    case FG_POOL_SELECT: fg_pool2_select_##S(x, t, y, oh, ow); break;                   \
    case FG_POOL_SCATTER: fg_pool2_scatter_##S(x, t, y, oh, ow, accumulate); break;     \
    case FG_POOL_SCATTER_INDEX: fg_pool2_scatter_index_##S(s, t, y, oh, ow); break;     \
    }                                                                                   \
}
FG_POOL2(float, f)
FG_POOL2(double, d)

#endif
