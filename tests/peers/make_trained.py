"""Train the digits networks once per tool and commit what they give (tests/data/peers_trained).

Usage: NEUROCORE_PEER_VENVS=... python tests/peers/make_trained.py [tool ...]
Runs tests/peers/runners/trained_run.py tests/data/peers_trained TOOL train in each tool's venv
(bench/peers/make_venvs.sh). Seeded: a rerun on the same versions reproduces the files.
tests/peers/test_trained.py checks neurocore against these files always, and re-runs the
tool's own simulation live (mode "sim") when the venv exists.
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENVS = Path(os.environ.get("NEUROCORE_PEER_VENVS", ROOT / ".venvs"))
OUT = ROOT / "tests" / "data" / "peers_trained"

for tool in sys.argv[1:] or ["sinabs", "sinabs_conv", "snntorch", "snntorch_rec", "norse", "norse_cuba",
                              "spikingjelly"]:
    py = VENVS / tool.split("_")[0] / "bin" / "python"
    r = subprocess.run([str(py), str(ROOT / "tests" / "peers" / "runners" / "trained_run.py"), str(OUT), tool, "train"],
                       capture_output=True, text=True)
    print(r.stdout.strip().splitlines()[-1] if r.returncode == 0 else r.stderr[-2000:])
