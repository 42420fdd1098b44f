"""Pytrees: nested containers flattened into a list of leaves plus a hashable structure.

Node types are dict (children in sorted key order), OrderedDict (insertion order),
defaultdict, list, tuple, namedtuple, ``None`` (a node with no children) and classes
registered with :func:`register_node` or :func:`register_dataclass`. Anything else
(arrays, scalars, arbitrary objects) is a leaf.

>>> leaves, treedef = flatten({'w': [1, 2], 'b': None})
>>> leaves, treedef
([1, 2], PyTreeDef({'b': None, 'w': [*, *]}))
>>> unflatten(treedef, [10, 20])
{'b': None, 'w': [10, 20]}
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from typing import Any, NamedTuple

from .errors import FuncgradError, user_frame

__all__ = [
    "StructureError",
    "TreeDef",
    "flatten",
    "flatten_with_path",
    "keystr",
    "leaves",
    "map",
    "register_dataclass",
    "register_node",
    "structure",
    "unflatten",
]

_NoneType = type(None)
_DICTS = (dict, OrderedDict, defaultdict)


class StructureError(FuncgradError, ValueError):
    """Pytrees whose structures must match but differ; the message says where and how."""


class AttrKey(str):
    """Path key naming a namedtuple/dataclass field; compares equal to the plain string."""

    __slots__ = ()


class _Node(NamedTuple):
    flatten: Callable  # node -> (children, aux_data)
    unflatten: Callable  # (aux_data, children: list) -> node
    keys: Callable  # (aux_data, num_children) -> path keys of the children


def _indices(aux, n):
    return range(n)


def _sorted_keys(d):
    try:
        return tuple(sorted(d))
    except TypeError:  # incomparable mixed key types, e.g. {1: .., 'a': ..}
        return tuple(sorted(d, key=repr))


def _flatten_dict(d):
    keys = _sorted_keys(d)
    return [d[k] for k in keys], keys


def _flatten_defaultdict(d):
    keys = _sorted_keys(d)
    return [d[k] for k in keys], (d.default_factory, keys)


_registry: dict[type, _Node] = {
    dict: _Node(_flatten_dict, lambda keys, ch: dict(zip(keys, ch)), lambda keys, n: keys),
    OrderedDict: _Node(
        lambda d: (list(d.values()), tuple(d)),
        lambda keys, ch: OrderedDict(zip(keys, ch)),
        lambda keys, n: keys,
    ),
    defaultdict: _Node(
        _flatten_defaultdict,
        lambda aux, ch: defaultdict(aux[0], zip(aux[1], ch)),
        lambda aux, n: aux[1],
    ),
    list: _Node(lambda x: (x, None), lambda _, ch: ch, _indices),
    tuple: _Node(lambda x: (x, None), lambda _, ch: tuple(ch), _indices),
    _NoneType: _Node(lambda x: ((), None), lambda _, ch: None, _indices),
}
_namedtuples: dict[type, _Node] = {}  # cache; namedtuples need no registration


def _namedtuple_node(cls: type) -> _Node:
    node = _namedtuples.get(cls)
    if node is None:
        fields = tuple(AttrKey(f) for f in cls._fields)
        node = _Node(lambda x: (x, None), lambda _, ch: cls(*ch), lambda _, n: fields)
        _namedtuples[cls] = node
    return node


def _node(cls: type) -> _Node:
    return _registry.get(cls) or _namedtuple_node(cls)


class TreeDef:
    """Immutable, hashable description of a pytree's structure (everything but the leaves)."""

    __slots__ = ("_children", "_data", "_hash", "_num_leaves", "_type")

    def __init__(self, node_type, node_data, children, num_leaves):
        self._type = node_type  # None for a leaf
        self._data = node_data
        self._children = children
        self._num_leaves = num_leaves
        self._hash = None

    @property
    def num_leaves(self) -> int:
        return self._num_leaves

    def unflatten(self, leaves):
        """Same as ``unflatten(self, leaves)``."""
        return unflatten(self, leaves)

    def __eq__(self, other):
        if self is other:
            return True
        if type(other) is not TreeDef:
            return NotImplemented
        return (
            self._type is other._type
            and self._num_leaves == other._num_leaves
            and self._children == other._children
            and self._data == other._data
        )

    def __hash__(self):
        h = self._hash
        if h is None:
            h = self._hash = hash((self._type, self._data, self._children))
        return h

    def __reduce__(self):
        return TreeDef, (self._type, self._data, self._children, self._num_leaves)

    def __repr__(self):
        return f"PyTreeDef({_repr(self)})"


_LEAF = TreeDef(None, None, (), 1)  # shared by all leaves


def _keys(td: TreeDef):
    return _node(td._type).keys(td._data, len(td._children))


