"""Gradient transformations (optax style): pure ``init``/``update`` pairs over pytrees.

``init(params) -> state`` and ``update(updates, state, params=None) -> (updates, state)``;
states are NamedTuples of arrays, so they pass through ``fg.jit``. Optimizers are chains of
building blocks, and ``apply_updates`` adds the final updates to the parameters.

>>> import numpy as np
>>> from funcgrad import optim
>>> params = {"w": np.array([1.0, 2.0])}
>>> opt = optim.sgd(learning_rate=0.1)
>>> state = opt.init(params)
>>> updates, state = opt.update({"w": np.array([1.0, -1.0])}, state, params)
>>> optim.apply_updates(params, updates)
{'w': array([0.9, 2.1])}
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .. import numpy as fnp
from .. import tree
from ..errors import user_frame

__all__ = [
    "EmptyState",
    "GradientTransformation",
    "ScaleByAdamState",
    "ScaleByRmsState",
    "ScaleByRssState",
    "ScaleByScheduleState",
    "TraceState",
    "adagrad",
    "adam",
    "adamw",
    "add_decayed_weights",
    "apply_updates",
    "chain",
    "clip_by_global_norm",
    "global_norm",
    "identity",
    "rmsprop",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_schedule",
    "sgd",
    "trace",
]


class GradientTransformation(NamedTuple):
    """A pair of pure functions: ``init(params) -> state`` and
    ``update(updates, state, params=None) -> (updates, state)``."""

    init: Callable
    update: Callable


class EmptyState(NamedTuple):
    """The state of a stateless transformation."""


class ScaleByScheduleState(NamedTuple):
    count: Any  # int32 scalar: the number of updates so far


class ScaleByAdamState(NamedTuple):
    count: Any  # int32 scalar
    mu: Any  # first moment, a pytree like params
    nu: Any  # second moment


class ScaleByRmsState(NamedTuple):
    nu: Any


class ScaleByRssState(NamedTuple):
    sum_of_squares: Any


class TraceState(NamedTuple):
    trace: Any


def _zeros_count():
    return np.zeros((), np.int32)


def _increment(count):
    # Saturate instead of wrapping around to a negative count (as optax does).
    top = np.iinfo(np.int32).max
    return fnp.where(count < top, count + 1, count)


def _cast(x, like):
    """``x`` in ``like``'s dtype, so float32 params keep float32 updates and moments."""
    return fnp.astype(x, fnp.asarray(like).dtype)


def _moment(old, new, decay):
    return _cast(decay * old + (1.0 - decay) * new, old)


def _error(head, name, tail):
    """A StructureError about the argument ``name``; one about the state (``"state.mu"``) is
    re-raised by :func:`chain` with the index there, so it names a path in the user's state."""
    error = tree.StructureError(f"{head}{name}{tail}")
    error._parts = head, name, tail
    return error


def _map(where, f, a, b, b_name, a_name="updates"):
    """``tree.map(f, a, b)`` whose structure-mismatch error names ``where`` and the arguments
    ``a_name`` and ``b_name``, so that a user sees which of the trees they passed do not fit."""
    a_flat, a_td = tree.flatten(a)
    b_flat, b_td = tree.flatten(b)
    if a_td != b_td:
        head = f"{where}: structure mismatch between {a_name} and "
        raise _error(head, b_name, f" {tree._where_differ(a_td, b_td)} at {user_frame()}")
    return a_td.unflatten([f(x, y) for x, y in zip(a_flat, b_flat)])


def _state_error(where, state, expected):
    got = tree._describe(tree.structure(state))
    tail = f" is {got}, expected {expected} (the state of another optimizer?) at {user_frame()}"
    return _error(f"{where}: ", "state", tail)


def _check_state(where, state, cls):
    """Raises unless ``state`` has ``cls``'s fields, e.g. a state of another optimizer."""
    # Fields, not the class: a checkpoint loaded without like= has namedtuples of the same
    # name and fields but another class.
    if getattr(state, "_fields", None) != cls._fields:
        raise _state_error(where, state, tree._a(cls.__name__))


def _check_empty(where, state):
    """Raises if a stateless transformation is given a non-empty state (another optimizer's)."""
    if not (state is None or (isinstance(state, tuple) and not state)):
        raise _state_error(where, state, "an EmptyState")


# ---------------------------------------------------------------- building blocks


