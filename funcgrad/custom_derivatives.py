"""Custom derivatives: :class:`custom_vjp` and :class:`custom_jvp`, with JAX's API.

A decorated function is traced into a graph of its own, and each of its outputs becomes a
*call* equation (``custom_vjp_call`` / ``custom_jvp_call``) in the caller's graph whose
derivative rules run the user's: ``fwd``/``bwd`` for reverse mode, the ``jvp`` rule for
forward mode (and, transposed, for reverse mode). Programs expand the calls back into the
function's own equations (``core.inline_calls``), so running one costs nothing extra.

The user's rules are traced where they are needed, as any derivative rule is: ``bwd`` (and
``fwd``, which supplies its residuals) into the backward graph, so higher-order derivatives
differentiate them in turn. Values the function reads from enclosing scopes are fine when
they are concrete arrays; a *traced* value it closes over must be passed as an argument
(its derivative could not reach the rule otherwise), which an error says.

The two call primitives live here, outside the registry of ``primitives/``: their rules
call funcgrad's transforms (``vjp`` transposes a custom JVP), which the registry must not
import, and their parameters hold a graph, so the registry's per-primitive table (drawn
operands against a NumPy formula) does not fit them; ``tests/test_custom_derivatives.py``
holds their contract.
"""

import functools

import numpy as np

from . import numpy as fnp
from . import primitives as P
from . import tree
from .core import Graph, Literal, Primitive, Tracer, eval_graph, handed_back, outside_traces
from .errors import ConcretizationError, ShapeError, user_frame
from .primitives import PerArgument, _unrolled
from .tracing import input_leaves, is_arraylike, trace


class _Rule:
    """What a call equation needs beyond its operands: the decorated function, its static
    arguments and pytree structures. Hashed by value, so that the graphs of two calls with
    the same structure are equal (their derived graphs and programs are cached once)."""

    __slots__ = ("custom", "static", "in_trees", "out_tree", "n_consts", "_key")

    def __init__(self, custom, static, in_trees, out_tree, n_consts):
        self.custom, self.static = custom, static
        self.in_trees, self.out_tree, self.n_consts = in_trees, out_tree, n_consts
        try:
            self._key = (id(custom), static, in_trees, out_tree, n_consts)
            hash(self._key)
        except TypeError:
            raise TypeError(
                f"{custom.__name__}: the arguments named in nondiff_argnums must be hashable "
                f"(ints, strings, tuples, functions), got {static!r} at {user_frame()}"
            ) from None

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, _Rule) and self._key == other._key and self.custom is other.custom

    def __repr__(self):
        return self.custom.__name__

    def args(self, operands):
        """The decorated function's positional arguments from a call's operands: the
        differentiable pytrees rebuilt, the static ones put back in their places."""
        leaves, pos, rebuilt = list(operands[self.n_consts :]), 0, []
        for td in self.in_trees:
            rebuilt.append(td.unflatten(leaves[pos : pos + td.num_leaves]))
            pos += td.num_leaves
        nums = self.custom.nondiff_argnums
        dynamic = iter(rebuilt)
        count = len(self.in_trees) + len(self.static)
        return [self.static[nums.index(i)] if i in nums else next(dynamic) for i in range(count)]

    def dynamic(self, args):
        return [a for i, a in enumerate(args) if i not in self.custom.nondiff_argnums]


def _call_shape(*operands, fun, rule, index):
    out = fun.outvars[index]
    if isinstance(out, Literal):
        return np.shape(out.value), out.dtype
    return out.shape, out.dtype


def _call_impl(*operands, fun, rule, index):
    return eval_graph(fun, [], list(operands))[index]


def _once_per_equation(rules_for_all):
    """Per-argument VJP rules that share one evaluation of ``rules_for_all`` (the autodiff
    walk asks for each argument's cotangent in turn, with the same operands)."""
    last = []

    def make(k):
        def rule(g, ans, *operands, **params):
            key = (g, ans, *operands)
            same = last and len(last[0]) == len(key) and all(a is b for a, b in zip(last[0], key))
            if not same:
                last[:] = [key, rules_for_all(g, ans, *operands, **params)]
            return last[1][k]

        return rule

    return PerArgument(make)


def _zeros_like_outputs(fun):
    return [
        fnp.zeros(np.shape(v.value) if isinstance(v, Literal) else v.shape, v.dtype)
        for v in fun.outvars
    ]


