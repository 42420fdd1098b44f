"""SciPy-named functions composed from funcgrad's primitives: ``funcgrad.scipy.linalg``
(the triangular and Cholesky solves), ``funcgrad.scipy.special`` (erf, gammaln, digamma,
logsumexp, ...) and ``funcgrad.scipy.stats`` (norm, multivariate_normal, t, gamma, ...).

>>> import funcgrad.scipy.linalg as fsl
>>> fsl.solve_triangular(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([2.0, 3.0]), lower=True)
array([1., 2.])
"""

import numpy as np  # noqa: F401  (for the example above)

from . import linalg, special, stats

__all__ = ["linalg", "special", "stats"]
