"""``scipy.special`` with gradients: the error function, the gamma family, the logistic
functions, log-sum-exp and softmax, the entropies, Bessel functions, zeta and the
incomplete gamma and beta functions.

Values are SciPy's (its functions are the references; see ``funcgrad.primitives.special``
for the primitives among them), with SciPy's argument names. Two deliberate differences:

- dtypes: a float32 input gives a float32 result, as in JAX, also where SciPy computes
  in float64 (``multigammaln``); integers and bools compute in float64.
- derivatives with no closed form raise ``NotImplementedError`` when a gradient asks for
  them: ``zeta`` in ``x``, ``gammainc``/``gammaincc`` in ``a``, ``betainc`` in ``a`` and
  ``b`` (differentiate in the other operands, or wrap these in ``fg.stop_gradient``).

``zeta(x)`` without ``q`` is the Hurwitz zeta at q = 1: SciPy's Riemann zeta for x > 1,
NaN for x < 1 (where SciPy continues it analytically).

>>> import funcgrad as fg, funcgrad.scipy.special as fss
>>> float(fss.gammaln(5.0))  # log(4!)
3.1780538303479458
>>> round(float(fg.grad(fss.gammaln)(5.0)), 6)  # digamma(5)
1.506118
"""

import math

import numpy as np

from .. import numpy as fnp
from ..core import Tracer
from ..nn import functional as nnf
from ..numpy._base import _error, _to_mean_float, numpy_results, promote, result_type
from ..primitives import special as PS

__all__ = [
    "erf",
    "erfc",
    "erfinv",
    "ndtr",
    "ndtri",
    "log_ndtr",
    "gamma",
    "gammaln",
    "digamma",
    "psi",
    "polygamma",
    "multigammaln",
    "beta",
    "betaln",
    "betainc",
    "gammainc",
    "gammaincc",
    "expit",
    "logit",
    "log_expit",
    "logsumexp",
    "softmax",
    "log_softmax",
    "xlogy",
    "xlog1py",
    "entr",
    "rel_entr",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "zeta",
    "sinc",
]

_float = _to_mean_float  # (integers and bools compute in float64)


def _floats(*xs):
    """Operands promoted together to one float dtype (Python scalars weak, as in NumPy)."""
    dtype = result_type(*xs)
    return promote(*xs, dtype=dtype if dtype.kind == "f" else np.float64)


def erf(z):
    """The error function ``2 / sqrt(pi) * integral_0^z exp(-t^2) dt``.

    >>> round(float(erf(0.5)), 6)
    0.5205
    """
    return PS.erf(_float(z))


def erfc(x):
    """``1 - erf(x)``, accurate where it is tiny (large x).

    >>> float(erfc(10.0))
    2.0884875837625446e-45
    """
    return PS.erfc(_float(x))


def erfinv(y):
    """The inverse of :func:`erf` on (-1, 1).

    >>> round(float(erfinv(erf(0.25))), 12)
    0.25
    """
    return PS.erfinv(_float(y))


def ndtr(x):
    """The standard normal CDF, ``erfc(-x / sqrt(2)) / 2`` (accurate in both tails).

    >>> float(ndtr(0.0))
    0.5
    """
    x = _float(x)
    return fnp.multiply(PS.erfc(fnp.multiply(x, -math.sqrt(0.5))), 0.5)


def ndtri(y):
    """The inverse of :func:`ndtr` (the standard normal quantile function).

    >>> round(float(ndtri(0.975)), 6)
    1.959964
    """
    return PS.ndtri(_float(y))


def log_ndtr(x):
    """``log(ndtr(x))``, finite far into the left tail.

    >>> round(float(log_ndtr(-40.0)), 4)
    -804.6084
    """
    return PS.log_ndtr(_float(x))


def gammaln(x):
    """``log|Gamma(x)|``; its derivative is :func:`digamma`.

    >>> round(float(gammaln(0.5)), 6)  # log(sqrt(pi))
    0.572365
    """
    return PS.gammaln(_float(x))


def digamma(z):
    """``psi(z) = d/dz log Gamma(z)``; its derivative is ``polygamma(1, z)``.

    >>> round(float(digamma(1.0)), 6)  # minus Euler's constant
    -0.577216
    """
    return PS.digamma(_float(z))


psi = digamma