def _check_cotangents(custom, rule, cts, args):
    """bwd's result as one cotangent (or None) per operand of the call."""
    dynamic = rule.dynamic(args)
    if not isinstance(cts, (tuple, list)) or len(cts) != len(dynamic):
        raise TypeError(
            f"{custom.__name__}: bwd must return a tuple with one cotangent per argument "
            f"that is not in nondiff_argnums ({len(dynamic)}), got {type(cts).__name__} of "
            f"length {len(cts) if isinstance(cts, (tuple, list)) else 'none'} at {user_frame()}"
        )
    out = [None] * rule.n_consts
    for ct, arg, td in zip(cts, dynamic, rule.in_trees):
        primal_leaves = tree.leaves(arg)
        if ct is None:
            out += [None] * len(primal_leaves)
            continue
        leaves, ct_tree = tree.flatten(ct)
        if ct_tree != td:
            raise TypeError(
                f"{custom.__name__}: bwd returned a cotangent of structure {ct_tree} for an "
                f"argument of structure {td} at {user_frame()}"
            )
        for leaf, primal in zip(leaves, primal_leaves):
            if np.shape(leaf) != np.shape(primal):
                raise ShapeError(
                    f"{custom.__name__}: bwd returned a cotangent of shape {np.shape(leaf)} for "
                    f"an argument of shape {np.shape(primal)} at {user_frame()}"
                )
        out += [fnp.astype(leaf, primal.dtype) for leaf, primal in zip(leaves, primal_leaves)]
    return out


def _no_forward_mode(tangents, ans, *operands, rule, **params):
    raise TypeError(
        f"{rule.custom.__name__} is a custom_vjp function: it has no forward-mode derivative "
        f"(jvp, jacfwd); use custom_jvp for it, or reverse mode, at {user_frame()}"
    )


def _vjp_by_bwd(g, ans, *operands, fun, rule, index):
    """Every operand's cotangent for cotangent ``g`` on output ``index``: the residuals
    from ``fwd``, then ``bwd`` with zeros for the other outputs, traced into the backward
    graph; where fwd or bwd branch on values (a Python loop to convergence), they cannot
    be traced, and run on the values as the program runs instead."""
    try:
        return _traced_bwd(g, operands, fun, rule, index)
    except ConcretizationError:  # (what the failed attempt recorded is dead code)
        return [
            custom_vjp_bwd(*operands, g, fun=fun, rule=rule, index=index, k=k)
            if k >= rule.n_consts and np.dtype(x.dtype).kind == "f"
            else None
            for k, x in enumerate(operands)
        ]


def _bwd_on_values(*operands_and_g, fun, rule, index, k):
    """fwd and bwd run on concrete values: operand ``k``'s cotangent."""
    *operands, g = operands_and_g
    with outside_traces():
        cts = _traced_bwd(g, operands, fun, rule, index)
    ct = cts[k]
    x = operands[k]
    return np.zeros(np.shape(x), x.dtype) if ct is None else np.asarray(ct, x.dtype)


def _bwd_on_values_shape(*operands_and_g, fun, rule, index, k):
    x = operands_and_g[k]
    return tuple(x.shape), x.dtype


def _not_twice(g, ans, *operands, rule, **params):
    raise TypeError(
        f"{rule.custom.__name__}: its fwd or bwd branches on values (so it runs on them as "
        f"the program runs), and such a rule cannot be differentiated again; write the "
        f"loop with fnp.where or a fixed number of steps to differentiate twice "
        f"({user_frame()})"
    )


# fwd and bwd run as a callback at run time: first-order reverse mode only.
custom_vjp_bwd = Primitive(
    "custom_vjp_bwd",
    _bwd_on_values_shape,
    _bwd_on_values,
    PerArgument(lambda k: _not_twice),
    _no_forward_mode,
)
custom_vjp_bwd.batch = _unrolled(custom_vjp_bwd)


def _traced_bwd(g, operands, fun, rule, index):
    custom = rule.custom
    args = rule.args(operands)
    pair = custom.fwd(*args)
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise TypeError(
            f"{custom.__name__}: fwd must return a pair (output, residuals), got "
            f"{type(pair).__name__} at {user_frame()}"
        )
    res = pair[1]
    cts = _zeros_like_outputs(fun)
    cts[index] = g
    ct_tree = rule.out_tree.unflatten(cts)
    static = [args[i] for i in custom.nondiff_argnums]
    return _check_cotangents(custom, rule, custom.bwd(*static, res, ct_tree), args)


