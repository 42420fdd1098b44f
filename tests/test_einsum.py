"""fnp.einsum against np.einsum: random subscripts (repeated labels, ellipses, size-0/1
broadcasting, 1-3 operands, implicit and explicit outputs) in float64 and float32,
eagerly, under jit and vmap, gradients against finite differences, NumPy's errors."""

import numpy as np
import pytest
from compare import assert_same, transformed
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.testing import check_grads

LABELS = "abcdA"


@st.composite
def einsum_problems(draw, min_side=0, max_operands=3):
    """(subscripts, operand shapes): labels with sizes (some 0 or 1), each operand a
    random word over them (repeats allowed) maybe with '...', any label of an operand
    shrunk to 1 sometimes (broadcasting), an implicit or a random explicit output."""
    sizes = {c: draw(st.integers(min_side, 3)) for c in LABELS}
    ellipsis = tuple(draw(st.lists(st.integers(max(min_side, 1), 3), max_size=2)))
    count = draw(st.integers(1, max_operands))
    terms, shapes, used_dots = [], [], False
    for _ in range(count):
        word = draw(st.lists(st.sampled_from(LABELS), max_size=4))
        dims = {c: 1 if draw(st.integers(0, 4)) == 0 else sizes[c] for c in word}
        shape = [dims[c] for c in word]
        term = "".join(word)
        if draw(st.booleans()):
            at = draw(st.integers(0, len(word)))
            width = draw(st.integers(0, len(ellipsis)))
            mine = [
                1 if draw(st.integers(0, 3)) == 0 else d for d in ellipsis[len(ellipsis) - width :]
            ]
            term = term[:at] + "..." + term[at:]
            shape = shape[:at] + mine + shape[at:]
            used_dots = used_dots or width > 0
        terms.append(term)
        shapes.append(tuple(shape))
    subscripts = ",".join(terms)
    if draw(st.booleans()):
        seen = sorted(set("".join(terms).replace(".", "")))
        out = draw(st.permutations(seen))[: draw(st.integers(0, len(seen)))]
        out = "".join(out)
        if used_dots or draw(st.booleans()):
            at = draw(st.integers(0, len(out)))
            out = out[:at] + "..." + out[at:]
        subscripts += "->" + out
    return subscripts, shapes


def _operands(shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-2, 2, size=s).astype(dtype) for s in shapes]


@settings(max_examples=150, deadline=None)
@given(
    problem=einsum_problems(),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**31),
)
def test_einsum_matches_numpy_eagerly_under_jit_and_vmap(problem, dtype, seed):
    subscripts, shapes = problem
    ops = _operands(shapes, dtype, seed)
    expected = np.einsum(subscripts, *ops)
    rtol = 2e-5 if dtype == np.float32 else 1e-12
    assert_same(fnp.einsum(subscripts, *ops), expected, rtol)
    assert_same(fg.jit(lambda *xs: fnp.einsum(subscripts, *xs))(*ops), transformed(expected), rtol)
    # vmap over a stack of two versions of the first operand, the others broadcast
    stack = np.stack([ops[0], 2 * ops[0] + 1])
    batched = fg.vmap(lambda x: fnp.einsum(subscripts, x, *ops[1:]))(stack)
    looped = np.stack([np.einsum(subscripts, x, *ops[1:]) for x in stack])
    assert_same(batched, looped, rtol)


@settings(max_examples=40, deadline=None)
@given(problem=einsum_problems(min_side=1), seed=st.integers(0, 2**31))
def test_einsum_gradients_match_finite_differences(problem, seed):
    subscripts, shapes = problem
    ops = _operands(shapes, np.float64, seed)
    w = np.random.default_rng(seed + 1).standard_normal(np.einsum(subscripts, *ops).shape)
    check_grads(lambda *xs: fnp.sum(fnp.einsum(subscripts, *xs) * w), tuple(ops), order=1)


@pytest.mark.parametrize(
    "subscripts, shapes",
    [
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("bhqd,bhkd->bhqk", [(2, 1, 3, 4), (2, 1, 5, 4)]),
        ("bi,ij,bj->b", [(3, 2), (2, 4), (3, 4)]),
        ("iij->ij", [(3, 3, 2)]),
        ("ii", [(3, 3)]),
        ("...i,...i", [(2, 1, 3), (4, 3)]),
        ("i,i->i", [(1,), (3,)]),
        ("ij,jk,kl,lm->im", [(2, 3), (3, 2), (2, 4), (4, 2)]),
        (",ij", [(), (2, 3)]),
    ],
)
def test_einsum_second_order_gradients_and_vmap_of_grad(subscripts, shapes):
    ops = _operands(shapes, np.float64, 3)
    w = np.random.default_rng(4).standard_normal(np.einsum(subscripts, *ops).shape)

    def f(*xs):
        return fnp.sum(fnp.sin(fnp.einsum(subscripts, *xs)) * w)

    check_grads(f, tuple(ops), order=2)
    grad = fg.jit(fg.grad(f, argnums=tuple(range(len(ops)))))(*ops)
    eager = fg.grad(f, argnums=tuple(range(len(ops))))(*ops)
    for g, e in zip(grad, eager):
        assert_same(g, e)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, np.bool_])
@pytest.mark.parametrize(
    "subscripts, shapes",
    [
        ("ij,jk", [(2, 3), (3, 4)]),
        ("ii->i", [(3, 3)]),
        ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
        ("i,i", [(4,), (4,)]),
        ("i,j->ij", [(2,), (3,)]),
        ("ij,ij,ij->", [(2, 3), (2, 3), (1, 3)]),
    ],
)
def test_einsum_of_ints_and_bools_keeps_numpys_dtype(dtype, subscripts, shapes):
    rng = np.random.default_rng(5)
    ops = [rng.integers(0, 3, size=s).astype(dtype) for s in shapes]
    expected = np.einsum(subscripts, *ops)
    assert_same(fnp.einsum(subscripts, *ops), expected)
    assert_same(fg.jit(lambda *xs: fnp.einsum(subscripts, *xs))(*ops), transformed(expected))


