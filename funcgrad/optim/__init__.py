"""Optimizers in optax style: gradient transformations, their chains, and schedules.

>>> import numpy as np
>>> from funcgrad import optim
>>> params = {"w": np.array([1.0, -1.0])}
>>> opt = optim.adam(learning_rate=0.1)
>>> state = opt.init(params)
>>> updates, state = opt.update({"w": np.array([0.5, -2.0])}, state, params)
>>> optim.apply_updates(params, updates)
{'w': array([ 0.9, -0.9])}
"""

from .schedules import (
    constant,
    constant_schedule,
    cosine_decay,
    cosine_decay_schedule,
    exponential_decay,
    linear_schedule,
    piecewise_constant,
    piecewise_constant_schedule,
    warmup_cosine_decay,
    warmup_cosine_decay_schedule,
)
from .transforms import (
    EmptyState,
    GradientTransformation,
    ScaleByAdamState,
    ScaleByRmsState,
    ScaleByRssState,
    ScaleByScheduleState,
    TraceState,
    adagrad,
    adam,
    adamw,
    add_decayed_weights,
    apply_updates,
    chain,
    clip_by_global_norm,
    global_norm,
    identity,
    rmsprop,
    scale,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_rms,
    scale_by_rss,
    scale_by_schedule,
    sgd,
    trace,
)

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
    "constant",
    "constant_schedule",
    "cosine_decay",
    "cosine_decay_schedule",
    "exponential_decay",
    "global_norm",
    "identity",
    "linear_schedule",
    "piecewise_constant",
    "piecewise_constant_schedule",
    "rmsprop",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_schedule",
    "sgd",
    "trace",
    "warmup_cosine_decay",
    "warmup_cosine_decay_schedule",
]
