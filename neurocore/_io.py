"""Versioned, checksummed files: one JSON header plus named arrays in an ``.npz``.

Used by every saved object (Graph, Program, RunResult), so a truncated,
corrupt, foreign or future file raises the same :class:`FileFormatError`.

The SHA-256 checksum covers the JSON header and every array (name, dtype, shape,
bytes). It is stored in the file itself and anyone can recompute it, so it guards
against **accidents only** (a truncated copy, a flipped bit, a stray edit), not
against someone crafting a file: that is the job of the validators each loader
runs on what it read (:func:`neurocore.mapping.validate.validate_program` and
friends), which check every array's dtype, shape and index range before anything
runs. Files written before the checksum covered the header (no ``checksum_covers``
entry) are still read; their arrays are checked by the checksum and their header
by the validators only.

Every file neurocore writes goes through :func:`atomic_write`: the bytes go to a
temporary file in the target's directory, are flushed to disk (fsync) and then
renamed over the target (``os.replace``), so a failed write (full disk, killed
process) leaves the previous file intact and no partial file behind.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from neurocore.errors import FileFormatError, OutputError
from neurocore.progress import savez_compressed

__all__ = ["write_npz", "read_npz", "encode_meta", "decode_meta", "atomic_write", "atomic_path",
           "check_output_path", "check_output_dir"]

#: What the ``sha256`` entry of a file covers (absent in files from before it covered the header).
CHECKSUM_COVERS = "header+arrays"


def _digest(arrays: dict[str, np.ndarray], header: dict | None = None) -> str:
    """SHA-256 of the arrays and, when given, of the header (without its ``sha256`` entry)."""
    h = hashlib.sha256()
    if header is not None:
        head = {k: v for k, v in header.items() if k != "sha256"}
        h.update(json.dumps(head, sort_keys=True).encode())
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(k.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def check_output_path(path, what: str = "output") -> Path:
    """Check that ``path`` can be written, before any work is done.

    Raises :class:`OutputError` if its directory does not exist, is not a directory or is
    not writable, or if ``path`` itself is a directory. An existing file is fine (it is
    replaced atomically).
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"{what} path '{path}' is a directory; give a file name")
    if not parent.exists():
        raise OutputError(f"{what} path '{path}': directory '{parent}' does not exist; create it first")
    if not parent.is_dir():
        raise OutputError(f"{what} path '{path}': '{parent}' is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{what} path '{path}': directory '{parent}' is not writable")
    return path


def check_output_dir(path, what: str = "plot") -> Path:
    """Check that ``path`` can be a directory of outputs (made if missing), before any work.

    Raises :class:`OutputError` if ``path`` is an existing file, or if its nearest existing
    ancestor is not a writable directory.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{what} directory '{path}' is an existing file; give a directory")
    anc = path
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir() or not os.access(anc, os.W_OK | os.X_OK):
        raise OutputError(f"{what} directory '{path}' cannot be created: '{anc}' is not a writable directory")
    return path


def _write_error(path: Path, exc: OSError) -> OutputError:
    why = "the disk is full" if exc.errno == errno.ENOSPC else f"{type(exc).__name__}: {exc.strerror or exc}"
    return OutputError(f"could not write '{path}' ({why}); any previous file at that path is unchanged")


def _file_mode(path: Path) -> int:
    """Permissions for a new file at ``path``: the old file's, else 0o666 less the umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path, what: str = "output") -> Iterator[Path]:
    """Context manager: a temporary path next to ``path`` to write to, renamed over ``path`` on success.

    Use it for writers that need a file name (h5py, matplotlib). On any exception the
    temporary file is removed and ``path`` is left as it was; an ``OSError`` is re-raised
    as :class:`OutputError`.
    """
    path = check_output_path(path, what)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OutputError):
            raise
        raise _write_error(path, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path, data: bytes | str, what: str = "output") -> Path:
    """Write ``data`` to ``path`` atomically: temporary file in the same directory, fsync, rename.

    A failure (full disk, no permission) raises :class:`OutputError` and leaves any previous
    file at ``path`` intact and no temporary file behind.
    """
    if isinstance(data, str):
        data = data.encode()
    with atomic_path(path, what) as tmp:
        with open(tmp, "wb") as f:
            _write_bytes(f, data)
    return Path(path)


def _write_bytes(f, data: bytes) -> None:
    """The one place file bytes are written (tests replace it to simulate a full disk)."""
    f.write(data)
    f.flush()


