"""Shapes and construction in funcgrad.numpy against NumPy itself: one table of cases,
each a function of the module (``np`` or ``fnp``) and some arrays, checked for values,
shapes and dtypes eagerly and under ``jit``, under ``vmap`` against a loop, and for
gradients against finite differences; then the error cases, the host-only functions,
and lists of tracers as arrays."""

import numpy as np
import pytest
from compare import assert_numpy_type, transformed
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.testing import check_grads

# ----------------------------------------------------------------------------- the table

# name -> (fn(m, *arrays), shapes of the arrays). ``m`` is numpy or funcgrad.numpy, so
# each case is written once for both; the arrays are standard normal.
CASES = {
    "hstack": (lambda m, a, b: m.hstack([a, b]), [(2, 3), (2, 1)]),
    "hstack_1d": (lambda m, a, b: m.hstack((a, b)), [(3,), (0,)]),
    "vstack": (lambda m, a, b: m.vstack([a, b]), [(3,), (2, 3)]),
    "dstack": (lambda m, a, b: m.dstack([a, b]), [(2, 3), (2, 3)]),
    "column_stack": (lambda m, a, b: m.column_stack([a, b]), [(3,), (3, 2)]),
    "concatenate_none": (lambda m, a, b: m.concatenate([a, b], axis=None), [(2, 3), ()]),
    "concatenate_neg": (lambda m, a, b: m.concatenate((a, b), axis=-1), [(2, 0), (2, 2)]),
    "stack_last": (lambda m, a, b: m.stack([a, b], axis=-1), [(2, 3), (2, 3)]),
    "stack_middle": (lambda m, a, b: m.stack((a, b, a), axis=1), [(2, 3), (2, 3)]),
    "split": (lambda m, a: m.split(a, 2, axis=1)[1], [(3, 4)]),
    "split_indices": (lambda m, a: m.split(a, [1, -1, 9], axis=-1)[1], [(3, 4)]),
    "array_split": (lambda m, a: m.array_split(a, 3)[0], [(5, 2)]),
    "hsplit": (lambda m, a: m.hsplit(a, [2])[1], [(2, 3)]),
    "hsplit_1d": (lambda m, a: m.hsplit(a, 2)[0], [(4,)]),
    "vsplit": (lambda m, a: m.vsplit(a, 2)[1], [(4, 1)]),
    "dsplit": (lambda m, a: m.dsplit(a, [1])[0], [(1, 2, 3)]),
    "tile": (lambda m, a: m.tile(a, (2, 1, 3)), [(2, 3)]),
    "tile_short_reps": (lambda m, a: m.tile(a, 2), [(2, 3)]),
    "tile_zero": (lambda m, a: m.tile(a, (0, 2)), [(3,)]),
    "repeat": (lambda m, a: m.repeat(a, 2), [(2, 3)]),
    "repeat_axis": (lambda m, a: m.repeat(a, 3, axis=-2), [(2, 3)]),
    "repeat_counts": (lambda m, a: m.repeat(a, [2, 0, 1], axis=1), [(2, 3)]),
    "repeat_one_count": (lambda m, a: m.repeat(a, [2], axis=0), [(2, 3)]),
    "roll": (lambda m, a: m.roll(a, 5), [(2, 3)]),
    "roll_axes": (lambda m, a: m.roll(a, (1, -4), axis=(0, -1)), [(2, 3)]),
    "roll_same_axis": (lambda m, a: m.roll(a, (1, 1), axis=(1, 1)), [(2, 3)]),
    "roll_empty": (lambda m, a: m.roll(a, 2, axis=0), [(0, 3)]),
    "rot90": (lambda m, a: m.rot90(a), [(2, 3)]),
    "rot90_k": (lambda m, a: m.rot90(a, k=-1, axes=(2, 0)), [(2, 3, 4)]),
    "rot90_2": (lambda m, a: m.rot90(a, 2), [(2, 3)]),
    "fliplr": (lambda m, a: m.fliplr(a), [(2, 3)]),
    "flipud": (lambda m, a: m.flipud(a), [(3,)]),
    "flip_tuple": (lambda m, a: m.flip(a, axis=(0, -1)), [(2, 3, 2)]),
    "append": (lambda m, a, b: m.append(a, b), [(2, 3), (2,)]),
    "append_axis": (lambda m, a, b: m.append(a, b, axis=0), [(2, 3), (1, 3)]),
    "insert_scalar": (lambda m, a, b: m.insert(a, 1, b, axis=1), [(3, 4), (3,)]),
    "insert_block": (lambda m, a, b: m.insert(a, -1, b, axis=0), [(3, 4), (2, 4)]),
    "insert_sequence": (lambda m, a, b: m.insert(a, [0, 2, 2], b, axis=1), [(2, 3), (2, 1)]),
    "insert_flat": (lambda m, a: m.insert(a, slice(0, 4, 2), 5.0), [(2, 3)]),
    "insert_at_end": (lambda m, a, b: m.insert(a, 3, b), [(3,), ()]),
    "delete": (lambda m, a: m.delete(a, [0, -1], axis=1), [(2, 3)]),
    "delete_slice": (lambda m, a: m.delete(a, slice(None, None, 2)), [(2, 3)]),
    "delete_int": (lambda m, a: m.delete(a, -2, axis=0), [(3, 2)]),
    "delete_mask": (lambda m, a: m.delete(a, np.array([True, False, True]), 1), [(2, 3)]),
    "tril": (lambda m, a: m.tril(a), [(3, 4)]),
    "tril_k": (lambda m, a: m.tril(a, k=-1), [(2, 3, 4)]),
    "tril_1d": (lambda m, a: m.tril(a, 1), [(3,)]),
    "triu": (lambda m, a: m.triu(a, k=2), [(4, 3)]),
    "diag_build": (lambda m, a: m.diag(a), [(3,)]),
    "diag_build_k": (lambda m, a: m.diag(a, 2), [(3,)]),
    "diag_build_neg": (lambda m, a: m.diag(a, k=-1), [(1,)]),
    "diag_build_empty": (lambda m, a: m.diag(a, 2), [(0,)]),
    "diag_extract": (lambda m, a: m.diag(a), [(3, 4)]),
    "diag_extract_k": (lambda m, a: m.diag(a, -2), [(3, 4)]),
    "diag_extract_far": (lambda m, a: m.diag(a, 7), [(3, 4)]),
    "diagflat": (lambda m, a: m.diagflat(a, -1), [(2, 2)]),
    "diagonal": (lambda m, a: m.diagonal(a), [(3, 2)]),
    "diagonal_axes": (lambda m, a: m.diagonal(a, 1, 2, 0), [(2, 3, 4)]),
    "diagonal_neg": (lambda m, a: m.diagonal(a, -1, axis1=-1, axis2=1), [(2, 3, 4)]),
    "linspace": (lambda m, a, b: m.linspace(a, b, 5), [(), ()]),
    "linspace_arrays": (lambda m, a, b: m.linspace(a, b, 4, axis=-1), [(2, 1), (3,)]),
    "linspace_open": (lambda m, a, b: m.linspace(a, b, 3, endpoint=False, axis=1), [(2,), ()]),
    "linspace_one": (lambda m, a, b: m.linspace(a, b, 1), [(), ()]),
    "linspace_none": (lambda m, a, b: m.linspace(a, b, 0), [(2,), ()]),
    "linspace_step": (lambda m, a, b: m.linspace(a, b, 4, retstep=True)[1], [(2,), ()]),
    "linspace_weak": (lambda m, a: m.linspace(a, 2.0, 3), [()]),
    "logspace": (lambda m, a, b: m.logspace(a, b, 4), [(), (2,)]),
    "logspace_base": (lambda m, a, b: m.logspace(a, b, 3, base=2.0, endpoint=False), [(), ()]),
    "logspace_bases": (
        lambda m, a, b: m.logspace(a, 1.0, 3, base=m.abs(b) + 1, axis=-1),
        [(), (2,)],
    ),
    "geomspace": (lambda m, a, b: m.geomspace(m.abs(a) + 1, m.abs(b) + 2, 4), [(2,), ()]),
    "geomspace_neg": (lambda m, a: m.geomspace(-m.abs(a) - 1, -4.0, 3, axis=-1), [(2,)]),
    "meshgrid": (lambda m, a, b: m.meshgrid(a, b)[0], [(3,), (2,)]),
    "meshgrid_second": (lambda m, a, b: m.meshgrid(a, b)[1], [(3,), (2,)]),
    "meshgrid_ij": (lambda m, a, b: m.meshgrid(a, b, a, indexing="ij")[2], [(3,), (2,)]),
    "meshgrid_sparse": (lambda m, a, b: m.meshgrid(a, b, sparse=True)[0], [(3,), (2,)]),
    "meshgrid_one": (lambda m, a: m.meshgrid(a)[0], [(3,)]),
    "atleast_1d": (lambda m, a: m.atleast_1d(a), [()]),
    "atleast_2d": (lambda m, a: m.atleast_2d(a), [(3,)]),
    "atleast_3d": (lambda m, a: m.atleast_3d(a), [(3,)]),
    "atleast_3d_2d": (lambda m, a, b: m.atleast_3d(a, b)[1], [(3,), (2, 3)]),
    "broadcast_arrays": (lambda m, a, b: m.broadcast_arrays(a, b)[0], [(2, 1), (3,)]),
    "take_along_axis": (
        lambda m, a: m.take_along_axis(a, np.array([[0, 3], [1, -1], [2, 0]]), axis=1),
        [(3, 4)],
    ),
    "take_along_broadcast": (lambda m, a: m.take_along_axis(a, np.array([[1], [0]]), 0), [(2, 3)]),
    "take_along_none": (lambda m, a: m.take_along_axis(a, np.array([5, 0]), None), [(2, 3)]),
    "select": (lambda m, a, b: m.select([a > 0.3, b < 0.1], [a, b], 0.5), [(2, 3), (3,)]),
    "choose": (lambda m, a, b: m.choose(np.array([[0, 1, 1], [1, 0, 0]]), [a, b]), [(3,), (2, 3)]),
    "piecewise": (
        lambda m, a: m.piecewise(a, [a < -0.5, a > 0.5], [lambda v: v * v, lambda v: -v, 2.0]),
        [(2, 3)],
    ),
    "piecewise_one": (lambda m, a: m.piecewise(a, a > 0.2, [m.sin, m.cos]), [(4,)]),
    "r_": (lambda m, a, b: m.r_[a, 0:3, 7.0, b], [(2,), ()]),
    "r_linspace": (lambda m, a: m.r_[a, 0:1:5j], [(2,)]),
    "r_directive": (lambda m, a, b: m.r_["0,2,0", a, b], [(2,), (2,)]),
    "c_": (lambda m, a, b: m.c_[a, a, b], [(3,), (3, 2)]),
    "pad_edge": (lambda m, a: m.pad(a, (1, 2), mode="edge"), [(2, 3)]),
    "pad_wrap": (lambda m, a: m.pad(a, ((5, 1), (2, 6)), mode="wrap"), [(2, 3)]),
    "pad_symmetric": (lambda m, a: m.pad(a, 4, mode="symmetric"), [(3,)]),
    "pad_reflect": (lambda m, a: m.pad(a, ((2, 5), (0, 1)), mode="reflect"), [(3, 1)]),
    "pad_constants": (
        lambda m, a: m.pad(a, ((1, 2), (3, 1)), constant_values=((1, 2), (3, 4))),
        [(2, 2)],
    ),
    "squeeze_scalar": (lambda m, a: m.squeeze(a, axis=0), [()]),
    "vstack_of_an_array": (lambda m, a: m.vstack(a), [(2, 3)]),
    "pad_scalar": (lambda m, a: m.pad(a, 2, mode="edge"), [()]),
    "stack_dtype": (lambda m, a, b: m.stack([a, b], dtype=np.float64), [(2,), (2,)]),
    "concatenate_dtype": (lambda m, a, b: m.concatenate([a, b], dtype=np.float64), [(2,), (1,)]),
    "resize": (lambda m, a: m.resize(a, (3, 3)), [(2, 2)]),
    "resize_smaller": (lambda m, a: m.resize(a, 3), [(2, 2)]),
    "resize_empty": (lambda m, a: m.resize(a, (2, 0)), [(2,)]),
    "pad_traced_value": (
        lambda m, a, b: m.pad(a, ((1, 0), (2, 1)), constant_values=b),
        [(2, 2), ()],
    ),
    "moveaxis": (lambda m, a: m.moveaxis(a, (0, 1), (-1, 0)), [(2, 3, 4)]),
    "reshape_f": (lambda m, a: m.reshape(a, (3, -1), order="F"), [(2, 3, 2)]),
    "ravel_f": (lambda m, a: m.ravel(a, order="F"), [(2, 3)]),
    "squeeze_tuple": (lambda m, a: m.squeeze(a, axis=(0, -1)), [(1, 3, 1)]),
    "expand_dims_tuple": (lambda m, a: m.expand_dims(a, (0, -1, 2)), [(2, 3)]),
    "full": (lambda m, a: m.full((2, 3), a), [()]),
    "full_broadcast": (lambda m, a: m.full((2, 3), a), [(3,)]),
    "full_like": (lambda m, a, b: m.full_like(a, b), [(2, 3), ()]),
    "array_of_scalars": (lambda m, a, b: m.array([[a, b], [b, a]]), [(), ()]),
    "array_of_arrays": (lambda m, a, b: m.array([a, b, a]), [(2,), (2,)]),
    "array_ndmin": (lambda m, a: m.array([a, a], ndmin=3), [(2,)]),
    "asarray_tuple": (lambda m, a, b: m.asarray((a, [b, 1.0])), [(2,), ()]),
    "copy": (lambda m, a: m.copy(a), [(2,)]),
    "ascontiguousarray": (lambda m, a: m.ascontiguousarray(a), [()]),
    "asanyarray": (lambda m, a, b: m.asanyarray([a, b]), [(2,), (2,)]),
    "block": (lambda m, a, b: m.block([[a, b], [b, a]]), [(2, 2), (2, 2)]),
    "block_ranks": (lambda m, a, b: m.block([[a], [b]]), [(2, 3), (3,)]),
    "block_scalars": (lambda m, a, b: m.block([[[a, b]], [[b, a]]]), [(), ()]),
    "mean_of_list": (lambda m, a, b: m.mean([a, b * 2], axis=0), [(3,), (3,)]),
    "sum_of_list": (lambda m, a, b: m.sum([a, b, 1.0]), [(), ()]),
    "std_of_list": (lambda m, a, b: m.std([[a, b], [b, 1.0]]), [(), ()]),
    "max_of_list": (lambda m, a, b: m.max([a, b]), [(), ()]),
}
# Not differentiable (piecewise constant) or with kinks at the sample points.
NO_GRAD = {"linspace_none"}
FLOAT_DTYPES = [np.float32, np.float64]


