"""Checkpoints: a pytree of arrays saved to one ``.npz`` file, and loaded back safely.

The file is an ordinary ``.npz`` archive: the leaves as ``leaf_0``, ``leaf_1``, ... and an
entry ``__funcgrad__`` holding UTF-8 JSON that describes the tree (dicts with str or int
keys in their insertion order, OrderedDicts, lists, tuples, namedtuples by type name and
field names, ``None``) and each leaf's dtype, shape and SHA-256. Loading never unpickles
(``allow_pickle=False``) and never imports or runs anything named in the file; a
truncated, altered or foreign file raises :class:`CheckpointError`.

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
import os
import tempfile
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


def save(path, tree):
    """Writes the pytree ``tree`` to ``path`` (an ``.npz`` archive; the name is used as given).

    The file is written to a temporary file in the same directory and renamed over
    ``path`` only when complete, so a crash never leaves a half-written checkpoint and
    an existing one stays intact until then.

    Raises:
      TypeError: a leaf or node type that cannot be saved; the message names its path.
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
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
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


def _read_meta(path, archive):
    if _META not in archive.files:
        raise _fail(path, f"not a funcgrad checkpoint (no {_META!r} entry in the .npz)")
    raw = archive[_META]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _fail(path, f"the {_META!r} entry is not UTF-8 JSON bytes")
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


def _read_leaf(path, archive, meta, i):
    name = f"leaf_{i}"
    if name not in archive.files:
        raise _fail(path, f"entry {name!r} is missing")
    info = meta["leaves"][i]
    if not isinstance(info, dict):
        raise _fail(path, f"the description of {name!r} is malformed")
    array = archive[name]
    if array.dtype.kind not in _ARRAY_KINDS:
        raise _fail(path, f"entry {name!r} has dtype {array.dtype}, which no checkpoint holds")
    if array.dtype.str != info.get("dtype") or list(array.shape) != info.get("shape"):
        raise _fail(
            path,
            f"entry {name!r} is {array.dtype.str}{list(array.shape)} but the "
            f"description says {info.get('dtype')}{info.get('shape')}",
        )
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
        with np.load(path, allow_pickle=False) as archive:
            meta = _read_meta(path, archive)
            leaves = meta["leaves"]
            expected = {_META, *(f"leaf_{i}" for i in range(len(leaves)))}
            if set(archive.files) != expected:
                extra = sorted(set(archive.files) - expected)
                missing = sorted(expected - set(archive.files))
                raise _fail(path, f"entries {missing} are missing and {extra} unexpected")

            def leaf_at(i):
                if not 0 <= i < len(leaves):
                    raise _fail(path, f"leaf reference {i} out of range")
                return _read_leaf(path, archive, meta, i)

            used = set()
            tree = _decode(path, meta["tree"], leaf_at, used)
            if len(used) != len(leaves):
                raise _fail(path, f"{len(leaves) - len(used)} stored leaves are not in the tree")
    except CheckpointError:
        raise
    except RecursionError:
        raise _fail(path, "the tree description is nested too deeply") from None
    except Exception as e:  # BadZipFile, a bad CRC, EOFError, zlib.error, a bad .npy header...
        raise _fail(path, f"corrupt or truncated checkpoint ({type(e).__name__}: {e})") from e
    return tree if like is None else _restructure(path, tree, like)
