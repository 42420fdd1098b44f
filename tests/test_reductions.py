"""Reductions, scans, sorting and order statistics against NumPy: values and dtypes
(float32, float64, ints; size 0/1 where NumPy defines a result; NaN), gradients vs finite
differences in float64, and the same results under jit and vmap."""

import re
import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytest
from compare import numpy_then_ours
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import testing as fgt
from funcgrad.errors import ConcretizationError

SETTINGS = settings(max_examples=10, deadline=None)


class R(NamedTuple):
    """One call, made with ``m`` = numpy or funcgrad.numpy on the same array."""

    call: Callable  # (m, x) -> result
    min_dims: int = 1
    max_dims: int = 3
    empty: bool = False  # NumPy defines the result of a size-0 array
    ints: bool = True
    grads: bool = True
    nans: bool = False  # draws may hold a NaN


def _with_zeros(m, x):
    return m.concatenate([x, np.zeros(x.shape[:-1] + (1,), x.dtype)], axis=-1)


W4 = np.array([0.5, 1.0, 2.0, 1.5])


def _weights_like(x):
    """Weights for ``_with_zeros(x)``, in its full shape (NumPy's nan* functions take
    weights along an axis wrongly)."""
    row = np.array([0.5, 1.0, 0.0, 2.0, 1.5])[: x.shape[-1] + 1]
    return np.broadcast_to(row, x.shape[:-1] + row.shape)


Q = np.array([0.0, 0.1, 0.5, 0.95, 1.0])
# every method NumPy >= 2 has (tests/test_quantiles.py checks each in every form of q)
METHODS = ["inverted_cdf", "averaged_inverted_cdf", "closest_observation", "lower", "higher"]
METHODS += ["nearest", "linear", "midpoint", "hazen", "weibull", "median_unbiased"]
METHODS += ["normal_unbiased", "interpolated_inverted_cdf"]

