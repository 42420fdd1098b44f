import collections
import dataclasses
import pickle
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
from funcgrad import tree

Point = collections.namedtuple("Point", ["x", "y"])
OtherPoint = collections.namedtuple("OtherPoint", ["x", "y"])


@tree.register_dataclass
@dataclasses.dataclass
class Layer:
    w: Any
    b: Any


@dataclasses.dataclass(frozen=True)
class Frozen:
    a: Any
    b: Any = None


tree.register_dataclass(Frozen)


class Box:
    """Registered custom node with aux data."""

    def __init__(self, value, tag):
        self.value, self.tag = value, tag

    def __eq__(self, other):
        return type(other) is Box and (self.value, self.tag) == (other.value, other.tag)

    def __hash__(self):
        return hash((Box, self.tag))


tree.register_node(Box, lambda b: ((b.value,), b.tag), lambda tag, ch: Box(ch[0], tag))


def roundtrip(t):
    flat, td = tree.flatten(t)
    assert len(flat) == td.num_leaves
    return tree.unflatten(td, flat)


@pytest.mark.parametrize(
    "t",
    [
        1,
        None,
        [],
        (),
        {},
        {"a": 1, "b": [2, (3, None)], "c": {"d": 4}},
        [1, (2,), [3, [4, None]]],
        Point(1, [2, 3]),
        Point(x={"k": 1}, y=None),
        Layer(w=[1, 2], b=Point(3, 4)),
        Frozen(a=(1, 2)),
        Box([1, 2], tag="t"),
        {"layers": [Layer(1, 2), Layer(3, None)], "opt": (Point(4, 5),)},
    ],
)
def test_roundtrip(t):
    out = roundtrip(t)
    assert out == t
    assert type(out) is type(t)


def test_roundtrip_preserves_container_types():
    out = roundtrip({"p": Point(1, 2), "l": [1], "t": (1,), "f": Frozen(1)})
    assert type(out["p"]) is Point and type(out["l"]) is list and type(out["t"]) is tuple
    assert type(out["f"]) is Frozen


def test_ordered_and_default_dict():
    od = collections.OrderedDict([("b", 1), ("a", 2)])
    flat, td = tree.flatten(od)
    assert flat == [1, 2]  # insertion order, not sorted
    out = tree.unflatten(td, flat)
    assert type(out) is collections.OrderedDict and list(out) == ["b", "a"]

    dd = collections.defaultdict(list, {"b": 1, "a": 2})
    flat, td = tree.flatten(dd)
    assert flat == [2, 1]
    out = tree.unflatten(td, flat)
    assert type(out) is collections.defaultdict and out.default_factory is list and out == dd
    assert td != tree.structure(collections.defaultdict(int, {"b": 1, "a": 2}))


def test_dict_children_in_sorted_key_order():
    assert tree.leaves({"b": 1, "a": 2, "c": 3}) == [2, 1, 3]
    assert tree.leaves({"z": [1, 2], "a": {"y": 3, "x": 4}}) == [4, 3, 1, 2]
    # insertion order does not affect the structure
    assert tree.structure({"a": 1, "b": 2}) == tree.structure({"b": 1, "a": 2})


def test_mixed_incomparable_keys_do_not_crash():
    t = {1: "int", "a": "str", (2,): "tuple"}
    flat, td = tree.flatten(t)
    assert sorted(flat) == ["int", "str", "tuple"]
    assert tree.unflatten(td, flat) == t
    # order is deterministic regardless of insertion order
    assert tree.flatten({"a": "str", (2,): "tuple", 1: "int"}) == (flat, td)


def test_none_is_node_without_leaves():
    assert tree.leaves(None) == []
    assert tree.leaves([None, 1, {"a": None}]) == [1]
    assert tree.structure(None).num_leaves == 0
    assert tree.unflatten(tree.structure(None), []) is None


def test_leaf_types():
    arr = np.arange(3)
    flat = tree.leaves([arr, 1.5, "s", object])
    assert flat[0] is arr and flat[1:] == [1.5, "s", object]
    assert tree.leaves(arr)[0] is arr
    assert tree.structure(arr) == tree.structure(1)


