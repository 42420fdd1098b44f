"""Loops as graph primitives: ``scan`` (and ``fori_loop`` and ``map`` on it) and
``while_loop``, with JAX's ``jax.lax`` semantics.

The body is traced once into a sub-graph held in the equation's parameters (printed nested
in ``print(graph)``), so a loop's graph, trace and compile time do not grow with its trip
count. The sub-graph runs as a program of its own once per iteration (compiled, or on the
NumPy reference interpreter under ``FUNCGRAD_BACKEND=numpy``).

Derivatives are loops too: the JVP of a loop is a loop over its values and tangents; the
VJP of ``scan`` is a reverse scan over the carries the forward scan saves (memory: one carry
per step; each backward step recomputes its step's forward); the VJP of ``while_loop``
(which JAX does not provide) replays the loop, see :func:`while_loop`. Derivatives of
derivatives differentiate those loops in turn.
"""

import numpy as np

from .. import numpy as fnp
from .. import primitives as P
from .. import runtime
from ..autodiff import jvp_graph, vjp_graph
from ..batching import batch_into, batched_graph
from ..core import Graph, Primitive, Tracer, Var, is_float
from ..errors import ShapeError, user_frame
from .subgraphs import (
    Aval,
    atom_aval,
    aval_of,
    cast_leaves,
    check_same,
    graph_of,
    invar_avals,
    leaves_of,
    promoted,
    run,
    trace_closed,
)

# ---------------------------------------------------------------- the scan primitive
# Operands: consts (what the body closes over), the initial carry, the scanned arrays xs
# (each with the loop's length as its leading axis). Results: the final carry, then the
# body's other outputs stacked along a new leading axis. ``body``: a graph from (consts,
# carry, one slice of each x) to (new carry, outputs of the step).


def _split(values, *counts):
    out, pos = [], 0
    for n in counts:
        out.append(list(values[pos : pos + n]))
        pos += n
    out.append(list(values[pos:]))
    return out


def _scan_avals(body, nk, length):
    """``(shape, dtype)`` of a scan's results: the carries, then the stacked outputs."""
    outs = [atom_aval(a) for a in body.outvars]
    return outs[:nk] + [((length, *shape), dtype) for shape, dtype in outs[nk:]]


def _scan_shapes(*operands, body, num_consts, num_carry, length, reverse):
    return _scan_avals(body, num_carry, length)


def _scan_impl(*operands, body, num_consts, num_carry, length, reverse):
    step = runtime.program(body)
    consts, carry, xs = _split(operands, num_consts, num_carry)
    avals = _scan_avals(body, num_carry, length)
    ys = [np.empty(shape, dtype) for shape, dtype in avals[num_carry:]]
    # the carries written in turn into two sets of buffers: nothing allocated per step
    sets = [[np.empty(shape, dtype) for shape, dtype in avals[:num_carry]] for _ in range(2)]
    for k, i in enumerate(reversed(range(length)) if reverse else range(length)):
        new = sets[k % 2]
        step.run_into([], consts + carry + [x[i] for x in xs], new + [y[i, ...] for y in ys])
        carry = new
    return ([np.array(c) for c in carry] if length == 0 else carry) + ys


def _zeros_for(aval_source):
    shape, dtype = aval_source
    return P.zeros(shape, dtype)


_VIEWS = frozenset((P.transpose, P.reshape, P.broadcast_in_dim))


