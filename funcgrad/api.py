"""The user-facing transforms: grad, value_and_grad, vjp, jvp, jacrev, jacfwd, hessian,
vmap and stop_gradient, on top of the graph transforms (autodiff.py, batching.py).

Outside ``jit``, each call re-traces the function (so Python control flow on values
works), and the derived graph is cached by the forward graph's structure. Every 0-d
output comes back as a NumPy scalar (:func:`core.handed_back`).
"""

import functools
import math

import numpy as np

from . import numpy as fnp
from . import runtime, tree
from .autodiff import derive
from .batching import batched_graph
from .core import Tracer, aval_str, handed_back, is_float
from .errors import DtypeError, ShapeError, user_frame
from .tracing import arg_name, input_leaves, is_arraylike, trace

# ---------------------------------------------------------------- differentiation


def _run(derived, traced, args_flat, extra):
    """Run a derived graph on the traced graph's constants, the inputs and ``extra``; 0-d
    results as NumPy scalars (:func:`core.handed_back`: the rule for every transform)."""
    outs = runtime.call(derived, derived.consts, list(traced.graph.consts) + args_flat + extra)
    return [handed_back(o) for o in outs]


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


def _holds_tracer(x):
    return any(isinstance(leaf, Tracer) for leaf in tree.leaves(x))


def _held_fixed(fun, args, kwargs, nums):
    """What ``grad`` does not differentiate passes through as it is (an int step counter
    stays an int, as in JAX and autograd), unless it holds an enclosing trace's values:
    ``(fun with the keyword arguments bound, remaining kwargs, fixed positions)``."""
    fixed = frozenset(i for i, a in enumerate(args) if i not in nums and not _holds_tracer(a))
    if kwargs and not _holds_tracer(kwargs):
        fun, kwargs = functools.wraps(fun)(functools.partial(fun, **kwargs)), {}
    return fun, kwargs, fixed


def _trace_scalar(who, fun, args, kwargs, has_aux, static=None):
    """Trace ``fun`` and check that it returns a float scalar (first, with has_aux)."""
    traced = trace(fun, args, kwargs, static=static)
    position = traced.out_tree.unflatten(list(range(traced.out_tree.num_leaves)))
    if has_aux:
        if not (isinstance(position, (tuple, list)) and len(position) == 2):
            raise TypeError(
                f"{who}(has_aux=True): the function must return a pair (output, aux) "
                f"({user_frame()})"
            )
        position = position[0]
    out = traced.graph.outvars[0] if isinstance(position, int) else None
    if out is not None and out.dtype.kind == "c":
        raise TypeError(
            f"{who}: the function returns a complex value ({aval_str(out.shape, out.dtype)}); "
            "grad needs a real scalar (complex differentiation is not supported) "
            f"({user_frame()})"
        )
    if out is None or out.shape != () or not is_float(out.dtype):
        shown = aval_str(out.shape, out.dtype) if out is not None else "a pytree"
        raise ShapeError(
            f"{who}: the function must return a scalar floating-point value, got {shown}: "
            f"use jacobian or vjp for non-scalar outputs ({user_frame()})"
        )
    return traced


def value_and_grad(fun, argnums=0, has_aux=False):
    """Return a function computing ``fun`` and its gradient with respect to ``argnums``.

    Gradients have the pytree structure and dtypes of the differentiated arguments. The
    value, and a gradient of a 0-d argument, come back as NumPy scalars, as every
    transformation's 0-d outputs do (:func:`core.handed_back` states the rule).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.value_and_grad(lambda x: fnp.sum(x ** 2))(fnp.array([1.0, 2.0]))
    (np.float64(5.0), array([2., 4.]))
    """

    @functools.wraps(fun)
    def value_and_grad_fun(*args, **kwargs):
        single, nums = _argnums(fun, argnums, len(args))
        _check_differentiable("grad", fun, args, nums)
        f, kwargs, fixed = _held_fixed(fun, args, kwargs, nums)
        traced = _trace_scalar("grad", f, args, kwargs, has_aux, fixed)
        wrt = tuple(a in nums for a in traced.arg_of_input)
        flat_args = input_leaves(args, kwargs, fixed)
        derived = derive("vjp", traced.graph, wrt)
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
    np.float64(0.0)
    >>> fg.grad(fg.grad(lambda x: x ** 3))(2.0)
    np.float64(12.0)
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
    (np.float64(1.0),)
    """
    nums = tuple(range(len(primals)))
    _check_differentiable("vjp", fun, primals, nums)
    traced = trace(fun, primals)
    flat_args = _input_values(primals, None)
    outs = [handed_back(o) for o in runtime.call(traced.graph, traced.graph.consts, flat_args)]
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
        results = _run(derive("vjp", traced.graph, wrt), traced, flat_args, ct_leaves)
        grads = results[len(outs) :]
        return tuple(_split_grads(traced, nums, grads))

    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def jvp(fun, primals, tangents):
    """Forward mode: ``(fun(*primals), J @ tangents)``.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.jvp(fnp.exp, (0.0,), (2.0,))
    (np.float64(1.0), np.float64(2.0))
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
    results = _run(derive("jvp", traced.graph, wrt), traced, flat_args, t_flat)
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
    return handed_back(fnp.reshape(batch[offset : offset + size], lead + tail))


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
                cols.append(handed_back(fnp.transpose(r, perm)))
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


def elementwise_grad(fun, argnum=0):
    """The derivative of an elementwise ``fun`` at every element (autograd's name): the
    VJP with a cotangent of ones, so for a function whose output element i depends on
    input element i only, element i of the result is d out_i / d x_i.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> fg.elementwise_grad(fnp.sin)(fnp.array([0.0, fnp.pi]))
    array([ 1., -1.])
    """

    @functools.wraps(fun)
    def elementwise_grad_fun(*args, **kwargs):
        _, nums = _argnums(fun, argnum, len(args))
        out, vjp_fn = vjp(_restrict(fun, args, kwargs, nums), args[nums[0]])
        return vjp_fn(tree.map(fnp.ones_like, out))[0]

    return elementwise_grad_fun


def hessian_vector_product(fun, argnum=0):
    """``hvp(*args, vector)``: the Hessian of scalar ``fun`` in argument ``argnum`` times
    ``vector``, by forward mode over reverse mode, without forming the Hessian.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> hvp = fg.hessian_vector_product(lambda x: fnp.sum(x ** 3))
    >>> hvp(fnp.array([1.0, 2.0]), fnp.array([1.0, 0.0]))
    array([6., 0.])
    """

    @functools.wraps(fun)
    def hvp_fun(*args_and_vector, **kwargs):
        *args, vector = args_and_vector
        _, nums = _argnums(fun, argnum, len(args))
        g = grad(_restrict(fun, args, kwargs, nums))
        return jvp(g, (args[nums[0]],), (vector,))[1]

    return hvp_fun


def stop_gradient(x):
    """Treat ``x`` (a pytree) as a constant for differentiation."""
    return tree.map(fnp.stop_gradient, x)


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
        batched, out_batched = batched_graph(graph, full_mask, size)
        outs = runtime.call(batched, batched.consts, list(graph.consts) + inputs)
        out_axes_leaves = _prefix_leaves(
            "out_axes", out_axes, traced.out_tree.unflatten(outs), "the output"
        )
        results = [
            handed_back(_place_output(o, b, axis, size, k))
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


__all__ = [
    "elementwise_grad",
    "grad",
    "hessian_vector_product",
    "hessian",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "stop_gradient",
    "value_and_grad",
    "vjp",
    "vmap",
]
