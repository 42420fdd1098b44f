"""fg.random and the random_bits primitive: Threefry known answers, pinned values,
key splitting, distributions, dtypes, and jit with traced keys.

Distribution checks use fixed keys, so they are deterministic; each tolerance is about
5 standard errors of the statistic at the sample size used, so a correct generator
passes them with overwhelming probability for any key, and a biased one fails.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
import subprocesses
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
import funcgrad.primitives as P
from funcgrad.errors import DtypeError, ShapeError

R = fg.random
U32 = np.uint32
SEEDS = st.integers(-(2**63), 2**64 - 1)
SETTINGS = settings(max_examples=25, deadline=None)


def _bits(key, counts, dtype=U32):
    return P.random_bits(np.asarray(key, U32), np.asarray(counts, U32), dtype=np.dtype(dtype))


# ---------------------------------------------------------------- Threefry-2x32-20


# Known-answer vectors of Threefry-2x32 with 20 rounds (Random123's kat_vectors).
KAT = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]


@pytest.mark.parametrize("key, counter, expected", KAT)
def test_threefry_known_answers(key, counter, expected):
    x0, x1 = P.threefry_2x32(np.array(key, U32), np.array([counter[0]]), np.array([counter[1]]))
    assert (int(x0[0]), int(x1[0])) == expected


def test_threefry_is_vectorized_elementwise():
    keys, counters, expected = zip(*KAT)
    k = np.array(keys[2], U32)
    x0, x1 = P.threefry_2x32(k, np.array([counters[2][0]] * 3), np.array([counters[2][1]] * 3))
    assert x0.tolist() == [expected[2][0]] * 3 and x1.tolist() == [expected[2][1]] * 3
    # A batch equals its elements one at a time.
    c = np.arange(50, dtype=U32)
    batch = P.threefry_2x32(k, c, c * U32(3))
    for i in (0, 17, 49):
        one = P.threefry_2x32(k, c[i : i + 1], c[i : i + 1] * U32(3))
        assert (batch[0][i], batch[1][i]) == (one[0][0], one[1][0])


def test_random_bits_counter_layout():
    # Counter c is the block (c, 0): uint32 output is the first word of its hash.
    assert _bits((0, 0), [0]).tolist() == [0x6B200159]
    key = KAT[2][0]
    words = P.threefry_2x32(np.array(key, U32), np.array([7, 8], U32), np.zeros(2, U32))
    assert _bits(key, [7, 8]).tolist() == words[0].tolist()
    # float32: the top 24 bits of that word; float64: 27 + 26 bits of both words.
    top = (words[0] >> U32(8)).astype(np.float64) * 2.0**-24
    np.testing.assert_array_equal(_bits(key, [7, 8], np.float32), top.astype(np.float32))
    hi, lo = (words[0] >> U32(5)).astype(np.float64), (words[1] >> U32(6)).astype(np.float64)
    np.testing.assert_array_equal(_bits(key, [7, 8], np.float64), (hi * 2.0**26 + lo) * 2.0**-53)


def test_random_bits_keeps_the_counter_shape():
    counts = np.arange(24, dtype=U32).reshape(2, 3, 4)
    for dtype in (np.uint32, np.float32, np.float64):
        out = _bits((5, 6), counts, dtype)
        assert out.shape == (2, 3, 4) and out.dtype == dtype
        np.testing.assert_array_equal(out.ravel(), _bits((5, 6), counts.ravel(), dtype))
    assert _bits((5, 6), np.zeros((0, 3), U32)).shape == (0, 3)
    assert _bits((5, 6), np.array(3, U32)).shape == ()


def test_random_bits_shape_rule_errors():
    with pytest.raises(ShapeError, match=r"random_bits: a key has shape \(2,\), got \(3,\)"):
        _bits((1, 2, 3), [0])
    with pytest.raises(DtypeError, match="must be uint32, got int64 and uint32"):
        P.random_bits(np.array([1, 2]), np.arange(3, dtype=U32))
    with pytest.raises(DtypeError, match="got uint32 and float32"):
        P.random_bits(np.array([1, 2], U32), np.zeros(3, np.float32))
    with pytest.raises(DtypeError, match="dtype must be uint32, float32 or float64, got int64"):
        _bits((1, 2), [0], np.int64)


def test_random_bits_is_not_differentiated():
    k = R.key(3)
    g = fg.grad(lambda w: fnp.sum(w * R.uniform(k, (4,))))(np.ones(4, np.float32))
    np.testing.assert_array_equal(g, R.uniform(k, (4,)))
    assert P.random_bits.vjp == (None, None)
    assert P.random_bits.jvp((None, None), None, None, None) is None


# ---------------------------------------------------------------- keys and reproducibility


def test_key_from_seed():
    assert R.key(0).dtype == U32 and R.key(0).tolist() == [0, 0]
    assert R.key(42).tolist() == [0, 42]
    assert R.key(2**32 + 7).tolist() == [1, 7]
    assert R.key(-1).tolist() == [2**32 - 1, 2**32 - 1]  # 64-bit two's complement
    assert R.key(2**64 - 1).tolist() == R.key(-1).tolist()
    assert R.key(np.int64(5)).tolist() == [0, 5]
    # Beyond 64 bits: deterministic, and distinct from the 64-bit keys they extend.
    big = [2**64, 2**64 + 1, 2**65, -(2**64), -(2**64) - 1, 3**100]
    keys = {tuple(R.key(s).tolist()) for s in big} | {(0, 0), (0, 1)}
    assert len(keys) == len(big) + 2
    assert R.key(2**70).tolist() == [3050482540, 1492831426]


@pytest.mark.parametrize("seed", [1.5, True, "1", None])
def test_key_rejects_non_ints(seed):
    with pytest.raises(TypeError, match="seed must be an int"):
        R.key(seed)


def test_bad_keys_are_rejected_with_the_callers_line():
    with pytest.raises(DtypeError, match=r"normal: expected a key .* got int64 .*test_random\.py:"):
        R.normal(np.array([0, 1]), (2,))
    with pytest.raises(DtypeError, match=r"got uint32 of shape \(2, 2\)"):
        R.uniform(R.split(R.key(0)), (2,))


# Computed once from this implementation after the known-answer tests passed. Everything up
# to the uniform floats is integer arithmetic and exact float scaling, so these are pinned
# bit for bit on every machine.
PINNED = {
    "split": [[1797259609, 1351547692], [1688610540, 3098264785]],
    "fold_in": [2671072407, 2110380200],
    "uniform": [1039268032, 1048864696, 1055491976, 1065097639],  # float32 bits
    "randint": [86, 2, 96, 94, 10, 99],
    "permutation": [0, 6, 5, 7, 4, 2, 3, 1],
    "bits": [629071667, 2271449651, 2527474599, 2392469163],
}
# normal goes through log/cos/sin, whose last bit may differ between CPUs (NumPy dispatches
# to different SIMD code) and between NumPy and the compiled executor's libm: pinned to a few
# ulp, and bitwise within one machine and backend.
PINNED_NORMAL32 = [-0.6301301717758179, 1.7984613180160522, 0.8404204249382019]
PINNED_NORMAL64 = [-0.6301301117456561, 1.7984610536154382, 0.8404204538070655]

_PINNED_SCRIPT = """
import numpy as np, funcgrad as fg, funcgrad.primitives as P
r = fg.random
print(r.split(r.key(0)).tolist())
print(r.fold_in(r.key(0), 7).tolist())
print(r.uniform(r.key(1), (4,)).view(np.uint32).tolist())
print(r.randint(r.key(3), (6,), 0, 100).tolist())
print(r.permutation(r.key(4), 8).tolist())
print(P.random_bits(np.array([1, 2], np.uint32), np.arange(4, dtype=np.uint32)).tolist())
print(r.normal(r.key(2), (3,)).view(np.uint32).tolist())
"""


def _pinned_now():
    return [
        R.split(R.key(0)).tolist(),
        R.fold_in(R.key(0), 7).tolist(),
        R.uniform(R.key(1), (4,)).view(U32).tolist(),
        R.randint(R.key(3), (6,), 0, 100).tolist(),
        R.permutation(R.key(4), 8).tolist(),
        _bits((1, 2), np.arange(4)).tolist(),
    ]


def test_pinned_values():
    assert _pinned_now() == [PINNED[k] for k in PINNED]
    z32, z64 = R.normal(R.key(2), (3,)), R.normal(R.key(2), (3,), np.float64)
    np.testing.assert_array_max_ulp(z32, np.array(PINNED_NORMAL32, np.float32), maxulp=4)
    np.testing.assert_array_max_ulp(z64, np.array(PINNED_NORMAL64), maxulp=4)


def test_pinned_values_in_a_fresh_process():
    out = subprocess.run(
        [sys.executable, "-c", _PINNED_SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        env=subprocesses.env(),
        cwd=subprocesses.CWD,
    ).stdout.splitlines()
    assert [eval(line) for line in out[:-1]] == _pinned_now()
    assert eval(out[-1]) == R.normal(R.key(2), (3,)).view(U32).tolist()  # bitwise here


@SETTINGS
@given(seed=SEEDS, shape=st.lists(st.integers(0, 4), max_size=3).map(tuple))
def test_same_key_same_numbers(seed, shape):
    k = R.key(seed)
    for draw in (R.uniform, R.normal, lambda k, s: R.randint(k, s, -5, 5)):
        a, b = draw(k, shape), draw(R.key(seed), shape)
        assert a.shape == shape
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- split and fold_in


@SETTINGS
@given(seed=SEEDS, num=st.integers(1, 40))
def test_split_gives_distinct_keys(seed, num):
    k = R.key(seed)
    keys = R.split(k, num)
    assert keys.shape == (num, 2) and keys.dtype == U32
    rows = {tuple(r) for r in keys.tolist()} | {tuple(k.tolist())}
    assert len(rows) == num + 1
    # A prefix property: split(k, n) hashes counters 0..2n-1.
    np.testing.assert_array_equal(R.split(k, num + 1)[:num], keys)


@SETTINGS
@given(seed=SEEDS, data=st.lists(st.integers(-(2**31), 2**32 - 1), min_size=2, max_size=8))
def test_fold_in_gives_distinct_keys(seed, data):
    k = R.key(seed)
    folded = {tuple(R.fold_in(k, d).tolist()) for d in data}
    assert len(folded) == len({d % 2**32 for d in data})
    assert not folded & {tuple(r) for r in R.split(k, 64).tolist()}


def test_fold_in_arguments():
    k = R.key(0)
    np.testing.assert_array_equal(R.fold_in(k, -1), R.fold_in(k, 2**32 - 1))
    np.testing.assert_array_equal(R.fold_in(k, np.int32(5)), R.fold_in(k, 5))
    with pytest.raises(ValueError, match="does not fit in 32 bits"):
        R.fold_in(k, 2**32)
    with pytest.raises(TypeError, match="data must be an int"):
        R.fold_in(k, 1.0)
    with pytest.raises(DtypeError, match="data must be an integer scalar"):
        R.fold_in(k, np.array([1, 2]))


def test_many_split_keys_have_no_identical_rows():
    keys = R.split(R.key(7), 20000)
    assert len(np.unique(keys, axis=0)) == 20000


def test_split_streams_look_independent():
    k1, k2 = R.split(R.key(0))
    n = 20000
    a, b = R.uniform(k1, (n,), np.float64), R.uniform(k2, (n,), np.float64)
    f1, f2 = R.uniform(R.fold_in(k1, 0), (n,)), R.uniform(R.fold_in(k1, 1), (n,))
    for x, y in ((a, b), (f1, f2), (a, f1)):
        assert not np.array_equal(x, y)
        # The correlation of independent streams is ~N(0, 1/n): 5 / sqrt(n) = 0.035.
        assert abs(np.corrcoef(x, y)[0, 1]) < 5 / math.sqrt(n)
    # Neighbouring counters within one stream are uncorrelated too.
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < 5 / math.sqrt(n)


# ---------------------------------------------------------------- distributions

N = 100_000


def _ks_distance(sample, cdf):
    x = np.sort(sample.astype(np.float64))
    f = cdf(x)
    i = np.arange(1, len(x) + 1)
    return max(np.max(i / len(x) - f), np.max(f - (i - 1) / len(x)))


def test_uniform_moments_and_range():
    u = R.uniform(R.key(10), (N,))
    assert u.dtype == np.float32 and u.min() >= 0.0 and u.max() < 1.0
    # mean: sd sqrt(1/12 / N) = 9.1e-4; variance: sd sqrt((1/80 - 1/144) / N) = 2.4e-4.
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / N)
    assert abs(u.var() - 1 / 12) < 5 * math.sqrt((1 / 80 - 1 / 144) / N)
    # Kolmogorov-Smirnov: 1.95 / sqrt(N) is the 0.1% critical value.
    assert _ks_distance(u, lambda x: x) < 1.95 / math.sqrt(N)
    # All 24 bits are used: many distinct values, all multiples of 2**-24.
    assert len(np.unique(u)) > 0.99 * N
    assert np.all((u.astype(np.float64) * 2**24) % 1 == 0)


def test_uniform_bounds():
    u = R.uniform(R.key(11), (N,), np.float64, minval=-2.0, maxval=3.0)
    assert u.dtype == np.float64 and u.min() >= -2.0 and u.max() < 3.0
    assert abs(u.mean() - 0.5) < 5 * 5 * math.sqrt(1 / 12 / N)
    lo = np.array([0.0, 10.0], np.float32)
    v = R.uniform(R.key(12), (1000, 2), minval=lo, maxval=lo + 1)
    assert v.dtype == np.float32 and np.all((v >= lo) & (v < lo + 1))
    with pytest.raises(ShapeError, match=r"broadcast the result to shape \(3, 2\)"):
        R.uniform(R.key(0), (2,), minval=np.zeros((3, 1)))


def _fake_bits(values):
    """A stand-in for random_bits that returns ``values`` tiled over the counters."""

    def fake(key, counts, dtype=U32):
        n = np.asarray(counts).size
        return np.resize(np.asarray(values, dtype), n).reshape(np.shape(counts))

    return fake


def test_extreme_bits_give_finite_normals_and_uniforms_below_maxval(monkeypatch):
    top32, top64 = 1 - 2.0**-24, 1 - 2.0**-53
    monkeypatch.setattr(P, "random_bits", _fake_bits([0.0, top32, top32, 0.0]))
    z = R.normal(R.key(0), (4,))
    assert np.all(np.isfinite(z)) and np.abs(z).max() <= 5.8
    u = R.uniform(R.key(0), (4,), minval=1.0, maxval=2.0)  # 1 + top32 rounds to 2.0
    assert u.max() < 2.0 and u.dtype == np.float32
    monkeypatch.setattr(P, "random_bits", _fake_bits([0.0, top64]))
    z = R.normal(R.key(0), (2,), np.float64)
    assert np.all(np.isfinite(z)) and np.abs(z).max() <= 8.6


def test_normal_moments_and_shape():
    z = R.normal(R.key(20), (N,))
    assert z.dtype == np.float32 and np.all(np.isfinite(z))
    # mean: sd 1/sqrt(N) = 3.2e-3; variance: sd sqrt(2/N) = 4.5e-3.
    assert abs(z.mean()) < 5 / math.sqrt(N)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / N)
    erf = np.vectorize(math.erf)
    assert _ks_distance(z[:20000], lambda x: 0.5 * (1 + erf(x / math.sqrt(2)))) < 1.95 / math.sqrt(
        20000
    )
    z64 = R.normal(R.key(21), (3, 5, 7), np.float64)
    assert z64.shape == (3, 5, 7) and z64.dtype == np.float64
    assert R.normal(R.key(0), (0, 4)).shape == (0, 4)
    assert R.normal(R.key(0)).shape == ()


@pytest.mark.parametrize("draw", [R.uniform, R.normal])
def test_float_dtypes_only(draw):
    assert draw(R.key(0), (2,)).dtype == np.float32
    assert draw(R.key(0), 2, dtype=np.float64).dtype == np.float64
    with pytest.raises(DtypeError, match="dtype must be float32 or float64, got int32"):
        draw(R.key(0), (2,), dtype=np.int32)
    with pytest.raises(ShapeError, match="negative dimension"):
        draw(R.key(0), (2, -1))


def test_bernoulli_frequency():
    b = R.bernoulli(R.key(30), 0.3, (N,))
    assert b.dtype == np.bool_ and b.shape == (N,)
    assert abs(b.mean() - 0.3) < 5 * math.sqrt(0.3 * 0.7 / N)
    assert not R.bernoulli(R.key(31), 0.0, (1000,)).any()
    assert R.bernoulli(R.key(31), 1.0, (1000,)).all()
    p = np.array([0.0, 0.5, 1.0])
    rows = R.bernoulli(R.key(32), p, (2000, 3))
    assert not rows[:, 0].any() and rows[:, 2].all() and abs(rows[:, 1].mean() - 0.5) < 0.06
    assert R.bernoulli(R.key(33), p).shape == (3,)  # shape defaults to p's


def test_randint_range_and_uniformity():
    r = R.randint(R.key(40), (N,), -3, 7)
    assert r.dtype == np.int32 and r.min() == -3 and r.max() == 6
    counts = np.bincount(r + 3, minlength=10)
    # Each count is Binomial(N, 0.1): sd sqrt(N * 0.09) = 95.
    assert np.all(np.abs(counts - N / 10) < 5 * math.sqrt(N * 0.09))
    r64 = R.randint(R.key(41), (4, 5), 2**40, 2**40 + 3, dtype=np.int64)
    assert r64.dtype == np.int64 and set(np.unique(r64)) <= {2**40, 2**40 + 1, 2**40 + 2}
    hi = np.array([1, 2, 1000])
    per_column = R.randint(R.key(42), (500, 3), 0, hi)
    assert np.all(per_column < hi) and per_column[:, 0].max() == 0 and per_column[:, 1].max() == 1


def test_randint_errors():
    with pytest.raises(ValueError, match=r"empty range \[3, 3\)"):
        R.randint(R.key(0), (2,), 3, 3)
    with pytest.raises(ValueError, match="do not fit int8"):
        R.randint(R.key(0), (2,), 0, 1000, dtype=np.int8)
    with pytest.raises(ValueError, match="exceeds 2\\*\\*32"):
        R.randint(R.key(0), (2,), 0, 2**33, dtype=np.int64)
    with pytest.raises(DtypeError, match="must be an integer type"):
        R.randint(R.key(0), (2,), 0, 3, dtype=np.float32)
    with pytest.raises(DtypeError, match="bounds must be integers"):
        R.randint(R.key(0), (2,), 0.5, 3)


def test_permutation():
    p = R.permutation(R.key(50), 100)
    assert sorted(p.tolist()) == list(range(100)) and not np.array_equal(p, np.arange(100))
    assert not np.array_equal(p, R.permutation(R.key(51), 100))
    x = np.arange(30.0).reshape(10, 3)
    y = R.permutation(R.key(52), x)
    assert y.shape == x.shape and sorted(map(tuple, y.tolist())) == list(map(tuple, x.tolist()))
    assert R.permutation(R.key(0), 0).shape == (0,)
    with pytest.raises(ShapeError, match="cannot shuffle a 0-d array"):
        R.permutation(R.key(0), np.float64(2.0))


def test_permutation_position_frequencies():
    # Where item 0 lands over 4000 permutations of 4: each slot has probability 1/4.
    keys = R.split(R.key(53), 4000)
    slots = np.bincount([int(np.argmax(R.permutation(k, 4) == 0)) for k in keys], minlength=4)
    assert np.all(np.abs(slots - 1000) < 5 * math.sqrt(4000 * 0.25 * 0.75))


def test_choice_without_replacement_has_no_repeats():
    c = R.choice(R.key(60), 20, (20,), replace=False)
    assert sorted(c.tolist()) == list(range(20))
    c = R.choice(R.key(61), 1000, (10, 10), replace=False)
    assert c.shape == (10, 10) and len(np.unique(c)) == 100
    rows = R.choice(R.key(62), np.arange(12.0).reshape(6, 2), (3,), replace=False)
    assert rows.shape == (3, 2) and len({tuple(r) for r in rows.tolist()}) == 3
    with pytest.raises(ValueError, match="cannot take 6 samples without replacement from 5"):
        R.choice(R.key(0), 5, (6,), replace=False)


def test_choice_with_p_respects_zeros_and_frequencies():
    p = np.array([0.0, 0.2, 0.0, 0.8, 0.0])
    c = R.choice(R.key(70), 5, (20000,), p=p)
    assert set(np.unique(c).tolist()) == {1, 3}
    assert abs(np.mean(c == 3) - 0.8) < 5 * math.sqrt(0.16 / 20000)
    # Unnormalized weights are normalized.
    np.testing.assert_array_equal(R.choice(R.key(70), 5, (20000,), p=p * 7), c)
    w = R.choice(R.key(71), 5, (2,), replace=False, p=p)
    assert sorted(w.tolist()) == [1, 3]
    firsts = [int(R.choice(k, 5, (1,), replace=False, p=p)[0]) for k in R.split(R.key(72), 2000)]
    assert abs(np.mean(np.array(firsts) == 3) - 0.8) < 5 * math.sqrt(0.16 / 2000)
    with pytest.raises(ValueError, match="from 2 items of non-zero probability"):
        R.choice(R.key(0), 5, (3,), replace=False, p=p)
    with pytest.raises(ValueError, match="p must be 5 finite non-negative numbers"):
        R.choice(R.key(0), 5, p=np.array([1.0, -1.0, 0.0, 0.0, 1.0]))


def test_choice_uniform_with_replacement():
    c = R.choice(R.key(80), np.array([10, 20, 30]), (N,))
    counts = np.array([np.sum(c == v) for v in (10, 20, 30)])
    assert counts.sum() == N and np.all(np.abs(counts - N / 3) < 5 * math.sqrt(N * 2 / 9))
    assert R.choice(R.key(81), 4).shape == ()


# ---------------------------------------------------------------- under jit


JITTABLE = {
    "normal": lambda k: R.normal(k, (3,)),
    "normal64": lambda k: R.normal(k, (2, 3), np.float64),
    "uniform": lambda k: R.uniform(k, (5,), minval=-1.0, maxval=2.0),
    "split": lambda k: R.split(k, 3),
    "fold_in": lambda k: R.fold_in(k, 9),
    "bernoulli": lambda k: R.bernoulli(k, 0.4, (6,)),
    "randint": lambda k: R.randint(k, (7,), -2, 9),
    "choice": lambda k: R.choice(k, np.arange(5.0), (4,)),
    "choice_without_replacement": lambda k: R.choice(k, 10, (2, 3), replace=False),
    "permutation": lambda k: R.permutation(k, 9),
    "permutation_rows": lambda k: R.permutation(k, np.arange(12.0).reshape(4, 3)),
    "split_then_draw": lambda k: R.uniform(R.split(k)[1], (2,)),
}


@pytest.mark.parametrize("name", sorted(JITTABLE))
def test_jit_with_a_traced_key_matches_eager(name):
    f = JITTABLE[name]
    for k in (R.key(0), R.key(123)):
        eager, jitted = f(k), fg.jit(f)(k)
        assert type(jitted) is np.ndarray and jitted.dtype == eager.dtype
        if name.startswith("normal"):  # log/cos/sin: the executor's libm may differ in 1 ulp
            np.testing.assert_array_max_ulp(jitted, eager, maxulp=4)
        else:
            np.testing.assert_array_equal(jitted, eager)


def test_jit_with_traced_fold_in_data_and_bounds():
    k = R.key(5)
    folded = fg.jit(lambda k, d: R.fold_in(k, d))(k, np.int32(-4))
    np.testing.assert_array_equal(folded, R.fold_in(k, -4))
    ints = fg.jit(lambda k, lo, hi: R.randint(k, (50,), lo, hi))(k, np.int32(3), np.int32(8))
    np.testing.assert_array_equal(ints, R.randint(k, (50,), 3, 8))
    p = np.float32(0.25)
    np.testing.assert_array_equal(
        fg.jit(lambda k, p: R.bernoulli(k, p, (9,)))(k, p), R.bernoulli(k, p, (9,))
    )


def test_jit_traces_once_per_shape():
    f = fg.jit(lambda k: R.normal(k, (3,)))
    a, b = f(R.key(0)), f(R.key(1))
    assert not np.array_equal(a, b) and f.cache_info().misses == 1


def test_permutation_of_a_traced_array_with_a_concrete_key():
    x = np.arange(6.0)
    k = R.key(9)
    out = fg.jit(lambda x: R.permutation(k, x))(x)
    np.testing.assert_array_equal(out, R.permutation(k, x))
