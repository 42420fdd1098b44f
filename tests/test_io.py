"""fg.io: checkpoints round-trip exactly, are written atomically, and load safely."""

import collections
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest
import subprocesses
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad as fg
from funcgrad.io import CheckpointError, _temp_prefix, load, save

State = collections.namedtuple("State", ["count", "mu", "nu"])


def assert_same(a, b):
    """Equal trees: the same node types, leaf types, dtypes, shapes and values (nan == nan)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b or (a != a and b != b)


def mixed_tree():
    return {
        "f16": np.array([1.5, -0.0, np.inf], np.float16),
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "f64": np.array([np.nan, 1e-300]),
        "ints": [
            np.array([-128, 127], np.int8),
            np.array([2**31 - 1], np.int32),
            np.array([-(2**63)], np.int64),
            np.array([255], np.uint8),
        ],
        "bool": np.array([[True, False]]),
        "scalar0d": np.array(3.25, np.float32),
        "empty": np.zeros((0, 4), np.int32),
        "complex": np.array([1 + 2j], np.complex64),
        "big_endian": np.array([1.0, 2.0], ">f8"),
        "strided": np.arange(10.0)[::3],
        "np_scalars": (np.float32(0.5), np.int64(-7), np.bool_(True)),
        "py": [1, 2.5, True, False, 3 - 1j, 2**62],
        "none": None,
        7: "int keys" and np.zeros(1),
        "nested": ((), [], {}, [None, (None,)]),
        "state": State(np.int32(3), {"w": np.ones(2)}, [np.zeros(1)]),
        "ordered": collections.OrderedDict([("z", np.ones(1)), ("a", np.zeros(1))]),
    }


def test_round_trip_keeps_structure_dtypes_shapes_and_leaf_types(tmp_path):
    path = tmp_path / "ckpt.npz"
    tree = mixed_tree()
    save(path, tree)
    out = load(path)
    state = out.pop("state")
    expected = mixed_tree()
    expected_state = expected.pop("state")
    assert_same(out, expected)
    # Without `like`, a namedtuple comes back as a namedtuple of the same name and fields.
    assert type(state).__name__ == "State" and state._fields == State._fields
    assert_same(tuple(state), tuple(expected_state))
    assert type(load(path)["state"]) is type(state)  # one class per (name, fields)
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]


def test_like_restores_the_original_namedtuple_classes(tmp_path):
    path = tmp_path / "opt.npz"
    tree = mixed_tree()
    save(path, tree)
    out = load(path, like=mixed_tree())
    assert_same(out, mixed_tree())
    assert type(out["state"]) is State


def test_like_that_does_not_fit_names_the_path(tmp_path):
    path = tmp_path / "p.npz"
    save(path, {"layers": [{"w": np.ones(2)}, {"w": np.ones(3)}], "state": State(1, 2, 3)})
    with pytest.raises(CheckpointError, match=r"\['layers'\]\[1\].*dict keys"):
        load(path, like={"layers": [{"w": 0}, {"b": 0}], "state": State(1, 2, 3)})
    with pytest.raises(CheckpointError, match=r"\['layers'\].*length 2 vs 3"):
        load(path, like={"layers": [{"w": 0}] * 3, "state": State(1, 2, 3)})
    Other = collections.namedtuple("Other", ["a", "b", "c"])
    with pytest.raises(CheckpointError, match=r"\['state'\].*fields"):
        load(path, like={"layers": [{"w": 0}, {"w": 0}], "state": Other(1, 2, 3)})
    with pytest.raises(CheckpointError, match=r"\['state'\].*like has a leaf"):
        load(path, like={"layers": [{"w": 0}, {"w": 0}], "state": 0})


def _trees():
    leaf = hnp.arrays(
        dtype=st.sampled_from(
            [np.float16, np.float32, np.float64, np.int8, np.int32, np.int64, np.uint8, np.bool_]
        ),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
    )
    return st.recursive(
        leaf | st.none() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=True),
        lambda kids: (
            st.lists(kids, max_size=3)
            | st.lists(kids, max_size=3).map(tuple)
            | st.dictionaries(st.text(max_size=5) | st.integers(-5, 5), kids, max_size=3)
        ),
        max_leaves=8,
    )


@settings(max_examples=60, deadline=None)
@given(_trees())
def test_round_trip_of_random_trees(tmp_path_factory, tree):
    path = tmp_path_factory.mktemp("rt") / "t.npz"
    save(path, tree)
    assert_same(load(path), tree)
    assert fg.tree.structure(load(path)) == fg.tree.structure(tree)


@pytest.mark.parametrize(
    "bad, what",
    [
        ({"a": "a string"}, r"str at \['a'\]"),
        ([np.array([object()])], r"dtype object \(at \[0\]\)"),
        ({(1, 2): np.ones(1)}, "dict keys must be str or int"),
        ({"x": [2**64]}, r"int at \['x'\]\[0\] does not fit"),
        ({"f": lambda: 0}, "cannot save a function"),
    ],
)
def test_unsavable_trees_are_refused_before_writing(tmp_path, bad, what):
    with pytest.raises(TypeError, match=what):
        save(tmp_path / "x.npz", bad)
    assert os.listdir(tmp_path) == []


def _saved(tmp_path, tree=None):
    path = tmp_path / "ckpt.npz"
    save(
        path,
        {"w": np.arange(16, dtype=np.float32), "b": [np.int8(1), 2.0]} if tree is None else tree,
    )
    return path


def test_every_truncation_is_a_checkpoint_error(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    for n in range(len(data)):
        cut = tmp_path / f"cut{n}.npz"  # new files: rewriting one in place is slow on ext4
        cut.write_bytes(data[:n])
        with pytest.raises(CheckpointError, match=r"cut\d+\.npz"):
            load(cut)


def test_a_flipped_byte_is_detected_or_harmless(tmp_path):
    path = _saved(tmp_path)
    original = load(path)
    data = path.read_bytes()
    start = data.index(np.arange(16, dtype=np.float32).tobytes())
    detected = 0
    for i in range(len(data)):
        altered = bytearray(data)
        altered[i] ^= 0xFF
        flipped = tmp_path / f"flipped{i}.npz"
        flipped.write_bytes(bytes(altered))
        try:
            out = load(flipped)
        except CheckpointError:
            detected += 1
            continue
        assert_same(out, original)  # only bytes that do not matter (timestamps, ...)
        assert not start <= i < start + 64, f"a flip in the data at {i} went unnoticed"
    assert detected > len(data) // 2


def _rewrite(path, drop=(), replace=None):
    """The .npz at ``path`` with entries dropped or replaced (``name -> bytes``)."""
    replace = replace or {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buffer, "w") as dst:
        for name in src.namelist():
            if name[:-4] in drop:
                continue
            dst.writestr(name, replace.get(name[:-4], src.read(name)))
    path.write_bytes(buffer.getvalue())


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _meta(path):
    with np.load(path) as archive:
        return json.loads(archive["__funcgrad__"].tobytes())


def _with_meta(path, meta):
    _rewrite(
        path, replace={"__funcgrad__": _npy(np.frombuffer(json.dumps(meta).encode(), np.uint8))}
    )


class Boom:
    """Unpickling this would create the marker file: it must never happen."""

    marker = None

    def __reduce__(self):
        return (open, (Boom.marker, "w"))


def test_pickled_entries_are_rejected_without_running_them(tmp_path):
    Boom.marker = str(tmp_path / "pwned")
    path = _saved(tmp_path)
    _rewrite(path, replace={"leaf_0": _npy(np.array([Boom()], dtype=object))})
    with pytest.raises(CheckpointError, match="ckpt.npz"):
        load(path)
    plain = tmp_path / "plain.npz"
    np.savez(plain, __funcgrad__=np.array([Boom()], dtype=object))
    with pytest.raises(CheckpointError):
        load(plain)
    assert not os.path.exists(Boom.marker)


def test_foreign_files_are_rejected(tmp_path):
    npz = tmp_path / "foreign.npz"
    np.savez(npz, weights=np.ones(3))
    with pytest.raises(CheckpointError, match="foreign.npz.*no '__funcgrad__' entry"):
        load(npz)
    npy = tmp_path / "a.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(CheckpointError, match="not an .npz"):
        load(npy)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not an .npz"):
        load(text)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


def test_missing_entries_are_named(tmp_path):
    path = _saved(tmp_path)
    _rewrite(path, drop=["leaf_1"])
    with pytest.raises(CheckpointError, match="leaf_1"):
        load(path)
    path = _saved(tmp_path)
    _rewrite(path, drop=["__funcgrad__"])
    with pytest.raises(CheckpointError, match="no '__funcgrad__' entry"):
        load(path)


def test_tampered_descriptions_are_rejected(tmp_path):
    cases = [
        (lambda m: m["leaves"][0].update(dtype="<f8"), "description says <f8"),
        (lambda m: m["leaves"][0].update(shape=[4, 4]), r"description says <f4\[4, 4\]"),
        (lambda m: m["leaves"][0].update(sha256="0" * 64), "SHA-256"),
        (lambda m: m.update(version=99), "version 99"),
        (lambda m: m.update(format="other"), "format tag"),
        (lambda m: m["tree"]["c"][0].update(i=7), "out of range"),
        (lambda m: m["tree"]["c"][0].update(t="module"), "unknown tree node type 'module'"),
        (
            lambda m: m["tree"].update(t="namedtuple", name="os.system", fields=["w", "b"]),
            "malformed namedtuple",
        ),
        (lambda m: m["tree"]["c"][1]["c"].append({"t": "leaf", "i": 0}), "repeated leaf"),
        (lambda m: (m["tree"]["c"].pop(), m["tree"]["k"].pop()), "not in the tree"),
        (lambda m: m["leaves"][2].update(py="eval"), "Python scalar tag"),
    ]
    for tamper, message in cases:
        path = _saved(tmp_path)
        meta = _meta(path)
        tamper(meta)
        _with_meta(path, meta)
        with pytest.raises(CheckpointError, match=message):
            load(path)
    path = _saved(tmp_path)
    _rewrite(path, replace={"__funcgrad__": _npy(np.frombuffer(b"{not json", np.uint8))})
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load(path)


def test_an_exception_mid_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = _saved(tmp_path, {"v": np.zeros(3)})

    def failing_savez(f, **arrays):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        save(path, {"v": np.ones(3)})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    np.testing.assert_array_equal(load(path)["v"], np.zeros(3))


def test_an_interrupt_mid_write_leaves_no_temp(tmp_path, monkeypatch):
    def interrupted(f, **arrays):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(tmp_path / "new.npz", {"v": np.ones(3)})
    assert os.listdir(tmp_path) == []


def test_a_read_only_directory_leaves_no_temp(tmp_path, monkeypatch):
    path = _saved(tmp_path, {"v": np.zeros(3)})

    def refused(src, dst):  # what renaming into a read-only directory does
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(PermissionError):
        save(path, {"v": np.ones(3)})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    np.testing.assert_array_equal(load(path)["v"], np.zeros(3))

    def no_create(*args, **kwargs):  # and creating the temporary file there
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", no_create)
    with pytest.raises(PermissionError):
        save(tmp_path / "other.npz", {"v": np.ones(3)})
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_saved_files_get_the_usual_permissions(tmp_path):
    path = _saved(tmp_path)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_save_overwrites_and_load_accepts_str_paths(tmp_path):
    path = str(tmp_path / "ckpt")  # no suffix is added
    save(path, [np.ones(1)])
    save(path, [np.zeros(2)])
    assert os.listdir(tmp_path) == ["ckpt"]
    assert_same(load(path), [np.zeros(2)])


def test_a_save_into_a_missing_directory_names_the_path(tmp_path):
    path = tmp_path / "missing" / "ckpt.npz"
    with pytest.raises(FileNotFoundError) as info:
        save(path, {"v": np.ones(3)})
    assert info.value.filename == str(path) and str(path) in str(info.value)
    assert ".tmp" not in str(info.value)  # not the hidden temporary's name
    assert os.listdir(tmp_path) == []


def test_the_longest_legal_file_name_can_be_saved(tmp_path):
    longest = min(255, os.pathconf(tmp_path, "PC_NAME_MAX"))
    for length in (250, longest):
        name = "c" * (length - 4) + ".npz"
        save(tmp_path / name, [np.arange(3)])
        assert_same(load(tmp_path / name), [np.arange(3)])
        os.remove(tmp_path / name)
    assert os.listdir(tmp_path) == []


_STALLED_SAVE = r"""
import sys, time
import numpy as np
from funcgrad.io import save

