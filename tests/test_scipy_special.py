"""funcgrad.scipy.special against SciPy: values over hypothesis-drawn operands (float64 and
float32: the dtype is kept), eagerly, under jit and under vmap; gradients against finite
differences; the tails; the fused kernels (erf, erfc, gammaln, digamma) against SciPy
over wide ranges and the special values."""

import math
from typing import NamedTuple

import numpy as np
import pytest
import scipy.special as sc
from compare import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.scipy.special as fss
from funcgrad import testing as fgt
from funcgrad.compiler.program import CompiledProgram

SETTINGS = settings(max_examples=25, deadline=None)


class Fn(NamedTuple):
    ours: object
    theirs: object
    domains: tuple  # (lo, hi) of each operand
    diff: tuple = None  # operands to differentiate (default: all)
    order: int = 2


def _int_n(n, x):
    return sc.polygamma(n.astype(int), x)


FUNCTIONS = {
    "erf": Fn(fss.erf, sc.erf, ((-4, 4),)),
    "erfc": Fn(fss.erfc, sc.erfc, ((-4, 8),)),
    "erfinv": Fn(fss.erfinv, sc.erfinv, ((-0.95, 0.95),)),
    "ndtr": Fn(fss.ndtr, sc.ndtr, ((-8, 8),)),
    "ndtri": Fn(fss.ndtri, sc.ndtri, ((0.01, 0.99),)),
    "log_ndtr": Fn(fss.log_ndtr, sc.log_ndtr, ((-30, 6),)),
    "gamma": Fn(fss.gamma, sc.gamma, ((0.1, 8),)),
    "gamma_negative": Fn(fss.gamma, sc.gamma, ((-3.9, -3.1),)),
    "gammaln": Fn(fss.gammaln, sc.gammaln, ((0.05, 30),)),
    "digamma": Fn(fss.digamma, sc.digamma, ((0.05, 30),)),
    "psi": Fn(fss.psi, sc.psi, ((0.5, 3),)),
    "polygamma": Fn(lambda x: fss.polygamma(2, x), lambda x: sc.polygamma(2, x), ((0.5, 5),)),
    "beta": Fn(fss.beta, sc.beta, ((0.2, 6), (0.2, 6))),
    "betaln": Fn(fss.betaln, sc.betaln, ((0.2, 30), (0.2, 30))),
    "betainc": Fn(fss.betainc, sc.betainc, ((0.5, 5), (0.5, 5), (0.05, 0.95)), (2,)),
    "gammainc": Fn(fss.gammainc, sc.gammainc, ((0.5, 6), (0.1, 8)), (1,)),
    "gammaincc": Fn(fss.gammaincc, sc.gammaincc, ((0.5, 6), (0.1, 8)), (1,)),
    "expit": Fn(fss.expit, sc.expit, ((-40, 40),)),
    "logit": Fn(fss.logit, sc.logit, ((0.01, 0.99),)),
    "log_expit": Fn(fss.log_expit, sc.log_expit, ((-40, 40),)),
    "xlogy": Fn(fss.xlogy, sc.xlogy, ((-3, 3), (0.1, 5))),
    "xlog1py": Fn(fss.xlog1py, sc.xlog1py, ((-3, 3), (-0.9, 5))),
    "entr": Fn(fss.entr, sc.entr, ((0.05, 5),)),
    "rel_entr": Fn(fss.rel_entr, sc.rel_entr, ((0.05, 5), (0.05, 5))),
    "i0": Fn(fss.i0, sc.i0, ((-10, 10),)),
    # (i0e and i1e have a kink at 0, the exp(-|x|): each side apart)
    "i0e": Fn(fss.i0e, sc.i0e, ((0.05, 10),)),
    "i0e_negative": Fn(fss.i0e, sc.i0e, ((-10, -0.05),)),
    "i1": Fn(fss.i1, sc.i1, ((-10, 10),)),
    "i1e": Fn(fss.i1e, sc.i1e, ((0.05, 10),)),
    "i1e_negative": Fn(fss.i1e, sc.i1e, ((-10, -0.05),)),
    "zeta": Fn(fss.zeta, sc.zeta, ((1.5, 6), (0.5, 4)), (1,)),
    "zeta_riemann": Fn(fss.zeta, sc.zeta, ((1.5, 6),), ()),
    "multigammaln": Fn(
        lambda a: fss.multigammaln(a, 3), lambda a: sc.multigammaln(a, 3), ((1.1, 9),)
    ),
    "sinc": Fn(fss.sinc, np.sinc, ((-3, 3),)),
}
NAMES = sorted(FUNCTIONS)
# SciPy computes these in float64 from float32 operands; funcgrad keeps float32 (as JAX).
UPCAST_BY_SCIPY = {"multigammaln", "polygamma"}


