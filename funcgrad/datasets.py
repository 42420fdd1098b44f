"""Small data sets for examples and tests, as NumPy arrays.

Every loader returns ``(x, y)`` (``mnist`` returns a pair of them): features as float32
(MNIST images as uint8), class labels as int64, regression targets as float32. The
synthetic sets draw from an explicit ``fg.random`` key, so the same key gives the same
data on every machine.

>>> import funcgrad as fg
>>> x, y = fg.datasets.moons(100, 0.1, fg.random.key(0))
>>> x.shape, x.dtype.name, y.dtype.name, sorted(set(y.tolist()))
((100, 2), 'float32', 'int64', [0, 1])
"""

import hashlib
import http.client
import logging
import math
import os
import tempfile
import urllib.request
import zipfile
import zlib

import numpy as np

from . import random
from .errors import FuncgradError, user_frame
from .io import _read_npy_entry

__all__ = [
    "DatasetError",
    "DatasetNotFoundError",
    "MNIST_MIRRORS",
    "MNIST_SHA256",
    "digits",
    "gaussians",
    "linear",
    "mnist",
    "moons",
    "read_idx",
    "xor",
]

log = logging.getLogger("funcgrad")


class DatasetError(FuncgradError, ValueError):
    """A data set file that is malformed, truncated, or fails its checksum."""


class DatasetNotFoundError(FuncgradError, FileNotFoundError):
    """A data set that is neither on disk nor downloadable; the message says where to put it."""


# ---------------------------------------------------------------- synthetic


def _labels(values):
    return np.asarray(values, dtype=np.int64)