def identity():
    """Pass updates through unchanged."""

    def update(updates, state, params=None):
        _check_empty("identity.update", state)
        return updates, state

    return GradientTransformation(lambda params: EmptyState(), update)


def scale(step_size):
    """Multiply updates by ``step_size``.

    >>> scale(2.0).update({"a": np.array([1.0])}, EmptyState())[0]
    {'a': array([2.])}
    """

    def update(updates, state, params=None):
        _check_empty("scale.update", state)
        return tree.map(lambda u: u * _cast(step_size, u), updates), state

    return GradientTransformation(lambda params: EmptyState(), update)


def scale_by_schedule(step_size_fn):
    """Multiply the k-th update (k = 0, 1, ...) by ``step_size_fn(k)``.

    >>> t = scale_by_schedule(lambda count: 1.0 + count)
    >>> state = t.init({"a": np.ones(1)})
    >>> for _ in range(3):
    ...     updates, state = t.update({"a": np.ones(1)}, state)
    >>> updates, state.count
    ({'a': array([3.])}, array(3, dtype=int32))
    """

    def update(updates, state, params=None):
        _check_state("scale_by_schedule.update", state, ScaleByScheduleState)
        step = step_size_fn(state.count)
        updates = tree.map(lambda u: u * _cast(step, u), updates)
        return updates, ScaleByScheduleState(_increment(state.count))

    return GradientTransformation(lambda params: ScaleByScheduleState(_zeros_count()), update)


def scale_by_learning_rate(learning_rate, flip_sign=True):
    """Multiply updates by ``-learning_rate`` (a float or a schedule), for descent."""
    sign = -1.0 if flip_sign else 1.0
    if callable(learning_rate):
        return scale_by_schedule(lambda count: sign * learning_rate(count))
    return scale(sign * learning_rate)


def _first_moment_estimate(b1, count, nesterov):
    """``(g, mu) -> mu / (1 - b1^t)`` at step ``t = count``, or with ``nesterov`` NAdam's
    ``b1 mu / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t)``."""
    correction = 1.0 - fnp.power(b1, count)
    ahead = 1.0 - fnp.power(b1, _increment(count))

    def estimate(g, m):
        if nesterov:
            return b1 * m / _cast(ahead, m) + (1.0 - b1) * g / _cast(correction, m)
        return m / _cast(correction, m)

    return estimate


def scale_by_adam(b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, *, nesterov=False):
    """Adam's rescaling: bias-corrected first moment over the root of the second.

    ``mu = b1 mu + (1-b1) g``, ``nu = b2 nu + (1-b2) g^2`` and, at step ``t = count + 1``,
    ``update = mu_hat / (sqrt(nu / (1 - b2^t) + eps_root) + eps)`` with
    ``mu_hat = mu / (1 - b1^t)``, or with ``nesterov`` (NAdam, Dozat 2016)
    ``mu_hat = b1 mu / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t)``.

    >>> t = scale_by_adam()
    >>> t.update({"a": np.array([3.0, -2.0])}, t.init({"a": np.zeros(2)}))[0]
    {'a': array([ 1., -1.])}
    """

    def init(params):
        zeros = tree.map(fnp.zeros_like, params)
        return ScaleByAdamState(_zeros_count(), zeros, zeros)

    def update(updates, state, params=None):
        where = "scale_by_adam.update"
        _check_state(where, state, ScaleByAdamState)
        mu = _map(where, lambda g, m: _moment(m, g, b1), updates, state.mu, "state.mu")
        nu = _map(where, lambda g, v: _moment(v, g * g, b2), updates, state.nu, "state.nu")
        count = _increment(state.count)
        m_hat = _first_moment_estimate(b1, count, nesterov)
        correction2 = 1.0 - fnp.power(b2, count)

        def direction(g, m, v):
            v_hat = v / _cast(correction2, v)
            return _cast(m_hat(g, m) / (fnp.sqrt(v_hat + eps_root) + eps), m)

        return tree.map(direction, updates, mu, nu), ScaleByAdamState(count, mu, nu)

    return GradientTransformation(init, update)