def _draw(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _rtol(dtype):
    return 2e-6 if np.dtype(dtype) == np.float32 else 1e-12


def assert_same(actual, expected, rtol):
    assert_numpy_type(actual, expected)
    expected = np.asarray(expected)
    assert (actual.shape, actual.dtype) == (expected.shape, expected.dtype)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_numpy_eagerly_and_under_jit(name, dtype):
    fn, shapes = CASES[name]
    args = _draw(shapes, dtype)
    expected = fn(np, *args)
    assert_same(fn(fnp, *args), expected, _rtol(dtype))
    assert_same(fg.jit(lambda *xs: fn(fnp, *xs))(*args), transformed(expected), _rtol(dtype))


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_matches_a_loop(name):
    fn, shapes = CASES[name]
    batches = [np.stack([a, a + 0.5]) for a in _draw(shapes, np.float64)]
    out = fg.vmap(lambda *xs: fn(fnp, *xs))(*batches)
    expected = np.stack([fn(np, *[b[i] for b in batches]) for i in range(2)])
    assert_same(out, expected, 1e-12)


@pytest.mark.parametrize("name", sorted(set(CASES) - NO_GRAD))
def test_gradients_match_finite_differences(name):
    fn, shapes = CASES[name]
    check_grads(lambda *xs: fn(fnp, *xs), tuple(_draw(shapes, np.float64)), order=1)


def test_second_order_through_a_chain_of_shape_functions():
    def f(x, y):
        grid = fnp.meshgrid(x, y)[0]
        z = fnp.tril(fnp.roll(fnp.tile(grid, (1, 2)), 1, axis=1)[:, :2])
        return fnp.sum(fnp.diag(z) ** 3) + fnp.sum(fnp.linspace(x[0], y[1], 4) ** 2)

    x, y = _draw([(3,), (2,)], np.float64)
    check_grads(f, (x, y), order=2)


# ----------------------------------------------------------------------------- other dtypes

INT_CASES = [
    "hstack",
    "vstack",
    "tile",
    "repeat_counts",
    "roll_axes",
    "rot90_k",
    "insert_sequence",
    "delete_mask",
    "tril_k",
    "triu",
    "diag_build_k",
    "diag_extract_k",
    "diagonal_axes",
    "pad_reflect",
    "pad_constants",
    "take_along_axis",
    "r_",
    "c_",
    "meshgrid_ij",
    "array_of_scalars",
    "select",
    "choose",
]


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_])
@pytest.mark.parametrize("name", INT_CASES)
def test_integer_and_bool_inputs(name, dtype):
    fn, shapes = CASES[name]
    args = [(3 * a).astype(dtype) for a in _draw(shapes, np.float64)]
    expected = np.asarray(fn(np, *args))
    for out in (fn(fnp, *args), fg.jit(lambda *xs: fn(fnp, *xs))(*args)):
        assert isinstance(out, np.ndarray)
        assert (out.shape, out.dtype) == (expected.shape, expected.dtype)
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m, n: m.linspace(n, 2 * n, 5, dtype=int),
        lambda m, n: m.linspace(-n, n, 6, dtype=np.int32),
        lambda m, n: m.linspace(n, 3, 4, dtype=np.float32),
        lambda m, n: m.logspace(n, 2, 3, dtype=np.float32),
        lambda m, n: m.geomspace(n, 8, 4, dtype=np.float32),
        lambda m, n: m.linspace(n, 1, 3),
    ],
)
@pytest.mark.parametrize("dtype", [np.int64, np.float32])
def test_ranges_with_a_traced_start_and_a_dtype(fn, dtype):
    n = np.asarray(3, dtype)
    expected = fn(np, n)
    assert_same(fg.jit(lambda n: fn(fnp, n))(n), transformed(expected), 2e-6)


