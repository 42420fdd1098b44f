"""What the distributions drawn by rejection share: parameters broadcast to the draw's
shape, the rejection loop (a ``while_loop``, so it runs under jit), and parameters that
refuse to be differentiated (a pathwise derivative through accept/reject decisions is not
the distribution's derivative).

>>> import funcgrad as fg
>>> fg.random.gamma(fg.random.key(0), 2.0, (3,)).shape
(3,)
"""

import numpy as np

from .. import numpy as fnp
from ..custom_derivatives import custom_jvp
from ..errors import ShapeError, user_frame
from ..lax import while_loop
from ._base import P, _check_float, _check_shape, _counters, fold_in


def float_params(where, shape, dtype, *params):
    """``params`` in ``dtype``, broadcast to the draw's shape: ``shape``, or by default the
    parameters' broadcast shape; and that shape."""
    dtype = _check_float(where, dtype)
    arrays = [fnp.astype(p, dtype) for p in params]
    shapes = [tuple(fnp.shape(a)) for a in arrays]
    try:
        joint = np.broadcast_shapes(*shapes)
        target = joint if shape is None else _check_shape(where, shape)
        fits = np.broadcast_shapes(target, joint) == target
    except ValueError:
        fits = False
    if not fits:
        wanted = "" if shape is None else f" and the requested shape {shape}"
        raise ShapeError(
            f"{where}: the parameters' shapes {shapes}{wanted} do not broadcast at {user_frame()}"
        )
    return [fnp.broadcast_to(a, target) for a in arrays], target


def open_uniform(key, shape, dtype):
    """Uniform numbers in ``(0, 1)``: 0 becomes the smallest normal float, so logs of them
    and of ``1 - u`` are finite."""
    u = P.random_bits(key, _counters("uniform", shape), dtype=np.dtype(dtype))
    return fnp.maximum(u, np.finfo(dtype).tiny)


def until_accepted(key, value, done, propose):
    """Rejection sampling: round ``i`` calls ``propose(fold_in(key, i))`` for candidates and
    whether each is accepted; each element keeps its first accepted candidate. ``done``
    marks elements that need no draw (``value`` holds their result). Rounds run until every
    element is done, in a ``while_loop``."""

    def more(carry):
        return fnp.logical_not(fnp.all(carry[2]))

    def round_(carry):
        i, value, done = carry
        candidate, accepted = propose(fold_in(key, i))
        value = fnp.where(fnp.logical_and(accepted, fnp.logical_not(done)), candidate, value)
        return i + np.int32(1), value, fnp.logical_or(done, accepted)

    return while_loop(more, round_, (np.int32(0), value, done))[1]


def without_gradient(where, names):
    """The identity on a float parameter, whose derivative raises: rejection samplers have
    no pathwise derivative in their parameters (JAX's implicit ones are not implemented)."""

    @custom_jvp
    def parameter(x):
        return x

    @parameter.defjvp
    def _refuse(primals, tangents):
        raise NotImplementedError(
            f"{where} is not differentiable with respect to {names} (draws accepted by "
            f"rejection have no pathwise derivative), at {user_frame()}: wrap the parameter "
            "in fg.stop_gradient if its derivative is not needed"
        )

    return parameter
