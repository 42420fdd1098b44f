"""Explicit, splittable pseudo-random keys and distributions, as in ``jax.random``.

A key is a ``uint32[2]`` array; every function here is a pure function of its key, so the
same key gives the same numbers on every run and machine: bitwise for keys, uniform,
bernoulli, randint, permutation, choice and bits (integer hashing and exact scaling), and
to the last bit or so for the distributions that go through log, exp, tan, cos and sin
(their last bit may differ between CPUs and between eager NumPy and a compiled jit).
Numbers come from the ``random_bits`` primitive (Threefry-2x32-20, counter-based): element
``i`` of a draw hashes counter ``i`` under the key. A key is meant to be used once: to
draw, to :func:`split`, or to :func:`fold_in` into; draw from its children rather than
from the key again.

Everything runs under ``fg.jit`` with a traced key (and a traced seed for :func:`key` or
data for :func:`fold_in`), except the weighted forms of :func:`choice`. Draws by rejection
(gamma and the distributions built on it, truncated_normal, poisson) loop in a
``lax.while_loop`` until every element is accepted.

Distributions: ``uniform``, ``normal``, ``truncated_normal``, ``multivariate_normal``,
``exponential``, ``laplace``, ``logistic``, ``cauchy``, ``gumbel``, ``gamma``,
``loggamma``, ``beta``, ``dirichlet``, ``t``; discrete: ``bernoulli``, ``randint``,
``categorical``, ``poisson``, ``rademacher``, ``bits``; arrangements: ``permutation``,
``shuffle``, ``choice``, ``orthogonal``.

>>> import funcgrad as fg
>>> k_init, k_data = fg.random.split(fg.random.key(0))
>>> x = fg.random.normal(k_data, (2, 3))
>>> x.shape, x.dtype.name
((2, 3), 'float32')
"""

# Each submodule's __all__ is the one list of what it exports.
from . import _base, _continuous, _discrete, _gamma, _multivariate
from ._base import *  # noqa: F403
from ._continuous import *  # noqa: F403
from ._discrete import *  # noqa: F403
from ._gamma import *  # noqa: F403
from ._multivariate import *  # noqa: F403

__all__ = sorted(
    _base.__all__ + _continuous.__all__ + _discrete.__all__ + _gamma.__all__ + _multivariate.__all__
)