def stalled(f, **arrays):  # writes part of a checkpoint, then waits to be killed
    f.write(b"PK\x03\x04" + bytes(1 << 16))
    f.flush()
    print("writing", flush=True)
    time.sleep(60)

np.savez = stalled
save(sys.argv[1], {"v": np.ones(3)})
"""


def test_the_temp_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    path = _saved(tmp_path, {"v": np.zeros(3)})
    child = subprocess.Popen(
        [sys.executable, "-c", _STALLED_SAVE, str(path)],
        stdout=subprocess.PIPE,
        env=subprocesses.env(),
        cwd=subprocesses.CWD,
    )
    try:
        assert child.stdout.readline() == b"writing\n"
    finally:
        child.send_signal(signal.SIGKILL)  # no finally clause or atexit hook runs
        child.wait()
        child.stdout.close()
    assert len(os.listdir(tmp_path)) == 2  # the old checkpoint, intact, and the temp
    np.testing.assert_array_equal(load(path)["v"], np.zeros(3))
    save(path, {"v": np.ones(3)})
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    np.testing.assert_array_equal(load(path)["v"], np.ones(3))


def test_only_temps_of_dead_writers_to_the_same_target_are_removed(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    with monkeypatch.context() as m:  # a host sharing the directory: its pids mean nothing here
        m.setattr(socket, "gethostname", lambda: "another-host")
        elsewhere = _temp_prefix(str(path))
    prefix = _temp_prefix(str(path))
    dead = 2**22 + 1  # above the largest pid Linux (and macOS) hands out
    stale = f"{prefix}{dead}-abc.tmp"
    kept = [
        f"{prefix}{os.getpid()}-abc.tmp",  # this process may be saving in another thread
        f"{prefix}{os.getppid()}-abc.tmp",  # a live concurrent writer
        f"{_temp_prefix(str(tmp_path / 'other.npz'))}{dead}-abc.tmp",  # another target's
        f"{elsewhere}{dead}-abc.tmp",
        f"{prefix}{dead}-abc.part",
        "notes.txt",
    ]
    for name in [stale, *kept]:
        (tmp_path / name).write_bytes(b"partial")
    save(path, {"v": np.ones(3)})
    assert sorted(os.listdir(tmp_path)) == sorted([*kept, "ckpt.npz"])


def _npy_header(shape):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "|u1", "fortran_order": False, "shape": tuple(shape)}
    )
    return buffer.getvalue()


def _hostile(path, n, pieces, compression=zipfile.ZIP_STORED, meta_n=None):
    """A checkpoint whose one uint8 leaf is described as ``n`` elements and stored as the
    bytes ``pieces``; ``meta_n`` makes the description's own .npy header promise that many."""
    leaf = {"dtype": "|u1", "shape": [n], "sha256": "0" * 64, "py": None, "scalar": False}
    meta = {"format": "funcgrad.io", "version": 1, "tree": {"t": "leaf", "i": 0}}
    raw = json.dumps({**meta, "leaves": [leaf]}).encode()
    with zipfile.ZipFile(path, "w") as archive:
        if meta_n is None:
            archive.writestr("__funcgrad__.npy", _npy(np.frombuffer(raw, np.uint8)))
        else:
            archive.writestr("__funcgrad__.npy", _npy_header([meta_n]) + raw)
        entry = zipfile.ZipInfo("leaf_0.npy")
        entry.compress_type = compression
        with archive.open(entry, "w") as f:
            for piece in pieces:
                f.write(piece)


