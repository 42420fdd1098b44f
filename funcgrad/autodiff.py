"""Automatic differentiation as graph-to-graph transforms, and the user-facing API.

:func:`vjp_graph` walks a forward graph backwards and emits each primitive's VJP
equations; :func:`jvp_graph` walks it forwards emitting JVP equations. Both produce
ordinary graphs, so they compose: ``grad(grad(f))`` differentiates a backward graph.
Outside ``jit``, each call re-traces the function (so Python control flow on values
works), and the derived graph is cached by the forward graph's structure.
"""

import functools
import math
from collections import OrderedDict

import numpy as np

from . import numpy as fnp
from . import primitives as P
from . import runtime, tree
from .batching import vmap
from .core import Builder, Tracer, Var, aval_str, is_float
from .errors import DtypeError, ShapeError, user_frame
from .tracing import arg_name, input_leaves, trace

# ---------------------------------------------------------------- graph transforms


def _forward(graph, inputs):
    """Re-emit ``graph`` into the current builder; returns an env Var -> tracer/value."""
    env = dict(zip(graph.constvars + graph.invars, inputs))

    def read(atom):
        return env[atom] if isinstance(atom, Var) else atom.value

    for eqn in graph.eqns:
        env[eqn.outputs[0]] = eqn.prim(*map(read, eqn.inputs), **eqn.params)
    return env, read


def _active_vars(graph, wrt):
    """Variables that depend on a differentiated input through floating-point values."""
    active = {v for v, w in zip(graph.invars, wrt) if w and is_float(v.dtype)}
    for eqn in graph.eqns:
        rules = eqn.prim.vjp
        if any(a in active and rules[k] is not None for k, a in enumerate(eqn.inputs)):
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
            (out,) = eqn.outputs
            args = [read(a) for a in eqn.inputs]
            env[out] = ans = eqn.prim(*args, **eqn.params)
            ts = [tangents.get(a) if isinstance(a, Var) else None for a in eqn.inputs]
            if is_float(out.dtype) and any(t is not None for t in ts):
                t = eqn.prim.jvp(ts, ans, *args, **eqn.params)
                if t is not None:
                    tangents[out] = t
        outs = [read(a) for a in graph.outvars]
        touts = [
            tangents.get(a) if isinstance(a, Var) and a in tangents else P.zeros(a.shape, a.dtype)
            for a in graph.outvars
        ]
        return b.build(outs + touts)


_derived = OrderedDict()


def _derive(kind, graph, wrt):
    """``vjp_graph``/``jvp_graph`` of ``graph``, cached by its structure."""
    key = (kind, graph, wrt)
    hit = _derived.get(key)
    if hit is None:
        hit = _derived[key] = (vjp_graph if kind == "vjp" else jvp_graph)(graph, wrt)
        if len(_derived) > 512:
            _derived.popitem(last=False)
    return hit


def _run(derived, traced, args_flat, extra):
    """Run a derived graph on the traced graph's constants, the inputs and ``extra``."""
    return runtime.call(derived, derived.consts, list(traced.graph.consts) + args_flat + extra)


# ---------------------------------------------------------------- the user API


def _argnums(fun, argnums, nargs):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for n in nums:
        if not isinstance(n, int) or not -nargs <= n < nargs:
            raise ValueError(
                f"argnums={argnums!r} is out of range for {nargs} positional argument(s) "
                f"of {getattr(fun, '__name__', 'the function')} at {user_frame()}"
            )
    return single, tuple(n % nargs for n in nums)


