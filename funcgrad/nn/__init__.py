"""Neural-network building blocks: functions composed from funcgrad primitives."""

# Each submodule's __all__ is the one list of what it exports.
from . import (  # noqa: F401 (the submodules are API)
    activations,
    attention,
    conv_layers,
    functional,
    initializers,
    layers,
    losses,
    normalization,
)
from .activations import *  # noqa: F403
from .attention import *  # noqa: F403
from .conv_layers import *  # noqa: F403
from .functional import *  # noqa: F403
from .layers import *  # noqa: F403
from .normalization import *  # noqa: F403

__all__ = sorted(
    [
        "initializers",
        "losses",
        *activations.__all__,
        *attention.__all__,
        *conv_layers.__all__,
        *functional.__all__,
        *layers.__all__,
        *normalization.__all__,
    ]
)
