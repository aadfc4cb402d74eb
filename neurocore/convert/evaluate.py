"""Deprecated home of :mod:`neurocore.evaluate` (it compiles and runs, so it left the convert stage).

``from neurocore.convert.evaluate import accuracy_vs_timesteps`` still works and warns;
use ``nc.accuracy_vs_timesteps`` or ``from neurocore.evaluate import ...``.
"""
from __future__ import annotations

import importlib
import warnings

__all__: list[str] = []

_MOVED = ("accuracy_vs_timesteps", "float_accuracy_vs_timesteps")


def __getattr__(name: str):
    if name in _MOVED:
        warnings.warn(f"neurocore.convert.evaluate.{name} moved to neurocore.evaluate.{name}; "
                      "import it from there (or use nc.accuracy_vs_timesteps)", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module("neurocore.evaluate"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
