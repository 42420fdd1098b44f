"""funcgrad: functional automatic differentiation for NumPy-style Python, in the spirit of JAX.

>>> import funcgrad as fg, funcgrad.numpy as fnp
>>> fg.grad(lambda w: fnp.sum(fnp.tanh(w) ** 2))(fnp.zeros(3))
array([0., 0., 0.])
"""

from . import (
    data,
    datasets,
    flatten_util,
    io,
    lax,
    metrics,
    nn,
    numpy,
    ode,
    optim,
    random,
    testing,
    tree,
)
from .api import (
    elementwise_grad,
    grad,
    hessian,
    hessian_vector_product,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    stop_gradient,
    value_and_grad,
    vjp,
    vmap,
)
from .core import Graph
from .custom_derivatives import checkpoint, custom_jvp, custom_vjp, remat
from .errors import (
    ConcretizationError,
    DtypeError,
    FuncgradError,
    ShapeError,
    TracerLeakError,
)
from .jit import clear_caches, jit
from .threads import get_num_threads, set_num_threads
from .tracing import trace


def make_graph(fun, static_argnums=()):
    """Return a function that traces ``fun`` abstractly and returns its :class:`Graph`.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> print(fg.make_graph(lambda x: fnp.exp(x) * 2.0)(fnp.ones(2, fnp.float32)))
    { lambda ; a:f32[2]. let
        b:f32[2] = exp a
        c:f32[2] = mul b 2.0:f32[]
      in (c,) }
    """
    static = frozenset((static_argnums,) if isinstance(static_argnums, int) else static_argnums)

    def make(*args, **kwargs):
        return trace(fun, args, kwargs, abstract=True, static=static).graph

    return make


__version__ = "0.1.0"

__all__ = [
    "ConcretizationError",
    "DtypeError",
    "FuncgradError",
    "Graph",
    "ShapeError",
    "TracerLeakError",
    "data",
    "datasets",
    "elementwise_grad",
    "flatten_util",
    "get_num_threads",
    "grad",
    "hessian",
    "hessian_vector_product",
    "io",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jit",
    "clear_caches",
    "checkpoint",
    "custom_jvp",
    "custom_vjp",
    "jvp",
    "lax",
    "ode",
    "make_graph",
    "remat",
    "metrics",
    "nn",
    "numpy",
    "optim",
    "random",
    "set_num_threads",
    "stop_gradient",
    "testing",
    "tree",
    "value_and_grad",
    "vjp",
    "vmap",
]
