"""The results store: one SQLite file, one row per finished point, committed as it completes.

A store belongs to one model and one data set: its ``meta`` table records their
fingerprints, and opening it with another model or data raises
:class:`~neurocore.errors.StoreMismatchError`. A point's key hashes its full build
(chip fields, conversion and compile options), ``n_steps``, the evaluation settings
(energy and baseline profiles, seed, replicates) and the neurocore version, with the
model and data fingerprints: rerunning a study skips every stored key.

Only the client process writes the store; SQLite's transactions make each commit
all-or-nothing, so a crash loses at most the points not yet committed.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from neurocore.errors import StoreMismatchError, StudyError

__all__ = ["Store", "canonical_json", "fingerprint_data", "fingerprint_model", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY, config TEXT NOT NULL, build TEXT NOT NULL, settings TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')), metrics TEXT, sd TEXT, reports TEXT,
    error TEXT, seed INTEGER NOT NULL, versions TEXT NOT NULL, task_s REAL, finished_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations (
    run TEXT NOT NULL, n INTEGER NOT NULL, generation INTEGER NOT NULL, key TEXT NOT NULL, PRIMARY KEY (run, n));
"""

_COLUMNS = ("key", "config", "build", "settings", "status", "metrics", "sd", "reports", "error", "seed", "versions",
            "task_s", "finished_at")
_JSON_COLUMNS = ("config", "build", "settings", "metrics", "sd", "reports", "versions")


def _plain(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (set, frozenset, tuple)):
        return list(x)
    raise TypeError(f"{type(x).__name__} is not JSON serialisable")


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no spaces: equal objects give equal strings (and hashes)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_plain, allow_nan=True)


def _hash_array(h, a: Any) -> None:
    a = np.ascontiguousarray(np.asarray(a))
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes() if a.dtype.kind != "O" else repr(a.tolist()).encode())


def fingerprint_data(*arrays: Any) -> str:
    """SHA-256 of arrays' dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for a in arrays:
        _hash_array(h, a)
    return h.hexdigest()


def fingerprint_model(model: Any, sample: np.ndarray) -> str:
    """SHA-256 of a model's weights: every parameter of every op its reader produces, in order,
    plus its class labels. Two models with the same weights and labels have the same print."""
    from neurocore.convert._convert import read_model

    x = np.asarray(sample, np.float64)
    ops, info = read_model(model, x.shape[1:], x)
    h = hashlib.sha256(str(info.get("format", "")).encode())
    for op in ops:
        h.update(f"{op.kind}|{op.inputs}".encode())
        for k in sorted(op.params):
            v = op.params[k]
            h.update(k.encode())
            _hash_array(h, v) if isinstance(v, np.ndarray) else h.update(repr(v).encode())
    classes = getattr(model, "classes_", None)
    if classes is not None:
        _hash_array(h, classes)
    return h.hexdigest()


class Store:
    """A study's SQLite file.

    Parameters
    ----------
    path : str or Path
        The file (created with its folder if missing).
    fingerprint : dict, optional
        ``{"model": sha256, "data": sha256}``. A new store records it; an existing store
        must match it. None opens a store for reading whatever it holds.

    Raises
    ------
    StoreMismatchError
        The store holds points of another model or data set.
    StudyError
        The file is not a neurocore study store (or another schema version).
    """

    def __init__(self, path: str | Path, fingerprint: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        if fingerprint is None and not self.path.is_file():
            raise StudyError(f"study store '{self.path}' does not exist")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0)
            self._db.executescript(_SCHEMA)
            meta = dict(self._db.execute("SELECT name, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            raise StudyError(f"'{self.path}' is not a neurocore study store (SQLite says: {exc}); give a new "
                             "path or the store a previous study wrote") from None
        if not meta:
            if fingerprint is not None:
                self._init_meta(fingerprint)
        else:
            self._check_meta(meta, fingerprint)

    def _init_meta(self, fp: Mapping[str, str]) -> None:
        import neurocore

        rows = {"schema_version": str(SCHEMA_VERSION), "model": fp["model"], "data": fp["data"],
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "created_by": f"neurocore {neurocore.__version__}"}
        with self._db:
            self._db.executemany("INSERT INTO meta (name, value) VALUES (?, ?)", rows.items())

    def _check_meta(self, meta: dict, fp: Mapping[str, str] | None) -> None:
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise StudyError(f"study store '{self.path}' has schema version {meta.get('schema_version')!r}; this "
                             f"neurocore reads version {SCHEMA_VERSION}: start a new store")
        for what in ("model", "data"):
            if fp is not None and meta.get(what) != fp[what]:
                raise StoreMismatchError(
                    f"study store '{self.path}' holds points of another {what} (fingerprint "
                    f"{meta.get(what, '?')[:12]}, this {what} has {fp[what][:12]}); its points would not be "
                    f"comparable: give a new store path for this {what}, or the {what} the store was made with")

    @property
    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT name, value FROM meta"))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- points --------------------------------------------------------------------------
    def keys(self) -> set[str]:
        """Keys of every stored point (finished or failed)."""
        return {k for (k,) in self._db.execute("SELECT key FROM points")}

    def __contains__(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM points WHERE key = ?", (key,)).fetchone() is not None

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0])

    def put(self, row: Mapping[str, Any]) -> None:
        """Insert one finished point and commit. A key already stored raises :class:`StudyError`."""
        values = [canonical_json(row.get(c)) if c in _JSON_COLUMNS else row.get(c) for c in _COLUMNS]
        values[_COLUMNS.index("finished_at")] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        try:
            with self._db:
                self._db.execute(f"INSERT INTO points ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                                 values)
        except sqlite3.IntegrityError as exc:
            raise StudyError(f"point {row.get('key')} is already in store '{self.path}' ({exc})") from None

    def rows(self, keys: Iterable[str] | None = None, reports: bool = False) -> list[dict[str, Any]]:
        """Stored points as dicts (JSON columns decoded), in insertion order or in ``keys`` order."""
        cols = [c for c in _COLUMNS if reports or c != "reports"]
        sql = f"SELECT {', '.join(cols)} FROM points"
        found = [dict(zip(cols, r)) for r in self._db.execute(sql + " ORDER BY rowid")]
        for r in found:
            for c in _JSON_COLUMNS:
                if c in r and r[c] is not None:
                    r[c] = json.loads(r[c])
        if keys is None:
            return found
        by_key = {r["key"]: r for r in found}
        return [by_key[k] for k in keys if k in by_key]

    # ---- search history ------------------------------------------------------------------
    def log_evaluations(self, run: str, start: int, generation: int, keys: list[str]) -> None:
        """Record which points a search evaluated, in order (cache hits included)."""
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO evaluations (run, n, generation, key) VALUES (?, ?, ?, ?)",
                                 [(run, start + i, generation, k) for i, k in enumerate(keys)])

    def evaluations(self, run: str) -> list[tuple[int, str]]:
        """``(generation, key)`` of each evaluation of search ``run``, in order."""
        return [(g, k) for g, k in self._db.execute("SELECT generation, key FROM evaluations WHERE run = ? ORDER BY n",
                                                    (run,))]
