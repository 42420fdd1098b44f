/* The elementwise instruction sets: the one home of their operations' numbers and of the C
   that computes them. The executor includes this file; the compiler reads the numbers from
   the table lines below (funcgrad/compiler/isa.py parses them), so nothing is kept in sync
   by hand. A primitive names its operation here by the first column (Primitive.kernel).

   The fused kernels' register machine (run_fused_range) works on blocks of n float or
   double values. An operation is one line of FG_VM_OPS:
     E(name, number, arity, float expression, double expression)
       r[j] is the expression of a[j], b[j], c[j] (its operand registers), for j < n;
     L(name, number, arity, float statement, double statement)
       the statement computes the whole block r[0..n) itself (a loop written to vectorize).
   Adding an operation is one line here and one declaration in funcgrad/primitives/__init__.py; then
   rebuild the extension (pip install ., or setup.py build_ext --inplace): the compiler
   refuses a build whose table differs from this file. */
#ifndef FUNCGRAD_VM_OPS_H
#define FUNCGRAD_VM_OPS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "special.h"
#include "vecmath.h"

/* Register-machine steps that are not elementwise operations (run_fused_range does them). */
#define FG_VM_LOAD 0
#define FG_VM_CONST 1
#define FG_VM_REDUCE 41

#define FG_EACH(expression) for (long j = 0; j < n; j++) r[j] = (expression)

#define FG_VM_OPS(E, L)                                                                     \
    E(neg, 2, 1, -a[j], -a[j])                                                              \
    L(exp, 3, 1, fg_exp_f(r, a, 0, n), fg_exp_d(r, a, 0, n))                                \
    E(log, 4, 1, logf(a[j]), log(a[j]))                                                     \
    E(log1p, 5, 1, log1pf(a[j]), log1p(a[j]))                                               \
    L(tanh, 6, 1, fg_tanh_f(r, a, n), FG_EACH(tanh(a[j])))                                  \
    E(sin, 7, 1, sinf(a[j]), sin(a[j]))                                                     \
    E(cos, 8, 1, cosf(a[j]), cos(a[j]))                                                     \
    E(sqrt, 9, 1, sqrtf(a[j]), sqrt(a[j]))                                                  \
    E(abs, 10, 1, fabsf(a[j]), fabs(a[j]))                                                  \
    E(sign, 11, 1, FG_SIGN(a[j]), FG_SIGN(a[j]))                                            \
    L(copy, 12, 1, memcpy(r, a, n * sizeof(float)), memcpy(r, a, n * sizeof(double)))      \
    E(sinh, 13, 1, sinhf(a[j]), sinh(a[j]))                                                 \
    E(cosh, 14, 1, coshf(a[j]), cosh(a[j]))                                                 \
    E(arcsinh, 15, 1, asinhf(a[j]), asinh(a[j]))                                            \
    E(expm1, 50, 1, expm1f(a[j]), expm1(a[j]))                                              \
    E(cbrt, 51, 1, cbrtf(a[j]), cbrt(a[j]))                                                 \
    E(floor, 52, 1, floorf(a[j]), floor(a[j]))                                              \
    E(rint, 53, 1, rintf(a[j]), rint(a[j]))                                                 \
    E(erf, 57, 1, erff(a[j]), erf(a[j]))                                                    \
    E(erfc, 58, 1, erfcf(a[j]), erfc(a[j]))                                                 \
    E(gammaln, 59, 1, fg_lgamma_f(a[j]), fg_lgamma(a[j]))                                   \
    E(digamma, 60, 1, (float)fg_digamma(a[j]), fg_digamma(a[j]))                            \
    E(add, 20, 2, a[j] + b[j], a[j] + b[j])                                                 \
    E(sub, 21, 2, a[j] - b[j], a[j] - b[j])                                                 \
    E(mul, 22, 2, a[j] * b[j], a[j] * b[j])                                                 \
    E(div, 23, 2, a[j] / b[j], a[j] / b[j])                                                 \
    E(pow, 24, 2, powf(a[j], b[j]), pow(a[j], b[j]))                                        \
    L(max, 25, 2, fg_max_f(r, a, b, n), fg_max_d(r, a, b, n))                               \
    L(min, 26, 2, fg_min_f(r, a, b, n), fg_min_d(r, a, b, n))                               \
    E(gt, 27, 2, a[j] > b[j], a[j] > b[j])                                                  \
    E(ge, 28, 2, a[j] >= b[j], a[j] >= b[j])                                                \
    E(lt, 29, 2, a[j] < b[j], a[j] < b[j])                                                  \
    E(le, 30, 2, a[j] <= b[j], a[j] <= b[j])                                                \
    E(eq, 31, 2, a[j] == b[j], a[j] == b[j])                                                \
    E(ne, 32, 2, a[j] != b[j], a[j] != b[j])                                                \
    E(arctan2, 54, 2, atan2f(a[j], b[j]), atan2(a[j], b[j]))                                \
    E(copysign, 55, 2, copysignf(a[j], b[j]), copysign(a[j], b[j]))                         \
    E(fmod, 56, 2, fmodf(a[j], b[j]), fmod(a[j], b[j]))                                     \
    L(select, 40, 3, fg_select_f(r, a, b, c, n), fg_select_d(r, a, b, c, n))