def _operands(data, fn, dtype=np.float64):
    shapes = data.draw(fgt.broadcastable_shapes(len(fn.domains), max_side=3))
    return [
        data.draw(fgt.arrays(s, min_value=lo, max_value=hi)).astype(dtype)
        for s, (lo, hi) in zip(shapes, fn.domains)
    ]


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_values_match_scipy_eagerly_and_under_jit(name, data):
    fn = FUNCTIONS[name]
    args = _operands(data, fn)
    expected = fn.theirs(*args)
    got = fn.ours(*args)
    assert type(got) is type(expected)  # a NumPy scalar for 0-d operands, as SciPy's
    assert_close(got, expected, 1e-12)
    assert_close(fg.jit(fn.ours)(*args), expected, 1e-12)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_float32_stays_float32(name, data):
    fn = FUNCTIONS[name]
    args = _operands(data, fn, np.float32)
    expected = np.asarray(fn.theirs(*args))
    assert expected.dtype == (np.float64 if name in UPCAST_BY_SCIPY else np.float32)
    for got in (fn.ours(*args), fg.jit(fn.ours)(*args)):
        assert np.asarray(got).dtype == np.float32
        assert_close(got, expected.astype(np.float32), 2e-5)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_gradients_match_finite_differences(name, data):
    fn = FUNCTIONS[name]
    args = _operands(data, fn)
    diff = range(len(args)) if fn.diff is None else fn.diff
    if not diff:
        return

    def f(*xs):
        full = list(args)
        for k, x in zip(diff, xs):
            full[k] = x
        return fn.ours(*full)

    fgt.check_grads(f, [args[k] for k in diff], order=fn.order, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_vmap_matches_a_loop(name, data):
    fn = FUNCTIONS[name]
    shape = (data.draw(st.integers(1, 3)), 2)
    args = [data.draw(fgt.arrays(shape, min_value=lo, max_value=hi)) for lo, hi in fn.domains]
    batched = fg.vmap(fn.ours)(*args)
    looped = np.stack([fn.ours(*(a[i] for a in args)) for i in range(shape[0])])
    assert_close(batched, looped, 1e-12)
    assert_close(batched, fn.theirs(*args), 1e-12)


def test_tails_and_special_values_match_scipy():
    cases = [
        (fss.log_ndtr, sc.log_ndtr, [-40.0, -1e5, -37.5, 8.0, 40.0, -np.inf, np.inf]),
        (fss.ndtri, sc.ndtri, [1e-20, 1e-300, 1 - 1e-16, 0.0, 1.0]),
        (fss.gammaln, sc.gammaln, [1e-8, 1e-300, 1e10, 1e300, -0.5, -2.5, 0.0, -3.0]),
        (fss.digamma, sc.digamma, [1e-8, 1e10, 1.4616321449683623, -0.5, 0.0, -3.0]),
        (fss.erfc, sc.erfc, [10.0, 26.0, -6.0]),
        (fss.expit, sc.expit, [-40.0, -700.0, 710.0, 0.0]),
        (fss.log_expit, sc.log_expit, [-1000.0, 40.0, 1000.0]),
        (fss.logit, sc.logit, [0.0, 1.0, 1e-300, 0.5 + 1e-12, -1.0]),
        (fss.gamma, sc.gamma, [0.0, -0.0, -1.0, -np.inf, 171.5, 172.0, -2.5, np.nan]),
        (fss.entr, sc.entr, [0.0, -1.0, np.inf, np.nan]),
        (fss.i0e, sc.i0e, [0.0, 1e5, -1e5]),
        (fss.i1e, sc.i1e, [0.0, 1e5, -1e5]),
    ]
    for ours, theirs, xs in cases:
        x = np.array(xs)
        with np.errstate(all="ignore"):
            got = fg.jit(ours)(x)
        # (absolute: digamma's root, 1.46, is within 1e-15 of SciPy's)
        np.testing.assert_allclose(got, theirs(x), rtol=1e-13, atol=1e-15, err_msg=ours.__name__)
    np.testing.assert_allclose(fss.betaln(1e10, 1.0), sc.betaln(1e10, 1.0), rtol=1e-14)
    x, y = np.array([0.0, 0.0, 0.0, 0.0, 1.0]), np.array([0.0, -1.0, np.inf, np.nan, 0.0])
    for ours, theirs in [(fss.xlogy, sc.xlogy), (fss.xlog1py, sc.xlog1py)]:
        np.testing.assert_array_equal(
            ours(x, y - (ours is fss.xlog1py)), theirs(x, y - (ours is fss.xlog1py))
        )
    x, y = np.array([0.0, 0.0, 1.0, -1.0, 1.0, np.nan]), np.array([0.0, -1.0, 0.0, 1.0, -1.0, 1.0])
    np.testing.assert_array_equal(fss.rel_entr(x, y), sc.rel_entr(x, y))


def test_digamma_near_its_poles_is_within_scipys_own_error():
    # SciPy's digamma loses ~1e-12 (relative) within 1e-4 of a negative integer, where the
    # kernel's reflection keeps the digits (x's distance to the pole is exact).
    x = np.array([-10.999960264537734, -2.0001, -0.9999, -5.5, -100.25])
    np.testing.assert_allclose(fg.jit(fss.digamma)(x), sc.digamma(x), rtol=1e-11)


@pytest.mark.parametrize("x_is_a_list", [False, True])
def test_logsumexp_matches_scipy(x_is_a_list):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)) * 10
    b = rng.uniform(-1, 2, (3, 4))
    b[0, 1] = 0.0
    a_in = a.tolist() if x_is_a_list else a
    for kwargs in [
        {},
        {"axis": 1},
        {"axis": 0, "keepdims": True},
        {"axis": (0, 1)},
        {"b": b, "axis": 1},
        {"b": b, "axis": -1, "return_sign": True},
        {"b": b, "return_sign": True, "keepdims": True},
        {"b": np.abs(b), "axis": 0},
        {"b": 2.0},
        {"return_sign": True, "axis": 1},
    ]:
        expected = sc.logsumexp(a_in, **kwargs)
        for got in (fss.logsumexp(a_in, **kwargs), fg.jit(lambda a: fss.logsumexp(a, **kwargs))(a)):
            for g, e in zip(
                *(
                    np.broadcast_arrays(*(v if isinstance(v, tuple) else (v,)))
                    for v in (got, expected)
                )
            ):
                np.testing.assert_allclose(g, e, rtol=1e-12)
    fgt.check_grads(lambda a, b: fss.logsumexp(a, b=b, axis=1), (a, np.abs(b) + 0.1), order=2)
    fgt.check_grads(lambda a: fss.logsumexp(a, axis=0), (a,), order=2)


