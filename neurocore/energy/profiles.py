"""Energy profiles: named, cited per-operation energies, latencies and powers.

A profile is a JSON file (the shipped ones live in ``neurocore/energy/profiles/``)
or a plain dict of the same shape::

    {
      "name": "loihi", "kind": "chip", "scope": "per_term",
      "citations": ["Davies et al., IEEE Micro 2018, Table 2", ...],
      "entries": {
        "synop": {"value": 23.6, "unit": "pJ", "source": "Davies 2018 Table 2"},
        "barrier_sync": {"value": null, "unit": "pJ", "unpublished": true,
                         "source": "not published"},
        ...
      }
    }

``kind`` is ``"chip"`` (priced from the simulator's counters) or ``"dense"`` (a
dense baseline; it also names a ``model``: ``"memory_hierarchy"`` or
``"roofline"``, and a ``precision`` such as ``"int8"``). ``scope`` is
``"per_term"`` (each counter priced on its own) or ``"all_in"`` (one published
figure that already holds routing, neuron updates and leakage; nothing else is
added).

Each entry holds a ``value`` in ``unit`` and a ``source``. An entry may instead be
declared ``"unpublished": true`` (priced 0 and flagged in the report) or
``"included_in": "<other entry>"`` (priced 0 because the other entry already
contains it; noted, not flagged). Optional fields: ``note``, ``range``
(``[low, high]`` in ``unit``) and ``table`` (``[[x, value], ...]``, used for the
barrier-sync latency as a function of tiles used).
"""
from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurocore.errors import FileFormatError, ProfileError

__all__ = ["PRECISION_BITS", "UNITS", "Entry", "Profile", "list_profiles", "load_profile"]

PROFILE_DIR = Path(__file__).parent / "profiles"

#: SI factor of every unit a profile may use (energy -> J, time -> s, power -> W).
UNITS: dict[str, float] = {
    "J": 1.0, "pJ": 1e-12, "nJ": 1e-9, "uJ": 1e-6,
    "s": 1.0, "ns": 1e-9, "us": 1e-6, "ms": 1e-3,
    "W": 1.0, "mW": 1e-3,
    "op/s": 1.0, "Top/s": 1e12,
    "B/s": 1.0, "TB/s": 1e12,
    "count": 1.0,
}

#: Bits per value of each dense-baseline precision (weights and activations).
PRECISION_BITS: dict[str, int] = {"int8": 8, "fp8": 8, "fp16": 16, "bf16": 16, "tf32": 32, "fp32": 32}

KINDS = ("chip", "dense")
SCOPES = ("per_term", "all_in")
DENSE_MODELS = ("memory_hierarchy", "roofline", "gpu", "measured")
_ENTRY_FIELDS = {"value", "unit", "source", "unpublished", "included_in", "note", "range", "table"}
_TOP_FIELDS = {"format", "name", "kind", "scope", "description", "citations", "entries",
               "model", "precision", "memory_levels", "measurement", "timing"}
#: Chip-time models a chip profile may name (``"timing"``; see :mod:`neurocore.energy._estimate`).
TIMINGS = ("neurocore", "sanafe-simple")


@dataclass(frozen=True)
class Entry:
    """One priced number of a profile.

    Attributes
    ----------
    value : float or None
        The number in ``unit``; None when unpublished or included in another entry.
    unit : str
        One of :data:`UNITS` (pJ, ns, W, Top/s, ...).
    source : str
        Where the number comes from (paper, table, code and commit).
    unpublished : bool
        True when no published number exists; priced 0 and flagged.
    included_in : str or None
        Name of another entry that already contains this cost; priced 0.
    note : str
        Free-text caveat.
    range : tuple of float or None
        Published (low, high) in ``unit`` when the source gives a range.
    table : tuple of (float, float) or None
        (x, value) points, e.g. barrier-sync latency against tiles used.
    """

    value: float | None
    unit: str
    source: str
    unpublished: bool = False
    included_in: str | None = None
    note: str = ""
    range: tuple[float, float] | None = None
    table: tuple[tuple[float, float], ...] | None = None

    @property
    def priced(self) -> bool:
        """True when the entry carries a number that is charged."""
        return not self.unpublished and self.included_in is None

    @property
    def si(self) -> float:
        """The value in SI units (J, s, W, op/s, B/s); 0.0 when not priced."""
        return self.value * UNITS[self.unit] if self.priced else 0.0

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"value": self.value, "unit": self.unit, "source": self.source}
        if self.unpublished:
            d["unpublished"] = True
        if self.included_in is not None:
            d["included_in"] = self.included_in
        if self.note:
            d["note"] = self.note
        if self.range is not None:
            d["range"] = list(self.range)
        if self.table is not None:
            d["table"] = [list(p) for p in self.table]
        return d


