"""Graph-to-graph optimization passes. Each takes a Graph and returns an equivalent one.

``simplify`` makes one forward walk that folds scalar constants, applies algebraic
identities (x*1, x+0, reshape of reshape, transpose pairs, no-op casts and broadcasts),
lets broadcasts that NumPy broadcasting can express stay implicit, and removes common
subexpressions; ``merge_extended_loops`` lets a loop whose body is another's with more
outputs stand for both; ``dce`` then drops what no output needs. None recurses into the
graphs a loop holds (those are optimized when they are compiled).
"""

import math

import numpy as np

from .. import primitives as P
from ..core import Eqn, Graph, Literal, Params, Var, dce, eval_impl

_UNIT = {P.add: 0, P.sub: 0, P.mul: 1, P.div: 1}  # x op unit == x
# Primitives that return their operand when its shape and dtype are the output's.
_IDENTITY_WHEN_SAME = (P.reshape, P.transpose, P.cast, P.broadcast_in_dim)


def optimize(graph):
    """The standard pipeline: simplify (folding, identities, CSE), merge loops, then DCE."""
    return dce(merge_extended_loops(simplify(graph)))


def _extends(longer, shorter):
    """Whether equation ``longer`` computes ``shorter``'s results as its first ones: the
    same primitive, operands and parameters but for a ``body`` graph whose first outputs
    are ``shorter``'s body (the forward scan of a VJP, saving residuals, and the scan it
    differentiates)."""
    a, b = longer.params, shorter.params
    if set(a) != set(b) or any(a[k] != b[k] for k in a if k != "body"):
        return False
    body, short = a["body"], b["body"]
    n = len(short.outvars)
    if len(body.outvars) <= n or len(body.invars) != len(short.invars):
        return False
    prefix = Graph(body.constvars, body.invars, body.eqns, body.outvars[:n], body.consts)
    return dce(prefix) == dce(short)


def merge_extended_loops(graph):
    """Each multiple-results equation with a ``body`` that another :func:`_extends` is
    replaced by that one, moved up to its place (it reads the same operands); its results'
    uses read the other's first results."""
    groups = {}
    for e in graph.eqns:
        if e.prim.multiple_results and isinstance(e.params.get("body"), Graph):
            groups.setdefault((e.prim, tuple(map(_key, e.inputs))), []).append(e)
    by = {}  # id(shorter) -> longer
    for group in (g for g in groups.values() if len(g) > 1):
        for short in group:
            longer = [e for e in group if e is not short and id(e) not in by and _extends(e, short)]
            if longer:
                by[id(short)] = max(longer, key=lambda e: len(e.outputs))
    if not by:
        return graph
    moved = {id(e) for e in by.values()}
    subst, eqns, placed = {}, [], set()

    def read(atom):
        return subst.get(atom, atom) if isinstance(atom, Var) else atom

    for e in graph.eqns:
        if id(e) in by:
            longer = by[id(e)]
            subst.update(zip(e.outputs, longer.outputs))
            e = longer
        elif id(e) in moved:
            continue  # (placed where the loop it extends was)
        if id(e) in placed:
            continue
        placed.add(id(e))
        eqns.append(Eqn(e.prim, tuple(map(read, e.inputs)), e.outputs, e.params))
    return Graph(
        graph.constvars, graph.invars, eqns, [read(a) for a in graph.outvars], graph.consts
    )


def _splat(atom, defs):
    """The scalar value of a literal or of a broadcast literal, else None."""
    if isinstance(atom, Literal):
        return atom.value
    eqn = defs.get(atom)
    if eqn is not None and eqn.prim is P.broadcast_in_dim and isinstance(eqn.inputs[0], Literal):
        return eqn.inputs[0].value
    return None


def _is(value, target):
    return value is not None and value.shape == () and value == target


