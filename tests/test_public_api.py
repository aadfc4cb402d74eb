"""Every import path and public name the README (and docs/*.md) shows resolves as documented.

The names are read from the documents themselves, so a path added to the README is checked
without editing this file: ``import X`` and ``from X import Y`` statements and ``nc.NAME``
attribute chains in the ```python blocks, and dotted ``neurocore.a.b`` paths anywhere in the
text. A second group of tests walks the package: every module imports with ``import
neurocore.a.b as m`` (the form that breaks when a package attribute of the same name is a
function), and the moved module paths still work with a ``DeprecationWarning``.
"""
import ast
import importlib
import pkgutil
import re
import types
import warnings
from pathlib import Path

import pytest

import neurocore

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TEXT = {p.name: p.read_text() for p in DOCS if p.exists()}
BLOCKS = [(name, b) for name, text in TEXT.items() for b in re.findall(r"```python\n(.*?)```", text, re.DOTALL)]

#: Third-party modules a documented block may import; skipped when not installed.
OPTIONAL = {"torch", "nir", "sklearn", "onnx", "matplotlib", "dask", "pymoo", "brian2", "lava", "tqdm"}

#: Paths the README documents as *functions* (``nc.convert``, ``nc.compile``, ``nc.energy.estimate``,
#: ``nc.dse.search``): the package attribute is the function, so ``import a.b as m`` gives the
#: function. Only ``neurocore.convert`` and ``neurocore.dse.search`` still have a module file of the
#: same name behind them; ``mapping/_compile.py`` and ``energy/_estimate.py`` are private.
DOCUMENTED_FUNCTIONS = {"neurocore.convert", "neurocore.mapping.compile", "neurocore.energy.estimate",
                        "neurocore.dse.search"}

#: Modules that ``import neurocore.a.b as m`` cannot reach because a package attribute of the
#: same name shadows them. Empty since ``convert/convert.py`` became ``convert/_convert.py``; the
#: test below fails when an entry starts to import, so the list cannot go stale.
KNOWN_SHADOWED: tuple[str, ...] = ()


def _imports(block: str) -> list[tuple[str, str | None]]:
    """``(module, name)`` for each ``import module`` / ``from module import name`` in a block."""
    out = []
    for node in ast.walk(ast.parse(block)):
        if isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out += [(node.module, a.name) for a in node.names]
    return out


def _nc_chains(block: str) -> set[str]:
    """Every maximal ``nc.a.b`` attribute chain in a block, as ``"a.b"``."""
    chains = set()
    for node in ast.walk(ast.parse(block)):
        if isinstance(node, ast.Attribute):
            parts = []
            cur = node
            while isinstance(cur, ast.Attribute):
                parts.append(cur.attr)
                cur = cur.value
            if isinstance(cur, ast.Name) and cur.id == "nc":
                chains.add(".".join(reversed(parts)))
    # keep maximal chains only (nc.chip.loihi covers nc.chip)
    return {c for c in chains if not any(o != c and o.startswith(c + ".") for o in chains)}


