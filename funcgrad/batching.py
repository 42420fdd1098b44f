"""Vectorization as a graph-to-graph transform.

``vmap`` (api.py) traces a function once on per-example shapes (the mapped axis removed),
then :func:`batch_graph` re-emits every equation through its primitive's batching rule
(``Primitive.batch``, declared with the primitive). A rule ``rule(batched, *args,
**params)`` is called only when some operand is batched; batched operands carry the batch
dimension at axis 0, unbatched ones do not carry it at all, and the rule returns its
output batched at axis 0. Unbatched equations are re-emitted as they are.
"""

from collections import OrderedDict

from . import primitives as P
from .core import Builder, Var, bind_eqn
from .errors import user_frame

# ---------------------------------------------------------------- the graph transform


def batch_into(graph, inputs, batched_in):
    """Re-emit ``graph`` batched into the current builder: (outputs, their batched flags)."""
    env = dict(zip(graph.constvars + graph.invars, inputs))
    batched = {v for v, b in zip(graph.constvars + graph.invars, batched_in) if b}

    def read(atom):
        return env[atom] if isinstance(atom, Var) else atom.value

    for eqn in graph.eqns:
        args = [read(a) for a in eqn.inputs]
        flags = tuple(isinstance(a, Var) and a in batched for a in eqn.inputs)
        if any(flags):
            if eqn.prim.batch is None:
                raise NotImplementedError(
                    f"vmap: {eqn.prim.name} has no batching rule at {user_frame()}"
                )
            outs = eqn.prim.batch(flags, *args, **eqn.params)
            env.update(zip(eqn.outputs, outs if eqn.prim.multiple_results else [outs]))
            batched.update(eqn.outputs)
        else:
            env.update(zip(eqn.outputs, bind_eqn(eqn, args)))
    outs = [read(a) for a in graph.outvars]
    return outs, tuple(isinstance(a, Var) and a in batched for a in graph.outvars)


def batch_graph(graph, batched_mask, size):
    """The graph computing ``graph`` on a batch of ``size`` examples.

    Inputs: ``graph``'s constants and inputs, those with ``batched_mask[k]`` carrying an
    extra leading batch axis. Outputs: ``graph``'s outputs, each with a leading batch axis.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> g = fg.make_graph(lambda x: fnp.sum(x))(fnp.ones(3))
    >>> [v.shape for v in batch_graph(g, (True,), 5).outvars]
    [(5,)]
    """
    return _build(graph, batched_mask, size, every_output=True)[0]


def _build(graph, batched_mask, size, every_output):
    with Builder() as b:
        inputs = [
            b.new_input(((size,) if m else ()) + v.shape, v.dtype, weak=v.weak)
            for v, m in zip(graph.constvars + graph.invars, batched_mask)
        ]
        outs, out_batched = batch_into(graph, inputs, batched_mask)
        if every_output:
            outs = [o if ob else P.with_batch(o, size) for o, ob in zip(outs, out_batched)]
        return b.build(outs), out_batched


_cache = OrderedDict()


def batched_graph(graph, batched_mask, size):
    """(batched graph, which outputs are batched), cached by structure: outputs that do
    not depend on a batched input keep their shape."""
    key = (graph, batched_mask, size)
    hit = _cache.get(key)
    if hit is None:
        hit = _cache[key] = _build(graph, batched_mask, size, every_output=False)
        if len(_cache) > 512:
            _cache.popitem(last=False)
    return hit


__all__ = ["batch_graph", "batch_into", "batched_graph"]