/* The integer kernels (run_int) compute on int64 blocks; sums and products wrap through
   uint64, as NumPy's do. Results narrow to the result dtype by truncation, so a shift or a
   quotient of int8s computed in int64 wraps as NumPy's int8 loop does; shifts by a count
   outside [0, 64) give NumPy's results (0, or -1 for negative values shifted right). One line of FG_INT_OPS per operation:
     I(name, number, arity, expression of a[j], b[j], c[j]) */
#define FG_INT_OPS(I)                                                                       \
    I(add, 0, 2, (int64_t)((uint64_t)a[j] + (uint64_t)b[j]))                                \
    I(sub, 1, 2, (int64_t)((uint64_t)a[j] - (uint64_t)b[j]))                                \
    I(mul, 2, 2, (int64_t)((uint64_t)a[j] * (uint64_t)b[j]))                                \
    I(neg, 3, 1, (int64_t)(0 - (uint64_t)a[j]))                                             \
    I(abs, 4, 1, a[j] < 0 ? (int64_t)(0 - (uint64_t)a[j]) : a[j])                           \
    I(sign, 5, 1, (a[j] > 0) - (a[j] < 0))                                                  \
    I(max, 6, 2, a[j] > b[j] ? a[j] : b[j])                                                 \
    I(min, 7, 2, a[j] < b[j] ? a[j] : b[j])                                                 \
    I(gt, 8, 2, a[j] > b[j])                                                                \
    I(ge, 9, 2, a[j] >= b[j])                                                               \
    I(lt, 10, 2, a[j] < b[j])                                                               \
    I(le, 11, 2, a[j] <= b[j])                                                              \
    I(eq, 12, 2, a[j] == b[j])                                                              \
    I(ne, 13, 2, a[j] != b[j])                                                              \
    I(select, 14, 3, a[j] != 0 ? b[j] : c[j])                                               \
    I(fmod, 30, 2, b[j] == 0 || b[j] == -1 ? 0 : a[j] % b[j])                               \
    I(int_div, 31, 2, b[j] == 0 ? 0 : b[j] == -1 ? (int64_t)(0 - (uint64_t)a[j]) : a[j] / b[j]) \
    I(bitwise_and, 32, 2, a[j] & b[j])                                                      \
    I(bitwise_or, 33, 2, a[j] | b[j])                                                       \
    I(bitwise_xor, 34, 2, a[j] ^ b[j])                                                      \
    I(left_shift, 35, 2, (uint64_t)b[j] < 64 ? (int64_t)((uint64_t)a[j] << b[j]) : 0)      \
    I(right_shift, 36, 2, (uint64_t)b[j] < 64 ? a[j] >> b[j] : (a[j] < 0 ? -1 : 0))

/* sign keeps NaN (and the sign of zero's absence: sign(-0.0) is 0) */
#define FG_SIGN(v) ((v) == (v) ? (__typeof__(v))(((v) > 0) - ((v) < 0)) : (v))

/* ------------------------------------------------------------ loops that need writing out */

/* Both operands are loaded first so that the choice becomes a blend: a conditional that
   kept its branch would mispredict on half the elements of random data. */
#define FG_CHOICE_LOOPS(T, S)                                                               \
static inline void fg_select_##S(T *r, const T *p, const T *x, const T *y, long n) {       \
    for (long j = 0; j < n; j++) { T a = x[j], b = y[j]; r[j] = p[j] != 0 ? a : b; }        \
}                                                                                           \
/* max/min propagate NaN from either side, as numpy.maximum/minimum do */                   \
static inline void fg_max_##S(T *r, const T *x, const T *y, long n) {                      \
    for (long j = 0; j < n; j++) { T a = x[j], b = y[j]; r[j] = (a > b || a != a) ? a : b; }\
}                                                                                           \
static inline void fg_min_##S(T *r, const T *x, const T *y, long n) {                      \
    for (long j = 0; j < n; j++) { T a = x[j], b = y[j]; r[j] = (a < b || a != a) ? a : b; }\
}
FG_CHOICE_LOOPS(float, f)
FG_CHOICE_LOOPS(double, d)

