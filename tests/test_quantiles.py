"""quantile, percentile, nanquantile and nanpercentile against NumPy: every method in every
form of q NumPy reads differently (Python scalars are weak, float32 and integer q keep their
dtype in the index arithmetic), with axes, keepdims, NaN and weights, values exactly equal;
gradients vs finite differences in the data and in q."""

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import testing as fgt

METHODS = ["inverted_cdf", "averaged_inverted_cdf", "closest_observation", "lower", "higher"]
METHODS += ["nearest", "linear", "midpoint", "hazen", "weibull", "median_unbiased"]
METHODS += ["normal_unbiased", "interpolated_inverted_cdf"]
PICKING = ["inverted_cdf", "closest_observation", "lower", "higher", "nearest"]
NAMES = ["quantile", "percentile", "nanquantile", "nanpercentile"]
QS = [
    0.3,  # a Python float: weak, float32 data stays float32
    1,  # a Python int: an integer index where the method gives one
    0,
    np.float32(0.45),  # the index arithmetic in float32
    np.array([0.0, 0.1, 0.5, 0.95, 1.0]),
    np.array([0, 1]),
    np.array([0.2, 0.75], np.float32),
    np.array([[0.1, 0.9], [0.5, 0.25]]),
    np.zeros(0),
]


def _numpy(name, x, q, **kw):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (NumPy's all-NaN slice warning)
        return getattr(np, name)(x, q, **kw)


def _draw_case(data, name):
    dtype = data.draw(st.sampled_from([np.float64, np.float32, np.int32]))
    shape = data.draw(fgt.shapes(1, 3, min_side=1))
    # values on a coarse grid: ties, as real data has
    x = (data.draw(fgt.arrays(shape, min_value=-4, max_value=4)).round() * 1.25).astype(dtype)
    if name.startswith("nan") and dtype != np.int32:
        x[data.draw(fgt.arrays(shape, dtype=np.float64, min_value=0, max_value=1)) > 0.6] = np.nan
    q = data.draw(st.sampled_from(QS))
    if name.endswith("percentile"):
        q = q * 100
    axes = [None, 0, -1] + ([(0, -1), (-1, 0)] if len(shape) > 1 else [])
    if name.startswith("nan") and np.ndim(q) == 2:
        axes = [a for a in axes if not isinstance(a, tuple)]  # (NumPy misplaces q's axes)
    return x, q, data.draw(st.sampled_from(axes)), data.draw(st.booleans())


def _assert_equal(actual, expected, dtype=None):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == (expected.dtype if dtype is None else dtype), (actual.dtype, dtype)
    np.testing.assert_array_equal(actual, expected)


def _close(actual, expected):
    tol = 1e-6 if actual.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_quantiles_match_numpy_exactly(name, method, data):
    x, q, axis, keepdims = _draw_case(data, name)
    kw = dict(axis=axis, method=method, keepdims=keepdims)
    expected = _numpy(name, x, q, **kw)
    # (NumPy gives an all-NaN first slice the data's dtype, whatever the others get: the
    # dtype of a NaN-free call is the one that does not depend on the values)
    dtype = _numpy(name, np.nan_to_num(x), q, **kw).dtype
    _assert_equal(getattr(fnp, name)(x, q, **kw), expected, dtype)
    jitted = fg.jit(lambda a: getattr(fnp, name)(a, q, **kw))(x)
    assert jitted.dtype == dtype
    _close(jitted, expected)


def _weights_for(data, shape, axis):
    """Weights as NumPy takes them: a's shape, or the reduced axes' (in ``axis``'s order)."""
    full = axis is None or data.draw(st.booleans())
    axes = [axis] if isinstance(axis, int) else axis
    wshape = shape if full else tuple(shape[d] for d in axes)
    return data.draw(fgt.arrays(wshape, min_value=0, max_value=3)).round(), full


def _broadcast(w, shape, axis):
    """``w`` along ``axis`` (ints or a tuple) laid out in the full shape."""
    if w.shape == shape:  # (NumPy's reading too)
        return w
    axes = [axis] if isinstance(axis, int) else list(axis)
    axes = [d % len(shape) for d in axes]
    w = np.transpose(w, np.argsort(axes))
    return np.broadcast_to(
        w.reshape([shape[d] if d in axes else 1 for d in range(len(shape))]), shape
    )


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_weighted_quantiles_match_numpy(name, data):
    x, q, axis, keepdims = _draw_case(data, name)
    w, full = _weights_for(data, x.shape, axis)
    kw = dict(axis=axis, method="inverted_cdf", keepdims=keepdims)
    # (NumPy's nan* functions index weights given along an axis as if full-shaped, and fail)
    given_w = w if full or not name.startswith("nan") else _broadcast(w, x.shape, axis)
    try:
        expected = _numpy(name, x, q, weights=given_w, **kw)
    except ValueError as error:  # all the weights of a slice zero
        with pytest.raises(ValueError, match=re.escape(str(error))):
            getattr(fnp, name)(x, q, weights=w, **kw)
        return
    dtype = _numpy(name, np.nan_to_num(x), q, weights=np.ones_like(given_w), **kw).dtype
    _assert_equal(getattr(fnp, name)(x, q, weights=w, **kw), expected, dtype)
    _close(fg.jit(lambda a: getattr(fnp, name)(a, q, weights=w, **kw))(x), expected)


def test_weights_under_jit():
    """Under jit a slice whose non-NaN weights sum to zero cannot raise: it is NaN."""
    x = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]])
    w = np.array([[0.0, 1.0, 0.0], [1.0, 2.0, 3.0]])
    kw = dict(axis=1, method="inverted_cdf", weights=w)
    with pytest.raises(ValueError, match="Weights included NaN, inf or were all zero"):
        fnp.nanquantile(x, 0.5, **kw)
    got = fg.jit(lambda a: fnp.nanquantile(a, 0.5, **kw))(x)
    _assert_equal(got, [np.nan, np.quantile(x[1], 0.5, method="inverted_cdf", weights=w[1])])
    with pytest.raises(fg.errors.ConcretizationError, match="weights"):
        fg.jit(lambda v: fnp.quantile(x, 0.5, axis=1, method="inverted_cdf", weights=v))(w)


