"""Time snnTorch's or sinabs' own layers on the FF network, inside that tool's venv (run by ``compare.py``).

Usage: ``python peer_runner.py TOOL NET.npz THREADS`` with TOOL ``snntorch`` or ``sinabs``.
``NET.npz`` (written by ``compare.py``) holds ``x`` (B, T, C) uint8 input spikes and, per
layer i, ``w{i}`` (n_src, n_dst) float32 integer weights and ``vth{i}`` (the threshold).
The runner imports only numpy, torch and the tool (not neurocore), builds the network once
and then answers one command per stdin line with one JSON line on stdout:

* ``run``: one timed run of T steps over the batch (``torch.inference_mode()``, state reset
  first, not timed) -> ``{"t": seconds}`` (``time.perf_counter`` around the forward pass);
* ``counts``: one untimed run -> ``{"counts": {layer: (B, n) list}}``, each layer's spike
  count over the steps that correspond to neurocore's T steps (below);
* ``quit``.

The first line it prints is ``{"ready": true, "tool": ..., "version": ..., "torch": ...}``.
Interleaving ``run`` with the other implementations' runs is the caller's job.

The models, IF neurons with reset by subtraction, float32 sums of integers < 2**24 (exact):

* **snnTorch**: ``nn.Linear(bias=False)`` + ``snn.Leaky(beta=1.0, threshold=vth,
  reset_mechanism="subtract", reset_delay=False)`` per layer, stepped in a Python loop (snnTorch's
  way); layers are visited last to first each step, each reading its source's spikes of the
  previous step: neurocore's step order (delay 1 per projection). snnTorch spikes when
  ``mem - threshold > 0``, as neurocore, but its reset is not neurocore's: with
  ``reset_delay=False`` it first subtracts ``threshold`` wherever the *previous* step's
  membrane (after its reset) is still above threshold, decides the spike on that, then undoes
  the subtraction where no spike came ("avoid double reset" in ``snntorch/_neurons/leaky.py``).
  The membrane ends as neurocore's (``v + a - spike * vth``), but a neuron left above threshold
  after a reset (an input above two thresholds) decides its next spike on ``v + a - vth``:
  spike counts then differ slightly, so the caller checks them equal to the NumPy twin of
  this rule (``numpy_steps.run_ff_batch(snntorch_reset=True)``) and reports how closely they
  agree with neurocore's.
* **sinabs**: ``nn.Linear(bias=False)`` + ``IAFSqueeze(spike_fn=SingleSpike,
  reset_fn=MembraneSubtract(subtract_value=vth), spike_threshold=vth + 1)`` per layer, the whole
  (B*T, C) sequence through each layer in turn (sinabs' way: one matrix product per layer over all
  steps, then the neuron loop over time). sinabs spikes when ``v >= threshold``: on integers
  ``v >= vth + 1`` is neurocore's ``v > vth``. Layers see their input in the same step (no
  delay), so the input is given one step late (``x[t - 1]``, as neurocore's first layer sees
  it) and layer k's train is neurocore's moved k - 1 steps earlier: its count over the first
  T - (k - 1) steps is neurocore's count over T steps.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch


def _load(path):
    d = np.load(path)
    n = sum(1 for k in d.files if k.startswith("w"))
    return d["x"].astype(np.float32), [d[f"w{i}"] for i in range(n)], [float(d[f"vth{i}"]) for i in range(n)]


class SnnTorchFF:
    def __init__(self, x, ws, vths):
        import snntorch as snn

        self.version = snn.__version__
        self.x = torch.as_tensor(x)
        self.fc, self.lif = [], []
        for w, vth in zip(ws, vths):
            fc = torch.nn.Linear(w.shape[0], w.shape[1], bias=False)
            with torch.no_grad():
                fc.weight.copy_(torch.as_tensor(w.T))
            self.fc.append(fc)
            self.lif.append(snn.Leaky(beta=1.0, threshold=vth, reset_mechanism="subtract", reset_delay=False))

    def run(self, count=False):
        B, T, _ = self.x.shape
        L = len(self.fc)
        with torch.inference_mode():
            mem = [lif.init_leaky() for lif in self.lif]
            spk = [torch.zeros(B, fc.out_features) for fc in self.fc]
            counts = [torch.zeros(B, fc.out_features) for fc in self.fc] if count else None
            zero = torch.zeros_like(self.x[:, 0])
            for t in range(T):
                for i in range(L - 1, -1, -1):
                    src = (self.x[:, t - 1] if t > 0 else zero) if i == 0 else spk[i - 1]
                    spk[i], mem[i] = self.lif[i](self.fc[i](src), mem[i])
                    if count:
                        counts[i] += spk[i]
        return counts


class SinabsFF:
    def __init__(self, x, ws, vths):
        import sinabs
        import sinabs.layers as sl
        from sinabs.activation import MembraneSubtract, SingleSpike

        self.version = sinabs.__version__
        B, T, C = x.shape
        self.B, self.T = B, T
        shifted = np.zeros_like(x)
        shifted[:, 1:] = x[:, :-1]  # neurocore's first layer integrates x[t - 1] at step t
        self.x = torch.as_tensor(shifted.reshape(B * T, C))
        mods = []
        for w, vth in zip(ws, vths):
            fc = torch.nn.Linear(w.shape[0], w.shape[1], bias=False)
            with torch.no_grad():
                fc.weight.copy_(torch.as_tensor(w.T))
            mods += [fc, sl.IAFSqueeze(batch_size=B, spike_fn=SingleSpike, spike_threshold=vth + 1.0,
                                       reset_fn=MembraneSubtract(subtract_value=vth))]
        self.model = torch.nn.Sequential(*mods)
        self.iafs = [m for m in mods if isinstance(m, sl.IAFSqueeze)]

    def run(self, count=False):
        outs = []
        hooks = [m.register_forward_hook(lambda mod, i, o: outs.append(o)) for m in self.iafs] if count else []
        with torch.inference_mode():
            for m in self.iafs:
                m.reset_states()
            self.model(self.x)
        for h in hooks:
            h.remove()
        if not count:
            return None
        return [o.reshape(self.B, self.T, -1)[:, : self.T - k].sum(1) for k, o in enumerate(outs)]


TOOLS = {"snntorch": SnnTorchFF, "sinabs": SinabsFF}


def main() -> None:
    tool, path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    net = TOOLS[tool](*_load(path))
    print(json.dumps({"ready": True, "tool": tool, "version": net.version, "torch": torch.__version__,
                      "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "run":
            t0 = time.perf_counter()
            net.run()
            print(json.dumps({"t": time.perf_counter() - t0}), flush=True)
        elif cmd == "counts":
            c = net.run(count=True)
            print(json.dumps({"counts": [ci.numpy().astype(np.int64).tolist() for ci in c]}), flush=True)
        elif cmd == "quit":
            return
        else:
            print(json.dumps({"error": f"unknown command {cmd!r}"}), flush=True)


if __name__ == "__main__":
    main()
