"""Special-function primitives: the error function, the gamma family, Bessel functions,
zeta and the incomplete gamma and beta functions, elementwise, on real floats.

Each is a primitive because no accurate composite of the others exists (erf from exp
and polynomials is tinygrad's few-ulp approximation; lgamma, digamma and the incomplete
integrals need series, recurrences and continued fractions). The reference
implementation is SciPy's (float32 computes in float32, other floats in float64); erf,
erfc, gammaln and digamma have fused kernels (``_kernels/vm_ops.h``), the others run
their SciPy reference inside compiled programs. The derivatives are the published ones
(DLMF 5.15, 6.2, 7.10, 8.8, 10.29, 25.11): the gamma family differentiates into the next
polygamma, and the derivatives are built from these primitives, so higher orders work.

Derivatives with no closed form (zeta in its first argument, the incomplete integrals in
their shape parameters) raise NotImplementedError when a gradient asks for them.
"""

import math

import numpy as np
import scipy.special as sc

from ..errors import user_frame
from . import (
    _elementwise_batch,
    _elementwise_rule,
    _lit,
    _register,
    abs,
    add,
    broadcast_to,
    div,
    elementwise_binary,
    elementwise_unary,
    eq,
    exp,
    log,
    log1p,
    lt,
    mul,
    neg,
    select,
    sign,
    sub,
    unbroadcast,
)

_NATIVE = (np.dtype(np.float32), np.dtype(np.float64))


def _scipy(fn):
    """SciPy's ``fn`` in the operands' float type: float32 and float64 natively, other
    floats (float16, long double) through float64."""

    def impl(*args):
        dtype = np.dtype(args[0].dtype)
        if dtype not in _NATIVE:
            args = [np.asarray(a, np.float64) for a in args]
        return np.asarray(fn(*args)).astype(dtype, copy=False)

    impl.__name__ = fn.__name__
    return impl


def _no_derivative(name, argument):
    def scale(g, ans, *args):
        raise NotImplementedError(
            f"{name} has no derivative in its {argument} here (no closed form); differentiate "
            f"in the other operands only (wrap this one in fg.stop_gradient) at {user_frame()}"
        )

    return scale


def _xlogy(c, x):
    """c * log(x), 0 where c == 0 (also at x == 0, where 0 * -inf would be NaN)."""
    zero = eq(c, _lit(0, c))
    return select(zero, _lit(0, c), mul(c, log(select(zero, _lit(1, x), x))))


def _xlog1py(c, x):
    zero = eq(c, _lit(0, c))
    return select(zero, _lit(0, c), mul(c, log1p(select(zero, _lit(0, x), x))))


def _unary(name, derivative, fused=False):
    return elementwise_unary(name, _scipy(getattr(sc, name)), derivative, fused=fused)


def _binary(name, d_x, d_y):
    return elementwise_binary(
        name, _scipy(getattr(sc, name)), d_x, d_y, float_only=True, fused=False
    )


_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _gaussian(x):
    return exp(neg(mul(x, x)))


erf = _unary("erf", lambda g, ans, x: mul(g, mul(_lit(_TWO_OVER_SQRT_PI, x), _gaussian(x))), True)
erfc = _unary(
    "erfc", lambda g, ans, x: neg(mul(g, mul(_lit(_TWO_OVER_SQRT_PI, x), _gaussian(x)))), True
)
erfinv = _unary(
    "erfinv", lambda g, ans, x: mul(g, mul(_lit(1 / _TWO_OVER_SQRT_PI, x), exp(mul(ans, ans))))
)
# ndtri and log_ndtr are primitives for their tails: sqrt(2) erfinv(2p - 1) is -inf at
# p = 1e-20 (2p - 1 rounds to -1), and log(ndtr(x)) is -inf below x ~ -38.
ndtri = _unary(
    "ndtri",
    lambda g, ans, p: mul(
        g, exp(add(mul(_lit(0.5, ans), mul(ans, ans)), _lit(_LOG_SQRT_2PI, ans)))
    ),
)
log_ndtr = _unary(  # phi(x) / Phi(x), in logarithms: finite where both underflow
    "log_ndtr",
    lambda g, ans, x: mul(
        g, exp(sub(neg(add(mul(_lit(0.5, x), mul(x, x)), _lit(_LOG_SQRT_2PI, x))), ans))
    ),
)


def _gammaln(x):
    # SciPy's overflows to inf below |x| ~ 1e-308 (its 1 / x); the kernel's (libm's) is
    # the limit -log|x|, which the reference gives too, so the backends agree.
    out = _scipy(sc.gammaln)(x)
    tiny = np.abs(x) < np.finfo(out.dtype).tiny
    with np.errstate(divide="ignore"):  # (log 0: the pole, inf as SciPy's, silently)
        return np.where(tiny, -np.log(np.abs(np.where(tiny, x, 1))), out).astype(out.dtype)


