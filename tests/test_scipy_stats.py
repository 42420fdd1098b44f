"""funcgrad.scipy.stats against scipy.stats: every method over hypothesis-drawn points and
parameters (float64 values; float32 kept, where SciPy computes in float64), eagerly,
under jit and vmap; gradients in the point and the parameters against finite
differences; the support's edges and invalid parameters; dirichlet and
multivariate_normal (full, diagonal and singular covariances)."""

from typing import NamedTuple

import numpy as np
import pytest
import scipy.stats as ss
from compare import assert_close
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad as fg
import funcgrad.scipy.stats as fst
from funcgrad import testing as fgt

SETTINGS = settings(max_examples=20, deadline=None)
CONTINUOUS = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"]
DISCRETE = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"]
LOC_SCALE = ((-2.0, 2.0), (0.5, 3.0))


class Dist(NamedTuple):
    methods: list
    domains: tuple  # (lo, hi) of each operand; "int" bounds for integer operands
    no_grad: dict = {}  # method -> operands without a derivative there
    integer: tuple = ()  # operands drawn as integers


DISTRIBUTIONS = {
    "norm": Dist(CONTINUOUS, ((-5.0, 5.0),) + LOC_SCALE),
    "cauchy": Dist(CONTINUOUS, ((-5.0, 5.0),) + LOC_SCALE),
    "laplace": Dist(CONTINUOUS, ((-5.0, 5.0),) + LOC_SCALE),
    "logistic": Dist(CONTINUOUS, ((-5.0, 5.0),) + LOC_SCALE),
    "expon": Dist(CONTINUOUS, ((0.05, 5.0), (-1.0, 0.0), (0.5, 3.0))),
    "gamma": Dist(
        CONTINUOUS,
        ((0.1, 6.0), (0.5, 4.0), (-0.05, 0.0), (0.5, 2.0)),
        {m: (1,) for m in ("cdf", "logcdf", "sf", "logsf")},
    ),
    "chi2": Dist(
        CONTINUOUS,
        ((0.1, 8.0), (1.0, 6.0), (-0.05, 0.0), (0.5, 2.0)),
        {m: (1,) for m in ("cdf", "logcdf", "sf", "logsf")},
    ),
    "beta": Dist(
        CONTINUOUS,
        ((0.05, 0.95), (0.5, 4.0), (0.5, 4.0), (-0.04, 0.0), (1.0, 1.05)),
        {m: (1, 2) for m in ("cdf", "logcdf", "sf", "logsf")},
    ),
    "t": Dist(
        CONTINUOUS,
        ((-5.0, 5.0), (1.0, 10.0)) + LOC_SCALE,
        {m: (1,) for m in ("cdf", "logcdf", "sf", "logsf")},
    ),
    "uniform": Dist(CONTINUOUS, ((0.05, 0.95), (-0.04, 0.0), (1.0, 1.05))),
    "poisson": Dist(DISCRETE, ((0, 10), (0.5, 8.0)), {m: (0,) for m in DISCRETE}, (0,)),
    "bernoulli": Dist(DISCRETE, ((0, 1), (0.05, 0.95)), {m: (0,) for m in DISCRETE}, (0,)),
    "binom": Dist(
        DISCRETE, ((0, 10), (10, 15), (0.05, 0.95)), {m: (0, 1) for m in DISCRETE}, (0, 1)
    ),
}
CASES = [(d, m) for d in sorted(DISTRIBUTIONS) for m in DISTRIBUTIONS[d].methods]
CASES += [("norm", "ppf"), ("cauchy", "ppf")]
PPF_DOMAINS = ((0.02, 0.98),) + LOC_SCALE


def _domains(dist, method):
    return PPF_DOMAINS if method == "ppf" else DISTRIBUTIONS[dist].domains


def _operands(data, dist, method, dtype=np.float64):
    spec = DISTRIBUTIONS[dist]
    domains = _domains(dist, method)
    shapes = data.draw(fgt.broadcastable_shapes(len(domains), max_side=3))
    out = []
    for k, (shape, (lo, hi)) in enumerate(zip(shapes, domains)):
        if k in spec.integer and method != "ppf":
            out.append(data.draw(hnp.arrays(np.int64, shape, elements=st.integers(lo, hi))))
        else:
            out.append(data.draw(fgt.arrays(shape, min_value=lo, max_value=hi)).astype(dtype))
    return out