def _split_vjp(body, wrt, nc, nk):
    """The body's VJP graph split in two by what depends on the cotangents (JAX's partial
    evaluation, by dependence): ``(forward, residuals, backward)``.

    ``forward``: the body with ``residuals`` appended to its outputs: the values the
    backward part reads that change from step to step (the incoming carry among them),
    except the step's slices of xs, which the reverse scan reads again. Values computed
    from the consts alone (a weight's transpose) are recomputed by the backward part
    rather than saved once per step. ``backward``: from (consts, residuals, the slices of
    xs, cotangents of the body's outputs) to the cotangents of the inputs in ``wrt``."""
    back = vjp_graph(body, wrt)
    n_in, n_out = len(body.invars), len(body.outvars)
    ins, cts = back.invars[:n_in], back.invars[n_in:]
    varying, late = set(ins[nc:]), set(cts)
    known, unknown, producer = [], [], {}
    for e in back.eqns:
        if any(a in late for a in e.inputs if isinstance(a, Var)):
            unknown.append(e)
            late.update(e.outputs)
            continue
        known.append(e)
        producer.update((v, e) for v in e.outputs)
        if any(a in varying for a in e.inputs if isinstance(a, Var)):
            varying.update(e.outputs)
    grads = back.outvars[n_out:]
    read = {a for e in unknown for a in e.inputs if isinstance(a, Var)}
    read |= {g for g in grads if isinstance(g, Var)}
    xs_in = set(ins[nc + nk :])
    # What the backward part reads that varies is saved, except views (transposes,
    # reshapes, broadcasts), which it recomputes from what they view: free to redo, a copy
    # per step to save.
    saved, replayed, seen, stack = set(), set(), set(), list(read)
    while stack:
        v = stack.pop()
        if v in seen or v not in varying or v in xs_in:
            continue
        seen.add(v)
        e = producer.get(v)
        if e is not None and e.prim in _VIEWS:
            replayed.add(id(e))
            stack += [a for a in e.inputs if isinstance(a, Var)]
        else:
            saved.add(v)
    defined = list(ins) + [v for e in known for v in e.outputs]
    residuals = [v for v in defined if v in saved]
    # the invariant equations the backward part (and its replayed views) reads
    reads = read | {a for e in known if id(e) in replayed for a in e.inputs if isinstance(a, Var)}
    todo = [v for v in defined if v in reads and v not in varying and v in producer]
    taken = set(replayed)
    while todo:
        e = producer[todo.pop()]
        if id(e) not in taken:
            taken.add(id(e))
            todo += [a for a in e.inputs if isinstance(a, Var) and a in producer]
    invariant = [e for e in known if id(e) in taken]
    forward = Graph([], ins, known, [*back.outvars[:n_out], *residuals])
    backward = Graph([], [*ins[:nc], *residuals, *ins[nc + nk :], *cts], invariant + unknown, grads)
    return forward, residuals, backward


def _scan_vjp(cts, results, operands, wanted, *, body, num_consts, num_carry, length, reverse):
    """A forward scan that also stacks the step's residuals (what the body's VJP reads
    that changes from step to step), then a reverse scan of the VJP's cotangent part over
    them, accumulating the consts' cotangents in its carry. A pass of the compiler merges
    the forward scan with the original one (compiler/passes.py)."""
    nc, nk = num_consts, num_carry
    n_in, n_out = len(body.invars), len(body.outvars)
    consts, init, xs = _split(operands, nc, nk)
    floats = [is_float(v.dtype) for v in body.invars]
    # cotangents computed: float consts and xs asked for, and every float carry (the chain)
    wrt = tuple(f and (w or nc <= i < nc + nk) for i, (f, w) in enumerate(zip(floats, wanted)))
    forward, residuals, backward = _split_vjp(body, wrt, nc, nk)
    saved = scan_p(
        *operands, body=forward, num_consts=nc, num_carry=nk, length=length, reverse=reverse
    )[n_out:]
    out_avals = [atom_aval(a) for a in body.outvars]
    out_float = [is_float(d) for _, d in out_avals]
    k_float = [i for i in range(nc, nc + nk) if wrt[i]]  # carries with cotangents
    c_wrt = [i for i in range(nc) if wrt[i]]
    x_wrt = [i for i in range(nc + nk, n_in) if wrt[i]]
    y_float = [j for j in range(nk, n_out) if out_float[j]]
    grad_pos = {i: g for g, i in enumerate(i for i in range(n_in) if wrt[i])}
    n_res, n_x = len(residuals), n_in - nc - nk

    def step(*a):
        cs, ct_k, acc, res, x, ct_y = _split(a, nc, len(k_float), len(c_wrt), n_res, n_x)
        ct_out = [None] * n_out
        for i, ct in zip(k_float, ct_k):
            ct_out[i - nc] = ct
        for j, ct in zip(y_float, ct_y):
            ct_out[j] = ct
        ct_out = [_zeros_for(out_avals[j]) if ct is None else ct for j, ct in enumerate(ct_out)]
        grads = run(backward, cs + res + x + ct_out)
        new_ct_k = [grads[grad_pos[i]] for i in k_float]
        new_acc = [s + grads[grad_pos[i]] for s, i in zip(acc, c_wrt)]
        return new_ct_k + new_acc + [grads[grad_pos[i]] for i in x_wrt]

    result_avals = _scan_avals(body, nk, length)

    def ct_of(k):
        return _zeros_for(result_avals[k]) if cts[k] is None else cts[k]

    ct_k0 = [ct_of(i - nc) for i in k_float]
    acc0 = [P.zeros(consts[i].shape, consts[i].dtype) for i in c_wrt]
    ct_ys = [ct_of(j) for j in y_float]
    avals = invar_avals(body)
    step_avals = (
        avals[:nc]
        + [avals[i] for i in k_float]
        + [Aval(consts[i].shape, consts[i].dtype) for i in c_wrt]
        + [Aval(v.shape, v.dtype) for v in residuals]
        + avals[nc + nk :]
        + [Aval(*out_avals[j]) for j in y_float]
    )
    outs = scan_p(
        *consts,
        *ct_k0,
        *acc0,
        *saved,
        *xs,
        *ct_ys,
        body=graph_of(step, step_avals),
        num_consts=nc,
        num_carry=len(k_float) + len(c_wrt),
        length=length,
        reverse=not reverse,
    )
    found = [None] * n_in
    for i, ct in zip(k_float + c_wrt + x_wrt, outs):
        found[i] = ct
    return found