def _bomb(path):
    """A deflated leaf entry of 32 KiB that inflates to 32 MiB of zeros."""
    n = 32 << 20
    _hostile(path, n, [_npy_header([n])] + [bytes(1 << 20)] * 32, zipfile.ZIP_DEFLATED)


def _lying_sizes(path):
    """A leaf entry whose zip record claims 2 GB (its header and description agree) in a
    tiny file."""
    size = 2 * 10**9
    n = size - len(_npy_header([size]))
    _hostile(path, n, [_npy_header([n]), bytes(16)])
    data = bytearray(path.read_bytes())
    record = data.rindex(b"PK\x01\x02")  # the central directory record of leaf_0.npy
    struct.pack_into("<II", data, record + 20, size, size)  # compressed and full size
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda p: _hostile(p, 10**12, [_npy_header([10**12]), bytes(16)]),
            r"'leaf_0' declares 1000000000000 bytes of data .* but holds 16",
        ),
        (
            lambda p: _hostile(p, 3, [_npy_header([3]), bytes(3)], meta_n=10**12),
            r"'__funcgrad__' declares 1000000000000 bytes of data .* but holds",
        ),
        (_lying_sizes, r"entries declare 2000000\d+ bytes, more than the file's \d+"),
        (_bomb, r"entry 'leaf_0' is compressed"),
    ],
)
def test_hostile_sizes_are_refused_before_allocating(tmp_path, make, message):
    path = tmp_path / "hostile.npz"
    make(path)
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"hostile\.npz: .*" + message):
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{peak} bytes allocated to refuse a {path.stat().st_size}-byte file"