def test_row_stack_is_vstack_and_methods_exist():
    assert fnp.row_stack is fnp.vstack
    x = _draw([(2, 3)], np.float32)[0]
    outs = fg.jit(lambda x: (x.repeat(2, axis=1), x.diagonal(), x.take([2, 0], 1), x.copy()))(x)
    for out, expected in zip(outs, (x.repeat(2, axis=1), x.diagonal(), x.take([2, 0], 1), x)):
        assert_same(out, expected, 0)
    assert fg.jit(lambda x: fnp.size(x, -1) + fnp.size(x) + fnp.ndim(x))(x) == 11


def test_creation_keywords_as_numpy():
    x = np.ones((2, 3), np.float32)
    for name in ("zeros_like", "ones_like", "empty_like"):
        out = getattr(fnp, name)(x, shape=(4,), dtype=np.int32)
        assert (out.shape, out.dtype) == ((4,), np.int32)
    assert_same(fnp.full_like(x, 2.5, shape=(1, 2)), np.full_like(x, 2.5, shape=(1, 2)), 0)
    assert_same(fnp.zeros(shape=(2,), dtype=np.int8), np.zeros((2,), np.int8), 0)
    assert fnp.empty((2, 1), np.float32).shape == (2, 1)
    assert_same(fnp.eye(3, 4, k=-1, dtype=np.float32), np.eye(3, 4, k=-1, dtype=np.float32), 0)
    assert_same(fnp.identity(2), np.identity(2), 0)
    assert_same(fnp.tri(3, 2, 1), np.tri(3, 2, 1), 0)
    assert fnp.broadcast_shapes((2, 1), (3,), ()) == (2, 3)
    f = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    for order in "CFAK":
        assert_same(fnp.ravel(f, order=order), np.ravel(f, order=order), 0)
    for order in "CFA":
        assert_same(fnp.reshape(f, (3, 2), order=order), np.reshape(f, (3, 2), order=order), 0)