custom_vjp_call = Primitive(
    "custom_vjp_call",
    _call_shape,
    _call_impl,
    _once_per_equation(_vjp_by_bwd),
    _no_forward_mode,
    traits=["call"],
)


def _flat_bwd(rule, operands):
    """bwd as a function of flat residuals and output cotangents, returning one
    cotangent per operand (zeros where bwd gave None)."""
    custom = rule.custom
    args = rule.args(operands)
    static = [args[i] for i in custom.nondiff_argnums]

    def bwd(res, cts):
        got = _check_cotangents(
            custom, rule, custom.bwd(*static, res, rule.out_tree.unflatten(cts)), args
        )
        return [fnp.zeros(np.shape(x), x.dtype) if c is None else c for c, x in zip(got, operands)]

    return bwd


def _batch_vjp_call(batched, *operands, fun, rule, index):
    """vmap of a custom_vjp function: a custom_vjp function of the batch whose function,
    fwd and bwd are vmapped (an operand the batch shares sums its cotangent over it)."""
    key = ("vjp", rule, tuple(batched))
    if key not in _batched_customs:
        axes = tuple(0 if b else None for b in batched)
        run = _vmapped_graph(fun, axes)

        def fwd(*ops):
            return run(*ops), (_vmap(lambda *o: rule.custom.fwd(*rule.args(o))[1], axes)(*ops), ops)

        def bwd(saved, cts):
            res, ops = saved
            per_example = _vmap(lambda r, c, *o: _flat_bwd(rule, o)(r, c), (0, 0, *axes))
            got = per_example(res, cts, *ops)
            return tuple(g if b else fnp.sum(g, axis=0) for g, b in zip(got, batched))

        custom = custom_vjp(run)
        custom.defvjp(fwd, bwd)
        _batched_customs[key] = custom
    return _batched_customs[key](*operands)[index]


def _batch_jvp_call(batched, *operands, fun, rule, index):
    """vmap of a custom_jvp function: a custom_jvp function of the batch whose function
    and jvp rule are vmapped (a tangent has its primal's batching)."""
    key = ("jvp", rule, tuple(batched))
    if key not in _batched_customs:
        axes = tuple(0 if b else None for b in batched)
        run = _vmapped_graph(fun, axes)
        n = len(operands)
        tangent_map = _vmap(lambda *pt: _user_jvp(rule, pt[:n], pt[n:]), axes + axes)

        def jvp(primals, tangents):
            return run(*primals), tangent_map(*primals, *tangents)

        custom = custom_jvp(run)
        custom.defjvp(jvp)
        _batched_customs[key] = custom
    return _batched_customs[key](*operands)[index]


def _vmap(fun, in_axes):
    from .api import vmap  # the transforms sit above the registry; imported when first used

    return vmap(fun, in_axes=tuple(in_axes))


def _vmapped_graph(fun, axes):
    """``fun`` (a call's graph) as a function of its operands, vmapped over ``axes``."""

    def run(*ops):
        return eval_graph(fun, [], list(ops))

    run.__name__ = "vmapped"
    return _vmap(run, axes)


_batched_customs = {}  # (rule, batched flags) -> the custom function of the batch
custom_vjp_call.batch = _batch_vjp_call


def _user_jvp(rule, operands, tangents):
    """The user's jvp rule on the call's operands, zeros for the tangents that are None."""
    custom = rule.custom
    args = rule.args(operands)
    dynamic = rule.dynamic(args)
    leaves = [
        fnp.zeros(np.shape(x), x.dtype) if t is None else t
        for x, t in zip(operands[rule.n_consts :], tangents[rule.n_consts :])
    ]
    tangent_args, pos = [], 0
    for td in rule.in_trees:
        tangent_args.append(td.unflatten(leaves[pos : pos + td.num_leaves]))
        pos += td.num_leaves
    static = [args[i] for i in custom.nondiff_argnums]
    out, tout = custom.jvp(*static, tuple(dynamic), tuple(tangent_args))
    t_leaves, t_tree = tree.flatten(tout)
    if t_tree != rule.out_tree:
        raise TypeError(
            f"{custom.__name__}: the jvp rule returned tangents of structure {t_tree} for "
            f"outputs of structure {rule.out_tree} at {user_frame()}"
        )
    return t_leaves


def _jvp_by_rule(tangents, ans, *operands, fun, rule, index):
    return _user_jvp(rule, operands, tangents)[index]