CASES = {
    "prod": R(lambda m, x: m.prod(x), min_dims=0, empty=True),
    "prod_axis": R(lambda m, x: m.prod(x, axis=0, keepdims=True), empty=True),
    "cumsum": R(lambda m, x: m.cumsum(x), min_dims=0, empty=True),
    "cumsum_axis": R(lambda m, x: m.cumsum(x, axis=-1), empty=True),
    "cumprod": R(lambda m, x: m.cumprod(x, axis=0), empty=True),
    "cumulative_sum": R(lambda m, x: m.cumulative_sum(x, axis=0, include_initial=True)),
    "cumulative_prod": R(lambda m, x: m.cumulative_prod(x, axis=-1)),
    "diff": R(lambda m, x: m.diff(x, n=2, axis=0), empty=True),
    "diff_edges": R(lambda m, x: m.diff(x, prepend=1.5, append=x[..., :1]), empty=True),
    "ediff1d": R(lambda m, x: m.ediff1d(x, to_begin=[2.0, 1.0], to_end=4.0), min_dims=0),
    "all": R(lambda m, x: m.all(x > -1, axis=0), empty=True, grads=False),
    "any": R(lambda m, x: m.any(x, axis=-1, keepdims=True), empty=True, grads=False, nans=True),
    "count_nonzero": R(lambda m, x: m.count_nonzero(x > 0), min_dims=0, empty=True, grads=False),
    "nansum": R(lambda m, x: m.nansum(x, axis=0), empty=True, nans=True),
    "nanprod": R(lambda m, x: m.nanprod(x, axis=-1), empty=True, nans=True),
    "nancumsum": R(lambda m, x: m.nancumsum(x, axis=0), empty=True, nans=True),
    "nancumprod": R(lambda m, x: m.nancumprod(x), min_dims=0, empty=True, nans=True),
    "nanmean": R(lambda m, x: m.nanmean(x, axis=0), nans=True),
    "nanmax": R(lambda m, x: m.nanmax(x, axis=-1), nans=True),
    "nanmin": R(lambda m, x: m.nanmin(x), nans=True),
    "nanvar": R(lambda m, x: m.nanvar(x, axis=0), nans=True),
    "nanstd": R(lambda m, x: m.nanstd(x, axis=-1, ddof=1), nans=True),
    "nanargmax": R(lambda m, x: m.nanargmax(x), nans=True, grads=False),
    "nanargmin": R(lambda m, x: m.nanargmin(x, axis=0), nans=True, grads=False),
    "average": R(lambda m, x: m.average(x, axis=-1, weights=W4[: x.shape[-1]])),
    "average_returned": R(lambda m, x: m.average(x, axis=0, returned=True)[0]),
    "ptp": R(lambda m, x: m.ptp(x, axis=0)),
    "median": R(lambda m, x: m.median(x), nans=True),
    "median_axis": R(lambda m, x: m.median(x, axis=-1, keepdims=True)),
    "nanmedian": R(lambda m, x: m.nanmedian(x, axis=0), nans=True),
    "quantile": R(lambda m, x: m.quantile(x, Q, axis=0), nans=True),
    "quantile_scalar": R(lambda m, x: m.quantile(x, 0.3, axis=-1, keepdims=True)),
    "percentile": R(lambda m, x: m.percentile(x, [25.0, 70.0])),
    # (a column of zeros: NumPy's dtype for all-NaN rows depends on which row comes first)
    "nanquantile": R(lambda m, x: m.nanquantile(_with_zeros(m, x), [0.2, 0.6], axis=-1), nans=True),
    "nanpercentile": R(lambda m, x: m.nanpercentile(x, 40.0), nans=True),
    "quantile_weights": R(
        lambda m, x: m.quantile(x, Q, axis=-1, method="inverted_cdf", weights=W4[: x.shape[-1]]),
        nans=True,
    ),
    "nanpercentile_weights": R(
        lambda m, x: m.nanpercentile(
            _with_zeros(m, x), 40.0, axis=-1, method="inverted_cdf", weights=_weights_like(x)
        ),
        nans=True,
    ),
    "sort": R(lambda m, x: m.sort(x), empty=True, nans=True),
    "sort_flat": R(lambda m, x: m.sort(x, axis=None), min_dims=0, empty=True),
    # (fnp's argsort is always stable: one of the orders NumPy's default kind may give)
    "argsort": R(
        lambda m, x: m.argsort(x, axis=0, kind="stable"), empty=True, grads=False, nans=True
    ),
    "searchsorted": R(
        lambda m, x: m.searchsorted(np.array([-1.0, 0.0, 0.0, 2.0, np.nan]), x), empty=True
    ),
    "searchsorted_right": R(
        lambda m, x: m.searchsorted(np.array([-1.0, 0.0, 2.0]), x, side="right"), nans=True
    ),
    "cov": R(lambda m, x: m.cov(x), min_dims=2, max_dims=2),
    "cov_columns": R(lambda m, x: m.cov(x, rowvar=False, bias=True), min_dims=2),
    "cov_weights": R(lambda m, x: m.cov(x, aweights=W4[: x.shape[-1]], ddof=0), min_dims=2),
    "corrcoef": R(lambda m, x: m.corrcoef(x), min_dims=2),
    "trace": R(lambda m, x: m.trace(x), min_dims=2, empty=True),
    "trace_offset": R(lambda m, x: m.trace(x, offset=-1, axis1=-1, axis2=0), min_dims=2),
}
for _method in METHODS:
    CASES[f"quantile_{_method}"] = R(
        lambda m, x, method=_method: m.quantile(x, Q, axis=-1, method=method)
    )
    CASES[f"nanquantile_{_method}"] = R(
        lambda m, x, method=_method: m.nanquantile(_with_zeros(m, x), Q, axis=-1, method=method),
        nans=True,
    )
NAMES = sorted(CASES)
# searchsorted, and quantiles of 1 element, have nothing to differentiate (flat or constant)
DIFFERENTIABLE = [n for n in NAMES if CASES[n].grads and not n.startswith("searchsorted")]


