"""Peer-tool tests: each tool runs in its own venv (bench/peers/make_venvs.sh) through a
runner script in tests/peers/runners that writes NIR files and the tool's spikes as .npz.

Without a tool's venv its live tests skip; with NEUROCORE_PEERS_STRICT=1 (CI, after
make_venvs.sh) a missing venv fails them instead -- except Lava's where no Python 3.10 exists
(NEUROCORE_PY310, default ~/.pyenv/versions/3.10.13/bin/python), as make_venvs.sh decides."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
VENVS = Path(os.environ.get("NEUROCORE_PEER_VENVS", ROOT / ".venvs"))
PY310 = Path(os.environ.get("NEUROCORE_PY310", Path.home() / ".pyenv" / "versions" / "3.10.13" / "bin" / "python"))


def need_venv(tool: str) -> Path:
    """The tool's venv python; skip (or, under NEUROCORE_PEERS_STRICT=1, fail) when it is absent."""
    py = VENVS / tool / "bin" / "python"
    if not py.exists():
        why = f"no {tool} venv at {py} (make it with: bash bench/peers/make_venvs.sh {tool})"
        if os.environ.get("NEUROCORE_PEERS_STRICT") == "1" and not (tool == "lava" and not PY310.exists()):
            pytest.fail(why + " and NEUROCORE_PEERS_STRICT=1")
        pytest.skip(why)
    return py


def run_peer(tool: str, runner: str, out: Path, *args: str) -> Path:
    """Run tests/peers/runners/<runner> in the tool's venv; skip when the venv is absent."""
    py = need_venv(tool)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)   # the runner may import neurocore (round trips)
    r = subprocess.run([str(py), str(ROOT / "tests" / "peers" / "runners" / runner), str(out), *args],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, f"{runner} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return out


def shifted_match(tool_spikes: np.ndarray, nc_spikes: np.ndarray, lag: int) -> float:
    """Fraction of (sample, step, neuron) entries equal, neurocore `lag` steps behind the tool."""
    t = tool_spikes.shape[1]
    return float(np.mean(tool_spikes.astype(bool) == nc_spikes[:, lag:lag + t].astype(bool)))