# ----------------------------------------------------------------------------- errors

ERRORS = [
    (ValueError, lambda m: m.stack([np.ones(2)], axis=2)),
    (ValueError, lambda m: m.stack([])),
    (TypeError, lambda m: m.stack([np.ones(2)], dtype=np.int32)),
    (TypeError, lambda m: m.concatenate([np.ones(2)], dtype=np.int32, casting="safe")),
    (ValueError, lambda m: m.resize(np.ones(2), (-1, 2))),
    (ValueError, lambda m: m.stack([np.ones(2), np.ones(3)])),
    (ValueError, lambda m: m.concatenate([np.ones(3), np.ones((3, 1))])),
    (ValueError, lambda m: m.split(np.ones(5), 2)),
    (ValueError, lambda m: m.array_split(np.ones(5), 0)),
    (ValueError, lambda m: m.hsplit(np.ones(()), 1)),
    (ValueError, lambda m: m.vsplit(np.ones(4), 2)),
    (ValueError, lambda m: m.dsplit(np.ones((2, 2)), 2)),
    (ValueError, lambda m: m.repeat(np.ones(3), [1, 2])),
    (ValueError, lambda m: m.repeat(np.ones(3), -1)),
    (ValueError, lambda m: m.roll(np.ones((3, 3)), (1, 2), (0, 1, 0))),
    (ValueError, lambda m: m.rot90(np.ones((3, 3)), 1, (0, 0))),
    (ValueError, lambda m: m.rot90(np.ones((3, 3)), 1, (0,))),
    (ValueError, lambda m: m.rot90(np.ones((3, 3)), 1, (0, 2))),
    (ValueError, lambda m: m.fliplr(np.ones(3))),
    (ValueError, lambda m: m.flipud(np.ones(()))),
    (ValueError, lambda m: m.tile(np.ones(3), -1)),
    (TypeError, lambda m: m.pad(np.ones(3), 1.5)),
    (ValueError, lambda m: m.pad(np.ones(3), -1)),
    (ValueError, lambda m: m.pad(np.ones(3), 1, mode="foo")),
    (ValueError, lambda m: m.pad(np.ones((0, 2)), 1, mode="edge")),
    (ValueError, lambda m: m.reshape(np.ones(3), 3, order="X")),
    (ValueError, lambda m: m.moveaxis(np.ones((3, 3)), (0, 1), (0,))),
    (ValueError, lambda m: m.moveaxis(np.ones((3, 3)), 0, 2)),
    (ValueError, lambda m: m.squeeze(np.ones((2, 1)), axis=0)),
    (ValueError, lambda m: m.diag(np.ones((2, 2, 2)))),
    (ValueError, lambda m: m.diagonal(np.ones(3))),
    (ValueError, lambda m: m.diagonal(np.ones((2, 2)), 0, 1, -1)),
    (IndexError, lambda m: m.delete(np.ones(3), 3)),
    (IndexError, lambda m: m.delete(np.ones(3), [0, 5])),
    (IndexError, lambda m: m.insert(np.ones(3), 4, 1.0)),
    (IndexError, lambda m: m.insert(np.ones(3), [0, 5], 1.0)),
    (ValueError, lambda m: m.insert(np.ones((2, 2)), 1, np.ones(3), axis=0)),
    (ValueError, lambda m: m.linspace(0.0, 1.0, -1)),
    (ValueError, lambda m: m.meshgrid(np.ones(2), indexing="yx")),
    (ValueError, lambda m: m.broadcast_arrays(np.ones(2), np.ones(3))),
    (ValueError, lambda m: m.broadcast_shapes((2,), (3,))),
    (ValueError, lambda m: m.select([np.ones(2, bool)], [np.ones(2), np.ones(2)])),
    (ValueError, lambda m: m.select([], [])),
    (TypeError, lambda m: m.select([np.ones(2)], [np.ones(2)])),
    (ValueError, lambda m: m.choose(np.array([0, 2]), [np.ones(2), np.ones(2)])),
    (ValueError, lambda m: m.take_along_axis(np.ones((2, 2)), np.array([0]), axis=0)),
    (IndexError, lambda m: m.take_along_axis(np.ones(2), np.array([0.5]), axis=0)),
    (ValueError, lambda m: m.nonzero(np.ones(()))),
    (ValueError, lambda m: m.array([[1.0, 2.0], [3.0]])),
    (ValueError, lambda m: m.unravel_index(6, (2, 3))),
    (ValueError, lambda m: m.reshape(np.ones(3), 3, order="K")),
    (ValueError, lambda m: m.eye(-1)),
    (ValueError, lambda m: m.zeros(-1)),
]


