"""``jax.example_libraries.optimizers`` for old research scripts: each optimizer returns
the triple ``(init_fn, update_fn, get_params)``, with the same update equations.

``init_fn(params) -> opt_state``; ``update_fn(i, grads, opt_state) -> opt_state`` for step
``i`` (an int, traced under jit); ``get_params(opt_state) -> params``. ``step_size`` is a
number or a schedule ``i -> step size`` (``constant``, ``exponential_decay``,
``inverse_time_decay``, ``polynomial_decay``, ``piecewise_constant`` here). An
``OptimizerState`` is a pytree, so it passes through ``fg.jit``.

>>> import numpy as np, funcgrad as fg
>>> from funcgrad.optim import legacy
>>> opt_init, opt_update, get_params = legacy.momentum(0.1, mass=0.9)
>>> opt_state = opt_init({"w": np.ones(2)})
>>> opt_state = opt_update(0, {"w": np.array([1.0, -1.0])}, opt_state)
>>> get_params(opt_state)
{'w': array([0.9, 1.1])}
"""

import functools
from typing import Any, NamedTuple

import numpy as np

from .. import numpy as fnp
from .. import tree
from ..errors import user_frame

__all__ = [
    "Optimizer",
    "OptimizerState",
    "adagrad",
    "adam",
    "adamax",
    "clip_grads",
    "constant",
    "exponential_decay",
    "inverse_time_decay",
    "l2_norm",
    "make_schedule",
    "momentum",
    "nesterov",
    "optimizer",
    "pack_optimizer_state",
    "piecewise_constant",
    "polynomial_decay",
    "rmsprop",
    "rmsprop_momentum",
    "sgd",
    "sm3",
    "unpack_optimizer_state",
]


class Optimizer(NamedTuple):
    init_fn: Any
    update_fn: Any
    params_fn: Any


class OptimizerState:
    """The flattened per-leaf states of an optimizer, with the params' tree structure
    (a pytree: its leaves are the per-leaf state arrays)."""

    __slots__ = ("packed_state", "tree_def", "subtree_defs")

    def __init__(self, packed_state, tree_def, subtree_defs):
        self.packed_state, self.tree_def, self.subtree_defs = packed_state, tree_def, subtree_defs

    def __repr__(self):
        return f"OptimizerState({len(self.packed_state)} leaves of {self.tree_def})"


tree.register_node(
    OptimizerState,
    lambda s: (s.packed_state, (s.tree_def, s.subtree_defs)),
    lambda aux, children: OptimizerState(tuple(children), *aux),
)


def optimizer(opt_maker):
    """Lift an optimizer over single arrays, ``opt_maker(...) -> (init, update, get_params)``
    with ``init(x) -> state``, ``update(i, g, state) -> state``, ``get_params(state) -> x``,
    to pytrees of parameters (as ``jax.example_libraries.optimizers.optimizer``)."""

    @functools.wraps(opt_maker)
    def tree_opt_maker(*args, **kwargs):
        init, update, get_params = opt_maker(*args, **kwargs)

        def init_fn(x0_tree):
            x0_flat, tree_def = tree.flatten(x0_tree)
            states = [init(x0) for x0 in x0_flat]
            flat, subtrees = zip(*(tree.flatten(s) for s in states)) if states else ((), ())
            return OptimizerState(tuple(flat), tree_def, tuple(subtrees))

        def update_fn(i, grad_tree, opt_state):
            if not isinstance(opt_state, OptimizerState):
                raise TypeError(
                    f"update_fn: expected the OptimizerState of init_fn, got "
                    f"{type(opt_state).__name__} at {user_frame()}"
                )
            grads_flat, grad_def = tree.flatten(grad_tree)
            if grad_def != opt_state.tree_def:
                raise tree.StructureError(
                    f"update_fn: the gradients are {tree._describe(grad_def)}, the parameters "
                    f"{tree._describe(opt_state.tree_def)} "
                    f"{tree._where_differ(grad_def, opt_state.tree_def)} at {user_frame()}"
                )
            states = [
                sub.unflatten(flat)
                for flat, sub in zip(opt_state.packed_state, opt_state.subtree_defs)
            ]
            new = [update(i, g, s) for g, s in zip(grads_flat, states)]
            flat, subtrees = zip(*(tree.flatten(s) for s in new)) if new else ((), ())
            return OptimizerState(tuple(flat), opt_state.tree_def, tuple(subtrees))

        def params_fn(opt_state):
            states = [
                sub.unflatten(flat)
                for flat, sub in zip(opt_state.packed_state, opt_state.subtree_defs)
            ]
            return opt_state.tree_def.unflatten([get_params(s) for s in states])

        return Optimizer(init_fn, update_fn, params_fn)

    return tree_opt_maker


def _first(state):
    return state[0]


def _cast(x, like):
    return fnp.astype(x, fnp.asarray(like).dtype)


