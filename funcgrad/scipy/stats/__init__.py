"""``scipy.stats`` distributions with gradients, one module each (as ``jax.scipy.stats``):
``norm.logpdf(x, loc, scale)``, ``t.cdf(x, df)``, ``poisson.logpmf(k, mu)``, ...: SciPy's
argument names and values, differentiable in the point and the parameters (cdfs that
go through an incomplete gamma or beta function: not in its shape parameters, which
raises), eagerly and under jit, grad and vmap. Invalid parameters (a scale <= 0, p
outside [0, 1]) give NaN, points off the support -inf log densities, as in SciPy.

Unlike SciPy, which computes in float64 whatever it is given, a float32 point and float32
parameters give float32 results (as in JAX); integer points (counts) take the parameters'
float type.

>>> import funcgrad as fg, funcgrad.scipy.stats as fst
>>> round(float(fst.norm.logpdf(1.0, loc=0.0, scale=2.0)), 6)
-1.737086
>>> float(fg.grad(fst.norm.logpdf, argnums=1)(1.0, 0.0, 2.0))  # (x - loc) / scale^2
0.25
"""

from . import (
    bernoulli,
    beta,
    binom,
    cauchy,
    chi2,
    dirichlet,
    expon,
    gamma,
    laplace,
    logistic,
    multivariate_normal,
    norm,
    poisson,
    t,
    uniform,
)

__all__ = [
    "bernoulli",
    "beta",
    "binom",
    "cauchy",
    "chi2",
    "dirichlet",
    "expon",
    "gamma",
    "laplace",
    "logistic",
    "multivariate_normal",
    "norm",
    "poisson",
    "t",
    "uniform",
]
