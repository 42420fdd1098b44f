"""The array-API names NumPy 2 added for functions it already had (``acos`` for
``arccos``, ``concat`` for ``concatenate``...): the same functions under both names."""

from . import _base
from ._elementwise import arccos, arccosh, arcsin, arcsinh, arctan, arctan2, arctanh, power
from ._shapes import concatenate, transpose

__all__ = [
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "concat",
    "permute_dims",
    "pow",
]

acos, acosh, asin, asinh = arccos, arccosh, arcsin, arcsinh
atan, atan2, atanh = arctan, arctan2, arctanh
pow = power
concat = concatenate


def permute_dims(a, axes):
    """``transpose`` with the permutation required, as the array API spells it."""
    return transpose(a, axes)


_base.numpy_results(globals())