ARGUMENT_CASES = {
    "weights need inverted_cdf": lambda m: m.quantile(X, 0.5, 1, weights=np.ones(3)),
    "weights need an axis": lambda m: m.quantile(X, 0.5, method="inverted_cdf", weights=[1, 2, 3]),
    "weights' shape": lambda m: m.percentile(X, 5, 1, method="inverted_cdf", weights=np.ones(2)),
    "negative weights": lambda m: m.quantile(X, 0.5, 1, method="inverted_cdf", weights=[1, -1, 1]),
    "zero weights": lambda m: m.quantile(X, 0.5, 1, method="inverted_cdf", weights=np.zeros(3)),
    "infinite weights": lambda m: m.quantile(
        X, 0.5, 1, method="inverted_cdf", weights=[1, np.inf, 1]
    ),
    "weights in axis order": lambda m: m.quantile(
        X3, [0.2, 0.7], (2, 0), method="inverted_cdf", weights=np.arange(8.0).reshape(4, 2)
    ),
    "q above 1": lambda m: m.quantile(X, 1.5),
    "q NaN": lambda m: m.nanquantile(X, [0.5, np.nan]),
    "percent above 100": lambda m: m.percentile(X, [50, 101]),
    "q 3-D": lambda m: m.quantile(X, np.full((1, 1, 1), 0.5)),
    "q empty 2-D": lambda m: m.quantile(X, np.zeros((0, 2))),
    "q empty 1-D": lambda m: m.quantile(X, np.zeros(0), axis=0),
    "complex data": lambda m: m.quantile(X + 1j, 0.5),
    "unknown method": lambda m: m.quantile(X, 0.5, method="bogus"),
    "repeated axis": lambda m: m.quantile(X3, 0.5, axis=(0, -3)),
    "empty slice": lambda m: m.quantile(np.zeros((0, 3)), 0.5, axis=0),
    "empty, other axis": lambda m: m.quantile(np.zeros((0, 3)), [0.5, 0.2], axis=1),
    "nan*, empty: nanmean": lambda m: m.nanquantile(np.zeros((0, 3)), [0.5, 0.2], axis=0),
    "int data, integer q": lambda m: m.quantile(X.astype(np.int8), [0, 1], method="weibull"),
    "infinity": lambda m: m.quantile([1.0, np.inf], [0.5, 1.0]),
}
OUR_MESSAGES = {  # (where NumPy's says less, or lists its methods as a dict's keys)
    "empty slice": "cannot take a quantile of an empty slice",
    "unknown method": "'bogus' is not a valid method. Use one of",
}
X = np.arange(6.0).reshape(2, 3)
X3 = np.arange(24.0).reshape(2, 3, 4)


