"""Graph-to-graph optimization passes. Each takes a Graph and returns an equivalent one."""

from ..core import Graph, Var


def dce(graph):
    """Drop equations whose outputs no output depends on (one reverse walk, no recursion).

    Inputs are kept even when unused, so the calling convention does not change.
    """
    live = {a for a in graph.outvars if isinstance(a, Var)}
    kept = []
    for eqn in reversed(graph.eqns):
        if any(v in live for v in eqn.outputs):
            kept.append(eqn)
            live.update(a for a in eqn.inputs if isinstance(a, Var))
    if len(kept) == len(graph.eqns):
        return graph
    kept.reverse()
    return Graph(graph.constvars, graph.invars, kept, graph.outvars, graph.consts)
