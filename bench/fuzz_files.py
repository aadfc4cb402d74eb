"""Long run of the file fuzzer (tests/fuzzing.py): many seeds, many cases, a summary per seed.

    PYTHONPATH=$PWD python bench/fuzz_files.py --cases 20000 --seeds 0 1 2 3

Each seed runs in its own subprocess, so a kernel crash is reported with the seed
(rerun that seed with ``python -m tests.fuzzing --seed S --verbose`` to see the case).
Exit status 1 if any seed has a failure or crashed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=20000, help="cases per seed (default 20000)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    bad = 0
    for seed in args.seeds:
        r = subprocess.run([sys.executable, "-m", "tests.fuzzing", "--cases", str(args.cases), "--seed", str(seed)],
                           cwd=ROOT, env=env, capture_output=True, text=True)
        if r.returncode not in (0, 1):
            print(f"seed {seed}: the fuzzer crashed (exit {r.returncode}): {r.stderr[-1000:]}")
            bad += 1
            continue
        s = json.loads(r.stdout)
        print(f"seed {seed}: {s['cases']} cases in {s['wall_s']} s (slowest {s['slowest_case_s']} s: "
              f"{s['slowest_case']}), {len(s['failures'])} failures")
        for k, v in s["outcomes"].items():
            print(f"  {k:<40} {v}")
        for f in s["failures"][:20]:
            print(f"  FAIL case {f['case']} {f['kind']} ({f['mutation']}) at {f['at']}: {f['error']}")
        bad += bool(s["failures"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