def _with_two_zeros(x0):
    """The state ``(x, 0, 0)`` of the optimizers with two accumulators."""
    return x0, fnp.zeros_like(x0), fnp.zeros_like(x0)


# ---------------------------------------------------------------- optimizers


@optimizer
def sgd(step_size):
    """Plain SGD: ``x - step_size(i) * g``."""
    step_size = make_schedule(step_size)

    def update(i, g, x):
        return _cast(x - step_size(i) * g, x)

    return (lambda x0: x0), update, (lambda x: x)


def _heavy_ball(step_size, mass, lookahead):
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, velocity = state
        velocity = _cast(mass * velocity + g, velocity)
        step = mass * velocity + g if lookahead else velocity
        return _cast(x - step_size(i) * step, x), velocity

    return (lambda x0: (x0, fnp.zeros_like(x0))), update, _first


@optimizer
def momentum(step_size, mass):
    """Heavy-ball momentum: ``v = mass v + g``; ``x - step_size(i) v``."""
    return _heavy_ball(step_size, mass, lookahead=False)


@optimizer
def nesterov(step_size, mass):
    """Nesterov momentum: ``v = mass v + g``; ``x - step_size(i) (mass v + g)``."""
    return _heavy_ball(step_size, mass, lookahead=True)


@optimizer
def adagrad(step_size, momentum=0.9):
    """Adagrad with momentum: ``s += g^2``; ``m = (1-momentum) g / sqrt(s) + momentum m``
    (0 where ``s`` is 0); ``x - step_size(i) m``."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, g_sq, m = state
        g_sq = _cast(g_sq + g * g, g_sq)
        inv_sqrt = fnp.where(g_sq > 0, 1.0 / fnp.sqrt(fnp.where(g_sq > 0, g_sq, 1.0)), 0.0)
        m = _cast((1.0 - momentum) * (g * inv_sqrt) + momentum * m, m)
        return _cast(x - step_size(i) * m, x), g_sq, m

    return _with_two_zeros, update, _first


@optimizer
def rmsprop(step_size, gamma=0.9, eps=1e-8):
    """RMSprop: ``a = gamma a + (1-gamma) g^2``; ``x - step_size(i) g / sqrt(a + eps)``."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, avg_sq = state
        avg_sq = _cast(avg_sq * gamma + g * g * (1.0 - gamma), avg_sq)
        return _cast(x - step_size(i) * g / fnp.sqrt(avg_sq + eps), x), avg_sq

    return (lambda x0: (x0, fnp.zeros_like(x0))), update, _first


@optimizer
def rmsprop_momentum(step_size, gamma=0.9, eps=1e-8, momentum=0.9):
    """RMSprop with momentum: ``mom = momentum mom + step_size(i) g / sqrt(a + eps)``;
    ``x - mom``."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, avg_sq, mom = state
        avg_sq = _cast(avg_sq * gamma + g * g * (1.0 - gamma), avg_sq)
        mom = _cast(momentum * mom + step_size(i) * g / fnp.sqrt(avg_sq + eps), mom)
        return _cast(x - mom, x), avg_sq, mom

    return _with_two_zeros, update, _first


@optimizer
def adam(step_size, b1=0.9, b2=0.999, eps=1e-8):
    """Adam: bias-corrected moments at step ``i + 1``,
    ``x - step_size(i) mhat / (sqrt(vhat) + eps)``."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, m, v = state
        m = _cast((1 - b1) * g + b1 * m, m)
        v = _cast((1 - b2) * g * g + b2 * v, v)
        t = fnp.astype(i, np.float64) + 1.0
        m_hat = m / _cast(1 - fnp.power(b1, t), m)
        v_hat = v / _cast(1 - fnp.power(b2, t), v)
        return _cast(x - step_size(i) * m_hat / (fnp.sqrt(v_hat) + eps), x), m, v

    return _with_two_zeros, update, _first


