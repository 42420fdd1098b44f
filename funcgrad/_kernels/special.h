/* Special functions for the fused kernels' table (vm_ops.h) that libm does not have, or
   has only in a form that is not thread-safe. The references are SciPy's
   (funcgrad/primitives/special.py); the tests check these against them. */
#ifndef FUNCGRAD_SPECIAL_H
#define FUNCGRAD_SPECIAL_H

#include <math.h>

/* log|Gamma(x)|: lgamma writes the sign to the global signgam, a data race between the
   kernels' threads; the _r variants return it instead. SciPy's gammaln(-inf) is -inf
   (libm's is +inf). */
static inline double fg_lgamma(double x) {
    int sign;
    return x == -INFINITY ? x : lgamma_r(x, &sign);
}

static inline float fg_lgamma_f(float x) {
    int sign;
    return x == -INFINITY ? x : lgammaf_r(x, &sign);
}

/* digamma (psi), as SciPy's: -inf at +0, +inf at -0, NaN at the negative integers and at
   -inf. Negative x by reflection, psi(x) = psi(1 - x) - pi / tan(pi x), with the tangent
   taken of x's distance to the nearest integer (exact), so that it keeps its digits near
   the poles; positive x by the recurrence psi(x) = psi(x + 1) - 1 / x up to x >= 10, then
   the asymptotic series ln x - 1 / (2x) - sum B_2k / (2k x^2k) (DLMF 5.11.2), whose next
   term is below 1e-16 there. float computes in double. */
static inline double fg_digamma(double x) {
    if (x != x || x == -INFINITY) return NAN;
    if (x == INFINITY) return INFINITY;
    if (x == 0) return signbit(x) ? INFINITY : -INFINITY;
    double shift = 0;
    if (x < 0) {
        double r = x - nearbyint(x);
        if (r == 0) return NAN;
        shift = -M_PI / tan(M_PI * r);
        x = 1 - x;
    }
    while (x < 10) {
        shift -= 1 / x;
        x += 1;
    }
    double w = 1 / (x * x);
    double series = w * (1.0 / 12 - w * (1.0 / 120 - w * (1.0 / 252 - w * (1.0 / 240
                    - w * (1.0 / 132 - w * (691.0 / 32760 - w / 12))))));
    return shift + log(x) - 0.5 / x - series;
}

#endif
