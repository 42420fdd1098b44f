"""Conditionals as a graph primitive: ``cond`` and ``switch``, with JAX's ``jax.lax``
semantics. Each branch is traced into a sub-graph (printed nested in ``print(graph)``); at
run time only the selected branch runs.

Derivatives select too: the JVP and the VJP of a conditional are conditionals over the
branches' JVP and VJP graphs, taken by the same index. Under ``vmap`` a batched index
becomes a select over every branch's results (all branches run, as in JAX); an unbatched
one stays a conditional over the batched branches.
"""

import numpy as np

from .. import numpy as fnp
from .. import primitives as P
from .. import runtime
from ..autodiff import jvp_graph, vjp_graph
from ..batching import batch_into
from ..core import Graph, Primitive, is_float
from ..errors import ShapeError, user_frame
from .subgraphs import (
    Aval,
    atom_aval,
    aval_of,
    graph_of,
    leaves_of,
    run,
    trace_closed,
)

# Operands: the branch index (an int32 scalar, clamped into range as jax.lax.switch does),
# then the operands every branch takes (the values the branches close over first).
# ``branches``: a tuple of graphs with the same inputs and the same result types.


def _cond_shapes(index, *operands, branches):
    return [atom_aval(a) for a in branches[0].outvars]


def _cond_impl(index, *operands, branches):
    k = min(max(int(index), 0), len(branches) - 1)
    return [np.array(out) for out in runtime.program(branches[k])([], list(operands))]


def _cond_jvp(tangents, results, index, *operands, branches):
    wrt = tuple(
        is_float(fnp.result_type(x)) and t is not None for x, t in zip(operands, tangents[1:])
    )
    forward = tuple(jvp_graph(b, wrt) for b in branches)
    n_out = len(branches[0].outvars)
    ts = [t for t, w in zip(tangents[1:], wrt) if w]
    outs = cond_p(index, *operands, *ts, branches=forward)
    return [t if is_float(r.dtype) else None for r, t in zip(results, outs[n_out:])]


def _cond_vjp(cts, results, operands, wanted, *, branches):
    index, operands = operands[0], operands[1:]
    wrt = tuple(w and is_float(fnp.result_type(x)) for x, w in zip(operands, wanted[1:]))
    if not any(wrt):
        return [None] * (len(operands) + 1)
    n_out = len(branches[0].outvars)
    backward = []
    for b in branches:
        back = vjp_graph(b, wrt)
        backward.append(Graph([], back.invars, back.eqns, back.outvars[n_out:]))
    cts = [P.zeros(r.shape, r.dtype) if ct is None else ct for r, ct in zip(results, cts)]
    grads = iter(cond_p(index, *operands, *cts, branches=tuple(backward)))
    return [None] + [next(grads) if w else None for w in wrt]


def _cond_batch(batched, index, *operands, branches):
    size = P._batch_size(batched, (index, *operands))
    mask = tuple(batched[1:])

    def batched_branch(graph):
        def branch(*ops):
            outs, flags = batch_into(graph, list(ops), mask)
            return [o if f else P.with_batch(o, size) for o, f in zip(outs, flags)]

        return branch

    if not batched[0]:
        avals = [
            Aval(((size,) if m else ()) + v.shape, v.dtype, v.weak)
            for v, m in zip(branches[0].invars, mask)
        ]
        graphs = tuple(graph_of(batched_branch(b), avals) for b in branches)
        return cond_p(index, *operands, branches=graphs)
    # a batched index: every branch on every example, then a select by each one's index
    index = fnp.clip(index, 0, len(branches) - 1)
    results = [batched_branch(b)(*operands) for b in branches]
    chosen = results[0]
    for k in range(1, len(branches)):
        chosen = [
            fnp.where(fnp.reshape(index == k, (size,) + (1,) * (r.ndim - 1)), r, c)
            for r, c in zip(results[k], chosen)
        ]
    return chosen


cond_p = Primitive(
    "cond",
    _cond_shapes,
    _cond_impl,
    vjp=_cond_vjp,
    jvp=_cond_jvp,
    batch=_cond_batch,
    multiple_results=True,
)