/* float32 tanh as a rational function (the approximation Eigen and XLA use; within a few
   ulp of the correctly rounded result), so that it vectorizes: libm's tanhf is a scalar
   call per element, the largest cost of small tanh networks. */
static inline void fg_tanh_f(float *r, const float *x, long n) {
    for (long j = 0; j < n; j++) {
        float c = x[j] > 7.90531110763549805f ? 7.90531110763549805f : x[j];
        c = c < -7.90531110763549805f ? -7.90531110763549805f : c;  /* NaN stays NaN */
        float x2 = c * c;
        float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
        p = x2 * p + -8.60467152213735e-11f;
        p = x2 * p + 5.12229709037114e-08f;
        p = x2 * p + 1.48572235717979e-05f;
        p = x2 * p + 6.37261928875436e-04f;
        p = x2 * p + 4.89352455891786e-03f;
        p = c * p;
        float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
        q = x2 * q + 2.26843463243900e-03f;
        q = x2 * q + 4.89352518554385e-03f;
        r[j] = p / q;
    }
    /* The fit reaches exactly 1 at its clamp, where tanh is still 1 - 2.7e-7: there (rare in
       a block), 1 - 2 / (exp(2|x|) + 1), so that the derivative 1 - tanh^2 of a saturated
       unit is tiny, as in float64, not 0. */
    int big = 0;
    for (long j = 0; j < n; j++) big |= (x[j] > 7.9f) | (x[j] < -7.9f);
    if (!big) return;
    for (long j = 0; j < n; j++) {
        float a = x[j] < 0 ? -x[j] : x[j];
        if (a > 7.90531110763549805f) {
            float e = expf(-2 * a);
            float t = 1 - 2 * e / (1 + e);
            r[j] = x[j] < 0 ? -t : t;
        }
    }
}

/* -------------------------------------------------------------------------- dispatch */

/* Operation op on a block: r from a, b, c (registers of n values). Returns 0 when op is no
   operation of the table (the compiler never emits one). Inlined into the register
   machine's loop, as its hand-written if-chain was: left out of line, GCC made these loops
   measurably slower on small and medium blocks. */
#define FG_VM_INLINE static inline __attribute__((always_inline))
#define FG_VM_E_FLOAT(name, number, arity, F, D) case number: FG_EACH(F); return 1;
#define FG_VM_L_FLOAT(name, number, arity, F, D) case number: F; return 1;
#define FG_VM_E_DOUBLE(name, number, arity, F, D) case number: FG_EACH(D); return 1;
#define FG_VM_L_DOUBLE(name, number, arity, F, D) case number: D; return 1;
#define FG_INT_CASE(name, number, arity, X) case number: FG_EACH(X); return 1;

FG_VM_INLINE int fg_vm_f(int op, float *r, const float *a, const float *b, const float *c,
                          long n) {
    switch (op) { FG_VM_OPS(FG_VM_E_FLOAT, FG_VM_L_FLOAT) default: return 0; }
}

FG_VM_INLINE int fg_vm_d(int op, double *r, const double *a, const double *b,
                          const double *c, long n) {
    switch (op) { FG_VM_OPS(FG_VM_E_DOUBLE, FG_VM_L_DOUBLE) default: return 0; }
}

FG_VM_INLINE int fg_int_op(int op, int64_t *r, const int64_t *a, const int64_t *b,
                            const int64_t *c, long n) {
    switch (op) { FG_INT_OPS(FG_INT_CASE) default: return 0; }
}

/* The table as compiled, for the compiler to check against the header it reads: a build
   older than the header would otherwise run the wrong operations. */
#define FG_VM_NAME(name, number, arity, F, D) #name,
#define FG_VM_NUMBER(name, number, arity, F, D) number,
#define FG_INT_NAME(name, number, arity, X) #name,
#define FG_INT_NUMBER(name, number, arity, X) number,
static const char *const fg_vm_names[] = {FG_VM_OPS(FG_VM_NAME, FG_VM_NAME)};
static const int fg_vm_numbers[] = {FG_VM_OPS(FG_VM_NUMBER, FG_VM_NUMBER)};
static const char *const fg_int_names[] = {FG_INT_OPS(FG_INT_NAME)};
static const int fg_int_numbers[] = {FG_INT_OPS(FG_INT_NUMBER)};
#define FG_VM_COUNT ((int)(sizeof(fg_vm_numbers) / sizeof(int)))
#define FG_INT_COUNT ((int)(sizeof(fg_int_numbers) / sizeof(int)))

#endif