@pytest.mark.parametrize("error, fn", ERRORS)
def test_errors_as_numpy(error, fn):
    with pytest.raises(error):
        fn(np)
    with pytest.raises(error, match=r"at .*test_shapes\.py:\d+"):
        fn(fnp)


def test_block_refuses_what_numpy_refuses():
    a = np.ones((2, 2))
    with pytest.raises(TypeError, match="only lists.*test_shapes"):
        fnp.block((a, a))
    with pytest.raises(ValueError, match="cannot be empty"):
        fnp.block([[a], []])
    with pytest.raises(
        ValueError, match=r"depths are mismatched: arrays\[0\] .* 1 deep, arrays\[1\] 2 deep"
    ):
        fnp.block([[a], [[a]]])


def test_errors_under_jit_name_the_line():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"stack: axis 3 is out of bounds.*test_shapes\.py"):
        fg.jit(lambda x: fnp.stack([x, x], axis=3))(x)
    with pytest.raises(ValueError, match=r"array: the nested sequence is ragged"):
        fg.jit(lambda x: fnp.array([x, x[0]]))(x)


# ----------------------------------------------------------------------------- host only


HOST_ONLY = {
    "nonzero": lambda m, x: m.nonzero(x),
    "where": lambda m, x: m.where(x > 0),
    "argwhere": lambda m, x: m.argwhere(x),
    "flatnonzero": lambda m, x: m.flatnonzero(x),
    "unravel_index": lambda m, x: m.unravel_index(m.flatnonzero(x), x.shape),
    "ravel_multi_index": lambda m, x: m.ravel_multi_index(m.nonzero(x), x.shape),
}


