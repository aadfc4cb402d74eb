"""Trained models from files, with an untrusted-input policy.

Pickles (``.pkl``/``.pickle``/``.joblib`` and whole-module ``torch.save(model)`` files)
run arbitrary code when they are loaded, so they are opened only with ``trust=True``
(``neurocore convert --trust``). Without it:

* ``.onnx`` is read as data (protobuf): the recommended format for sharing a model;
* ``.pt``/``.pth`` is read with ``torch.load(weights_only=True)``, which refuses code, and
  must hold a ``state_dict``; the network it belongs to is built by ``arch``: a callable
  returning an ``nn.Module``, or ``"module:function"`` / ``"path/to/file.py:function"``
  naming one (code you chose to run, not code from the file).
"""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from neurocore.errors import ConversionError, FileFormatError

__all__ = ["load_model", "PICKLE_SUFFIXES", "TORCH_SUFFIXES"]

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
TORCH_SUFFIXES = (".pt", ".pth")

_WHY = ("pickled files run arbitrary code when loaded; open them only if you trust their source "
        "(--trust on the command line, trust=True in Python)")


def _builder(arch):
    """A callable building the network from ``arch`` (callable, ``"module:fn"`` or ``"file.py:fn"``)."""
    if callable(arch):
        return arch
    if not isinstance(arch, str) or ":" not in arch:
        raise ConversionError(f"arch={arch!r}; give a callable or 'module:function' (or 'file.py:function') "
                              "that returns the nn.Module the state dict belongs to")
    mod_name, _, fn = arch.rpartition(":")
    try:
        if mod_name.endswith(".py"):
            spec = importlib.util.spec_from_file_location(Path(mod_name).stem, mod_name)
            if spec is None or spec.loader is None or not Path(mod_name).is_file():
                raise ImportError(f"no such file {mod_name!r}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(mod_name)
        return getattr(module, fn)
    except (ImportError, AttributeError) as exc:
        raise ConversionError(f"arch={arch!r} cannot be imported: {type(exc).__name__}: {exc}") from None


def _load_torch(p: Path, trust: bool, arch):
    import torch

    if trust and arch is None:
        return torch.load(p, weights_only=False, map_location="cpu")
    try:
        obj = torch.load(p, weights_only=True, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - torch raises UnpicklingError, RuntimeError, ...
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise ConversionError(
                f"model file '{p}' holds a pickled Python object (a whole nn.Module?), not a plain state dict: "
                f"{_WHY}. Or save model.state_dict() and give the architecture (--arch module:function), or "
                "export the model to ONNX (recommended)") from None
        raise FileFormatError(f"model file '{p}' could not be loaded: {type(exc).__name__}: {exc}") from None
    if not isinstance(obj, dict):
        raise ConversionError(f"model file '{p}' holds a {type(obj).__name__}; a state dict is expected")
    if arch is None:
        raise ConversionError(f"model file '{p}' holds a state dict (weights only); give the architecture that "
                              "builds the network (--arch module:function, arch= in Python), or export to ONNX")
    model = _builder(arch)()
    if not isinstance(model, torch.nn.Module):
        raise ConversionError(f"arch={arch!r} returned a {type(model).__name__}, not a torch.nn.Module")
    try:
        model.load_state_dict(obj)
    except (RuntimeError, KeyError, TypeError) as exc:
        raise ConversionError(f"model file '{p}': the state dict does not fit arch={arch!r}: {exc}") from None
    return model.eval()


def load_model(path, trust: bool = False, arch=None):
    """A trained model from a file, by suffix, under the untrusted-input policy (module docstring).

    Parameters
    ----------
    path : str or Path
        ``.onnx`` (returned as a path for the ONNX reader), ``.pt``/``.pth`` (a state dict,
        or with ``trust=True`` a whole pickled module) or ``.pkl``/``.pickle``/``.joblib``
        (a pickled scikit-learn estimator; needs ``trust=True``).
    trust : bool
        Allow full unpickling (runs code from the file).
    arch : callable or str, optional
        Builds the ``nn.Module`` a ``.pt`` state dict belongs to.

    Raises
    ------
    ConversionError
        A pickle without ``trust``, a state dict without ``arch``, an unknown suffix.
    FileFormatError
        A missing or unreadable file.
    """
    p = Path(path)
    if not p.is_file():
        raise FileFormatError(f"model file '{p}' does not exist")
    suffix = p.suffix.lower()
    if suffix == ".onnx":
        return str(p)
    if suffix in TORCH_SUFFIXES:
        return _load_torch(p, trust, arch)
    if suffix in PICKLE_SUFFIXES:
        if not trust:
            raise ConversionError(f"model file '{p}' is a pickle: {_WHY}. Export the model to ONNX (recommended) "
                                  "to share it without that risk")
        import pickle

        try:
            with open(p, "rb") as f:
                return pickle.load(f)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
            raise FileFormatError(f"model file '{p}' could not be loaded: {type(exc).__name__}: {exc}") from None
    raise ConversionError(f"model file '{p}': unknown suffix '{suffix}'; give .onnx (recommended), .pt/.pth "
                          "(a state dict with --arch, or torch.save(model) with --trust) or .pkl/.joblib "
                          "(a pickled scikit-learn MLP, with --trust)")