def test_logsumexp_edge_rows_match_scipy():
    a = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [1000.0, 1.0], [1.0, 1.0]])
    b = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 1.0], [1.0, -1.0]])
    for kwargs in [{}, {"b": b}, {"b": b, "return_sign": True}, {"return_sign": True}]:
        with np.errstate(divide="ignore"):
            got = fss.logsumexp(a, axis=1, **kwargs)
        expected = sc.logsumexp(a, axis=1, **kwargs)
        for g, e in zip(*(v if isinstance(v, tuple) else (v,) for v in (got, expected))):
            np.testing.assert_array_equal(g, e)
    assert fss.logsumexp(np.array([])) == sc.logsumexp(np.array([]))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_matches_scipy_over_all_axes_by_default(name):
    x = np.random.default_rng(1).standard_normal((2, 3))
    for kwargs in [{}, {"axis": 0}, {"axis": -1}, {"axis": (0, 1)}]:
        expected = getattr(sc, name)(x, **kwargs)
        np.testing.assert_allclose(getattr(fss, name)(x, **kwargs), expected, rtol=1e-12)
        np.testing.assert_allclose(
            fg.jit(lambda v: getattr(fss, name)(v, **kwargs))(x), expected, rtol=1e-12
        )


@pytest.mark.parametrize(
    "call, operand",
    [
        (lambda a, x: fss.gammainc(a, x), 0),
        (lambda a, x: fss.gammaincc(a, x), 0),
        (lambda x, q: fss.zeta(x, q), 0),
        (lambda a, x: fss.betainc(a, 2.0, x), 0),
        (lambda b, x: fss.betainc(2.0, b, x), 0),
    ],
)
def test_derivatives_without_a_closed_form_raise(call, operand):
    args = (np.array([1.5, 2.5]), np.array([0.3, 0.6]))
    with pytest.raises(NotImplementedError, match="no derivative.*test_scipy_special.py"):
        fg.grad(lambda *a: call(*a).sum(), argnums=operand)(*args)
    with pytest.raises(NotImplementedError, match="no derivative"):
        fg.jvp(
            lambda v: call(*(v if k == operand else a for k, a in enumerate(args))),
            (args[operand],),
            (args[operand],),
        )
    other = 1 - operand  # the other operand differentiates
    g = fg.grad(lambda *a: call(*a).sum(), argnums=other)(*args)
    assert np.all(np.isfinite(g))


