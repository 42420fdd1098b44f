"""fg.random's distributions against SciPy's: Kolmogorov-Smirnov tests for the continuous
ones, chi-square tests for the discrete ones, each with a fixed key (so deterministic) and
each paired with a nearby wrong distribution that the same test must reject (so the test
can fail); shapes, dtypes, broadcasting, determinism, jit with traced keys and parameters,
and which parameters are differentiable.

A correct sampler passes a test at level ALPHA with probability 1 - ALPHA for a random key;
the keys are fixed, so the outcome is pinned, and the wrong distributions sit far enough
away that the test's power against them is essentially 1 at the sample sizes used.
"""

import math
import zlib

import numpy as np
import pytest
from scipy import stats

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.errors import ConcretizationError, DtypeError, ShapeError

R = fg.random
N = 20_000
ALPHA = 1e-3


def _ks(sample, dist):
    return stats.kstest(np.asarray(sample, np.float64).ravel(), dist.cdf).pvalue


class _LogOf:
    """The distribution of log X, for X from a SciPy distribution."""

    def __init__(self, dist):
        self.dist = dist

    def cdf(self, y):
        return self.dist.cdf(np.exp(y))


# name -> (draw(key, dtype), the SciPy distribution, a nearby wrong one)
CONTINUOUS = {
    "exponential": (lambda k, d: R.exponential(k, (N,), d), stats.expon(), stats.expon(0, 1.06)),
    "laplace": (lambda k, d: R.laplace(k, (N,), d), stats.laplace(), stats.laplace(0, 1.08)),
    "logistic": (lambda k, d: R.logistic(k, (N,), d), stats.logistic(), stats.logistic(0.08)),
    "cauchy": (lambda k, d: R.cauchy(k, (N,), d), stats.cauchy(), stats.cauchy(0, 1.1)),
    "gumbel": (lambda k, d: R.gumbel(k, (N,), d), stats.gumbel_r(), stats.gumbel_r(0.06)),
    "gamma_0.3": (lambda k, d: R.gamma(k, 0.3, (N,), d), stats.gamma(0.3), stats.gamma(0.33)),
    "gamma_1": (lambda k, d: R.gamma(k, 1.0, (N,), d), stats.gamma(1.0), stats.gamma(1.08)),
    "gamma_4.5": (lambda k, d: R.gamma(k, 4.5, (N,), d), stats.gamma(4.5), stats.gamma(4.9)),
    "gamma_300": (lambda k, d: R.gamma(k, 300.0, (N,), d), stats.gamma(300), stats.gamma(305)),
    "loggamma_0.01": (  # log X for X ~ Gamma(0.01): mostly below the smallest float
        lambda k, d: R.loggamma(k, 0.01, (N,), d),
        _LogOf(stats.gamma(0.01)),
        _LogOf(stats.gamma(0.011)),
    ),
    "beta_2_5": (lambda k, d: R.beta(k, 2.0, 5.0, (N,), d), stats.beta(2, 5), stats.beta(2, 5.5)),
    "beta_0.2_0.4": (
        lambda k, d: R.beta(k, 0.2, 0.4, (N,), d),
        stats.beta(0.2, 0.4),
        stats.beta(0.2, 0.45),
    ),
    "t_1.5": (lambda k, d: R.t(k, 1.5, (N,), d), stats.t(1.5), stats.t(1.5, 0, 1.1)),
    "t_6": (lambda k, d: R.t(k, 6.0, (N,), d), stats.t(6), stats.t(6, 0, 1.08)),
}
TRUNCATED = [
    (-1.0, 1.0),
    (2.0, np.inf),
    (-np.inf, -3.0),
    (5.0, 5.5),
    (-0.1, 10.0),
    (0.0, 0.2),
    (-np.inf, np.inf),
    (8.0, np.inf),
    (-2.0, 0.5),
    (-30.0, -29.0),
]
for _lo, _hi in TRUNCATED:
    CONTINUOUS[f"truncated_normal_{_lo}_{_hi}"] = (
        lambda k, d, lo=_lo, hi=_hi: R.truncated_normal(k, lo, hi, (N,), d),
        stats.truncnorm(_lo, _hi),
        # the same law on an interval shifted by 5% of its width (at most 0.05)
        stats.truncnorm(_lo, _hi, loc=0.05 * min(_hi - _lo, 1.0)),
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_continuous_distribution_passes_ks_and_rejects_a_wrong_one(name, dtype):
    draw, right, wrong = CONTINUOUS[name]
    sample = draw(R.key(zlib.crc32(name.encode()) % 1000), dtype)
    assert sample.shape == (N,) and np.all(np.isfinite(sample))
    assert sample.dtype == dtype
    assert _ks(sample, right) > ALPHA
    assert _ks(sample, wrong) < ALPHA


def test_normal_passes_ks():
    # normal has its own moment tests in test_random.py; this puts it beside the others.
    sample = R.normal(R.key(5), (N,), np.float64)
    assert _ks(sample, stats.norm()) > ALPHA and _ks(sample, stats.norm(0, 1.04)) < ALPHA


def test_truncated_normal_stays_inside_its_bounds_in_far_tails():
    x = R.truncated_normal(R.key(1), 20.0, 20.5, (2000,))
    assert x.min() >= 20.0 and x.max() <= 20.5
    # Past 20 standard deviations the density is ~exp(-20 x): mean 20 + 1/20 and a bit.
    assert abs(float(x.mean()) - 20.0 - stats.truncnorm(20, 20.5).mean() + 20) < 0.01
    y = R.truncated_normal(R.key(2), -np.inf, -12.0, (2000,), np.float64)
    assert y.max() <= -12.0 and _ks(y, stats.truncnorm(-np.inf, -12.0)) > ALPHA


def test_truncated_normal_broadcasts_bounds_and_handles_degenerate_intervals():
    lo = np.array([[-1.0], [3.0]])
    hi = np.array([0.0, 1.0, 4.0])
    x = R.truncated_normal(R.key(3), lo, hi)
    assert x.shape == (2, 3) and x.dtype == np.float32
    assert np.isnan(x[1, 0]) and np.isnan(x[1, 1])  # lower > upper
    assert -1 <= x[0, 0] <= 0 and 3 <= x[1, 2] <= 4
    same = R.truncated_normal(R.key(3), 2.0, 2.0, (3,))
    np.testing.assert_array_equal(same, [2.0, 2.0, 2.0])
    big = R.truncated_normal(R.key(3), lo, hi, (5, 2, 3))
    assert big.shape == (5, 2, 3)
    with pytest.raises(ShapeError, match=r"do not broadcast at \S*test_random_distributions"):
        R.truncated_normal(R.key(3), lo, hi, (3,))


@pytest.mark.parametrize("a", [0.5, 2.0, 40.0])
def test_gamma_per_element_shapes(a):
    alphas = np.array([a, 2 * a, 0.1])
    g = R.gamma(R.key(70), alphas, (N // 4, 3), np.float64)
    for j, alpha in enumerate(alphas):
        assert _ks(g[:, j], stats.gamma(alpha)) > ALPHA
    assert R.gamma(R.key(7), alphas).shape == (3,)


def test_gamma_of_invalid_shapes_is_nan_and_tiny_shapes_underflow_to_zero():
    g = R.gamma(R.key(8), np.array([-1.0, 0.0, np.nan, 1e-3]), (200, 4))
    assert np.isnan(g[:, :3]).all()
    assert np.all(g[:, 3] >= 0) and np.mean(g[:, 3] == 0) > 0.5
    lg = R.loggamma(R.key(8), 1e-3, (200,))
    assert np.all(np.isfinite(lg)) and np.mean(lg < -100) > 0.5


def test_beta_and_dirichlet_never_nan_for_small_parameters():
    b = R.beta(R.key(9), 1e-3, 1e-3, (1000,))
    assert np.all(np.isfinite(b)) and np.all((b >= 0) & (b <= 1))
    p = R.dirichlet(R.key(9), np.full(4, 1e-3), (1000,))
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(-1), 1.0, atol=1e-6)


def test_dirichlet_marginals_are_beta():
    alpha = np.array([0.5, 2.0, 4.5])
    p = R.dirichlet(R.key(10), alpha, (N,), np.float64)
    assert p.shape == (N, 3)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-12)
    total = alpha.sum()
    for j, a in enumerate(alpha):
        assert _ks(p[:, j], stats.beta(a, total - a)) > ALPHA
        assert _ks(p[:, j], stats.beta(a * 1.1, total - a)) < ALPHA
    batched = R.dirichlet(R.key(10), np.ones((2, 3)))
    assert batched.shape == (2, 3)
    assert R.dirichlet(R.key(10), np.ones((2, 3)), (4, 2)).shape == (4, 2, 3)
    with pytest.raises(ShapeError, match="rank >= 1"):
        R.dirichlet(R.key(10), 1.0)


def test_t_with_per_element_degrees_of_freedom():
    df = np.array([2.0, 30.0])
    x = R.t(R.key(11), df, None, np.float64)
    assert x.shape == (2,)
    x = R.t(R.key(11), df, (N, 2), np.float64)
    assert _ks(x[:, 0], stats.t(2)) > ALPHA and _ks(x[:, 1], stats.t(30)) > ALPHA


# ---------------------------------------------------------------- discrete


def _chi_square(counts, probabilities):
    """The p-value of observed ``counts`` against ``probabilities`` (tails pooled until every
    expected count is at least 5)."""
    counts = np.asarray(counts, np.float64)
    expected = np.asarray(probabilities, np.float64) * counts.sum()
    keep = expected >= 5
    obs = np.append(counts[keep], counts[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    if exp[-1] < 5:  # fold a small pooled tail into the last bin kept
        obs[-2] += obs[-1]
        exp[-2] += exp[-1]
        obs, exp = obs[:-1], exp[:-1]
    exp *= obs.sum() / exp.sum()
    return stats.chisquare(obs, exp).pvalue


def _poisson_p(sample, lam):
    top = int(sample.max()) + 1
    counts = np.bincount(sample, minlength=top + 1)
    probs = stats.poisson(lam).pmf(np.arange(top + 1))
    probs[-1] += stats.poisson(lam).sf(top)
    return _chi_square(counts, probs)


@pytest.mark.parametrize("lam", [0.05, 0.7, 3.0, 9.99, 10.0, 17.0, 60.0, 1e4])
def test_poisson_chi_square(lam):
    sample = R.poisson(R.key(int(lam * 100) % 997), lam, (N,))
    assert sample.dtype == np.int32 and sample.min() >= 0
    assert _poisson_p(sample, lam) > ALPHA
    assert _poisson_p(sample, lam * 1.04 + 0.01) < ALPHA


def test_poisson_shapes_dtypes_and_invalid_rates():
    lam = np.array([0.0, 2.0, 50.0, -1.0, np.nan, np.inf])
    k = R.poisson(R.key(12), lam, (100, 6), dtype=np.int64)
    assert k.dtype == np.int64 and k.shape == (100, 6)
    assert np.all(k[:, 0] == 0) and np.all(k[:, 3:] == -1)
    assert R.poisson(R.key(12), lam).shape == (6,)
    with pytest.raises(DtypeError, match="integer type"):
        R.poisson(R.key(12), 1.0, (2,), dtype=np.float32)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_categorical_frequencies_along_axis(axis):
    p = np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])
    logits = np.log(p if axis != 0 else p.T)
    draws = R.categorical(R.key(13), logits, axis=axis, shape=(N, 2))
    assert draws.shape == (N, 2) and draws.dtype == np.int32
    for row in range(2):
        counts = np.bincount(draws[:, row], minlength=3)
        assert _chi_square(counts, p[row]) > ALPHA
        assert _chi_square(counts, 0.9 * p[row] + 0.1 / 3) < ALPHA


def test_categorical_shapes():
    logits = np.zeros((2, 5))
    assert R.categorical(R.key(0), logits).shape == (2,)
    assert R.categorical(R.key(0), logits, axis=0).shape == (5,)
    assert R.categorical(R.key(0), logits, shape=(3, 4, 2)).shape == (3, 4, 2)
    assert R.categorical(R.key(0), np.zeros(4), shape=(6,)).shape == (6,)
    # -inf logits are never drawn
    c = R.categorical(R.key(1), np.array([0.0, -np.inf, 0.0]), shape=(1000,))
    assert not np.any(c == 1)
    with pytest.raises(ShapeError, match="does not end in a shape"):
        R.categorical(R.key(0), logits, shape=(3,))


def test_rademacher():
    r = R.rademacher(R.key(14), (N,))
    assert r.dtype == np.int32 and set(np.unique(r).tolist()) == {-1, 1}
    assert stats.binomtest(int(np.sum(r == 1)), N).pvalue > ALPHA
    assert R.rademacher(R.key(14), (3,), np.float32).dtype == np.float32
    with pytest.raises(DtypeError):
        R.rademacher(R.key(14), (3,), np.uint8)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
def test_bits_use_every_bit(dtype):
    b = R.bits(R.key(15), (N,), dtype)
    assert b.dtype == dtype and b.shape == (N,)
    width = np.dtype(dtype).itemsize * 8
    ones = [(b >> np.array(i, dtype)) & np.array(1, dtype) for i in range(width)]
    for bit in ones:  # each bit is a fair coin
        assert stats.binomtest(int(bit.sum()), N).pvalue > ALPHA / width
    assert _chi_square(np.bincount(b.view(np.uint8), minlength=256), np.full(256, 1 / 256)) > ALPHA
    with pytest.raises(DtypeError, match="uint8, uint16, uint32 or uint64"):
        R.bits(R.key(0), (2,), np.int32)


def test_permutation_along_an_axis_and_independently():
    x = np.arange(5 * 6 * 7).reshape(5, 6, 7)
    for axis in (0, 1, 2, -1):
        y = R.permutation(R.key(16), x, axis=axis)
        np.testing.assert_array_equal(np.sort(y, axis=axis), x)  # slices moved whole
        assert not np.array_equal(y, x)
    y = R.permutation(R.key(16), x, axis=2)
    assert np.all(np.diff(y, axis=1) == 7)  # the same permutation of every row
    z = R.permutation(R.key(17), np.tile(np.arange(8), (50, 1)), axis=1, independent=True)
    np.testing.assert_array_equal(np.sort(z, axis=1), np.tile(np.arange(8), (50, 1)))
    assert len({tuple(r) for r in z.tolist()}) > 45  # rows shuffled by their own permutations
    with pytest.raises(ShapeError, match="out of bounds"):
        R.permutation(R.key(0), x, axis=3)
    np.testing.assert_array_equal(R.shuffle(R.key(18), x, 1), R.permutation(R.key(18), x, 1))
    with pytest.raises(TypeError, match="must be an array"):
        R.shuffle(R.key(0), 5)


def test_permutation_is_uniform_over_orderings():
    keys = R.split(R.key(19), 6000)
    ranks = [int("".join(map(str, R.permutation(k, 3).tolist()))) for k in keys]
    values, counts = np.unique(ranks, return_counts=True)
    assert len(values) == 6 and _chi_square(counts, np.full(6, 1 / 6)) > ALPHA


# ---------------------------------------------------------------- vectors and matrices


@pytest.mark.parametrize("method", ["cholesky", "eigh", "svd"])
def test_multivariate_normal(method):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    cov, mean = a @ a.T + 0.5 * np.eye(3), np.array([1.0, -2.0, 0.5])
    x = R.multivariate_normal(R.key(20), mean, cov, (N,), np.float64, method=method)
    assert x.shape == (N, 3) and x.dtype == np.float64
    d = x - mean
    mahalanobis = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
    assert _ks(mahalanobis, stats.chi2(3)) > ALPHA
    assert _ks(mahalanobis, stats.chi2(3, scale=1.05)) < ALPHA
    w = np.array([0.3, -1.0, 2.0])
    assert _ks(x @ w, stats.norm(w @ mean, math.sqrt(w @ cov @ w))) > ALPHA


def test_multivariate_normal_methods_agree_on_semidefinite_covariances():
    cov = np.array([[1.0, 1.0], [1.0, 1.0]])  # rank 1: x0 == x1
    for method in ("eigh", "svd"):
        x = R.multivariate_normal(R.key(21), np.zeros(2), cov, (100,), np.float64, method)
        np.testing.assert_allclose(x[:, 0], x[:, 1], atol=1e-7)


def test_multivariate_normal_shapes_and_errors():
    means = np.zeros((4, 1, 2))
    covs = np.broadcast_to(np.eye(2), (3, 2, 2))
    assert R.multivariate_normal(R.key(0), means, covs).shape == (4, 3, 2)
    assert R.multivariate_normal(R.key(0), means, covs, (5, 4, 3)).shape == (5, 4, 3, 2)
    assert R.multivariate_normal(R.key(0), np.zeros(2), np.eye(2)).dtype == np.float64
    assert (
        R.multivariate_normal(R.key(0), np.zeros(2, np.float32), np.eye(2, dtype=np.float32)).dtype
        == np.float32
    )
    with pytest.raises(ShapeError, match=r"\(\.\.\., n\) and cov \(\.\.\., n, n\)"):
        R.multivariate_normal(R.key(0), np.zeros(3), np.eye(2))
    with pytest.raises(ShapeError, match="does not broadcast"):
        R.multivariate_normal(R.key(0), means, covs, (2,))
    with pytest.raises(ValueError, match="method must be one of"):
        R.multivariate_normal(R.key(0), np.zeros(2), np.eye(2), method="qr")


def test_multivariate_normal_gradients_match_finite_differences():
    k = R.key(22)

    def sample(mean, a):
        cov = a @ a.T + np.eye(3)
        return R.multivariate_normal(k, mean, cov, (4,), np.float64)

    a = np.random.default_rng(1).standard_normal((3, 3))
    fg.testing.check_grads(sample, (np.array([0.5, -1.0, 2.0]), a), order=1)


@pytest.mark.parametrize("n", [2, 5])
def test_orthogonal_is_haar(n):
    q = R.orthogonal(R.key(23), n, (N // 4,), np.float64)
    assert q.shape == (N // 4, n, n)
    np.testing.assert_allclose(
        q @ np.swapaxes(q, -1, -2), np.broadcast_to(np.eye(n), q.shape), atol=1e-12
    )
    # Under the Haar measure an entry x of a column is distributed as 2 Beta((n-1)/2, (n-1)/2) - 1.
    entry = (q[:, 0, 0] + 1) / 2
    assert _ks(entry, stats.beta((n - 1) / 2, (n - 1) / 2)) > ALPHA
    dets = np.linalg.det(q)
    assert stats.binomtest(int(np.sum(dets > 0)), len(dets)).pvalue > ALPHA
    assert R.orthogonal(R.key(0), 3).dtype == np.float32


# ---------------------------------------------------------------- all draws: shapes, keys, jit

# name -> draw(key, parameter) with a float32 parameter that jit may trace
DRAWS = {
    "exponential": lambda k, p: R.exponential(k, (5,)) * p,
    "laplace": lambda k, p: R.laplace(k, (5,)) * p,
    "logistic": lambda k, p: R.logistic(k, (5,)) * p,
    "cauchy": lambda k, p: R.cauchy(k, (5,)) * p,
    "gumbel": lambda k, p: R.gumbel(k, (5,)) * p,
    "truncated_normal": lambda k, p: R.truncated_normal(k, -p, 2 * p, (5,)),
    "truncated_normal_tail": lambda k, p: R.truncated_normal(k, 3 * p, np.inf, (5,)),
    "gamma": lambda k, p: R.gamma(k, p, (5,)),
    "gamma_small": lambda k, p: R.gamma(k, p / 4, (5,)),
    "loggamma": lambda k, p: R.loggamma(k, p, (5,)),
    "beta": lambda k, p: R.beta(k, p, 2 * p, (5,)),
    "dirichlet": lambda k, p: R.dirichlet(k, fnp.stack([p, 2 * p, p]), (5,)),
    "t": lambda k, p: R.t(k, p, (5,)),
    "poisson": lambda k, p: R.poisson(k, p, (5,)),
    "poisson_large": lambda k, p: R.poisson(k, 40 * p, (5,)),
    "categorical": lambda k, p: R.categorical(k, fnp.stack([p, -p, 0 * p]), shape=(20,)),
    "rademacher": lambda k, p: R.rademacher(k, (20,)),
    "bits": lambda k, p: R.bits(k, (5,), np.uint64),
    "permutation": lambda k, p: R.permutation(k, 7),
    "permutation_axis": lambda k, p: R.permutation(k, fnp.reshape(fnp.arange(12.0), (3, 4)) * p, 1),
    "choice_without_replacement": lambda k, p: R.choice(k, 9, (4,), replace=False),
    "multivariate_normal": lambda k, p: R.multivariate_normal(
        k, fnp.zeros(2), fnp.eye(2) * p, (3,), np.float32
    ),
    "orthogonal": lambda k, p: R.orthogonal(k, 3) * p,
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_draws_are_deterministic_and_depend_on_the_key(name):
    draw, p = DRAWS[name], np.float32(1.5)
    a, b, c = draw(R.key(0), p), draw(R.key(0), p), draw(R.key(1), p)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_draws_under_jit_with_traced_key_and_parameter_match_eager(name):
    draw, p = DRAWS[name], np.float32(1.5)
    jitted = fg.jit(draw)
    for seed in (0, 1):
        eager, traced = draw(R.key(seed), p), jitted(R.key(seed), p)
        assert traced.dtype == eager.dtype and traced.shape == eager.shape
        if eager.dtype.kind == "f":  # the executor's libm may differ from NumPy's by ulps
            np.testing.assert_allclose(traced, eager, rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(traced, eager)
    assert jitted.cache_info().misses == 1


def test_jitted_rejection_sampler_still_passes_ks():
    g = fg.jit(lambda k, a: R.gamma(k, a, (N,), np.float64))(R.key(24), np.float64(2.5))
    assert _ks(g, stats.gamma(2.5)) > ALPHA and _ks(g, stats.gamma(2.65)) < ALPHA


def test_vmap_over_keys_of_a_rejection_sampler():
    keys = R.split(R.key(25), 4)
    batched = fg.vmap(lambda k: R.gamma(k, 3.0, (6,)))(keys)
    np.testing.assert_allclose(batched, np.stack([R.gamma(k, 3.0, (6,)) for k in keys]), rtol=1e-6)


@pytest.mark.parametrize(
    "draw",
    [
        lambda k: R.exponential(k, (2, 3), np.float64),
        lambda k: R.gamma(k, np.ones((2, 3)), None, np.float64),
        lambda k: R.gamma(k, 1.0, (2, 3), np.float64),
        lambda k: R.beta(k, np.ones((2, 1)), np.ones(3), None, np.float64),
        lambda k: R.truncated_normal(k, np.zeros((1, 3)), 1.0, (2, 3), np.float64),
        lambda k: R.t(k, np.ones(3), (2, 3), np.float64),
    ],
)
def test_shape_and_dtype_of_parameterized_draws(draw):
    x = draw(R.key(0))
    assert x.shape == (2, 3) and x.dtype == np.float64


def test_one_draw_is_a_numpy_scalar_as_everywhere():
    for x in (
        R.gamma(R.key(0), 2.0),
        R.exponential(R.key(0)),
        R.truncated_normal(R.key(0), 0.0, 1.0),
    ):
        assert np.ndim(x) == 0 and x.dtype == np.float32


@pytest.mark.parametrize(
    "draw",
    [
        lambda k: R.gamma(k, 1.0, (2,), np.int32),
        lambda k: R.exponential(k, (2,), np.int32),
        lambda k: R.truncated_normal(k, 0.0, 1.0, (2,), np.float16),
    ],
)
def test_float_dtypes_only(draw):
    with pytest.raises(DtypeError, match="dtype must be float32 or float64"):
        draw(R.key(0))


def test_shape_that_the_parameters_do_not_broadcast_to_names_the_line():
    expected = r"gamma: the parameters' shapes \[\(3,\)\] and the requested shape \(2,\) do not"
    with pytest.raises(ShapeError, match=expected + r" broadcast at \S*test_random_distributions"):
        R.gamma(R.key(0), np.ones(3), (2,))


# ---------------------------------------------------------------- keys and derivatives


SEEDS = [0, 7, -1, -5, 2**31 - 1, -(2**31), 2**32 + 5, 2**40 + 3, 2**63 - 1, 2**64 - 3]
TYPED_SEEDS = [
    (seed, dtype)
    for dtype in (np.int32, np.int64, np.uint32, np.uint64)
    for seed in SEEDS
    if np.iinfo(dtype).min <= seed <= np.iinfo(dtype).max
]


@pytest.mark.parametrize("seed, dtype", TYPED_SEEDS)
def test_key_of_a_traced_seed_matches_the_eager_key(seed, dtype):
    traced = fg.jit(R.key)(dtype(seed))
    assert traced.dtype == np.uint32
    np.testing.assert_array_equal(traced, R.key(dtype(seed)))


def test_key_of_a_traced_float_or_array_explains():
    with pytest.raises(DtypeError, match="traced seed must be an integer scalar"):
        fg.jit(R.key)(np.float32(1.0))
    with pytest.raises(DtypeError, match="traced seed must be an integer scalar"):
        fg.jit(R.key)(np.arange(2))


def test_fold_in_a_traced_step_counter_in_a_jitted_training_step():
    base = R.key(26)

    @fg.jit
    def step(w, i):
        noise = R.normal(R.fold_in(base, i), w.shape)
        return w + 0.1 * noise

    w_jit = w_eager = np.zeros(3, np.float32)
    for i in range(4):
        w_jit = step(w_jit, np.int32(i))
        w_eager = w_eager + np.float32(0.1) * R.normal(R.fold_in(base, i), (3,))
    np.testing.assert_allclose(w_jit, w_eager, rtol=1e-6)
    assert step.cache_info().misses == 1
    # the key of a traced seed, then folded: the whole key schedule from traced ints
    keys = fg.jit(lambda s, i: R.fold_in(R.key(s), i))(np.int64(3), np.int32(9))
    np.testing.assert_array_equal(keys, R.fold_in(R.key(3), 9))


def test_standard_draws_scaled_are_reparameterized():
    # Reparameterized: x = loc + scale * standard draw, so d/dscale is the standard draw.
    k = R.key(27)
    for standard in (R.exponential, R.laplace, R.logistic, R.gumbel, R.cauchy):
        z = standard(k, (4,), np.float64)
        g = fg.grad(lambda s: fnp.sum(s * standard(k, (4,), np.float64)))(np.float64(2.0))
        np.testing.assert_allclose(g, z.sum())


@pytest.mark.parametrize(
    "draw, what",
    [
        (lambda a: R.gamma(R.key(0), a, (3,)), "gamma"),
        (lambda a: R.beta(R.key(0), a, 2.0, (3,)), "gamma"),
        (lambda a: R.t(R.key(0), a, (3,)), "gamma"),
        (lambda a: R.dirichlet(R.key(0), fnp.stack([a, a]), (3,)), "gamma"),
        (lambda a: R.truncated_normal(R.key(0), a, a + 1.0, (3,)), "truncated_normal"),
    ],
)
def test_rejection_samplers_refuse_to_be_differentiated_in_their_parameters(draw, what):
    with pytest.raises(
        NotImplementedError,
        match=rf"{what}.* not differentiable .* at \S*test_random_distributions\.py:\d+",
    ):
        fg.grad(lambda a: fnp.sum(draw(a)))(np.float32(2.0))
    # ... and say how to opt out: a stopped parameter is fine.
    g = fg.grad(lambda a: fnp.sum(draw(fg.stop_gradient(a)) * a))(np.float32(2.0))
    np.testing.assert_allclose(g, np.sum(draw(np.float32(2.0))), rtol=1e-6)


def test_weighted_choice_is_still_eager_only():
    with pytest.raises(ConcretizationError, match="cannot run under jit"):
        fg.jit(lambda k: R.choice(k, 3, (2,), p=np.array([0.2, 0.3, 0.5])))(R.key(0))
