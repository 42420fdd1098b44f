"""Checkpoints: a pytree of arrays saved to one ``.npz`` file, and loaded back safely.

The file is an ordinary ``.npz`` archive: the leaves as ``leaf_0``, ``leaf_1``, ... and an
entry ``__funcgrad__`` holding UTF-8 JSON that describes the tree (dicts with str or int
keys in their insertion order, OrderedDicts, lists, tuples, namedtuples by type name and
field names, ``None``) and each leaf's dtype, shape and SHA-256. Loading never unpickles
(``allow_pickle=False``) and never imports or runs anything named in the file; a
truncated, altered or foreign file raises :class:`CheckpointError`. Entries are stored
uncompressed, as ``np.savez`` writes them, and every size the file declares is checked
against the bytes it holds before anything is allocated, so a small hostile file cannot
make loading claim much more memory than the file's own size.

Leaves may be NumPy arrays of bool, integer, float or complex dtype (dtype and shape are
kept exactly, 0-d and empty arrays included), NumPy scalars (loaded back as NumPy scalars
of the same dtype) and Python ``bool``/``int``/``float``/``complex`` (loaded back as the same Python
type). A defaultdict is saved as a plain dict.

Namedtuples (optimizer states, say) load as namedtuple classes made from the stored type
name and field names: attribute access works, but the class is not the original one. Pass
``like=`` a tree of the expected structure (for example freshly initialised parameters and
optimizer state) to get the original types back and have the structure checked.

>>> import os, tempfile, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "params.npz")
>>> save(path, {"w": np.ones((2, 3), np.float32), "b": None, "step": 10})
>>> load(path)
{'w': array([[1., 1., 1.],
       [1., 1., 1.]], dtype=float32), 'b': None, 'step': 10}
"""

import collections
import contextlib
import hashlib
import json
import keyword
import math
import os
import socket
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

from .errors import FuncgradError

__all__ = ["CheckpointError", "load", "save"]

_META = "__funcgrad__"
_FORMAT = "funcgrad.io"
_VERSION = 1
_ARRAY_KINDS = "biufc"  # bool, signed, unsigned, float, complex: no object arrays
_PY_SCALARS = {"bool": bool, "int": int, "float": float, "complex": complex}


class CheckpointError(FuncgradError, ValueError):
    """A file that is not a well-formed funcgrad checkpoint, or does not fit ``like``."""


# ---------------------------------------------------------------- encoding


def _path_str(path):
    return "".join(f"[{k!r}]" for k in path) or "<root>"


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _encode(node, path, arrays, leaves):
    """JSON spec of ``node``; appends its leaves' arrays and metadata (depth first)."""
    if node is None:
        return {"t": "none"}
    if isinstance(node, dict):
        keys = list(node)
        for k in keys:
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise TypeError(
                    f"save: dict keys must be str or int, got {k!r} at {_path_str(path)}"
                )
        kind = "odict" if isinstance(node, OrderedDict) else "dict"
        children = [_encode(node[k], (*path, k), arrays, leaves) for k in keys]
        return {"t": kind, "k": keys, "c": children}
    if _is_namedtuple(node):
        children = [_encode(v, (*path, i), arrays, leaves) for i, v in enumerate(node)]
        return {
            "t": "namedtuple",
            "name": type(node).__name__,
            "fields": list(node._fields),
            "c": children,
        }
    if type(node) in (list, tuple):
        children = [_encode(v, (*path, i), arrays, leaves) for i, v in enumerate(node)]
        return {"t": type(node).__name__, "c": children}
    return _encode_leaf(node, path, arrays, leaves)


def _encode_leaf(leaf, path, arrays, leaves):
    py = type(leaf).__name__ if type(leaf) in _PY_SCALARS.values() else None
    if py is None and not isinstance(leaf, (np.ndarray, np.generic)):
        raise TypeError(
            f"save: cannot save a {type(leaf).__name__} at {_path_str(path)}; leaves must be "
            "NumPy arrays or scalars, or Python bool/int/float, and nodes dict, list, tuple, "
            "namedtuple or None"
        )
    array = np.asarray(leaf)
    if py == "int" and array.dtype.kind != "i":  # e.g. 2**64 becomes an object array
        raise TypeError(f"save: the int at {_path_str(path)} does not fit in int64")
    if array.dtype.kind not in _ARRAY_KINDS:
        raise TypeError(
            f"save: arrays of dtype {array.dtype} (at {_path_str(path)}) cannot be saved; "
            "only bool, integer, float and complex arrays can"
        )
    index = len(leaves)
    arrays[f"leaf_{index}"] = array
    leaves.append(
        {
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "sha256": _digest(array),
            "py": py,
            "scalar": isinstance(leaf, np.generic),
        }
    )
    return {"t": "leaf", "i": index}


