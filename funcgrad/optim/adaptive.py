"""More optimizers as optax builds them: rescalings (adamax's infinity norm, AdaBelief's
belief, Lion's sign, LAMB's trust ratio) chained with the learning rate.

>>> import numpy as np
>>> from funcgrad import optim
>>> opt = optim.lion(1e-2)
>>> params = {"w": np.array([1.0, -1.0])}
>>> updates, state = opt.update({"w": np.array([0.3, -2.0])}, opt.init(params), params)
>>> updates["w"]  # -lr * (sign(g) + 1e-3 * w)
array([-0.01001,  0.01001])
"""

from typing import Any, NamedTuple

import numpy as np  # noqa: F401  (the examples use it)

from .. import numpy as fnp
from .. import tree
from ..errors import user_frame
from .transforms import (
    EmptyState,
    GradientTransformation,
    ScaleByAdamState,
    _cast,
    _check_empty,
    _check_state,
    _first_moment_estimate,
    _increment,
    _map,
    _moment,
    _zeros_count,
    add_decayed_weights,
    chain,
    scale_by_adam,
    scale_by_learning_rate,
)

__all__ = [
    "ScaleByBeliefState",
    "ScaleByLionState",
    "adabelief",
    "adamax",
    "lamb",
    "lion",
    "nadam",
    "scale_by_adamax",
    "scale_by_belief",
    "scale_by_lion",
    "scale_by_trust_ratio",
]


class ScaleByBeliefState(NamedTuple):
    count: Any
    mu: Any
    nu: Any  # the moving average of the squared prediction error (g - mu)^2


class ScaleByLionState(NamedTuple):
    count: Any
    mu: Any


def _zeros_state(cls):
    def init(params):
        zeros = tree.map(fnp.zeros_like, params)
        return cls(_zeros_count(), *([zeros] * (len(cls._fields) - 1)))

    return init


def scale_by_adamax(b1=0.9, b2=0.999, eps=1e-8):
    """Adamax's rescaling (Kingma & Ba, section 7): ``mu = b1 mu + (1-b1) g``,
    ``nu = max(b2 nu, |g| + eps)``, ``update = mu / (1 - b1^t) / nu``.

    >>> t = scale_by_adamax()
    >>> t.update({"a": np.array([2.0])}, t.init({"a": np.zeros(1)}))[0]
    {'a': array([1.])}
    """

    def update(updates, state, params=None):
        where = "scale_by_adamax.update"
        _check_state(where, state, ScaleByAdamState)
        mu = _map(where, lambda g, m: _moment(m, g, b1), updates, state.mu, "state.mu")
        nu = _map(
            where,
            lambda g, v: _cast(fnp.maximum(b2 * v, fnp.abs(g) + eps), v),
            updates,
            state.nu,
            "state.nu",
        )
        count = _increment(state.count)
        correction = 1.0 - fnp.power(b1, count)
        out = tree.map(lambda m, v: m / _cast(correction, m) / v, mu, nu)
        return out, ScaleByAdamState(count, mu, nu)

    return GradientTransformation(_zeros_state(ScaleByAdamState), update)


def scale_by_belief(b1=0.9, b2=0.999, eps=1e-16, eps_root=1e-16, *, nesterov=False):
    """AdaBelief's rescaling (Zhuang et al. 2020): Adam's, with the second moment of the
    prediction error ``g - mu`` (``mu`` already updated) plus ``eps_root``, kept in the state.

    >>> t = scale_by_belief()
    >>> t.init({"a": np.zeros(2)}).nu
    {'a': array([0., 0.])}
    """

    def update(updates, state, params=None):
        where = "scale_by_belief.update"
        _check_state(where, state, ScaleByBeliefState)
        mu = _map(where, lambda g, m: _moment(m, g, b1), updates, state.mu, "state.mu")
        errors = tree.map(lambda g, m: g - m, updates, mu)
        nu = _map(
            where,
            lambda e, v: _cast(_moment(v, e * e, b2) + eps_root, v),
            errors,
            state.nu,
            "state.nu",
        )
        count = _increment(state.count)
        m_hat = _first_moment_estimate(b1, count, nesterov)
        correction2 = 1.0 - fnp.power(b2, count)

        def direction(g, m, v):
            return _cast(m_hat(g, m) / (fnp.sqrt(v / _cast(correction2, v)) + eps), m)

        return tree.map(direction, updates, mu, nu), ScaleByBeliefState(count, mu, nu)

    return GradientTransformation(_zeros_state(ScaleByBeliefState), update)


