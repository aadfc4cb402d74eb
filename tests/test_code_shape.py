"""Function shape: no function in neurocore/ over 80 lines or cyclomatic complexity 25.

Measured with the standard library's ``ast`` (no radon dependency), the way radon counts:
1 + one per ``if``/``elif``, ``for``, ``while``, ``except``, ``with``, ``assert``, ternary,
comprehension ``for`` and boolean operator (``a and b or c`` counts 2). Lines run from the
``def`` to the last line of the body, docstring included. A nested function is measured on
its own and also counts toward the function that holds it (stricter than radon).
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "neurocore"
MAX_LINES = 80
MAX_COMPLEXITY = 25

#: Functions allowed over a limit, each with the reason it stays long: ``"module.function": reason``
#: (module = file name without ``.py`` and leading ``_``). At most five.
EXEMPT: dict[str, str] = {}

#: Functions that other helpers of issue 11 (parts A and B) are reshaping on their branches right now:
#: the convert/ readers and steps, nir.py's split, graph/, mapping/ and energy/ function shape, cli/demo.
#: Keyed like EXEMPT, so the modules' renames (``compile.py`` -> ``_compile.py``) still match.
#: THE LEAD EMPTIES THIS DICT WHEN PARTS A AND B ARE MERGED; it is not a second exemption list.
PENDING_OTHER_HELPERS: dict[str, str] = {}

_BRANCHES = (ast.If, ast.IfExp, ast.For, ast.AsyncFor, ast.While, ast.ExceptHandler, ast.With, ast.AsyncWith,
             ast.Assert, ast.comprehension)


def complexity(func: ast.AST) -> int:
    """Cyclomatic complexity of a function node, counted as the module docstring says."""
    n = 1
    for node in ast.walk(func):
        if isinstance(node, _BRANCHES):
            n += 1
        elif isinstance(node, ast.BoolOp):
            n += len(node.values) - 1
    return n


def _key(path: Path, name: str) -> str:
    return f"{path.stem.lstrip('_')}.{name}"


@functools.lru_cache(maxsize=None)
def measure(root: Path = PACKAGE) -> tuple[tuple[str, str, int, int], ...]:
    """``(key, where, lines, complexity)`` of every function and method under ``root``."""
    out: list = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                where = f"{path.relative_to(root.parent)}:{node.lineno} {node.name}"
                out.append((_key(path, node.name), where, node.end_lineno - node.lineno + 1, complexity(node)))
    return tuple(out)


def _over(lines: int, cc: int) -> bool:
    return lines > MAX_LINES or cc > MAX_COMPLEXITY


def test_no_function_over_the_limits():
    allowed = set(EXEMPT) | set(PENDING_OTHER_HELPERS)
    bad = [f"{where}: {lines} lines, complexity {cc}" for key, where, lines, cc in measure()
           if _over(lines, cc) and key not in allowed]
    assert not bad, (f"functions over {MAX_LINES} lines or complexity {MAX_COMPLEXITY} (split them into named "
                     "steps, or dispatch through a dict):\n" + "\n".join(bad))


def test_exemptions_are_few_reasoned_and_still_needed():
    assert len(EXEMPT) <= 5, f"EXEMPT has {len(EXEMPT)} entries; at most five"
    assert all(isinstance(r, str) and len(r) > 20 for r in EXEMPT.values()), "each exemption needs its reason"
    assert not set(EXEMPT) & set(PENDING_OTHER_HELPERS)
    over = {key for key, _, lines, cc in measure() if _over(lines, cc)}
    stale = sorted(set(EXEMPT) - over)
    assert not stale, f"EXEMPT lists functions now within the limits; remove {stale}"


@pytest.mark.parametrize("source,want", [
    ("def f():\n    return 1\n", 1),
    ("def f(a, b):\n    if a and b or a:\n        return [x for x in a if x]\n    return 2 if b else 3\n", 6),
    ("def f(a):\n    for x in a:\n        while x:\n            try:\n                pass\n"
     "            except ValueError:\n                pass\n    with a:\n        assert a\n", 6),
    ("def f(a):\n    if a:\n        pass\n    elif a > 1:\n        pass\n    else:\n        pass\n", 3),
])
def test_complexity_counts_each_branch(source, want):
    assert complexity(ast.parse(source).body[0]) == want


def test_measure_sees_long_functions(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(85))
    (tmp_path / "_mod.py").write_text(f"def long():\n{body}\n\ndef short():\n    pass\n")
    got = {key: (lines, cc) for key, _, lines, cc in measure(tmp_path)}
    assert got == {"mod.long": (86, 1), "mod.short": (2, 1)}
    assert _over(*got["mod.long"]) and not _over(*got["mod.short"])
