"""``funcgrad.lax``: the primitives' own interface, with JAX's ``jax.lax`` names and
semantics, for code that needs more than ``funcgrad.numpy`` says: a general convolution,
and control flow (loops and conditionals traced once, differentiable in both modes).

>>> import numpy as np, funcgrad as fg
>>> fg.lax.conv(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), (1, 1), "VALID").shape
(1, 1, 2, 2)
"""

from .conditionals import cond, switch
from .convolution import (
    ConvDimensionNumbers,
    conv,
    conv_dimension_numbers,
    conv_general_dilated,
    conv_transpose,
    padtype_to_pads,
)
from .loops import fori_loop, map, scan, while_loop
from .slicing import (
    clamp,
    dynamic_index_in_dim,
    dynamic_slice,
    dynamic_slice_in_dim,
    dynamic_update_slice,
    dynamic_update_slice_in_dim,
    select,
    stop_gradient,
)

__all__ = [
    "ConvDimensionNumbers",
    "clamp",
    "cond",
    "conv",
    "conv_dimension_numbers",
    "conv_general_dilated",
    "conv_transpose",
    "dynamic_index_in_dim",
    "dynamic_slice",
    "dynamic_slice_in_dim",
    "dynamic_update_slice",
    "dynamic_update_slice_in_dim",
    "fori_loop",
    "map",
    "padtype_to_pads",
    "scan",
    "select",
    "stop_gradient",
    "switch",
    "while_loop",
]