def scale_by_lion(b1=0.9, b2=0.99):
    """Lion's rescaling (Chen et al. 2023): ``update = sign((1-b1) g + b1 mu)``, then
    ``mu = b2 mu + (1-b2) g``.

    >>> t = scale_by_lion()
    >>> t.update({"a": np.array([0.5, -3.0])}, t.init({"a": np.zeros(2)}))[0]
    {'a': array([ 1., -1.])}
    """

    def update(updates, state, params=None):
        where = "scale_by_lion.update"
        _check_state(where, state, ScaleByLionState)
        out = _map(
            where,
            lambda g, m: _cast(fnp.sign((1.0 - b1) * g + b1 * m), m),
            updates,
            state.mu,
            "state.mu",
        )
        mu = tree.map(lambda g, m: _moment(m, g, b2), updates, state.mu)
        return out, ScaleByLionState(_increment(state.count), mu)

    return GradientTransformation(_zeros_state(ScaleByLionState), update)


def scale_by_trust_ratio(min_norm=0.0, trust_coefficient=1.0, eps=0.0):
    """LARS/LAMB's layer-wise trust ratio: each leaf's update times
    ``trust_coefficient * |param| / (|update| + eps)`` (norms at least ``min_norm``), or
    times 1 where either norm is 0.

    >>> t = scale_by_trust_ratio()
    >>> t.update({"a": np.array([3.0, 4.0])}, t.init(None), {"a": np.array([0.0, 1.0])})[0]
    {'a': array([0.6, 0.8])}
    """

    def norm(x):
        return fnp.maximum(fnp.sqrt(fnp.sum(x * x)), min_norm)

    def scaled(u, p):
        p_norm, u_norm = norm(p), norm(u)
        zero = (p_norm == 0) | (u_norm == 0)
        # 1 where either norm is 0 (and never 0/0: the division sees 1 there)
        ratio = fnp.where(
            zero, 1.0, trust_coefficient * p_norm / fnp.where(zero, 1.0, u_norm + eps)
        )
        return u * _cast(ratio, u)

    def update(updates, state, params=None):
        if params is None:
            raise ValueError(f"scale_by_trust_ratio needs update(..., params) at {user_frame()}")
        _check_empty("scale_by_trust_ratio.update", state)
        return _map("scale_by_trust_ratio.update", scaled, updates, params, "params"), state

    return GradientTransformation(lambda params: EmptyState(), update)


# ---------------------------------------------------------------- optimizers


def adamax(learning_rate, b1=0.9, b2=0.999, eps=1e-8):
    """Adamax: :func:`scale_by_adamax`, then ``-lr``."""
    return chain(scale_by_adamax(b1, b2, eps), scale_by_learning_rate(learning_rate))


def nadam(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0):
    """NAdam (Dozat 2016): Adam with Nesterov momentum, ``adam(..., nesterov=True)``."""
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, nesterov=True), scale_by_learning_rate(learning_rate)
    )


def adabelief(learning_rate, b1=0.9, b2=0.999, eps=1e-16, eps_root=1e-16, *, nesterov=False):
    """AdaBelief: :func:`scale_by_belief`, then ``-lr``."""
    return chain(
        scale_by_belief(b1, b2, eps, eps_root, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )


def lion(learning_rate, b1=0.9, b2=0.99, weight_decay=1e-3):
    """Lion (Chen et al. 2023): :func:`scale_by_lion`, decoupled weight decay, ``-lr``."""
    return chain(
        scale_by_lion(b1, b2),
        add_decayed_weights(weight_decay),
        scale_by_learning_rate(learning_rate),
    )


def lamb(learning_rate, b1=0.9, b2=0.999, eps=1e-6, eps_root=0.0, weight_decay=0.0):
    """LAMB (You et al. 2019): Adam's direction plus weight decay, rescaled per leaf by
    :func:`scale_by_trust_ratio`, then ``-lr``.

    >>> opt = lamb(0.1)
    >>> params = {"w": np.array([3.0, 4.0])}
    >>> updates, _ = opt.update({"w": np.array([1.0, 1.0])}, opt.init(params), params)
    >>> np.round(updates["w"], 4)  # |update| = 0.1 * |params|
    array([-0.3536, -0.3536])
    """
    return chain(
        scale_by_adam(b1, b2, eps, eps_root),
        add_decayed_weights(weight_decay),
        scale_by_trust_ratio(),
        scale_by_learning_rate(learning_rate),
    )