def xor():
    """The four points of the XOR problem: label 1 where exactly one coordinate is 1.

    >>> x, y = xor()
    >>> x.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    return x, _labels([0, 1, 1, 0])


def _check_n(name, n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"{name}: n must be a non-negative int, got {n!r} at {user_frame()}")
    return int(n)


def _check_noise(name, noise):
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{name}: noise must be >= 0, got {noise!r} at {user_frame()}")
    return float(noise)


def _shuffled(key, x, y):
    order = random.permutation(key, len(y))
    return x[order], y[order]


def moons(n, noise, key):
    """Two interleaving half circles (as scikit-learn's ``make_moons``), shuffled.

    Class 0 is the upper arc (``cos t, sin t``), class 1 the lower one
    (``1 - cos t, 0.5 - sin t``) for ``t`` evenly spaced in [0, pi]; class 0 gets
    ``n // 2`` points. Gaussian noise of standard deviation ``noise`` is added.

    >>> import funcgrad as fg
    >>> x, y = moons(6, 0.0, fg.random.key(0))
    >>> x.shape, int(y.sum())
    ((6, 2), 3)
    """
    n, noise = _check_n("moons", n), _check_noise("moons", noise)
    k_noise, k_order = random.split(key)
    t_out, t_in = np.linspace(0, np.pi, n // 2), np.linspace(0, np.pi, n - n // 2)
    x = np.concatenate(
        [
            np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
            np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], axis=1),
        ]
    )
    x = x + noise * random.normal(k_noise, (n, 2), np.float64)
    y = _labels(np.arange(n) >= n // 2)
    return _shuffled(k_order, x.astype(np.float32), y)


def _grid(side):
    coords = np.arange(side) - (side - 1) / 2
    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    centers = np.stack([coords[i.ravel()], coords[j.ravel()]], axis=1)
    return centers, (i + j).ravel() % 2


# kind -> (centers, their labels, default standard deviation)
_GAUSSIANS = {
    "two": (np.array([[-1.0, -1.0], [1.0, 1.0]]), np.array([0, 1]), 0.5),
    "four": (
        np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]]),
        np.array([0, 0, 1, 1]),
        0.4,
    ),
    "checkerboard": (*_grid(4), 0.15),
}


def gaussians(n, kind, key, *, std=None):
    """Gaussian blobs with binary labels, shuffled; the blobs share ``n`` points evenly.

    Kinds:
      ``"two"``: class 0 around (-1, -1), class 1 around (1, 1); ``std`` 0.5.
      ``"four"``: the XOR layout: class 0 around (-1, -1) and (1, 1), class 1 around
        (-1, 1) and (1, -1); ``std`` 0.4.
      ``"checkerboard"``: a 4 x 4 grid of blobs one unit apart, centred on the origin,
        labelled like a checkerboard (``(row + column) % 2``); ``std`` 0.15.

    >>> import funcgrad as fg
    >>> x, y = gaussians(400, "four", fg.random.key(0))
    >>> x.shape, float(y.mean()), bool(((x[:, 0] * x[:, 1] < 0) == (y == 1)).mean() > 0.9)
    ((400, 2), 0.5, True)
    """
    n = _check_n("gaussians", n)
    if kind not in _GAUSSIANS:
        raise ValueError(
            f"gaussians: kind must be one of {sorted(_GAUSSIANS)}, got {kind!r} at {user_frame()}"
        )
    centers, classes, default_std = _GAUSSIANS[kind]
    std = default_std if std is None else _check_noise("gaussians", std)
    k_noise, k_order = random.split(key)
    blob = np.arange(n) % len(centers)
    x = centers[blob] + std * random.normal(k_noise, (n, 2), np.float64)
    return _shuffled(k_order, x.astype(np.float32), _labels(classes[blob]))


def linear(n, slope, intercept, noise, key):
    """A regression set: ``y = x @ slope + intercept + noise * N(0, 1)``, x uniform in [-1, 1).

    ``slope`` is a number (then ``x`` has one column) or a vector of length ``d`` (then
    ``x`` has ``d`` columns). Returns ``x`` of shape ``(n, d)`` and ``y`` of shape
    ``(n, 1)``, both float32, matching the output of a ``Dense(1)`` layer.

    >>> import funcgrad as fg
    >>> x, y = linear(5, 2.0, 1.0, 0.0, fg.random.key(0))
    >>> x.shape, y.shape, bool(abs(y - (2 * x + 1)).max() < 1e-6)
    ((5, 1), (5, 1), True)
    """
    n, noise = _check_n("linear", n), _check_noise("linear", noise)
    slope = np.asarray(slope, dtype=np.float64)
    if slope.ndim > 1:
        raise ValueError(
            f"linear: slope must be a number or a vector, got shape {slope.shape} at {user_frame()}"
        )
    slope = slope.reshape(-1)
    k_x, k_noise = random.split(key)
    x = random.uniform(k_x, (n, len(slope)), np.float64, minval=-1.0, maxval=1.0)
    y = x @ slope[:, None] + intercept + noise * random.normal(k_noise, (n, 1), np.float64)
    return x.astype(np.float32), y.astype(np.float32)


def digits():
    """The 1,797 8 x 8 handwritten digits that ship with scikit-learn (needs scikit-learn).

    Returns images of shape ``(1797, 8, 8)`` scaled to [0, 1] (float32) and labels 0-9.
    Flatten them with ``x.reshape(len(x), -1)``; add a channel with ``x[:, None]``.

    >>> x, y = digits()
    >>> x.shape, x.dtype.name, float(x.max()), y[:5].tolist()
    ((1797, 8, 8), 'float32', 1.0, [0, 1, 2, 3, 4])
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise ImportError(
            "fg.datasets.digits() reads the 8x8 digits bundled with "
            "scikit-learn, which is not installed: pip install scikit-learn"
        ) from e
    bunch = load_digits()
    return (bunch.images / 16.0).astype(np.float32), _labels(bunch.target)


# ---------------------------------------------------------------- IDX files

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


_CHUNK = 1 << 20  # IDX data is read, and inflated, this much at a time
# Deflate compresses at most 1032:1, so a gzip file or a deflated zip entry holds no more
# than this many times its own size: a header promising more is refused before anything
# is allocated or inflated.
_DEFLATE_MAX_RATIO = 1032


class _Gunzip:
    """Reads a gzip file's contents piece by piece, inflating no more than asked for.

    Members follow one another and zero padding between them is skipped, as in
    ``gzip.decompress``; zlib checks each member's CRC and length. A corrupt stream raises
    ``zlib.error``, a truncated one ``EOFError``.
    """

    def __init__(self, f):
        self._f, self._input = f, b""
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16: a gzip wrapper

    def read(self, n):
        """Up to ``n`` (> 0) bytes, or ``b""`` at the end of the last member."""
        while True:
            if self._inflater.eof:
                rest = self._inflater.unused_data.lstrip(b"\0")
                while not rest:
                    chunk = self._f.read(_CHUNK)
                    if not chunk:
                        return b""
                    rest = chunk.lstrip(b"\0")
                self._inflater, self._input = zlib.decompressobj(16 + zlib.MAX_WBITS), rest
            if not self._input:
                self._input = self._f.read(_CHUNK)
                if not self._input:
                    raise EOFError("the data ends before the end-of-stream marker")
            out = self._inflater.decompress(self._input, n)
            self._input = self._inflater.unconsumed_tail
            if out:
                return out


def _read_up_to(source, n):
    """``n`` bytes of ``source``, fewer only at its end. The buffer grows with what arrives,
    so a file that promises more than it holds costs only what it holds."""
    data = bytearray()
    while len(data) < n:
        piece = source.read(min(n - len(data), _CHUNK))
        if not piece:
            break
        data += piece
    return data


def read_idx(path, ndim=None):
    """Reads an IDX file (the format of MNIST), gzip-compressed or not, into an array.

    Checks the magic number (two zero bytes, a type code, the number of dimensions; with
    ``ndim`` given, the number of dimensions too) and that the data exactly fills the
    file. Unsigned-byte data comes back as uint8; other IDX types as native-endian arrays.
    The size the header promises is checked against the file's size before the data is
    read, and gzip data is inflated only as far as the header promises, so a small hostile
    file cannot make this allocate much more than the data it holds.

    Raises:
      DatasetError: a wrong magic number, a truncated or oversized file, or corrupt gzip
        data; the message names the file.

    >>> import os, struct, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(struct.pack(">II", 0x801, 3) + bytes([7, 0, 9]))
    >>> read_idx(path, ndim=1)
    array([7, 0, 9], dtype=uint8)
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        gzipped = f.read(2) == b"\x1f\x8b"  # gzip magic, whatever the file is called
        f.seek(0)
        try:
            return _parse_idx(path, _Gunzip(f) if gzipped else f, size, gzipped, ndim)
        except (zlib.error, EOFError) as e:
            raise DatasetError(f"{path}: corrupt or truncated gzip data ({e})") from None


def _parse_idx(path, source, size, gzipped, ndim):
    head = _read_up_to(source, 4)
    if len(head) < 4:
        raise DatasetError(f"{path}: {len(head)} bytes is too short for an IDX file")
    magic = int.from_bytes(head, "big")
    rank, code = head[3], head[2]
    if head[:2] != b"\0\0" or code not in _IDX_DTYPES or (ndim is not None and rank != ndim):
        want = "an IDX magic number" if ndim is None else f"0x{0x800 + ndim:08x}"
        raise DatasetError(
            f"{path}: bad magic number 0x{magic:08x}, expected {want} "
            "(is this the right file, and an IDX file?)"
        )
    header = 4 + 4 * rank
    dims = _read_up_to(source, 4 * rank)
    if len(dims) < 4 * rank:
        raise DatasetError(f"{path}: truncated IDX header ({4 + len(dims)} bytes, need {header})")
    shape = tuple(int.from_bytes(dims[4 * i : 4 + 4 * i], "big") for i in range(rank))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize
    promise = f"the header promises {expected} bytes of data for shape {shape}"
    if gzipped and header + expected > size * _DEFLATE_MAX_RATIO:
        raise DatasetError(f"{path}: truncated: {promise}, more than {size} bytes of gzip can hold")
    if not gzipped and size - header != expected:
        what = "truncated" if size - header < expected else "has trailing bytes"
        raise DatasetError(f"{path}: {what}: {promise}, the file holds {size - header}")
    data = _read_up_to(source, expected)
    if len(data) < expected:
        raise DatasetError(f"{path}: truncated: {promise}, the file holds {len(data)}")
    if source.read(1):  # gzip data is inflated no further than this one byte
        raise DatasetError(f"{path}: has trailing bytes: {promise}, the file holds more")
    array = np.frombuffer(data, dtype).reshape(shape)  # writable: data is a bytearray
    native = dtype.newbyteorder("=")
    if native != dtype:
        array.byteswap(inplace=True)
    return array.view(native)


# ---------------------------------------------------------------- MNIST

_MNIST_IDX = {  # what -> (file name without .gz, IDX rank)
    "x_train": ("train-images-idx3-ubyte", 3),
    "y_train": ("train-labels-idx1-ubyte", 1),
    "x_test": ("t10k-images-idx3-ubyte", 3),
    "y_test": ("t10k-labels-idx1-ubyte", 1),
}

#: Base URLs tried in order for the gzipped IDX files; overridden by ``mnist(mirrors=...)``
#: or by the environment variable FUNCGRAD_MNIST_MIRRORS (URLs separated by spaces or commas).
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: SHA-256 of the published gzipped files (9,912,422, 28,881, 1,648,877 and 4,542 bytes).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    ),
}


def _data_dir(path):
    if path is None:
        path = os.environ.get("FUNCGRAD_DATA") or os.path.join("~", ".cache", "funcgrad")
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def _mirrors(mirrors):
    if mirrors is None:
        env = os.environ.get("FUNCGRAD_MNIST_MIRRORS", "")
        mirrors = env.replace(",", " ").split() or MNIST_MIRRORS
    elif isinstance(mirrors, str):
        mirrors = [mirrors]
    return list(mirrors)


def _download(filename, directory, mirrors, sha256, timeout):
    """Fetches ``filename`` from the first mirror that serves it with the right SHA-256.

    Returns ``(path or None, [reasons the mirrors failed], whether a checksum failed)``.
    Data goes to a temporary file in ``directory``, renamed into place once verified; the
    temporary file is removed whatever happens.
    """
    failures, bad_checksum = [], False
    for base in mirrors:
        url = base.rstrip("/") + "/" + filename
        tmp = None
        try:
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{filename}.", suffix=".part")
            log.info("downloading %s", url)
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=timeout) as r:
                while chunk := r.read(1 << 16):
                    digest.update(chunk)
                    f.write(chunk)
                if r.length:  # the server closed early; read() does not raise for it
                    raise http.client.IncompleteRead(b"", r.length)
            if digest.hexdigest() != sha256:
                bad_checksum = True
                failures.append(f"{url}: SHA-256 {digest.hexdigest()} instead of {sha256}")
                continue
            target = os.path.join(directory, filename)
            os.replace(tmp, target)
            tmp = None
            return target, failures, bad_checksum
        except (OSError, http.client.HTTPException, ValueError) as e:  # URLError is an OSError
            failures.append(f"{url}: {e}")
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
    return None, failures, bad_checksum


def _where_to_put(directory, names):
    listed = "\n".join(f"  {os.path.join(directory, n)}.gz" for n in names)
    return (
        f"Put these files there (gzipped, or uncompressed without .gz):\n{listed}\n"
        f"or a single {os.path.join(directory, 'mnist.npz')} with the uint8/int arrays "
        "x_train, y_train, x_test, y_test. Choose another directory with "
        "mnist(path=...) or the environment variable FUNCGRAD_DATA."
    )


def _find(directory, name):
    for candidate in (name, name + ".gz"):
        full = os.path.join(directory, candidate)
        if os.path.isfile(full):
            return full
    return None


def _check_mnist(sources, arrays):
    """Ranks, dtypes, label range and image/label agreement; ``sources`` names the files."""
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        sx, sy = sources[f"x_{part}"], sources[f"y_{part}"]
        if x.dtype != np.uint8 or x.ndim != 3:
            raise DatasetError(
                f"{sx}: images must be uint8 of shape (N, rows, cols), got "
                f"{x.dtype} of shape {x.shape}"
            )
        if y.dtype.kind not in "iu" or y.ndim != 1:
            raise DatasetError(
                f"{sy}: labels must be integers of shape (N,), got {y.dtype} of shape {y.shape}"
            )
        if len(x) != len(y):
            raise DatasetError(f"{sx} holds {len(x)} images but {sy} holds {len(y)} labels")
        if y.size and (y.min() < 0 or y.max() > 9):
            bad = y.min() if y.min() < 0 else y.max()
            raise DatasetError(f"{sy}: label {bad} is outside the digits 0-9")
    return (
        (arrays["x_train"], arrays["y_train"].astype(np.int64)),
        (arrays["x_test"], arrays["y_test"].astype(np.int64)),
    )


def _npz_entries(path, archive, size):
    """``{name: ZipInfo}`` of the entries that ``mnist`` reads (``.npy`` dropped from the
    names), once their declared sizes are checked against the file's ``size`` bytes.

    Entries may be stored or deflated (``np.savez_compressed``): a stored entry's data is
    as long as it declares and a deflated one's at most 1032 times its compressed data
    (deflate's limit), so reading them never yields, or allocates, more than that.
    """
    entries = {}
    for info in archive.infolist():
        name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if name in entries:
            raise DatasetError(f"{path}: entry {name!r} appears twice")
        entries[name] = info
    missing = [k for k in _MNIST_IDX if k not in entries]
    if missing:
        raise DatasetError(f"{path}: no arrays named {missing} (it has {list(entries)})")
    total = 0
    for name in _MNIST_IDX:
        info = entries[name]
        declares = f"entry {name!r} declares {info.file_size} bytes"
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise DatasetError(
                f"{path}: entry {name!r} uses compression method {info.compress_type}; "
                "only stored and deflated entries are read"
            )
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise DatasetError(f"{path}: {declares} but stores {info.compress_size}")
        if info.compress_type == zipfile.ZIP_DEFLATED and (
            info.file_size > info.compress_size * _DEFLATE_MAX_RATIO
        ):
            raise DatasetError(
                f"{path}: {declares}, more than {info.compress_size} deflated bytes can hold"
            )
        total += info.compress_size
    if total > size:
        raise DatasetError(
            f"{path}: its arrays declare {total} bytes of zip data, more than the file's {size}"
        )
    return {k: entries[k] for k in _MNIST_IDX}


def _read_npz(path):
    def check(name, dtype):
        if dtype.hasobject:  # np.load(allow_pickle=False) refuses these too
            raise DatasetError(
                f"{path}: entry {name!r} has dtype {dtype}, which needs pickle to read; "
                "mnist.npz is read without it"
            )

    arrays = {}
    try:
        with open(path, "rb") as f, zipfile.ZipFile(f) as archive:
            entries = _npz_entries(path, archive, os.fstat(f.fileno()).st_size)
            for name, info in entries.items():
                with archive.open(info) as entry:
                    arrays[name] = _read_npy_entry(
                        entry,
                        info.file_size,
                        lambda dtype, shape, name=name: check(name, dtype),
                        lambda what, name=name: DatasetError(f"{path}: entry {name!r} {what}"),
                    )
    except DatasetError:
        raise
    except Exception as e:  # not a zip, a bad CRC, a bad .npy header...
        raise DatasetError(
            f"{path}: not a readable .npz of arrays ({type(e).__name__}: {e})"
        ) from e
    return _check_mnist(dict.fromkeys(_MNIST_IDX, path), arrays)


def mnist(path=None, *, download=True, mirrors=None, checksums=None, timeout=30.0):
    """The MNIST handwritten digits: ``((x_train, y_train), (x_test, y_test))``.

    Images are uint8 of shape ``(N, 28, 28)`` (60,000 train, 10,000 test), labels int64.
    For a network, scale them yourself: ``x.astype(np.float32) / 255``.

    Where the files are looked for: the directory ``path``, else the directory in the
    environment variable ``FUNCGRAD_DATA``, else ``~/.cache/funcgrad``. In it, the four
    IDX files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each may end in ``.gz``)
    are read if all are there; otherwise a ``mnist.npz`` with arrays ``x_train``,
    ``y_train``, ``x_test``, ``y_test`` (from ``np.savez`` or ``np.savez_compressed``; read
    without pickle, its declared sizes checked against the file's before anything is
    allocated); otherwise the missing gzipped IDX files are downloaded into the directory
    and checked against their SHA-256.

    Args:
      path: the data directory (``~`` is expanded).
      download: fetch missing files; if False a missing file raises at once.
      mirrors: base URLs to try in order; defaults to FUNCGRAD_MNIST_MIRRORS (URLs
        separated by spaces or commas) if set, else :data:`MNIST_MIRRORS`.
      checksums: ``{file name: SHA-256 hex digest}`` for the downloads; defaults to
        :data:`MNIST_SHA256`, the digests of the published files.
      timeout: seconds to wait on a mirror's connection.

    Raises:
      DatasetNotFoundError: files missing and not downloadable (offline, say); the
        message names the directory and the files to put there.
      DatasetError: a download failed its checksum, or a file is malformed (wrong magic
        number, truncated, labels outside 0-9, image and label counts that differ); the
        message names the file.

    >>> import os, tempfile, numpy as np
    >>> d = tempfile.mkdtemp()
    >>> images, labels = np.zeros((2, 28, 28), np.uint8), np.array([3, 5], np.uint8)
    >>> np.savez(os.path.join(d, "mnist.npz"), x_train=images, y_train=labels,
    ...          x_test=images, y_test=labels)
    >>> (x_train, y_train), (x_test, y_test) = mnist(d)
    >>> x_train.shape, x_train.dtype.name, y_train.tolist()
    ((2, 28, 28), 'uint8', [3, 5])
    """
    directory = _data_dir(path)
    found = {what: _find(directory, name) for what, (name, _) in _MNIST_IDX.items()}
    npz = os.path.join(directory, "mnist.npz")
    if not all(found.values()) and os.path.isfile(npz):
        return _read_npz(npz)
    missing = [_MNIST_IDX[what][0] for what, f in found.items() if f is None]
    if missing and not download:
        raise DatasetNotFoundError(
            f"MNIST is not in {directory} (download=False).\n" + _where_to_put(directory, missing)
        )
    checksums = MNIST_SHA256 if checksums is None else checksums
    for what, f in found.items():
        if f is not None:
            continue
        filename = _MNIST_IDX[what][0] + ".gz"
        if filename not in checksums:
            raise ValueError(f"mnist: no SHA-256 given for {filename} in checksums")
        target, failures, bad_checksum = _download(
            filename, directory, _mirrors(mirrors), checksums[filename], timeout
        )
        reasons = "\n".join(f"  {r}" for r in failures) or "  (no mirrors given)"
        if target is None and bad_checksum:
            raise DatasetError(
                f"MNIST: no mirror served {filename} with the expected "
                f"checksum; nothing was saved:\n{reasons}"
            )
        if target is None:
            raise DatasetNotFoundError(
                f"MNIST is not in {directory} and {filename} could not be downloaded:\n"
                f"{reasons}\n" + _where_to_put(directory, missing)
            )
        found[what] = target
    arrays = {what: read_idx(found[what], rank) for what, (_, rank) in _MNIST_IDX.items()}
    return _check_mnist(found, arrays)