def scale_by_rms(decay=0.9, eps=1e-8, eps_in_sqrt=True):
    """Divide updates by the root of an exponential moving average of their squares.

    ``nu = decay nu + (1-decay) g^2``; ``update = g / sqrt(nu + eps)``, or with
    ``eps_in_sqrt=False`` (PyTorch's RMSprop) ``g / (sqrt(nu) + eps)``.
    """

    def update(updates, state, params=None):
        _check_state("scale_by_rms.update", state, ScaleByRmsState)
        nu = _map(
            "scale_by_rms.update",
            lambda g, v: _moment(v, g * g, decay),
            updates,
            state.nu,
            "state.nu",
        )
        if eps_in_sqrt:
            out = tree.map(lambda g, v: g / fnp.sqrt(v + eps), updates, nu)
        else:
            out = tree.map(lambda g, v: g / (fnp.sqrt(v) + eps), updates, nu)
        return out, ScaleByRmsState(nu)

    return GradientTransformation(
        lambda params: ScaleByRmsState(tree.map(fnp.zeros_like, params)), update
    )


def scale_by_rss(initial_accumulator_value=0.1, eps=1e-7):
    """Adagrad's rescaling: ``s += g^2``; ``update = g / sqrt(s + eps)`` (0 where s is 0)."""

    def direction(g, s):
        # s >= g^2, so s == 0 means g == 0: dividing by 1 there gives 0, never 0/0 (eps=0).
        return g / fnp.sqrt(fnp.where(s > 0, s + eps, 1.0))

    def update(updates, state, params=None):
        _check_state("scale_by_rss.update", state, ScaleByRssState)
        sums = _map(
            "scale_by_rss.update",
            lambda g, s: _cast(s + g * g, s),
            updates,
            state.sum_of_squares,
            "state.sum_of_squares",
        )
        return tree.map(direction, updates, sums), ScaleByRssState(sums)

    def init(params):
        return ScaleByRssState(
            tree.map(lambda p: fnp.full_like(p, initial_accumulator_value), params)
        )

    return GradientTransformation(init, update)


def add_decayed_weights(weight_decay):
    """Add ``weight_decay * params`` to the updates (decoupled weight decay, as in AdamW)."""

    def update(updates, state, params=None):
        if params is None:
            raise ValueError(f"add_decayed_weights needs update(..., params) at {user_frame()}")
        _check_empty("add_decayed_weights.update", state)
        decayed = _map(
            "add_decayed_weights.update",
            lambda u, p: u + _cast(weight_decay * p, u),
            updates,
            params,
            "params",
        )
        return decayed, state

    return GradientTransformation(lambda params: EmptyState(), update)


def trace(decay, nesterov=False):
    """Momentum: ``t = g + decay t``; the update is ``t``, or ``g + decay t`` with Nesterov.

    >>> t = trace(0.5)
    >>> state = t.init({"a": np.zeros(1)})
    >>> _, state = t.update({"a": np.ones(1)}, state)
    >>> t.update({"a": np.ones(1)}, state)[0]
    {'a': array([1.5])}
    """

    def update(updates, state, params=None):
        _check_state("trace.update", state, TraceState)
        new = _map(
            "trace.update",
            lambda g, t: _cast(g + decay * t, t),
            updates,
            state.trace,
            "state.trace",
        )
        out = tree.map(lambda g, t: g + decay * t, updates, new) if nesterov else new
        return out, TraceState(new)

    return GradientTransformation(
        lambda params: TraceState(tree.map(fnp.zeros_like, params)), update
    )


def global_norm(updates):
    """The L2 norm of all leaves of ``updates`` taken together.

    >>> global_norm({"a": np.array([3.0]), "b": [np.array([[4.0]])]})
    np.float64(5.0)
    """
    return fnp.sqrt(sum(fnp.sum(u * u) for u in tree.leaves(updates)))


def clip_by_global_norm(max_norm):
    """Rescale updates so that their global norm is at most ``max_norm``.

    >>> clip_by_global_norm(1.0).update({"a": np.array([3.0, 4.0])}, EmptyState())[0]
    {'a': array([0.6, 0.8])}
    """

    def update(updates, state, params=None):
        _check_empty("clip_by_global_norm.update", state)
        # max_norm / max(norm, max_norm) is exactly 1 below the threshold, and never 0/0.
        factor = max_norm / fnp.maximum(global_norm(updates), max_norm)
        return tree.map(lambda u: u * _cast(factor, u), updates), state

    return GradientTransformation(lambda params: EmptyState(), update)


