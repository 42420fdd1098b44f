"""fg.datasets: synthetic sets, scikit-learn's digits, and MNIST from IDX/npz files or a
download from a local HTTP server (nothing here reaches the internet)."""

import functools
import gzip
import hashlib
import http.server
import io
import os
import socket
import struct
import sys
import threading
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import funcgrad as fg
from funcgrad import datasets
from funcgrad.datasets import DatasetError, DatasetNotFoundError, mnist, read_idx

NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def closed_port_url():
    """A loopback URL where nothing listens: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No test may fall back to the real mirrors or the user's own cache."""
    monkeypatch.setenv("FUNCGRAD_MNIST_MIRRORS", closed_port_url())
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FUNCGRAD_DATA", raising=False)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")


# ---------------------------------------------------------------- synthetic


def test_xor():
    x, y = datasets.xor()
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y, np.logical_xor(x[:, 0], x[:, 1]))


def test_moons_without_noise_lie_on_their_circles():
    x, y = datasets.moons(101, 0.0, fg.random.key(0))
    assert x.shape == (101, 2) and x.dtype == np.float32 and y.dtype == np.int64
    assert (y == 0).sum() == 50 and (y == 1).sum() == 51
    upper, lower = x[y == 0].astype(np.float64), x[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0, atol=1e-6)
    assert (upper[:, 1] >= -1e-6).all()
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, atol=1e-6)
    assert (lower[:, 1] <= 0.5 + 1e-6).all()
    assert not (np.diff(y) >= 0).all()  # shuffled, not sorted by class


def test_moons_follow_the_key_and_the_noise():
    a = datasets.moons(200, 0.2, fg.random.key(1))
    b = datasets.moons(200, 0.2, fg.random.key(1))
    c = datasets.moons(200, 0.2, fg.random.key(2))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    x, y = a
    radius = np.hypot(*x[y == 0].T)
    assert 0.1 < np.std(radius - 1) < 0.3  # noise of std 0.2 moves points off the arc
    with pytest.raises(ValueError, match="noise"):
        datasets.moons(10, -1.0, fg.random.key(0))
    with pytest.raises(ValueError, match="n must be"):
        datasets.moons(-1, 0.1, fg.random.key(0))


@pytest.mark.parametrize("kind, blobs", [("two", 2), ("four", 4), ("checkerboard", 16)])
def test_gaussians_blobs_and_labels(kind, blobs):
    n = 160 * blobs
    x, y = datasets.gaussians(n, kind, fg.random.key(0))
    assert x.shape == (n, 2) and x.dtype == np.float32 and y.dtype == np.int64
    assert (y == 0).sum() == (y == 1).sum() == n // 2
    centers, classes, std = datasets._GAUSSIANS[kind]
    nearest = np.argmin(((x[:, None, :] - centers[None]) ** 2).sum(-1), axis=1)
    assert np.mean(classes[nearest] == y) > 0.9  # the labels belong to their blob
    for b in range(blobs):
        members = x[nearest == b]
        np.testing.assert_allclose(members.mean(0), centers[b], atol=4 * std / np.sqrt(150))


def test_gaussians_layouts():
    x, y = datasets.gaussians(400, "four", fg.random.key(1), std=0.1)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(int))  # the XOR layout
    x, y = datasets.gaussians(1600, "checkerboard", fg.random.key(1), std=0.05)
    cell = np.floor(x + 2).astype(int)  # unit cells from -2 to 2
    np.testing.assert_array_equal(y, cell.sum(1) % 2)
    with pytest.raises(ValueError, match=r"one of \['checkerboard', 'four', 'two'\]"):
        datasets.gaussians(10, "three", fg.random.key(0))


def test_linear():
    x, y = datasets.linear(50, 3.0, -1.0, 0.0, fg.random.key(0))
    assert x.shape == y.shape == (50, 1) and x.dtype == y.dtype == np.float32
    assert -1 <= x.min() and x.max() < 1
    np.testing.assert_allclose(y, 3 * x - 1, atol=1e-6)
    x, y = datasets.linear(4000, [1.0, -2.0], 0.5, 0.1, fg.random.key(1))
    assert x.shape == (4000, 2) and y.shape == (4000, 1)
    residual = y[:, 0] - (x @ np.array([1.0, -2.0]) + 0.5)
    assert abs(residual.std() - 0.1) < 0.01 and abs(residual.mean()) < 0.01