def write_npz(path, kind: str, version: int, header: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` and a JSON ``header`` tagged with ``kind`` and ``version``, atomically."""
    path = check_output_path(path)
    head = {"format": f"neurocore.{kind}", "version": version, "checksum_covers": CHECKSUM_COVERS, **header}
    head = json.loads(json.dumps(head))  # the digest is taken over exactly what is read back
    head["sha256"] = _digest(arrays, head)
    buf = io.BytesIO()
    savez_compressed(buf, {"__header__": np.frombuffer(json.dumps(head).encode(), np.uint8), **arrays},
                     desc=f"saving {path.name}")  # np.savez_compressed's format, with a bar for large files
    return atomic_write(path, buf.getvalue())


def _read_arrays(path: Path, kind: str) -> dict[str, np.ndarray]:
    what = f"'{path}'"
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive")
        with z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError, NotImplementedError,
            RuntimeError, TypeError, MemoryError) as exc:
        why = f"{type(exc).__name__}: {exc}"
        if "allow_pickle" in str(exc):  # numpy's advice to unpickle would point the wrong way
            why = "it is not an .npz archive (numpy reads it as pickled data, which neurocore never loads)"
        raise FileFormatError(f"{what} is not a readable neurocore {kind} file (truncated or corrupt?): {why}") \
            from None


def read_npz(path, kind: str, version: int) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`write_npz`, checking kind, version and checksum."""
    path = Path(path)
    what = f"'{path}'"
    if path.is_dir():
        raise FileFormatError(f"{what} is a directory, not a neurocore {kind} file")
    if not path.is_file():
        raise FileFormatError(f"{what} does not exist")
    arrays = _read_arrays(path, kind)
    if "__header__" not in arrays:
        raise FileFormatError(f"{what} has no neurocore header; it was not written by neurocore")
    try:
        head = json.loads(arrays.pop("__header__").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise FileFormatError(f"{what}: header is corrupt ({exc})") from None
    if not isinstance(head, dict):
        raise FileFormatError(f"{what}: header is corrupt (not a JSON object)")
    fmt = head.get("format")
    if fmt != f"neurocore.{kind}":
        raise FileFormatError(f"{what} holds a {fmt!r}, not a neurocore.{kind}")
    if head.get("version") != version:
        raise FileFormatError(f"{what} is {kind} format version {head.get('version')!r}; this neurocore reads "
                              f"version {version}: re-create the file with this version")
    covers = head.get("checksum_covers")
    if covers not in (None, CHECKSUM_COVERS):
        raise FileFormatError(f"{what}: unknown checksum scope {covers!r}")
    expect = _digest(arrays, head if covers else None)
    if head.get("sha256") != expect:
        part = "the header or the arrays were" if covers else "the arrays were"
        raise FileFormatError(f"{what}: checksum mismatch, {part} modified or corrupted")
    for k, a in arrays.items():
        if a.dtype.kind not in "biuf":
            raise FileFormatError(f"{what}: array '{k}' has dtype {a.dtype}; neurocore files hold numbers only")
    return head, arrays


#: Meta entries that live only in memory and are left out of files on purpose:
#: the converter's float twin (float weights, for comparing float and integer runs).
TRANSIENT_META = frozenset({"float_snn"})


#: Type name -> class, for meta entries saved as objects (``{"__type__": name, "data": ...}``).
#: The stages that own such types register them (codecs and the conversion report, from
#: ``neurocore.convert``), so this file layer imports nothing above it.
META_TYPES: dict[str, type] = {}


def register_meta_type(cls: type) -> type:
    """Let meta entries of type ``cls`` be saved in and loaded from files; returns ``cls``.

    ``cls`` needs a ``to_dict()`` method returning JSON-able data and a ``from_dict(data)``
    classmethod inverting it; it is saved under its class name.

    Raises
    ------
    TypeError
        ``cls`` lacks ``to_dict``/``from_dict``, or another class already has its name.
    """
    name = cls.__name__
    if not (callable(getattr(cls, "to_dict", None)) and callable(getattr(cls, "from_dict", None))):
        raise TypeError(f"{name} cannot be a saved meta type: it needs to_dict() and a from_dict(data) classmethod")
    if META_TYPES.get(name, cls) is not cls:
        raise TypeError(f"meta type name {name!r} is already registered by {META_TYPES[name].__module__}.{name}; "
                        "rename the class")
    META_TYPES[name] = cls
    return cls


def _jsonable(v):
    if isinstance(v, (tuple, list)):
        return [_jsonable(i) for i in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(i) for k, i in v.items()}
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def encode_meta(meta: dict) -> dict:
    """Meta entries as JSON: plain values as they are, known objects tagged with their type.

    Entries in :data:`TRANSIENT_META` are left out; any other entry that cannot be
    saved is left out with a warning naming it.
    """
    import warnings

    known = META_TYPES
    out = {}
    for k, v in meta.items():
        if k in TRANSIENT_META:
            continue
        if type(v).__name__ in known and hasattr(v, "to_dict"):
            out[k] = {"__type__": type(v).__name__, "data": _jsonable(v.to_dict())}
            continue
        v = _jsonable(v)
        try:
            json.dumps(v)
        except TypeError:
            warnings.warn(f"meta entry {k!r} ({type(v).__name__}) cannot be saved and is left out", stacklevel=3)
            continue
        out[k] = v
    return out


def decode_meta(meta: dict) -> dict:
    """Inverse of :func:`encode_meta`."""
    known = META_TYPES
    out = {}
    if not isinstance(meta, dict):
        raise FileFormatError(f"meta must be a JSON object, got {type(meta).__name__}")
    for k, v in meta.items():
        if isinstance(v, dict) and "__type__" in v:
            cls = known.get(v["__type__"])
            if cls is None:
                raise FileFormatError(f"meta entry {k!r} has unknown type {v['__type__']!r}")
            try:
                out[k] = cls.from_dict(v["data"])
            except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
                raise FileFormatError(f"meta entry {k!r} ({v['__type__']}) is inconsistent: "
                                      f"{type(exc).__name__}: {exc}") from None
        else:
            out[k] = v
    return out