def _pair(dist, method):
    theirs = getattr(getattr(ss, dist), method)
    if dist == "t" and method in ("cdf", "sf", "logcdf", "logsf"):
        theirs = _t_with_cauchy(method, theirs)
    return getattr(getattr(fst, dist), method), theirs


def _t_with_cauchy(method, theirs):
    """SciPy's t at df = 1 from its cauchy (the same law): SciPy's t.sf(6e-8, 1, 0, 3) is
    off by 6e-10, 1e-9 of its logsf, where its cauchy is exact."""

    def reference(x, df, loc=0, scale=1):
        one = np.equal(df, 1)
        if not np.any(one):
            return theirs(x, df, loc, scale)
        out = np.where(one, getattr(ss.cauchy, method)(x, loc, scale), theirs(x, df, loc, scale))
        return out[()] if out.ndim == 0 else out

    return reference


@pytest.mark.parametrize("dist, method", CASES)
@SETTINGS
@given(data=st.data())
def test_values_match_scipy_eagerly_and_under_jit(dist, method, data):
    ours, theirs = _pair(dist, method)
    args = _operands(data, dist, method)
    expected = theirs(*args)
    got = ours(*args)
    assert type(got) is type(expected)  # NumPy scalars for scalar operands, as SciPy's
    assert_close(got, expected, 1e-11)
    assert_close(fg.jit(ours)(*args), expected, 1e-11)


@pytest.mark.parametrize("dist, method", CASES)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_float32_stays_float32(dist, method, data):
    ours, theirs = _pair(dist, method)
    args = _operands(data, dist, method, np.float32)
    assert np.asarray(theirs(*args)).dtype == np.float64  # (SciPy computes in float64)
    got = ours(*args)
    assert np.asarray(got).dtype == np.float32
    assert_close(got, theirs(*args), 2e-4)