def test_treedef_equality_and_hash():
    def s(t):
        return tree.structure(t)

    a, b = s({"a": [1, 2], "b": (3, None)}), s({"b": ("x", None), "a": [np.ones(2), 5]})
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    different = [
        s({"a": [1, 2], "c": (3, None)}),  # dict key
        s({"a": (1, 2), "b": (3, None)}),  # list vs tuple
        s({"a": [1, 2], "b": (3, 4)}),  # None vs leaf
        s({"a": [1, 2, 3], "b": (3, None)}),  # length
        s({"a": [1, [2]], "b": (3, None)}),  # depth
    ]
    for d in different:
        assert a != d
    assert len(set(different)) == len(different)
    assert s(Point(1, 2)) != s(OtherPoint(1, 2))
    assert s(Point(1, 2)) != s((1, 2))
    assert s(Point(1, 2)) == s(Point("a", "b"))
    assert s(None) != s(1)
    assert s([]) != s(())
    assert s(Box(1, "a")) != s(Box(1, "b"))  # aux data
    assert s(Box(1, "a")) == s(Box(2, "a"))
    assert a != "not a treedef"


def test_treedef_immutable_and_picklable():
    td = tree.structure({"a": [1, Point(2, 3)]})
    with pytest.raises(AttributeError):
        td.num_leaves = 5
    assert td.num_leaves == 3
    clone = pickle.loads(pickle.dumps(td))
    assert clone == td and hash(clone) == hash(td)


def test_treedef_unflatten_method_and_repr():
    td = tree.structure({"a": 1, "b": [2, 3]})
    assert td.unflatten([1, 2, 3]) == {"a": 1, "b": [2, 3]}
    assert repr(td) == "PyTreeDef({'a': *, 'b': [*, *]})"
    assert repr(tree.structure((1,))) == "PyTreeDef((*,))"
    assert repr(tree.structure([None, Point(1, 2)])) == "PyTreeDef([None, Point(x=*, y=*)])"
    assert repr(tree.structure(Layer(1, 2))) == "PyTreeDef(Layer(w=*, b=*))"
    assert repr(tree.structure(Box(1, "t"))) == "PyTreeDef(CustomNode(Box['t'], [*]))"
    assert repr(tree.structure(5)) == "PyTreeDef(*)"


def test_unflatten_wrong_leaf_count():
    td = tree.structure([1, (2, 3)])
    with pytest.raises(ValueError, match=r"expected 3 leaves.*got 2"):
        tree.unflatten(td, [1, 2])
    with pytest.raises(ValueError, match=r"expected 3 leaves.*got 4"):
        td.unflatten([1, 2, 3, 4])


def test_map_single_and_multiple_trees():
    t = {"a": 1, "b": [2, Point(3, 4)], "c": None}
    assert tree.map(lambda x: x * 10, t) == {"a": 10, "b": [20, Point(30, 40)], "c": None}
    u = {"a": 100, "b": [200, Point(300, 400)], "c": None}
    v = {"a": 0.5, "b": [0.5, Point(0.5, 0.5)], "c": None}
    out = tree.map(lambda x, y, z: (x + y) * z, t, u, v)
    assert out == {"a": 50.5, "b": [101.0, Point(151.5, 202.0)], "c": None}
    assert type(out["b"][1]) is Point


def test_map_with_arrays():
    params = {"w": np.ones((2, 2)), "b": np.zeros(2)}
    grads = {"w": np.full((2, 2), 2.0), "b": np.ones(2)}
    out = tree.map(lambda p, g: p - 0.1 * g, params, grads)
    np.testing.assert_allclose(out["w"], 0.8)
    np.testing.assert_allclose(out["b"], -0.1)


def test_map_mismatch_names_path():
    a = {"params": [1, [2, 3]], "step": 0}
    b = {"params": [1, [2, 3, 4]], "step": 0}
    with pytest.raises(ValueError) as e:
        tree.map(lambda x, y: x, a, b)
    assert str(e.value).startswith(
        "tree.map: structure mismatch between tree 1 and tree 2 at ['params'][1]: "
        "a list of 2 vs a list of 3 at "
    )