def test_gammainc_slope_at_zero_and_one():
    # d/dx P(1, x) = exp(-x): 1 at x = 0 (not 0 * log(0))
    assert fg.grad(lambda x: fss.gammainc(1.0, x))(0.0) == 1.0
    assert fg.grad(lambda x: fss.betainc(1.0, 1.0, x))(0.0) == 1.0


def test_arguments_are_checked_as_scipy_checks_them():
    with pytest.raises(ValueError, match="a > 0.5"):
        fss.multigammaln(np.array([0.9, 3.0]), 3)
    with pytest.raises(ValueError):
        sc.multigammaln(np.array([0.9, 3.0]), 3)
    with pytest.raises(ValueError, match="positive integer"):
        fss.multigammaln(3.0, 1.5)
    with pytest.raises(ValueError, match="non-negative integer"):
        fss.polygamma(1.5, 2.0)


def test_integers_compute_in_float64():
    for fn in (fss.erf, fss.gammaln, fss.expit, fss.digamma):
        assert fn(np.array([1, 2], np.int32)).dtype == np.float64


# ---------------------------------------------------------------- the fused kernels

WIDE = np.concatenate(
    [
        np.linspace(-30, 30, 2001),
        np.geomspace(1e-300, 1e300, 500),
        -np.geomspace(1e-10, 1e10, 300),
        [0.0, -0.0, -1.0, -2.0, np.inf, -np.inf, np.nan, 1.0, 2.0, 1e-320, -1e-320],
    ]
)
KERNELS = {"erf": fss.erf, "erfc": fss.erfc, "gammaln": fss.gammaln, "digamma": fss.digamma}


@pytest.mark.parametrize("name", sorted(KERNELS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_kernels_match_scipy(name, dtype):
    with np.errstate(over="ignore"):
        x = WIDE.astype(dtype)
    if name == "digamma":  # (SciPy's own error near the poles and past -1e6: see above)
        with np.errstate(invalid="ignore"):
            x = x[(x > 0) | (np.abs(x - np.round(x)) > 1e-2) & (x > -1e6) | ~np.isfinite(x)]
    graph = fg.make_graph(lambda v: KERNELS[name](v) * 2.0)(x)
    program = CompiledProgram(graph)
    assert [ins.kind for ins in program.instructions] == ["fused"], str(program)
    got = program(graph.consts, [x])[0] / 2
    expected = getattr(sc, name)(x)
    if name == "gammaln":  # SciPy's overflows to inf below 1e-308 (1/x); libm's is -log|x|
        with np.errstate(divide="ignore"):
            expected = np.where(np.abs(x) < 1e-300, -np.log(np.abs(x)), expected)
        np.testing.assert_array_equal(
            fss.gammaln(x[np.abs(x) < 1e-300]), expected[np.abs(x) < 1e-300]
        )
    assert got.dtype == dtype
    tol = 4 * np.finfo(dtype).eps if name.startswith("erf") else 64 * np.finfo(dtype).eps
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))


def test_kernels_and_their_derivatives_in_a_gelu():
    # GELU, the model that uses erf per element: value and gradient, compiled vs SciPy's
    x = np.linspace(-6, 6, 101)

    def gelu(v):
        return (v * 0.5 * (1 + fss.erf(v / math.sqrt(2)))).sum()

    expected = x * 0.5 * (1 + sc.erf(x / math.sqrt(2)))
    np.testing.assert_allclose(fg.jit(gelu)(x), expected.sum(), rtol=1e-13)
    slope = 0.5 * (1 + sc.erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(fg.jit(fg.grad(gelu))(x), slope, rtol=1e-12, atol=1e-15)
