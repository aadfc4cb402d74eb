"""Import paths of the convert package: the package is callable as convert(), nothing is shadowed,
and every name that moved still resolves with a DeprecationWarning naming its new home."""
from __future__ import annotations

import importlib
import inspect
import sys

import pytest

import neurocore as nc


def test_nc_convert_is_the_callable_package():
    import neurocore.convert
    from neurocore.convert import convert
    from neurocore.convert._convert import convert as impl

    assert nc.convert is sys.modules["neurocore.convert"] is neurocore.convert
    assert convert is impl and nc.convert.convert is impl
    assert callable(nc.convert)
    assert list(inspect.signature(nc.convert).parameters)[:3] == ["model", "calibration", "chip"]
    # the private module imports under its own name (it used to be shadowed by the function)
    mod = importlib.import_module("neurocore.convert._convert")
    assert mod.convert is impl
    import neurocore.convert._convert as m

    assert m is mod


def test_calling_the_package_is_calling_convert():
    from neurocore.errors import ConversionError

    with pytest.raises(ConversionError, match="needs calibration data"):
        nc.convert([{"weight": [[1.0]]}])
    layers = [{"type": "dense", "weight": [[1.0, -1.0], [0.5, 0.5]], "bias": [0.0, 0.1]}]
    a = nc.convert(layers, calibration=[[1.0, 0.5], [0.2, 0.9]])
    b = nc.convert.convert(layers, calibration=[[1.0, 0.5], [0.2, 0.9]])
    pa, pb = next(iter(a.projections.values())), next(iter(b.projections.values()))
    assert (pa.weights != pb.weights).nnz == 0 and pa.weight_exp == pb.weight_exp


def test_submodules_import_as_usual():
    import neurocore.convert.encode
    import neurocore.convert.fold
    import neurocore.convert.quantize

    assert neurocore.convert.encode.DirectCodec is nc.convert.DirectCodec
    assert neurocore.convert.fold.build_layers is importlib.import_module("neurocore.convert.fold").build_layers


@pytest.mark.parametrize("name", ["accuracy_vs_timesteps", "float_accuracy_vs_timesteps"])
def test_evaluate_moved_with_a_warning(name):
    from neurocore import evaluate

    with pytest.warns(DeprecationWarning, match=f"neurocore.evaluate"):
        assert getattr(nc.convert, name) is getattr(evaluate, name)
    with pytest.warns(DeprecationWarning, match=f"neurocore.evaluate.{name}"):
        old = importlib.import_module("neurocore.convert.evaluate")
        assert getattr(old, name) is getattr(evaluate, name)
    assert nc.accuracy_vs_timesteps is evaluate.accuracy_vs_timesteps


def test_unknown_names_still_raise():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nc.convert.nope  # noqa: B018
    old = importlib.import_module("neurocore.convert.evaluate")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        old.nope  # noqa: B018


def test_convert_stage_does_not_import_compile_or_run():
    """No module of neurocore/convert imports a later stage at load time (a lazy import inside a
    function, as in the deprecation shims, is allowed)."""
    import ast
    from pathlib import Path

    later = ("neurocore.mapping", "neurocore.sim", "neurocore.evaluate", "neurocore.kernels", "neurocore.energy")
    root = Path(nc.__file__).parent / "convert"
    bad = []
    for f in sorted(root.glob("*.py")):
        for node in ast.parse(f.read_text()).body:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{f.name}: {n}" for n in names if n.startswith(later)]
    assert bad == []
