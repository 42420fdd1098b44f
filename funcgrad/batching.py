"""Vectorization as a graph-to-graph transform: batching rules and ``vmap``.

``vmap`` traces the function once on per-example shapes (the mapped axis removed), then
:func:`batch_graph` re-emits every equation through its primitive's batching rule. A rule
``rule(batched, *args, **params)`` is called only when some operand is batched; batched
operands carry the batch dimension at axis 0, unbatched ones do not carry it at all, and
the rule returns its output batched at axis 0. Unbatched equations are re-emitted as they are.
"""

import functools
from collections import OrderedDict

import numpy as np

from . import numpy as fnp
from . import primitives as P
from . import runtime, tree
from .core import Builder, Var
from .errors import ShapeError, user_frame
from .tracing import arg_name, is_arraylike, trace

# ---------------------------------------------------------------- helpers for rules


def _size(batched, args):
    return next(a.shape[0] for a, b in zip(args, batched) if b)


def _with_batch(x, size):
    """An unbatched operand given an explicit batch axis 0 (a broadcast, no copy)."""
    return P.broadcast_in_dim(
        x, shape=(size,) + tuple(x.shape), broadcast_dimensions=tuple(range(1, len(x.shape) + 1))
    )


def _all_batched(batched, args):
    size = _size(batched, args)
    return [a if b else _with_batch(a, size) for a, b in zip(args, batched)]


def _align(batched, args):
    """Batched operands reshaped to (B, 1.., *shape) so that NumPy's right-aligned
    broadcasting against the unbatched operands lines up per example."""
    rank = max(len(a.shape) - b for a, b in zip(args, batched))
    out = []
    for a, b in zip(args, batched):
        if b and len(a.shape) - 1 < rank:
            pad = (1,) * (rank - len(a.shape) + 1)
            a = P.reshape(a, new_shape=a.shape[:1] + pad + tuple(a.shape[1:]))
        out.append(a)
    return out, rank


def _shift(axes):
    return tuple(a + 1 for a in axes)


def _unrolled(prim):
    """Fallback rule: one equation per example, stacked. Correct for any primitive, but
    the graph grows with the batch size; used only where no loop-free rule exists."""

    def rule(batched, *args, **params):
        size = _size(batched, args)
        rows = []
        for i in range(size):
            per = [
                P.reshape(
                    P.slice(
                        a,
                        start=(i,) + (0,) * (len(a.shape) - 1),
                        limit=(i + 1,) + tuple(a.shape[1:]),
                        strides=(1,) * len(a.shape),
                    ),
                    new_shape=tuple(a.shape[1:]),
                )
                if b
                else a
                for a, b in zip(args, batched)
            ]
            out = prim(*per, **params)
            rows.append(P.reshape(out, new_shape=(1,) + tuple(out.shape)))
        return rows[0] if size == 1 else P.concatenate(*rows, axis=0)

    return rule


# ---------------------------------------------------------------- the rules


def _elementwise(prim):
    def rule(batched, *args, **params):
        return prim(*_align(batched, args)[0], **params)

    return rule


def _reduce(prim):
    return lambda batched, x, axes: prim(x, axes=_shift(axes))


def _argmax(batched, x, axis, index_dtype):
    return P.argmax(x, axis=axis + 1, index_dtype=index_dtype)


def _reshape(batched, x, new_shape):
    return P.reshape(x, new_shape=x.shape[:1] + tuple(new_shape))


def _transpose(batched, x, perm):
    return P.transpose(x, perm=(0,) + _shift(perm))


def _broadcast_in_dim(batched, x, shape, broadcast_dimensions):
    return P.broadcast_in_dim(
        x,
        shape=x.shape[:1] + tuple(shape),
        broadcast_dimensions=(0,) + _shift(broadcast_dimensions),
    )


def _slice(batched, x, start, limit, strides):
    return P.slice(
        x, start=(0,) + tuple(start), limit=x.shape[:1] + tuple(limit), strides=(1,) + strides
    )