def test_einsum_interleaved_form_paths_dtype_and_scalars():
    rng = np.random.default_rng(6)
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    assert_same(
        fnp.einsum(a, [0, 1], b, [1, 27], [27, 0]), np.einsum(a, [0, 1], b, [1, 27], [27, 0])
    )
    assert_same(fnp.einsum(a, [Ellipsis, 1], [Ellipsis]), np.einsum(a, [Ellipsis, 1], [Ellipsis]))
    path = np.einsum_path("ij,jk,kl->il", a, b, c, optimize="greedy")[0]
    assert fnp.einsum_path("ij,jk,kl->il", a, b, c)[0] == path
    args = lambda a, b: (a, [0, 1], b, [1, 2])  # noqa: E731  (the interleaved form)
    traced = fg.jit(lambda a, b: fnp.einsum(*args(a, b), optimize=fnp.einsum_path(*args(a, b))[0]))
    assert_same(traced(a, b), np.einsum(*args(a, b)))
    for optimize in (path, True, False, "greedy", "optimal"):
        got = fg.jit(lambda *xs: fnp.einsum("ij,jk,kl->il", *xs, optimize=optimize))(a, b, c)
        assert_same(got, np.einsum("ij,jk,kl->il", a, b, c))
    assert_same(
        fnp.einsum("ij->i", a, dtype=np.float32, casting="same_kind"),
        np.einsum("ij->i", a, dtype=np.float32, casting="same_kind"),
    )
    assert_same(fnp.einsum(",", 2, 3), np.einsum(",", 2, 3))
    assert_same(fnp.einsum(" i j , j k -> k i ", a, b), np.einsum("ij,jk->ki", a, b))
    x32 = a.astype(np.float32)
    assert fnp.einsum("ij,", x32, 2.0).dtype == np.float32  # Python scalars are weak


def test_einsum_lowers_contractions_to_single_gemms():
    rng = np.random.default_rng(7)
    q, k = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 6, 5))
    graph = fg.make_graph(lambda q, k: fnp.einsum("bhqd,bhkd->bhqk", q, k))(q, k)
    prims = [e.prim.name for e in graph.eqns]
    assert prims.count("matmul") == 1 and "reduce_sum" not in prims and "mul" not in prims
    # the only transpose swaps the last two axes, which the GEMM reads in place
    assert [e.params["perm"] for e in graph.eqns if e.prim.name == "transpose"] == [(0, 2, 1)]


def test_einsum_diagonal_is_a_gather_with_a_scatter_gradient():
    x = np.arange(27.0).reshape(3, 3, 3)
    graph = fg.make_graph(lambda x: fnp.einsum("iij->ij", x))(x)
    assert [e.prim.name for e in graph.eqns][-1] == "gather"
    g = fg.grad(lambda x: fnp.sum(fnp.einsum("iii", x)))(x)
    expected = np.zeros((3, 3, 3))
    expected[np.arange(3), np.arange(3), np.arange(3)] = 1.0
    assert_same(g, expected)


def _numpy_error(subscripts, shapes):
    with pytest.raises(Exception) as info:
        np.einsum(subscripts, *[np.ones(s) for s in shapes])
    return info.type


@pytest.mark.parametrize(
    "subscripts, shapes",
    [
        ("i,j", [(2,)]),  # fewer operands
        ("i", [(2,), (2,)]),  # more operands
        ("i1", [(2, 2)]),  # not a letter
        ("i->j", [(2,)]),  # output label never in an input
        ("i->ii", [(2,)]),  # repeated output label
        ("i-", [(2,)]),  # broken arrow
        ("i->i->i", [(2,)]),
        (".i", [(2,)]),  # a lone dot
        ("...i...", [(2,)]),  # two ellipses
        ("i->......", [(2,)]),
        ("ij", [(2,)]),  # too many subscripts
        ("i", [(2, 3)]),  # too few, no ellipsis
        ("...ij", [(2,)]),
        ("ii", [(2, 3)]),  # a diagonal of unequal axes
        ("ii", [(1, 3)]),
        ("ij,jk", [(2, 3), (4, 5)]),  # sizes do not broadcast
        ("...,...", [(2, 2), (3,)]),
        ("...i->i", [(2, 3)]),  # ellipsis dimensions with nowhere to go
    ],
)
def test_einsum_errors_as_numpy(subscripts, shapes):
    expected = _numpy_error(subscripts, shapes)
    ops = [np.ones(s) for s in shapes]
    with pytest.raises(expected) as info:
        fnp.einsum(subscripts, *ops)
    assert "einsum" in str(info.value) and "test_einsum.py" in str(info.value)
    with pytest.raises(expected):
        fg.jit(lambda *xs: fnp.einsum(subscripts, *xs))(*ops)


def test_einsum_argument_errors():
    x = np.ones((2, 2))
    for sublist, error in (([0, 52], ValueError), ([0, -1], ValueError), ([0, "a"], TypeError)):
        with pytest.raises(error):
            np.einsum(x, sublist)
        with pytest.raises(error, match="einsum"):
            fnp.einsum(x, sublist)
    with pytest.raises(TypeError, match="casting"):
        fnp.einsum("ij->i", x, dtype=np.int32)
    with pytest.raises(TypeError, match="out="):
        fnp.einsum("ij->i", x, out=np.empty(2))
    with pytest.raises(ValueError, match="path"):
        fnp.einsum("ij,jk", x, x, optimize=["einsum_path", (0, 5)])