def test_digits():
    x, y = datasets.digits()
    assert x.shape == (1797, 8, 8) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert sorted(set(y.tolist())) == list(range(10))


def test_digits_without_scikit_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        datasets.digits()


# ---------------------------------------------------------------- IDX and MNIST files


def idx_bytes(array, code=0x08):
    head = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + array.astype(array.dtype.newbyteorder(">")).tobytes()


def fake_mnist(n_train=6, n_test=3, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_mnist(directory, arrays, gz=(), raw=()):
    """Writes IDX files: the parts in ``gz`` gzipped, the others raw."""
    directory.mkdir(parents=True, exist_ok=True)
    for what, name in NAMES.items():
        data = idx_bytes(arrays[what])
        if what in gz:
            (directory / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (directory / name).write_bytes(data)


def assert_mnist(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for got, what in (
        (x_train, "x_train"),
        (y_train, "y_train"),
        (x_test, "x_test"),
        (y_test, "y_test"),
    ):
        np.testing.assert_array_equal(got, arrays[what])
    assert x_train.dtype == np.uint8 and x_train.shape == arrays["x_train"].shape
    assert y_train.dtype == y_test.dtype == np.int64


@pytest.mark.parametrize("gz", [(), tuple(NAMES), ("x_train", "y_test")])
def test_mnist_reads_raw_and_gzipped_idx_files(tmp_path, gz):
    arrays = fake_mnist()
    write_mnist(tmp_path / "data", arrays, gz=gz)
    assert_mnist(mnist(tmp_path / "data"), arrays)


@pytest.mark.parametrize("fortran", [False, True])
@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_mnist_reads_an_npz(tmp_path, save, fortran):
    arrays = fake_mnist()
    if fortran:
        arrays["x_train"] = np.asfortranarray(arrays["x_train"])
    save(tmp_path / "mnist.npz", **arrays)
    assert_mnist(mnist(str(tmp_path)), arrays)


def test_mnist_data_directory_comes_from_the_environment_then_the_cache(tmp_path, monkeypatch):
    arrays = fake_mnist(seed=1)
    write_mnist(tmp_path / "env", arrays)
    monkeypatch.setenv("FUNCGRAD_DATA", str(tmp_path / "env"))
    assert_mnist(mnist(), arrays)
    monkeypatch.delenv("FUNCGRAD_DATA")
    arrays = fake_mnist(seed=2)
    write_mnist(tmp_path / "home" / ".cache" / "funcgrad", arrays, gz=tuple(NAMES))
    assert_mnist(mnist(), arrays)


def test_offline_without_files_says_where_to_put_them(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        mnist(tmp_path / "empty")
    message = str(info.value)
    assert "could not be downloaded" in message and "refused" in message
    for name in NAMES.values():
        assert os.path.join(str(tmp_path / "empty"), name + ".gz") in message
    assert "mnist.npz" in message and "FUNCGRAD_DATA" in message
    assert isinstance(info.value, FileNotFoundError)
    assert os.listdir(tmp_path / "empty") == []  # the directory exists, and holds no temp
    cache = os.path.join(str(tmp_path / "home"), ".cache", "funcgrad")
    with pytest.raises(DatasetNotFoundError, match=r"(?s)download=False.*" + cache):
        mnist(download=False)


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (
            lambda d: d["y_train"].write_bytes(d["x_train"].read_bytes()),
            r"train-labels-idx1-ubyte: bad magic number 0x00000803, expected 0x00000801",
        ),
        (
            lambda d: d["x_test"].write_bytes(b"\x00\x00\x08\x03\x00\x00"),
            r"t10k-images-idx3-ubyte: truncated IDX header",
        ),
        (
            lambda d: d["x_test"].write_bytes(d["x_test"].read_bytes()[:-1]),
            r"t10k-images-idx3-ubyte: truncated: the header promises 2352 bytes .* holds 2351",
        ),
        (
            lambda d: d["y_test"].write_bytes(d["y_test"].read_bytes() + b"\x00"),
            r"t10k-labels-idx1-ubyte: has trailing bytes",
        ),
        (
            lambda d: d["y_train"].write_bytes(idx_bytes(np.array([1, 2, 3, 4, 5, 10], np.uint8))),
            r"train-labels-idx1-ubyte: label 10 is outside the digits 0-9",
        ),
        (
            lambda d: d["y_test"].write_bytes(idx_bytes(np.array([1, 2], np.uint8))),
            r"t10k-images-idx3-ubyte holds 3 images but .*t10k-labels-idx1-ubyte holds 2 labels",
        ),
        (
            lambda d: d["x_train"].write_bytes(b"PK\x03\x04 not idx at all"),
            r"train-images-idx3-ubyte: bad magic number 0x504b0304",
        ),
        (lambda d: d["x_train"].write_bytes(b"\0\0"), r"too short for an IDX file"),
    ],
)
def test_malformed_idx_files_name_the_file(tmp_path, corrupt, message):
    write_mnist(tmp_path, fake_mnist())
    corrupt({what: tmp_path / name for what, name in NAMES.items()})
    with pytest.raises(DatasetError, match=message):
        mnist(tmp_path)


def test_truncated_and_corrupt_gzip_files(tmp_path):
    write_mnist(tmp_path, fake_mnist(), gz=tuple(NAMES))
    gz = tmp_path / "t10k-images-idx3-ubyte.gz"
    data = gz.read_bytes()
    gz.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte\.gz: corrupt or truncated"):
        mnist(tmp_path)
    gz.write_bytes(data[:-8] + bytes(8))  # a wrong CRC and length
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte\.gz: corrupt"):
        mnist(tmp_path)


def test_corrupt_deflate_data_is_a_dataset_error_naming_the_file(tmp_path):
    write_mnist(tmp_path, fake_mnist(), gz=tuple(NAMES))
    gz = tmp_path / "train-labels-idx1-ubyte.gz"
    data = bytearray(gz.read_bytes())
    data[10] = 0xFF  # the first deflate block header (gzip.compress stores no file name)
    gz.write_bytes(bytes(data))
    with pytest.raises(
        DatasetError, match=r"train-labels-idx1-ubyte\.gz: corrupt .*invalid block type"
    ):
        mnist(tmp_path)


def test_every_flipped_byte_of_a_gzip_file_is_detected_or_harmless(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    data = gzip.compress(idx_bytes(labels), mtime=0)
    for i in range(len(data)):
        altered = bytearray(data)
        altered[i] ^= 0xFF
        path = tmp_path / f"flipped{i}-idx1-ubyte.gz"
        path.write_bytes(bytes(altered))
        try:
            np.testing.assert_array_equal(read_idx(path, ndim=1), labels)
        except DatasetError as e:
            assert f"flipped{i}-idx1-ubyte.gz: " in str(e)


def test_gzip_members_and_padding_are_read_as_gzip_does(tmp_path):
    values = np.arange(-600, 600, dtype=np.int16).reshape(2, 600)
    data = idx_bytes(values, code=0x0B)
    path = tmp_path / "values-idx2-short.gz"
    path.write_bytes(gzip.compress(data[:7]) + bytes(5) + gzip.compress(data[7:]) + bytes(3))
    assert gzip.decompress(path.read_bytes()) == data
    np.testing.assert_array_equal(read_idx(path), values)
    path.write_bytes(gzip.compress(data) + b"junk")
    with pytest.raises(DatasetError, match=r"values-idx2-short\.gz: corrupt"):
        read_idx(path)


def _zeros_gzip(n, members):
    """``n`` MiB of zeros, gzipped: in one member, or in ``n`` members of 1 MiB each."""
    if members:
        return gzip.compress(bytes(1 << 20)) * n
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join(deflate.compress(bytes(1 << 20)) for _ in range(n)) + deflate.flush()


@pytest.mark.parametrize(
    "make, message",
    [
        (  # three labels promised, then 32 MiB more: inflating must stop at the excess
            lambda: gzip.compress(struct.pack(">II", 0x801, 3)) + _zeros_gzip(32, False),
            r"has trailing bytes: the header promises 3 bytes .* holds more",
        ),
        (
            lambda: gzip.compress(struct.pack(">II", 0x801, 3)) + _zeros_gzip(32, True),
            r"has trailing bytes: the header promises 3 bytes .* holds more",
        ),
        (
            lambda: gzip.compress(struct.pack(">IIII", 0x803, 10**4, 10**4, 10**4) + bytes(16)),
            r"truncated: the header promises 10{12} bytes .* more than \d+ bytes of gzip can",
        ),
    ],
)
def test_hostile_gzip_files_are_refused_without_inflating_them(tmp_path, make, message):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(make())
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte\.gz: " + message):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{peak} bytes allocated to refuse a {path.stat().st_size}-byte file"


def test_malformed_npz_files(tmp_path):
    arrays = fake_mnist()
    np.savez(tmp_path / "mnist.npz", **{k: v for k, v in arrays.items() if k != "y_test"})
    with pytest.raises(DatasetError, match=r"mnist\.npz: no arrays named \['y_test'\]"):
        mnist(tmp_path)
    np.savez(tmp_path / "mnist.npz", **{**arrays, "y_test": np.array([None, 1, 2])})
    with pytest.raises(
        DatasetError, match=r"mnist\.npz: entry 'y_test' has dtype object, which needs pickle"
    ):
        mnist(tmp_path)
    np.savez(tmp_path / "mnist.npz", **{**arrays, "x_test": arrays["x_test"].astype(float)})
    with pytest.raises(DatasetError, match=r"mnist\.npz: images must be uint8"):
        mnist(tmp_path)
    (tmp_path / "mnist.npz").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match=r"mnist\.npz: not a readable"):
        mnist(tmp_path)


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npy_header(shape):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "|u1", "fortran_order": False, "shape": tuple(shape)}
    )
    return buffer.getvalue()


