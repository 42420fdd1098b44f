"""Trace a Python function over pytrees of arrays into a :class:`~funcgrad.core.Graph`."""

import inspect
from typing import NamedTuple

import numpy as np

from . import tree
from .core import Builder, Tracer, is_weak
from .errors import user_frame

_SCALARS = (bool, int, float)


def is_arraylike(x):
    return isinstance(x, (np.ndarray, np.generic, Tracer)) or (
        isinstance(x, _SCALARS) and not isinstance(x, complex)
    )


def array_leaves(value, message):
    """The leaves of the pytree ``value`` and its structure; a TypeError saying
    ``message(leaf)`` and the user's line for a leaf that is not an array."""
    leaves, td = tree.flatten(value)
    for leaf in leaves:
        if not is_arraylike(leaf):
            raise TypeError(f"{message(leaf)} at {user_frame()}")
    return leaves, td


def param_names(fun):
    """Positional parameter names of ``fun`` (for error messages), as far as known."""
    try:
        params = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def arg_name(fun, i):
    names = param_names(fun)
    return f"'{names[i]}'" if i < len(names) else f"{i}"


class Traced(NamedTuple):
    """A traced function: its graph and how to map pytrees onto the graph's inputs and outputs.

    ``in_trees[i]`` is the structure of positional argument ``i`` (kwargs last, as a
    dict); ``arg_of_input[k]`` is the argument that graph input ``k`` came from;
    ``out_tree`` is the structure of what the function returned.
    """

    graph: object
    in_trees: tuple
    arg_of_input: tuple
    out_tree: object


def flatten_args(args, kwargs):
    """Flatten positional args and kwargs into leaves plus per-argument structures."""
    trees, counts, leaves = [], [], []
    for a in list(args) + ([kwargs] if kwargs else []):
        ls, td = tree.flatten(a)
        trees.append(td)
        counts.append(len(ls))
        leaves.extend(ls)
    return leaves, tuple(trees), tuple(counts)


def trace(fun, args, kwargs=None, *, abstract=False, static=None):
    """Call ``fun`` on tracers standing for the array leaves of ``args``/``kwargs``.

    Concrete traces (``abstract=False``) remember the values, so Python control flow on
    them works; abstract traces (under ``jit``) know only shapes and dtypes. Leaves that
    are not arrays or numbers are passed through untouched. ``static`` optionally marks
    positional arguments to pass through whole.
    """
    kwargs = kwargs or {}
    static = static or frozenset()
    names = param_names(fun)
    dyn_args = [None if i in static else a for i, a in enumerate(args)]
    leaves, in_trees, counts = flatten_args(dyn_args, kwargs)
    with Builder() as builder:
        traced_leaves, arg_of_input, pos = [], [], 0
        for i, count in enumerate(counts):
            name = names[i] if i < len(names) else ("kwargs" if i == len(args) else f"arg{i}")
            for leaf in leaves[pos : pos + count]:
                traced_leaves.append(_input(builder, leaf, name, abstract))
                if is_arraylike(leaf):
                    arg_of_input.append(i)
            pos += count
        rebuilt, pos = [], 0
        for td, count in zip(in_trees, counts):
            rebuilt.append(td.unflatten(traced_leaves[pos : pos + count]))
            pos += count
        call_args = [args[i] if i in static else rebuilt[i] for i in range(len(args))]
        call_kwargs = rebuilt[len(args)] if kwargs else {}
        out_leaves, out_tree = array_leaves(
            fun(*call_args, **call_kwargs),
            lambda leaf: (
                f"{getattr(fun, '__name__', 'function')} returned a "
                f"{type(leaf).__name__}, but transformed functions may only return arrays "
                "(pytrees of arrays)"
            ),
        )
        graph = builder.build(out_leaves)
    return Traced(graph, in_trees, tuple(arg_of_input), out_tree)


def _input(builder, leaf, name, abstract):
    if not is_arraylike(leaf):
        return leaf
    if isinstance(leaf, Tracer):
        source = None if abstract else leaf
        return builder.new_input(leaf.shape, leaf.dtype, source, name, leaf.variable.weak)
    weak = is_weak(leaf)
    arr = np.asarray(leaf)
    return builder.new_input(arr.shape, arr.dtype, None if abstract else arr, name, weak)


def input_leaves(args, kwargs=None, static=None):
    """The array leaves of ``args``/``kwargs`` in graph-input order (see :func:`trace`)."""
    static = static or frozenset()
    dyn_args = [None if i in static else a for i, a in enumerate(args)]
    leaves, _, _ = flatten_args(dyn_args, kwargs or {})
    return [leaf for leaf in leaves if is_arraylike(leaf)]
