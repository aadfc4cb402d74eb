"""Space: the grid of chip, conversion, compile and timestep choices a study explores.

A point of the space is a flat config, one value per dimension, e.g.
``{"chip.weight_bits": 4, "convert.percentile": 99.9, "n_steps": 16}``. Points are
ordered with ``n_steps`` innermost, so consecutive points share one (chip,
conversion, compile) build and its compiled Program.
"""
from __future__ import annotations

import dataclasses
import inspect
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from neurocore.chip.presets import loihi
from neurocore.chip.spec import ChipSpec
from neurocore.errors import StudyError

__all__ = ["Space", "STOCHASTIC_ENCODINGS", "Build"]

#: Encodings whose spikes depend on the run seed: their points run ``replicates`` seeds.
#: (``rate`` is deterministic in :mod:`neurocore.convert.encode`: regular spikes.)
STOCHASTIC_ENCODINGS = frozenset({"poisson"})

_SCALARS = (bool, int, float, str, type(None))


def _kwargs_of(fn, skip: tuple[str, ...]) -> set[str]:
    return {n for n, p in inspect.signature(fn).parameters.items()
            if n not in skip and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def _convert_keys() -> set[str]:
    from neurocore.convert._convert import convert

    return _kwargs_of(convert, ("model", "calibration", "chip"))


def _compile_keys() -> set[str]:
    from neurocore.mapping._compile import compile as compile_

    return _kwargs_of(compile_, ("graph", "chip", "traffic"))


def _values(group: str, name: str, values: Any) -> tuple:
    where = f"Space {group}[{name!r}]"
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise StudyError(f"{where} must be a list of values to try, got {values!r}; write [{values!r}] for one value")
    if len(values) == 0:
        raise StudyError(f"{where} is an empty list; give at least one value")
    out = []
    for v in values:
        if hasattr(v, "item") and not isinstance(v, _SCALARS):  # numpy scalar
            v = v.item()
        if not isinstance(v, _SCALARS) or (isinstance(v, float) and not math.isfinite(v)):
            raise StudyError(f"{where} holds {v!r}; values must be finite numbers, strings, booleans or None "
                             "(they are stored as JSON)")
        out.append(v)
    if len({(type(v), v) for v in out}) != len(out):
        raise StudyError(f"{where} repeats a value ({out}); list each value once")
    return tuple(out)


@dataclass(frozen=True)
class Build:
    """What one compiled Program depends on: the chip, the conversion and compile options."""

    chip: dict[str, Any]
    convert: dict[str, Any]
    compile: dict[str, Any]

    def key(self) -> tuple:
        return tuple(sorted(self.chip.items())), tuple(sorted(self.convert.items())), tuple(sorted(self.compile.items()))


@dataclass(frozen=True)
class Space:
    """The choices a design-space study explores (a Cartesian grid).

    Parameters
    ----------
    chip : ChipSpec
        The base chip; ``chip_fields`` replace some of its fields.
    chip_fields : dict[str, list]
        ChipSpec field -> values, e.g. ``{"weight_bits": [2, 4, 8], "neurons_per_core": [256, 1024]}``.
    convert : dict[str, list]
        :func:`neurocore.convert` keyword -> values, e.g. ``{"percentile": [99.0, 99.9],
        "encoding": ["direct", "rate"]}``.
    n_steps : list[int]
        Timesteps per inference.
    compile : dict[str, list]
        :func:`neurocore.compile` keyword -> values (``placement``, ``packing``, ``conv_storage``, ...).

    Raises
    ------
    StudyError
        Unknown field or keyword (named), an empty or non-list dimension, a repeated value,
        a non-positive ``n_steps``.
    """

    chip: ChipSpec = field(default_factory=loihi)
    chip_fields: Mapping[str, Sequence] = field(default_factory=dict)
    convert: Mapping[str, Sequence] = field(default_factory=dict)
    n_steps: Sequence[int] = (32,)
    compile: Mapping[str, Sequence] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.chip, ChipSpec):
            raise StudyError(f"Space chip must be a ChipSpec (e.g. nc.chip.loihi()), got {type(self.chip).__name__}")
        known = {"chip_fields": {f.name for f in dataclasses.fields(ChipSpec)} - {"name"},
                 "convert": _convert_keys(), "compile": _compile_keys()}
        for group, names in known.items():
            given = getattr(self, group)
            if not isinstance(given, Mapping):
                raise StudyError(f"Space {group} must be a dict of name -> list of values, got {given!r}")
            unknown = sorted(set(given) - names)
            if unknown:
                raise StudyError(f"Space {group} has unknown name(s) {unknown}; choose from {sorted(names)}")
            object.__setattr__(self, group, {k: _values(group, k, v) for k, v in given.items()})
        steps = _values("n_steps", "", self.n_steps) if not isinstance(self.n_steps, int) else (self.n_steps,)
        for t in steps:
            if not isinstance(t, int) or isinstance(t, bool) or t < 1:
                raise StudyError(f"Space n_steps holds {t!r}; each must be a positive int")
        object.__setattr__(self, "n_steps", steps)

    # ---- dimensions and points ---------------------------------------------------------
    @property
    def dimensions(self) -> dict[str, tuple]:
        """Dimension name -> its values, in point order (``n_steps`` last)."""
        dims = {f"chip.{k}": v for k, v in self.chip_fields.items()}
        dims.update({f"convert.{k}": v for k, v in self.convert.items()})
        dims.update({f"compile.{k}": v for k, v in self.compile.items()})
        dims["n_steps"] = self.n_steps
        return dims

    def __len__(self) -> int:
        return math.prod(len(v) for v in self.dimensions.values())

    def points(self) -> list[dict[str, Any]]:
        """Every config of the grid, ``n_steps`` varying fastest."""
        dims = self.dimensions
        return [dict(zip(dims, combo)) for combo in itertools.product(*dims.values())]

    def check(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` as a full point of this space, or a :class:`StudyError` naming what is off."""
        dims = self.dimensions
        extra = sorted(set(config) - set(dims))
        missing = sorted(set(dims) - set(config))
        if extra or missing:
            raise StudyError(f"config {dict(config)} does not match the space: unknown {extra}, missing {missing}")
        return {k: config[k] for k in dims}

    def build_of(self, config: Mapping[str, Any]) -> Build:
        """The (chip, conversion, compile) options of a point (the chip as a dict of all its fields)."""
        chip = dataclasses.asdict(self.chip)
        groups: dict[str, dict] = {"chip": chip, "convert": {}, "compile": {}}
        for name, value in config.items():
            group, _, key = name.partition(".")
            if group in groups:
                groups[group][key] = value
        return Build(chip=chip, convert=groups["convert"], compile=groups["compile"])

    # ---- files ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the chip with all its fields); :meth:`from_dict` reads it back."""
        return {"chip": dataclasses.asdict(self.chip), "chip_fields": {k: list(v) for k, v in self.chip_fields.items()},
                "convert": {k: list(v) for k, v in self.convert.items()}, "n_steps": list(self.n_steps),
                "compile": {k: list(v) for k, v in self.compile.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Space:
        """A Space from a dict; ``chip`` is a preset name, a dict of ChipSpec fields, or a dict
        ``{"preset": name, field: value, ...}``."""
        unknown = sorted(set(d) - {"chip", "chip_fields", "convert", "n_steps", "compile"})
        if unknown:
            raise StudyError(f"space has unknown key(s) {unknown}; a space has chip, chip_fields, convert, "
                             "n_steps and compile")
        return cls(chip=chip_from(d.get("chip", "loihi")), chip_fields=d.get("chip_fields", {}),
                   convert=d.get("convert", {}), n_steps=d.get("n_steps", [32]), compile=d.get("compile", {}))


def chip_from(spec: Any) -> ChipSpec:
    """A ChipSpec from a preset name, a ChipSpec, or a dict of fields (optionally with ``preset``)."""
    from neurocore.chip import presets

    if isinstance(spec, ChipSpec):
        return spec
    if isinstance(spec, str):
        spec = {"preset": spec}
    if not isinstance(spec, Mapping):
        raise StudyError(f"space chip must be a preset name or a dict of ChipSpec fields, got {spec!r}")
    spec = dict(spec)
    preset = spec.pop("preset", None)
    try:
        base = presets.get(preset) if preset is not None else None
    except (KeyError, ValueError) as exc:
        raise StudyError(f"space chip preset {preset!r}: {exc}") from None
    fields = {f.name for f in dataclasses.fields(ChipSpec)}
    unknown = sorted(set(spec) - fields)
    if unknown:
        raise StudyError(f"space chip has unknown field(s) {unknown}; ChipSpec fields are {sorted(fields)}")
    return dataclasses.replace(base, **spec) if base is not None else ChipSpec(**spec)