def _scan_jvp(tangents, results, *operands, body, num_consts, num_carry, length, reverse):
    """A scan over the values and their tangents (every float carry gets one)."""
    nc, nk = num_consts, num_carry
    n_in, n_out = len(body.invars), len(body.outvars)
    floats = [is_float(v.dtype) for v in body.invars]
    wrt = tuple(f and (nc <= i < nc + nk or tangents[i] is not None) for i, f in enumerate(floats))
    forward = jvp_graph(body, wrt)
    c_t = [i for i in range(nc) if wrt[i]]
    k_t = [i for i in range(nc, nc + nk) if wrt[i]]
    x_t = [i for i in range(nc + nk, n_in) if wrt[i]]
    out_float = [is_float(atom_aval(a)[1]) for a in body.outvars]
    k_out = [j for j in range(nk) if out_float[j] and wrt[nc + j]]
    y_out = [j for j in range(nk, n_out) if out_float[j]]

    def step(*a):
        cs, tcs, carry, tk, x, tx = _split(a, nc, len(c_t), nk, len(k_t), n_in - nc - nk)
        outs = run(forward, cs + carry + x + tcs + tk + tx)
        vals, touts = outs[:n_out], outs[n_out:]
        return vals[:nk] + [touts[j] for j in k_out] + vals[nk:] + [touts[j] for j in y_out]

    def tangent(i):
        t = tangents[i]
        return P.zeros(operands[i].shape, operands[i].dtype) if t is None else t

    avals = invar_avals(body)
    step_avals = (
        avals[:nc]
        + [avals[i] for i in c_t]
        + avals[nc : nc + nk]
        + [avals[i] for i in k_t]
        + avals[nc + nk :]
        + [avals[i] for i in x_t]
    )
    outs = scan_p(
        *operands[:nc],
        *[tangent(i) for i in c_t],
        *operands[nc : nc + nk],
        *[tangent(i) for i in k_t],
        *operands[nc + nk :],
        *[tangent(i) for i in x_t],
        body=graph_of(step, step_avals),
        num_consts=nc + len(c_t),
        num_carry=nk + len(k_t),
        length=length,
        reverse=reverse,
    )
    t_carry = outs[nk : nk + len(k_out)]
    t_ys = outs[nk + len(k_out) + n_out - nk :]
    found = [None] * n_out
    for j, t in zip(k_out, t_carry):
        found[j] = t
    for j, t in zip(y_out, t_ys):
        found[j] = t
    return found


