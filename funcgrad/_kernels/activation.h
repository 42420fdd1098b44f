/* The fused kernels' templates (funcgrad/compiler/templates.py, run by vm.pyx's
   run_template_range): act(x + bias) with its mask, and its gradient, one pass each. */
#ifndef FUNCGRAD_ACTIVATION_H
#define FUNCGRAD_ACTIVATION_H

#include <stdint.h>

/* Loops written in plain C so that GCC vectorizes them. In Cython a conditional
   expression keeps its branch, which mispredicts on half the elements of random data;
   here both operands are loaded first and the choice becomes a blend. */
/* act(x + bias) and its mask, in type T; the bias is the expression B of j (r, m, x,
   slope, leaky and n in scope) */
#define FG_ACTIVATION_LOOPS(T, B)                                                       \
    if (leaky) {                                                                        \
        _Pragma("GCC ivdep")                                                            \
        for (long j = 0; j < n; j++) {                                                  \
            T s = x[j] + (B); r[j] = s > 0 ? s : s * slope; m[j] = s > 0;               \
        }                                                                               \
    } else {                                                                            \
        _Pragma("GCC ivdep")                                                            \
        for (long j = 0; j < n; j++) {                                                  \
            T s = x[j] + (B); r[j] = s > 0 ? s : 0; m[j] = s > 0;                       \
        }                                                                               \
    }
#define FG_LOOPS(T, S)                                                                  \
/* The templates (compiler/templates.py), one pass each. r may be x or g itself (a     \
   kernel overwriting a dying operand): each element is read before it is written. */   \
static void fg_activation_##S(T *r, uint8_t *m, const T *x, const T *b, T slope,       \
                              int leaky, long n) {                                      \
    FG_ACTIVATION_LOOPS(T, b[j])                                                        \
}                                                                                       \
/* the same with one bias value for the whole run (a per-channel bias is constant     \
   along a plane): no block of bias values to fill first */                             \
static void fg_activation_run_##S(T *r, uint8_t *m, const T *x, T b, T slope,          \
                                  int leaky, long n) {                                  \
    FG_ACTIVATION_LOOPS(T, b)                                                           \
}                                                                                       \
static void fg_activation_grad_##S(T *r, const uint8_t *m, const T *g, T slope,        \
                                   int leaky, long n) {                                 \
    if (leaky) {                                                                        \
        _Pragma("GCC ivdep")                                                            \
        for (long j = 0; j < n; j++) { T v = g[j]; r[j] = m[j] ? v : v * slope; }       \
    } else {                                                                            \
        _Pragma("GCC ivdep")                                                            \
        for (long j = 0; j < n; j++) { T v = g[j]; r[j] = m[j] ? v : 0; }               \
    }                                                                                   \
}
FG_LOOPS(float, f)
FG_LOOPS(double, d)

#endif
