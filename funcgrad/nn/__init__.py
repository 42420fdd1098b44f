"""Neural-network building blocks: functions composed from funcgrad primitives."""

# Each submodule's __all__ is the one list of what it exports.
from . import functional, initializers, layers, losses  # noqa: F401 (the submodules are API)
from .functional import *  # noqa: F403
from .layers import *  # noqa: F403

__all__ = sorted(["initializers", "losses", *functional.__all__, *layers.__all__])
