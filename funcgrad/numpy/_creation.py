"""Array creation (constants: concrete NumPy arrays)."""

import numpy as np

from ._base import _dtype, shape

__all__ = [
    "zeros",
    "ones",
    "full",
    "zeros_like",
    "ones_like",
    "full_like",
    "arange",
    "eye",
    "linspace",
]


def zeros(shape, dtype=float):
    return np.zeros(shape, dtype)


def ones(shape, dtype=float):
    return np.ones(shape, dtype)


def full(shape, fill_value, dtype=None):
    return np.full(shape, fill_value, dtype)


def zeros_like(x, dtype=None):
    return np.zeros(shape(x), dtype or _dtype(x))


def ones_like(x, dtype=None):
    return np.ones(shape(x), dtype or _dtype(x))


def full_like(x, fill_value, dtype=None):
    return np.full(shape(x), fill_value, dtype or _dtype(x))


arange, eye, linspace = np.arange, np.eye, np.linspace