def _draw(data, case, dtype):
    shape = list(data.draw(fgt.shapes(case.min_dims, case.max_dims, min_side=1)))
    if case.empty and shape and data.draw(st.integers(0, 4)) == 2:
        shape[data.draw(st.integers(0, len(shape) - 1))] = 0
    if np.dtype(dtype).kind in "iu":
        return data.draw(fgt.arrays(tuple(shape), min_value=-4, max_value=4)).round().astype(dtype)
    x = data.draw(fgt.arrays(tuple(shape), min_value=-3, max_value=3)).astype(dtype)
    if case.nans and x.size and data.draw(st.booleans()):
        x.flat[data.draw(st.integers(0, x.size - 1))] = np.nan
    return x


def _check(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert (actual.shape, actual.dtype) == (expected.shape, expected.dtype)
    if expected.dtype.kind != "f":
        np.testing.assert_array_equal(actual, expected)
        return
    tol = 1e-5 if expected.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
@SETTINGS
@given(data=st.data())
def test_matches_numpy(name, dtype, data):
    case = CASES[name]
    if np.dtype(dtype).kind == "i" and not case.ints:
        return
    x = _draw(data, case, dtype)
    try:
        expected, got = numpy_then_ours(lambda: case.call(np, x), lambda: case.call(fnp, x))
    except (ValueError, TypeError, IndexError) as error:  # fnp refuses it the same way
        with pytest.raises(type(error)), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            case.call(fnp, x)
        return
    _check(got, expected)


def _distinct(shape, seed):
    """Distinct values (no ties for sort, max, median), none of them near 0."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return ((rng.permutation(n) - n / 2 + 0.5) * 0.37 + rng.uniform(-0.05, 0.05, n)).reshape(shape)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradients_match_finite_differences(name):
    case = CASES[name]
    x = _distinct((3, 4), seed=len(name))
    fgt.check_grads(lambda a: case.call(fnp, a), (x,), order=2)


@pytest.mark.parametrize("name", NAMES)
def test_jit_and_vmap_agree_with_eager(name):
    case = CASES[name]
    x = _distinct((3, 4), seed=3)
    expected = case.call(fnp, x)
    _check(fg.jit(lambda a: case.call(fnp, a))(x), expected)
    batched = fg.vmap(lambda a: case.call(fnp, a))(np.stack([x * 0.5, x]))
    _check(batched[1], expected)


# ---------------------------------------------------------------- products with zeros


@pytest.mark.parametrize("zeros", [[1], [0, 2], [0, 1, 3]])
def test_prod_and_cumprod_gradients_are_exact_at_zeros(zeros):
    x = np.array([1.5, -2.0, 0.5, 3.0])
    x[zeros] = 0.0
    others = np.array([np.prod(np.delete(x, i)) for i in range(x.size)])
    np.testing.assert_array_equal(fg.grad(fnp.prod)(x), others)
    fgt.check_grads(fnp.prod, (x,), order=2)
    fgt.check_grads(lambda a: fnp.cumprod(a), (x,), order=2)
    fgt.check_grads(lambda a: fnp.prod(a.reshape(2, 2), axis=0), (x,), order=2)


def test_integer_products_and_sums_widen_as_numpy():
    x = np.array([[3, -2], [100, 7]], np.int8)
    for fn in (
        lambda m: m.prod(x),
        lambda m: m.prod(x, axis=1),
        lambda m: m.cumsum(x),
        lambda m: m.cumprod(x, axis=0),
        lambda m: m.trace(x),
        lambda m: m.prod(x.astype(np.uint8)),
    ):
        _check(fn(fnp), fn(np))
        _check(fg.jit(lambda a, fn=fn: fn(fnp))(x), fn(np))


# ---------------------------------------------------------------- sorting details


def test_sort_is_stable_with_nan_last_and_sends_gradients_back():
    x = np.array([3.0, np.nan, -1.0, 3.0, -np.inf, 0.0])
    np.testing.assert_array_equal(fnp.argsort(x), np.argsort(x, kind="stable"))
    np.testing.assert_array_equal(fnp.sort(x), np.sort(x))
    g = fg.grad(lambda a: fnp.sum(fnp.sort(a) * np.arange(4.0)))(np.array([2.0, 0.0, 3.0, 1.0]))
    np.testing.assert_array_equal(g, [2.0, 0.0, 3.0, 1.0])  # each element's rank
    assert not hasattr(fg.core.Tracer, "sort")  # NumPy's method sorts in place


@SETTINGS
@given(data=st.data())
def test_partition_meets_numpys_contract(data):
    """The kth elements where a sort puts them, the smaller (NaN last) before, the rest
    after, a permutation of the input; argpartition's indices give the same array."""
    x = data.draw(fgt.arrays(fgt.shapes(1, 3, min_side=1), min_value=-3, max_value=3)).round()
    if data.draw(st.booleans()):
        x.flat[data.draw(st.integers(0, x.size - 1))] = np.nan
    axis = data.draw(st.sampled_from([None, 0, -1]))
    flat, ax = (x.ravel(), 0) if axis is None else (x, axis)
    n = flat.shape[ax]
    kth = data.draw(
        st.integers(-n, n - 1) | st.lists(st.integers(-n, n - 1), min_size=1, max_size=3)
    )
    p = fnp.partition(x, kth, axis=axis)
    idx = fnp.argpartition(x, kth, axis=axis)
    np.testing.assert_array_equal(np.take_along_axis(flat, idx, ax), p)
    np.testing.assert_array_equal(np.sort(p, ax), np.sort(flat, ax))
    for k in np.atleast_1d(kth) % n:
        at = np.take(p, [k], ax)
        np.testing.assert_array_equal(at, np.take(np.partition(flat, k, ax), [k], ax))
        assert np.all((np.take(p, range(k), ax) <= at) | np.isnan(at))
        after = np.take(p, range(k + 1, n), ax)
        assert np.all((after >= at) | np.isnan(after))


@pytest.mark.parametrize(
    "kth, kw",
    [(5, {}), (-6, {}), (True, {}), (1.0, {}), (np.array([[1]]), {}), ([], {}), (2**70, {})]
    + [(1, {"kind": "quick"}), (1, {"order": "x"})],
)
@pytest.mark.parametrize("name", ["partition", "argpartition"])
def test_partition_refuses_what_numpy_refuses(name, kth, kw):
    x = np.array([[5.0, 1.0, 4.0, 2.0, 3.0]])
    with pytest.raises((ValueError, TypeError)) as expected:
        getattr(np, name)(x, kth, **kw)
    with pytest.raises(expected.type, match=re.escape(str(expected.value))):
        getattr(fnp, name)(x, kth, **kw)
    np.testing.assert_array_equal(fnp.partition(np.zeros((2, 0)), 3), np.zeros((2, 0)))


def test_unique_is_host_only():
    x = np.array([3.0, 1.0, 3.0, 2.0])
    expected = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    got = fnp.unique(x, return_index=True, return_inverse=True, return_counts=True)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    g = fg.grad(lambda a: fnp.sum(fnp.unique(a) ** 2))(x)  # concrete inside grad: works
    np.testing.assert_array_equal(g, [6.0, 2.0, 0.0, 4.0])  # (the first occurrences)
    with pytest.raises(ConcretizationError, match="unique.*jit"):
        fg.jit(fnp.unique)(x)


def test_all_nan_slices_give_nan():
    x = np.array([[np.nan, np.nan], [1.0, np.nan]])
    for name in ("nanmax", "nanmin", "nanmean", "nanmedian"):
        expected, got = numpy_then_ours(
            lambda: getattr(np, name)(x, axis=1), lambda: getattr(fnp, name)(x, axis=1)
        )
        _check(got, expected)
    np.testing.assert_array_equal(fnp.nanquantile(x, 0.5, axis=1), [np.nan, 1.0])


def test_quantile_differentiates_in_q_and_checks_its_range():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    np.testing.assert_allclose(fg.grad(lambda q: fnp.quantile(x, q))(0.5), 6.0)
    np.testing.assert_allclose(fg.jit(lambda q: fnp.quantile(x, q))(0.4), np.quantile(x, 0.4))
    with pytest.raises(ValueError, match="range"):
        fnp.quantile(x, 1.5)
    with pytest.raises(ValueError, match="method"):
        fnp.quantile(x, 0.5, method="bogus")
    assert fnp.percentile(x.astype(np.float32), 30).dtype == np.float32


# ---------------------------------------------------------------- arguments and errors


def test_bad_arguments_raise_as_numpy():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="non-negative"):
        fnp.diff(x, n=-1)
    with pytest.raises(ValueError, match="at least one dimensional"):
        fnp.diff(np.array(1.0))
    with pytest.raises(ZeroDivisionError, match="Weights sum to zero"):
        fnp.average(x, axis=1, weights=np.zeros(3))
    with pytest.raises(TypeError, match="Axis must be specified"):
        fnp.average(x, weights=np.ones(3))
    with pytest.raises(ValueError, match="same"):
        fnp.trace(x, axis1=1, axis2=1)
    with pytest.raises(ValueError, match="side"):
        fnp.searchsorted(np.ones(3), 1.0, side="middle")