def _rev(batched, x, axes):
    return P.rev(x, axes=_shift(axes))


def _pad(batched, x, lo, hi, interior, value):
    return P.pad(x, lo=(0,) + lo, hi=(0,) + hi, interior=(0,) + interior, value=value)


def _concatenate(batched, *xs, axis):
    return P.concatenate(*_all_batched(batched, xs), axis=axis + 1)


def _batch_index(size, rank):
    """arange(B) shaped (B, 1, ..., 1): an extra leading index selecting each example."""
    return np.arange(size, dtype=np.int64).reshape((size,) + (1,) * rank)


def _batched_indices(batched, x, indices):
    """(x, indices) for gather/scatter_add with a leading arange index over the batch."""
    size = _size(batched, (x,) + indices)
    idx, rank = _align(batched[1:], indices) if indices else ([], 0)
    return size, [_batch_index(size, rank)] + idx


def _gather(batched, x, *indices):
    if not batched[0]:  # only the indices are batched: they alone carry the batch
        return P.gather(x, *_align(batched[1:], indices)[0])
    _, idx = _batched_indices(batched, x, indices)
    return P.gather(x, *idx)


def _scatter_add(batched, g, *indices, shape):
    size, idx = _batched_indices(batched, g, indices)
    if not batched[0]:
        g = _with_batch(g, size)
    return P.scatter_add(g, *idx, shape=(size,) + tuple(shape))


def _matmul(batched, a, b):
    ba, bb = batched
    if ba and bb:
        return P.matmul(a, b)
    if ba and len(a.shape) == 3:  # (B, m, k) @ (k, n): one GEMM over B * m rows
        size, m, k = a.shape
        out = P.matmul(P.reshape(a, new_shape=(size * m, k)), b)
        return P.reshape(out, new_shape=(size, m, b.shape[-1]))
    if bb and len(b.shape) == 3:  # (m, k) @ (B, k, n): one GEMM over B * n columns
        size, k, n = b.shape
        cols = P.reshape(P.transpose(b, perm=(1, 0, 2)), new_shape=(k, size * n))
        out = P.reshape(P.matmul(a, cols), new_shape=(a.shape[0], size, n))
        return P.transpose(out, perm=(1, 0, 2))
    return P.matmul(*_all_batched(batched, (a, b)))


def _folded_x(prim, *shape_params):
    """Rule for conv/pool primitives whose first operand is (N, ...): fold B into N.
    Batched second operands (weights) fall back to one equation per example."""

    def rule(batched, x, *rest, **params):
        if any(batched[1:]):
            return _unrolled(prim)(batched, x, *rest, **params)
        for name in shape_params:  # an output-shape parameter gains the folded batch
            shape = params[name]
            params = dict(params, **{name: (x.shape[0] * shape[0],) + tuple(shape[1:])})
        b, n = x.shape[:2]
        out = prim(P.reshape(x, new_shape=(b * n,) + tuple(x.shape[2:])), *rest, **params)
        return P.reshape(out, new_shape=(b, n) + tuple(out.shape[1:]))

    return rule


def _pool_pair(prim):
    """max_pool2d_select/scatter: both operands are (N, C, H, W) images: fold both."""

    def rule(batched, x, t, **params):
        x, t = _all_batched(batched, (x, t))
        b, n = x.shape[:2]
        out = prim(
            P.reshape(x, new_shape=(b * n,) + tuple(x.shape[2:])),
            P.reshape(t, new_shape=(b * n,) + tuple(t.shape[2:])),
            **params,
        )
        return P.reshape(out, new_shape=(b, n) + tuple(out.shape[1:]))

    return rule


def _random_bits(batched, key, counts, **params):
    if not batched[0]:  # bits are elementwise in the counters
        return P.random_bits(key, counts, **params)
    return _unrolled(P.random_bits)(batched, key, counts, **params)


_ELEMENTWISE = (
    "neg exp log log1p tanh sin cos sqrt abs sign stop_gradient add sub mul div pow max min "
    "gt ge lt le eq ne select cast"
).split()

