"""No lower pipeline stage imports a higher one (DESIGN: "nothing downstream reaches back upstream").

Every ``neurocore`` module's imports are read from its source with ``ast`` (top-level ones and
lazy ones inside functions, which are reported separately), mapped to a stage, and each arrow
from a module to a module of a *higher* stage fails the test unless it is listed in
:data:`ALLOWED` with its reason. ``import neurocore`` from inside a module counts as importing
the applications level (the package root re-exports every stage).

Deprecation shims that forward an old name with ``importlib.import_module("...")`` (a string,
e.g. ``neurocore.convert.accuracy_vs_timesteps`` -> ``neurocore.evaluate``) are not arrows the
scan sees; they load the later stage only when the deprecated name is used.

A static scan rather than imports in fresh interpreters: importing any ``neurocore.x`` first
runs ``neurocore/__init__.py``, which imports every stage, so ``sys.modules`` after an import
cannot tell which module pulled what in; the source can.
"""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).parent.parent / "neurocore"

#: Stages, lowest first: describe < convert < compile < run < report < applications.
STAGES = ("describe", "convert", "compile", "run", "report", "apps")

#: Module (or package prefix) -> stage; the longest matching prefix wins.
STAGE_OF = {
    # describe: the file layer, errors, integer helpers, chips, graphs
    "neurocore._io": "describe", "neurocore._ints": "describe", "neurocore._compat": "describe",
    "neurocore._version": "describe", "neurocore.errors": "describe", "neurocore.progress": "describe",
    "neurocore.chip": "describe", "neurocore.graph": "describe",
    # convert: ANN -> Graph, and the interchange formats that build Graphs
    "neurocore.convert": "convert", "neurocore.nir": "convert", "neurocore.nir_sources": "convert",
    "neurocore.lava": "convert",
    # compile: Graph -> Program
    "neurocore.mapping": "compile", "neurocore.resources": "compile",
    # run: Program -> RunResult
    "neurocore.sim": "run", "neurocore.kernels": "run", "neurocore.learning_sim": "run",
    "neurocore.batching": "run", "neurocore.steptime": "run",
    "neurocore.anytime": "run",  # the early-stop rule the kernel evaluates, and its calibration by simulation
    # RunResult's field checks (validate_result, run by RunResult.load), as mapping/validate.py is compile's
    "neurocore.validate": "run",
    # report: RunResult -> numbers, tables, plots
    "neurocore.energy": "report", "neurocore.report": "report", "neurocore.anytime_energy": "report",
    # applications: everything above the pipeline
    "neurocore": "apps", "neurocore.__main__": "apps", "neurocore.cli": "apps", "neurocore.demo": "apps",
    "neurocore.dse": "apps", "neurocore.pruning": "apps",
    "neurocore.evaluate": "apps",  # accuracy_vs_timesteps: convert, compile, run and score, above the stages
}

#: (importer, imported) -> why the upward arrow is accepted. The test fails when an entry is no
#: longer needed, so the list cannot go stale.
ALLOWED = {
    ("neurocore.mapping.program", "neurocore.sim"):
        "Program.summary() prints the simulator's table size (sim.kernel_tables, table_bytes), lazily; "
        "moving the table layout out of sim.py (kernels/_layout.py) removes it",
    ("neurocore.resources", "neurocore.sim"):
        "resources estimates memory for both compile and run; the run estimate reads sim.CORE_STEP_KEYS "
        "(a constant), lazily",
}

#: Arrows forbidden although the stages are equal: the demo is a library function the CLI calls.
FORBIDDEN_SAME_STAGE = {("neurocore.demo", "neurocore.cli")}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _stage(module: str) -> str:
    best = max((p for p in STAGE_OF if module == p or module.startswith(p + ".")), key=len, default=None)
    assert best is not None, f"{module} has no stage: add it to STAGE_OF"
    return STAGE_OF[best]


def _imports(path: Path) -> list[tuple[str, bool, int]]:
    """(imported neurocore module, lazy?, line) for every import statement in ``path``."""
    out = []

    def visit(node, lazy):
        for ch in ast.iter_child_nodes(node):
            inner = lazy or isinstance(ch, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(ch, ast.Import):
                out.extend((a.name, lazy, ch.lineno) for a in ch.names if a.name.split(".")[0] == "neurocore")
            elif isinstance(ch, ast.ImportFrom) and ch.level == 0 and ch.module == "neurocore":
                out.extend((f"neurocore.{a.name}", lazy, ch.lineno) for a in ch.names)  # from neurocore import chip
            elif isinstance(ch, ast.ImportFrom) and ch.level == 0 and ch.module \
                    and ch.module.split(".")[0] == "neurocore":
                out.append((ch.module, lazy, ch.lineno))
            visit(ch, inner)

    visit(ast.parse(path.read_text()), False)
    return out


def _edges() -> list[tuple[str, str, bool, int]]:
    edges = []
    for path in sorted(PKG.rglob("*.py")):
        src = _module_name(path)
        edges += [(src, dst, lazy, line) for dst, lazy, line in _imports(path)]
    return edges


EDGES = _edges()


def _upward():
    rank = {s: i for i, s in enumerate(STAGES)}
    return [(s, d, lazy, line) for s, d, lazy, line in EDGES
            if rank[_stage(d)] > rank[_stage(s)] or (s, d) in FORBIDDEN_SAME_STAGE]


def test_the_scan_sees_the_package():
    # a scan that finds nothing passes everything: check it sees known arrows of both kinds
    assert ("neurocore.mapping._compile", "neurocore.mapping.partition", False) in {e[:3] for e in EDGES}
    assert ("neurocore.cli", "neurocore.demo", True) in {e[:3] for e in EDGES}
    assert len({e[0] for e in EDGES}) > 60


def test_every_module_has_a_stage():
    for path in PKG.rglob("*.py"):
        _stage(_module_name(path))


def test_no_lower_stage_imports_a_higher_one():
    bad = [f"{s} -> {d} ({_stage(s)} -> {_stage(d)}, {'lazy, ' if lazy else ''}line {line})"
           for s, d, lazy, line in _upward() if (s, d) not in ALLOWED]
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_allowed_exceptions_are_few_and_still_needed():
    used = {(s, d) for s, d, _, _ in _upward()}
    assert len(ALLOWED) <= 5
    stale = [k for k in ALLOWED if k not in used]
    assert not stale, f"no longer needed, remove from ALLOWED: {stale}"


@pytest.mark.parametrize("module", ["neurocore._io", "neurocore.chip.spec", "neurocore.errors"])
def test_the_foundation_imports_no_stage(module):
    path = PKG.joinpath(*module.split(".")[1:]).with_suffix(".py")
    assert {_stage(d) for d, _, _ in _imports(path)} <= {"describe"}