def test_allclose_and_array_equal():
    x = np.array([1.0, np.nan])
    assert fnp.allclose(x, x, equal_nan=True) is True
    assert fnp.allclose(x, x) is False
    assert fnp.array_equal(x, x, equal_nan=True) is True
    assert fnp.array_equal(x, x[:1]) is False
    traced = fg.jit(lambda a: fnp.allclose(a, a + 1e-9))(np.ones(3))
    assert traced.dtype == np.bool_ and bool(traced)


def test_tracer_methods():
    x = _distinct((2, 3), seed=0)
    got = fg.jit(lambda a: (a.prod(axis=0), a.cumsum(), a.cumprod(axis=1), a.argsort(), a.trace()))(
        x
    )
    expected = (x.prod(axis=0), x.cumsum(), x.cumprod(axis=1), x.argsort(), x.trace())
    for g, e in zip(got, expected):
        _check(g, e)
    flags = fg.jit(lambda a: ((a > 0).all(axis=1), (a > 0).any()))(x)
    for g, e in zip(flags, ((x > 0).all(axis=1), (x > 0).any())):
        _check(g, e)


# NumPy's reductions as they are named, with their arguments in NumPy's order (a positional
# dtype must not land in keepdims), out= refused rather than ignored.
WITH_OUT = (
    "sum mean var std max amax min amin argmax argmin prod cumsum cumprod any all nansum "
    "nanprod nancumsum nancumprod nanmean nanvar nanstd nanmax nanmin nanargmax nanargmin ptp "
    "trace median nanmedian"
).split()