def _digest(array):
    return hashlib.sha256(np.ascontiguousarray(array).reshape(-1).view(np.uint8)).hexdigest()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file; mkstemp gives 0o600


def _temp_prefix(path):
    """Start of the names of the temporary files that saves to ``path`` write.

    Short, so that any legal target name can be saved, and particular to the target's
    name and to this host, so that :func:`_remove_stale` can recognise them; the writer's
    pid follows, then ``-``, a random part and ``.tmp``.
    """

    def tag(text, n):
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:n]

    return f".fg-{tag(os.path.basename(path), 12)}-{tag(socket.gethostname(), 6)}-"


def _writer_alive(pid):
    try:
        os.kill(pid, 0)  # signal 0 only checks that the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process, or not a real pid
        return True
    return True


def _remove_stale(directory, prefix):
    """Removes the temporaries of earlier saves to the same target whose writer has died
    (killed mid-write, so its ``finally`` never ran). A live writer's temporary, this
    process's own included (another thread may be saving), is left alone."""
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return
    try:
        names = os.listdir(directory)
    except OSError:
        return  # creating the temporary file reports the problem
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix) :].split("-", 1)[0]
        if pid.isascii() and pid.isdigit() and not _writer_alive(int(pid)):
            with contextlib.suppress(OSError):  # another save may have removed it already
                os.unlink(os.path.join(directory, name))


def save(path, tree):
    """Writes the pytree ``tree`` to ``path`` (an ``.npz`` archive; the name is used as given).

    The file is written to a hidden temporary file in the same directory and renamed over
    ``path`` only when complete, so a crash never leaves a half-written checkpoint and
    an existing one stays intact until then. Temporaries left by earlier saves to the same
    ``path`` whose process was killed mid-write are removed.

    Raises:
      TypeError: a leaf or node type that cannot be saved; the message names its path.
      FileNotFoundError: the directory of ``path`` does not exist; the message names ``path``.
      OSError: the directory cannot be written.

    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "state.npz")
    >>> save(path, (np.arange(3, dtype=np.int8), [1.5, True]))
    >>> load(path)
    (array([0, 1, 2], dtype=int8), [1.5, True])
    """
    path = os.fspath(path)
    arrays, leaves = {}, []
    spec = _encode(tree, (), arrays, leaves)
    meta = {"format": _FORMAT, "version": _VERSION, "tree": spec, "leaves": leaves}
    arrays[_META] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    prefix = _temp_prefix(path)
    _remove_stale(directory, prefix)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{prefix}{os.getpid()}-", suffix=".tmp")
    except OSError as e:  # its message would name the temporary file, not the user's path
        raise type(e)(
            e.errno, f"save: cannot create a file in {directory} ({e.strerror})", path
        ) from None
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------- decoding


def _fail(path, why):
    return CheckpointError(f"{path}: {why}")


_CHUNK = 1 << 20  # entries are read in pieces of this size, straight into their arrays


def _entries(path, archive, size):
    """``{name: ZipInfo}`` of the archive's entries (``.npy`` dropped from the names).

    Every entry must be stored uncompressed and the sizes they declare must fit in the
    ``size`` bytes of the file: reading an entry then never yields, or allocates, more
    than the file holds (a compressed entry could inflate a thousandfold).
    """
    entries, total = {}, 0
    for info in archive.infolist():
        name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if info.compress_type != zipfile.ZIP_STORED:
            raise _fail(path, f"entry {name!r} is compressed, and checkpoints never are")
        if info.file_size != info.compress_size:
            raise _fail(
                path,
                f"entry {name!r} declares {info.file_size} bytes but stores {info.compress_size}",
            )
        if name in entries:
            raise _fail(path, f"entry {name!r} appears twice")
        entries[name] = info
        total += info.file_size
    if total > size:
        raise _fail(path, f"its entries declare {total} bytes, more than the file's {size}")
    return entries


def _read_npy(path, archive, entries, name, check):
    """The array in entry ``name``, read without pickle.

    ``check(dtype, shape)`` vets the ``.npy`` header, which must also account for exactly
    the entry's bytes, before the array is allocated.
    """
    if name not in entries:
        raise _fail(path, f"entry {name!r} is missing")
    info = entries[name]
    with archive.open(info) as f:
        return _read_npy_entry(
            f, info.file_size, check, lambda what: _fail(path, f"entry {name!r} {what}")
        )