def polygamma(n, x):
    """The n-th derivative of :func:`digamma` (``n`` a non-negative integer, or an array
    of them broadcast with ``x``).

    >>> round(float(polygamma(1, 1.0)), 6)  # pi^2 / 6
    1.644934
    """
    n_value = np.asarray(n) if not isinstance(n, Tracer) else None
    if n_value is not None and np.any((n_value != np.floor(n_value)) | (n_value < 0)):
        raise _error(ValueError, "polygamma: n must be a non-negative integer")
    x = _float(x)
    return PS.polygamma(*_floats(fnp.asarray(n, x.dtype), x))


polygamma.numpy_typed = True  # (SciPy's hands back a 0-d array for scalars, not a scalar)


def gamma(z):
    """The gamma function, ``sign * exp(gammaln(z))``: NaN at the non-positive integers
    (and at -inf), +-inf at +-0 (the sign of zero), signed for negative z.

    >>> round(float(gamma(5.0)), 12), round(float(gamma(-0.5)), 12)
    (24.0, -3.544907701811)
    """
    z = _float(z)
    return fnp.multiply(_gamma_sign(z), fnp.exp(PS.gammaln(z)))


def _gamma_sign(z):
    """The sign of Gamma(z) (NaN at its poles): positive for z > 0, alternating between
    the negative integers (negative on (-1, 0)), the sign of zero at zero."""
    whole = fnp.floor(z)
    odd = fnp.not_equal(fnp.fmod(whole, 2.0), 0)
    negative = fnp.where(fnp.equal(z, whole), np.nan, fnp.where(odd, -1.0, 1.0))
    at_zero = fnp.copysign(1.0, z)
    sign = fnp.where(fnp.greater(z, 0), 1.0, fnp.where(fnp.equal(z, 0), at_zero, negative))
    return sign.astype(z.dtype)


def multigammaln(a, d):
    """The log of the multivariate gamma function of dimension ``d`` (a Python int),
    ``d (d - 1) / 4 log(pi) + sum_j gammaln(a - j / 2)`` for j < d. Concrete ``a`` must
    exceed ``(d - 1) / 2``, as SciPy checks (traced values are not checked).

    >>> round(float(multigammaln(3.0, 2)), 6)
    1.550195
    """
    if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 1:
        raise _error(ValueError, f"multigammaln: d should be a positive integer, got {d!r}")
    a = _float(a)
    if not isinstance(a, Tracer) and np.any(np.asarray(a) <= 0.5 * (d - 1)):
        raise _error(
            ValueError, f"multigammaln: condition a > 0.5 * (d - 1) = {0.5 * (d - 1)} not met"
        )
    total = d * (d - 1) / 4 * math.log(math.pi)
    terms = [PS.gammaln(fnp.subtract(a, j / 2)) for j in range(d)]
    return fnp.add(sum(terms[1:], terms[0]), total)


def betaln(a, b):
    """``log|B(a, b)|``, accurate for large arguments.

    >>> round(float(betaln(1e10, 1.0)), 6)  # -log(1e10)
    -23.025851
    """
    return PS.betaln(*_floats(a, b))


def beta(a, b):
    """The beta function ``Gamma(a) Gamma(b) / Gamma(a + b)``.

    >>> round(float(beta(2.0, 3.0)), 12)  # 1 / 12
    0.083333333333
    """
    a, b = _floats(a, b)
    sign = fnp.multiply(fnp.multiply(_gamma_sign(a), _gamma_sign(b)), _gamma_sign(fnp.add(a, b)))
    return fnp.multiply(fnp.where(fnp.isnan(sign), 1.0, sign), fnp.exp(PS.betaln(a, b)))


def betainc(a, b, x):
    """The regularized incomplete beta function ``I_x(a, b)``; differentiable in ``x``.

    >>> float(betainc(1.0, 1.0, 0.25))
    0.25
    """
    return PS.betainc(*_floats(a, b, x))


def gammainc(a, x):
    """The regularized lower incomplete gamma function ``P(a, x)``; differentiable in ``x``.

    >>> round(float(gammainc(1.0, 1.0)), 6)  # 1 - 1/e
    0.632121
    """
    return PS.gammainc(*_floats(a, x))