def _import_or_skip(module: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{module} needs the optional {exc.name}")
        raise


def _resolve(dotted: str):
    """The object at ``neurocore.a.b.c``: import the longest module prefix, getattr the rest."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.split(".")[0] in OPTIONAL:
                pytest.skip(f"{dotted} needs the optional {exc.name}")
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise AssertionError(f"nothing of {dotted} imports")


IMPORTS = sorted({i for _, b in BLOCKS for i in _imports(b) if i[0].split(".")[0] == "neurocore"}, key=str)
CHAINS = sorted({c for _, b in BLOCKS for c in _nc_chains(b)})
PATHS = sorted({m for text in TEXT.values() for m in re.findall(r"\bneurocore(?:\.[A-Za-z_]\w*)+", text)})


def test_the_documents_are_read():
    # the README shows these, so an empty parse means the parser broke, not that all is well
    assert ("neurocore.energy", "estimate") in IMPORTS
    assert "compile" in CHAINS and "energy.estimate" in CHAINS and "chip.loihi" in CHAINS
    assert "neurocore.nir" in PATHS


@pytest.mark.parametrize("module,name", IMPORTS, ids=lambda x: str(x))
def test_documented_import(module, name):
    mod = _import_or_skip(module)
    if name is not None:
        assert hasattr(mod, name) or importlib.util.find_spec(f"{module}.{name}"), f"from {module} import {name}"


@pytest.mark.parametrize("chain", CHAINS)
def test_documented_nc_name(chain):
    _resolve(f"neurocore.{chain}")


@pytest.mark.parametrize("path", PATHS)
def test_documented_dotted_path(path):
    _resolve(path)


def test_documented_functions_are_functions():
    import neurocore as nc

    assert nc.compile is nc.mapping.compile and callable(nc.compile)
    assert callable(nc.energy.estimate) and not isinstance(nc.energy.estimate, types.ModuleType)
    assert nc.estimate is nc.energy.estimate


def _all_modules() -> list[str]:
    names = ["neurocore"]
    for info in pkgutil.walk_packages(neurocore.__path__, "neurocore."):
        if info.name != "neurocore.__main__":  # runs the CLI on import
            names.append(info.name)
    return sorted(names)


def test_every_module_imports_as_itself():
    """``import neurocore.a.b as m`` gives the module, for every module file in the package."""
    broken, skipped = [], []
    for name in _all_modules():
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and not exc.name.startswith("neurocore"):
                skipped.append(name)  # needs an optional package that is not installed
                continue
            raise
        except ImportError:
            skipped.append(name)  # a kernel that was not built
            continue
        ns: dict = {}
        try:
            exec(f"import {name} as m", ns)
            ok = isinstance(ns["m"], types.ModuleType) and ns["m"].__name__ == name
        except ImportError:
            ok = False
        if not ok and name not in DOCUMENTED_FUNCTIONS:
            broken.append(name)
    unexpected = [b for b in broken if not b.startswith(KNOWN_SHADOWED)]
    assert not unexpected, f"shadowed by a same-named attribute: {unexpected}"
    fixed = [k for k in KNOWN_SHADOWED if not any(b.startswith(k) for b in broken)]
    assert not fixed, f"{fixed} import fine now: remove them from KNOWN_SHADOWED"


def test_private_modules_import_as_modules():
    import neurocore.energy._estimate as e
    import neurocore.mapping._compile as m

    assert isinstance(m, types.ModuleType) and m.compile is neurocore.compile
    assert isinstance(e, types.ModuleType) and e.estimate is neurocore.energy.estimate


@pytest.mark.parametrize("old,name,new", [("neurocore.mapping.compile", "compile", "neurocore.mapping"),
                                          ("neurocore.energy.estimate", "Term", "neurocore.energy"),
                                          ("neurocore.energy.estimate", "estimate", "neurocore.energy")])
def test_old_module_paths_warn(old, name, new):
    with pytest.warns(DeprecationWarning, match=f"import it from {re.escape(new)}"):
        ns: dict = {}
        exec(f"from {old} import {name} as x", ns)
    assert ns["x"] is getattr(importlib.import_module(new), name)


def test_new_paths_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        from neurocore.energy import Term, estimate  # noqa: F401
        from neurocore.mapping import compile  # noqa: F401


def test_star_import_and_all():
    ns: dict = {}
    exec("from neurocore import *", ns)
    assert set(neurocore.__all__) <= set(ns) and len(neurocore.__all__) == len(set(neurocore.__all__))


def test_version_has_one_source(monkeypatch):
    import importlib.metadata
    import tomllib

    from neurocore import _version

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert neurocore.__version__ == declared
    # a source tree without installed metadata reads pyproject.toml itself
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert _version.read_version() == declared
    monkeypatch.setattr(_version, "_from_pyproject", lambda path=None: None)
    assert _version.read_version() == "0+unknown"
    # no other copy of the version string in the package
    copies = [p for p in (ROOT / "neurocore").rglob("*.py") if re.search(r"__version__\s*=\s*['\"]", p.read_text())]
    assert copies == []


@pytest.mark.parametrize("name,module,new", [("run_batched", "neurocore.batching", "run_batched"),
                                             ("CHIP_PROFILE", "neurocore.chip.presets", "DEFAULT_PROFILE")])
def test_names_moved_out_of_the_cli_warn(name, module, new):
    import neurocore.cli as cli

    with pytest.warns(DeprecationWarning, match=re.escape(f"{module}.{new}")):
        got = getattr(cli, name)
    assert got is getattr(importlib.import_module(module), new)
