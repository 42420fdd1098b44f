"""Neural-network building blocks: functions composed from funcgrad primitives."""

from .functional import (
    avg_pool2d,
    conv2d,
    leaky_relu,
    log_softmax,
    logsumexp,
    max_pool2d,
    one_hot,
    relu,
    sigmoid,
    softmax,
    softplus,
)

__all__ = [
    "avg_pool2d",
    "conv2d",
    "leaky_relu",
    "log_softmax",
    "logsumexp",
    "max_pool2d",
    "one_hot",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
]
