"""The file layer knows saved meta types only through its registry (``neurocore._io.META_TYPES``)."""
import ast
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest

import neurocore as nc
from neurocore import _io
from neurocore.errors import FileFormatError


@dataclass
class _Note:
    text: str
    n: int

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "_Note":
        return cls(**d)


def test_converter_types_are_registered_by_their_stage():
    from neurocore.convert.encode import CODEC_TYPES
    from neurocore.convert.report import ConversionReport

    for name, cls in {**CODEC_TYPES, "ConversionReport": ConversionReport}.items():
        assert _io.META_TYPES[name] is cls


def test_io_imports_nothing_above_it():
    tree = ast.parse(Path(_io.__file__).read_text())
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m for m in mods if m.startswith("neurocore")} <= {"neurocore.errors", "neurocore.progress"}


def test_a_registered_type_round_trips_through_a_graph_file(tmp_path, monkeypatch):
    monkeypatch.setattr(_io, "META_TYPES", dict(_io.META_TYPES))
    _io.register_meta_type(_Note)
    g = nc.Graph()
    a = g.input(3, name="a")
    b = g.population(2, nc.IF(vth=5), name="b")
    g.connect(a, b, weights=np.ones((2, 3), np.int64))
    g.meta["note"] = _Note("hello", 3)
    g.save(tmp_path / "g.npz")
    assert nc.Graph.load(tmp_path / "g.npz").meta["note"] == _Note("hello", 3)
    # the same file read without the type registered names the entry and the type
    monkeypatch.setattr(_io, "META_TYPES", {k: v for k, v in _io.META_TYPES.items() if k != "_Note"})
    with pytest.raises(FileFormatError, match=r"meta entry 'note' has unknown type '_Note'"):
        nc.Graph.load(tmp_path / "g.npz")


def test_register_refuses_bad_types(monkeypatch):
    monkeypatch.setattr(_io, "META_TYPES", dict(_io.META_TYPES))
    with pytest.raises(TypeError, match="needs to_dict"):
        _io.register_meta_type(int)
    clash = type("ConversionReport", (_Note,), {})
    with pytest.raises(TypeError, match="already registered by neurocore.convert.report.ConversionReport"):
        _io.register_meta_type(clash)
    assert _io.register_meta_type(_io.META_TYPES["RateCodec"]) is _io.META_TYPES["RateCodec"]  # idempotent
