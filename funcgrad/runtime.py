"""Where a graph runs: inlined into the enclosing trace when there is one, otherwise
prepared once per graph structure (an LRU cache) and executed."""

import os
from collections import OrderedDict

from .core import current_builder, eval_graph
from .reference import ReferenceProgram

_CACHE_SIZE = 512
_programs = OrderedDict()
stats = {"hits": 0, "misses": 0}


def backend():
    """The executor in use: ``FUNCGRAD_BACKEND`` (only ``numpy`` is built so far)."""
    return os.environ.get("FUNCGRAD_BACKEND", "numpy")


def program(graph):
    """The executable program for ``graph``, prepared once per structure."""
    prog = _programs.get(graph)
    if prog is not None:
        stats["hits"] += 1
        _programs.move_to_end(graph)
        return prog
    stats["misses"] += 1
    prog = _programs[graph] = ReferenceProgram(graph)
    if len(_programs) > _CACHE_SIZE:
        _programs.popitem(last=False)
    return prog


def call(graph, consts, args):
    """Run ``graph`` on ``consts`` and ``args`` and return its outputs as a list."""
    if current_builder() is not None:
        return eval_graph(graph, consts, args)
    return program(graph)(consts, args)
