/* The softmax family's row kernels (see softmax.pxd), one row or a few columns of rows at
   a time; softmax.pyx splits the rows among threads. */
#ifndef FUNCGRAD_SOFTMAX_H
#define FUNCGRAD_SOFTMAX_H

#include <math.h>

#include "vecmath.h"

/* Rows are worked on CHUNK values at a time (exp into a buffer in L1, then summed), and
   rows `inner` apart COLS at a time, so that every loop reads contiguous memory and
   vectorizes. shift: a row's max if finite, else 0 (rows of -inf give -inf, not NaN;
   rows with a NaN give NaN); softmax shifts by +inf too, so that a row holding +inf is
   all NaN, as in SciPy and PyTorch. */
#define FG_SOFTMAX_CHUNK 256
#define FG_SOFTMAX_COLS 64

#define FG_SOFTMAX(T, S)                                                                \
static void fg_softmax_row_##S(int kind, const T *x, T *y, long n) {                   \
    T buf[FG_SOFTMAX_CHUNK];                                                            \
    T shift = fg_row_extreme_##S(x, n, -INFINITY, 1);                                   \
    double s = 0;                                                                       \
    shift = shift - shift == 0 || (kind == 2 && shift > 0) ? shift : 0;                 \
    for (long j = 0; j < n; j += FG_SOFTMAX_CHUNK) {                                    \
        long w = n - j < FG_SOFTMAX_CHUNK ? n - j : FG_SOFTMAX_CHUNK;                   \
        T *e = kind == 2 ? y + j : buf;  /* softmax keeps exp(x - shift) */             \
        fg_exp_##S(e, x + j, shift, w);                                                 \
        s += fg_row_sum_##S(e, w, 0);                                                   \
    }                                                                                   \
    if (kind == 0) { y[0] = (T)(log(s) + shift); return; }                              \
    if (kind == 1) {                                                                    \
        T ls = (T)log(s);                                                               \
        for (long j = 0; j < n; j++) y[j] = (x[j] - shift) - ls;                        \
    } else {                                                                            \
        T d = (T)s;                                                                     \
        for (long j = 0; j < n; j++) y[j] = y[j] / d;                                   \
    }                                                                                   \
}                                                                                       \
/* w <= FG_SOFTMAX_COLS rows, `inner` apart, of n values; for kind 0, y is where the   \
   w results go (contiguous) */                                                         \
static void fg_softmax_cols_##S(int kind, const T *x, T *y, long n, long inner,        \
                                long w) {                                               \
    T m[FG_SOFTMAX_COLS], d[FG_SOFTMAX_COLS], e[FG_SOFTMAX_COLS];                       \
    double s[FG_SOFTMAX_COLS];                                                          \
    for (long i = 0; i < w; i++) { m[i] = -INFINITY; s[i] = 0; }                        \
    for (long j = 0; j < n; j++)                                                        \
        for (long i = 0; i < w; i++) {                                                  \
            T a = x[j * inner + i], b = m[i]; m[i] = (a > b || a != a) ? a : b;         \
        }                                                                               \
    for (long i = 0; i < w; i++)                                                        \
        m[i] = m[i] - m[i] == 0 || (kind == 2 && m[i] > 0) ? m[i] : 0;                  \
    for (long j = 0; j < n; j++) {                                                      \
        for (long i = 0; i < w; i++) d[i] = x[j * inner + i] - m[i];                    \
        fg_exp_##S(kind == 2 ? y + j * inner : e, d, 0, w);                             \
        if (kind == 2)                                                                  \
            for (long i = 0; i < w; i++) s[i] += y[j * inner + i];                      \
        else                                                                            \
            for (long i = 0; i < w; i++) s[i] += e[i];                                  \
    }                                                                                   \
    if (kind == 0) {                                                                    \
        for (long i = 0; i < w; i++) y[i] = (T)(log(s[i]) + m[i]);                      \
        return;                                                                         \
    }                                                                                   \
    for (long i = 0; i < w; i++) d[i] = kind == 1 ? (T)log(s[i]) : (T)s[i];             \
    for (long j = 0; j < n; j++)                                                        \
        for (long i = 0; i < w; i++) {                                                  \
            if (kind == 1) y[j * inner + i] = (x[j * inner + i] - m[i]) - d[i];         \
            else y[j * inner + i] = y[j * inner + i] / d[i];                            \
        }                                                                               \
}
FG_SOFTMAX(float, f)
FG_SOFTMAX(double, d)

#endif