@pytest.mark.parametrize(
    "a, b, fragment",
    [
        ({"a": 1}, {"b": 1}, "at <root>: a dict with keys ['a'] vs a dict with keys ['b']"),
        ([1, 2], (1, 2), "at <root>: a list of 2 vs a tuple of 2"),
        ({"x": [None]}, {"x": [1]}, "at ['x'][0]: None vs a leaf"),
        ([Point(1, [2])], [Point(1, 2)], "at [0].y: a list of 1 vs a leaf"),
        (Layer(1, (2,)), Layer(1, (2, 3)), "at .b: a tuple of 1 vs a tuple of 2"),
        ([Box(1, "a")], [Box(1, "b")], "at [0]: a Box with 1 child (aux_data 'a') vs a Box"),
    ],
)
def test_map_mismatch_paths(a, b, fragment):
    with pytest.raises(ValueError, match="structure mismatch") as e:
        tree.map(lambda *xs: xs[0], a, b)
    assert fragment in str(e.value)


def test_map_mismatch_in_later_tree():
    with pytest.raises(ValueError, match=r"tree 1 and tree 3 at \['b'\]: a leaf vs a list"):
        tree.map(lambda *xs: 0, {"a": 1, "b": 2}, {"a": 1, "b": 2}, {"a": 1, "b": [2]})


@pytest.mark.parametrize(
    "b, fragment",
    [
        (  # a key the first tree lacks
            {"layers": [{"w": 1}, {"b": 2, "w": 3}]},
            "at ['layers'][1]: a dict with keys ['w'] vs a dict with keys ['b', 'w']",
        ),
        ({"layers": [{"w": 1}, {"w": 3}, {"w": 4}]}, "at ['layers']: a list of 2 vs a list of 3"),
        ({"layers": [{"w": 1}, 3]}, "at ['layers'][1]: a dict with keys ['w'] vs a leaf"),
        ({"layers": [{"w": 1}, {"w": (3, 4)}]}, "at ['layers'][1]['w']: a leaf vs a tuple of 2"),
        ([{"w": 1}, {"w": 3}], "at <root>: a dict with keys ['layers'] vs a list of 2"),
    ],
)
def test_map_mismatch_names_the_callers_line(b, fragment):
    a = {"layers": [{"w": 1}, {"w": 3}]}
    with pytest.raises(tree.StructureError) as e:
        tree.map(lambda x, y: x, a, b)
    message = str(e.value)
    assert fragment in message
    assert re.search(r" at \S*test_tree\.py:\d+$", message), message


def test_structure_error_is_a_value_error_and_a_funcgrad_error():
    assert issubclass(tree.StructureError, ValueError)
    assert issubclass(tree.StructureError, fg.FuncgradError)


def test_map_mismatch_tells_apart_what_describes_alike():
    # The same type name and keys: what differs is the class, or the default_factory.
    Twin = collections.namedtuple("Point", ["x", "y"])
    with pytest.raises(tree.StructureError, match="a Point vs another class named Point"):
        tree.map(lambda x, y: x, Point(1, 2), Twin(1, 2))
    Elsewhere = collections.namedtuple("Point", ["x", "y"], module="elsewhere")
    with pytest.raises(tree.StructureError, match=r"a \S*test_tree\.Point vs an elsewhere\.Point"):
        tree.map(lambda x, y: x, Point(1, 2), Elsewhere(1, 2))
    a, b = collections.defaultdict(list, x=1), collections.defaultdict(dict, x=1)
    with pytest.raises(tree.StructureError, match=r"aux_data \(<class 'list'>.* vs .*'dict'>"):
        tree.map(lambda x, y: x, a, b)


