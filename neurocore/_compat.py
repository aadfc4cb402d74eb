"""Deprecation shims for import paths that moved (imports nothing from neurocore).

``neurocore.mapping.compile`` and ``neurocore.energy.estimate`` are the documented
*functions*; the modules that defined them are now the private
``neurocore.mapping._compile`` and ``neurocore.energy._estimate``. Code written
against the old module paths (``from neurocore.energy.estimate import Term``) keeps
working through :func:`alias_module`, which registers a module object under the old
dotted name in ``sys.modules`` whose attribute lookups forward to the new module
and raise a :class:`DeprecationWarning` naming the new path. The package attribute
of the same name stays the function, as documented.
"""
from __future__ import annotations

import importlib
import sys
import types
import warnings


class _MovedModule(types.ModuleType):
    """A module object at an old dotted name whose attributes live in ``target``."""

    def __init__(self, old: str, target: str, public: str) -> None:
        super().__init__(old, f"Deprecated alias of {target}; import from {public}.")
        self.__dict__["_target"] = target
        self.__dict__["_public"] = public

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        target = self.__dict__["_target"]
        warnings.warn(f"{self.__name__}.{name} moved: import it from {self.__dict__['_public']} "
                      f"(the module {self.__name__} is now the private {target})",
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(target), name)


def alias_module(old: str, target: str, public: str) -> None:
    """Register ``old`` in ``sys.modules`` as a deprecated alias of module ``target``.

    Parameters
    ----------
    old : str
        The dotted module path that no longer exists (``"neurocore.energy.estimate"``).
    target : str
        The module that now defines its names (``"neurocore.energy._estimate"``).
    public : str
        Where users should import the names from (``"neurocore.energy"``).
    """
    sys.modules.setdefault(old, _MovedModule(old, target, public))
