"""Sub-graphs for the control-flow primitives: a user's function traced abstractly into a
closed graph (the values it closes over hoisted to explicit inputs), graphs built from other
graphs, and the checks that name the user's line when a loop's carry or a conditional's
branches do not agree.

A loop body is traced once on abstract inputs (shapes and dtypes, no values): it runs for
every iteration, so no iteration's values may steer Python control flow in it, and an ``if``
on a traced value raises the ConcretizationError that says so.
"""

import numpy as np

from .. import numpy as fnp
from .. import tree
from ..core import Builder, Graph, Literal, Tracer, aval_str, eval_graph, is_weak
from ..errors import ShapeError, user_frame
from ..tracing import array_leaves


class Aval:
    """What a loop knows of a value: its shape and dtype, and whether it came from a Python
    scalar (weak: it adopts the dtype of the arrays it meets)."""

    __slots__ = ("shape", "dtype", "weak")

    def __init__(self, shape, dtype, weak=False):
        self.shape, self.dtype, self.weak = tuple(shape), np.dtype(dtype), weak

    def __eq__(self, other):
        return self.shape == other.shape and self.dtype == other.dtype

    def __repr__(self):
        return aval_str(self.shape, self.dtype)


def aval_of(x):
    """The Aval of an array, a tracer or a Python scalar."""
    if isinstance(x, Tracer):
        return Aval(x.shape, x.dtype, x.variable.weak)
    if isinstance(x, Literal):
        return Aval((), x.dtype)
    return Aval(np.shape(x), fnp.result_type(x), is_weak(x))


def atom_aval(atom):
    """``(shape, dtype)`` of a graph's input or output (a Var or a Literal)."""
    if isinstance(atom, Literal):
        return np.shape(atom.value), atom.dtype
    return atom.shape, atom.dtype


def leaves_of(what, value, who):
    """The leaves of the pytree ``value`` and its structure; every leaf an array."""
    return array_leaves(
        value,
        lambda leaf: (
            f"{who}: {what} must be a pytree of arrays, got a leaf of type {type(leaf).__name__}"
        ),
    )


class Closed:
    """A function traced into a graph whose inputs are the values it closed over
    (``consts``: arrays or outer tracers), then its own; ``out_tree``: what it returned."""

    __slots__ = ("graph", "consts", "out_tree")

    def __init__(self, graph, consts, out_tree):
        self.graph, self.consts, self.out_tree = graph, consts, out_tree

    @property
    def out_avals(self):
        return [Aval(*atom_aval(a), _weak(a)) for a in self.graph.outvars]


def _weak(atom):
    return getattr(atom, "weak", False) or (
        isinstance(atom, Literal) and atom.dtype.kind in "fi" and atom.dtype.itemsize == 8
    )


def trace_closed(fun, in_trees, in_avals):
    """Trace ``fun(*args)`` on abstract arguments: ``in_trees[i]`` the structure of
    argument ``i``, ``in_avals`` the Avals of all their leaves, in order."""
    with Builder() as b:
        tracers = [b.new_input(a.shape, a.dtype, weak=a.weak) for a in in_avals]
        args, pos = [], 0
        for td in in_trees:
            args.append(td.unflatten(tracers[pos : pos + td.num_leaves]))
            pos += td.num_leaves
        name = getattr(fun, "__name__", "the function")
        leaves, out_tree = leaves_of("what it returns", fun(*args), name)
        graph = b.build(leaves)
    closed = Graph([], graph.constvars + graph.invars, graph.eqns, graph.outvars)
    return Closed(closed, list(graph.consts), out_tree)


def graph_of(fun, avals):
    """The closed graph of ``fun(*tracers)`` on flat abstract inputs (for rules that build
    graphs from graphs: their functions close over nothing). ``fun`` returns a list."""
    closed = trace_closed(lambda *xs: list(fun(*xs)), [tree.structure(0)] * len(avals), avals)
    if closed.consts:  # (a rule's function reads only its inputs)
        raise AssertionError("a derived sub-graph closed over values")
    return closed.graph


def run(graph, args):
    """``graph``'s outputs on ``args``, inlined into the current trace (or computed)."""
    return eval_graph(graph, [], list(args))


def invar_avals(graph):
    return [Aval(v.shape, v.dtype, v.weak) for v in graph.invars]


def check_same(what, got_tree, got, want_tree, want, hint=""):
    """A TypeError naming the user's line when a structure, shape or dtype differs."""
    if got_tree != want_tree:
        raise TypeError(
            f"{what}: structure {got_tree} differs from {want_tree}{hint} at {user_frame()}"
        )
    for k, (g, w) in enumerate(zip(got, want)):
        if g.shape != w.shape or g.dtype != w.dtype:
            raise ShapeError(
                f"{what}: leaf {k} is {g} where {w} was expected{hint} at {user_frame()}"
            )


def promoted(avals, outs):
    """``avals`` with each weak entry given the dtype of the matching ``outs`` entry (a
    carry started from a Python scalar takes the dtype the body computes it in)."""
    return [
        Aval(a.shape, o.dtype)
        if a.weak and a.shape == o.shape and a.dtype.kind == o.dtype.kind
        else a
        for a, o in zip(avals, outs)
    ]


def cast_leaves(values, avals):
    """``values`` converted to ``avals``' dtypes where they differ."""
    return [
        v if aval_of(v).dtype == a.dtype else fnp.asarray(v, dtype=a.dtype)
        for v, a in zip(values, avals)
    ]
