"""Versioned, checksummed files: one JSON header plus named arrays in an ``.npz``.

Used by every saved object (Graph, Program, RunResult), so a truncated,
corrupt, foreign or future file raises the same :class:`FileFormatError`.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from neurocore.errors import FileFormatError
from neurocore.progress import savez_compressed

__all__ = ["write_npz", "read_npz", "encode_meta", "decode_meta"]


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(k.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def write_npz(path, kind: str, version: int, header: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` and a JSON ``header`` tagged with ``kind`` and ``version``."""
    path = Path(path)
    head = {"format": f"neurocore.{kind}", "version": version, "sha256": _digest(arrays), **header}
    buf = io.BytesIO()
    savez_compressed(buf, {"__header__": np.frombuffer(json.dumps(head).encode(), np.uint8), **arrays},
                     desc=f"saving {path.name}")  # np.savez_compressed's format, with a bar for large files
    path.write_bytes(buf.getvalue())
    return path


def read_npz(path, kind: str, version: int) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`write_npz`, checking kind, version and checksum."""
    path = Path(path)
    what = f"'{path}'"
    if not path.is_file():
        raise FileFormatError(f"{what} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError) as exc:
        raise FileFormatError(f"{what} is not a readable neurocore {kind} file (truncated or corrupt?): {exc}") from None
    if "__header__" not in arrays:
        raise FileFormatError(f"{what} has no neurocore header; it was not written by neurocore")
    try:
        head = json.loads(arrays.pop("__header__").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"{what}: header is corrupt ({exc})") from None
    fmt = head.get("format")
    if fmt != f"neurocore.{kind}":
        raise FileFormatError(f"{what} holds a {fmt!r}, not a neurocore.{kind}")
    if head.get("version") != version:
        raise FileFormatError(f"{what} is {kind} format version {head.get('version')!r}; this neurocore reads "
                              f"version {version}: re-create the file with this version")
    if head.get("sha256") != _digest(arrays):
        raise FileFormatError(f"{what}: checksum mismatch, the arrays were modified or corrupted")
    return head, arrays


#: Meta entries that live only in memory and are left out of files on purpose:
#: the converter's float twin (float weights, for comparing float and integer runs).
TRANSIENT_META = frozenset({"float_snn"})


def _savable_types() -> dict:
    """Types a meta entry may have to be saved as an object: codecs and conversion reports."""
    try:
        from neurocore.convert.encode import CODEC_TYPES
        from neurocore.convert.report import ConversionReport
    except ImportError:  # pragma: no cover - the convert package is part of neurocore
        return {}
    return {**CODEC_TYPES, "ConversionReport": ConversionReport}


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

    known = _savable_types()
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
    known = _savable_types()
    out = {}
    for k, v in meta.items():
        if isinstance(v, dict) and "__type__" in v:
            cls = known.get(v["__type__"])
            if cls is None:
                raise FileFormatError(f"meta entry {k!r} has unknown type {v['__type__']!r}")
            out[k] = cls.from_dict(v["data"])
        else:
            out[k] = v
    return out
