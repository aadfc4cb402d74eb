"""The package version, from one source: ``[project] version`` in ``pyproject.toml``.

An installed neurocore (wheel or editable) reads it from the package metadata that pip
wrote from pyproject.toml; a bare source tree on ``PYTHONPATH`` with no metadata reads
pyproject.toml itself; anything else reports ``"0+unknown"`` rather than a stale copy.
"""
from __future__ import annotations

import importlib.metadata
from pathlib import Path

_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _from_pyproject(path: Path = _PYPROJECT) -> str | None:
    """``[project] version`` of a neurocore pyproject.toml, or None where there is none."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        return None
    try:
        project = tomllib.loads(path.read_text()).get("project", {})
    except (OSError, ValueError):
        return None
    return project.get("version") if project.get("name") == "neurocore" else None


def read_version() -> str:
    """The installed distribution's version, else the source tree's, else ``"0+unknown"``."""
    try:
        return importlib.metadata.version("neurocore")
    except importlib.metadata.PackageNotFoundError:
        return _from_pyproject() or "0+unknown"


__version__ = read_version()
