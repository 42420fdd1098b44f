"""``jit``: trace once per signature (pytree structure, shapes, dtypes, static args), cache
the graph, and run its program on every later call with the same signature."""

import functools
import itertools
import logging
import weakref
from typing import NamedTuple

import numpy as np

from . import runtime
from .core import Tracer, aval_str, handed_back, is_weak
from .errors import user_frame
from .tracing import arg_name, flatten_args, is_arraylike, trace

log = logging.getLogger("funcgrad")
CACHE_SIZE = 512  # signatures per jit function; the least recently called go first
_jitted = weakref.WeakSet()  # every jit function, for clear_caches
_calls = itertools.count()


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    size: int


class _Entry:
    """A signature's graph and output structure; ``called`` orders entries for eviction
    (a stamp costs less per call than reordering a dict, which hashes the key again);
    ``scalars``: the positions of the 0-d outputs, handed back as NumPy scalars."""

    __slots__ = ("graph", "out_tree", "called", "scalars")

    def __init__(self, graph, out_tree):
        self.graph, self.out_tree, self.called = graph, out_tree, 0
        self.scalars = tuple(i for i, v in enumerate(graph.outvars) if not v.shape)


def _static_set(fun, static_argnums, static_argnames, args, kwargs):
    nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    nums = {n % len(args) if -len(args) <= n < len(args) else n for n in nums}
    names = {static_argnames} if isinstance(static_argnames, str) else set(static_argnames)
    return frozenset(n for n in nums if n < len(args)), names


def _leaf_sig(leaf):
    if type(leaf) is np.ndarray:
        return leaf.shape, leaf.dtype, False
    if isinstance(leaf, np.generic):  # (a 0-d output of an earlier call, fed back)
        return (), leaf.dtype, False
    if isinstance(leaf, Tracer):
        return leaf.shape, leaf.dtype, leaf.variable.weak
    arr = np.asarray(leaf)
    return arr.shape, arr.dtype, is_weak(leaf)


def jit(fun=None, static_argnums=(), static_argnames=()):
    """Compile ``fun``: trace it abstractly once per argument signature and reuse the graph.

    Without ``fun`` it returns a decorator: ``@fg.jit(static_argnums=(1,))``.

    Array arguments are abstract inside ``fun`` (shape and dtype only): Python control
    flow on their values raises a ConcretizationError; mark such arguments static or use
    ``fnp.where``. ``f.cache_info()`` reports hits and traces; every trace after the
    first is logged (logger ``"funcgrad"``, level INFO) with the reason. A 0-d output
    comes back as a NumPy scalar, as from every transformation (:func:`core.handed_back`).

    >>> import funcgrad as fg, funcgrad.numpy as fnp
    >>> f = fg.jit(lambda x, n: x ** n, static_argnums=1)
    >>> f(fnp.array([1.0, 2.0]), 3)
    array([1., 8.])
    >>> f.cache_info()
    CacheInfo(hits=0, misses=1, size=1)
    """
    if fun is None:
        return functools.partial(
            jit, static_argnums=static_argnums, static_argnames=static_argnames
        )
    if not callable(fun):
        raise TypeError(f"jit: expected a function, got {type(fun).__name__} ({user_frame()})")
    cache = {}  # signature -> _Entry
    counts = {"hits": 0, "misses": 0}
    last = {}  # previous signature, to explain a re-trace

    no_statics = not static_argnums and not static_argnames

    @functools.wraps(fun)
    def jitted(*args, **kwargs):
        if no_statics:  # the common case, kept cheap: this runs on every call
            static, dyn_kwargs, static_kwargs = frozenset(), kwargs, {}
            leaves, trees, _ = flatten_args(args, kwargs)
        else:
            static, names = _static_set(fun, static_argnums, static_argnames, args, kwargs)
            dyn_kwargs = {k: v for k, v in kwargs.items() if k not in names}
            static_kwargs = {k: v for k, v in kwargs.items() if k in names}
            leaves, trees, _ = flatten_args(
                [None if i in static else a for i, a in enumerate(args)], dyn_kwargs
            )
        for leaf in leaves:
            if type(leaf) is not np.ndarray and not is_arraylike(leaf):
                raise TypeError(
                    f"jit({fun.__name__}): an argument holds a {type(leaf).__name__}, which "
                    "is not an array: pass it with static_argnums/static_argnames "
                    f"({user_frame()})"
                )
        statics = tuple((i, args[i]) for i in sorted(static)) + tuple(sorted(static_kwargs.items()))
        try:
            key = (trees, tuple(map(_leaf_sig, leaves)), statics)
            hash(key)
        except TypeError:
            raise TypeError(
                f"jit({fun.__name__}): static arguments must be hashable, got "
                f"{[type(v).__name__ for _, v in statics]} ({user_frame()})"
            ) from None
        entry = cache.get(key)
        if entry is None:
            counts["misses"] += 1
            _explain_retrace(fun, last.get("key"), key)
            call = functools.partial(fun, **static_kwargs) if static_kwargs else fun
            traced = trace(call, args, dyn_kwargs, abstract=True, static=static)
            entry = _Entry(traced.graph, traced.out_tree)
            entry.called = next(_calls)
            # A graph closing over an enclosing trace's tracers is valid only in that trace.
            if not any(isinstance(c, Tracer) for c in traced.graph.consts):
                cache[key] = entry
                if len(cache) > CACHE_SIZE:  # the least recently called goes
                    oldest = min(cache, key=lambda k: cache[k].called)
                    runtime.forget([cache.pop(oldest).graph])
            last["key"] = key
        else:
            counts["hits"] += 1
            entry.called = next(_calls)
        outs = runtime.call(entry.graph, entry.graph.consts, leaves)
        for i in entry.scalars:  # (only these: the other outputs cost nothing per call)
            outs[i] = handed_back(outs[i])
        return entry.out_tree.unflatten(outs)

    def cache_clear():
        """Forget every signature's graph and its programs (their memory goes back)."""
        graphs = [entry.graph for entry in cache.values()]
        cache.clear()
        runtime.forget(graphs)

    jitted.cache_info = lambda: CacheInfo(counts["hits"], counts["misses"], len(cache))
    jitted.cache_clear = cache_clear
    _jitted.add(jitted)
    return jitted


def clear_caches():
    """Forget every traced graph and compiled program of every ``jit`` function and of
    ``grad`` and the other transformations, and give their memory back (as
    ``jax.clear_caches``). Later calls trace and compile again.

    >>> import funcgrad as fg
    >>> f = fg.jit(lambda x: x + 1)
    >>> _ = f(1.0); fg.clear_caches(); f.cache_info().size
    0
    """
    for f in list(_jitted):
        f.cache_clear()
    runtime.clear()


def _explain_retrace(fun, old, new):
    name = getattr(fun, "__name__", "function")
    if old is None:
        log.info("jit(%s): tracing for the first time", name)
        return
    reason = "static arguments changed" if old[2] != new[2] else "argument structure changed"
    if old[0] == new[0] and old[2] == new[2]:
        owners = [i for i, td in enumerate(new[0]) for _ in range(td.num_leaves)]
        for owner, a, b in zip(owners, old[1], new[1]):
            if a != b:
                reason = (
                    f"argument {arg_name(fun, owner)} changed from {aval_str(a[0], a[1])} "
                    f"to {aval_str(b[0], b[1])}"
                )
                break
    log.info("jit(%s): re-tracing because %s", name, reason)


__all__ = ["jit", "CacheInfo", "clear_caches"]
