"""snnTorch and sinabs rows of the batch table: their own layers, run in their own venvs.

The tools do not import beside this environment, so each runs ``bench/peer_runner.py`` in
its venv, ``$VENVS/<tool>/bin/python`` where ``VENVS`` is ``--peer-venvs``, else
``$NEUROCORE_PEER_VENVS``, else ``.venvs`` in the repository root (``bench/peers/make_venvs.sh``
makes them). The runner stays up for the whole comparison and times one run per request,
so its repeats interleave with neurocore's like the other implementations' (see
``compare._alternating``); the time is the runner's own ``perf_counter`` around the forward
pass (the pipe is not timed). A tool whose venv is missing or fails to start gives a row
saying so (skipped), never a failure of the table.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOOLS = ("snntorch", "sinabs")

__all__ = ["TOOLS", "Measured", "PeerRun", "peer_python", "venvs_dir"]


class Measured(float):
    """A duration (s) measured by the callee itself: ``compare._alternating`` takes it instead of its own clock."""


def venvs_dir(arg: str | None = None) -> Path:
    """Where the peer venvs are: ``arg``, else ``$NEUROCORE_PEER_VENVS``, else ``<repo>/.venvs``."""
    return Path(arg or os.environ.get("NEUROCORE_PEER_VENVS") or ROOT / ".venvs")


def peer_python(tool: str, venvs: str | None = None) -> Path | None:
    """The tool's venv interpreter, or None when it is not there."""
    py = venvs_dir(venvs) / tool / "bin" / "python"
    return py if py.exists() else None


class PeerRun:
    """One runner process of ``tool`` holding the FF network ``wl`` (weights, thresholds, ``wl.inputs``).

    Raises RuntimeError (with the runner's stderr) when the venv is missing or the runner
    does not come up; the caller turns that into a skipped row.
    """

    def __init__(self, tool: str, wl, threads: int, venvs: str | None = None):
        py = peer_python(tool, venvs)
        if py is None:
            raise RuntimeError(f"no {tool} venv at {venvs_dir(venvs) / tool} (make it with: bash "
                               f"bench/peers/make_venvs.sh {tool}, or give --peer-venvs / NEUROCORE_PEER_VENVS)")
        self.tool = tool
        self._dir = tempfile.TemporaryDirectory(prefix=f"neurocore_{tool}_")
        npz = Path(self._dir.name) / "net.npz"
        d = {"x": np.asarray(wl.inputs, np.uint8)}
        for i, layer in enumerate(wl.layers):
            d[f"w{i}"] = np.asarray(layer["wt"], np.float32)
            d[f"vth{i}"] = np.float64(wl.neurons[layer["dst"]]["vth"])
        np.savez(npz, **d)
        self.names = [layer["dst"] for layer in wl.layers]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # thread variables pass through
        self._err = open(Path(self._dir.name) / "stderr.txt", "w+")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen([str(py), str(HERE / "peer_runner.py"), tool, str(npz), str(threads)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, text=True,
                                     env=env)
        self.info = self._reply()
        if not self.info.get("ready"):
            raise RuntimeError(f"{tool} runner did not start: {self.info}")

    def _reply(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            self._err.seek(0)
            raise RuntimeError(f"{self.tool} runner exited (rc {self.proc.returncode}):\n{self._err.read()[-2000:]}")
        return json.loads(line)

    def _ask(self, cmd: str) -> dict:
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self._reply()

    def __call__(self) -> Measured:
        """One timed run; returns the runner's own measurement."""
        return Measured(self._ask("run")["t"])

    def counts(self) -> dict[str, np.ndarray]:
        """Spike counts per layer (B, n) over the steps that stand for neurocore's (see peer_runner)."""
        return {n: np.asarray(c, np.int64) for n, c in zip(self.names, self._ask("counts")["counts"])}

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self._ask("quit")
            except (RuntimeError, BrokenPipeError, OSError, json.JSONDecodeError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._err.close()
        self._dir.cleanup()