def npz_with_x_train(path, data, compression):
    """A mnist.npz whose x_train entry, written last, holds the bytes ``data``."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for what, array in fake_mnist().items():
            if what != "x_train":
                archive.writestr(what + ".npy", npy_bytes(array))
        archive.writestr("x_train.npy", data)


def redeclare_x_train(path, compressed=None, size=None):
    """Makes x_train's zip record claim other compressed and uncompressed sizes."""
    raw = bytearray(path.read_bytes())
    record = raw.rindex(b"PK\x01\x02")  # the central directory record of the last entry
    old = struct.unpack_from("<II", raw, record + 20)
    new = (old[0] if compressed is None else compressed, old[1] if size is None else size)
    struct.pack_into("<II", raw, record + 20, *new)
    path.write_bytes(bytes(raw))


def _huge_header(path, compression):
    """x_train's .npy header declares 10**12 bytes; the entry holds 16 after it."""
    npz_with_x_train(path, npy_header([10**4] * 3) + bytes(16), compression)


def _huge_uncompressed_size(path, compressed):
    """x_train's zip record and .npy header agree on 2 GB; ``compressed`` bytes hold it."""
    size = 2 * 10**9
    header = npy_header([size - len(npy_header([size]))])
    npz_with_x_train(path, header + bytes(16), zipfile.ZIP_DEFLATED)
    redeclare_x_train(path, compressed, size)