def _check_differentiable(who, fun, args, nums):
    for n in nums:
        for path, leaf in tree.flatten_with_path(args[n])[0]:
            dtype = getattr(leaf, "dtype", None)
            if dtype is None and isinstance(leaf, float):
                continue
            where = f"argument {arg_name(fun, n)}" + (f" at {tree.keystr(path)}" if path else "")
            if dtype is None:
                raise TypeError(
                    f"{who}: {where} has type {type(leaf).__name__}, not an array: only "
                    f"floating-point arrays can be differentiated ({user_frame()})"
                )
            if not is_float(dtype):
                raise DtypeError(
                    f"{who}: {where} has dtype {np.dtype(dtype).name}: only floating-point "
                    "inputs can be differentiated; convert it with .astype(float) or leave "
                    f"it out of argnums ({user_frame()})"
                )


def _input_values(args, kwargs):
    return input_leaves(args, kwargs)


def _split_grads(traced, nums, grads):
    """Regroup flat gradients (in input order) into one pytree per entry of ``nums``."""
    by_arg, pos = {}, 0
    for n in sorted(set(nums)):
        count = traced.arg_of_input.count(n)
        by_arg[n] = traced.in_trees[n].unflatten(grads[pos : pos + count])
        pos += count
    return [by_arg[n] for n in nums]


def _trace_scalar(who, fun, args, kwargs, has_aux):
    """Trace ``fun`` and check that it returns a float scalar (first, with has_aux)."""
    traced = trace(fun, args, kwargs)
    position = traced.out_tree.unflatten(list(range(traced.out_tree.num_leaves)))
    if has_aux:
        if not (isinstance(position, (tuple, list)) and len(position) == 2):
            raise TypeError(
                f"{who}(has_aux=True): the function must return a pair (output, aux) "
                f"({user_frame()})"
            )
        position = position[0]
    out = traced.graph.outvars[0] if isinstance(position, int) else None
    if out is None or out.shape != () or not is_float(out.dtype):
        shown = aval_str(out.shape, out.dtype) if out is not None else "a pytree"
        raise ShapeError(
            f"{who}: the function must return a scalar floating-point value, got {shown}: "
            f"use jacobian or vjp for non-scalar outputs ({user_frame()})"
        )
    return traced


def value_and_grad(fun, argnums=0, has_aux=False):
    """Return a function computing ``fun`` and its gradient with respect to ``argnums``.

    Gradients have the pytree structure and dtypes of the differentiated arguments.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.value_and_grad(lambda x: fnp.sum(x ** 2))(fnp.array([1.0, 2.0]))
    (array(5.), array([2., 4.]))
    """

    @functools.wraps(fun)
    def value_and_grad_fun(*args, **kwargs):
        single, nums = _argnums(fun, argnums, len(args))
        _check_differentiable("grad", fun, args, nums)
        traced = _trace_scalar("grad", fun, args, kwargs, has_aux)
        wrt = tuple(a in nums for a in traced.arg_of_input)
        flat_args = _input_values(args, kwargs)
        derived = _derive("vjp", traced.graph, wrt)
        outvars = traced.graph.outvars
        seed = [np.ones((), outvars[0].dtype)] + [np.zeros(v.shape, v.dtype) for v in outvars[1:]]
        results = _run(derived, traced, flat_args, seed)
        outs, grads = results[: len(outvars)], results[len(outvars) :]
        per_arg = _split_grads(traced, nums, grads)
        g = per_arg[0] if single else tuple(per_arg)
        if has_aux:
            value, aux = traced.out_tree.unflatten(outs)
            return (value, aux), g
        return outs[0], g

    return value_and_grad_fun


def grad(fun, argnums=0, has_aux=False):
    """Return a function computing the gradient of scalar-valued ``fun``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.grad(lambda x: fnp.sin(x) * x)(0.0)
    array(0.)
    >>> fg.grad(fg.grad(lambda x: x ** 3))(2.0)
    array(12.)
    """
    vg = value_and_grad(fun, argnums, has_aux)

    @functools.wraps(fun)
    def grad_fun(*args, **kwargs):
        (_, aux), g = vg(*args, **kwargs) if has_aux else ((None, None), vg(*args, **kwargs)[1])
        return (g, aux) if has_aux else g

    return grad_fun