def chain(*transforms):
    """Apply ``transforms`` in order; the state is the tuple of their states.

    >>> opt = chain(clip_by_global_norm(1.0), scale(-0.5))
    >>> opt.update({"a": np.array([3.0, 4.0])}, opt.init(None))[0]
    {'a': array([-0.3, -0.4])}
    """

    def init(params):
        return tuple(t.init(params) for t in transforms)

    def update(updates, state, params=None):
        n = len(transforms)
        if not (isinstance(state, (tuple, list)) and len(state) == n) or hasattr(state, "_fields"):
            raise _state_error("chain.update", state, f"a tuple of {n}")
        states = []
        for i, (t, s) in enumerate(zip(transforms, state)):
            try:
                updates, s = t.update(updates, s, params)
            except tree.StructureError as e:
                head, name, tail = getattr(e, "_parts", (None, "", None))
                if not name.startswith("state"):
                    raise
                # Name the path in the state the user passed, e.g. state[0].mu, not state.mu.
                error = _error(head, f"state[{i}]{name[len('state') :]}", tail)
                raise error.with_traceback(e.__traceback__) from None
            states.append(s)
        return updates, tuple(states)

    return GradientTransformation(init, update)


# ---------------------------------------------------------------- optimizers


def _momentum(momentum, nesterov):
    """``trace(momentum)``, or nothing for no momentum: ``None`` (optax's default) or the
    number 0; an array (as inject_hyperparams passes) always traces, so that the state's
    structure does not depend on a value jit may not know."""
    plain = momentum is None or (isinstance(momentum, (int, float)) and momentum == 0)
    if plain and not nesterov:
        return identity()
    return trace(0.0 if momentum is None else momentum, nesterov)


def sgd(learning_rate, momentum=None, nesterov=False):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Args:
        learning_rate: a float or a schedule ``count -> value``.
        momentum: the decay of the momentum trace; None (or 0) for plain SGD.
        nesterov: use Nesterov's lookahead ``g + momentum * trace`` (the update of
            ``trace(momentum, nesterov=True)``, as optax's).

    >>> opt = sgd(0.1, momentum=0.9, nesterov=True)
    >>> state = opt.init({"w": np.zeros(1)})
    >>> opt.update({"w": np.ones(1)}, state)[0]  # -0.1 * (1 + 0.9 * 1)
    {'w': array([-0.19])}
    """
    return chain(_momentum(momentum, nesterov), scale_by_learning_rate(learning_rate))


def adam(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, *, nesterov=False):
    """Adam (Kingma & Ba): ``chain(scale_by_adam(b1, b2, eps), scale_by_learning_rate(lr))``.

    >>> opt = adam(0.1)
    >>> params = {"w": np.array([1.0, 2.0], np.float32)}
    >>> updates, state = opt.update({"w": np.array([4.0, -1.0], np.float32)}, opt.init(params))
    >>> apply_updates(params, updates)
    {'w': array([0.9, 2.1], dtype=float32)}
    """
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )


def adamw(learning_rate, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-4):
    """Adam with decoupled weight decay (Loshchilov & Hutter): the decay term
    ``weight_decay * params`` is added after Adam's rescaling, then scaled by ``-lr``."""
    return chain(
        scale_by_adam(b1, b2, eps),
        add_decayed_weights(weight_decay),
        scale_by_learning_rate(learning_rate),
    )


def rmsprop(learning_rate, decay=0.9, eps=1e-8, momentum=None, nesterov=False, eps_in_sqrt=True):
    """RMSprop (Hinton): :func:`scale_by_rms`, then ``-lr``, then optional momentum."""
    return chain(
        scale_by_rms(decay, eps, eps_in_sqrt),
        scale_by_learning_rate(learning_rate),
        _momentum(momentum, nesterov),
    )


def adagrad(learning_rate, initial_accumulator_value=0.1, eps=1e-7):
    """Adagrad (Duchi et al.): :func:`scale_by_rss`, then ``-lr``."""
    return chain(
        scale_by_rss(initial_accumulator_value, eps), scale_by_learning_rate(learning_rate)
    )


def apply_updates(params, updates):
    """``params + updates``, leaf by leaf, each result in its parameter's dtype.

    >>> apply_updates({"w": np.ones(2, np.float32)}, {"w": np.array([0.5, -0.5])})
    {'w': array([1.5, 0.5], dtype=float32)}
    """
    return _map("apply_updates", lambda p, u: _cast(p + u, p), params, updates, "updates", "params")