def _bzip2(path):
    """7.5 MiB of images in a bzip2 entry of a few hundred bytes."""
    npz_with_x_train(path, npy_bytes(np.zeros((10**4, 28, 28), np.uint8)), zipfile.ZIP_BZIP2)


@pytest.mark.parametrize(
    "make, message",
    [
        pytest.param(
            lambda p: _huge_header(p, zipfile.ZIP_STORED),
            r"entry 'x_train' declares 1000000000000 bytes of data .* but holds 16",
            id="stored-header",
        ),
        pytest.param(
            lambda p: _huge_header(p, zipfile.ZIP_DEFLATED),
            r"entry 'x_train' declares 1000000000000 bytes of data .* but holds 16",
            id="deflated-header",
        ),
        pytest.param(  # more than deflate can make of the entry's compressed bytes
            lambda p: _huge_uncompressed_size(p, 100),
            r"entry 'x_train' declares 2000000000 bytes, more than 100 deflated bytes can",
            id="deflate-ratio",
        ),
        pytest.param(  # compressed bytes that the file does not have
            lambda p: _huge_uncompressed_size(p, 2 * 10**6),
            r"its arrays declare 2\d{6} bytes of zip data, more than the file's \d+",
            id="compressed-sizes",
        ),
        pytest.param(  # bzip2 inflates far beyond deflate's 1032:1
            _bzip2,
            r"entry 'x_train' uses compression method 12; only stored and deflated",
            id="bzip2",
        ),
    ],
)
def test_hostile_npz_files_are_refused_before_allocating(tmp_path, make, message):
    path = tmp_path / "mnist.npz"
    make(path)
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError) as info:
            mnist(tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{peak} bytes allocated to refuse a {path.stat().st_size}-byte file"
    info.match(r"mnist\.npz: " + message)


@pytest.mark.parametrize(
    "declared, held, message",
    [
        (8192, 4096, r"entry 'x_train' is truncated"),
        (4096, 8192, r"not a readable .npz of arrays \(BadZipFile: Bad CRC-32"),
    ],
)
def test_a_deflated_entry_that_inflates_to_other_than_it_declares_is_refused(
    tmp_path, declared, held, message
):
    path = tmp_path / "mnist.npz"
    header = npy_header([declared])
    data = np.random.default_rng(0).bytes(held)  # random: deflate cannot shrink it
    npz_with_x_train(path, header + data, zipfile.ZIP_DEFLATED)
    redeclare_x_train(path, size=len(header) + declared)
    with pytest.raises(DatasetError, match=r"mnist\.npz: " + message):
        mnist(tmp_path)


def test_read_idx_other_types_and_rank_check(tmp_path):
    path = tmp_path / "values-idx2-short"
    values = np.array([[-2, 300], [7, -32768]], np.int16)
    path.write_bytes(idx_bytes(values, code=0x0B))
    out = read_idx(path)
    np.testing.assert_array_equal(out, values)
    assert out.dtype == np.int16 and out.dtype.isnative and out.flags.writeable
    with pytest.raises(DatasetError, match="expected 0x00000803"):
        read_idx(path, ndim=3)


# ---------------------------------------------------------------- downloading


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a directory; under /short/ it promises more bytes than it sends."""

    def do_GET(self):
        if self.path.startswith("/short/"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b only part")
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving gzipped fake MNIST files from ``www/mnist/``."""
    arrays = fake_mnist(seed=5)
    write_mnist(tmp_path / "www" / "mnist", arrays, gz=tuple(NAMES))
    sums = {}
    for name in NAMES.values():
        data = (tmp_path / "www" / "mnist" / (name + ".gz")).read_bytes()
        sums[name + ".gz"] = hashlib.sha256(data).hexdigest()
    handler = functools.partial(Handler, directory=str(tmp_path / "www"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", arrays, sums
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_download_verifies_and_stores_the_files(tmp_path, server):
    url, arrays, sums = server
    cache = tmp_path / "cache"
    result = mnist(cache, mirrors=[url + "/missing/", url + "/mnist/"], checksums=sums)
    assert_mnist(result, arrays)  # the first mirror 404s; the second serves
    assert sorted(os.listdir(cache)) == sorted(n + ".gz" for n in NAMES.values())
    # Later calls read the stored files: no mirror is needed any more.
    assert_mnist(mnist(cache, mirrors=[closed_port_url()], checksums=sums), arrays)


def test_download_fetches_only_missing_files_and_honours_the_environment(
    tmp_path, server, monkeypatch
):
    url, arrays, sums = server
    cache = tmp_path / "cache"
    write_mnist(cache, arrays)
    os.remove(cache / "t10k-labels-idx1-ubyte")
    monkeypatch.setenv("FUNCGRAD_MNIST_MIRRORS", f"{closed_port_url()}, {url}/mnist")
    assert_mnist(mnist(cache, checksums=sums), arrays)
    assert (cache / "t10k-labels-idx1-ubyte.gz").exists()
    assert not (cache / "train-images-idx3-ubyte.gz").exists()


def test_a_failed_checksum_raises_and_leaves_nothing(tmp_path, server):
    url, _, sums = server
    wrong = {**sums, "train-labels-idx1-ubyte.gz": "0" * 64}
    cache = tmp_path / "cache"
    with pytest.raises(DatasetError, match=r"(?s)train-labels-idx1-ubyte\.gz.*expected checksum"):
        mnist(cache, mirrors=[url + "/mnist/"], checksums=wrong)
    assert "train-labels-idx1-ubyte.gz" not in os.listdir(cache)
    assert not [f for f in os.listdir(cache) if f.startswith(".")]  # no temporary files


def test_the_published_checksums_are_the_default(tmp_path, server):
    url, _, _ = server
    assert all(len(v) == 64 for v in datasets.MNIST_SHA256.values())
    assert sorted(datasets.MNIST_SHA256) == sorted(n + ".gz" for n in NAMES.values())
    with pytest.raises(DatasetError, match=r"440fcabf73cc546fa21475e8"):  # our fake differs
        mnist(tmp_path / "cache", mirrors=[url + "/mnist/"])
    assert os.listdir(tmp_path / "cache") == []


def test_a_transfer_cut_short_leaves_no_temp(tmp_path, server):
    url, _, sums = server
    cache = tmp_path / "cache"
    with pytest.raises(DatasetNotFoundError, match=r"IncompleteRead"):
        mnist(cache, mirrors=[url + "/short/"], checksums=sums)
    assert os.listdir(cache) == []