def _float_operands(operands, start=0):
    """The positions of the floating-point operands from ``start`` on (the differentiable)."""
    return [k for k in range(start, len(operands)) if np.dtype(operands[k].dtype).kind == "f"]


def _placed(base, positions, values):
    """A copy of the list ``base`` with ``values`` at ``positions``."""
    out = list(base)
    for k, v in zip(positions, values):
        out[k] = v
    return out


def _vjp_by_transposed_jvp(g, ans, *operands, fun, rule, index):
    """Reverse mode of a custom_jvp function: the VJP of its (linear) tangent map."""
    from .api import vjp  # the transforms sit above the registry; imported when first used

    diff = _float_operands(operands, rule.n_consts)
    nothing = [None] * len(operands)

    def tangent_map(*ts):
        return _user_jvp(rule, operands, _placed(nothing, diff, ts))[index]

    zeros = [fnp.zeros(np.shape(operands[k]), operands[k].dtype) for k in diff]
    _, pullback = vjp(tangent_map, *zeros)
    return _placed(nothing, diff, pullback(g))


custom_jvp_call = Primitive(
    "custom_jvp_call",
    _call_shape,
    _call_impl,
    _once_per_equation(_vjp_by_transposed_jvp),
    _jvp_by_rule,
    traits=["call"],
)
custom_jvp_call.batch = _batch_jvp_call


def _bind_calls(custom, prim, args, closures=False):
    """Trace ``custom.fun`` on ``args`` and return its outputs as call equations.
    ``closures``: traced values the function reads from enclosing scopes become operands
    (differentiated like the arguments) instead of an error."""
    nums = custom.nondiff_argnums
    for i in nums:
        if i >= len(args):
            raise TypeError(
                f"{custom.__name__}: nondiff_argnums names argument {i} but the call has "
                f"{len(args)} at {user_frame()}"
            )
    dynamic = [a if i not in nums else None for i, a in enumerate(args)]
    for i, a in enumerate(dynamic):
        if any(not is_arraylike(leaf) for leaf in tree.leaves(a)):
            raise TypeError(
                f"{custom.__name__}: argument {i} holds values that are not arrays; name it "
                f"in nondiff_argnums to pass it through as it is ({user_frame()})"
            )
    traced = trace(custom.fun, args, static=frozenset(nums))
    graph = traced.graph
    for value in graph.consts:
        if isinstance(value, Tracer) and not closures:
            raise TypeError(
                f"{custom.__name__} reads a traced value from an enclosing scope (a closure): "
                f"pass it as an argument instead, so its derivative can reach the custom "
                f"rule, at {user_frame()}"
            )
    fun = Graph([], graph.constvars + graph.invars, graph.eqns, graph.outvars)
    static = tuple(args[i] for i in nums)
    in_trees = tuple(td for i, td in enumerate(traced.in_trees) if i not in nums)
    rule = _Rule(custom, static, in_trees, traced.out_tree, len(graph.consts))
    operands = list(graph.consts) + input_leaves(dynamic)
    outs = [prim(*operands, fun=fun, rule=rule, index=i) for i in range(len(graph.outvars))]
    return traced.out_tree.unflatten([handed_back(o) for o in outs])  # (0-d: NumPy scalars)


class custom_vjp:
    """A function with a reverse-mode derivative of your own (``jax.custom_vjp``).

    ``f.defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)``; ``bwd(*nondiff_args,
    residuals, cotangent) -> one cotangent per other argument`` (None for zero). Works
    under ``grad``, ``jit``, ``vmap`` and to any order (``bwd`` is differentiated in turn);
    forward mode raises, as in JAX.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> @fg.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (fnp.clip(g, -1.0, 1.0),))
    >>> fg.grad(lambda x: 5.0 * clip_gradient(x))(2.0)
    np.float64(1.0)
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun, self.nondiff_argnums = fun, tuple(nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args):
        if self.fwd is None:
            raise TypeError(
                f"{self.__name__}: no VJP defined; call {self.__name__}.defvjp(fwd, bwd) "
                f"first ({user_frame()})"
            )
        return _bind_calls(self, custom_vjp_call, args)


class custom_jvp:
    """A function with a forward-mode derivative of your own (``jax.custom_jvp``), which
    reverse mode transposes.

    ``f.defjvp(rule)``: ``rule(*nondiff_args, primals, tangents) -> (out, tangent_out)``,
    ``primals`` and ``tangents`` tuples of the other arguments; or ``f.defjvps(*fns)``,
    one ``fn(tangent, out, *primals)`` per argument, summed.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> @fg.custom_jvp
    ... def log1pexp(x):
    ...     return fnp.log1p(fnp.exp(x))
    >>> log1pexp.defjvps(lambda t, ans, x: t * fg.nn.sigmoid(x))
    >>> fg.grad(log1pexp)(100.0)
    np.float64(1.0)
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun, self.nondiff_argnums = fun, tuple(nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp):
        self.jvp = jvp
        return jvp

    def defjvps(self, *tangent_fns):
        def jvp(*static_and_pairs):
            primals, tangents = static_and_pairs[-2:]
            static = static_and_pairs[:-2]
            out = self.fun(*static, *primals)
            total = None
            for fn, t in zip(tangent_fns, tangents):
                if fn is None:
                    continue
                term = fn(t, out, *primals)
                total = term if total is None else total + term
            return out, fnp.zeros_like(out) if total is None else total

        self.jvp = jvp

    def __call__(self, *args):
        if self.jvp is None:
            raise TypeError(
                f"{self.__name__}: no JVP defined; call {self.__name__}.defjvp(rule) first "
                f"({user_frame()})"
            )
        return _bind_calls(self, custom_jvp_call, args)