@optimizer
def adamax(step_size, b1=0.9, b2=0.999, eps=1e-8):
    """Adamax: ``u = max(b2 u, |g|)``; ``x - step_size(i) / (1 - b1^(i+1)) m / (u + eps)``."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, m, u = state
        m = _cast((1 - b1) * g + b1 * m, m)
        u = _cast(fnp.maximum(b2 * u, fnp.abs(g)), u)
        t = fnp.astype(i, np.float64) + 1.0
        step = step_size(i) / (1 - fnp.power(b1, t))
        return _cast(x - step * m / (u + eps), x), m, u

    return _with_two_zeros, update, _first


@optimizer
def sm3(step_size, momentum=0.9):
    """SM3 (Anil et al. 2019): one accumulator per axis; the update divides by the root of
    the minimum over axes of the accumulators (broadcast) plus ``g^2``, with momentum."""
    step_size = make_schedule(step_size)

    def init(x0):
        x0 = fnp.asarray(x0)
        vs = tuple(fnp.zeros((n,), x0.dtype) for n in x0.shape)
        return x0, fnp.zeros_like(x0), vs

    def update(i, g, state):
        x, m, vs = state
        ndim = len(vs)
        shaped = [
            fnp.reshape(v, [-1 if k == j else 1 for k in range(ndim)]) for j, v in enumerate(vs)
        ]
        accum = g * g
        if shaped:
            smallest = functools.reduce(fnp.minimum, shaped)
            accum = smallest + accum
        inv_sqrt = fnp.where(accum > 0, 1.0 / fnp.sqrt(fnp.where(accum > 0, accum, 1.0)), 0.0)
        m = _cast((1.0 - momentum) * (g * inv_sqrt) + momentum * m, m)
        x = _cast(x - step_size(i) * m, x)
        others = [tuple(k for k in range(ndim) if k != j) for j in range(ndim)]
        vs = tuple(
            _cast(fnp.max(accum, axis=axes) if axes else accum, v) for axes, v in zip(others, vs)
        )
        return x, m, vs

    return init, update, _first


# ---------------------------------------------------------------- schedules


def constant(step_size):
    """The schedule that is ``step_size`` at every step."""
    return lambda i: step_size


def exponential_decay(step_size, decay_steps, decay_rate):
    """``step_size * decay_rate ** (i / decay_steps)``."""
    return lambda i: step_size * fnp.power(decay_rate, fnp.astype(i, np.float64) / decay_steps)


def inverse_time_decay(step_size, decay_steps, decay_rate, staircase=False):
    """``step_size / (1 + decay_rate * i / decay_steps)``, the ratio floored with
    ``staircase``."""

    def schedule(i):
        ratio = fnp.astype(i, np.float64) / decay_steps
        return step_size / (1 + decay_rate * (fnp.floor(ratio) if staircase else ratio))

    return schedule


def polynomial_decay(step_size, decay_steps, final_step_size, power=1.0):
    """From ``step_size`` to ``final_step_size`` as ``(1 - i / decay_steps)**power``."""

    def schedule(i):
        done = fnp.minimum(fnp.astype(i, np.float64), decay_steps) / decay_steps
        return (step_size - final_step_size) * fnp.power(1 - done, power) + final_step_size

    return schedule


def piecewise_constant(boundaries, values):
    """``values[k]`` for ``boundaries[k-1] < i <= boundaries[k]`` (``len(values)`` is
    ``len(boundaries) + 1``)."""
    boundaries, values = np.asarray(boundaries), np.asarray(values)
    if values.ndim != 1 or boundaries.ndim != 1 or len(values) != len(boundaries) + 1:
        raise ValueError(
            f"piecewise_constant: need len(values) == len(boundaries) + 1, got {len(values)} and "
            f"{len(boundaries)} at {user_frame()}"
        )

    def schedule(i):
        k = fnp.sum(fnp.astype(fnp.greater(i, boundaries), np.int32))
        return fnp.take(values, k)

    return schedule


def make_schedule(scalar_or_schedule):
    """A schedule from a schedule or a number."""
    if callable(scalar_or_schedule):
        return scalar_or_schedule
    if np.ndim(scalar_or_schedule) == 0:
        return constant(scalar_or_schedule)
    raise TypeError(
        f"make_schedule: expected a number or a callable, got {type(scalar_or_schedule)}"
    )


# ---------------------------------------------------------------- utilities


def l2_norm(tree_):
    """The L2 norm of all the leaves together."""
    return fnp.sqrt(sum(fnp.sum(x * x) for x in tree.leaves(tree_)))


def clip_grads(grad_tree, max_norm):
    """The gradients scaled to a global L2 norm of at most ``max_norm``."""
    norm = l2_norm(grad_tree)
    factor = fnp.where(norm < max_norm, 1.0, max_norm / fnp.where(norm < max_norm, 1.0, norm))
    return tree.map(lambda g: _cast(g * factor, g), grad_tree)


def unpack_optimizer_state(opt_state):
    """The state as a pytree of tuples per parameter (to save it), like JAX's."""
    states = [
        sub.unflatten(flat) for flat, sub in zip(opt_state.packed_state, opt_state.subtree_defs)
    ]
    return opt_state.tree_def.unflatten([_Packed(s) for s in states])


class _Packed:
    """One parameter's optimizer state, held as a leaf of the unpacked tree."""

    __slots__ = ("state",)

    def __init__(self, state):
        self.state = state


def pack_optimizer_state(marked_pytree):
    """The inverse of :func:`unpack_optimizer_state`."""
    packed, tree_def = tree.flatten(marked_pytree)
    states = [p.state for p in packed]
    flat, subtrees = zip(*(tree.flatten(s) for s in states)) if states else ((), ())
    return OptimizerState(tuple(flat), tree_def, tuple(subtrees))