def switch(index, branches, *operands):
    """``branches[index](*operands)``, as ``jax.lax.switch``: the index (an integer scalar,
    clamped into ``range(len(branches))``) picks one branch at run time, and only that one
    runs. Every branch must return the same structure, shapes and dtypes.

    >>> import funcgrad as fg
    >>> float(fg.lax.switch(1, [lambda x: x + 1.0, lambda x: x * 10.0], 2.0))
    20.0
    """
    branches = list(branches)
    if not branches or not all(callable(b) for b in branches):
        raise TypeError(
            f"switch: branches must be a non-empty sequence of functions at {user_frame()}"
        )
    if np.ndim(index) != 0 or fnp.result_type(index).kind not in "iub":
        raise TypeError(
            f"switch: the index must be an integer scalar, got "
            f"{aval_of(index) if np.ndim(index) else fnp.result_type(index)} at {user_frame()}"
        )
    leaves, trees = [], []
    for op in operands:
        ls, td = leaves_of("an operand", op, "switch")
        leaves += ls
        trees.append(td)
    avals = [aval_of(x) for x in leaves]
    traced = [trace_closed(b, trees, avals) for b in branches]
    _check_branches(branches, traced)
    out_avals = _joined_types(traced)
    consts = [c for t in traced for c in t.consts]
    graphs, offset = [], 0
    const_avals = [aval_of(c) for c in consts]
    for t in traced:
        graphs.append(
            graph_of(_placed_branch(t, offset, len(consts), out_avals), const_avals + avals)
        )
        offset += len(t.consts)
    index = fnp.asarray(index).astype(np.int32)
    outs = cond_p(index, *consts, *leaves, branches=tuple(graphs))
    return traced[0].out_tree.unflatten(outs)


def _placed_branch(closed, offset, n_consts, out_avals):
    """A branch taking every branch's consts then the operands (its own consts at
    ``offset``), its results cast to ``out_avals``' dtypes."""

    def branch(*a):
        own = list(a[offset : offset + len(closed.consts)])
        outs = run(closed.graph, own + list(a[n_consts:]))
        return [
            o if aval_of(o).dtype == want.dtype else fnp.asarray(o, dtype=want.dtype)
            for o, want in zip(outs, out_avals)
        ]

    return branch


def _check_branches(branches, traced):
    first = traced[0]
    for fn, t in zip(branches[1:], traced[1:]):
        if t.out_tree != first.out_tree:
            raise TypeError(
                f"switch/cond: branch {getattr(fn, '__name__', '')!r} returns structure "
                f"{t.out_tree} where the first returns {first.out_tree} at {user_frame()}"
            )


def _joined_types(traced):
    """Each result's type: the branches' shared one, a Python scalar (weak) yielding to
    the others' dtype of its kind."""
    joined = []
    for k in range(len(traced[0].out_avals)):
        found = [t.out_avals[k] for t in traced]
        strong = [a for a in found if not a.weak] or found
        want = strong[0]
        for a in found:
            if a.shape != want.shape or (
                a.dtype != want.dtype and not (a.weak and a.dtype.kind == want.dtype.kind)
            ):
                raise ShapeError(
                    f"switch/cond: the branches' result {k} differs: {a} and {want} (every "
                    f"branch must return the same shapes and dtypes) at {user_frame()}"
                )
        joined.append(want)
    return joined


def cond(pred, true_fun, false_fun, *operands):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as
    ``jax.lax.cond``: ``pred`` is a scalar (bool or number, traced or not); only the
    taken branch runs. Both must return the same structure, shapes and dtypes.

    >>> import funcgrad as fg
    >>> float(fg.lax.cond(True, lambda x: x + 1.0, lambda x: x - 1.0, 2.0))
    3.0
    """
    if np.ndim(pred) != 0:
        raise TypeError(
            f"cond: pred must be a scalar, got shape {np.shape(pred)} at {user_frame()}"
        )
    if fnp.result_type(pred) != np.bool_:
        pred = fnp.not_equal(pred, 0)
    return switch(pred, [false_fun, true_fun], *operands)


__all__ = ["cond", "cond_p", "switch"]