def vjp(fun, *primals, has_aux=False):
    """Evaluate ``fun(*primals)`` and return ``(out, vjp_fn)`` (plus ``aux`` if has_aux).

    ``vjp_fn(cotangent)`` returns a tuple with one gradient per primal.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> out, f_vjp = fg.vjp(fnp.sin, 0.0)
    >>> f_vjp(1.0)
    (array(1.),)
    """
    nums = tuple(range(len(primals)))
    _check_differentiable("vjp", fun, primals, nums)
    traced = trace(fun, primals)
    flat_args = _input_values(primals, None)
    outs = runtime.call(traced.graph, traced.graph.consts, flat_args)
    out_tree = traced.out_tree
    if has_aux:
        out, aux = out_tree.unflatten(outs)
    else:
        out = out_tree.unflatten(outs)

    def vjp_fn(cotangent):
        if has_aux:
            cotangent = (cotangent, tree.map(np.zeros_like, aux))
        ct_leaves, ct_tree = tree.flatten(cotangent)
        if ct_tree != out_tree:
            raise ValueError(
                f"vjp_fn: the cotangent's structure {ct_tree} does not match the output's "
                f"{out_tree} at {user_frame()}"
            )
        for c, v in zip(ct_leaves, traced.graph.outvars):
            if np.shape(c) != v.shape:
                raise ShapeError(
                    f"vjp_fn: cotangent of shape {np.shape(c)} for an output of shape "
                    f"{v.shape} at {user_frame()}"
                )
        wrt = (True,) * len(traced.arg_of_input)
        ct_leaves = [
            c if isinstance(c, Tracer) else np.asarray(c, v.dtype)
            for c, v in zip(ct_leaves, traced.graph.outvars)
        ]
        results = _run(_derive("vjp", traced.graph, wrt), traced, flat_args, ct_leaves)
        grads = results[len(outs) :]
        return tuple(_split_grads(traced, nums, grads))

    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def jvp(fun, primals, tangents):
    """Forward mode: ``(fun(*primals), J @ tangents)``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.jvp(fnp.exp, (0.0,), (2.0,))
    (array(1.), array(2.))
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    nums = tuple(range(len(primals)))
    _check_differentiable("jvp", fun, primals, nums)
    p_leaves, p_tree = tree.flatten(primals)
    t_leaves, t_tree = tree.flatten(tangents)
    if p_tree != t_tree:
        raise ValueError(f"jvp: primals {p_tree} and tangents {t_tree} differ in structure")
    for p, t in zip(p_leaves, t_leaves):
        if np.shape(p) != np.shape(t):
            raise ShapeError(
                f"jvp: tangent of shape {np.shape(t)} for a primal of shape {np.shape(p)} "
                f"at {user_frame()}"
            )
    traced = trace(fun, primals)
    flat_args = _input_values(primals, None)
    wrt = (True,) * len(flat_args)
    t_flat = [
        t if isinstance(t, Tracer) else np.asarray(t, dtype=np.result_type(p))
        for p, t in zip(p_leaves, t_leaves)
    ]
    results = _run(_derive("jvp", traced.graph, wrt), traced, flat_args, t_flat)
    n = len(traced.graph.outvars)
    return traced.out_tree.unflatten(results[:n]), traced.out_tree.unflatten(results[n:])


def _restrict(fun, args, kwargs, nums):
    """``fun`` as a function of the arguments ``nums`` only, the others held fixed."""

    def restricted(*dyn):
        full = list(args)
        for n, d in zip(nums, dyn):
            full[n] = d
        return fun(*full, **kwargs)

    return restricted


def _basis(leaves):
    """Rows of the identity over all leaves' elements, split into one batch per leaf."""
    shapes = [tuple(np.shape(x)) for x in leaves]
    sizes = [math.prod(s) for s in shapes]
    total, out, offset = sum(sizes), [], 0
    for x, shape, size in zip(leaves, shapes, sizes):
        dtype = x.dtype if hasattr(x, "dtype") else np.result_type(x)
        eye = np.eye(total, dtype=dtype)[:, offset : offset + size]
        out.append(eye.reshape((total,) + shape))
        offset += size
    return out, shapes, sizes