def gammaincc(a, x):
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``, accurate
    where it is tiny; differentiable in ``x``.

    >>> round(float(gammaincc(1.0, 1.0)), 6)  # 1/e
    0.367879
    """
    return PS.gammaincc(*_floats(a, x))


def _split(x):
    """``(x > 0, x or 0, 0 or x)``: each branch of a two-sided formula sees only its own
    inputs, so neither overflows (an inf in the other branch would poison the gradient)."""
    positive = fnp.greater(x, 0)
    return positive, fnp.where(positive, x, 0), fnp.where(positive, 0, x)


def expit(x):
    """The logistic function ``1 / (1 + exp(-x))``, to relative accuracy in both tails.

    >>> float(expit(-40.0))
    4.248354255291589e-18
    """
    positive, xp, xn = _split(_float(x))
    e = fnp.exp(xn)
    return fnp.where(
        positive,
        fnp.divide(1.0, fnp.add(fnp.exp(fnp.negative(xp)), 1.0)),
        fnp.divide(e, fnp.add(e, 1.0)),
    )


def log_expit(x):
    """``log(expit(x)) = -softplus(-x)``, accurate in both tails.

    >>> float(log_expit(-1000.0)), float(log_expit(40.0))
    (-1000.0, -4.248354255291589e-18)
    """
    return fnp.negative(nnf.softplus(fnp.negative(_float(x))))


def logit(x):
    """``log(x / (1 - x))``, the inverse of :func:`expit`: as ``2 atanh(2x - 1)`` near 1/2
    (where log(x) - log1p(-x) cancels), else as that difference.

    >>> float(logit(0.5)), round(float(logit(0.75)), 6)
    (0.0, 1.098612)
    """
    x = _float(x)
    central = fnp.less(fnp.abs(fnp.subtract(x, 0.5)), 0.25)
    xc, xo = fnp.where(central, x, 0.5), fnp.where(central, 0.25, x)
    tails = fnp.subtract(fnp.log(xo), fnp.log1p(fnp.negative(xo)))
    return fnp.where(
        central, fnp.multiply(fnp.arctanh(fnp.subtract(fnp.multiply(xc, 2.0), 1.0)), 2.0), tails
    )


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a)))`` over ``axis`` (all axes by default), stable for any
    magnitude. With ``b``, terms where ``b == 0`` are left out (they set no maximum);
    ``return_sign=True`` returns ``(log|s|, sign(s))`` of the sum s, else a negative sum
    gives NaN, as SciPy.

    >>> float(logsumexp(np.array([1000.0, 1000.0])))
    1000.6931471805599
    >>> value, sign = logsumexp(np.array([1.0, 2.0]), b=np.array([1.0, -1.0]), return_sign=True)
    >>> float(value), float(sign)
    (1.5413248546129181, -1.0)
    """
    if b is None:
        out = nnf.logsumexp(a, axis=axis, keepdims=keepdims)
        return (
            (out, fnp.where(fnp.isneginf(out), 0.0, 1.0).astype(out.dtype)) if return_sign else out
        )
    a, b = _floats(a, b)
    a, b = fnp.broadcast_arrays(a, b)
    present = fnp.not_equal(b, 0)
    top = fnp.max(fnp.where(present, a, -np.inf), axis=axis, keepdims=True)
    top = fnp.stop_gradient(fnp.where(fnp.isfinite(top), top, 0))
    s = fnp.sum(
        fnp.where(present, fnp.multiply(b, fnp.exp(fnp.subtract(a, top))), 0),
        axis=axis,
        keepdims=True,
    )
    sign = fnp.sign(s)
    out = fnp.add(fnp.log(fnp.abs(s) if return_sign else s), top)
    if not keepdims:
        out, sign = fnp.squeeze(out, axis=axis), fnp.squeeze(sign, axis=axis)
    return (out, sign) if return_sign else out


def softmax(x, axis=None):
    """``exp(x) / sum(exp(x))`` over ``axis`` (all axes by default, as SciPy).

    >>> softmax(np.array([0.0, 0.0]))
    array([0.5, 0.5])
    """
    return nnf.softmax(_float(x), axis=axis)


def log_softmax(x, axis=None):
    """``x - logsumexp(x)`` over ``axis`` (all axes by default, as SciPy).

    >>> log_softmax(np.array([0.0, 0.0])).round(4).tolist()
    [-0.6931, -0.6931]
    """
    return nnf.log_softmax(_float(x), axis=axis)