RULES = {name: _elementwise(P.REGISTRY[name]) for name in _ELEMENTWISE}
RULES.update(
    reduce_sum=_reduce(P.reduce_sum),
    reduce_max=_reduce(P.reduce_max),
    reduce_min=_reduce(P.reduce_min),
    logsumexp=_reduce(P.logsumexp),
    log_softmax=_reduce(P.log_softmax),
    softmax=_reduce(P.softmax),
    argmax=_argmax,
    reshape=_reshape,
    transpose=_transpose,
    broadcast_in_dim=_broadcast_in_dim,
    slice=_slice,
    rev=_rev,
    pad=_pad,
    concatenate=_concatenate,
    gather=_gather,
    scatter_add=_scatter_add,
    matmul=_matmul,
    # Batched weights have no loop-free rule without grouped convolution: unrolled.
    conv2d=_folded_x(P.conv2d),
    conv2d_input_grad=_folded_x(P.conv2d_input_grad, "x_shape"),
    # A per-example filter gradient sums over each example's own images: unrolled.
    conv2d_filter_grad=_unrolled(P.conv2d_filter_grad),
    max_pool2d=_folded_x(P.max_pool2d),
    max_pool2d_select=_pool_pair(P.max_pool2d_select),
    max_pool2d_scatter=_pool_pair(P.max_pool2d_scatter),
    avg_pool2d=_folded_x(P.avg_pool2d),
    avg_pool2d_transpose=_folded_x(P.avg_pool2d_transpose, "x_shape"),
    random_bits=_random_bits,
)
# Primitives without a batching rule, with the reason (none at present).
UNSUPPORTED = {}


# ---------------------------------------------------------------- the graph transform


def _batch_into_builder(graph, inputs, batched_in):
    """Re-emit ``graph`` batched into the current builder: (outputs, their batched flags)."""
    env = dict(zip(graph.constvars + graph.invars, inputs))
    batched = {v for v, b in zip(graph.constvars + graph.invars, batched_in) if b}

    def read(atom):
        return env[atom] if isinstance(atom, Var) else atom.value

    for eqn in graph.eqns:
        (out,) = eqn.outputs
        args = [read(a) for a in eqn.inputs]
        flags = tuple(isinstance(a, Var) and a in batched for a in eqn.inputs)
        if any(flags):
            rule = RULES.get(eqn.prim.name)
            if rule is None:
                raise NotImplementedError(
                    f"vmap: no batching rule for {eqn.prim.name}: "
                    f"{UNSUPPORTED.get(eqn.prim.name, 'unknown primitive')} at {user_frame()}"
                )
            env[out] = rule(flags, *args, **eqn.params)
            batched.add(out)
        else:
            env[out] = eqn.prim(*args, **eqn.params)
    outs = [read(a) for a in graph.outvars]
    return outs, tuple(isinstance(a, Var) and a in batched for a in graph.outvars)


def _batched_graph(graph, batched_mask, size):
    """(batched graph, which outputs are batched); unbatched outputs keep their shape."""
    with Builder() as b:
        inputs = [
            b.new_input(((size,) if m else ()) + v.shape, v.dtype, weak=v.weak)
            for v, m in zip(graph.constvars + graph.invars, batched_mask)
        ]
        outs, out_batched = _batch_into_builder(graph, inputs, batched_mask)
        return b.build(outs), out_batched


def batch_graph(graph, batched_mask, size):
    """The graph computing ``graph`` on a batch of ``size`` examples.

    Inputs: ``graph``'s constants and inputs, those with ``batched_mask[k]`` carrying an
    extra leading batch axis. Outputs: ``graph``'s outputs, each with a leading batch axis.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> g = fg.make_graph(lambda x: fnp.sum(x))(fnp.ones(3))
    >>> [v.shape for v in batch_graph(g, (True,), 5).outvars]
    [(5,)]
    """
    with Builder() as b:
        inputs = [
            b.new_input(((size,) if m else ()) + v.shape, v.dtype, weak=v.weak)
            for v, m in zip(graph.constvars + graph.invars, batched_mask)
        ]
        outs, out_batched = _batch_into_builder(graph, inputs, batched_mask)
        outs = [o if ob else _with_batch(o, size) for o, ob in zip(outs, out_batched)]
        return b.build(outs)