@dataclass(frozen=True)
class Profile:
    """A named, cited energy profile (see the module docstring for the format).

    Attributes
    ----------
    name : str
    kind : str
        ``"chip"`` or ``"dense"``.
    scope : str
        ``"per_term"`` or ``"all_in"``.
    entries : dict of str to Entry
    citations : tuple of str
    description : str
    model : str or None
        Dense baselines only: ``"memory_hierarchy"`` or ``"roofline"``.
    precision : str or None
        Dense baselines only: default precision of MACs, weights and activations.
    memory_levels : tuple of (str, int or None)
        ``memory_hierarchy`` only: (entry name, capacity in bytes) from the
        smallest level up; the last level (capacity None) holds anything.
    measurement : dict or None
        ``measured`` only: how the timings were taken (date, host, CPU, threads,
        command, library versions, power attribution) and the network they were
        taken on (``layers``: n_src, n_dst, dense_macs, recurrent per layer).
    timing : str
        Chip profiles: the chip-time model (``"neurocore"`` or ``"sanafe-simple"``).
    """

    name: str
    kind: str
    scope: str
    entries: Mapping[str, Entry]
    citations: tuple[str, ...]
    description: str = ""
    model: str | None = None
    precision: str | None = None
    memory_levels: tuple[tuple[str, int | None], ...] = field(default=())
    measurement: Mapping[str, Any] | None = None
    timing: str = "neurocore"

    def entry(self, key: str, needed_for: str = "") -> Entry:
        """Return entry ``key`` or raise :class:`ProfileError` naming profile and key.

        Raises
        ------
        ProfileError
            If the profile has no entry ``key``.
        """
        try:
            return self.entries[key]
        except KeyError:
            why = f" (needed for {needed_for})" if needed_for else ""
            raise ProfileError(
                f"profile '{self.name}' has no entry '{key}'{why}; add it with a value, unit and source, "
                f"or declare it {{\"unpublished\": true}} to price it 0 and flag it") from None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict that :func:`load_profile` reads back."""
        d: dict[str, Any] = {"format": "neurocore-energy-profile/1", "name": self.name, "kind": self.kind,
                             "scope": self.scope, "description": self.description,
                             "citations": list(self.citations)}
        if self.kind == "dense":
            d["model"], d["precision"] = self.model, self.precision
            if self.memory_levels:
                d["memory_levels"] = [list(lv) for lv in self.memory_levels]
            if self.measurement is not None:
                d["measurement"] = json.loads(json.dumps(self.measurement))
        if self.timing != "neurocore":
            d["timing"] = self.timing
        d["entries"] = {k: e.to_dict() for k, e in self.entries.items()}
        return d


def list_profiles() -> list[str]:
    """Names of the shipped profiles, sorted."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.json"))


