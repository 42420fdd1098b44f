"""Where a graph runs: inlined into the enclosing trace when there is one, otherwise
prepared once per graph structure (an LRU cache) and executed by the backend:

- ``compiled`` (the default): optimization passes, fusion and the Cython executor;
- ``numpy``: the NumPy reference interpreter, selected with ``FUNCGRAD_BACKEND=numpy``
  and used automatically (with one warning) when the extension is not built.
"""

import logging
import os
import warnings
from collections import OrderedDict

from .core import current_builder, eval_graph, inline_calls
from .reference import ReferenceProgram

log = logging.getLogger("funcgrad")
_CACHE_SIZE = 512
_programs = OrderedDict()
stats = {"hits": 0, "misses": 0}

try:
    from .compiler.lower import CompiledProgram, release_temporaries, trim_heap
except ImportError as e:  # the Cython extension was not built
    CompiledProgram = release_temporaries = trim_heap = None
    _import_error = e


def backend():
    """The backend in use: ``FUNCGRAD_BACKEND`` if set, else ``compiled`` when built."""
    name = os.environ.get("FUNCGRAD_BACKEND", "compiled")
    if name not in ("compiled", "numpy"):
        raise ValueError(f"FUNCGRAD_BACKEND must be 'compiled' or 'numpy', got {name!r}")
    if name == "compiled" and CompiledProgram is None:
        if not getattr(backend, "_warned", False):
            warnings.warn(
                f"funcgrad's compiled executor is not built ({_import_error}); running on the "
                "NumPy reference interpreter. Reinstall with `pip install .` and a C compiler.",
                RuntimeWarning,
                stacklevel=3,
            )
            backend._warned = True
        return "numpy"
    return name


# Compiling costs time linear in the graph; for very long graphs of small operations (a
# 20,000-step scalar chain) it exceeds one interpretation. Such graphs are interpreted on
# first use and compiled when they run again.
COMPILE_AT_ONCE = 5000  # equations
_seen_once = OrderedDict()


def program(graph):
    """The executable program for ``graph``, prepared once per structure and backend."""
    name = backend()
    if name == "compiled" and len(graph.eqns) > COMPILE_AT_ONCE and graph not in _seen_once:
        if (name, graph) not in _programs:
            _seen_once[graph] = True
            if len(_seen_once) > _CACHE_SIZE:
                _seen_once.popitem(last=False)
            name = "numpy"
    key = (name, graph)
    prog = _programs.get(key)
    if prog is not None:
        stats["hits"] += 1
        _programs.move_to_end(key)
        return prog
    stats["misses"] += 1
    try:
        prog = (CompiledProgram if name == "compiled" else ReferenceProgram)(inline_calls(graph))
    except NotImplementedError as e:  # a layout the executor cannot walk (e.g. > 8-d)
        log.info("running a graph on the NumPy reference interpreter: %s", e)
        prog = ReferenceProgram(inline_calls(graph))
    _programs[key] = prog
    if len(_programs) > _CACHE_SIZE:
        _programs.popitem(last=False)
    return prog


def forget(graphs):
    """Drop the programs of ``graphs`` (every backend) and give their memory back."""
    graphs = set(graphs)
    for key in [k for k in _programs if k[1] in graphs]:
        del _programs[key]
    for graph in graphs:
        _seen_once.pop(graph, None)
    if CompiledProgram is not None:
        trim_heap()


def clear():
    """Drop every cached program and give back every idle program's temporaries."""
    _programs.clear()
    _seen_once.clear()
    if CompiledProgram is not None:
        release_temporaries()


def call(graph, consts, args):
    """Run ``graph`` on ``consts`` and ``args`` and return its outputs as a list."""
    if current_builder() is not None:
        return eval_graph(graph, consts, args)
    return program(graph)(consts, args)