def test_flatten_with_path_and_keystr():
    t = {"layers": [Layer(w=1, b=2), Point(3, None)], "lr": 0.1, 7: (4,)}
    pairs, td = tree.flatten_with_path(t)
    assert td == tree.structure(t)
    assert [x for _, x in pairs] == tree.leaves(t)
    got = {tree.keystr(p): x for p, x in pairs}
    assert got == {
        "[7][0]": 4,
        "['layers'][0].w": 1,
        "['layers'][0].b": 2,
        "['layers'][1].x": 3,
        "['lr']": 0.1,
    }
    # paths are tuples of plain keys; field names compare equal to str
    assert pairs[0][0] == ("layers", 0, "w")
    assert isinstance(pairs[0][0][2], tree.AttrKey)
    assert tree.keystr(("a", 1)) == "['a'][1]"
    assert tree.keystr(()) == ""
    assert tree.flatten_with_path(5) == ([((), 5)], tree.structure(5))


def test_is_leaf():
    t = {"a": (1, 2), "b": [(3, 4), 5]}

    def is_pair(x):
        return isinstance(x, tuple)

    flat, td = tree.flatten(t, is_leaf=is_pair)
    assert flat == [(1, 2), (3, 4), 5]
    assert td.num_leaves == 3
    assert tree.unflatten(td, flat) == t
    assert tree.leaves(t, is_leaf=is_pair) == flat
    assert tree.map(lambda p: p[0] if isinstance(p, tuple) else p, t, is_leaf=is_pair) == {
        "a": 1,
        "b": [3, 5],
    }
    # is_leaf can make None a leaf
    assert tree.leaves([None, 1], is_leaf=lambda x: x is None) == [None, 1]
    pairs, _ = tree.flatten_with_path(t, is_leaf=is_pair)
    assert [tree.keystr(p) for p, _ in pairs] == ["['a']", "['b'][0]", "['b'][1]"]


def test_register_node_duplicate_raises():
    class Thing:
        pass

    tree.register_node(Thing, lambda t: ((), None), lambda aux, ch: Thing())
    with pytest.raises(ValueError, match="already registered"):
        tree.register_node(Thing, lambda t: ((), None), lambda aux, ch: Thing())
    with pytest.raises(ValueError, match="already registered"):
        tree.register_node(dict, lambda t: ((), None), lambda aux, ch: {})
    with pytest.raises(ValueError, match="already registered"):
        tree.register_dataclass(Layer)


def test_register_dataclass_validation():
    class NotDC:
        pass

    with pytest.raises(TypeError):
        tree.register_dataclass(NotDC)

    @dataclasses.dataclass
    class NoInit:
        a: int
        b: int = dataclasses.field(init=False, default=0)

    with pytest.raises(ValueError, match="init=False"):
        tree.register_dataclass(NoInit)


def test_unregistered_dataclass_is_leaf():
    @dataclasses.dataclass
    class Plain:
        a: int

    p = Plain(1)
    assert tree.leaves(p) == [p]


def test_registered_namedtuple_takes_precedence():
    Pt = collections.namedtuple("Pt", ["x", "y"])
    tree.register_node(Pt, lambda p: ((p.x,), p.y), lambda y, ch: Pt(ch[0], y))
    assert tree.leaves(Pt(1, 2)) == [1]
    assert roundtrip(Pt(1, 2)) == Pt(1, 2)


def test_hot_path_leaf_reuse():
    # leaves share one TreeDef; flatten of a deep-ish tree stays consistent
    t = [[i, {"a": i}] for i in range(100)]
    flat, td = tree.flatten(t)
    assert flat == [x for i in range(100) for x in (i, i)]
    assert td.num_leaves == 200


json_like = st.recursive(
    st.none() | st.integers(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=3) | st.integers(), children, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(json_like)
def test_property_roundtrip_and_identity_map(t):
    flat, td = tree.flatten(t)
    assert all(isinstance(x, int) for x in flat)
    assert len(flat) == td.num_leaves
    assert tree.unflatten(td, flat) == t
    mapped = tree.map(lambda x: x, t)
    assert mapped == t
    assert tree.structure(mapped) == td and hash(tree.structure(mapped)) == hash(td)
    assert [x for _, x in tree.flatten_with_path(t)[0]] == flat