def _scan_batch(batched, *operands, body, num_consts, num_carry, length, reverse):
    """A scan of the batched body: scanned operands and stacked outputs carry the batch at
    axis 1 inside; a carry is batched when its start or any step makes it so."""
    nc, nk = num_consts, num_carry
    size = P._batch_size(batched, operands)
    cb, kb, xb = _split(batched, nc, nk)
    for _ in range(nk + 1):  # carries batched: the fixed point
        _, out_b = batched_graph(body, tuple(cb + kb + xb), size)
        grown = [k or o for k, o in zip(kb, out_b[:nk])]
        if grown == kb:
            break
        kb = grown
    consts, init, xs = _split(operands, nc, nk)
    init = [c if b or not k else P.with_batch(c, size) for c, b, k in zip(init, batched[nc:], kb)]
    xs = [fnp.moveaxis(x, 0, 1) if b else x for x, b in zip(xs, xb)]
    mask = tuple(cb + kb + xb)
    avals = [
        Aval(((size,) if m else ()) + v.shape, v.dtype, v.weak) for v, m in zip(body.invars, mask)
    ]
    ys_batched = []

    def step(*a):
        outs, flags = batch_into(body, list(a), mask)
        ys_batched[:] = flags[nk:]
        carry = [c if f or not k else P.with_batch(c, size) for c, f, k in zip(outs, flags, kb)]
        return carry + outs[nk:]

    outs = scan_p(
        *consts,
        *init,
        *xs,
        body=graph_of(step, avals),
        num_consts=nc,
        num_carry=nk,
        length=length,
        reverse=reverse,
    )
    carry = [c if b else P.with_batch(c, size) for c, b in zip(outs[:nk], kb)]
    ys = [
        fnp.moveaxis(y, 1, 0) if b else P.with_batch(y, size) for y, b in zip(outs[nk:], ys_batched)
    ]
    return carry + ys


scan_p = Primitive(
    "scan",
    _scan_shapes,
    _scan_impl,
    vjp=_scan_vjp,
    jvp=_scan_jvp,
    batch=_scan_batch,
    multiple_results=True,
)


def _scan_step_graph(f, carry_avals, x_avals, init_tree, x_tree):
    """Trace the user's ``f(carry, x) -> (carry, y)`` once: (Closed, y_tree)."""
    name = getattr(f, "__name__", "f")
    found = {}

    def body(carry, x):
        out = f(carry, x)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError(
                f"scan: {name} must return a pair (new carry, output of the step), got "
                f"{type(out).__name__} at {user_frame()}"
            )
        c_leaves, c_tree = leaves_of("the carry it returns", out[0], f"scan: {name}")
        y_leaves, y_tree = leaves_of("the output it returns", out[1], f"scan: {name}")
        found["carry"], found["y"] = c_tree, y_tree
        return c_leaves + y_leaves

    closed = trace_closed(body, [init_tree, x_tree], carry_avals + x_avals)
    return closed, found["carry"], found["y"]