_cache = OrderedDict()


def _cached_batched_graph(graph, batched_mask, size):
    key = (graph, batched_mask, size)
    hit = _cache.get(key)
    if hit is None:
        hit = _cache[key] = _batched_graph(graph, batched_mask, size)
        if len(_cache) > 512:
            _cache.popitem(last=False)
    return hit


# ---------------------------------------------------------------- vmap


def _prefix_leaves(who, prefix, full, where):
    """Broadcast the pytree prefix ``prefix`` (leaves int or None) to ``full``'s leaves."""
    if prefix is None or isinstance(prefix, int):
        return [prefix] * len(tree.leaves(full))
    p_leaves = tree.leaves(prefix, is_leaf=lambda n: n is None)
    subtrees = _flatten_up_to(prefix, full)
    if subtrees is None or len(subtrees) != len(p_leaves):
        raise ValueError(
            f"vmap: {who}={prefix!r} is not a pytree prefix of {where} "
            f"(structure {tree.structure(full)}) at {user_frame()}"
        )
    out = []
    for axis, sub in zip(p_leaves, subtrees):
        if axis is not None and not isinstance(axis, int):
            raise TypeError(
                f"vmap: {who} entries must be int or None, got {axis!r} at {user_frame()}"
            )
        out.extend([axis] * len(tree.leaves(sub)))
    return out


def _flatten_up_to(prefix, full):
    """The subtrees of ``full`` at the leaves of ``prefix``, or None if it is no prefix."""
    if prefix is None or isinstance(prefix, int):
        return [full]
    p_children, p_td = tree.flatten(prefix, is_leaf=lambda n: n is not prefix)
    f_children, f_td = tree.flatten(full, is_leaf=lambda n: n is not full)
    if type(prefix) is not type(full) or len(p_children) != len(f_children):
        return None
    if isinstance(prefix, dict) and sorted(prefix) != sorted(full):
        return None
    out = []
    for p, f in zip(p_children, f_children):
        sub = _flatten_up_to(p, f)
        if sub is None:
            return None
        out.extend(sub)
    return out


def _in_axes_per_leaf(fun, in_axes, args):
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if in_axes is None or isinstance(in_axes, int):
        per_arg = (in_axes,) * len(args)
    elif isinstance(in_axes, tuple) and len(in_axes) == len(args):
        per_arg = in_axes
    else:
        raise ValueError(
            f"vmap: in_axes={in_axes!r} must be an int, None, or a tuple with one entry per "
            f"positional argument ({len(args)}) at {user_frame()}"
        )
    axes = []
    for i, (spec, arg) in enumerate(zip(per_arg, args)):
        axes.extend(_prefix_leaves("in_axes", spec, arg, f"argument {arg_name(fun, i)}"))
    return axes