def xlogy(x, y):
    """``x * log(y)``, 0 where ``x == 0`` (unless y is NaN); the slope in x is log(y)
    there too.

    >>> float(xlogy(0.0, 0.0)), round(float(xlogy(2.0, 3.0)), 6)
    (0.0, 2.197225)
    """
    x, y = _floats(x, y)
    zero = fnp.logical_and(fnp.equal(x, 0), fnp.logical_not(fnp.isnan(y)))
    plain = fnp.logical_and(fnp.greater(y, 0), fnp.less(y, np.inf))
    return fnp.multiply(
        x, fnp.log(fnp.where(fnp.logical_and(zero, fnp.logical_not(plain)), 1.0, y))
    )


def xlog1py(x, y):
    """``x * log1p(y)``, 0 where ``x == 0`` (unless y is NaN).

    >>> float(xlog1py(0.0, -1.0)), round(float(xlog1py(2.0, 1.0)), 6)
    (0.0, 1.386294)
    """
    x, y = _floats(x, y)
    zero = fnp.logical_and(fnp.equal(x, 0), fnp.logical_not(fnp.isnan(y)))
    plain = fnp.logical_and(fnp.greater(y, -1), fnp.less(y, np.inf))
    return fnp.multiply(
        x, fnp.log1p(fnp.where(fnp.logical_and(zero, fnp.logical_not(plain)), 0.0, y))
    )


def entr(x):
    """The elementwise entropy ``-x log(x)``: 0 at 0, -inf for negative x.

    >>> round(float(entr(0.5)), 6), float(entr(0.0)), float(entr(-1.0))
    (0.346574, 0.0, -inf)
    """
    x = _float(x)
    positive = fnp.greater(x, 0)
    inside = fnp.negative(fnp.multiply(x, fnp.log(fnp.where(positive, x, 1.0))))
    return fnp.where(
        positive, inside, fnp.where(fnp.equal(x, 0), 0.0, fnp.where(fnp.isnan(x), x, -np.inf))
    )


def rel_entr(x, y):
    """The elementwise relative entropy ``x log(x / y)``: 0 where x == 0 and y >= 0,
    inf where either is negative or y == 0 < x.

    >>> round(float(rel_entr(0.5, 0.25)), 6), float(rel_entr(0.0, 0.0)), float(rel_entr(1.0, 0.0))
    (0.346574, 0.0, inf)
    """
    x, y = _floats(x, y)
    both = fnp.logical_and(fnp.greater(x, 0), fnp.greater(y, 0))
    inside = fnp.multiply(x, fnp.log(fnp.divide(fnp.where(both, x, 1.0), fnp.where(both, y, 1.0))))
    edge = fnp.where(fnp.logical_and(fnp.equal(x, 0), fnp.greater_equal(y, 0)), 0.0, np.inf)
    edge = edge.astype(x.dtype)
    nan = fnp.logical_or(fnp.isnan(x), fnp.isnan(y))
    return fnp.where(both, inside, fnp.where(nan, np.nan, edge))


def i0e(x):
    """The exponentially scaled modified Bessel function ``exp(-|x|) I0(x)``.

    >>> round(float(i0e(0.0)), 6)
    1.0
    """
    return PS.i0e(_float(x))


def i1e(x):
    """The exponentially scaled modified Bessel function ``exp(-|x|) I1(x)``.

    >>> round(float(i1e(1.0)), 6)
    0.20791
    """
    return PS.i1e(_float(x))


def i0(x):
    """The modified Bessel function of order 0, ``i0e(x) exp(|x|)`` (inf past |x| ~ 709,
    a little before SciPy's).

    >>> round(float(i0(1.0)), 6)
    1.266066
    """
    x = _float(x)
    return fnp.multiply(PS.i0e(x), fnp.exp(fnp.abs(x)))


def i1(x):
    """The modified Bessel function of order 1, ``i1e(x) exp(|x|)``.

    >>> round(float(i1(1.0)), 6)
    0.565159
    """
    x = _float(x)
    return fnp.multiply(PS.i1e(x), fnp.exp(fnp.abs(x)))


def zeta(x, q=None):
    """The Hurwitz zeta function ``sum_k (k + q)^-x`` (``q=None``: q = 1, the Riemann zeta
    for x > 1); differentiable in ``q``.

    >>> round(float(zeta(2.0)), 6)  # pi^2 / 6
    1.644934
    """
    return PS.zeta(*_floats(x, 1.0 if q is None else q))


def sinc(x):
    """``sin(pi x) / (pi x)``, NumPy's (SciPy's ``sinc`` is NumPy's)."""
    return fnp.sinc(x)


numpy_results(globals())