@pytest.mark.parametrize("name", sorted(HOST_ONLY))
def test_value_dependent_shapes_work_on_concrete_values_only(name):
    fn = HOST_ONLY[name]
    x = np.array([[0.0, 1.5, 0.0], [-2.0, 0.0, 3.0]])
    expected = fn(np, x)
    np.testing.assert_array_equal(fn(fnp, x), expected)
    seen = []
    fg.grad(lambda x: seen.append(fn(fnp, x)) or fnp.sum(x))(x)  # concrete under grad
    np.testing.assert_array_equal(seen[0], expected)
    with pytest.raises(fg.ConcretizationError, match=r"jit cannot compile|concrete"):
        fg.jit(lambda x: fn(fnp, x))(x)


def test_one_argument_where_under_jit_names_the_three_argument_form():
    with pytest.raises(fg.ConcretizationError, match=r"where: .*fnp\.where\(condition, x, y\)"):
        fg.jit(lambda x: fnp.where(x))(np.ones(3))
    with pytest.raises(TypeError, match="both or neither"):
        fnp.where(np.ones(2) > 0, 1.0)


def test_traced_positions_under_jit_raise_concretization_errors():
    x = np.ones(4)
    for fn in (
        lambda x: fnp.repeat(x, fnp.astype(x, int)),
        lambda x: fnp.delete(x, fnp.astype(x[:1], int)),
        lambda x: fnp.arange(x[0]),
    ):
        with pytest.raises(fg.ConcretizationError):
            fg.jit(fn)(x)
    # Concrete under grad (the counts are known there), as in NumPy.
    g = fg.grad(lambda x: fnp.sum(fnp.repeat(x, fnp.astype(x, int) + 1) ** 2))(x)
    np.testing.assert_allclose(g, 4 * x)  # each x_i twice: d/dx 2 x^2