def load_profile(profile: str | Path | Mapping[str, Any] | Profile) -> Profile:
    """Load a profile by shipped name, JSON file path, or dict.

    Parameters
    ----------
    profile : str, pathlib.Path, dict or Profile
        A name from :func:`list_profiles`, a path to a JSON file, a dict of the
        same shape, or a :class:`Profile` (returned unchanged).

    Returns
    -------
    Profile

    Raises
    ------
    ProfileError
        Unknown name, or a malformed profile (says which field and where).
    FileFormatError
        The file is not valid JSON (says the line and column).
    """
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, Mapping):
        return _parse(profile, where="<dict>")
    if isinstance(profile, (str, Path)):
        text = str(profile)
        if isinstance(profile, str) and text in list_profiles():
            return _read(PROFILE_DIR / f"{text}.json")
        path = Path(profile)
        if path.suffix == ".json" or path.exists():
            return _read(path)
        raise ProfileError(f"unknown energy profile '{text}'; choose one of {list_profiles()} "
                           "or pass a path to a JSON file or a dict")
    raise ProfileError(f"an energy profile must be a name, a path or a dict, got {type(profile).__name__}")


def _read(path: Path) -> Profile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"cannot read energy profile file {str(path)!r}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"energy profile file {str(path)!r} is not valid JSON: {exc.msg} "
                              f"at line {exc.lineno}, column {exc.colno}") from exc
    return _parse(data, where=str(path))


def _fail(where: str, msg: str) -> ProfileError:
    return ProfileError(f"energy profile {where}: {msg}")


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _parse(data: Any, where: str) -> Profile:
    if not isinstance(data, Mapping):
        raise _fail(where, f"top level must be a JSON object, got {type(data).__name__}")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise _fail(where, "'name' must be a non-empty string")
    where = f"'{name}' ({where})"
    unknown = set(data) - _TOP_FIELDS
    if unknown:
        raise _fail(where, f"unknown field(s) {sorted(unknown)}; allowed: {sorted(_TOP_FIELDS)}")
    kind, scope = data.get("kind"), data.get("scope")
    if kind not in KINDS:
        raise _fail(where, f"'kind' is {kind!r}; choose one of {KINDS}")
    if scope not in SCOPES:
        raise _fail(where, f"'scope' is {scope!r}; choose one of {SCOPES}")
    cites = data.get("citations")
    if not isinstance(cites, list) or not cites or not all(isinstance(c, str) and c for c in cites):
        raise _fail(where, "'citations' must be a non-empty list of strings")
    raw = data.get("entries")
    if not isinstance(raw, Mapping) or not raw:
        raise _fail(where, "'entries' must be a non-empty object of name -> {value, unit, source}")
    entries = {str(k): _parse_entry(v, f"{where}, entry '{k}'") for k, v in raw.items()}
    for k, e in entries.items():
        if e.included_in is not None and e.included_in not in entries:
            raise _fail(where, f"entry '{k}' is included_in '{e.included_in}', which is not an entry")
    model = precision = measurement = None
    levels: tuple[tuple[str, int | None], ...] = ()
    if kind == "dense":
        model, precision = data.get("model"), data.get("precision")
        if model not in DENSE_MODELS:
            raise _fail(where, f"dense profile 'model' is {model!r}; choose one of {DENSE_MODELS}")
        if precision not in PRECISION_BITS:
            raise _fail(where, f"dense profile 'precision' is {precision!r}; choose one of {list(PRECISION_BITS)}")
        levels = _parse_levels(data.get("memory_levels"), entries, where) if model == "memory_hierarchy" else ()
        measurement = _parse_measurement(data.get("measurement"), where) if model == "measured" else None
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _fail(where, "'description' must be a string")
    timing = data.get("timing", "neurocore")
    if timing not in TIMINGS:
        raise _fail(where, f"'timing' is {timing!r}; choose one of {TIMINGS}")
    return Profile(name=name, kind=kind, scope=scope, entries=entries, citations=tuple(cites),
                   description=description, model=model, precision=precision, memory_levels=levels,
                   measurement=measurement, timing=timing)