@pytest.mark.parametrize("name", WITH_OUT)
def test_arguments_in_numpys_order_and_out_refused(name):
    import inspect

    ours = list(inspect.signature(getattr(fnp, name)).parameters)
    theirs = list(inspect.signature(getattr(np, name)).parameters)
    assert ours == theirs[: len(ours)] and "out" in ours, (ours, theirs)
    alias = {"amax": "max", "amin": "min"}.get(name, name)
    with pytest.raises(TypeError, match=f"{alias}: out= is not supported.*test_reductions"):
        getattr(fnp, name)(np.ones((2, 2)), out=np.zeros(2))


@pytest.mark.parametrize("name", ["quantile", "percentile", "nanquantile", "nanpercentile"])
def test_quantiles_refuse_out(name):
    with pytest.raises(TypeError, match=f"{name}: out= is not supported"):
        getattr(fnp, name)(np.ones((2, 2)), 0.5, axis=0, out=np.zeros(2))


@pytest.mark.parametrize("name", ["mean", "var", "std", "nanmean", "nanvar", "nanstd"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("src", [np.float64, np.float32, np.int32])
def test_mean_family_computes_in_the_given_dtype(name, dtype, src):
    x = (np.arange(6).reshape(2, 3) * 1.5).astype(src)
    expected = getattr(np, name)(x, axis=1, dtype=dtype)
    _check(getattr(fnp, name)(x, axis=1, dtype=dtype), expected)
    _check(fg.jit(lambda a: getattr(fnp, name)(a, 1, dtype))(x), expected)  # positionally


def test_mean_in_an_integer_dtype_truncates_as_numpy():
    x = np.array([[1, 2], [4, 4]])
    _check(fnp.mean(x, axis=1, dtype=np.int64), np.mean(x, axis=1, dtype=np.int64))


def test_numpy_reductions_called_on_tracers_dispatch_to_their_methods():
    # np.sum(x) calls x.sum(axis=None, dtype=None, out=None): the traced method must take
    # NumPy's arguments, so the ports' np.* calls trace instead of failing
    x = _distinct((2, 3), seed=1)
    calls = [
        lambda a: np.sum(a, axis=0),
        lambda a: np.mean(a),
        lambda a: np.std(a, axis=1),
        lambda a: np.var(a),
        lambda a: np.max(a, axis=1),
        lambda a: np.min(a),
        lambda a: np.prod(a),
        lambda a: np.clip(a, -0.5, 0.5),
        lambda a: np.round(a, 1),
        lambda a: np.transpose(a),
        lambda a: np.cumsum(a, axis=1),
    ]
    for call in calls:
        _check(fg.jit(call)(x), call(x))
    g = fg.grad(lambda a: np.sum(np.transpose(a) ** 2) + np.mean(a))(x)
    np.testing.assert_allclose(g, 2 * x + 1 / 6, rtol=1e-12)
    assert fg.jit(lambda a: np.argmax(a, axis=1))(x).tolist() == np.argmax(x, axis=1).tolist()


# NumPy's keyword arguments of the reductions: where= masks, initial=, var's correction=
# and mean=, clip's min=/max= (each eager vs NumPy, under jit, grad and vmap).
_MASK = np.array([[True, False, True, True], [False, True, True, False], [True] * 4])
KEYWORDS = {
    "sum_where": lambda m, x: m.sum(x, axis=1, where=_MASK),
    "sum_initial": lambda m, x: m.sum(x, axis=0, initial=2.5),
    "prod_where": lambda m, x: m.prod(x, axis=1, where=_MASK, keepdims=True),
    "mean_where": lambda m, x: m.mean(x, axis=1, where=_MASK),
    "mean_where_all": lambda m, x: m.mean(x, where=_MASK),
    "var_where": lambda m, x: m.var(x, axis=1, where=_MASK, ddof=1),
    "std_where": lambda m, x: m.std(x, axis=0, where=_MASK, keepdims=True),
    "std_correction": lambda m, x: m.std(x, axis=1, correction=1),
    "var_mean": lambda m, x: m.var(x, axis=1, mean=m.mean(x, axis=1, keepdims=True)),
    "max_initial": lambda m, x: m.max(x, axis=0, initial=0.3),
    "max_where": lambda m, x: m.max(x, axis=1, where=_MASK, initial=-5.0),
    "min_where": lambda m, x: m.min(x, where=_MASK, initial=5.0),
    "clip_min_max": lambda m, x: m.clip(x, min=-0.5, max=0.5),
    "clip_min": lambda m, x: m.clip(x, min=-0.5),
}


@pytest.mark.parametrize("name", sorted(KEYWORDS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_reduction_keywords_match_numpy(name, dtype):
    fn = KEYWORDS[name]
    x = _distinct((3, 4), seed=3).astype(dtype)
    expected = fn(np, x)
    _check(fn(fnp, x), expected)
    _check(fg.jit(lambda a: fn(fnp, a))(x), expected)
    if dtype == np.float64:
        fgt.check_grads(lambda a: fn(fnp, a), (x,), order=2)
        batch = np.stack([x, x + 0.25])
        _check(fg.vmap(lambda a: fn(fnp, a))(batch), np.stack([fn(np, b) for b in batch]))


def test_reduction_keywords_refuse_what_numpy_refuses():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="'maximum' does not have an identity.*initial"):
        fnp.max(x, where=x > 0)
    with pytest.raises(ValueError, match="ddof and correction"):
        fnp.var(x, ddof=1, correction=1)
    with pytest.raises(ValueError, match="`min` or `max` keyword"):
        fnp.clip(x, 0.0, 1.0, min=0.5)
    # an empty reduction with initial is initial; integers take initial in their dtype
    _check(
        fnp.max(np.zeros((0, 2)), axis=0, initial=3.0),
        np.max(np.zeros((0, 2)), axis=0, initial=3.0),
    )
    _check(fnp.sum(np.array([1, 2]), initial=0.5), np.sum(np.array([1, 2]), initial=0.5))
    _check(fnp.prod(np.array([1, 2]), initial=0.5), np.prod(np.array([1, 2]), initial=0.5))
    _check(
        fnp.any(x > 0, axis=1, where=np.array([False] * 3)),
        np.any(x > 0, axis=1, where=np.array([False] * 3)),
    )


@pytest.mark.parametrize(
    "bins",
    [[0.0, 1.0, 2.5, 4.0], [4.0, 2.5, 1.0, 0.0], [1.0], [1.0, 1.0, 2.0], [2.0, 1.0, 1.0], []],
    ids=["increasing", "decreasing", "one", "ties", "decreasing_ties", "empty"],
)
@pytest.mark.parametrize("right", [False, True])
def test_digitize_matches_numpy_eagerly_under_jit_and_vmap(bins, right):
    x = np.array([[-1.0, 0.2, 1.0, 2.5], [6.4, 3.0, 4.0, np.nan]])
    bins = np.array(bins)
    expected = np.digitize(x, bins, right)
    _check(fnp.digitize(x, bins, right), expected)
    _check(fg.jit(lambda x, b: fnp.digitize(x, b, right))(x, bins), expected)
    _check(fg.vmap(lambda row: fnp.digitize(row, bins, right))(x), expected)


def test_digitize_refuses_bins_that_are_not_monotonic():
    with pytest.raises(ValueError, match="monotonically.*test_reductions"):
        fnp.digitize(np.ones(2), np.array([1.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match="1-D"):
        fnp.digitize(np.ones(2), np.ones((2, 2)))


_XP, _FP = np.array([0.0, 1.0, 1.0, 3.0]), np.array([0.0, 1.0, 5.0, -2.0])
INTERP = {
    "plain": lambda m, x, xp, fp: m.interp(x, xp, fp),
    "left_right": lambda m, x, xp, fp: m.interp(x, xp, fp, left=-9.0, right=9.0),
    "period": lambda m, x, xp, fp: m.interp(x, xp, fp, period=2.5),
    "one_point": lambda m, x, xp, fp: m.interp(x, xp[:1], fp[:1]),
}


@pytest.mark.parametrize("name", sorted(INTERP))
def test_interp_matches_numpy_under_jit_vmap_and_grad(name):
    fn = INTERP[name]
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 4.0, np.nan])
    expected = fn(np, x, _XP, _FP)
    _check(fn(fnp, x, _XP, _FP), expected)
    _check(fg.jit(lambda *a: fn(fnp, *a))(x, _XP, _FP), expected)
    rows = x[:6].reshape(2, 3)
    _check(fg.vmap(lambda r: fn(fnp, r, _XP, _FP))(rows), fn(np, rows, _XP, _FP))
    _check(fn(fnp, x.astype(np.float32), _XP, _FP), expected)  # float64, as NumPy
    # away from the kinks, in x, the sample values and the sample points
    points = np.array([0.3, 1.6, 2.2, 3.4, -0.3])
    fgt.check_grads(lambda x, fp: fn(fnp, x, _XP, fp), (points, _FP), order=2)
    fgt.check_grads(lambda xp: fn(fnp, points, xp, _FP), (np.array([0.1, 1.0, 1.9, 3.0]),), order=1)


def test_interp_refuses_what_numpy_refuses():
    with pytest.raises(ValueError, match="same length.*test_reductions"):
        fnp.interp(1.0, [0.0, 1.0], [0.0])
    with pytest.raises(ValueError, match="empty"):
        fnp.interp(1.0, [], [])
    with pytest.raises(ValueError, match="period must be a non-zero"):
        fnp.interp(1.0, [0.0, 1.0], [0.0, 1.0], period=0)