def _read_npy_entry(f, size, check, fail):
    """The array in ``f``, an open ``.npy`` zip entry that declares ``size`` bytes.

    Shared with :mod:`funcgrad.datasets`. ``check(dtype, shape)`` vets the header, which
    must account for exactly ``size`` bytes, before the array is allocated; the data is
    then read straight into the array in pieces, so an entry holding less than it declares
    fails without ever costing more than ``size``. Problems raise ``fail(what)``, ``what``
    saying what is wrong with the entry ("is truncated").
    """
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise fail(f"has an unsupported .npy version {version}")
    if any(n < 0 for n in shape):
        raise fail(f"has a malformed shape {shape}")
    check(dtype, shape)
    nbytes = math.prod(shape) * dtype.itemsize
    if f.tell() + nbytes != size:
        raise fail(
            f"declares {nbytes} bytes of data for shape {list(shape)} but holds {size - f.tell()}"
        )
    array = np.empty(math.prod(shape), dtype)
    buffer = memoryview(array.view(np.uint8))
    for start in range(0, nbytes, _CHUNK):  # reading the last byte checks the CRC
        piece = buffer[start : start + _CHUNK]
        if f.readinto(piece) != len(piece):
            raise fail("is truncated")
    return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)


def _read_meta(path, archive, entries):
    def check(dtype, shape):
        if dtype != np.uint8 or len(shape) != 1:
            raise _fail(path, f"the {_META!r} entry is not UTF-8 JSON bytes")

    if _META not in entries:
        raise _fail(path, f"not a funcgrad checkpoint (no {_META!r} entry in the .npz)")
    raw = _read_npy(path, archive, entries, _META, check)
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise _fail(path, f"the {_META!r} entry is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise _fail(path, "not a funcgrad checkpoint (wrong format tag)")
    if meta.get("version") != _VERSION:
        raise _fail(
            path,
            f"checkpoint format version {meta.get('version')!r} is not supported "
            f"(this funcgrad reads version {_VERSION})",
        )
    if not isinstance(meta.get("leaves"), list) or "tree" not in meta:
        raise _fail(path, "the checkpoint description lacks 'tree' or 'leaves'")
    return meta


def _read_leaf(path, archive, entries, meta, i):
    name = f"leaf_{i}"
    info = meta["leaves"][i]
    if not isinstance(info, dict):
        raise _fail(path, f"the description of {name!r} is malformed")

    def check(dtype, shape):  # before the data is read: the description bounds it too
        if dtype.kind not in _ARRAY_KINDS:
            raise _fail(path, f"entry {name!r} has dtype {dtype}, which no checkpoint holds")
        if dtype.str != info.get("dtype") or list(shape) != info.get("shape"):
            raise _fail(
                path,
                f"entry {name!r} is {dtype.str}{list(shape)} but the "
                f"description says {info.get('dtype')}{info.get('shape')}",
            )

    array = _read_npy(path, archive, entries, name, check)
    if _digest(array) != info.get("sha256"):
        raise _fail(path, f"entry {name!r} does not match its SHA-256: the file was altered")
    py = info.get("py")
    if py is not None:
        if py not in _PY_SCALARS or array.ndim != 0:
            raise _fail(path, f"entry {name!r} has a malformed Python scalar tag {py!r}")
        return _PY_SCALARS[py](array[()])
    return array[()] if info.get("scalar") else array


_namedtuple_cache = {}


def _namedtuple_class(path, name, fields):
    names = [name, *fields]
    if not all(
        isinstance(n, str)
        and n.isidentifier()
        and not keyword.iskeyword(n)
        and not n.startswith("_")
        for n in names
    ) or len(set(fields)) != len(fields):
        raise _fail(path, f"malformed namedtuple name or fields: {name!r} {fields!r}")
    key = (name, tuple(fields))
    if key not in _namedtuple_cache:
        _namedtuple_cache[key] = collections.namedtuple(name, fields)
    return _namedtuple_cache[key]


def _decode(path, spec, leaf_at, used):
    """Rebuilds the tree described by ``spec``; ``leaf_at(i)`` returns leaf ``i``."""
    if not isinstance(spec, dict):
        raise _fail(path, f"malformed tree node {spec!r}")
    t = spec.get("t")
    if t == "none":
        return None
    if t == "leaf":
        i = spec.get("i")
        if type(i) is not int or i in used:
            raise _fail(path, f"malformed or repeated leaf reference {i!r}")
        used.add(i)
        return leaf_at(i)
    if t not in ("list", "tuple", "dict", "odict", "namedtuple"):
        raise _fail(path, f"unknown tree node type {t!r}")
    children = spec.get("c")
    if not isinstance(children, list):
        raise _fail(path, f"tree node {t!r} without a list of children")
    values = [_decode(path, c, leaf_at, used) for c in children]
    if t in ("list", "tuple"):
        return values if t == "list" else tuple(values)
    if t in ("dict", "odict"):
        keys = spec.get("k")
        if (
            not isinstance(keys, list)
            or len(keys) != len(values)
            or not all(type(k) in (str, int) for k in keys)
            or len(set(keys)) != len(keys)
        ):
            raise _fail(path, "malformed dict keys")
        return (dict if t == "dict" else OrderedDict)(zip(keys, values))
    fields = spec.get("fields")  # a namedtuple
    if not isinstance(fields, list) or len(fields) != len(values):
        raise _fail(path, "malformed namedtuple fields")
    return _namedtuple_class(path, spec.get("name"), fields)(*values)


def _restructure(path, loaded, like, where=()):
    """``loaded`` rebuilt with the node types of ``like``; raises where the structures differ."""

    def differ(what):
        return _fail(path, f"the checkpoint does not fit `like` at {_path_str(where)}: {what}")

    if like is None:
        if loaded is not None:
            raise differ(f"checkpoint has {type(loaded).__name__}, like has None")
        return None
    if isinstance(like, dict):
        if not isinstance(loaded, dict):
            raise differ(f"checkpoint has {type(loaded).__name__}, like has a dict")
        if set(loaded) != set(like):
            raise differ(f"dict keys {sorted(map(repr, loaded))} vs {sorted(map(repr, like))}")
        items = [(k, _restructure(path, loaded[k], like[k], (*where, k))) for k in like]
        return type(like)(items) if type(like) in (dict, OrderedDict) else dict(items)
    if isinstance(like, (list, tuple)) and (type(like) in (list, tuple) or _is_namedtuple(like)):
        if not isinstance(loaded, (list, tuple)) or isinstance(loaded, list) != isinstance(
            like, list
        ):
            raise differ(f"checkpoint has {type(loaded).__name__}, like has {type(like).__name__}")
        if _is_namedtuple(like) and getattr(loaded, "_fields", None) != like._fields:
            raise differ(f"fields {getattr(loaded, '_fields', None)} vs {like._fields}")
        if len(loaded) != len(like):
            raise differ(f"length {len(loaded)} vs {len(like)}")
        values = [
            _restructure(path, a, b, (*where, i)) for i, (a, b) in enumerate(zip(loaded, like))
        ]
        if _is_namedtuple(like):
            return type(like)(*values)
        return values if isinstance(like, list) else tuple(values)
    if isinstance(loaded, (dict, list, tuple)) or loaded is None:
        raise differ(f"checkpoint has a {type(loaded).__name__} node, like has a leaf")
    return loaded


def load(path, like=None):
    """Reads a pytree written by :func:`save`.

    Args:
      path: the checkpoint file.
      like: optional pytree of the expected structure (its leaves are ignored). The
        result then has ``like``'s node types (its namedtuple classes, OrderedDicts).

    Returns:
      The saved pytree, every array with the dtype and shape it was saved with.

    Raises:
      CheckpointError: the file is not a funcgrad checkpoint, is truncated or altered,
        or does not have ``like``'s structure. The message names the file.
      FileNotFoundError: ``path`` does not exist.

    >>> import collections, os, tempfile, numpy as np
    >>> State = collections.namedtuple("State", ["count", "mu"])
    >>> path = os.path.join(tempfile.mkdtemp(), "opt.npz")
    >>> save(path, State(np.int32(3), [np.zeros(2)]))
    >>> restored = load(path, like=State(0, [0]))
    >>> type(restored) is State, restored.count
    (True, np.int32(3))
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":
            raise _fail(path, "not a funcgrad checkpoint (not an .npz/zip archive)")
        try:
            tree = _read_tree(path, f)
        except CheckpointError:
            raise
        except RecursionError:
            raise _fail(path, "the tree description is nested too deeply") from None
        except Exception as e:  # BadZipFile, a bad CRC, EOFError, a bad .npy header...
            raise _fail(path, f"corrupt or truncated checkpoint ({type(e).__name__}: {e})") from e
    return tree if like is None else _restructure(path, tree, like)


def _read_tree(path, f):
    with zipfile.ZipFile(f) as archive:
        entries = _entries(path, archive, os.fstat(f.fileno()).st_size)
        meta = _read_meta(path, archive, entries)
        leaves = meta["leaves"]
        expected = {_META, *(f"leaf_{i}" for i in range(len(leaves)))}
        if set(entries) != expected:
            extra = sorted(set(entries) - expected)
            missing = sorted(expected - set(entries))
            raise _fail(path, f"entries {missing} are missing and {extra} unexpected")

        def leaf_at(i):
            if not 0 <= i < len(leaves):
                raise _fail(path, f"leaf reference {i} out of range")
            return _read_leaf(path, archive, entries, meta, i)

        used = set()
        tree = _decode(path, meta["tree"], leaf_at, used)
        if len(used) != len(leaves):
            raise _fail(path, f"{len(leaves) - len(used)} stored leaves are not in the tree")
    return tree