# ----------------------------------------------------------------------------- lists of tracers


@pytest.mark.parametrize(
    "make",
    [
        lambda a, b: [a, b],
        lambda a, b: [a, 1.0],
        lambda a, b: [a, 2],
        lambda a, b: [[a, b], [b, a]],
        lambda a, b: (a, np.float32(1)),
        lambda a, b: [a, True],
        lambda a, b: [[a], [b]],
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.bool_])
def test_arrays_of_traced_lists_have_numpy_dtypes(make, dtype):
    a, b = np.asarray(1, dtype), np.asarray(0, dtype)
    expected = np.array(make(a, b))
    for fn in (fnp.array, fnp.asarray):
        out = fg.jit(lambda a, b: fn(make(a, b)))(a, b)
        assert (out.shape, out.dtype) == (expected.shape, expected.dtype)
        np.testing.assert_array_equal(out, expected)
    cast = fg.jit(lambda a, b: fnp.asarray(make(a, b), dtype=np.float32))(a, b)
    assert cast.dtype == np.float32


def test_reductions_of_traced_lists_under_grad():
    def loss(a, b):
        return fnp.mean([a, b * b]) + fnp.std([a, b]) + fnp.max([a, 2 * b]) + fnp.sum([[a]])

    check_grads(loss, (np.float64(0.3), np.float64(1.2)), order=2)
    # A list without tracers stays plain NumPy.
    assert isinstance(fnp.asarray([1, 2]), np.ndarray) and fnp.asarray([1, 2]).dtype == np.int64


