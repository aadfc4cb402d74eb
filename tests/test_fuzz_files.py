"""Fuzz test of every file kind: a few thousand mutated files, each refused or valid and exact.

The fuzzer (tests/fuzzing.py) runs in a subprocess, so a kernel crash fails this
test instead of killing pytest. Fixed seed; a longer run is bench/fuzz_files.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_fuzzed_files_are_refused_or_valid_and_exact():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-m", "tests.fuzzing", "--cases", "3000", "--seed", "0"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode in (0, 1), f"the fuzzer crashed (exit {r.returncode}): {r.stderr[-2000:]}"
    summary = json.loads(r.stdout)
    failures = summary["failures"]
    assert not failures, "\n".join(f"case {f['case']} {f['kind']} ({f['mutation']}) at {f['at']}: {f['error']}"
                                   for f in failures[:10])
    out = summary["outcomes"]
    assert summary["cases"] == 3000 and sum(out.values()) == 3000
    for kind in ("graph", "program", "result"):
        # both outcomes occur for every kind: the mutations reach the validators and the kernel
        assert out.get(f"{kind}: FileFormatError", 0) > 300, out
        assert out.get(f"{kind}: valid, equals reference", 0) > 100, out
