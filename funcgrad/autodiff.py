"""Automatic differentiation as graph-to-graph transforms.

:func:`vjp_graph` walks a forward graph backwards and emits each primitive's VJP
equations; :func:`jvp_graph` walks it forwards emitting JVP equations. Both produce
ordinary graphs, so they compose: ``grad(grad(f))`` differentiates a backward graph.
:func:`derive` caches them by the forward graph's structure. The user API (``grad``,
``jvp``, ...) is in ``api.py``, on top of these.
"""

from collections import OrderedDict

from . import primitives as P
from .core import Builder, Var, bind_eqn, is_float

# ---------------------------------------------------------------- graph transforms


def _forward(graph, inputs):
    """Re-emit ``graph`` into the current builder; returns an env Var -> tracer/value."""
    env = dict(zip(graph.constvars + graph.invars, inputs))

    def read(atom):
        return env[atom] if isinstance(atom, Var) else atom.value

    for eqn in graph.eqns:
        env.update(zip(eqn.outputs, bind_eqn(eqn, map(read, eqn.inputs))))
    return env, read


def _active_vars(graph, wrt):
    """Variables that depend on a differentiated input through floating-point values."""
    active = {v for v, w in zip(graph.invars, wrt) if w and is_float(v.dtype)}
    for eqn in graph.eqns:
        rules = eqn.prim.vjp
        if eqn.prim.multiple_results:
            hit = rules is not None and any(a in active for a in eqn.inputs)
        else:
            hit = any(a in active and rules[k] is not None for k, a in enumerate(eqn.inputs))
        if hit:
            active.update(v for v in eqn.outputs if is_float(v.dtype))
    return active


def _new_inputs(builder, vars_):
    return [builder.new_input(v.shape, v.dtype) for v in vars_]


def vjp_graph(graph, wrt):
    """The reverse-mode graph of ``graph``.

    Inputs: ``graph``'s constants and inputs, then one cotangent per output. Outputs:
    ``graph``'s outputs, then the gradient of every input ``k`` with ``wrt[k]``.
    """
    active = _active_vars(graph, wrt)
    with Builder() as b:
        inputs = _new_inputs(b, graph.constvars + graph.invars)
        cts_in = _new_inputs(b, graph.outvars)
        env, read = _forward(graph, inputs)
        cts = {}

        def accumulate(var, ct):
            prev = cts.get(var)
            cts[var] = ct if prev is None else P.add(prev, ct)

        for var, ct in zip(graph.outvars, cts_in):
            if var in active:
                accumulate(var, ct)
        for eqn in reversed(graph.eqns):
            if eqn.prim.multiple_results:
                gs = [cts.pop(v, None) for v in eqn.outputs]
                if all(g is None for g in gs):
                    continue
                wanted = [a in active for a in eqn.inputs]
                args = [read(a) for a in eqn.inputs]
                results = [env[v] for v in eqn.outputs]
                found = eqn.prim.vjp(gs, results, args, wanted, **eqn.params)
                for a, w, ct in zip(eqn.inputs, wanted, found):
                    if w and ct is not None:
                        accumulate(a, ct)
                continue
            (out,) = eqn.outputs
            g = cts.pop(out, None)
            if g is None:
                continue
            args = [read(a) for a in eqn.inputs]
            for k, a in enumerate(eqn.inputs):
                rule = eqn.prim.vjp[k] if a in active else None
                if rule is not None:
                    ct = rule(g, env[out], *args, **eqn.params)
                    if ct is not None:
                        accumulate(a, ct)
        grads = [cts.get(v) for v, w in zip(graph.invars, wrt) if w]
        grads = [
            P.zeros(v.shape, v.dtype) if g is None else g
            for g, v in zip(grads, (v for v, w in zip(graph.invars, wrt) if w))
        ]
        return b.build([read(a) for a in graph.outvars] + grads)


def jvp_graph(graph, wrt):
    """The forward-mode graph of ``graph``.

    Inputs: ``graph``'s constants and inputs, then a tangent for every input ``k`` with
    ``wrt[k]``. Outputs: ``graph``'s outputs, then one tangent per output.
    """
    with Builder() as b:
        inputs = _new_inputs(b, graph.constvars + graph.invars)
        diff_vars = [v for v, w in zip(graph.invars, wrt) if w]
        tangents = dict(zip(diff_vars, _new_inputs(b, diff_vars)))
        env = dict(zip(graph.constvars + graph.invars, inputs))

        def read(atom):
            return env[atom] if isinstance(atom, Var) else atom.value

        for eqn in graph.eqns:
            args = [read(a) for a in eqn.inputs]
            results = bind_eqn(eqn, args)
            env.update(zip(eqn.outputs, results))
            ts = [tangents.get(a) if isinstance(a, Var) else None for a in eqn.inputs]
            if not any(is_float(v.dtype) for v in eqn.outputs) or all(t is None for t in ts):
                continue
            if eqn.prim.multiple_results:
                touts = eqn.prim.jvp(ts, results, *args, **eqn.params)
            else:
                touts = [eqn.prim.jvp(ts, results[0], *args, **eqn.params)]
            for v, t in zip(eqn.outputs, touts):
                if t is not None and is_float(v.dtype):
                    tangents[v] = t
        outs = [read(a) for a in graph.outvars]
        touts = [
            tangents.get(a) if isinstance(a, Var) and a in tangents else P.zeros(a.shape, a.dtype)
            for a in graph.outvars
        ]
        return b.build(outs + touts)


_derived = OrderedDict()


def derive(kind, graph, wrt):
    """``vjp_graph``/``jvp_graph`` of ``graph``, cached by its structure."""
    key = (kind, graph, wrt)
    hit = _derived.get(key)
    if hit is None:
        hit = _derived[key] = (vjp_graph if kind == "vjp" else jvp_graph)(graph, wrt)
        if len(_derived) > 512:
            _derived.popitem(last=False)
    return hit


__all__ = ["derive", "jvp_graph", "vjp_graph"]
