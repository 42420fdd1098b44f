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
    "cosine_onecycle_schedule",
    "exponential_decay",
    "join_schedules",
    "linear_onecycle_schedule",
    "linear_schedule",
    "onecycle",
    "piecewise_constant",
    "piecewise_constant_schedule",
    "piecewise_interpolate_schedule",
    "polynomial",
    "polynomial_schedule",
    "warmup_cosine_decay",
    "warmup_cosine_decay_schedule",
    "warmup_exponential_decay",
    "warmup_exponential_decay_schedule",
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


def polynomial_schedule(init_value, end_value, power, transition_steps, transition_begin=0):
    """From ``init_value`` to ``end_value`` as ``(1 - t)**power`` over ``transition_steps``
    steps from ``transition_begin`` (``t`` the fraction done), then constant.

    >>> schedule = polynomial_schedule(1.0, 0.0, power=2, transition_steps=4)
    >>> [float(schedule(k)) for k in range(6)]
    [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """
    if transition_steps <= 0:
        return constant_schedule(init_value)

    def schedule(count):
        done = fnp.clip(_float(count) - transition_begin, 0.0, transition_steps) / transition_steps
        return (init_value - end_value) * fnp.power(1.0 - done, power) + end_value

    return schedule


def join_schedules(schedules, boundaries):
    """``schedules[i]`` from ``boundaries[i - 1]`` on, each counting steps from its own start.

    >>> schedule = join_schedules([constant_schedule(1.0), linear_schedule(1.0, 0.0, 2)], [3])
    >>> [float(schedule(k)) for k in range(6)]
    [1.0, 1.0, 1.0, 1.0, 0.5, 0.0]
    """
    schedules, boundaries = list(schedules), list(boundaries)
    _require(
        len(boundaries) == len(schedules) - 1,
        f"join_schedules: need one boundary fewer than schedules, got {len(schedules)} "
        f"schedules and {len(boundaries)} boundaries",
    )

    def schedule(count):
        value = schedules[0](count)
        for boundary, later in zip(boundaries, schedules[1:]):
            value = fnp.where(_float(count) < boundary, value, later(_float(count) - boundary))
        return value

    return schedule


def piecewise_interpolate_schedule(interpolate_type, init_value, boundaries_and_scales=None):
    """Through ``init_value`` at step 0 and, at each boundary ``b`` of
    ``boundaries_and_scales``, the previous value times its scale, interpolated between
    (``"linear"`` or half a cosine, ``"cosine"``), then constant.

    >>> schedule = piecewise_interpolate_schedule("linear", 1.0, {2: 3.0, 4: 0.5})
    >>> [float(schedule(k)) for k in range(6)]
    [1.0, 2.0, 3.0, 2.25, 1.5, 1.5]
    """
    _require(
        interpolate_type in ("linear", "cosine"),
        f"piecewise_interpolate_schedule: interpolate_type must be 'linear' or 'cosine', got "
        f"{interpolate_type!r}",
    )
    items = sorted((boundaries_and_scales or {}).items())
    _require(
        all(scale >= 0 for _, scale in items),
        f"piecewise_interpolate_schedule: scales must be non-negative, got {dict(items)}",
    )
    bounds = [0] + [b for b, _ in items]
    values = [float(init_value)]
    for _, scale in items:
        values.append(values[-1] * scale)

    def between(start, end, t):
        if interpolate_type == "linear":
            return start + (end - start) * t
        return end + (start - end) * 0.5 * (1.0 + fnp.cos(math.pi * t))

    def schedule(count):
        c = _float(count)
        value = fnp.asarray(values[-1], np.float64)
        for lo, hi, start, end in reversed(list(zip(bounds, bounds[1:], values, values[1:]))):
            if hi > lo:  # an empty interval (two equal boundaries) is skipped
                t = fnp.clip((c - lo) / (hi - lo), 0.0, 1.0)
                value = fnp.where(c < hi, between(start, end, t), value)
        return value

    return schedule


def _check_onecycle(transition_steps):
    _require(
        transition_steps > 0,
        f"onecycle schedule: transition_steps must be > 0, got {transition_steps}",
    )


def cosine_onecycle_schedule(
    transition_steps, peak_value, pct_start=0.3, div_factor=25.0, final_div_factor=1e4
):
    """The one-cycle schedule (Smith & Topin 2017), with cosine segments as optax's: from
    ``peak_value / div_factor`` up to ``peak_value`` at ``pct_start * transition_steps``,
    then down to ``peak_value / (div_factor * final_div_factor)`` at ``transition_steps``.

    >>> schedule = cosine_onecycle_schedule(10, 1.0, pct_start=0.2, div_factor=4.0)
    >>> [round(float(schedule(k)), 3) for k in (0, 1, 2, 6, 10)]
    [0.25, 0.625, 1.0, 0.5, 0.0]
    """
    _check_onecycle(transition_steps)
    return piecewise_interpolate_schedule(
        "cosine",
        peak_value / div_factor,
        {
            int(pct_start * transition_steps): div_factor,
            int(transition_steps): 1.0 / (div_factor * final_div_factor),
        },
    )


def linear_onecycle_schedule(
    transition_steps,
    peak_value,
    pct_start=0.3,
    pct_final=0.85,
    div_factor=25.0,
    final_div_factor=1e4,
):
    """The one-cycle schedule with linear segments, as optax's: up to ``peak_value`` at
    ``pct_start``, back to ``peak_value / div_factor`` at ``pct_final``, then down to that
    over ``final_div_factor`` at ``transition_steps``.

    >>> schedule = linear_onecycle_schedule(10, 1.0, 0.2, 0.6, div_factor=4.0, final_div_factor=5.0)
    >>> [float(schedule(k)) for k in (0, 2, 4, 6, 8, 10)]
    [0.25, 1.0, 0.625, 0.25, 0.15, 0.05]
    """
    _check_onecycle(transition_steps)
    return piecewise_interpolate_schedule(
        "linear",
        peak_value / div_factor,
        {
            int(pct_start * transition_steps): div_factor,
            int(pct_final * transition_steps): 1.0 / div_factor,
            transition_steps: 1.0 / final_div_factor,
        },
    )


def warmup_exponential_decay_schedule(
    init_value,
    peak_value,
    warmup_steps,
    transition_steps,
    decay_rate,
    transition_begin=0,
    staircase=False,
    end_value=None,
):
    """Linear warmup from ``init_value`` to ``peak_value`` over ``warmup_steps``, then
    :func:`exponential_decay` from ``peak_value``, counting steps from the warmup's end.

    >>> schedule = warmup_exponential_decay_schedule(0.0, 1.0, 2, 1, 0.5)
    >>> [float(schedule(k)) for k in range(5)]
    [0.0, 0.5, 1.0, 0.5, 0.25]
    """
    return join_schedules(
        [
            linear_schedule(init_value, peak_value, warmup_steps),
            exponential_decay(
                peak_value, transition_steps, decay_rate, staircase, transition_begin, end_value
            ),
        ],
        [warmup_steps],
    )


# optax's short names.
constant = constant_schedule
piecewise_constant = piecewise_constant_schedule
cosine_decay = cosine_decay_schedule
warmup_cosine_decay = warmup_cosine_decay_schedule
# the short names for the schedules added with them
polynomial = polynomial_schedule
onecycle = cosine_onecycle_schedule
warmup_exponential_decay = warmup_exponential_decay_schedule