# ----------------------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 4),
    widths=st.tuples(st.integers(0, 9), st.integers(0, 9)),
    mode=st.sampled_from(["edge", "wrap", "symmetric", "reflect", "constant"]),
)
def test_pad_modes_match_numpy_for_any_widths(n, widths, mode):
    x = np.arange(2.0 * n).reshape(2, n)
    assert_same(fnp.pad(x, ((1, 0), widths), mode=mode), np.pad(x, ((1, 0), widths), mode=mode), 0)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 4), m=st.integers(0, 4), k=st.integers(-5, 5))
def test_diag_both_ways_for_any_offset(n, m, k):
    x = np.arange(float(n * m)).reshape(n, m)
    assert_same(fnp.diag(x, k), np.diag(x, k), 0)
    v = np.arange(float(n))
    assert_same(fnp.diag(v, k), np.diag(v, k), 0)
    assert_same(fnp.tril(x, k), np.tril(x, k), 0)
    assert_same(fnp.triu(x, k), np.triu(x, k), 0)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 6), sections=st.integers(1, 4), split_at=st.lists(st.integers(-7, 7)))
def test_split_pieces_join_back(n, sections, split_at):
    x = np.arange(float(2 * n)).reshape(2, n)
    for spec in (sections, split_at):
        pieces = fnp.array_split(x, spec, axis=1)
        expected = np.array_split(x, spec, axis=1)
        assert len(pieces) == len(expected)
        for p, e in zip(pieces, expected):
            assert_same(p, e, 0)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 5),
    positions=st.lists(st.integers(-5, 5), max_size=4),
    shift=st.integers(-7, 7),
    reps=st.tuples(st.integers(0, 3), st.integers(1, 2)),
)
def test_positions_and_repetitions_match_numpy(n, positions, shift, reps):
    x = np.arange(2.0 * n).reshape(2, n)
    inside = [p for p in positions if -n <= p < n]
    assert_same(fnp.delete(x, inside, axis=1), np.delete(x, inside, axis=1), 0)
    at = [p for p in positions if -n <= p <= n]
    assert_same(fnp.insert(x, at, -1.0, axis=1), np.insert(x, at, -1.0, axis=1), 0)
    assert_same(fnp.roll(x, shift, axis=-1), np.roll(x, shift, axis=-1), 0)
    assert_same(fnp.roll(x, (shift, 1)), np.roll(x, (shift, 1)), 0)
    assert_same(fnp.tile(x, reps), np.tile(x, reps), 0)
    counts = [abs(p) for p in (positions + [1] * n)[:n]]
    assert_same(fnp.repeat(x, counts, axis=1), np.repeat(x, counts, axis=1), 0)
