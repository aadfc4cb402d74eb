"""Study files for ``neurocore sweep``: a space, the model and data it runs on, and the settings.

JSON always; YAML when PyYAML is installed (the ``dse`` extra). Paths are relative to
the file's folder::

    model: mlp.pkl                 # .pkl/.joblib (scikit-learn), .pt (torch), .onnx, or "demo"
    data: {calibration: xcal.npy, inputs: xtest.npy, labels: ytest.npy}   # omit with model: demo
    chip: loihi                    # a preset, or {preset: loihi, field: value, ...}
    chip_fields: {weight_bits: [4, 8], neurons_per_core: [256, 1024]}
    convert: {percentile: [99.0, 99.9], encoding: [direct, rate]}
    n_steps: [8, 16, 32]
    energy: loihi                  # optional: energy, baseline, seed, replicates, shard_size
    search: {objectives: [-accuracy, energy_per_inference_J], budget: 500}   # optional: NSGA-II
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from neurocore.dse.space import Space
from neurocore.errors import FileFormatError, StudyError

__all__ = ["load_study_file", "SETTINGS"]

#: Optional top-level keys passed to sweep/search as they are.
SETTINGS = ("energy", "baseline", "seed", "replicates", "shard_size")
_SPACE_KEYS = ("chip", "chip_fields", "convert", "n_steps", "compile")


def _read(path: Path) -> dict:
    if not path.is_file():
        raise FileFormatError(f"study file '{path}' does not exist")
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as exc:
            raise ImportError(f"reading '{path}' needs PyYAML: pip install \"neurocore[dse]\", or write the "
                              f"study as JSON ({exc})") from exc
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise FileFormatError(f"study file '{path}' is not valid YAML: {exc}") from None
    else:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FileFormatError(f"study file '{path}' is not valid JSON: {exc} (YAML files need a .yaml "
                                  "suffix)") from None
    if not isinstance(doc, dict):
        raise FileFormatError(f"study file '{path}' must hold a mapping (model, data, chip_fields, ...), got "
                              f"{type(doc).__name__}")
    return doc


def _model_and_data(doc: dict, folder: Path, trust: bool = False) -> tuple[Any, tuple]:
    from neurocore.cli import _load_array, load_model

    model = doc.get("model")
    if model is None:
        raise StudyError("study file names no model: add `model: PATH` (or `model: demo`)")
    if model == "demo":
        from neurocore.demo import digits_split, train_digits_mlp

        Xtr, Xte, ytr, yte = digits_split()
        data = doc.get("data")
        if data is not None:
            raise StudyError("`model: demo` brings its own data (scikit-learn digits); remove `data`")
        return train_digits_mlp(Xtr, ytr), (Xtr[:500], Xte, yte)
    data = doc.get("data")
    need = ("calibration", "inputs", "labels")
    if not isinstance(data, dict) or sorted(data) != sorted(need):
        raise StudyError(f"study file `data` must map exactly {list(need)} to .npy files, got {data!r}")
    arrays = tuple(_load_array(str(folder / data[k]), k) for k in need)
    return load_model(str(folder / model), trust=trust), arrays


def load_study_file(path: str | Path, trust: bool = False) -> dict[str, Any]:
    """Read a study file: ``{"model", "data", "space", "settings", "search"}``.

    Raises
    ------
    FileFormatError
        Missing or unparsable file.
    StudyError
        Unknown keys, no model, bad data entry, bad space.
    """
    path = Path(path)
    doc = _read(path)
    known = {"model", "data", "search", *SETTINGS, *_SPACE_KEYS}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise StudyError(f"study file '{path}' has unknown key(s) {unknown}; known: {sorted(known)}")
    model, data = _model_and_data(doc, path.parent, trust)
    space = Space.from_dict({k: doc[k] for k in _SPACE_KEYS if k in doc})
    search = doc.get("search")
    if search is not None and (not isinstance(search, dict) or "objectives" not in search
                               or set(search) - {"objectives", "budget", "pop_size"}):
        raise StudyError(f"study file `search` must be {{objectives: [...], budget: N, pop_size: N}}, got {search!r}")
    return {"model": model, "data": data, "space": space, "search": search,
            "settings": {k: doc[k] for k in SETTINGS if k in doc}}