def _broadcast_shape(shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


class _Emit:
    """A rewrite that needs a new equation first: ``before`` is (prim, inputs, params, Var)
    and ``then`` the rewritten (prim, inputs, params), which may read that Var."""

    def __init__(self, before, then):
        self.before, self.then = before, then


def _zero_select(atom, defs):
    """(p, value, zero_on_true) if ``atom`` is ``select(p, value, 0)`` or
    ``select(p, 0, value)`` of its own shape, else None."""
    eqn = defs.get(atom)
    if eqn is None or eqn.prim is not P.select:
        return None
    p, a, b = eqn.inputs
    if _is(_splat(b, defs), 0) and a.shape == atom.shape:
        return p, a, False
    if _is(_splat(a, defs), 0) and b.shape == atom.shape:
        return p, b, True
    return None


def _select_rules(prim, inputs, params, out, defs):
    """The gradients of ``where``-style functions (leaky_relu, ...) add a cotangent selected
    on one side to one selected on the other: select(p, a, 0) + select(p, 0, b) is
    select(p, a, b), and select(p, 0, y) * c, for a finite scalar c, is select(p, 0, y * c)
    (only the sign of a zero may differ). Two operations per element instead of four."""
    x, y = inputs
    if prim is P.mul and isinstance(x, Literal):  # commutes: the scalar second
        x, y = y, x
    if prim is P.add:
        sx, sy = _zero_select(x, defs), _zero_select(y, defs)
        if sx and sy and sx[0] is sy[0] and sx[2] != sy[2] and x.shape == y.shape == out.shape:
            (cond, a, _), (_, b, _) = (sx, sy) if sy[2] else (sy, sx)
            return defs[x].prim, (cond, a, b), {}
    if prim is P.mul and isinstance(y, Literal) and np.isfinite(y.value).all():
        sx = _zero_select(x, defs)
        if sx and x.shape == out.shape:
            cond, value, zero_on_true = sx
            scaled = Var(out.shape, out.dtype)
            zero = defs[x].inputs[1 if zero_on_true else 2]
            branches = (zero, scaled) if zero_on_true else (scaled, zero)
            select = defs[x].prim
            return _Emit([(prim, (value, y), params, scaled)], (select, (cond, *branches), {}))
    return None


# The largest class count whose positions a float dtype holds exactly.
_EXACT_INTS = {np.dtype(np.float32): 2**24, np.dtype(np.float64): 2**53}


def _is_iota(atom, defs, size):
    eqn = defs.get(atom)
    return eqn is not None and eqn.prim is P.iota and eqn.params["size"] == size


def _one_hot_rules(prim, inputs, params, out, defs):
    """Cross-entropy's gradient scatters one value per row into zeros: scatter_add(u,
    iota(N), labels, shape=(N, C)). Written select(iota(C) == position, u, 0) instead, it
    is elementwise and fuses with the rest of the row's gradient, which then takes one
    pass per row; and the sum of such a row is u. The positions are gather(iota(C),
    labels): that gather raises for labels out of range (and wraps negative ones) as the
    scatter did, so every row holds exactly one match."""
    if prim is P.scatter_add:
        u, *indices = inputs
        shape = params["shape"]
        if (
            len(indices) != 2
            or len(shape) != 2
            or not _is_iota(indices[0], defs, shape[0])
            or u.shape != shape[:1]
            or indices[1].shape != shape[:1]
            or shape[1] > _EXACT_INTS.get(out.dtype, 0)
        ):
            return None
        n, c = shape
        classes, position = Var((c,), out.dtype), Var((n,), out.dtype)
        column, hit = Var((n, 1), out.dtype), Var(shape, np.dtype(np.bool_))
        before = [
            (P.iota, (), {"size": c, "dtype": out.dtype}, classes),
            (P.gather, (classes, indices[1]), {}, position),
            (P.reshape, (position,), {"new_shape": (n, 1)}, column),
            (P.eq, (classes, column), {}, hit),
        ]
        value = _splat(u, defs)
        if value is not None:
            value = Literal(value)
        else:
            value = Var((n, 1), out.dtype)
            before.append((P.reshape, (u,), {"new_shape": (n, 1)}, value))
        return _Emit(before, (P.select, (hit, value, Literal(np.zeros((), out.dtype))), {}))
    if prim is P.reduce_sum and params["axes"] == (1,) and len(inputs[0].shape) == 2:
        select = defs.get(inputs[0])
        if select is None or select.prim is not P.select:
            return None
        hit, value, zero = select.inputs
        compare = defs.get(hit)
        if not _is(_splat(zero, defs), 0) or compare is None or compare.prim is not P.eq:
            return None
        classes, column = compare.inputs
        reshaped = defs.get(column)
        if reshaped is None or reshaped.prim is not P.reshape:  # (column: a graph input?)
            return None
        gathered = defs.get(reshaped.inputs[0])
        if (
            not _is_iota(classes, defs, inputs[0].shape[1])
            or gathered is None
            or gathered.prim is not P.gather
            or gathered.inputs[0] is not classes
            or value.shape not in ((), column.shape)
        ):
            return None
        if isinstance(value, Literal):
            return P.broadcast_in_dim, (value,), {"shape": out.shape, "broadcast_dimensions": ()}
        return P.reshape, (value,), {"new_shape": out.shape}
    return None


def _nested_broadcast(inputs, params, defs):
    """A broadcast of a broadcast is one broadcast."""
    src = defs.get(inputs[0])
    if src is None or src.prim is not P.broadcast_in_dim:
        return None
    dims = params["broadcast_dimensions"]
    composed = tuple(dims[d] for d in src.params["broadcast_dimensions"])
    return src.prim, src.inputs, {"shape": params["shape"], "broadcast_dimensions": composed}


def _reduced_copies(prim, x, dims, shape, axes, out_shape):
    """``prim`` (a sum, max or min over ``axes``) of ``x`` broadcast to ``shape`` along
    ``dims``, as equations over ``x`` alone: a reduction over x's own reduced axes, for a
    sum times the number of copies, then a broadcast of that to ``out_shape``. Returns
    (equations as (prim, inputs, params, Var), the Var or atom holding the result), or
    None where the copies are none (an empty axis: NumPy's rules)."""
    if any(shape[a] == 0 for a in axes) or x.dtype.kind not in "fiu":
        return None
    x_axes = tuple(i for i, d in enumerate(dims) if d in axes)
    copies = math.prod(shape[a] for a in axes) // math.prod(x.shape[i] for i in x_axes)
    kept = [d for d in range(len(shape)) if d not in axes]  # the result's axes, of shape
    steps, value = [], x
    if x_axes:
        value = Var(tuple(n for i, n in enumerate(x.shape) if i not in x_axes), x.dtype)
        steps.append((prim, (x,), {"axes": x_axes}, value))
    if prim is P.reduce_sum and copies != 1:
        scaled = Var(value.shape, x.dtype)
        steps.append((P.mul, (value, Literal(np.array(copies, x.dtype))), {}, scaled))
        value = scaled
    new_dims = tuple(kept.index(d) for i, d in enumerate(dims) if i not in x_axes)
    if value.shape != out_shape or new_dims != tuple(range(len(out_shape))):
        spread = Var(out_shape, x.dtype)
        params = {"shape": out_shape, "broadcast_dimensions": new_dims}
        steps.append((P.broadcast_in_dim, (value,), params, spread))
        value = spread
    return steps, value


def _reduction_of_copies(prim, inputs, params, out, defs):
    """A sum, max or min of a broadcast reduces the broadcast's operand instead (copies
    add up to a multiple, or change nothing), and a sum of a scalar times a broadcast is
    the scalar times the smaller sum (a gradient of an outer product): neither builds the
    broadcast, which can be vastly larger than its operand."""
    (x,), axes = inputs, set(params["axes"])
    src = defs.get(x)
    if src is None or x.dtype != out.dtype:
        return None
    if src.prim is P.broadcast_in_dim and isinstance(src.inputs[0], Var):
        dims, shape = src.params["broadcast_dimensions"], src.params["shape"]
        reduced = _reduced_copies(prim, src.inputs[0], dims, shape, axes, out.shape)
        if reduced is None:
            return None
        steps, value = reduced
        if not steps:
            return value
        *before, (p, ins, ps, _) = steps
        return _Emit(before, (p, ins, ps)) if before else (p, ins, ps)
    if prim is P.reduce_sum and src.prim is P.mul:
        a, b = src.inputs
        c, y = (_splat(a, defs), b) if _splat(a, defs) is not None else (_splat(b, defs), a)
        if c is None or not isinstance(y, Var) or y.dtype != out.dtype or not np.isfinite(c):
            return None  # (inf * [0, 1] sums to NaN, inf * sum([0, 1]) is inf)
        dims = tuple(range(len(x.shape) - len(y.shape), len(x.shape)))  # NumPy's alignment
        if y.shape == x.shape:  # a broadcast of its own, or nothing to gain
            spread = defs.get(y)
            if spread is None or spread.prim is not P.broadcast_in_dim:
                return None
            if not isinstance(spread.inputs[0], Var):
                return None
            y, dims = spread.inputs[0], spread.params["broadcast_dimensions"]
        reduced = _reduced_copies(prim, y, dims, x.shape, axes, out.shape)
        if reduced is None:
            return None
        steps, value = reduced
        scaled = (P.mul, (value, Literal(np.array(c, out.dtype))), {})
        return _Emit(steps, scaled) if steps else scaled
    return None


def _rewrite(prim, inputs, params, out, defs):
    """Return an atom equal to ``prim(*inputs)``, a rewritten (prim, inputs, params), an
    _Emit, or None to keep the equation as it is."""
    same = lambda a: a.shape == out.shape and a.dtype == out.dtype  # noqa: E731
    if all(isinstance(a, Literal) for a in inputs) and out.shape == ():
        return Literal(eval_impl(prim, [a.value for a in inputs], params, out.dtype))
    if prim in _UNIT:
        x, y = inputs
        sx, sy = _splat(x, defs), _splat(y, defs)
        unit = _UNIT[prim]
        if _is(sy, unit) and same(x):
            return x
        if "commutative" in prim.traits and _is(sx, unit) and same(y):
            return y
        if prim in (P.add, P.mul):
            rewritten = _select_rules(prim, inputs, params, out, defs)
            if rewritten is not None:
                return rewritten
    if prim is P.stop_gradient:
        return inputs[0]
    src = defs.get(inputs[0]) if inputs and isinstance(inputs[0], Var) else None
    if prim is P.neg and src is not None and src.prim is P.neg:
        return src.inputs[0]
    if prim in _IDENTITY_WHEN_SAME and same(inputs[0]):
        if prim is not P.transpose or params["perm"] == tuple(sorted(params["perm"])):
            return inputs[0]
    if prim is P.reshape and src is not None and src.prim is P.reshape:
        return prim, (src.inputs[0],), params
    if prim is P.transpose and src is not None and src.prim is P.transpose:
        inner = src.params["perm"]
        perm = tuple(inner[p] for p in params["perm"])
        if perm == tuple(range(len(perm))):
            return src.inputs[0]
        return prim, (src.inputs[0],), {"perm": perm}
    if prim is P.broadcast_in_dim:
        return _nested_broadcast(inputs, params, defs)
    if prim in (P.reduce_sum, P.reduce_max, P.reduce_min) and isinstance(inputs[0], Var):
        rewritten = _reduction_of_copies(prim, inputs, params, out, defs)
        if rewritten is not None:
            return rewritten
    if prim in (P.scatter_add, P.reduce_sum):
        return _one_hot_rules(prim, inputs, params, out, defs)
    if "elementwise" in prim.traits and len(inputs) > 1:  # operands broadcast NumPy-style
        return _implicit_broadcasts(prim, inputs, params, out, defs)
    return None


def _implicit_broadcasts(prim, inputs, params, out, defs):
    """Feed broadcasts' operands directly to elementwise operations, NumPy-style: as they
    are when the broadcast aligns them to the right, else reshaped (a free view) to the
    output's rank with 1 in the new dimensions (a row sum spread over its row)."""
    new, reshapes = list(inputs), []
    for k, a in enumerate(inputs):
        eqn = defs.get(a)
        if eqn is None or eqn.prim is not P.broadcast_in_dim:
            continue
        src = eqn.inputs[0]
        dims, shape = tuple(eqn.params["broadcast_dimensions"]), eqn.params["shape"]
        operand, reshape = src, None
        if dims != tuple(range(len(shape) - len(src.shape), len(shape))):
            if not isinstance(src, Var) or list(dims) != sorted(dims):
                continue
            kept = tuple(src.shape[dims.index(i)] if i in dims else 1 for i in range(len(shape)))
            operand = Var(kept, src.dtype)
            reshape = (P.reshape, (src,), {"new_shape": kept}, operand)
        trial = new[:k] + [operand] + new[k + 1 :]
        if _broadcast_shape([t.shape for t in trial]) == out.shape:
            new = trial
            reshapes += [reshape] if reshape else []
    if new == list(inputs):
        return None
    return _Emit(reshapes, (prim, tuple(new), params)) if reshapes else (prim, tuple(new), params)


def _key(atom):
    return atom if isinstance(atom, Var) else atom.key()


def simplify(graph):
    """Fold, apply identities and eliminate common subexpressions in one forward walk."""
    subst = {}
    defs = {}  # Var -> the (rewritten) equation defining it
    seen = {}  # CSE: (prim, inputs, params) -> output Var
    eqns = []

    def read(atom):
        return subst.get(atom, atom) if isinstance(atom, Var) else atom

    def emit(prim, inputs, params, out):
        """Append the equation, or map ``out`` to an equal earlier result (CSE)."""
        params = Params(params)  # (hashable: rewrites build plain dicts)
        key = (prim, tuple(map(_key, inputs)), params)
        try:
            hit = seen.get(key)
        except TypeError:  # unhashable params: no CSE for this equation
            hit, key = None, None
        if hit is not None:
            subst[out] = hit
            return
        new = Eqn(prim, inputs, (out,), params)
        eqns.append(new)
        defs[out] = new
        if key is not None:
            seen[key] = out

    for eqn in graph.eqns:
        if eqn.prim.multiple_results:  # (loops: no rewrites; CSE maps every result)
            inputs = tuple(map(read, eqn.inputs))
            key = (eqn.prim, tuple(map(_key, inputs)), eqn.params)
            hit = seen.get(key)
            if hit is not None:
                subst.update(zip(eqn.outputs, hit))
                continue
            eqns.append(Eqn(eqn.prim, inputs, eqn.outputs, eqn.params))
            seen[key] = eqn.outputs
            continue
        (out,) = eqn.outputs
        prim, inputs, params = eqn.prim, tuple(map(read, eqn.inputs)), eqn.params
        for _ in range(4):  # a rewrite may enable another; a few rounds reach the fixpoint
            result = _rewrite(prim, inputs, params, out, defs)
            if isinstance(result, _Emit):
                for p, ins, ps, v in result.before:  # (read: each may be CSE'd)
                    emit(p, tuple(map(read, ins)), ps, v)
                then_prim, then_inputs, then_params = result.then
                # read: CSE may have merged an emitted equation into an earlier one
                result = then_prim, tuple(map(read, then_inputs)), then_params
            if result is None or isinstance(result, (Var, Literal)):
                break
            prim, inputs, params = result
        if isinstance(result, (Var, Literal)):
            subst[out] = result
            continue
        emit(prim, inputs, params, out)
    outvars = [read(a) for a in graph.outvars]
    return Graph(graph.constvars, graph.invars, eqns, outvars, graph.consts)
