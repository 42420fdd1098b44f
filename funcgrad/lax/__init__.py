"""``funcgrad.lax``: the primitives' own interface, with JAX's ``jax.lax`` names and
semantics, for code that needs more than ``funcgrad.numpy`` says (a general convolution).

>>> import numpy as np, funcgrad as fg
>>> fg.lax.conv(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), (1, 1), "VALID").shape
(1, 1, 2, 2)
"""

from .convolution import (
    ConvDimensionNumbers,
    conv,
    conv_dimension_numbers,
    conv_general_dilated,
    padtype_to_pads,
)

__all__ = [
    "ConvDimensionNumbers",
    "conv",
    "conv_dimension_numbers",
    "conv_general_dilated",
    "padtype_to_pads",
]