def _repr(td: TreeDef) -> str:
    t = td._type
    if t is None:
        return "*"
    if t is _NoneType:
        return "None"
    kids = [_repr(c) for c in td._children]
    if t is list:
        return f"[{', '.join(kids)}]"
    if t is tuple:
        return f"({', '.join(kids)}{',' if len(kids) == 1 else ''})"
    keys = _keys(td)
    if t in _DICTS:
        body = "{" + ", ".join(f"{k!r}: {c}" for k, c in zip(keys, kids)) + "}"
        return body if t is dict else f"{t.__name__}({body})"
    if all(type(k) is AttrKey for k in keys):  # namedtuple / dataclass
        return f"{t.__name__}({', '.join(f'{k}={c}' for k, c in zip(keys, kids))})"
    return f"CustomNode({t.__name__}[{td._data!r}], [{', '.join(kids)}])"


def _flatten(node, out: list, is_leaf) -> TreeDef:
    t = type(node)
    entry = _registry.get(t)
    if entry is None:
        if not (isinstance(node, tuple) and hasattr(t, "_fields")):
            out.append(node)
            return _LEAF
        entry = _namedtuple_node(t)
    if is_leaf is not None and is_leaf(node):
        out.append(node)
        return _LEAF
    children, aux = entry.flatten(node)
    start = len(out)
    kids = tuple([_flatten(c, out, is_leaf) for c in children])
    return TreeDef(t, aux, kids, len(out) - start)


def flatten(tree, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, TreeDef]:
    """Flattens a pytree into its leaves (depth first, dict keys sorted) and structure.

    Nodes for which the optional ``is_leaf(node)`` returns True are kept as leaves.

    >>> flatten({'b': 1, 'a': [2, 3]})[0]
    [2, 3, 1]
    """
    out: list = []
    return out, _flatten(tree, out, is_leaf)


def _unflatten(td: TreeDef, it):
    if td._type is None:
        return next(it)
    children = [_unflatten(c, it) for c in td._children]
    return _node(td._type).unflatten(td._data, children)


def unflatten(treedef: TreeDef, leaves) -> Any:
    """Rebuilds a pytree of structure ``treedef`` from ``leaves``.

    >>> unflatten(structure((0, {'x': 0})), [1, 2])
    (1, {'x': 2})
    """
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(f"unflatten: expected {treedef.num_leaves} leaves, got {len(leaves)}")
    return _unflatten(treedef, iter(leaves))


def leaves(tree, is_leaf: Callable[[Any], bool] | None = None) -> list:
    """Returns the leaves of ``tree`` in flatten order; ``None`` has no leaves.

    >>> leaves([1, None, (2, {'k': 3})])
    [1, 2, 3]
    """
    out: list = []
    _flatten(tree, out, is_leaf)
    return out


def structure(tree, is_leaf: Callable[[Any], bool] | None = None) -> TreeDef:
    """Returns the :class:`TreeDef` of ``tree``.

    >>> structure({'a': 1, 'b': [2, 3]})
    PyTreeDef({'a': *, 'b': [*, *]})
    """
    return _flatten(tree, [], is_leaf)


def _mismatch(a: TreeDef, b: TreeDef, path: tuple):
    if a is b or a._type is None is b._type:
        return None
    if a._type is not b._type or len(a._children) != len(b._children) or a._data != b._data:
        return path, a, b
    for k, ca, cb in zip(_keys(a), a._children, b._children):
        found = _mismatch(ca, cb, (*path, k))
        if found:
            return found
    return None


def _a(name: str) -> str:
    return f"{'an' if name[0] in 'AEIOUaeiou' else 'a'} {name}"


def _describe(td: TreeDef) -> str:
    t = td._type
    if t is None:
        return "a leaf"
    if t is _NoneType:
        return "None"
    if t in _DICTS:
        return f"{_a(t.__name__)} with keys {list(_keys(td))}"
    if t is list or t is tuple:
        return f"{_a(t.__name__)} of {len(td._children)}"
    if all(type(k) is AttrKey for k in _keys(td)):  # namedtuple / dataclass: fixed fields
        return _a(t.__name__)
    n = len(td._children)
    desc = f"{_a(t.__name__)} with {n} {'child' if n == 1 else 'children'}"
    return desc if td._data is None else f"{desc} (aux_data {td._data!r})"


def _where_differ(a: TreeDef, b: TreeDef) -> str:
    """Where the unequal structures ``a`` and ``b`` first differ, and how: ``"at ['w']: a
    list of 3 vs a list of 2"``."""
    path, x, y = _mismatch(a, b, ())
    dx, dy = _describe(x), _describe(y)
    if dx == dy:  # e.g. two classes of one name, or defaultdicts with other default_factory
        qx, qy = (f"{t.__module__}.{t.__qualname__}" for t in (x._type, y._type))
        if x._type is y._type:
            dx, dy = f"{dx} (aux_data {x._data!r})", f"{dy} (aux_data {y._data!r})"
        elif qx != qy:
            dx, dy = _a(qx), _a(qy)
        else:
            dy = f"another class named {y._type.__name__}"
    return f"at {keystr(path) or '<root>'}: {dx} vs {dy}"


