"""fg.data: minibatches, train/test splits and standardization."""

import sys
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
from funcgrad.data import batches, standardize, train_test_split

X = np.arange(20.0).reshape(10, 2)
Y = np.arange(10)


def test_unshuffled_batches_keep_the_order_and_end_with_the_rest():
    out = list(batches((X, Y), 4, shuffle=False))
    assert [len(yb) for _, yb in out] == [4, 4, 2]
    for i, (xb, yb) in enumerate(out):
        np.testing.assert_array_equal(yb, Y[4 * i : 4 * i + 4])
        np.testing.assert_array_equal(xb, X[4 * i : 4 * i + 4])
    assert [len(yb) for _, yb in batches([X, Y], 4, shuffle=False, drop_last=True)] == [4, 4]


def test_shuffled_batches_follow_the_keys_permutation_and_keep_rows_aligned():
    key = fg.random.key(3)
    out = list(batches((X, Y), 3, key=key))
    order = np.concatenate([yb for _, yb in out])
    np.testing.assert_array_equal(order, fg.random.permutation(key, 10))
    for xb, yb in out:
        np.testing.assert_array_equal(xb, X[yb])  # the same rows of x and y travel together
    again = np.concatenate([yb for _, yb in batches((X, Y), 3, key=key)])
    other = np.concatenate([yb for _, yb in batches((X, Y), 3, key=fg.random.key(4))])
    np.testing.assert_array_equal(order, again)
    assert not np.array_equal(order, other)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 30), st.integers(1, 12), st.booleans(), st.booleans())
def test_batches_cover_the_rows_once(n, batch_size, shuffle, drop_last):
    y = np.arange(n)
    out = [
        yb
        for (yb,) in batches(
            (y,), batch_size, key=fg.random.key(n), shuffle=shuffle, drop_last=drop_last
        )
    ]
    full, rest = divmod(n, batch_size)
    assert len(out) == full + (rest > 0 and not drop_last)
    assert all(len(b) == batch_size for b in out[:full])
    seen = np.concatenate(out) if out else np.zeros(0, int)
    if drop_last:
        assert len(seen) == full * batch_size and len(set(seen.tolist())) == len(seen)
    else:
        np.testing.assert_array_equal(np.sort(seen), y)
    if not shuffle:
        np.testing.assert_array_equal(seen, y[: len(seen)])


def test_batches_errors_are_raised_at_the_call_and_are_clear():
    with pytest.raises(fg.ShapeError, match=r"lengths \[10, 9\]"):
        batches((X, Y[:9]), 2, shuffle=False)
    with pytest.raises(ValueError, match="shuffle=True needs a key"):
        batches((X, Y), 2)
    with pytest.raises(TypeError, match=r"tuple or list.*\(x,\)"):
        batches(X, 2, shuffle=False)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        batches((X,), 0, shuffle=False)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        batches((X,), 2.0, shuffle=False)
    with pytest.raises(fg.ShapeError, match="0-d"):
        batches((np.float32(1.0),), 1, shuffle=False)


def test_progress_uses_tqdm_when_installed(monkeypatch):
    calls = []

    def fake_tqdm(iterable, total, **kwargs):
        calls.append(total)
        return iterable

    module = types.ModuleType("tqdm.auto")
    module.tqdm = fake_tqdm
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", module)
    out = list(batches((Y,), 4, shuffle=False, progress=True))
    assert calls == [3] and len(out) == 3


def test_progress_without_tqdm_is_silently_plain(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `import tqdm` raise ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    out = list(batches((Y,), 4, shuffle=False, progress=True))
    assert [len(b) for (b,) in out] == [4, 4, 2]
    assert capsys.readouterr() == ("", "")


def test_train_test_split_sizes_and_disjoint_aligned_parts():
    x_tr, x_te, y_tr, y_te = train_test_split(X, Y, test_size=0.25, key=fg.random.key(0))
    assert (len(y_tr), len(y_te)) == (7, 3)  # ceil(0.25 * 10) test rows, as scikit-learn
    np.testing.assert_array_equal(np.sort(np.concatenate([y_tr, y_te])), Y)
    np.testing.assert_array_equal(x_tr, X[y_tr])
    np.testing.assert_array_equal(x_te, X[y_te])
    (y_tr2, y_te2) = train_test_split(Y, test_size=4, key=fg.random.key(0))
    assert (len(y_tr2), len(y_te2)) == (6, 4)
    same = train_test_split(Y, test_size=4, key=fg.random.key(0))
    np.testing.assert_array_equal(same[1], y_te2)


@pytest.mark.parametrize("test_size", [0, 10, 0.0, 1.0, 1.5, -0.2])
def test_train_test_split_refuses_empty_parts(test_size):
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(X, Y, test_size=test_size, key=fg.random.key(0))


def test_train_test_split_argument_errors():
    with pytest.raises(TypeError, match="test_size"):
        train_test_split(X, test_size=True, key=fg.random.key(0))
    with pytest.raises(fg.ShapeError, match=r"\[10, 3\]"):
        train_test_split(X, Y[:3], test_size=1, key=fg.random.key(0))
    with pytest.raises(ValueError, match="at least one array"):
        train_test_split(test_size=1, key=fg.random.key(0))


def test_standardize_hand_computed():
    x = np.array([[1.0, 10.0, 7.0], [3.0, 20.0, 7.0], [5.0, 60.0, 7.0]])
    z, mean, std = standardize(x)
    np.testing.assert_allclose(mean, [[3.0, 30.0, 7.0]])
    np.testing.assert_allclose(std, [[np.sqrt(8 / 3), np.sqrt(1400 / 3), 1.0]])  # constant: 1
    np.testing.assert_allclose(z[:, 0], np.array([-2.0, 0.0, 2.0]) / np.sqrt(8 / 3))
    np.testing.assert_array_equal(z[:, 2], 0.0)
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z[:, :2].std(0), 1.0)
    np.testing.assert_allclose(
        (np.array([[5.0, 30.0, 8.0]]) - mean) / std, [[2 / np.sqrt(8 / 3), 0.0, 1.0]]
    )


def test_standardize_dtypes_and_axes():
    x32 = np.arange(12, dtype=np.float32).reshape(3, 4)
    z, mean, std = standardize(x32, axis=1)
    assert z.dtype == mean.dtype == std.dtype == np.float32
    assert mean.shape == std.shape == (3, 1)
    np.testing.assert_allclose(z.mean(1), 0.0, atol=1e-6)
    z, mean, std = standardize(np.array([0, 255, 255, 0], np.uint8), axis=None)
    assert z.dtype == np.float32 and mean.shape == (1,)
    np.testing.assert_allclose(z, [-1.0, 1.0, 1.0, -1.0])