# ---------------------------------------------------------------- checkpoint


def _vjp_by_recomputation(g, ans, *operands, fun, rule, index):
    """The VJP of a checkpointed function: its forward pass recomputed from its operands
    (read through a barrier, so CSE keeps the recomputation) and differentiated."""
    from .api import vjp

    barred = [P.optimization_barrier(x) if isinstance(x, Tracer) else x for x in operands]
    diff = _float_operands(operands)

    def recompute(*xs):
        return eval_graph(fun, [], _placed(barred, diff, xs))[index]

    _, pullback = vjp(recompute, *[barred[k] for k in diff])
    return _placed([None] * len(operands), diff, pullback(g))


def _jvp_of_graph(tangents, ans, *operands, fun, rule, index):
    from .api import jvp

    diff = _float_operands(operands)
    ts = [
        fnp.zeros(np.shape(operands[k]), operands[k].dtype) if tangents[k] is None else tangents[k]
        for k in diff
    ]

    def run(*xs):
        return eval_graph(fun, [], _placed(operands, diff, xs))[index]

    return jvp(run, [operands[k] for k in diff], ts)[1]


def _batch_checkpoint_call(batched, *operands, fun, rule, index):
    key = ("checkpoint", rule, tuple(batched))
    if key not in _batched_customs:
        axes = tuple(0 if b else None for b in batched)
        _batched_customs[key] = checkpoint(_vmapped_graph(fun, axes))
    return _batched_customs[key](*operands)[index]


checkpoint_call = Primitive(
    "checkpoint_call",
    _call_shape,
    _call_impl,
    _once_per_equation(_vjp_by_recomputation),
    _jvp_of_graph,
    batch=_batch_checkpoint_call,
    traits=["call"],
)


class _Checkpointed:
    def __init__(self, fun, static_argnums):
        functools.update_wrapper(self, fun)
        self.fun, self.nondiff_argnums = fun, tuple(static_argnums)

    def __call__(self, *args):
        return _bind_calls(self, checkpoint_call, args, closures=True)


def checkpoint(fun, *, prevent_cse=True, policy=None, static_argnums=()):
    """``fun`` with its intermediate values recomputed in the backward pass instead of
    kept from the forward pass (``jax.checkpoint`` / ``jax.remat``): gradients are the
    same, and a program keeps only ``fun``'s inputs alive until the backward pass needs
    them, at the price of running ``fun``'s forward pass twice. ``static_argnums`` names
    arguments passed through as Python values (hashable); ``policy`` (which values to
    save anyway) is not supported; ``prevent_cse`` is accepted and the recomputation is
    always protected from CSE.

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> layer = fg.checkpoint(lambda w, x: fnp.tanh(fnp.tanh(x * w) * w))
    >>> fg.grad(lambda w: fnp.sum(layer(w, fnp.ones(3))))(0.5)
    np.float64(2.4337604773395647)
    """
    if policy is not None:
        raise NotImplementedError(
            f"checkpoint: policies (which values to save) are not supported; pass "
            f"policy=None to recompute every intermediate ({user_frame()})"
        )
    del prevent_cse  # accepted for JAX's signature: the recomputation is always kept
    return _Checkpointed(fun, static_argnums)


remat = checkpoint

__all__ = ["checkpoint", "custom_jvp", "custom_vjp", "remat"]