def map(f: Callable, tree, *rest, is_leaf: Callable[[Any], bool] | None = None):
    """Applies ``f`` leafwise: ``f(leaf, *corresponding leaves of rest)``.

    Raises:
      StructureError: (a ValueError) a tree in ``rest`` differs in structure; the message
        names the first differing path, what differs there, and the caller's line.

    >>> map(lambda x, y: x + y, {'a': 1, 'b': (2, 3)}, {'a': 10, 'b': (20, 30)})
    {'a': 11, 'b': (22, 33)}
    """
    flat, td = flatten(tree, is_leaf)
    columns = [flat]
    for other in rest:
        other_flat, other_td = flatten(other, is_leaf)
        if other_td != td:
            # Counted only now, so that the loop over matching trees does no extra work.
            n = next(i for i, x in enumerate(rest, 2) if x is other)
            raise StructureError(
                f"tree.map: structure mismatch between tree 1 and tree {n} "
                f"{_where_differ(td, other_td)} at {user_frame()}"
            )
        columns.append(other_flat)
    return _unflatten(td, iter([f(*xs) for xs in zip(*columns)]))


def _paths(td: TreeDef, prefix: tuple, out: list) -> None:
    if td._type is None:
        out.append(prefix)
        return
    for k, child in zip(_keys(td), td._children):
        _paths(child, (*prefix, k), out)


def flatten_with_path(tree, is_leaf: Callable[[Any], bool] | None = None):
    """Like :func:`flatten` but pairs each leaf with its path.

    A path is a tuple of keys: dict keys, sequence indices, and field names of
    namedtuples/dataclasses (as :class:`AttrKey`, a ``str`` subclass).

    >>> pairs, _ = flatten_with_path({'layers': [{'w': 1}]})
    >>> [(keystr(p), x) for p, x in pairs]
    [("['layers'][0]['w']", 1)]
    """
    flat, td = flatten(tree, is_leaf)
    paths: list = []
    _paths(td, (), paths)
    return list(zip(paths, flat)), td


def keystr(path) -> str:
    """Renders a path: keys and indices in brackets, field names after a dot.

    >>> keystr(('layers', 1, AttrKey('w')))
    "['layers'][1].w"
    """
    return "".join(f".{k}" if type(k) is AttrKey else f"[{k!r}]" for k in path)


def _register(cls, node: _Node) -> None:
    if not isinstance(cls, type):
        raise TypeError(f"expected a class, got {cls!r}")
    if cls in _registry:
        raise ValueError(f"{cls.__qualname__} is already registered as a pytree node")
    _registry[cls] = node


def register_node(cls: type, flatten_fn: Callable, unflatten_fn: Callable) -> None:
    """Registers ``cls`` as a pytree node type; registering a class twice raises ValueError.

    ``flatten_fn(node) -> (children, aux_data)`` with hashable aux_data;
    ``unflatten_fn(aux_data, children) -> node``. Child paths are indices.

    >>> class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    >>> register_node(Pair, lambda p: ((p.a, p.b), None), lambda _, ch: Pair(*ch))
    >>> leaves(Pair(1, [2]))
    [1, 2]
    """
    _register(cls, _Node(flatten_fn, unflatten_fn, _indices))


def register_dataclass(cls: type) -> type:
    """Registers a dataclass whose fields (declaration order) are children; usable as decorator.

    Nodes are rebuilt by calling ``cls(**fields)``, so every field must have ``init=True``.

    >>> @register_dataclass
    ... @dataclasses.dataclass
    ... class Linear:
    ...     w: Any
    ...     b: Any
    >>> flatten(Linear(w=1, b=2))
    ([1, 2], PyTreeDef(Linear(w=*, b=*)))
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"register_dataclass: {cls!r} is not a dataclass")
    fields = dataclasses.fields(cls)
    no_init = [f.name for f in fields if not f.init]
    if no_init:
        raise ValueError(
            f"register_dataclass: {cls.__qualname__} fields {no_init} have "
            "init=False; use register_node"
        )
    names = tuple(f.name for f in fields)
    keys = tuple(AttrKey(n) for n in names)
    _register(
        cls,
        _Node(
            lambda x: ([getattr(x, n) for n in names], None),
            lambda _, ch: cls(**dict(zip(names, ch))),
            lambda _, n: keys,
        ),
    )
    return cls
