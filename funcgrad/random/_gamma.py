"""The gamma family: gamma and loggamma (Marsaglia-Tsang rejection), and what is built
from them: beta, dirichlet and Student's t.

Marsaglia and Tsang (2000): for shape ``a >= 1``, with ``d = a - 1/3`` and
``c = 1 / sqrt(9 d)``, a normal ``z`` and a uniform ``u`` give ``d (1 + c z)**3`` when
``log u < z**2 / 2 + d - d v + d log v`` (``v = (1 + c z)**3 > 0``); at least 95% of
proposals are accepted for every ``a``. Shapes ``a < 1`` draw ``Gamma(a + 1) * U**(1/a)``,
in logs (so tiny shapes do not underflow before :func:`beta` and :func:`dirichlet`
normalize). The rounds run in a ``while_loop``, so all of these run under jit.

>>> import funcgrad as fg
>>> g = fg.random.gamma(fg.random.key(0), 3.0, (10000,))
>>> round(float(g.mean()))
3
"""

import numpy as np

from .. import numpy as fnp
from ..core import handed_back
from ..errors import ShapeError, user_frame
from ._base import _check_float, _check_shape, normal, split
from ._rejection import float_params, open_uniform, until_accepted, without_gradient

_shape_parameter = without_gradient("fg.random.gamma (and beta, dirichlet, t)", "its shapes")


def _log_gamma_draws(key, a, shape, dtype):
    """Logs of Gamma(a) draws of ``shape``; NaN where ``a`` is not positive."""
    a = _shape_parameter(a)
    k_boost, k_rounds = split(key)
    invalid = fnp.logical_not(a > 0)  # also NaN shapes: no rounds for them, their draw NaN
    a = fnp.where(invalid, 1.0, a)  # (so that nothing computed for them warns)
    small = a < 1.0
    boosted = fnp.where(small, a + 1.0, a)
    d = boosted - 1.0 / 3.0
    c = 1.0 / fnp.sqrt(9.0 * d)

    def propose(k):
        k_z, k_u = split(k)
        z = normal(k_z, shape, dtype)
        log_u = fnp.log(open_uniform(k_u, shape, dtype))
        v = 1.0 + c * z
        positive = v > 0
        cube = fnp.where(positive, v * v * v, 1.0)
        log_cube = fnp.log(cube)
        accepted = positive & (log_u < 0.5 * z * z + d - d * cube + d * log_cube)
        return fnp.log(d) + log_cube, accepted

    nan = fnp.full(shape, np.nan, dtype)
    log_x = until_accepted(k_rounds, nan, invalid, propose)
    boost = fnp.log(open_uniform(k_boost, shape, dtype)) / fnp.where(small, a, 1.0)
    return fnp.where(invalid, np.nan, fnp.where(small, log_x + boost, log_x))


def loggamma(key, a, shape=None, dtype=np.float32):
    """Logs of Gamma(``a``, 1) draws, as ``jax.random.loggamma``: accurate for small ``a``,
    where the draws themselves underflow to 0. ``shape`` defaults to ``a``'s shape.

    >>> import funcgrad as fg
    >>> lg = fg.random.loggamma(fg.random.key(0), 1e-3, (5,))
    >>> bool((lg < -50).any())
    True
    """
    (a,), shape = float_params("loggamma", shape, dtype, a)
    return handed_back(_log_gamma_draws(key, a, shape, a.dtype))


def gamma(key, a, shape=None, dtype=np.float32):
    """Gamma(``a``, 1) draws (mean and variance ``a``), as ``jax.random.gamma``; for a scale
    ``theta`` multiply by it. ``shape`` defaults to ``a``'s shape; ``a <= 0`` gives NaN.
    Not differentiable in ``a`` (an error says so).

    >>> import numpy as np, funcgrad as fg
    >>> fg.random.gamma(fg.random.key(0), np.array([0.5, 2.0, 40.0])).shape
    (3,)
    """
    (a,), shape = float_params("gamma", shape, dtype, a)
    return handed_back(fnp.exp(_log_gamma_draws(key, a, shape, a.dtype)))


def beta(key, a, b, shape=None, dtype=np.float32):
    """Beta(``a``, ``b``) draws, ``X / (X + Y)`` for gamma draws ``X``, ``Y`` (normalized in
    logs, so small ``a`` and ``b`` give 0s and 1s, never NaN). ``shape`` defaults to the
    broadcast shape of ``a`` and ``b``.

    >>> import funcgrad as fg
    >>> x = fg.random.beta(fg.random.key(0), 2.0, 5.0, (10000,))
    >>> round(float(x.mean()), 2)
    0.29
    """
    (a, b), shape = float_params("beta", shape, dtype, a, b)
    k_a, k_b = split(key)
    log_x = _log_gamma_draws(k_a, a, shape, a.dtype)
    log_y = _log_gamma_draws(k_b, b, shape, a.dtype)
    top = fnp.maximum(log_x, log_y)
    x, y = fnp.exp(log_x - top), fnp.exp(log_y - top)
    return handed_back(x / (x + y))


def dirichlet(key, alpha, shape=None, dtype=np.float32):
    """Dirichlet(``alpha``) draws over ``alpha``'s last axis, of shape
    ``shape + alpha.shape[-1:]`` (``shape`` defaults to ``alpha.shape[:-1]``), as
    ``jax.random.dirichlet``: normalized gamma draws (in logs, so small ``alpha`` is fine).

    >>> import numpy as np, funcgrad as fg
    >>> p = fg.random.dirichlet(fg.random.key(0), np.array([1.0, 2.0, 3.0]), (4,))
    >>> p.shape, bool(np.allclose(p.sum(-1), 1))
    ((4, 3), True)
    """
    dtype = _check_float("dirichlet", dtype)
    alpha = fnp.astype(alpha, dtype)
    if alpha.ndim < 1:
        raise ShapeError(f"dirichlet: alpha must have rank >= 1, got a scalar at {user_frame()}")
    batch = tuple(alpha.shape[:-1]) if shape is None else _check_shape("dirichlet", shape)
    (alpha,), full = float_params("dirichlet", (*batch, alpha.shape[-1]), dtype, alpha)
    log_g = _log_gamma_draws(key, alpha, full, dtype)
    g = fnp.exp(log_g - fnp.max(log_g, axis=-1, keepdims=True))
    return handed_back(g / fnp.sum(g, axis=-1, keepdims=True))


def t(key, df, shape=(), dtype=np.float32):
    """Student's t draws with ``df`` degrees of freedom, as ``jax.random.t``: a normal over
    ``sqrt(chi2(df) / df)``. ``shape=None`` takes ``df``'s shape.

    >>> import funcgrad as fg
    >>> fg.random.t(fg.random.key(0), 3.0, (2, 2)).shape
    (2, 2)
    """
    (df,), shape = float_params("t", shape, dtype, df)
    k_n, k_g = split(key)
    half = 0.5 * df
    log_g = _log_gamma_draws(k_g, half, shape, df.dtype)
    z = normal(k_n, shape, df.dtype)
    return handed_back(z * fnp.sqrt(half) * fnp.exp(-0.5 * log_g))


__all__ = [
    "beta",
    "dirichlet",
    "gamma",
    "loggamma",
    "t",
]
