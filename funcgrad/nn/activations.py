"""The activations of ``jax.nn`` beyond relu/sigmoid/softplus, with its names, defaults and
formulas: compositions of primitives (fusion makes each one kernel), each branch of a
piecewise one fed only the inputs it is selected for, so no unselected branch overflows
into a gradient.

>>> import numpy as np
>>> silu(np.array([0.0, 1.0])).round(4).tolist()
[0.0, 0.7311]
"""

import math

from .. import numpy as fnp
from ..errors import ShapeError, user_frame
from ..numpy._base import _to_float
from .functional import relu, sigmoid, softplus

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def silu(x):
    """``x * sigmoid(x)`` (``swish``)."""
    x = _to_float(x)
    return x * sigmoid(x)


swish = silu


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, finite for every x."""
    return -softplus(-_to_float(x))


def _negative_part(x):
    """``x`` where it is not positive, 0 elsewhere (what the exponential branches see)."""
    return fnp.where(x > 0, 0, x)


def elu(x, alpha=1.0):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    x = _to_float(x)
    return fnp.where(x > 0, x, alpha * fnp.expm1(_negative_part(x)))


def celu(x, alpha=1.0):
    """``x`` where positive, ``alpha * (exp(x / alpha) - 1)`` elsewhere."""
    x = _to_float(x)
    return fnp.where(x > 0, x, alpha * fnp.expm1(_negative_part(x) / alpha))


def selu(x):
    """The self-normalizing ELU: ``scale * elu(x, alpha)`` with Klambauer et al.'s
    constants."""
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def softsign(x):
    """``x / (|x| + 1)``."""
    x = _to_float(x)
    return x / (fnp.abs(x) + 1)


def relu6(x):
    """``min(max(x, 0), 6)``."""
    return fnp.minimum(relu(x), 6)


def hard_sigmoid(x):
    """``relu6(x + 3) / 6``."""
    return relu6(_to_float(x) + 3.0) / 6.0


def hard_silu(x):
    """``x * hard_sigmoid(x)`` (``hard_swish``)."""
    x = _to_float(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def hard_tanh(x):
    """``x`` clipped to [-1, 1]."""
    return fnp.clip(_to_float(x), -1.0, 1.0)


def gelu(x, approximate=True):
    """The Gaussian error linear unit ``x * Phi(x)``; ``approximate=True`` (JAX's default)
    uses the tanh form ``x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``, ``False`` the
    exact one through ``erf``."""
    x = _to_float(x)
    if approximate:
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)  # (Python floats: weak)
        return 0.5 * x * (1.0 + fnp.tanh(inner))
    from ..scipy.special import erf  # (the special functions sit above nn)

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2)))


def glu(x, axis=-1):
    """The gated linear unit: ``x``'s two halves along ``axis``, ``a * sigmoid(b)``."""
    n = fnp.shape(x)[axis]
    if n % 2:
        raise ShapeError(
            f"glu: axis {axis} has odd length {n}; it must split in two at {user_frame()}"
        )
    a, b = fnp.split(x, 2, axis=axis)
    return a * sigmoid(b)


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None):
    """``(x - mean) / sqrt(variance + epsilon)`` over ``axis`` (``jax.nn.standardize``; the
    mean and variance computed when not given)."""
    x = _to_float(x)
    where = True if where is None else where
    if mean is None:
        mean = fnp.mean(x, axis=axis, keepdims=True, where=where)
    if variance is None:
        # (as JAX: E[x^2] - E[x]^2, one pass over x)
        variance = fnp.mean(x * x, axis=axis, keepdims=True, where=where) - mean * mean
    return (x - mean) / fnp.sqrt(variance + epsilon)


__all__ = [
    "celu",
    "elu",
    "gelu",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "log_sigmoid",
    "relu6",
    "selu",
    "silu",
    "softsign",
    "standardize",
    "swish",
]