def _parse_measurement(raw: Any, where: str) -> dict[str, Any]:
    msg = ("a 'measured' dense profile needs a 'measurement' object with 'layers' (a list of {n_src, n_dst, "
           "dense_macs, recurrent}) and 'batches' (the measured batch sizes); bench/measure_dense.py writes one")
    if not isinstance(raw, Mapping):
        raise _fail(where, msg)
    layers, batches = raw.get("layers"), raw.get("batches")
    keys = ("n_src", "n_dst", "dense_macs", "recurrent")
    if not (isinstance(layers, list) and layers and all(isinstance(x, Mapping) and all(k in x for k in keys)
                                                         for x in layers)):
        raise _fail(where, msg)
    if not (isinstance(batches, list) and batches and all(isinstance(b, int) and not isinstance(b, bool) and b > 0
                                                          for b in batches)):
        raise _fail(where, msg)
    return json.loads(json.dumps(dict(raw)))


def _parse_levels(raw: Any, entries: Mapping[str, Entry], where: str) -> tuple[tuple[str, int | None], ...]:
    msg = "'memory_levels' must be a list of [entry name, capacity bytes] from small to large; the last capacity null"
    if not isinstance(raw, list) or not raw:
        raise _fail(where, msg)
    out: list[tuple[str, int | None]] = []
    for i, lv in enumerate(raw):
        last = i == len(raw) - 1
        if not (isinstance(lv, list) and len(lv) == 2 and isinstance(lv[0], str)):
            raise _fail(where, msg)
        cap = lv[1]
        if last:
            if cap is not None:
                raise _fail(where, msg)
        elif not (isinstance(cap, int) and not isinstance(cap, bool) and cap > 0):
            raise _fail(where, msg)
        if lv[0] not in entries:
            raise _fail(where, f"memory level '{lv[0]}' is not an entry")
        out.append((lv[0], cap))
    return tuple(out)


def _parse_entry(raw: Any, where: str) -> Entry:
    if not isinstance(raw, Mapping):
        raise _fail(where, "must be an object with value, unit and source")
    unknown = set(raw) - _ENTRY_FIELDS
    if unknown:
        raise _fail(where, f"unknown field(s) {sorted(unknown)}; allowed {sorted(_ENTRY_FIELDS)}")
    unit, source = raw.get("unit"), raw.get("source")
    if unit not in UNITS:
        raise _fail(where, f"unit {unit!r} is not one of {list(UNITS)}")
    if not isinstance(source, str) or not source.strip():
        raise _fail(where, "every entry needs a 'source' string citing where the number comes from")
    unpublished = raw.get("unpublished", False)
    if not isinstance(unpublished, bool):
        raise _fail(where, "'unpublished' must be true or false")
    included_in = raw.get("included_in")
    if included_in is not None and not isinstance(included_in, str):
        raise _fail(where, "'included_in' must name another entry")
    if unpublished and included_in is not None:
        raise _fail(where, "an entry is either unpublished or included_in another, not both")
    value = raw.get("value")
    if unpublished or included_in is not None:
        if value is not None and not _number(value):
            raise _fail(where, f"'value' must be a number or null, got {value!r}")
    elif not _number(value) or value < 0:
        raise _fail(where, f"'value' must be a finite number >= 0, got {value!r} "
                           "(declare \"unpublished\": true if no number is published)")
    rng = raw.get("range")
    if rng is not None:
        if not (isinstance(rng, list) and len(rng) == 2 and all(_number(x) for x in rng) and rng[0] <= rng[1]):
            raise _fail(where, "'range' must be [low, high] numbers")
        rng = (float(rng[0]), float(rng[1]))
    table = raw.get("table")
    if table is not None:
        ok = isinstance(table, list) and table and all(
            isinstance(p, list) and len(p) == 2 and all(_number(x) for x in p) for p in table)
        xs = [p[0] for p in table] if ok else []
        if not ok or any(b <= a for a, b in itertools.pairwise(xs)):
            raise _fail(where, "'table' must be [[x, value], ...] with increasing x")
        table = tuple((float(p[0]), float(p[1])) for p in table)
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise _fail(where, "'note' must be a string")
    return Entry(value=None if value is None else float(value), unit=unit, source=source,
                 unpublished=unpublished, included_in=included_in, note=note, range=rng, table=table)