def vmap(fun, in_axes=0, out_axes=0):
    """Vectorize ``fun`` over an axis of its arguments, with JAX's semantics.

    Args:
      fun: a function of pytrees of arrays.
      in_axes: the mapped axis of each argument: an int, None (broadcast: not mapped),
        or a tuple with one pytree prefix per positional argument. Keyword arguments are
        mapped along axis 0.
      out_axes: where the batch axis goes in each output (int, None or a pytree prefix);
        None requires the output not to depend on the mapped arguments.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.vmap(lambda x, y: fnp.dot(x, y), in_axes=(0, None))(fnp.ones((3, 2)), fnp.ones(2))
    array([2., 2., 2.])
    """

    @functools.wraps(fun)
    def vmapped(*args, **kwargs):
        leaves = tree.flatten_with_path(tuple(args) + ((kwargs,) if kwargs else ()))[0]
        axes = _in_axes_per_leaf(fun, in_axes, args) + [0] * (len(leaves) - _n_leaves(args))
        size, example = _example_args(fun, leaves, axes, len(args))
        ex_args = tree.unflatten(tree.structure(tuple(args)), example[: _n_leaves(args)])
        ex_kwargs = tree.unflatten(tree.structure(kwargs), example[_n_leaves(args) :])
        traced = trace(fun, ex_args, ex_kwargs, abstract=True)
        inputs, mask = [], []
        for (_, leaf), axis in zip(leaves, axes):
            if is_arraylike(leaf):
                inputs.append(leaf if axis is None or axis == 0 else fnp.moveaxis(leaf, axis, 0))
                mask.append(axis is not None)
        graph = traced.graph
        full_mask = (False,) * len(graph.constvars) + tuple(mask)
        batched, out_batched = _cached_batched_graph(graph, full_mask, size)
        outs = runtime.call(batched, batched.consts, list(graph.consts) + inputs)
        out_axes_leaves = _prefix_leaves(
            "out_axes", out_axes, traced.out_tree.unflatten(outs), "the output"
        )
        results = [
            _place_output(o, b, axis, size, k)
            for k, (o, b, axis) in enumerate(zip(outs, out_batched, out_axes_leaves))
        ]
        return traced.out_tree.unflatten(results)

    return vmapped


def _n_leaves(args):
    return len(tree.leaves(tuple(args)))


def _example_args(fun, leaves, axes, nargs):
    """The batch size and per-example stand-ins (mapped axis removed) for each leaf."""
    sizes, example = [], []
    for (path, leaf), axis in zip(leaves, axes):
        where = _where(fun, path, nargs)
        if axis is None or not is_arraylike(leaf):
            example.append(leaf)
            continue
        shape = np.shape(leaf)
        if not -len(shape) <= axis < len(shape):
            raise ShapeError(
                f"vmap: in_axes maps {where} of shape {shape} along axis {axis}, which is out "
                f"of range for its rank {len(shape)} at {user_frame()}"
            )
        axis %= len(shape)
        sizes.append((where, shape, axis))
        dtype = leaf.dtype if hasattr(leaf, "dtype") else np.result_type(leaf)
        example.append(np.broadcast_to(np.zeros((), dtype), shape[:axis] + shape[axis + 1 :]))
    if not sizes:
        raise ValueError(
            f"vmap: in_axes={axes!r} maps no array argument; map at least one at {user_frame()}"
        )
    if len({shape[axis] for _, shape, axis in sizes}) > 1:
        described = ", ".join(
            f"{where} of shape {shape} mapped along axis {axis} (size {shape[axis]})"
            for where, shape, axis in sizes
        )
        raise ShapeError(
            f"vmap: the mapped axes have different sizes: {described} at {user_frame()}"
        )
    return sizes[0][1][sizes[0][2]], example


def _where(fun, path, nargs):
    name = f"argument {arg_name(fun, path[0])}" if path[0] < nargs else "keyword arguments"
    rest = tree.keystr(path[1:]) if len(path) > 1 else ""
    return name + (f" at {rest}" if rest else "")


def _place_output(out, batched, axis, size, k):
    if axis is None:
        if batched:
            raise ValueError(
                f"vmap: out_axes=None for output {k}, but it depends on a mapped argument "
                f"(it differs per example) at {user_frame()}"
            )
        return out
    if not batched:
        out = fnp.broadcast_to(out, (size,) + tuple(np.shape(out)))
    ndim = len(np.shape(out))
    if not -ndim <= axis < ndim:
        raise ShapeError(
            f"vmap: out_axes={axis} is out of range for output {k} of rank {ndim} "
            f"(with the batch axis) at {user_frame()}"
        )
    return out if axis % ndim == 0 else fnp.moveaxis(out, 0, axis % ndim)


__all__ = ["RULES", "UNSUPPORTED", "batch_graph", "vmap"]
