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

# Each submodule's __all__ is the one list of what it exports.
from . import (
    adaptive,
    legacy,  # noqa: F401  (fg.optim.legacy, named in __all__)
    schedules,
    transforms,
    wrappers,
)
from .adaptive import *  # noqa: F403
from .schedules import *  # noqa: F403
from .transforms import *  # noqa: F403
from .wrappers import *  # noqa: F403

__all__ = sorted(
    adaptive.__all__ + schedules.__all__ + transforms.__all__ + wrappers.__all__ + ["legacy"]
)
