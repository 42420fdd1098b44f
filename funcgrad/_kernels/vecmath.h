/* Array loops written so that GCC vectorizes them, shared by the executor and the softmax
   kernels. GCC vectorizes no floating-point reduction whose order it would have to change
   (a running sum or max), so reductions keep 32 running values side by side, updated
   elementwise, and combine them at the end. */
#ifndef FUNCGRAD_VECMATH_H
#define FUNCGRAD_VECMATH_H

#include <stdint.h>

#define FG_LANES 32

/* ------------------------------------------------------------------------------------ exp

   libm's exp is one scalar call per element (it was 80% of a softmax row's time).
   exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2], with ln 2
   split in two (Cody and Waite) so that n * ln2_hi is exact. exp(r) is its Taylor
   polynomial: degree 7 leaves a truncation error of r^8/8! < 5e-9 for float32, degree 13
   r^14/14! < 5e-18 for float64, both below half an ulp. 2^n is applied as two factors
   2^(n/2) * 2^(n - n/2), each a normal number, so results that are subnormal, overflow to
   inf or underflow to 0 come out right. Inputs are clamped first (NaN passes through). */
/* Bit casts through unions: GCC vectorizes those, not memcpy (as of GCC 12). */
typedef union { float f; int32_t i; } fg_bits_f;
typedef union { double f; int64_t i; } fg_bits_d;

static inline float fg_pow2_f(int32_t k) {  /* 2^k for -126 <= k <= 127 */
    fg_bits_f b;
    b.i = (k + 127) << 23;
    return b.f;
}

/* 2^k for -1022 <= k <= 1023; k is an int32 (AVX2 has no packed double -> int64) */
static inline double fg_pow2_d(int32_t k) {
    fg_bits_d b;
    b.i = (int64_t)(k + 1023) << 52;
    return b.f;
}

/* y = exp(x - shift) */
static inline void fg_exp_f(float *y, const float *x, float shift, long n) {
    for (long j = 0; j < n; j++) {
        float v = x[j] - shift;
        float c = v > 89.0f ? 89.0f : v;        /* exp(89) overflows, exp(-104) is 0 */
        c = c < -104.0f ? -104.0f : c;
        float k = __builtin_floorf(c * 1.44269504088896341f + 0.5f);
        float r = (c - k * 0.693359375f) - k * -2.12194440e-4f;
        float p = 1.0f / 5040;
        p = p * r + 1.0f / 720;
        p = p * r + 1.0f / 120;
        p = p * r + 1.0f / 24;
        p = p * r + 1.0f / 6;
        p = p * r + 0.5f;
        p = p * r + 1.0f;
        p = p * r + 1.0f;
        int32_t n1 = (int32_t)k >> 1;
        float e = p * fg_pow2_f(n1) * fg_pow2_f((int32_t)k - n1);
        y[j] = v != v ? v : e;
    }
}

static inline void fg_exp_d(double *y, const double *x, double shift, long n) {
    for (long j = 0; j < n; j++) {
        double v = x[j] - shift;
        double c = v > 710.0 ? 710.0 : v;       /* exp(710) overflows, exp(-746) is 0 */
        c = c < -746.0 ? -746.0 : c;
        double k = __builtin_floor(c * 1.4426950408889634 + 0.5);
        double r = (c - k * 0.693145751953125) - k * 1.4286068203094173e-06;
        double p = 1.0 / 6227020800.0;            /* 1/13! */
        p = p * r + 1.0 / 479001600.0;
        p = p * r + 1.0 / 39916800.0;
        p = p * r + 1.0 / 3628800.0;
        p = p * r + 1.0 / 362880.0;
        p = p * r + 1.0 / 40320.0;
        p = p * r + 1.0 / 5040.0;
        p = p * r + 1.0 / 720.0;
        p = p * r + 1.0 / 120.0;
        p = p * r + 1.0 / 24.0;
        p = p * r + 1.0 / 6.0;
        p = p * r + 0.5;
        p = p * r + 1.0;
        p = p * r + 1.0;
        int32_t n1 = (int32_t)k >> 1;
        double e = p * fg_pow2_d(n1) * fg_pow2_d((int32_t)k - n1);
        y[j] = v != v ? v : e;
    }
}

/* -------------------------------------------------------------------- row reductions */

#define FG_ROW_REDUCTIONS(T, S)                                                             \
/* sum of a row, added to acc */                                                            \
static inline T fg_row_sum_##S(const T *x, long n, T acc) {                                 \
    if (n < FG_LANES) {  /* short rows (a 10-class softmax): no lanes to set up */          \
        for (long j = 0; j < n; j++) acc += x[j];                                           \
        return acc;                                                                         \
    }                                                                                       \
    T p[FG_LANES] = {0};                                                                    \
    long j = 0;                                                                             \
    for (; j + FG_LANES <= n; j += FG_LANES)                                                \
        for (int k = 0; k < FG_LANES; k++) p[k] += x[j + k];                                \
    for (int k = FG_LANES / 2; k > 0; k /= 2)  /* pairwise */                               \
        for (int i = 0; i < k; i++) p[i] += p[i + k];                                       \
    for (; j < n; j++) p[0] += x[j];                                                        \
    return acc + p[0];                                                                      \
}                                                                                           \
/* max (sign 1) or min (sign -1) of acc and a row; NaN wins, as in numpy.max */             \
static inline T fg_row_extreme_##S(const T *x, long n, T acc, int sign) {                   \
    T m[FG_LANES];                                                                          \
    long j = 0;                                                                             \
    if (n < FG_LANES) {                                                                     \
        for (; j < n; j++) {                                                                \
            T a = x[j];                                                                     \
            acc = ((sign > 0 ? a > acc : a < acc) || a != a) ? a : acc;                     \
        }                                                                                   \
        return acc;                                                                         \
    }                                                                                       \
    for (int k = 0; k < FG_LANES; k++) m[k] = acc;                                          \
    for (; j + FG_LANES <= n; j += FG_LANES)                                                \
        for (int k = 0; k < FG_LANES; k++) {                                                \
            T a = x[j + k], b = m[k];                                                       \
            m[k] = ((sign > 0 ? a > b : a < b) || a != a) ? a : b;                          \
        }                                                                                   \
    for (int k = 1; k < FG_LANES; k++) {                                                    \
        T a = m[k], b = m[0];                                                               \
        m[0] = ((sign > 0 ? a > b : a < b) || a != a) ? a : b;                              \
    }                                                                                       \
    for (; j < n; j++) {                                                                    \
        T a = x[j], b = m[0];                                                               \
        m[0] = ((sign > 0 ? a > b : a < b) || a != a) ? a : b;                              \
    }                                                                                       \
    return m[0];                                                                            \
}
FG_ROW_REDUCTIONS(float, f)
FG_ROW_REDUCTIONS(double, d)

#endif
