"""NumPy-named functions composed from primitives: ``import funcgrad.numpy as fnp``.

They follow NumPy's semantics (broadcasting, ``axis``, ``keepdims``, negative axes)
and its dtype rules, with Python scalars weak: ``x32 * 2.0`` stays float32. Called on
plain arrays they compute at once and return what NumPy's return: arrays, and 0-d results
as NumPy scalars where NumPy hands back one (``fnp.sum``, the ufuncs; ``fnp.asarray(1.0)``
stays a 0-d array, see ``_base.numpy_results``); called on tracers they record
equations. Each module holds one family and lists its names in ``__all__``.

>>> import funcgrad.numpy as fnp
>>> fnp.sum(fnp.square(fnp.arange(4.0)))
np.float64(14.0)
"""

# (_methods installs the tracer methods, _ufunc_methods fnp.add.reduce and its kind)
from . import _methods, _ufunc_methods, linalg  # noqa: F401
from ._aliases import *  # noqa: F403
from ._base import *  # noqa: F403
from ._calculus import *  # noqa: F403
from ._creation import *  # noqa: F403
from ._dtype_utils import *  # noqa: F403
from ._einsum import *  # noqa: F403
from ._elementwise import *  # noqa: F403
from ._floating import *  # noqa: F403
from ._functional import *  # noqa: F403
from ._histograms import *  # noqa: F403
from ._indexing import *  # noqa: F403
from ._integers import *  # noqa: F403
from ._joins import *  # noqa: F403
from ._products import *  # noqa: F403
from ._reductions import *  # noqa: F403
from ._sets import *  # noqa: F403
from ._shapes import *  # noqa: F403
from ._sorting import *  # noqa: F403
from ._windows import *  # noqa: F403


def __getattr__(name):
    from ._missing import missing

    public = [n for n in globals() if not n.startswith("_")]
    raise missing(__name__, name, public)