@pytest.mark.parametrize("case", sorted(ARGUMENT_CASES))
def test_arguments_and_edges_as_numpy(case):
    call = ARGUMENT_CASES[case]
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = call(np)
    except (ValueError, TypeError, IndexError) as error:
        message = OUR_MESSAGES.get(case, str(error))
        with pytest.raises(type(error), match=re.escape(message)):
            call(fnp)
        return
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _assert_equal(call(fnp), expected)


@pytest.mark.parametrize("method", METHODS)
def test_gradients_in_the_data_match_finite_differences(method):
    rng = np.random.default_rng(len(method))
    x = (rng.permutation(12) - 5.5).reshape(3, 4) * 0.37 + rng.uniform(-0.05, 0.05, (3, 4))
    q = np.array([0.0, 0.1, 0.43, 0.95, 1.0])
    xn = x.copy()
    xn[0, 1] = xn[2, 3] = np.nan  # (no all-NaN slice: its NaN has no finite difference)
    fgt.check_grads(lambda a: fnp.quantile(a, q, axis=-1, method=method), (x,), order=2)
    fgt.check_grads(lambda a: fnp.percentile(a, 30, axis=0, method=method), (x,), order=2)
    fgt.check_grads(lambda a: fnp.nanquantile(a, q, axis=1, method=method), (xn,), order=2)
    fgt.check_grads(lambda a: fnp.nanpercentile(a, [20, 80], method=method), (xn,), order=2)
    if method == "inverted_cdf":
        w = np.array([1.0, 2.0, 0.0, 3.0])
        fgt.check_grads(lambda a: fnp.nanquantile(a, q, 1, method=method, weights=w), (xn,))
    g = fg.grad(lambda a: fnp.sum(fnp.quantile(a, q, axis=None, method=method)))(x)
    assert np.count_nonzero(g) <= 2 * q.size  # only the picked or interpolated elements


@pytest.mark.parametrize("method", METHODS)
def test_gradients_in_q_are_the_slope(method):
    x = np.array([0.5, -1.25, 3.0, 2.0, 0.0, 7.5, 1.0])
    q = np.array([0.43, 0.77])
    slope = fg.jacobian(lambda p: fnp.quantile(x, p, method=method))(q)
    eps = 1e-7
    fd = (np.quantile(x, q + eps, method=method) - np.quantile(x, q - eps, method=method)) / (
        2 * eps
    )
    np.testing.assert_allclose(np.diag(slope), fd, rtol=1e-6, atol=1e-9)
    if method in PICKING:
        np.testing.assert_array_equal(slope, 0.0)
    traced = fg.jit(lambda p: fnp.quantile(x, p, method=method))(q)
    _close(traced, np.quantile(x, q, method=method))
    weak = fg.grad(lambda p: fnp.percentile(x.astype(np.float32), p, method=method))(43.0)
    np.testing.assert_allclose(weak, fd[0] / 100, rtol=1e-4)


def test_vmap_over_slices_with_nans():
    x = np.array([[3.0, np.nan, 1.0, 2.0], [np.nan] * 4, [4.0, 0.0, 5.0, 1.0]])
    for method in METHODS:
        got = fg.vmap(lambda row, method=method: fnp.nanquantile(row, [0.3, 0.9], method=method))(x)
        expected = _numpy("nanquantile", x, [0.3, 0.9], axis=1, method=method).T
        _assert_equal(got, expected)