@pytest.mark.parametrize("dist, method", CASES)
@SETTINGS
@given(data=st.data())
def test_gradients_match_finite_differences(dist, method, data):
    ours, _ = _pair(dist, method)
    spec = DISTRIBUTIONS[dist]
    args = _operands(data, dist, method)
    skip = set(spec.no_grad.get(method, ())) | (set() if method == "ppf" else set(spec.integer))
    diff = [k for k in range(len(args)) if k not in skip]

    def f(*xs):
        full = list(args)
        for k, x in zip(diff, xs):
            full[k] = x
        return ours(*full)

    assume(np.all(np.isfinite(f(*[args[k] for k in diff]))))  # (log sf at the top: -inf)
    if dist == "laplace":  # (its kink at x = loc)
        assume(np.all(np.abs(np.subtract(args[0], args[1])) > 1e-3))
    fgt.check_grads(f, [args[k] for k in diff], order=1, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dist", ["norm", "t", "gamma", "poisson"])
def test_vmap_over_parameters_matches_a_loop(dist):
    method = DISTRIBUTIONS[dist].methods[0]
    ours, theirs = _pair(dist, method)
    rng = np.random.default_rng(3)
    args = []
    for k, (lo, hi) in enumerate(DISTRIBUTIONS[dist].domains):
        if k in DISTRIBUTIONS[dist].integer:
            args.append(rng.integers(lo, hi + 1, (4, 3)))
        else:
            args.append(rng.uniform(lo, hi, (4, 3)))
    batched = fg.vmap(ours)(*args)
    assert_close(batched, theirs(*args), 1e-11)
    grads = fg.vmap(fg.grad(lambda *a: ours(*a).sum(), argnums=len(args) - 1))(*args)
    looped = [
        fg.grad(lambda *a: ours(*a).sum(), argnums=len(args) - 1)(*(a[i] for a in args))
        for i in range(4)
    ]
    assert_close(grads, np.stack(looped), 1e-12)


EDGES = [
    ("norm", "logpdf", (1.0, 0.0, -1.0)),
    ("norm", "cdf", (1.0, 0.0, 0.0)),
    ("norm", "logcdf", (-40.0,)),
    ("norm", "logsf", (40.0,)),
    ("norm", "ppf", (0.0,)),
    ("norm", "ppf", (1.0,)),
    ("norm", "ppf", (1.5,)),
    ("cauchy", "cdf", (-1e10,)),
    ("cauchy", "sf", (1e10,)),
    ("logistic", "logcdf", (-800.0,)),
    ("expon", "logpdf", (-1.0,)),
    ("expon", "cdf", (-1.0,)),
    ("expon", "logcdf", (1e-20,)),
    ("expon", "sf", (-1.0,)),
    ("expon", "logsf", (800.0,)),
    ("gamma", "logpdf", (0.0, 1.0)),
    ("gamma", "logpdf", (0.0, 0.5)),
    ("gamma", "logpdf", (0.0, 2.0)),
    ("gamma", "logpdf", (-1.0, 2.0)),
    ("gamma", "cdf", (-1.0, 2.0)),
    ("gamma", "sf", (-1.0, 2.0)),
    ("gamma", "logpdf", (1.0, -2.0)),
    ("beta", "logpdf", (0.0, 1.0, 2.0)),
    ("beta", "logpdf", (1.5, 1.0, 2.0)),
    ("beta", "cdf", (1.5, 1.0, 2.0)),
    ("beta", "sf", (-0.5, 1.0, 2.0)),
    ("beta", "cdf", (0.5, -1.0, 2.0)),
    ("t", "logpdf", (1.0, -1.0)),
    ("uniform", "logpdf", (1.5,)),
    ("uniform", "cdf", (-0.5,)),
    ("uniform", "sf", (2.0,)),
    ("poisson", "logpmf", (2.5, 1.0)),
    ("poisson", "logpmf", (-1.0, 1.0)),
    ("poisson", "logpmf", (0.0, 0.0)),
    ("poisson", "logpmf", (1.0, 0.0)),
    ("poisson", "cdf", (2.5, 1.0)),
    ("poisson", "cdf", (-1.0, 1.0)),
    ("poisson", "sf", (-1.0, 1.0)),
    ("poisson", "logpmf", (1.0, -1.0)),
    ("bernoulli", "logpmf", (2.0, 0.3)),
    ("bernoulli", "cdf", (0.5, 0.3)),
    ("bernoulli", "sf", (-1.0, 0.3)),
    ("bernoulli", "logpmf", (1.0, 1.5)),
    ("binom", "logpmf", (6.0, 5.0, 0.3)),
    ("binom", "logpmf", (2.0, 5.5, 0.3)),
    ("binom", "cdf", (5.0, 5.0, 0.3)),
    ("binom", "cdf", (-1.0, 5.0, 0.3)),
    ("binom", "sf", (7.0, 5.0, 0.3)),
    ("binom", "pmf", (0.0, 5.0, 0.0)),
    ("binom", "pmf", (5.0, 5.0, 1.0)),
]


@pytest.mark.parametrize("dist, method, args", EDGES)
def test_the_support_edges_and_invalid_parameters_match_scipy(dist, method, args):
    ours, theirs = _pair(dist, method)
    with np.errstate(all="ignore"):
        expected = theirs(*args)
        got = ours(*args), fg.jit(ours)(*args)
    for g in got:
        np.testing.assert_allclose(g, expected, rtol=1e-12, atol=0)


# ---------------------------------------------------------------- dirichlet


def test_dirichlet_matches_scipy_and_differentiates():
    rng = np.random.default_rng(0)
    alpha = rng.uniform(0.5, 4.0, 4)
    x = rng.dirichlet(alpha, 5).T  # (K, N): points along the first axis, as SciPy's
    for xs in (x, x[:, 0], x[:-1], x[:-1, 0]):
        for method in ("logpdf", "pdf"):
            expected = getattr(ss.dirichlet, method)(xs, alpha)
            np.testing.assert_allclose(
                getattr(fst.dirichlet, method)(xs, alpha), expected, rtol=1e-12
            )
            np.testing.assert_allclose(
                fg.jit(getattr(fst.dirichlet, method))(xs, alpha), expected, rtol=1e-12
            )
    fgt.check_grads(lambda a: fst.dirichlet.logpdf(x, a), (alpha,), order=2)
    fgt.check_grads(lambda v: fst.dirichlet.logpdf(v, alpha), (x[:-1],), order=2)
    assert fst.dirichlet.logpdf(x.astype(np.float32), alpha.astype(np.float32)).dtype == np.float32
    for bad_x, bad_alpha in [(x, -alpha), (x * 2, alpha), (x[:2], alpha)]:
        with pytest.raises(ValueError):
            ss.dirichlet.logpdf(bad_x, bad_alpha)
        with pytest.raises(ValueError, match="dirichlet"):
            fst.dirichlet.logpdf(bad_x, bad_alpha)


# ---------------------------------------------------------------- multivariate_normal


def _spd(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T + d * np.eye(d)


@pytest.mark.parametrize("d", [1, 2, 4])
@pytest.mark.parametrize("cov_kind", ["full", "diagonal", "scalar"])
def test_multivariate_normal_matches_scipy(d, cov_kind):
    rng = np.random.default_rng(d)
    mean = rng.standard_normal(d)
    cov = {"full": _spd(rng, d), "diagonal": rng.uniform(0.5, 2, d), "scalar": 1.7}[cov_kind]
    for x in (rng.standard_normal((5, d)), rng.standard_normal(d), rng.standard_normal((2, 3, d))):
        for method in ("logpdf", "pdf"):
            for singular in (False, True):
                expected = getattr(ss.multivariate_normal, method)(
                    x, mean, cov, allow_singular=singular
                )
                call = getattr(fst.multivariate_normal, method)
                got = call(x, mean, cov, allow_singular=singular)
                np.testing.assert_allclose(got, expected, rtol=1e-11)
                jitted = fg.jit(lambda v, m, c: call(v, m, c, allow_singular=singular))
                np.testing.assert_allclose(jitted(x, mean, np.asarray(cov)), expected, rtol=1e-11)
    x = rng.standard_normal((3, d))
    fgt.check_grads(
        lambda v, m, c: fst.multivariate_normal.logpdf(v, m, c),
        (x, mean, np.asarray(cov, float)),
        order=2,
    )


def test_multivariate_normal_of_one_dimension_takes_scalars_and_vectors_as_scipy():
    for x in (0.3, np.array([0.3, -1.0, 2.0])):
        expected = ss.multivariate_normal.logpdf(x, 0.5, 2.0)
        np.testing.assert_allclose(
            fst.multivariate_normal.logpdf(x, 0.5, 2.0), expected, rtol=1e-12
        )
    np.testing.assert_allclose(
        fst.multivariate_normal.logpdf(0.3), ss.multivariate_normal.logpdf(0.3), rtol=1e-12
    )


def test_multivariate_normal_with_a_singular_covariance():
    rng = np.random.default_rng(5)
    b = rng.standard_normal((3, 2))
    cov = b @ b.T  # rank 2
    mean = rng.standard_normal(3)
    on = mean[:, None] + b @ rng.standard_normal((2, 4))  # points in the covariance's range
    off = on.T + np.cross(b[:, 0], b[:, 1])  # and off it
    for x in (on.T, off):
        expected = ss.multivariate_normal.logpdf(x, mean, cov, allow_singular=True)
        np.testing.assert_allclose(
            fst.multivariate_normal.logpdf(x, mean, cov, allow_singular=True), expected, rtol=1e-8
        )
    with pytest.raises(np.linalg.LinAlgError):
        ss.multivariate_normal.logpdf(on.T, mean, cov)
    with pytest.raises(np.linalg.LinAlgError, match="allow_singular"):
        fst.multivariate_normal.logpdf(on.T, mean, cov)
    fgt.check_grads(
        lambda v: fst.multivariate_normal.logpdf(v, mean, cov, allow_singular=True),
        (on.T,),
        order=1,
    )


def test_multivariate_normal_keeps_float32_and_refuses_mismatched_shapes():
    x, mean, cov = np.ones((2, 3), np.float32), np.zeros(3, np.float32), np.eye(3, dtype=np.float32)
    assert fst.multivariate_normal.logpdf(x, mean, cov).dtype == np.float32
    with pytest.raises(ValueError, match="do not agree"):
        fst.multivariate_normal.logpdf(x, mean, np.eye(2))
    with pytest.raises(ValueError, match="last axis"):
        fst.multivariate_normal.logpdf(np.ones((2, 2)), mean, cov)


def test_cdfs_are_not_differentiable_in_shape_parameters():
    with pytest.raises(NotImplementedError, match="no derivative"):
        fg.grad(fst.t.cdf, argnums=1)(0.5, 3.0)
    with pytest.raises(NotImplementedError, match="no derivative"):
        fg.grad(fst.gamma.cdf, argnums=1)(0.5, 3.0)
    assert np.isfinite(fg.grad(fst.t.cdf)(0.5, 3.0))