def _carry_checked(who, trace, carry_avals, init_tree):
    """Trace a loop body (``trace(carry_avals) -> (Closed, carry_tree, ...)``), once more if
    a carry that started as a Python scalar comes out in another dtype; check the carry
    keeps its structure, shapes and dtypes."""
    for _ in range(2):
        result = trace(carry_avals)
        closed, carry_tree = result[0], result[1]
        if carry_tree != init_tree:
            break
        widened = promoted(carry_avals, closed.out_avals[: len(carry_avals)])
        if [a.dtype for a in widened] == [a.dtype for a in carry_avals]:
            break
        carry_avals = widened
    check_same(
        f"{who}: the carry returned by the body",
        carry_tree,
        closed.out_avals[: len(carry_avals)],
        init_tree,
        carry_avals,
        " (a loop's carry keeps its structure, shapes and dtypes from step to step)",
    )
    return result, carry_avals


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loop ``f(carry, x) -> (carry, y)`` over the leading axis of ``xs``, as
    ``jax.lax.scan``: returns the final carry and the ``y``'s stacked.

    ``init`` and ``xs`` are pytrees of arrays (``xs=None`` with ``length=``: no input).
    ``f`` is traced once, on abstract values: Python control flow on the carry's values
    is not possible inside it (use ``fnp.where`` or :func:`cond`). ``unroll`` is accepted
    for JAX compatibility (the body runs as one program per step either way).

    >>> import numpy as np, funcgrad as fg
    >>> total, partial = fg.lax.scan(lambda c, x: (c + x, c + x), 0.0, np.arange(4.0))
    >>> float(total), partial.tolist()
    (6.0, [0.0, 1.0, 3.0, 6.0])
    """
    del unroll
    init_leaves, init_tree = leaves_of("the initial carry", init, "scan")
    x_leaves, x_tree = leaves_of("xs", xs, "scan")
    lengths = set()
    for x in x_leaves:
        if not np.shape(x):
            raise ShapeError(
                f"scan: every array of xs needs a leading axis to scan over, got a 0-d "
                f"value at {user_frame()}"
            )
        lengths.add(np.shape(x)[0])
    if length is not None:
        length = int(length)
        lengths.add(length)
    if len(lengths) != 1:
        raise ShapeError(
            f"scan: xs' leading axes (and length=) must agree, got lengths "
            f"{sorted(lengths) or 'none: pass length= when xs is None'} at {user_frame()}"
        )
    (length,) = lengths
    x_avals = []
    for x in x_leaves:
        a = aval_of(x)
        x_avals.append(Aval(a.shape[1:], a.dtype, a.weak))

    def trace(carry_avals):
        return _scan_step_graph(f, carry_avals, x_avals, init_tree, x_tree)

    (closed, _, y_tree), carry_avals = _carry_checked(
        "scan", trace, [aval_of(c) for c in init_leaves], init_tree
    )
    nk = len(init_leaves)
    outs = scan_p(
        *closed.consts,
        *cast_leaves(init_leaves, carry_avals),
        *x_leaves,
        body=closed.graph,
        num_consts=len(closed.consts),
        num_carry=nk,
        length=length,
        reverse=bool(reverse),
    )
    return init_tree.unflatten(outs[:nk]), y_tree.unflatten(outs[nk:])


def map(f, xs):  # noqa: A001  (jax.lax.map's name)
    """``f`` applied to each slice of ``xs`` along its leading axis, results stacked, as
    ``jax.lax.map`` (a scan: one program per slice, unlike ``vmap``'s one batched program).

    >>> import numpy as np, funcgrad as fg
    >>> fg.lax.map(lambda x: x * 2, np.arange(3.0)).tolist()
    [0.0, 2.0, 4.0]
    """
    return scan(lambda _, x: (None, f(x)), None, xs)[1]


def _concrete_int(x):
    """``x`` as a Python int when its value is known while tracing, else None."""
    if isinstance(x, Tracer):
        return None
    value = np.asarray(x)
    if value.shape or value.dtype.kind not in "iub":
        raise TypeError(
            f"fori_loop: the bounds must be integer scalars, got {x!r} at {user_frame()}"
        )
    return int(value)


def fori_loop(lower, upper, body_fun, init_val):
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``, as
    ``jax.lax.fori_loop``. With bounds known at trace time it is a :func:`scan` (reverse
    mode works); with traced bounds, a :func:`while_loop`.

    >>> import funcgrad as fg
    >>> float(fg.lax.fori_loop(0, 5, lambda i, x: x * 2.0, 1.0))
    32.0
    """
    lo, hi = _concrete_int(lower), _concrete_int(upper)
    if lo is not None and hi is not None:
        length = max(hi - lo, 0)

        def step(carry, _):
            i, val = carry
            return (i + 1, body_fun(i, val)), None

        start = np.asarray(lo, np.result_type(np.asarray(lower), np.asarray(upper)))
        (_, val), _ = scan(step, (start, init_val), None, length=length)
        return val
    dtype = fnp.result_type(lower, upper)

    def cond_fun(carry):
        return carry[0] < upper

    def loop_body(carry):
        i, val = carry
        return i + 1, body_fun(i, val)

    return while_loop(cond_fun, loop_body, (fnp.asarray(lower, dtype=dtype), init_val))[1]


# ---------------------------------------------------------------- the while_loop primitive
# Operands: the condition's consts, the body's consts, the initial carry. Results: the final
# carry. ``cond``: a graph from (its consts, carry) to a bool scalar; ``body``: from (its
# consts, carry) to the next carry. ``max_steps``: None, or the most iterations it runs.


def _while_shapes(*operands, cond, body, cond_nconsts, body_nconsts, max_steps):
    return [atom_aval(a) for a in body.outvars]


def _while_impl(*operands, cond, body, cond_nconsts, body_nconsts, max_steps):
    test, step = runtime.program(cond), runtime.program(body)
    cc, bc, carry = _split(operands, cond_nconsts, body_nconsts)
    sets = [[np.empty(*atom_aval(a)) for a in body.outvars] for _ in range(2)]
    n = 0
    while (max_steps is None or n < max_steps) and test([], cc + carry)[0]:
        new = sets[n % 2]
        step.run_into([], bc + carry, new)
        carry = new
        n += 1
    return [np.array(c) for c in carry] if n == 0 else carry


def _while_jvp(tangents, results, *operands, cond, body, cond_nconsts, body_nconsts, max_steps):
    """A while loop over the carry and its tangent (every float carry gets one)."""
    ncc, nbc = cond_nconsts, body_nconsts
    nk = len(body.invars) - nbc
    t_in = tangents[ncc:]
    wrt = tuple(
        is_float(v.dtype) and (i >= nbc or t_in[i] is not None) for i, v in enumerate(body.invars)
    )
    forward = jvp_graph(body, wrt)
    bc_t = [i for i in range(nbc) if wrt[i]]
    k_t = [i - nbc for i in range(nbc, nbc + nk) if wrt[i]]

    def step(*a):
        bcs, tbc, carry, tk = _split(a, nbc, len(bc_t), nk)
        outs = run(forward, bcs + carry + tbc + tk)
        return outs[:nk] + [outs[nk + j] for j in k_t]

    def test(*a):
        return run(cond, list(a[: ncc + nk]))

    avals = invar_avals(body)
    carry_avals = avals[nbc:]
    t_avals = [carry_avals[j] for j in k_t]
    cc, bc, carry = _split(operands, ncc, nbc)

    def tangent(x, t):
        return P.zeros(x.shape, x.dtype) if t is None else t

    outs = while_p(
        *cc,
        *bc,
        *[tangent(bc[i], t_in[i]) for i in bc_t],
        *carry,
        *[tangent(carry[j], t_in[nbc + j]) for j in k_t],
        cond=graph_of(test, invar_avals(cond) + t_avals),
        body=graph_of(step, avals[:nbc] + [avals[i] for i in bc_t] + carry_avals + t_avals),
        cond_nconsts=ncc,
        body_nconsts=nbc + len(bc_t),
        max_steps=max_steps,
    )
    found = [None] * nk
    for j, t in zip(k_t, outs[nk:]):
        found[j] = t
    return found


def _while_vjp(
    cts, results, operands, wanted, *, cond, body, cond_nconsts, body_nconsts, max_steps
):
    """With ``max_steps``: the VJP of the same loop written as a scan of ``max_steps``
    steps, each running the body only while the condition holds (the carries saved: memory
    ``max_steps`` carries). Without: :func:`_while_vjp_replayed`."""
    ncc, nbc = cond_nconsts, body_nconsts
    avals = [Aval(np.shape(x), x.dtype) for x in operands]
    wrt = tuple(w and is_float(a.dtype) for w, a in zip(wanted, avals))
    if not any(wrt):
        return [None] * len(operands)
    if max_steps is None:
        return _while_vjp_replayed(cts, results, operands, wrt, cond, body, ncc, nbc)
    from .conditionals import cond_p  # (conditionals import nothing of this module)

    nk = len(body.invars) - nbc
    keep = Graph([], body.invars, [], body.invars[nbc:])  # a finished loop's step: as it is

    def masked(*ops):
        cc, bc, carry = _split(ops, ncc, nbc)

        def step(*state):
            bcs, cs, (active, *carry) = _split(state, nbc, ncc)
            going = fnp.logical_and(active, run(cond, cs + carry)[0])
            index = fnp.asarray(going).astype(np.int32)
            return [going, *cond_p(index, *bcs, *carry, branches=(keep, body))]

        step_avals = avals[ncc : ncc + nbc] + avals[:ncc] + [Aval((), bool)] + avals[ncc + nbc :]
        outs = scan_p(
            *bc,
            *cc,
            np.asarray(True),
            *carry,
            body=graph_of(step, step_avals),
            num_consts=nbc + ncc,
            num_carry=1 + nk,
            length=max_steps,
            reverse=False,
        )
        return outs[1 : 1 + nk]

    back = vjp_graph(graph_of(masked, avals), wrt)
    cts = [P.zeros(r.shape, r.dtype) if ct is None else ct for r, ct in zip(results, cts)]
    grads = iter(run(back, list(operands) + cts)[nk:])
    return [next(grads) if w else None for w in wrt]


def _while_vjp_replayed(cts, results, operands, wrt, cond, body, ncc, nbc):
    """Reverse mode with no bound on the trip count n: count the steps, then walk them
    backwards, recomputing the carry before step k from the start each time (memory: a few
    carries; time: n^2 / 2 body evaluations forward)."""
    nk = len(body.invars) - nbc
    cc, bc, init = _split(operands, ncc, nbc)
    k_float = [j for j in range(nk) if is_float(body.invars[nbc + j].dtype)]
    b_wrt = tuple(
        is_float(v.dtype) and (i >= nbc or wrt[ncc + i]) for i, v in enumerate(body.invars)
    )
    back = vjp_graph(body, b_wrt)
    grad_pos = {i: g for g, i in enumerate(i for i in range(len(b_wrt)) if b_wrt[i])}
    bc_wrt = [i for i in range(nbc) if b_wrt[i]]
    avals = invar_avals(body)
    count = Aval((), np.int64)

    def counted_cond(*a):
        return run(cond, list(a[:ncc]) + list(a[ncc + 1 :]))

    def counted_body(*a):
        bcs, (n, *carry) = _split(a, nbc)
        return [n + 1, *run(body, bcs + carry)]

    cond_avals = invar_avals(cond)
    counted = dict(
        cond=graph_of(counted_cond, cond_avals[:ncc] + [count] + cond_avals[ncc:]),
        body=graph_of(counted_body, avals[:nbc] + [count] + avals[nbc:]),
        cond_nconsts=ncc,
        body_nconsts=nbc,
        max_steps=None,
    )
    n = while_p(*cc, *bc, np.asarray(0, np.int64), *init, **counted)[0]

    def replay_cond(*a):  # (the target k, count, carry)
        return [a[1] < a[0]]

    def replay_body(*a):
        bcs, (j, *carry) = _split(a, nbc)
        return [j + 1, *run(body, bcs + carry)]

    replay = dict(
        cond=graph_of(replay_cond, [count, count] + avals[nbc:]),
        body=graph_of(replay_body, avals[:nbc] + [count] + avals[nbc:]),
        cond_nconsts=1,
        body_nconsts=nbc,
        max_steps=None,
    )
    out_avals = avals[nbc:]

    def back_step(*a):
        bcs, start, (k, *state) = _split(a, nbc, nk)
        ct_k, acc = state[: len(k_float)], state[len(k_float) :]
        k = k - 1
        carry = while_p(k, *bcs, np.asarray(0, np.int64), *start, **replay)[1:]
        ct_out = [P.zeros(a.shape, a.dtype) for a in out_avals]
        for j, ct in zip(k_float, ct_k):
            ct_out[j] = ct
        grads = run(back, bcs + carry + ct_out)[nk:]
        new_ct = [grads[grad_pos[nbc + j]] for j in k_float]
        new_acc = [s + grads[grad_pos[i]] for s, i in zip(acc, bc_wrt)]
        return [k, *new_ct, *new_acc]

    def back_cond(*a):
        return [a[0] > 0]

    ct0 = [
        P.zeros(results[j].shape, results[j].dtype) if cts[j] is None else cts[j] for j in k_float
    ]
    acc0 = [P.zeros(bc[i].shape, bc[i].dtype) for i in bc_wrt]
    state_avals = [count] + [out_avals[j] for j in k_float] + [avals[i] for i in bc_wrt]
    outs = while_p(
        *bc,
        *init,
        n,
        *ct0,
        *acc0,
        cond=graph_of(back_cond, state_avals),
        body=graph_of(back_step, avals[:nbc] + out_avals + state_avals),
        cond_nconsts=0,
        body_nconsts=nbc + nk,
        max_steps=None,
    )[1:]
    found = [None] * len(operands)
    for j, ct in zip(k_float, outs):
        if wrt[ncc + nbc + j]:
            found[ncc + nbc + j] = ct
    for i, ct in zip(bc_wrt, outs[len(k_float) :]):
        found[ncc + i] = ct
    return found


def _while_batch(batched, *operands, cond, body, cond_nconsts, body_nconsts, max_steps):
    """A while loop over the batch: it runs while any example's condition holds, and a
    finished example keeps its carry (a select per step)."""
    ncc, nbc = cond_nconsts, body_nconsts
    size = P._batch_size(batched, operands)
    nk = len(body.invars) - nbc
    ccb, bcb, kb = _split(batched, ncc, nbc)
    cc, bc, carry = _split(operands, ncc, nbc)
    for _ in range(nk + 2):  # carries batched: the fixed point (a batched test batches all)
        _, test_b = batched_graph(cond, tuple(ccb + kb), size)
        if test_b[0]:
            grown = [True] * nk
        else:
            _, out_b = batched_graph(body, tuple(bcb + kb), size)
            grown = [k or o for k, o in zip(kb, out_b)]
        if grown == kb:
            break
        kb = grown
    carry = [
        c if b or not k else P.with_batch(c, size)
        for c, b, k in zip(carry, batched[ncc + nbc :], kb)
    ]
    c_mask, b_mask = tuple(ccb + kb), tuple(bcb + kb)

    def batched_avals(graph, mask):
        return [
            Aval(((size,) if m else ()) + v.shape, v.dtype, v.weak)
            for v, m in zip(graph.invars, mask)
        ]

    def test_each(*a):
        (t,), (tb,) = batch_into(cond, list(a), c_mask)
        return t, tb

    def any_test(*a):
        t, tb = test_each(*a)
        return [fnp.any(t) if tb else t]

    def step(*a):
        ccs, rest = list(a[:ncc]), list(a[ncc:])
        outs, flags = batch_into(body, rest, b_mask)
        outs = [o if f or not k else P.with_batch(o, size) for o, f, k in zip(outs, flags, kb)]
        carry = rest[nbc:]
        t, tb = test_each(*ccs, *carry)
        if not tb:
            return outs
        return [
            fnp.where(fnp.reshape(t, (size,) + (1,) * (o.ndim - 1)), o, c) if k else o
            for o, c, k in zip(outs, carry, kb)
        ]

    outs = while_p(
        *cc,
        *cc,
        *bc,
        *carry,
        cond=graph_of(any_test, batched_avals(cond, c_mask)),
        body=graph_of(step, batched_avals(cond, c_mask)[:ncc] + batched_avals(body, b_mask)),
        cond_nconsts=ncc,
        body_nconsts=ncc + nbc,
        max_steps=max_steps,
    )
    return [o if k else P.with_batch(o, size) for o, k in zip(outs, kb)]


while_p = Primitive(
    "while_loop",
    _while_shapes,
    _while_impl,
    vjp=_while_vjp,
    jvp=_while_jvp,
    batch=_while_batch,
    multiple_results=True,
)


def _while_body_graph(body_fun, carry_avals, init_tree):
    found = {}

    def body(carry):
        out = body_fun(carry)
        leaves, td = leaves_of("the carry it returns", out, "while_loop: body_fun")
        found["tree"] = td
        return leaves

    closed = trace_closed(body, [init_tree], carry_avals)
    return closed, found["tree"]


def while_loop(cond_fun, body_fun, init_val, *, max_steps=None):
    """``val = body_fun(val)`` while ``cond_fun(val)``, as ``jax.lax.while_loop``;
    returns the final ``val``. Both functions are traced once, on abstract values.

    Unlike JAX, reverse mode works. ``max_steps`` (funcgrad's, as equinox's): an upper
    bound on the iterations (the loop stops there as if the condition failed); the VJP
    then saves every step's carry (memory: ``max_steps`` carries) and costs about three
    forward passes. Without it the VJP counts the n steps and walks back through them,
    recomputing each step's carry from the start: memory a few carries, time about n^2 / 2
    body evaluations. Forward mode and ``vmap`` (a batched condition runs until every
    example is done) work in either case.

    >>> import funcgrad as fg
    >>> float(fg.lax.while_loop(lambda x: x < 100.0, lambda x: x * 3.0, 1.0))
    243.0
    """
    if max_steps is not None:
        max_steps = int(max_steps)
        if max_steps < 0:
            raise ValueError(
                f"while_loop: max_steps must be >= 0, got {max_steps} at {user_frame()}"
            )
    init_leaves, init_tree = leaves_of("the initial value", init_val, "while_loop")

    def trace(carry_avals):
        return _while_body_graph(body_fun, carry_avals, init_tree)

    (closed, _), carry_avals = _carry_checked(
        "while_loop", trace, [aval_of(c) for c in init_leaves], init_tree
    )
    test = trace_closed(lambda c: [cond_fun(c)], [init_tree], carry_avals)
    (t_aval,) = test.out_avals
    if t_aval.shape != () or t_aval.dtype.kind not in "biu":
        raise TypeError(
            f"while_loop: cond_fun must return a boolean scalar, got {t_aval} at {user_frame()}"
        )
    test_graph = test.graph
    if t_aval.dtype != np.bool_:
        test_graph = graph_of(
            lambda *a: [fnp.not_equal(run(test.graph, a)[0], 0)], invar_avals(test.graph)
        )
    outs = while_p(
        *test.consts,
        *closed.consts,
        *cast_leaves(init_leaves, carry_avals),
        cond=test_graph,
        body=closed.graph,
        cond_nconsts=len(test.consts),
        body_nconsts=len(closed.consts),
        max_steps=max_steps,
    )
    return init_tree.unflatten(outs)
