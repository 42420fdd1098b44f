"""Learning-rate schedules: functions from the step count (0, 1, 2, ...) to a value.

A schedule may be passed wherever a learning rate is; the transformation keeps the count in
its state. Schedules are written with funcgrad.numpy and no Python branching on the count, so
they trace and jit with a traced count. They return float64 values; the transformation using
them casts the value to each update's dtype.

>>> from funcgrad import optim
>>> schedule = optim.exponential_decay(1.0, transition_steps=2, decay_rate=0.5)
>>> float(schedule(4))
0.25
"""

import math

import numpy as np

from .. import numpy as fnp
from ..errors import user_frame

__all__ = [
    "constant",
    "constant_schedule",
    "cosine_decay",
    "cosine_decay_schedule",
    "exponential_decay",
    "linear_schedule",
    "piecewise_constant",
    "piecewise_constant_schedule",
    "warmup_cosine_decay",
    "warmup_cosine_decay_schedule",
]


def _float(count):
    return fnp.astype(count, np.float64)


def _require(ok, message):
    if not ok:
        raise ValueError(f"{message} at {user_frame()}")


def constant_schedule(value):
    """The schedule that is ``value`` at every step.

    >>> float(constant_schedule(0.5)(7))
    0.5
    """
    return lambda count: fnp.asarray(value, np.float64)


def linear_schedule(init_value, end_value, transition_steps, transition_begin=0):
    """Linear from ``init_value`` at ``transition_begin`` to ``end_value`` over
    ``transition_steps`` steps, then constant.

    >>> float(linear_schedule(0.0, 1.0, transition_steps=4)(1))
    0.25
    """
    if transition_steps <= 0:
        return constant_schedule(init_value)

    def schedule(count):
        done = fnp.clip(_float(count) - transition_begin, 0.0, transition_steps) / transition_steps
        return init_value + (end_value - init_value) * done

    return schedule


def exponential_decay(
    init_value, transition_steps, decay_rate, staircase=False, transition_begin=0, end_value=None
):
    """``init_value * decay_rate ** ((count - transition_begin) / transition_steps)``.

    Constant at ``init_value`` before ``transition_begin``. With ``staircase`` the exponent is
    floored, so the value drops every ``transition_steps`` steps. ``end_value`` bounds the
    value: a lower bound when decaying (``decay_rate < 1``), an upper bound when growing.

    >>> schedule = exponential_decay(1.0, 2, 0.5, staircase=True)
    >>> [float(schedule(k)) for k in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    if transition_steps <= 0 or decay_rate == 0:
        return constant_schedule(init_value)

    def schedule(count):
        steps = _float(count) - transition_begin
        p = fnp.maximum(steps, 0.0) / transition_steps
        if staircase:  # p >= 0, so truncation toward zero is floor
            p = _float(fnp.astype(p, np.int64))
        value = init_value * fnp.power(float(decay_rate), p)
        if end_value is not None:
            value = (fnp.maximum if decay_rate < 1 else fnp.minimum)(value, end_value)
        return value

    return schedule


def piecewise_constant_schedule(init_value, boundaries_and_scales=None):
    """``init_value`` times the scale of every boundary that ``count`` has reached.

    Args:
        init_value: the value before the first boundary.
        boundaries_and_scales: a dict ``{step: scale}``; from ``step`` on, the value is
            multiplied by ``scale`` (scales accumulate).

    >>> schedule = piecewise_constant_schedule(1.0, {2: 0.5, 4: 0.1})
    >>> [float(schedule(k)) for k in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.05, 0.05]
    """
    items = sorted((boundaries_and_scales or {}).items())
    _require(
        all(scale >= 0 for _, scale in items),
        f"piecewise_constant_schedule: scales must be non-negative, got {dict(items)}",
    )

    def schedule(count):
        value = fnp.asarray(init_value, np.float64)
        for boundary, scale in items:
            value = value * fnp.where(_float(count) < boundary, 1.0, float(scale))
        return value

    return schedule


def cosine_decay_schedule(init_value, decay_steps, alpha=0.0):
    """Half a cosine from ``init_value`` at step 0 to ``alpha * init_value`` at
    ``decay_steps``, then constant (Loshchilov & Hutter, SGDR).

    >>> float(cosine_decay_schedule(1.0, decay_steps=4)(2))
    0.5
    """
    _require(decay_steps > 0, f"cosine_decay_schedule: decay_steps must be > 0, got {decay_steps}")
    _require(0.0 <= alpha <= 1.0, f"cosine_decay_schedule: alpha must be in [0, 1], got {alpha}")
    return _cosine(init_value, alpha * init_value, decay_steps, begin=0)


def _cosine(start, end, steps, begin):
    def schedule(count):
        t = fnp.clip(_float(count) - begin, 0.0, steps) / steps
        return end + (start - end) * 0.5 * (1.0 + fnp.cos(math.pi * t))

    return schedule


def warmup_cosine_decay_schedule(init_value, peak_value, warmup_steps, decay_steps, end_value=0.0):
    """Linear warmup from ``init_value`` to ``peak_value`` over ``warmup_steps``, then cosine
    decay to ``end_value`` at step ``decay_steps`` (which counts the warmup), then constant.

    >>> schedule = warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=2, decay_steps=6)
    >>> [round(float(schedule(k)), 3) for k in range(8)]
    [0.0, 0.5, 1.0, 0.854, 0.5, 0.146, 0.0, 0.0]
    """
    _require(
        decay_steps > warmup_steps >= 0,
        "warmup_cosine_decay_schedule: need decay_steps > warmup_steps >= 0, got "
        f"warmup_steps={warmup_steps}, decay_steps={decay_steps}",
    )
    warmup = linear_schedule(init_value, peak_value, warmup_steps)
    decay = _cosine(peak_value, end_value, decay_steps - warmup_steps, begin=warmup_steps)
    return lambda count: fnp.where(_float(count) < warmup_steps, warmup(count), decay(count))


# optax's short names.
constant = constant_schedule
piecewise_constant = piecewise_constant_schedule
cosine_decay = cosine_decay_schedule
warmup_cosine_decay = warmup_cosine_decay_schedule
