"""SciPy-named functions composed from funcgrad's primitives: ``funcgrad.scipy.linalg``
so far (the triangular and Cholesky solves).

>>> import funcgrad.scipy.linalg as fsl
>>> fsl.solve_triangular(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([2.0, 3.0]), lower=True)
array([1., 2.])
"""

import numpy as np  # noqa: F401  (for the example above)

from . import linalg

__all__ = ["linalg"]