def _rows(batch, offset, size, lead, tail):
    """Rows ``offset:offset+size`` of a (total, *tail) batch, reshaped to lead + tail."""
    return fnp.reshape(batch[offset : offset + size], lead + tail)


def jacrev(fun, argnums=0):
    """The Jacobian of ``fun`` by reverse mode: one VJP per output element, vectorized.

    Each leaf of the result has shape ``out.shape + in.shape``; the result has the
    output's structure, and inside it the structure of the differentiated arguments.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.jacrev(lambda x: x * x)(fnp.array([1.0, 3.0]))
    array([[2., 0.],
           [0., 6.]])
    """

    @functools.wraps(fun)
    def jacrev_fun(*args, **kwargs):
        single, nums = _argnums(fun, argnums, len(args))
        _check_differentiable("jacrev", fun, args, nums)
        out, vjp_fn = vjp(_restrict(fun, args, kwargs, nums), *[args[n] for n in nums])
        out_leaves, out_tree = tree.flatten(out)
        basis, shapes, sizes = _basis(out_leaves)
        rows = vmap(vjp_fn)(out_tree.unflatten(basis))  # per arg: leaves (total, *in.shape)
        per_out, offset = [], 0
        for shape, size in zip(shapes, sizes):
            per_arg = tree.map(lambda r: _rows(r, offset, size, shape, tuple(r.shape[1:])), rows)
            per_out.append(per_arg[0] if single else tuple(per_arg))
            offset += size
        return out_tree.unflatten(per_out)

    return jacrev_fun


def jacfwd(fun, argnums=0):
    """The Jacobian of ``fun`` by forward mode: one JVP per input element, vectorized.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.jacfwd(lambda x: fnp.sin(x))(fnp.array([0.0, 0.0]))
    array([[1., 0.],
           [0., 1.]])
    """

    @functools.wraps(fun)
    def jacfwd_fun(*args, **kwargs):
        single, nums = _argnums(fun, argnums, len(args))
        _check_differentiable("jacfwd", fun, args, nums)
        primals = tuple(args[n] for n in nums)
        in_leaves, in_tree = tree.flatten(primals)
        basis, shapes, sizes = _basis(in_leaves)
        f = _restrict(fun, args, kwargs, nums)
        touts = vmap(lambda t: jvp(f, primals, t)[1])(in_tree.unflatten(basis))
        t_leaves, out_tree = tree.flatten(touts)  # leaves (total, *out.shape)
        per_out = []
        for t in t_leaves:
            tail, cols, offset = tuple(t.shape[1:]), [], 0
            for shape, size in zip(shapes, sizes):
                r = _rows(t, offset, size, shape, tail)  # in.shape + out.shape
                perm = tuple(range(len(shape), len(shape) + len(tail))) + tuple(range(len(shape)))
                cols.append(fnp.transpose(r, perm))
                offset += size
            per_arg = in_tree.unflatten(cols)
            per_out.append(per_arg[0] if single else tuple(per_arg))
        return out_tree.unflatten(per_out)

    return jacfwd_fun


jacobian = jacrev


def hessian(fun, argnums=0):
    """The Hessian of scalar ``fun``: forward mode over reverse mode.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.hessian(lambda x: fnp.sum(x ** 3))(fnp.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacfwd(jacrev(fun, argnums), argnums)


def stop_gradient(x):
    """Treat ``x`` (a pytree) as a constant for differentiation."""
    return tree.map(fnp.stop_gradient, x)


__all__ = [
    "grad",
    "hessian",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "jvp_graph",
    "stop_gradient",
    "value_and_grad",
    "vjp",
    "vjp_graph",
]
