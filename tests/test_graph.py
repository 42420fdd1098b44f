"""The IR: golden-string printing, DOT export, immutability, structural equality."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.core import dce

W = np.ones((2, 3), np.float32)


def dense(x):
    return fnp.tanh(x @ W + 1.0)


def test_printer_golden_with_constants():
    expected = """\
{ lambda a:f32[2,3]; b:f32[4,2]. let
    c:f32[4,3] = matmul b a
    d:f32[4,3] = add c 1.0:f32[]
    e:f32[4,3] = tanh d
  in (e,) }"""
    assert str(fg.make_graph(dense)(np.ones((4, 2), np.float32))) == expected


def test_printer_golden_for_a_gradient():
    graph = fg.make_graph(fg.grad(lambda x: fnp.sum(fnp.sin(x) * x)))(np.ones(3, np.float32))
    expected = """\
{ lambda ; a:f32[3]. let
    b:f32[3] = sin a
    c:f32[3] = mul b a
    d:f32[] = reduce_sum[axes=(0,)] c
    e:f32[3] = broadcast_in_dim[broadcast_dimensions=(), shape=(3,)] 1.0:f32[]
    f:f32[3] = mul e a
    g:f32[3] = mul e b
    h:f32[3] = cos a
    i:f32[3] = mul f h
    j:f32[3] = add g i
  in (j,) }"""
    assert str(graph) == expected
    assert len(dce(graph).eqns) == len(graph.eqns) - 2  # the loss value itself is unused


def test_printer_golden_for_indexing_and_keepdims():
    graph = fg.make_graph(lambda x, i: fnp.mean(x[i, 1:], axis=0, keepdims=True))(
        np.ones((4, 3)), np.array([0, 2])
    )
    expected = """\
{ lambda ; a:f64[4,3] b:i64[2]. let
    c:f64[4,2] = slice[limit=(4, 3), start=(0, 1), strides=(1, 1)] a
    d:f64[2,2] = gather c b
    e:f64[2] = reduce_sum[axes=(0,)] d
    f:f64[1,2] = reshape[new_shape=(1, 2)] e
    g:f64[1,2] = div f 2.0:f64[]
  in (g,) }"""
    assert str(graph) == expected


def test_variable_names_continue_past_z():
    def many(x):
        for _ in range(30):
            x = x + 1.0
        return x

    text = str(fg.make_graph(many)(np.ones(1)))
    assert "ba:f64[1] = add" in text and text.endswith("in (be,) }")


def test_to_dot():
    dot = fg.make_graph(dense)(np.ones((4, 2), np.float32)).to_dot()
    assert dot.startswith("digraph funcgrad {") and dot.rstrip().endswith(
        "}"
    )  # not the keyword "graph"
    assert dot.count("shape=box") == 3 and "matmul" in dot and "out0" in dot


def test_graph_is_immutable():
    graph = fg.make_graph(dense)(np.ones((4, 2), np.float32))
    assert isinstance(graph.eqns, tuple) and isinstance(graph.eqns[0], tuple)
    with pytest.raises(AttributeError):
        graph.eqns[0].prim = None
    with pytest.raises(TypeError):
        graph.eqns[0].params["x"] = 1


def test_structural_equality_and_hash():
    g1 = fg.make_graph(dense)(np.ones((4, 2), np.float32))
    g2 = fg.make_graph(dense)(np.zeros((4, 2), np.float32))
    g3 = fg.make_graph(dense)(np.ones((5, 2), np.float32))
    assert g1 == g2 and hash(g1) == hash(g2)
    assert g1 != g3
    # Same structure, different constant values: equal (constants are inputs).
    h1 = fg.make_graph(lambda x: x * np.arange(3.0))(np.ones(3))
    h2 = fg.make_graph(lambda x: x * np.ones(3))(np.ones(3))
    assert h1 == h2 and h1.consts[0][0] != h2.consts[0][0]
    # Different literal values: different graphs.
    l1 = fg.make_graph(lambda x: x * 2.0)(np.ones(3))
    l2 = fg.make_graph(lambda x: x * 3.0)(np.ones(3))
    assert l1 != l2
