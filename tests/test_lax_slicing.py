"""fg.lax's slices at traced positions and small helpers, against NumPy slicing."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import errors

L = fg.lax


def _clamped(starts, sizes, shape):
    return [min(max(s, 0), d - n) for s, n, d in zip(starts, sizes, shape)]


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    data=st.data(),
)
def test_dynamic_slice_and_update_match_numpy_slicing(shape, data):
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    sizes = [data.draw(st.integers(0, d)) for d in shape]
    starts = [data.draw(st.integers(-3, d + 3)) for d in shape]
    c = _clamped(starts, sizes, shape)
    window = tuple(slice(s, s + n) for s, n in zip(c, sizes))
    idx = [np.int64(s) for s in starts]
    got = fg.jit(lambda x, *i: L.dynamic_slice(x, i, sizes))(x, *idx)
    np.testing.assert_array_equal(got, x[window])
    update = -np.ones(sizes)
    want = x.copy()
    want[window] = update
    got = fg.jit(lambda x, u, *i: L.dynamic_update_slice(x, u, i))(x, update, *idx)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == x.dtype


def test_gradients_and_vmap_of_dynamic_slices():
    x = np.arange(6.0)
    g = fg.grad(lambda x, i: fnp.sum(L.dynamic_slice(x, (i,), (3,)) ** 2))(x, np.int64(2))
    np.testing.assert_array_equal(g, [0, 0, 4, 6, 8, 0])
    gu = fg.grad(lambda u: fnp.sum(L.dynamic_update_slice(x, u, (np.int64(4),)) * x))(np.ones(2))
    np.testing.assert_array_equal(gu, [4.0, 5.0])
    starts = np.array([0, 3, 9])
    rows = fg.vmap(lambda i: L.dynamic_slice_in_dim(x, i, 2))(starts)
    np.testing.assert_array_equal(rows, [[0, 1], [3, 4], [4, 5]])
    assert L.dynamic_index_in_dim(np.eye(3), np.int64(1), keepdims=False).tolist() == [0, 1, 0]
    out = L.dynamic_update_slice_in_dim(np.zeros((2, 3)), np.ones((2, 1)), np.int64(2), axis=1)
    np.testing.assert_array_equal(out, [[0, 0, 1], [0, 0, 1]])


def test_select_clamp_stop_gradient_and_errors():
    np.testing.assert_array_equal(
        L.select(np.array([True, False]), np.ones(2), np.zeros(2)), [1, 0]
    )
    np.testing.assert_array_equal(L.clamp(0.0, np.array([-1.0, 0.5, 2.0]), 1.0), [0, 0.5, 1])
    assert float(fg.grad(lambda x: L.stop_gradient(x) * x)(3.0)) == 3.0
    with pytest.raises(TypeError, match="boolean"):
        L.select(np.ones(2), np.ones(2), np.zeros(2))
    with pytest.raises(errors.ShapeError, match="shapes"):
        L.select(np.ones(2) > 0, np.ones(3), np.zeros(3))
    with pytest.raises(errors.ShapeError, match="do not fit"):
        L.dynamic_slice(np.ones(3), (0,), (4,))
    with pytest.raises(errors.ShapeError, match="start indices"):
        L.dynamic_slice(np.ones((3, 3)), (0,), (1,))