gammaln = elementwise_unary("gammaln", _gammaln, lambda g, ans, x: mul(g, digamma(x)))
digamma = _unary("digamma", lambda g, ans, x: mul(g, polygamma(_lit(1, x), x)), True)
# polygamma(n, x): n an integer-valued float array (the shape rule wants one dtype).
polygamma = _binary(
    "polygamma", None, lambda g, ans, n, x: mul(g, polygamma(add(n, _lit(1, n)), x))
)
# i0e(x) = exp(-|x|) I0(x), I0' = I1 (DLMF 10.29.3); i1e' = i0e - i1e (sign(x) + 1 / x),
# where i1e(x) / x is 1/2 - |x|/2 + 5x^2/16 to rounding below |x| = 1e-5 (its series; the
# quotient is 0 / 0 at 0, and its derivative cancels catastrophically for tiny x).
i0e = _unary("i0e", lambda g, ans, x: mul(g, sub(i1e(x), mul(sign(x), ans))))


def _i1e_scale(g, ans, x):
    tiny = lt(abs(x), _lit(1e-5, x))
    near = add(mul(_lit(0.5, x), sub(_lit(1, x), abs(x))), mul(_lit(5 / 16, x), mul(x, x)))
    over_x = select(tiny, near, div(ans, select(tiny, _lit(1, x), x)))
    return mul(g, sub(i0e(x), add(mul(sign(x), ans), over_x)))


i1e = _unary("i1e", _i1e_scale)
# Hurwitz zeta(x, q) = sum_k (k + q)^-x: d/dq = -x zeta(x + 1, q) (DLMF 25.11.17).
zeta = _binary(
    "zeta",
    _no_derivative("zeta", "first argument (the exponent)"),
    lambda g, ans, x, q: neg(mul(g, mul(x, zeta(add(x, _lit(1, x)), q)))),
)


def _gammainc_density(a, x):
    """d/dx P(a, x) = x^(a-1) e^-x / Gamma(a) (DLMF 8.8.13), in logarithms."""
    return exp(sub(sub(_xlogy(sub(a, _lit(1, a)), x), x), gammaln(a)))


gammainc = _binary(
    "gammainc",
    _no_derivative("gammainc", "first argument (the shape a)"),
    lambda g, ans, a, x: mul(g, _gammainc_density(a, x)),
)
gammaincc = _binary(
    "gammaincc",
    _no_derivative("gammaincc", "first argument (the shape a)"),
    lambda g, ans, a, x: neg(mul(g, _gammainc_density(a, x))),
)
# log|B(a, b)|, a primitive because gammaln(a) + gammaln(b) - gammaln(a + b) cancels
# catastrophically for a large a or b (betaln(1e10, 1): half the digits).
betaln = _binary(
    "betaln",
    lambda g, ans, a, b: mul(g, sub(digamma(a), digamma(add(a, b)))),
    lambda g, ans, a, b: mul(g, sub(digamma(b), digamma(add(a, b)))),
)


def _betainc_density(a, b, x):
    """d/dx I_x(a, b) = x^(a-1) (1-x)^(b-1) / B(a, b) (DLMF 8.17.1), in logarithms."""
    one = _lit(1, a)
    return exp(sub(add(_xlogy(sub(a, one), x), _xlog1py(sub(b, one), neg(x))), betaln(a, b)))


def _betainc_jvp(tangents, ans, a, b, x):
    ta, tb, tx = tangents
    if ta is not None:
        _BETAINC_VJP[0](ta, ans, a, b, x)  # raises
    if tb is not None:
        _BETAINC_VJP[1](tb, ans, a, b, x)
    return None if tx is None else broadcast_to(mul(tx, _betainc_density(a, b, x)), ans.shape)


_BETAINC_VJP = (
    _no_derivative("betainc", "shape a"),
    _no_derivative("betainc", "shape b"),
    lambda g, ans, a, b, x: unbroadcast(mul(g, _betainc_density(a, b, x)), x.shape),
)
# The regularized incomplete beta function of three operands (not one of the unary or
# binary elementwise kinds: the NumPy reference runs it, batched as they are).
betainc = _register(
    "betainc",
    _elementwise_rule("betainc", float_only=True),
    _scipy(sc.betainc),
    _BETAINC_VJP,
    _betainc_jvp,
)
betainc.batch = _elementwise_batch(betainc)
