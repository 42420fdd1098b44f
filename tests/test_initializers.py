"""fg.nn.initializers: fans for Dense (in, out) and conv OIHW layouts, the variance-scaling
standard deviations, bounds, dtypes, determinism and jit with a traced key.

With n samples, the relative standard error of an empirical std is about 1/sqrt(2n) for a
normal and 0.45/sqrt(n) for a uniform; the 3% tolerances below are > 5 of those at the
smallest n used (18,432 weights), so they fail only on a wrong formula.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
from funcgrad.errors import DtypeError, ShapeError
from funcgrad.nn import initializers as init
from funcgrad.nn.initializers import _fans

KEY = fg.random.key(0)
DENSE = (300, 200)  # (in, out)
OIHW = (64, 32, 3, 3)  # (out, in, kh, kw): fan_in = 32 * 9, fan_out = 64 * 9

# name -> (factory, variance as a function of (fan_in, fan_out), is uniform)
SCALED = {
    "glorot_uniform": (init.glorot_uniform, lambda i, o: 2 / (i + o), True),
    "glorot_normal": (init.glorot_normal, lambda i, o: 2 / (i + o), False),
    "he_uniform": (init.he_uniform, lambda i, o: 2 / i, True),
    "he_normal": (init.he_normal, lambda i, o: 2 / i, False),
    "lecun_normal": (init.lecun_normal, lambda i, o: 1 / i, False),
    "lecun_uniform": (init.lecun_uniform, lambda i, o: 1 / i, True),
}


def test_fans_of_dense_and_conv_layouts():
    assert _fans(DENSE, -2, -1) == (300, 200)
    assert _fans(OIHW, 1, 0) == (32 * 9, 64 * 9)
    assert _fans((5, 3, 4), -2, -1) == (3 * 5, 4 * 5)  # a leading batch of weights
    # The default axes on an OIHW shape would read the kernel dims as fans: very different.
    assert _fans(OIHW, -2, -1) == (3 * 64 * 32, 3 * 64 * 32)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=2, max_size=5).map(tuple),
    data=st.data(),
)
def test_fans_property(shape, data):
    axes = data.draw(st.permutations(range(len(shape))))[:2]
    fan_in, fan_out = _fans(shape, axes[0], axes[1])
    receptive = math.prod(shape) // (shape[axes[0]] * shape[axes[1]])
    assert (fan_in, fan_out) == (shape[axes[0]] * receptive, shape[axes[1]] * receptive)
    # Negative axes name the same dimensions.
    assert _fans(shape, axes[0] - len(shape), axes[1] - len(shape)) == (fan_in, fan_out)


@pytest.mark.parametrize("name", sorted(SCALED))
@pytest.mark.parametrize(
    "shape, axes", [(DENSE, {}), (OIHW, {"in_axis": 1, "out_axis": 0})], ids=["dense", "oihw"]
)
def test_variance_scaling_std(name, shape, axes):
    factory, variance, is_uniform = SCALED[name]
    w = factory(**axes)(KEY, shape)
    assert w.shape == shape and w.dtype == np.float32
    fan_in, fan_out = _fans(shape, axes.get("in_axis", -2), axes.get("out_axis", -1))
    std = math.sqrt(variance(fan_in, fan_out))
    assert abs(w.std() / std - 1) < 0.03
    assert abs(w.mean()) < 5 * std / math.sqrt(w.size)
    if is_uniform:  # on [-limit, limit) with limit = sqrt(3) * std, filled to the edges
        limit = math.sqrt(3) * std
        assert w.min() >= -limit and w.max() < limit and w.max() > 0.99 * limit
    else:  # a plain (not truncated) normal: values beyond 2 std do occur
        assert 0.03 < np.mean(np.abs(w) > 2 * std) < 0.06


def test_conv_layout_changes_the_scale():
    oihw = init.he_normal(in_axis=1, out_axis=0)(KEY, OIHW)
    wrong = init.he_normal()(KEY, OIHW)
    assert abs(oihw.std() / wrong.std() - math.sqrt(3 * 64 * 32 / (32 * 9))) < 0.1


def test_variance_scaling_modes():
    shape = (100, 400)
    for mode, fan in (("fan_in", 100), ("fan_out", 400), ("fan_avg", 250)):
        w = init.variance_scaling(3.0, mode, "normal")(KEY, shape)
        assert abs(w.std() / math.sqrt(3.0 / fan) - 1) < 0.03
    with pytest.raises(ValueError, match="mode must be one of"):
        init.variance_scaling(1.0, "fan_sum", "normal")
    with pytest.raises(ValueError, match="distribution must be one of"):
        init.variance_scaling(1.0, "fan_in", "truncated_normal")


def test_normal_and_uniform():
    w = init.normal(0.05)(KEY, (200, 100))
    assert w.dtype == np.float32 and abs(w.std() / 0.05 - 1) < 0.03
    assert abs(init.normal()(KEY, (20000,)).std() / 1e-2 - 1) < 0.03  # the default, 1-D too
    u = init.uniform(0.2)(KEY, (20000,))
    assert u.min() >= 0 and u.max() < 0.2 and abs(u.mean() / 0.1 - 1) < 0.03
    assert init.uniform()(KEY, (5,)).max() < 1e-2


def test_zeros_and_ones():
    z, o = init.zeros(KEY, (2, 3)), init.ones(KEY, (4,), np.float64)
    assert z.dtype == np.float32 and z.shape == (2, 3) and not z.any()
    assert o.dtype == np.float64 and np.all(o == 1)


@pytest.mark.parametrize("name", sorted(SCALED))
def test_dtypes_and_determinism(name):
    make = SCALED[name][0]()
    a, b = make(KEY, (30, 20)), make(fg.random.key(0), (30, 20))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, make(fg.random.key(1), (30, 20)))
    w64 = make(KEY, (30, 20), np.float64)
    assert w64.dtype == np.float64
    np.testing.assert_allclose(w64, a, rtol=1e-5, atol=1e-6)  # the same draw, more bits
    with pytest.raises(DtypeError, match="float32 or float64"):
        make(KEY, (3, 2), np.int32)


def test_jit_with_a_traced_key_matches_eager():
    for make in (init.he_uniform(in_axis=1, out_axis=0), init.glorot_normal(), init.normal()):
        f = fg.jit(lambda k, make=make: make(k, (8, 4, 3, 3)))
        np.testing.assert_array_max_ulp(f(KEY), make(KEY, (8, 4, 3, 3)), maxulp=4)


def test_shape_errors():
    with pytest.raises(ShapeError, match=r"rank >= 2 .* got \(5,\)"):
        init.he_normal()(KEY, (5,))
    with pytest.raises(ShapeError, match="in_axis and out_axis are both axis 0"):
        init.glorot_uniform(in_axis=0, out_axis=-2)(KEY, (3, 4))
    with pytest.raises(
        ShapeError, match=r"in_axis=2 and out_axis=0 are invalid for shape \(3, 4\)"
    ):
        init.glorot_uniform(in_axis=2, out_axis=0)(KEY, (3, 4))
